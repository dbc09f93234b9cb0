//! School keys: each registered school has its own random 256-bit key, shown once when it is made; the gateway
//! keeps only its SHA-256, with the school's name, one line per school in a TOML file:
//!
//! ```toml
//! [schools]
//! "Riverside Primary" = { sha256 = "9f86d0...", created = "2026-12-05T03:00:00Z" }
//! ```
//!
//! Revoking a school is deleting its line (by hand or with `keys revoke`); the running gateway re-reads the file
//! when it changes or on SIGHUP ([`KeyRing::reload`]), so no restart is needed.

use std::collections::{BTreeMap, HashMap};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::RwLock;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// What every school key starts with, so a leaked one is recognisable (secret scanners, logs).
pub const KEY_PREFIX: &str = "hgw_";
/// Longest school name accepted.
const MAX_SCHOOL_CHARS: usize = 100;

/// A problem with the keys file or a `keys` command.
#[derive(Debug, thiserror::Error)]
pub enum KeysError {
    #[error("reading or writing {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path} is not a keys file: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("a school name must be 1 to {MAX_SCHOOL_CHARS} printable characters")]
    BadName,
    #[error("{0:?} already has a key: revoke it first to issue a new one")]
    Exists(String),
    #[error("no school named {0:?} has a key")]
    Unknown(String),
}

/// One school's line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchoolEntry {
    /// SHA-256 of the school's key, lowercase hex.
    pub sha256: String,
    /// When the key was made (RFC 3339), for the operator.
    #[serde(default)]
    pub created: String,
}

/// The keys file: school name to entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeysFile {
    #[serde(default)]
    pub schools: BTreeMap<String, SchoolEntry>,
}

impl KeysFile {
    /// Reads the file; a missing file holds no school.
    pub fn read(path: &Path) -> Result<KeysFile, KeysError> {
        match std::fs::read_to_string(path) {
            Ok(text) => KeysFile::parse(path, &text),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(KeysFile::default()),
            Err(source) => Err(KeysError::Io { path: path.to_owned(), source }),
        }
    }

    fn parse(path: &Path, text: &str) -> Result<KeysFile, KeysError> {
        let file: KeysFile =
            toml::from_str(text).map_err(|e| KeysError::Parse { path: path.to_owned(), message: e.to_string() })?;
        for (school, entry) in &file.schools {
            if parse_hash(&entry.sha256).is_none() {
                let message = format!("{school:?}: sha256 must be 64 hex digits");
                return Err(KeysError::Parse { path: path.to_owned(), message });
            }
        }
        Ok(file)
    }

    /// Issues a key for `school`: the entry is added and the key returned, to be shown once and never again.
    pub fn add(&mut self, school: &str) -> Result<String, KeysError> {
        let school = school_name(school)?;
        if self.schools.contains_key(&school) {
            return Err(KeysError::Exists(school));
        }
        let key = format!("{KEY_PREFIX}{}", URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>()));
        let created = time::OffsetDateTime::now_utc()
            .replace_nanosecond(0)
            .ok()
            .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
            .unwrap_or_default();
        self.schools.insert(school, SchoolEntry { sha256: hex(&key_hash(&key)), created });
        Ok(key)
    }

    /// Removes `school`'s key.
    pub fn revoke(&mut self, school: &str) -> Result<(), KeysError> {
        let school = school.trim();
        self.schools.remove(school).map(|_| ()).ok_or_else(|| KeysError::Unknown(school.to_owned()))
    }

    /// The file's text: a comment, then one line per school, so that deleting a line revokes exactly one.
    pub fn render(&self) -> String {
        let mut text = String::from(
            "# Hallway push gateway: the schools allowed to push, with the SHA-256 of each school's key.\n\
             # Delete a school's line to revoke its key; the running gateway re-reads this file.\n\
             [schools]\n",
        );
        for (school, entry) in &self.schools {
            let quote = |s: &str| toml::Value::String(s.to_owned()).to_string();
            text.push_str(&format!(
                "{} = {{ sha256 = {}, created = {} }}\n",
                quote(school),
                quote(&entry.sha256),
                quote(&entry.created)
            ));
        }
        text
    }

    /// Replaces the file at once (a new file renamed over it), readable by its owner only, so the running
    /// gateway never reads half of it.
    pub fn write(&self, path: &Path) -> Result<(), KeysError> {
        use std::os::unix::fs::OpenOptionsExt as _;
        let io = |source| KeysError::Io { path: path.to_owned(), source };
        let mut temporary = path.as_os_str().to_owned();
        temporary.push(format!(".tmp-{}", std::process::id()));
        let temporary = PathBuf::from(temporary);
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&temporary)
            .map_err(io)?;
        file.write_all(self.render().as_bytes()).map_err(io)?;
        file.sync_all().map_err(io)?;
        std::fs::rename(&temporary, path).map_err(io)
    }
}

/// A trimmed school name within the limits.
fn school_name(raw: &str) -> Result<String, KeysError> {
    let name = raw.trim();
    let count = name.chars().count();
    if count == 0 || count > MAX_SCHOOL_CHARS || name.chars().any(char::is_control) {
        return Err(KeysError::BadName);
    }
    Ok(name.to_owned())
}

/// SHA-256 of a presented key.
pub fn key_hash(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

fn parse_hash(text: &str) -> Option<[u8; 32]> {
    let text = text.trim();
    if text.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The keys the running gateway accepts: key hash to school name, replaced whole on each reload.
pub struct KeyRing {
    path: PathBuf,
    current: RwLock<Loaded>,
}

/// What the keys file said when last read.
#[derive(Default)]
struct Loaded {
    /// Key hash to school name.
    schools: HashMap<[u8; 32], String>,
    /// The text it was read from (a reload of the same text changes nothing); `None` before the first read.
    text: Option<String>,
}

impl KeyRing {
    /// Loads the keys file (missing: no school yet).
    pub fn load(path: PathBuf) -> Result<KeyRing, KeysError> {
        let ring = KeyRing { path, current: RwLock::new(Loaded::default()) };
        ring.reload()?;
        Ok(ring)
    }

    /// The school a presented key belongs to. The key is compared by its hash: a lookup of a 256-bit random
    /// secret's digest leaks nothing useful through timing.
    pub fn school(&self, key: &str) -> Option<String> {
        let hash = key_hash(key);
        self.current.read().unwrap_or_else(|p| p.into_inner()).schools.get(&hash).cloned()
    }

    /// How many schools hold a key.
    pub fn len(&self) -> usize {
        self.current.read().unwrap_or_else(|p| p.into_inner()).schools.len()
    }

    /// Whether no school holds a key.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Reads the file again; `Ok(true)` when what it says changed. A file that does not parse leaves the keys
    /// as they were (the error says why), so a typo does not lock every school out.
    pub fn reload(&self) -> Result<bool, KeysError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(source) => return Err(KeysError::Io { path: self.path.clone(), source }),
        };
        if self.current.read().unwrap_or_else(|p| p.into_inner()).text.as_deref() == Some(text.as_str()) {
            return Ok(false);
        }
        let file = KeysFile::parse(&self.path, &text)?;
        let schools = file
            .schools
            .into_iter()
            .filter_map(|(school, entry)| parse_hash(&entry.sha256).map(|hash| (hash, school)))
            .collect();
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Loaded { schools, text: Some(text) };
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_added_key_is_found_by_its_hash_and_a_revoked_one_is_not() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("keys.toml");
        let mut file = KeysFile::default();
        let key = file.add(" Riverside \"Primary\" ").unwrap_or_else(|e| panic!("{e}"));
        assert!(key.starts_with(KEY_PREFIX) && key.len() == KEY_PREFIX.len() + 43);
        file.write(&path).unwrap_or_else(|e| panic!("{e}"));
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(!text.contains(&key), "only the hash is stored");
        assert_eq!(text.lines().filter(|l| l.contains("sha256")).count(), 1);

        let ring = KeyRing::load(path.clone()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(ring.school(&key).as_deref(), Some("Riverside \"Primary\""));
        assert_eq!(ring.school("hgw_guess"), None);
        assert!(matches!(file.add("Riverside \"Primary\""), Err(KeysError::Exists(_))));

        file.revoke("Riverside \"Primary\"").unwrap_or_else(|e| panic!("{e}"));
        file.write(&path).unwrap_or_else(|e| panic!("{e}"));
        assert!(ring.reload().unwrap_or_default());
        assert_eq!(ring.school(&key), None);
    }

    #[test]
    fn a_broken_file_keeps_the_keys_already_loaded() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("keys.toml");
        let mut file = KeysFile::default();
        let key = file.add("Hillside").unwrap_or_else(|e| panic!("{e}"));
        file.write(&path).unwrap_or_else(|e| panic!("{e}"));
        let ring = KeyRing::load(path.clone()).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(&path, "[schools]\nHillside = { sha256 = \"nothex\" }\n").unwrap_or_else(|e| panic!("{e}"));
        assert!(ring.reload().is_err());
        assert_eq!(ring.school(&key).as_deref(), Some("Hillside"));
    }
}

//! Activation codes: how a person created or imported by an admin (or whose password an admin reset) chooses
//! a password without the admin ever seeing it.
//!
//! A code is 12 characters drawn at random from an alphabet without look-alikes (no 0/O, 1/I/L, 5/S, 2/Z,
//! 8/B), printed in groups of four so it can be read out or copied from paper: about 55 bits. Only its SHA-256
//! is stored; a fast hash is right here because the code itself is random (nothing to brute-force from a
//! dictionary), and failed attempts are rate-limited per address like failed sign-ins.

use std::time::Duration;

use hallway_protocol::admin::ActivationCode;
use rand::Rng;
use sha2::{Digest, Sha256};
use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::store;

pub use hallway_protocol::invitation::{ALPHABET, CODE_LENGTH};

/// How long a code stays valid: long enough for a letter home and a slow reply.
pub const VALIDITY: Duration = Duration::from_secs(30 * 24 * 3600);

/// A fresh random code, formatted for people: `ACDE-FGHJ-KMNP`.
pub fn new_code() -> String {
    // The thread-local generator is a CSPRNG seeded from the OS: as unguessable as `OsRng`, without a system
    // call per character (an import of thousands of people draws tens of thousands).
    let mut rng = rand::thread_rng();
    let chars: Vec<char> = (0..CODE_LENGTH).map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())])).collect();
    chars.chunks(4).map(|group| group.iter().collect::<String>()).collect::<Vec<_>>().join("-")
}

/// The code as typed, reduced to what is hashed: letter case, dashes and white space removed. `None` when what
/// remains cannot be a code (so obvious garbage never reaches the database).
pub fn normalize(typed: &str) -> Option<String> {
    hallway_protocol::invitation::normalize_code(typed)
}

/// What the database stores of a (normalized) code.
pub fn hash(normalized: &str) -> [u8; 32] {
    Sha256::digest(normalized.as_bytes()).into()
}

/// Issues a new code for a person, in the caller's transaction: their earlier unused codes stop working.
/// Nothing else changes: their password (if any) and their signed-in devices stay as they are.
pub async fn issue(
    tx: &mut PgConnection,
    user_id: Uuid,
    issued_by: Option<Uuid>,
) -> Result<ActivationCode, sqlx::Error> {
    let code = new_code();
    let expires_at = OffsetDateTime::now_utc() + VALIDITY;
    let normalized =
        normalize(&code).ok_or_else(|| sqlx::Error::Protocol("a fresh activation code does not normalize".into()))?;
    store::activation_codes::replace(tx, user_id, &hash(&normalized), issued_by, expires_at).await?;
    Ok(ActivationCode { code, expires_at })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_grouped_unambiguous_and_normalize_back() {
        let code = new_code();
        assert_eq!(code.len(), CODE_LENGTH + 2);
        assert_eq!(code.matches('-').count(), 2);
        let normalized = normalize(&code).unwrap();
        assert_eq!(normalized, code.replace('-', ""));
        assert_eq!(normalize(&format!("  {} ", code.to_lowercase())), Some(normalized.clone()));
        assert_eq!(hash(&normalized), hash(&normalize(&code).unwrap()));
        assert_ne!(new_code(), code, "two codes in a row differ");
    }

    #[test]
    fn garbage_is_not_a_code() {
        for bad in ["", "ABC", "ACDE-FGHJ-KMN0", "ACDE-FGHJ-KMNPQ", "ACDE FGHJ KMNO"] {
            assert_eq!(normalize(bad), None, "{bad:?}");
        }
    }
}

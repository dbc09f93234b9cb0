//! Access tokens (JWT, HS256) and refresh tokens (random, stored hashed, successors derived by HMAC).

use std::path::Path;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, errors::ErrorKind};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use uuid::Uuid;

/// What an access token says: who, which device session, until when.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// The user's id.
    pub sub: Uuid,
    /// The session (device) the token belongs to: revoking it ends the token's use at once.
    pub sid: Uuid,
    pub iat: i64,
    pub exp: i64,
}

/// Why an access token was refused: the client refreshes on `Expired` and signs in again on `Invalid`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the access token has expired")]
    Expired,
    #[error("the access token is not valid")]
    Invalid,
}

/// The server's signing material, derived from one secret.
pub struct Keys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    /// Key of the HMAC that derives a refresh token's successor (distinct from the JWT key).
    successor_key: [u8; 32],
    /// Key of the HMAC that signs attachment URLs (distinct from the others, so a signature made for one
    /// purpose never passes for another).
    attachment_key: [u8; 32],
    /// Key of the HMAC that binds a sync token to its user (`sync::SyncToken`).
    sync_key: [u8; 32],
}

impl Keys {
    /// Derives every key from the server secret.
    pub fn from_secret(secret: &[u8]) -> Keys {
        let mut successor = Sha256::new();
        successor.update(b"hallway refresh-token successor\0");
        successor.update(secret);
        let mut attachment = Sha256::new();
        attachment.update(b"hallway attachment url\0");
        attachment.update(secret);
        let mut sync = Sha256::new();
        sync.update(b"hallway sync token\0");
        sync.update(secret);
        Keys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            successor_key: successor.finalize().into(),
            attachment_key: attachment.finalize().into(),
            sync_key: sync.finalize().into(),
        }
    }

    /// Signs an access token for a session, issued at `issued_at`, living `ttl`.
    pub fn issue_access(&self, user_id: Uuid, session_id: Uuid, issued_at: OffsetDateTime, ttl: Duration) -> String {
        let iat = issued_at.unix_timestamp();
        let claims = Claims { sub: user_id, sid: session_id, iat, exp: iat + ttl.as_secs() as i64 };
        // HS256 signing of a small JSON object cannot fail: the key is an HMAC secret and the claims serialise.
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding).unwrap_or_default()
    }

    /// Checks an access token's signature and expiry.
    pub fn verify_access(&self, token: &str) -> Result<Claims, TokenError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub"]);
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation).map(|data| data.claims).map_err(|err| {
            match err.kind() {
                ErrorKind::ExpiredSignature => TokenError::Expired,
                _ => TokenError::Invalid,
            }
        })
    }

    /// The refresh token that replaces `token`: always the same for the same token, so a client that
    /// retries a refresh whose answer it lost gets the successor it missed, without the server storing it.
    pub fn successor(&self, token: &str) -> String {
        // HMAC accepts keys of any length, so this cannot fail.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.successor_key)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(token.as_bytes());
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }
}

impl Keys {
    /// The signature of an attachment URL: an HMAC of `id|variant|expires` (unix seconds), so a link lets
    /// image loaders and browsers fetch one file, in one variant, until it expires, without a header.
    pub fn sign_attachment(&self, id: Uuid, variant: &str, expires: i64) -> String {
        URL_SAFE_NO_PAD.encode(self.attachment_mac(id, variant, expires).finalize().into_bytes())
    }

    /// Whether `signature` was made by `sign_attachment` for this id, variant and expiry, and `now` (unix
    /// seconds) is before the expiry. The comparison takes constant time.
    pub fn verify_attachment(&self, id: Uuid, variant: &str, expires: i64, signature: &str, now: i64) -> bool {
        let Ok(signature) = URL_SAFE_NO_PAD.decode(signature) else { return false };
        now < expires && self.attachment_mac(id, variant, expires).verify_slice(&signature).is_ok()
    }

    fn attachment_mac(&self, id: Uuid, variant: &str, expires: i64) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.attachment_key)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(format!("{id}|{variant}|{expires}").as_bytes());
        mac
    }
}

impl Keys {
    /// The tag of a sync token's content for one user (an HMAC, its first 16 bytes), so a token is refused
    /// for anyone else and cannot be forged or altered.
    pub fn sign_sync_token(&self, user_id: Uuid, content: &[u8]) -> [u8; SYNC_TAG_LEN] {
        let full = self.sync_mac(user_id, content).finalize().into_bytes();
        let mut tag = [0; SYNC_TAG_LEN];
        tag.copy_from_slice(&full[..SYNC_TAG_LEN]);
        tag
    }

    /// Whether `tag` was made by `sign_sync_token` for this user and content; constant time.
    pub fn verify_sync_token(&self, user_id: Uuid, content: &[u8], tag: &[u8]) -> bool {
        tag.len() == SYNC_TAG_LEN && self.sync_mac(user_id, content).verify_truncated_left(tag).is_ok()
    }

    fn sync_mac(&self, user_id: Uuid, content: &[u8]) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.sync_key)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(user_id.as_bytes());
        mac.update(content);
        mac
    }
}

/// Bytes of a sync token's tag: 128 bits are beyond guessing.
pub const SYNC_TAG_LEN: usize = 16;

/// A fresh random refresh token (256 bits).
pub fn new_refresh_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// What the database stores of a refresh token.
pub fn hash_refresh_token(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// The server secret: `HALLWAY_JWT_SECRET` when set, else one generated on first start and kept in
/// `<data dir>/jwt-secret` (mode 0600), so tokens survive restarts.
pub fn load_or_create_secret(configured: Option<&str>, data_dir: &Path) -> std::io::Result<Vec<u8>> {
    if let Some(secret) = configured {
        return Ok(secret.as_bytes().to_vec());
    }
    let path = data_dir.join("jwt-secret");
    match std::fs::read_to_string(&path) {
        Ok(text) if !text.trim().is_empty() => return Ok(text.trim().as_bytes().to_vec()),
        Ok(_) => {}
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(err) => return Err(err),
    }
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::create_dir_all(data_dir)?;
    let mut bytes = [0u8; 48];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let secret = URL_SAFE_NO_PAD.encode(bytes);
    let mut file = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&path)?;
    file.write_all(secret.as_bytes())?;
    tracing::info!(file = %path.display(), "generated a token-signing secret");
    Ok(secret.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_token_round_trips_and_expires() {
        let keys = Keys::from_secret(b"test secret");
        let (user, session) = (Uuid::now_v7(), Uuid::now_v7());
        let token = keys.issue_access(user, session, OffsetDateTime::now_utc(), Duration::from_secs(60));
        let claims = keys.verify_access(&token).unwrap();
        assert_eq!((claims.sub, claims.sid), (user, session));

        let old = OffsetDateTime::now_utc() - Duration::from_secs(3600);
        let expired = keys.issue_access(user, session, old, Duration::from_secs(60));
        assert_eq!(keys.verify_access(&expired).unwrap_err(), TokenError::Expired);
    }

    #[test]
    fn token_signed_with_another_secret_is_invalid() {
        let ours = Keys::from_secret(b"ours");
        let theirs = Keys::from_secret(b"theirs");
        let forged =
            theirs.issue_access(Uuid::now_v7(), Uuid::now_v7(), OffsetDateTime::now_utc(), Duration::from_secs(60));
        assert_eq!(ours.verify_access(&forged).unwrap_err(), TokenError::Invalid);
        assert_eq!(ours.verify_access("not.a.jwt").unwrap_err(), TokenError::Invalid);
    }

    #[test]
    fn successor_is_deterministic_and_secret_bound() {
        let keys = Keys::from_secret(b"one");
        let token = new_refresh_token();
        assert_eq!(keys.successor(&token), keys.successor(&token));
        assert_ne!(keys.successor(&token), token);
        assert_ne!(Keys::from_secret(b"two").successor(&token), keys.successor(&token));
    }

    #[test]
    fn attachment_signatures_bind_id_variant_and_expiry() {
        let keys = Keys::from_secret(b"one");
        let (id, now) = (Uuid::now_v7(), 1_000_000);
        let sig = keys.sign_attachment(id, "original", now + 60);
        assert!(keys.verify_attachment(id, "original", now + 60, &sig, now));
        assert!(!keys.verify_attachment(id, "original", now + 60, &sig, now + 60), "expired");
        assert!(!keys.verify_attachment(id, "thumbnail", now + 60, &sig, now), "other variant");
        assert!(!keys.verify_attachment(id, "original", now + 61, &sig, now), "other expiry");
        assert!(!keys.verify_attachment(Uuid::now_v7(), "original", now + 60, &sig, now), "other id");
        assert!(!Keys::from_secret(b"two").verify_attachment(id, "original", now + 60, &sig, now), "other key");
        assert!(!keys.verify_attachment(id, "original", now + 60, "not base64!", now));
    }

    #[test]
    fn secret_is_generated_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let first = load_or_create_secret(None, dir.path()).unwrap();
        let second = load_or_create_secret(None, dir.path()).unwrap();
        assert_eq!(first, second);
        assert_eq!(load_or_create_secret(Some("configured"), dir.path()).unwrap(), b"configured");
    }
}

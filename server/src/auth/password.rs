//! Password hashing with argon2id. Hashing is CPU-heavy, so it runs on the blocking pool, never on an
//! actor's or the runtime's thread.

use std::sync::OnceLock;

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

/// Shortest password accepted (the protocol's rule, which the SDK checks too).
pub const MIN_LENGTH: usize = hallway_protocol::validate::MIN_PASSWORD_CHARS;
/// Longest password accepted (argon2 does not care, but a megabyte of "password" is abuse).
pub const MAX_LENGTH: usize = hallway_protocol::validate::MAX_PASSWORD_CHARS;

/// Why a new password is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PasswordError {
    #[error("must be at least {MIN_LENGTH} characters")]
    TooShort,
    #[error("must be at most {MAX_LENGTH} characters")]
    TooLong,
}

/// A password that meets the rules for a new password.
pub struct NewPassword(String);

impl NewPassword {
    /// Checks the length rules (counted in characters, as everywhere in the contract).
    pub fn parse(raw: &str) -> Result<NewPassword, PasswordError> {
        let len = raw.chars().count();
        if len < MIN_LENGTH {
            Err(PasswordError::TooShort)
        } else if len > MAX_LENGTH {
            Err(PasswordError::TooLong)
        } else {
            Ok(NewPassword(raw.to_owned()))
        }
    }
}

/// Hashes a new password (argon2id, random salt, the crate's recommended parameters).
pub async fn hash(password: NewPassword) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || hash_blocking(&password.0)).await?
}

/// The synchronous hash, for command-line tools and seeding.
pub fn hash_blocking(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))
}

/// Checks a password against a stored hash. With no hash (an unknown user, an account never activated),
/// it still spends the same time on a dummy hash, so response times do not reveal which accounts exist.
pub async fn verify(stored: Option<String>, password: String) -> anyhow::Result<bool> {
    tokio::task::spawn_blocking(move || {
        let Some(stored) = stored else {
            let _ = check(dummy_hash(), &password);
            return false;
        };
        check(&stored, &password)
    })
    .await
    .map_err(Into::into)
}

fn check(stored: &str, password: &str) -> bool {
    PasswordHash::new(stored)
        .map(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
        .unwrap_or(false)
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_blocking("not a real password, only for timing").unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_rules_count_characters() {
        assert_eq!(NewPassword::parse("short").err(), Some(PasswordError::TooShort));
        assert!(NewPassword::parse("ünïcödé!").is_ok());
        assert_eq!(NewPassword::parse(&"x".repeat(257)).err(), Some(PasswordError::TooLong));
    }

    #[tokio::test]
    async fn hash_then_verify() {
        let hash = hash(NewPassword::parse("correct horse").unwrap()).await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify(Some(hash.clone()), "correct horse".into()).await.unwrap());
        assert!(!verify(Some(hash), "wrong horse".into()).await.unwrap());
        assert!(!verify(None, "anything".into()).await.unwrap());
    }
}

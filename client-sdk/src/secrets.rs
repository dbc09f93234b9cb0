//! The device's secret store, implemented by the app: the Android Keystore or the iOS Keychain. It keeps the
//! two things that unlock an account on this phone, the refresh token and the key of the encrypted local
//! store, so that a copy of the data directory (a backup, a file pulled off the phone) opens nothing.
//!
//! The app gives each client a store of its own (scoped by server, as it does the data directory). Calls are
//! short and synchronous; the SDK makes them off the async runtime.

use std::fmt::Write as _;

/// The name under which the key of the local SQLite store is kept.
pub(crate) const STORE_KEY: &str = "store-key";
/// The name under which the session's refresh token is kept.
pub(crate) const REFRESH_TOKEN: &str = "refresh-token";

/// Where the app keeps this client's secrets. Values are short ASCII strings (a token, a hex key).
#[uniffi::export(with_foreign)]
pub trait SecretStore: Send + Sync {
    /// The value kept under `name`, or `None` if there is none.
    fn get(&self, name: String) -> Result<Option<String>, SecretStoreError>;
    /// Keeps `value` under `name`, replacing any value there.
    fn set(&self, name: String, value: String) -> Result<(), SecretStoreError>;
    /// Forgets `name` (nothing to do when there is no value under it).
    fn remove(&self, name: String) -> Result<(), SecretStoreError>;
}

/// The secret store failed: the SDK treats it as a storage failure (`HallwayError::Storage`).
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum SecretStoreError {
    /// The platform refused or failed (a keystore reset, the device locked before its first unlock); `reason`
    /// is for logs and must hold no secret.
    #[error("the secret store failed: {reason}")]
    Unavailable { reason: String },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for SecretStoreError {
    fn from(error: uniffi::UnexpectedUniFFICallbackError) -> SecretStoreError {
        SecretStoreError::Unavailable { reason: error.reason }
    }
}

/// A new random key for the store: 32 bytes from the OS's generator, as 64 hex digits (SQLCipher's raw-key
/// form, which skips its password derivation, so opening the store costs no key stretching).
pub(crate) fn new_store_key() -> String {
    rand::random::<[u8; 32]>().iter().fold(String::with_capacity(64), |mut hex, byte| {
        let _ = write!(hex, "{byte:02x}");
        hex
    })
}

/// Whether `key` is what [`new_store_key`] makes; anything else is never put into SQL.
pub(crate) fn is_store_key(key: &str) -> bool {
    key.len() == 64 && key.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The unit tests' secret store, in memory.
#[cfg(test)]
pub(crate) struct MemorySecrets(std::sync::Mutex<std::collections::HashMap<String, String>>);

#[cfg(test)]
impl MemorySecrets {
    pub(crate) fn new() -> std::sync::Arc<MemorySecrets> {
        std::sync::Arc::new(MemorySecrets(std::sync::Mutex::default()))
    }
}

#[cfg(test)]
impl SecretStore for MemorySecrets {
    fn get(&self, name: String) -> Result<Option<String>, SecretStoreError> {
        Ok(self.0.lock().unwrap().get(&name).cloned())
    }
    fn set(&self, name: String, value: String) -> Result<(), SecretStoreError> {
        self.0.lock().unwrap().insert(name, value);
        Ok(())
    }
    fn remove(&self, name: String) -> Result<(), SecretStoreError> {
        self.0.lock().unwrap().remove(&name);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_keys_are_random_hex_of_256_bits() {
        let (a, b) = (new_store_key(), new_store_key());
        assert!(is_store_key(&a) && is_store_key(&b));
        assert_ne!(a, b);
        assert!(!is_store_key("x'00'; DROP TABLE session; --"));
    }
}

//! School-wide settings that admins change at run time, stored as JSON under a key.

use serde::{Serialize, de::DeserializeOwned};
use sqlx::PgExecutor;

/// The value stored under `key`, if any; a value that no longer parses is logged and ignored.
pub async fn get<T: DeserializeOwned>(db: impl PgExecutor<'_>, key: &str) -> Result<Option<T>, sqlx::Error> {
    let value: Option<serde_json::Value> =
        sqlx::query_scalar("SELECT value FROM settings WHERE key = $1").bind(key).fetch_optional(db).await?;
    Ok(value.and_then(|v| match serde_json::from_value(v) {
        Ok(parsed) => Some(parsed),
        Err(err) => {
            tracing::error!(key, error = %err, "ignoring a stored setting that does not parse");
            None
        }
    }))
}

/// Stores `value` under `key`.
pub async fn put<T: Serialize>(db: impl PgExecutor<'_>, key: &str, value: &T) -> Result<(), sqlx::Error> {
    let value = serde_json::to_value(value).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    sqlx::query(
        "INSERT INTO settings (key, value) VALUES ($1, $2)
         ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()",
    )
    .bind(key)
    .bind(value)
    .execute(db)
    .await
    .map(|_| ())
}

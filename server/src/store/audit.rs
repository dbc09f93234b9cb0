//! The audit log: who did what to whom, when, and from which address.

use serde_json::Value;
use sqlx::PgExecutor;
use uuid::Uuid;

/// One entry to record.
pub struct AuditEntry<'a> {
    /// Who acted; `None` for the server itself or the command line.
    pub actor_id: Option<Uuid>,
    /// A dotted verb, e.g. `user.create_admin`.
    pub action: &'a str,
    /// What it was done to, e.g. `user:<id>`.
    pub target: Option<String>,
    /// The client address, when it came over the network.
    pub address: Option<String>,
    /// Anything else worth keeping (never passwords, tokens or message text).
    pub details: Value,
}

/// Appends an entry.
pub async fn record(db: impl PgExecutor<'_>, entry: AuditEntry<'_>) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO audit_log (actor_id, action, target, address, details) VALUES ($1, $2, $3, $4, $5)")
        .bind(entry.actor_id)
        .bind(entry.action)
        .bind(entry.target)
        .bind(entry.address)
        .bind(entry.details)
        .execute(db)
        .await
        .map(|_| ())
}

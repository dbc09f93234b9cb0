//! Reading the audit log back: filtered, newest first, paged by id (ids only grow, so a page boundary never
//! moves while new entries arrive).

use sqlx::{FromRow, PgExecutor};
use time::OffsetDateTime;
use uuid::Uuid;

/// What an admin looks for. Every filter is optional.
pub struct AuditQuery<'a> {
    pub actor_id: Option<Uuid>,
    /// An action (`user.deactivate`) or a family of them (`user` finds `user.create`, `user.deactivate`...).
    pub action: Option<&'a str>,
    /// Entries at or after this instant.
    pub from: Option<OffsetDateTime>,
    /// Entries before this instant.
    pub to: Option<OffsetDateTime>,
    /// Entries older than this id (the previous page's `next_before_id`).
    pub before_id: Option<i64>,
    pub limit: i64,
}

/// One entry of the log, with its actor's username (both `None` for the server itself or the command line).
#[derive(Debug, FromRow)]
pub struct AuditRow {
    pub id: i64,
    pub at: OffsetDateTime,
    pub actor_id: Option<Uuid>,
    pub actor_username: Option<String>,
    pub action: String,
    pub target: Option<String>,
    pub address: Option<String>,
    pub details: serde_json::Value,
}

/// One page of entries matching `query`, newest first.
pub async fn search(db: impl PgExecutor<'_>, query: &AuditQuery<'_>) -> Result<Vec<AuditRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT a.id, a.at, a.actor_id, u.username AS actor_username, a.action, a.target, a.address, a.details
         FROM audit_log a LEFT JOIN users u ON u.id = a.actor_id
         WHERE ($1::uuid IS NULL OR a.actor_id = $1)
           AND ($2::text IS NULL OR a.action = $2 OR starts_with(a.action, $2 || '.'))
           AND ($3::timestamptz IS NULL OR a.at >= $3)
           AND ($4::timestamptz IS NULL OR a.at < $4)
           AND ($5::bigint IS NULL OR a.id < $5)
         ORDER BY a.id DESC
         LIMIT $6",
    )
    .bind(query.actor_id)
    .bind(query.action)
    .bind(query.from)
    .bind(query.to)
    .bind(query.before_id)
    .bind(query.limit)
    .fetch_all(db)
    .await
}

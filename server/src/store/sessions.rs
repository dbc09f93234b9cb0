//! Signed-in devices (sessions) and their rotating refresh tokens (stored as hashes only).

use sqlx::{FromRow, PgExecutor};
use time::OffsetDateTime;
use uuid::Uuid;

/// A refresh token's row, with what a refresh needs to know about its session.
#[derive(Debug, Clone, FromRow)]
pub struct RefreshTokenRow {
    pub session_id: Uuid,
    pub user_id: Uuid,
    pub expires_at: OffsetDateTime,
    pub rotated_at: Option<OffsetDateTime>,
    pub session_revoked_at: Option<OffsetDateTime>,
}

/// Opens a session for a user signing in on a device.
pub async fn create(
    db: impl PgExecutor<'_>,
    user_id: Uuid,
    user_agent: Option<&str>,
    address: Option<&str>,
) -> Result<Uuid, sqlx::Error> {
    let id = Uuid::now_v7();
    sqlx::query("INSERT INTO sessions (id, user_id, user_agent, address) VALUES ($1, $2, $3, $4)")
        .bind(id)
        .bind(user_id)
        .bind(user_agent.map(|ua| ua.chars().take(256).collect::<String>()))
        .bind(address)
        .execute(db)
        .await?;
    Ok(id)
}

/// Stores a refresh token's hash. Storing the same hash twice (two racing retries deriving the same
/// successor) is harmless: the second insert does nothing.
pub async fn insert_refresh_token(
    db: impl PgExecutor<'_>,
    token_hash: &[u8],
    session_id: Uuid,
    expires_at: OffsetDateTime,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO refresh_tokens (token_hash, session_id, expires_at) VALUES ($1, $2, $3)
         ON CONFLICT (token_hash) DO NOTHING",
    )
    .bind(token_hash)
    .bind(session_id)
    .bind(expires_at)
    .execute(db)
    .await
    .map(|_| ())
}

/// The look-up of a refresh token by its hash (`$1`), with its session.
macro_rules! refresh_token_by_hash {
    () => {
        "SELECT t.session_id, s.user_id, t.expires_at, t.rotated_at, s.revoked_at AS session_revoked_at
         FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id
         WHERE t.token_hash = $1"
    };
}

/// Looks a refresh token up by its hash.
pub async fn find_refresh_token(
    db: impl PgExecutor<'_>,
    token_hash: &[u8],
) -> Result<Option<RefreshTokenRow>, sqlx::Error> {
    sqlx::query_as(refresh_token_by_hash!()).bind(token_hash).fetch_optional(db).await
}

/// Looks a refresh token up and locks its row until the transaction ends, so concurrent refreshes with the
/// same token take turns: the second one sees what the first one committed.
pub async fn lock_refresh_token(
    db: impl PgExecutor<'_>,
    token_hash: &[u8],
) -> Result<Option<RefreshTokenRow>, sqlx::Error> {
    sqlx::query_as(concat!(refresh_token_by_hash!(), " FOR UPDATE OF t")).bind(token_hash).fetch_optional(db).await
}

/// Marks a refresh token as used, if nobody did yet; `true` when this call was the one that did.
pub async fn claim_rotation(db: impl PgExecutor<'_>, token_hash: &[u8]) -> Result<bool, sqlx::Error> {
    sqlx::query("UPDATE refresh_tokens SET rotated_at = now() WHERE token_hash = $1 AND rotated_at IS NULL")
        .bind(token_hash)
        .execute(db)
        .await
        .map(|r| r.rows_affected() == 1)
}

/// Records that a session was used just now.
pub async fn touch(db: impl PgExecutor<'_>, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE sessions SET last_used_at = now() WHERE id = $1").bind(id).execute(db).await.map(|_| ())
}

/// Ends one session; `true` if it was active. Its push devices go in the same statement: sessions are only
/// marked revoked, so no cascade would remove them.
pub async fn revoke(db: impl PgExecutor<'_>, id: Uuid) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "WITH ended AS (UPDATE sessions SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL RETURNING id),
              gone AS (DELETE FROM devices WHERE session_id IN (SELECT id FROM ended))
         SELECT count(*) FROM ended",
    )
    .bind(id)
    .fetch_one(db)
    .await
    .map(|n: i64| n == 1)
}

/// Ends the session a refresh token (any of its tokens, current or rotated) belongs to, with its push devices, in
/// one statement;
/// the session's id and user when this call ended it, `None` for an unknown token or a session already ended.
pub async fn revoke_by_refresh_token(
    db: impl PgExecutor<'_>,
    token_hash: &[u8],
) -> Result<Option<(Uuid, Uuid)>, sqlx::Error> {
    sqlx::query_as(
        "WITH ended AS (
             UPDATE sessions s SET revoked_at = now()
             FROM refresh_tokens t
             WHERE t.token_hash = $1 AND t.session_id = s.id AND s.revoked_at IS NULL
             RETURNING s.id, s.user_id),
         gone AS (DELETE FROM devices WHERE session_id IN (SELECT id FROM ended))
         SELECT id, user_id FROM ended",
    )
    .bind(token_hash)
    .fetch_optional(db)
    .await
}

/// Ends every active session of a user except `keep`, returning the ids it ended (whose sockets close).
/// Their push devices go in the same statement.
pub async fn revoke_all_of_user(
    db: impl PgExecutor<'_>,
    user_id: Uuid,
    keep: Option<Uuid>,
) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar(
        "WITH ended AS (
             UPDATE sessions SET revoked_at = now()
             WHERE user_id = $1 AND revoked_at IS NULL AND ($2::uuid IS NULL OR id <> $2)
             RETURNING id
         ),
         gone AS (DELETE FROM devices WHERE session_id IN (SELECT id FROM ended))
         SELECT id FROM ended",
    )
    .bind(user_id)
    .bind(keep)
    .fetch_all(db)
    .await
}

//! Activation codes, stored as SHA-256 hashes (see `auth::activation`).

use sqlx::{PgConnection, PgExecutor};
use time::OffsetDateTime;
use uuid::Uuid;

/// Issues a code for one user: every earlier unused code of theirs dies, so only the newest letter works.
pub async fn replace(
    tx: &mut PgConnection,
    user_id: Uuid,
    code_hash: &[u8; 32],
    created_by: Option<Uuid>,
    expires_at: OffsetDateTime,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM activation_codes WHERE user_id = $1 AND used_at IS NULL")
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("INSERT INTO activation_codes (code_hash, user_id, created_by, expires_at) VALUES ($1, $2, $3, $4)")
        .bind(&code_hash[..])
        .bind(user_id)
        .bind(created_by)
        .bind(expires_at)
        .execute(&mut *tx)
        .await
        .map(|_| ())
}

/// Issues one code per user in a single statement (a roster import); the users are new, so none has codes yet.
pub async fn insert_many(
    db: impl PgExecutor<'_>,
    user_ids: &[Uuid],
    code_hashes: &[Vec<u8>],
    created_by: Uuid,
    expires_at: OffsetDateTime,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO activation_codes (code_hash, user_id, created_by, expires_at)
         SELECT h, u, $3, $4 FROM unnest($1::bytea[], $2::uuid[]) AS t (h, u)",
    )
    .bind(code_hashes)
    .bind(user_ids)
    .bind(created_by)
    .bind(expires_at)
    .execute(db)
    .await
    .map(|_| ())
}

/// The user a valid code belongs to (unused, unexpired), without using it up.
pub async fn find_valid(db: impl PgExecutor<'_>, code_hash: &[u8; 32]) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT user_id FROM activation_codes WHERE code_hash = $1 AND used_at IS NULL AND expires_at > now()",
    )
    .bind(&code_hash[..])
    .fetch_optional(db)
    .await
}

/// Uses a code up, if it is still valid: of two concurrent redemptions exactly one gets the user back. The
/// user's other unused codes die with it.
pub async fn redeem(tx: &mut PgConnection, code_hash: &[u8; 32]) -> Result<Option<Uuid>, sqlx::Error> {
    let user_id: Option<Uuid> = sqlx::query_scalar(
        "UPDATE activation_codes SET used_at = now()
         WHERE code_hash = $1 AND used_at IS NULL AND expires_at > now() RETURNING user_id",
    )
    .bind(&code_hash[..])
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(user_id) = user_id {
        sqlx::query("DELETE FROM activation_codes WHERE user_id = $1 AND used_at IS NULL")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
    }
    Ok(user_id)
}

//! Devices registered for push notifications, each owned by the sign-in session that registered it.

use sqlx::{FromRow, PgConnection, PgExecutor};
use time::OffsetDateTime;
use uuid::Uuid;

/// A device as stored.
#[derive(Debug, Clone, FromRow)]
pub struct DeviceRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub session_id: Uuid,
    pub platform: String,
    /// The token or the endpoint URL.
    pub address: String,
    pub p256dh: Option<String>,
    pub auth: Option<String>,
    pub created_at: OffsetDateTime,
}

/// A device to register.
pub struct NewDevice<'a> {
    pub user_id: Uuid,
    pub session_id: Uuid,
    pub platform: &'a str,
    pub address: &'a str,
    pub keys: Option<(&'a str, &'a str)>,
    pub app_version: Option<&'a str>,
    pub locale: Option<&'a str>,
}

/// The columns of a `DeviceRow`.
macro_rules! columns {
    () => {
        "id, user_id, session_id, platform, address, p256dh, auth, created_at"
    };
}

/// Registers a device; `(row, true)` when it is new. The same token or endpoint registered again by the same
/// session is the same device (its keys and versions are refreshed). Registered by another session (the phone
/// signed in again, or changed hands), it moves to the new session as a new device, so the old owner's
/// pushes stop. Run in a transaction: the row is locked while it is looked at.
pub async fn register(tx: &mut PgConnection, new: &NewDevice<'_>) -> Result<(DeviceRow, bool), sqlx::Error> {
    let (p256dh, auth) = new.keys.unzip();
    let existing: Option<DeviceRow> =
        sqlx::query_as(concat!("SELECT ", columns!(), " FROM devices WHERE platform = $1 AND address = $2 FOR UPDATE"))
            .bind(new.platform)
            .bind(new.address)
            .fetch_optional(&mut *tx)
            .await?;
    if let Some(row) = existing {
        if row.session_id == new.session_id {
            let row = sqlx::query_as(concat!(
                "UPDATE devices SET p256dh = $2, auth = $3, app_version = $4, locale = $5 WHERE id = $1 RETURNING ",
                columns!()
            ))
            .bind(row.id)
            .bind(p256dh)
            .bind(auth)
            .bind(new.app_version)
            .bind(new.locale)
            .fetch_one(&mut *tx)
            .await?;
            return Ok((row, false));
        }
        sqlx::query("DELETE FROM devices WHERE id = $1").bind(row.id).execute(&mut *tx).await?;
    }
    let row = sqlx::query_as(concat!(
        "INSERT INTO devices (id, user_id, session_id, platform, address, p256dh, auth, app_version, locale)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING ",
        columns!()
    ))
    .bind(Uuid::now_v7())
    .bind(new.user_id)
    .bind(new.session_id)
    .bind(new.platform)
    .bind(new.address)
    .bind(p256dh)
    .bind(auth)
    .bind(new.app_version)
    .bind(new.locale)
    .fetch_one(&mut *tx)
    .await?;
    Ok((row, true))
}

/// A user's devices, oldest first.
pub async fn list_of_user(db: impl PgExecutor<'_>, user_id: Uuid) -> Result<Vec<DeviceRow>, sqlx::Error> {
    sqlx::query_as(concat!("SELECT ", columns!(), " FROM devices WHERE user_id = $1 ORDER BY created_at, id"))
        .bind(user_id)
        .fetch_all(db)
        .await
}

/// Deletes a user's device; `false` when the user has no such device.
pub async fn delete_of_user(db: impl PgExecutor<'_>, id: Uuid, user_id: Uuid) -> Result<bool, sqlx::Error> {
    sqlx::query("DELETE FROM devices WHERE id = $1 AND user_id = $2")
        .bind(id)
        .bind(user_id)
        .execute(db)
        .await
        .map(|r| r.rows_affected() == 1)
}

/// Deletes a device whatever its owner (its push service said it is gone); its queued pushes go with it.
pub async fn delete(db: impl PgExecutor<'_>, id: Uuid) -> Result<bool, sqlx::Error> {
    sqlx::query("DELETE FROM devices WHERE id = $1").bind(id).execute(db).await.map(|r| r.rows_affected() == 1)
}

/// A device a push may go to: whose it is and the session it belongs to.
#[derive(Debug, Clone, FromRow)]
pub struct PushTarget {
    pub device_id: Uuid,
    pub user_id: Uuid,
    pub session_id: Uuid,
}

/// The devices (of the given platforms, on live sessions) of a conversation's members other than `except`,
/// leaving out members who muted it, and with `unread_up_to`, members who have read up to that `seq` (whose
/// notification of that message no longer shows).
pub async fn of_unmuted_members(
    db: impl PgExecutor<'_>,
    conversation_id: Uuid,
    except: Uuid,
    unread_up_to: Option<i64>,
    platforms: &[&str],
) -> Result<Vec<PushTarget>, sqlx::Error> {
    sqlx::query_as(
        "SELECT d.id AS device_id, d.user_id, d.session_id
         FROM conversation_members cm
         JOIN devices d ON d.user_id = cm.user_id
         JOIN sessions s ON s.id = d.session_id
         WHERE cm.conversation_id = $1 AND cm.user_id <> $2 AND NOT cm.muted
           AND ($3::bigint IS NULL OR cm.last_read_seq < $3)
           AND s.revoked_at IS NULL AND d.platform = ANY($4)",
    )
    .bind(conversation_id)
    .bind(except)
    .bind(unread_up_to)
    .bind(platforms)
    .fetch_all(db)
    .await
}

/// One user's devices (of the given platforms, on live sessions).
pub async fn of_user(
    db: impl PgExecutor<'_>,
    user_id: Uuid,
    platforms: &[&str],
) -> Result<Vec<PushTarget>, sqlx::Error> {
    sqlx::query_as(
        "SELECT d.id AS device_id, d.user_id, d.session_id
         FROM devices d JOIN sessions s ON s.id = d.session_id
         WHERE d.user_id = $1 AND s.revoked_at IS NULL AND d.platform = ANY($2)",
    )
    .bind(user_id)
    .bind(platforms)
    .fetch_all(db)
    .await
}

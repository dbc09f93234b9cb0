//! Attachments: uploaded files, each carried by at most one message.
//!
//! Rows point at content-addressed blobs (`storage_key`, `thumbnail_key`, and `users.avatar_key` for
//! profile pictures); several rows may share one blob. Whoever adds or drops a reference to a blob first
//! takes that blob's advisory lock (`lock_blobs`), so a blob is deleted only when no row uses it and never
//! while another upload is starting to use it.

use sqlx::{FromRow, PgConnection, PgExecutor};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::media::storage::BlobKey;

/// An `attachments` row.
#[derive(Debug, Clone, FromRow)]
pub struct AttachmentRow {
    pub id: Uuid,
    pub uploader_id: Uuid,
    /// SHA-256 of the stored bytes (what the ETag is made of).
    pub sha256: Vec<u8>,
    pub file_name: String,
    pub mime_type: String,
    pub size_bytes: i64,
    pub width: Option<i32>,
    pub height: Option<i32>,
    pub storage_key: String,
    pub thumbnail_key: Option<String>,
    pub created_at: OffsetDateTime,
}

impl AttachmentRow {
    /// The blob keys the row refers to.
    pub fn blob_keys(&self) -> Vec<BlobKey> {
        std::iter::once(self.storage_key.as_str())
            .chain(self.thumbnail_key.as_deref())
            .filter_map(BlobKey::parse)
            .collect()
    }
}

#[macro_export]
macro_rules! attachment_columns {
    () => {
        "id, uploader_id, sha256, file_name, mime_type, size_bytes, width, height, storage_key, thumbnail_key, \
         created_at"
    };
}

/// A row to insert; the blobs it names are already in the store.
pub struct NewAttachment<'a> {
    pub uploader_id: Uuid,
    pub sha256: &'a [u8; 32],
    pub file_name: &'a str,
    pub mime_type: &'a str,
    pub size_bytes: i64,
    pub width: Option<i32>,
    pub height: Option<i32>,
    pub storage_key: &'a BlobKey,
    pub thumbnail_key: Option<&'a BlobKey>,
}

/// Why attachments may not go with a message. The message endpoints answer `NotYours` and `Duplicate` with
/// 400 `invalid_input` (naming `attachment_ids`; someone else's upload is indistinguishable from a missing
/// one), and `AlreadyAttached` the same way.
#[derive(Debug, thiserror::Error)]
pub enum ClaimError {
    #[error("attachment_ids: {0} is not an upload of yours")]
    NotYours(Uuid),
    #[error("attachment_ids: {0} has been sent with another message already")]
    AlreadyAttached(Uuid),
    #[error("attachment_ids: {0} is named twice")]
    Duplicate(Uuid),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Checks that every id names an upload of `uploader_id` that no message carries yet, locking those rows
/// until the transaction ends: call it in the transaction that inserts the message, so two messages cannot
/// both take one attachment (the unique `message_attachments.attachment_id` is the last line of defence).
pub async fn claim_for_message(conn: &mut PgConnection, uploader_id: Uuid, ids: &[Uuid]) -> Result<(), ClaimError> {
    for (i, id) in ids.iter().enumerate() {
        if ids[..i].contains(id) {
            return Err(ClaimError::Duplicate(*id));
        }
    }
    // A file removed with its deleted message is as good as gone: it cannot come back in another message.
    let rows: Vec<(Uuid, Uuid)> = sqlx::query_as(
        "SELECT id, uploader_id FROM attachments WHERE id = ANY($1) AND removed_at IS NULL ORDER BY id FOR UPDATE",
    )
    .bind(ids)
    .fetch_all(&mut *conn)
    .await?;
    // A second statement, so its snapshot is taken after the locks: a message that took one of these files
    // while this transaction waited for the lock is seen (in one statement, the wait would not refresh it).
    let carried: Vec<Uuid> =
        sqlx::query_scalar("SELECT attachment_id FROM message_attachments WHERE attachment_id = ANY($1)")
            .bind(ids)
            .fetch_all(&mut *conn)
            .await?;
    for id in ids {
        match rows.iter().find(|(row_id, _)| row_id == id) {
            Some((_, uploader)) if *uploader != uploader_id => return Err(ClaimError::NotYours(*id)),
            None => return Err(ClaimError::NotYours(*id)),
            Some(_) if carried.contains(id) => return Err(ClaimError::AlreadyAttached(*id)),
            Some(_) => {}
        }
    }
    Ok(())
}

/// Serialises the uploads of one person until the transaction ends, so two parallel uploads cannot both
/// squeeze under the quota.
pub async fn lock_uploader(conn: &mut PgConnection, uploader_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended('hallway quota ' || $1::text, 0))")
        .bind(uploader_id)
        .execute(conn)
        .await
        .map(|_| ())
}

/// Takes the advisory locks of these blobs until the transaction ends, in key order (so two transactions
/// never wait for each other in a cycle).
pub async fn lock_blobs(conn: &mut PgConnection, keys: &[&BlobKey]) -> Result<(), sqlx::Error> {
    let mut keys: Vec<&str> = keys.iter().map(|k| k.as_str()).collect();
    keys.sort_unstable();
    keys.dedup();
    for key in keys {
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended('hallway blob ' || $1, 0))")
            .bind(key)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Bytes of distinct content the uploader keeps stored (the same file twice counts once).
pub async fn stored_bytes(db: impl PgExecutor<'_>, uploader_id: Uuid) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT coalesce(sum(size_bytes), 0)::bigint FROM
           (SELECT DISTINCT ON (sha256) size_bytes FROM attachments WHERE uploader_id = $1) AS distinct_content",
    )
    .bind(uploader_id)
    .fetch_one(db)
    .await
}

/// Whether the uploader already stores this content (another copy costs them nothing).
pub async fn holds_content(db: impl PgExecutor<'_>, uploader_id: Uuid, sha256: &[u8; 32]) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM attachments WHERE uploader_id = $1 AND sha256 = $2)")
        .bind(uploader_id)
        .bind(sha256.as_slice())
        .fetch_one(db)
        .await
}

/// Inserts an attachment row.
pub async fn insert(db: impl PgExecutor<'_>, new: &NewAttachment<'_>) -> Result<AttachmentRow, sqlx::Error> {
    sqlx::query_as(concat!(
        "INSERT INTO attachments
           (id, uploader_id, sha256, file_name, mime_type, size_bytes, width, height, storage_key, thumbnail_key)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING ",
        attachment_columns!()
    ))
    .bind(Uuid::now_v7())
    .bind(new.uploader_id)
    .bind(new.sha256.as_slice())
    .bind(new.file_name)
    .bind(new.mime_type)
    .bind(new.size_bytes)
    .bind(new.width)
    .bind(new.height)
    .bind(new.storage_key.as_str())
    .bind(new.thumbnail_key.map(BlobKey::as_str))
    .fetch_one(db)
    .await
}

/// One attachment by id.
pub async fn find(db: impl PgExecutor<'_>, id: Uuid) -> Result<Option<AttachmentRow>, sqlx::Error> {
    sqlx::query_as(concat!("SELECT ", attachment_columns!(), " FROM attachments WHERE id = $1"))
        .bind(id)
        .fetch_optional(db)
        .await
}

/// Whether `user_id` may download the attachment: its uploader, or a member of a conversation in which a
/// message that is not deleted carries it.
pub async fn may_read(db: impl PgExecutor<'_>, id: Uuid, user_id: Uuid) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM attachments WHERE id = $1 AND uploader_id = $2)
             OR EXISTS (SELECT 1 FROM message_attachments ma
                        JOIN messages m ON m.id = ma.message_id AND m.deleted_at IS NULL
                        JOIN conversation_members cm ON cm.conversation_id = m.conversation_id AND cm.user_id = $2
                        WHERE ma.attachment_id = $1)",
    )
    .bind(id)
    .bind(user_id)
    .fetch_one(db)
    .await
}

/// Whether the message that carried the attachment has been deleted (it is then served to nobody).
pub async fn carried_by_deleted_message(db: impl PgExecutor<'_>, id: Uuid) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM attachments WHERE id = $1 AND removed_at IS NOT NULL)
             OR EXISTS (SELECT 1 FROM message_attachments ma JOIN messages m ON m.id = ma.message_id
                        WHERE ma.attachment_id = $1 AND m.deleted_at IS NOT NULL)",
    )
    .bind(id)
    .fetch_one(db)
    .await
}

/// Whether any attachment or profile picture still uses the blob.
pub async fn blob_in_use(db: impl PgExecutor<'_>, key: &BlobKey) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM attachments WHERE storage_key = $1)
             OR EXISTS (SELECT 1 FROM attachments WHERE thumbnail_key = $1)
             OR EXISTS (SELECT 1 FROM users WHERE avatar_key = $1)",
    )
    .bind(key.as_str())
    .fetch_one(db)
    .await
}

/// Up to `limit` attachments that no message carries and that were uploaded before `before` or removed with
/// their deleted message (those go at the next run, whatever their age), oldest first.
pub async fn unattached_before(
    db: impl PgExecutor<'_>,
    before: OffsetDateTime,
    limit: i64,
) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT a.id FROM attachments a
         WHERE (a.created_at < $1 OR a.removed_at IS NOT NULL)
           AND NOT EXISTS (SELECT 1 FROM message_attachments ma WHERE ma.attachment_id = a.id)
         ORDER BY a.created_at LIMIT $2",
    )
    .bind(before)
    .bind(limit)
    .fetch_all(db)
    .await
}

/// Locks an attachment that is still carried by no message; `None` if it is gone, carried meanwhile, or
/// locked by a message being sent with it right now.
pub async fn lock_unattached(conn: &mut PgConnection, id: Uuid) -> Result<Option<AttachmentRow>, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT ",
        attachment_columns!(),
        " FROM attachments a
         WHERE a.id = $1 AND NOT EXISTS (SELECT 1 FROM message_attachments ma WHERE ma.attachment_id = a.id)
         FOR UPDATE SKIP LOCKED"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await
}

/// Deletes an attachment row.
pub async fn delete(db: impl PgExecutor<'_>, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM attachments WHERE id = $1").bind(id).execute(db).await.map(|_| ())
}

/// The blob of a user's profile picture, locking the user's row until the transaction ends.
pub async fn lock_avatar(conn: &mut PgConnection, user_id: Uuid) -> Result<Option<BlobKey>, sqlx::Error> {
    let key: Option<Option<String>> = sqlx::query_scalar("SELECT avatar_key FROM users WHERE id = $1 FOR UPDATE")
        .bind(user_id)
        .fetch_optional(conn)
        .await?;
    Ok(key.flatten().as_deref().and_then(BlobKey::parse))
}

/// Sets (or, with `None`, removes) a user's profile picture.
pub async fn set_avatar(db: impl PgExecutor<'_>, user_id: Uuid, key: Option<&BlobKey>) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET avatar_key = $2, updated_at = now() WHERE id = $1")
        .bind(user_id)
        .bind(key.map(BlobKey::as_str))
        .execute(db)
        .await
        .map(|_| ())
}

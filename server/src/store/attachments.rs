//! Attachments: uploaded files, each carried by at most one message.

use sqlx::PgExecutor;
use uuid::Uuid;

/// How many of `ids` were uploaded by `uploader_id` and are not yet carried by a message: what a sender may
/// attach. Equal to `ids.len()` exactly when every one of them may be attached (ids must be distinct).
pub async fn count_attachable(db: impl PgExecutor<'_>, uploader_id: Uuid, ids: &[Uuid]) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT count(*) FROM attachments a
         WHERE a.id = ANY($1) AND a.uploader_id = $2
           AND NOT EXISTS (SELECT 1 FROM message_attachments ma WHERE ma.attachment_id = a.id)",
    )
    .bind(ids)
    .bind(uploader_id)
    .fetch_one(db)
    .await
}

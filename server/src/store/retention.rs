//! Retention: clearing the contents of old messages while keeping their rows (and so their `seq`).

use sqlx::PgPool;
use time::OffsetDateTime;
use uuid::Uuid;

/// What one clearing removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cleared {
    /// Messages whose body was emptied and that are now marked deleted.
    pub messages: u64,
    /// Earlier versions (from edits) removed.
    pub edits: u64,
    /// Reactions removed.
    pub reactions: u64,
    /// `attachments` rows removed (their links went with their messages).
    pub attachments: u64,
    /// Storage keys (files and thumbnails) that no attachment refers to any more: the media storage deletes
    /// these blobs. Returned rather than deleted here so the database never points at a missing file.
    pub unreferenced_storage_keys: Vec<String>,
}

/// Clears every message created before `cutoff`, in one transaction: bodies emptied and marked deleted
/// (as a delete does: rows and seqs stay), earlier versions and reactions removed, attachment links
/// removed, and attachments uploaded before `cutoff` that no message carries any more removed, with the
/// storage keys they leave unreferenced. Messages deleted earlier lose their kept versions too.
pub async fn clear_before(db: &PgPool, cutoff: OffsetDateTime) -> Result<Cleared, sqlx::Error> {
    let mut tx = db.begin().await?;
    let edits =
        sqlx::query("DELETE FROM message_edits e USING messages m WHERE m.id = e.message_id AND m.created_at < $1")
            .bind(cutoff)
            .execute(&mut *tx)
            .await?
            .rows_affected();
    let reactions =
        sqlx::query("DELETE FROM reactions r USING messages m WHERE m.id = r.message_id AND m.created_at < $1")
            .bind(cutoff)
            .execute(&mut *tx)
            .await?
            .rows_affected();
    sqlx::query("DELETE FROM message_attachments ma USING messages m WHERE m.id = ma.message_id AND m.created_at < $1")
        .bind(cutoff)
        .execute(&mut *tx)
        .await?;
    let messages =
        sqlx::query("UPDATE messages SET body = '', deleted_at = now() WHERE created_at < $1 AND deleted_at IS NULL")
            .bind(cutoff)
            .execute(&mut *tx)
            .await?
            .rows_affected();
    // Attachments of the messages cleared above, and those left over by earlier deletes; an upload that was
    // never sent is kept until it is as old as the cutoff too.
    let removed: Vec<(Uuid, String, Option<String>)> = sqlx::query_as(
        "DELETE FROM attachments a WHERE a.created_at < $1
           AND NOT EXISTS (SELECT 1 FROM message_attachments ma WHERE ma.attachment_id = a.id)
         RETURNING a.id, a.storage_key, a.thumbnail_key",
    )
    .bind(cutoff)
    .fetch_all(&mut *tx)
    .await?;
    let keys: Vec<String> =
        removed.iter().flat_map(|(_, file, thumb)| std::iter::once(file.clone()).chain(thumb.clone())).collect();
    let unreferenced_storage_keys = unreferenced(&mut tx, &keys).await?;
    tx.commit().await?;
    Ok(Cleared { messages, edits, reactions, attachments: removed.len() as u64, unreferenced_storage_keys })
}

/// Those of `keys` that no attachment row refers to (as its file or its thumbnail): identical uploads may
/// share one stored blob, which must stay while anyone still carries it.
pub async fn unreferenced(tx: &mut sqlx::PgConnection, keys: &[String]) -> Result<Vec<String>, sqlx::Error> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    sqlx::query_scalar(
        "SELECT DISTINCT k FROM unnest($1::text[]) AS k
         WHERE NOT EXISTS (SELECT 1 FROM attachments a WHERE a.storage_key = k OR a.thumbnail_key = k)
         ORDER BY k",
    )
    .bind(keys)
    .fetch_all(&mut *tx)
    .await
}

//! Everything the school's record of one conversation holds: its messages with senders, earlier versions and
//! attachments, read in four queries whatever its length.

use std::collections::HashMap;

use hallway_protocol::safety::{ExportedAttachment, ExportedEdit, ExportedMessage};
use sqlx::{FromRow, PgPool};
use time::OffsetDateTime;
use uuid::Uuid;

/// The conversation itself.
#[derive(Debug, Clone, FromRow)]
pub struct ConversationRow {
    pub id: Uuid,
    pub kind: String,
    pub name: Option<String>,
    pub created_at: OffsetDateTime,
}

/// The conversation, or `None` when there is no such conversation.
pub async fn conversation(db: &PgPool, id: Uuid) -> Result<Option<ConversationRow>, sqlx::Error> {
    sqlx::query_as("SELECT id, kind, name, created_at FROM conversations WHERE id = $1")
        .bind(id)
        .fetch_optional(db)
        .await
}

#[derive(FromRow)]
struct Row {
    id: Uuid,
    seq: i64,
    sender_id: Uuid,
    sender_name: String,
    sender_username: String,
    body: String,
    created_at: OffsetDateTime,
    edited_at: Option<OffsetDateTime>,
    deleted_at: Option<OffsetDateTime>,
}

/// Every message of the conversation, ascending by seq, with its earlier versions (oldest first) and the
/// attachments it still carries (a deleted message carries none).
pub async fn messages(db: &PgPool, conversation_id: Uuid) -> Result<Vec<ExportedMessage>, sqlx::Error> {
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT m.id, m.seq, m.sender_id, u.display_name AS sender_name, u.username AS sender_username, m.body,
                m.created_at, m.edited_at, m.deleted_at
         FROM messages m JOIN users u ON u.id = m.sender_id
         WHERE m.conversation_id = $1 ORDER BY m.seq",
    )
    .bind(conversation_id)
    .fetch_all(db)
    .await?;
    let edit_rows: Vec<(Uuid, String, OffsetDateTime)> = sqlx::query_as(
        "SELECT e.message_id, e.old_body, e.edited_at FROM message_edits e JOIN messages m ON m.id = e.message_id
         WHERE m.conversation_id = $1 ORDER BY e.message_id, e.id",
    )
    .bind(conversation_id)
    .fetch_all(db)
    .await?;
    let mut edits: HashMap<Uuid, Vec<ExportedEdit>> = HashMap::new();
    for (message_id, body, replaced_at) in edit_rows {
        edits.entry(message_id).or_default().push(ExportedEdit { body, replaced_at });
    }
    let attachment_rows: Vec<(Uuid, Uuid, String, String, i64)> = sqlx::query_as(
        "SELECT ma.message_id, a.id, a.file_name, a.mime_type, a.size_bytes
         FROM message_attachments ma JOIN attachments a ON a.id = ma.attachment_id
         JOIN messages m ON m.id = ma.message_id
         WHERE m.conversation_id = $1 ORDER BY ma.message_id, ma.position",
    )
    .bind(conversation_id)
    .fetch_all(db)
    .await?;
    let mut attachments: HashMap<Uuid, Vec<ExportedAttachment>> = HashMap::new();
    for (message_id, id, file_name, mime_type, size_bytes) in attachment_rows {
        attachments.entry(message_id).or_default().push(ExportedAttachment { id, file_name, mime_type, size_bytes });
    }
    Ok(rows
        .into_iter()
        .map(|row| ExportedMessage {
            edits: edits.remove(&row.id).unwrap_or_default(),
            attachments: attachments.remove(&row.id).unwrap_or_default(),
            id: row.id,
            seq: row.seq,
            sender_id: row.sender_id,
            sender_name: row.sender_name,
            sender_username: row.sender_username,
            deleted: row.deleted_at.is_some(),
            body: row.body,
            created_at: row.created_at,
            edited_at: row.edited_at,
            deleted_at: row.deleted_at,
        })
        .collect())
}

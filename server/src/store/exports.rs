//! Everything the school's record of one conversation holds: its messages with senders, earlier versions and
//! attachments, read in four queries whatever its length (`safety::export` puts them together).

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

/// A message of the conversation, with its sender's names.
#[derive(Debug, FromRow)]
pub struct MessageRow {
    pub id: Uuid,
    pub seq: i64,
    pub sender_id: Uuid,
    pub sender_name: String,
    pub sender_username: String,
    pub body: String,
    pub created_at: OffsetDateTime,
    pub edited_at: Option<OffsetDateTime>,
    pub deleted_at: Option<OffsetDateTime>,
}

/// An earlier version of a message: its text until `edited_at`, when an edit replaced it.
#[derive(Debug, FromRow)]
pub struct EditRow {
    pub message_id: Uuid,
    pub old_body: String,
    pub edited_at: OffsetDateTime,
}

/// A file a message carries.
#[derive(Debug, FromRow)]
pub struct AttachmentRow {
    pub message_id: Uuid,
    pub id: Uuid,
    pub file_name: String,
    pub mime_type: String,
    pub size_bytes: i64,
}

/// Every message of the conversation, ascending by seq.
pub async fn messages(db: &PgPool, conversation_id: Uuid) -> Result<Vec<MessageRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT m.id, m.seq, m.sender_id, u.display_name AS sender_name, u.username AS sender_username, m.body,
                m.created_at, m.edited_at, m.deleted_at
         FROM messages m JOIN users u ON u.id = m.sender_id
         WHERE m.conversation_id = $1 ORDER BY m.seq",
    )
    .bind(conversation_id)
    .fetch_all(db)
    .await
}

/// The earlier versions of the conversation's messages, by message, each's oldest first.
pub async fn edits(db: &PgPool, conversation_id: Uuid) -> Result<Vec<EditRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT e.message_id, e.old_body, e.edited_at FROM message_edits e JOIN messages m ON m.id = e.message_id
         WHERE m.conversation_id = $1 ORDER BY e.message_id, e.id",
    )
    .bind(conversation_id)
    .fetch_all(db)
    .await
}

/// The files the conversation's messages still carry (a deleted message carries none), by message, each's in
/// their order in it.
pub async fn attachments(db: &PgPool, conversation_id: Uuid) -> Result<Vec<AttachmentRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT ma.message_id, a.id, a.file_name, a.mime_type, a.size_bytes
         FROM message_attachments ma JOIN attachments a ON a.id = ma.attachment_id
         JOIN messages m ON m.id = ma.message_id
         WHERE m.conversation_id = $1 ORDER BY ma.message_id, ma.position",
    )
    .bind(conversation_id)
    .fetch_all(db)
    .await
}

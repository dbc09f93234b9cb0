//! The chats under safeguarding visibility (direct chats between a teacher and a student), found by their
//! members' roles now.

use sqlx::{FromRow, PgExecutor};
use time::OffsetDateTime;
use uuid::Uuid;

/// The condition on a conversation `c` that makes it safeguarded: `safety::is_safeguarded_kind` in SQL.
macro_rules! safeguarded {
    () => {
        "c.kind = 'direct'
         AND EXISTS (SELECT 1 FROM conversation_members cm JOIN users u ON u.id = cm.user_id
                     WHERE cm.conversation_id = c.id AND u.role = 'teacher')
         AND EXISTS (SELECT 1 FROM conversation_members cm JOIN users u ON u.id = cm.user_id
                     WHERE cm.conversation_id = c.id AND u.role = 'student')"
    };
}

/// A safeguarded chat as the list shows it (members are loaded with `members_of`).
#[derive(Debug, Clone, FromRow)]
pub struct SafeguardedRow {
    pub id: Uuid,
    pub created_at: OffsetDateTime,
    pub last_message_at: Option<OffsetDateTime>,
    pub message_count: i64,
}

/// Safeguarded chats, newest activity first.
pub async fn list(db: impl PgExecutor<'_>, limit: i64, offset: i64) -> Result<Vec<SafeguardedRow>, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT c.id, c.created_at, c.last_message_at, c.next_seq - 1 AS message_count FROM conversations c WHERE ",
        safeguarded!(),
        " ORDER BY coalesce(c.last_message_at, c.created_at) DESC, c.id DESC LIMIT $1 OFFSET $2"
    ))
    .bind(limit)
    .bind(offset)
    .fetch_all(db)
    .await
}

/// Whether one conversation is a safeguarded chat (by kind and roles; the setting is the caller's check).
pub async fn is_safeguarded(db: impl PgExecutor<'_>, conversation_id: Uuid) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(concat!(
        "SELECT EXISTS (SELECT 1 FROM conversations c WHERE c.id = $1 AND ",
        safeguarded!(),
        ")"
    ))
    .bind(conversation_id)
    .fetch_one(db)
    .await
}

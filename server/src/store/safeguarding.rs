//! The chats under safeguarding visibility (direct chats between a teacher and a student), found by their
//! members' roles now, and the members of conversations as the admin views show them.

use std::collections::HashMap;

use hallway_protocol::User;
use sqlx::{FromRow, PgExecutor};
use time::OffsetDateTime;
use uuid::Uuid;

use super::users::UserRow;

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

#[derive(FromRow)]
struct MemberRow {
    conversation_id: Uuid,
    #[sqlx(flatten)]
    user: UserRow,
}

/// The current members of each conversation, in the order they joined.
pub async fn members_of(db: impl PgExecutor<'_>, ids: &[Uuid]) -> Result<HashMap<Uuid, Vec<User>>, sqlx::Error> {
    let rows: Vec<MemberRow> = sqlx::query_as(
        "SELECT cm.conversation_id,
                u.id, u.username, u.email, u.display_name, u.role, u.password_hash, u.avatar_key, u.deactivated_at
         FROM conversation_members cm JOIN users u ON u.id = cm.user_id
         WHERE cm.conversation_id = ANY($1)
         ORDER BY cm.conversation_id, cm.joined_at, cm.user_id",
    )
    .bind(ids)
    .fetch_all(db)
    .await?;
    let mut members: HashMap<Uuid, Vec<User>> = HashMap::new();
    for row in rows {
        members.entry(row.conversation_id).or_default().push(row.user.to_wire());
    }
    Ok(members)
}

/// People by id, as clients see them (unknown ids are left out).
pub async fn users(db: impl PgExecutor<'_>, ids: &[Uuid]) -> Result<Vec<User>, sqlx::Error> {
    let rows: Vec<UserRow> = sqlx::query_as(
        "SELECT id, username, email, display_name, role, password_hash, avatar_key, deactivated_at
         FROM users WHERE id = ANY($1) ORDER BY display_name, id",
    )
    .bind(ids)
    .fetch_all(db)
    .await?;
    Ok(rows.iter().map(UserRow::to_wire).collect())
}

//! Conversations and their members.

use sqlx::{FromRow, PgExecutor};
use time::OffsetDateTime;
use uuid::Uuid;

/// A member's row: their place in the group and their own read marker and settings.
#[derive(Debug, Clone, FromRow)]
pub struct MemberRow {
    pub conversation_id: Uuid,
    pub user_id: Uuid,
    /// `admin` or `member` (group admins may rename, add, remove and promote).
    pub role: String,
    pub last_read_seq: i64,
    pub muted: bool,
    pub pinned: bool,
    pub archived: bool,
    pub joined_at: OffsetDateTime,
}

impl MemberRow {
    /// Whether this member administers the group.
    pub fn is_admin(&self) -> bool {
        self.role == "admin"
    }
}

/// The caller's membership of a conversation, or `None` when they are not in it (answer 404 then).
pub async fn membership(
    db: impl PgExecutor<'_>,
    conversation_id: Uuid,
    user_id: Uuid,
) -> Result<Option<MemberRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT conversation_id, user_id, role, last_read_seq, muted, pinned, archived, joined_at
         FROM conversation_members WHERE conversation_id = $1 AND user_id = $2",
    )
    .bind(conversation_id)
    .bind(user_id)
    .fetch_optional(db)
    .await
}

/// The ids of every member of a conversation (whom its events reach).
pub async fn member_ids(db: impl PgExecutor<'_>, conversation_id: Uuid) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar("SELECT user_id FROM conversation_members WHERE conversation_id = $1 ORDER BY joined_at")
        .bind(conversation_id)
        .fetch_all(db)
        .await
}

/// A conversation's kind, or `None` when it does not exist.
pub async fn kind(
    db: impl PgExecutor<'_>,
    conversation_id: Uuid,
) -> Result<Option<hallway_protocol::ConversationKind>, sqlx::Error> {
    let kind: Option<String> = sqlx::query_scalar("SELECT kind FROM conversations WHERE id = $1")
        .bind(conversation_id)
        .fetch_optional(db)
        .await?;
    Ok(kind.as_deref().and_then(hallway_protocol::ConversationKind::parse))
}

/// A conversation to create, with its first members (the creator among them, as group admin).
pub struct NewConversation<'a> {
    pub kind: hallway_protocol::ConversationKind,
    pub name: Option<&'a str>,
    pub created_by: Uuid,
    /// Everyone in it, the creator included; `true` marks a group admin.
    pub members: &'a [(Uuid, bool)],
}

/// The key that makes a direct chat unique per pair, whichever of the two starts it.
pub fn direct_key(a: Uuid, b: Uuid) -> String {
    let (low, high) = if a <= b { (a, b) } else { (b, a) };
    format!("{low}:{high}")
}

/// Creates a conversation and its members in the caller's transaction, returning its id. For a direct chat
/// that exists already (unique `direct_key`), the insert fails with `conversations_direct_key_key`.
pub async fn create(tx: &mut sqlx::PgConnection, new: &NewConversation<'_>) -> Result<Uuid, sqlx::Error> {
    use hallway_protocol::ConversationKind;
    let id = Uuid::now_v7();
    let direct_key = match (new.kind, new.members) {
        (ConversationKind::Direct, [(a, _), (b, _)]) => Some(direct_key(*a, *b)),
        _ => None,
    };
    sqlx::query("INSERT INTO conversations (id, kind, name, created_by, direct_key) VALUES ($1, $2, $3, $4, $5)")
        .bind(id)
        .bind(new.kind.as_str())
        .bind(new.name)
        .bind(new.created_by)
        .bind(direct_key)
        .execute(&mut *tx)
        .await?;
    for (user_id, admin) in new.members {
        sqlx::query("INSERT INTO conversation_members (conversation_id, user_id, role) VALUES ($1, $2, $3)")
            .bind(id)
            .bind(user_id)
            .bind(if *admin { "admin" } else { "member" })
            .execute(&mut *tx)
            .await?;
    }
    Ok(id)
}

/// Messages after the member's read marker that others sent and that are not deleted: derived on every
/// read, never a counter that could drift.
pub async fn unread_count(db: impl PgExecutor<'_>, conversation_id: Uuid, user_id: Uuid) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT count(*) FROM messages m JOIN conversation_members cm
           ON cm.conversation_id = m.conversation_id AND cm.user_id = $2
         WHERE m.conversation_id = $1 AND m.seq > cm.last_read_seq AND m.sender_id <> $2 AND m.deleted_at IS NULL",
    )
    .bind(conversation_id)
    .bind(user_id)
    .fetch_one(db)
    .await
}

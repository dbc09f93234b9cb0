//! The reads behind conversations as one member sees them (`views::conversations` puts them together): the
//! viewers' own rows (with the unread counts, counted in the same statement), every member of those
//! conversations with their user, and the latest message of each.

use sqlx::{FromRow, PgExecutor};
use time::OffsetDateTime;
use uuid::Uuid;

use super::messages::MessageRow;
use super::users::UserRow;

/// The viewer's side of their conversations, in list order. `unread_count` follows the definition of
/// `conversations::unread_count`: after the read marker, sent by others, not deleted.
macro_rules! viewer_rows {
    ($filter:literal) => {
        concat!(
            "SELECT cm.user_id AS viewer, c.id, c.kind, c.name, c.last_message_at, cm.last_read_seq, cm.muted,
                    cm.pinned, cm.archived,
                    (SELECT count(*) FROM messages m
                     WHERE m.conversation_id = c.id AND m.seq > cm.last_read_seq AND m.sender_id <> cm.user_id
                       AND m.deleted_at IS NULL) AS unread_count
             FROM conversation_members cm JOIN conversations c ON c.id = cm.conversation_id
             WHERE ",
            $filter,
            " ORDER BY cm.pinned DESC, coalesce(c.last_message_at, c.created_at) DESC, c.id DESC"
        )
    };
}

/// One member's side of one conversation.
#[derive(Debug, FromRow)]
pub struct ViewerRow {
    pub viewer: Uuid,
    pub id: Uuid,
    pub kind: String,
    pub name: Option<String>,
    pub last_message_at: Option<OffsetDateTime>,
    pub last_read_seq: i64,
    pub muted: bool,
    pub pinned: bool,
    pub archived: bool,
    pub unread_count: i64,
}

/// A member of a conversation, with their user.
#[derive(Debug, FromRow)]
pub struct MemberUserRow {
    pub conversation_id: Uuid,
    pub is_admin: bool,
    #[sqlx(flatten)]
    pub user: UserRow,
}

/// Every conversation of `viewer`: pinned first, then newest activity first (the last message, or the
/// creation for a conversation without messages); archived ones included.
pub async fn all_of(db: impl PgExecutor<'_>, viewer: Uuid) -> Result<Vec<ViewerRow>, sqlx::Error> {
    sqlx::query_as(viewer_rows!("cm.user_id = $1")).bind(viewer).fetch_all(db).await
}

/// Those of `ids` that `viewer` is a member of, in list order.
pub async fn some_of(db: impl PgExecutor<'_>, viewer: Uuid, ids: &[Uuid]) -> Result<Vec<ViewerRow>, sqlx::Error> {
    sqlx::query_as(viewer_rows!("cm.user_id = $1 AND cm.conversation_id = ANY($2)"))
        .bind(viewer)
        .bind(ids)
        .fetch_all(db)
        .await
}

/// One conversation's row for each of `viewers` who is a member of it.
pub async fn each_of(
    db: impl PgExecutor<'_>,
    viewers: &[Uuid],
    conversation_id: Uuid,
) -> Result<Vec<ViewerRow>, sqlx::Error> {
    sqlx::query_as(viewer_rows!("cm.user_id = ANY($1) AND cm.conversation_id = $2"))
        .bind(viewers)
        .bind(conversation_id)
        .fetch_all(db)
        .await
}

/// The current members of each of `ids`, by conversation, each's in the order they joined.
pub async fn members(db: impl PgExecutor<'_>, ids: &[Uuid]) -> Result<Vec<MemberUserRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT cm.conversation_id, cm.role = 'admin' AS is_admin,
                u.id, u.username, u.email, u.display_name, u.role, u.password_hash, u.avatar_key, u.deactivated_at
         FROM conversation_members cm JOIN users u ON u.id = cm.user_id
         WHERE cm.conversation_id = ANY($1)
         ORDER BY cm.conversation_id, cm.joined_at, cm.user_id",
    )
    .bind(ids)
    .fetch_all(db)
    .await
}

/// The newest message of each of `ids`, by seq: a backward scan of (conversation_id, seq) per conversation.
pub async fn last_messages(db: impl PgExecutor<'_>, ids: &[Uuid]) -> Result<Vec<MessageRow>, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT m.* FROM unnest($1::uuid[]) AS c(id)
         CROSS JOIN LATERAL (SELECT ",
        crate::message_columns!(),
        " FROM messages WHERE conversation_id = c.id ORDER BY seq DESC LIMIT 1) m"
    ))
    .bind(ids)
    .fetch_all(db)
    .await
}

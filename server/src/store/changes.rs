//! The change feed (`conversation_changes`, written by triggers in the same transaction as every change; see
//! the migration): the queries behind `GET /sync`. A position is `(xid, id)`: the writing transaction's id and
//! the row's identity, compared in that order. Positions travel as `i64` (an `xid8` fits until 2^63).

use sqlx::{FromRow, PgExecutor};
use time::OffsetDateTime;
use uuid::Uuid;

use super::messages::MessageRow;

/// A place in the feed: everything at or before it has been seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    pub xid: i64,
    pub id: i64,
}

impl Position {
    /// Past every row there is.
    pub const END: Position = Position { xid: i64::MAX, id: i64::MAX };
}

/// The first change of one message after a position.
#[derive(Debug, Clone, FromRow)]
pub struct FirstChange {
    pub xid: i64,
    pub id: i64,
    pub message_id: Uuid,
    pub created_at: OffsetDateTime,
}

impl FirstChange {
    /// Where this change sits in the feed.
    pub fn position(&self) -> Position {
        Position { xid: self.xid, id: self.id }
    }
}

/// The snapshot horizon: every transaction with a smaller id has finished (committed or rolled back), so no
/// change below it can appear any more.
pub async fn horizon(db: impl PgExecutor<'_>) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint").fetch_one(db).await
}

/// The first change after `after` of each message changed in a conversation `user_id` is in now, the earliest
/// `limit` of them in feed order. One index range scan per conversation of the user.
pub async fn first_message_changes(
    db: impl PgExecutor<'_>,
    user_id: Uuid,
    after: Position,
    limit: i64,
) -> Result<Vec<FirstChange>, sqlx::Error> {
    sqlx::query_as(
        "WITH changed AS (
             SELECT c.xid, c.id, c.message_id, c.created_at
             FROM conversation_members cm
             CROSS JOIN LATERAL (
                 SELECT xid, id, message_id, created_at FROM conversation_changes
                 WHERE conversation_id = cm.conversation_id AND message_id IS NOT NULL
                   AND (xid, id) > ($2::text::xid8, $3)) c
             WHERE cm.user_id = $1
         ), firsts AS (
             SELECT DISTINCT ON (message_id) xid, id, message_id, created_at FROM changed
             ORDER BY message_id, xid, id
         )
         SELECT xid::text::bigint AS xid, id, message_id, created_at FROM firsts ORDER BY xid, id LIMIT $4",
    )
    .bind(user_id)
    .bind(after.xid)
    .bind(after.id)
    .bind(limit)
    .fetch_all(db)
    .await
}

/// The conversations `user_id` is in now that changed in `(after, upto]`, by anything but another member's own
/// settings (which only that member sees). One index probe per conversation of the user.
pub async fn changed_conversations(
    db: impl PgExecutor<'_>,
    user_id: Uuid,
    after: Position,
    upto: Position,
) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT cm.conversation_id FROM conversation_members cm
         WHERE cm.user_id = $1 AND EXISTS (
             SELECT 1 FROM conversation_changes c
             WHERE c.conversation_id = cm.conversation_id
               AND (c.xid, c.id) > ($2::text::xid8, $3) AND (c.xid, c.id) <= ($4::text::xid8, $5)
               AND NOT (c.kind = 'settings' AND c.user_id <> $1))",
    )
    .bind(user_id)
    .bind(after.xid)
    .bind(after.id)
    .bind(upto.xid)
    .bind(upto.id)
    .fetch_all(db)
    .await
}

/// The conversations `user_id` left or was removed from in `(after, upto]` and is not in now.
pub async fn removed_conversations(
    db: impl PgExecutor<'_>,
    user_id: Uuid,
    after: Position,
    upto: Position,
) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT DISTINCT c.conversation_id FROM conversation_changes c
         WHERE c.user_id = $1 AND c.kind = 'member_removed'
           AND (c.xid, c.id) > ($2::text::xid8, $3) AND (c.xid, c.id) <= ($4::text::xid8, $5)
           AND NOT EXISTS (SELECT 1 FROM conversation_members cm
                           WHERE cm.conversation_id = c.conversation_id AND cm.user_id = $1)",
    )
    .bind(user_id)
    .bind(after.xid)
    .bind(after.id)
    .bind(upto.xid)
    .bind(upto.id)
    .fetch_all(db)
    .await
}

/// Messages by id, grouped by conversation, ascending by seq.
pub async fn messages(db: impl PgExecutor<'_>, ids: &[Uuid]) -> Result<Vec<MessageRow>, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT ",
        crate::message_columns!(),
        " FROM messages WHERE id = ANY($1) ORDER BY conversation_id, seq"
    ))
    .bind(ids)
    .fetch_all(db)
    .await
}

/// The messages of every conversation `user_id` is in, after `(conversation_id, seq)` in that order, `limit`
/// at most: the pages of a sync from the start of time. Each conversation is read along its
/// `(conversation_id, seq)` index, `limit` rows at most.
pub async fn all_messages_after(
    db: impl PgExecutor<'_>,
    user_id: Uuid,
    after: (Uuid, i64),
    limit: i64,
) -> Result<Vec<MessageRow>, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT m.* FROM conversation_members cm
         CROSS JOIN LATERAL (SELECT ",
        crate::message_columns!(),
        " FROM messages WHERE conversation_id = cm.conversation_id AND (conversation_id, seq) > ($2, $3)
           ORDER BY seq LIMIT $4) m
         WHERE cm.user_id = $1 AND cm.conversation_id >= $2
         ORDER BY m.conversation_id, m.seq LIMIT $4"
    ))
    .bind(user_id)
    .bind(after.0)
    .bind(after.1)
    .bind(limit)
    .fetch_all(db)
    .await
}

/// Deletes changes recorded before `cutoff`, at most `batch` of them (the oldest), returning how many went.
pub async fn prune(db: impl PgExecutor<'_>, cutoff: OffsetDateTime, batch: i64) -> Result<u64, sqlx::Error> {
    sqlx::query(
        "DELETE FROM conversation_changes WHERE id IN (
             SELECT id FROM conversation_changes WHERE created_at < $1 ORDER BY created_at LIMIT $2)",
    )
    .bind(cutoff)
    .bind(batch)
    .execute(db)
    .await
    .map(|r| r.rows_affected())
}

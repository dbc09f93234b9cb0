//! Read markers: each member's `last_read_seq`, from which unread counts are derived.

use sqlx::PgExecutor;
use uuid::Uuid;

/// Moves a member's read marker forward to `seq`, never back, and never past the conversation's last
/// message (a seq past the end is taken as the end). Returns the marker as it now stands, or `None` when
/// the user is not a member. `seq` must not be negative.
pub async fn advance(
    db: impl PgExecutor<'_>,
    conversation_id: Uuid,
    user_id: Uuid,
    seq: i64,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "UPDATE conversation_members cm
         SET last_read_seq = greatest(cm.last_read_seq, least($3, c.next_seq - 1))
         FROM conversations c
         WHERE c.id = cm.conversation_id AND cm.conversation_id = $1 AND cm.user_id = $2
         RETURNING cm.last_read_seq",
    )
    .bind(conversation_id)
    .bind(user_id)
    .bind(seq)
    .fetch_optional(db)
    .await
}

//! Acknowledgements of messages, and the receipts of one message counted from the members' read markers,
//! delivery records and acknowledgements.

use sqlx::{FromRow, PgExecutor};
use uuid::Uuid;

/// Stores that `user_id` acknowledged the message; `false` when they had already.
pub async fn acknowledge(db: impl PgExecutor<'_>, message_id: Uuid, user_id: Uuid) -> Result<bool, sqlx::Error> {
    sqlx::query(
        "INSERT INTO message_acknowledgements (message_id, user_id) VALUES ($1, $2)
         ON CONFLICT (message_id, user_id) DO NOTHING",
    )
    .bind(message_id)
    .bind(user_id)
    .execute(db)
    .await
    .map(|r| r.rows_affected() == 1)
}

/// The counts of one message's receipts, over the conversation's members other than its sender.
#[derive(Debug, Clone, FromRow)]
pub struct ReceiptCounts {
    pub total: i64,
    pub delivered: i64,
    pub read: i64,
    pub acknowledged: i64,
    pub not_read_user_ids: Vec<Uuid>,
}

/// Counts, in one statement, the members other than `sender_id` who received (a delivery record or a read
/// marker at or past `seq`), read (a read marker at or past it) and acknowledged (a stored acknowledgement)
/// the message, and lists who has not read it. One range scan of the members' primary key plus one of the
/// acknowledgements' (both keyed by what is asked), whatever the size of the audience.
pub async fn counts(
    db: impl PgExecutor<'_>,
    conversation_id: Uuid,
    message_id: Uuid,
    seq: i64,
    sender_id: Uuid,
) -> Result<ReceiptCounts, sqlx::Error> {
    sqlx::query_as(
        "SELECT count(*) AS total,
                count(*) FILTER (WHERE greatest(cm.last_delivered_seq, cm.last_read_seq) >= $3) AS delivered,
                count(*) FILTER (WHERE cm.last_read_seq >= $3) AS read,
                count(a.user_id) AS acknowledged,
                coalesce(array_agg(cm.user_id ORDER BY cm.user_id) FILTER (WHERE cm.last_read_seq < $3), '{}')
                    AS not_read_user_ids
         FROM conversation_members cm
         LEFT JOIN message_acknowledgements a ON a.message_id = $2 AND a.user_id = cm.user_id
         WHERE cm.conversation_id = $1 AND cm.user_id <> $4",
    )
    .bind(conversation_id)
    .bind(message_id)
    .bind(seq)
    .bind(sender_id)
    .fetch_one(db)
    .await
}

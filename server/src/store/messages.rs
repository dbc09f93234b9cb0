//! Messages: the seq-assigning insert, the reads of messages, and their reactions and attachments (which
//! `views::messages` puts together).

use std::collections::HashMap;

use hallway_protocol::validate::{ClientMsgId, MessageBody};
use sqlx::{FromRow, PgConnection, PgExecutor, PgPool};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::store::attachments::{AttachmentRow, ClaimError, claim_for_message};

/// A `messages` row.
#[derive(Debug, Clone, FromRow)]
pub struct MessageRow {
    pub id: Uuid,
    pub conversation_id: Uuid,
    pub seq: i64,
    pub sender_id: Uuid,
    pub client_msg_id: String,
    pub body: String,
    pub created_at: OffsetDateTime,
    pub edited_at: Option<OffsetDateTime>,
    pub deleted_at: Option<OffsetDateTime>,
    pub urgent: bool,
}

/// The columns of a `MessageRow`, as a macro so queries stay `&'static str`.
#[macro_export]
macro_rules! message_columns {
    () => {
        "id, conversation_id, seq, sender_id, client_msg_id, body, created_at, edited_at, deleted_at, urgent"
    };
}

/// What an insert did: a new message, or the sender's earlier one with the same `client_msg_id`.
#[derive(Debug, Clone)]
pub enum Inserted {
    New(MessageRow),
    /// A retry: the original is returned unchanged, whatever else the retry said.
    Existing(MessageRow),
}

impl Inserted {
    /// The message, new or original.
    pub fn row(&self) -> &MessageRow {
        match self {
            Inserted::New(row) | Inserted::Existing(row) => row,
        }
    }
}

/// A message to insert, already validated and checked against membership and policy by the caller.
pub struct NewMessage<'a> {
    pub conversation_id: Uuid,
    pub sender_id: Uuid,
    pub client_msg_id: &'a ClientMsgId,
    pub body: &'a MessageBody,
    pub attachment_ids: &'a [Uuid],
}

/// Inserts a message with the conversation's next `seq`, in one transaction: the seq comes from
/// `conversations.next_seq` (row-locked by the update), so concurrent writers, even on several servers, can
/// never produce a duplicate or a gap. A repeated `client_msg_id` returns the original. The attachments are
/// claimed in the same transaction (`attachments::claim_for_message`: the sender's own uploads, carried by no
/// other message, row-locked), so two messages can never take one file. The sender's read marker moves to
/// their own message. Every insert here also marks the message for pushing (`push_pending`) in its own
/// transaction: the notifier takes the mark when it queues the pushes.
pub async fn insert(db: &PgPool, new: &NewMessage<'_>) -> Result<Inserted, ClaimError> {
    insert_with_urgency(db, new, false).await
}

/// `insert`, for a message that may be urgent (contract 1.1): the flag is stored with it.
pub async fn insert_with_urgency(db: &PgPool, new: &NewMessage<'_>, urgent: bool) -> Result<Inserted, ClaimError> {
    let mut tx = db.begin().await?;
    if let Some(existing) = find_by_client_msg_id(&mut *tx, new.sender_id, new.client_msg_id.as_str()).await? {
        return Ok(Inserted::Existing(existing));
    }
    claim_for_message(&mut tx, new.sender_id, new.attachment_ids).await?;
    match insert_in(&mut tx, new, urgent).await {
        Ok(row) => {
            tx.commit().await?;
            Ok(Inserted::New(row))
        }
        Err(err) if crate::store::violated_unique_constraint(&err) == Some("messages_sender_client_msg_id_key") => {
            // A concurrent retry of the same message won the race; the rollback returns our seq.
            tx.rollback().await?;
            Ok(find_by_client_msg_id(db, new.sender_id, new.client_msg_id.as_str())
                .await?
                .map(Inserted::Existing)
                .ok_or(sqlx::Error::RowNotFound)?)
        }
        Err(err) => Err(err.into()),
    }
}

async fn insert_in(tx: &mut PgConnection, new: &NewMessage<'_>, urgent: bool) -> Result<MessageRow, sqlx::Error> {
    let seq: i64 = sqlx::query_scalar(
        "UPDATE conversations SET next_seq = next_seq + 1, last_message_at = now() WHERE id = $1
         RETURNING next_seq - 1",
    )
    .bind(new.conversation_id)
    .fetch_one(&mut *tx)
    .await?;
    let row: MessageRow = sqlx::query_as(concat!(
        "INSERT INTO messages (id, conversation_id, seq, sender_id, client_msg_id, body, urgent)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ",
        message_columns!()
    ))
    .bind(Uuid::now_v7())
    .bind(new.conversation_id)
    .bind(seq)
    .bind(new.sender_id)
    .bind(new.client_msg_id.as_str())
    .bind(new.body.as_str())
    .bind(urgent)
    .fetch_one(&mut *tx)
    .await?;
    for (position, attachment_id) in new.attachment_ids.iter().enumerate() {
        sqlx::query("INSERT INTO message_attachments (message_id, attachment_id, position) VALUES ($1, $2, $3)")
            .bind(row.id)
            .bind(attachment_id)
            .bind(position as i16)
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query(
        "UPDATE conversation_members SET last_read_seq = greatest(last_read_seq, $3)
         WHERE conversation_id = $1 AND user_id = $2",
    )
    .bind(new.conversation_id)
    .bind(new.sender_id)
    .bind(seq)
    .execute(&mut *tx)
    .await?;
    sqlx::query("INSERT INTO push_pending (conversation_id, seq, sender_id) VALUES ($1, $2, $3)")
        .bind(new.conversation_id)
        .bind(seq)
        .bind(new.sender_id)
        .execute(&mut *tx)
        .await?;
    Ok(row)
}

/// Inserts a text message (no attachments) in one statement, its own transaction: the sender must be a
/// member (else `None`), the seq comes from the conversation row as in `insert`, and the sender's read marker
/// moves to it. A repeated `client_msg_id` fails with `messages_sender_client_msg_id_key` and, the statement
/// being atomic, takes no seq. The hot path of sending: one round trip.
pub async fn insert_text(db: impl PgExecutor<'_>, new: &NewText) -> Result<Option<MessageRow>, sqlx::Error> {
    sqlx::query_as(concat!(
        "WITH next AS (
             UPDATE conversations SET next_seq = next_seq + 1, last_message_at = now()
             WHERE id = $2 AND EXISTS (
                 SELECT 1 FROM conversation_members WHERE conversation_id = $2 AND user_id = $3)
             RETURNING next_seq - 1 AS seq
         ), inserted AS (
             INSERT INTO messages (id, conversation_id, seq, sender_id, client_msg_id, body)
             SELECT $1, $2, next.seq, $3, $4, $5 FROM next
             RETURNING ",
        message_columns!(),
        "
         ), marker AS (
             UPDATE conversation_members SET last_read_seq = greatest(last_read_seq, inserted.seq)
             FROM inserted WHERE conversation_members.conversation_id = $2 AND conversation_members.user_id = $3
         ), pending AS (
             INSERT INTO push_pending (conversation_id, seq, sender_id)
             SELECT conversation_id, seq, sender_id FROM inserted
         )
         SELECT ",
        message_columns!(),
        " FROM inserted"
    ))
    .bind(Uuid::now_v7())
    .bind(new.conversation_id)
    .bind(new.sender_id)
    .bind(new.client_msg_id.as_str())
    .bind(new.body.as_str())
    .fetch_optional(db)
    .await
}

/// One text message of a batch for `insert_texts`.
#[derive(Debug, Clone)]
pub struct NewText {
    pub conversation_id: Uuid,
    pub sender_id: Uuid,
    pub client_msg_id: String,
    pub body: String,
}

/// Inserts several text messages, of any conversations, in one statement and one commit (group commit: the
/// per-statement and per-commit work of PostgreSQL is most of a message's cost, see docs/benchmarks.md).
/// Same rules as `insert_text` for each: the sender must be a member, each conversation's seqs are taken from
/// its row (row-locked by the update) in the batch's order, the sender's read marker moves. Returns, in the
/// batch's order, the inserted row or `None` for a message not inserted: its sender is not a member, or its
/// `client_msg_id` exists already (the caller sends those through `insert_text`, which tells them apart). Two
/// messages of the batch with the same sender and `client_msg_id` fail the whole statement with
/// `messages_sender_client_msg_id_key`: the caller then sends each through `insert_text`.
pub async fn insert_texts(db: impl PgExecutor<'_>, batch: &[NewText]) -> Result<Vec<Option<MessageRow>>, sqlx::Error> {
    let ids: Vec<Uuid> = batch.iter().map(|_| Uuid::now_v7()).collect();
    let conversations: Vec<Uuid> = batch.iter().map(|m| m.conversation_id).collect();
    let senders: Vec<Uuid> = batch.iter().map(|m| m.sender_id).collect();
    let client_msg_ids: Vec<&str> = batch.iter().map(|m| m.client_msg_id.as_str()).collect();
    let bodies: Vec<&str> = batch.iter().map(|m| m.body.as_str()).collect();
    let rows: Vec<MessageRow> = sqlx::query_as(concat!(
        "WITH input AS (
             SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[]) WITH ORDINALITY
                 AS i(id, conversation_id, sender_id, client_msg_id, body, position)
         ), allowed AS (
             SELECT input.* FROM input
             WHERE EXISTS (SELECT 1 FROM conversation_members m
                           WHERE m.conversation_id = input.conversation_id AND m.user_id = input.sender_id)
               AND NOT EXISTS (SELECT 1 FROM messages x
                               WHERE x.sender_id = input.sender_id AND x.client_msg_id = input.client_msg_id)
         ), counts AS (
             SELECT conversation_id, count(*) AS n FROM allowed GROUP BY conversation_id
         ), next AS (
             UPDATE conversations c SET next_seq = c.next_seq + counts.n, last_message_at = now()
             FROM counts WHERE c.id = counts.conversation_id
             RETURNING c.id, c.next_seq - counts.n AS first_seq
         ), numbered AS (
             SELECT allowed.*,
                    next.first_seq - 1 + row_number() OVER (PARTITION BY allowed.conversation_id
                                                            ORDER BY allowed.position) AS seq
             FROM allowed JOIN next ON next.id = allowed.conversation_id
         ), inserted AS (
             INSERT INTO messages (id, conversation_id, seq, sender_id, client_msg_id, body)
             SELECT id, conversation_id, seq, sender_id, client_msg_id, body FROM numbered
             RETURNING ",
        message_columns!(),
        "
         ), marker AS (
             UPDATE conversation_members m SET last_read_seq = greatest(m.last_read_seq, latest.seq)
             FROM (SELECT conversation_id, sender_id, max(seq) AS seq FROM inserted
                   GROUP BY conversation_id, sender_id) AS latest
             WHERE m.conversation_id = latest.conversation_id AND m.user_id = latest.sender_id
         ), pending AS (
             INSERT INTO push_pending (conversation_id, seq, sender_id)
             SELECT conversation_id, seq, sender_id FROM inserted
         )
         SELECT ",
        message_columns!(),
        " FROM inserted"
    ))
    .bind(&ids)
    .bind(&conversations)
    .bind(&senders)
    .bind(&client_msg_ids)
    .bind(&bodies)
    .fetch_all(db)
    .await?;
    let mut by_id: HashMap<Uuid, MessageRow> = rows.into_iter().map(|r| (r.id, r)).collect();
    Ok(ids.iter().map(|id| by_id.remove(id)).collect())
}

/// The sender's message with this `client_msg_id`, if any.
pub async fn find_by_client_msg_id(
    db: impl PgExecutor<'_>,
    sender_id: Uuid,
    client_msg_id: &str,
) -> Result<Option<MessageRow>, sqlx::Error> {
    sqlx::query_as(concat!("SELECT ", message_columns!(), " FROM messages WHERE sender_id = $1 AND client_msg_id = $2"))
        .bind(sender_id)
        .bind(client_msg_id)
        .fetch_optional(db)
        .await
}

/// The sender's display name and the text of a message not deleted, for push previews.
pub async fn sender_name_and_body(
    db: impl PgExecutor<'_>,
    conversation_id: Uuid,
    seq: i64,
) -> Result<Option<(String, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT u.display_name, m.body FROM messages m JOIN users u ON u.id = m.sender_id
         WHERE m.conversation_id = $1 AND m.seq = $2 AND m.deleted_at IS NULL",
    )
    .bind(conversation_id)
    .bind(seq)
    .fetch_optional(db)
    .await
}

/// One message by id.
pub async fn find(db: impl PgExecutor<'_>, id: Uuid) -> Result<Option<MessageRow>, sqlx::Error> {
    sqlx::query_as(concat!("SELECT ", message_columns!(), " FROM messages WHERE id = $1"))
        .bind(id)
        .fetch_optional(db)
        .await
}

/// Which part of a conversation's history a page holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    /// The oldest messages after this seq.
    After(i64),
    /// The newest messages before this seq.
    Before(i64),
    /// The newest messages.
    Latest,
}

/// Up to `limit` messages of one window, ascending by seq, and whether more remain beyond it (newer ones
/// for `After`, older ones otherwise). One range scan of the `(conversation_id, seq)` index, reading one row
/// more than asked to learn whether more remain.
pub async fn page(
    db: impl PgExecutor<'_>,
    conversation_id: Uuid,
    window: Window,
    limit: i64,
) -> Result<(Vec<MessageRow>, bool), sqlx::Error> {
    const AFTER: &str = concat!(
        "SELECT ",
        message_columns!(),
        " FROM messages WHERE conversation_id = $1 AND seq > $2 ORDER BY seq LIMIT $3"
    );
    const BEFORE: &str = concat!(
        "SELECT ",
        message_columns!(),
        " FROM messages WHERE conversation_id = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3"
    );
    let (query, from) = match window {
        Window::After(seq) => (AFTER, seq),
        Window::Before(seq) => (BEFORE, seq),
        Window::Latest => (BEFORE, i64::MAX),
    };
    let mut rows: Vec<MessageRow> =
        sqlx::query_as(query).bind(conversation_id).bind(from).bind(limit.saturating_add(1)).fetch_all(db).await?;
    let has_more = rows.len() as i64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(0));
    if !matches!(window, Window::After(_)) {
        rows.reverse();
    }
    Ok((rows, has_more))
}

/// One message by id, row-locked until the transaction ends, so an edit, a delete and a reaction on the
/// same message happen one after the other.
pub async fn find_for_update(tx: &mut PgConnection, id: Uuid) -> Result<Option<MessageRow>, sqlx::Error> {
    sqlx::query_as(concat!("SELECT ", message_columns!(), " FROM messages WHERE id = $1 FOR UPDATE"))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await
}

/// Whether a message carries at least one attachment (then its body may be empty).
pub async fn has_attachments(db: impl PgExecutor<'_>, id: Uuid) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM message_attachments WHERE message_id = $1)")
        .bind(id)
        .fetch_one(db)
        .await
}

/// Replaces a message's body, keeping the old one in `message_edits` for the school's records. The caller
/// holds the row lock (`find_for_update`) and has checked that the message is not deleted.
pub async fn edit(tx: &mut PgConnection, id: Uuid, body: &MessageBody) -> Result<MessageRow, sqlx::Error> {
    sqlx::query("INSERT INTO message_edits (message_id, old_body) SELECT id, body FROM messages WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    sqlx::query_as(concat!(
        "UPDATE messages SET body = $2, edited_at = now() WHERE id = $1 RETURNING ",
        message_columns!()
    ))
    .bind(id)
    .bind(body.as_str())
    .fetch_one(&mut *tx)
    .await
}

/// Soft-deletes a message: the body goes, its attachments are unlinked and marked removed (never served or
/// attached again; the cleanup task deletes them) and its reactions removed; the row
/// and its `seq` stay, so clients see no gap. Earlier versions in `message_edits` stay for the school's
/// records. Deleting a deleted message changes nothing.
pub async fn soft_delete(tx: &mut PgConnection, id: Uuid) -> Result<Option<MessageRow>, sqlx::Error> {
    sqlx::query(
        "UPDATE attachments SET removed_at = coalesce(removed_at, now())
          WHERE id IN (SELECT attachment_id FROM message_attachments WHERE message_id = $1)",
    )
    .bind(id)
    .execute(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM message_attachments WHERE message_id = $1").bind(id).execute(&mut *tx).await?;
    sqlx::query("DELETE FROM reactions WHERE message_id = $1").bind(id).execute(&mut *tx).await?;
    sqlx::query_as(concat!(
        "UPDATE messages SET body = '', deleted_at = coalesce(deleted_at, now()) WHERE id = $1 RETURNING ",
        message_columns!()
    ))
    .bind(id)
    .fetch_optional(&mut *tx)
    .await
}

/// Messages containing every word of `words` (space-separated; each matches as a word prefix) in
/// conversations `user_id` is a member of now, not deleted, newest first. The words are folded exactly as
/// the `messages.search` column is (`hallway_fold`), then each is quoted as one tsquery operand inside SQL:
/// folding can turn letters into tsquery syntax (`⑴` into `(1)`, `ʼ` into a quote), so quoting must come
/// after it, and user text is only ever a bound parameter. The GIN index on `messages.search` finds the
/// candidates.
pub async fn search(
    db: impl PgExecutor<'_>,
    user_id: Uuid,
    words: &str,
    limit: i64,
) -> Result<Vec<MessageRow>, sqlx::Error> {
    sqlx::query_as(
        r#"WITH q AS (
             SELECT to_tsquery('simple', string_agg(
                        '''' || replace(replace(word, '\', '\\'), '''', '''''') || ''':*', ' & ')) AS query
             FROM unnest(string_to_array(hallway_fold($2), ' ')) AS word
             WHERE word <> ''
           )
           SELECT m.id, m.conversation_id, m.seq, m.sender_id, m.client_msg_id, m.body, m.created_at, m.edited_at,
                  m.deleted_at, m.urgent
           FROM q, messages m
           JOIN conversation_members cm ON cm.conversation_id = m.conversation_id AND cm.user_id = $1
           WHERE m.search @@ q.query AND m.deleted_at IS NULL
           ORDER BY m.created_at DESC, m.id DESC
           LIMIT $3"#,
    )
    .bind(user_id)
    .bind(words)
    .bind(limit)
    .fetch_all(db)
    .await
}

/// The reactions of these messages: each emoji with who reacted, in the order they reacted, the emojis of a
/// message in the order they were first used.
#[derive(Debug, FromRow)]
pub struct ReactionsRow {
    pub message_id: Uuid,
    /// As stored (`Emoji::key`).
    pub emoji: String,
    pub user_ids: Vec<Uuid>,
}

/// The reactions of the messages `ids`, one row per message and emoji.
pub async fn reactions_of(db: impl PgExecutor<'_>, ids: &[Uuid]) -> Result<Vec<ReactionsRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT message_id, emoji, array_agg(user_id ORDER BY created_at, user_id) AS user_ids
         FROM reactions WHERE message_id = ANY($1)
         GROUP BY message_id, emoji ORDER BY message_id, min(created_at), emoji",
    )
    .bind(ids)
    .fetch_all(db)
    .await
}

/// One attachment of a message.
#[derive(Debug, FromRow)]
pub struct MessageAttachmentRow {
    pub message_id: Uuid,
    #[sqlx(flatten)]
    pub attachment: AttachmentRow,
}

/// The attachments of the messages `ids`, each message's in the order it carries them.
pub async fn attachments_of(db: impl PgExecutor<'_>, ids: &[Uuid]) -> Result<Vec<MessageAttachmentRow>, sqlx::Error> {
    sqlx::query_as(
        // No column of `message_attachments` but `message_id` shares a name with one of `attachments`.
        concat!(
            "SELECT ma.message_id, ",
            crate::attachment_columns!(),
            " FROM message_attachments ma JOIN attachments a ON a.id = ma.attachment_id
              WHERE ma.message_id = ANY($1) ORDER BY ma.message_id, ma.position"
        ),
    )
    .bind(ids)
    .fetch_all(db)
    .await
}

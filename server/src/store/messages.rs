//! Messages: the seq-assigning insert, and turning rows into wire messages (with reactions and attachments).

use std::collections::HashMap;

use hallway_protocol::validate::{ClientMsgId, MessageBody};
use hallway_protocol::{Attachment, Message, ReactionSummary};
use sqlx::{FromRow, PgConnection, PgExecutor, PgPool};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::auth::tokens::Keys;
use crate::media::urls::AttachmentFields;

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
}

/// The columns of a `MessageRow`, as a macro so queries stay `&'static str`.
#[macro_export]
macro_rules! message_columns {
    () => {
        "id, conversation_id, seq, sender_id, client_msg_id, body, created_at, edited_at, deleted_at"
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
/// never produce a duplicate or a gap. A repeated `client_msg_id` returns the original. The sender's read
/// marker moves to their own message.
pub async fn insert(db: &PgPool, new: &NewMessage<'_>) -> Result<Inserted, sqlx::Error> {
    let mut tx = db.begin().await?;
    if let Some(existing) = find_by_client_msg_id(&mut *tx, new.sender_id, new.client_msg_id.as_str()).await? {
        return Ok(Inserted::Existing(existing));
    }
    match insert_in(&mut tx, new).await {
        Ok(row) => {
            tx.commit().await?;
            Ok(Inserted::New(row))
        }
        Err(err) if crate::store::violated_unique_constraint(&err) == Some("messages_sender_client_msg_id_key") => {
            // A concurrent retry of the same message won the race; the rollback returns our seq.
            tx.rollback().await?;
            find_by_client_msg_id(db, new.sender_id, new.client_msg_id.as_str())
                .await?
                .map(Inserted::Existing)
                .ok_or(sqlx::Error::RowNotFound)
        }
        Err(err) => Err(err),
    }
}

async fn insert_in(tx: &mut PgConnection, new: &NewMessage<'_>) -> Result<MessageRow, sqlx::Error> {
    let seq: i64 = sqlx::query_scalar(
        "UPDATE conversations SET next_seq = next_seq + 1, last_message_at = now() WHERE id = $1
         RETURNING next_seq - 1",
    )
    .bind(new.conversation_id)
    .fetch_one(&mut *tx)
    .await?;
    let row: MessageRow = sqlx::query_as(concat!(
        "INSERT INTO messages (id, conversation_id, seq, sender_id, client_msg_id, body)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING ",
        message_columns!()
    ))
    .bind(Uuid::now_v7())
    .bind(new.conversation_id)
    .bind(seq)
    .bind(new.sender_id)
    .bind(new.client_msg_id.as_str())
    .bind(new.body.as_str())
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
    Ok(row)
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

/// One message by id.
pub async fn find(db: impl PgExecutor<'_>, id: Uuid) -> Result<Option<MessageRow>, sqlx::Error> {
    sqlx::query_as(concat!("SELECT ", message_columns!(), " FROM messages WHERE id = $1"))
        .bind(id)
        .fetch_optional(db)
        .await
}

/// Turns rows into wire messages, loading their reactions and attachments in two queries for the whole batch.
/// Attachment links are signed with `keys` (see `media::urls`).
pub async fn to_wire(db: &PgPool, keys: &Keys, rows: Vec<MessageRow>) -> Result<Vec<Message>, sqlx::Error> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let reaction_rows: Vec<(Uuid, String, Vec<Uuid>)> = sqlx::query_as(
        "SELECT message_id, emoji, array_agg(user_id ORDER BY created_at, user_id)
         FROM reactions WHERE message_id = ANY($1)
         GROUP BY message_id, emoji ORDER BY message_id, min(created_at), emoji",
    )
    .bind(&ids)
    .fetch_all(db)
    .await?;
    let mut reactions: HashMap<Uuid, Vec<ReactionSummary>> = HashMap::new();
    for (message_id, emoji, user_ids) in reaction_rows {
        reactions.entry(message_id).or_default().push(ReactionSummary {
            emoji,
            count: user_ids.len() as i64,
            user_ids,
        });
    }
    let attachment_rows: Vec<AttachmentRow> = sqlx::query_as(
        "SELECT ma.message_id, a.id, a.file_name, a.mime_type, a.size_bytes, a.width, a.height,
                a.thumbnail_key IS NOT NULL AS has_thumbnail
         FROM message_attachments ma JOIN attachments a ON a.id = ma.attachment_id
         WHERE ma.message_id = ANY($1) ORDER BY ma.message_id, ma.position",
    )
    .bind(&ids)
    .fetch_all(db)
    .await?;
    let mut attachments: HashMap<Uuid, Vec<Attachment>> = HashMap::new();
    for a in attachment_rows {
        let fields = AttachmentFields {
            id: a.id,
            file_name: a.file_name,
            mime_type: a.mime_type,
            size_bytes: a.size_bytes,
            width: a.width,
            height: a.height,
            has_thumbnail: a.has_thumbnail,
        };
        attachments.entry(a.message_id).or_default().push(fields.to_wire(keys));
    }
    Ok(rows
        .into_iter()
        .map(|row| {
            let deleted = row.deleted_at.is_some();
            Message {
                attachments: if deleted { Vec::new() } else { attachments.remove(&row.id).unwrap_or_default() },
                reactions: if deleted { Vec::new() } else { reactions.remove(&row.id).unwrap_or_default() },
                id: row.id,
                conversation_id: row.conversation_id,
                seq: row.seq,
                sender_id: row.sender_id,
                client_msg_id: row.client_msg_id,
                body: if deleted { String::new() } else { row.body },
                created_at: row.created_at,
                edited_at: row.edited_at,
                deleted,
            }
        })
        .collect())
}

#[derive(FromRow)]
struct AttachmentRow {
    message_id: Uuid,
    id: Uuid,
    file_name: String,
    mime_type: String,
    size_bytes: i64,
    width: Option<i32>,
    height: Option<i32>,
    has_thumbnail: bool,
}

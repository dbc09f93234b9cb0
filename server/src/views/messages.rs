//! Messages on the wire: each with its reactions and attachments (links signed now with the server's keys),
//! and a deleted one with neither, nor its text.

use std::collections::HashMap;

use hallway_protocol::validate::Emoji;
use hallway_protocol::{Attachment, Message, ReactionSummary};
use sqlx::PgPool;
use uuid::Uuid;

use crate::auth::tokens::Keys;
use crate::media::urls::AttachmentFields;
use crate::store::messages::{self, MessageRow};

/// Rows as wire messages, loading the reactions and attachments of the whole batch in two queries.
pub async fn many(db: &PgPool, keys: &Keys, rows: Vec<MessageRow>) -> Result<Vec<Message>, sqlx::Error> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let mut reactions: HashMap<Uuid, Vec<ReactionSummary>> = HashMap::new();
    for row in messages::reactions_of(db, &ids).await? {
        reactions.entry(row.message_id).or_default().push(ReactionSummary {
            emoji: Emoji::qualified_from_key(&row.emoji),
            count: row.user_ids.len() as i64,
            user_ids: row.user_ids,
        });
    }
    let mut attachments: HashMap<Uuid, Vec<Attachment>> = HashMap::new();
    for row in messages::attachments_of(db, &ids).await? {
        attachments.entry(row.message_id).or_default().push(AttachmentFields::from(&row.attachment).to_wire(keys));
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
                urgent: row.urgent,
            }
        })
        .collect())
}

/// A message just inserted without attachments: nothing to look up (no reactions yet).
pub fn fresh(row: MessageRow) -> Message {
    Message {
        id: row.id,
        conversation_id: row.conversation_id,
        seq: row.seq,
        sender_id: row.sender_id,
        client_msg_id: row.client_msg_id,
        body: row.body,
        attachments: Vec::new(),
        reactions: Vec::new(),
        created_at: row.created_at,
        edited_at: row.edited_at,
        deleted: false,
        urgent: row.urgent,
    }
}

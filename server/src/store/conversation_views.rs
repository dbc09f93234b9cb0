//! Conversations as one member sees them (`Conversation` on the wire): the one place that builds them, used by
//! the list, the single get, every endpoint that answers with a conversation, and the `conversation` frames
//! the conversation actor sends after a change, so they can never disagree.
//!
//! A whole list, or one conversation for all of its members, takes six queries whatever its length: the
//! viewers' rows (with the unread counts, counted in the same statement), every member of those conversations
//! with their user, the latest message of each, the reactions and attachments of those messages
//! (`messages::to_wire`), and the safeguarding setting.

use std::collections::HashMap;

use crate::auth::tokens::Keys;
use hallway_protocol::{Conversation, Message, User};
use sqlx::{FromRow, PgPool};
use time::OffsetDateTime;
use uuid::Uuid;

use super::conversations::kind_from_db;
use super::messages::{self, MessageRow};
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

#[derive(FromRow)]
struct ViewerRow {
    viewer: Uuid,
    id: Uuid,
    kind: String,
    name: Option<String>,
    last_message_at: Option<OffsetDateTime>,
    last_read_seq: i64,
    muted: bool,
    pinned: bool,
    archived: bool,
    unread_count: i64,
}

#[derive(FromRow)]
struct MemberUserRow {
    conversation_id: Uuid,
    is_admin: bool,
    #[sqlx(flatten)]
    user: UserRow,
}

/// Every conversation of `viewer`: pinned first, then newest activity first (the last message, or the
/// creation for a conversation without messages); archived ones included, flagged.
pub async fn list_for(db: &PgPool, keys: &Keys, viewer: Uuid) -> Result<Vec<Conversation>, sqlx::Error> {
    let rows: Vec<ViewerRow> = sqlx::query_as(viewer_rows!("cm.user_id = $1")).bind(viewer).fetch_all(db).await?;
    Ok(build(db, keys, rows).await?.into_iter().map(|(_, conversation)| conversation).collect())
}

/// Those of `ids` that `viewer` is a member of, as they see them, in list order: one batched pass whatever
/// their number (a sync answers with every conversation that changed).
pub async fn some_for(db: &PgPool, keys: &Keys, viewer: Uuid, ids: &[Uuid]) -> Result<Vec<Conversation>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<ViewerRow> = sqlx::query_as(viewer_rows!("cm.user_id = $1 AND cm.conversation_id = ANY($2)"))
        .bind(viewer)
        .bind(ids)
        .fetch_all(db)
        .await?;
    Ok(build(db, keys, rows).await?.into_iter().map(|(_, conversation)| conversation).collect())
}

/// One conversation as `viewer` sees it, or `None` when they are not a member (or it does not exist): the
/// caller answers both with the same 404.
pub async fn one_for(
    db: &PgPool,
    keys: &Keys,
    viewer: Uuid,
    conversation_id: Uuid,
) -> Result<Option<Conversation>, sqlx::Error> {
    Ok(one_for_each(db, keys, &[viewer], conversation_id).await?.pop().map(|(_, conversation)| conversation))
}

/// One conversation as each of `viewers` who is a member sees it, paired with that viewer: one batched pass
/// whatever their number, so a change to a group of a thousand reads its members once, not once per member.
pub async fn one_for_each(
    db: &PgPool,
    keys: &Keys,
    viewers: &[Uuid],
    conversation_id: Uuid,
) -> Result<Vec<(Uuid, Conversation)>, sqlx::Error> {
    if viewers.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<ViewerRow> = sqlx::query_as(viewer_rows!("cm.user_id = ANY($1) AND cm.conversation_id = $2"))
        .bind(viewers)
        .bind(conversation_id)
        .fetch_all(db)
        .await?;
    build(db, keys, rows).await
}

/// Completes the viewers' rows with members, admins and last messages, in a fixed number of queries; each
/// conversation is paired with its row's viewer. What all viewers of one conversation share is read once.
async fn build(db: &PgPool, keys: &Keys, rows: Vec<ViewerRow>) -> Result<Vec<(Uuid, Conversation)>, sqlx::Error> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let mut ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    ids.sort_unstable();
    ids.dedup();

    let member_rows: Vec<MemberUserRow> = sqlx::query_as(
        "SELECT cm.conversation_id, cm.role = 'admin' AS is_admin,
                u.id, u.username, u.email, u.display_name, u.role, u.password_hash, u.avatar_key, u.deactivated_at
         FROM conversation_members cm JOIN users u ON u.id = cm.user_id
         WHERE cm.conversation_id = ANY($1)
         ORDER BY cm.conversation_id, cm.joined_at, cm.user_id",
    )
    .bind(&ids)
    .fetch_all(db)
    .await?;
    let mut members: HashMap<Uuid, (Vec<User>, Vec<Uuid>)> = HashMap::new();
    for row in member_rows {
        let (users, admins) = members.entry(row.conversation_id).or_default();
        if row.is_admin {
            admins.push(row.user.id);
        }
        users.push(row.user.to_wire());
    }

    // The newest message of each, by seq: a backward scan of (conversation_id, seq) per conversation.
    let last_rows: Vec<MessageRow> = sqlx::query_as(concat!(
        "SELECT m.* FROM unnest($1::uuid[]) AS c(id)
         CROSS JOIN LATERAL (SELECT ",
        crate::message_columns!(),
        " FROM messages WHERE conversation_id = c.id ORDER BY seq DESC LIMIT 1) m"
    ))
    .bind(&ids)
    .fetch_all(db)
    .await?;
    let last_messages: HashMap<Uuid, Message> =
        messages::to_wire(db, keys, last_rows).await?.into_iter().map(|m| (m.conversation_id, m)).collect();
    let safeguarding = crate::safety::safeguarding_enabled(db).await?;

    Ok(rows
        .into_iter()
        .map(|row| {
            let (members, admin_ids) = members.get(&row.id).cloned().unwrap_or_default();
            let kind = kind_from_db(&row.kind);
            let roles: Vec<_> = members.iter().map(|m| m.role).collect();
            let conversation = Conversation {
                id: row.id,
                kind,
                safeguarding: safeguarding && crate::safety::is_safeguarded_kind(kind, &roles),
                name: row.name,
                members,
                admin_ids,
                last_message: last_messages.get(&row.id).cloned(),
                last_message_at: row.last_message_at,
                unread_count: row.unread_count,
                last_read_seq: row.last_read_seq,
                muted: row.muted,
                pinned: row.pinned,
                archived: row.archived,
            };
            (row.viewer, conversation)
        })
        .collect())
}

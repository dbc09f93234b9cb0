//! Conversations as one member sees them (`Conversation` on the wire): used by the list, the single get,
//! every endpoint that answers with a conversation, the sync and the `conversation` frames the conversation
//! actor sends after a change, so they can never disagree.
//!
//! A whole list, or one conversation for all of its members, takes six queries whatever its length: the
//! viewers' rows, the members, the latest messages, their reactions and attachments, and the safeguarding
//! setting. What all viewers of one conversation share is read once.

use std::collections::HashMap;

use hallway_protocol::{Conversation, Message, User};
use sqlx::PgPool;
use uuid::Uuid;

use crate::auth::tokens::Keys;
use crate::safety;
use crate::store::conversation_views::{self as rows, ViewerRow};
use crate::store::conversations::kind_from_db;

/// Every conversation of `viewer`: pinned first, then newest activity first; archived ones included, flagged.
pub async fn list_for(db: &PgPool, keys: &Keys, viewer: Uuid) -> Result<Vec<Conversation>, sqlx::Error> {
    let viewer_rows = rows::all_of(db, viewer).await?;
    Ok(build(db, keys, viewer_rows).await?.into_iter().map(|(_, conversation)| conversation).collect())
}

/// Those of `ids` that `viewer` is a member of, as they see them, in list order: one batched pass whatever
/// their number (a sync answers with every conversation that changed).
pub async fn some_for(db: &PgPool, keys: &Keys, viewer: Uuid, ids: &[Uuid]) -> Result<Vec<Conversation>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let viewer_rows = rows::some_of(db, viewer, ids).await?;
    Ok(build(db, keys, viewer_rows).await?.into_iter().map(|(_, conversation)| conversation).collect())
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
    let viewer_rows = rows::each_of(db, viewers, conversation_id).await?;
    build(db, keys, viewer_rows).await
}

/// The current members of each of `ids` as clients see them, each's in the order they joined.
pub async fn members_of(db: &PgPool, ids: &[Uuid]) -> Result<HashMap<Uuid, Vec<User>>, sqlx::Error> {
    let mut members: HashMap<Uuid, Vec<User>> = HashMap::new();
    for row in rows::members(db, ids).await? {
        members.entry(row.conversation_id).or_default().push(super::user(&row.user));
    }
    Ok(members)
}

/// Completes the viewers' rows with members, admins and last messages, in a fixed number of queries; each
/// conversation is paired with its row's viewer.
async fn build(
    db: &PgPool,
    keys: &Keys,
    viewer_rows: Vec<ViewerRow>,
) -> Result<Vec<(Uuid, Conversation)>, sqlx::Error> {
    if viewer_rows.is_empty() {
        return Ok(Vec::new());
    }
    let mut ids: Vec<Uuid> = viewer_rows.iter().map(|r| r.id).collect();
    ids.sort_unstable();
    ids.dedup();

    let mut members: HashMap<Uuid, (Vec<User>, Vec<Uuid>)> = HashMap::new();
    for row in rows::members(db, &ids).await? {
        let (users, admins) = members.entry(row.conversation_id).or_default();
        if row.is_admin {
            admins.push(row.user.id);
        }
        users.push(super::user(&row.user));
    }
    let last_rows = rows::last_messages(db, &ids).await?;
    let last_messages: HashMap<Uuid, Message> =
        super::messages::many(db, keys, last_rows).await?.into_iter().map(|m| (m.conversation_id, m)).collect();
    let safeguarding = safety::safeguarding_enabled(db).await?;

    Ok(viewer_rows
        .into_iter()
        .map(|row| {
            let (members, admin_ids) = members.get(&row.id).cloned().unwrap_or_default();
            let kind = kind_from_db(&row.kind);
            let roles: Vec<_> = members.iter().map(|m| m.role).collect();
            let conversation = Conversation {
                id: row.id,
                kind,
                safeguarding: safeguarding && safety::is_safeguarded_kind(kind, &roles),
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

//! The rules of contract 1.1's announcements and urgent messages beyond sending (which `messaging::send`
//! checks): who may send urgent messages, acknowledging a message, and reading its receipts.
//!
//! Acknowledging goes through the conversation's actor (`Acknowledge`), like every change members
//! make, so its frame is ordered with the conversation's other frames; receipts are a read and go straight
//! to the store.

use hallway_protocol::Role;
use hallway_protocol::announcements::{Receipts, UrgentMessagesSetting};
use sqlx::PgPool;
use uuid::Uuid;

use crate::messaging::{Outcome, Refusal, require_member, visible_message};
use crate::policy;
use crate::store;
use crate::store::users::UserRow;

/// The `settings` key of `UrgentMessagesSetting`.
pub const URGENT_SETTING: &str = "urgent_messages";

/// The school's urgent-messages setting (teachers not allowed unless a school turns it on).
pub async fn urgent_setting(db: &PgPool) -> Result<UrgentMessagesSetting, sqlx::Error> {
    Ok(store::settings::get(db, URGENT_SETTING).await?.unwrap_or_default())
}

/// Refuses an urgent send from someone the school does not let send one (`policy_forbids`). The setting is
/// read only for teachers, the one role it decides for.
pub async fn check_urgent(db: &PgPool, sender: &UserRow) -> Outcome<()> {
    let role = sender.role();
    let teachers_allowed = role == Role::Teacher && urgent_setting(db).await?.teachers_allowed;
    if policy::may_send_urgent(role, teachers_allowed) {
        Ok(())
    } else {
        Err(Refusal::PolicyForbids("the school's rules do not let you send urgent messages".into()))
    }
}

/// What an acknowledgement did, and whom to tell.
#[derive(Debug, Clone)]
pub struct Acknowledged {
    pub conversation_id: Uuid,
    /// `false` when it was acknowledged before, or by its own sender: nothing to tell anyone.
    pub new: bool,
    /// The message's sender and the conversation's admins: who may read its receipts.
    pub audience: Vec<Uuid>,
}

/// A member acknowledges a message of their conversation (others get `NotFound`). Idempotent. Acknowledging
/// one's own message changes nothing; a deleted message cannot be acknowledged (409, as for reactions).
pub async fn acknowledge(db: &PgPool, user_id: Uuid, message_id: Uuid) -> Outcome<Acknowledged> {
    let (row, _) = visible_message(db, user_id, message_id).await?;
    if row.deleted_at.is_some() {
        return Err(Refusal::Conflict("the message has been deleted"));
    }
    let conversation_id = row.conversation_id;
    if row.sender_id == user_id {
        return Ok(Acknowledged { conversation_id, new: false, audience: Vec::new() });
    }
    if !store::receipts::acknowledge(db, message_id, user_id).await? {
        return Ok(Acknowledged { conversation_id, new: false, audience: Vec::new() });
    }
    let mut audience = store::conversations::admin_ids(db, conversation_id).await?;
    if !audience.contains(&row.sender_id) {
        audience.push(row.sender_id);
    }
    Ok(Acknowledged { conversation_id, new: true, audience })
}

/// A message's receipts, for its sender and the conversation's admins; `NotFound` for everyone else, members
/// included, exactly as for a message that does not exist.
pub async fn receipts(db: &PgPool, user_id: Uuid, message_id: Uuid) -> Outcome<Receipts> {
    let row = store::messages::find(db, message_id).await?.ok_or(Refusal::NotFound)?;
    let member = require_member(db, row.conversation_id, user_id).await?;
    if row.sender_id != user_id && !member.is_admin() {
        return Err(Refusal::NotFound);
    }
    let counts = store::receipts::counts(db, row.conversation_id, row.id, row.seq, row.sender_id).await?;
    Ok(Receipts {
        total: counts.total,
        delivered: counts.delivered,
        read: counts.read,
        acknowledged: counts.acknowledged,
        not_read_user_ids: counts.not_read_user_ids,
    })
}

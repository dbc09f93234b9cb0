//! `GET /sync`: catching up in one request (contract version 1.1).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::model::{Conversation, Message};

/// Messages in one sync page when the client does not say.
pub const SYNC_DEFAULT_LIMIT: i64 = 200;
/// Most messages in one sync page.
pub const SYNC_MAX_LIMIT: i64 = 1000;

/// `GET /sync?since=&limit=`: everything about the caller's conversations after `since`, as it now stands.
/// Call again with `next` while `has_more`; keep `next` for the next catch-up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SyncResponse {
    /// Opaque: the position to continue from.
    pub next: String,
    /// More changes remain after `next`: ask again now.
    pub has_more: bool,
    /// Every conversation of the caller whose state changed (or that the caller joined), as it now stands.
    pub conversations: Vec<Conversation>,
    /// Conversations the caller left or was removed from and is not in now: forget them.
    pub removed_conversation_ids: Vec<Uuid>,
    /// Every message created or changed (edited, deleted by anyone, reactions), once each, as it now stands.
    pub messages: Vec<Message>,
}

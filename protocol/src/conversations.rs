//! Requests and answers about conversations, their members and the directory.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::model::{Conversation, ConversationKind, User};

/// `POST /conversations`. `member_ids` names the others; the creator is always a member.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CreateConversationRequest {
    pub kind: ConversationKind,
    #[serde(default)]
    pub name: Option<String>,
    pub member_ids: Vec<Uuid>,
}

/// `GET /conversations`: pinned first, then newest activity first.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConversationList {
    pub conversations: Vec<Conversation>,
}

/// `GET /users`: people the caller may start a chat with.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UserList {
    pub users: Vec<User>,
}

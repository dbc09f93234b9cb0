//! Requests and answers about conversations, their members and the directory.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::model::{Conversation, ConversationKind, User};

/// `POST /conversations`. `member_ids` names the others; the creator is always a member.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateConversationRequest {
    pub kind: ConversationKind,
    #[serde(default)]
    pub name: Option<String>,
    pub member_ids: Vec<Uuid>,
}

/// `GET /conversations`: pinned first, then newest activity first.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConversationList {
    pub conversations: Vec<Conversation>,
}

/// `GET /users`: people the caller may start a chat with.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserList {
    pub users: Vec<User>,
}

/// Most people in one group, its creator included: large enough for a whole year group with their families,
/// small enough that one conversation's fan-out stays bounded.
pub const MAX_GROUP_MEMBERS: usize = 1000;
/// `GET /users`: how many people one page holds when the caller does not say.
pub const DIRECTORY_DEFAULT_LIMIT: i64 = 50;
/// `GET /users`: the largest page a caller may ask for.
pub const DIRECTORY_MAX_LIMIT: i64 = 200;
/// `GET /users`: the longest search text, in characters (a name is at most 128).
pub const DIRECTORY_MAX_QUERY_CHARS: usize = 128;

/// `PATCH /conversations/{id}`: renames a group (group admins only).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RenameConversationRequest {
    pub name: String,
}

/// `POST /conversations/{id}/members`: adds people to a group (group admins only); people already in it are
/// skipped, so a retry is harmless.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AddMembersRequest {
    pub user_ids: Vec<Uuid>,
}

/// `POST /conversations/{id}/admins`: makes a member a group admin (group admins only).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PromoteAdminRequest {
    pub user_id: Uuid,
}

/// `PATCH /conversations/{id}/settings`: the caller's own settings; absent fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConversationSettingsRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub muted: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pinned: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archived: Option<bool>,
}

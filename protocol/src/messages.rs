//! Requests and answers about messages.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::model::Message;

/// `POST /conversations/{id}/messages` (and the WebSocket `send` frame's content).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SendMessageRequest {
    pub client_msg_id: String,
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    pub attachment_ids: Vec<Uuid>,
    /// Contract 1.1: an urgent message (school admins always; teachers when the school allows). Absent means
    /// `false`, so a v1 client's send is unchanged.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub urgent: bool,
}

/// `GET /conversations/{id}/messages`: always ascending by `seq`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MessagePage {
    pub messages: Vec<Message>,
    pub has_more: bool,
}

/// `POST /conversations/{id}/read`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReadRequest {
    pub seq: i64,
}

/// `PATCH /messages/{id}`: the sender's new text (and the WebSocket `edit` frame's content).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EditMessageRequest {
    pub body: String,
}

/// `POST /messages/{id}/reactions`, mirroring the WebSocket `react` frame: `on: false` takes it back.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReactRequest {
    pub emoji: String,
    /// `false` takes the reaction back; `true` when absent.
    #[serde(default = "reaction_on")]
    pub on: bool,
}

fn reaction_on() -> bool {
    true
}

/// `GET /search`: matching messages, newest first.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SearchResults {
    pub results: Vec<SearchHit>,
}

/// One message that matched, with where it lives so a client can open the conversation at that `seq`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SearchHit {
    pub conversation_id: Uuid,
    pub seq: i64,
    pub message: Message,
}

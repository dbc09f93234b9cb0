//! Requests and answers about messages.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::model::Message;

/// `POST /conversations/{id}/messages` (and the WebSocket `send` frame's content).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SendMessageRequest {
    pub client_msg_id: String,
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    pub attachment_ids: Vec<Uuid>,
}

/// `GET /conversations/{id}/messages`: always ascending by `seq`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MessagePage {
    pub messages: Vec<Message>,
    pub has_more: bool,
}

/// `POST /conversations/{id}/read`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReadRequest {
    pub seq: i64,
}

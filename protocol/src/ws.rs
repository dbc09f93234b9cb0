//! WebSocket frames (`GET /api/v1/ws`): one JSON object per text frame, tagged by `"type"`.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::ErrorCode;
use crate::model::{Conversation, Message, User};

/// What a client may send. Every frame may carry `ref`, echoed in the `error` frame that refuses it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientFrame {
    /// Sends a message: `ack` to this session once it is durable, `message` to every other session.
    Send {
        client_msg_id: String,
        conversation_id: Uuid,
        #[serde(default)]
        body: String,
        #[serde(default)]
        attachment_ids: Vec<Uuid>,
        /// Contract 1.1: an urgent message, as for the REST send; absent means `false`.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        urgent: bool,
        #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
        reference: Option<String>,
    },
    /// Starts or ends a typing state; one not refreshed within 5 s ends by itself.
    Typing {
        conversation_id: Uuid,
        typing: bool,
        #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
        reference: Option<String>,
    },
    /// Moves the read marker forward to `seq`.
    Read {
        conversation_id: Uuid,
        seq: i64,
        #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
        reference: Option<String>,
    },
    /// Adds (`on: true`) or takes back (`on: false`) a reaction.
    React {
        message_id: Uuid,
        emoji: String,
        on: bool,
        #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
        reference: Option<String>,
    },
    /// Replaces the text of one's own message.
    Edit {
        message_id: Uuid,
        body: String,
        #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
        reference: Option<String>,
    },
    /// Deletes a message (its sender, or a group admin of its conversation).
    Delete {
        message_id: Uuid,
        #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
        reference: Option<String>,
    },
    /// Answered with `pong`.
    Ping {
        #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
        reference: Option<String>,
    },
}

impl ClientFrame {
    /// The `ref` an error about this frame echoes (for `send`, `client_msg_id` when no `ref` was given).
    pub fn reference(&self) -> Option<&str> {
        match self {
            ClientFrame::Send { reference, client_msg_id, .. } => reference.as_deref().or(Some(client_msg_id.as_str())),
            ClientFrame::Typing { reference, .. }
            | ClientFrame::Read { reference, .. }
            | ClientFrame::React { reference, .. }
            | ClientFrame::Edit { reference, .. }
            | ClientFrame::Delete { reference, .. }
            | ClientFrame::Ping { reference } => reference.as_deref(),
        }
    }
}

/// What the server sends. Clients ignore types they do not know: new ones may be added at any time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    /// The first frame of every connection.
    Hello {
        session_id: Uuid,
        user: User,
    },
    /// The sender's message is committed.
    Ack {
        client_msg_id: String,
        message: Message,
    },
    /// A new message in one of the user's conversations.
    Message {
        message: Message,
    },
    Typing {
        conversation_id: Uuid,
        user_id: Uuid,
        typing: bool,
    },
    /// A member read up to `seq`.
    Read {
        conversation_id: Uuid,
        user_id: Uuid,
        seq: i64,
    },
    Reaction {
        conversation_id: Uuid,
        message_id: Uuid,
        emoji: String,
        user_id: Uuid,
        on: bool,
    },
    MessageUpdated {
        message: Message,
    },
    MessageDeleted {
        conversation_id: Uuid,
        message_id: Uuid,
    },
    /// The user was added to a conversation, or it changed (name, members, admins, own settings).
    Conversation {
        conversation: Conversation,
    },
    /// The user left or was removed: nothing more about it follows.
    ConversationRemoved {
        conversation_id: Uuid,
    },
    /// Someone the user shares a conversation with came online or went offline (an extension of v1).
    Presence {
        user_id: Uuid,
        online: bool,
        #[serde(with = "time::serde::rfc3339::option")]
        last_seen_at: Option<OffsetDateTime>,
    },
    /// A member acknowledged a message (contract 1.1). Only the message's sender and the conversation's admins
    /// get it: they are who may read its receipts.
    Acknowledged {
        conversation_id: Uuid,
        message_id: Uuid,
        user_id: Uuid,
    },
    /// A report the user made was handled by a school admin (an extension of v1; never says how).
    ReportUpdated {
        report_id: Uuid,
        status: crate::safety::ReportStatus,
    },
    /// A frame was refused; the connection stays open.
    Error {
        code: ErrorCode,
        message: String,
        #[serde(rename = "ref")]
        reference: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_after_ms: Option<u64>,
    },
    Pong,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn client_frames_parse_from_contract_json() {
        let id = Uuid::now_v7();
        let send: ClientFrame = serde_json::from_value(json!({
            "type": "send", "client_msg_id": "c1", "conversation_id": id, "body": "hi"
        }))
        .unwrap();
        assert_eq!(send.reference(), Some("c1"));
        assert!(matches!(send, ClientFrame::Send { urgent: false, .. }), "a v1 send is not urgent");
        let urgent: ClientFrame = serde_json::from_value(json!({
            "type": "send", "client_msg_id": "c2", "conversation_id": id, "body": "now", "urgent": true
        }))
        .unwrap();
        assert!(matches!(urgent, ClientFrame::Send { urgent: true, .. }));
        let typing: ClientFrame =
            serde_json::from_value(json!({"type": "typing", "conversation_id": id, "typing": true, "ref": "r9"}))
                .unwrap();
        assert_eq!(typing.reference(), Some("r9"));
        assert_eq!(serde_json::from_value::<ClientFrame>(json!({"type": "ping"})).unwrap().reference(), None);
        assert!(serde_json::from_value::<ClientFrame>(json!({"type": "dance"})).is_err());
    }

    #[test]
    fn server_frames_serialise_with_contract_keys() {
        let id = Uuid::nil();
        let frame = ServerFrame::Error {
            code: ErrorCode::RateLimited,
            message: "slow down".into(),
            reference: None,
            retry_after_ms: Some(250),
        };
        assert_eq!(
            serde_json::to_value(frame).unwrap(),
            json!({"type": "error", "code": "rate_limited", "message": "slow down", "ref": null, "retry_after_ms": 250})
        );
        assert_eq!(serde_json::to_value(ServerFrame::Pong).unwrap(), json!({"type": "pong"}));
        let removed = ServerFrame::ConversationRemoved { conversation_id: id };
        assert_eq!(
            serde_json::to_value(removed).unwrap(),
            json!({"type": "conversation_removed", "conversation_id": id})
        );
        let updated = ServerFrame::ReportUpdated { report_id: id, status: crate::safety::ReportStatus::Handled };
        assert_eq!(
            serde_json::to_value(updated).unwrap(),
            json!({"type": "report_updated", "report_id": id, "status": "handled"})
        );
        let acknowledged = ServerFrame::Acknowledged { conversation_id: id, message_id: id, user_id: id };
        assert_eq!(
            serde_json::to_value(acknowledged).unwrap(),
            json!({"type": "acknowledged", "conversation_id": id, "message_id": id, "user_id": id})
        );
        let read = ServerFrame::Read { conversation_id: id, user_id: id, seq: 3 };
        assert_eq!(
            serde_json::to_value(read).unwrap(),
            json!({"type": "read", "conversation_id": id, "user_id": id, "seq": 3})
        );
    }
}

/// The reasons the server gives when it closes a socket (code 1008) because its session ended, so a client
/// can tell its user why it was signed out. Stable: clients match on them.
pub mod session_ended {
    /// This device's session was signed out (`POST /auth/logout`).
    pub const SIGNED_OUT: &str = "signed out";
    /// Every session of the person was signed out (`POST /auth/logout-all`).
    pub const SIGNED_OUT_EVERYWHERE: &str = "signed out everywhere";
    /// The person changed their password on another device.
    pub const PASSWORD_CHANGED: &str = "the password was changed on another device";
    /// The school deactivated the account.
    pub const ACCOUNT_DEACTIVATED: &str = "the account was deactivated";
    /// The session was revoked (a reused refresh token, an admin).
    pub const SESSION_REVOKED: &str = "the session was revoked";
}

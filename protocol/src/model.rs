//! The resources of the contract as they travel on the wire.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// A person's role in the school; the messaging policy is written in these terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Teacher,
    Parent,
    Student,
}

impl Role {
    /// Every role, in the order the contract lists them.
    pub const ALL: [Role; 4] = [Role::Admin, Role::Teacher, Role::Parent, Role::Student];

    /// The role as stored and sent.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Teacher => "teacher",
            Role::Parent => "parent",
            Role::Student => "student",
        }
    }

    /// Parses the wire name of a role.
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// A person as every client sees them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct User {
    pub id: Uuid,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub avatar_url: Option<String>,
}

/// A one-to-one chat, a named group, or an announcement channel (contract 1.1: only its admins post; the
/// members read, react and acknowledge).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ConversationKind {
    Direct,
    Group,
    Announcement,
}

impl ConversationKind {
    /// The kind as stored and sent.
    pub fn as_str(self) -> &'static str {
        match self {
            ConversationKind::Direct => "direct",
            ConversationKind::Group => "group",
            ConversationKind::Announcement => "announcement",
        }
    }

    /// Parses the wire name of a kind.
    pub fn parse(s: &str) -> Option<ConversationKind> {
        match s {
            "direct" => Some(ConversationKind::Direct),
            "group" => Some(ConversationKind::Group),
            "announcement" => Some(ConversationKind::Announcement),
            _ => None,
        }
    }
}

/// A conversation as one member sees it: the shared part plus that member's own read marker and settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Conversation {
    pub id: Uuid,
    pub kind: ConversationKind,
    pub name: Option<String>,
    pub members: Vec<User>,
    pub admin_ids: Vec<Uuid>,
    pub last_message: Option<Message>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_message_at: Option<OffsetDateTime>,
    /// Messages after `last_read_seq` that others sent and that are not deleted.
    pub unread_count: i64,
    pub last_read_seq: i64,
    pub muted: bool,
    pub pinned: bool,
    pub archived: bool,
    /// A direct chat between a teacher and a student while the school's safeguarding setting is on: school
    /// admins may read it through the admin endpoints, and apps show a banner saying so. An extension of
    /// v1; absent (false) from older servers.
    #[serde(default)]
    pub safeguarding: bool,
}

/// One message. A deleted message keeps its `seq`, with an empty body and no attachments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Message {
    pub id: Uuid,
    pub conversation_id: Uuid,
    /// 1, 2, 3, ... per conversation, with no gaps: a client that sees a gap fetches what it missed.
    pub seq: i64,
    pub sender_id: Uuid,
    pub client_msg_id: String,
    pub body: String,
    pub attachments: Vec<Attachment>,
    pub reactions: Vec<ReactionSummary>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub edited_at: Option<OffsetDateTime>,
    pub deleted: bool,
    /// Sent as urgent (contract 1.1): apps show it prominently and offer to acknowledge it. Absent (false)
    /// in messages from older servers.
    #[serde(default)]
    pub urgent: bool,
}

/// A file carried by a message. `url` and `thumbnail_url` carry an expiring signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Attachment {
    pub id: Uuid,
    pub file_name: String,
    pub mime_type: String,
    pub size_bytes: i64,
    pub width: Option<i32>,
    pub height: Option<i32>,
    pub url: String,
    pub thumbnail_url: Option<String>,
}

/// Who reacted to a message with one emoji.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReactionSummary {
    pub emoji: String,
    pub count: i64,
    pub user_ids: Vec<Uuid>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_round_trip() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
            let json = serde_json::to_value(role).unwrap_or_default();
            assert_eq!(json, serde_json::Value::String(role.as_str().into()));
        }
        assert_eq!(Role::parse("janitor"), None);
    }

    #[test]
    fn conversation_kinds_round_trip() {
        for kind in [ConversationKind::Direct, ConversationKind::Group, ConversationKind::Announcement] {
            assert_eq!(ConversationKind::parse(kind.as_str()), Some(kind));
            let json = serde_json::to_value(kind).unwrap_or_default();
            assert_eq!(json, serde_json::Value::String(kind.as_str().into()));
        }
    }

    #[test]
    fn a_message_without_urgent_parses_as_not_urgent() {
        let json = serde_json::json!({
            "id": Uuid::nil(), "conversation_id": Uuid::nil(), "seq": 1, "sender_id": Uuid::nil(),
            "client_msg_id": "c1", "body": "hi", "attachments": [], "reactions": [],
            "created_at": "2026-12-04T10:00:00Z", "edited_at": null, "deleted": false
        });
        let message: Message = serde_json::from_value(json).unwrap();
        assert!(!message.urgent);
        assert_eq!(serde_json::to_value(&message).unwrap()["urgent"], serde_json::Value::Bool(false));
    }

    #[test]
    fn user_serialises_with_contract_keys() {
        let user = User {
            id: Uuid::nil(),
            username: "parent1".into(),
            display_name: "Mei Chen".into(),
            role: Role::Parent,
            avatar_url: None,
        };
        let json = serde_json::to_value(&user).unwrap_or_default();
        assert_eq!(
            json,
            serde_json::json!({
                "id": "00000000-0000-0000-0000-000000000000",
                "username": "parent1",
                "display_name": "Mei Chen",
                "role": "parent",
                "avatar_url": null
            })
        );
    }
}

//! Safety and records: reports, banned words, safeguarding, moderation, exports and retention (see
//! `docs/protocol.md`, "Safety and records"). All of it extends v1 without changing what was there.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::model::{ConversationKind, Message, User};

/// Longest note a reporter or a moderator may add, in characters.
pub const MAX_NOTE_CHARS: usize = 1000;
/// Most entries on the banned-words list: enough for any school's list, small enough to match in microseconds.
pub const MAX_BANNED_WORDS: usize = 1000;
/// Longest banned word or phrase, in characters.
pub const MAX_BANNED_WORD_CHARS: usize = 100;
/// Messages of context shown on each side of a reported message.
pub const REPORT_CONTEXT: i64 = 5;

/// Why a member reports a message: a short, fixed list so that the queue can be sorted and counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ReportReason {
    Bullying,
    Inappropriate,
    Spam,
    SafetyConcern,
    Other,
}

impl ReportReason {
    /// Every reason, in the order the documentation lists them.
    pub const ALL: [ReportReason; 5] = [
        ReportReason::Bullying,
        ReportReason::Inappropriate,
        ReportReason::Spam,
        ReportReason::SafetyConcern,
        ReportReason::Other,
    ];

    /// The reason as stored and sent.
    pub fn as_str(self) -> &'static str {
        match self {
            ReportReason::Bullying => "bullying",
            ReportReason::Inappropriate => "inappropriate",
            ReportReason::Spam => "spam",
            ReportReason::SafetyConcern => "safety_concern",
            ReportReason::Other => "other",
        }
    }

    /// Parses the stored name of a reason.
    pub fn parse(s: &str) -> Option<ReportReason> {
        ReportReason::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// Where a report stands. The reporter sees only this, never what was done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ReportStatus {
    Open,
    Handled,
}

impl ReportStatus {
    /// The status as stored and sent.
    pub fn as_str(self) -> &'static str {
        match self {
            ReportStatus::Open => "open",
            ReportStatus::Handled => "handled",
        }
    }

    /// Parses the stored name of a status.
    pub fn parse(s: &str) -> Option<ReportStatus> {
        match s {
            "open" => Some(ReportStatus::Open),
            "handled" => Some(ReportStatus::Handled),
            _ => None,
        }
    }
}

/// What a moderator did about a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ReportAction {
    /// Nothing needed doing.
    Dismiss,
    /// The message was deleted by moderation (its members get `message_deleted`).
    DeleteMessage,
    /// The sender's account was deactivated (their sessions end, their sockets close).
    DeactivateSender,
}

impl ReportAction {
    /// The action as stored and sent.
    pub fn as_str(self) -> &'static str {
        match self {
            ReportAction::Dismiss => "dismiss",
            ReportAction::DeleteMessage => "delete_message",
            ReportAction::DeactivateSender => "deactivate_sender",
        }
    }

    /// Parses the stored name of an action.
    pub fn parse(s: &str) -> Option<ReportAction> {
        [ReportAction::Dismiss, ReportAction::DeleteMessage, ReportAction::DeactivateSender]
            .into_iter()
            .find(|a| a.as_str() == s)
    }
}

/// `POST /messages/{id}/report`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReportRequest {
    pub reason: ReportReason,
    /// Optional; trimmed, blank is none, at most 1,000 characters.
    #[serde(default)]
    pub note: Option<String>,
}

/// The answer to a report, and each entry of `GET /reports/mine`: what the reporter may know.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MyReport {
    pub id: Uuid,
    pub status: ReportStatus,
    pub message_id: Uuid,
    pub conversation_id: Uuid,
    pub reason: ReportReason,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// `GET /reports/mine`: newest first.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MyReportList {
    pub reports: Vec<MyReport>,
}

/// One report as moderators see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdminReport {
    pub id: Uuid,
    pub status: ReportStatus,
    pub reason: ReportReason,
    pub note: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub reporter: User,
    pub sender: User,
    /// The text as it was when reported (kept even if the message is later edited or deleted).
    pub reported_body: String,
    /// The message as it stands now (`deleted: true` once removed).
    pub message: Message,
    /// Up to five messages before the reported one and five after it, ascending by seq.
    pub context_before: Vec<Message>,
    pub context_after: Vec<Message>,
    /// Everyone who sent one of the messages above, so a moderator sees names, not ids.
    pub people: Vec<User>,
    pub action: Option<ReportAction>,
    pub resolution_note: Option<String>,
    pub handled_by: Option<Uuid>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub handled_at: Option<OffsetDateTime>,
}

/// `GET /admin/reports?status=`: oldest first, so the queue is worked in order.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdminReportList {
    pub reports: Vec<AdminReport>,
}

/// `POST /admin/reports/{id}/resolve`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ResolveReportRequest {
    pub action: ReportAction,
    /// Optional; trimmed, blank is none, at most 1,000 characters.
    #[serde(default)]
    pub note: Option<String>,
}

/// `GET` and `PUT /admin/banned-words`: words and phrases, as the admins wrote them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BannedWords {
    /// At most 1,000 entries of at most 100 characters, each holding a letter or a digit; a PUT trims them and
    /// drops blank ones and duplicates.
    pub words: Vec<String>,
}

/// `GET` and `PUT /admin/settings/safeguarding`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SafeguardingSetting {
    pub enabled: bool,
}

impl Default for SafeguardingSetting {
    /// On unless a school turns it off.
    fn default() -> SafeguardingSetting {
        SafeguardingSetting { enabled: true }
    }
}

/// `GET` and `PUT /admin/settings/retention`: `null` keeps messages forever (the default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RetentionSetting {
    /// Messages older than this many days are cleared daily: 0 to 36,500, or `null` to keep them forever.
    #[cfg_attr(feature = "openapi", schema(maximum = 36500))]
    pub retention_days: Option<u32>,
}

/// One chat under safeguarding visibility, as the admin list shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SafeguardedConversation {
    pub id: Uuid,
    pub kind: ConversationKind,
    pub members: Vec<User>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_message_at: Option<OffsetDateTime>,
    pub message_count: i64,
}

/// `GET /admin/safeguarding/conversations`: newest activity first.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SafeguardedConversationList {
    pub enabled: bool,
    pub conversations: Vec<SafeguardedConversation>,
}

/// `GET /admin/conversations/{id}/export?format=json`: the whole record of one conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConversationExport {
    pub conversation_id: Uuid,
    pub kind: ConversationKind,
    pub name: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// The members now.
    pub members: Vec<User>,
    #[serde(with = "time::serde::rfc3339")]
    pub exported_at: OffsetDateTime,
    pub exported_by: Uuid,
    /// Every message, ascending by seq.
    pub messages: Vec<ExportedMessage>,
}

/// One message of an export.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExportedMessage {
    pub id: Uuid,
    pub seq: i64,
    pub sender_id: Uuid,
    pub sender_name: String,
    pub sender_username: String,
    /// The current text (empty once deleted).
    pub body: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub edited_at: Option<OffsetDateTime>,
    pub deleted: bool,
    #[serde(with = "time::serde::rfc3339::option")]
    pub deleted_at: Option<OffsetDateTime>,
    /// Earlier versions, oldest first: each body and when it was replaced.
    pub edits: Vec<ExportedEdit>,
    pub attachments: Vec<ExportedAttachment>,
}

/// An earlier version of an edited message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExportedEdit {
    pub body: String,
    #[serde(with = "time::serde::rfc3339")]
    pub replaced_at: OffsetDateTime,
}

/// A file a message carries, by name and size (the bytes are not part of an export).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExportedAttachment {
    pub id: Uuid,
    pub file_name: String,
    pub mime_type: String,
    pub size_bytes: i64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_round_trip() {
        for reason in ReportReason::ALL {
            assert_eq!(ReportReason::parse(reason.as_str()), Some(reason));
            assert_eq!(serde_json::to_value(reason).unwrap_or_default(), json!(reason.as_str()));
        }
        for status in [ReportStatus::Open, ReportStatus::Handled] {
            assert_eq!(ReportStatus::parse(status.as_str()), Some(status));
            assert_eq!(serde_json::to_value(status).unwrap_or_default(), json!(status.as_str()));
        }
        for action in [ReportAction::Dismiss, ReportAction::DeleteMessage, ReportAction::DeactivateSender] {
            assert_eq!(ReportAction::parse(action.as_str()), Some(action));
            assert_eq!(serde_json::to_value(action).unwrap_or_default(), json!(action.as_str()));
        }
    }

    #[test]
    fn settings_have_their_defaults() {
        assert!(SafeguardingSetting::default().enabled);
        assert_eq!(RetentionSetting::default().retention_days, None);
        let parsed: ReportRequest = serde_json::from_value(json!({"reason": "safety_concern"}))
            .unwrap_or_else(|_| ReportRequest { reason: ReportReason::Other, note: Some("did not parse".into()) });
        assert_eq!((parsed.reason, parsed.note), (ReportReason::SafetyConcern, None));
        assert!(serde_json::from_value::<ReportRequest>(json!({"reason": "rude"})).is_err());
    }
}

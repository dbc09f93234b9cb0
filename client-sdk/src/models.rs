//! The records and enums handed to apps: plain data, copied across the FFI, built from the wire types of
//! `hallway-protocol` (never redefined here) and from the local store.

use std::time::SystemTime;

use hallway_protocol::safety::{MyReport, ReportReason as WireReportReason, ReportStatus as WireReportStatus};
use hallway_protocol::{Attachment, Conversation, ConversationKind, Message, ReactionSummary, Role, User};

use crate::store::Unsent;

/// A person as the app shows them.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct UserInfo {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub role: UserRole,
    /// Names the person's profile picture and its version (`None`: they have none). Not a link to show: pass it
    /// to `Client::avatar_path` for a local file.
    pub avatar_url: Option<String>,
}

impl From<&User> for UserInfo {
    fn from(user: &User) -> UserInfo {
        UserInfo {
            id: user.id.to_string(),
            username: user.username.clone(),
            display_name: user.display_name.clone(),
            role: user.role.into(),
            avatar_url: user.avatar_url.clone(),
        }
    }
}

/// A person's role in the school.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum UserRole {
    Admin,
    Teacher,
    Parent,
    Student,
}

impl From<Role> for UserRole {
    fn from(role: Role) -> UserRole {
        match role {
            Role::Admin => UserRole::Admin,
            Role::Teacher => UserRole::Teacher,
            Role::Parent => UserRole::Parent,
            Role::Student => UserRole::Student,
        }
    }
}

/// Where the connection to the server stands; the app shows a banner from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ConnectionState {
    /// Not connected and not trying: before sign-in, or after sign-out.
    Offline,
    /// Opening the socket.
    Connecting,
    /// Connected and catching up on what happened while away (live updates and the outbox already flow);
    /// apps may show "Updating…". Becomes `Online` once every conversation is caught up.
    Syncing,
    /// Connected and caught up: live updates flow and the outbox is being sent.
    Online,
    /// The last attempt failed; the next one starts after `delay_ms` (or at once on `Client::reconnect_now`).
    WaitingToRetry { delay_ms: u64 },
    /// `Client::pause` closed the socket (the app is in the background): not connected and not trying until
    /// `Client::resume`. Messages written meanwhile wait in the outbox.
    Paused,
    /// The server ended the session (signed out elsewhere, password changed, account deactivated): the SDK has
    /// already wiped the account's data from this device; show sign-in with a sentence saying `reason`.
    SignedOut { reason: SignOutReason },
}

/// Why the server ended the session, for the sentence the app shows on its sign-in screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum SignOutReason {
    /// This device's session was signed out with its own tokens, from somewhere else.
    SignedOut,
    /// The person signed out on every device (from another one).
    SignedOutEverywhere,
    /// The person changed their password on another device.
    PasswordChanged,
    /// The school deactivated the account.
    AccountDeactivated,
    /// The server refused the session for another reason (revoked by the school, or unused for too long).
    SessionEnded,
}

impl SignOutReason {
    /// The reason a socket's close frame (code 1008) gave, when it says the session ended.
    pub(crate) fn from_close_reason(reason: &str) -> Option<SignOutReason> {
        use hallway_protocol::ws::session_ended::*;
        match reason {
            SIGNED_OUT => Some(SignOutReason::SignedOut),
            SIGNED_OUT_EVERYWHERE => Some(SignOutReason::SignedOutEverywhere),
            PASSWORD_CHANGED => Some(SignOutReason::PasswordChanged),
            ACCOUNT_DEACTIVATED => Some(SignOutReason::AccountDeactivated),
            SESSION_REVOKED => Some(SignOutReason::SessionEnded),
            _ => None,
        }
    }
}

/// An invitation read from a link or a QR code: the school's server and the activation code to redeem there
/// (with `Client::new(server_url, ...)` then `Client::activate(code, password)`).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Invitation {
    /// The school's server, e.g. `https://hallway.school.example` (no trailing slash).
    pub server_url: String,
    /// The code, formatted for people: `ACDE-FGHJ-KMNP`.
    pub code: String,
}

/// One entry of the conversation list. It carries how many members a conversation has, not who they are
/// (a class group's hundred members would travel with every unread badge); what a row shows of people (a
/// direct chat's other person, the last message's sender, who is typing) is named here, and a conversation's
/// members come with its timeline (`TimelineDetails`).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ConversationSummary {
    pub id: String,
    pub is_group: bool,
    /// The group's name, or for a direct chat the other person's display name.
    pub display_name: String,
    /// How many people are in the conversation, the user included.
    pub member_count: u32,
    /// For a direct chat, the other person (avatar, role badge, online dot); `None` for a group.
    pub other_member: Option<UserInfo>,
    pub last_message: Option<MessagePreview>,
    pub last_activity_at: Option<SystemTime>,
    pub unread_count: u64,
    pub muted: bool,
    pub pinned: bool,
    pub archived: bool,
    /// Other members typing right now.
    pub typing_user_ids: Vec<String>,
    /// Their display names, in the same order ("Ana is typing…" in a group's row).
    pub typing_user_names: Vec<String>,
    /// Messages written here that the server has not acknowledged yet (or that it refused).
    pub pending_sends: u64,
    /// Of those, the ones the server refused: the list shows a "not sent" mark until they are retried or
    /// discarded.
    pub failed_sends: u64,
    /// Other members online now (known only while connected).
    pub online_member_ids: Vec<String>,
}

/// The last message of a conversation, as the list shows it.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct MessagePreview {
    pub sender_id: String,
    /// The sender's display name, for "Ana: …" in a group's row (`None` when they are no longer a member).
    pub sender_name: Option<String>,
    pub body: String,
    pub deleted: bool,
    pub has_attachments: bool,
    pub created_at: SystemTime,
}

/// The display name of a conversation: the group's name, or for a direct chat the other person's.
pub(crate) fn conversation_name(conversation: &Conversation, me: Option<uuid::Uuid>) -> String {
    match (conversation.kind, &conversation.name) {
        (ConversationKind::Group | ConversationKind::Announcement, Some(name)) => name.clone(),
        _ => other_member(conversation, me).map(|other| other.display_name.clone()).unwrap_or_default(),
    }
}

/// The first member who is not the user (the other person of a direct chat).
fn other_member(conversation: &Conversation, me: Option<uuid::Uuid>) -> Option<&User> {
    conversation.members.iter().find(|member| Some(member.id) != me)
}

/// The display name of member `id`, if they are one.
pub(crate) fn member_name(conversation: &Conversation, id: uuid::Uuid) -> Option<String> {
    conversation.members.iter().find(|member| member.id == id).map(|member| member.display_name.clone())
}

impl ConversationSummary {
    /// `typing` and `online` (user ids, of the other members) and `unsent` (the outbox) are what the
    /// conversation's wire form does not hold.
    pub(crate) fn new(
        conversation: &Conversation,
        me: Option<uuid::Uuid>,
        typing: Vec<String>,
        online: Vec<String>,
        unsent: Unsent,
    ) -> Self {
        let is_group = conversation.kind == ConversationKind::Group;
        let typing_user_names = typing
            .iter()
            .map(|id| uuid::Uuid::parse_str(id).ok().and_then(|id| member_name(conversation, id)).unwrap_or_default())
            .collect();
        ConversationSummary {
            id: conversation.id.to_string(),
            is_group,
            display_name: conversation_name(conversation, me),
            member_count: u32::try_from(conversation.members.len()).unwrap_or(u32::MAX),
            other_member: if is_group { None } else { other_member(conversation, me).map(UserInfo::from) },
            last_message: conversation.last_message.as_ref().map(|m| MessagePreview {
                sender_id: m.sender_id.to_string(),
                sender_name: member_name(conversation, m.sender_id),
                body: m.body.clone(),
                deleted: m.deleted,
                has_attachments: !m.attachments.is_empty(),
                created_at: m.created_at.into(),
            }),
            last_activity_at: conversation.last_message_at.map(Into::into),
            unread_count: u64::try_from(conversation.unread_count).unwrap_or(0),
            muted: conversation.muted,
            pinned: conversation.pinned,
            archived: conversation.archived,
            typing_user_ids: typing,
            typing_user_names,
            pending_sends: unsent.pending,
            failed_sends: unsent.failed,
            online_member_ids: online,
        }
    }
}

/// Where one of the user's own messages stands.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum SendState {
    /// Shown at once (local echo), queued in the outbox until the server acknowledges it.
    Sending,
    /// Committed on the server (also every message of other people).
    Sent,
    /// The server refused it (`code` from the contract, `reason` its sentence); `retry_send` or `discard_send`.
    Failed { code: String, reason: String },
}

/// One reaction emoji on a message.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ReactionInfo {
    pub emoji: String,
    pub count: u64,
    pub user_ids: Vec<String>,
    pub reacted_by_me: bool,
}

/// One message of a timeline, sent or still in the outbox.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct TimelineItem {
    /// Stable across the local echo and the acknowledged message: for the user's own messages their
    /// `client_msg_id`, for other people's the message id. Use it as the list key.
    pub unique_id: String,
    /// The server's id, once it has one (needed for `react`, `edit` and `delete`).
    pub message_id: Option<String>,
    pub client_msg_id: String,
    /// The position in the conversation, once sent.
    pub seq: Option<i64>,
    pub sender_id: String,
    pub is_own: bool,
    pub body: String,
    pub created_at: SystemTime,
    pub edited_at: Option<SystemTime>,
    pub deleted: bool,
    pub reactions: Vec<ReactionInfo>,
    /// Files the message carries, once sent.
    pub attachments: Vec<AttachmentInfo>,
    pub send_state: SendState,
    /// For a message with a file still in the outbox: how far its upload is.
    pub upload: Option<UploadProgress>,
}

/// The upload of a file the user is sending (see `Timeline::send_attachment`).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct UploadProgress {
    pub file_name: String,
    pub size_bytes: u64,
    /// Equal to `size_bytes` once the server has the file (the message itself may still be on its way).
    pub sent_bytes: u64,
}

/// A file carried by a message. Show it through `Client::thumbnail_path` and `Client::media_path`, which
/// fetch it with the session and keep it on disk: the server's signed links expire, so none is handed out.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct AttachmentInfo {
    pub id: String,
    pub file_name: String,
    pub mime_type: String,
    pub size_bytes: u64,
    pub width: Option<u32>,
    pub height: Option<u32>,
    /// The server made a small preview image of it (images only): `Client::thumbnail_path` gives it.
    pub has_thumbnail: bool,
}

impl From<&Attachment> for AttachmentInfo {
    fn from(attachment: &Attachment) -> AttachmentInfo {
        AttachmentInfo {
            id: attachment.id.to_string(),
            file_name: attachment.file_name.clone(),
            mime_type: attachment.mime_type.clone(),
            size_bytes: u64::try_from(attachment.size_bytes).unwrap_or(0),
            width: attachment.width.and_then(|w| u32::try_from(w).ok()),
            height: attachment.height.and_then(|h| u32::try_from(h).ok()),
            has_thumbnail: attachment.thumbnail_url.is_some(),
        }
    }
}

impl TimelineItem {
    pub(crate) fn from_message(message: &Message, me: Option<uuid::Uuid>) -> TimelineItem {
        let is_own = Some(message.sender_id) == me;
        TimelineItem {
            unique_id: if is_own { message.client_msg_id.clone() } else { message.id.to_string() },
            message_id: Some(message.id.to_string()),
            client_msg_id: message.client_msg_id.clone(),
            seq: Some(message.seq),
            sender_id: message.sender_id.to_string(),
            is_own,
            body: message.body.clone(),
            created_at: message.created_at.into(),
            edited_at: message.edited_at.map(Into::into),
            deleted: message.deleted,
            reactions: message.reactions.iter().map(|r| reaction_info(r, me)).collect(),
            attachments: message.attachments.iter().map(AttachmentInfo::from).collect(),
            send_state: SendState::Sent,
            upload: None,
        }
    }
}

fn reaction_info(reaction: &ReactionSummary, me: Option<uuid::Uuid>) -> ReactionInfo {
    ReactionInfo {
        emoji: reaction.emoji.clone(),
        count: u64::try_from(reaction.count).unwrap_or(0),
        user_ids: reaction.user_ids.iter().map(ToString::to_string).collect(),
        reacted_by_me: me.is_some_and(|me| reaction.user_ids.contains(&me)),
    }
}

/// How far another member has read.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ReadMarker {
    pub user_id: String,
    pub seq: i64,
}

/// Everything a conversation screen shows besides its items and who is typing: who is in it, how far
/// people have read, whether older history remains. A `TimelineListener` is told it first and again whenever
/// it changes (it is small next to the items, and changes far less often than they do).
#[derive(Debug, Clone, Default, PartialEq, uniffi::Record)]
pub struct TimelineDetails {
    pub conversation_id: String,
    /// The group's name, or for a direct chat the other person's display name.
    pub display_name: String,
    pub is_group: bool,
    /// Everyone in the conversation, the user included (names and pictures of senders and readers).
    pub members: Vec<UserInfo>,
    /// The group's admins (they may delete anyone's message).
    pub admin_ids: Vec<String>,
    /// The user's own read marker.
    pub own_read_seq: i64,
    /// Other members' read markers, as far as this device has heard of them.
    pub read_markers: Vec<ReadMarker>,
    /// The timeline shows the first message of the conversation: nothing older to paginate.
    pub reached_start: bool,
    /// Other members online now (known only while connected).
    pub online_member_ids: Vec<String>,
}

impl TimelineDetails {
    /// The parts of the details that come from the conversation itself.
    pub(crate) fn describe(&mut self, conversation: &Conversation, me: Option<uuid::Uuid>) {
        self.display_name = conversation_name(conversation, me);
        self.is_group = conversation.kind == ConversationKind::Group;
        self.members = conversation.members.iter().map(UserInfo::from).collect();
        self.admin_ids = conversation.admin_ids.iter().map(ToString::to_string).collect();
        self.own_read_seq = conversation.last_read_seq;
    }
}

/// One conversation's screen as it stands now (`Timeline::snapshot`): what a listener's updates add up to.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct TimelineSnapshot {
    /// Oldest first: the window of loaded history (the newest messages, more after each
    /// `Timeline::paginate_backwards`), then the messages still in the outbox.
    pub items: Vec<TimelineItem>,
    pub details: TimelineDetails,
    /// Other members typing now.
    pub typing_user_ids: Vec<String>,
}

/// Why a member reports a message: the school's short list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ReportReason {
    Bullying,
    Inappropriate,
    Spam,
    SafetyConcern,
    Other,
}

impl From<ReportReason> for WireReportReason {
    fn from(reason: ReportReason) -> WireReportReason {
        match reason {
            ReportReason::Bullying => WireReportReason::Bullying,
            ReportReason::Inappropriate => WireReportReason::Inappropriate,
            ReportReason::Spam => WireReportReason::Spam,
            ReportReason::SafetyConcern => WireReportReason::SafetyConcern,
            ReportReason::Other => WireReportReason::Other,
        }
    }
}

impl From<WireReportReason> for ReportReason {
    fn from(reason: WireReportReason) -> ReportReason {
        match reason {
            WireReportReason::Bullying => ReportReason::Bullying,
            WireReportReason::Inappropriate => ReportReason::Inappropriate,
            WireReportReason::Spam => ReportReason::Spam,
            WireReportReason::SafetyConcern => ReportReason::SafetyConcern,
            WireReportReason::Other => ReportReason::Other,
        }
    }
}

/// A report the user made, as far as the reporter may know: whether the school has handled it, never how.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ReportInfo {
    pub id: String,
    pub message_id: String,
    pub conversation_id: String,
    pub reason: ReportReason,
    pub handled: bool,
    pub created_at: SystemTime,
}

impl From<&MyReport> for ReportInfo {
    fn from(report: &MyReport) -> ReportInfo {
        ReportInfo {
            id: report.id.to_string(),
            message_id: report.message_id.to_string(),
            conversation_id: report.conversation_id.to_string(),
            reason: report.reason.into(),
            handled: report.status == WireReportStatus::Handled,
            created_at: report.created_at.into(),
        }
    }
}

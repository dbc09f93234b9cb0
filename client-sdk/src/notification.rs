//! [`NotificationClient`]: what a push turns into on the screen, worked out in a second process beside the app
//! (the iOS Notification Service Extension, with 24 MB and about 30 s; Android's messaging service, while the
//! app's process may sleep). It opens the app's store in the same data directory, with the same secret store,
//! and never a socket: it reads what the app already holds, fetches the one message a push names over REST,
//! and gives up after [`CONTENT_TIMEOUT`] with what it has, down to the fallback text. Quick reply and
//! mark-read from the notification go over REST too.
//!
//! Two processes on one store: SQLCipher in WAL mode lets them read at once and write one at a time (each waits
//! for the other's write up to the busy timeout); a refresh of the session is serialised between them by a
//! file lock and adopts the tokens the other process stored (see `Api::refresh`). A reply goes into the
//! outbox first with its `client_msg_id`, exactly as the app's own send would, then over REST; whichever
//! process sends it (this one, or the app draining its outbox meanwhile), the server stores it once, since a
//! repeated `client_msg_id` answers the original message.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hallway_protocol::messages::{MessagePage, ReadRequest, SendMessageRequest};
use hallway_protocol::{Conversation, ConversationKind, ErrorCode, Message};
use reqwest::Method;
use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::api::{self, Api, NO_BODY};
use crate::error::{Error, HallwayError, Result};
use crate::models::{conversation_name, member_name};
use crate::secrets::SecretStore;
use crate::shared::Shared;
use crate::store::{self, OutboxEntry, Store};
use crate::timeline::{parse_body, parse_id};
use crate::{media, runtime};

/// How long working out a notification may take in all; then what is known so far is shown.
const CONTENT_TIMEOUT: Duration = Duration::from_secs(8);
/// How long a reply waits for the server before it is left to the app's outbox.
const REPLY_TIMEOUT: Duration = Duration::from_secs(8);
/// The text shown when neither the message nor a preview could be had. Apps may show their own translation
/// when `text_source` is `Fallback`.
pub const FALLBACK_TEXT: &str = "New message";

/// What a push is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum NotificationKind {
    /// A new message: show (or update) the conversation's notification.
    Message,
    /// The person read the conversation on another device: remove its notification and set the badge.
    Read,
    /// A message not read yet was edited: update the notification that shows it (or show it), like `Message`.
    MessageEdited,
    /// A message not read yet was deleted (by its sender, a group admin or a moderator): withdraw the
    /// conversation's notification, which may show its text. Nothing is looked up.
    MessageDeleted,
    /// Not a push this SDK understands: show the fallback, or nothing.
    Unknown,
}

/// Where a notification's text came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum NotificationTextSource {
    /// The message itself, from the store or fetched.
    Message,
    /// The preview the push carried (the school chose previews), when the message could not be had.
    Preview,
    /// Nothing could be had: the text is [`FALLBACK_TEXT`].
    Fallback,
}

/// What to show for one push.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct NotificationContent {
    pub kind: NotificationKind,
    /// The conversation: the notification's group, thread and collapse key (empty for `Unknown`).
    pub conversation_id: String,
    /// The group's name, or the other person's in a direct chat; `None` for a `Read` push (nothing is looked
    /// up to clear) and when it could not be had.
    pub conversation_name: Option<String>,
    /// A group or an announcement channel (Android's `MessagingStyle.isGroupConversation`).
    pub is_group: bool,
    /// The message's place in the conversation (`Message` pushes); `mark_read` takes it.
    pub seq: Option<i64>,
    pub message_id: Option<String>,
    pub sender_id: Option<String>,
    pub sender_name: Option<String>,
    /// A local file of the sender's profile picture, when they have one and it could be had in time.
    pub sender_avatar_path: Option<String>,
    /// Never empty: the message's text (or `📎 <file name>` for a file without a caption), the push's preview,
    /// or [`FALLBACK_TEXT`].
    pub text: String,
    pub text_source: NotificationTextSource,
    /// Sent as urgent: the app may use a more insistent channel or interruption level.
    pub urgent: bool,
    /// When the message was sent, in Unix milliseconds.
    pub sent_at_ms: Option<i64>,
    /// The person's unread total over all conversations, for the app icon; `None` when the push had none.
    pub badge: Option<i64>,
}

impl NotificationContent {
    /// What a push alone says, before anything is looked up: ids, the badge and any preview.
    fn from_push(push: &Push) -> NotificationContent {
        let mut content = NotificationContent {
            kind: NotificationKind::Unknown,
            conversation_id: String::new(),
            conversation_name: None,
            is_group: false,
            seq: None,
            message_id: None,
            sender_id: None,
            sender_name: None,
            sender_avatar_path: None,
            text: FALLBACK_TEXT.to_owned(),
            text_source: NotificationTextSource::Fallback,
            urgent: false,
            sent_at_ms: None,
            badge: None,
        };
        match push {
            Push::Message { conversation_id, seq, badge, sender_name, body }
            | Push::Edited { conversation_id, seq, badge, sender_name, body } => {
                content.kind = if matches!(push, Push::Edited { .. }) {
                    NotificationKind::MessageEdited
                } else {
                    NotificationKind::Message
                };
                content.conversation_id = conversation_id.to_string();
                content.seq = Some(*seq);
                content.badge = *badge;
                content.sender_name = sender_name.clone();
                if let Some(body) = body.as_ref().filter(|b| !b.trim().is_empty()) {
                    content.text = body.clone();
                    content.text_source = NotificationTextSource::Preview;
                }
            }
            Push::Read { conversation_id, badge } => {
                content.kind = NotificationKind::Read;
                content.conversation_id = conversation_id.to_string();
                content.badge = *badge;
            }
            Push::Deleted { conversation_id, seq, badge } => {
                content.kind = NotificationKind::MessageDeleted;
                content.conversation_id = conversation_id.to_string();
                content.seq = Some(*seq);
                content.badge = *badge;
            }
            Push::Unknown => {}
        }
        content
    }

    fn set_conversation(&mut self, conversation: &Conversation, me: Uuid) {
        let name = conversation_name(conversation, Some(me));
        self.conversation_name = (!name.is_empty()).then_some(name);
        self.is_group = conversation.kind != ConversationKind::Direct;
    }

    fn set_message(&mut self, message: &Message) {
        self.message_id = Some(message.id.to_string());
        self.sender_id = Some(message.sender_id.to_string());
        self.urgent = message.urgent;
        self.sent_at_ms = i64::try_from(message.created_at.unix_timestamp_nanos() / 1_000_000).ok();
        let text = if !message.body.trim().is_empty() {
            Some(message.body.clone())
        } else {
            message.attachments.first().map(|file| format!("📎 {}", file.file_name))
        };
        if let Some(text) = text.filter(|_| !message.deleted) {
            self.text = text;
            self.text_source = NotificationTextSource::Message;
        }
    }
}

/// A push payload as this SDK reads it: the server's `PushPayload` JSON, leniently, since FCM hands its data
/// values over as strings (`"seq": "12"`) and apps may pass the platform's whole dictionary (the payload at
/// the top, or under `data`).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Push {
    Message {
        conversation_id: Uuid,
        seq: i64,
        badge: Option<i64>,
        sender_name: Option<String>,
        body: Option<String>,
    },
    /// `message_edited`: as a message, whose stored copy is older than the server's.
    Edited {
        conversation_id: Uuid,
        seq: i64,
        badge: Option<i64>,
        sender_name: Option<String>,
        body: Option<String>,
    },
    Read {
        conversation_id: Uuid,
        badge: Option<i64>,
    },
    /// `message_deleted`.
    Deleted {
        conversation_id: Uuid,
        seq: i64,
        badge: Option<i64>,
    },
    Unknown,
}

impl Push {
    fn parse(json: &str) -> Push {
        let Ok(value) = serde_json::from_str::<Value>(json) else { return Push::Unknown };
        let fields = match value.get("data") {
            Some(data) if value.get("type").is_none() => data,
            _ => &value,
        };
        let text = |name: &str| fields.get(name).and_then(Value::as_str).map(str::to_owned);
        let number = |name: &str| match fields.get(name) {
            Some(Value::Number(n)) => n.as_i64(),
            Some(Value::String(s)) => s.trim().parse().ok(),
            _ => None,
        };
        let Some(conversation_id) = text("conversation_id").and_then(|id| Uuid::parse_str(&id).ok()) else {
            return Push::Unknown;
        };
        match text("type").as_deref() {
            Some("message") => match number("seq") {
                Some(seq) => Push::Message {
                    conversation_id,
                    seq,
                    badge: number("badge"),
                    sender_name: text("sender_name").filter(|n| !n.is_empty()),
                    body: text("body"),
                },
                None => Push::Unknown,
            },
            Some("message_edited") => match number("seq") {
                Some(seq) => Push::Edited {
                    conversation_id,
                    seq,
                    badge: number("badge"),
                    sender_name: text("sender_name").filter(|n| !n.is_empty()),
                    body: text("body"),
                },
                None => Push::Unknown,
            },
            Some("read") => Push::Read { conversation_id, badge: number("badge") },
            Some("message_deleted") => match number("seq") {
                Some(seq) => Push::Deleted { conversation_id, seq, badge: number("badge") },
                None => Push::Unknown,
            },
            // A type this SDK does not know (the protocol may add some): ignored, as the protocol says.
            _ => Push::Unknown,
        }
    }
}

/// How a reply from a notification went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ReplyOutcome {
    /// The server stored it.
    Sent,
    /// The server could not be reached in time: it waits in the outbox, and the app sends it (exactly once)
    /// when it next connects.
    Queued,
}

/// Works out notifications, and answers them, beside the app: see the module's documentation.
#[derive(uniffi::Object)]
pub struct NotificationClient {
    inner: Arc<Inner>,
}

/// What the notification client's calls share, on the SDK's runtime.
struct Inner {
    base: reqwest::Url,
    data_dir: PathBuf,
    secrets: Arc<dyn SecretStore>,
    /// The app's store and the API, opened on first use (and again until that works: the app may not have
    /// made its store yet when this process starts).
    opened: Mutex<Option<Arc<Shared>>>,
}

impl Inner {
    /// The store and the API, with the session as the store holds it now (the app may have refreshed it, or
    /// signed out, since the last call). `NotSignedIn` without a store or a session.
    async fn signed_in(&self) -> Result<(Arc<Shared>, Uuid)> {
        let opened = self.opened.lock().map_err(|_| Error::Internal("the store slot is poisoned".into()))?.clone();
        let shared = match opened {
            Some(shared) => shared,
            None => {
                let store = Store::open_existing(&self.data_dir, self.secrets.clone())?;
                let api = Api::new(self.base.clone(), store.clone())?;
                let shared = Arc::new(Shared::new(api, store));
                if let Ok(mut slot) = self.opened.lock() {
                    *slot = Some(shared.clone());
                }
                shared
            }
        };
        let user = shared.api.restore().await?.ok_or(Error::NotSignedIn)?;
        Ok((shared, user.id))
    }

    /// Fills `content` in step by step, so that a timeout still shows what was found.
    async fn look_up(&self, push: Push, content: Arc<Mutex<NotificationContent>>) -> Result<()> {
        let update = |change: &dyn Fn(&mut NotificationContent)| {
            if let Ok(mut content) = content.lock() {
                change(&mut content);
            }
        };
        // A read or a deletion only clears: it needs nothing looked up (and the extension's time and memory are
        // short). An edit's stored copy is the old text: it is fetched.
        let (conversation_id, seq, edited) = match push {
            Push::Message { conversation_id, seq, .. } => (conversation_id, seq, false),
            Push::Edited { conversation_id, seq, .. } => (conversation_id, seq, true),
            Push::Read { .. } | Push::Deleted { .. } | Push::Unknown => return Ok(()),
        };
        let (shared, me) = self.signed_in().await?;
        let stored = shared.store.run(move |conn| store::conversation(conn, conversation_id)).await?;
        let mut conversation = match stored {
            Some(conversation) => conversation,
            None => fetch_conversation(&shared, conversation_id).await?,
        };
        update(&|content| content.set_conversation(&conversation, me));
        let stored = if edited {
            None
        } else {
            shared.store.run(move |conn| store::message_at(conn, conversation_id, seq)).await?
        };
        let message = match stored {
            Some(message) => message,
            None => fetch_message(&shared, conversation_id, seq).await?,
        };
        update(&|content| content.set_message(&message));
        // Someone who joined after the app last stored the conversation: its members from the server.
        if !conversation.members.iter().any(|m| m.id == message.sender_id) {
            conversation = fetch_conversation(&shared, conversation_id).await?;
            update(&|content| content.set_conversation(&conversation, me));
        }
        let sender = conversation.members.iter().find(|m| m.id == message.sender_id);
        let name = member_name(&conversation, message.sender_id);
        update(&|content| content.sender_name = name.clone().or(content.sender_name.take()));
        if let Some(avatar_url) = sender.and_then(|s| s.avatar_url.clone()) {
            let path = media::avatar_beside_app(&self.data_dir, &shared, message.sender_id, &avatar_url).await?;
            let path = path.map(|p| p.to_string_lossy().into_owned());
            update(&|content| content.sender_avatar_path = path.clone());
        }
        Ok(())
    }
}

async fn fetch_conversation(shared: &Shared, id: Uuid) -> Result<Conversation> {
    shared.api.call(Method::GET, &format!("conversations/{id}"), &[], NO_BODY).await
}

/// The message at `seq`, from the server: the page of one right after `seq - 1`.
async fn fetch_message(shared: &Shared, id: Uuid, seq: i64) -> Result<Message> {
    let query = [("after_seq", (seq - 1).max(0).to_string()), ("limit", "1".to_owned())];
    let page: MessagePage =
        shared.api.call(Method::GET, &format!("conversations/{id}/messages"), &query, NO_BODY).await?;
    page.messages
        .into_iter()
        .find(|m| m.seq == seq)
        .ok_or_else(|| Error::api(404, ErrorCode::NotFound, "no such message".into()))
}

#[uniffi::export(async_runtime = "tokio")]
impl NotificationClient {
    /// A notification client on the app's data directory and secret store (the same `data_dir` and `secrets`
    /// the app's `Client` was made with; on iOS an App Group container and a shared keychain access group).
    /// It opens no socket and never creates, wipes or replaces the app's store; it may be made while the app
    /// runs. Fails only for a server URL that is not one.
    #[uniffi::constructor]
    pub fn new(
        server_url: String,
        data_dir: String,
        secrets: Arc<dyn SecretStore>,
    ) -> Result<Arc<NotificationClient>, HallwayError> {
        let inner = Inner {
            base: api::base_url(&server_url)?,
            data_dir: PathBuf::from(data_dir),
            secrets,
            opened: Mutex::new(None),
        };
        Ok(Arc::new(NotificationClient { inner: Arc::new(inner) }))
    }

    /// What to show for a push whose payload is `payload_json` (the server's JSON; FCM's data map with string
    /// values, or the whole payload under `data`, works too). Takes at most about 8 s and never fails: what
    /// could not be had in time is left out, down to `text` = "New message" (`text_source` = `Fallback`).
    pub async fn content(&self, payload_json: String) -> NotificationContent {
        let push = Push::parse(&payload_json);
        let content = Arc::new(Mutex::new(NotificationContent::from_push(&push)));
        let (inner, filling) = (self.inner.clone(), content.clone());
        let looked_up = runtime::run(async move {
            match tokio::time::timeout(CONTENT_TIMEOUT, inner.look_up(push, filling)).await {
                Ok(result) => result,
                Err(_) => Err(Error::Network("working out a notification timed out".into())),
            }
        })
        .await;
        if let Err(error) = looked_up {
            tracing::info!(%error, "a notification shows what could be had");
        }
        content.lock().map(|c| c.clone()).unwrap_or_else(|_| NotificationContent::from_push(&Push::Unknown))
    }

    /// Answers a conversation from its notification: the text goes into the outbox with a new `client_msg_id`
    /// (as a send from the app would), then to the server over REST. `Sent` once the server stored it;
    /// `Queued` when the server could not be reached in time (the app sends it when it next connects; a copy
    /// the app sends meanwhile is stored only once). Errors: `InvalidInput` (`body_empty`, `body_too_long`),
    /// `Forbidden`/`NotFound` (the server refused it: it shows failed in the chat), `Unauthorized`.
    pub async fn reply(&self, conversation_id: String, text: String) -> Result<ReplyOutcome, HallwayError> {
        let inner = self.inner.clone();
        Ok(runtime::run(async move {
            let (shared, me) = inner.signed_in().await?;
            let id = parse_id(&conversation_id, "conversation_id")?;
            let entry = OutboxEntry {
                client_msg_id: Uuid::now_v7().to_string(),
                conversation_id: id,
                body: parse_body(&text, false)?,
                created_at: OffsetDateTime::now_utc(),
                failure: None,
                file: None,
            };
            let request = SendMessageRequest {
                client_msg_id: entry.client_msg_id.clone(),
                body: entry.body.clone(),
                attachment_ids: Vec::new(),
                urgent: false,
            };
            let client_msg_id = entry.client_msg_id.clone();
            shared.store.transaction(move |conn| store::enqueue(conn, &entry)).await?;
            let path = format!("conversations/{id}/messages");
            let sent = tokio::time::timeout(
                REPLY_TIMEOUT,
                shared.api.call::<Message, _>(Method::POST, &path, &[], Some(&request)),
            );
            match sent.await {
                Ok(Ok(message)) => {
                    shared
                        .store
                        .transaction(move |conn| store::acknowledge(conn, &client_msg_id, &message, me))
                        .await?;
                    Ok(ReplyOutcome::Sent)
                }
                Err(_) => Ok(ReplyOutcome::Queued),
                Ok(Err(error)) if error.is_transient() => {
                    tracing::info!(%error, "a reply waits in the outbox");
                    Ok(ReplyOutcome::Queued)
                }
                Ok(Err(Error::NotSignedIn)) => Err(Error::NotSignedIn),
                Ok(Err(error)) => {
                    let (code, reason) = match &error {
                        Error::Api { code, message, .. } => (code.as_str().to_owned(), message.clone()),
                        Error::Refused { code, message, .. } => (code.clone(), message.clone()),
                        _ => (ErrorCode::Internal.as_str().to_owned(), "the reply could not be sent".to_owned()),
                    };
                    shared.store.run(move |conn| store::fail(conn, &client_msg_id, &code, &reason)).await?;
                    Err(error)
                }
            }
        })
        .await?)
    }

    /// Marks the conversation read up to `seq` (the notification's message) on the server and in the app's
    /// store; the server then clears the conversation's notifications on the person's other devices.
    pub async fn mark_read(&self, conversation_id: String, seq: i64) -> Result<(), HallwayError> {
        let inner = self.inner.clone();
        Ok(runtime::run(async move {
            let (shared, me) = inner.signed_in().await?;
            let id = parse_id(&conversation_id, "conversation_id")?;
            let request = ReadRequest { seq };
            shared.api.call_empty(Method::POST, &format!("conversations/{id}/read"), Some(&request)).await?;
            shared.store.transaction(move |conn| store::apply_read(conn, id, me, seq, me)).await
        })
        .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pushes_are_read_from_the_servers_json_and_from_fcms_strings() {
        let id = Uuid::now_v7();
        let server = format!(r#"{{"type":"message","conversation_id":"{id}","seq":7,"badge":3}}"#);
        let expected = Push::Message { conversation_id: id, seq: 7, badge: Some(3), sender_name: None, body: None };
        assert_eq!(Push::parse(&server), expected);
        let fcm = format!(r#"{{"type":"message","conversation_id":"{id}","seq":"7","badge":"3"}}"#);
        assert_eq!(Push::parse(&fcm), expected);
        let nested = format!(r#"{{"data":{{"type":"read","conversation_id":"{id}","badge":"0"}},"from":"x"}}"#);
        assert_eq!(Push::parse(&nested), Push::Read { conversation_id: id, badge: Some(0) });
        let edited =
            format!(r#"{{"type":"message_edited","conversation_id":"{id}","seq":"4","badge":1,"body":"new"}}"#);
        let expected =
            Push::Edited { conversation_id: id, seq: 4, badge: Some(1), sender_name: None, body: Some("new".into()) };
        assert_eq!(Push::parse(&edited), expected);
        let deleted = format!(r#"{{"type":"message_deleted","conversation_id":"{id}","seq":4,"badge":0}}"#);
        assert_eq!(Push::parse(&deleted), Push::Deleted { conversation_id: id, seq: 4, badge: Some(0) });
        let later = format!(r#"{{"type":"sparkle","conversation_id":"{id}"}}"#);
        for unknown in ["", "[]", r#"{"type":"message"}"#, r#"{"type":"sparkle","conversation_id":"x"}"#, &later] {
            assert_eq!(Push::parse(unknown), Push::Unknown, "{unknown}");
        }
    }

    #[test]
    fn a_push_alone_shows_its_preview_or_the_fallback() {
        let id = Uuid::now_v7();
        let preview = Push::Message {
            conversation_id: id,
            seq: 2,
            badge: Some(1),
            sender_name: Some("Ms Rivera".into()),
            body: Some("Trip tomorrow".into()),
        };
        let content = NotificationContent::from_push(&preview);
        assert_eq!((content.text.as_str(), content.text_source), ("Trip tomorrow", NotificationTextSource::Preview));
        assert_eq!(content.sender_name.as_deref(), Some("Ms Rivera"));
        let bare = Push::Message { conversation_id: id, seq: 2, badge: None, sender_name: None, body: None };
        let content = NotificationContent::from_push(&bare);
        assert_eq!((content.text.as_str(), content.text_source), (FALLBACK_TEXT, NotificationTextSource::Fallback));
        assert_eq!(NotificationContent::from_push(&Push::Unknown).kind, NotificationKind::Unknown);
    }
}

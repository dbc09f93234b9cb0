//! [`Timeline`]: one conversation's messages, from the store, with the outbox's local echoes after them.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hallway_protocol::messages::{EditMessageRequest, MessagePage, ReactRequest, ReadRequest};
use hallway_protocol::safety::{MyReport, ReportRequest};
use hallway_protocol::validate::MessageBody;
use hallway_protocol::ws::ClientFrame;
use hallway_protocol::{ErrorCode, Message};
use reqwest::Method;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::api::NO_BODY;
use crate::error::{Error, HallwayError, Result};
use crate::listeners::{self, TimelineListener};
use crate::models::{ReadMarker, ReportInfo, ReportReason, SendState, TimelineItem, TimelineSnapshot, UploadProgress};
use crate::runtime;
use crate::shared::{OwnTyping, Shared};
use crate::store::{self, OutboxEntry, OutboxFile, PageKind};
use crate::task::TaskHandle;

/// At most one `typing: true` frame this often while the user keeps typing.
const TYPING_REFRESH: Duration = Duration::from_secs(3);
/// After this long without a keystroke, the SDK tells the server the user stopped.
const TYPING_IDLE: Duration = Duration::from_secs(5);
/// The longest file name a message may carry (the server shortens longer ones anyway).
const MAX_FILE_NAME_CHARS: usize = 255;

/// One conversation: its history, the user's unsent messages, and what can be done in it.
#[derive(uniffi::Object)]
pub struct Timeline {
    shared: Arc<Shared>,
    conversation_id: Uuid,
}

impl Timeline {
    pub(crate) fn new(shared: Arc<Shared>, conversation_id: Uuid) -> Timeline {
        Timeline { shared, conversation_id }
    }
}

/// Parses an id the app passes in; `field` names it in the error.
pub(crate) fn parse_id(raw: &str, field: &str) -> Result<Uuid> {
    Uuid::parse_str(raw.trim())
        .map_err(|_| Error::Invalid { code: ErrorCode::InvalidId, message: format!("{field}: not an id") })
}

/// The timeline as the app shows it, from the store (empty for a conversation not known here).
pub(crate) async fn snapshot(shared: Arc<Shared>, id: Uuid) -> Result<TimelineSnapshot> {
    let me = shared.api.user_id();
    let data = shared.store.run(move |conn| store::timeline(conn, id)).await?;
    let mut snapshot = TimelineSnapshot {
        conversation_id: id.to_string(),
        items: Vec::new(),
        own_read_seq: 0,
        read_markers: Vec::new(),
        typing_user_ids: shared.typing_in(id),
        reached_start: false,
        online_member_ids: Vec::new(),
    };
    let Some(data) = data else { return Ok(snapshot) };
    snapshot.items = data.messages.iter().map(|m| TimelineItem::from_message(m, me)).collect();
    snapshot.items.extend(data.outbox.iter().map(|entry| local_echo(&shared, entry, me)));
    snapshot.own_read_seq = data.own_read_seq;
    snapshot.read_markers =
        data.read_markers.iter().map(|(user, seq)| ReadMarker { user_id: user.to_string(), seq: *seq }).collect();
    snapshot.reached_start = data.reached_start;
    snapshot.online_member_ids = shared.online_among(data.member_ids, me);
    Ok(snapshot)
}

fn local_echo(shared: &Shared, entry: &OutboxEntry, me: Option<Uuid>) -> TimelineItem {
    let upload = entry.file.as_ref().map(|file| UploadProgress {
        file_name: file.name.clone(),
        size_bytes: file.size,
        sent_bytes: if file.attachment_id.is_some() {
            file.size
        } else {
            shared.upload_progress(&entry.client_msg_id).min(file.size)
        },
    });
    TimelineItem {
        unique_id: entry.client_msg_id.clone(),
        message_id: None,
        client_msg_id: entry.client_msg_id.clone(),
        seq: None,
        sender_id: me.map(|me| me.to_string()).unwrap_or_default(),
        is_own: true,
        body: entry.body.clone(),
        created_at: entry.created_at.into(),
        edited_at: None,
        deleted: false,
        reactions: Vec::new(),
        attachments: Vec::new(),
        send_state: match &entry.failure {
            None => SendState::Sending,
            Some((code, reason)) => SendState::Failed { code: code.clone(), reason: reason.clone() },
        },
        upload,
    }
}

/// Puts a message in the outbox (its file, if any, already copied under `client_msg_id`) and wakes the sender.
async fn enqueue(shared: &Shared, entry: OutboxEntry) -> Result<String> {
    let (conversation, client_msg_id) = (entry.conversation_id, entry.client_msg_id.clone());
    shared
        .store
        .transaction(move |conn| {
            if store::conversation(conn, conversation)?.is_none() {
                return Err(Error::api(404, ErrorCode::NotFound, "no such conversation".into()));
            }
            store::enqueue(conn, &entry)
        })
        .await?;
    typing_ended_by_send(shared, conversation);
    shared.conversation_changed(conversation);
    shared.outbox_wake.notify_one();
    Ok(client_msg_id)
}

/// Checks a message body (a caption may be empty when a file goes with it).
fn parse_body(body: &str, has_file: bool) -> Result<String> {
    MessageBody::parse(body, has_file)
        .map(MessageBody::into_inner)
        .map_err(|invalid| Error::Invalid { code: invalid.code, message: invalid.message })
}

/// The name a file is sent under: the one given, else the file's own name.
fn file_name_for(path: &Path, given: &str) -> Result<String> {
    let given = given.trim();
    let name = if given.is_empty() {
        path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
    } else {
        given.to_owned()
    };
    if name.is_empty() || name.chars().count() > MAX_FILE_NAME_CHARS {
        return Err(Error::Invalid {
            code: ErrorCode::InvalidInput,
            message: format!("file_name: 1 to {MAX_FILE_NAME_CHARS} characters"),
        });
    }
    Ok(name)
}

/// Stores a message the server answered with (after an edit, a deletion or a reaction) and tells listeners.
async fn store_message(shared: &Shared, message: Message) -> Result<()> {
    let me = shared.api.user_id().ok_or(Error::NotSignedIn)?;
    let id = message.conversation_id;
    shared.store.transaction(move |conn| store::replace_message(conn, &message, me)).await?;
    shared.conversation_changed(id);
    Ok(())
}

/// Decides what one call of `set_typing` sends: `Some(typing)` for a frame, `None` to stay quiet. A keystroke
/// sends "typing" when the server was not told so, or was last told more than `TYPING_REFRESH` ago (the
/// server forgets a typing state after 5 s); a stop is sent only if the server was told "typing".
fn typing_frame(state: &mut OwnTyping, now: Instant, typing: bool) -> Option<bool> {
    state.generation += 1;
    let send = if typing {
        let due = !state.typing || state.last_sent.is_none_or(|at| now.duration_since(at) >= TYPING_REFRESH);
        if due {
            state.last_sent = Some(now);
        }
        due
    } else {
        state.typing
    };
    state.typing = typing;
    send.then_some(typing)
}

/// The idle timer of keystroke `generation` fired: if no keystroke came since and the server was told
/// "typing", it is now told "stopped".
fn idle_stop(state: &mut OwnTyping, generation: u64) -> bool {
    let idle = state.generation == generation && state.typing;
    if idle {
        state.typing = false;
    }
    idle
}

/// Sends the throttled typing frames of one conversation (see `Timeline::set_typing`).
fn typing(shared: &Arc<Shared>, conversation: Uuid, typing: bool) {
    let (frame, generation) = {
        let Ok(mut all) = shared.own_typing.lock() else { return };
        let state = all.entry(conversation).or_default();
        (typing_frame(state, Instant::now(), typing), state.generation)
    };
    if let Some(typing) = frame {
        shared.send_frame(ClientFrame::Typing { conversation_id: conversation, typing, reference: None });
    }
    if typing {
        let Ok(runtime) = runtime::handle() else { return };
        let shared = shared.clone();
        runtime.spawn(async move {
            tokio::time::sleep(TYPING_IDLE).await;
            let stop =
                shared.own_typing.lock().ok().is_some_and(|mut all| {
                    all.get_mut(&conversation).is_some_and(|state| idle_stop(state, generation))
                });
            if stop {
                shared.send_frame(ClientFrame::Typing {
                    conversation_id: conversation,
                    typing: false,
                    reference: None,
                });
            }
        });
    }
}

/// Forgets the user's typing state after a send (the server ends it by itself then).
fn typing_ended_by_send(shared: &Shared, conversation: Uuid) {
    if let Ok(mut all) = shared.own_typing.lock()
        && let Some(state) = all.get_mut(&conversation)
    {
        state.generation += 1;
        state.typing = false;
    }
}

#[uniffi::export(async_runtime = "tokio")]
impl Timeline {
    /// The conversation's id.
    pub fn conversation_id(&self) -> String {
        self.conversation_id.to_string()
    }

    /// Calls `listener` with the timeline now, then after every change, until the handle is dropped.
    pub fn subscribe(&self, listener: Arc<dyn TimelineListener>) -> Arc<TaskHandle> {
        let id = self.conversation_id;
        listeners::feed(
            self.shared.clone(),
            listeners::concerns_timeline(id),
            move |shared| snapshot(shared, id),
            move |snapshot| listener.on_update(snapshot),
        )
    }

    /// The timeline now (what `subscribe` pushes first).
    pub async fn snapshot(&self) -> Result<TimelineSnapshot, HallwayError> {
        Ok(runtime::run(snapshot(self.shared.clone(), self.conversation_id)).await?)
    }

    /// Queues a text message and returns its `client_msg_id` at once; it shows as `Sending` right away and
    /// is sent as soon as the connection allows, exactly once, after the user's earlier messages here.
    pub async fn send_text(&self, body: String) -> Result<String, HallwayError> {
        let (shared, conversation) = (self.shared.clone(), self.conversation_id);
        Ok(runtime::run(async move {
            let entry = OutboxEntry {
                client_msg_id: Uuid::now_v7().to_string(),
                conversation_id: conversation,
                body: parse_body(&body, false)?,
                created_at: OffsetDateTime::now_utc(),
                failure: None,
                file: None,
            };
            enqueue(&shared, entry).await
        })
        .await?)
    }

    /// Queues the file at `path` (a photo, a document) with an optional `caption` (empty for none), sent
    /// under `file_name` (empty: the file's own name). Returns its `client_msg_id` at once; the local echo
    /// shows the upload's progress in `TimelineItem::upload`. The SDK keeps its own copy of the file until the
    /// message is sent, so the app may delete its copy, and a restarted app still sends it, exactly once.
    /// The server checks the file's type and size: a refusal (`unsupported_media_type`, `too_large`) shows
    /// as `Failed`.
    pub async fn send_attachment(
        &self,
        path: String,
        file_name: String,
        caption: String,
    ) -> Result<String, HallwayError> {
        let (shared, conversation) = (self.shared.clone(), self.conversation_id);
        Ok(runtime::run(async move {
            let source = PathBuf::from(&path);
            let invalid_path =
                || Error::Invalid { code: ErrorCode::InvalidInput, message: "path: not a readable file".into() };
            let metadata = tokio::fs::metadata(&source).await.map_err(|_| invalid_path())?;
            if !metadata.is_file() {
                return Err(invalid_path());
            }
            let name = file_name_for(&source, &file_name)?;
            let body = parse_body(&caption, true)?;
            let client_msg_id = Uuid::now_v7().to_string();
            let copy = shared.store.outbox_file(&client_msg_id);
            let size = tokio::fs::copy(&source, &copy).await.map_err(|_| invalid_path())?;
            if size == 0 {
                let _ = tokio::fs::remove_file(&copy).await;
                return Err(Error::Invalid {
                    code: ErrorCode::InvalidInput,
                    message: "path: the file is empty".into(),
                });
            }
            let entry = OutboxEntry {
                client_msg_id,
                conversation_id: conversation,
                body,
                created_at: OffsetDateTime::now_utc(),
                failure: None,
                file: Some(OutboxFile { name, size, attachment_id: None }),
            };
            let queued = enqueue(&shared, entry).await;
            if queued.is_err() {
                let _ = tokio::fs::remove_file(&copy).await;
            }
            queued
        })
        .await?)
    }

    /// Loads up to `count` (1 to 200) older messages into the timeline; true when the start is reached.
    pub async fn paginate_backwards(&self, count: u32) -> Result<bool, HallwayError> {
        let (shared, id) = (self.shared.clone(), self.conversation_id);
        Ok(runtime::run(async move {
            let me = shared.api.user_id().ok_or(Error::NotSignedIn)?;
            let position = shared.store.run(move |conn| store::sync_position(conn, id)).await?;
            let Some(position) = position else {
                return Err(Error::api(404, ErrorCode::NotFound, "no such conversation".into()));
            };
            if position.reached_start {
                return Ok(true);
            }
            let limit = count.clamp(1, 200).to_string();
            let (query, kind) = match position.oldest_seq {
                Some(oldest) => (vec![("before_seq", oldest.to_string()), ("limit", limit)], PageKind::Before),
                None => (vec![("limit", limit)], PageKind::Latest),
            };
            let page: MessagePage =
                shared.api.call(Method::GET, &format!("conversations/{id}/messages"), &query, NO_BODY).await?;
            let reached_start = !page.has_more;
            shared
                .store
                .transaction(move |conn| store::store_page(conn, id, &page.messages, page.has_more, kind, me))
                .await?;
            shared.conversation_changed(id);
            Ok(reached_start)
        })
        .await?)
    }

    /// Marks everything loaded here as read (the server moves the marker forward only).
    pub async fn mark_read(&self) -> Result<(), HallwayError> {
        let (shared, id) = (self.shared.clone(), self.conversation_id);
        Ok(runtime::run(async move {
            let me = shared.api.user_id().ok_or(Error::NotSignedIn)?;
            let conversation = shared.store.run(move |conn| store::conversation(conn, id)).await?;
            let Some(conversation) = conversation else {
                return Err(Error::api(404, ErrorCode::NotFound, "no such conversation".into()));
            };
            let Some(seq) = conversation.last_message.map(|m| m.seq) else { return Ok(()) };
            shared
                .api
                .call_empty(Method::POST, &format!("conversations/{id}/read"), Some(&ReadRequest { seq }))
                .await?;
            shared.store.transaction(move |conn| store::apply_read(conn, id, me, seq, me)).await?;
            shared.conversation_changed(id);
            Ok(())
        })
        .await?)
    }

    /// Call on every keystroke (`true`) and when the field is cleared or left (`false`). The SDK sends at most
    /// one frame per 3 s and says "stopped" after 5 s without a keystroke. Not sent while offline.
    pub fn set_typing(&self, typing: bool) {
        self::typing(&self.shared, self.conversation_id, typing);
    }

    /// Adds (`on`) or takes back one emoji reaction on a message.
    pub async fn react(&self, message_id: String, emoji: String, on: bool) -> Result<(), HallwayError> {
        let shared = self.shared.clone();
        Ok(runtime::run(async move {
            let message_id = parse_id(&message_id, "message_id")?;
            let request = ReactRequest { emoji, on };
            let message: Message =
                shared.api.call(Method::POST, &format!("messages/{message_id}/reactions"), &[], Some(&request)).await?;
            store_message(&shared, message).await
        })
        .await?)
    }

    /// Replaces the text of one of the user's sent messages.
    pub async fn edit(&self, message_id: String, body: String) -> Result<(), HallwayError> {
        let shared = self.shared.clone();
        Ok(runtime::run(async move {
            let message_id = parse_id(&message_id, "message_id")?;
            let request = EditMessageRequest { body };
            let message: Message =
                shared.api.call(Method::PATCH, &format!("messages/{message_id}"), &[], Some(&request)).await?;
            store_message(&shared, message).await
        })
        .await?)
    }

    /// Deletes a sent message (the user's own, or any in a group the user administers); it keeps its place.
    pub async fn delete(&self, message_id: String) -> Result<(), HallwayError> {
        let shared = self.shared.clone();
        Ok(runtime::run(async move {
            let message_id = parse_id(&message_id, "message_id")?;
            let message: Message =
                shared.api.call(Method::DELETE, &format!("messages/{message_id}"), &[], NO_BODY).await?;
            store_message(&shared, message).await
        })
        .await?)
    }

    /// Reports a message of this conversation to the school's admins, with a reason and an optional note
    /// (at most 1,000 characters). The reporter later learns that it was handled (`Client::my_reports`), never how.
    pub async fn report(
        &self,
        message_id: String,
        reason: ReportReason,
        note: Option<String>,
    ) -> Result<ReportInfo, HallwayError> {
        let shared = self.shared.clone();
        Ok(runtime::run(async move {
            let message_id = parse_id(&message_id, "message_id")?;
            let request = ReportRequest { reason: reason.into(), note };
            let report: MyReport =
                shared.api.call(Method::POST, &format!("messages/{message_id}/report"), &[], Some(&request)).await?;
            Ok(ReportInfo::from(&report))
        })
        .await?)
    }

    /// Puts a failed message back in the outbox, in its original place.
    pub async fn retry_send(&self, client_msg_id: String) -> Result<(), HallwayError> {
        let (shared, id) = (self.shared.clone(), self.conversation_id);
        Ok(runtime::run(async move {
            shared
                .store
                .transaction(move |conn| match store::outbox_entry_by_id(conn, &client_msg_id)? {
                    Some(entry) if entry.conversation_id == id => store::retry(conn, &client_msg_id).map(drop),
                    _ => Err(Error::api(404, ErrorCode::NotFound, "no such unsent message".into())),
                })
                .await?;
            shared.conversation_changed(id);
            shared.outbox_wake.notify_one();
            Ok(())
        })
        .await?)
    }

    /// Drops a failed message from the outbox. A message still being sent cannot be discarded: it may
    /// already be on the server.
    pub async fn discard_send(&self, client_msg_id: String) -> Result<(), HallwayError> {
        let (shared, id) = (self.shared.clone(), self.conversation_id);
        Ok(runtime::run(async move {
            let discarded = client_msg_id.clone();
            shared
                .store
                .transaction(move |conn| match store::outbox_entry_by_id(conn, &discarded)? {
                    Some(entry) if entry.conversation_id != id => {
                        Err(Error::api(404, ErrorCode::NotFound, "no such unsent message".into()))
                    }
                    None => Err(Error::api(404, ErrorCode::NotFound, "no such unsent message".into())),
                    Some(entry) if entry.failure.is_none() => Err(Error::Invalid {
                        code: ErrorCode::Conflict,
                        message: "client_msg_id: only a failed message can be discarded".into(),
                    }),
                    Some(_) => store::discard(conn, &discarded).map(drop),
                })
                .await?;
            shared.store.remove_outbox_file(&client_msg_id).await;
            shared.conversation_changed(id);
            Ok(())
        })
        .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typing_sends_at_most_one_frame_per_refresh_interval_and_one_stop() {
        let mut state = OwnTyping::default();
        let start = Instant::now();
        let at = |ms: u64| start + Duration::from_millis(ms);
        assert_eq!(typing_frame(&mut state, at(0), true), Some(true));
        for ms in (250..3000).step_by(250) {
            assert_eq!(typing_frame(&mut state, at(ms), true), None, "keystroke at {ms} ms");
        }
        assert_eq!(typing_frame(&mut state, at(3000), true), Some(true), "refreshed before the server forgets");
        assert_eq!(typing_frame(&mut state, at(3100), false), Some(false));
        assert_eq!(typing_frame(&mut state, at(3200), false), None, "one stop is enough");
        assert_eq!(typing_frame(&mut state, at(3300), true), Some(true), "typing again is said at once");
    }

    #[test]
    fn typing_stops_after_the_idle_time_of_the_last_keystroke_only() {
        let mut state = OwnTyping::default();
        let now = Instant::now();
        typing_frame(&mut state, now, true);
        let first = state.generation;
        typing_frame(&mut state, now, true);
        assert!(!idle_stop(&mut state, first), "a later keystroke keeps the user typing");
        let last = state.generation;
        assert!(idle_stop(&mut state, last));
        assert!(!state.typing);
        assert!(!idle_stop(&mut state, last), "stopped once");
    }
}

//! [`Timeline`]: one conversation's messages, from the store, with the outbox's local echoes after them.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
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
use crate::diff::{self, Diff, TimelineDiff};
use crate::error::{Error, HallwayError, Result};
use crate::listeners::{self, Interest, TimelineListener, Wake};
use crate::models::{
    ReadMarker, ReportInfo, ReportReason, SendState, TimelineDetails, TimelineItem, TimelineSnapshot, UploadProgress,
};
use crate::runtime;
use crate::shared::{Change, OwnTyping, Shared};
use crate::store::{self, OutboxEntry, OutboxFile, PageKind};
use crate::task::TaskHandle;

/// At most one `typing: true` frame this often while the user keeps typing.
const TYPING_REFRESH: Duration = Duration::from_secs(3);
/// After this long without a keystroke, the SDK tells the server the user stopped.
const TYPING_IDLE: Duration = Duration::from_secs(5);
/// The longest file name a message may carry (the server shortens longer ones anyway).
const MAX_FILE_NAME_CHARS: usize = 255;
/// How many of the newest messages a timeline shows when opened (a screenful or a few, not the whole history).
pub(crate) const WINDOW: usize = 50;

/// One conversation: its history, the user's unsent messages, and what can be done in it.
#[derive(uniffi::Object)]
pub struct Timeline {
    shared: Arc<Shared>,
    conversation_id: Uuid,
    /// What this timeline shows of the stored history; its listeners and `snapshot` share it.
    window: Arc<Mutex<Window>>,
}

impl Timeline {
    pub(crate) fn new(shared: Arc<Shared>, conversation_id: Uuid) -> Timeline {
        Timeline { shared, conversation_id, window: Arc::new(Mutex::new(Window::default())) }
    }
}

/// Which stored messages a timeline shows: the newest `limit` (grown by `paginate_backwards`), and never fewer
/// than those from `keep_from` on, so that new messages add to a screen rather than push what someone is
/// reading out of it (see `store::timeline`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Window {
    limit: usize,
    /// The oldest seq shown last time (`None` while none was).
    keep_from: Option<i64>,
    /// How many local echoes were shown last time. While no stored message was, the window has room for at
    /// least as many: echoes acknowledged in a burst become messages, and must not drop out of sight.
    echoes: usize,
}

impl Default for Window {
    fn default() -> Window {
        Window { limit: WINDOW, keep_from: None, echoes: 0 }
    }
}

/// Parses an id the app passes in; `field` names it in the error.
pub(crate) fn parse_id(raw: &str, field: &str) -> Result<Uuid> {
    Uuid::parse_str(raw.trim())
        .map_err(|_| Error::Invalid { code: ErrorCode::InvalidId, message: format!("{field}: not an id") })
}

/// The window of a timeline as the app shows it, from the store (empty for a conversation not known here),
/// moving the window along (see [`Window`]).
async fn read(shared: &Shared, id: Uuid, window: &Mutex<Window>) -> Result<(Vec<TimelineItem>, TimelineDetails)> {
    let me = shared.api.user_id();
    let Window { limit, keep_from, echoes } =
        *window.lock().map_err(|_| Error::Internal("a poisoned window".into()))?;
    let limit = if keep_from.is_none() { limit.max(echoes) } else { limit };
    let data = shared.store.run(move |conn| store::timeline(conn, id, limit, keep_from)).await?;
    // A conversation not known here (yet): no one, nothing read.
    let mut details = TimelineDetails { conversation_id: id.to_string(), ..TimelineDetails::default() };
    let Some(data) = data else {
        // Not known here (or no longer: signed out): start over when it comes (back).
        if let Ok(mut window) = window.lock() {
            *window = Window { limit: window.limit, ..Window::default() };
        }
        return Ok((Vec::new(), details));
    };
    if let Ok(mut window) = window.lock() {
        // A pagination may have grown the limit while this read was under way: the larger one holds.
        window.limit = window.limit.max(data.limit);
        window.keep_from = data.messages.first().map(|m| m.seq);
        window.echoes = data.outbox.len();
    }
    let mut items: Vec<TimelineItem> = data.messages.iter().map(|m| TimelineItem::from_message(m, me)).collect();
    items.extend(data.outbox.iter().map(|entry| local_echo(shared, entry, me)));
    details.describe(&data.conversation, me);
    details.read_markers =
        data.read_markers.iter().map(|(user, seq)| ReadMarker { user_id: user.to_string(), seq: *seq }).collect();
    details.reached_start = data.reached_start;
    details.online_member_ids = shared.online_among(data.conversation.members.iter().map(|m| m.id), me);
    Ok((items, details))
}

/// Which changes concern a conversation's timeline.
fn interest(id: Uuid) -> impl Fn(Change) -> Interest + Send + 'static {
    move |change| match change {
        Change::Everything => Interest::Store,
        Change::Timeline(changed) if changed == id => Interest::Store,
        Change::Typing(changed) if changed == id => Interest::Typing,
        Change::Timeline(_) | Change::Typing(_) | Change::List => Interest::None,
    }
}

/// Feeds a timeline listener: the details, a `Reset` of the items and who is typing now, then each part when it
/// changes, the items as diffs. A typing change reads who is typing from memory and nothing from the store.
fn feed(
    shared: Arc<Shared>,
    id: Uuid,
    window: Arc<Mutex<Window>>,
    listener: Arc<dyn TimelineListener>,
) -> Arc<TaskHandle> {
    let Ok(runtime) = runtime::handle() else { return Arc::new(TaskHandle::finished()) };
    // Subscribed before the first read, so no change between the two is missed.
    let mut changes = shared.changes.subscribe();
    let interest = interest(id);
    let task = runtime.spawn(async move {
        let mut items: Option<Vec<TimelineItem>> = None;
        let mut details: Option<TimelineDetails> = None;
        let mut typing: Option<Vec<String>> = None;
        let mut wake = Wake::ALL;
        loop {
            if wake.store {
                match read(&shared, id, &window).await {
                    Ok((new_items, new_details)) => {
                        if details.as_ref() != Some(&new_details) {
                            listener.on_details(new_details.clone());
                            details = Some(new_details);
                        }
                        let diffs = match &items {
                            None => vec![Diff::Reset { values: new_items.clone() }],
                            Some(items) => diff::diff(items, &new_items, |item| item.unique_id.clone()),
                        };
                        if !diffs.is_empty() {
                            listener.on_items(diffs.into_iter().map(TimelineDiff::from).collect());
                        }
                        items = Some(new_items);
                    }
                    Err(error) => tracing::warn!(%error, "reading a timeline failed"),
                }
            }
            if wake.typing || wake.store {
                let now = shared.typing_in(id);
                if typing.as_ref() != Some(&now) {
                    listener.on_typing(now.clone());
                    typing = Some(now);
                }
            }
            let Some(next) = listeners::next_wake(&mut changes, &interest).await else { return };
            wake = next;
        }
    });
    Arc::new(TaskHandle::new(task))
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
pub(crate) fn parse_body(body: &str, has_file: bool) -> Result<String> {
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

    /// Calls `listener` with the timeline now (its details, a `Reset` of its items, who is typing), then
    /// with each part that changes, until the handle is dropped. The items are a window of the history: the
    /// newest messages, growing as new ones come and by `paginate_backwards`.
    pub fn subscribe(&self, listener: Arc<dyn TimelineListener>) -> Arc<TaskHandle> {
        feed(self.shared.clone(), self.conversation_id, self.window.clone(), listener)
    }

    /// The timeline now: what the updates of `subscribe` add up to.
    pub async fn snapshot(&self) -> Result<TimelineSnapshot, HallwayError> {
        let (shared, id, window) = (self.shared.clone(), self.conversation_id, self.window.clone());
        Ok(runtime::run(async move {
            let (items, details) = read(&shared, id, &window).await?;
            Ok(TimelineSnapshot { items, details, typing_user_ids: shared.typing_in(id) })
        })
        .await?)
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

    /// Shows up to `count` (1 to 200) older messages in this timeline, from the store when it has them, else
    /// from the server; its listeners get them as `Insert`s at the top. True when the start is reached.
    pub async fn paginate_backwards(&self, count: u32) -> Result<bool, HallwayError> {
        let (shared, id, window) = (self.shared.clone(), self.conversation_id, self.window.clone());
        Ok(runtime::run(async move {
            let me = shared.api.user_id().ok_or(Error::NotSignedIn)?;
            let count = usize::try_from(count.clamp(1, 200)).unwrap_or(200);
            let limit = window.lock().map_err(|_| Error::Internal("a poisoned window".into()))?.limit + count;
            let (position, stored) = shared
                .store
                .run(move |conn| Ok((store::sync_position(conn, id)?, store::stored_messages(conn, id)?)))
                .await?;
            let Some(position) = position else {
                return Err(Error::api(404, ErrorCode::NotFound, "no such conversation".into()));
            };
            let mut reached_start = position.reached_start && stored <= limit;
            if stored < limit && !position.reached_start {
                let missing = (limit - stored).clamp(1, 200).to_string();
                let (query, kind) = match position.oldest_seq {
                    Some(oldest) => (vec![("before_seq", oldest.to_string()), ("limit", missing)], PageKind::Before),
                    None => (vec![("limit", missing)], PageKind::Latest),
                };
                let page: MessagePage =
                    shared.api.call(Method::GET, &format!("conversations/{id}/messages"), &query, NO_BODY).await?;
                reached_start = !page.has_more
                    && shared
                        .store
                        .transaction(move |conn| {
                            store::store_page(conn, id, &page.messages, page.has_more, kind, me)?;
                            store::stored_messages(conn, id)
                        })
                        .await?
                        <= limit;
            }
            if let Ok(mut window) = window.lock() {
                window.limit = window.limit.max(limit);
            }
            shared.changed(Change::Timeline(id));
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
    use std::sync::atomic::Ordering;

    use super::*;
    use crate::api::Api;
    use crate::store::Store;
    use crate::store::tests::{direct_chat, message};

    /// Counts what a timeline listener is told, keeping the items it builds from the diffs.
    #[derive(Default)]
    struct Mirror {
        items: Mutex<Vec<TimelineItem>>,
        item_calls: Mutex<usize>,
        detail_calls: Mutex<usize>,
        typing: Mutex<Vec<Vec<String>>>,
    }

    impl TimelineListener for Mirror {
        fn on_items(&self, diffs: Vec<TimelineDiff>) {
            let mut items = self.items.lock().unwrap();
            for diff in diffs {
                diff.apply(&mut items);
            }
            *self.item_calls.lock().unwrap() += 1;
        }

        fn on_details(&self, _details: TimelineDetails) {
            *self.detail_calls.lock().unwrap() += 1;
        }

        fn on_typing(&self, user_ids: Vec<String>) {
            self.typing.lock().unwrap().push(user_ids);
        }
    }

    /// Keeps the list a list listener builds from the diffs.
    #[derive(Default)]
    struct ListMirror(Mutex<Vec<crate::models::ConversationSummary>>);

    impl crate::listeners::ConversationListListener for ListMirror {
        fn on_update(&self, diffs: Vec<crate::diff::ConversationListDiff>) {
            let mut list = self.0.lock().unwrap();
            for diff in diffs {
                diff.apply(&mut list);
            }
        }
    }

    fn wait_until(what: &str, check: impl Fn() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !check() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    #[test]
    fn a_typing_frame_tells_only_who_types_and_reads_nothing_from_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), crate::secrets::MemorySecrets::new()).unwrap();
        let base = crate::api::base_url("http://127.0.0.1:9").unwrap();
        let shared = Arc::new(Shared::new(Api::new(base, store.clone()).unwrap(), store));
        let (me, other, id) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let history: Vec<Message> = (1..=80).map(|seq| message(id, seq, other)).collect();
        let page = history.clone();
        let runtime = runtime::handle().unwrap();
        runtime
            .block_on(shared.store.transaction(move |conn| {
                store::upsert_conversation(conn, &direct_chat(id, me, other))?;
                store::store_page(conn, id, &page, false, PageKind::Latest, me)
            }))
            .unwrap();
        let timeline = Timeline::new(shared.clone(), id);
        let mirror = Arc::new(Mirror::default());
        let _handle = timeline.subscribe(mirror.clone());
        let list = Arc::new(ListMirror::default());
        let _list_handle = crate::list::ConversationList::new(shared.clone()).subscribe(list.clone());
        wait_until("the first update", || mirror.typing.lock().unwrap().len() == 1);
        wait_until("the list", || list.0.lock().unwrap().len() == 1);
        let shown: Vec<i64> = mirror.items.lock().unwrap().iter().filter_map(|item| item.seq).collect();
        assert_eq!(shown, (31..=80).collect::<Vec<i64>>(), "a window of the newest messages");

        let uses = shared.store.uses.load(Ordering::SeqCst);
        assert!(shared.set_other_typing(id, other, true));
        shared.typing_changed(id);
        wait_until("the typist", || mirror.typing.lock().unwrap().len() == 2);
        assert_eq!(mirror.typing.lock().unwrap()[1], vec![other.to_string()]);
        wait_until("the typist in the list", || list.0.lock().unwrap()[0].typing_user_names == ["U"]);
        assert_eq!(shared.store.uses.load(Ordering::SeqCst), uses, "typing read nothing from the store");
        assert_eq!((*mirror.item_calls.lock().unwrap(), *mirror.detail_calls.lock().unwrap()), (1, 1));

        // A new message is one more item: the window keeps what it showed and grows.
        let newer = message(id, 81, other);
        runtime.block_on(shared.store.transaction(move |conn| store::apply_message(conn, &newer, me))).unwrap();
        shared.conversation_changed(id);
        wait_until("the new message", || mirror.items.lock().unwrap().len() == 51);
        let snapshot = runtime.block_on(timeline.snapshot()).unwrap();
        assert_eq!(*mirror.items.lock().unwrap(), snapshot.items, "the diffs add up to the snapshot");
        assert_eq!(snapshot.items.first().and_then(|item| item.seq), Some(31));
    }

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

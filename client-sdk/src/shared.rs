//! What a client's objects and tasks share: the API, the store, the change feed that wakes listeners, the
//! connection state, and the little that lives only in memory (who is typing).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hallway_protocol::ws::ClientFrame;
use tokio::sync::{Notify, broadcast, mpsc, watch};
use uuid::Uuid;

use crate::api::Api;
use crate::models::ConnectionState;
use crate::store::Store;

/// How many changes a slow listener may fall behind before it just takes a fresh snapshot.
const CHANGE_FEED_CAPACITY: usize = 256;
/// The server ends a typing state not refreshed within 5 s; this side forgets it a little later, in case the
/// `typing: false` frame was lost with the connection.
pub(crate) const OTHERS_TYPING_EXPIRY: Duration = Duration::from_secs(6);

/// Something changed; listeners of that thing re-read it (or, for typing, only what lives in memory).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Change {
    /// The conversation list (any conversation's summary).
    List,
    /// One conversation's timeline.
    Timeline(Uuid),
    /// Who is typing in one conversation: held in memory (`Shared::typing`), so listeners take it from there
    /// and read nothing from the store.
    Typing(Uuid),
    /// Everything (sign-out wiped the store).
    Everything,
}

/// Shared by the `Client`, its `ConversationList` and `Timeline` objects and its background tasks.
pub(crate) struct Shared {
    pub api: Api,
    pub store: Store,
    /// Every change to the store is announced here, after it is committed.
    pub changes: broadcast::Sender<Change>,
    /// Where the connection stands; listeners follow it.
    pub connection: watch::Sender<ConnectionState>,
    /// Frames to send on the open socket; `None` while there is none (typing is then simply not sent).
    pub outgoing: Mutex<Option<mpsc::UnboundedSender<ClientFrame>>>,
    /// Wakes the connection's outbox sender (a new message, a retry).
    pub outbox_wake: Notify,
    /// Cuts a reconnect delay short (the app saw the network come back).
    pub reconnect_wake: Notify,
    /// True from `Client::pause` until `Client::resume`: the connection task holds no socket and does not try
    /// to open one. Kept across sign-out and sign-in: it says where the app is, not who is signed in.
    pub paused: watch::Sender<bool>,
    /// Other members typing now: conversation, then user, then when to forget it.
    pub typing: Mutex<HashMap<Uuid, HashMap<Uuid, Instant>>>,
    /// The user's own typing, throttled per conversation.
    pub own_typing: Mutex<HashMap<Uuid, OwnTyping>>,
    /// Bytes sent so far of each upload in progress, by the outbox message's `client_msg_id`.
    pub uploads: Mutex<HashMap<String, u64>>,
    /// People the user shares a conversation with who are online, as the open socket last said; empty
    /// while there is no socket (this device does not know then).
    pub online: Mutex<HashSet<Uuid>>,
    /// While a `GET /sync` catch-up runs: the conversations changed meanwhile by live frames or the user's own
    /// requests, marked before their write. Their stored state is newer than the page's snapshot, so the page
    /// does not overwrite it. `None` when no catch-up runs.
    pub overtaken: Arc<Mutex<Option<HashSet<Uuid>>>>,
}

/// The user's own typing state in one conversation, as last told to the server.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct OwnTyping {
    /// The server was last told "typing".
    pub typing: bool,
    /// When a `typing: true` frame was last sent.
    pub last_sent: Option<Instant>,
    /// Bumped on every keystroke: the idle timer of an older keystroke does nothing.
    pub generation: u64,
}

impl Shared {
    pub(crate) fn new(api: Api, store: Store) -> Shared {
        Shared {
            api,
            store,
            changes: broadcast::channel(CHANGE_FEED_CAPACITY).0,
            connection: watch::channel(ConnectionState::Offline).0,
            outgoing: Mutex::new(None),
            outbox_wake: Notify::new(),
            reconnect_wake: Notify::new(),
            paused: watch::channel(false).0,
            typing: Mutex::new(HashMap::new()),
            own_typing: Mutex::new(HashMap::new()),
            uploads: Mutex::new(HashMap::new()),
            online: Mutex::new(HashSet::new()),
            overtaken: Arc::new(Mutex::new(None)),
        }
    }

    /// Bytes sent so far of the upload of outbox message `client_msg_id` (0 before it starts).
    pub(crate) fn upload_progress(&self, client_msg_id: &str) -> u64 {
        self.uploads.lock().ok().and_then(|uploads| uploads.get(client_msg_id).copied()).unwrap_or(0)
    }

    /// Which of `members` are online now, other than the user (ids as strings, sorted for stable snapshots).
    pub(crate) fn online_among(&self, members: impl IntoIterator<Item = Uuid>, me: Option<Uuid>) -> Vec<String> {
        let Ok(online) = self.online.lock() else { return Vec::new() };
        let mut ids: Vec<String> =
            members.into_iter().filter(|m| Some(*m) != me && online.contains(m)).map(|m| m.to_string()).collect();
        ids.sort();
        ids
    }

    /// Records a `presence` frame; true when it changed what the app shows.
    pub(crate) fn set_online(&self, user: Uuid, online: bool) -> bool {
        let Ok(mut all) = self.online.lock() else { return false };
        if online { all.insert(user) } else { all.remove(&user) }
    }

    /// Forgets who is online (the socket closed); true when anyone was.
    pub(crate) fn forget_presence(&self) -> bool {
        self.online.lock().map(|mut all| std::mem::take(&mut *all)).is_ok_and(|was| !was.is_empty())
    }

    /// Marks a conversation about to be changed by something newer than a catch-up in progress (see
    /// `overtaken`); nothing when none runs.
    pub(crate) fn overtake(&self, id: Uuid) {
        if let Ok(mut overtaken) = self.overtaken.lock()
            && let Some(ids) = overtaken.as_mut()
        {
            ids.insert(id);
        }
    }

    /// Announces a change (no one listening is fine).
    pub(crate) fn changed(&self, change: Change) {
        let _ = self.changes.send(change);
    }

    /// A conversation changed in a way both its timeline and the list show.
    pub(crate) fn conversation_changed(&self, id: Uuid) {
        self.changed(Change::Timeline(id));
        self.changed(Change::List);
    }

    /// Who is typing in a conversation changed (its timeline and its row in the list show it).
    pub(crate) fn typing_changed(&self, id: Uuid) {
        self.changed(Change::Typing(id));
    }

    pub(crate) fn set_connection(&self, state: ConnectionState) {
        self.connection.send_if_modified(|current| {
            let changed = *current != state;
            *current = state;
            changed
        });
    }

    /// Sends a frame if a socket is open; false when offline.
    pub(crate) fn send_frame(&self, frame: ClientFrame) -> bool {
        self.outgoing.lock().ok().and_then(|slot| slot.as_ref().map(|tx| tx.send(frame).is_ok())).unwrap_or(false)
    }

    /// Who is typing in a conversation now (ids as strings, sorted for stable snapshots).
    pub(crate) fn typing_in(&self, conversation: Uuid) -> Vec<String> {
        let now = Instant::now();
        let mut users: Vec<String> = self
            .typing
            .lock()
            .ok()
            .and_then(|typing| {
                typing.get(&conversation).map(|users| {
                    users.iter().filter(|(_, until)| **until > now).map(|(user, _)| user.to_string()).collect()
                })
            })
            .unwrap_or_default();
        users.sort();
        users
    }

    /// Records a `typing` frame; true when it changed what the app shows.
    pub(crate) fn set_other_typing(&self, conversation: Uuid, user: Uuid, typing: bool) -> bool {
        let Ok(mut all) = self.typing.lock() else { return false };
        let users = all.entry(conversation).or_default();
        if typing {
            users.insert(user, Instant::now() + OTHERS_TYPING_EXPIRY).is_none()
        } else {
            users.remove(&user).is_some()
        }
    }

    /// Forgets typing states past their expiry and forgets everyone's on a lost connection (`all`);
    /// returns the conversations whose typing changed.
    pub(crate) fn expire_typing(&self, all: bool) -> Vec<Uuid> {
        let now = Instant::now();
        let Ok(mut typing) = self.typing.lock() else { return Vec::new() };
        let mut changed = Vec::new();
        for (conversation, users) in typing.iter_mut() {
            let before = users.len();
            users.retain(|_, until| !all && *until > now);
            if users.len() != before {
                changed.push(*conversation);
            }
        }
        typing.retain(|_, users| !users.is_empty());
        changed
    }
}

//! The observers an app implements (in Kotlin, Swift or Rust), and what wakes the tasks that feed them: each
//! subscription first pushes the current state, then a task forwards every change until its [`TaskHandle`]
//! is dropped or cancelled. Callbacks run on the SDK's threads, never the caller's, one at a time per
//! subscription and in order.
//!
//! Lists travel as changes, not copies (see `diff`): a new message is one `Append`, a read receipt one
//! `Set`, and a typing frame touches no list at all, so a long timeline is not re-sent on every keystroke
//! of the other person.

use std::sync::Arc;

use tokio::sync::broadcast::{self, error::RecvError, error::TryRecvError};

use crate::diff::{ConversationListDiff, TimelineDiff};
use crate::models::{ConnectionState, TimelineDetails};
use crate::runtime;
use crate::shared::{Change, Shared};
use crate::task::TaskHandle;

/// Told the changes to the conversation list: first one `Reset` with the whole list, then what changed.
#[uniffi::export(with_foreign)]
pub trait ConversationListListener: Send + Sync {
    /// Apply `diffs` in order to the list built from the earlier calls.
    fn on_update(&self, diffs: Vec<ConversationListDiff>);
}

/// Told what changes on one conversation's screen, each part on its own: the items as diffs, the details
/// (members, read markers, `reached_start`) whole when they change, and who is typing. On subscription:
/// `on_details`, then `on_items` with one `Reset`, then `on_typing`.
#[uniffi::export(with_foreign)]
pub trait TimelineListener: Send + Sync {
    /// Apply `diffs` in order to the items built from the earlier calls.
    fn on_items(&self, diffs: Vec<TimelineDiff>);
    /// The conversation's details changed (or this is the first call).
    fn on_details(&self, details: TimelineDetails);
    /// Who is typing changed (or this is the first call): other members' ids.
    fn on_typing(&self, user_ids: Vec<String>);
}

/// Told the connection state on subscription and at every change.
#[uniffi::export(with_foreign)]
pub trait ConnectionStateListener: Send + Sync {
    fn on_state(&self, state: ConnectionState);
}

/// How a change concerns one feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Interest {
    /// Not at all.
    None,
    /// Only who is typing, which lives in memory: nothing is read from the store.
    Typing,
    /// What the feed shows from the store: read it again.
    Store,
}

/// What a feed refreshes after the changes that woke it (a burst of changes is coalesced into one wake).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Wake {
    pub store: bool,
    pub typing: bool,
}

impl Wake {
    /// The first refresh of a subscription: everything.
    pub(crate) const ALL: Wake = Wake { store: true, typing: true };

    fn add(&mut self, interest: Interest) {
        match interest {
            Interest::None => {}
            Interest::Typing => self.typing = true,
            Interest::Store => self.store = true,
        }
    }
}

/// Waits for the next changes that concern a feed, and takes whatever else piled up meanwhile; `None` once the
/// feed closed. A feed that fell behind (the change feed overflowed) reads everything again.
pub(crate) async fn next_wake(
    changes: &mut broadcast::Receiver<Change>,
    interest: &(impl Fn(Change) -> Interest + Send),
) -> Option<Wake> {
    let mut wake = Wake::default();
    while wake == Wake::default() {
        match changes.recv().await {
            Ok(change) => wake.add(interest(change)),
            Err(RecvError::Lagged(_)) => wake = Wake::ALL,
            Err(RecvError::Closed) => return None,
        }
    }
    loop {
        match changes.try_recv() {
            Ok(change) => wake.add(interest(change)),
            Err(TryRecvError::Lagged(_)) => wake = Wake::ALL,
            Err(TryRecvError::Empty | TryRecvError::Closed) => return Some(wake),
        }
    }
}

/// Feeds a connection-state listener.
pub(crate) fn feed_connection(shared: &Shared, listener: Arc<dyn ConnectionStateListener>) -> Arc<TaskHandle> {
    let Ok(runtime) = runtime::handle() else { return Arc::new(TaskHandle::finished()) };
    let mut states = shared.connection.subscribe();
    let task = runtime.spawn(async move {
        let current = *states.borrow_and_update();
        listener.on_state(current);
        while states.changed().await.is_ok() {
            let state = *states.borrow_and_update();
            listener.on_state(state);
        }
    });
    Arc::new(TaskHandle::new(task))
}

//! The observers an app implements (in Kotlin, Swift or Rust), and the tasks that feed them: each
//! subscription first pushes the current state, then a task forwards every change until its [`TaskHandle`]
//! is dropped or cancelled. Callbacks run on the SDK's threads, never the caller's.

use std::sync::Arc;

use tokio::sync::broadcast::error::RecvError;
use uuid::Uuid;

use crate::error::Result;
use crate::models::{ConnectionState, ConversationSummary, TimelineSnapshot};
use crate::runtime;
use crate::shared::{Change, Shared};
use crate::task::TaskHandle;

/// Told the whole conversation list on subscription and after every change.
#[uniffi::export(with_foreign)]
pub trait ConversationListListener: Send + Sync {
    fn on_update(&self, conversations: Vec<ConversationSummary>);
}

/// Told the whole timeline of one conversation on subscription and after every change.
#[uniffi::export(with_foreign)]
pub trait TimelineListener: Send + Sync {
    fn on_update(&self, snapshot: TimelineSnapshot);
}

/// Told the connection state on subscription and at every change.
#[uniffi::export(with_foreign)]
pub trait ConnectionStateListener: Send + Sync {
    fn on_state(&self, state: ConnectionState);
}

/// Feeds a listener snapshots: one now, then one after each relevant change (equal snapshots are skipped,
/// and a burst of changes is coalesced into one snapshot).
pub(crate) fn feed<S, F, Fut>(
    shared: Arc<Shared>,
    relevant: impl Fn(Change) -> bool + Send + 'static,
    snapshot: F,
    deliver: impl Fn(S) + Send + 'static,
) -> Arc<TaskHandle>
where
    S: Clone + PartialEq + Send + 'static,
    F: Fn(Arc<Shared>) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<S>> + Send,
{
    let Ok(runtime) = runtime::handle() else { return Arc::new(TaskHandle::finished()) };
    // Subscribed before the first snapshot, so no change between the two is missed.
    let mut changes = shared.changes.subscribe();
    let task = runtime.spawn(async move {
        let mut last: Option<S> = None;
        loop {
            match snapshot(shared.clone()).await {
                Ok(current) if last.as_ref() != Some(&current) => {
                    deliver(current.clone());
                    last = Some(current);
                }
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "taking a snapshot failed"),
            }
            loop {
                match changes.recv().await {
                    Ok(change) if relevant(change) => break,
                    Ok(_) => {}
                    Err(RecvError::Lagged(_)) => break,
                    Err(RecvError::Closed) => return,
                }
            }
            // Coalesce what piled up meanwhile: one snapshot covers it all.
            while changes.try_recv().is_ok() {}
        }
    });
    Arc::new(TaskHandle::new(task))
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

/// Whether a change concerns a conversation's timeline.
pub(crate) fn concerns_timeline(id: Uuid) -> impl Fn(Change) -> bool + Send + 'static {
    move |change| matches!(change, Change::Everything) || change == Change::Timeline(id)
}

/// Whether a change concerns the conversation list.
pub(crate) fn concerns_list(change: Change) -> bool {
    matches!(change, Change::Everything | Change::List)
}

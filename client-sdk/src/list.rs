//! [`ConversationList`]: the user's conversations, from the store, kept current by the connection.

use std::sync::Arc;

use hallway_protocol::Conversation;

use crate::diff::{self, ConversationListDiff, Diff};
use crate::error::{HallwayError, Result};
use crate::listeners::{self, ConversationListListener, Interest, Wake};
use crate::models::ConversationSummary;
use crate::runtime;
use crate::shared::{Change, Shared};
use crate::store::{self, Unsent};
use crate::task::TaskHandle;

/// The conversation list: pinned first, then the newest activity first; archived ones included (flagged).
#[derive(uniffi::Object)]
pub struct ConversationList {
    shared: Arc<Shared>,
}

impl ConversationList {
    pub(crate) fn new(shared: Arc<Shared>) -> ConversationList {
        ConversationList { shared }
    }
}

/// The stored conversations, in the list's order, with their unsent messages.
async fn read(shared: &Shared) -> Result<Vec<(Conversation, Unsent)>> {
    shared.store.run(|conn| store::conversations(conn)).await
}

/// The rows the app shows for `conversations`, with who is typing and who is online now (from memory).
fn summaries(shared: &Shared, conversations: &[(Conversation, Unsent)]) -> Vec<ConversationSummary> {
    let me = shared.api.user_id();
    conversations
        .iter()
        .map(|(conversation, unsent)| {
            let online = shared.online_among(conversation.members.iter().map(|m| m.id), me);
            ConversationSummary::new(conversation, me, shared.typing_in(conversation.id), online, *unsent)
        })
        .collect()
}

/// The list as the app shows it, from the store.
pub(crate) async fn snapshot(shared: Arc<Shared>) -> Result<Vec<ConversationSummary>> {
    Ok(summaries(&shared, &read(&shared).await?))
}

/// Which changes concern the list: any conversation's summary, and typing (a row shows it).
fn interest(change: Change) -> Interest {
    match change {
        Change::List | Change::Everything => Interest::Store,
        Change::Typing(_) => Interest::Typing,
        Change::Timeline(_) => Interest::None,
    }
}

/// Feeds a list listener: a `Reset` now, then the diffs after each change. The conversations last read stay in
/// memory, so a typing change rebuilds the rows from them without reading the store.
fn feed(shared: Arc<Shared>, listener: Arc<dyn ConversationListListener>) -> Arc<TaskHandle> {
    let Ok(runtime) = runtime::handle() else { return Arc::new(TaskHandle::finished()) };
    // Subscribed before the first read, so no change between the two is missed.
    let mut changes = shared.changes.subscribe();
    let task = runtime.spawn(async move {
        let mut conversations: Vec<(Conversation, Unsent)> = Vec::new();
        let mut shown: Option<Vec<ConversationSummary>> = None;
        let mut wake = Wake::ALL;
        loop {
            if wake.store {
                match read(&shared).await {
                    Ok(read) => conversations = read,
                    Err(error) => tracing::warn!(%error, "reading the conversation list failed"),
                }
            }
            let rows = summaries(&shared, &conversations);
            let diffs = match &shown {
                None => vec![Diff::Reset { values: rows.clone() }],
                Some(shown) => diff::diff(shown, &rows, |row| row.id.clone()),
            };
            if !diffs.is_empty() {
                listener.on_update(diffs.into_iter().map(ConversationListDiff::from).collect());
            }
            shown = Some(rows);
            let Some(next) = listeners::next_wake(&mut changes, &interest).await else { return };
            wake = next;
        }
    });
    Arc::new(TaskHandle::new(task))
}

#[uniffi::export(async_runtime = "tokio")]
impl ConversationList {
    /// Calls `listener` with the whole list now (one `Reset`), then with the changes after every change,
    /// until the handle is dropped.
    pub fn subscribe(&self, listener: Arc<dyn ConversationListListener>) -> Arc<TaskHandle> {
        feed(self.shared.clone(), listener)
    }

    /// The list now (what the updates of `subscribe` add up to).
    pub async fn conversations(&self) -> Result<Vec<ConversationSummary>, HallwayError> {
        let shared = self.shared.clone();
        Ok(runtime::run(snapshot(shared)).await?)
    }
}

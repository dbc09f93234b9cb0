//! [`ConversationList`]: the user's conversations, from the store, kept current by the connection.

use std::sync::Arc;

use crate::error::{HallwayError, Result};
use crate::listeners::{self, ConversationListListener};
use crate::models::ConversationSummary;
use crate::runtime;
use crate::shared::Shared;
use crate::store;
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

/// The list as the app shows it, from the store.
pub(crate) async fn snapshot(shared: Arc<Shared>) -> Result<Vec<ConversationSummary>> {
    let me = shared.api.user_id();
    let rows = shared.store.run(|conn| store::conversations(conn)).await?;
    Ok(rows
        .iter()
        .map(|(conversation, unsent)| {
            let online = shared.online_among(conversation.members.iter().map(|m| m.id), me);
            ConversationSummary::new(conversation, me, shared.typing_in(conversation.id), online, *unsent)
        })
        .collect())
}

#[uniffi::export(async_runtime = "tokio")]
impl ConversationList {
    /// Calls `listener` with the list now, then after every change, until the handle is dropped.
    pub fn subscribe(&self, listener: Arc<dyn ConversationListListener>) -> Arc<TaskHandle> {
        listeners::feed(self.shared.clone(), listeners::concerns_list, snapshot, move |list| listener.on_update(list))
    }

    /// The list now (what `subscribe` pushes first).
    pub async fn conversations(&self) -> Result<Vec<ConversationSummary>, HallwayError> {
        let shared = self.shared.clone();
        Ok(runtime::run(snapshot(shared)).await?)
    }
}

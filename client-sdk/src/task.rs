//! [`TaskHandle`]: what `subscribe` returns. The subscription lives as long as the handle: dropping it (or
//! calling `cancel`) stops the task that feeds the listener.

use std::sync::Mutex;

use tokio::task::JoinHandle;

/// A running background task (a listener's feed); cancelled when dropped, from any thread.
#[derive(uniffi::Object)]
pub struct TaskHandle {
    handle: Mutex<Option<JoinHandle<()>>>,
}

impl TaskHandle {
    pub(crate) fn new(handle: JoinHandle<()>) -> TaskHandle {
        TaskHandle { handle: Mutex::new(Some(handle)) }
    }

    /// A handle with no task behind it (the runtime could not start one).
    pub(crate) fn finished() -> TaskHandle {
        TaskHandle { handle: Mutex::new(None) }
    }
}

#[uniffi::export]
impl TaskHandle {
    /// Stops the task now; the listener gets no further calls once the current one returns.
    pub fn cancel(&self) {
        if let Ok(mut slot) = self.handle.lock()
            && let Some(handle) = slot.take()
        {
            handle.abort();
        }
    }

    /// Whether the task has ended (cancelled, or its source went away).
    pub fn is_finished(&self) -> bool {
        self.handle.lock().map(|slot| slot.as_ref().is_none_or(JoinHandle::is_finished)).unwrap_or(true)
    }
}

impl Drop for TaskHandle {
    fn drop(&mut self) {
        self.cancel();
    }
}

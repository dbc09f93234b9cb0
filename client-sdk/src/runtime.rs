//! The SDK's own tokio runtime. Background work (the connection, listeners, timers) lives here, and every
//! public async function runs here too, so the SDK behaves the same whatever executor the caller awaits
//! from: Kotlin coroutines, Swift tasks, or another tokio runtime in Rust tests.

use std::future::Future;
use std::sync::OnceLock;

use tokio::runtime::{Handle, Runtime};

use crate::error::{Error, Result};

/// Two workers are plenty for a phone; blocking work (SQLite) goes to the blocking pool.
const WORKER_THREADS: usize = 2;

static RUNTIME: OnceLock<Option<Runtime>> = OnceLock::new();

/// The runtime's handle, built on first use.
pub(crate) fn handle() -> Result<Handle> {
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(WORKER_THREADS)
                .thread_name("hallway-sdk")
                .enable_all()
                .build()
                .ok()
        })
        .as_ref()
        .map(|runtime| runtime.handle().clone())
        .ok_or_else(|| Error::Internal("the SDK's runtime could not start".into()))
}

/// Runs a future on the SDK's runtime and waits for its result.
pub(crate) async fn run<T, F>(future: F) -> Result<T>
where
    T: Send + 'static,
    F: Future<Output = Result<T>> + Send + 'static,
{
    handle()?.spawn(future).await?
}

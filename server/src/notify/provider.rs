//! The one interface a push service implements. The worker owns the queue, retries and dead letters; a
//! provider only turns one queued push into one request and says how it went. Web Push and UnifiedPush
//! (`webpush`) implement it here; APNs (HTTP/2 with a `.p8` token), FCM HTTP v1 and the publisher's push gateway
//! are meant to be further implementations, each with its own `platforms()` and concurrency.

use std::time::Duration;

use futures_util::future::BoxFuture;

use crate::store::push_queue::QueuedPush;

/// How one try went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The push service accepted it.
    Delivered,
    /// The device is gone for good (Web Push 404/410, APNs 410 `Unregistered`, FCM `UNREGISTERED`): delete it.
    Gone,
    /// Try again later: a network failure, a timeout, 429 or 5xx; `after` is the service's `Retry-After`.
    Retry { after: Option<Duration>, reason: String },
    /// Trying again cannot help (a refused address, bad keys, another 4xx): keep it as dead at once.
    Failed(String),
}

/// A push service.
pub trait PushProvider: Send + Sync + 'static {
    /// A short name for logs.
    fn name(&self) -> &'static str;
    /// The device platforms this provider sends to (`devices.platform`).
    fn platforms(&self) -> &'static [&'static str];
    /// Requests in flight at once.
    fn concurrency(&self) -> usize;
    /// Sends one push.
    fn send<'a>(&'a self, push: &'a QueuedPush) -> BoxFuture<'a, Outcome>;
}

//! The one interface a push service implements. The worker owns the queue, retries and dead letters; a
//! provider only turns one queued push into one request and says how it went. Web Push and UnifiedPush
//! (`webpush`), APNs (`apns`) and FCM (`fcm`) implement it; the publisher's push gateway is meant to be a
//! further implementation, with its own `platforms()` and concurrency. The helpers below are shared by them.

use std::time::Duration;

use anyhow::Context as _;
use futures_util::future::BoxFuture;
use reqwest::header::RETRY_AFTER;

use crate::config::PushSettings;
use crate::store::push_queue::QueuedPush;

/// Longest `Retry-After` honoured; a longer one is taken as this.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

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

/// The HTTP client for a vendor's push service (APNs, FCM and its token endpoint): https only, no redirects,
/// no proxy, the push timeout, and the public roots plus the configured extra root (tests, private relays).
/// These endpoints come from the school's configuration, not from users, so the SSRF rules of `endpoint` do
/// not apply to them.
pub fn vendor_client(settings: &PushSettings, concurrency: usize) -> anyhow::Result<reqwest::ClientBuilder> {
    let mut builder = reqwest::Client::builder()
        .https_only(true)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .connect_timeout(settings.timeout)
        .timeout(settings.timeout)
        .pool_max_idle_per_host(concurrency);
    if let Some(path) = &settings.extra_root_cert {
        let pem = std::fs::read(path).with_context(|| format!("reading --push-extra-root-cert {}", path.display()))?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem)
            .with_context(|| format!("--push-extra-root-cert {} is not PEM certificates", path.display()))?;
        anyhow::ensure!(!certs.is_empty(), "--push-extra-root-cert {} holds no certificate", path.display());
        for cert in certs {
            builder = builder.add_root_certificate(cert);
        }
    }
    Ok(builder)
}

/// The `Retry-After` of a response, if it has a usable one.
pub fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    response.headers().get(RETRY_AFTER).and_then(|v| v.to_str().ok()).and_then(parse_retry_after)
}

/// `Retry-After` as seconds or as an HTTP date, capped.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    let wait = match value.parse::<u64>() {
        Ok(secs) => Duration::from_secs(secs),
        Err(_) => {
            let at = time::OffsetDateTime::parse(value, &time::format_description::well_known::Rfc2822).ok()?;
            let secs = (at - time::OffsetDateTime::now_utc()).whole_seconds().max(0);
            Duration::from_secs(secs.unsigned_abs())
        }
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

/// An error and its causes on one line (reqwest hides the useful part in the sources).
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The outcome of a request that did not get an answer. The URL is left out of the reason, which is logged
/// and kept in the queue: it holds the device token (APNs) or the subscription's capability URL (Web Push).
pub fn unanswered(err: reqwest::Error) -> Outcome {
    if err.is_timeout() {
        Outcome::Retry { after: None, reason: "timed out".to_owned() }
    } else {
        Outcome::Retry { after: None, reason: format!("sending: {}", error_chain(&err.without_url())) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_takes_seconds_and_dates() {
        assert_eq!(parse_retry_after("3"), Some(Duration::from_secs(3)));
        assert_eq!(parse_retry_after("999999"), Some(MAX_RETRY_AFTER));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon"), None);
    }
}

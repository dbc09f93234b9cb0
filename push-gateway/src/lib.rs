//! The Hallway push gateway. Apple's and Google's push credentials belong to whoever publishes the app, not to
//! each school, so a school's server cannot push to the published app itself; it sends each push here instead
//! (`POST /v1/push`, one queued push, ids and a badge), with its own school key, and the gateway forwards it
//! with the publisher's credentials and answers what the push service said (a dead token comes back as 410, so
//! the school deletes the device).
//!
//! - `keys`: the school keys file (hashes only), its CLI edits and the running gateway's reloads.
//! - `upstream`: one `PushProvider` per platform, the school server's own providers.
//! - here: the HTTP edge (authentication, the per-school rate limit, the answers) and startup.
//!
//! It stores nothing about a push, and its logs carry the school's name, the platform, a short hash of the
//! device token and the outcome: never the token, the payload or a key.

pub mod config;
pub mod keys;
pub mod upstream;

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::http::StatusCode;
use actix_web::http::header::{AUTHORIZATION, RETRY_AFTER};
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use futures_util::StreamExt as _;
use governor::clock::Clock as _;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use hallway_protocol::devices::{MAX_ADDRESS_CHARS, Platform};
use hallway_protocol::push_gateway::{GatewayAnswer, GatewayOutcome, GatewayPush, PUSH_PATH};
use hallway_server::notify::provider::Outcome;
use hallway_server::store::push_queue::QueuedPush;
use sha2::{Digest, Sha256};

use config::Config;
use keys::KeyRing;
use upstream::Upstream;

/// Largest request body: a push payload is a few hundred bytes (APNs and FCM take at most 4 KiB).
const MAX_BODY_BYTES: usize = 16 * 1024;
/// Longest collapse topic accepted.
const MAX_TOPIC_CHARS: usize = 64;
/// Longest reason sent back or logged.
const MAX_REASON_CHARS: usize = 200;

/// What the handlers share.
pub struct Gateway {
    /// The accepted school keys; reloaded in place when the file changes.
    keys: Arc<KeyRing>,
    /// One token bucket per school name.
    limiter: DefaultKeyedRateLimiter<String>,
    /// The upstream of each forwarded platform.
    upstreams: HashMap<Platform, Upstream>,
}

/// A built gateway: the server to run and the address it listens on.
pub struct Running {
    pub server: actix_web::dev::Server,
    pub local_addr: SocketAddr,
}

/// Loads the keys, builds the upstreams, binds and starts watching the keys file. Call inside an actix system.
pub fn build(config: Config) -> anyhow::Result<Running> {
    let keys = Arc::new(KeyRing::load(config.keys_file.clone())?);
    if keys.is_empty() {
        tracing::warn!(file = %config.keys_file.display(), "no school holds a key yet: `hallway-push-gateway keys add <school>`");
    }
    let upstreams = upstream::build(&config)?;
    let mut platforms: Vec<&str> = upstreams.keys().map(|p| p.as_str()).collect();
    platforms.sort_unstable();
    tracing::info!(schools = keys.len(), platforms = ?platforms, "the push gateway's keys and upstreams are ready");
    let quota = Quota::per_second(nonzero(config.school_pushes_per_sec)).allow_burst(nonzero(config.school_push_burst));
    let gateway = web::Data::new(Gateway { keys: keys.clone(), limiter: RateLimiter::keyed(quota), upstreams });
    watch_keys(keys, config.keys_poll)?;

    let listener = TcpListener::bind(config.bind)?;
    let local_addr = listener.local_addr()?;
    let mut server = HttpServer::new(move || {
        App::new().app_data(gateway.clone()).route(PUSH_PATH, web::post().to(push)).default_service(web::to(|| async {
            answer(StatusCode::NOT_FOUND, GatewayOutcome::Malformed, Some("the gateway serves POST /v1/push only"))
        }))
    });
    if let Some(workers) = config.workers {
        server = server.workers(workers.max(1));
    }
    let scheme = if config.tls.is_some() { "https" } else { "http" };
    let server = match &config.tls {
        Some(files) => server.listen_rustls_0_23(listener, hallway_server::startup::rustls_config(files)?)?,
        None => server.listen(listener)?,
    };
    tracing::info!("the push gateway is listening on {scheme}://{local_addr}");
    Ok(Running { server: server.run(), local_addr })
}

fn nonzero(n: u32) -> std::num::NonZeroU32 {
    std::num::NonZeroU32::new(n).unwrap_or(std::num::NonZeroU32::MIN)
}

/// Re-reads the keys file every `poll` (when set) and on each SIGHUP, so removing a school's line revokes
/// its key without a restart.
fn watch_keys(keys: Arc<KeyRing>, poll: Option<Duration>) -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut hangups = signal(SignalKind::hangup())?;
    actix_rt::spawn(async move {
        loop {
            let tick = async {
                match poll {
                    Some(poll) => tokio::time::sleep(poll).await,
                    None => std::future::pending().await,
                }
            };
            let hangup = tokio::select! {
                _ = tick => false,
                _ = hangups.recv() => true,
            };
            match keys.reload() {
                Ok(true) => tracing::info!(schools = keys.len(), "the keys file changed: keys reloaded"),
                Ok(false) if hangup => tracing::info!(schools = keys.len(), "SIGHUP: the keys file is unchanged"),
                Ok(false) => {}
                Err(err) => tracing::error!(error = %err, "could not reload the keys file: the keys stay as they were"),
            }
        }
    });
    Ok(())
}

/// `POST /v1/push`: authenticate the school, apply its rate limit, forward the push, answer the outcome.
async fn push(req: HttpRequest, body: web::Payload, gateway: web::Data<Gateway>) -> HttpResponse {
    let started = Instant::now();
    let Some(school) = bearer(&req).and_then(|key| gateway.keys.school(key)) else {
        tracing::warn!(peer = ?req.peer_addr(), "a push with no school key, or an unknown or revoked one");
        return answer(StatusCode::UNAUTHORIZED, GatewayOutcome::Unauthorized, Some("unknown or revoked school key"));
    };
    if let Err(not_until) = gateway.limiter.check_key(&school) {
        let wait = not_until.wait_time_from(governor::clock::DefaultClock::default().now());
        tracing::info!(school, retry_after_ms = wait.as_millis() as u64, "answered 429: the school's rate limit");
        return retry_later(
            StatusCode::TOO_MANY_REQUESTS,
            GatewayOutcome::RateLimited,
            wait,
            "the school's rate limit",
        );
    }
    let push = match read_push(body).await {
        Ok(push) => push,
        Err((status, reason)) => {
            tracing::info!(school, status = status.as_u16(), "refused a malformed push");
            return answer(status, GatewayOutcome::Malformed, Some(&reason));
        }
    };
    let platform = push.platform.as_str();
    let device = device_hash(&push.address);
    let Some(upstream) = gateway.upstreams.get(&push.platform) else {
        tracing::warn!(school, platform, "answered 503: this gateway forwards no push of that platform");
        let reason = format!("this gateway forwards no {platform} push");
        return answer(StatusCode::SERVICE_UNAVAILABLE, GatewayOutcome::UpstreamUnavailable, Some(&reason));
    };
    let queued = queued(push);
    let outcome = {
        let Ok(_slot) = upstream.slots.acquire().await else {
            return answer(StatusCode::SERVICE_UNAVAILABLE, GatewayOutcome::UpstreamUnavailable, None);
        };
        upstream.provider.send(&queued).await
    };
    let ms = started.elapsed().as_millis() as u64;
    match outcome {
        Outcome::Delivered => {
            tracing::info!(school, platform, device, ms, "delivered");
            answer(StatusCode::OK, GatewayOutcome::Delivered, None)
        }
        Outcome::Gone => {
            tracing::info!(school, platform, device, ms, "the push service says the device is gone: answered 410");
            answer(StatusCode::GONE, GatewayOutcome::Gone, Some("the push service says the device is gone"))
        }
        Outcome::Retry { after: Some(wait), reason } => {
            let reason = scrub(&reason, &queued.address);
            tracing::info!(school, platform, device, ms, %reason, "answered 429: the push service asks to wait");
            retry_later(StatusCode::TOO_MANY_REQUESTS, GatewayOutcome::RateLimited, wait, &reason)
        }
        Outcome::Retry { after: None, reason } => {
            let reason = scrub(&reason, &queued.address);
            tracing::warn!(school, platform, device, ms, %reason, "answered 502: the push service failed");
            answer(StatusCode::BAD_GATEWAY, GatewayOutcome::UpstreamUnavailable, Some(&reason))
        }
        Outcome::Failed(reason) => {
            let reason = scrub(&reason, &queued.address);
            tracing::warn!(school, platform, device, ms, %reason, "answered 422: the push service refused the push");
            answer(StatusCode::UNPROCESSABLE_ENTITY, GatewayOutcome::Refused, Some(&reason))
        }
    }
}

/// The key of `Authorization: Bearer <key>`.
fn bearer(req: &HttpRequest) -> Option<&str> {
    let value = req.headers().get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, key) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| key.trim()).filter(|k| !k.is_empty())
}

/// Reads and checks the body (at most `MAX_BODY_BYTES`).
async fn read_push(mut body: web::Payload) -> Result<GatewayPush, (StatusCode, String)> {
    let mut bytes = web::BytesMut::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|_| (StatusCode::BAD_REQUEST, "the body could not be read".to_owned()))?;
        if bytes.len() + chunk.len() > MAX_BODY_BYTES {
            return Err((StatusCode::PAYLOAD_TOO_LARGE, format!("the body exceeds {MAX_BODY_BYTES} bytes")));
        }
        bytes.extend_from_slice(&chunk);
    }
    let bad = |reason: String| (StatusCode::BAD_REQUEST, reason);
    let push: GatewayPush = serde_json::from_slice(&bytes).map_err(|e| bad(format!("not a push: {e}")))?;
    if push.address.is_empty() || push.address.len() > MAX_ADDRESS_CHARS {
        return Err(bad(format!("address: must be 1 to {MAX_ADDRESS_CHARS} bytes")));
    }
    if push.topic.chars().count() > MAX_TOPIC_CHARS || push.topic.chars().any(|c| !c.is_ascii_graphic()) {
        return Err(bad(format!("topic: at most {MAX_TOPIC_CHARS} printable ASCII characters")));
    }
    if !matches!(push.urgency.as_str(), "high" | "normal") {
        return Err(bad("urgency: must be high or normal".to_owned()));
    }
    if !push.payload.is_object() {
        return Err(bad("payload: must be a JSON object".to_owned()));
    }
    Ok(push)
}

/// The push as the providers take it. The gateway keeps no queue: the id, device and tries are the school's
/// business, so they are blank here.
fn queued(push: GatewayPush) -> QueuedPush {
    let (p256dh, auth) = match push.keys {
        Some(keys) => (Some(keys.p256dh), Some(keys.auth)),
        None => (None, None),
    };
    QueuedPush {
        id: 0,
        device_id: uuid::Uuid::nil(),
        payload: push.payload,
        topic: push.topic,
        urgency: push.urgency,
        attempts: 0,
        platform: push.platform.as_str().to_owned(),
        address: push.address,
        p256dh,
        auth,
    }
}

/// A short hash of a device token, to follow one device through the logs without logging its token.
fn device_hash(address: &str) -> String {
    keys::hex(&Sha256::digest(address.as_bytes())[..6])
}

/// An upstream's reason without the device's address in it (an HTTP client error names the URL it failed on,
/// and a Web Push endpoint is the device's token), shortened.
fn scrub(reason: &str, address: &str) -> String {
    let mut text = reason.replace(address, "<device>");
    if let Ok(url) = url::Url::parse(address) {
        text = text.replace(url.as_str(), "<device>");
    }
    text.chars().take(MAX_REASON_CHARS).collect()
}

fn answer(status: StatusCode, outcome: GatewayOutcome, reason: Option<&str>) -> HttpResponse {
    HttpResponse::build(status).json(GatewayAnswer { outcome, reason: reason.map(str::to_owned) })
}

/// An answer asking to come back after `wait` (whole seconds, at least one).
fn retry_later(status: StatusCode, outcome: GatewayOutcome, wait: Duration, reason: &str) -> HttpResponse {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    HttpResponse::build(status)
        .insert_header((RETRY_AFTER, secs.max(1).to_string()))
        .json(GatewayAnswer { outcome, reason: Some(reason.to_owned()) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reason_loses_the_device_address() {
        let address = "https://push.example/sub/abc123";
        let reason = "sending: error sending request for url (https://push.example/sub/abc123): timed out";
        assert_eq!(scrub(reason, address), "sending: error sending request for url (<device>): timed out");
    }
}

//! The publisher's push gateway (`hallway-push-gateway`): APNs and FCM pushes for the published apps go there,
//! since Apple's and Google's credentials belong to the app's publisher, not to the school. Each push is one
//! `POST /v1/push` with the school's key; the gateway's answer becomes the outcome (410: the device is gone,
//! 429 and 5xx: retry after `Retry-After`, 401 and other 4xx: failed for good). A school that builds its own
//! white-label app configures APNs/FCM directly instead, and for a platform configured both ways, direct wins.

use std::time::Duration;

use anyhow::Context as _;
use futures_util::future::BoxFuture;
use hallway_protocol::devices::{Platform, PushKeys};
use hallway_protocol::push_gateway::{GatewayAnswer, GatewayPush, PUSH_PATH};
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, HeaderValue, RETRY_AFTER};

use super::provider::{Outcome, PushProvider};
use crate::config::{GatewaySettings, PushSettings};
use crate::store::push_queue::QueuedPush;

/// Longest `Retry-After` honoured; a longer one is taken as this.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);
/// Bytes of an answer read for its reason.
const MAX_ANSWER_BYTES: usize = 4096;

/// Sends pushes through the push gateway.
pub struct Gateway {
    client: reqwest::Client,
    /// `<gateway URL>/v1/push`.
    url: reqwest::Url,
    /// `Bearer <school key>`, marked sensitive so no HTTP log prints it.
    authorization: HeaderValue,
    platforms: &'static [&'static str],
    concurrency: usize,
}

impl Gateway {
    /// A sender to the configured gateway for `platforms`. The URL must be `https`, unless insecure endpoints
    /// are allowed (tests).
    pub fn new(
        gateway: &GatewaySettings,
        settings: &PushSettings,
        platforms: &'static [&'static str],
    ) -> anyhow::Result<Gateway> {
        let base = reqwest::Url::parse(gateway.url.trim()).context("--push-gateway-url is not a URL")?;
        match base.scheme() {
            "https" => {}
            "http" if settings.allow_insecure_endpoints => {}
            _ => anyhow::bail!("--push-gateway-url must be https (the school key travels with each push)"),
        }
        // Under the base's path, with or without its trailing slash.
        let url = format!("{}{PUSH_PATH}", base.as_str().trim_end_matches('/'));
        let url = reqwest::Url::parse(&url).context("--push-gateway-url")?;
        let mut authorization = HeaderValue::from_str(&format!("Bearer {}", gateway.key.expose().trim()))
            .context("--push-gateway-key is not a header value")?;
        authorization.set_sensitive(true);
        let client = reqwest::Client::builder()
            // The gateway does not redirect; following one would hand the key to another host.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(settings.timeout)
            .timeout(settings.timeout)
            .pool_max_idle_per_host(gateway.concurrency)
            .build()
            .context("building the push gateway client")?;
        Ok(Gateway { client, url, authorization, platforms, concurrency: gateway.concurrency.max(1) })
    }

    async fn send_one(&self, push: &QueuedPush) -> Outcome {
        let Some(platform) = Platform::parse(&push.platform) else {
            return Outcome::Failed(format!("no such platform {:?}", push.platform));
        };
        let keys = match (&push.p256dh, &push.auth) {
            (Some(p256dh), Some(auth)) => Some(PushKeys { p256dh: p256dh.clone(), auth: auth.clone() }),
            _ => None,
        };
        let body = GatewayPush {
            platform,
            address: push.address.clone(),
            keys,
            payload: push.payload.clone(),
            topic: push.topic.clone(),
            urgency: push.urgency.clone(),
        };
        let request = self.client.post(self.url.clone()).header(AUTHORIZATION, self.authorization.clone()).json(&body);
        let response = match request.send().await {
            Ok(response) => response,
            Err(err) if err.is_timeout() => {
                return Outcome::Retry { after: None, reason: "the push gateway timed out".to_owned() };
            }
            Err(err) => {
                // Without the URL: reqwest names it, and it says nothing the operator does not know.
                let err = err.without_url();
                return Outcome::Retry { after: None, reason: format!("sending to the push gateway: {err}") };
            }
        };
        let status = response.status();
        let after = response.headers().get(RETRY_AFTER).and_then(|v| v.to_str().ok()).and_then(parse_retry_after);
        let said = reason_of(response).await;
        match status {
            s if s.is_success() => Outcome::Delivered,
            StatusCode::GONE => Outcome::Gone,
            s if s == StatusCode::TOO_MANY_REQUESTS || s.is_server_error() => {
                Outcome::Retry { after, reason: format!("the push gateway answered {s}{said}") }
            }
            StatusCode::UNAUTHORIZED => {
                Outcome::Failed(format!("the push gateway answered {status}: the school key is unknown or revoked"))
            }
            s => Outcome::Failed(format!("the push gateway answered {s}{said}")),
        }
    }
}

impl PushProvider for Gateway {
    fn name(&self) -> &'static str {
        "gateway"
    }

    fn platforms(&self) -> &'static [&'static str] {
        self.platforms
    }

    fn concurrency(&self) -> usize {
        self.concurrency
    }

    fn send<'a>(&'a self, push: &'a QueuedPush) -> BoxFuture<'a, Outcome> {
        Box::pin(self.send_one(push))
    }
}

/// The platforms the gateway carries: APNs and FCM, less those the school sends to directly (`taken`), and
/// Web Push and UnifiedPush as well when the settings say so (tests). Static, as `PushProvider` wants.
pub fn platforms(gateway: &GatewaySettings, taken: &[&str]) -> &'static [&'static str] {
    let apns = !taken.contains(&"apns");
    let fcm = !taken.contains(&"fcm");
    let web = gateway.carries_webpush;
    match (apns, fcm, web) {
        (true, true, false) => &["apns", "fcm"],
        (true, false, false) => &["apns"],
        (false, true, false) => &["fcm"],
        (false, false, false) => &[],
        (true, true, true) => &["apns", "fcm", "webpush", "unifiedpush"],
        (true, false, true) => &["apns", "webpush", "unifiedpush"],
        (false, true, true) => &["fcm", "webpush", "unifiedpush"],
        (false, false, true) => &["webpush", "unifiedpush"],
    }
}

/// `: <reason>` from the gateway's JSON answer, when it gave one.
async fn reason_of(response: reqwest::Response) -> String {
    let bytes = response.bytes().await.unwrap_or_default();
    let bytes = &bytes[..bytes.len().min(MAX_ANSWER_BYTES)];
    match serde_json::from_slice::<GatewayAnswer>(bytes) {
        Ok(GatewayAnswer { reason: Some(reason), .. }) => format!(": {reason}"),
        _ => String::new(),
    }
}

/// `Retry-After` in seconds (what the gateway sends), capped.
fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(|secs| Duration::from_secs(secs).min(MAX_RETRY_AFTER))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::GatewayKey;

    fn settings(carries_webpush: bool) -> GatewaySettings {
        GatewaySettings {
            url: "https://gateway.example".to_owned(),
            key: GatewayKey::new("hgw_x".to_owned()),
            concurrency: 4,
            carries_webpush,
        }
    }

    #[test]
    fn direct_credentials_take_their_platform_from_the_gateway() {
        assert_eq!(platforms(&settings(false), &["webpush", "unifiedpush"]), ["apns", "fcm"]);
        assert_eq!(platforms(&settings(false), &["webpush", "apns"]), ["fcm"]);
        assert_eq!(platforms(&settings(true), &[]), ["apns", "fcm", "webpush", "unifiedpush"]);
    }

    #[test]
    fn the_push_path_is_joined_to_the_base_url() {
        let push = PushSettings::default();
        let at = |url: &str| {
            let mut gateway = settings(false);
            gateway.url = url.to_owned();
            Gateway::new(&gateway, &push, &[]).map(|g| g.url.to_string())
        };
        assert_eq!(at("https://gw.example").ok().as_deref(), Some("https://gw.example/v1/push"));
        assert_eq!(at("https://gw.example/hallway/").ok().as_deref(), Some("https://gw.example/hallway/v1/push"));
        assert_eq!(at("https://gw.example/hallway").ok().as_deref(), Some("https://gw.example/hallway/v1/push"));
        assert!(at("http://gw.example").is_err(), "plain http only for tests");
    }
}

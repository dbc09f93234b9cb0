//! Apple Push Notification service: one HTTP/2 request per push to `{endpoint}/3/device/{token}`, authorised
//! by a provider token (an ES256 JWT signed with the school's `.p8` key, `kid` = key id, `iss` = team id),
//! made once and reused until shortly before Apple stops taking it (1 h), and made anew when Apple answers
//! `ExpiredProviderToken`.
//!
//! A message push is an alert in the conversation's thread (`thread-id`), replacing the chat's previous one
//! (`apns-collapse-id` = the queued row's topic), with the badge and the `MESSAGE` category (reply and
//! mark-read actions on the phone). Its text is the sender and the message only when the school's previews
//! allow; otherwise a localizable "New message". `mutable-content` is always set, so the app's Notification
//! Service Extension fetches the rest (conversation name, sender, text when allowed) through the SDK. `read`,
//! `message_edited` and `message_deleted` pushes are silent background pushes (`content-available`) that let
//! the app clear, rewrite or withdraw a notification and set the badge.
//! The Hallway payload's ids (`type`, `conversation_id`, `seq`, `badge`) ride at the top level beside `aps`.
//!
//! Written over `reqwest` rather than with `apns-h2` (the maintained fork of `a2`): that crate's endpoint is an
//! enum of Apple's two hosts and its TLS connector is private, so it cannot be pointed at a local receiver
//! trusting a test certificate, and it builds aws-lc-rs where this workspace uses ring. The request itself is
//! small; `jsonwebtoken` (already used for access tokens) signs the provider token.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use futures_util::future::BoxFuture;
use hallway_protocol::devices::PushPayload;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use url::Url;

use super::provider::{Outcome, PushProvider, retry_after, unanswered, vendor_client};
use crate::config::PushSettings;
use crate::store::push_queue::QueuedPush;

/// A provider token is made anew after this long: Apple refuses one older than an hour and one made more
/// often than every 20 minutes.
const PROVIDER_TOKEN_REUSE: Duration = Duration::from_secs(50 * 60);
/// Requests in flight at once; APNs multiplexes them as streams of one HTTP/2 connection.
const CONCURRENCY: usize = 32;
/// The category the iOS app registers with the reply and mark-read actions.
pub const MESSAGE_CATEGORY: &str = "school.hallway.message";
/// The alert text when previews are off: a key of the app's `Localizable.strings`, shown as is where the app
/// has no translation.
pub const NEW_MESSAGE_LOC_KEY: &str = "New message";

/// Sends pushes to iOS devices through APNs.
pub struct Apns {
    client: reqwest::Client,
    endpoint: Url,
    /// The app's bundle id (`apns-topic`).
    topic: String,
    key: EncodingKey,
    key_id: String,
    team_id: String,
    /// How long Apple keeps a push for a phone that is off (`apns-expiration`).
    ttl: Duration,
    /// The provider token in use and when it was made; `None` until the first push or after Apple said it
    /// expired.
    token: Mutex<Option<(Instant, Arc<str>)>>,
}

impl Apns {
    /// APNs as the flags configure it: `None` when none of its flags is set; an error naming what is wrong
    /// when only some are, or when the key cannot be read.
    pub fn from_settings(settings: &PushSettings) -> anyhow::Result<Option<Apns>> {
        let apns = &settings.apns;
        let (key_file, key_id, team_id, topic) = match (&apns.key_file, &apns.key_id, &apns.team_id, &apns.topic) {
            (None, None, None, None) => return Ok(None),
            (Some(key_file), Some(key_id), Some(team_id), Some(topic)) => (key_file, key_id, team_id, topic),
            _ => {
                let missing: Vec<&str> = [
                    ("--push-apns-key-file", apns.key_file.is_none()),
                    ("--push-apns-key-id", apns.key_id.is_none()),
                    ("--push-apns-team-id", apns.team_id.is_none()),
                    ("--push-apns-topic", apns.topic.is_none()),
                ]
                .into_iter()
                .filter_map(|(flag, unset)| unset.then_some(flag))
                .collect();
                anyhow::bail!("APNs is configured only in part: {} missing", missing.join(", "));
            }
        };
        anyhow::ensure!(
            apns.endpoint.scheme() == "https",
            "--push-apns-endpoint must be an https URL, not {}",
            apns.endpoint
        );
        let pem = std::fs::read(key_file)
            .with_context(|| format!("reading the APNs key (--push-apns-key-file {})", key_file.display()))?;
        let key = EncodingKey::from_ec_pem(&pem).map_err(|e| {
            anyhow::anyhow!("--push-apns-key-file {} is not a PKCS#8 P-256 key (.p8): {e}", key_file.display())
        })?;
        let client = vendor_client(settings, CONCURRENCY)?
            .http2_prior_knowledge()
            .build()
            .context("building the APNs client")?;
        let apns = Apns {
            client,
            endpoint: apns.endpoint.clone(),
            topic: topic.clone(),
            key,
            key_id: key_id.clone(),
            team_id: team_id.clone(),
            ttl: settings.ttl,
            token: Mutex::new(None),
        };
        // Signing once now shows a key that cannot sign at start, not at the first message.
        apns.provider_token().map_err(|e| anyhow::anyhow!("the APNs key: {e}"))?;
        Ok(Some(apns))
    }

    /// The provider token to send with, made anew when the cached one is old or Apple refused it.
    fn provider_token(&self) -> Result<Arc<str>, String> {
        let mut cached = self.token.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((made, token)) = cached.as_ref()
            && made.elapsed() < PROVIDER_TOKEN_REUSE
        {
            return Ok(token.clone());
        }
        #[derive(Serialize)]
        struct Claims<'a> {
            iss: &'a str,
            iat: u64,
        }
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.key_id.clone());
        let claims = Claims { iss: &self.team_id, iat: jsonwebtoken::get_current_timestamp() };
        let token: Arc<str> = jsonwebtoken::encode(&header, &claims, &self.key)
            .map_err(|e| format!("signing the provider token: {e}"))?
            .into();
        *cached = Some((Instant::now(), token.clone()));
        Ok(token)
    }

    /// Apple said `used` expired: the next push makes a new one (unless another push already did).
    fn expire(&self, used: &str) {
        let mut cached = self.token.lock().unwrap_or_else(|p| p.into_inner());
        if cached.as_ref().is_some_and(|(_, token)| &**token == used) {
            *cached = None;
        }
    }

    fn request(&self, push: &QueuedPush, provider_token: &str) -> Result<reqwest::Request, String> {
        let payload: PushPayload =
            serde_json::from_value(push.payload.clone()).map_err(|_| "the queued payload is not a push".to_owned())?;
        let notification = Notification::of(&payload, &push.payload);
        let mut url = self.endpoint.clone();
        url.path_segments_mut()
            .map_err(|_| "the APNs endpoint cannot take a path".to_owned())?
            .pop_if_empty()
            .extend(["3", "device", push.address.as_str()]);
        let body = serde_json::to_vec(&notification.body).map_err(|e| format!("payload: {e}"))?;
        let expiration = time::OffsetDateTime::now_utc().unix_timestamp() + self.ttl.as_secs() as i64;
        let mut request = reqwest::Request::new(reqwest::Method::POST, url);
        let headers = request.headers_mut();
        let header = |value: &str| HeaderValue::from_str(value).map_err(|_| "a header is not a header".to_owned());
        headers.insert(AUTHORIZATION, header(&format!("bearer {provider_token}"))?);
        headers.insert("apns-topic", header(&self.topic)?);
        headers.insert("apns-push-type", HeaderValue::from_static(notification.push_type));
        headers.insert("apns-priority", HeaderValue::from_static(notification.priority));
        headers.insert("apns-expiration", HeaderValue::from(expiration));
        headers.insert("apns-collapse-id", header(&push.topic)?);
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        *request.body_mut() = Some(body.into());
        Ok(request)
    }

    async fn send_one(&self, push: &QueuedPush) -> Outcome {
        let provider_token = match self.provider_token() {
            Ok(token) => token,
            Err(reason) => return Outcome::Failed(reason),
        };
        let request = match self.request(push, &provider_token) {
            Ok(request) => request,
            Err(reason) => return Outcome::Failed(reason),
        };
        let response = match self.client.execute(request).await {
            Ok(response) => response,
            Err(err) => return unanswered(err),
        };
        let status = response.status();
        if status.is_success() {
            return Outcome::Delivered;
        }
        let after = retry_after(&response);
        // Apple explains a refusal in `{"reason": "..."}`.
        #[derive(Deserialize)]
        struct Refusal {
            reason: String,
        }
        let reason = response.json::<Refusal>().await.map(|r| r.reason).unwrap_or_default();
        let said = format!("APNs answered {status} {reason}");
        match (status, reason.as_str()) {
            (StatusCode::GONE, _) | (StatusCode::BAD_REQUEST, "BadDeviceToken") => Outcome::Gone,
            (StatusCode::FORBIDDEN, "ExpiredProviderToken") => {
                self.expire(&provider_token);
                Outcome::Retry { after: None, reason: said }
            }
            (s, _) if s == StatusCode::TOO_MANY_REQUESTS || s.is_server_error() => {
                Outcome::Retry { after, reason: said }
            }
            _ => Outcome::Failed(said),
        }
    }
}

impl PushProvider for Apns {
    fn name(&self) -> &'static str {
        "apns"
    }

    fn platforms(&self) -> &'static [&'static str] {
        &["apns"]
    }

    fn concurrency(&self) -> usize {
        CONCURRENCY
    }

    fn send<'a>(&'a self, push: &'a QueuedPush) -> BoxFuture<'a, Outcome> {
        Box::pin(self.send_one(push))
    }
}

/// What one push tells APNs: the JSON body and the headers that depend on the kind of push.
#[derive(Debug)]
struct Notification {
    body: Value,
    /// `apns-push-type`.
    push_type: &'static str,
    /// `apns-priority`: 10 shows at once; 5 (required for background pushes) when it saves the battery.
    priority: &'static str,
}

impl Notification {
    /// The notification of a queued payload (`json` is its JSON, as queued).
    fn of(payload: &PushPayload, json: &Value) -> Notification {
        match payload {
            PushPayload::Message { conversation_id, seq, badge, sender_name, body } => {
                let alert = match (sender_name, body) {
                    (Some(name), Some(text)) => json!({ "title": name, "body": text }),
                    (Some(name), None) => json!({ "title": name, "loc-key": NEW_MESSAGE_LOC_KEY }),
                    (None, _) => json!({ "loc-key": NEW_MESSAGE_LOC_KEY }),
                };
                Notification {
                    body: json!({
                        "aps": {
                            "alert": alert,
                            "badge": badge,
                            "sound": "default",
                            "thread-id": conversation_id,
                            "category": MESSAGE_CATEGORY,
                            "mutable-content": 1,
                        },
                        "type": "message",
                        "conversation_id": conversation_id,
                        "seq": seq,
                        "badge": badge,
                    }),
                    push_type: "alert",
                    priority: "10",
                }
            }
            // `read`, `message_edited`, `message_deleted`: silent updates the app applies when it wakes (clear,
            // rewrite or withdraw a notification, set the badge), so a background push carrying the payload as
            // queued. Apple: its `aps` holds `content-available` and no alert, sound or badge.
            PushPayload::Read { .. } | PushPayload::MessageEdited { .. } | PushPayload::MessageDeleted { .. } => {
                let mut body = json.clone();
                if let Some(fields) = body.as_object_mut() {
                    fields.insert("aps".to_owned(), json!({ "content-available": 1 }));
                }
                Notification { body, push_type: "background", priority: "5" }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    #[test]
    fn a_message_without_previews_is_a_localizable_alert_for_the_extension_to_fill() {
        let id = Uuid::now_v7();
        let payload = PushPayload::Message { conversation_id: id, seq: 3, badge: 2, sender_name: None, body: None };
        let n = Notification::of(&payload, &json!({}));
        assert_eq!((n.push_type, n.priority), ("alert", "10"));
        assert_eq!(n.body["aps"]["alert"], json!({ "loc-key": "New message" }));
        assert_eq!(n.body["aps"]["mutable-content"], json!(1));
        assert_eq!(n.body["aps"]["thread-id"], json!(id));
        assert_eq!(n.body["seq"], json!(3));
    }

    #[test]
    fn reads_edits_and_deletions_are_background_pushes_without_alert_or_badge_in_aps() {
        let id = Uuid::now_v7();
        let edited =
            PushPayload::MessageEdited { conversation_id: id, seq: 2, badge: 1, sender_name: None, body: None };
        for payload in [
            PushPayload::Read { conversation_id: id, badge: 0 },
            edited,
            PushPayload::MessageDeleted { conversation_id: id, seq: 2, badge: 0 },
        ] {
            let queued = serde_json::to_value(&payload).unwrap_or_default();
            let n = Notification::of(&payload, &queued);
            assert_eq!((n.push_type, n.priority), ("background", "5"));
            assert_eq!(n.body["aps"], json!({ "content-available": 1 }));
            assert_eq!(n.body["type"], queued["type"]);
            assert_eq!(n.body["badge"], queued["badge"]);
        }
    }
}

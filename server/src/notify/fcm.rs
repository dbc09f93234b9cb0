//! Firebase Cloud Messaging, HTTP v1: `POST {endpoint}/v1/projects/{project}/messages:send` with an OAuth2
//! access token that the service account earns at its `token_uri` (a JWT bearer grant signed RS256 with its
//! key), kept until shortly before it expires and earned anew when FCM answers 401.
//!
//! Every push carries the Hallway payload as FCM `data` (all values strings) and `android.collapse_key` = the
//! queued row's topic, so a phone that was offline gets one push per chat. A message is `HIGH` priority; it
//! has a `notification` block (title and text, `android.notification.tag` = the topic so it replaces the
//! chat's previous one) only when the school's previews allow; otherwise it is data-only and the app builds
//! the notification after fetching the message. A `read` is data-only at `NORMAL` priority.
//!
//! The token is earned here with `jsonwebtoken` (already a dependency) and `reqwest` rather than with
//! `gcp_auth`: that crate makes its own hyper client with the machine's or webpki's roots and no way to add
//! one, so it cannot reach a local token endpoint with a test certificate, and the grant is one request.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use futures_util::future::BoxFuture;
use hallway_protocol::devices::PushPayload;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use tokio::sync::Mutex;
use url::Url;

use super::provider::{Outcome, PushProvider, retry_after, unanswered, vendor_client};
use crate::config::PushSettings;
use crate::store::push_queue::QueuedPush;

/// The OAuth2 scope of sending FCM messages.
pub const SCOPE: &str = "https://www.googleapis.com/auth/firebase.messaging";
/// The grant type of a service account's signed assertion (RFC 7523).
pub const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// How long an assertion is valid (Google's limit is an hour).
const ASSERTION_VALIDITY: Duration = Duration::from_secs(3600);
/// An access token is earned anew this long before it expires, so none expires in flight.
const TOKEN_MARGIN: Duration = Duration::from_secs(5 * 60);
/// Requests in flight at once.
const CONCURRENCY: usize = 32;
/// The Android string resource the app localizes the body of a sender-only preview with.
const NEW_MESSAGE_ANDROID_KEY: &str = "notification_new_message";

/// The fields of a service-account key file that earning a token needs. No `Debug`: it holds the key.
#[derive(Deserialize)]
struct ServiceAccount {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    project_id: String,
    #[serde(default)]
    private_key_id: Option<String>,
    private_key: String,
    client_email: String,
    token_uri: String,
}

/// An access token and when it stops being used.
struct AccessToken {
    value: Arc<str>,
    renew_at: Instant,
}

/// Sends pushes to Android devices through FCM.
pub struct Fcm {
    client: reqwest::Client,
    /// `{endpoint}/v1/projects/{project}/messages:send`.
    send_url: Url,
    token_uri: Url,
    client_email: String,
    key_id: Option<String>,
    key: EncodingKey,
    /// Android's `ttl`: how long FCM keeps a push for a phone that is off.
    ttl: Duration,
    /// The access token in use; the lock is held while one is earned, so concurrent pushes earn one only.
    token: Mutex<Option<AccessToken>>,
}

impl Fcm {
    /// FCM as the flags configure it: `None` without a service account; an error naming what is wrong when
    /// the file cannot be read or is not a service-account key.
    pub fn from_settings(settings: &PushSettings) -> anyhow::Result<Option<Fcm>> {
        let Some(path) = &settings.fcm.service_account else { return Ok(None) };
        let flag = format!("--push-fcm-service-account {}", path.display());
        let text = std::fs::read(path).with_context(|| format!("reading {flag}"))?;
        let account: ServiceAccount = serde_json::from_slice(&text)
            .map_err(|e| anyhow::anyhow!("{flag} is not a service-account key file: {e}"))?;
        if let Some(kind) = &account.kind {
            anyhow::ensure!(kind == "service_account", "{flag} is a {kind:?} key, not a \"service_account\" one");
        }
        anyhow::ensure!(
            !account.project_id.is_empty() && account.project_id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'),
            "{flag}: project_id {:?} is not a Firebase project id",
            account.project_id
        );
        let token_uri = Url::parse(&account.token_uri).with_context(|| format!("{flag}: token_uri is not a URL"))?;
        anyhow::ensure!(token_uri.scheme() == "https", "{flag}: token_uri must be an https URL");
        let key = EncodingKey::from_rsa_pem(account.private_key.as_bytes())
            .map_err(|e| anyhow::anyhow!("{flag}: private_key is not an RSA key in PEM: {e}"))?;
        let endpoint = &settings.fcm.endpoint;
        anyhow::ensure!(endpoint.scheme() == "https", "--push-fcm-endpoint must be an https URL, not {endpoint}");
        let mut send_url = endpoint.clone();
        send_url
            .path_segments_mut()
            .map_err(|_| anyhow::anyhow!("--push-fcm-endpoint {endpoint} cannot take a path"))?
            .pop_if_empty()
            .extend(["v1", "projects", &account.project_id, "messages:send"]);
        let client = vendor_client(settings, CONCURRENCY)?.build().context("building the FCM client")?;
        let fcm = Fcm {
            client,
            send_url,
            token_uri,
            client_email: account.client_email,
            key_id: account.private_key_id,
            key,
            ttl: settings.ttl,
            token: Mutex::new(None),
        };
        // Signing once now shows a key that cannot sign at start, not at the first message.
        fcm.assertion().map_err(|e| anyhow::anyhow!("{flag}: {e}"))?;
        Ok(Some(fcm))
    }

    /// The signed JWT the token endpoint exchanges for an access token.
    fn assertion(&self) -> Result<String, String> {
        #[derive(Serialize)]
        struct Claims<'a> {
            iss: &'a str,
            scope: &'a str,
            aud: &'a str,
            iat: u64,
            exp: u64,
        }
        let mut header = Header::new(Algorithm::RS256);
        header.kid = self.key_id.clone();
        let iat = jsonwebtoken::get_current_timestamp();
        let claims = Claims {
            iss: &self.client_email,
            scope: SCOPE,
            aud: self.token_uri.as_str(),
            iat,
            exp: iat + ASSERTION_VALIDITY.as_secs(),
        };
        jsonwebtoken::encode(&header, &claims, &self.key).map_err(|e| format!("signing the token request: {e}"))
    }

    /// The access token to send with, earned when there is none or it is about to expire. `Err` is the
    /// outcome of the push when no token could be had.
    async fn access_token(&self) -> Result<Arc<str>, Outcome> {
        let mut cached = self.token.lock().await;
        if let Some(token) = cached.as_ref()
            && Instant::now() < token.renew_at
        {
            return Ok(token.value.clone());
        }
        let assertion = self.assertion().map_err(Outcome::Failed)?;
        let form = [("grant_type", JWT_BEARER_GRANT), ("assertion", assertion.as_str())];
        let response = self.client.post(self.token_uri.clone()).form(&form).send().await.map_err(unanswered)?;
        let status = response.status();
        if !status.is_success() {
            let after = retry_after(&response);
            // OAuth2 names the refusal in `error`; its description may echo the request, so it is left out.
            #[derive(Deserialize)]
            struct Refusal {
                error: String,
            }
            let error = response.json::<Refusal>().await.map(|r| r.error).unwrap_or_default();
            let reason = format!("the FCM token endpoint answered {status} {error}");
            return Err(if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
                Outcome::Retry { after, reason }
            } else {
                Outcome::Failed(reason)
            });
        }
        #[derive(Deserialize)]
        struct Granted {
            access_token: String,
            expires_in: u64,
        }
        let granted: Granted = response.json().await.map_err(|_| Outcome::Retry {
            after: None,
            reason: "the FCM token endpoint answered no token".to_owned(),
        })?;
        let lifetime = Duration::from_secs(granted.expires_in);
        // A token shorter-lived than the margin is used for half its life.
        let usable = lifetime.checked_sub(TOKEN_MARGIN).unwrap_or(lifetime / 2);
        let value: Arc<str> = granted.access_token.into();
        *cached = Some(AccessToken { value: value.clone(), renew_at: Instant::now() + usable });
        Ok(value)
    }

    /// FCM said `used` is not valid (401): the next push earns a new one (unless another push already did).
    async fn expire(&self, used: &str) {
        let mut cached = self.token.lock().await;
        if cached.as_ref().is_some_and(|token| &*token.value == used) {
            *cached = None;
        }
    }

    async fn send_one(&self, push: &QueuedPush) -> Outcome {
        let message = match message(push, self.ttl) {
            Ok(message) => message,
            Err(reason) => return Outcome::Failed(reason),
        };
        let token = match self.access_token().await {
            Ok(token) => token,
            Err(outcome) => return outcome,
        };
        let request = self.client.post(self.send_url.clone()).bearer_auth(&token).json(&message);
        let response = match request.send().await {
            Ok(response) => response,
            Err(err) => return unanswered(err),
        };
        let status = response.status();
        if status.is_success() {
            return Outcome::Delivered;
        }
        let after = retry_after(&response);
        let error = response.json::<ErrorBody>().await.map(|b| b.error).unwrap_or_default();
        let said = format!("FCM answered {status} {}", error.code());
        match status {
            StatusCode::NOT_FOUND => Outcome::Gone,
            _ if error.code() == "UNREGISTERED" => Outcome::Gone,
            StatusCode::BAD_REQUEST if error.code() == "INVALID_ARGUMENT" && error.is_about_the_token() => {
                Outcome::Gone
            }
            StatusCode::UNAUTHORIZED => {
                self.expire(&token).await;
                Outcome::Retry { after: None, reason: said }
            }
            s if s == StatusCode::TOO_MANY_REQUESTS || s.is_server_error() => Outcome::Retry { after, reason: said },
            _ => Outcome::Failed(said),
        }
    }
}

impl PushProvider for Fcm {
    fn name(&self) -> &'static str {
        "fcm"
    }

    fn platforms(&self) -> &'static [&'static str] {
        &["fcm"]
    }

    fn concurrency(&self) -> usize {
        CONCURRENCY
    }

    fn send<'a>(&'a self, push: &'a QueuedPush) -> BoxFuture<'a, Outcome> {
        Box::pin(self.send_one(push))
    }
}

/// The `messages:send` body of a queued push.
fn message(push: &QueuedPush, ttl: Duration) -> Result<Value, String> {
    let payload: PushPayload =
        serde_json::from_value(push.payload.clone()).map_err(|_| "the queued payload is not a push".to_owned())?;
    // FCM `data` takes strings only.
    let Value::Object(fields) = &push.payload else { return Err("the queued payload is not an object".to_owned()) };
    let data: Map<String, Value> = fields
        .iter()
        .map(|(name, value)| {
            let text = match value {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            (name.clone(), Value::String(text))
        })
        .collect();
    let priority = if push.urgency == "high" { "HIGH" } else { "NORMAL" };
    let mut android = json!({ "collapse_key": push.topic, "priority": priority, "ttl": format!("{}s", ttl.as_secs()) });
    let mut message = json!({ "token": push.address, "data": data });
    if let PushPayload::Message { sender_name: Some(name), body, .. } = &payload {
        let mut shown = json!({ "tag": push.topic });
        match body {
            Some(text) => message["notification"] = json!({ "title": name, "body": text }),
            None => {
                message["notification"] = json!({ "title": name });
                shown["body_loc_key"] = json!(NEW_MESSAGE_ANDROID_KEY);
            }
        }
        android["notification"] = shown;
    }
    message["android"] = android;
    Ok(json!({ "message": message }))
}

/// FCM's error body: `{"error": {"status": ..., "details": [{"errorCode": ...}, {"fieldViolations": ...}]}}`.
#[derive(Debug, Default, Deserialize)]
struct ErrorBody {
    #[serde(default)]
    error: FcmError,
}

#[derive(Debug, Default, Deserialize)]
struct FcmError {
    #[serde(default)]
    status: String,
    #[serde(default)]
    details: Vec<Value>,
}

impl FcmError {
    /// The FCM error code (`UNREGISTERED`, `INVALID_ARGUMENT`, `QUOTA_EXCEEDED`...), else the RPC status.
    fn code(&self) -> &str {
        self.details.iter().find_map(|d| d.get("errorCode").and_then(Value::as_str)).unwrap_or(&self.status)
    }

    /// Whether a bad request names the device token as the bad field (a token FCM will never take).
    fn is_about_the_token(&self) -> bool {
        self.details
            .iter()
            .filter_map(|d| d.get("fieldViolations").and_then(Value::as_array))
            .flatten()
            .any(|v| v.get("field").and_then(Value::as_str) == Some("message.token"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn queued(payload: Value, urgency: &str) -> QueuedPush {
        QueuedPush {
            id: 1,
            device_id: Uuid::now_v7(),
            payload,
            topic: "t0p1c".to_owned(),
            urgency: urgency.to_owned(),
            attempts: 0,
            platform: "fcm".to_owned(),
            address: "device-token".to_owned(),
            p256dh: None,
            auth: None,
        }
    }

    #[test]
    fn without_previews_a_message_is_data_only_with_string_values() {
        let id = Uuid::now_v7();
        let payload = json!({ "type": "message", "conversation_id": id, "seq": 4, "badge": 2 });
        let body = message(&queued(payload, "high"), Duration::from_secs(60)).unwrap_or_default();
        assert_eq!(
            body["message"],
            json!({
                "token": "device-token",
                "data": { "type": "message", "conversation_id": id.to_string(), "seq": "4", "badge": "2" },
                "android": { "collapse_key": "t0p1c", "priority": "HIGH", "ttl": "60s" },
            })
        );
    }

    #[test]
    fn only_a_bad_request_about_the_token_means_gone() {
        let about_token: ErrorBody =
            serde_json::from_value(json!({ "error": { "status": "INVALID_ARGUMENT", "details": [
            { "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": "INVALID_ARGUMENT" },
            { "@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": [{ "field": "message.token" }] },
        ] } }))
            .unwrap_or_default();
        assert!(about_token.error.is_about_the_token());
        let other: ErrorBody =
            serde_json::from_value(json!({ "error": { "status": "INVALID_ARGUMENT" } })).unwrap_or_default();
        assert_eq!(other.error.code(), "INVALID_ARGUMENT");
        assert!(!other.error.is_about_the_token());
    }
}

//! Web Push (RFC 8030) and UnifiedPush, whose current spec is the same request: the payload encrypted for the
//! subscription (RFC 8291, `aes128gcm`, through `web-push-native`) when it has keys, the plain JSON otherwise
//! (a UnifiedPush distributor that does not encrypt), with a VAPID signature (RFC 8292), a `TTL`, an `Urgency`
//! and a `Topic` that collapses a conversation's notifications into one.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use base64::Engine as _;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use futures_util::future::BoxFuture;
use reqwest::header::HeaderValue;
use reqwest::{StatusCode, Url};
use web_push_native::jwt_simple::prelude::{Claims, ECDSAP256KeyPairLike, ECDSAP256PublicKeyLike, ES256KeyPair};
use web_push_native::{Auth, WebPushBuilder, p256};

use super::endpoint::{CheckedResolver, EndpointError, EndpointRules};
use super::provider::{Outcome, PushProvider, retry_after, unanswered};
use crate::config::PushSettings;
use crate::store::push_queue::QueuedPush;

/// The file in the data dir that keeps the generated VAPID key.
const VAPID_KEY_FILE: &str = "vapid-private-key";
/// A VAPID JWT is valid this long (RFC 8292 allows up to 24 hours)...
const VAPID_JWT_VALIDITY: Duration = Duration::from_secs(12 * 3600);
/// ...and reused for one push service this long, so most pushes cost no signature.
const VAPID_JWT_REUSE: Duration = Duration::from_secs(3600);

/// The server's VAPID key pair: it signs every push, and its public half is what browsers and distributors
/// subscribe with (`GET /api/v1/push/vapid-key`).
pub struct VapidKey {
    pair: ES256KeyPair,
}

impl VapidKey {
    /// The configured key, or the data dir's, generated there (readable by the owner only) on first use.
    pub fn load_or_create(configured: Option<&str>, data_dir: &Path) -> anyhow::Result<VapidKey> {
        let from_text = |text: &str| -> anyhow::Result<VapidKey> {
            let raw = URL_SAFE_NO_PAD
                .decode(text.trim().trim_end_matches('='))
                .context("the VAPID private key is not base64url")?;
            let pair = ES256KeyPair::from_bytes(&raw).map_err(|e| anyhow::anyhow!("the VAPID private key: {e}"))?;
            Ok(VapidKey { pair })
        };
        if let Some(text) = configured {
            return from_text(text);
        }
        let path = data_dir.join(VAPID_KEY_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) if !text.trim().is_empty() => return from_text(&text),
            Ok(_) => {}
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(err) => return Err(anyhow::Error::new(err).context(format!("reading {}", path.display()))),
        }
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::create_dir_all(data_dir)?;
        let pair = ES256KeyPair::generate();
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&path)
            .with_context(|| format!("creating {}", path.display()))?;
        file.write_all(URL_SAFE_NO_PAD.encode(pair.to_bytes()).as_bytes())?;
        tracing::info!(file = %path.display(), "generated a VAPID key for Web Push");
        Ok(VapidKey { pair })
    }

    /// The public key as subscribers need it: the uncompressed P-256 point, base64url without padding.
    pub fn public_key(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.public_key_bytes())
    }

    fn public_key_bytes(&self) -> Vec<u8> {
        self.pair.public_key().public_key().to_bytes_uncompressed()
    }
}

/// Sends Web Push and UnifiedPush requests.
pub struct WebPush {
    client: reqwest::Client,
    vapid: std::sync::Arc<VapidKey>,
    contact: String,
    rules: EndpointRules,
    ttl: Duration,
    concurrency: usize,
    /// The `Authorization` header last made for each push service origin, and when.
    signatures: Mutex<HashMap<String, (Instant, HeaderValue)>>,
}

impl WebPush {
    /// A sender with the server's VAPID key and push settings.
    pub fn new(vapid: std::sync::Arc<VapidKey>, settings: &PushSettings) -> anyhow::Result<WebPush> {
        let rules = EndpointRules { allow_insecure: settings.allow_insecure_endpoints };
        let client = reqwest::Client::builder()
            .dns_resolver(std::sync::Arc::new(CheckedResolver { rules }))
            // A redirect would be a way around the address rules; push services do not redirect.
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .connect_timeout(settings.timeout)
            .timeout(settings.timeout)
            .pool_max_idle_per_host(settings.webpush_concurrency)
            .build()
            .context("building the Web Push client")?;
        Ok(WebPush {
            client,
            vapid,
            contact: settings.contact.clone(),
            rules,
            ttl: settings.ttl,
            concurrency: settings.webpush_concurrency.max(1),
            signatures: Mutex::new(HashMap::new()),
        })
    }

    /// `vapid t=<JWT>, k=<public key>` for the push service at `url`, reused for a while per origin.
    fn authorization(&self, url: &Url) -> Result<HeaderValue, String> {
        // RFC 8292: the audience is the push resource's origin, port included when it is not the default.
        let origin = url.origin().ascii_serialization();
        let mut cache = self.signatures.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((made, header)) = cache.get(&origin)
            && made.elapsed() < VAPID_JWT_REUSE
        {
            return Ok(header.clone());
        }
        let claims = Claims::create(VAPID_JWT_VALIDITY.into()).with_audience(&origin).with_subject(&self.contact);
        let token = self.vapid.pair.sign(claims).map_err(|e| format!("signing the VAPID token: {e}"))?;
        let value = format!("vapid t={token}, k={}", self.vapid.public_key());
        let header = HeaderValue::from_str(&value).map_err(|_| "the VAPID header is not a header".to_owned())?;
        cache.insert(origin, (Instant::now(), header.clone()));
        Ok(header)
    }

    /// Builds the request: encrypted for the subscription's keys, or plain JSON without them.
    fn request(&self, url: &Url, push: &QueuedPush) -> Result<reqwest::Request, String> {
        let body = serde_json::to_vec(&push.payload).map_err(|e| format!("payload: {e}"))?;
        let mut request = match (&push.p256dh, &push.auth) {
            (Some(p256dh), Some(auth)) => {
                let (public, auth) = subscription_keys(p256dh, auth)?;
                let uri = url.as_str().parse().map_err(|_| "the endpoint is not a URI".to_owned())?;
                let http_request = WebPushBuilder::new(uri, public, auth)
                    .with_valid_duration(self.ttl)
                    .build(body)
                    .map_err(|e| format!("encrypting: {e}"))?;
                reqwest::Request::try_from(http_request).map_err(|e| format!("request: {e}"))?
            }
            _ => {
                let mut request = reqwest::Request::new(reqwest::Method::POST, url.clone());
                let headers = request.headers_mut();
                headers.insert("TTL", HeaderValue::from(self.ttl.as_secs()));
                headers.insert(reqwest::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
                *request.body_mut() = Some(body.into());
                request
            }
        };
        let headers = request.headers_mut();
        headers.insert(reqwest::header::AUTHORIZATION, self.authorization(url)?);
        headers.insert("Urgency", HeaderValue::from_str(&push.urgency).map_err(|_| "urgency".to_owned())?);
        headers.insert("Topic", HeaderValue::from_str(&push.topic).map_err(|_| "topic".to_owned())?);
        Ok(request)
    }

    async fn send_one(&self, push: &QueuedPush) -> Outcome {
        let url = match self.rules.parse(&push.address) {
            Ok(url) => url,
            Err(err) => return Outcome::Failed(err.to_string()),
        };
        match self.rules.check_resolved(&url).await {
            Ok(()) => {}
            Err(EndpointError::Unresolved) => {
                return Outcome::Retry { after: None, reason: EndpointError::Unresolved.to_string() };
            }
            Err(err) => return Outcome::Failed(err.to_string()),
        }
        let request = match self.request(&url, push) {
            Ok(request) => request,
            Err(reason) => return Outcome::Failed(reason),
        };
        let response = match self.client.execute(request).await {
            Ok(response) => response,
            Err(err) => return unanswered(err),
        };
        let status = response.status();
        match status {
            s if s.is_success() => Outcome::Delivered,
            StatusCode::NOT_FOUND | StatusCode::GONE => Outcome::Gone,
            s if s == StatusCode::TOO_MANY_REQUESTS || s.is_server_error() => {
                Outcome::Retry { after: retry_after(&response), reason: format!("the push service answered {s}") }
            }
            s => Outcome::Failed(format!("the push service answered {s}")),
        }
    }
}

impl PushProvider for WebPush {
    fn name(&self) -> &'static str {
        "webpush"
    }

    fn platforms(&self) -> &'static [&'static str] {
        &["webpush", "unifiedpush"]
    }

    fn concurrency(&self) -> usize {
        self.concurrency
    }

    fn send<'a>(&'a self, push: &'a QueuedPush) -> BoxFuture<'a, Outcome> {
        Box::pin(self.send_one(push))
    }
}

/// Decodes a subscription's `p256dh` (an uncompressed P-256 point) and `auth` (16 bytes), base64url with or
/// without padding, as browsers and distributors send them.
pub fn subscription_keys(p256dh: &str, auth: &str) -> Result<(p256::PublicKey, Auth), String> {
    let decode = |text: &str| {
        let text = text.trim();
        URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')).or_else(|_| URL_SAFE.decode(text))
    };
    let point = decode(p256dh).map_err(|_| "keys.p256dh is not base64url".to_owned())?;
    let public =
        p256::PublicKey::from_sec1_bytes(&point).map_err(|_| "keys.p256dh is not a P-256 public key".to_owned())?;
    let auth = decode(auth).map_err(|_| "keys.auth is not base64url".to_owned())?;
    let auth: [u8; 16] = auth.try_into().map_err(|_| "keys.auth must be 16 bytes".to_owned())?;
    Ok((public, Auth::from(auth)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscription_keys_must_be_a_point_and_sixteen_bytes() {
        let secret = p256::SecretKey::random(&mut rand_core_rng());
        let point = URL_SAFE_NO_PAD.encode(p256::EncodedPoint::from(secret.public_key()).as_bytes());
        assert!(subscription_keys(&point, &URL_SAFE_NO_PAD.encode([7u8; 16])).is_ok());
        assert!(subscription_keys(&point, &URL_SAFE_NO_PAD.encode([7u8; 15])).is_err());
        assert!(subscription_keys("AAAA", &URL_SAFE_NO_PAD.encode([7u8; 16])).is_err());
    }

    fn rand_core_rng() -> impl p256::elliptic_curve::rand_core::CryptoRngCore {
        p256::elliptic_curve::rand_core::OsRng
    }
}

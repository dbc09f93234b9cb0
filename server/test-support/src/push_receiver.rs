//! A Web Push receiver on 127.0.0.1 that plays the push service: it checks each request's VAPID signature
//! (RFC 8292) and decrypts its `aes128gcm` body (RFC 8291) with the subscription's private key, which only the
//! test holds, so a test sees exactly what a phone would. Its answers can be scripted (410, 429 with
//! `Retry-After`, 503...).

use std::collections::{HashMap, VecDeque};
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use web_push_native::jwt_simple::prelude::{
    ECDSAP256PublicKeyLike, ES256PublicKey, NoCustomClaims, VerificationOptions,
};
use web_push_native::p256::elliptic_curve::sec1::ToEncodedPoint;
use web_push_native::{Auth, p256};

/// A subscription as a browser would hand it to the app: what `POST /devices` takes.
#[derive(Debug, Clone)]
pub struct Subscription {
    pub endpoint: String,
    /// `None` for a UnifiedPush distributor that does not encrypt.
    pub p256dh: Option<String>,
    pub auth: Option<String>,
}

impl Subscription {
    /// The `POST /devices` body for this subscription on `platform`.
    pub fn device_body(&self, platform: &str) -> Value {
        let mut body = serde_json::json!({ "platform": platform, "endpoint": self.endpoint });
        if let (Some(p256dh), Some(auth)) = (&self.p256dh, &self.auth) {
            body["keys"] = serde_json::json!({ "p256dh": p256dh, "auth": auth });
        }
        body
    }
}

/// A push the receiver accepted (answered 2xx), decrypted.
#[derive(Debug, Clone)]
pub struct Received {
    /// The subscription's endpoint.
    pub endpoint: String,
    pub payload: Value,
    /// Whether the body came encrypted (`Content-Encoding: aes128gcm`).
    pub encrypted: bool,
    pub topic: Option<String>,
    pub urgency: Option<String>,
    pub ttl: Option<String>,
    /// The VAPID public key the request was signed with (`k=`), checked against its JWT.
    pub vapid_key: String,
    /// When it was accepted (wall clock, to compare with a message's `created_at`).
    pub at: std::time::SystemTime,
}

/// One request, whatever it was answered.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub endpoint: String,
    pub at: Instant,
    pub status: u16,
}

/// A scripted answer.
#[derive(Debug, Clone, Copy)]
pub enum Reply {
    Status(u16),
    /// 429 (or any status) with `Retry-After` in seconds.
    RetryAfter(u16, u64),
}

#[derive(Default)]
struct State {
    keys: HashMap<String, Option<(p256::SecretKey, Auth)>>,
    replies: VecDeque<Reply>,
    received: Vec<Received>,
    attempts: Vec<Attempt>,
    /// Requests refused because their signature or encryption was wrong (a test should see none).
    problems: Vec<String>,
}

/// The receiver; stopped when dropped.
pub struct PushReceiver {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    handle: actix_web::dev::ServerHandle,
}

impl PushReceiver {
    /// Starts on a free loopback port. Call from an actix test.
    pub fn start() -> PushReceiver {
        let listener = TcpListener::bind("127.0.0.1:0").expect("binding the push receiver");
        let addr = listener.local_addr().expect("the receiver's address");
        let state = Arc::new(Mutex::new(State::default()));
        let shared = web::Data::from(state.clone());
        let origin = format!("http://{addr}");
        let server = HttpServer::new(move || {
            App::new()
                .app_data(shared.clone())
                .app_data(web::Data::new(origin.clone()))
                .app_data(web::PayloadConfig::new(8192))
                .route("/push/{id}", web::post().to(receive))
        })
        .workers(1)
        .listen(listener)
        .expect("listening")
        .run();
        let handle = server.handle();
        actix_rt::spawn(server);
        PushReceiver { addr, state, handle }
    }

    /// A new encrypting subscription (a fresh P-256 key pair and auth secret, kept here for decryption).
    pub fn subscribe(&self) -> Subscription {
        let secret = p256::SecretKey::random(&mut rand::rngs::OsRng);
        let auth: [u8; 16] = rand::random();
        let endpoint = self.new_endpoint();
        let p256dh = URL_SAFE_NO_PAD.encode(secret.public_key().to_encoded_point(false).as_bytes());
        let auth_text = URL_SAFE_NO_PAD.encode(auth);
        self.lock().keys.insert(endpoint.clone(), Some((secret, Auth::from(auth))));
        Subscription { endpoint, p256dh: Some(p256dh), auth: Some(auth_text) }
    }

    /// A subscription without keys (a UnifiedPush distributor that takes plain bodies).
    pub fn subscribe_plain(&self) -> Subscription {
        let endpoint = self.new_endpoint();
        self.lock().keys.insert(endpoint.clone(), None);
        Subscription { endpoint, p256dh: None, auth: None }
    }

    fn new_endpoint(&self) -> String {
        format!("http://{}/push/{}", self.addr, uuid::Uuid::now_v7().simple())
    }

    /// The port it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Answers the next requests with these, in order (then 201 again).
    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.lock().replies.extend(replies);
    }

    /// The pushes accepted so far.
    pub fn received(&self) -> Vec<Received> {
        self.lock().received.clone()
    }

    /// Every request so far, with its answer.
    pub fn attempts(&self) -> Vec<Attempt> {
        self.lock().attempts.clone()
    }

    /// Requests that failed the signature or decryption checks.
    pub fn problems(&self) -> Vec<String> {
        self.lock().problems.clone()
    }

    /// Waits until at least `n` pushes were accepted (or `timeout` passes) and returns them all.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Received> {
        let deadline = Instant::now() + timeout;
        loop {
            let received = self.received();
            if received.len() >= n || Instant::now() >= deadline {
                return received;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until at least `n` requests arrived (or `timeout` passes) and returns them all.
    pub async fn wait_for_attempts(&self, n: usize, timeout: Duration) -> Vec<Attempt> {
        let deadline = Instant::now() + timeout;
        loop {
            let attempts = self.attempts();
            if attempts.len() >= n || Instant::now() >= deadline {
                return attempts;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for PushReceiver {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}

async fn receive(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<Mutex<State>>,
    origin: web::Data<String>,
) -> HttpResponse {
    let endpoint = format!("{}{}", origin.get_ref(), req.path());
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let mut state = state.lock().unwrap_or_else(|p| p.into_inner());
    let reply = state.replies.pop_front().unwrap_or(Reply::Status(201));
    let status = match reply {
        Reply::Status(s) | Reply::RetryAfter(s, _) => s,
    };
    state.attempts.push(Attempt { endpoint: endpoint.clone(), at: Instant::now(), status });
    let checked =
        check(&state, &endpoint, origin.get_ref(), header("authorization"), header("content-encoding"), &body);
    let (payload, encrypted, vapid_key) = match checked {
        Ok(checked) => checked,
        Err(problem) => {
            state.problems.push(problem.clone());
            return HttpResponse::BadRequest().body(problem);
        }
    };
    let mut response = HttpResponse::build(actix_web::http::StatusCode::from_u16(status).expect("a status code"));
    if let Reply::RetryAfter(_, secs) = reply {
        response.insert_header(("Retry-After", secs.to_string()));
    }
    if (200..300).contains(&status) {
        state.received.push(Received {
            endpoint,
            payload,
            encrypted,
            topic: header("topic"),
            urgency: header("urgency"),
            ttl: header("ttl"),
            vapid_key,
            at: std::time::SystemTime::now(),
        });
    }
    response.finish()
}

/// Checks the VAPID signature and decrypts the body: `(payload, encrypted, vapid key)`.
fn check(
    state: &State,
    endpoint: &str,
    origin: &str,
    authorization: Option<String>,
    encoding: Option<String>,
    body: &[u8],
) -> Result<(Value, bool, String), String> {
    let keys = state.keys.get(endpoint).ok_or("an unknown subscription")?;
    let authorization = authorization.ok_or("no Authorization header")?;
    let rest = authorization.strip_prefix("vapid ").ok_or("Authorization is not vapid")?;
    let (mut token, mut key) = (None, None);
    for part in rest.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => token = Some(value.to_owned()),
            Some(("k", value)) => key = Some(value.to_owned()),
            _ => {}
        }
    }
    let (token, key) = (token.ok_or("no t=")?, key.ok_or("no k=")?);
    let raw = URL_SAFE_NO_PAD.decode(&key).map_err(|_| "k is not base64url")?;
    let public = ES256PublicKey::from_bytes(&raw).map_err(|e| format!("k: {e}"))?;
    let options = VerificationOptions {
        allowed_audiences: Some(std::iter::once(origin.to_owned()).collect()),
        ..VerificationOptions::default()
    };
    let claims = public.verify_token::<NoCustomClaims>(&token, Some(options)).map_err(|e| format!("VAPID JWT: {e}"))?;
    let subject = claims.subject.unwrap_or_default();
    if !(subject.starts_with("mailto:") || subject.starts_with("https:")) {
        return Err(format!("VAPID sub {subject:?} is neither mailto: nor https:"));
    }
    let (plain, encrypted) = match (keys, encoding.as_deref()) {
        (Some((secret, auth)), Some("aes128gcm")) => {
            (web_push_native::decrypt(body.to_vec(), secret, auth).map_err(|e| format!("decrypting: {e}"))?, true)
        }
        (Some(_), other) => return Err(format!("an encrypting subscription got Content-Encoding {other:?}")),
        (None, Some(other)) => return Err(format!("a plain subscription got Content-Encoding {other}")),
        (None, None) => (body.to_vec(), false),
    };
    let payload = serde_json::from_slice(&plain).map_err(|e| format!("the payload is not JSON: {e}"))?;
    Ok((payload, encrypted, key))
}

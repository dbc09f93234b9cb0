//! Local stand-ins for Apple's and Google's push services, on 127.0.0.1 over TLS with a certificate made at
//! test start (the server trusts it through `--push-extra-root-cert`). They check what the real services
//! check: the APNs receiver speaks HTTP/2 only and verifies the provider token (ES256 with the public half of
//! the key it made, `kid`, `iss`, `iat`), the headers and the payload; the FCM receiver verifies the service
//! account's RS256 assertion at its token endpoint, then the bearer token and the message at its send
//! endpoint. Their answers can be scripted (410, 429 with `Retry-After`, an expired provider token, 401...).

use std::collections::{HashSet, VecDeque};
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use actix_web::http::{StatusCode, Version};
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use hallway_server::config::Config;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::{Value, json};

/// The APNs key id the receiver expects in `kid`.
pub const APNS_KEY_ID: &str = "ABC123DEFG";
/// The team id the receiver expects in `iss`.
pub const APNS_TEAM_ID: &str = "TEAM123456";
/// The bundle id the receiver expects in `apns-topic`.
pub const APNS_TOPIC: &str = "school.hallway.app";
/// The Firebase project of the test service account.
pub const FCM_PROJECT: &str = "hallway-test";
/// The OAuth2 scope the assertion must ask for.
const FCM_SCOPE: &str = "https://www.googleapis.com/auth/firebase.messaging";

/// The certificate both receivers serve (for `127.0.0.1` and `localhost`), made once per test process:
/// `(certificate PEM, key PEM)`.
fn local_tls() -> &'static (String, String) {
    static TLS: OnceLock<(String, String)> = OnceLock::new();
    TLS.get_or_init(|| {
        let made = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .expect("making the receivers' certificate");
        (made.cert.pem(), made.signing_key.serialize_pem())
    })
}

/// Starts an HTTPS server (HTTP/2 and HTTP/1.1 by ALPN) on a free loopback port.
fn serve_tls<F>(routes: F) -> (SocketAddr, actix_web::dev::ServerHandle)
where
    F: Fn(&mut web::ServiceConfig) + Clone + Send + 'static,
{
    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::{CertificateDer, PrivatePkcs8KeyDer};
    let (cert_pem, key_pem) = local_tls();
    let certs = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .expect("the receivers' certificate is PEM");
    let key = PrivatePkcs8KeyDer::from_pem_slice(key_pem.as_bytes()).expect("the receivers' key is PKCS#8 PEM");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut tls = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(certs, key.into())
        .expect("the receivers' certificate and key");
    tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let listener = TcpListener::bind("127.0.0.1:0").expect("binding a receiver");
    let addr = listener.local_addr().expect("the receiver's address");
    let server =
        HttpServer::new(move || App::new().app_data(web::PayloadConfig::new(16 * 1024)).configure(routes.clone()))
            .workers(1)
            .listen_rustls_0_23(listener, tls)
            .expect("listening")
            .run();
    let handle = server.handle();
    actix_rt::spawn(server);
    (addr, handle)
}

/// Writes the receivers' certificate into the config's data dir and trusts it for APNs and FCM.
fn trust_local_tls(config: &mut Config) {
    let path = config.data_dir.join("push-receivers.pem");
    std::fs::write(&path, &local_tls().0).expect("writing the receivers' certificate");
    config.push.extra_root_cert = Some(path);
}

fn now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

/// One request to a receiver, whatever it was answered.
#[derive(Debug, Clone)]
pub struct Attempt {
    /// The device token it was for.
    pub device_token: String,
    pub at: Instant,
    pub status: u16,
}

// ---------------------------------------------------------------------------------------------------- APNs

/// A push the APNs receiver accepted (answered 200).
#[derive(Debug, Clone)]
pub struct ApnsPush {
    pub device_token: String,
    pub payload: Value,
    pub push_type: String,
    pub priority: String,
    pub collapse_id: String,
    pub expiration: u64,
    /// The provider token it carried, and its `iat`.
    pub provider_token: String,
    pub iat: u64,
}

/// A scripted APNs answer.
#[derive(Debug, Clone, Copy)]
pub enum ApnsReply {
    /// This status with `{"reason": ...}`.
    Status(u16, &'static str),
    /// This status with `Retry-After` in seconds.
    RetryAfter(u16, u64),
    /// 403 `ExpiredProviderToken`; from then on every provider token made no later than this one is refused
    /// the same way, as Apple refuses a token older than an hour.
    ExpireProviderToken,
}

#[derive(Default)]
struct ApnsState {
    replies: VecDeque<ApnsReply>,
    /// Provider tokens with an `iat` up to this are expired.
    expired_up_to: Option<u64>,
    received: Vec<ApnsPush>,
    attempts: Vec<Attempt>,
    problems: Vec<String>,
}

struct ApnsCheck {
    public_key_pem: String,
}

/// The APNs stand-in; stopped when dropped.
pub struct ApnsReceiver {
    addr: SocketAddr,
    /// The `.p8` key the server signs with (PKCS#8 PEM), made at start.
    key_pem: String,
    state: Arc<Mutex<ApnsState>>,
    handle: actix_web::dev::ServerHandle,
}

impl ApnsReceiver {
    /// Starts on a free loopback port with a new P-256 key. Call from an actix test.
    pub fn start() -> ApnsReceiver {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("making a P-256 key");
        let check = web::Data::new(ApnsCheck { public_key_pem: key.public_key_pem() });
        let state = Arc::new(Mutex::new(ApnsState::default()));
        let shared = web::Data::from(state.clone());
        let (addr, handle) = serve_tls(move |cfg: &mut web::ServiceConfig| {
            cfg.app_data(shared.clone())
                .app_data(check.clone())
                .route("/3/device/{token}", web::post().to(apns_receive));
        });
        ApnsReceiver { addr, key_pem: key.serialize_pem(), state, handle }
    }

    /// Configures the server to push to this receiver with its key (written into the data dir).
    pub fn configure(&self, config: &mut Config) {
        let key_file = config.data_dir.join(format!("AuthKey_{APNS_KEY_ID}.p8"));
        std::fs::write(&key_file, &self.key_pem).expect("writing the APNs key");
        config.push.apns.key_file = Some(key_file);
        config.push.apns.key_id = Some(APNS_KEY_ID.to_owned());
        config.push.apns.team_id = Some(APNS_TEAM_ID.to_owned());
        config.push.apns.topic = Some(APNS_TOPIC.to_owned());
        config.push.apns.endpoint = format!("https://{}", self.addr).parse().expect("a URL");
        trust_local_tls(config);
    }

    /// Answers the next requests with these, in order (then 200 again).
    pub fn script(&self, replies: impl IntoIterator<Item = ApnsReply>) {
        self.lock().replies.extend(replies);
    }

    /// The pushes accepted so far.
    pub fn received(&self) -> Vec<ApnsPush> {
        self.lock().received.clone()
    }

    /// Every request so far, with its answer.
    pub fn attempts(&self) -> Vec<Attempt> {
        self.lock().attempts.clone()
    }

    /// Requests that broke APNs' rules (a test should see none).
    pub fn problems(&self) -> Vec<String> {
        self.lock().problems.clone()
    }

    /// Waits until at least `n` pushes were accepted (or `timeout` passes) and returns them all.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<ApnsPush> {
        wait_until(timeout, || self.received(), |r| r.len() >= n).await
    }

    /// Waits until at least `n` requests arrived (or `timeout` passes) and returns them all.
    pub async fn wait_for_attempts(&self, n: usize, timeout: Duration) -> Vec<Attempt> {
        wait_until(timeout, || self.attempts(), |a| a.len() >= n).await
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ApnsState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for ApnsReceiver {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}

async fn wait_until<T>(timeout: Duration, get: impl Fn() -> T, done: impl Fn(&T) -> bool) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        let value = get();
        if done(&value) || Instant::now() >= deadline {
            return value;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn apns_answer(status: u16, reason: &str) -> HttpResponse {
    let status = StatusCode::from_u16(status).expect("a status code");
    if status.is_success() {
        HttpResponse::Ok().finish()
    } else {
        HttpResponse::build(status).json(json!({ "reason": reason }))
    }
}

async fn apns_receive(
    req: HttpRequest,
    token: web::Path<String>,
    body: web::Bytes,
    state: web::Data<Mutex<ApnsState>>,
    check: web::Data<ApnsCheck>,
) -> HttpResponse {
    let device_token = token.into_inner();
    let mut state = state.lock().unwrap_or_else(|p| p.into_inner());
    let checked = apns_check(&req, &body, &check);
    let push = match checked {
        Ok(push) => push,
        Err(problem) => {
            state.problems.push(problem.clone());
            state.attempts.push(Attempt { device_token, at: Instant::now(), status: 400 });
            return apns_answer(400, &problem);
        }
    };
    let push = ApnsPush { device_token: device_token.clone(), ..push };
    // (status, reason, Retry-After)
    let answer: (u16, &str, Option<u64>) = if state.expired_up_to.is_some_and(|up_to| push.iat <= up_to) {
        (403, "ExpiredProviderToken", None)
    } else {
        match state.replies.pop_front() {
            Some(ApnsReply::Status(status, reason)) => (status, reason, None),
            Some(ApnsReply::RetryAfter(status, secs)) => (status, "TooManyRequests", Some(secs)),
            Some(ApnsReply::ExpireProviderToken) => {
                state.expired_up_to = Some(push.iat);
                (403, "ExpiredProviderToken", None)
            }
            None => (200, "", None),
        }
    };
    let (status, reason, retry_after) = answer;
    state.attempts.push(Attempt { device_token, at: Instant::now(), status });
    if status == 200 {
        state.received.push(push);
    }
    let mut response = apns_answer(status, reason);
    if let Some(secs) = retry_after {
        response
            .headers_mut()
            .insert(actix_web::http::header::RETRY_AFTER, actix_web::http::header::HeaderValue::from(secs));
    }
    response
}

/// Checks a request as APNs would; the push it carries (its device token left empty).
fn apns_check(req: &HttpRequest, body: &[u8], check: &ApnsCheck) -> Result<ApnsPush, String> {
    if req.version() != Version::HTTP_2 {
        return Err(format!("APNs speaks HTTP/2 only, not {:?}", req.version()));
    }
    let header = |name: &str| {
        req.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned).ok_or(format!("no {name} header"))
    };
    let authorization = header("authorization")?;
    let jwt = authorization.strip_prefix("bearer ").ok_or("authorization is not `bearer <token>`")?.to_owned();
    let jwt_header = jsonwebtoken::decode_header(&jwt).map_err(|e| format!("provider token header: {e}"))?;
    if jwt_header.alg != Algorithm::ES256 || jwt_header.kid.as_deref() != Some(APNS_KEY_ID) {
        return Err(format!("provider token header {:?}/{:?}", jwt_header.alg, jwt_header.kid));
    }
    #[derive(Deserialize)]
    struct Claims {
        iss: String,
        iat: u64,
    }
    let key = DecodingKey::from_ec_pem(check.public_key_pem.as_bytes()).map_err(|e| format!("test key: {e}"))?;
    let mut validation = Validation::new(Algorithm::ES256);
    validation.required_spec_claims = HashSet::new();
    validation.validate_exp = false;
    let claims = jsonwebtoken::decode::<Claims>(&jwt, &key, &validation)
        .map_err(|e| format!("provider token signature: {e}"))?
        .claims;
    if claims.iss != APNS_TEAM_ID {
        return Err(format!("provider token iss {:?}", claims.iss));
    }
    if claims.iat + 3600 < now() || claims.iat > now() + 60 {
        return Err(format!("provider token iat {} is not within the hour", claims.iat));
    }
    if header("apns-topic")? != APNS_TOPIC {
        return Err("apns-topic is not the bundle id".to_owned());
    }
    let push_type = header("apns-push-type")?;
    let priority = header("apns-priority")?;
    let collapse_id = header("apns-collapse-id")?;
    if collapse_id.is_empty() || collapse_id.len() > 64 {
        return Err(format!("apns-collapse-id of {} bytes", collapse_id.len()));
    }
    let expiration: u64 = header("apns-expiration")?.parse().map_err(|_| "apns-expiration is not a number")?;
    if expiration <= now() {
        return Err("apns-expiration is in the past".to_owned());
    }
    if body.len() > 4096 {
        return Err(format!("a payload of {} bytes", body.len()));
    }
    let payload: Value = serde_json::from_slice(body).map_err(|e| format!("the payload is not JSON: {e}"))?;
    let aps = payload.get("aps").and_then(Value::as_object).ok_or("no aps dictionary")?;
    match push_type.as_str() {
        "alert" if priority == "10" && aps.contains_key("alert") => {}
        "background" if priority == "5" && aps.get("content-available") == Some(&json!(1)) => {
            if ["alert", "sound", "badge"].iter().any(|k| aps.contains_key(*k)) {
                return Err("a background push with alert, sound or badge".to_owned());
            }
        }
        other => return Err(format!("apns-push-type {other} with priority {priority} and aps {aps:?}")),
    }
    Ok(ApnsPush {
        device_token: String::new(),
        payload,
        push_type,
        priority,
        collapse_id,
        expiration,
        provider_token: jwt,
        iat: claims.iat,
    })
}

// ----------------------------------------------------------------------------------------------------- FCM

/// A message the FCM receiver accepted (answered 200).
#[derive(Debug, Clone)]
pub struct FcmPush {
    pub device_token: String,
    /// `message.data`: every value a string.
    pub data: Value,
    pub android: Value,
    /// `message.notification`, when the message has one.
    pub notification: Option<Value>,
    /// The access token it was sent with.
    pub access_token: String,
}

/// A scripted FCM answer.
#[derive(Debug, Clone, Copy)]
pub enum FcmReply {
    /// 404 `UNREGISTERED`: the app was uninstalled.
    Unregistered,
    /// This status with `Retry-After` in seconds.
    RetryAfter(u16, u64),
    /// 401, and the access token used is revoked.
    Unauthenticated,
    Status(u16),
}

#[derive(Default)]
struct FcmState {
    replies: VecDeque<FcmReply>,
    /// Access tokens granted and not revoked.
    valid_tokens: HashSet<String>,
    grants: usize,
    received: Vec<FcmPush>,
    attempts: Vec<Attempt>,
    problems: Vec<String>,
}

struct FcmCheck {
    token_uri: String,
    client_email: String,
    key_id: String,
    public_key: DecodingKey,
}

/// The FCM stand-in (token and send endpoints), with a service account made at start; stopped when dropped.
pub struct FcmReceiver {
    service_account: Value,
    state: Arc<Mutex<FcmState>>,
    handle: actix_web::dev::ServerHandle,
    addr: SocketAddr,
}

impl FcmReceiver {
    /// Starts on a free loopback port with a new 2048-bit service-account key. Call from an actix test.
    pub fn start() -> FcmReceiver {
        use rsa::pkcs8::EncodePrivateKey as _;
        use rsa::traits::PublicKeyParts as _;
        let key = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).expect("making an RSA key");
        let private_pem = key.to_pkcs8_pem(rsa::pkcs8::LineEnding::LF).expect("the RSA key as PEM").to_string();
        let public_key = DecodingKey::from_rsa_raw_components(&key.n().to_bytes_be(), &key.e().to_bytes_be());
        // The port must be in the token URI the assertion's `aud` names, so bind first.
        let state = Arc::new(Mutex::new(FcmState::default()));
        let shared = web::Data::from(state.clone());
        let check_slot: Arc<OnceLock<FcmCheck>> = Arc::new(OnceLock::new());
        let check_routes = check_slot.clone();
        let (addr, handle) = serve_tls(move |cfg: &mut web::ServiceConfig| {
            cfg.app_data(shared.clone())
                .app_data(web::Data::from(check_routes.clone()))
                .route("/token", web::post().to(fcm_token))
                .route("/v1/projects/{project}/messages:send", web::post().to(fcm_send));
        });
        let token_uri = format!("https://{addr}/token");
        let client_email = format!("push@{FCM_PROJECT}.iam.gserviceaccount.com");
        let key_id = "0123456789abcdef".to_owned();
        let service_account = json!({
            "type": "service_account",
            "project_id": FCM_PROJECT,
            "private_key_id": key_id,
            "private_key": private_pem,
            "client_email": client_email,
            "client_id": "1",
            "token_uri": token_uri,
        });
        let _ = check_slot.set(FcmCheck { token_uri, client_email, key_id, public_key });
        FcmReceiver { service_account, state, handle, addr }
    }

    /// Configures the server to push to this receiver with its service account (written into the data dir).
    pub fn configure(&self, config: &mut Config) {
        let path = config.data_dir.join("fcm-service-account.json");
        std::fs::write(&path, self.service_account.to_string()).expect("writing the service account");
        config.push.fcm.service_account = Some(path);
        config.push.fcm.endpoint = format!("https://{}", self.addr).parse().expect("a URL");
        trust_local_tls(config);
    }

    /// Answers the next send requests with these, in order (then 200 again).
    pub fn script(&self, replies: impl IntoIterator<Item = FcmReply>) {
        self.lock().replies.extend(replies);
    }

    /// The messages accepted so far.
    pub fn received(&self) -> Vec<FcmPush> {
        self.lock().received.clone()
    }

    /// Every send request so far, with its answer.
    pub fn attempts(&self) -> Vec<Attempt> {
        self.lock().attempts.clone()
    }

    /// Access tokens granted so far.
    pub fn grants(&self) -> usize {
        self.lock().grants
    }

    /// Requests that broke FCM's rules (a test should see none).
    pub fn problems(&self) -> Vec<String> {
        self.lock().problems.clone()
    }

    /// Waits until at least `n` messages were accepted (or `timeout` passes) and returns them all.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<FcmPush> {
        wait_until(timeout, || self.received(), |r| r.len() >= n).await
    }

    /// Waits until at least `n` send requests arrived (or `timeout` passes) and returns them all.
    pub async fn wait_for_attempts(&self, n: usize, timeout: Duration) -> Vec<Attempt> {
        wait_until(timeout, || self.attempts(), |a| a.len() >= n).await
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, FcmState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for FcmReceiver {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}

async fn fcm_token(
    form: web::Form<std::collections::HashMap<String, String>>,
    state: web::Data<Mutex<FcmState>>,
    check: web::Data<OnceLock<FcmCheck>>,
) -> HttpResponse {
    let mut state = state.lock().unwrap_or_else(|p| p.into_inner());
    let Some(check) = check.get() else { return HttpResponse::ServiceUnavailable().finish() };
    match fcm_check_assertion(&form, check) {
        Ok(()) => {
            state.grants += 1;
            let token = format!("ya29.test-{}", uuid::Uuid::now_v7().simple());
            state.valid_tokens.insert(token.clone());
            HttpResponse::Ok().json(json!({ "access_token": token, "expires_in": 3599, "token_type": "Bearer" }))
        }
        Err(problem) => {
            state.problems.push(problem);
            HttpResponse::BadRequest().json(json!({ "error": "invalid_grant" }))
        }
    }
}

fn fcm_check_assertion(form: &std::collections::HashMap<String, String>, check: &FcmCheck) -> Result<(), String> {
    if form.get("grant_type").map(String::as_str) != Some("urn:ietf:params:oauth:grant-type:jwt-bearer") {
        return Err(format!("grant_type {:?}", form.get("grant_type")));
    }
    let assertion = form.get("assertion").ok_or("no assertion")?;
    let header = jsonwebtoken::decode_header(assertion).map_err(|e| format!("assertion header: {e}"))?;
    if header.alg != Algorithm::RS256 || header.kid.as_deref() != Some(check.key_id.as_str()) {
        return Err(format!("assertion header {:?}/{:?}", header.alg, header.kid));
    }
    #[derive(Deserialize)]
    struct Claims {
        iss: String,
        scope: String,
        aud: String,
        iat: u64,
        exp: u64,
    }
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[&check.token_uri]);
    validation.set_issuer(&[&check.client_email]);
    validation.set_required_spec_claims(&["exp", "iat", "iss", "aud"]);
    let claims = jsonwebtoken::decode::<Claims>(assertion, &check.public_key, &validation)
        .map_err(|e| format!("assertion: {e}"))?
        .claims;
    if claims.iss != check.client_email || claims.aud != check.token_uri {
        return Err("assertion iss or aud".to_owned());
    }
    if !claims.scope.split(' ').any(|s| s == FCM_SCOPE) {
        return Err(format!("assertion scope {:?}", claims.scope));
    }
    if claims.exp <= claims.iat || claims.exp - claims.iat > 3600 || claims.iat > now() + 60 {
        return Err(format!("assertion iat {} exp {}", claims.iat, claims.exp));
    }
    Ok(())
}

fn fcm_error(status: u16, code: &str) -> HttpResponse {
    let status = StatusCode::from_u16(status).expect("a status code");
    HttpResponse::build(status).json(json!({ "error": {
        "code": status.as_u16(),
        "message": "scripted",
        "status": code,
        "details": [{ "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": code }],
    } }))
}

async fn fcm_send(
    req: HttpRequest,
    project: web::Path<String>,
    body: web::Bytes,
    state: web::Data<Mutex<FcmState>>,
) -> HttpResponse {
    let mut state = state.lock().unwrap_or_else(|p| p.into_inner());
    let bearer = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned)
        .unwrap_or_default();
    let checked = fcm_check_message(&project, &body);
    let (device_token, push) = match checked {
        Ok(push) => (push.device_token.clone(), push),
        Err(problem) => {
            state.problems.push(problem);
            state.attempts.push(Attempt { device_token: String::new(), at: Instant::now(), status: 400 });
            return fcm_error(400, "INVALID_ARGUMENT");
        }
    };
    let (status, code, retry_after) = if !state.valid_tokens.contains(&bearer) {
        (401, "UNAUTHENTICATED", None)
    } else {
        match state.replies.pop_front() {
            Some(FcmReply::Unregistered) => (404, "UNREGISTERED", None),
            Some(FcmReply::RetryAfter(status, secs)) => (status, "QUOTA_EXCEEDED", Some(secs)),
            Some(FcmReply::Unauthenticated) => {
                state.valid_tokens.remove(&bearer);
                (401, "UNAUTHENTICATED", None)
            }
            Some(FcmReply::Status(status)) => (status, "INTERNAL", None),
            None => (200, "", None),
        }
    };
    state.attempts.push(Attempt { device_token, at: Instant::now(), status });
    if status == 200 {
        state.received.push(FcmPush { access_token: bearer, ..push });
        return HttpResponse::Ok().json(json!({ "name": format!("projects/{FCM_PROJECT}/messages/1") }));
    }
    let mut response = fcm_error(status, code);
    if let Some(secs) = retry_after {
        response
            .headers_mut()
            .insert(actix_web::http::header::RETRY_AFTER, actix_web::http::header::HeaderValue::from(secs));
    }
    response
}

/// Checks a `messages:send` body as FCM would; the message it carries (its access token left empty).
fn fcm_check_message(project: &str, body: &[u8]) -> Result<FcmPush, String> {
    if project != FCM_PROJECT {
        return Err(format!("project {project}"));
    }
    let body: Value = serde_json::from_slice(body).map_err(|e| format!("the body is not JSON: {e}"))?;
    let message = body.get("message").ok_or("no message")?;
    let device_token = message.get("token").and_then(Value::as_str).ok_or("no message.token")?.to_owned();
    let data = message.get("data").cloned().unwrap_or(Value::Null);
    let fields = data.as_object().ok_or("message.data is not an object")?;
    if let Some((name, _)) = fields.iter().find(|(_, v)| !v.is_string()) {
        return Err(format!("message.data.{name} is not a string"));
    }
    let android = message.get("android").cloned().unwrap_or(Value::Null);
    if !matches!(android.get("priority").and_then(Value::as_str), Some("HIGH" | "NORMAL")) {
        return Err(format!("android.priority in {android}"));
    }
    if android.get("collapse_key").and_then(Value::as_str).is_none_or(str::is_empty) {
        return Err("no android.collapse_key".to_owned());
    }
    let notification = message.get("notification").cloned();
    if notification.is_some() != android.get("notification").is_some() {
        return Err("notification and android.notification go together here".to_owned());
    }
    Ok(FcmPush { device_token, data, android, notification, access_token: String::new() })
}

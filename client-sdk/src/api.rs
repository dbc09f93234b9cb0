//! The REST side of the contract and the session it runs under: sign-in, the access token refreshed before
//! it expires (and once more when the server says `token_expired`), sign-out.
//!
//! Tokens are kept in the store (the refresh token in the app's secret store) so that a restarted app is
//! still signed in; they never reach a log or an error.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use futures_util::{StreamExt, TryStreamExt};
use reqwest::multipart::{Form, Part};
use tokio::io::AsyncWriteExt;
use tokio_util::io::ReaderStream;

use hallway_protocol::auth::{ActivateRequest, ChangePasswordRequest, LoginRequest, RefreshRequest, TokenResponse};
use hallway_protocol::validate::{MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS};
use hallway_protocol::{Attachment, ErrorBody, ErrorCode, User};
use reqwest::{Method, StatusCode, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::models::SignOutReason;
use crate::store::{Store, StoredSession};

/// Refresh this long before the access token expires (at most a quarter of its lifetime, for short ones).
const REFRESH_MARGIN_SECS: u64 = 60;
/// How long a connection attempt may take before the server counts as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one REST call may take in all.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How long an upload or a download may take in all (25 MiB over a slow phone connection).
const TRANSFER_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// The server's REST API, signed in as the stored session's user.
pub(crate) struct Api {
    http: reqwest::Client,
    /// `<server>/api/v1/`, with the trailing slash, so relative paths join under it.
    base: Url,
    store: Store,
    /// The signed-in session; `None` when signed out. The store holds the same, for the next start.
    session: Mutex<Option<StoredSession>>,
    /// One refresh at a time: the refresh token rotates, so two concurrent refreshes would revoke the session.
    refresh_lock: tokio::sync::Mutex<()>,
    /// Why the server ended the session, as far as this client heard: set by a socket's close reason or a
    /// refused refresh, cleared by the next sign-in.
    ended: Mutex<Option<SignOutReason>>,
}

/// A body-less request.
pub(crate) const NO_BODY: Option<&()> = None;

/// The REST base (`<server>/api/v1/`) of the server at `server_url`, or why it is no server URL.
pub(crate) fn base_url(server_url: &str) -> Result<Url> {
    let invalid = || Error::Invalid { code: ErrorCode::InvalidInput, message: "server_url: an http(s) URL".into() };
    let mut base = Url::parse(server_url).map_err(|_| invalid())?;
    if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
        return Err(invalid());
    }
    if !base.path().ends_with('/') {
        base.set_path(&format!("{}/", base.path()));
    }
    base.join("api/v1/").map_err(|_| invalid())
}

impl Api {
    /// The API under `base` (from [`base_url`]), keeping its session in `store`.
    pub(crate) fn new(base: Url, store: Store) -> Result<Api> {
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(|_| Error::Internal("building the HTTP client".into()))?;
        Ok(Api {
            http,
            base,
            store,
            session: Mutex::new(None),
            refresh_lock: tokio::sync::Mutex::new(()),
            ended: Mutex::new(None),
        })
    }

    /// The WebSocket URL: the REST base with `ws`/`wss` for `http`/`https`.
    pub(crate) fn ws_url(&self) -> Result<Url> {
        let mut url = self.url("ws")?;
        let scheme = if url.scheme() == "https" { "wss" } else { "ws" };
        url.set_scheme(scheme).map_err(|_| Error::Internal("setting the ws scheme".into()))?;
        Ok(url)
    }

    fn url(&self, path: &str) -> Result<Url> {
        self.base.join(path).map_err(|_| Error::Internal("building a URL".into()))
    }

    /// The signed-in session, if any.
    pub(crate) fn session(&self) -> Option<StoredSession> {
        self.session.lock().ok().and_then(|s| s.clone())
    }

    /// The signed-in user's id.
    pub(crate) fn user_id(&self) -> Option<Uuid> {
        self.session().map(|s| s.user.id)
    }

    fn set_session(&self, session: Option<StoredSession>) {
        if let Ok(mut slot) = self.session.lock() {
            *slot = session;
        }
    }

    /// Loads the session the store kept from the last run (no network).
    pub(crate) async fn restore(&self) -> Result<Option<User>> {
        let session = self.store.load_session().await?;
        let user = session.as_ref().map(|s| s.user.clone());
        self.set_session(session);
        Ok(user)
    }

    /// Signs in. Another account's data left in the store is wiped first.
    pub(crate) async fn login(&self, login: &str, password: &str) -> Result<User> {
        let request = LoginRequest { login: login.to_owned(), password: password.to_owned() };
        let response = self.http.post(self.url("auth/login")?).json(&request).send().await?;
        self.start_session(parse(response).await?).await
    }

    /// Redeems an activation code with the password the person chose, and signs in as a login does. The
    /// code's shape and the password rules are checked here first, so a typo costs no round trip (and no
    /// failed attempt on the server's rate limit).
    pub(crate) async fn activate(&self, code: &str, password: &str, username: Option<String>) -> Result<User> {
        check_new_password(password)?;
        let code = hallway_protocol::invitation::normalize_code(code).ok_or_else(|| {
            Error::api(401, ErrorCode::InvalidActivationCode, "this is not an activation code".into())
        })?;
        let request = ActivateRequest { code, password: password.to_owned(), username };
        let response = self.http.post(self.url("auth/activate")?).json(&request).send().await?;
        let tokens = parse(response).await.map_err(|error| match error {
            Error::Api { code: ErrorCode::InvalidInput, message, .. } if message.starts_with("password") => {
                Error::WeakPassword(message)
            }
            other => other,
        })?;
        self.start_session(tokens).await
    }

    /// Keeps the tokens of a new session (login or activation), wiping another account's data first.
    async fn start_session(&self, tokens: TokenResponse) -> Result<User> {
        let session = session_from(tokens);
        let user = session.user.clone();
        self.store.save_session(&session).await?;
        if let Ok(mut ended) = self.ended.lock() {
            *ended = None;
        }
        self.set_session(Some(session));
        Ok(user)
    }

    /// Changes the password: the current one proves it is the owner. The server ends every other session of
    /// the person (their other devices are signed out and wiped); this one stays signed in.
    pub(crate) async fn change_password(&self, current: &str, new: &str) -> Result<()> {
        check_new_password(new)?;
        let request = ChangePasswordRequest { current_password: current.to_owned(), new_password: new.to_owned() };
        self.call_empty(Method::POST, "me/password", Some(&request)).await.map_err(|error| match error {
            Error::Api { code: ErrorCode::InvalidCredentials, .. } => Error::WrongPassword,
            Error::Api { code: ErrorCode::InvalidInput, message, .. } if message.starts_with("new_password") => {
                Error::WeakPassword(message)
            }
            other => other,
        })
    }

    /// Signs this device out: forgets the session and wipes the store whatever happens, and tells the server
    /// with the refresh token (which alone proves the session; the access token goes along when there is one,
    /// even expired). `Err(SignOutNotConfirmed)` when the server could not be told: the session then lives on
    /// the server until it expires.
    pub(crate) async fn logout(&self) -> Result<()> {
        let told = match self.session() {
            Some(session) => self.tell_logout(&session).await,
            None => Ok(()),
        };
        self.set_session(None);
        self.store.wipe_all().await?;
        told.map_err(|error| {
            tracing::info!(%error, "signing out on the server failed; signed out on this device");
            Error::SignOutNotConfirmed(Box::new(error))
        })
    }

    async fn tell_logout(&self, session: &StoredSession) -> Result<()> {
        let request = RefreshRequest { refresh_token: session.refresh_token.clone() };
        let response =
            self.http.post(self.url("auth/logout")?).bearer_auth(&session.access_token).json(&request).send().await?;
        if response.status().is_success() { Ok(()) } else { Err(error_from(response).await) }
    }

    /// Why the server ended the session, once it has (`None` while signed in, or after a sign-out here).
    pub(crate) fn ended_reason(&self) -> Option<SignOutReason> {
        self.ended.lock().ok().and_then(|ended| *ended)
    }

    /// Remembers why the server said the session ended (a socket's close reason), for when the refused
    /// refresh confirms it. The first reason heard wins.
    pub(crate) fn note_ended(&self, reason: SignOutReason) {
        if let Ok(mut ended) = self.ended.lock() {
            ended.get_or_insert(reason);
        }
    }

    /// The server ended the session: forget it and wipe everything the account left on this device.
    async fn session_ended(&self, reason: SignOutReason) -> Result<()> {
        tracing::info!(?reason, "the server ended this session; wiping the local data");
        self.note_ended(reason);
        self.set_session(None);
        self.store.wipe_all().await
    }

    /// A valid access token, refreshed first when it is about to expire.
    pub(crate) async fn access_token(&self) -> Result<String> {
        let session = self.session().ok_or(Error::NotSignedIn)?;
        if session.access_expires_at > OffsetDateTime::now_utc().unix_timestamp() {
            return Ok(session.access_token);
        }
        self.refresh(&session.access_token).await
    }

    /// Trades the refresh token for new tokens, unless another task already did since `stale` was read.
    /// A refused refresh token ends the session: the app must sign in again.
    ///
    /// Another process on the same data directory (the app's notification extension or service) may have
    /// refreshed meanwhile: under a lock the processes share, the session is read again from the store, and its
    /// newer tokens are taken instead of presenting a refresh token that was already rotated (which the server
    /// would take as theft). No session left in the store means the other process signed out or saw the session
    /// end (and wiped the store): this client is signed out too.
    pub(crate) async fn refresh(&self, stale: &str) -> Result<String> {
        let _one_at_a_time = self.refresh_lock.lock().await;
        let _other_processes = self.store.lock_session().await?;
        let Some(session) = self.store.load_session().await? else {
            self.set_session(None);
            return Err(Error::NotSignedIn);
        };
        if self.user_id() != Some(session.user.id) {
            // Signed out here meanwhile, or another account signed in elsewhere on this data dir.
            return Err(Error::NotSignedIn);
        }
        self.set_session(Some(session.clone()));
        if session.access_token != stale {
            return Ok(session.access_token);
        }
        let request = RefreshRequest { refresh_token: session.refresh_token.clone() };
        let response = self.http.post(self.url("auth/refresh")?).json(&request).send().await?;
        match parse::<TokenResponse>(response).await {
            Ok(tokens) => {
                let fresh = session_from(tokens);
                self.store.save_session(&fresh).await?;
                let token = fresh.access_token.clone();
                self.set_session(Some(fresh));
                tracing::debug!("access token refreshed");
                Ok(token)
            }
            Err(Error::Api {
                code: code @ (ErrorCode::InvalidRefreshToken | ErrorCode::AccountDeactivated), ..
            }) => {
                let reason = if code == ErrorCode::AccountDeactivated {
                    SignOutReason::AccountDeactivated
                } else {
                    self.ended_reason().unwrap_or(SignOutReason::SessionEnded)
                };
                self.session_ended(reason).await?;
                Err(Error::NotSignedIn)
            }
            Err(other) => Err(other),
        }
    }

    /// A signed-in REST call with a JSON answer; a `token_expired` answer refreshes the token and retries once.
    pub(crate) async fn call<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&B>,
    ) -> Result<T> {
        let response = self.send(method, path, query, body).await?;
        parse(response).await
    }

    /// A signed-in REST call whose answer has no body (204).
    pub(crate) async fn call_empty<B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<()> {
        let response = self.send(method, path, &[], body).await?;
        if response.status().is_success() { Ok(()) } else { Err(error_from(response).await) }
    }

    async fn send<B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&B>,
    ) -> Result<reqwest::Response> {
        let url = self.url(path)?;
        self.signed(|token| {
            let request = self.http.request(method.clone(), url.clone()).bearer_auth(token).query(query);
            let request = match body {
                Some(body) => request.json(body),
                None => request,
            };
            async move { Ok(request) }
        })
        .await
    }

    /// Sends the request `build` makes with an access token; when the server says the token expired (or is
    /// unknown, which only a refresh can tell from an ended session), refreshes it and sends a new request
    /// once more. A refresh that fails because the session ended signs this client out.
    async fn signed<F, Fut>(&self, build: F) -> Result<reqwest::Response>
    where
        F: Fn(&str) -> Fut,
        Fut: std::future::Future<Output = Result<reqwest::RequestBuilder>>,
    {
        let token = self.access_token().await?;
        let response = build(&token).await?.send().await?;
        if response.status() != StatusCode::UNAUTHORIZED {
            return Ok(response);
        }
        let error = error_from(response).await;
        if !matches!(error.code(), Some(ErrorCode::TokenExpired | ErrorCode::Unauthenticated)) {
            return Err(error);
        }
        let token = self.refresh(&token).await?;
        Ok(build(&token).await?.send().await?)
    }

    /// Uploads the file at `path` as `file_name` (`POST /attachments`), streaming it from disk and telling
    /// `progress` the bytes sent so far.
    pub(crate) async fn upload(
        &self,
        path: &Path,
        file_name: &str,
        progress: impl Fn(u64) + Clone + Send + Sync + 'static,
    ) -> Result<Attachment> {
        let url = self.url("attachments")?;
        let response = self
            .signed(|token| {
                let request = self.http.post(url.clone()).bearer_auth(token).timeout(TRANSFER_TIMEOUT);
                let (path, file_name, progress) = (path.to_owned(), file_name.to_owned(), progress.clone());
                async move {
                    let file = tokio::fs::File::open(&path).await.map_err(|e| local_file_error("reading", &e))?;
                    let size = file.metadata().await.map_err(|e| local_file_error("reading", &e))?.len();
                    let mut sent = 0u64;
                    let chunks = ReaderStream::new(file).inspect_ok(move |chunk| {
                        sent += chunk.len() as u64;
                        progress(sent);
                    });
                    let part = Part::stream_with_length(reqwest::Body::wrap_stream(chunks), size)
                        .file_name(file_name)
                        .mime_str("application/octet-stream")
                        .map_err(|_| Error::Internal("a multipart content type".into()))?;
                    Ok(request.multipart(Form::new().part("file", part)))
                }
            })
            .await?;
        parse(response).await
    }

    /// A signed-in `GET` of a file (an attachment, a thumbnail, a profile picture) whose body the caller
    /// streams: the session's token, not a signed link, so it works whenever the session does.
    pub(crate) async fn get_file(&self, path: &str) -> Result<reqwest::Response> {
        let url = self.url(path)?;
        let response = self
            .signed(|token| {
                let request = self.http.get(url.clone()).bearer_auth(token).timeout(TRANSFER_TIMEOUT);
                async move { Ok(request) }
            })
            .await?;
        if response.status().is_success() { Ok(response) } else { Err(error_from(response).await) }
    }

    /// Downloads `path` (an attachment or its thumbnail) into the file `destination`, through a temporary
    /// file beside it, so a broken download never leaves a half file under the name; returns the bytes written.
    pub(crate) async fn download(&self, path: &str, destination: &Path) -> Result<u64> {
        let response = self.get_file(path).await?;
        let mut partial = destination.as_os_str().to_owned();
        partial.push(".part");
        let partial = PathBuf::from(partial);
        let written = write_body(response, &partial).await;
        match written {
            Ok(bytes) => {
                tokio::fs::rename(&partial, destination).await.map_err(|e| local_file_error("writing", &e))?;
                Ok(bytes)
            }
            Err(error) => {
                let _ = tokio::fs::remove_file(&partial).await;
                Err(error)
            }
        }
    }
}

/// Streams a response's body into a new file.
async fn write_body(response: reqwest::Response, path: &Path) -> Result<u64> {
    let mut file = tokio::fs::File::create(path).await.map_err(|e| local_file_error("writing", &e))?;
    let mut body = response.bytes_stream();
    let mut written = 0u64;
    while let Some(chunk) = body.next().await {
        let chunk = chunk?;
        file.write_all(&chunk).await.map_err(|e| local_file_error("writing", &e))?;
        written += chunk.len() as u64;
    }
    file.flush().await.map_err(|e| local_file_error("writing", &e))?;
    Ok(written)
}

/// A local file the app named could not be read or written: the app's input, so `invalid_input` with the
/// kind of failure (never the path, which may hold a child's name).
fn local_file_error(doing: &str, error: &std::io::Error) -> Error {
    Error::Invalid {
        code: ErrorCode::InvalidInput,
        message: format!("path: {doing} the file failed ({})", error.kind()),
    }
}

/// The password rules, checked before anything is sent (the server checks them again).
fn check_new_password(password: &str) -> Result<()> {
    let length = password.chars().count();
    if length < MIN_PASSWORD_CHARS {
        Err(Error::WeakPassword(format!("a password needs at least {MIN_PASSWORD_CHARS} characters")))
    } else if length > MAX_PASSWORD_CHARS {
        Err(Error::WeakPassword(format!("a password has at most {MAX_PASSWORD_CHARS} characters")))
    } else {
        Ok(())
    }
}

fn session_from(tokens: TokenResponse) -> StoredSession {
    let lifetime = tokens.expires_in;
    let margin = REFRESH_MARGIN_SECS.min(lifetime / 4);
    let refresh_after = OffsetDateTime::now_utc().unix_timestamp() + i64::try_from(lifetime - margin).unwrap_or(0);
    StoredSession {
        user: tokens.user,
        access_token: tokens.access_token,
        access_expires_at: refresh_after,
        refresh_token: tokens.refresh_token,
    }
}

/// The JSON answer of a successful call, or the contract's error.
pub(crate) async fn parse<T: DeserializeOwned>(response: reqwest::Response) -> Result<T> {
    if !response.status().is_success() {
        return Err(error_from(response).await);
    }
    let bytes = response.bytes().await?;
    serde_json::from_slice(&bytes).map_err(|_| Error::Protocol("an answer that is not the contract's shape".into()))
}

/// Reads the error envelope of a failed answer.
pub(crate) async fn error_from(response: reqwest::Response) -> Error {
    let status = response.status().as_u16();
    let retry_after_ms = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(|secs| secs * 1000);
    match response.bytes().await {
        Ok(bytes) => error_from_body(status, &bytes, retry_after_ms),
        Err(error) => error.into(),
    }
}

/// Reads an error envelope; a body that is not one (a proxy's page) is a network trouble for 5xx, else a
/// protocol one.
/// The error envelope with any code, for codes newer than this SDK.
#[derive(serde::Deserialize)]
struct UnknownErrorBody {
    error: UnknownErrorDetail,
}

#[derive(serde::Deserialize)]
struct UnknownErrorDetail {
    code: String,
    #[serde(default)]
    message: String,
}

pub(crate) fn error_from_body(status: u16, body: &[u8], retry_after_ms: Option<u64>) -> Error {
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(envelope) => {
            Error::Api { status, code: envelope.error.code, message: envelope.error.message, retry_after_ms }
        }
        Err(_) if let Ok(envelope) = serde_json::from_slice::<UnknownErrorBody>(body) => {
            Error::Refused { status, code: envelope.error.code, message: envelope.error.message }
        }
        Err(_) if status >= 500 => Error::Network(format!("status {status} without the error envelope")),
        Err(_) => Error::Protocol(format!("status {status} without the error envelope")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_built_under_the_server_url_and_keep_its_path_prefix() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), crate::secrets::MemorySecrets::new()).unwrap();
        let api = Api::new(base_url("https://school.example/hallway").unwrap(), store.clone()).unwrap();
        assert_eq!(api.ws_url().unwrap().as_str(), "wss://school.example/hallway/api/v1/ws");
        let api = Api::new(base_url("http://127.0.0.1:8080/").unwrap(), store.clone()).unwrap();
        assert_eq!(api.url("conversations").unwrap().as_str(), "http://127.0.0.1:8080/api/v1/conversations");
        assert_eq!(api.ws_url().unwrap().as_str(), "ws://127.0.0.1:8080/api/v1/ws");
        for bad in ["ftp://school.example", "school.example", "mailto:x@y"] {
            assert!(base_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn error_bodies_that_are_not_the_envelope_are_network_or_protocol_errors() {
        let envelope = br#"{"error": {"code": "not_found", "message": "no such conversation"}}"#;
        assert_eq!(error_from_body(404, envelope, None).code(), Some(ErrorCode::NotFound));
        assert!(matches!(error_from_body(502, b"<html>bad gateway</html>", None), Error::Network(_)));
        assert!(matches!(error_from_body(404, b"<html>nope</html>", None), Error::Protocol(_)));
        // A code newer than this SDK is a refusal, not a network failure to retry forever.
        let newer = br#"{"error": {"code": "quiet_hours", "message": "not now"}}"#;
        let refused = error_from_body(403, newer, None);
        assert!(matches!(&refused, Error::Refused { code, .. } if code == "quiet_hours"));
        assert!(!refused.is_transient());
        assert!(error_from_body(503, newer, None).is_transient());
    }
}

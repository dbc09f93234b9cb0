//! Errors: a rich internal [`Error`] that the SDK's modules use, and the small public [`HallwayError`] that
//! apps see, made from it in one place ([`From<Error> for HallwayError`]).
//!
//! Neither carries personal data: no message text, no tokens, no emails, no passwords. The server's own
//! error messages are safe to pass on (they name fields and limits, never content).

use hallway_protocol::ErrorCode;

/// What went wrong inside the SDK, with enough detail for logs and for deciding whether to retry.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    /// The server could not be reached, or the connection broke mid-request.
    #[error("network: {0}")]
    Network(String),
    /// The server answered with the contract's error envelope.
    #[error("server answered {status} {code}")]
    Api {
        status: u16,
        code: ErrorCode,
        /// The server's sentence for people: names fields and limits, never content.
        message: String,
        /// From `Retry-After` (REST) or `retry_after_ms` (WebSocket) for `rate_limited`.
        retry_after_ms: Option<u64>,
    },
    /// The server answered the error envelope with a code this SDK does not know (the contract lets the
    /// server add codes): a refusal like any 4xx, never retried as if the network had failed.
    #[error("server answered {status} with a code this SDK does not know")]
    Refused { status: u16, code: String, message: String },
    /// The server answered something that is not the contract (a proxy's page, an unknown shape).
    #[error("unexpected answer from the server: {0}")]
    Protocol(String),
    /// No one is signed in on this client (never signed in, signed out, or the session was revoked).
    #[error("not signed in")]
    NotSignedIn,
    /// The local store (SQLite) failed.
    #[error("local store: {0}")]
    Storage(#[from] rusqlite::Error),
    /// The app's secret store (Keystore, Keychain) failed.
    #[error("secret store: {0}")]
    Secrets(#[from] crate::secrets::SecretStoreError),
    /// The media cache's folder failed (disk full, removed under the app); says what was being done.
    #[error("media cache: {0}")]
    Cache(String),
    /// An input the app gave was refused before anything was sent.
    #[error("invalid input {code}")]
    Invalid { code: ErrorCode, message: String },
    /// A new password breaks the password rules; the sentence says which.
    #[error("weak password: {0}")]
    WeakPassword(String),
    /// The current password given to prove it is the owner is wrong.
    #[error("the current password is wrong")]
    WrongPassword,
    /// A link or QR code that is not a Hallway invitation; the sentence says what is wrong with it.
    #[error("not an invitation: {0}")]
    InvalidInvitation(String),
    /// Signed out on this device, but the server could not be told (why: the inner error).
    #[error("signed out here; the server was not told: {0}")]
    SignOutNotConfirmed(Box<Error>),
    /// A bug or an impossible state: a task panicked, the runtime is gone.
    #[error("internal: {0}")]
    Internal(String),
}

impl Error {
    /// An error the server sent, without a `Retry-After`.
    pub(crate) fn api(status: u16, code: ErrorCode, message: String) -> Error {
        Error::Api { status, code, message, retry_after_ms: None }
    }

    /// The contract's error code, when the server sent one.
    pub(crate) fn code(&self) -> Option<ErrorCode> {
        match self {
            Error::Api { code, .. } | Error::Invalid { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// Whether trying the same thing again later may succeed (the network, a busy or failing server).
    pub(crate) fn is_transient(&self) -> bool {
        match self {
            Error::Network(_) | Error::Protocol(_) => true,
            Error::Api { status, code, .. } => *status >= 500 || *code == ErrorCode::RateLimited,
            Error::Refused { status, .. } => *status >= 500,
            _ => false,
        }
    }
}

impl From<reqwest::Error> for Error {
    fn from(error: reqwest::Error) -> Error {
        // reqwest's Display may carry the URL, which holds ids but never tokens or text; keep only the kind.
        let kind = if error.is_timeout() {
            "timed out"
        } else if error.is_connect() {
            "could not connect"
        } else if error.is_decode() {
            "could not decode the answer"
        } else if error.is_body() {
            "the body broke off"
        } else {
            "request failed"
        };
        if error.is_decode() { Error::Protocol(kind.to_owned()) } else { Error::Network(kind.to_owned()) }
    }
}

impl From<tokio::task::JoinError> for Error {
    fn from(error: tokio::task::JoinError) -> Error {
        Error::Internal(if error.is_panic() { "a task panicked".into() } else { "a task was cancelled".into() })
    }
}

pub(crate) type Result<T, E = Error> = std::result::Result<T, E>;

/// The errors an app acts on. Every public operation returns this.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum HallwayError {
    /// The server could not be reached: show "offline" and try again later (sends are queued regardless).
    #[error("the server could not be reached")]
    Network,
    /// Wrong credentials, or the session has ended: show the sign-in screen.
    #[error("not signed in, or wrong credentials")]
    Unauthorized,
    /// The school's rules or the person's role forbid this (`policy_forbids`, `forbidden`, a deactivated account).
    #[error("not allowed: {code}")]
    Forbidden { code: String },
    /// No such conversation, message or person, or one the user may not see.
    #[error("not found")]
    NotFound,
    /// The input was refused; `code` is the contract's (`body_too_long`, `invalid_emoji`, ...), `reason` names
    /// the field or the limit. (Not `message`: Kotlin exceptions have one already.)
    #[error("invalid input: {code}: {reason}")]
    InvalidInput { code: String, reason: String },
    /// Too many attempts: wait `retry_after_ms` before trying again.
    #[error("rate limited, retry after {retry_after_ms} ms")]
    RateLimited { retry_after_ms: u64 },
    /// The local store, the secret store or the media cache on the device failed (disk full, a corrupted
    /// file, a keystore that refused).
    #[error("the local store failed")]
    Storage,
    /// A bug in the SDK or the server, or an answer it did not understand.
    #[error("internal error")]
    Internal,
    /// The activation code is unknown, already used or expired (the server does not say which): ask the school
    /// for a new one.
    #[error("this activation code is not valid")]
    InvalidActivationCode,
    /// The new password breaks the password rules (8 to 256 characters); `reason` says which, for people.
    #[error("the password is not acceptable: {reason}")]
    WeakPassword { reason: String },
    /// `change_password`: the current password is wrong (the session stays signed in).
    #[error("the current password is wrong")]
    WrongPassword,
    /// `parse_invitation`: the link or QR code is not a Hallway invitation; `reason` says what is wrong.
    #[error("not an invitation: {reason}")]
    InvalidInvitation { reason: String },
    /// `logout`: this device is signed out and its data wiped, but the server could not be told (offline, or
    /// it failed), so the session lives on the server until it expires; "sign out everywhere" from another
    /// device ends it.
    #[error("signed out on this device; the server could not be told")]
    SignOutNotConfirmed,
}

impl From<Error> for HallwayError {
    /// The one mapping from what went wrong to what an app does about it.
    fn from(error: Error) -> HallwayError {
        use ErrorCode::*;
        match error {
            Error::Network(_) => HallwayError::Network,
            Error::NotSignedIn => HallwayError::Unauthorized,
            Error::Storage(_) | Error::Secrets(_) | Error::Cache(_) => HallwayError::Storage,
            Error::Protocol(_) | Error::Internal(_) => HallwayError::Internal,
            Error::WeakPassword(reason) => HallwayError::WeakPassword { reason },
            Error::WrongPassword => HallwayError::WrongPassword,
            Error::InvalidInvitation(reason) => HallwayError::InvalidInvitation { reason },
            Error::SignOutNotConfirmed(_) => HallwayError::SignOutNotConfirmed,
            Error::Invalid { code, message } => HallwayError::InvalidInput { code: code.to_string(), reason: message },
            Error::Refused { status, code, message } => {
                HallwayError::InvalidInput { code, reason: message }.or_status(status)
            }
            Error::Api { code, message, retry_after_ms, status } => match code {
                Unauthenticated | TokenExpired | InvalidCredentials | InvalidRefreshToken => HallwayError::Unauthorized,
                InvalidActivationCode => HallwayError::InvalidActivationCode,
                AccountDeactivated | PolicyForbids | Forbidden => HallwayError::Forbidden { code: code.to_string() },
                NotFound => HallwayError::NotFound,
                RateLimited => HallwayError::RateLimited { retry_after_ms: retry_after_ms.unwrap_or(1000) },
                InvalidJson | InvalidInput | InvalidId | BodyEmpty | BodyTooLong | InvalidEmoji | InvalidPaging
                | InvalidSyncToken | BannedWord | Conflict | TooLarge | UnsupportedMediaType => {
                    HallwayError::InvalidInput { code: code.to_string(), reason: message }
                }
                Unavailable => HallwayError::Network,
                MethodNotAllowed | Internal => HallwayError::Internal,
            }
            .or_status(status),
        }
    }
}

impl HallwayError {
    /// A 5xx is never the app's fault, whatever the code says.
    fn or_status(self, status: u16) -> HallwayError {
        if status >= 500 && !matches!(self, HallwayError::Network) { HallwayError::Internal } else { self }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_codes_map_to_what_an_app_acts_on() {
        use ErrorCode::*;
        let cases = [
            (401, InvalidCredentials, HallwayError::Unauthorized),
            (401, InvalidRefreshToken, HallwayError::Unauthorized),
            (401, InvalidActivationCode, HallwayError::InvalidActivationCode),
            (403, PolicyForbids, HallwayError::Forbidden { code: "policy_forbids".into() }),
            (403, Forbidden, HallwayError::Forbidden { code: "forbidden".into() }),
            (404, NotFound, HallwayError::NotFound),
            (400, BodyTooLong, HallwayError::InvalidInput { code: "body_too_long".into(), reason: "m".into() }),
            (409, Conflict, HallwayError::InvalidInput { code: "conflict".into(), reason: "m".into() }),
            (503, Unavailable, HallwayError::Network),
            (500, Internal, HallwayError::Internal),
        ];
        for (status, code, expected) in cases {
            assert_eq!(HallwayError::from(Error::api(status, code, "m".into())), expected, "{code}");
        }
        let limited = Error::Api { status: 429, code: RateLimited, message: "m".into(), retry_after_ms: Some(2000) };
        assert_eq!(HallwayError::from(limited), HallwayError::RateLimited { retry_after_ms: 2000 });
        assert_eq!(HallwayError::from(Error::Network("x".into())), HallwayError::Network);
        assert_eq!(HallwayError::from(Error::NotSignedIn), HallwayError::Unauthorized);
    }

    #[test]
    fn transient_errors_are_retried_and_refusals_are_not() {
        assert!(Error::Network("x".into()).is_transient());
        assert!(Error::api(503, ErrorCode::Unavailable, String::new()).is_transient());
        assert!(Error::api(429, ErrorCode::RateLimited, String::new()).is_transient());
        assert!(!Error::api(403, ErrorCode::PolicyForbids, String::new()).is_transient());
        assert!(!Error::api(400, ErrorCode::BodyTooLong, String::new()).is_transient());
    }
}

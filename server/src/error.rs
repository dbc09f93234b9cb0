//! The one error type of the HTTP edge: every failure becomes the contract's envelope with a stable code.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use hallway_protocol::validate::Invalid;
use hallway_protocol::{ErrorBody, ErrorCode, ErrorDetail};

use crate::auth::password::HashError;
use crate::store;

/// A failure answered to a client. Database and unexpected errors are logged with their cause and
/// answered as an opaque 500.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Something the client can act on.
    #[error("{code}: {message}")]
    Client {
        code: ErrorCode,
        message: String,
        /// For `rate_limited` and `unavailable`: milliseconds until a retry may succeed (`Retry-After` in whole seconds over
        /// HTTP, `retry_after_ms` over the socket).
        retry_after_ms: Option<u64>,
    },
    #[error("database error")]
    Database(#[from] sqlx::Error),
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

/// What a client refused during shutdown is told to wait before retrying (on another server, or this one restarted).
const SHUTDOWN_RETRY_AFTER_MS: u64 = 1000;

/// What a client hears while the database cannot be reached.
const DATABASE_UNAVAILABLE: &str = "the database is restarting: retry shortly";
/// What a client refused while the database cannot be reached is told to wait.
const DATABASE_RETRY_AFTER_MS: u64 = crate::store::supervisor::RETRY_AFTER.as_millis() as u64;

/// What handlers return.
pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    /// A client error with its code and a sentence for people.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError::Client { code, message: message.into(), retry_after_ms: None }
    }

    /// `invalid_input`, naming the field.
    pub fn invalid_input(field: &str, problem: &str) -> ApiError {
        ApiError::new(ErrorCode::InvalidInput, format!("{field}: {problem}"))
    }

    /// A user's insert or rename that broke a unique constraint: `conflict`, saying which (a taken username,
    /// one that looks like a taken one, a taken email); any other database error as it is.
    pub fn from_user_conflict(err: sqlx::Error) -> ApiError {
        match store::violated_unique_constraint(&err) {
            Some("users_username_key") => ApiError::new(ErrorCode::Conflict, "that username is taken"),
            Some(crate::usernames::SKELETON_CONSTRAINT) => ApiError::new(
                ErrorCode::Conflict,
                "username: too much like an existing username (letters from other scripts that look the same)",
            ),
            Some("users_email_key") => ApiError::new(ErrorCode::Conflict, "that email address is taken"),
            _ => err.into(),
        }
    }

    /// `not_found`: also what a caller gets for things it may not see.
    pub fn not_found() -> ApiError {
        ApiError::new(ErrorCode::NotFound, "not found")
    }

    /// `rate_limited` with the time to wait.
    pub fn rate_limited(wait: std::time::Duration) -> ApiError {
        ApiError::rate_limited_ms(wait.as_millis().max(1) as u64)
    }

    /// `rate_limited` with the number of milliseconds to wait.
    pub fn rate_limited_ms(retry_after_ms: u64) -> ApiError {
        ApiError::Client {
            code: ErrorCode::RateLimited,
            message: format!("too many attempts: retry in {:.1} s", retry_after_ms as f64 / 1000.0),
            retry_after_ms: Some(retry_after_ms),
        }
    }

    /// `unavailable` while the database does not answer, with the time after which a retry may succeed.
    pub fn database_unavailable() -> ApiError {
        ApiError::Client {
            code: ErrorCode::Unavailable,
            message: DATABASE_UNAVAILABLE.to_owned(),
            retry_after_ms: Some(DATABASE_RETRY_AFTER_MS),
        }
    }

    /// `unavailable` while the server shuts down: the client reconnects (to another server, if there is one).
    pub fn shutting_down() -> ApiError {
        ApiError::Client {
            code: ErrorCode::Unavailable,
            message: "the server is shutting down: reconnect and retry".to_owned(),
            retry_after_ms: Some(SHUTDOWN_RETRY_AFTER_MS),
        }
    }

    /// The sentence a client sees: the client error's own, or an opaque one for server faults.
    pub fn public_message(&self) -> String {
        match self {
            ApiError::Client { message, .. } => message.clone(),
            ApiError::Database(err) if store::is_unreachable(err) => DATABASE_UNAVAILABLE.to_owned(),
            ApiError::Database(_) | ApiError::Internal(_) => "the server could not complete the request".to_owned(),
        }
    }

    /// Logs server faults with their cause chain (client errors are the client's business).
    pub fn log(&self) {
        match self {
            ApiError::Client { .. } => {}
            // Expected while the database restarts; the supervisor logs the outage itself.
            ApiError::Database(err) if store::is_unreachable(err) => {
                tracing::warn!(error = %err, "the database could not be reached")
            }
            ApiError::Database(err) => {
                tracing::error!(error = %err, cause = ?std::error::Error::source(err), "database error")
            }
            ApiError::Internal(err) => tracing::error!(error = format!("{err:#}"), "internal error"),
        }
    }

    /// The code this error is answered with.
    pub fn code(&self) -> ErrorCode {
        match self {
            ApiError::Client { code, .. } => *code,
            ApiError::Database(err) if store::is_unreachable(err) => ErrorCode::Unavailable,
            ApiError::Database(_) | ApiError::Internal(_) => ErrorCode::Internal,
        }
    }

    /// For `rate_limited` and `unavailable`: milliseconds until a retry may succeed.
    pub fn retry_after_ms(&self) -> Option<u64> {
        match self {
            ApiError::Client { retry_after_ms, .. } => *retry_after_ms,
            ApiError::Database(err) if store::is_unreachable(err) => Some(DATABASE_RETRY_AFTER_MS),
            ApiError::Database(_) | ApiError::Internal(_) => None,
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.code().http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        self.log();
        let body = ErrorBody { error: ErrorDetail { code: self.code(), message: self.public_message() } };
        let mut response = HttpResponse::build(self.status_code());
        if let Some(ms) = self.retry_after_ms() {
            response.insert_header((header::RETRY_AFTER, HeaderValue::from(ms.div_ceil(1000).max(1))));
        }
        response.json(body)
    }
}

impl From<HashError> for ApiError {
    fn from(err: HashError) -> ApiError {
        match err {
            HashError::Busy(wait) => ApiError::Client {
                code: ErrorCode::Unavailable,
                message: "too many sign-ins at once: retry shortly".to_owned(),
                retry_after_ms: Some(wait.as_millis().max(1) as u64),
            },
            HashError::Failed(_) => ApiError::Internal(anyhow::Error::new(err)),
        }
    }
}

/// A message's attachments that cannot be claimed: the sentence names the id and why.
impl From<store::attachments::ClaimError> for ApiError {
    fn from(err: store::attachments::ClaimError) -> ApiError {
        match err {
            store::attachments::ClaimError::Database(err) => ApiError::Database(err),
            other => ApiError::new(ErrorCode::InvalidInput, other.to_string()),
        }
    }
}

impl From<Invalid> for ApiError {
    fn from(invalid: Invalid) -> ApiError {
        ApiError::new(invalid.code, invalid.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lost_database_connection_is_503_unavailable_with_a_retry_time_and_other_database_errors_stay_500() {
        let lost = ApiError::Database(sqlx::Error::Io(std::io::ErrorKind::ConnectionRefused.into()));
        assert_eq!(lost.code(), ErrorCode::Unavailable);
        assert_eq!(lost.retry_after_ms(), Some(DATABASE_RETRY_AFTER_MS));
        let response = lost.error_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers().get(header::RETRY_AFTER), Some(&HeaderValue::from(2)));
        assert_eq!(ApiError::Database(sqlx::Error::PoolTimedOut).code(), ErrorCode::Unavailable);

        let failed = ApiError::Database(sqlx::Error::RowNotFound);
        assert_eq!(failed.code(), ErrorCode::Internal);
        assert_eq!(failed.retry_after_ms(), None);
        assert_eq!(failed.public_message(), "the server could not complete the request");
    }
}

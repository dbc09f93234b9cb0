//! The one error type of the HTTP edge: every failure becomes the contract's envelope with a stable code.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use hallway_protocol::{ErrorBody, ErrorCode, ErrorDetail};

/// A failure answered to a client. Database and unexpected errors are logged with their cause and
/// answered as an opaque 500.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Something the client can act on.
    #[error("{code}: {message}")]
    Client {
        code: ErrorCode,
        message: String,
        /// For `rate_limited`: seconds until a retry may succeed (`Retry-After`).
        retry_after_secs: Option<u64>,
    },
    #[error("database error")]
    Database(#[from] sqlx::Error),
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

/// What handlers return.
pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    /// A client error with its code and a sentence for people.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError::Client { code, message: message.into(), retry_after_secs: None }
    }

    /// `invalid_input`, naming the field.
    pub fn invalid_input(field: &str, problem: &str) -> ApiError {
        ApiError::new(ErrorCode::InvalidInput, format!("{field}: {problem}"))
    }

    /// `not_found`: also what a caller gets for things it may not see.
    pub fn not_found() -> ApiError {
        ApiError::new(ErrorCode::NotFound, "not found")
    }

    /// `rate_limited` with the number of seconds to wait.
    pub fn rate_limited(retry_after_secs: u64) -> ApiError {
        ApiError::Client {
            code: ErrorCode::RateLimited,
            message: format!("too many attempts: retry in {retry_after_secs} s"),
            retry_after_secs: Some(retry_after_secs),
        }
    }

    /// The code this error is answered with.
    pub fn code(&self) -> ErrorCode {
        match self {
            ApiError::Client { code, .. } => *code,
            ApiError::Database(sqlx::Error::PoolTimedOut) => ErrorCode::Unavailable,
            ApiError::Database(_) | ApiError::Internal(_) => ErrorCode::Internal,
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.code().http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        let (message, retry_after) = match self {
            ApiError::Client { message, retry_after_secs, .. } => (message.clone(), *retry_after_secs),
            ApiError::Database(err) => {
                tracing::error!(error = %err, cause = ?std::error::Error::source(err), "database error");
                ("the server could not complete the request".to_owned(), None)
            }
            ApiError::Internal(err) => {
                tracing::error!(error = format!("{err:#}"), "internal error");
                ("the server could not complete the request".to_owned(), None)
            }
        };
        let body = ErrorBody { error: ErrorDetail { code: self.code(), message } };
        let mut response = HttpResponse::build(self.status_code());
        if let Some(secs) = retry_after {
            response.insert_header((header::RETRY_AFTER, HeaderValue::from(secs)));
        }
        response.json(body)
    }
}

//! The error envelope: `{"error": {"code", "message"}}` with a stable snake_case code.

use serde::{Deserialize, Serialize};

/// Every error code a client may see. New codes may be added; existing ones never change meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    InvalidJson,
    InvalidInput,
    InvalidId,
    BodyEmpty,
    BodyTooLong,
    InvalidEmoji,
    InvalidPaging,
    /// A `GET /sync` token that is garbled, another user's, or older than the change feed keeps: start over
    /// without `since`.
    InvalidSyncToken,
    /// The text contains a word or phrase on the school's banned list; nothing was stored or delivered.
    BannedWord,
    Unauthenticated,
    TokenExpired,
    InvalidCredentials,
    InvalidRefreshToken,
    InvalidActivationCode,
    AccountDeactivated,
    PolicyForbids,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    Conflict,
    TooLarge,
    UnsupportedMediaType,
    RateLimited,
    Internal,
    Unavailable,
}

impl ErrorCode {
    /// The HTTP status that goes with this code: the one place where the mapping lives.
    pub fn http_status(self) -> u16 {
        use ErrorCode::*;
        match self {
            InvalidJson | InvalidInput | InvalidId | BodyEmpty | BodyTooLong | InvalidEmoji | InvalidPaging
            | InvalidSyncToken | BannedWord => 400,
            Unauthenticated | TokenExpired | InvalidCredentials | InvalidRefreshToken | InvalidActivationCode => 401,
            AccountDeactivated | PolicyForbids | Forbidden => 403,
            NotFound => 404,
            MethodNotAllowed => 405,
            Conflict => 409,
            TooLarge => 413,
            UnsupportedMediaType => 415,
            RateLimited => 429,
            Internal => 500,
            Unavailable => 503,
        }
    }

    /// The code as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        use ErrorCode::*;
        match self {
            InvalidJson => "invalid_json",
            InvalidInput => "invalid_input",
            InvalidId => "invalid_id",
            BodyEmpty => "body_empty",
            BodyTooLong => "body_too_long",
            InvalidEmoji => "invalid_emoji",
            InvalidPaging => "invalid_paging",
            InvalidSyncToken => "invalid_sync_token",
            BannedWord => "banned_word",
            Unauthenticated => "unauthenticated",
            TokenExpired => "token_expired",
            InvalidCredentials => "invalid_credentials",
            InvalidRefreshToken => "invalid_refresh_token",
            InvalidActivationCode => "invalid_activation_code",
            AccountDeactivated => "account_deactivated",
            PolicyForbids => "policy_forbids",
            Forbidden => "forbidden",
            NotFound => "not_found",
            MethodNotAllowed => "method_not_allowed",
            Conflict => "conflict",
            TooLarge => "too_large",
            UnsupportedMediaType => "unsupported_media_type",
            RateLimited => "rate_limited",
            Internal => "internal",
            Unavailable => "unavailable",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The body of every non-2xx answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// What went wrong: a stable code for programs, a sentence for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorDetail {
    pub code: ErrorCode,
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_name_matches_serde_name_for_every_code() {
        use ErrorCode::*;
        for code in [
            InvalidJson,
            InvalidInput,
            InvalidId,
            BodyEmpty,
            BodyTooLong,
            InvalidEmoji,
            InvalidPaging,
            InvalidSyncToken,
            BannedWord,
            Unauthenticated,
            TokenExpired,
            InvalidCredentials,
            InvalidRefreshToken,
            InvalidActivationCode,
            AccountDeactivated,
            PolicyForbids,
            Forbidden,
            NotFound,
            MethodNotAllowed,
            Conflict,
            TooLarge,
            UnsupportedMediaType,
            RateLimited,
            Internal,
            Unavailable,
        ] {
            let json = serde_json::to_value(code).unwrap_or_default();
            assert_eq!(json, serde_json::Value::String(code.as_str().to_owned()));
        }
    }

    #[test]
    fn envelope_has_the_contract_shape() {
        let body = ErrorBody { error: ErrorDetail { code: ErrorCode::NotFound, message: "no such thing".into() } };
        let json = serde_json::to_string(&body).unwrap_or_default();
        assert_eq!(json, r#"{"error":{"code":"not_found","message":"no such thing"}}"#);
    }

    #[test]
    fn banned_word_is_a_bad_request() {
        assert_eq!(ErrorCode::BannedWord.http_status(), 400);
        assert_eq!(ErrorCode::BannedWord.as_str(), "banned_word");
    }
}

//! Sign-in, refresh, sign-out and password change.

use serde::{Deserialize, Serialize};

use crate::model::User;

/// `POST /auth/login`: `login` is a username (any letter case) or an email address.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoginRequest {
    pub login: String,
    pub password: String,
}

/// `POST /auth/refresh` and `POST /auth/logout`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RefreshRequest {
    pub refresh_token: String,
}

/// The answer to a login or a refresh: a short-lived access token and the rotating refresh token.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenResponse {
    pub access_token: String,
    pub refresh_token: String,
    /// Seconds until `access_token` expires.
    pub expires_in: u64,
    pub user: User,
}

/// `POST /me/password`: the current password proves it is the owner; other sessions end.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChangePasswordRequest {
    pub current_password: String,
    pub new_password: String,
}

/// `POST /auth/activate`: a one-time activation code from an admin and the password the person chooses.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActivateRequest {
    pub code: String,
    pub password: String,
    /// A username the person chooses instead of the one the school gave (the same rules as an admin's); absent
    /// or empty keeps the school's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
}

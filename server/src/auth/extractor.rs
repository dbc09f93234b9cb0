//! The `AuthUser` extractor: a valid access token of a live session of an active user, or the right error.

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use futures_util::future::LocalBoxFuture;
use hallway_protocol::ErrorCode;
use uuid::Uuid;

use super::tokens::TokenError;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::users::UserRow;

/// The caller of an authenticated request.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub user: UserRow,
    /// The device session the access token belongs to.
    pub session_id: Uuid,
}

impl AuthUser {
    /// The caller's id.
    pub fn id(&self) -> Uuid {
        self.user.id
    }
}

impl FromRequest for AuthUser {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = bearer_token(req);
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::Internal(anyhow::anyhow!("AppState is not registered")))?;
            let token = token.ok_or_else(|| unauthenticated("a Bearer access token is required"))?;
            authenticate(&state, &token).await
        })
    }
}

/// The token of an `Authorization: Bearer <token>` header, if there is one.
pub fn bearer_token(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(actix_web::http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_owned()).filter(|t| !t.is_empty())
}

/// Checks an access token and loads its user: expired and bad tokens are told apart, and a revoked
/// session or a deactivated account is refused at once, whatever the token's expiry says.
pub async fn authenticate(state: &AppState, token: &str) -> ApiResult<AuthUser> {
    let claims = state.keys.verify_access(token).map_err(|err| match err {
        TokenError::Expired => ApiError::new(ErrorCode::TokenExpired, "the access token has expired: refresh it"),
        TokenError::Invalid => unauthenticated("the access token is not valid"),
    })?;
    let row: Option<(bool, UserRow)> = sqlx::query_as::<_, SessionUser>(
        "SELECT s.revoked_at IS NULL AS session_active,
                u.id, u.username, u.email, u.display_name, u.role, u.password_hash, u.avatar_key, u.deactivated_at
         FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE s.id = $1 AND s.user_id = $2",
    )
    .bind(claims.sid)
    .bind(claims.sub)
    .fetch_optional(&state.db)
    .await?
    .map(|r| (r.session_active, r.user));
    match row {
        // Deactivation also ends the sessions; the token's owner learns why it stopped working.
        Some((_, user)) if user.is_deactivated() => {
            Err(ApiError::new(ErrorCode::AccountDeactivated, "this account has been deactivated"))
        }
        None | Some((false, _)) => Err(unauthenticated("this session has ended: sign in again")),
        Some((true, user)) => Ok(AuthUser { user, session_id: claims.sid }),
    }
}

#[derive(sqlx::FromRow)]
struct SessionUser {
    session_active: bool,
    #[sqlx(flatten)]
    user: UserRow,
}

fn unauthenticated(message: &str) -> ApiError {
    ApiError::new(ErrorCode::Unauthenticated, message)
}

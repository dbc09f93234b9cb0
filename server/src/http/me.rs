//! `/me`: the caller's own account.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use hallway_protocol::auth::ChangePasswordRequest;
use hallway_protocol::ws::session_ended;
use hallway_protocol::{ErrorBody, ErrorCode, User};

use super::client_address;
use super::openapi::{DEACTIVATED, NOT_JSON, PASSWORDS_BUSY, TOO_LARGE, UNAUTHENTICATED};
use crate::auth::AuthUser;
use crate::auth::password::NewPassword;
use crate::error::{ApiError, ApiResult};
use crate::realtime::SessionFilter;
use crate::state::AppState;
use crate::store::{self, audit::AuditEntry};

/// `GET /me`: the caller.
#[utoipa::path(
    operation_id = "get_me",
    tag = "me",
    responses(
        (status = 200, description = "The caller", body = User),
        (status = 401, description = UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = DEACTIVATED, body = ErrorBody),
    )
)]
#[get("/api/v1/me")]
pub async fn get(caller: AuthUser) -> HttpResponse {
    HttpResponse::Ok().json(crate::views::user(&caller.user))
}

/// `POST /me/password`: needs the current password; every other session of the caller ends.
#[utoipa::path(
    operation_id = "change_password",
    tag = "me",
    request_body = ChangePasswordRequest,
    responses(
        (status = 204, description = "Changed; the caller's other sessions have ended"),
        (status = 400, body = ErrorBody, description = "`invalid_json`; `invalid_input`: `new_password` is not \
            acceptable (the message says why)"),
        (status = 401, body = ErrorBody, description = "`invalid_credentials`: the current password is wrong; or the \
            token is not valid: `unauthenticated`, `token_expired`"),
        (status = 403, description = DEACTIVATED, body = ErrorBody),
        (status = 413, description = TOO_LARGE, body = ErrorBody),
        (status = 415, description = NOT_JSON, body = ErrorBody),
        (status = 429, body = ErrorBody, description = "`rate_limited`: too many wrong current passwords; \
            `Retry-After` says how many seconds to wait",
            headers(("Retry-After" = u64, description = "Seconds until a retry may succeed"))),
        (status = 503, description = PASSWORDS_BUSY, body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds until a retry may succeed"))),
    )
)]
#[post("/api/v1/me/password")]
pub async fn change_password(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: AuthUser,
    body: web::Json<ChangePasswordRequest>,
) -> ApiResult<HttpResponse> {
    let ChangePasswordRequest { current_password, new_password } = body.into_inner();
    let account_key = caller.user.username.to_lowercase();
    let new_password =
        NewPassword::parse(&new_password).map_err(|e| ApiError::invalid_input("new_password", &e.to_string()))?;
    let attempt = state.login_failures_by_account.reserve(&account_key).map_err(ApiError::rate_limited)?;
    if !state.passwords.verify(caller.user.password_hash.clone(), current_password).await? {
        attempt.failed();
        return Err(ApiError::new(ErrorCode::InvalidCredentials, "the current password is wrong"));
    }
    drop(attempt);
    let hash = state.passwords.hash(new_password).await?;
    let mut tx = state.db.begin().await?;
    store::users::set_password_hash(&mut *tx, caller.id(), &hash).await?;
    let ended = store::sessions::revoke_all_of_user(&mut *tx, caller.id(), Some(caller.session_id)).await?;
    store::audit::record(
        &mut *tx,
        AuditEntry {
            actor_id: Some(caller.id()),
            action: "user.password_changed",
            target: Some(format!("user:{}", caller.id())),
            address: client_address(&req),
            details: serde_json::json!({ "sessions_ended": ended.len() }),
        },
    )
    .await?;
    tx.commit().await?;
    let keep = SessionFilter::AllExcept(caller.session_id);
    state.realtime.close_sessions(caller.id(), keep, session_ended::PASSWORD_CHANGED);
    Ok(HttpResponse::NoContent().finish())
}

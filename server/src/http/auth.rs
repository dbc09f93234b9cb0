//! `/auth/*`: sign in, refresh, sign out (one device or all of them).

use actix_web::{HttpRequest, HttpResponse, post, web};
use hallway_protocol::auth::{LoginRequest, RefreshRequest, TokenResponse};
use hallway_protocol::ws::session_ended;
use hallway_protocol::{ErrorBody, ErrorCode};

use super::client_address;
use super::openapi::{DEACTIVATED, NOT_JSON, PASSWORDS_BUSY, TOO_LARGE, UNAUTHENTICATED};
use crate::auth::{self, AuthUser};
use crate::error::{ApiError, ApiResult};
use crate::realtime::SessionFilter;
use crate::state::AppState;
use crate::store;

/// `POST /auth/login`. Only failures (and attempts still in flight) count towards the per-account and
/// per-address limits, so people who type their password right are never slowed. Password checks run on a
/// bounded pool; when its queue is full the answer is 503 at once.
#[utoipa::path(
    operation_id = "login",
    tag = "auth",
    security(()),
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in: a new session", body = TokenResponse),
        (status = 400, body = ErrorBody, description = "`invalid_json`; `invalid_input`: a field is missing or `login` \
            is empty"),
        (status = 401, body = ErrorBody, description = "`invalid_credentials`: wrong login or password (which of the \
            two is not told)"),
        (status = 403, description = DEACTIVATED, body = ErrorBody),
        (status = 413, description = TOO_LARGE, body = ErrorBody),
        (status = 415, description = NOT_JSON, body = ErrorBody),
        (status = 429, description = "`rate_limited`: too many failed attempts for this account or address; \
            `Retry-After` says how many seconds to wait", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds until a retry may succeed"))),
        (status = 503, description = PASSWORDS_BUSY, body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds until a retry may succeed"))),
    )
)]
#[post("/api/v1/auth/login")]
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<LoginRequest>,
) -> ApiResult<HttpResponse> {
    let LoginRequest { login, password } = body.into_inner();
    let login = login.trim();
    if login.is_empty() {
        return Err(ApiError::invalid_input("login", "must not be empty"));
    }
    let account_key = login.to_lowercase();
    let address = client_address(&req);
    let address_key = address.clone().unwrap_or_default();
    // Reserve before hashing: attempts in flight count against both limits, so a burst cannot outrun them.
    let (by_account, by_address) = match (
        state.login_failures_by_account.reserve(&account_key),
        state.login_failures_by_address.reserve(&address_key),
    ) {
        (Ok(by_account), Ok(by_address)) => (by_account, by_address),
        (account, address) => {
            let wait = [account.err(), address.err()].into_iter().flatten().max().unwrap_or_default();
            return Err(ApiError::rate_limited(wait));
        }
    };

    let user = store::users::find_by_login(&state.db, login).await?;
    let stored_hash = user.as_ref().and_then(|u| u.password_hash.clone());
    // A full queue answers 503 and the reservations are freed: nothing was tried.
    let verified = state.passwords.verify(stored_hash, password).await?;
    let Some(user) = user.filter(|_| verified) else {
        by_account.failed();
        by_address.failed();
        return Err(ApiError::new(ErrorCode::InvalidCredentials, "wrong username or password"));
    };
    drop((by_account, by_address));
    if user.is_deactivated() {
        return Err(ApiError::new(ErrorCode::AccountDeactivated, "this account has been deactivated"));
    }
    state.login_failures_by_account.clear(&account_key);
    let user_agent = req.headers().get(actix_web::http::header::USER_AGENT).and_then(|v| v.to_str().ok());
    let tokens = auth::start_session(&state, &user, user_agent, address.as_deref()).await?;
    Ok(HttpResponse::Ok().json(tokens))
}

/// `POST /auth/refresh`: the old refresh token stops working. Presented again within 30 s it answers the same
/// new refresh token with a fresh access token (an app killed mid-refresh stays signed in); later, it revokes
/// the whole session.
#[utoipa::path(
    operation_id = "refresh",
    tag = "auth",
    security(()),
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "A fresh access token and the next refresh token", body = TokenResponse),
        (status = 400, description = "`invalid_json`; `invalid_input`: `refresh_token` is missing", body = ErrorBody),
        (status = 401, body = ErrorBody, description = "`invalid_refresh_token`: unknown, expired, or its session was \
            revoked"),
        (status = 403, description = DEACTIVATED, body = ErrorBody),
        (status = 413, description = TOO_LARGE, body = ErrorBody),
        (status = 415, description = NOT_JSON, body = ErrorBody),
    )
)]
#[post("/api/v1/auth/refresh")]
pub async fn refresh(state: web::Data<AppState>, body: web::Json<RefreshRequest>) -> ApiResult<HttpResponse> {
    let tokens = auth::rotate(&state, body.refresh_token.trim()).await?;
    Ok(HttpResponse::Ok().json(tokens))
}

/// `POST /auth/logout`: ends this device's session and closes its sockets. The refresh token alone proves
/// the session (an app signing out after a week offline holds only an expired access token); a valid Bearer
/// token, when sent, ends its session too. 204 whatever the token, so the answer tells nobody whether it was live.
#[utoipa::path(
    operation_id = "logout",
    tag = "auth",
    security((), ("bearer" = [])),
    request_body = RefreshRequest,
    responses(
        (status = 204, description = "Signed out (also for an unknown, expired or already ended refresh token)"),
        (status = 400, description = "`invalid_json`; `invalid_input`: `refresh_token` is missing", body = ErrorBody),
        (status = 413, description = TOO_LARGE, body = ErrorBody),
        (status = 415, description = NOT_JSON, body = ErrorBody),
    )
)]
#[post("/api/v1/auth/logout")]
pub async fn logout(
    state: web::Data<AppState>,
    caller: Option<AuthUser>,
    body: web::Json<RefreshRequest>,
) -> ApiResult<HttpResponse> {
    auth::sign_out(&state, caller.as_ref(), body.refresh_token.trim()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /auth/logout-all`: ends every session of the caller, this one included, and closes their sockets.
#[utoipa::path(
    operation_id = "logout_all",
    tag = "auth",
    responses(
        (status = 204, description = "Signed out everywhere"),
        (status = 401, description = UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = DEACTIVATED, body = ErrorBody),
    )
)]
#[post("/api/v1/auth/logout-all")]
pub async fn logout_all(state: web::Data<AppState>, caller: AuthUser) -> ApiResult<HttpResponse> {
    store::sessions::revoke_all_of_user(&state.db, caller.id(), None).await?;
    state.realtime.close_sessions(caller.id(), SessionFilter::All, session_ended::SIGNED_OUT_EVERYWHERE);
    Ok(HttpResponse::NoContent().finish())
}

//! `/auth/*`: sign in, refresh, sign out (one device or all of them).

use actix_web::{HttpRequest, HttpResponse, web};
use hallway_protocol::ErrorCode;
use hallway_protocol::auth::{LoginRequest, RefreshRequest};

use super::client_address;
use crate::auth::{self, AuthUser, password};
use crate::error::{ApiError, ApiResult};
use crate::realtime::SessionFilter;
use crate::state::AppState;
use crate::store;

/// `POST /auth/login`. Only failures count towards the per-account and per-address limits, so people who
/// type their password right are never slowed.
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
    let wait = [
        state.login_failures_by_account.retry_after(&account_key),
        state.login_failures_by_address.retry_after(&address_key),
    ]
    .into_iter()
    .flatten()
    .max();
    if let Some(wait) = wait {
        return Err(ApiError::rate_limited(wait));
    }

    let user = store::users::find_by_login(&state.db, login).await?;
    let stored_hash = user.as_ref().and_then(|u| u.password_hash.clone());
    let verified = password::verify(stored_hash, password).await?;
    let Some(user) = user.filter(|_| verified) else {
        state.login_failures_by_account.record_failure(&account_key);
        state.login_failures_by_address.record_failure(&address_key);
        return Err(ApiError::new(ErrorCode::InvalidCredentials, "wrong username or password"));
    };
    if user.is_deactivated() {
        return Err(ApiError::new(ErrorCode::AccountDeactivated, "this account has been deactivated"));
    }
    state.login_failures_by_account.clear(&account_key);
    let user_agent = req.headers().get(actix_web::http::header::USER_AGENT).and_then(|v| v.to_str().ok());
    let tokens = auth::start_session(&state, &user, user_agent, address.as_deref()).await?;
    Ok(HttpResponse::Ok().json(tokens))
}

/// `POST /auth/refresh`.
pub async fn refresh(state: web::Data<AppState>, body: web::Json<RefreshRequest>) -> ApiResult<HttpResponse> {
    let tokens = auth::rotate(&state, body.refresh_token.trim()).await?;
    Ok(HttpResponse::Ok().json(tokens))
}

/// `POST /auth/logout`: ends this device's session.
pub async fn logout(
    state: web::Data<AppState>,
    caller: AuthUser,
    body: web::Json<RefreshRequest>,
) -> ApiResult<HttpResponse> {
    let mut ended = auth::end_session_of_refresh_token(&state, caller.id(), body.refresh_token.trim()).await?;
    store::sessions::revoke(&state.db, caller.session_id).await?;
    ended.push(caller.session_id);
    state.realtime.close_sessions(caller.id(), SessionFilter::Sessions(ended), "signed out");
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /auth/logout-all`: ends every session of the caller, this one included.
pub async fn logout_all(state: web::Data<AppState>, caller: AuthUser) -> ApiResult<HttpResponse> {
    store::sessions::revoke_all_of_user(&state.db, caller.id(), None).await?;
    state.realtime.close_sessions(caller.id(), SessionFilter::All, "signed out everywhere");
    Ok(HttpResponse::NoContent().finish())
}

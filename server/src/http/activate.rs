//! `POST /auth/activate`: a person redeems the one-time code an admin gave them, chooses their password, and is
//! signed in, exactly as by a login.

use actix_web::{HttpRequest, HttpResponse, post, web};
use hallway_protocol::admin::Username;
use hallway_protocol::auth::{ActivateRequest, TokenResponse};
use hallway_protocol::{ErrorBody, ErrorCode};

use super::client_address;
use crate::auth::password::NewPassword;
use crate::auth::{self, activation};
use crate::error::{ApiError, ApiResult};
use crate::http::openapi::{NOT_JSON, PASSWORDS_BUSY, TOO_LARGE};
use crate::state::AppState;
use crate::store::{self, audit::AuditEntry};

/// `POST /auth/activate`. Unknown, used and expired codes all get the same 401 `invalid_activation_code`, and
/// count as failed sign-ins of the client's address (so codes cannot be guessed faster than passwords).
/// Redeeming a code ends none of the person's other sessions: after a reset for a forgotten password, the
/// phone still signed in stays signed in (an admin who suspects a stolen account deactivates it instead).
#[utoipa::path(
    operation_id = "activate",
    tag = "auth",
    security(()),
    description = "Redeems a one-time activation code from an admin, sets the password the person chooses (and \
        the username, when they choose one instead of the school's) and signs them in, as a login does. Their \
        other sessions stay signed in.",
    request_body = ActivateRequest,
    responses(
        (status = 200, description = "Activated and signed in: a new session", body = TokenResponse),
        (status = 400, body = ErrorBody, description = "`invalid_json`; `invalid_input`: a field is missing, the \
            password breaks the password rules, or the username the username rules"),
        (status = 401, body = ErrorBody, description = "`invalid_activation_code`: unknown, used or expired (which \
            of them is not told)"),
        (status = 403, description = "`account_deactivated`: the person's account has been deactivated",
            body = ErrorBody),
        (status = 409, description = "`conflict`: the username chosen is taken (or looks like one that is); the \
            code is not used up", body = ErrorBody),
        (status = 413, description = TOO_LARGE, body = ErrorBody),
        (status = 415, description = NOT_JSON, body = ErrorBody),
        (status = 429, description = "`rate_limited`: too many failed sign-ins or codes from this address; \
            `Retry-After` says how many seconds to wait", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds until a retry may succeed"))),
        (status = 503, description = PASSWORDS_BUSY, body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds until a retry may succeed"))),
    )
)]
#[post("/api/v1/auth/activate")]
pub async fn activate(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<ActivateRequest>,
) -> ApiResult<HttpResponse> {
    let ActivateRequest { code, password, username } = body.into_inner();
    let new_password =
        NewPassword::parse(&password).map_err(|e| ApiError::invalid_input("password", &e.to_string()))?;
    let username = username.as_deref().filter(|u| !u.trim().is_empty()).map(Username::parse).transpose()?;
    let address = client_address(&req);
    let address_key = address.clone().unwrap_or_default();
    if let Some(wait) = state.login_failures_by_address.retry_after(&address_key) {
        return Err(ApiError::rate_limited(wait));
    }
    let invalid = || {
        state.login_failures_by_address.record_failure(&address_key);
        ApiError::new(ErrorCode::InvalidActivationCode, "this activation code is not valid (used, expired or mistyped)")
    };
    let Some(normalized) = activation::normalize(&code) else {
        return Err(invalid());
    };
    let code_hash = activation::hash(&normalized);
    // Look before hashing the password (argon2 is slow) and before using the code up.
    let Some(user_id) = store::activation_codes::find_valid(&state.db, &code_hash).await? else {
        return Err(invalid());
    };
    let user = store::users::find(&state.db, user_id).await?.ok_or_else(invalid)?;
    if user.is_deactivated() {
        return Err(ApiError::new(ErrorCode::AccountDeactivated, "this account has been deactivated"));
    }
    let hash = state.passwords.hash(new_password).await?;
    let mut tx = state.db.begin().await?;
    // Of two concurrent redemptions of one code, only one gets here with the user.
    if store::activation_codes::redeem(&mut tx, &code_hash).await? != Some(user_id) {
        return Err(invalid());
    }
    store::users::set_password_hash(&mut *tx, user_id, &hash).await?;
    // A taken name rolls the whole redemption back: the code still works with another name.
    if let Some(username) = &username {
        store::users::set_username(&mut *tx, user_id, username.as_str()).await.map_err(ApiError::from_user_conflict)?;
    }
    let details = match &username {
        Some(chosen) => serde_json::json!({ "username": { "from": user.username, "to": chosen.as_str() } }),
        None => serde_json::json!({}),
    };
    let entry = AuditEntry {
        actor_id: Some(user_id),
        action: "user.activate",
        target: Some(format!("user:{user_id}")),
        address: address.clone(),
        details,
    };
    store::audit::record(&mut *tx, entry).await?;
    tx.commit().await?;
    // The session's `User` carries the name chosen.
    let user = match username {
        Some(_) => store::users::find(&state.db, user_id).await?.ok_or_else(invalid)?,
        None => user,
    };
    let user_agent = req.headers().get(actix_web::http::header::USER_AGENT).and_then(|v| v.to_str().ok());
    let tokens = auth::start_session(&state, &user, user_agent, address.as_deref()).await?;
    Ok(HttpResponse::Ok().json(tokens))
}

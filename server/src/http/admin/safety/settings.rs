//! The safety settings: `GET`/`PUT /admin/banned-words`, `/admin/settings/safeguarding` and
//! `/admin/settings/retention`. Each change is audited and takes effect at once.

use actix_web::middleware::from_fn;
use actix_web::{HttpRequest, HttpResponse, get, put, web};
use hallway_protocol::ErrorBody;
use hallway_protocol::safety::{BannedWords as BannedWordList, RetentionSetting, SafeguardingSetting};
use serde_json::json;

use super::audit;
use crate::auth::AdminUser;
use crate::error::{ApiError, ApiResult};
use crate::http::admin::require_admin;
use crate::http::openapi::{ADMIN_ONLY, INVALID_ADMIN_BODY, NOT_JSON, TOO_LARGE, UNAUTHENTICATED};
use crate::safety::banned_words::{self, BannedWords};
use crate::safety::retention::MAX_RETENTION_DAYS;
use crate::safety::{self, RETENTION_SETTING, SAFEGUARDING_SETTING};
use crate::state::AppState;
use crate::store;

/// `GET /admin/banned-words`: the list as saved.
#[utoipa::path(
    operation_id = "admin_get_banned_words",
    tag = "admin",
    responses(
        (status = 200, description = "The list as saved (empty at first)", body = BannedWordList),
        (status = 401, description = UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = ADMIN_ONLY, body = ErrorBody),
    )
)]
#[get("/api/v1/admin/banned-words", wrap = "from_fn(require_admin)")]
pub async fn get_banned_words(state: web::Data<AppState>, _admin: AdminUser) -> ApiResult<HttpResponse> {
    let list = safety::load_banned_words(&state.db).await?;
    Ok(HttpResponse::Ok().json(BannedWordList { words: list.entries().to_vec() }))
}

/// `PUT /admin/banned-words` `{"words": [...]}`: replaces the list (trimmed, blank entries and folded
/// duplicates dropped) and puts it in force for every send and edit from now on. Answers the list as saved.
#[utoipa::path(
    operation_id = "admin_put_banned_words",
    tag = "admin",
    description = "Entries are words or phrases, matched on whole words ignoring letter case and accents; a send \
        or an edit containing one is refused with `banned_word`. Audited as `settings.banned_words`.",
    request_body = BannedWordList,
    responses(
        (status = 200, description = "The list as saved: entries trimmed, blank ones and duplicates dropped",
            body = BannedWordList),
        (status = 400, body = ErrorBody, description = "`invalid_json`; `invalid_input`: over 1,000 entries, an \
            entry over 100 characters, or one without a letter or digit"),
        (status = 401, description = UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = ADMIN_ONLY, body = ErrorBody),
        (status = 413, description = TOO_LARGE, body = ErrorBody),
        (status = 415, description = NOT_JSON, body = ErrorBody),
    )
)]
#[put("/api/v1/admin/banned-words", wrap = "from_fn(require_admin)")]
pub async fn put_banned_words(
    state: web::Data<AppState>,
    admin: AdminUser,
    req: HttpRequest,
    body: web::Json<BannedWordList>,
) -> ApiResult<HttpResponse> {
    let compiled =
        BannedWords::compile(&body.words).map_err(|err| ApiError::invalid_input("words", &err.to_string()))?;
    let saved = BannedWordList { words: compiled.entries().to_vec() };
    store::settings::put(&state.db, banned_words::SETTING, &saved).await?;
    state.realtime.set_banned_words(compiled);
    let details = json!({"count": saved.words.len()});
    audit(&state, &admin, &req, "settings.banned_words", "settings:banned_words".to_owned(), details).await?;
    Ok(HttpResponse::Ok().json(saved))
}

/// `GET /admin/settings/safeguarding`.
#[utoipa::path(
    operation_id = "admin_get_safeguarding",
    tag = "admin",
    responses(
        (status = 200, description = "Whether safeguarding visibility is on (it is unless a school turns it off)",
            body = SafeguardingSetting),
        (status = 401, description = UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = ADMIN_ONLY, body = ErrorBody),
    )
)]
#[get("/api/v1/admin/settings/safeguarding", wrap = "from_fn(require_admin)")]
pub async fn get_safeguarding(state: web::Data<AppState>, _admin: AdminUser) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(SafeguardingSetting { enabled: safety::safeguarding_enabled(&state.db).await? }))
}

/// `PUT /admin/settings/safeguarding` `{"enabled": bool}`.
#[utoipa::path(
    operation_id = "admin_put_safeguarding",
    tag = "admin",
    description = "Takes effect at once; pushes no frames. Audited as `settings.safeguarding`.",
    request_body = SafeguardingSetting,
    responses(
        (status = 200, description = "The setting as saved", body = SafeguardingSetting),
        (status = 400, description = INVALID_ADMIN_BODY, body = ErrorBody),
        (status = 401, description = UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = ADMIN_ONLY, body = ErrorBody),
        (status = 413, description = TOO_LARGE, body = ErrorBody),
        (status = 415, description = NOT_JSON, body = ErrorBody),
    )
)]
#[put("/api/v1/admin/settings/safeguarding", wrap = "from_fn(require_admin)")]
pub async fn put_safeguarding(
    state: web::Data<AppState>,
    admin: AdminUser,
    req: HttpRequest,
    body: web::Json<SafeguardingSetting>,
) -> ApiResult<HttpResponse> {
    let setting = body.into_inner();
    store::settings::put(&state.db, SAFEGUARDING_SETTING, &setting).await?;
    let details = json!({"enabled": setting.enabled});
    audit(&state, &admin, &req, "settings.safeguarding", "settings:safeguarding".to_owned(), details).await?;
    Ok(HttpResponse::Ok().json(setting))
}

/// `GET /admin/settings/retention`.
#[utoipa::path(
    operation_id = "admin_get_retention",
    tag = "admin",
    responses(
        (status = 200, description = "The retention period (`null`, keep everything, unless set)",
            body = RetentionSetting),
        (status = 401, description = UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = ADMIN_ONLY, body = ErrorBody),
    )
)]
#[get("/api/v1/admin/settings/retention", wrap = "from_fn(require_admin)")]
pub async fn get_retention(state: web::Data<AppState>, _admin: AdminUser) -> ApiResult<HttpResponse> {
    let setting: RetentionSetting = store::settings::get(&state.db, RETENTION_SETTING).await?.unwrap_or_default();
    Ok(HttpResponse::Ok().json(setting))
}

/// `PUT /admin/settings/retention` `{"retention_days": int|null}`: 0 to 36,500 days, or `null` to keep
/// messages forever. The daily run applies it.
#[utoipa::path(
    operation_id = "admin_put_retention",
    tag = "admin",
    description = "Once a day the server clears every message created more than `retention_days` days ago, as a \
        delete does (the `seq` stays). Audited as `settings.retention`; each run as `retention.run`.",
    request_body = RetentionSetting,
    responses(
        (status = 200, description = "The setting as saved", body = RetentionSetting),
        (status = 400, body = ErrorBody, description = "`invalid_json`; `invalid_input`: `retention_days` is not \
            0 to 36,500 or `null`"),
        (status = 401, description = UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = ADMIN_ONLY, body = ErrorBody),
        (status = 413, description = TOO_LARGE, body = ErrorBody),
        (status = 415, description = NOT_JSON, body = ErrorBody),
    )
)]
#[put("/api/v1/admin/settings/retention", wrap = "from_fn(require_admin)")]
pub async fn put_retention(
    state: web::Data<AppState>,
    admin: AdminUser,
    req: HttpRequest,
    body: web::Json<RetentionSetting>,
) -> ApiResult<HttpResponse> {
    let setting = body.into_inner();
    if setting.retention_days.is_some_and(|days| days > MAX_RETENTION_DAYS) {
        return Err(ApiError::invalid_input("retention_days", &format!("0 to {MAX_RETENTION_DAYS}, or null")));
    }
    store::settings::put(&state.db, RETENTION_SETTING, &setting).await?;
    let details = json!({"retention_days": setting.retention_days});
    audit(&state, &admin, &req, "settings.retention", "settings:retention".to_owned(), details).await?;
    Ok(HttpResponse::Ok().json(setting))
}

//! The safety settings: `GET`/`PUT /admin/banned-words`, `/admin/settings/safeguarding` and
//! `/admin/settings/retention`. Each change is audited and takes effect at once.

use actix_web::{HttpRequest, HttpResponse, web};
use hallway_protocol::safety::{BannedWords as BannedWordList, RetentionSetting, SafeguardingSetting};
use serde_json::json;

use super::audit;
use crate::auth::AdminUser;
use crate::error::{ApiError, ApiResult};
use crate::safety::banned_words::{self, BannedWords};
use crate::safety::retention::MAX_RETENTION_DAYS;
use crate::safety::{self, RETENTION_SETTING, SAFEGUARDING_SETTING};
use crate::state::AppState;
use crate::store;

/// Registers this module's routes (under `/api/v1/admin`).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/banned-words", web::get().to(get_banned_words))
        .route("/banned-words", web::put().to(put_banned_words))
        .route("/settings/safeguarding", web::get().to(get_safeguarding))
        .route("/settings/safeguarding", web::put().to(put_safeguarding))
        .route("/settings/retention", web::get().to(get_retention))
        .route("/settings/retention", web::put().to(put_retention));
}

/// `GET /admin/banned-words`: the list as saved.
pub async fn get_banned_words(state: web::Data<AppState>, _admin: AdminUser) -> ApiResult<HttpResponse> {
    let list = safety::load_banned_words(&state.db).await?;
    Ok(HttpResponse::Ok().json(BannedWordList { words: list.entries().to_vec() }))
}

/// `PUT /admin/banned-words` `{"words": [...]}`: replaces the list (trimmed, blank entries and folded
/// duplicates dropped) and puts it in force for every send and edit from now on. Answers the list as saved.
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
pub async fn get_safeguarding(state: web::Data<AppState>, _admin: AdminUser) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(SafeguardingSetting { enabled: safety::safeguarding_enabled(&state.db).await? }))
}

/// `PUT /admin/settings/safeguarding` `{"enabled": bool}`.
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
pub async fn get_retention(state: web::Data<AppState>, _admin: AdminUser) -> ApiResult<HttpResponse> {
    let setting: RetentionSetting = store::settings::get(&state.db, RETENTION_SETTING).await?.unwrap_or_default();
    Ok(HttpResponse::Ok().json(setting))
}

/// `PUT /admin/settings/retention` `{"retention_days": int|null}`: 0 to 36,500 days, or `null` to keep
/// messages forever. The daily run applies it.
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

//! `GET`/`PUT /admin/settings/push`: how much of a message a push shows. By default nothing: pushes pass
//! through Apple's, Google's or a browser vendor's servers, and a school must choose to let names or words go
//! there. Each change is audited and applies to the next message.

use actix_web::middleware::from_fn;
use actix_web::{HttpRequest, HttpResponse, get, put, web};
use hallway_protocol::ErrorBody;
use hallway_protocol::devices::PushSetting;
use serde_json::json;

use crate::auth::AdminUser;
use crate::error::ApiResult;
use crate::http::admin::{audit_action, require_admin};
use crate::http::openapi::{ADMIN_ONLY, INVALID_ADMIN_BODY, NOT_JSON, TOO_LARGE, UNAUTHENTICATED};
use crate::notify::PUSH_SETTING;
use crate::state::AppState;
use crate::store;

/// `GET /admin/settings/push`.
#[utoipa::path(
    operation_id = "admin_get_push_setting",
    tag = "admin",
    responses(
        (status = 200, description = "The push previews (`none` unless set)", body = PushSetting),
        (status = 401, description = UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = ADMIN_ONLY, body = ErrorBody),
    )
)]
#[get("/api/v1/admin/settings/push", wrap = "from_fn(require_admin)")]
pub async fn get(state: web::Data<AppState>, _admin: AdminUser) -> ApiResult<HttpResponse> {
    let setting: PushSetting = store::settings::get(&state.db, PUSH_SETTING).await?.unwrap_or_default();
    Ok(HttpResponse::Ok().json(setting))
}

/// `PUT /admin/settings/push` `{"previews": "none" | "sender" | "full"}`.
#[utoipa::path(
    operation_id = "admin_put_push_setting",
    tag = "admin",
    description = "`none`: pushes carry ids and the badge only; `sender`: also the sender's display name; `full`: \
        also the first 200 characters of the text. Audited as `settings.push`.",
    request_body = PushSetting,
    responses(
        (status = 200, description = "The setting as saved", body = PushSetting),
        (status = 400, description = INVALID_ADMIN_BODY, body = ErrorBody),
        (status = 401, description = UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = ADMIN_ONLY, body = ErrorBody),
        (status = 413, description = TOO_LARGE, body = ErrorBody),
        (status = 415, description = NOT_JSON, body = ErrorBody),
    )
)]
#[put("/api/v1/admin/settings/push", wrap = "from_fn(require_admin)")]
pub async fn put(
    state: web::Data<AppState>,
    admin: AdminUser,
    req: HttpRequest,
    body: web::Json<PushSetting>,
) -> ApiResult<HttpResponse> {
    let setting = body.into_inner();
    store::settings::put(&state.db, PUSH_SETTING, &setting).await?;
    let details = json!({ "previews": setting.previews });
    audit_action(&state, &admin, &req, "settings.push", "settings:push".to_owned(), details).await?;
    Ok(HttpResponse::Ok().json(setting))
}

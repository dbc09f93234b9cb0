//! `GET`/`PUT /admin/settings/urgent-messages`: whether teachers may send urgent messages (contract 1.1;
//! school admins always may). Stored in `settings` like the safety settings; each change is audited and takes
//! effect at the next send.

use actix_web::middleware::from_fn;
use actix_web::{HttpRequest, HttpResponse, get, put, web};
use hallway_protocol::ErrorBody;
use hallway_protocol::announcements::UrgentMessagesSetting;
use serde_json::json;

use crate::announcements::{self, URGENT_SETTING};
use crate::auth::AdminUser;
use crate::error::ApiResult;
use crate::http::admin::{audit_action, require_admin};
use crate::http::openapi::{ADMIN_ONLY, INVALID_ADMIN_BODY, NOT_JSON, TOO_LARGE, UNAUTHENTICATED};
use crate::state::AppState;
use crate::store;

/// `GET /admin/settings/urgent-messages`.
#[utoipa::path(
    operation_id = "admin_get_urgent_messages",
    tag = "admin",
    responses(
        (status = 200, description = "Whether teachers may send urgent messages (they may not unless a school \
            allows it)", body = UrgentMessagesSetting),
        (status = 401, description = UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = ADMIN_ONLY, body = ErrorBody),
    )
)]
#[get("/api/v1/admin/settings/urgent-messages", wrap = "from_fn(require_admin)")]
pub async fn get_urgent_messages(state: web::Data<AppState>, _admin: AdminUser) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(announcements::urgent_setting(&state.db).await?))
}

/// `PUT /admin/settings/urgent-messages` `{"teachers_allowed": bool}`.
#[utoipa::path(
    operation_id = "admin_put_urgent_messages",
    tag = "admin",
    description = "Takes effect at the next send; pushes no frames. Audited as `settings.urgent_messages`.",
    request_body = UrgentMessagesSetting,
    responses(
        (status = 200, description = "The setting as saved", body = UrgentMessagesSetting),
        (status = 400, description = INVALID_ADMIN_BODY, body = ErrorBody),
        (status = 401, description = UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = ADMIN_ONLY, body = ErrorBody),
        (status = 413, description = TOO_LARGE, body = ErrorBody),
        (status = 415, description = NOT_JSON, body = ErrorBody),
    )
)]
#[put("/api/v1/admin/settings/urgent-messages", wrap = "from_fn(require_admin)")]
pub async fn put_urgent_messages(
    state: web::Data<AppState>,
    admin: AdminUser,
    req: HttpRequest,
    body: web::Json<UrgentMessagesSetting>,
) -> ApiResult<HttpResponse> {
    let setting = body.into_inner();
    store::settings::put(&state.db, URGENT_SETTING, &setting).await?;
    let details = json!({"teachers_allowed": setting.teachers_allowed});
    audit_action(&state, &admin, &req, "settings.urgent_messages", "settings:urgent_messages".to_owned(), details)
        .await?;
    Ok(HttpResponse::Ok().json(setting))
}

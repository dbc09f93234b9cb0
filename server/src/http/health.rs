//! Liveness and readiness, outside `/api/v1` so that load balancers need no token.

use std::time::Duration;

use actix_web::{HttpResponse, get, web};
use hallway_protocol::{ErrorBody, ErrorCode};
use serde::Serialize;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The body of a healthy answer: `{"status": "ok"}` or `{"status": "ready"}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Status {
    #[schema(example = "ok")]
    status: &'static str,
}

/// `GET /healthz`: 200 while the process serves requests and can reach its database or bring it back.
#[utoipa::path(
    operation_id = "healthz",
    tag = "health",
    security(()),
    responses(
        (status = 200, description = "The process serves requests: `{\"status\": \"ok\"}`", body = Status),
        (status = 503, description = "`unavailable`: the embedded database died and restarting it keeps failing; \
            restart the server", body = ErrorBody),
    )
)]
#[get("/healthz")]
pub async fn healthz(state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    if state.database.cannot_recover() {
        return Err(ApiError::new(ErrorCode::Unavailable, "the database is down and restarting it keeps failing"));
    }
    Ok(HttpResponse::Ok().json(Status { status: "ok" }))
}

/// `GET /readyz`: 200 when the database answers too, 503 otherwise.
#[utoipa::path(
    operation_id = "readyz",
    tag = "health",
    security(()),
    responses(
        (status = 200, description = "The database answers too: `{\"status\": \"ready\"}`", body = Status),
        (status = 503, description = "`unavailable`: the database does not answer within 2 s", body = ErrorBody),
    )
)]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    if state.database.is_down() {
        return Err(ApiError::database_unavailable());
    }
    let probe = sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(&state.db);
    match tokio::time::timeout(Duration::from_secs(2), probe).await {
        Ok(Ok(_)) => Ok(HttpResponse::Ok().json(Status { status: "ready" })),
        _ => Err(ApiError::new(ErrorCode::Unavailable, "the database does not answer")),
    }
}

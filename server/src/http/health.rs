//! Liveness and readiness, outside `/api/v1` so that load balancers need no token.

use std::time::Duration;

use actix_web::{HttpResponse, web};
use hallway_protocol::ErrorCode;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// `GET /healthz`: 200 while the process serves requests.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}

/// `GET /readyz`: 200 when the database answers too, 503 otherwise.
pub async fn readyz(state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    let probe = sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(&state.db);
    match tokio::time::timeout(Duration::from_secs(2), probe).await {
        Ok(Ok(_)) => Ok(HttpResponse::Ok().json(serde_json::json!({ "status": "ready" }))),
        _ => Err(ApiError::new(ErrorCode::Unavailable, "the database does not answer")),
    }
}

//! `GET /admin/stats?days=`: usage per day, for the console's chart.

use actix_web::middleware::from_fn;
use actix_web::{HttpResponse, get, web};
use hallway_protocol::ErrorBody;
use hallway_protocol::admin::UsageStats;
use serde::Deserialize;

use crate::auth::AdminUser;
use crate::error::{ApiError, ApiResult};
use crate::http::admin::require_admin;
use crate::http::openapi::{ADMIN_ONLY, UNAUTHENTICATED};
use crate::state::AppState;
use crate::{store, views};

/// Default number of days.
const DEFAULT_DAYS: i32 = 90;
/// Most days one request may ask for (a little over a year).
const MAX_DAYS: i32 = 400;

/// `?days=`
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatsParams {
    /// How many days, today included: 1 to 400, 90 when absent.
    #[param(minimum = 1, maximum = 400)]
    days: Option<i32>,
}

/// `GET /admin/stats`: one entry per UTC day, oldest first, today last, days without activity included.
/// "Active users" are the people who sent a message that day (see `store::stats`).
#[utoipa::path(
    operation_id = "admin_usage_stats",
    tag = "admin",
    params(StatsParams),
    responses(
        (status = 200, description = "One entry per UTC day, oldest first, today last", body = UsageStats),
        (status = 400, description = "`invalid_input`: `days` is not 1 to 400", body = ErrorBody),
        (status = 401, description = UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = ADMIN_ONLY, body = ErrorBody),
    )
)]
#[get("/api/v1/admin/stats", wrap = "from_fn(require_admin)")]
pub async fn usage(
    state: web::Data<AppState>,
    _admin: AdminUser,
    params: web::Query<StatsParams>,
) -> ApiResult<HttpResponse> {
    let days = params.days.unwrap_or(DEFAULT_DAYS);
    if !(1..=MAX_DAYS).contains(&days) {
        return Err(ApiError::invalid_input("days", &format!("1 to {MAX_DAYS}")));
    }
    let rows = store::stats::usage(&state.db, days).await?;
    Ok(HttpResponse::Ok().json(UsageStats { days: views::admin::usage(&rows) }))
}

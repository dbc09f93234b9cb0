//! `GET /admin/stats?days=`: usage per day, for the console's chart.

use actix_web::{HttpResponse, web};
use hallway_protocol::admin::UsageStats;
use serde::Deserialize;

use crate::auth::AdminUser;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store;

/// Default number of days.
const DEFAULT_DAYS: i32 = 90;
/// Most days one request may ask for (a little over a year).
const MAX_DAYS: i32 = 400;

/// Registers the stats route.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/stats", web::get().to(usage));
}

/// `?days=`
#[derive(Debug, Deserialize)]
pub struct StatsParams {
    days: Option<i32>,
}

/// `GET /admin/stats`: one entry per UTC day, oldest first, today last, days without activity included.
/// "Active users" are the people who sent a message that day (see `store::stats`).
pub async fn usage(
    state: web::Data<AppState>,
    _admin: AdminUser,
    params: web::Query<StatsParams>,
) -> ApiResult<HttpResponse> {
    let days = params.days.unwrap_or(DEFAULT_DAYS);
    if !(1..=MAX_DAYS).contains(&days) {
        return Err(ApiError::invalid_input("days", &format!("1 to {MAX_DAYS}")));
    }
    let days = store::stats::usage(&state.db, days).await?;
    Ok(HttpResponse::Ok().json(UsageStats { days }))
}

//! `GET /admin/audit`: the audit log, filtered and paged; and `record`, how admin handlers write to it.

use actix_web::middleware::from_fn;
use actix_web::{HttpRequest, HttpResponse, get, web};
use hallway_protocol::admin::AuditPage;
use hallway_protocol::{ErrorBody, ErrorCode};
use serde::Deserialize;
use sqlx::PgExecutor;
use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime, Time};
use uuid::Uuid;

use crate::auth::AdminUser;
use crate::error::{ApiError, ApiResult};
use crate::http::admin::require_admin;
use crate::http::client_address;
use crate::http::openapi::{ADMIN_ONLY, UNAUTHENTICATED};
use crate::state::AppState;
use crate::store::{self, audit::AuditEntry, audit_search::AuditQuery};
use crate::views;

/// Default page size of the audit log.
const DEFAULT_LIMIT: i64 = 50;
/// Largest page of the audit log.
const MAX_LIMIT: i64 = 200;

/// Records what an admin did to a person (`target` is a user id), from the request's client address.
pub async fn record(
    db: impl PgExecutor<'_>,
    admin: &AdminUser,
    req: &HttpRequest,
    action: &str,
    target: Option<Uuid>,
    details: serde_json::Value,
) -> Result<(), sqlx::Error> {
    store::audit::record(db, entry(admin, req, action, target, details)).await
}

/// The entry `record` writes, for domain calls that record it inside their own transaction.
pub fn entry<'a>(
    admin: &AdminUser,
    req: &HttpRequest,
    action: &'a str,
    target: Option<Uuid>,
    details: serde_json::Value,
) -> AuditEntry<'a> {
    AuditEntry {
        actor_id: Some(admin.id()),
        action,
        target: target.map(|id| format!("user:{id}")),
        address: client_address(req),
        details,
    }
}

/// `?actor=&action=&from=&to=&limit=&before_id=`
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// A user id or a username.
    actor: Option<String>,
    /// An action (`user.create`), or its prefix before the dot (`user` finds every `user.*` action).
    action: Option<String>,
    /// An RFC 3339 instant, or a date (`YYYY-MM-DD`, from the start of that day in UTC).
    from: Option<String>,
    /// An RFC 3339 instant (exclusive), or a date (through the end of that day in UTC).
    to: Option<String>,
    /// How many entries at most: 1 to 200, 50 when absent.
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
    /// Only entries older than this one: the previous page's `next_before_id`.
    before_id: Option<i64>,
}

/// `GET /admin/audit`: newest first. `action=user` finds every `user.*` action; `actor` takes an id or a
/// username (an unknown username finds nothing).
#[utoipa::path(
    operation_id = "admin_audit_log",
    tag = "admin",
    params(AuditParams),
    responses(
        (status = 200, description = "One page of the log, newest first", body = AuditPage),
        (status = 400, body = ErrorBody, description = "`invalid_paging`: `limit` is not 1 to 200; \
            `invalid_input`: `from` or `to` is neither an RFC 3339 time nor a date"),
        (status = 401, description = UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = ADMIN_ONLY, body = ErrorBody),
    )
)]
#[get("/api/v1/admin/audit", wrap = "from_fn(require_admin)")]
pub async fn search(
    state: web::Data<AppState>,
    _admin: AdminUser,
    params: web::Query<AuditParams>,
) -> ApiResult<HttpResponse> {
    let limit = params.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::new(ErrorCode::InvalidPaging, format!("limit: 1 to {MAX_LIMIT}")));
    }
    let actor_id = match params.actor.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
        None => None,
        Some(actor) => match Uuid::parse_str(actor) {
            Ok(id) => Some(id),
            Err(_) => match store::users::find_by_login(&state.db, actor).await? {
                Some(user) => Some(user.id),
                None => return Ok(HttpResponse::Ok().json(AuditPage { entries: Vec::new(), next_before_id: None })),
            },
        },
    };
    let from = params.from.as_deref().map(|raw| instant("from", raw, false)).transpose()?;
    let to = params.to.as_deref().map(|raw| instant("to", raw, true)).transpose()?;
    let action = params.action.as_deref().map(str::trim).filter(|a| !a.is_empty());
    let query = AuditQuery { actor_id, action, from, to, before_id: params.before_id, limit };
    let entries: Vec<_> =
        store::audit_search::search(&state.db, &query).await?.into_iter().map(views::admin::audit_entry).collect();
    let next_before_id = if entries.len() as i64 == limit { entries.last().map(|e| e.id) } else { None };
    Ok(HttpResponse::Ok().json(AuditPage { entries, next_before_id }))
}

/// An RFC 3339 instant, or a date taken as the start of that day (`end_of_day`: the start of the next one).
fn instant(field: &str, raw: &str, end_of_day: bool) -> ApiResult<OffsetDateTime> {
    let raw = raw.trim();
    if let Ok(at) = OffsetDateTime::parse(raw, &Rfc3339) {
        return Ok(at);
    }
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let date = Date::parse(raw, &format)
        .map_err(|_| ApiError::invalid_input(field, "an RFC 3339 time or a date (YYYY-MM-DD)"))?;
    let date = if end_of_day { date.next_day().unwrap_or(date) } else { date };
    Ok(date.with_time(Time::MIDNIGHT).assume_utc())
}

//! The report queue: `GET /admin/reports?status=open|handled|all&limit=` and
//! `POST /admin/reports/{id}/resolve`.

use actix_web::middleware::from_fn;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use hallway_protocol::safety::{
    AdminReport, AdminReportList, REPORT_CONTEXT, ReportAction, ReportStatus, ResolveReportRequest,
};
use hallway_protocol::ws::ServerFrame;
use hallway_protocol::{ErrorBody, ErrorCode};
use serde::Deserialize;
use serde_json::json;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use uuid::Uuid;

use super::{audit, moderation};
use crate::auth::{self, AdminUser};
use crate::error::{ApiError, ApiResult};
use crate::http::admin::require_admin;
use crate::http::openapi::{ADMIN_ONLY, NOT_JSON, TOO_LARGE, UNAUTHENTICATED};
use crate::realtime::{Target, encode};
use crate::state::AppState;
use crate::store::messages::Window;
use crate::store::reports::{ReportRow, Resolution};
use crate::store::{self};

/// Reports one page of the queue holds when the admin does not say.
pub const DEFAULT_LIMIT: i64 = 50;
/// Most reports in one page of the queue (each comes with its context).
pub const MAX_LIMIT: i64 = 200;

/// The raw queue parameters, parsed by the handler so that a bad value is `invalid_input` naming it.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Which reports: `open` (the default), `handled` or `all`.
    #[param(schema_with = status_filter)]
    status: Option<String>,
    /// How many reports at most: 1 to 200, 50 when absent.
    #[param(value_type = Option<i64>, minimum = 1, maximum = 200)]
    limit: Option<String>,
}

/// The values `status` may take, for the OpenAPI document.
fn status_filter() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String).enum_values(Some(["open", "handled", "all"]))
}

/// `GET /admin/reports?status=open|handled|all&limit=`: open reports by default, oldest first, each with the
/// reported text, the message as it stands, five messages of context on each side and the people involved.
/// Audited (`report.list`): it shows people's messages.
#[utoipa::path(
    operation_id = "admin_list_reports",
    tag = "admin",
    description = "Oldest first, so that the queue is worked in order. Each report comes with the text as \
        reported, the message as it stands, up to five messages of context on each side and the people involved. \
        Audited as `report.list`.",
    params(ListQuery),
    responses(
        (status = 200, description = "One page of the queue", body = AdminReportList),
        (status = 400, body = ErrorBody, description = "`invalid_input`: `status` is not `open`, `handled` or \
            `all`, or `limit` is not 1 to 200"),
        (status = 401, description = UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = ADMIN_ONLY, body = ErrorBody),
    )
)]
#[get("/api/v1/admin/reports", wrap = "from_fn(require_admin)")]
pub async fn list(
    state: web::Data<AppState>,
    admin: AdminUser,
    req: HttpRequest,
    query: web::Query<ListQuery>,
) -> ApiResult<HttpResponse> {
    let status = match query.status.as_deref().map(str::trim).unwrap_or("open") {
        "all" => None,
        raw => Some(ReportStatus::parse(raw).ok_or_else(|| ApiError::invalid_input("status", "open, handled or all"))?),
    };
    let limit = match query.limit.as_deref().map(str::trim).filter(|l| !l.is_empty()) {
        None => DEFAULT_LIMIT,
        Some(raw) => raw
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| ApiError::invalid_input("limit", &format!("1 to {MAX_LIMIT}")))?,
    };
    let rows = store::reports::list(&state.db, status, limit).await?;
    let mut reports = Vec::with_capacity(rows.len());
    for row in rows {
        reports.push(admin_view(&state, row).await?);
    }
    let details = json!({"status": status.map(ReportStatus::as_str).unwrap_or("all"), "count": reports.len()});
    audit(&state, &admin, &req, "report.list", "reports".to_owned(), details).await?;
    Ok(HttpResponse::Ok().json(AdminReportList { reports }))
}

/// `POST /admin/reports/{id}/resolve` `{"action", "note"?}`: does what the action says (a moderation
/// delete through the conversation's actor, or a deactivation that ends the sender's sessions), marks the
/// report handled and tells the reporter's sockets (`report_updated`). Deleting a message settles every open
/// report of it. 409 when the report was handled already. Each step is audited.
#[utoipa::path(
    operation_id = "admin_resolve_report",
    tag = "admin",
    description = "`dismiss` changes nothing but the report's status; `delete_message` deletes the message as its \
        sender's delete does (every member's sockets get `message_deleted`) and handles every open report of it; \
        `deactivate_sender` deactivates the sender's account (their sessions end and their sockets close). The \
        reporters' sockets get `report_updated`. Audited: `message.moderator_delete` or `user.deactivate`, then \
        `report.resolve`.",
    params(("id" = Uuid, Path, description = "The report")),
    request_body = ResolveReportRequest,
    responses(
        (status = 200, description = "The report as handled", body = AdminReport),
        (status = 400, body = ErrorBody, description = "`invalid_id`; `invalid_json`; `invalid_input`: an unknown \
            `action`, or a `note` over 1,000 characters"),
        (status = 401, description = UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = ADMIN_ONLY, body = ErrorBody),
        (status = 404, description = "`not_found`: no such report", body = ErrorBody),
        (status = 409, body = ErrorBody, description = "`conflict`: the report has been handled already, or \
            `deactivate_sender` would deactivate the caller"),
        (status = 413, description = TOO_LARGE, body = ErrorBody),
        (status = 415, description = NOT_JSON, body = ErrorBody),
    )
)]
#[post("/api/v1/admin/reports/{id}/resolve", wrap = "from_fn(require_admin)")]
pub async fn resolve(
    state: web::Data<AppState>,
    admin: AdminUser,
    req: HttpRequest,
    report_id: web::Path<Uuid>,
    body: web::Json<ResolveReportRequest>,
) -> ApiResult<HttpResponse> {
    let note = crate::http::reports::note(body.note.as_deref())?;
    let report = store::reports::find(&state.db, report_id.into_inner()).await?.ok_or_else(ApiError::not_found)?;
    if report.status() == ReportStatus::Handled {
        return Err(already_handled());
    }
    let message = store::messages::find(&state.db, report.message_id).await?.ok_or_else(ApiError::not_found)?;
    let report_ref = json!(report.id);
    match body.action {
        ReportAction::Dismiss => {}
        ReportAction::DeleteMessage => {
            let (_, was_live) = moderation::moderator_delete(&state, &admin, message.id).await?;
            let details =
                json!({"conversation_id": message.conversation_id, "changed": was_live, "report_id": report_ref});
            audit(&state, &admin, &req, "message.moderator_delete", format!("message:{}", message.id), details).await?;
        }
        ReportAction::DeactivateSender => {
            if message.sender_id == admin.id() {
                return Err(ApiError::new(ErrorCode::Conflict, "you cannot deactivate your own account"));
            }
            let details = json!({"report_id": report_ref, "via": "report"});
            let entry =
                crate::http::admin::audit::entry(&admin, &req, "user.deactivate", Some(message.sender_id), details);
            auth::set_deactivated(&state, message.sender_id, true, entry).await?;
        }
    }
    let resolution = Resolution { action: body.action, note: note.as_deref(), handled_by: admin.id() };
    let same_message = body.action == ReportAction::DeleteMessage;
    let handled = store::reports::resolve(&state.db, &report, &resolution, same_message).await?;
    if !handled.iter().any(|r| r.id == report.id) {
        // Another admin resolved it meanwhile; what this call did is audited above.
        return Err(already_handled());
    }
    let details = json!({
        "action": body.action.as_str(),
        "message_id": message.id,
        "reports_handled": handled.iter().map(|r| r.id).collect::<Vec<_>>(),
    });
    audit(&state, &admin, &req, "report.resolve", format!("report:{}", report.id), details).await?;
    for row in &handled {
        let frame = ServerFrame::ReportUpdated { report_id: row.id, status: ReportStatus::Handled };
        state.realtime.deliver(row.reporter_id, encode(&frame), Target::All);
    }
    let row = handled.into_iter().find(|r| r.id == report.id).ok_or_else(ApiError::not_found)?;
    Ok(HttpResponse::Ok().json(admin_view(&state, row).await?))
}

fn already_handled() -> ApiError {
    ApiError::new(ErrorCode::Conflict, "the report has been handled already")
}

/// A report as moderators see it: the message now and as reported, its context and the people involved.
async fn admin_view(state: &AppState, row: ReportRow) -> ApiResult<AdminReport> {
    let (db, keys) = (&state.db, &state.keys);
    let message = store::messages::find(db, row.message_id).await?.ok_or_else(ApiError::not_found)?;
    let (before, _) =
        store::messages::page(db, message.conversation_id, Window::Before(message.seq), REPORT_CONTEXT).await?;
    let (after, _) =
        store::messages::page(db, message.conversation_id, Window::After(message.seq), REPORT_CONTEXT).await?;
    let (before_count, sender_id) = (before.len(), message.sender_id);
    let mut people: Vec<Uuid> = before.iter().chain(&after).map(|m| m.sender_id).collect();
    people.extend([row.reporter_id, sender_id]);
    people.sort_unstable();
    people.dedup();
    let mut wire =
        crate::views::messages::many(db, keys, before.into_iter().chain([message]).chain(after).collect()).await?;
    let context_after = wire.split_off(before_count + 1);
    let message = wire.pop().ok_or_else(ApiError::not_found)?;
    let people: Vec<hallway_protocol::User> =
        store::users::find_many(db, &people).await?.iter().map(crate::views::user).collect();
    let person = |id: Uuid| {
        people
            .iter()
            .find(|u| u.id == id)
            .cloned()
            .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("a user of a report is gone")))
    };
    Ok(AdminReport {
        id: row.id,
        status: row.status(),
        reason: row.reason(),
        action: row.action(),
        reporter: person(row.reporter_id)?,
        sender: person(sender_id)?,
        note: row.note,
        created_at: row.created_at,
        reported_body: row.reported_body,
        message,
        context_before: wire,
        context_after,
        people,
        resolution_note: row.resolution_note,
        handled_by: row.handled_by,
        handled_at: row.handled_at,
    })
}

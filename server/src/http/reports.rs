//! Reports by members: `POST /messages/{id}/report` and `GET /reports/mine`. A reporter learns whether their
//! report is open or handled, never what was done about it; the school admins work the queue under
//! `/admin/reports`.

use actix_web::{HttpResponse, get, post, web};
use hallway_protocol::safety::{MAX_NOTE_CHARS, MyReport, MyReportList, ReportRequest};
use hallway_protocol::{ErrorBody, ErrorCode};
use uuid::Uuid;

use super::openapi::{DEACTIVATED, NOT_FOUND, NOT_JSON, TOO_LARGE, UNAUTHENTICATED};
use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult};
use crate::messaging;
use crate::state::AppState;
use crate::store::{self, reports::NewReport, reports::ReportRow};

/// Most reports `GET /reports/mine` lists (the newest).
pub const MY_REPORTS_LIMIT: i64 = 200;

/// `POST /messages/{id}/report`: 201 with the new report, 200 with the first one when this person already
/// reported this message. Members only (404 for everyone else); a deleted message cannot be reported (409).
#[utoipa::path(
    operation_id = "report_message",
    tag = "reports",
    description = "Any member may report any message in the conversation, their own included. The server keeps \
        the text as it is now, so a later edit or delete does not hide it from the school admins.",
    params(("id" = Uuid, Path, description = "The message")),
    request_body = ReportRequest,
    responses(
        (status = 201, description = "Reported: the new report, `\"status\": \"open\"`", body = MyReport),
        (status = 200, body = MyReport, description = "The caller had reported this message already: their first \
            report, whatever this one says"),
        (status = 400, body = ErrorBody, description = "`invalid_id`; `invalid_json`; `invalid_input`: an unknown \
            `reason`, or a `note` over 1,000 characters"),
        (status = 401, description = UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = DEACTIVATED, body = ErrorBody),
        (status = 404, description = NOT_FOUND, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "`conflict`: the message has been deleted (and the caller \
            had not reported it before)"),
        (status = 413, description = TOO_LARGE, body = ErrorBody),
        (status = 415, description = NOT_JSON, body = ErrorBody),
    )
)]
#[post("/api/v1/messages/{id}/report")]
pub async fn report(
    state: web::Data<AppState>,
    caller: AuthUser,
    message_id: web::Path<Uuid>,
    body: web::Json<ReportRequest>,
) -> ApiResult<HttpResponse> {
    let note = note(body.note.as_deref())?;
    let message = store::messages::find(&state.db, message_id.into_inner()).await?.ok_or_else(ApiError::not_found)?;
    messaging::require_member(&state.db, message.conversation_id, caller.id()).await?;
    if message.deleted_at.is_some() {
        // A report made before the delete still stands and is answered as a repeat.
        return match store::reports::find_of_reporter(&state.db, message.id, caller.id()).await? {
            Some(row) => Ok(HttpResponse::Ok().json(mine_view(&row))),
            None => Err(ApiError::new(ErrorCode::Conflict, "the message has been deleted")),
        };
    }
    let new = NewReport {
        message_id: message.id,
        conversation_id: message.conversation_id,
        reporter_id: caller.id(),
        reason: body.reason,
        note: note.as_deref(),
        reported_body: &message.body,
    };
    let (row, created) = store::reports::insert(&state.db, &new).await?;
    Ok(if created { HttpResponse::Created() } else { HttpResponse::Ok() }.json(mine_view(&row)))
}

/// `GET /reports/mine`: the caller's reports, newest first, with their status only.
#[utoipa::path(
    operation_id = "list_my_reports",
    tag = "reports",
    description = "The latest 200. A reporter learns whether a report is open or handled, never what was done; \
        when one is handled, the reporter's sockets get `report_updated`.",
    responses(
        (status = 200, description = "The caller's reports, newest first", body = MyReportList),
        (status = 401, description = UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = DEACTIVATED, body = ErrorBody),
    )
)]
#[get("/api/v1/reports/mine")]
pub async fn mine(state: web::Data<AppState>, caller: AuthUser) -> ApiResult<HttpResponse> {
    let rows = store::reports::list_of_reporter(&state.db, caller.id(), MY_REPORTS_LIMIT).await?;
    Ok(HttpResponse::Ok().json(MyReportList { reports: rows.iter().map(mine_view).collect() }))
}

/// What a reporter may know about their report.
fn mine_view(row: &ReportRow) -> MyReport {
    MyReport {
        id: row.id,
        status: row.status(),
        message_id: row.message_id,
        conversation_id: row.conversation_id,
        reason: row.reason(),
        created_at: row.created_at,
    }
}

/// A note, trimmed; blank is none; at most `MAX_NOTE_CHARS` characters.
pub fn note(raw: Option<&str>) -> ApiResult<Option<String>> {
    let Some(note) = raw.map(str::trim).filter(|n| !n.is_empty()) else { return Ok(None) };
    if note.chars().count() > MAX_NOTE_CHARS {
        return Err(ApiError::invalid_input("note", &format!("at most {MAX_NOTE_CHARS} characters")));
    }
    Ok(Some(note.to_owned()))
}

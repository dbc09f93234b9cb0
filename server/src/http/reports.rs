//! Reports by members: `POST /messages/{id}/report` and `GET /reports/mine`. A reporter learns whether their
//! report is open or handled, never what was done about it; the school admins work the queue under
//! `/admin/reports`.

use actix_web::{HttpResponse, web};
use hallway_protocol::ErrorCode;
use hallway_protocol::safety::{MAX_NOTE_CHARS, MyReport, MyReportList, ReportRequest};

use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult};
use crate::messaging;
use crate::state::AppState;
use crate::store::{self, reports::NewReport, reports::ReportRow};

/// Most reports `GET /reports/mine` lists (the newest).
pub const MY_REPORTS_LIMIT: i64 = 200;

/// Registers this module's routes (under `/api/v1`).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/messages/{id}/report", web::post().to(report)).route("/reports/mine", web::get().to(mine));
}

/// `POST /messages/{id}/report`: 201 with the new report, 200 with the first one when this person already
/// reported this message. Members only (404 for everyone else); a deleted message cannot be reported (409).
pub async fn report(
    state: web::Data<AppState>,
    caller: AuthUser,
    message_id: web::Path<uuid::Uuid>,
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

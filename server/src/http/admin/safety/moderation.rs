//! Moderation deletes (`DELETE /admin/messages/{id}`) and conversation exports
//! (`GET /admin/conversations/{id}/export?format=json|html`).

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::audit;
use crate::auth::AdminUser;
use crate::error::{ApiError, ApiResult};
use crate::realtime::conversation::{Change, Changed, Origin};
use crate::safety::export::{self, Format};
use crate::state::AppState;

/// Registers this module's routes (under `/api/v1/admin`).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/messages/{id}", web::delete().to(delete_message))
        .route("/conversations/{id}/export", web::get().to(export_conversation));
}

/// Deletes any message through its conversation's actor, so its members get `message_deleted` exactly as
/// for a member's delete. Idempotent; the answer is the deleted message. Shared with report resolution.
pub async fn moderator_delete(state: &AppState, admin: &AdminUser, message_id: Uuid) -> ApiResult<(Changed, bool)> {
    let before = crate::store::messages::find(&state.db, message_id).await?.ok_or_else(ApiError::not_found)?;
    let origin = Origin { user_id: admin.id(), conn: None };
    let changed = state.realtime.change_message(origin, message_id, Change::ModeratorDelete { message_id }).await?;
    Ok((changed, before.deleted_at.is_none()))
}

/// `DELETE /admin/messages/{id}`: 200 with the deleted message; audited (`message.moderator_delete`).
pub async fn delete_message(
    state: web::Data<AppState>,
    admin: AdminUser,
    req: HttpRequest,
    message_id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let message_id = message_id.into_inner();
    let (changed, was_live) = moderator_delete(&state, &admin, message_id).await?;
    let Changed::Message(message) = changed else {
        return Err(ApiError::Internal(anyhow::anyhow!("a moderation delete answered with a read marker")));
    };
    let details = json!({"conversation_id": message.conversation_id, "changed": was_live});
    audit(&state, &admin, &req, "message.moderator_delete", format!("message:{message_id}"), details).await?;
    Ok(HttpResponse::Ok().json(message))
}

/// The export's query.
#[derive(Debug, Deserialize)]
pub struct ExportQuery {
    #[serde(default)]
    format: Option<Format>,
}

/// `GET /admin/conversations/{id}/export?format=json|html` (JSON when not given): every message in seq
/// order. Audited (`conversation.export`) before anything is sent. Served as a download, so a browser never
/// renders the page on the server's own origin; the HTML page also forbids scripts through its CSP.
pub async fn export_conversation(
    state: web::Data<AppState>,
    admin: AdminUser,
    req: HttpRequest,
    conversation_id: web::Path<Uuid>,
    query: web::Query<ExportQuery>,
) -> ApiResult<HttpResponse> {
    let conversation_id = conversation_id.into_inner();
    let format = query.format.unwrap_or(Format::Json);
    let record = export::gather(&state.db, conversation_id, admin.id()).await?.ok_or_else(ApiError::not_found)?;
    let (format_name, extension) = match format {
        Format::Json => ("json", "json"),
        Format::Html => ("html", "html"),
    };
    let details = json!({"format": format_name, "messages": record.messages.len()});
    audit(&state, &admin, &req, "conversation.export", format!("conversation:{conversation_id}"), details).await?;
    let disposition = format!("attachment; filename=\"conversation-{conversation_id}.{extension}\"");
    let mut response = HttpResponse::Ok();
    response
        .insert_header((header::CONTENT_DISPOSITION, disposition))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CACHE_CONTROL, "no-store"));
    Ok(match format {
        Format::Json => response.json(record),
        Format::Html => response
            .insert_header((header::CONTENT_SECURITY_POLICY, "default-src 'none'; style-src 'unsafe-inline'"))
            .content_type("text/html; charset=utf-8")
            .body(export::to_html(&record)),
    })
}

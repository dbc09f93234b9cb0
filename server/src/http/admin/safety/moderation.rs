//! Moderation deletes (`DELETE /admin/messages/{id}`) and conversation exports
//! (`GET /admin/conversations/{id}/export?format=json|html`).

use actix_web::http::header;
use actix_web::middleware::from_fn;
use actix_web::{HttpRequest, HttpResponse, delete, get, web};
use hallway_protocol::safety::ConversationExport;
use hallway_protocol::{ErrorBody, Message};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::audit;
use crate::auth::AdminUser;
use crate::error::{ApiError, ApiResult};
use crate::http::admin::require_admin;
use crate::http::openapi::{ADMIN_ONLY, INVALID_ID, UNAUTHENTICATED};
use crate::realtime::conversation::Origin;
use crate::safety::export::{self, Format};
use crate::state::AppState;

/// Deletes any message through its conversation's actor, so its members get `message_deleted` exactly as
/// for a member's delete. Idempotent; the answer is the deleted message. Shared with report resolution.
pub async fn moderator_delete(state: &AppState, admin: &AdminUser, message_id: Uuid) -> ApiResult<(Message, bool)> {
    let before = crate::store::messages::find(&state.db, message_id).await?.ok_or_else(ApiError::not_found)?;
    let origin = Origin { user_id: admin.id(), conn: None, session: None };
    let message = state.realtime.moderator_delete(origin, message_id).await?;
    Ok((message, before.deleted_at.is_none()))
}

/// `DELETE /admin/messages/{id}`: 200 with the deleted message; audited (`message.moderator_delete`).
#[utoipa::path(
    operation_id = "admin_delete_message",
    tag = "admin",
    description = "Deletes any message, in any conversation, exactly as its sender's delete does, through the \
        conversation's actor, so that every member's sockets get `message_deleted`. Idempotent: deleting it again \
        answers the same and tells no one. Audited as `message.moderator_delete` every time, with `changed`.",
    params(("id" = Uuid, Path, description = "The message")),
    responses(
        (status = 200, description = "The deleted message: same `seq`, empty body, no attachments, `deleted: true`",
            body = Message),
        (status = 400, description = INVALID_ID, body = ErrorBody),
        (status = 401, description = UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = ADMIN_ONLY, body = ErrorBody),
        (status = 404, description = "`not_found`: no such message", body = ErrorBody),
    )
)]
#[delete("/api/v1/admin/messages/{id}", wrap = "from_fn(require_admin)")]
pub async fn delete_message(
    state: web::Data<AppState>,
    admin: AdminUser,
    req: HttpRequest,
    message_id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let message_id = message_id.into_inner();
    let (message, was_live) = moderator_delete(&state, &admin, message_id).await?;
    let details = json!({"conversation_id": message.conversation_id, "changed": was_live});
    audit(&state, &admin, &req, "message.moderator_delete", format!("message:{message_id}"), details).await?;
    Ok(HttpResponse::Ok().json(message))
}

/// The export's query.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// `json` (the default) or `html`: a printable page with the same content.
    #[serde(default)]
    #[param(inline)]
    format: Option<Format>,
}

/// `GET /admin/conversations/{id}/export?format=json|html` (JSON when not given): every message in seq
/// order. Audited (`conversation.export`) before anything is sent. Served as a download, so a browser never
/// renders the page on the server's own origin; the HTML page also forbids scripts through its CSP.
#[utoipa::path(
    operation_id = "admin_export_conversation",
    tag = "admin",
    description = "The school's record of one conversation: its members and every message ascending by `seq`, \
        with earlier versions of edited messages and the files' names and sizes (not their bytes). Served as a \
        download. The HTML page is self-contained, escapes everything people wrote and forbids scripts. Audited \
        as `conversation.export` before anything is sent.",
    params(("id" = Uuid, Path, description = "The conversation"), ExportQuery),
    responses(
        (status = 200, description = "The export: JSON (`format=json`, the default) or an HTML page \
            (`format=html`, `text/html; charset=utf-8`)",
            content(
                (ConversationExport = "application/json"),
                (String = "text/html; charset=utf-8"),
            ),
            headers(
                ("Content-Disposition" = String, description = "`attachment; \
                    filename=\"conversation-<id>.json\"` (or `.html`)"),
                ("Cache-Control" = String, description = "`no-store`"),
                ("X-Content-Type-Options" = String, description = "`nosniff`"),
                ("Content-Security-Policy" = String, description = "HTML only: `default-src 'none'; style-src \
                    'unsafe-inline'`"),
            )),
        (status = 400, description = "`invalid_id`; `invalid_input`: `format` is not `json` or `html`",
            body = ErrorBody),
        (status = 401, description = UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = ADMIN_ONLY, body = ErrorBody),
        (status = 404, description = "`not_found`: no such conversation", body = ErrorBody),
    )
)]
#[get("/api/v1/admin/conversations/{id}/export", wrap = "from_fn(require_admin)")]
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
    // Rendered before the audit, so that an export is recorded only when there is one to send.
    let html = match format {
        Format::Json => None,
        Format::Html => Some(
            export::to_html(&record).map_err(|e| ApiError::Internal(anyhow::anyhow!("rendering an export: {e}")))?,
        ),
    };
    let details = json!({"format": format_name, "messages": record.messages.len()});
    audit(&state, &admin, &req, "conversation.export", format!("conversation:{conversation_id}"), details).await?;
    let disposition = format!("attachment; filename=\"conversation-{conversation_id}.{extension}\"");
    let mut response = HttpResponse::Ok();
    response
        .insert_header((header::CONTENT_DISPOSITION, disposition))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CACHE_CONTROL, "no-store"));
    Ok(match html {
        None => response.json(record),
        Some(html) => response
            .insert_header((header::CONTENT_SECURITY_POLICY, "default-src 'none'; style-src 'unsafe-inline'"))
            .content_type("text/html; charset=utf-8")
            .body(html),
    })
}

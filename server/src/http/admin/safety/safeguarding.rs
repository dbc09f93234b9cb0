//! Safeguarding visibility: with the setting on, school admins may read direct chats between a teacher and a
//! student, read-only, and every read is audited. Other chats are not visible here (404).

use actix_web::middleware::from_fn;
use actix_web::{HttpRequest, HttpResponse, get, web};
use hallway_protocol::messages::MessagePage;
use hallway_protocol::safety::{SafeguardedConversation, SafeguardedConversationList};
use hallway_protocol::{ConversationKind, ErrorBody};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::audit;
use crate::auth::AdminUser;
use crate::error::{ApiError, ApiResult};
use crate::http::admin::require_admin;
use crate::http::messages::HistoryQuery;
use crate::http::openapi::{ADMIN_ONLY, UNAUTHENTICATED};
use crate::state::AppState;
use crate::{safety, store};

/// Chats one page of the list holds when the admin does not say.
pub const DEFAULT_LIMIT: i64 = 50;
/// Most chats in one page of the list.
pub const MAX_LIMIT: i64 = 200;

/// The raw list parameters, parsed by the handler so that a bad value is `invalid_input` naming it.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// How many chats at most: 1 to 200, 50 when absent.
    #[param(value_type = Option<i64>, minimum = 1, maximum = 200)]
    limit: Option<String>,
    /// How many chats to skip: 0 when absent.
    #[param(value_type = Option<i64>, minimum = 0, maximum = 2147483647)]
    offset: Option<String>,
}

/// `GET /admin/safeguarding/conversations?limit=&offset=`: the chats under safeguarding visibility, newest
/// activity first (none while the setting is off). Audited (`safeguarding.list`).
#[utoipa::path(
    operation_id = "admin_list_safeguarded_conversations",
    tag = "admin",
    description = "While the safeguarding setting is on, direct chats between a teacher and a student are \
        visible to school admins, read-only; both people see `\"safeguarding\": true` on the conversation. \
        Audited as `safeguarding.list`.",
    params(ListQuery),
    responses(
        (status = 200, body = SafeguardedConversationList, description = "The chats, newest activity first; none \
            while the setting is off (`enabled: false`)"),
        (status = 400, description = "`invalid_input`: `limit` is not 1 to 200, or `offset` not a whole number \
            from 0", body = ErrorBody),
        (status = 401, description = UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = ADMIN_ONLY, body = ErrorBody),
    )
)]
#[get("/api/v1/admin/safeguarding/conversations", wrap = "from_fn(require_admin)")]
pub async fn list(
    state: web::Data<AppState>,
    admin: AdminUser,
    req: HttpRequest,
    query: web::Query<ListQuery>,
) -> ApiResult<HttpResponse> {
    let number = |field: &str, raw: Option<&str>, default: i64, max: i64| -> ApiResult<i64> {
        match raw.map(str::trim).filter(|v| !v.is_empty()) {
            None => Ok(default),
            Some(v) => v
                .parse::<i64>()
                .ok()
                .filter(|n| (0..=max).contains(n) && (field != "limit" || *n >= 1))
                .ok_or_else(|| ApiError::invalid_input(field, &format!("a whole number up to {max}"))),
        }
    };
    let limit = number("limit", query.limit.as_deref(), DEFAULT_LIMIT, MAX_LIMIT)?;
    let offset = number("offset", query.offset.as_deref(), 0, i64::from(i32::MAX))?;
    let enabled = safety::safeguarding_enabled(&state.db).await?;
    let rows = if enabled { store::safeguarding::list(&state.db, limit, offset).await? } else { Vec::new() };
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let mut members = crate::views::conversations::members_of(&state.db, &ids).await?;
    let conversations: Vec<SafeguardedConversation> = rows
        .into_iter()
        .map(|row| SafeguardedConversation {
            id: row.id,
            kind: ConversationKind::Direct,
            members: members.remove(&row.id).unwrap_or_default(),
            created_at: row.created_at,
            last_message_at: row.last_message_at,
            message_count: row.message_count,
        })
        .collect();
    let details = json!({"count": conversations.len(), "enabled": enabled});
    audit(&state, &admin, &req, "safeguarding.list", "safeguarding".to_owned(), details).await?;
    Ok(HttpResponse::Ok().json(SafeguardedConversationList { enabled, conversations }))
}

/// `GET /admin/safeguarding/conversations/{id}/messages?before_seq=&after_seq=&limit=`: a page of a
/// safeguarded chat, exactly like a member's history; 404 for any other conversation or while the setting is
/// off. Audited (`safeguarding.read`, with the seqs read) before the page is sent.
#[utoipa::path(
    operation_id = "admin_get_safeguarded_messages",
    tag = "admin",
    description = "Paged exactly like a member's history (`GET /api/v1/conversations/{id}/messages`), read-only. \
        Each page read is audited as `safeguarding.read`, with the seqs read, before it is sent.",
    params(("id" = Uuid, Path, description = "The conversation"), HistoryQuery),
    responses(
        (status = 200, description = "One page of messages, ascending by `seq`", body = MessagePage),
        (status = 400, description = "`invalid_id`; `invalid_paging`: as for a member's history", body = ErrorBody),
        (status = 401, description = UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = ADMIN_ONLY, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "`not_found`: not a direct chat between a teacher and a \
            student, no such conversation, or the safeguarding setting is off"),
    )
)]
#[get("/api/v1/admin/safeguarding/conversations/{id}/messages", wrap = "from_fn(require_admin)")]
pub async fn messages(
    state: web::Data<AppState>,
    admin: AdminUser,
    req: HttpRequest,
    conversation_id: web::Path<Uuid>,
    query: web::Query<HistoryQuery>,
) -> ApiResult<HttpResponse> {
    let conversation_id = conversation_id.into_inner();
    let paging = query.paging().map_err(ApiError::from)?;
    if !safety::safeguarding_enabled(&state.db).await?
        || !store::safeguarding::is_safeguarded(&state.db, conversation_id).await?
    {
        return Err(ApiError::not_found());
    }
    let (rows, has_more) = store::messages::page(&state.db, conversation_id, paging.window, paging.limit).await?;
    let messages = crate::views::messages::many(&state.db, &state.keys, rows).await?;
    let details = json!({
        "count": messages.len(),
        "first_seq": messages.first().map(|m| m.seq),
        "last_seq": messages.last().map(|m| m.seq),
    });
    audit(&state, &admin, &req, "safeguarding.read", format!("conversation:{conversation_id}"), details).await?;
    Ok(HttpResponse::Ok().json(MessagePage { messages, has_more }))
}

//! Safeguarding visibility: with the setting on, school admins may read direct chats between a teacher and a
//! student, read-only, and every read is audited. Other chats are not visible here (404).

use actix_web::{HttpRequest, HttpResponse, web};
use hallway_protocol::ConversationKind;
use hallway_protocol::messages::MessagePage;
use hallway_protocol::safety::{SafeguardedConversation, SafeguardedConversationList};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::audit;
use crate::auth::AdminUser;
use crate::error::{ApiError, ApiResult};
use crate::http::messages::HistoryQuery;
use crate::state::AppState;
use crate::{safety, store};

/// Chats one page of the list holds when the admin does not say.
pub const DEFAULT_LIMIT: i64 = 50;
/// Most chats in one page of the list.
pub const MAX_LIMIT: i64 = 200;

/// Registers this module's routes (under `/api/v1/admin`).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/safeguarding/conversations", web::get().to(list))
        .route("/safeguarding/conversations/{id}/messages", web::get().to(messages));
}

/// The raw list parameters.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    limit: Option<String>,
    offset: Option<String>,
}

/// `GET /admin/safeguarding/conversations?limit=&offset=`: the chats under safeguarding visibility, newest
/// activity first (none while the setting is off). Audited (`safeguarding.list`).
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
    let mut members = store::safeguarding::members_of(&state.db, &ids).await?;
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
    let messages = store::messages::to_wire(&state.db, &state.keys, rows).await?;
    let details = json!({
        "count": messages.len(),
        "first_seq": messages.first().map(|m| m.seq),
        "last_seq": messages.last().map(|m| m.seq),
    });
    audit(&state, &admin, &req, "safeguarding.read", format!("conversation:{conversation_id}"), details).await?;
    Ok(HttpResponse::Ok().json(MessagePage { messages, has_more }))
}

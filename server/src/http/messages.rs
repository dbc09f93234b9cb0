//! Messages over REST: send, history, edit, delete, reactions, read markers and search. The handlers only
//! parse and answer; the rules live in `messaging`, which the WebSocket layer shares.

use actix_web::{HttpResponse, web};
use hallway_protocol::messages::{EditMessageRequest, ReactRequest, ReadRequest, SearchResults, SendMessageRequest};
use hallway_protocol::validate::{Emoji, Invalid};
use serde::Deserialize;
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult};
use crate::messaging::{self, Outgoing, Paging, SearchQuery};
use crate::realtime::conversation::{ApplyChange, Change, Changed, Origin, SendMessage};
use crate::state::AppState;

/// Registers this module's routes (under `/api/v1`).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/conversations/{id}/messages", web::get().to(history))
        .route("/conversations/{id}/messages", web::post().to(send))
        .route("/conversations/{id}/read", web::post().to(read))
        .route("/messages/{id}", web::patch().to(edit))
        .route("/messages/{id}", web::delete().to(delete))
        .route("/messages/{id}/reactions", web::post().to(react))
        .route("/search", web::get().to(search));
}

/// `POST /conversations/{id}/messages`: 201 with a new message, 200 with the original for a repeated
/// `client_msg_id`.
pub async fn send(
    state: web::Data<AppState>,
    caller: AuthUser,
    conversation_id: web::Path<Uuid>,
    body: web::Json<SendMessageRequest>,
) -> ApiResult<HttpResponse> {
    let outgoing = Outgoing::parse(&body).map_err(invalid)?;
    let request = SendMessage { origin: origin(&caller), sender: caller.user.clone(), outgoing };
    let sent = state.realtime.ask(conversation_id.into_inner(), request).await?;
    Ok(if sent.new { HttpResponse::Created() } else { HttpResponse::Ok() }.json(sent.message))
}

/// The raw paging parameters: parsed by `Paging::parse`, so that a non-number is `invalid_paging`.
#[derive(Debug, Deserialize)]
pub struct HistoryQuery {
    before_seq: Option<String>,
    after_seq: Option<String>,
    limit: Option<String>,
}

impl HistoryQuery {
    /// The page asked for (the admins' safeguarding view pages the same way).
    pub fn paging(&self) -> Result<Paging, Invalid> {
        Paging::parse(self.before_seq.as_deref(), self.after_seq.as_deref(), self.limit.as_deref())
    }
}

/// `GET /conversations/{id}/messages?before_seq=&after_seq=&limit=`.
pub async fn history(
    state: web::Data<AppState>,
    caller: AuthUser,
    conversation_id: web::Path<Uuid>,
    query: web::Query<HistoryQuery>,
) -> ApiResult<HttpResponse> {
    let paging = Paging::parse(query.before_seq.as_deref(), query.after_seq.as_deref(), query.limit.as_deref())
        .map_err(invalid)?;
    let page = messaging::history(&state.db, &state.keys, caller.id(), conversation_id.into_inner(), paging).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// `POST /conversations/{id}/read`: 204.
pub async fn read(
    state: web::Data<AppState>,
    caller: AuthUser,
    conversation_id: web::Path<Uuid>,
    body: web::Json<ReadRequest>,
) -> ApiResult<HttpResponse> {
    let request = ApplyChange { origin: origin(&caller), change: Change::Read { seq: body.seq } };
    state.realtime.ask(conversation_id.into_inner(), request).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `PATCH /messages/{id}`: 200 with the edited message.
pub async fn edit(
    state: web::Data<AppState>,
    caller: AuthUser,
    message_id: web::Path<Uuid>,
    body: web::Json<EditMessageRequest>,
) -> ApiResult<HttpResponse> {
    let message_id = message_id.into_inner();
    let change = Change::Edit { message_id, body: body.into_inner().body };
    let edited = state.realtime.change_message(origin(&caller), message_id, change).await?;
    Ok(HttpResponse::Ok().json(changed_message(edited)?))
}

/// `DELETE /messages/{id}`: 200 with the deleted message, the second time too.
pub async fn delete(
    state: web::Data<AppState>,
    caller: AuthUser,
    message_id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let message_id = message_id.into_inner();
    let deleted = state.realtime.change_message(origin(&caller), message_id, Change::Delete { message_id }).await?;
    Ok(HttpResponse::Ok().json(changed_message(deleted)?))
}

/// `POST /messages/{id}/reactions`: 200 with the message and its reactions as they now stand.
pub async fn react(
    state: web::Data<AppState>,
    caller: AuthUser,
    message_id: web::Path<Uuid>,
    body: web::Json<ReactRequest>,
) -> ApiResult<HttpResponse> {
    let emoji = Emoji::parse(&body.emoji).map_err(invalid)?;
    let message_id = message_id.into_inner();
    let change = Change::React { message_id, emoji, on: body.on };
    let reacted = state.realtime.change_message(origin(&caller), message_id, change).await?;
    Ok(HttpResponse::Ok().json(changed_message(reacted)?))
}

/// The raw search parameters.
#[derive(Debug, Deserialize)]
pub struct SearchParams {
    q: Option<String>,
    limit: Option<String>,
}

/// `GET /search?q=&limit=`: 200 `{"results": [...]}`, newest first.
pub async fn search(
    state: web::Data<AppState>,
    caller: AuthUser,
    params: web::Query<SearchParams>,
) -> ApiResult<HttpResponse> {
    let query = SearchQuery::parse(params.q.as_deref(), params.limit.as_deref()).map_err(invalid)?;
    let results = messaging::search(&state.db, &state.keys, caller.id(), &query).await?;
    Ok(HttpResponse::Ok().json(SearchResults { results }))
}

/// A refused input, answered with its own contract code.
fn invalid(e: Invalid) -> ApiError {
    ApiError::new(e.code, e.message)
}

/// Changes made over REST come from no socket: every session of the caller hears of them.
fn origin(caller: &AuthUser) -> Origin {
    Origin { user_id: caller.id(), conn: None }
}

/// The message an edit, delete or reaction answers with.
fn changed_message(changed: Changed) -> ApiResult<hallway_protocol::Message> {
    match changed {
        Changed::Message(message) => Ok(message),
        Changed::ReadUpTo(_) => {
            Err(ApiError::Internal(anyhow::anyhow!("a message change answered with a read marker")))
        }
    }
}

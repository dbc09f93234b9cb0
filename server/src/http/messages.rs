//! Messages over REST: send, history, edit, delete, reactions, read markers and search. The handlers only
//! parse and answer; the rules live in `messaging`, which the WebSocket layer shares.

use actix_web::{HttpResponse, delete, get, patch, post, web};
use hallway_protocol::announcements::Receipts;
use hallway_protocol::messages::{
    EditMessageRequest, MessagePage, ReactRequest, ReadRequest, SearchResults, SendMessageRequest,
};
use hallway_protocol::validate::{Emoji, Invalid};
use hallway_protocol::{ErrorBody, Message};
use serde::Deserialize;
use uuid::Uuid;

use super::openapi::{DEACTIVATED, NOT_FOUND, NOT_JSON, TOO_LARGE, UNAUTHENTICATED};
use super::rest_origin;
use crate::announcements;
use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult};
use crate::messaging::{self, Outgoing, Paging, SearchQuery};
use crate::realtime::conversation::{Acknowledge, DeleteMessage, EditMessage, MarkRead, React, SendMessage};
use crate::state::AppState;

/// `POST /conversations/{id}/messages`: 201 with a new message, 200 with the original for a repeated
/// `client_msg_id`.
#[utoipa::path(
    operation_id = "send_message",
    tag = "messages",
    params(("id" = Uuid, Path, description = "The conversation")),
    request_body = SendMessageRequest,
    responses(
        (status = 201, description = "Sent and durable", body = Message),
        (status = 200, body = Message, description = "This `client_msg_id` was sent before: the original message, \
            unchanged"),
        (status = 400, description = "`invalid_id`; `invalid_json`; `body_empty`: no text and no attachment; \
            `body_too_long`: over 4,000 characters; `invalid_input` (naming the field): `client_msg_id` empty or \
            over 64 characters, attachments repeated, too many, or not the caller's unsent uploads; `banned_word`: \
            the text holds an entry of the school's banned-words list (nothing is stored or delivered, and the \
            `client_msg_id` stays unused)", body = ErrorBody),
        (status = 401, description = UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = "`forbidden`: an announcement, and the caller is not one of its admins; \
            `policy_forbids`: the school's rules no longer allow messages between the two people of a direct chat, \
            or the other one is deactivated, or `urgent` was asked by someone the school does not let send urgent \
            messages; `account_deactivated`", body = ErrorBody),
        (status = 404, description = NOT_FOUND, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "`conflict`: this `client_msg_id` was used in another \
            conversation"),
        (status = 413, description = TOO_LARGE, body = ErrorBody),
        (status = 415, description = NOT_JSON, body = ErrorBody),
    )
)]
#[post("/api/v1/conversations/{id}/messages")]
pub async fn send(
    state: web::Data<AppState>,
    caller: AuthUser,
    conversation_id: web::Path<Uuid>,
    body: web::Json<SendMessageRequest>,
) -> ApiResult<HttpResponse> {
    state.realtime.check_rest_send(caller.id())?;
    let outgoing = Outgoing::parse(&body).map_err(invalid)?;
    let request = SendMessage { origin: rest_origin(&caller), sender: caller.user.clone(), outgoing };
    let sent = state.realtime.ask_as_member(caller.id(), conversation_id.into_inner(), request).await?;
    Ok(if sent.new { HttpResponse::Created() } else { HttpResponse::Ok() }.json(sent.message))
}

/// The raw paging parameters: parsed by `Paging::parse`, so that a non-number is `invalid_paging`. The
/// documented types are what the values must parse as.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// The newest `limit` messages before this `seq`; `has_more`: older ones remain.
    #[param(value_type = Option<i64>, minimum = 0)]
    before_seq: Option<String>,
    /// The oldest `limit` messages after this `seq` (catching up); `has_more`: newer ones remain.
    #[param(value_type = Option<i64>, minimum = 0)]
    after_seq: Option<String>,
    /// How many messages at most: 1 to 200, 50 when absent.
    #[param(value_type = Option<i64>, minimum = 1, maximum = 200)]
    limit: Option<String>,
}

impl HistoryQuery {
    /// The page asked for (the admins' safeguarding view pages the same way).
    pub fn paging(&self) -> Result<Paging, Invalid> {
        Paging::parse(self.before_seq.as_deref(), self.after_seq.as_deref(), self.limit.as_deref())
    }
}

/// `GET /conversations/{id}/messages?before_seq=&after_seq=&limit=`: one page of history, ascending by `seq`.
#[utoipa::path(
    operation_id = "get_messages",
    tag = "messages",
    params(("id" = Uuid, Path, description = "The conversation"), HistoryQuery),
    description = "Always ascending by `seq`. Without `before_seq` and `after_seq`: the latest `limit` messages, \
        `has_more` telling whether older ones remain.",
    responses(
        (status = 200, description = "One page of messages, ascending by `seq`", body = MessagePage),
        (status = 400, description = "`invalid_id`; `invalid_paging`: both `before_seq` and `after_seq`, a \
            negative one, a `limit` out of range, or a value that is not a number", body = ErrorBody),
        (status = 401, description = UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = DEACTIVATED, body = ErrorBody),
        (status = 404, description = NOT_FOUND, body = ErrorBody),
    )
)]
#[get("/api/v1/conversations/{id}/messages")]
pub async fn history(
    state: web::Data<AppState>,
    caller: AuthUser,
    conversation_id: web::Path<Uuid>,
    query: web::Query<HistoryQuery>,
) -> ApiResult<HttpResponse> {
    let paging = Paging::parse(query.before_seq.as_deref(), query.after_seq.as_deref(), query.limit.as_deref())
        .map_err(invalid)?;
    let deliveries = state.realtime.deliveries();
    let page =
        messaging::history(&state.db, &state.keys, deliveries, caller.id(), conversation_id.into_inner(), paging)
            .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// `POST /conversations/{id}/read`: moves the caller's read marker forward (204).
#[utoipa::path(
    operation_id = "mark_read",
    tag = "messages",
    params(("id" = Uuid, Path, description = "The conversation")),
    request_body = ReadRequest,
    responses(
        (status = 204, description = "The read marker moved forward (it never moves back; a `seq` past the end is \
            the end)"),
        (status = 400, body = ErrorBody, description = "`invalid_id`; `invalid_json`; `invalid_input`: a negative \
            `seq`"),
        (status = 401, description = UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = DEACTIVATED, body = ErrorBody),
        (status = 404, description = NOT_FOUND, body = ErrorBody),
        (status = 413, description = TOO_LARGE, body = ErrorBody),
        (status = 415, description = NOT_JSON, body = ErrorBody),
    )
)]
#[post("/api/v1/conversations/{id}/read")]
pub async fn read(
    state: web::Data<AppState>,
    caller: AuthUser,
    conversation_id: web::Path<Uuid>,
    body: web::Json<ReadRequest>,
) -> ApiResult<HttpResponse> {
    let request = MarkRead { origin: rest_origin(&caller), seq: body.seq };
    state.realtime.ask_as_member(caller.id(), conversation_id.into_inner(), request).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `PATCH /messages/{id}`: 200 with the edited message.
#[utoipa::path(
    operation_id = "edit_message",
    tag = "messages",
    params(("id" = Uuid, Path, description = "The message")),
    request_body = EditMessageRequest,
    responses(
        (status = 200, description = "The edited message (`edited_at` set)", body = Message),
        (status = 400, body = ErrorBody, description = "`invalid_id`; `invalid_json`; `body_empty`; `body_too_long`; \
            `banned_word`: the new text holds an entry of the school's banned-words list (the message is unchanged)"),
        (status = 401, description = UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = "`forbidden`: only the sender may edit; `account_deactivated`", body = ErrorBody),
        (status = 404, description = NOT_FOUND, body = ErrorBody),
        (status = 409, description = "`conflict`: the message has been deleted", body = ErrorBody),
        (status = 413, description = TOO_LARGE, body = ErrorBody),
        (status = 415, description = NOT_JSON, body = ErrorBody),
    )
)]
#[patch("/api/v1/messages/{id}")]
pub async fn edit(
    state: web::Data<AppState>,
    caller: AuthUser,
    message_id: web::Path<Uuid>,
    body: web::Json<EditMessageRequest>,
) -> ApiResult<HttpResponse> {
    let message_id = message_id.into_inner();
    let request = EditMessage { origin: rest_origin(&caller), message_id, body: body.into_inner().body };
    let edited = state.realtime.ask_about_message(caller.id(), message_id, request).await?;
    Ok(HttpResponse::Ok().json(edited))
}

/// `DELETE /messages/{id}`: 200 with the deleted message, the second time too.
#[utoipa::path(
    operation_id = "delete_message",
    tag = "messages",
    params(("id" = Uuid, Path, description = "The message")),
    responses(
        (status = 200, description = "The deleted message: same `seq`, empty body, no attachments, `deleted: true`; \
            deleting it again answers the same", body = Message),
        (status = 400, description = "`invalid_id`", body = ErrorBody),
        (status = 401, description = UNAUTHENTICATED, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "`forbidden`: only the sender or a group admin may delete; \
            `account_deactivated`"),
        (status = 404, description = NOT_FOUND, body = ErrorBody),
    )
)]
#[delete("/api/v1/messages/{id}")]
pub async fn delete(
    state: web::Data<AppState>,
    caller: AuthUser,
    message_id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let message_id = message_id.into_inner();
    let request = DeleteMessage { origin: rest_origin(&caller), message_id };
    let deleted = state.realtime.ask_about_message(caller.id(), message_id, request).await?;
    Ok(HttpResponse::Ok().json(deleted))
}

/// `POST /messages/{id}/reactions`: 200 with the message and its reactions as they now stand.
#[utoipa::path(
    operation_id = "react_to_message",
    tag = "messages",
    params(("id" = Uuid, Path, description = "The message")),
    request_body = ReactRequest,
    responses(
        (status = 200, description = "The message with its reactions as they now stand", body = Message),
        (status = 400, body = ErrorBody, description = "`invalid_id`; `invalid_json`; `invalid_emoji`: not one \
            fully-qualified emoji"),
        (status = 401, description = UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = DEACTIVATED, body = ErrorBody),
        (status = 404, description = NOT_FOUND, body = ErrorBody),
        (status = 409, description = "`conflict`: the message has been deleted", body = ErrorBody),
        (status = 413, description = TOO_LARGE, body = ErrorBody),
        (status = 415, description = NOT_JSON, body = ErrorBody),
    )
)]
#[post("/api/v1/messages/{id}/reactions")]
pub async fn react(
    state: web::Data<AppState>,
    caller: AuthUser,
    message_id: web::Path<Uuid>,
    body: web::Json<ReactRequest>,
) -> ApiResult<HttpResponse> {
    let emoji = Emoji::parse(&body.emoji).map_err(invalid)?;
    let message_id = message_id.into_inner();
    let request = React { origin: rest_origin(&caller), message_id, emoji, on: body.on };
    let reacted = state.realtime.ask_about_message(caller.id(), message_id, request).await?;
    Ok(HttpResponse::Ok().json(reacted))
}

/// `POST /messages/{id}/acknowledge`: a member acknowledges a message (204, again too).
#[utoipa::path(
    operation_id = "acknowledge_message",
    tag = "messages",
    params(("id" = Uuid, Path, description = "The message")),
    description = "Contract 1.1. Members only. Idempotent: acknowledging again changes nothing. The message's \
        sender and the conversation's admins get an `acknowledged` frame the first time. Acknowledging one's own \
        message changes nothing.",
    responses(
        (status = 204, description = "Acknowledged (now or before)"),
        (status = 400, description = "`invalid_id`", body = ErrorBody),
        (status = 401, description = UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = DEACTIVATED, body = ErrorBody),
        (status = 404, description = NOT_FOUND, body = ErrorBody),
        (status = 409, description = "`conflict`: the message has been deleted", body = ErrorBody),
    )
)]
#[post("/api/v1/messages/{id}/acknowledge")]
pub async fn acknowledge(
    state: web::Data<AppState>,
    caller: AuthUser,
    message_id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let message_id = message_id.into_inner();
    let request = Acknowledge { origin: rest_origin(&caller), message_id };
    state.realtime.ask_about_message(caller.id(), message_id, request).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /messages/{id}/receipts`: who received, read and acknowledged a message.
#[utoipa::path(
    operation_id = "message_receipts",
    tag = "messages",
    params(("id" = Uuid, Path, description = "The message")),
    description = "Contract 1.1. For the message's sender and the conversation's admins; 404 to everyone else, \
        members included. Counts the conversation's members other than the sender: `delivered` = a session of \
        theirs was handed the message, they fetched it, or read it; `read` = their read marker is at or past its \
        `seq`; `acknowledged` = they acknowledged it.",
    responses(
        (status = 200, description = "The receipts as they stand", body = Receipts),
        (status = 400, description = "`invalid_id`", body = ErrorBody),
        (status = 401, description = UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = DEACTIVATED, body = ErrorBody),
        (status = 404, description = NOT_FOUND, body = ErrorBody),
    )
)]
#[get("/api/v1/messages/{id}/receipts")]
pub async fn receipts(
    state: web::Data<AppState>,
    caller: AuthUser,
    message_id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let receipts = announcements::receipts(&state.db, caller.id(), message_id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(receipts))
}

/// The raw search parameters, parsed by `SearchQuery::parse`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// The words to find, each as the start of a word, ignoring letter case and accents (required, at most 256
    /// characters; only the first 16 words count).
    #[param(required = true)]
    q: Option<String>,
    /// How many results at most: 1 to 100, 20 when absent.
    #[param(value_type = Option<i64>, minimum = 1, maximum = 100)]
    limit: Option<String>,
}

/// `GET /search?q=&limit=`: 200 `{"results": [...]}`, newest first.
#[utoipa::path(
    operation_id = "search_messages",
    tag = "messages",
    params(SearchParams),
    responses(
        (status = 200, description = "Matching messages in the caller's conversations, newest first; deleted ones \
            are left out", body = SearchResults),
        (status = 400, body = ErrorBody, description = "`invalid_input`: `q` missing, blank or too long, or `limit` \
            out of range"),
        (status = 401, description = UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = DEACTIVATED, body = ErrorBody),
    )
)]
#[get("/api/v1/search")]
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

//! `/conversations`: creating direct chats and groups, listing and reading them, group management (rename,
//! members, admins, leaving) and each member's own settings. Messages live in their own module.
//!
//! Outsiders get 404 for everything about a conversation, exactly as for one that does not exist. The rules
//! live in `groups`; every change to an existing conversation is an intent to its actor, the one writer of it.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, delete, get, patch, post, web};
use hallway_protocol::conversations::{
    AddMembersRequest, ConversationList, ConversationSettingsRequest, CreateConversationRequest, PromoteAdminRequest,
    RenameConversationRequest,
};
use hallway_protocol::validate::GroupName;
use hallway_protocol::{Conversation, ErrorBody};
use uuid::Uuid;

use super::openapi::{DEACTIVATED, INVALID_ID, NOT_FOUND, NOT_JSON, TOO_LARGE, UNAUTHENTICATED};
use super::rest_origin;
use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult};
use crate::groups;
use crate::realtime::conversation::{AddMembers, LeaveGroup, PromoteAdmin, RemoveMember, RenameGroup, UpdateSettings};
use crate::state::AppState;
use crate::store::conversations::SettingsChange;
use crate::views::conversations as conversation_views;

/// `GET /conversations`: the caller's conversations, pinned first, then newest activity first.
#[utoipa::path(
    operation_id = "list_conversations",
    tag = "conversations",
    responses(
        (status = 200, body = ConversationList, description = "The caller's conversations, archived ones included \
            (flagged)"),
        (status = 401, description = UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = DEACTIVATED, body = ErrorBody),
    )
)]
#[get("/api/v1/conversations")]
pub async fn list(state: web::Data<AppState>, caller: AuthUser) -> ApiResult<HttpResponse> {
    let conversations = conversation_views::list_for(&state.db, &state.keys, caller.id()).await?;
    Ok(HttpResponse::Ok().json(ConversationList { conversations }))
}

/// `GET /conversations/{id}`: members only.
#[utoipa::path(
    operation_id = "get_conversation",
    tag = "conversations",
    params(("id" = Uuid, Path, description = "The conversation")),
    responses(
        (status = 200, description = "The conversation as the caller sees it", body = Conversation),
        (status = 400, description = INVALID_ID, body = ErrorBody),
        (status = 401, description = UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = DEACTIVATED, body = ErrorBody),
        (status = 404, description = NOT_FOUND, body = ErrorBody),
    )
)]
#[get("/api/v1/conversations/{id}")]
pub async fn get(state: web::Data<AppState>, caller: AuthUser, path: web::Path<Uuid>) -> ApiResult<HttpResponse> {
    let conversation = conversation_views::one_for(&state.db, &state.keys, caller.id(), path.into_inner())
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(HttpResponse::Ok().json(conversation))
}

/// `POST /conversations`: a direct chat (201 when new, 200 with the existing one for the same pair, whichever
/// of the two asks), a group or an announcement (201, the creator its first admin). Announcements (contract
/// 1.1) are created by school admins and teachers only (else 403 `policy_forbids`), each member under the
/// directory rule like a group's, up to `MAX_ANNOUNCEMENT_MEMBERS`.
#[utoipa::path(
    operation_id = "create_conversation",
    tag = "conversations",
    request_body = CreateConversationRequest,
    responses(
        (status = 201, body = Conversation, description = "Created; the creator is a member, and a group's first \
            admin"),
        (status = 200, description = "A direct chat with that person exists already: it", body = Conversation),
        (status = 400, description = "`invalid_json`; `invalid_input` (naming the field): a direct chat needs exactly \
            one other person and no name, a group or an announcement a valid name; unknown user ids; too many \
            members", body = ErrorBody),
        (status = 401, description = UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = "`policy_forbids`: the school's rules do not let the creator message one of the \
            people named, or their account is deactivated, or the creator of an announcement is not a school admin \
            or teacher; `account_deactivated`: the caller's", body = ErrorBody),
        (status = 413, description = TOO_LARGE, body = ErrorBody),
        (status = 415, description = NOT_JSON, body = ErrorBody),
    )
)]
#[post("/api/v1/conversations")]
pub async fn create(
    state: web::Data<AppState>,
    caller: AuthUser,
    body: web::Json<CreateConversationRequest>,
) -> ApiResult<HttpResponse> {
    let CreateConversationRequest { kind, name, member_ids } = body.into_inner();
    let created = groups::create(&state.db, &state.policy(), &caller.user, kind, name.as_deref(), &member_ids).await?;
    let status = if created.new {
        state.realtime.conversation_created(created.id, created.members).await;
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let conversation = conversation_views::one_for(&state.db, &state.keys, caller.id(), created.id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(HttpResponse::build(status).json(conversation))
}

/// `PATCH /conversations/{id}` `{"name"}`: renames a group (group admins only).
#[utoipa::path(
    operation_id = "rename_conversation",
    tag = "conversations",
    params(("id" = Uuid, Path, description = "The conversation")),
    request_body = RenameConversationRequest,
    responses(
        (status = 200, description = "Renamed", body = Conversation),
        (status = 400, body = ErrorBody, description = "`invalid_id`; `invalid_json`; `invalid_input` (naming the \
            field): a bad name, or a direct chat, which has none"),
        (status = 401, description = UNAUTHENTICATED, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "`forbidden`: only a group admin may rename; \
            `account_deactivated`"),
        (status = 404, description = NOT_FOUND, body = ErrorBody),
        (status = 413, description = TOO_LARGE, body = ErrorBody),
        (status = 415, description = NOT_JSON, body = ErrorBody),
    )
)]
#[patch("/api/v1/conversations/{id}")]
pub async fn rename(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<Uuid>,
    body: web::Json<RenameConversationRequest>,
) -> ApiResult<HttpResponse> {
    let name = GroupName::parse(&body.name).map_err(|err| ApiError::new(err.code, err.message))?;
    let request = RenameGroup { origin: rest_origin(&caller), caller: caller.user.clone(), name };
    answer_view(state.realtime.ask_as_member(caller.id(), path.into_inner(), request).await)
}

/// `POST /conversations/{id}/members` `{"user_ids"}`: adds people to a group (group admins only). Each new
/// member must be someone the adder may message; people already in the group are skipped.
#[utoipa::path(
    operation_id = "add_members",
    tag = "conversations",
    params(("id" = Uuid, Path, description = "The conversation")),
    request_body = AddMembersRequest,
    responses(
        (status = 200, body = Conversation, description = "The group with its new members (people already in it are \
            skipped)"),
        (status = 400, body = ErrorBody, description = "`invalid_id`; `invalid_json`; `invalid_input` (naming the \
            field): nobody named, unknown user ids, too many members, or a direct chat"),
        (status = 401, description = UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = "`forbidden`: only a group admin may add people; `policy_forbids`: the school's \
            rules do not let the caller message one of them; `account_deactivated`", body = ErrorBody),
        (status = 404, description = NOT_FOUND, body = ErrorBody),
        (status = 413, description = TOO_LARGE, body = ErrorBody),
        (status = 415, description = NOT_JSON, body = ErrorBody),
    )
)]
#[post("/api/v1/conversations/{id}/members")]
pub async fn add_members(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<Uuid>,
    body: web::Json<AddMembersRequest>,
) -> ApiResult<HttpResponse> {
    let user_ids = body.into_inner().user_ids;
    let request = AddMembers { origin: rest_origin(&caller), caller: caller.user.clone(), user_ids };
    answer_view(state.realtime.ask_as_member(caller.id(), path.into_inner(), request).await)
}

/// `DELETE /conversations/{id}/members/{user_id}`: takes someone else out of a group (group admins only; an
/// admin may remove another admin). The removed person loses access at once. To leave, use `/leave`.
#[utoipa::path(
    operation_id = "remove_member",
    tag = "conversations",
    params(
        ("id" = Uuid, Path, description = "The conversation"),
        ("user_id" = Uuid, Path, description = "The member to remove"),
    ),
    responses(
        (status = 200, description = "The group without that member, who loses access at once", body = Conversation),
        (status = 400, body = ErrorBody, description = "`invalid_id`; `invalid_input`: removing oneself (use `/leave`) \
            or a direct chat"),
        (status = 401, description = UNAUTHENTICATED, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "`forbidden`: only a group admin may remove people; \
            `account_deactivated`"),
        (status = 404, body = ErrorBody, description = "`not_found`: no such conversation, the caller is not in it, or \
            that person is not"),
    )
)]
#[delete("/api/v1/conversations/{id}/members/{user_id}")]
pub async fn remove_member(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<(Uuid, Uuid)>,
) -> ApiResult<HttpResponse> {
    let (id, user_id) = path.into_inner();
    let request = RemoveMember { origin: rest_origin(&caller), caller: caller.user.clone(), user_id };
    answer_view(state.realtime.ask_as_member(caller.id(), id, request).await)
}

/// `POST /conversations/{id}/admins` `{"user_id"}`: makes a member a group admin (group admins only; promoting
/// an admin again changes nothing).
#[utoipa::path(
    operation_id = "promote_admin",
    tag = "conversations",
    params(("id" = Uuid, Path, description = "The conversation")),
    request_body = PromoteAdminRequest,
    responses(
        (status = 200, description = "The group with that member among its admins", body = Conversation),
        (status = 400, body = ErrorBody, description = "`invalid_id`; `invalid_json`; `invalid_input` (naming the \
            field): not a member, or a direct chat"),
        (status = 401, description = UNAUTHENTICATED, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "`forbidden`: only a group admin may promote; \
            `account_deactivated`"),
        (status = 404, description = NOT_FOUND, body = ErrorBody),
        (status = 413, description = TOO_LARGE, body = ErrorBody),
        (status = 415, description = NOT_JSON, body = ErrorBody),
    )
)]
#[post("/api/v1/conversations/{id}/admins")]
pub async fn promote(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<Uuid>,
    body: web::Json<PromoteAdminRequest>,
) -> ApiResult<HttpResponse> {
    let request = PromoteAdmin { origin: rest_origin(&caller), caller: caller.user.clone(), user_id: body.user_id };
    answer_view(state.realtime.ask_as_member(caller.id(), path.into_inner(), request).await)
}

/// `POST /conversations/{id}/leave`: any member leaves a group (204). When the last admin leaves, the
/// longest-standing remaining member becomes admin; the last member leaving leaves an empty conversation.
#[utoipa::path(
    operation_id = "leave_conversation",
    tag = "conversations",
    params(("id" = Uuid, Path, description = "The conversation")),
    responses(
        (status = 204, description = "Left the group"),
        (status = 400, body = ErrorBody, description = "`invalid_id`; `invalid_input`: a direct chat cannot be left \
            (archive it)"),
        (status = 401, description = UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = DEACTIVATED, body = ErrorBody),
        (status = 404, description = NOT_FOUND, body = ErrorBody),
    )
)]
#[post("/api/v1/conversations/{id}/leave")]
pub async fn leave(state: web::Data<AppState>, caller: AuthUser, path: web::Path<Uuid>) -> ApiResult<HttpResponse> {
    let request = LeaveGroup { origin: rest_origin(&caller), caller: caller.user.clone() };
    state.realtime.ask_as_member(caller.id(), path.into_inner(), request).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `PATCH /conversations/{id}/settings` `{"muted"?, "pinned"?, "archived"?}`: the caller's own settings, in any
/// conversation they are in; absent fields stay as they are. Answers the caller's conversation.
#[utoipa::path(
    operation_id = "update_conversation_settings",
    tag = "conversations",
    params(("id" = Uuid, Path, description = "The conversation")),
    request_body = ConversationSettingsRequest,
    responses(
        (status = 200, description = "The conversation with the caller's new settings", body = Conversation),
        (status = 400, description = "`invalid_id`; `invalid_json`; `invalid_input`", body = ErrorBody),
        (status = 401, description = UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = DEACTIVATED, body = ErrorBody),
        (status = 404, description = NOT_FOUND, body = ErrorBody),
        (status = 413, description = TOO_LARGE, body = ErrorBody),
        (status = 415, description = NOT_JSON, body = ErrorBody),
    )
)]
#[patch("/api/v1/conversations/{id}/settings")]
pub async fn settings(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<Uuid>,
    body: web::Json<ConversationSettingsRequest>,
) -> ApiResult<HttpResponse> {
    let ConversationSettingsRequest { muted, pinned, archived } = body.into_inner();
    let request = UpdateSettings { origin: rest_origin(&caller), change: SettingsChange { muted, pinned, archived } };
    let conversation = state.realtime.ask_as_member(caller.id(), path.into_inner(), request).await?;
    Ok(HttpResponse::Ok().json(conversation))
}

/// The caller's view of the group after a change, as the answer.
fn answer_view(view: ApiResult<Conversation>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(view?))
}

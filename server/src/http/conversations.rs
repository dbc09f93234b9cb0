//! `/conversations`: creating direct chats and groups, listing and reading them, group management (rename,
//! members, admins, leaving) and each member's own settings. Messages live in their own module.
//!
//! Outsiders get 404 for everything about a conversation, exactly as for one that does not exist. Changes to a
//! group's name, members or admins take the conversation's row lock first (`lock_for_change`), so concurrent
//! changes apply one after the other, each seeing the result of the last.

use std::collections::{HashMap, HashSet};

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, delete, get, patch, post, web};
use hallway_protocol::announcements::MAX_ANNOUNCEMENT_MEMBERS;
use hallway_protocol::conversations::{
    AddMembersRequest, ConversationList, ConversationSettingsRequest, CreateConversationRequest, MAX_GROUP_MEMBERS,
    PromoteAdminRequest, RenameConversationRequest,
};
use hallway_protocol::validate::{GroupName, Invalid};
use hallway_protocol::{Conversation, ConversationKind, ErrorBody, ErrorCode};
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use super::openapi::{DEACTIVATED, INVALID_ID, NOT_FOUND, NOT_JSON, TOO_LARGE, UNAUTHENTICATED};
use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult};
use crate::policy::{self, Party, Policy, Verdict};
use crate::state::AppState;
use crate::store::conversations::{self as store_conversations, MemberRow, NewConversation, SettingsChange};
use crate::store::users::UserRow;
use crate::store::{self, conversation_views};

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
    let conversation = view(&state, caller.id(), path.into_inner()).await?;
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
    let others = distinct_others(member_ids, caller.id());
    match kind {
        ConversationKind::Direct => create_direct(&state, &caller, name, &others).await,
        ConversationKind::Group => create_named(&state, &caller, ConversationKind::Group, name, &others).await,
        ConversationKind::Announcement => {
            if !policy::may_create_announcement(caller.user.role()) {
                return Err(ApiError::new(
                    ErrorCode::PolicyForbids,
                    "only school admins and teachers may create announcements",
                ));
            }
            create_named(&state, &caller, ConversationKind::Announcement, name, &others).await
        }
    }
}

async fn create_direct(
    state: &AppState,
    caller: &AuthUser,
    name: Option<String>,
    others: &[Uuid],
) -> ApiResult<HttpResponse> {
    if name.is_some() {
        return Err(ApiError::invalid_input("name", "a direct chat has no name"));
    }
    let &[other] = others else {
        return Err(ApiError::invalid_input("member_ids", "a direct chat needs exactly one other person"));
    };
    let people = store::users::find_many(&state.db, &[other]).await?;
    check_addable(&state.policy(), &caller.user, &[other], &people, "member_ids")?;

    let key = store_conversations::direct_key(caller.id(), other);
    if let Some(id) = store_conversations::find_direct(&state.db, &key).await? {
        return Ok(HttpResponse::Ok().json(view(state, caller.id(), id).await?));
    }
    let members = [(caller.id(), false), (other, false)];
    let new =
        NewConversation { kind: ConversationKind::Direct, name: None, created_by: caller.id(), members: &members };
    let mut tx = state.db.begin().await?;
    let (status, id) = match store_conversations::create(&mut tx, &new).await {
        Ok(id) => {
            tx.commit().await?;
            (StatusCode::CREATED, id)
        }
        Err(err) if store::violated_unique_constraint(&err) == Some(store_conversations::DIRECT_KEY_CONSTRAINT) => {
            // The other person (or another device) created it at the same moment: theirs is ours.
            tx.rollback().await?;
            let id = store_conversations::find_direct(&state.db, &key).await?.ok_or(sqlx::Error::RowNotFound)?;
            (StatusCode::OK, id)
        }
        Err(err) => return Err(err.into()),
    };
    if status == StatusCode::CREATED {
        state.realtime.conversation_changed(id, vec![caller.id(), other], Vec::new()).await;
    }
    Ok(HttpResponse::build(status).json(view(state, caller.id(), id).await?))
}

/// A group or an announcement: named, the creator its first admin, each member someone the creator may
/// message (the directory rule).
async fn create_named(
    state: &AppState,
    caller: &AuthUser,
    kind: ConversationKind,
    name: Option<String>,
    others: &[Uuid],
) -> ApiResult<HttpResponse> {
    let name = name.ok_or_else(|| ApiError::invalid_input("name", "a group or an announcement needs a name"))?;
    let name = GroupName::parse(&name).map_err(invalid)?;
    if others.len() + 1 > member_limit(kind) {
        return Err(too_many_members(kind, "member_ids"));
    }
    let people = store::users::find_many(&state.db, others).await?;
    check_addable(&state.policy(), &caller.user, others, &people, "member_ids")?;

    let members: Vec<(Uuid, bool)> =
        std::iter::once((caller.id(), true)).chain(others.iter().map(|id| (*id, false))).collect();
    let new = NewConversation { kind, name: Some(name.as_str()), created_by: caller.id(), members: &members };
    let mut tx = state.db.begin().await?;
    let id = store_conversations::create(&mut tx, &new).await?;
    tx.commit().await?;
    let joined = members.iter().map(|(user_id, _)| *user_id).collect();
    state.realtime.conversation_changed(id, joined, Vec::new()).await;
    Ok(HttpResponse::Created().json(view(state, caller.id(), id).await?))
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
    let id = path.into_inner();
    let name = GroupName::parse(&body.name).map_err(invalid)?;
    let mut change = GroupChange::begin(&state, id, caller.id(), Need::Admin).await?;
    store_conversations::rename(&mut *change.tx, id, name.as_str()).await?;
    change.tx.commit().await?;
    state.realtime.conversation_changed(id, Vec::new(), Vec::new()).await;
    Ok(HttpResponse::Ok().json(view(&state, caller.id(), id).await?))
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
    let id = path.into_inner();
    let wanted = distinct_others(body.into_inner().user_ids, caller.id());
    if wanted.is_empty() {
        return Err(ApiError::invalid_input("user_ids", "name at least one person other than yourself"));
    }
    let mut change = GroupChange::begin(&state, id, caller.id(), Need::Admin).await?;
    let current: HashSet<Uuid> = store_conversations::member_ids(&mut *change.tx, id).await?.into_iter().collect();
    let new: Vec<Uuid> = wanted.into_iter().filter(|user_id| !current.contains(user_id)).collect();
    if !new.is_empty() {
        if current.len() + new.len() > member_limit(change.kind) {
            return Err(too_many_members(change.kind, "user_ids"));
        }
        let people = store::users::find_many(&mut *change.tx, &new).await?;
        check_addable(&state.policy(), &caller.user, &new, &people, "user_ids")?;
        store_conversations::add_members(&mut *change.tx, id, &new).await?;
    }
    change.tx.commit().await?;
    if !new.is_empty() {
        state.realtime.conversation_changed(id, new, Vec::new()).await;
    }
    Ok(HttpResponse::Ok().json(view(&state, caller.id(), id).await?))
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
    let mut change = GroupChange::begin(&state, id, caller.id(), Need::Admin).await?;
    if user_id == caller.id() {
        return Err(ApiError::invalid_input(
            "user_id",
            "to leave a group yourself, use POST /conversations/{id}/leave",
        ));
    }
    if !store_conversations::remove_member(&mut *change.tx, id, user_id).await? {
        return Err(ApiError::new(ErrorCode::NotFound, "no such member in this conversation"));
    }
    change.tx.commit().await?;
    state.realtime.conversation_changed(id, Vec::new(), vec![user_id]).await;
    Ok(HttpResponse::Ok().json(view(&state, caller.id(), id).await?))
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
    let id = path.into_inner();
    let mut change = GroupChange::begin(&state, id, caller.id(), Need::Admin).await?;
    if !store_conversations::promote(&mut *change.tx, id, body.user_id).await? {
        return Err(ApiError::invalid_input("user_id", "not a member of this conversation"));
    }
    change.tx.commit().await?;
    state.realtime.conversation_changed(id, Vec::new(), Vec::new()).await;
    Ok(HttpResponse::Ok().json(view(&state, caller.id(), id).await?))
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
    let id = path.into_inner();
    let mut change = GroupChange::begin(&state, id, caller.id(), Need::Member).await?;
    store_conversations::remove_member(&mut *change.tx, id, caller.id()).await?;
    if change.me.is_admin()
        && let Some(promoted) = store_conversations::ensure_an_admin(&mut change.tx, id).await?
    {
        tracing::info!(conversation_id = %id, user_id = %promoted, "the last admin left: promoted the longest-standing member");
    }
    change.tx.commit().await?;
    state.realtime.conversation_changed(id, Vec::new(), vec![caller.id()]).await;
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
    let id = path.into_inner();
    let ConversationSettingsRequest { muted, pinned, archived } = body.into_inner();
    let change = SettingsChange { muted, pinned, archived };
    if !store_conversations::update_settings(&state.db, id, caller.id(), change).await? {
        return Err(ApiError::not_found());
    }
    let conversation = view(&state, caller.id(), id).await?;
    state.realtime.conversation_updated_for(caller.id(), conversation.clone());
    Ok(HttpResponse::Ok().json(conversation))
}

/// The conversation as `viewer` sees it, or 404 when they are not in it.
async fn view(state: &AppState, viewer: Uuid, id: Uuid) -> ApiResult<Conversation> {
    conversation_views::one_for(&state.db, &state.keys, viewer, id).await?.ok_or_else(ApiError::not_found)
}

/// Who may make a group change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Need {
    /// Any member (leaving).
    Member,
    /// A group admin (rename, add, remove, promote).
    Admin,
}

/// A change to a group in progress: the transaction holds the conversation's row lock, and the caller's
/// membership was read under it.
struct GroupChange {
    tx: Transaction<'static, Postgres>,
    me: MemberRow,
    /// A group or an announcement (which are managed alike).
    kind: ConversationKind,
}

impl GroupChange {
    /// Locks the conversation and checks, in this order: the caller is a member (else 404, as if it did not
    /// exist), it is a group (else 400: a direct chat's pair, and its lack of name and admins, are fixed), and
    /// the caller is a group admin when the change needs one (else 403 `forbidden`).
    async fn begin(state: &AppState, id: Uuid, caller: Uuid, need: Need) -> ApiResult<GroupChange> {
        let mut tx = state.db.begin().await?;
        let kind = store_conversations::lock_for_change(&mut tx, id).await?.ok_or_else(ApiError::not_found)?;
        let me = store_conversations::membership(&mut *tx, id, caller).await?.ok_or_else(ApiError::not_found)?;
        if kind == ConversationKind::Direct {
            let problem = match need {
                Need::Member => "a direct chat cannot be left: archive it instead",
                Need::Admin => "a direct chat has no name, admins or member changes",
            };
            return Err(ApiError::invalid_input("conversation", problem));
        }
        if need == Need::Admin && !me.is_admin() {
            return Err(ApiError::new(ErrorCode::Forbidden, "only a group admin may do this"));
        }
        Ok(GroupChange { tx, me, kind })
    }
}

/// The ids in the order given, without repeats and without the caller (naming oneself changes nothing).
fn distinct_others(ids: Vec<Uuid>, caller: Uuid) -> Vec<Uuid> {
    let mut seen = HashSet::with_capacity(ids.len());
    ids.into_iter().filter(|id| *id != caller && seen.insert(*id)).collect()
}

/// Checks that `adder` may bring every one of `ids` into a conversation: each must exist (else 400
/// `invalid_input` naming `field`: the request names nobody, while the resource in the URL is fine) and be
/// someone the policy lets the adder message, which also rules out deactivated accounts (else 403
/// `policy_forbids`).
fn check_addable(policy: &Policy, adder: &UserRow, ids: &[Uuid], people: &[UserRow], field: &str) -> ApiResult<()> {
    let by_id: HashMap<Uuid, &UserRow> = people.iter().map(|u| (u.id, u)).collect();
    if let Some(unknown) = ids.iter().find(|id| !by_id.contains_key(id)) {
        return Err(ApiError::invalid_input(field, &format!("no user has the id {unknown}")));
    }
    let from = party(adder);
    let refused: Vec<(Uuid, Verdict)> = ids
        .iter()
        .filter_map(|id| by_id.get(id))
        .map(|user| (user.id, policy.may_message(from, party(user))))
        .filter(|(_, verdict)| !verdict.is_allowed())
        .collect();
    let Some(&(first, verdict)) = refused.first() else { return Ok(()) };
    let reason = match verdict {
        Verdict::Deactivated => format!("the account of {first} is deactivated"),
        _ => format!("the school's rules do not let you message {first}"),
    };
    let more = match refused.len() {
        1 => String::new(),
        n => format!(" (and {} more of the people named)", n - 1),
    };
    Err(ApiError::new(ErrorCode::PolicyForbids, format!("{field}: {reason}{more}")))
}

fn party(user: &UserRow) -> Party {
    Party { role: user.role(), deactivated: user.is_deactivated() }
}

/// Most people in a conversation of this kind, its admins included.
fn member_limit(kind: ConversationKind) -> usize {
    match kind {
        ConversationKind::Announcement => MAX_ANNOUNCEMENT_MEMBERS,
        ConversationKind::Direct | ConversationKind::Group => MAX_GROUP_MEMBERS,
    }
}

fn too_many_members(kind: ConversationKind, field: &str) -> ApiError {
    let what = if kind == ConversationKind::Announcement { "an announcement" } else { "a group" };
    ApiError::invalid_input(field, &format!("{what} holds at most {} people, its admins included", member_limit(kind)))
}

fn invalid(err: Invalid) -> ApiError {
    ApiError::new(err.code, err.message)
}

//! `/admin/users/...`: every account of the school, as admins manage them: search, create (with an
//! activation code, never a password), rename, change role, deactivate and reactivate, reset the activation
//! code, and link or unlink guardians. Every change is audited.

use actix_web::middleware::from_fn;
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use hallway_protocol::admin::{
    ActivationCode, AdminUserList, AdminUserView, CreateUserRequest, CreatedUser, DisplayName, Email, LinkChildRequest,
    UpdateUserRequest, UserStatus, Username,
};
use hallway_protocol::{ErrorBody, ErrorCode, Role};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::audit::{entry, record};
use crate::auth::{self, AccountChange, AdminUser, activation};
use crate::error::{ApiError, ApiResult};
use crate::http::admin::require_admin;
use crate::http::openapi::{ADMIN_ONLY, INVALID_ID, NOT_JSON, TOO_LARGE, UNAUTHENTICATED};
use crate::state::AppState;
use crate::store::{self, people::PeopleQuery, users::NewUser};
use crate::views;

/// Default page size of the people list.
const DEFAULT_LIMIT: i64 = 50;
/// Largest page of the people list.
const MAX_LIMIT: i64 = 200;

/// `?q=&role=&status=&group=&limit=&offset=`
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Words that must all match the display name, username or email (ignoring case and accents); empty for
    /// everyone.
    #[serde(default)]
    q: String,
    /// `admin`, `teacher`, `parent` or `student`.
    #[param(value_type = Option<Role>)]
    role: Option<String>,
    /// `active`, `deactivated` or `not_activated`.
    #[param(value_type = Option<UserStatus>)]
    status: Option<String>,
    /// A group's id (`GET /admin/groups`): only the people of that class, its members and the guardians of
    /// its student members, each once. Any other conversation's id matches nobody.
    #[param(value_type = Option<Uuid>)]
    group: Option<String>,
    /// How many people at most: 1 to 200, 50 when absent.
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
    /// How many matching people to skip: 0 or more.
    #[param(minimum = 0)]
    offset: Option<i64>,
}

/// `GET /admin/users`: everyone (deactivated and not-yet-activated people included), searched by name,
/// username or email ignoring case and accents, optionally only a class's people, ordered by display name.
#[utoipa::path(
    operation_id = "admin_list_users",
    tag = "admin",
    params(ListQuery),
    responses(
        (status = 200, description = "One page of people and how many match in all", body = AdminUserList),
        (status = 400, body = ErrorBody, description = "`invalid_input`: `role` or `status` is not one of its \
            values, or `group` is not an id; `invalid_paging`: `limit` is not 1 to 200, or `offset` is negative"),
        (status = 401, description = UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = ADMIN_ONLY, body = ErrorBody),
    )
)]
#[get("/api/v1/admin/users", wrap = "from_fn(require_admin)")]
pub async fn list(
    state: web::Data<AppState>,
    _admin: AdminUser,
    query: web::Query<ListQuery>,
) -> ApiResult<HttpResponse> {
    let role = match query.role.as_deref().filter(|r| !r.is_empty()) {
        Some(raw) => {
            Some(Role::parse(raw).ok_or_else(|| ApiError::invalid_input("role", "admin, teacher, parent or student"))?)
        }
        None => None,
    };
    let status = match query.status.as_deref().filter(|s| !s.is_empty()) {
        Some(raw) => Some(
            UserStatus::parse(raw)
                .ok_or_else(|| ApiError::invalid_input("status", "active, deactivated or not_activated"))?,
        ),
        None => None,
    };
    let group = match query.group.as_deref().filter(|g| !g.is_empty()) {
        Some(raw) => Some(Uuid::parse_str(raw).map_err(|_| ApiError::invalid_input("group", "a group's id"))?),
        None => None,
    };
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::new(ErrorCode::InvalidPaging, format!("limit: 1 to {MAX_LIMIT}")));
    }
    let offset = query.offset.unwrap_or(0);
    if offset < 0 {
        return Err(ApiError::new(ErrorCode::InvalidPaging, "offset: 0 or more"));
    }
    let words: Vec<String> = query.q.split_whitespace().map(str::to_owned).collect();
    let search = PeopleQuery { words: &words, role, status, group, limit, offset };
    let (rows, total) = store::people::search(&state.db, &search).await?;
    let users = views::admin::people(&state.db, rows).await?;
    Ok(HttpResponse::Ok().json(AdminUserList { users, total }))
}

/// `GET /admin/users/{id}`.
#[utoipa::path(
    operation_id = "admin_get_user",
    tag = "admin",
    params(("id" = Uuid, Path, description = "The person")),
    responses(
        (status = 200, description = "The person, with their guardian links", body = AdminUserView),
        (status = 400, description = INVALID_ID, body = ErrorBody),
        (status = 401, description = UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = ADMIN_ONLY, body = ErrorBody),
        (status = 404, description = "`not_found`: no such person", body = ErrorBody),
    )
)]
#[get("/api/v1/admin/users/{id}", wrap = "from_fn(require_admin)")]
pub async fn get(state: web::Data<AppState>, _admin: AdminUser, path: web::Path<Uuid>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(load_view(&state, path.into_inner()).await?))
}

/// `POST /admin/users`: 201 with the person and their activation code (shown this once). 409 `conflict` when
/// the username or email is taken.
#[utoipa::path(
    operation_id = "admin_create_user",
    tag = "admin",
    description = "The person has no password until they redeem the activation code (`POST /auth/activate`). \
        Audited as `user.create`.",
    request_body = CreateUserRequest,
    responses(
        (status = 201, description = "Created: the person and their activation code, shown this once",
            body = CreatedUser),
        (status = 400, body = ErrorBody, description = "`invalid_json`; `invalid_input` (naming the field): a field is \
            missing or mistyped, or a username, display name or email breaks its rule"),
        (status = 401, description = UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = ADMIN_ONLY, body = ErrorBody),
        (status = 409, description = "`conflict`: the username or email is taken", body = ErrorBody),
        (status = 413, description = TOO_LARGE, body = ErrorBody),
        (status = 415, description = NOT_JSON, body = ErrorBody),
    )
)]
#[post("/api/v1/admin/users", wrap = "from_fn(require_admin)")]
pub async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: AdminUser,
    body: web::Json<CreateUserRequest>,
) -> ApiResult<HttpResponse> {
    let CreateUserRequest { username, display_name, role, email } = body.into_inner();
    let username = Username::parse(&username)?;
    let display_name = DisplayName::parse(&display_name)?;
    let email = email.as_deref().filter(|e| !e.trim().is_empty()).map(Email::parse).transpose()?;
    let mut tx = state.db.begin().await?;
    let new = NewUser {
        username: username.as_str(),
        email: email.as_ref().map(Email::as_str),
        display_name: display_name.as_str(),
        role,
        password_hash: None,
    };
    let user = store::users::insert(&mut *tx, &new).await.map_err(ApiError::from_user_conflict)?;
    let activation = activation::issue(&mut tx, user.id, Some(admin.id())).await?;
    let details = json!({ "username": user.username, "role": role.as_str() });
    record(&mut *tx, &admin, &req, "user.create", Some(user.id), details).await?;
    tx.commit().await?;
    let user = load_view(&state, user.id).await?;
    Ok(HttpResponse::Created().json(CreatedUser { user, activation }))
}

/// `PATCH /admin/users/{id}`: display name and/or role. A role change is refused (409) while the person has
/// guardian links (they only make sense between a parent and a student: unlink first), and an admin may not
/// take away their own admin role (the school could be left without one).
#[utoipa::path(
    operation_id = "admin_update_user",
    tag = "admin",
    params(("id" = Uuid, Path, description = "The person")),
    description = "Absent fields stay as they are. Audited as `user.update` when something changes.",
    request_body = UpdateUserRequest,
    responses(
        (status = 200, description = "The person as changed", body = AdminUserView),
        (status = 400, body = ErrorBody, description = "`invalid_id`; `invalid_json`; `invalid_input`: the display \
            name is blank or too long"),
        (status = 401, description = UNAUTHENTICATED, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "`forbidden`: the caller is not a school admin, or changes \
            their own role; `account_deactivated`"),
        (status = 404, description = "`not_found`: no such person", body = ErrorBody),
        (status = 409, body = ErrorBody, description = "`conflict`: a role change for a person with guardian links \
            (unlink them first)"),
        (status = 413, description = TOO_LARGE, body = ErrorBody),
        (status = 415, description = NOT_JSON, body = ErrorBody),
    )
)]
#[patch("/api/v1/admin/users/{id}", wrap = "from_fn(require_admin)")]
pub async fn update(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: AdminUser,
    path: web::Path<Uuid>,
    body: web::Json<UpdateUserRequest>,
) -> ApiResult<HttpResponse> {
    let id = path.into_inner();
    let UpdateUserRequest { display_name, role } = body.into_inner();
    let display_name = display_name.as_deref().map(DisplayName::parse).transpose()?;
    let mut tx = state.db.begin().await?;
    let before = store::people::find(&mut *tx, id).await?.ok_or_else(ApiError::not_found)?;
    let role = role.filter(|r| *r != before.role());
    if let Some(role) = role {
        if id == admin.id() {
            return Err(ApiError::new(ErrorCode::Forbidden, "you may not change your own role"));
        }
        if store::people::guardianship_count(&mut *tx, id).await? > 0 {
            return Err(ApiError::new(
                ErrorCode::Conflict,
                format!("{} has guardian links: unlink them before making them a {}", before.username, role.as_str()),
            ));
        }
    }
    store::people::update(&mut *tx, id, display_name.as_ref().map(DisplayName::as_str), role).await?;
    let mut details = serde_json::Map::new();
    if let Some(name) = &display_name {
        details.insert("display_name".into(), json!({ "from": before.display_name, "to": name.as_str() }));
    }
    if let Some(role) = role {
        details.insert("role".into(), json!({ "from": before.role, "to": role.as_str() }));
    }
    if !details.is_empty() {
        record(&mut *tx, &admin, &req, "user.update", Some(id), details.into()).await?;
    }
    tx.commit().await?;
    Ok(HttpResponse::Ok().json(load_view(&state, id).await?))
}

/// `POST /admin/users/{id}/deactivate`: the person cannot sign in any more, every session of theirs ends and
/// every socket closes at once. An admin may not deactivate themselves (403 `forbidden`).
#[utoipa::path(
    operation_id = "admin_deactivate_user",
    tag = "admin",
    params(("id" = Uuid, Path, description = "The person")),
    description = "Ends every session of the person and closes their sockets at once. Audited as \
        `user.deactivate`; deactivating someone already deactivated changes nothing.",
    responses(
        (status = 200, description = "The person, deactivated", body = AdminUserView),
        (status = 400, description = INVALID_ID, body = ErrorBody),
        (status = 401, description = UNAUTHENTICATED, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "`forbidden`: the caller is not a school admin, or is the \
            person; `account_deactivated`"),
        (status = 404, description = "`not_found`: no such person", body = ErrorBody),
    )
)]
#[post("/api/v1/admin/users/{id}/deactivate", wrap = "from_fn(require_admin)")]
pub async fn deactivate(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: AdminUser,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let id = path.into_inner();
    if id == admin.id() {
        return Err(ApiError::new(ErrorCode::Forbidden, "you may not deactivate your own account"));
    }
    set_deactivated(&state, &req, &admin, id, true).await
}

/// `POST /admin/users/{id}/reactivate`: the person may sign in again (with their old password).
#[utoipa::path(
    operation_id = "admin_reactivate_user",
    tag = "admin",
    params(("id" = Uuid, Path, description = "The person")),
    description = "The person signs in with their old password again. Audited as `user.reactivate`.",
    responses(
        (status = 200, description = "The person, active again", body = AdminUserView),
        (status = 400, description = INVALID_ID, body = ErrorBody),
        (status = 401, description = UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = ADMIN_ONLY, body = ErrorBody),
        (status = 404, description = "`not_found`: no such person", body = ErrorBody),
    )
)]
#[post("/api/v1/admin/users/{id}/reactivate", wrap = "from_fn(require_admin)")]
pub async fn reactivate(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: AdminUser,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    set_deactivated(&state, &req, &admin, path.into_inner(), false).await
}

async fn set_deactivated(
    state: &AppState,
    req: &HttpRequest,
    admin: &AdminUser,
    id: Uuid,
    deactivated: bool,
) -> ApiResult<HttpResponse> {
    let before = store::people::find(&state.db, id).await?.ok_or_else(ApiError::not_found)?;
    let action = if deactivated { "user.deactivate" } else { "user.reactivate" };
    let audit = entry(admin, req, action, Some(id), json!({ "username": before.username }));
    if auth::set_deactivated(state, id, deactivated, audit).await? == AccountChange::NotFound {
        return Err(ApiError::not_found());
    }
    Ok(HttpResponse::Ok().json(load_view(state, id).await?))
}

/// `POST /admin/users/{id}/reset`: a new activation code; the person's earlier codes stop working. Their
/// password and signed-in devices are left alone until they redeem it (a forgotten password must not sign
/// out the phone that still works); the admin never sets or sees a password.
#[utoipa::path(
    operation_id = "admin_reset_activation",
    tag = "admin",
    params(("id" = Uuid, Path, description = "The person")),
    description = "A new activation code; the person's earlier codes stop working, their password and sessions \
        stay until they redeem it. Audited as `user.reset_activation`.",
    responses(
        (status = 200, description = "The new code, shown this once", body = ActivationCode),
        (status = 400, description = INVALID_ID, body = ErrorBody),
        (status = 401, description = UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = ADMIN_ONLY, body = ErrorBody),
        (status = 404, description = "`not_found`: no such person", body = ErrorBody),
    )
)]
#[post("/api/v1/admin/users/{id}/reset", wrap = "from_fn(require_admin)")]
pub async fn reset(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: AdminUser,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let id = path.into_inner();
    let mut tx = state.db.begin().await?;
    let user = store::people::find(&mut *tx, id).await?.ok_or_else(ApiError::not_found)?;
    let code = activation::issue(&mut tx, id, Some(admin.id())).await?;
    record(&mut *tx, &admin, &req, "user.reset_activation", Some(id), json!({ "username": user.username })).await?;
    tx.commit().await?;
    Ok(HttpResponse::Ok().json(code))
}

/// `POST /admin/users/{parent_id}/children` `{"student_id"}`: 200 with the parent. Only a parent may be a
/// guardian and only of a student (else 400 `invalid_input`).
#[utoipa::path(
    operation_id = "admin_link_child",
    tag = "admin",
    params(("id" = Uuid, Path, description = "The parent")),
    description = "Makes the parent a guardian of the student; linking them again changes nothing. Audited as \
        `guardian.link`.",
    request_body = LinkChildRequest,
    responses(
        (status = 200, description = "The parent, with their children", body = AdminUserView),
        (status = 400, body = ErrorBody, description = "`invalid_id`; `invalid_json`; `invalid_input`: no such \
            student, the person is not a parent, or the other is not a student"),
        (status = 401, description = UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = ADMIN_ONLY, body = ErrorBody),
        (status = 404, description = "`not_found`: no such parent", body = ErrorBody),
        (status = 413, description = TOO_LARGE, body = ErrorBody),
        (status = 415, description = NOT_JSON, body = ErrorBody),
    )
)]
#[post("/api/v1/admin/users/{id}/children", wrap = "from_fn(require_admin)")]
pub async fn link_child(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: AdminUser,
    path: web::Path<Uuid>,
    body: web::Json<LinkChildRequest>,
) -> ApiResult<HttpResponse> {
    let parent_id = path.into_inner();
    let student_id = body.student_id;
    let mut tx = state.db.begin().await?;
    let parent = store::people::find(&mut *tx, parent_id).await?.ok_or_else(ApiError::not_found)?;
    let student = store::people::find(&mut *tx, student_id)
        .await?
        .ok_or_else(|| ApiError::invalid_input("student_id", "no such person"))?;
    if parent.role() != Role::Parent {
        return Err(ApiError::invalid_input(
            "parent",
            &format!("{} is a {}, not a parent", parent.username, parent.role),
        ));
    }
    if student.role() != Role::Student {
        return Err(ApiError::invalid_input(
            "student_id",
            &format!("{} is a {}, not a student", student.username, student.role),
        ));
    }
    if store::people::link(&mut *tx, parent_id, student_id).await? {
        let details = json!({ "parent": parent.username, "student": student.username, "student_id": student_id });
        record(&mut *tx, &admin, &req, "guardian.link", Some(parent_id), details).await?;
    }
    tx.commit().await?;
    Ok(HttpResponse::Ok().json(load_view(&state, parent_id).await?))
}

/// `DELETE /admin/users/{parent_id}/children/{student_id}`: 200 with the parent; 404 when there is no such link.
#[utoipa::path(
    operation_id = "admin_unlink_child",
    tag = "admin",
    params(
        ("id" = Uuid, Path, description = "The parent"),
        ("student_id" = Uuid, Path, description = "The student"),
    ),
    description = "Audited as `guardian.unlink`.",
    responses(
        (status = 200, description = "The parent, without that child", body = AdminUserView),
        (status = 400, description = INVALID_ID, body = ErrorBody),
        (status = 401, description = UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = ADMIN_ONLY, body = ErrorBody),
        (status = 404, description = "`not_found`: no such link", body = ErrorBody),
    )
)]
#[delete("/api/v1/admin/users/{id}/children/{student_id}", wrap = "from_fn(require_admin)")]
pub async fn unlink_child(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: AdminUser,
    path: web::Path<(Uuid, Uuid)>,
) -> ApiResult<HttpResponse> {
    let (parent_id, student_id) = path.into_inner();
    let mut tx = state.db.begin().await?;
    if !store::people::unlink(&mut *tx, parent_id, student_id).await? {
        return Err(ApiError::not_found());
    }
    record(&mut *tx, &admin, &req, "guardian.unlink", Some(parent_id), json!({ "student_id": student_id })).await?;
    tx.commit().await?;
    Ok(HttpResponse::Ok().json(load_view(&state, parent_id).await?))
}

/// One person's admin view, or 404.
async fn load_view(state: &AppState, id: Uuid) -> ApiResult<AdminUserView> {
    let row = store::people::find(&state.db, id).await?.ok_or_else(ApiError::not_found)?;
    views::admin::people(&state.db, vec![row]).await?.into_iter().next().ok_or_else(ApiError::not_found)
}

//! `GET /admin/groups`: the school's groups (its classes and clubs), so an admin can pick one, for instance to
//! list its people (`GET /admin/users?group=`) and print their invitation letters.

use actix_web::middleware::from_fn;
use actix_web::{HttpResponse, get, web};
use hallway_protocol::ErrorBody;
use hallway_protocol::admin::{AdminGroup, AdminGroupList};

use crate::auth::AdminUser;
use crate::error::ApiResult;
use crate::http::admin::require_admin;
use crate::http::openapi::{ADMIN_ONLY, UNAUTHENTICATED};
use crate::state::AppState;
use crate::store;

/// `GET /admin/groups`: every group, whether or not the admin is in it, ordered by name.
#[utoipa::path(
    operation_id = "admin_list_groups",
    tag = "admin",
    description = "Every group of the school (direct chats are not listed), ordered by name ignoring case and \
        accents, with how many people are in each. `GET /admin/users?group=<id>` lists a group's people.",
    responses(
        (status = 200, description = "The groups", body = AdminGroupList),
        (status = 401, description = UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = ADMIN_ONLY, body = ErrorBody),
    )
)]
#[get("/api/v1/admin/groups", wrap = "from_fn(require_admin)")]
pub async fn list(state: web::Data<AppState>, _admin: AdminUser) -> ApiResult<HttpResponse> {
    let groups = store::conversations::groups(&state.db)
        .await?
        .into_iter()
        .map(|g| AdminGroup { id: g.id, name: g.name, members: g.members })
        .collect();
    Ok(HttpResponse::Ok().json(AdminGroupList { groups }))
}

//! `GET /users`: the directory of people the caller may start a chat with (see `store::directory` for the
//! search rule).

use actix_web::{HttpResponse, get, web};
use hallway_protocol::conversations::{
    DIRECTORY_DEFAULT_LIMIT, DIRECTORY_MAX_LIMIT, DIRECTORY_MAX_QUERY_CHARS, UserList,
};
use hallway_protocol::{ErrorBody, ErrorCode, Role};
use serde::Deserialize;

use super::openapi::{DEACTIVATED, UNAUTHENTICATED};
use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store;

/// The query string, kept as text so that each problem is answered with the contract's code for it
/// (`invalid_paging` for `limit` and `offset`, `invalid_input` for the others). Empty values count as absent,
/// so `?q=&role=&limit=` lists everyone. The documented types are what the values must parse as.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DirectoryQuery {
    /// Words that must each appear in the display name or the username, in any order, ignoring letter case and
    /// accents (at most 128 characters).
    q: Option<String>,
    /// Only people of this role.
    #[param(value_type = Option<Role>)]
    role: Option<String>,
    /// How many people at most: 1 to 200, 50 when absent.
    #[param(value_type = Option<i64>, minimum = 1, maximum = 200)]
    limit: Option<String>,
    /// How many to skip, for the next page: 0 when absent.
    #[param(value_type = Option<i64>, minimum = 0)]
    offset: Option<String>,
}

/// `GET /users?q=&role=&limit=&offset=`: active people the school's policy lets the caller message, never the
/// caller, ordered by display name. A `role` the caller may not reach gives an empty list, not an error.
#[utoipa::path(
    operation_id = "search_users",
    tag = "directory",
    params(DirectoryQuery),
    responses(
        (status = 200, description = "The people found, by display name", body = UserList),
        (status = 400, description = "`invalid_paging`: `limit` or `offset` out of range or not a number; \
            `invalid_input`: an unknown `role`, or `q` too long", body = ErrorBody),
        (status = 401, description = UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = DEACTIVATED, body = ErrorBody),
    )
)]
#[get("/api/v1/users")]
pub async fn search(
    state: web::Data<AppState>,
    caller: AuthUser,
    query: web::Query<DirectoryQuery>,
) -> ApiResult<HttpResponse> {
    let query = query.into_inner();
    let limit =
        paging_value("limit", query.limit.as_deref(), 1, DIRECTORY_MAX_LIMIT)?.unwrap_or(DIRECTORY_DEFAULT_LIMIT);
    let offset = paging_value("offset", query.offset.as_deref(), 0, i64::MAX)?.unwrap_or(0);
    let role_filter = match present(query.role.as_deref()) {
        None => None,
        Some(raw) => Some(
            Role::parse(raw)
                .ok_or_else(|| ApiError::invalid_input("role", "must be one of admin, teacher, parent, student"))?,
        ),
    };
    let text = present(query.q.as_deref()).unwrap_or_default();
    if text.chars().count() > DIRECTORY_MAX_QUERY_CHARS {
        return Err(ApiError::invalid_input("q", &format!("at most {DIRECTORY_MAX_QUERY_CHARS} characters")));
    }
    let words: Vec<String> = text.split_whitespace().map(str::to_owned).collect();

    let roles: Vec<Role> = state
        .policy()
        .reachable_roles(caller.user.role())
        .into_iter()
        .filter(|role| role_filter.is_none_or(|wanted| wanted == *role))
        .collect();
    let users = if roles.is_empty() {
        Vec::new()
    } else {
        let search = store::directory::Search { caller_id: caller.id(), roles: &roles, words: &words, limit, offset };
        store::directory::search(&state.db, &search).await?
    };
    Ok(HttpResponse::Ok().json(UserList { users: users.iter().map(crate::views::user).collect() }))
}

/// A query value with its surrounding white space removed, or `None` when it is absent or empty.
fn present(raw: Option<&str>) -> Option<&str> {
    raw.map(str::trim).filter(|s| !s.is_empty())
}

/// Parses `limit` or `offset`: a whole number in `min..=max`, else `invalid_paging` naming the field.
fn paging_value(field: &str, raw: Option<&str>, min: i64, max: i64) -> ApiResult<Option<i64>> {
    let Some(raw) = present(raw) else { return Ok(None) };
    match raw.parse::<i64>() {
        Ok(value) if (min..=max).contains(&value) => Ok(Some(value)),
        _ if max == i64::MAX => {
            Err(ApiError::new(ErrorCode::InvalidPaging, format!("{field}: a whole number from {min} up")))
        }
        _ => Err(ApiError::new(ErrorCode::InvalidPaging, format!("{field}: a whole number from {min} to {max}"))),
    }
}

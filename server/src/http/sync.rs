//! `GET /sync`: one request catches a client up (contract 1.1). The handler parses; `crate::sync` answers.

use actix_web::{HttpResponse, get, web};
use hallway_protocol::ErrorBody;
use hallway_protocol::sync::SyncResponse;
use serde::Deserialize;

use super::openapi::{DEACTIVATED, UNAUTHENTICATED};
use crate::auth::AuthUser;
use crate::error::ApiResult;
use crate::state::AppState;
use crate::sync as feed;

/// The raw query: checked by `crate::sync`, so that a bad value gets the contract's error code.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SyncQuery {
    /// The `next` of the previous answer; absent: from the start of time.
    since: Option<String>,
    /// Most messages in this answer: 1 to 1,000, 200 when absent.
    #[param(value_type = Option<i64>, minimum = 1, maximum = 1000)]
    limit: Option<String>,
}

/// `GET /sync?since=&limit=`: every conversation of the caller that changed since `since` (as it now stands),
/// those the caller left or was removed from, and every message created or changed, once each.
#[utoipa::path(
    operation_id = "sync",
    tag = "sync",
    params(SyncQuery),
    description = "Call again with `next` while `has_more`; keep the last `next` for the next catch-up. Without \
        `since`: every conversation, then all their messages, paged. A conversation the caller joined since \
        `since` comes in `conversations`; its older history is read with `GET /conversations/{id}/messages`.",
    responses(
        (status = 200, description = "One page of changes, each conversation and message as it now stands",
            body = SyncResponse),
        (status = 400, description = "`invalid_sync_token`: `since` is garbled, another user's, or too old (start \
            over without it); `invalid_paging`: `limit` is not 1 to 1,000", body = ErrorBody),
        (status = 401, description = UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = DEACTIVATED, body = ErrorBody),
    )
)]
#[get("/api/v1/sync")]
pub async fn get(
    state: web::Data<AppState>,
    caller: AuthUser,
    query: web::Query<SyncQuery>,
) -> ApiResult<HttpResponse> {
    let limit = feed::parse_limit(query.limit.as_deref())?;
    let page = feed::sync(&state.db, &state.keys, caller.id(), query.since.as_deref(), limit).await?;
    Ok(HttpResponse::Ok().json(page))
}

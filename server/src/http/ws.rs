//! `GET /api/v1/ws`: the WebSocket upgrade. The token (header, or `?access_token=` for browsers) is checked
//! here only: an open socket outlives its access token, and is closed when its session ends.

use actix_web::{HttpRequest, HttpResponse, get, web};
use actix_web_actors::ws;
use hallway_protocol::{ErrorBody, ErrorCode};
use serde::Deserialize;

use super::openapi::{DEACTIVATED, UNAUTHENTICATED};
use crate::auth::extractor::{authenticate, bearer_token};
use crate::error::{ApiError, ApiResult};
use crate::realtime::session::{MAX_FRAME_BYTES, WsSession};
use crate::state::AppState;

#[derive(Deserialize)]
struct TokenQuery {
    access_token: Option<String>,
}

/// Authenticates, then hands the connection to a new `WsSession`.
#[utoipa::path(
    operation_id = "open_websocket",
    tag = "realtime",
    summary = "Opens the WebSocket",
    description = "The WebSocket upgrade. After it, text frames carry one JSON object each: the client sends \
        `ClientFrame`s, the server `ServerFrame`s, the first of which is `hello`. The token comes in the \
        `Authorization` header or, for browsers, as `?access_token=`; it is checked at the upgrade only. \
        Delivery, ordering, limits and close codes: `docs/protocol.md`, section \"WebSocket\".",
    security(("bearer" = []), ("access_token" = [])),
    responses(
        (status = 101, description = "Switched to the WebSocket protocol: frames are `ClientFrame` and `ServerFrame`"),
        (status = 400, description = "`invalid_input`: not a WebSocket upgrade request", body = ErrorBody),
        (status = 401, description = UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = DEACTIVATED, body = ErrorBody),
    )
)]
#[get("/api/v1/ws")]
pub async fn connect(state: web::Data<AppState>, req: HttpRequest, stream: web::Payload) -> ApiResult<HttpResponse> {
    let from_query =
        || web::Query::<TokenQuery>::from_query(req.query_string()).ok().and_then(|q| q.into_inner().access_token);
    let token = bearer_token(&req)
        .or_else(from_query)
        .ok_or_else(|| ApiError::new(ErrorCode::Unauthenticated, "an access token is required"))?;
    let caller = authenticate(&state, &token).await?;
    let session = WsSession::new(caller.user, caller.session_id, state.realtime.clone(), state.database.clone());
    ws::WsResponseBuilder::new(session, &req, stream)
        .frame_size(MAX_FRAME_BYTES)
        .start()
        .map_err(|err| ApiError::new(ErrorCode::InvalidInput, format!("not a WebSocket upgrade: {err}")))
}

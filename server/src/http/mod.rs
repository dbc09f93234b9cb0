//! actix-web routes, one module per resource. Every failure, including the framework's own (bad JSON,
//! bad path ids, unknown routes), is answered with the contract's error envelope.

pub mod activate;
pub mod admin;
pub mod attachments;
pub mod auth;
pub mod avatars;
pub mod console;
pub mod conversations;
pub mod devices;
pub mod directory;
pub mod health;
pub mod input;
pub mod join;
pub mod me;
pub mod messages;
pub mod openapi;
pub mod reports;
pub mod sync;
pub mod ws;

use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::{HttpRequest, HttpResponse, web};
use hallway_protocol::ErrorCode;

use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::realtime::conversation::Origin;

/// Largest JSON body accepted (the WebSocket frame limit is the same).
pub const MAX_JSON_BODY: usize = 64 * 1024;

/// Registers the extractor configurations and every route: the API's routes (and health) come from the one
/// table in `openapi`, which the OpenAPI document is made from too, so that what is served and what is
/// documented cannot differ. The only routes registered apart are the web console's static files (`console`)
/// and the pages of invitations and the apps' verified links (`join`), which are not API.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::JsonConfig::default().limit(MAX_JSON_BODY).error_handler(json_error))
        .app_data(web::PathConfig::default().error_handler(path_error))
        .app_data(web::QueryConfig::default().error_handler(query_error))
        .configure(openapi::register)
        // The web console's static files, at `/admin`: pages for a browser, not API operations, so they are
        // registered here, outside the table and outside `/api/v1`, and are not in the OpenAPI document.
        .configure(console::routes)
        // The join page and `/.well-known/` files: for browsers and phones' operating systems, likewise apart.
        .configure(join::routes);
}

/// Changes made over REST come from no socket: every session of the caller hears of them.
fn rest_origin(caller: &AuthUser) -> Origin {
    Origin { user_id: caller.id(), conn: None, session: Some(caller.session_id) }
}

/// The answer for any route that does not exist.
pub async fn not_found() -> HttpResponse {
    actix_web::ResponseError::error_response(&ApiError::not_found())
}

fn json_error(err: JsonPayloadError, _req: &HttpRequest) -> actix_web::Error {
    let api = match &err {
        JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => {
            ApiError::new(ErrorCode::TooLarge, format!("the request body is larger than {MAX_JSON_BODY} bytes"))
        }
        JsonPayloadError::ContentType => {
            ApiError::new(ErrorCode::UnsupportedMediaType, "the request body must be application/json")
        }
        JsonPayloadError::Deserialize(e) if e.is_data() => ApiError::new(ErrorCode::InvalidInput, e.to_string()),
        _ => ApiError::new(ErrorCode::InvalidJson, "the request body is not valid JSON"),
    };
    api.into()
}

fn path_error(err: PathError, _req: &HttpRequest) -> actix_web::Error {
    let PathError::Deserialize(e) = &err else {
        return ApiError::new(ErrorCode::InvalidId, "the path is not valid").into();
    };
    ApiError::new(ErrorCode::InvalidId, format!("the id in the path is not valid: {e}")).into()
}

fn query_error(err: QueryPayloadError, _req: &HttpRequest) -> actix_web::Error {
    ApiError::new(ErrorCode::InvalidInput, format!("query: {err}")).into()
}

/// The client's address as seen on the socket (proxies' headers are not trusted).
pub fn client_address(req: &HttpRequest) -> Option<String> {
    req.peer_addr().map(|addr| addr.ip().to_string())
}

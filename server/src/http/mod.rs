//! actix-web routes, one module per resource. Every failure, including the framework's own (bad JSON,
//! bad path ids, unknown routes), is answered with the contract's error envelope.

pub mod activate;
pub mod admin;
pub mod attachments;
pub mod auth;
pub mod avatars;
pub mod console;
pub mod conversations;
pub mod directory;
pub mod health;
pub mod me;
pub mod messages;
pub mod reports;
pub mod ws;

use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::{HttpRequest, HttpResponse, web};
use hallway_protocol::ErrorCode;

use crate::error::ApiError;

/// Largest JSON body accepted (the WebSocket frame limit is the same).
pub const MAX_JSON_BODY: usize = 64 * 1024;

/// Registers every route and the extractor configurations.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::JsonConfig::default().limit(MAX_JSON_BODY).error_handler(json_error))
        .app_data(web::PathConfig::default().error_handler(path_error))
        .app_data(web::QueryConfig::default().error_handler(query_error))
        .route("/healthz", web::get().to(health::healthz))
        .route("/readyz", web::get().to(health::readyz))
        .configure(console::routes)
        .service(
            web::scope("/api/v1")
                .route("/auth/login", web::post().to(auth::login))
                .route("/auth/refresh", web::post().to(auth::refresh))
                .route("/auth/logout", web::post().to(auth::logout))
                .route("/auth/logout-all", web::post().to(auth::logout_all))
                .route("/auth/activate", web::post().to(activate::activate))
                .route("/me", web::get().to(me::get))
                .route("/me/password", web::post().to(me::change_password))
                .route("/me/avatar", web::put().to(avatars::put))
                .route("/me/avatar", web::delete().to(avatars::delete))
                .route("/users/{id}/avatar", web::get().to(avatars::get))
                .route("/attachments", web::post().to(attachments::upload))
                .route("/attachments/{id}", web::get().to(attachments::download))
                .route("/attachments/{id}/thumbnail", web::get().to(attachments::thumbnail))
                .route("/ws", web::get().to(ws::connect))
                .configure(conversation_routes)
                .configure(messages::routes)
                .configure(reports::routes)
                .service(
                    web::scope("/admin")
                        .wrap(actix_web::middleware::from_fn(admin::require_admin))
                        .configure(admin::configure),
                ),
        );
}

/// The directory and conversation management (`/users`, `/conversations/...`); messages register their own.
fn conversation_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/users", web::get().to(directory::search))
        .route("/conversations", web::get().to(conversations::list))
        .route("/conversations", web::post().to(conversations::create))
        .route("/conversations/{id}", web::get().to(conversations::get))
        .route("/conversations/{id}", web::patch().to(conversations::rename))
        .route("/conversations/{id}/members", web::post().to(conversations::add_members))
        .route("/conversations/{id}/members/{user_id}", web::delete().to(conversations::remove_member))
        .route("/conversations/{id}/admins", web::post().to(conversations::promote))
        .route("/conversations/{id}/leave", web::post().to(conversations::leave))
        .route("/conversations/{id}/settings", web::patch().to(conversations::settings));
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

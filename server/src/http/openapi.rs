//! The server's one table of endpoints, and the OpenAPI 3 document made from it, served at
//! `GET /api/v1/openapi.json`.
//!
//! `endpoints!` below names every handler once, and that one list both registers the routes with actix-web and
//! puts the handlers' `#[utoipa::path]` annotations into the document. A handler's method and path are written
//! once, in its actix route attribute (`#[get("/api/v1/...")]`), which utoipa reads as well. So the server can
//! neither serve an endpoint that the document leaves out nor document one that it does not serve, and
//! `tests/openapi.rs` checks both against a running server.
//!
//! Adding an endpoint takes, next to the handler, `#[utoipa::path(...)]` (responses with their error codes,
//! parameters, `tag`; `security(())` only if it is public, another scheme only if it accepts one, as attachment
//! downloads accept `signed_link`) above an actix route attribute with the full path
//! (`#[post("/api/v1/admin/users")]`), and here ONE line, `admin_users::create,`, in `endpoints!`. Register no
//! route anywhere else: no `.route(...)`, no scope, no `configure` (`http::admin` says how for admin areas). The
//! exceptions are pages, not API: the console's static files (`http::console`) and the join page with the
//! `/.well-known/` files (`http::join`), registered apart in `http::configure`.
//! Request and answer types derive `utoipa::ToSchema` (in `protocol`:
//! `#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]`); utoipa collects them by itself. Bytes that are
//! not JSON (downloads, exports) are documented by their content types.

use std::sync::LazyLock;

use actix_web::{HttpResponse, get, web};
use hallway_protocol::ws::{ClientFrame, ServerFrame};
use hallway_protocol::{ErrorBody, ErrorCode, ErrorDetail};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::admin::safety::{moderation, reports as report_queue, safeguarding, settings};
use super::admin::{
    audit as admin_audit, groups as admin_groups, import as admin_import, letters as admin_letters,
    people as admin_people, policy as admin_policy, push as admin_push, stats as admin_stats, urgent as admin_urgent,
};
use super::{
    activate, attachments, auth, avatars, conversations, devices, directory, health, me, messages, reports, sync, ws,
};

/// 401 on every endpoint that needs a token.
pub const UNAUTHENTICATED: &str =
    "`unauthenticated`: no token, a bad one, or its session has ended; `token_expired`: refresh it and retry";
/// 403 on every endpoint that needs a token, when nothing else refuses with 403.
pub const DEACTIVATED: &str = "`account_deactivated`: the caller's account has been deactivated";
/// 404 for a conversation or a message: also for one the caller may not see, whose existence is never revealed.
pub const NOT_FOUND: &str = "`not_found`: no such conversation or message, or the caller is not in it";
/// 400 for a malformed id in the path.
pub const INVALID_ID: &str = "`invalid_id`: an id in the path is not a UUID";
/// 413 for a JSON body over the limit.
pub const TOO_LARGE: &str = "`too_large`: the JSON body is over 64 KiB";
/// 415 for a body that is not JSON.
pub const NOT_JSON: &str = "`unsupported_media_type`: the body is not `application/json`";
/// 503 where a password is hashed or checked, when the bounded hashing queue is full.
pub const PASSWORDS_BUSY: &str =
    "`unavailable`: too many password checks at once (the queue is full); `Retry-After` says how many seconds to wait";
/// 403 on every admin endpoint.
pub const ADMIN_ONLY: &str = "`forbidden`: the caller is not a school admin; `account_deactivated`";
/// 400 for an admin's JSON body that does not parse or breaks a rule of the type.
pub const INVALID_ADMIN_BODY: &str =
    "`invalid_json`; `invalid_input` (naming the field): a field is missing, mistyped or out of range";

/// Registers every endpoint with actix-web and declares the document with the same list (see the module docs).
macro_rules! endpoints {
    ($($($segment:ident)::+),+ $(,)?) => {
        /// The OpenAPI document of everything the server serves.
        #[derive(OpenApi)]
        #[openapi(
            info(
                title = "Hallway",
                version = "1",
                description = "The Hallway wire contract, version 1: the REST API and the WebSocket \
                    (`GET /api/v1/ws`). Errors are `{\"error\": {\"code\", \"message\"}}` (`ErrorBody`). \
                    The prose, with every rule, is `docs/protocol.md`."
            ),
            paths($($($segment)::+),+),
            components(schemas(ErrorBody, ErrorDetail, ErrorCode, ClientFrame, ServerFrame)),
            modifiers(&SecuritySchemes),
            security(("bearer" = [])),
            tags(
                (name = "health", description = "Liveness and readiness, outside `/api/v1`, without a token"),
                (name = "auth", description = "Sign-in, activation codes, token refresh and sign-out"),
                (name = "me", description = "The caller's own account"),
                (name = "directory", description = "People the caller may start a chat with"),
                (name = "conversations", description = "Direct chats, groups, members, admins and own settings"),
                (name = "messages", description = "Send, history, edit, delete, reactions, read markers, search"),
                (name = "attachments", description = "Upload files and download them (Bearer token or signed link)"),
                (name = "avatars", description = "Profile pictures"),
                (name = "devices", description = "Devices that receive push notifications, and the VAPID key"),
                (name = "reports", description = "Members report messages to the school admins"),
                (name = "admin", description = "School admins only: people, activation codes, roster import, the \
                    audit log, usage statistics, the messaging policy, the report queue, moderation deletes, banned \
                    words, safeguarding, exports and retention; every read of messages and every change is audited"),
                (name = "sync", description = "Catching up in one request: every change since a token"),
                (name = "realtime", description = "The WebSocket: frames are `ClientFrame` and `ServerFrame`"),
                (name = "meta", description = "This document")
            )
        )]
        pub struct ApiDoc;

        /// Registers every endpoint of the table, each under the method and path of its route attribute.
        pub fn register(cfg: &mut web::ServiceConfig) {
            $(cfg.service($($segment)::+);)+
        }
    };
}

endpoints! {
    health::healthz,
    health::readyz,
    document,
    auth::login,
    auth::refresh,
    auth::logout,
    auth::logout_all,
    activate::activate,
    me::get,
    me::change_password,
    devices::register,
    devices::list,
    devices::vapid_key,
    devices::remove,
    ws::connect,
    directory::search,
    conversations::list,
    conversations::create,
    conversations::get,
    conversations::rename,
    conversations::add_members,
    conversations::remove_member,
    conversations::promote,
    conversations::leave,
    conversations::settings,
    messages::history,
    messages::send,
    messages::read,
    messages::edit,
    messages::delete,
    messages::react,
    messages::acknowledge,
    messages::receipts,
    messages::search,
    sync::get,
    attachments::upload,
    attachments::download,
    attachments::thumbnail,
    avatars::put,
    avatars::delete,
    avatars::get,
    reports::report,
    reports::mine,
    report_queue::list,
    report_queue::resolve,
    moderation::delete_message,
    moderation::export_conversation,
    settings::get_banned_words,
    settings::put_banned_words,
    settings::get_safeguarding,
    settings::put_safeguarding,
    settings::get_retention,
    settings::put_retention,
    admin_urgent::get_urgent_messages,
    admin_urgent::put_urgent_messages,
    safeguarding::list,
    safeguarding::messages,
    admin_people::list,
    admin_people::create,
    admin_people::get,
    admin_people::update,
    admin_people::deactivate,
    admin_people::reactivate,
    admin_people::reset,
    admin_people::link_child,
    admin_people::unlink_child,
    admin_groups::list,
    admin_import::import,
    admin_letters::print,
    admin_audit::search,
    admin_stats::usage,
    admin_policy::get,
    admin_policy::put,
    admin_push::get,
    admin_push::put,
}

/// Adds the security schemes the annotations name: `bearer` (the default for every operation); for the WebSocket
/// upgrade, `access_token` in the query, since browsers cannot set headers on a WebSocket; and for attachment
/// downloads, `signed_link`: the `sig` (with `exp`) of the links that `Attachment` carries, so that image loaders
/// and browsers fetch them without a header.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let bearer = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .bearer_format("JWT")
            .description(Some("The `access_token` of `POST /api/v1/auth/login` or `/auth/refresh`"))
            .build();
        components.add_security_scheme("bearer", SecurityScheme::Http(bearer));
        let query = ApiKeyValue::with_description("access_token", "The access token in the query (WebSocket only)");
        components.add_security_scheme("access_token", SecurityScheme::ApiKey(ApiKey::Query(query)));
        let link = ApiKeyValue::with_description(
            "sig",
            "A signed attachment link: `sig` and `exp` in the query, exactly as `Attachment.url` and \
             `Attachment.thumbnail_url` carry them. It opens that one file (or its thumbnail) until `exp`, for whoever \
             holds it; fetch the message again for a fresh one",
        );
        components.add_security_scheme("signed_link", SecurityScheme::ApiKey(ApiKey::Query(link)));
    }
}

/// Built once: the document is the same for the life of the process.
static DOCUMENT: LazyLock<utoipa::openapi::OpenApi> = LazyLock::new(ApiDoc::openapi);

/// `GET /api/v1/openapi.json`: this document, for code generators and API explorers; public, like the contract.
#[utoipa::path(
    operation_id = "get_openapi_document",
    tag = "meta",
    security(()),
    responses((status = 200, description = "The OpenAPI 3 document", body = Object))
)]
#[get("/api/v1/openapi.json")]
pub async fn document() -> HttpResponse {
    HttpResponse::Ok().json(&*DOCUMENT)
}

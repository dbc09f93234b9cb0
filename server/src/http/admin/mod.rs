//! `/api/v1/admin/...`: the school admins' endpoints. Every handler takes an `AdminUser` (403 `forbidden` for
//! anyone else) and writes every change to the audit log (who, what, when, from which address).
//!
//! # Registering an admin endpoint
//!
//! There is no `/admin` scope and no `configure` or `routes` function here or in any submodule: every admin
//! route is registered by the one table of endpoints in `http::openapi` (`endpoints!`), which builds the OpenAPI
//! document from the same list, so an admin route cannot be served undocumented. For a new admin area (e.g.
//! `admin::users`), add a submodule here, and for each handler in it:
//!
//! 1. an actix route attribute with the FULL path and the admin check,
//!    `#[post("/api/v1/admin/users", wrap = "from_fn(require_admin)")]` (no scope prefixes or wraps it; import
//!    `actix_web::middleware::from_fn` and `super::require_admin`, or `crate::http::admin::require_admin`).
//!    `require_admin` answers 403 to anyone but an admin before any extractor runs, so a teacher is refused
//!    the same way whatever the body or path holds; `tests/openapi.rs` checks that every admin route has it;
//! 2. above it, `#[utoipa::path(...)]` with a unique `operation_id` (`admin_...`), `tag = "admin"`, its `params`
//!    (path ids as `Uuid`, query structs deriving `utoipa::IntoParams`), `request_body`, and `responses`: each
//!    success with its body, and the errors as `ErrorBody` with their codes: 400 (`invalid_id` whenever the path
//!    has an id), 401 `UNAUTHENTICATED`, 403 `ADMIN_ONLY`, 404/409 where they happen, 413 `TOO_LARGE` and 415
//!    `NOT_JSON` with a JSON body (the constants are in `http::openapi`). Leave `security` out: admin endpoints
//!    take the Bearer token, the document's default;
//! 3. one line in `endpoints!` in `http::openapi`, e.g. `admin_users::create,` (with a `use` alias for the
//!    module, as `safety::reports` is `report_queue` there);
//! 4. `ToSchema` on the request and answer types (in `protocol`:
//!    `#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]`).
//!
//! `tests/openapi.rs` then checks on a running server that the route answers 401 without a token, that no other
//! method is served on its path, and that its document is complete. The safety handlers in `safety` are the
//! examples to follow.

pub mod audit;
pub mod groups;
pub mod import;
pub mod letters;
pub mod people;
pub mod policy;
pub mod push;
pub mod safety;
pub mod stats;
pub mod urgent;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpRequest};
use serde_json::Value;

use crate::auth::AdminUser;
use crate::state::AppState;
use crate::store::{self, audit::AuditEntry};

/// Wraps every admin route (each one's route attribute has `wrap = "from_fn(require_admin)"`, see above, as
/// there is no admin scope to wrap): the caller must be a signed-in school admin before anything else about the
/// request is looked at, so a teacher gets 403 `forbidden` from every admin endpoint whatever the body or path
/// holds (extractors otherwise run side by side and the first to fail, say a malformed body, would answer).
/// The `AdminUser` found is kept in the request for the handlers' own extractor.
pub async fn require_admin(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let admin = req.extract::<AdminUser>().await?;
    req.extensions_mut().insert(admin);
    next.call(req).await
}

/// Records what an admin did or read, on whatever `target` (`settings:push`, `report:<id>`...). Details never
/// hold message text, passwords or tokens. (`audit::record` is the same for actions on one person.)
pub(crate) async fn audit_action(
    state: &AppState,
    admin: &AdminUser,
    req: &HttpRequest,
    action: &str,
    target: String,
    details: Value,
) -> Result<(), sqlx::Error> {
    let entry = AuditEntry {
        actor_id: Some(admin.id()),
        action,
        target: Some(target),
        address: crate::http::client_address(req),
        details,
    };
    store::audit::record(&state.db, entry).await
}

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
//! 1. an actix route attribute with the FULL path, `#[post("/api/v1/admin/users")]` (no scope prefixes it);
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

pub mod safety;

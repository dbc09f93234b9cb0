//! `/api/v1/admin/...`: the school admins' endpoints. Every handler takes an `AdminUser` (403 `forbidden` for
//! anyone else) and writes every change to the audit log (who, what, when, from which address).
//!
//! Each admin area is a submodule of this one. Its handlers carry their full path in their route attribute
//! (`#[get("/api/v1/admin/...")]`) and a `#[utoipa::path]` annotation, and are registered by one line each in
//! the table of `http::openapi`, which serves and documents them alike: there is no admin scope to register into.

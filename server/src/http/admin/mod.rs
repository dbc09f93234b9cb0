//! `/api/v1/admin/...`: the school admins' endpoints. Every handler takes an `AdminUser` (403 `forbidden` for
//! anyone else) and writes every change to the audit log (who, what, when, from which address).

pub mod safety;

use actix_web::web;

/// Registers the admin routes (under `/api/v1/admin`) until they join the table of `http::openapi`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.configure(safety::reports::routes)
        .configure(safety::moderation::routes)
        .configure(safety::safeguarding::routes)
        .configure(safety::settings::routes);
}

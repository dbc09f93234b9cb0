//! `/api/v1/admin/...`: the school admins' endpoints. Every handler takes an `AdminUser` (403 `forbidden` for
//! anyone else) and writes every change to the audit log (who, what, when, from which address).

pub mod audit;
pub mod import;
pub mod people;
pub mod policy;
pub mod stats;

use actix_web::web;

/// Registers the admin routes (under `/api/v1/admin`). Each admin area adds its own `routes` here.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.configure(people::routes);
    cfg.configure(import::routes);
    cfg.configure(audit::routes);
    cfg.configure(stats::routes);
    cfg.configure(policy::routes);
}

//! `/api/v1/admin/...`: the school admins' endpoints. Every handler takes an `AdminUser` (403 `forbidden` for
//! anyone else) and writes every change to the audit log (who, what, when, from which address).

pub mod audit;
pub mod import;
pub mod people;
pub mod policy;
pub mod safety;
pub mod stats;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, web};

use crate::auth::AdminUser;

/// Registers the admin routes (under `/api/v1/admin`). Each admin area adds its own `routes` here.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.configure(people::routes);
    cfg.configure(import::routes);
    cfg.configure(audit::routes);
    cfg.configure(stats::routes);
    cfg.configure(policy::routes);
    cfg.configure(safety::reports::routes)
        .configure(safety::moderation::routes)
        .configure(safety::safeguarding::routes)
        .configure(safety::settings::routes);
}

/// Wraps the whole admin scope: the caller must be a signed-in school admin before anything else about the
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

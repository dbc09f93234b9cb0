//! The admins' safety and records endpoints: the report queue, moderation deletes, exports, safeguarding
//! visibility and the safety settings (banned words, safeguarding, retention). Every read of people's
//! messages and every change is written to the audit log before the answer goes out.

pub mod moderation;
pub mod reports;
pub mod safeguarding;
pub mod settings;

use actix_web::HttpRequest;
use serde_json::Value;

use crate::auth::AdminUser;
use crate::state::AppState;
use crate::store::{self, audit::AuditEntry};

/// Records what an admin did or read. Details never hold message text, passwords or tokens.
async fn audit(
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

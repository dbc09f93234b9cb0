//! `/admin/policy`: the school's messaging rules (who may start a chat with whom), read and changed at run
//! time. A change applies at once to every new chat and group addition, and persists under the `policy`
//! setting.

use actix_web::middleware::from_fn;
use actix_web::{HttpRequest, HttpResponse, get, put, web};
use hallway_protocol::admin::{PolicyRule, PolicyTable};
use hallway_protocol::{ErrorBody, Role};
use serde_json::json;

use super::audit::record;
use crate::auth::AdminUser;
use crate::error::{ApiError, ApiResult};
use crate::http::admin::require_admin;
use crate::http::openapi::{ADMIN_ONLY, NOT_JSON, TOO_LARGE, UNAUTHENTICATED};
use crate::policy::Policy;
use crate::state::{AppState, POLICY_SETTING};
use crate::store;

/// `GET /admin/policy`: the sixteen rules.
#[utoipa::path(
    operation_id = "admin_get_policy",
    tag = "admin",
    responses(
        (status = 200, description = "The sixteen rules: for each role, whom they may start a chat with",
            body = PolicyTable),
        (status = 401, description = UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = ADMIN_ONLY, body = ErrorBody),
    )
)]
#[get("/api/v1/admin/policy", wrap = "from_fn(require_admin)")]
pub async fn get(state: web::Data<AppState>, _admin: AdminUser) -> HttpResponse {
    HttpResponse::Ok().json(table(&state.policy()))
}

/// `PUT /admin/policy`: replaces the rules named in the body (rules not named keep their value). Admins may
/// always message everyone, so that a school cannot lock its own staff out (400 otherwise).
#[utoipa::path(
    operation_id = "admin_put_policy",
    tag = "admin",
    description = "Rules not named keep their value. Applies at once to every new chat and group addition. \
        Audited as `policy.update` when something changes.",
    request_body = PolicyTable,
    responses(
        (status = 200, description = "The whole table as it now stands", body = PolicyTable),
        (status = 400, body = ErrorBody, description = "`invalid_json`; `invalid_input`: a rule is malformed, or \
            would stop admins starting a chat with someone"),
        (status = 401, description = UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = ADMIN_ONLY, body = ErrorBody),
        (status = 413, description = TOO_LARGE, body = ErrorBody),
        (status = 415, description = NOT_JSON, body = ErrorBody),
    )
)]
#[put("/api/v1/admin/policy", wrap = "from_fn(require_admin)")]
pub async fn put(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: AdminUser,
    body: web::Json<PolicyTable>,
) -> ApiResult<HttpResponse> {
    let mut policy = state.policy();
    let before = policy.clone();
    for rule in &body.rules {
        if rule.from == Role::Admin && !rule.allowed {
            return Err(ApiError::invalid_input("rules", "admins may always start a chat with everyone"));
        }
        policy.set(rule.from, rule.to, rule.allowed);
    }
    if policy != before {
        let mut tx = state.db.begin().await?;
        store::settings::put(&mut *tx, POLICY_SETTING, &policy).await?;
        let changed: Vec<PolicyRule> =
            table(&policy).rules.into_iter().filter(|r| before.roles_allow(r.from, r.to) != r.allowed).collect();
        record(&mut *tx, &admin, &req, "policy.update", None, json!({ "changed": changed })).await?;
        tx.commit().await?;
        *state.policy.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = policy.clone();
    }
    Ok(HttpResponse::Ok().json(table(&policy)))
}

fn table(policy: &Policy) -> PolicyTable {
    let rules = Role::ALL
        .into_iter()
        .flat_map(|from| {
            Role::ALL.into_iter().map(move |to| PolicyRule { from, to, allowed: policy.roles_allow(from, to) })
        })
        .collect();
    PolicyTable { rules }
}

//! What request handlers share.

use std::sync::Arc;

use sqlx::PgPool;

use crate::auth::rate_limit::FailureLimiter;
use crate::auth::tokens::Keys;
use crate::config::Config;

/// Shared by every worker; cheap to clone (everything is behind an `Arc` or is a pool handle).
#[derive(Clone)]
pub struct AppState {
    pub db: PgPool,
    pub config: Arc<Config>,
    pub keys: Arc<Keys>,
    /// Failed sign-ins counted per account (lower-cased login).
    pub login_failures_by_account: Arc<FailureLimiter>,
    /// Failed sign-ins counted per client address.
    pub login_failures_by_address: Arc<FailureLimiter>,
}

impl AppState {
    /// Builds the shared state from the configuration, the database pool and the signing keys.
    pub fn new(config: Config, db: PgPool, keys: Keys) -> AppState {
        let window = config.limits.login_failure_window;
        AppState {
            login_failures_by_account: Arc::new(FailureLimiter::new(config.limits.login_failures_per_account, window)),
            login_failures_by_address: Arc::new(FailureLimiter::new(config.limits.login_failures_per_address, window)),
            db,
            config: Arc::new(config),
            keys: Arc::new(keys),
        }
    }
}

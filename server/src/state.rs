//! What request handlers share.

use std::sync::{Arc, RwLock};

use sqlx::PgPool;

use crate::auth::password::HashPool;
use crate::auth::rate_limit::FailureLimiter;
use crate::auth::tokens::Keys;
use crate::config::Config;
use crate::media::Media;
use crate::notify::webpush::VapidKey;
use crate::policy::Policy;
use crate::realtime::Realtime;
use crate::store::supervisor::DatabaseHealth;

/// The settings key of the messaging policy.
pub const POLICY_SETTING: &str = "policy";

/// Shared by every worker; cheap to clone (everything is behind an `Arc` or is a pool handle).
#[derive(Clone)]
pub struct AppState {
    pub db: PgPool,
    pub config: Arc<Config>,
    pub keys: Arc<Keys>,
    /// The school's messaging rules; admins may change them while the server runs.
    pub policy: Arc<RwLock<Policy>>,
    /// The actors: conversations, connected users, sockets.
    pub realtime: Realtime,
    /// Uploaded files: the blob store and the bound on concurrent image processing.
    pub media: Media,
    /// The key that signs Web Push requests; its public half is served to subscribing clients.
    pub vapid: Arc<VapidKey>,
    /// Failed sign-ins counted per account (lower-cased login).
    pub login_failures_by_account: Arc<FailureLimiter>,
    /// Failed sign-ins counted per client address.
    pub login_failures_by_address: Arc<FailureLimiter>,
    /// Whether the database answers (kept by `store::supervisor` when `main` runs one; up otherwise).
    pub database: DatabaseHealth,
    /// The bounded pool every password hash and check of a request runs on.
    pub passwords: Arc<HashPool>,
}

impl AppState {
    /// Builds the shared state from the configuration, the database pool and the signing keys.
    pub fn new(
        config: Config,
        db: PgPool,
        keys: Arc<Keys>,
        policy: Arc<RwLock<Policy>>,
        realtime: Realtime,
        vapid: Arc<VapidKey>,
        passwords: Arc<HashPool>,
    ) -> AppState {
        let window = config.limits.login_failure_window;
        AppState {
            login_failures_by_account: Arc::new(FailureLimiter::new(config.limits.login_failures_per_account, window)),
            login_failures_by_address: Arc::new(FailureLimiter::new(config.limits.login_failures_per_address, window)),
            media: Media::local(&config.data_dir),
            database: DatabaseHealth::default(),
            db,
            config: Arc::new(config),
            keys,
            policy,
            realtime,
            vapid,
            passwords,
        }
    }
}

impl AppState {
    /// A copy of the current messaging policy.
    pub fn policy(&self) -> Policy {
        self.policy.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }
}

//! PostgreSQL access: one module per aggregate, each a set of free functions taking a pool, a connection
//! or a transaction. `Database` opens either the configured database or the embedded cluster.

pub mod activation_codes;
pub mod attachments;
pub mod audit;
pub mod audit_search;
pub mod changes;
pub mod conversation_views;
pub mod conversations;
pub mod deliveries;
pub mod devices;
pub mod directory;
pub mod embedded;
pub mod exports;
pub mod group_commit;
pub mod messages;
pub mod people;
pub mod push_queue;
pub mod reactions;
pub mod read_markers;
pub mod receipts;
pub mod reports;
pub mod retention;
pub mod safeguarding;
pub mod sessions;
pub mod settings;
pub mod stats;
pub mod supervisor;
pub mod users;

use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::config::Config;
pub use embedded::{EmbeddedCluster, EmbeddedError};

/// The migrations in `migrations/`, compiled into the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

/// The name of the database inside the embedded cluster.
pub const EMBEDDED_DATABASE: &str = "hallway";

/// Why the database could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(transparent)]
    Embedded(#[from] EmbeddedError),
    #[error("DATABASE_URL is not a valid PostgreSQL URL: {0}")]
    BadUrl(sqlx::Error),
    #[error("could not connect to the database: {0}")]
    Connect(sqlx::Error),
    #[error("could not apply the migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// An open, migrated database, and the embedded cluster behind it when there is one.
pub struct Database {
    pub pool: PgPool,
    cluster: Option<Arc<EmbeddedCluster>>,
}

impl Database {
    /// Opens `DATABASE_URL` or, without it, the embedded cluster of the data dir; then applies migrations.
    pub async fn open(config: &Config) -> Result<Database, OpenError> {
        let (options, cluster) = match &config.database_url {
            Some(url) => (url.parse::<PgConnectOptions>().map_err(OpenError::BadUrl)?, None),
            None => {
                let cluster = EmbeddedCluster::start(&config.data_dir, EMBEDDED_DATABASE).await?;
                (cluster.connect_options(EMBEDDED_DATABASE), Some(Arc::new(cluster)))
            }
        };
        let pool = match pool_options().connect_with(options).await {
            Ok(pool) => pool,
            Err(err) => {
                if let Some(cluster) = &cluster {
                    let _ = cluster.stop().await;
                }
                return Err(OpenError::Connect(err));
            }
        };
        let database = Database { pool, cluster };
        if let Err(err) = MIGRATOR.run(&database.pool).await {
            database.close().await;
            return Err(err.into());
        }
        Ok(database)
    }

    /// The embedded cluster, when the server runs one.
    pub fn cluster(&self) -> Option<&EmbeddedCluster> {
        self.cluster.as_deref()
    }

    /// Watches the database until `background` stops, restarting the embedded cluster if it dies
    /// (`supervisor`), and reporting to `health`.
    pub fn supervise(&self, health: supervisor::DatabaseHealth, background: &crate::lifecycle::Background) {
        supervisor::spawn(self.pool.clone(), self.cluster.clone(), health, background);
    }

    /// Closes the pool and stops the embedded cluster, if any.
    pub async fn close(self) {
        self.pool.close().await;
        if let Some(cluster) = self.cluster
            && let Err(err) = cluster.stop().await
        {
            tracing::error!(error = %err, "could not stop the embedded PostgreSQL cluster");
        }
    }
}

/// Pool settings shared by the server and the test harness.
pub fn pool_options() -> PgPoolOptions {
    PgPoolOptions::new().max_connections(32).min_connections(1).acquire_timeout(Duration::from_secs(10))
}

/// Whether `err` says the database cannot be reached rather than that a statement failed: the connection was
/// refused or lost (its backend ended with a killed postmaster, say), the server is shutting down or starting,
/// or the pool gave up. A retry may succeed once the database is back, so clients are told to retry.
pub fn is_unreachable(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::WorkerCrashed => true,
        // SQLSTATE class 08 is "connection exception", 57P "operator intervention" (admin or crash shutdown,
        // cannot connect now).
        sqlx::Error::Database(db) => db.code().is_some_and(|code| code.starts_with("08") || code.starts_with("57P")),
        _ => false,
    }
}

/// The name of the unique constraint (or unique index) that `err` violated, if that is what it is: the one
/// place where unique violations are recognised, so callers can turn them into 409 by name.
pub fn violated_unique_constraint(err: &sqlx::Error) -> Option<&str> {
    match err {
        sqlx::Error::Database(db) if db.is_unique_violation() => db.constraint(),
        _ => None,
    }
}

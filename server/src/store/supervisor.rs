//! Watches the database and brings the embedded cluster back when it dies.
//!
//! Without it, a killed postmaster left `/readyz` at 503 for good while `/healthz` stayed 200 (so no process
//! supervisor restarted anything), every REST call waited out the pool's 10 s acquire timeout before its 503,
//! and socket sends got no answer. Now: the database is probed every second; once it stops answering,
//! [`DatabaseHealth`] says so, the HTTP edge and the sockets refuse at once with `unavailable` and a time to
//! retry (requests and frames already waiting on the pool are answered so at that moment, not after the
//! pool's timeout), and a cluster this process owns is restarted with backoff. `/healthz` fails only when restarting
//! keeps failing, so a process supervisor restarts the server then.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use sqlx::{Connection, PgConnection, PgPool};
use tokio::sync::watch;

use super::embedded::EmbeddedCluster;
use crate::lifecycle::Background;

/// How often the database is probed.
const PROBE_INTERVAL: Duration = Duration::from_secs(1);
/// A probe slower than this counts as failed.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
/// Failed probes in a row before the database counts as down (one may be a blip of a loaded machine; a refused
/// connection is not, and counts as down at once).
const FAILED_PROBES_DOWN: u32 = 2;
/// Failed restarts in a row after which `/healthz` says this process cannot recover by itself.
const FAILED_RESTARTS_UNHEALTHY: u32 = 3;
/// The longest pause between two restart attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// What a refused client is told to wait before trying again.
pub const RETRY_AFTER: Duration = Duration::from_secs(2);

/// Whether the database answers, as the supervisor last saw it; cheap to clone and to read on every request.
#[derive(Debug, Clone, Default)]
pub struct DatabaseHealth(Arc<HealthState>);

#[derive(Debug, Default)]
struct HealthState {
    /// Set after `FAILED_PROBES_DOWN` failed probes in a row, cleared by the first probe that succeeds; a
    /// channel, so that what waits on the database can stop waiting the moment it goes down.
    down: watch::Sender<bool>,
    /// Restarts of the embedded cluster that failed since the database last answered.
    failed_restarts: AtomicU32,
}

impl DatabaseHealth {
    /// The database does not answer: refuse what needs it, at once.
    pub fn is_down(&self) -> bool {
        *self.0.down.borrow()
    }

    /// Runs `work` unless the database is down, or goes down first: then `None` at once (`work` is not even
    /// started when it is down already). What `work` did so far may or may not have committed, which is why only
    /// idempotent requests are worth retrying (a send with its `client_msg_id` is).
    pub async fn unless_down<T>(&self, work: impl Future<Output = T>) -> Option<T> {
        let mut down = self.0.down.subscribe();
        tokio::select! {
            biased;
            _ = down.wait_for(|down| *down) => None,
            done = work => Some(done),
        }
    }

    /// Restarting the embedded cluster keeps failing: only a restart of the whole server may help.
    pub fn cannot_recover(&self) -> bool {
        self.0.failed_restarts.load(Ordering::Relaxed) >= FAILED_RESTARTS_UNHEALTHY
    }
}

/// Probes the database every second until `background` stops; restarts `cluster` (when this process owns it)
/// with exponential backoff while the database does not answer. It stops before the server stops its cluster,
/// so that stop is never taken for a crash.
pub fn spawn(pool: PgPool, cluster: Option<Arc<EmbeddedCluster>>, health: DatabaseHealth, background: &Background) {
    let restartable = cluster.filter(|cluster| cluster.is_owner());
    let stop = background.stopping().clone();
    // Pauses between probes and restarts end early when the server stops; a probe or restart under way finishes.
    let pause = move |wait: Duration| {
        let stop = stop.clone();
        async move { stop.run_until_cancelled(tokio::time::sleep(wait)).await.is_some() }
    };
    background.spawn(async move {
        let mut failed_probes = 0;
        let mut backoff = PROBE_INTERVAL;
        loop {
            let probe = probe(&pool).await;
            if probe == Probe::Answered {
                if health.0.down.send_replace(false) {
                    tracing::info!("the database answers again");
                }
                health.0.failed_restarts.store(0, Ordering::Relaxed);
                failed_probes = 0;
                backoff = PROBE_INTERVAL;
                if !pause(PROBE_INTERVAL).await {
                    return;
                }
                continue;
            }
            failed_probes = if probe == Probe::Unreachable { FAILED_PROBES_DOWN } else { failed_probes + 1 };
            if failed_probes < FAILED_PROBES_DOWN {
                if !pause(PROBE_INTERVAL).await {
                    return;
                }
                continue;
            }
            if !health.0.down.send_replace(true) {
                tracing::error!("the database does not answer: refusing what needs it with 503 until it does");
            }
            let Some(cluster) = &restartable else {
                if !pause(PROBE_INTERVAL).await {
                    return;
                }
                continue;
            };
            // After a restart the next probe comes at once, so requests are let through as soon as it answers.
            match cluster.recover().await {
                Ok(()) => tracing::warn!("restarted the embedded PostgreSQL cluster"),
                Err(err) => {
                    let failures = health.0.failed_restarts.fetch_add(1, Ordering::Relaxed) + 1;
                    tracing::error!(error = %err, failures, "could not restart the embedded PostgreSQL cluster");
                    if !pause(backoff).await {
                        return;
                    }
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    });
}

/// What one probe of the database found.
#[derive(Debug, PartialEq, Eq)]
enum Probe {
    Answered,
    /// Refused or lost the connection (a killed cluster does): conclusive at once.
    Unreachable,
    /// Another error, or no answer in time: perhaps a blip of a loaded machine.
    Failed,
}

/// Asks for `SELECT 1` within `PROBE_TIMEOUT`: on an idle connection of the pool if there is one, else, or when
/// that one failed (it may only be stale), on a fresh connection. Never through `acquire`, which retries a
/// refused connection until its timeout: a killed cluster would pass for a slow one for seconds, while requests
/// queue on the pool behind it.
async fn probe(pool: &PgPool) -> Probe {
    if let Some(mut conn) = pool.try_acquire() {
        let probe = sqlx::query("SELECT 1").execute(&mut *conn);
        if matches!(tokio::time::timeout(PROBE_TIMEOUT, probe).await, Ok(Ok(_))) {
            return Probe::Answered;
        }
        // Broken or hung: not to be handed to a request.
        conn.close_on_drop();
    }
    let options = pool.connect_options();
    let probe = async {
        let mut conn = PgConnection::connect_with(&options).await?;
        sqlx::query("SELECT 1").execute(&mut conn).await?;
        conn.close().await
    };
    match tokio::time::timeout(PROBE_TIMEOUT, probe).await {
        Ok(Ok(())) => Probe::Answered,
        Ok(Err(err)) if super::is_unreachable(&err) => Probe::Unreachable,
        Ok(Err(_)) | Err(_) => Probe::Failed,
    }
}

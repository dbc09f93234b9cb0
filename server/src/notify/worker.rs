//! The workers that drain `push_queue`: one loop per provider, each sending at most `concurrency()` pushes
//! at once. A row is leased while it is sent; the outcome decides what happens to it (deleted when delivered,
//! its device deleted when gone, retried later with exponential backoff or the service's `Retry-After`, or kept
//! as `dead` after the last try). The loops stop when the server's background tasks stop (`lifecycle`): they
//! claim nothing more, and the pushes being sent are settled before the server closes its pool; rows still
//! queued wait for the next start, and leased rows a killed server leaves behind are sent by the next one once
//! their lease ran out.

use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use time::OffsetDateTime;
use tokio::sync::{Notify, Semaphore, mpsc};
use tokio_util::sync::CancellationToken;

use super::provider::{Outcome, PushProvider};
use crate::config::PushSettings;
use crate::lifecycle::Background;
use crate::store::{self, push_queue::QueuedPush};

/// How long a claimed row is reserved for the worker sending it: longer than any request may take.
fn lease(settings: &PushSettings) -> Duration {
    settings.timeout * 2 + Duration::from_secs(5)
}

/// Starts a provider's worker under `background`; it runs until `background` stops.
pub fn spawn(
    db: PgPool,
    provider: Arc<dyn PushProvider>,
    settings: PushSettings,
    wake: Arc<Notify>,
    background: &Background,
) {
    background.spawn_local(run(db, provider, settings, wake, background.clone()));
}

async fn run(
    db: PgPool,
    provider: Arc<dyn PushProvider>,
    settings: PushSettings,
    wake: Arc<Notify>,
    background: Background,
) {
    let stop = background.stopping().clone();
    let settings = Arc::new(settings);
    let delivered = spawn_deleter(db.clone(), &background);
    let permits = Arc::new(Semaphore::new(provider.concurrency()));
    let platforms = provider.platforms();
    // Rows are claimed a batch of `concurrency` at a time, and each waits for a free slot: claiming for each slot
    // as it freed took one write transaction per push, which bounded a worker to about 600 pushes/s. A claimed
    // row waits at most for the sends ahead of it, well within its lease (twice the send timeout, and more).
    let batch = provider.concurrency() as i64;
    while !stop.is_cancelled() {
        let claimed = match store::push_queue::claim(&db, platforms, batch, lease(&settings)).await {
            Ok(rows) => rows,
            Err(err) => {
                tracing::error!(provider = provider.name(), error = %err, "could not claim pushes");
                sleep_or_stop(&stop, &wake, settings.poll_interval).await;
                continue;
            }
        };
        let drained = (claimed.len() as i64) < batch;
        for push in claimed {
            let permit = tokio::select! {
                permit = permits.clone().acquire_owned() => match permit { Ok(p) => p, Err(_) => return },
                // Unsent claimed rows come back when their lease runs out.
                _ = stop.cancelled() => return,
            };
            let (db, provider, settings, wake) = (db.clone(), provider.clone(), settings.clone(), wake.clone());
            let delivered = delivered.clone();
            // Tracked: a push being sent when the server stops is settled before the pool closes.
            background.spawn_local(async move {
                let outcome = provider.send(&push).await;
                if let Err(err) = settle(&db, &settings, &delivered, &push, outcome).await {
                    tracing::error!(push = push.id, error = %err, "could not record a push's outcome");
                }
                drop(permit);
                // A retry may now be due sooner than the worker planned to look.
                wake.notify_one();
            });
        }
        if drained {
            let wait = match store::push_queue::next_due(&db, platforms).await {
                Ok(Some(at)) => until(at).min(settings.poll_interval),
                _ => settings.poll_interval,
            };
            sleep_or_stop(&stop, &wake, wait).await;
        }
    }
}

async fn sleep_or_stop(stop: &CancellationToken, wake: &Notify, wait: Duration) {
    tokio::select! {
        _ = stop.cancelled() => {}
        _ = wake.notified() => {}
        _ = tokio::time::sleep(wait) => {}
    }
}

fn until(at: OffsetDateTime) -> Duration {
    let secs = (at - OffsetDateTime::now_utc()).as_seconds_f64();
    if secs > 0.0 { Duration::from_secs_f64(secs) } else { Duration::ZERO }
}

/// Most delivered rows deleted in one statement.
const DELETE_BATCH: usize = 500;

/// Deletes delivered rows in batches: whatever was delivered while the last statement ran goes in the next,
/// so the queue costs one statement per batch, not a transaction per push (which held the pool's connections
/// and bounded the pushes sent per second). Tracked by `background`, it ends once every sender is gone (the
/// worker stopped and its pushes were settled), after deleting what it was sent.
fn spawn_deleter(db: PgPool, background: &Background) -> mpsc::UnboundedSender<i64> {
    let (sender, mut ids) = mpsc::unbounded_channel::<i64>();
    background.spawn_local(async move {
        let mut batch = Vec::with_capacity(DELETE_BATCH);
        while ids.recv_many(&mut batch, DELETE_BATCH).await > 0 {
            if let Err(err) = store::push_queue::delete(&db, &batch).await {
                // Their leases run out and they are sent again: a repeated push, never a lost one.
                tracing::error!(pushes = batch.len(), error = %err, "could not delete delivered pushes");
            }
            batch.clear();
        }
    });
    sender
}

/// Records what a try did to a queued push (a delivered one through the batch `deleter`).
async fn settle(
    db: &PgPool,
    settings: &PushSettings,
    deleter: &mpsc::UnboundedSender<i64>,
    push: &QueuedPush,
    outcome: Outcome,
) -> Result<(), sqlx::Error> {
    match outcome {
        Outcome::Delivered => {
            // Only closed once every sender is gone, and this task holds one.
            let _ = deleter.send(push.id);
            Ok(())
        }
        Outcome::Gone => {
            tracing::info!(device = %push.device_id, "the push service says the device is gone: removing it");
            store::devices::delete(db, push.device_id).await.map(|_| ())
        }
        Outcome::Failed(reason) => {
            tracing::warn!(push = push.id, %reason, "a push failed for good");
            store::push_queue::dead(db, push.id, &reason).await
        }
        Outcome::Retry { after, reason } => {
            let tries = push.attempts.max(0) as u32 + 1;
            if tries >= settings.max_attempts {
                tracing::warn!(push = push.id, tries, %reason, "a push failed its last try");
                return store::push_queue::dead(db, push.id, &reason).await;
            }
            let wait = backoff(settings, tries).max(after.unwrap_or_default());
            tracing::info!(push = push.id, tries, wait_ms = wait.as_millis() as u64, %reason, "a push will be retried");
            store::push_queue::retry_at(db, push.id, OffsetDateTime::now_utc() + wait, &reason).await
        }
    }
}

/// The wait after `tries` failed tries: the base, doubled for each try after the first, capped.
fn backoff(settings: &PushSettings, tries: u32) -> Duration {
    let factor = 2u32.saturating_pow(tries.saturating_sub(1).min(20));
    settings.retry_base.saturating_mul(factor).min(settings.max_backoff)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let settings = PushSettings {
            retry_base: Duration::from_secs(5),
            max_backoff: Duration::from_secs(60),
            ..PushSettings::default()
        };
        let waits: Vec<u64> = (1..=6).map(|t| backoff(&settings, t).as_secs()).collect();
        assert_eq!(waits, [5, 10, 20, 40, 60, 60]);
    }
}

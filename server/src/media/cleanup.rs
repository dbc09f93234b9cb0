//! Uploads that no message carries are removed after a while (a parent who picked a photo and then changed
//! their mind should not leave it on the server), by a task the server starts.

use std::time::Duration;

use sqlx::PgPool;
use time::OffsetDateTime;

use super::storage::BlobStore;
use super::{Media, MediaError, library};
use crate::lifecycle::Background;
use crate::store;

/// Attachments examined per query.
const BATCH: i64 = 500;

/// Deletes every attachment older than `max_age` that no message carries, with its blobs unless another
/// row uses them. Returns how many were deleted.
pub async fn remove_unattached(db: &PgPool, blobs: &dyn BlobStore, max_age: Duration) -> Result<usize, MediaError> {
    let before = OffsetDateTime::now_utc() - max_age;
    let mut removed = 0;
    loop {
        let ids = store::attachments::unattached_before(db, before, BATCH)
            .await
            .map_err(|err| MediaError::Internal(anyhow::Error::new(err).context("listing unattached uploads")))?;
        let mut removed_now = 0;
        for id in &ids {
            if library::delete_unattached(db, blobs, *id).await? {
                removed_now += 1;
            }
        }
        removed += removed_now;
        // A batch in which nothing could be removed (all being sent right now) would come back forever.
        if (ids.len() as i64) < BATCH || removed_now == 0 {
            return Ok(removed);
        }
    }
}

/// Starts the periodic cleanup: every `interval`, unattached uploads older than `max_age` go, and so do
/// staged files that a crash left behind. Failures are logged and retried at the next round. It stops with
/// `background` (a round already running finishes).
pub fn spawn(db: PgPool, media: Media, max_age: Duration, interval: Duration, background: &Background) {
    let stop = background.stopping().clone();
    background.spawn_local(async move {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // The first tick is immediate; the first round runs one interval after the start.
        ticks.tick().await;
        while stop.run_until_cancelled(ticks.tick()).await.is_some() {
            match remove_unattached(&db, media.blobs.as_ref(), max_age).await {
                Ok(0) => {}
                Ok(removed) => tracing::info!(removed, "removed uploads that no message carries"),
                Err(err) => tracing::error!(error = ?err, "removing unattached uploads failed"),
            }
            // Staged files belong to uploads in progress for seconds; a day-old one is a crash's leftover.
            let staged_age = max_age.max(Duration::from_secs(3600));
            if let Err(err) = media.blobs.sweep_staging(staged_age).await {
                tracing::error!(error = %err, "sweeping the staging directory failed");
            }
        }
    });
}

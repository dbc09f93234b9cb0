//! Message retention: when a school sets `retention_days`, a daily task clears the contents of messages older
//! than that (rows and `seq` stay, as the contract says), and writes each run to the audit log.

use std::time::Duration;

use hallway_protocol::safety::RetentionSetting;
use serde_json::json;
use sqlx::PgPool;
use time::OffsetDateTime;

use super::RETENTION_SETTING;
use crate::lifecycle::Background;
use crate::store::{self, audit::AuditEntry, retention::Cleared};

/// How often the task runs.
pub const INTERVAL: Duration = Duration::from_secs(24 * 60 * 60);
/// How long after the server starts the first run waits, so a start is not slowed by a large clearing.
pub const FIRST_RUN_DELAY: Duration = Duration::from_secs(60);
/// The longest retention a school may set (100 years: effectively forever, and far from time's limits).
pub const MAX_RETENTION_DAYS: u32 = 36_500;

/// Runs one retention pass now, if the school has set a retention period; `None` when retention is off.
/// The run and its counts go to the audit log (as the server's own action). Callable from tests.
pub async fn run_once(db: &PgPool) -> Result<Option<Cleared>, sqlx::Error> {
    let setting: RetentionSetting = store::settings::get(db, RETENTION_SETTING).await?.unwrap_or_default();
    let Some(days) = setting.retention_days else { return Ok(None) };
    let cutoff = OffsetDateTime::now_utc() - time::Duration::days(i64::from(days.min(MAX_RETENTION_DAYS)));
    let cleared = store::retention::clear_before(db, cutoff).await?;
    let details = json!({
        "retention_days": days,
        "cutoff": cutoff.unix_timestamp(),
        "messages_cleared": cleared.messages,
        "edits_removed": cleared.edits,
        "reactions_removed": cleared.reactions,
        "attachments_removed": cleared.attachments,
        "storage_keys_released": cleared.unreferenced_storage_keys.len(),
    });
    let entry = AuditEntry { actor_id: None, action: "retention.run", target: None, address: None, details };
    store::audit::record(db, entry).await?;
    tracing::info!(
        days,
        messages = cleared.messages,
        attachments = cleared.attachments,
        "retention cleared old message contents"
    );
    Ok(Some(cleared))
}

/// Starts the daily task on the current runtime: a first run shortly after start, then one a day. A failed
/// run is logged and retried at the next tick; the task stops with `background` (a run already going finishes).
pub fn spawn_daily(db: PgPool, background: &Background) {
    let stop = background.stopping().clone();
    background.spawn_local(async move {
        let mut ticks = actix_rt::time::interval_at(actix_rt::time::Instant::now() + FIRST_RUN_DELAY, INTERVAL);
        while stop.run_until_cancelled(ticks.tick()).await.is_some() {
            if let Err(err) = run_once(&db).await {
                tracing::error!(error = %err, "the retention run failed; it is retried tomorrow");
            }
        }
    });
}

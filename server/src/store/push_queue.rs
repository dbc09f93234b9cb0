//! The durable queue of pushes: rows are written when a message commits and deleted once their push service
//! accepted them; a row that failed its last try stays, marked `dead`.

use std::time::Duration;

use sqlx::{FromRow, PgExecutor};
use time::OffsetDateTime;
use uuid::Uuid;

/// A push to enqueue.
pub struct NewPush {
    pub device_id: Uuid,
    pub payload: serde_json::Value,
    pub topic: String,
    pub urgency: &'static str,
}

/// Enqueues pushes in one statement.
pub async fn enqueue(db: impl PgExecutor<'_>, pushes: &[NewPush]) -> Result<u64, sqlx::Error> {
    if pushes.is_empty() {
        return Ok(0);
    }
    let devices: Vec<Uuid> = pushes.iter().map(|p| p.device_id).collect();
    let payloads: Vec<serde_json::Value> = pushes.iter().map(|p| p.payload.clone()).collect();
    let topics: Vec<&str> = pushes.iter().map(|p| p.topic.as_str()).collect();
    let urgencies: Vec<&str> = pushes.iter().map(|p| p.urgency).collect();
    sqlx::query(
        "INSERT INTO push_queue (device_id, payload, topic, urgency)
         SELECT * FROM unnest($1::uuid[], $2::jsonb[], $3::text[], $4::text[])",
    )
    .bind(devices)
    .bind(payloads)
    .bind(topics)
    .bind(urgencies)
    .execute(db)
    .await
    .map(|r| r.rows_affected())
}

/// A claimed push, with what sending it needs to know about its device.
#[derive(Debug, Clone, FromRow)]
pub struct QueuedPush {
    pub id: i64,
    pub device_id: Uuid,
    pub payload: serde_json::Value,
    pub topic: String,
    pub urgency: String,
    /// Tries made before this one.
    pub attempts: i32,
    pub platform: String,
    pub address: String,
    pub p256dh: Option<String>,
    pub auth: Option<String>,
}

/// Takes up to `limit` due pushes for these platforms, oldest first, leasing them for `lease`: no other
/// worker (of this server or another) takes them meanwhile, and a worker that dies lets the lease run out.
pub async fn claim(
    db: impl PgExecutor<'_>,
    platforms: &[&str],
    limit: i64,
    lease: Duration,
) -> Result<Vec<QueuedPush>, sqlx::Error> {
    sqlx::query_as(
        "WITH due AS (
             SELECT q.id FROM push_queue q JOIN devices d ON d.id = q.device_id
             WHERE q.state = 'pending' AND q.next_attempt_at <= now()
               AND (q.locked_until IS NULL OR q.locked_until <= now()) AND d.platform = ANY($1)
             ORDER BY q.next_attempt_at, q.id
             LIMIT $2
             FOR UPDATE OF q SKIP LOCKED
         )
         UPDATE push_queue q SET locked_until = now() + $3 * interval '1 millisecond'
         FROM due, devices d
         WHERE q.id = due.id AND d.id = q.device_id
         RETURNING q.id, q.device_id, q.payload, q.topic, q.urgency, q.attempts, d.platform, d.address, d.p256dh,
                   d.auth",
    )
    .bind(platforms)
    .bind(limit)
    .bind(lease.as_millis() as f64)
    .fetch_all(db)
    .await
}

/// A push its service accepted: gone from the queue.
pub async fn delete(db: impl PgExecutor<'_>, ids: &[i64]) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM push_queue WHERE id = ANY($1)").bind(ids).execute(db).await.map(|_| ())
}

/// A failed try to be repeated at `at`.
pub async fn retry_at(db: impl PgExecutor<'_>, id: i64, at: OffsetDateTime, error: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE push_queue SET attempts = attempts + 1, next_attempt_at = $2, locked_until = NULL, last_error = $3
         WHERE id = $1",
    )
    .bind(id)
    .bind(at)
    .bind(error)
    .execute(db)
    .await
    .map(|_| ())
}

/// A push that will not be tried again: kept as the dead-letter record.
pub async fn dead(db: impl PgExecutor<'_>, id: i64, error: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE push_queue SET attempts = attempts + 1, state = 'dead', locked_until = NULL, last_error = $2
         WHERE id = $1",
    )
    .bind(id)
    .bind(error)
    .execute(db)
    .await
    .map(|_| ())
}

/// How many pushes wait to be sent, and how many failed for good (the dead letters kept for inspection).
pub async fn depth(db: impl PgExecutor<'_>) -> Result<(i64, i64), sqlx::Error> {
    sqlx::query_as(
        "SELECT count(*) FILTER (WHERE state = 'pending'), count(*) FILTER (WHERE state = 'dead') FROM push_queue",
    )
    .fetch_one(db)
    .await
}

/// When the next pending push falls due, if there is one (the workers sleep until then).
pub async fn next_due(db: impl PgExecutor<'_>, platforms: &[&str]) -> Result<Option<OffsetDateTime>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT min(greatest(q.next_attempt_at, coalesce(q.locked_until, q.next_attempt_at)))
         FROM push_queue q JOIN devices d ON d.id = q.device_id
         WHERE q.state = 'pending' AND d.platform = ANY($1)",
    )
    .bind(platforms)
    .fetch_one(db)
    .await
}

/// A message whose pushes are still to be queued (`push_pending`).
#[derive(Debug, Clone, Copy, FromRow)]
pub struct PendingMessage {
    pub conversation_id: Uuid,
    pub seq: i64,
    pub sender_id: Uuid,
}

/// Queues a message's pushes and takes its `push_pending` mark, in one statement (so at once or not at all):
/// nothing is queued when the mark is gone (another server, or the recovery sweep, queued them already).
/// Answers whether the mark was taken here.
pub async fn enqueue_for_message(
    db: impl PgExecutor<'_>,
    conversation_id: Uuid,
    seq: i64,
    pushes: &[NewPush],
) -> Result<bool, sqlx::Error> {
    let devices: Vec<Uuid> = pushes.iter().map(|p| p.device_id).collect();
    let payloads: Vec<serde_json::Value> = pushes.iter().map(|p| p.payload.clone()).collect();
    let topics: Vec<&str> = pushes.iter().map(|p| p.topic.as_str()).collect();
    let urgencies: Vec<&str> = pushes.iter().map(|p| p.urgency).collect();
    sqlx::query_scalar(
        "WITH taken AS (
             DELETE FROM push_pending WHERE conversation_id = $5 AND seq = $6 RETURNING 1
         ), queued AS (
             INSERT INTO push_queue (device_id, payload, topic, urgency)
             SELECT * FROM unnest($1::uuid[], $2::jsonb[], $3::text[], $4::text[])
             WHERE EXISTS (SELECT 1 FROM taken)
         )
         SELECT EXISTS (SELECT 1 FROM taken)",
    )
    .bind(devices)
    .bind(payloads)
    .bind(topics)
    .bind(urgencies)
    .bind(conversation_id)
    .bind(seq)
    .fetch_one(db)
    .await
}

/// Up to `limit` messages marked for pushing longer than `older_than` ago (their look-up never ran: a server
/// died first), oldest first.
pub async fn stale_pending(
    db: impl PgExecutor<'_>,
    older_than: Duration,
    limit: i64,
) -> Result<Vec<PendingMessage>, sqlx::Error> {
    sqlx::query_as(
        "SELECT conversation_id, seq, sender_id FROM push_pending
         WHERE created_at < now() - make_interval(secs => $1) ORDER BY created_at LIMIT $2",
    )
    .bind(older_than.as_secs_f64())
    .bind(limit)
    .fetch_all(db)
    .await
}

/// Forgets messages marked for pushing longer than `older_than` ago: news too old to push.
pub async fn forget_pending(db: impl PgExecutor<'_>, older_than: Duration) -> Result<u64, sqlx::Error> {
    sqlx::query("DELETE FROM push_pending WHERE created_at < now() - make_interval(secs => $1)")
        .bind(older_than.as_secs_f64())
        .execute(db)
        .await
        .map(|r| r.rows_affected())
}

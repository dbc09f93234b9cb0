//! Delivery records for receipts: each member's `last_delivered_seq`, the highest seq a session of theirs was
//! handed (or that they fetched). One task writes them, merging everything queued at that moment (any
//! conversations, any members) into one statement, so a 2,000-member announcement costs one `UPDATE` of
//! 2,000 rows, not 2,000 round trips, and a busy group's messages collapse into one row per member.
//!
//! Recording never waits: a record that finds the queue full is dropped (logged). Receipts are advisory and a
//! read marker at or past a message counts as delivered anyway, so losing one under overload costs little,
//! while waiting would slow the conversation actor that fans the message out.

use std::collections::HashMap;

use sqlx::PgPool;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::lifecycle::Background;

/// Records waiting for the writer before new ones are dropped.
const QUEUE: usize = 8192;
/// The most records one statement takes.
const MAX_BATCH: usize = 512;

/// One conversation's message handed to these members' sessions.
#[derive(Debug)]
struct Delivered {
    conversation_id: Uuid,
    seq: i64,
    user_ids: Vec<Uuid>,
}

/// The handle that records deliveries. Cheap to clone.
#[derive(Clone)]
pub struct DeliveryLog {
    queue: mpsc::Sender<Delivered>,
}

impl DeliveryLog {
    /// Starts the writer task on the current runtime, under `background`: it stores what is queued and ends
    /// once `background` stops.
    pub fn start(db: PgPool, background: &Background) -> DeliveryLog {
        let (queue, waiting) = mpsc::channel(QUEUE);
        background.spawn(write(db, waiting, background.stopping().clone()));
        DeliveryLog { queue }
    }

    /// Records that `user_ids` received (at least) `seq` of the conversation. Never waits.
    pub fn record(&self, conversation_id: Uuid, seq: i64, user_ids: Vec<Uuid>) {
        if user_ids.is_empty() {
            return;
        }
        if self.queue.try_send(Delivered { conversation_id, seq, user_ids }).is_err() {
            tracing::debug!(conversation = %conversation_id, seq, "delivery queue full: a delivery record was dropped");
        }
    }
}

/// The writer: takes what is queued, keeps the highest seq per member, and stores it in one statement. Once
/// `stop` fires the queue takes no more, and the writer ends when it has stored what was in it.
async fn write(db: PgPool, mut waiting: mpsc::Receiver<Delivered>, stop: CancellationToken) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    loop {
        let taken = crate::lifecycle::next_batch(&mut waiting, &mut batch, MAX_BATCH, &stop).await;
        if taken == 0 {
            break;
        }
        let mut highest: HashMap<(Uuid, Uuid), i64> = HashMap::new();
        for delivered in batch.drain(..) {
            for user_id in delivered.user_ids {
                let seq = highest.entry((delivered.conversation_id, user_id)).or_insert(delivered.seq);
                *seq = (*seq).max(delivered.seq);
            }
        }
        // Rows in key order, so that two writers (a future second server) lock them in the same order.
        let mut rows: Vec<((Uuid, Uuid), i64)> = highest.into_iter().collect();
        rows.sort_unstable();
        if let Err(err) = raise(&db, &rows).await {
            tracing::warn!(error = %err, rows = rows.len(), "could not store delivery records");
        }
    }
}

/// Raises each member's `last_delivered_seq` to the seq given (never lowers it).
async fn raise(db: &PgPool, rows: &[((Uuid, Uuid), i64)]) -> Result<(), sqlx::Error> {
    let conversations: Vec<Uuid> = rows.iter().map(|((c, _), _)| *c).collect();
    let users: Vec<Uuid> = rows.iter().map(|((_, u), _)| *u).collect();
    let seqs: Vec<i64> = rows.iter().map(|(_, s)| *s).collect();
    sqlx::query(
        "UPDATE conversation_members cm SET last_delivered_seq = d.seq
         FROM unnest($1::uuid[], $2::uuid[], $3::bigint[]) AS d(conversation_id, user_id, seq)
         WHERE cm.conversation_id = d.conversation_id AND cm.user_id = d.user_id AND cm.last_delivered_seq < d.seq",
    )
    .bind(&conversations)
    .bind(&users)
    .bind(&seqs)
    .execute(db)
    .await
    .map(|_| ())
}

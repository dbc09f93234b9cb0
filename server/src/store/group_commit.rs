//! Group commit for text messages: one task takes the text messages that conversation actors want stored and
//! writes those waiting together in one statement and one commit (`messages::insert_texts`). PostgreSQL's
//! per-statement and per-commit work, not the rows, was most of a message's cost (docs/benchmarks.md).
//!
//! Nothing waits to fill a batch: the task takes what is queued the moment it is free, so one message alone
//! goes out at once, and batches grow only while the database is busy. Each sender gets its own row back
//! only after the commit, so an acknowledgement still means the message is durable. One task, so two
//! batches never lock conversation rows against each other.
//!
//! When the server stops, the writer stops taking new messages (their senders get `PoolClosed`, answered as
//! `unavailable`), stores everything already queued, answers its senders, and only then ends: nothing a
//! conversation actor handed it is dropped (`lifecycle`).

use std::time::Instant;

use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::messages::{self, MessageRow, NewText};
use crate::lifecycle::Background;
use crate::metrics::Metrics;
use sqlx::PgPool;

/// The most messages one statement takes.
const MAX_BATCH: usize = 128;
/// Messages waiting for the writer before senders wait to queue.
const QUEUE: usize = 4096;

type Reply = oneshot::Sender<Result<Option<MessageRow>, sqlx::Error>>;

/// The handle conversation actors store text messages through. Cheap to clone.
#[derive(Clone)]
pub struct GroupCommit {
    queue: mpsc::Sender<(NewText, Reply)>,
}

impl GroupCommit {
    /// Starts the writer task on the current runtime, under `background`: it drains its queue and ends once
    /// `background` stops.
    pub fn start(db: PgPool, metrics: Metrics, background: &Background) -> GroupCommit {
        let (queue, waiting) = mpsc::channel(QUEUE);
        background.spawn(write(db, waiting, metrics, background.stopping().clone()));
        GroupCommit { queue }
    }

    /// Stores one text message, as `messages::insert_text` does (same answers, same errors), possibly in the
    /// same statement as others.
    pub async fn insert(&self, message: NewText) -> Result<Option<MessageRow>, sqlx::Error> {
        let (reply, answer) = oneshot::channel();
        self.queue.send((message, reply)).await.map_err(|_| sqlx::Error::PoolClosed)?;
        answer.await.map_err(|_| sqlx::Error::PoolClosed)?
    }
}

/// The writer: takes what is queued, up to `MAX_BATCH`, and stores it. Once `stop` fires the queue is closed to
/// new messages, and the writer ends when it has stored what was in it.
async fn write(db: PgPool, mut waiting: mpsc::Receiver<(NewText, Reply)>, metrics: Metrics, stop: CancellationToken) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    loop {
        let taken = crate::lifecycle::next_batch(&mut waiting, &mut batch, MAX_BATCH, &stop).await;
        if taken == 0 {
            break;
        }
        let (messages, replies): (Vec<NewText>, Vec<Reply>) = batch.drain(..).unzip();
        metrics.group_commit_batch.observe(messages.len() as f64);
        // One connection for the whole batch, taken once: the time spent waiting for it is the pool's
        // wait on the path every message takes.
        let waiting_since = Instant::now();
        let mut conn = match db.acquire().await {
            Ok(conn) => conn,
            Err(err) => {
                metrics.db_acquire_wait.observe(waiting_since.elapsed().as_secs_f64());
                tracing::warn!(error = %err, "no database connection for a batch of messages");
                for reply in replies {
                    let _ = reply.send(Err(sqlx::Error::PoolTimedOut));
                }
                continue;
            }
        };
        metrics.db_acquire_wait.observe(waiting_since.elapsed().as_secs_f64());
        let rows = if messages.len() == 1 {
            // Alone: the single statement, whose answers and errors are the reference.
            vec![None]
        } else {
            messages::insert_texts(&mut *conn, &messages).await.unwrap_or_else(|err| {
                // A repeated client_msg_id inside the batch, or a failure of the whole statement.
                tracing::debug!(error = %err, "a batch of messages failed; storing them one at a time");
                vec![None; messages.len()]
            })
        };
        for ((message, reply), row) in messages.iter().zip(replies).zip(rows) {
            // Not inserted by the batch (not a member, a repeated client_msg_id, or alone): the single path
            // stores it or tells which refusal it is.
            let answer = match row {
                Some(row) => Ok(Some(row)),
                None => messages::insert_text(&mut *conn, message).await,
            };
            let _ = reply.send(answer);
        }
    }
}

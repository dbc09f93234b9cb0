//! The server's background tasks, and the order in which the server stops.
//!
//! Every task that outlives a request (the group-commit writer, the delivery log, the notifier's look-ups, the
//! push workers and the pushes they send, the periodic clean-ups, the database supervisor) starts under the one
//! [`TaskTracker`] of [`Background`] and stops on its one [`CancellationToken`]. `Application::run` stops the
//! server in this order on SIGTERM (or SIGINT), so that what must be durable is written before anything it
//! needs goes away:
//!
//! 1. No new connections are accepted (the accept loop pauses). Every socket answers each frame it admitted
//!    (an `ack` or an `error`), then closes with 1001 Going Away, so its client reconnects, to another server
//!    if there is one ([`Background::going_away`]); the server waits for every socket to be gone
//!    ([`Background::open_socket`], at most [`SOCKETS_GRACE`]) before it stops its HTTP workers, because a
//!    user actor lives on the worker of its user's first socket: stopping a worker whose sockets are closed
//!    would take the acks still on their way to that user's other sockets with it. Then requests in flight
//!    finish (actix-web's graceful stop, at most 10 s).
//! 2. The token is cancelled: the group-commit writer and the delivery log store everything still queued and
//!    end, the notifier's look-ups in flight finish queuing their pushes, the push workers stop claiming and
//!    settle the pushes they are sending, the periodic tasks and the supervisor stop at their next pause
//!    (a round already running finishes).
//! 3. The tracker is waited for, for at most [`STOP_GRACE`].
//! 4. `main` closes the pool and stops the embedded cluster. The supervisor has stopped by then, so it cannot
//!    take the cluster's stop for a crash and start it again.

use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tokio_util::task::task_tracker::{TaskTrackerToken, TrackedFuture};

/// How long the sockets get to answer what they admitted and close.
pub const SOCKETS_GRACE: Duration = Duration::from_secs(10);

/// How long the background tasks get to finish once cancelled (a push in flight is bounded by the push timeout).
pub const STOP_GRACE: Duration = Duration::from_secs(15);

/// The tracker and the token of the server's background tasks; cheap to clone.
#[derive(Clone)]
pub struct Background {
    tracker: TaskTracker,
    stop: CancellationToken,
    /// Cancelled first, to close the sockets; a child of `stop`, so stopping everything closes them too.
    going_away: CancellationToken,
    /// The open sockets (each session holds a token), waited for before the HTTP workers stop. Apart from
    /// `tracker`: sockets are connections, not background tasks, and they must be gone before step 2.
    sockets: TaskTracker,
}

impl Default for Background {
    fn default() -> Background {
        let stop = CancellationToken::new();
        Background { tracker: TaskTracker::new(), going_away: stop.child_token(), stop, sockets: TaskTracker::new() }
    }
}

impl Background {
    /// A tracker with no task yet.
    pub fn new() -> Background {
        Background::default()
    }

    /// Runs a task on the current runtime, tracked; it must end soon after [`Background::stopping`] fires.
    pub fn spawn<F>(&self, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.tracker.spawn(task);
    }

    /// Like `spawn`, on the current thread's local set (actix arbiters), for tasks that are not `Send`.
    pub fn spawn_local<F>(&self, task: F)
    where
        F: Future<Output = ()> + 'static,
    {
        self.tracker.spawn_local(task);
    }

    /// Tracks a future the caller spawns itself (a look-up that must finish before the pool closes).
    pub fn track<F: Future>(&self, future: F) -> TrackedFuture<F> {
        self.tracker.track_future(future)
    }

    /// Fires when the background tasks must stop (step 2).
    pub fn stopping(&self) -> &CancellationToken {
        &self.stop
    }

    /// Fires when the sockets must answer what they admitted and close with 1001 (step 1).
    pub fn going_away(&self) -> &CancellationToken {
        &self.going_away
    }

    /// A token a socket's session holds while it is open.
    pub fn open_socket(&self) -> TaskTrackerToken {
        self.sockets.token()
    }

    /// Tells the sockets to close (step 1) and waits, up to `within`, until none is open. Answers whether they
    /// all closed in time.
    pub async fn close_sockets(&self, within: Duration) -> bool {
        self.going_away.cancel();
        self.sockets.close();
        tokio::time::timeout(within, self.sockets.wait()).await.is_ok()
    }

    /// Cancels the token and waits, up to `within`, for every tracked task to end. Answers whether they all did.
    pub async fn stop(&self, within: Duration) -> bool {
        self.stop.cancel();
        self.tracker.close();
        tokio::time::timeout(within, self.tracker.wait()).await.is_ok()
    }
}

/// Takes up to `max` queued items into `batch` for a writer that must store everything it accepted: once
/// `stop` fires the queue is closed to new items, and what is already in it still comes out. 0 means the
/// queue is closed and empty, so the writer ends. (`recv_many` is cancel-safe: nothing is lost when the stop
/// wins the race.)
pub async fn next_batch<T>(
    waiting: &mut mpsc::Receiver<T>,
    batch: &mut Vec<T>,
    max: usize,
    stop: &CancellationToken,
) -> usize {
    if !waiting.is_closed() {
        tokio::select! {
            taken = waiting.recv_many(batch, max) => return taken,
            () = stop.cancelled() => waiting.close(),
        }
    }
    waiting.recv_many(batch, max).await
}

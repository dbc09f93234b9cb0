//! The server's metrics, in Prometheus text format (docs/metrics.md lists each one). One registry per
//! application, not a process-wide one, so two servers in one process (the tests) count apart. Counting is a
//! few atomic operations and happens whether or not anything scrapes; the text is only served on the
//! separate `--metrics-bind` listener.

use prometheus::{
    Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry, TextEncoder,
};
use sqlx::PgPool;

/// Bucket bounds of the latency histograms, in seconds: 0.5 ms to 5 s.
const LATENCY_BUCKETS: &[f64] = &[0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];
/// Bucket bounds of the group-commit batch sizes (messages per statement; at most 128).
const BATCH_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0];

/// Handles to every metric; cheap to clone (each handle is an `Arc`).
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    /// WebSocket connections open now.
    pub sockets_open: IntGauge,
    /// Text frames received from clients (each message once, after any continuation frames are joined).
    pub frames_in: IntCounter,
    /// Frames written to sockets (acks, deliveries, presence, errors...).
    pub frames_out: IntCounter,
    /// From a `send` frame's arrival to the conversation actor's answer (the ack handed on to the socket).
    pub send_to_ack: Histogram,
    /// Messages stored per group-commit statement.
    pub group_commit_batch: Histogram,
    /// How long the group-commit writer waited for a database connection.
    pub db_acquire_wait: Histogram,
    db_pool_size: IntGauge,
    db_pool_idle: IntGauge,
    db_pool_max: IntGauge,
    /// Conversation actors running now.
    pub conversation_actors: IntGauge,
    /// User actors running now.
    pub user_actors: IntGauge,
    /// Socket frames refused with `rate_limited`.
    pub rate_limited_socket: IntCounter,
    /// HTTP answers 429 (`rate_limited`).
    pub rate_limited_http: IntCounter,
    /// HTTP answers with a 5xx status.
    pub http_5xx: IntCounter,
    push_pending: IntGauge,
    push_dead: IntGauge,
}

impl Metrics {
    /// Creates and registers every metric.
    pub fn new() -> Result<Metrics, prometheus::Error> {
        let registry = Registry::new_custom(Some("hallway".to_owned()), None)?;
        let counter = |name: &str, help: &str| -> Result<IntCounter, prometheus::Error> {
            let metric = IntCounter::new(name, help)?;
            registry.register(Box::new(metric.clone()))?;
            Ok(metric)
        };
        let gauge = |name: &str, help: &str| -> Result<IntGauge, prometheus::Error> {
            let metric = IntGauge::new(name, help)?;
            registry.register(Box::new(metric.clone()))?;
            Ok(metric)
        };
        let histogram = |name: &str, help: &str, buckets: &[f64]| -> Result<Histogram, prometheus::Error> {
            let metric = Histogram::with_opts(HistogramOpts::new(name, help).buckets(buckets.to_vec()))?;
            registry.register(Box::new(metric.clone()))?;
            Ok(metric)
        };
        let actors = IntGaugeVec::new(Opts::new("actors_alive", "Actors running now, by kind."), &["kind"])?;
        registry.register(Box::new(actors.clone()))?;
        let rate_limited = IntCounterVec::new(
            Opts::new("rate_limited_total", "Requests and socket frames refused with rate_limited, by where."),
            &["via"],
        )?;
        registry.register(Box::new(rate_limited.clone()))?;
        let push_queue = IntGaugeVec::new(
            Opts::new("push_queue_pushes", "Pushes in the queue: waiting to be sent, or failed for good (dead)."),
            &["state"],
        )?;
        registry.register(Box::new(push_queue.clone()))?;
        Ok(Metrics {
            sockets_open: gauge("websocket_connections", "WebSocket connections open now.")?,
            frames_in: counter("websocket_frames_received_total", "Text frames received from clients.")?,
            frames_out: counter("websocket_frames_sent_total", "Frames written to WebSocket connections.")?,
            send_to_ack: histogram(
                "send_to_ack_seconds",
                "From a send frame's arrival to its acknowledgement (message durable).",
                LATENCY_BUCKETS,
            )?,
            group_commit_batch: histogram(
                "group_commit_batch_messages",
                "Text messages stored per group-commit statement.",
                BATCH_BUCKETS,
            )?,
            db_acquire_wait: histogram(
                "db_pool_acquire_wait_seconds",
                "How long the message writer waited for a database connection.",
                LATENCY_BUCKETS,
            )?,
            db_pool_size: gauge("db_pool_connections", "Database connections open (idle or in use).")?,
            db_pool_idle: gauge("db_pool_idle_connections", "Database connections idle in the pool.")?,
            db_pool_max: gauge("db_pool_max_connections", "The most connections the pool opens.")?,
            conversation_actors: actors.with_label_values(&["conversation"]),
            user_actors: actors.with_label_values(&["user"]),
            rate_limited_socket: rate_limited.with_label_values(&["socket"]),
            rate_limited_http: rate_limited.with_label_values(&["http"]),
            http_5xx: counter("http_server_errors_total", "HTTP answers with a 5xx status.")?,
            push_pending: push_queue.with_label_values(&["pending"]),
            push_dead: push_queue.with_label_values(&["dead"]),
            registry,
        })
    }

    /// Sets the push queue's depth, read from the database at each scrape (the queue is a table, shared by every
    /// server process, so no one process could count it).
    pub fn set_push_queue(&self, pending: i64, dead: i64) {
        self.push_pending.set(pending);
        self.push_dead.set(dead);
    }

    /// The metrics as Prometheus text, with the database pool's gauges read now.
    pub fn render(&self, db: &PgPool) -> Result<String, prometheus::Error> {
        self.db_pool_size.set(i64::from(db.size()));
        self.db_pool_idle.set(i64::try_from(db.num_idle()).unwrap_or(i64::MAX));
        self.db_pool_max.set(i64::from(db.options().get_max_connections()));
        TextEncoder::new().encode_to_string(&self.registry.gather())
    }
}

//! Micro-benchmarks of the hot paths: frame parsing and serialising, the policy check, and the fan-out of
#![expect(clippy::expect_used, reason = "a benchmark that cannot set up must stop, saying why")]
//! one frame to 500 sockets through the real user actors. Run with `cargo bench -p hallway-loadgen`.

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use actix::prelude::*;
use criterion::{Criterion, criterion_group, criterion_main};
use hallway_protocol::ws::{ClientFrame, ServerFrame};
use hallway_protocol::{Message as WireMessage, ReactionSummary, Role};
use hallway_server::config::RealtimeLimits;
use hallway_server::policy::{Party, Policy};
use hallway_server::realtime::user::{Connect, Outgoing};
use hallway_server::realtime::{Realtime, Target, encode};
use uuid::Uuid;

const SEND: &str = r#"{"type":"send","client_msg_id":"c-123","conversation_id":"01a20f5e-47e2-70b9-b860-79ab33cd18ab","body":"Reminder: the science museum trip is on Friday. Please return the permission slips.","attachment_ids":[]}"#;

fn message() -> WireMessage {
    WireMessage {
        id: Uuid::now_v7(),
        conversation_id: Uuid::now_v7(),
        seq: 42,
        sender_id: Uuid::now_v7(),
        client_msg_id: "c-123".into(),
        body: "Reminder: the science museum trip is on Friday. Please return the permission slips.".into(),
        attachments: Vec::new(),
        reactions: vec![ReactionSummary {
            emoji: "👍".into(),
            count: 2,
            user_ids: vec![Uuid::now_v7(), Uuid::now_v7()],
        }],
        created_at: time::OffsetDateTime::now_utc(),
        edited_at: None,
        deleted: false,
        urgent: false,
    }
}

fn frames(c: &mut Criterion) {
    c.bench_function("parse send frame", |b| b.iter(|| serde_json::from_str::<ClientFrame>(black_box(SEND))));
    let frame = ServerFrame::Message { message: message() };
    c.bench_function("serialise message frame", |b| b.iter(|| encode(black_box(&frame))));
}

fn policy(c: &mut Criterion) {
    let policy = Policy::default();
    c.bench_function("policy check, all 16 role pairs", |b| {
        b.iter(|| {
            let mut allowed = 0;
            for from in Role::ALL {
                for to in Role::ALL {
                    let from = Party { role: from, deactivated: false };
                    let to = Party { role: to, deactivated: false };
                    allowed += usize::from(black_box(&policy).may_message(from, to).is_allowed());
                }
            }
            allowed
        })
    });
}

/// A socket stand-in that counts the frames its user actor hands it.
struct CountingSession {
    received: Arc<AtomicUsize>,
    pending: Arc<AtomicUsize>,
}

impl Actor for CountingSession {
    type Context = Context<Self>;
}

impl Handler<Outgoing> for CountingSession {
    type Result = ();

    fn handle(&mut self, msg: Outgoing, _: &mut Self::Context) {
        if let Outgoing::Frame(text) = msg {
            black_box(text.len());
            self.pending.fetch_sub(1, Ordering::Relaxed);
            self.received.fetch_add(1, Ordering::Relaxed);
        }
    }
}

fn fan_out(c: &mut Criterion) {
    const SESSIONS: usize = 500;
    let system = System::new();
    let received = Arc::new(AtomicUsize::new(0));
    let (realtime, users) = system.block_on(async {
        // The pool is never reached by delivery; presence look-ups fail fast and are only logged.
        let db = sqlx::postgres::PgPoolOptions::new()
            .acquire_timeout(Duration::from_millis(10))
            .connect_lazy("postgres://bench@127.0.0.1:1/none")
            .expect("a lazy pool needs no server");
        let keys = std::sync::Arc::new(hallway_server::auth::tokens::Keys::from_secret(b"bench"));
        let metrics = hallway_server::metrics::Metrics::new().expect("registering the metrics");
        let notifier = hallway_server::notify::Notifier::without_providers(db.clone());
        let background = hallway_server::lifecycle::Background::new();
        let realtime =
            Realtime::start(db, keys, RealtimeLimits::default(), Default::default(), metrics, notifier, &background);
        let mut users = Vec::with_capacity(SESSIONS);
        for _ in 0..SESSIONS {
            let user = Uuid::now_v7();
            let pending = Arc::new(AtomicUsize::new(0));
            let session = CountingSession { received: received.clone(), pending: pending.clone() }.start();
            let connect = Connect {
                conn_id: Uuid::now_v7(),
                auth_session: Uuid::now_v7(),
                recipient: session.recipient(),
                pending,
            };
            realtime.user_or_start(user).send(connect).await.expect("the user actor registers the session");
            users.push(user);
        }
        (realtime, users)
    });
    let frame = encode(&ServerFrame::Message { message: message() });
    c.bench_function("fan-out of one message to 500 sessions", |b| {
        b.iter(|| {
            system.block_on(async {
                let target = received.load(Ordering::Relaxed) + SESSIONS;
                for user in &users {
                    realtime.deliver(*user, frame.clone(), Target::All);
                }
                while received.load(Ordering::Relaxed) < target {
                    actix::clock::sleep(Duration::from_micros(20)).await;
                }
            })
        })
    });
}

criterion_group! {
    name = hot_paths;
    config = Criterion::default().measurement_time(Duration::from_secs(5)).sample_size(50);
    targets = frames, policy, fan_out
}
criterion_main!(hot_paths);

//! Crash safety: a steady send load over sockets from several clients while the real `hallway-server` process
//! is killed with SIGKILL at random moments and started again on the same database. The clients do what the
//! SDK does: reconnect, resend every unacknowledged message with the same `client_msg_id`, and go on. Then every
//! acknowledged message is stored exactly once, with the seq its ack named, the seqs have no gap, every member
//! reads all of them, and unread counts are right.
//!
//! `HALLWAY_CRASH_KILLS` sets how many times the server is killed: 10 by default (CI), 100 for the long run
//! (`HALLWAY_CRASH_KILLS=100 with-test-db cargo nextest run --profile long -p hallway-server --test crash`, with
//! `with-test-db` built as scripts/test builds it).

#![expect(clippy::expect_used, reason = "helpers of a test fail the test loudly when setup breaks")]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use hallway_protocol::{ConversationKind, Role};
use hallway_test_support::ws::WsClient;
use hallway_test_support::{JWT_SECRET, PASSWORD, TestServer, fresh_database_with_url, reachable_temp_dir};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use rand::Rng;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::process;
use tokio::process::Child;
use uuid::Uuid;

mod support;

/// Messages one client keeps in flight: sent, not yet acknowledged.
const WINDOW: usize = 8;
/// How long a client may take, beyond the kills' own time, to get everything it sent acknowledged.
const CLIENT_GRACE: Duration = Duration::from_secs(60);

fn kills() -> usize {
    std::env::var("HALLWAY_CRASH_KILLS").ok().and_then(|v| v.parse().ok()).unwrap_or(10)
}

/// The server binary on the test's database, with send limits out of the way of the load.
fn spawn_server(database_url: &str, data_dir: &Path, port: u16) -> Child {
    process::serve(data_dir, port)
        .args(["--ws-sends-per-sec", "100000", "--ws-send-burst", "100000"])
        .env("DATABASE_URL", database_url)
        .env("HALLWAY_JWT_SECRET", JWT_SECRET)
        .spawn()
        .expect("starting hallway-server")
}

async fn wait_ready(base: &str) {
    process::until_status(&reqwest::Client::new(), &format!("{base}/readyz"), StatusCode::OK, Duration::from_secs(30))
        .await;
}

fn send_frame(conversation: Uuid, client_msg_id: &str) -> Value {
    json!({"type": "send", "conversation_id": conversation, "client_msg_id": client_msg_id,
           "body": format!("message {client_msg_id}")})
}

/// One client's load: keeps `WINDOW` messages in flight, reconnects whenever the socket dies and resends what
/// was not acknowledged; once `stop` is set it sends nothing new and returns when all it sent is acknowledged.
/// Returns the seq each of its messages was acknowledged with.
async fn run_client(
    base: String,
    token: String,
    conversation: Uuid,
    name: &'static str,
    stop: Arc<AtomicBool>,
) -> BTreeMap<String, i64> {
    let started = Instant::now();
    // Each kill pauses up to 1.2 s and a restart takes a second or two.
    let deadline = CLIENT_GRACE + Duration::from_secs(3 * kills() as u64);
    let mut acked: BTreeMap<String, i64> = BTreeMap::new();
    let mut pending: Vec<String> = Vec::new();
    let mut created = 0usize;
    let mut last_refusal = Value::Null;
    loop {
        if stop.load(Ordering::SeqCst) && pending.is_empty() {
            return acked;
        }
        assert!(
            started.elapsed() < deadline,
            "{name}: {} messages still unacknowledged after {deadline:?} (last refusal: {last_refusal})",
            pending.len()
        );
        let Some(mut socket) = WsClient::try_connect(&base, &token).await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let mut alive = true;
        for id in &pending {
            alive = alive && socket.try_send(send_frame(conversation, id)).await;
        }
        while alive {
            while alive && !stop.load(Ordering::SeqCst) && pending.len() < WINDOW {
                let id = format!("{name}-{created:05}");
                created += 1;
                alive = socket.try_send(send_frame(conversation, &id)).await;
                pending.push(id);
            }
            if stop.load(Ordering::SeqCst) && pending.is_empty() {
                return acked;
            }
            match socket.next_frame_within(Duration::from_secs(5)).await {
                // Closed, killed or silent: reconnect and resend.
                None => alive = false,
                Some(frame) if frame["type"] == "ack" => {
                    let id = frame["client_msg_id"].as_str().unwrap_or_default().to_owned();
                    let seq = frame["message"]["seq"].as_i64().expect("an ack carries the message's seq");
                    pending.retain(|p| *p != id);
                    if let Some(before) = acked.insert(id.clone(), seq) {
                        assert_eq!(before, seq, "{name}: two acks for {id} named different seqs");
                    }
                }
                // A refusal while the server comes back: resend after reconnecting (a lasting one fails the
                // deadline above, with the refusal in its message).
                Some(frame) if frame["type"] == "error" => {
                    last_refusal = frame;
                    alive = false;
                }
                Some(_) => {}
            }
        }
    }
}

#[actix_web::test]
async fn acknowledged_messages_survive_sigkill_under_load_exactly_once_without_gaps() {
    let (pool, database_url) = fresh_database_with_url().await;
    // People, a group and tokens, made on the same database; the binary accepts the tokens since it signs with
    // the same secret.
    let setup = TestServer::start_on(pool.clone()).await;
    let names = ["rivera", "mei", "ravi"];
    let teacher = setup.create_user(names[0], Role::Teacher).await;
    let mei = setup.create_user(names[1], Role::Parent).await;
    let ravi = setup.create_user(names[2], Role::Parent).await;
    let ids = [teacher.id, mei.id, ravi.id];
    let conversation =
        setup.create_conversation(ConversationKind::Group, Some("Class 4B"), teacher.id, &[mei.id, ravi.id]).await;
    let mut tokens = Vec::new();
    for name in names {
        tokens.push(setup.login(name, PASSWORD).await.access_token);
    }
    drop(setup);

    let data_dir = reachable_temp_dir().unwrap();
    let port = process::free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut server = spawn_server(&database_url, data_dir.path(), port);
    wait_ready(&base).await;

    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = names
        .iter()
        .zip(&tokens)
        .map(|(name, token)| tokio::spawn(run_client(base.clone(), token.clone(), conversation, name, stop.clone())))
        .collect();
    let pauses: Vec<u64> = {
        let mut rng = rand::thread_rng();
        (0..kills()).map(|_| rng.gen_range(200..1200)).collect()
    };
    for pause in pauses {
        tokio::time::sleep(Duration::from_millis(pause)).await;
        let pid = server.id().expect("the server is running") as i32;
        kill(Pid::from_raw(pid), Signal::SIGKILL).unwrap();
        server.wait().await.unwrap();
        server = spawn_server(&database_url, data_dir.path(), port);
        wait_ready(&base).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::SeqCst);
    let mut acked_by = Vec::new();
    for (client, sender) in clients.into_iter().zip(ids) {
        acked_by.push((sender, client.await.expect("a client finished")));
    }

    // Stored: exactly the acknowledged messages, each once, with the seq its ack named, seqs 1..=n.
    let rows: Vec<(String, Uuid, i64)> =
        sqlx::query_as("SELECT client_msg_id, sender_id, seq FROM messages WHERE conversation_id = $1 ORDER BY seq")
            .bind(conversation)
            .fetch_all(&pool)
            .await
            .unwrap();
    let total: usize = acked_by.iter().map(|(_, acked)| acked.len()).sum();
    assert!(total > 0, "the load sent nothing");
    println!("{total} messages acknowledged across {} kills", kills());
    assert_eq!(rows.len(), total, "stored messages = acknowledged messages");
    for (index, (_, _, seq)) in rows.iter().enumerate() {
        assert_eq!(*seq, index as i64 + 1, "seqs rise by exactly one");
    }
    let stored: BTreeMap<(Uuid, &str), i64> =
        rows.iter().map(|(id, sender, seq)| ((*sender, id.as_str()), *seq)).collect();
    for (sender, acked) in &acked_by {
        for (id, seq) in acked {
            assert_eq!(stored.get(&(*sender, id.as_str())), Some(seq), "{id} is stored with the seq of its ack");
        }
    }

    // Every member reads all of them, and their unread counts are derived right.
    let client = reqwest::Client::new();
    for ((token, sender), (_, own)) in tokens.iter().zip(ids).zip(&acked_by) {
        let read = process::read_all_messages(&base, token, &conversation.to_string()).await;
        let seqs: Vec<i64> = read.iter().filter_map(|m| m["seq"].as_i64()).collect();
        assert_eq!(seqs, (1..=total as i64).collect::<Vec<_>>(), "member {sender} reads every message once");
        let list = process::get_json(&client, &format!("{base}/api/v1/conversations"), token).await;
        // Sending reads up to one's own message, so the count is what others sent after the member's marker.
        let listed = &list["conversations"][0];
        let last_read = listed["last_read_seq"].as_i64().expect("a read marker");
        let expected =
            read.iter().filter(|m| m["seq"].as_i64() > Some(last_read) && m["sender_id"] != json!(sender)).count();
        assert!(last_read > 0 || own.is_empty(), "member {sender} sent, so read up to their message");
        assert_eq!(listed["unread_count"].as_u64(), Some(expected as u64), "member {sender}'s unread count");
    }
    kill(Pid::from_raw(server.id().expect("the server is running") as i32), Signal::SIGTERM).unwrap();
    let _ = tokio::time::timeout(Duration::from_secs(15), server.wait()).await;
}

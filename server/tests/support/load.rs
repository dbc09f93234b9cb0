//! A steady send load over sockets, made as phones running the SDK make it, for the tests that kill the server
//! or its database under load; and the checks, afterwards, that nothing acknowledged was lost or stored twice.
//!
//! Each client keeps `WINDOW` messages in flight in one conversation. Like the SDK's outbox it reconnects when
//! its socket dies or stays silent, resends every unacknowledged message with the same `client_msg_id`, and
//! takes a refusal with `unavailable`, `internal` or `rate_limited` as "wait, then resend" (the time the refusal
//! names, or the SDK's own). Any other refusal would show the message failed in the app: it fails the test, and
//! so does a close for misbehaving (1008), since a client that waits as told is not misbehaving.

#![expect(clippy::expect_used, reason = "the load fails the test loudly when the server breaks its contract")]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use hallway_protocol::{ConversationKind, Role};
use hallway_test_support::ws::{Closed, WsClient};
use hallway_test_support::{PASSWORD, TestServer};
use serde_json::{Value, json};
use sqlx::PgPool;
use tokio::task::JoinHandle;
use uuid::Uuid;

use super::process;

/// Messages one client keeps in flight: sent, not yet acknowledged.
pub const WINDOW: usize = 8;
/// How long a socket may stay silent while messages are in flight before the client takes it for dead.
const SILENCE: Duration = Duration::from_secs(5);
/// What the SDK waits before resending a send refused without a time (its `SEND_RETRY_AFTER`).
const SDK_RETRY_AFTER: Duration = Duration::from_secs(2);
/// Pause between two failed connection attempts.
const RECONNECT_PAUSE: Duration = Duration::from_millis(100);

/// A member of the conversation who sends, signed in.
#[derive(Clone)]
pub struct Sender {
    /// Also the prefix of their `client_msg_id`s.
    pub name: &'static str,
    pub id: Uuid,
    pub token: String,
}

/// The load's cast, made through `setup` (a test server on the database the tested binary uses): a teacher and
/// two parents in "Class 4B", each signed in. The binary accepts their tokens since it signs with the same
/// secret. Returns the group and its three senders.
pub async fn class_of_three_senders(setup: &TestServer) -> (Uuid, Vec<Sender>) {
    let teacher = setup.create_user("rivera", Role::Teacher).await;
    let mei = setup.create_user("mei", Role::Parent).await;
    let ravi = setup.create_user("ravi", Role::Parent).await;
    let conversation =
        setup.create_conversation(ConversationKind::Group, Some("Class 4B"), teacher.id, &[mei.id, ravi.id]).await;
    let mut senders = Vec::new();
    for (name, id) in [("rivera", teacher.id), ("mei", mei.id), ("ravi", ravi.id)] {
        senders.push(Sender { name, id, token: setup.login(name, PASSWORD).await.access_token });
    }
    (conversation, senders)
}

/// What one client saw, for the checks and the test's figures.
#[derive(Debug, Default)]
pub struct ClientReport {
    /// The seq each of its messages was acknowledged with, by `client_msg_id`.
    pub acked: BTreeMap<String, i64>,
    /// Refusals it waited out and resent, by error code.
    pub refusals: BTreeMap<String, usize>,
    /// Sockets it opened after its first.
    pub reconnects: usize,
}

/// The clients of a running load.
pub struct Load {
    /// Set by `finish`: the clients send nothing new and end once all they sent is acknowledged.
    stop: Arc<AtomicBool>,
    /// Distinct messages acknowledged so far, over all clients.
    acknowledged: Arc<AtomicUsize>,
    clients: Vec<(Sender, JoinHandle<ClientReport>)>,
}

impl Load {
    /// Starts one client per sender against the server at `base`; each fails the test if it still has
    /// unacknowledged messages `deadline` after the start.
    pub fn start(base: &str, conversation: Uuid, senders: &[Sender], deadline: Duration) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let acknowledged = Arc::new(AtomicUsize::new(0));
        let clients = senders
            .iter()
            .map(|sender| {
                let client = Client {
                    base: base.to_owned(),
                    conversation,
                    sender: sender.clone(),
                    stop: stop.clone(),
                    acknowledged: acknowledged.clone(),
                    deadline: Instant::now() + deadline,
                };
                (sender.clone(), tokio::spawn(client.run()))
            })
            .collect();
        Load { stop, acknowledged, clients }
    }

    /// Distinct messages acknowledged so far.
    pub fn acknowledged(&self) -> usize {
        self.acknowledged.load(Ordering::SeqCst)
    }

    /// Waits until `more` messages beyond those acknowledged now are acknowledged, failing the test after
    /// `limit` (or at once with the client's own failure, when a client failed).
    pub async fn until_acknowledged(&mut self, more: usize, limit: Duration, after: &str) {
        let (before, deadline) = (self.acknowledged(), Instant::now() + limit);
        while self.acknowledged() < before + more {
            self.fail_if_a_client_failed().await;
            assert!(
                Instant::now() < deadline,
                "{after}: {} of {more} new messages acknowledged within {limit:?}",
                self.acknowledged() - before
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// A client only ends early by failing: its panic becomes the test's.
    async fn fail_if_a_client_failed(&mut self) {
        if let Some(index) = self.clients.iter().position(|(_, client)| client.is_finished()) {
            let (sender, client) = self.clients.remove(index);
            if let Err(failure) = client.await {
                std::panic::resume_unwind(failure.into_panic());
            }
            panic!("{} stopped before the load did", sender.name);
        }
    }

    /// Stops sending new messages and waits until everything sent is acknowledged; what each sender saw.
    pub async fn finish(self) -> Vec<(Sender, ClientReport)> {
        self.stop.store(true, Ordering::SeqCst);
        let mut reports = Vec::new();
        for (sender, client) in self.clients {
            match client.await {
                Ok(report) => reports.push((sender, report)),
                Err(failure) => std::panic::resume_unwind(failure.into_panic()),
            }
        }
        reports
    }
}

/// One phone's outbox over one socket at a time.
struct Client {
    base: String,
    conversation: Uuid,
    sender: Sender,
    stop: Arc<AtomicBool>,
    acknowledged: Arc<AtomicUsize>,
    deadline: Instant,
}

/// A message sent and not yet acknowledged.
enum Pending {
    /// Sent on the current socket; its answer has not come.
    InFlight,
    /// Refused for a while, or sent on a socket that died: to send (again) from this moment on.
    SendAt(Instant),
}

impl Client {
    /// Fails the test once the deadline passed with messages still unacknowledged.
    fn assert_before_deadline(&self, unacknowledged: usize, last_refusal: &Value) {
        assert!(
            Instant::now() < self.deadline,
            "{}: {unacknowledged} messages still unacknowledged at the deadline (last refusal: {last_refusal})",
            self.sender.name
        );
    }

    fn send_frame(&self, client_msg_id: &str) -> Value {
        json!({"type": "send", "conversation_id": self.conversation, "client_msg_id": client_msg_id,
               "body": format!("message {client_msg_id}")})
    }

    async fn run(self) -> ClientReport {
        let name = self.sender.name;
        let mut report = ClientReport::default();
        let mut pending: BTreeMap<String, Pending> = BTreeMap::new();
        let mut created = 0usize;
        let mut connections = 0usize;
        let mut last_refusal = Value::Null;
        loop {
            if self.stop.load(Ordering::SeqCst) && pending.is_empty() {
                return report;
            }
            self.assert_before_deadline(pending.len(), &last_refusal);
            let Some(mut socket) = WsClient::try_connect(&self.base, &self.sender.token).await else {
                tokio::time::sleep(RECONNECT_PAUSE).await;
                continue;
            };
            connections += 1;
            report.reconnects = connections - 1;
            // A new socket: everything unacknowledged goes again, at once or when its refusal says.
            let now = Instant::now();
            for state in pending.values_mut() {
                if matches!(state, Pending::InFlight) {
                    *state = Pending::SendAt(now);
                }
            }
            let mut last_heard = Instant::now();
            'socket: loop {
                let now = Instant::now();
                for (id, state) in pending.iter_mut() {
                    if matches!(state, Pending::SendAt(at) if *at <= now) {
                        if !socket.try_send(self.send_frame(id)).await {
                            break 'socket;
                        }
                        *state = Pending::InFlight;
                        last_heard = now;
                    }
                }
                while !self.stop.load(Ordering::SeqCst) && pending.len() < WINDOW {
                    let id = format!("{name}-{created:05}");
                    created += 1;
                    let sent = socket.try_send(self.send_frame(&id)).await;
                    pending.insert(id, Pending::InFlight);
                    if !sent {
                        break 'socket;
                    }
                }
                if self.stop.load(Ordering::SeqCst) && pending.is_empty() {
                    return report;
                }
                self.assert_before_deadline(pending.len(), &last_refusal);
                let in_flight = pending.values().any(|state| matches!(state, Pending::InFlight));
                let next_resend = pending.values().filter_map(|state| match state {
                    Pending::SendAt(at) => Some(*at),
                    Pending::InFlight => None,
                });
                let silent_by = last_heard + SILENCE;
                let until = match next_resend.min() {
                    Some(resend) if in_flight => resend.min(silent_by),
                    Some(resend) => resend,
                    None => silent_by,
                };
                match socket.next_or_closed_within(until.saturating_duration_since(Instant::now())).await {
                    // Nothing in flight, or not silent for long: only a resend is due.
                    None if !in_flight || last_heard.elapsed() < SILENCE => {}
                    // Killed or hung: reconnect and resend.
                    None => break 'socket,
                    Some(Err(Closed::Frame(Some(close)))) if u16::from(close.code) == 1008 => {
                        panic!("{name}: the server closed the socket as misbehaving: {close:?}")
                    }
                    Some(Err(_)) => break 'socket,
                    Some(Ok(frame)) => {
                        last_heard = Instant::now();
                        if frame["type"] == "ack" {
                            let id = frame["client_msg_id"].as_str().unwrap_or_default().to_owned();
                            let seq = frame["message"]["seq"].as_i64().expect("an ack carries the message's seq");
                            pending.remove(&id);
                            match report.acked.insert(id.clone(), seq) {
                                Some(before) => assert_eq!(before, seq, "{name}: two acks for {id} named other seqs"),
                                None => _ = self.acknowledged.fetch_add(1, Ordering::SeqCst),
                            }
                        } else if frame["type"] == "error" {
                            let refused = frame["ref"].as_str().filter(|id| pending.contains_key(*id));
                            if let Some(id) = refused {
                                let code = frame["code"].as_str().unwrap_or_default().to_owned();
                                assert!(
                                    ["unavailable", "internal", "rate_limited"].contains(&code.as_str()),
                                    "{name}: {id} refused for good (the app would show it failed): {frame}"
                                );
                                let wait =
                                    frame["retry_after_ms"].as_u64().map_or(SDK_RETRY_AFTER, Duration::from_millis);
                                pending.insert(id.to_owned(), Pending::SendAt(Instant::now() + wait));
                                *report.refusals.entry(code).or_default() += 1;
                            }
                            last_refusal = frame;
                        }
                    }
                }
            }
        }
    }
}

/// The checks after a load: exactly the acknowledged messages are stored, each once with the seq its ack
/// named, seqs run 1..=n, every member reads all n in order through the API, and each member's unread count is
/// the derived one. The conversation must be each sender's only one. Returns n.
pub async fn assert_acknowledged_stored_once_and_read_by_all(
    pool: &PgPool,
    base: &str,
    conversation: Uuid,
    reports: &[(Sender, ClientReport)],
) -> usize {
    let rows: Vec<(String, Uuid, i64)> =
        sqlx::query_as("SELECT client_msg_id, sender_id, seq FROM messages WHERE conversation_id = $1 ORDER BY seq")
            .bind(conversation)
            .fetch_all(pool)
            .await
            .expect("reading the stored messages");
    let total: usize = reports.iter().map(|(_, report)| report.acked.len()).sum();
    assert!(total > 0, "the load sent nothing");
    assert_eq!(rows.len(), total, "stored messages = acknowledged messages");
    for (index, (_, _, seq)) in rows.iter().enumerate() {
        assert_eq!(*seq, index as i64 + 1, "seqs rise by exactly one");
    }
    let stored: BTreeMap<(Uuid, &str), i64> =
        rows.iter().map(|(id, sender, seq)| ((*sender, id.as_str()), *seq)).collect();
    for (sender, report) in reports {
        for (id, seq) in &report.acked {
            assert_eq!(stored.get(&(sender.id, id.as_str())), Some(seq), "{id} is stored with the seq of its ack");
        }
    }

    let client = reqwest::Client::new();
    for (sender, report) in reports {
        let read = process::read_all_messages(base, &sender.token, &conversation.to_string()).await;
        let seqs: Vec<i64> = read.iter().filter_map(|m| m["seq"].as_i64()).collect();
        assert_eq!(seqs, (1..=total as i64).collect::<Vec<_>>(), "{} reads every message once", sender.name);
        let list = process::get_json(&client, &format!("{base}/api/v1/conversations"), &sender.token).await;
        // Sending reads up to one's own message, so the count is what others sent after the member's marker.
        let listed = &list["conversations"][0];
        let last_read = listed["last_read_seq"].as_i64().expect("a read marker");
        let expected =
            read.iter().filter(|m| m["seq"].as_i64() > Some(last_read) && m["sender_id"] != json!(sender.id)).count();
        assert!(last_read > 0 || report.acked.is_empty(), "{} sent, so read up to their message", sender.name);
        assert_eq!(listed["unread_count"].as_u64(), Some(expected as u64), "{}'s unread count", sender.name);
    }
    total
}

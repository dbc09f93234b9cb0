//! Shutdown in order: the real `hallway-server` binary, with its own embedded cluster, gets SIGTERM while
//! several sockets keep a steady send load. Every socket is closed with 1001 (Going Away, so its client
//! reconnects elsewhere); every frame the server admitted is answered before that close, so what is stored is
//! exactly what was acknowledged, each once (a send left without an answer was never admitted, and is not
//! stored); the process exits with status 0 within a bounded time; and the embedded cluster's postmaster is
//! gone. A fresh server on the same data dir then reads the messages back.

#![expect(clippy::expect_used, reason = "helpers of a test fail the test loudly when setup breaks")]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use hallway_test_support::reachable_temp_dir;
use hallway_test_support::ws::{Closed, WsClient};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::process::{self, until_status};
use tokio::process::Child;

mod support;

/// Sends one socket keeps in flight (sent, not answered yet).
const WINDOW: usize = 8;
/// How long the load runs before SIGTERM.
const LOAD_BEFORE_SIGTERM: Duration = Duration::from_millis(1500);
/// The longest the process may take to exit after SIGTERM: the HTTP drain is bounded by 10 s and the background
/// tasks by 15 s, so a healthy stop takes a second or two and this only catches a hang.
const EXIT_LIMIT: Duration = Duration::from_secs(30);

/// The binary with its own embedded cluster (no `DATABASE_URL`), send limits out of the way of the load.
fn spawn_server(data_dir: &Path, port: u16, demo: bool) -> Child {
    let mut command = process::serve(data_dir, port);
    command.args(["--ws-sends-per-sec", "100000", "--ws-send-burst", "100000"]).env_remove("DATABASE_URL");
    if demo {
        command.arg("--demo");
    }
    command.spawn().expect("starting hallway-server")
}

fn pid_file(data_dir: &Path) -> std::path::PathBuf {
    data_dir.join("postgres/pgdata/postmaster.pid")
}

fn postmaster_pid(data_dir: &Path) -> i32 {
    let text = std::fs::read_to_string(pid_file(data_dir)).expect("the embedded cluster's pid file is in the data dir");
    text.lines().next().and_then(|l| l.trim().parse().ok()).expect("a pid on the first line")
}

/// Whether a process runs (a zombie waiting for its parent to reap it has exited: not running).
fn running(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| stat.rsplit_once(')').map(|(_, rest)| rest.trim_start().starts_with('Z')))
        .is_some_and(|zombie| !zombie)
}

/// Running processes whose command line names `dir` (a postgres of that cluster, say).
fn processes_naming(dir: &Path) -> Vec<(i32, String)> {
    let needle = dir.to_string_lossy().into_owned();
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else { continue };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else { continue };
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.contains(&needle) && running(pid) {
            found.push((pid, cmdline));
        }
    }
    found
}

async fn login(client: &reqwest::Client, base: &str, username: &str) -> String {
    let answer: Value = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"login": username, "password": "demo-password"}))
        .send()
        .await
        .expect("a sign-in answer")
        .json()
        .await
        .expect("a JSON sign-in answer");
    answer["access_token"].as_str().expect("an access token").to_owned()
}

/// What one socket saw.
struct Outcome {
    name: String,
    /// Every send written to the socket, in order.
    sent: Vec<String>,
    /// Acknowledged sends and the seq their ack named.
    acked: BTreeMap<String, i64>,
    /// Refused sends and their error code.
    refused: BTreeMap<String, String>,
    /// Acks that came after SIGTERM was sent: frames admitted before it, answered during the drain.
    acked_after_sigterm: usize,
    closed: Closed,
}

/// Keeps `WINDOW` sends in flight on one socket, reading the answers, until the server closes the socket.
async fn run_client(
    base: String,
    token: String,
    conversation: String,
    name: String,
    sigterm: Arc<AtomicBool>,
) -> Outcome {
    let mut socket = WsClient::try_connect(&base, &token).await.expect("a socket");
    let (mut sent, mut acked, mut refused) = (Vec::new(), BTreeMap::new(), BTreeMap::new());
    let mut acked_after_sigterm = 0;
    let mut open = true;
    loop {
        while open && sent.len() - acked.len() - refused.len() < WINDOW {
            let id = format!("{name}-{:05}", sent.len());
            let frame = json!({"type": "send", "conversation_id": conversation, "client_msg_id": id, "body": id});
            // A write fails once the socket is closing; what was written before is accounted for.
            open = socket.try_send(frame).await;
            if open {
                sent.push(id);
            }
        }
        let frame = match socket.next_or_closed_within(Duration::from_secs(15)).await {
            None => panic!("{name}: neither a frame nor a close for 15 s"),
            Some(Err(closed)) => return Outcome { name, sent, acked, refused, acked_after_sigterm, closed },
            Some(Ok(frame)) => frame,
        };
        match frame["type"].as_str() {
            Some("ack") => {
                let id = frame["client_msg_id"].as_str().expect("an ack names its client_msg_id").to_owned();
                let seq = frame["message"]["seq"].as_i64().expect("an ack carries the message's seq");
                assert!(acked.insert(id.clone(), seq).is_none(), "{name}: two acks for {id}");
                acked_after_sigterm += usize::from(sigterm.load(Ordering::SeqCst));
            }
            Some("error") => {
                let id = frame["ref"].as_str().expect("a refusal names the send's ref").to_owned();
                let code = frame["code"].as_str().unwrap_or_default().to_owned();
                assert!(refused.insert(id.clone(), code).is_none(), "{name}: two refusals for {id}");
            }
            _ => {}
        }
    }
}

#[actix_web::test]
async fn sigterm_under_load_closes_every_socket_with_1001_after_answering_what_it_admitted_and_stops_the_cluster() {
    let data_dir = reachable_temp_dir().unwrap();
    let port = process::free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut server = spawn_server(data_dir.path(), port, true);
    let client = reqwest::Client::new();
    until_status(&client, &format!("{base}/readyz"), StatusCode::OK, Duration::from_secs(90)).await;

    // The demo school's "Class 4B": teacher2, parent2 and admin, two sockets each.
    let mut tokens = Vec::new();
    for username in ["teacher2", "parent2", "admin"] {
        tokens.push((username, login(&client, &base, username).await));
    }
    let list = process::get_json(&client, &format!("{base}/api/v1/conversations"), &tokens[0].1).await;
    let group = list["conversations"]
        .as_array()
        .expect("a conversation list")
        .iter()
        .find(|c| c["name"] == "Class 4B")
        .and_then(|c| c["id"].as_str())
        .expect("the demo group")
        .to_owned();

    let sigterm = Arc::new(AtomicBool::new(false));
    let mut clients = Vec::new();
    for (username, token) in &tokens {
        for socket in 0..2 {
            let name = format!("sd-{username}-{socket}");
            let run = run_client(base.clone(), token.clone(), group.clone(), name, sigterm.clone());
            clients.push(tokio::spawn(run));
        }
    }
    tokio::time::sleep(LOAD_BEFORE_SIGTERM).await;

    let postmaster = postmaster_pid(data_dir.path());
    let pgdata = data_dir.path().join("postgres/pgdata");
    assert!(running(postmaster), "the embedded cluster runs before SIGTERM");
    sigterm.store(true, Ordering::SeqCst);
    let signalled = Instant::now();
    kill(Pid::from_raw(server.id().expect("the server is running") as i32), Signal::SIGTERM).unwrap();
    let exited = tokio::time::timeout(EXIT_LIMIT, server.wait()).await;
    let took = signalled.elapsed();
    let status = exited.unwrap_or_else(|_| panic!("no exit within {EXIT_LIMIT:?} of SIGTERM")).expect("an exit status");
    assert!(status.success(), "exit status {status} after SIGTERM");
    println!("exited {took:?} after SIGTERM");

    // The embedded cluster stopped with the server: its postmaster is gone, cleanly (no pid file left).
    assert!(!running(postmaster), "the postmaster {postmaster} still runs after the server exited");
    assert!(!pid_file(data_dir.path()).exists(), "the postmaster left its pid file: it did not stop cleanly");
    assert_eq!(processes_naming(&pgdata), Vec::new(), "no process of the cluster is left");

    let mut outcomes = Vec::new();
    for client in clients {
        let outcome = tokio::time::timeout(Duration::from_secs(5), client)
            .await
            .expect("every socket ended once the server exited")
            .expect("a client finished");
        outcomes.push(outcome);
    }
    for outcome in &outcomes {
        let name = &outcome.name;
        match &outcome.closed {
            Closed::Frame(Some(frame)) => assert_eq!(u16::from(frame.code), 1001, "{name} closed with {frame:?}"),
            other => panic!("{name}: the socket ended without a close frame with a code: {other:?}"),
        }
        for (id, code) in &outcome.refused {
            assert_eq!(code, "unavailable", "{name}: {id} refused with {code}, not for the shutdown");
        }
        let unanswered = outcome.sent.len() - outcome.acked.len() - outcome.refused.len();
        println!(
            "{name}: {} sent, {} acknowledged ({} after SIGTERM), {} refused while stopping, {unanswered} written \
             after the close (not admitted)",
            outcome.sent.len(),
            outcome.acked.len(),
            outcome.acked_after_sigterm,
            outcome.refused.len(),
        );
        assert!(!outcome.acked.is_empty(), "{name}: the load got nothing acknowledged");
    }

    // A fresh server on the same data dir reads back exactly the acknowledged messages, each once, with the seq
    // its ack named; a send refused or left unanswered was not stored.
    let port = process::free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut server = spawn_server(data_dir.path(), port, false);
    until_status(&client, &format!("{base}/readyz"), StatusCode::OK, Duration::from_secs(60)).await;
    let token = login(&client, &base, "teacher2").await;
    let messages = process::read_all_messages(&base, &token, &group).await;
    let mut stored: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for message in &messages {
        if let Some(body) = message["body"].as_str().filter(|b| b.starts_with("sd-")) {
            stored.entry(body.to_owned()).or_default().push(message["seq"].as_i64().expect("a seq"));
        }
    }
    let mut acknowledged = BTreeSet::new();
    for outcome in &outcomes {
        for (id, seq) in &outcome.acked {
            assert_eq!(stored.get(id), Some(&vec![*seq]), "{id} is stored once, with the seq of its ack");
            acknowledged.insert(id.clone());
        }
    }
    let stored_ids: BTreeSet<String> = stored.keys().cloned().collect();
    let unacknowledged: Vec<String> = stored_ids
        .difference(&acknowledged)
        .map(|id| {
            let refusal = outcomes.iter().find_map(|o| o.refused.get(id));
            format!("{id} ({})", refusal.map_or("no answer".to_owned(), |code| format!("refused: {code}")))
        })
        .collect();
    assert!(unacknowledged.is_empty(), "stored without an ack: {unacknowledged:?}");

    kill(Pid::from_raw(server.id().expect("the server is running") as i32), Signal::SIGTERM).unwrap();
    let exited = tokio::time::timeout(EXIT_LIMIT, server.wait()).await;
    assert!(exited.is_ok_and(|s| s.is_ok_and(|s| s.success())), "the second server stops cleanly too");
    assert!(!pid_file(data_dir.path()).exists(), "the second server's cluster stopped cleanly too");
}

//! The embedded PostgreSQL is supervised: when its postmaster is killed, the server answers 503 at once (REST
//! and socket alike, with a time to retry) instead of hanging, restarts the cluster by itself, and loses
//! nothing that was acknowledged. Runs the real binary with its own embedded cluster and the demo school.

#![expect(clippy::expect_used, reason = "helpers of a test fail the test loudly when setup breaks")]

use std::path::Path;
use std::time::{Duration, Instant};

use hallway_test_support::reachable_temp_dir;
use hallway_test_support::ws::WsClient;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::process::{self, until_status};
use tokio::process::Child;

mod support;

/// The binary with its own embedded cluster (no `DATABASE_URL`) and the demo school; warnings shown, so a
/// failure tells what the supervisor did.
fn spawn_server(data_dir: &Path, port: u16) -> Child {
    process::serve(data_dir, port)
        .arg("--demo")
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "warn")
        .spawn()
        .expect("starting hallway-server")
}

fn send(conversation: &Value, client_msg_id: &str) -> Value {
    json!({"type": "send", "conversation_id": conversation, "client_msg_id": client_msg_id, "body": client_msg_id})
}

#[actix_web::test]
async fn a_killed_postmaster_is_answered_with_503_at_once_then_restarted_and_nothing_acknowledged_is_lost() {
    let data_dir = reachable_temp_dir().unwrap();
    let port = process::free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut server = spawn_server(data_dir.path(), port);
    let client = reqwest::Client::new();
    until_status(&client, &format!("{base}/readyz"), StatusCode::OK, Duration::from_secs(90)).await;

    let login: Value = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"login": "teacher2", "password": "demo-password"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["access_token"].as_str().expect("a token").to_owned();
    let list = process::get_json(&client, &format!("{base}/api/v1/conversations"), &token).await;
    let group = list["conversations"][0]["id"].clone();
    let mut socket = WsClient::try_connect(&base, &token).await.expect("a socket");
    socket.send(send(&group, "before-the-crash")).await;
    let acked = socket.expect("ack").await;

    // The postmaster dies, and its data directory is out of reach for a while, so the server's restarts fail
    // until the test brings it back: the outage lasts as long as the test needs to observe it.
    let pgdata = data_dir.path().join("postgres/pgdata");
    let hidden = data_dir.path().join("postgres/pgdata-away");
    let postmaster = process::postmaster_pid(data_dir.path()).expect("the embedded cluster runs");
    kill(Pid::from_raw(postmaster), Signal::SIGKILL).unwrap();
    std::fs::rename(&pgdata, &hidden).unwrap();

    // Within a few probes the server knows, and from then on answers at once.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let started = Instant::now();
        let answer = client
            .get(format!("{base}/api/v1/conversations"))
            .bearer_auth(&token)
            .timeout(Duration::from_secs(15))
            .send()
            .await;
        if let Ok(answer) = answer
            && answer.status() == StatusCode::SERVICE_UNAVAILABLE
            && started.elapsed() < Duration::from_secs(1)
        {
            assert!(answer.headers().contains_key("retry-after"), "a 503 says when to retry");
            let body: Value = answer.json().await.unwrap();
            assert_eq!(body["error"]["code"], "unavailable");
            break;
        }
        assert!(Instant::now() < deadline, "no quick 503 within 60 s of the crash");
    }
    // A socket send meanwhile is refused at once with a time to retry, and the socket stays open.
    socket.send(send(&group, "during-the-crash")).await;
    let answer = loop {
        let frame = socket.next_frame_within(Duration::from_secs(5)).await.expect("an answer to the send");
        if frame["type"] == "error" || frame["type"] == "ack" {
            break frame;
        }
    };
    assert_eq!(answer["type"], "error", "{answer}");
    assert_eq!(answer["code"], "unavailable", "{answer}");
    assert_eq!(answer["ref"], "during-the-crash");
    assert!(answer["retry_after_ms"].as_u64().is_some_and(|ms| ms > 0), "{answer}");
    socket.send(json!({"type": "ping"})).await;
    assert_eq!(socket.expect("pong").await["type"], "pong", "the socket stays open");
    // Restarts keep failing: after three, `/healthz` says this process cannot recover by itself.
    until_status(&client, &format!("{base}/healthz"), StatusCode::SERVICE_UNAVAILABLE, Duration::from_secs(60)).await;
    std::fs::rename(&hidden, &pgdata).unwrap();

    // The server restarts its cluster by itself.
    until_status(&client, &format!("{base}/readyz"), StatusCode::OK, Duration::from_secs(90)).await;
    until_status(&client, &format!("{base}/healthz"), StatusCode::OK, Duration::from_secs(10)).await;
    let mut socket = WsClient::try_connect(&base, &token).await.expect("a socket after the recovery");
    socket.send(send(&group, "during-the-crash")).await;
    let resent = socket.expect("ack").await;
    assert_eq!(resent["message"]["seq"].as_i64(), acked["message"]["seq"].as_i64().map(|s| s + 1), "no gap");
    let messages = format!("{base}/api/v1/conversations/{}/messages?limit=200", group.as_str().unwrap_or_default());
    let page = process::get_json(&client, &messages, &token).await;
    let bodies: Vec<&str> = page["messages"].as_array().unwrap().iter().filter_map(|m| m["body"].as_str()).collect();
    assert!(bodies.contains(&"before-the-crash"), "the acknowledged message survived: {bodies:?}");
    assert_eq!(bodies.iter().filter(|b| **b == "during-the-crash").count(), 1);

    kill(Pid::from_raw(server.id().expect("running") as i32), Signal::SIGTERM).unwrap();
    let stopped = tokio::time::timeout(Duration::from_secs(30), server.wait()).await;
    assert!(stopped.is_ok_and(|s| s.is_ok_and(|s| s.success())), "the server stops cleanly after recovering");
}

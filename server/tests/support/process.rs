//! The real `hallway-server` binary, for the tests that kill it or its database and start it again.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;
use tokio::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_hallway-server");

/// `hallway-server serve` on `data_dir`, listening on loopback `port`, logging errors only; the caller adds its
/// database settings and flags. The process is killed if the test lets go of it.
pub fn serve(data_dir: &Path, port: u16) -> Command {
    let mut command = Command::new(BIN);
    command
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .env("HALLWAY_DATA_DIR", data_dir)
        .env("RUST_LOG", "error")
        .current_dir(data_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    command
}

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Polls `url` until it answers `status`, failing the test after `limit`.
pub async fn until_status(client: &reqwest::Client, url: &str, status: StatusCode, limit: Duration) {
    let deadline = Instant::now() + limit;
    loop {
        let answer = client.get(url).timeout(Duration::from_secs(15)).send().await;
        if answer.is_ok_and(|a| a.status() == status) {
            return;
        }
        assert!(Instant::now() < deadline, "{url} did not answer {status} within {limit:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `GET url` with a Bearer token, as JSON.
pub async fn get_json(client: &reqwest::Client, url: &str, token: &str) -> Value {
    client.get(url).bearer_auth(token).send().await.unwrap().json().await.unwrap()
}

/// Every message of a conversation as the holder of `token` reads it, page by page (`after_seq`, `has_more`).
pub async fn read_all_messages(base: &str, token: &str, conversation: &str) -> Vec<Value> {
    let client = reqwest::Client::new();
    let mut messages = Vec::new();
    let mut after_seq = 0;
    loop {
        let url = format!("{base}/api/v1/conversations/{conversation}/messages?after_seq={after_seq}&limit=200");
        let page = get_json(&client, &url, token).await;
        let batch = page["messages"].as_array().cloned().unwrap_or_default();
        after_seq = batch.last().and_then(|m| m["seq"].as_i64()).unwrap_or(after_seq);
        messages.extend(batch);
        if page["has_more"] != true {
            return messages;
        }
    }
}

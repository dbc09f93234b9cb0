//! The real `hallway-server` binary, for the tests that kill it or its database and start it again.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use reqwest::StatusCode;
use serde_json::Value;
use sqlx::postgres::PgConnectOptions;
use tokio::process::{Child, Command};

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

/// The embedded cluster's directory in a server's data dir (the tests' data dirs are reachable by the postgres
/// user, so the cluster lives there).
fn cluster_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("postgres")
}

/// The pid of the embedded cluster's postmaster, from `postmaster.pid` in its data directory; `None` while no
/// cluster runs there (or one was killed and its file not yet cleared).
pub fn postmaster_pid(data_dir: &Path) -> Option<i32> {
    let text = std::fs::read_to_string(cluster_dir(data_dir).join("pgdata/postmaster.pid")).ok()?;
    text.lines().next().and_then(|line| line.trim().parse().ok())
}

/// Whether `pid` is a running postgres process (not a zombie, not a recycled pid of something else).
pub fn is_running_postgres(pid: i32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { return false };
    let running = stat.rsplit_once(')').is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z'));
    running && stat.split_once(" (").is_some_and(|(_, rest)| rest.starts_with("postgres"))
}

/// Connection options for the server's own database in its embedded cluster, through the cluster's socket.
pub fn embedded_database(data_dir: &Path) -> PgConnectOptions {
    PgConnectOptions::new()
        .socket(cluster_dir(data_dir).join("socket"))
        .port(5432)
        .username("postgres")
        .database(hallway_server::store::EMBEDDED_DATABASE)
}

/// A `hallway-server` that runs its own embedded cluster. Dropped, say by a failing assertion, it kills the
/// server and then the cluster's postmaster (an immediate shutdown): the cluster is a daemon of its own, which
/// the server's death leaves running.
pub struct ServerWithCluster {
    pub child: Child,
    data_dir: PathBuf,
}

impl ServerWithCluster {
    /// Spawns `command`, a `serve` on `data_dir` without `DATABASE_URL`.
    pub fn spawn(mut command: Command, data_dir: &Path) -> ServerWithCluster {
        let child = command.spawn().unwrap_or_else(|err| panic!("starting hallway-server: {err}"));
        ServerWithCluster { child, data_dir: data_dir.to_owned() }
    }

    /// SIGTERM, then waits (bounded) for the server to stop by itself; whether it exited with status 0.
    pub async fn stop(&mut self, limit: Duration) -> bool {
        if let Some(pid) = self.child.id() {
            let _ = kill(Pid::from_raw(pid as i32), Signal::SIGTERM);
        }
        let stopped = tokio::time::timeout(limit, self.child.wait()).await;
        stopped.is_ok_and(|status| status.is_ok_and(|status| status.success()))
    }
}

impl Drop for ServerWithCluster {
    fn drop(&mut self) {
        // The server first, so that it starts no cluster again.
        if self.child.start_kill().is_ok() {
            let deadline = Instant::now() + Duration::from_secs(5);
            while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        // A `pg_ctl start` the server had begun outlives it and may start a postmaster a moment later, before
        // or after writing the pid file: so look for processes naming the cluster's directory, until none has
        // been seen for a while. SIGQUIT is PostgreSQL's immediate shutdown, which ends its backends too.
        let pgdata = cluster_dir(&self.data_dir).join("pgdata");
        let (deadline, mut quiet_since) = (Instant::now() + Duration::from_secs(15), Instant::now());
        while Instant::now() < deadline && quiet_since.elapsed() < Duration::from_secs(1) {
            for (pid, command) in processes_naming(&pgdata) {
                let signal = if command.contains("pg_ctl") { Signal::SIGKILL } else { Signal::SIGQUIT };
                let _ = kill(Pid::from_raw(pid), signal);
                quiet_since = Instant::now();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Running processes (not zombies) whose command line names `dir`, with that command line.
fn processes_naming(dir: &Path) -> Vec<(i32, String)> {
    let needle = dir.to_string_lossy().into_owned();
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|name| name.parse::<i32>().ok()) else { continue };
        let Ok(command) = std::fs::read(entry.path().join("cmdline")) else { continue };
        let command = String::from_utf8_lossy(&command).replace('\0', " ");
        let zombie = std::fs::read_to_string(entry.path().join("stat"))
            .ok()
            .and_then(|stat| stat.rsplit_once(')').map(|(_, rest)| rest.trim_start().starts_with('Z')))
            .unwrap_or(true);
        if command.contains(&needle) && !zombie {
            found.push((pid, command));
        }
    }
    found
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

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

use std::path::Path;
use std::time::Duration;

use hallway_test_support::{JWT_SECRET, TestServer, fresh_database_with_url, reachable_temp_dir};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use rand::Rng;
use reqwest::StatusCode;
use support::load::{self, Load};
use support::process;
use tokio::process::Child;

mod support;

/// How long the clients may take, beyond the kills' own time, to get everything they sent acknowledged.
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

#[actix_web::test]
async fn acknowledged_messages_survive_sigkill_under_load_exactly_once_without_gaps() {
    let (pool, database_url) = fresh_database_with_url().await;
    // People, a group and tokens, made on the same database; the binary accepts the tokens since it signs with
    // the same secret.
    let setup = TestServer::start_on(pool.clone()).await;
    let (conversation, senders) = load::class_of_three_senders(&setup).await;
    drop(setup);

    let data_dir = reachable_temp_dir().unwrap();
    let port = process::free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut server = spawn_server(&database_url, data_dir.path(), port);
    wait_ready(&base).await;

    // Each kill pauses up to 1.2 s and a restart takes a second or two.
    let load = Load::start(&base, conversation, &senders, CLIENT_GRACE + Duration::from_secs(3 * kills() as u64));
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
    let reports = load.finish().await;

    let total = load::assert_acknowledged_stored_once_and_read_by_all(&pool, &base, conversation, &reports).await;
    println!("{total} messages acknowledged across {} kills", kills());
    kill(Pid::from_raw(server.id().expect("the server is running") as i32), Signal::SIGTERM).unwrap();
    let _ = tokio::time::timeout(Duration::from_secs(15), server.wait()).await;
}

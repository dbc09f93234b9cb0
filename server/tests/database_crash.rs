//! Crash safety of the database: a steady send load over sockets from several clients while the postmaster of
//! the real `hallway-server`'s own embedded cluster is killed with SIGKILL at random moments. The server must
//! answer 503 `unavailable` at once while its database is down, restart the cluster by itself, and acknowledge
//! new messages again; the clients do what the SDK does (`support::load`). Then every acknowledged message is
//! stored exactly once, with the seq its ack named, the seqs have no gap, every member reads all of them, and
//! unread counts are right.
//!
//! `HALLWAY_POSTMASTER_KILLS` sets how many times the postmaster is killed: 10 by default (CI), 100 for the long
//! run (`HALLWAY_POSTMASTER_KILLS=100 cargo nextest run --profile long -p hallway-server --test database_crash`;
//! the test needs no test cluster of its own, the server brings its embedded one).

#![expect(clippy::expect_used, reason = "helpers of a test fail the test loudly when setup breaks")]

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use hallway_test_support::{JWT_SECRET, TestServer, reachable_temp_dir};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use rand::Rng;
use reqwest::StatusCode;
use serde_json::Value;
use sqlx::postgres::PgPoolOptions;
use support::load::{self, Load};
use support::process::{self, ServerWithCluster};
use tokio::task::JoinHandle;

mod support;

/// How long the clients may take, beyond the kills' own time, to get everything they sent acknowledged.
const CLIENT_GRACE: Duration = Duration::from_secs(60);
/// The longest a kill may take until the server has restarted the cluster and answers again: two failed probes
/// a second apart, then `pg_ctl start` with crash recovery, on a loaded 2-core machine.
const RECOVERY_LIMIT: Duration = Duration::from_secs(60);
/// New messages acknowledged after each recovery before the next kill.
const ACKS_AFTER_RECOVERY: usize = 10;
/// An answer this fast is "at once"; the pool alone would have waited 10 s before its 503.
const QUICK: Duration = Duration::from_secs(1);
/// How often a REST call probes the server while its database is down.
const PROBE_EVERY: Duration = Duration::from_millis(100);
/// The longest one probe may take (beyond the pool's 10 s acquire timeout).
const PROBE_TIMEOUT: Duration = Duration::from_secs(15);

fn kills() -> usize {
    std::env::var("HALLWAY_POSTMASTER_KILLS").ok().and_then(|v| v.parse().ok()).unwrap_or(10)
}

/// The binary with its own embedded cluster (no `DATABASE_URL`), send limits out of the way of the load, and
/// the tests' token secret so the tokens made at setup are accepted.
fn spawn_server(data_dir: &Path, port: u16) -> ServerWithCluster {
    let mut command = process::serve(data_dir, port);
    command
        .args(["--ws-sends-per-sec", "100000", "--ws-send-burst", "100000"])
        .env_remove("DATABASE_URL")
        .env("HALLWAY_JWT_SECRET", JWT_SECRET);
    ServerWithCluster::spawn(command, data_dir)
}

/// What one REST call got while the database was down or coming back.
#[derive(Debug)]
struct ProbeAnswer {
    /// The status, or `None` when no answer came within `PROBE_TIMEOUT`.
    status: Option<StatusCode>,
    took: Duration,
    retry_after: bool,
    code: String,
}

impl ProbeAnswer {
    /// 503 `unavailable` with `Retry-After`.
    fn is_unavailable(&self) -> bool {
        self.status == Some(StatusCode::SERVICE_UNAVAILABLE) && self.code == "unavailable" && self.retry_after
    }

    /// 503 `unavailable` with `Retry-After`, at once.
    fn is_quick_unavailable(&self) -> bool {
        self.is_unavailable() && self.took < QUICK
    }
}

async fn probe(client: reqwest::Client, url: String, token: String) -> ProbeAnswer {
    let started = Instant::now();
    let answer = client.get(&url).bearer_auth(&token).timeout(PROBE_TIMEOUT).send().await;
    let took = started.elapsed();
    let Ok(answer) = answer else { return ProbeAnswer { status: None, took, retry_after: false, code: String::new() } };
    let status = Some(answer.status());
    let retry_after = answer.headers().contains_key("retry-after");
    let body: Value = answer.json().await.unwrap_or_default();
    let code = body["error"]["code"].as_str().unwrap_or_default().to_owned();
    ProbeAnswer { status, took, retry_after, code }
}

/// Calls the API every `PROBE_EVERY`, each call on its own (one waiting on the pool does not hold the next
/// back), until `done`; the answers.
fn keep_probing(base: &str, token: &str, done: Arc<AtomicBool>) -> JoinHandle<Vec<ProbeAnswer>> {
    let (client, url, token) = (reqwest::Client::new(), format!("{base}/api/v1/conversations"), token.to_owned());
    tokio::spawn(async move {
        let mut calls = Vec::new();
        while !done.load(Ordering::SeqCst) {
            calls.push(tokio::spawn(probe(client.clone(), url.clone(), token.clone())));
            tokio::time::sleep(PROBE_EVERY).await;
        }
        let mut answers = Vec::new();
        for call in calls {
            answers.push(call.await.expect("a probe finished"));
        }
        answers
    })
}

/// Waits until the server has started a new postmaster in place of `killed` and answers `/readyz` with 200,
/// failing the test after `RECOVERY_LIMIT`; how long that took.
async fn until_cluster_restarted(client: &reqwest::Client, base: &str, data_dir: &Path, killed: i32) -> Duration {
    let started = Instant::now();
    loop {
        let restarted = process::postmaster_pid(data_dir).is_some_and(|pid| pid != killed);
        if restarted {
            let ready = client.get(format!("{base}/readyz")).timeout(Duration::from_secs(5)).send().await;
            if ready.is_ok_and(|answer| answer.status() == StatusCode::OK) {
                return started.elapsed();
            }
        }
        assert!(
            started.elapsed() < RECOVERY_LIMIT,
            "the server did not restart its cluster within {RECOVERY_LIMIT:?} of the postmaster's death \
             (postmaster.pid names {:?}; the killed one was {killed})",
            process::postmaster_pid(data_dir)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[actix_web::test]
async fn acknowledged_messages_survive_postmaster_sigkill_under_load_exactly_once_without_gaps() {
    let started = Instant::now();
    let data_dir = reachable_temp_dir().unwrap();
    let port = process::free_port();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let mut server = spawn_server(data_dir.path(), port);
    // The first start creates the cluster and migrates it.
    process::until_status(&client, &format!("{base}/readyz"), StatusCode::OK, Duration::from_secs(90)).await;

    // People, a group and tokens, made on the server's own database (through its cluster's socket); the binary
    // accepts the tokens since it signs with the same secret.
    let pool = PgPoolOptions::new()
        .max_connections(2)
        .connect_with(process::embedded_database(data_dir.path()))
        .await
        .expect("connecting to the server's embedded cluster");
    let setup = TestServer::start_on(pool.clone()).await;
    let (conversation, senders) = load::class_of_three_senders(&setup).await;
    // Only the server uses the cluster while it is killed.
    let setup_pool = setup.pool.clone();
    drop(setup);
    for pool in [setup_pool, pool] {
        let _ = tokio::time::timeout(Duration::from_secs(10), pool.close()).await;
    }

    // Each kill pauses up to 1.2 s, the outage lasts a few seconds, and so may the waits for acks after it.
    let mut load = Load::start(&base, conversation, &senders, CLIENT_GRACE + Duration::from_secs(10 * kills() as u64));
    load.until_acknowledged(ACKS_AFTER_RECOVERY, RECOVERY_LIMIT, "before the first kill").await;
    let pauses: Vec<u64> = {
        let mut rng = rand::thread_rng();
        (0..kills()).map(|_| rng.gen_range(200..1200)).collect()
    };
    let (mut quick_unavailable, mut outages) = (0usize, Vec::new());
    for (index, pause) in pauses.into_iter().enumerate() {
        tokio::time::sleep(Duration::from_millis(pause)).await;
        let postmaster = process::postmaster_pid(data_dir.path()).expect("the embedded cluster runs");
        let done = Arc::new(AtomicBool::new(false));
        let probing = keep_probing(&base, &senders[0].token, done.clone());
        kill(Pid::from_raw(postmaster), Signal::SIGKILL).expect("killing the postmaster");
        outages.push(until_cluster_restarted(&client, &base, data_dir.path(), postmaster).await);
        done.store(true, Ordering::SeqCst);
        let answers = probing.await.expect("the probes finished");
        // Calls made while the database is known down get 503 at once. One already waiting on the pool when it
        // died is answered when the cluster is back, or with 503 after the pool's timeout. Nothing else: no
        // 500, no hang.
        for answer in &answers {
            let fine = answer.status == Some(StatusCode::OK) || answer.is_unavailable();
            assert!(fine, "kill {}: a REST call during the outage got {answer:?}", index + 1);
        }
        quick_unavailable += answers.iter().filter(|answer| answer.is_quick_unavailable()).count();
        load.until_acknowledged(ACKS_AFTER_RECOVERY, RECOVERY_LIMIT, &format!("after kill {}", index + 1)).await;
    }
    assert!(quick_unavailable > 0, "no REST call got a quick 503 `unavailable` while the database was down");
    let reports = load.finish().await;

    let pool = PgPoolOptions::new()
        .max_connections(2)
        .connect_with(process::embedded_database(data_dir.path()))
        .await
        .expect("connecting to the server's embedded cluster");
    let total = load::assert_acknowledged_stored_once_and_read_by_all(&pool, &base, conversation, &reports).await;
    pool.close().await;
    let longest = outages.iter().max().copied().unwrap_or_default();
    let refusals: usize = reports.iter().flat_map(|(_, report)| report.refusals.values()).sum();
    let reconnects: usize = reports.iter().map(|(_, report)| report.reconnects).sum();
    println!(
        "{total} messages acknowledged across {} postmaster kills in {:.0?}; longest outage {longest:.1?}; \
         {quick_unavailable} quick 503s; {refusals} sends refused and resent; {reconnects} reconnects",
        kills(),
        started.elapsed()
    );

    let postmaster = process::postmaster_pid(data_dir.path()).expect("the embedded cluster runs");
    assert!(server.stop(Duration::from_secs(30)).await, "the server stops cleanly after the kills");
    assert!(!process::is_running_postgres(postmaster), "the server stopped its cluster");
}

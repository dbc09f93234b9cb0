//! The reconnect storm: N connected phones lose their sockets at once (a school's Wi-Fi restarting, a load
//! balancer failing over) while messages keep arriving, and come back the way the SDK does: after the
//! contract's backoff with jitter (`hallway_protocol::reconnect`), socket first, then `GET /sync?since=` from the
//! token they held. The run checks that everyone ends consistent (each phone holds every message sent to its
//! conversations during the outage, by the socket or by the catch-up) and measures how the server's memory
//! rises and returns, its CPU time, and how many catch-up requests each phone needed. With a restart command,
//! the server itself restarts at the drop (the harder case: every actor and cache starts cold, and the phones'
//! first attempts are refused until it is back).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use anyhow::Context;
use futures_util::StreamExt;
use hallway_loadgen::seed::SeedOutput;
use hallway_protocol::reconnect;
use hallway_protocol::sync::{SYNC_MAX_LIMIT, SyncResponse};
use hallway_protocol::ws::ServerFrame;
use hdrhistogram::Histogram;
use serde_json::{Value, json};
use tokio::sync::{Semaphore, watch};
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

use crate::Cli;
use crate::client::{self, Socket, source_address};
use crate::scenarios::{
    CONNECT_CONCURRENCY, PeakSampler, cpu_secs, find_server_pid, http_client, latency_summary, new_histogram, rss_kib,
};

/// How long one connection attempt (upgrade and `hello`) may take, as in the SDK.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// After the drop, how long everyone has to reconnect and catch up before the run counts them as failed.
const CATCH_UP_DEADLINE: Duration = Duration::from_secs(300);
/// How many busy answers (503, 429) one catch-up waits out before the phone counts as failed.
const CATCH_UP_ATTEMPTS: u32 = 20;
/// When the server's memory is read again after the last phone caught up (seconds, up to `--settle-secs`): how
/// fast the allocator hands back what the storm took.
const SETTLE_READINGS: [u64; 5] = [1, 5, 10, 20, 30];

/// The messages sent during the outage, by conversation.
type Posted = HashMap<Uuid, Vec<Uuid>>;

/// Where the run stands; every phone's task follows it.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Phase {
    Connecting,
    Drop,
    Finish,
}

/// What one phone went through after the drop.
#[derive(Default)]
struct Outcome {
    /// From the drop to the `hello` of the new socket.
    reconnect_micros: Option<u64>,
    /// From the drop to holding every message expected, by socket and catch-up together.
    consistent_micros: Option<u64>,
    attempts: u32,
    /// `GET /sync` requests of the catch-up after the drop, busy answers waited out included.
    sync_requests: u32,
    /// Expected messages this phone never got.
    missing: usize,
    /// Messages it got by the catch-up and by the socket (both count once in `consistent`).
    by_sync: usize,
    by_socket: usize,
    error: Option<String>,
}

/// What every phone shares: where to talk, when to act, what it should end up holding.
struct Run {
    /// The server under test.
    server: std::net::SocketAddr,
    http: reqwest::Client,
    phase: watch::Receiver<Phase>,
    /// The messages sent during the outage, by conversation: known once they are all sent.
    expected: watch::Receiver<Option<Arc<Posted>>>,
    /// Phones connected before the drop.
    connected: AtomicUsize,
    /// Phones done: consistent after the storm, or failed.
    settled: AtomicUsize,
    /// Catch-up requests answered 503 or 429 (then waited out and sent again).
    busy: AtomicUsize,
    /// Catch-up requests that failed in transport (then sent again after the backoff).
    network_retries: AtomicUsize,
    /// When the sockets were dropped: set once, before the phase turns to `Drop`.
    dropped_at: OnceLock<Instant>,
    source_addresses: u8,
}

/// Drops `n` sockets at once and lets them reconnect as the SDK does; see the module's documentation.
pub async fn storm(
    cli: &Cli,
    seed: &SeedOutput,
    n: usize,
    settle_secs: u64,
    restart_command: Option<&str>,
) -> anyhow::Result<Value> {
    anyhow::ensure!(n >= 1 && n <= seed.users.len(), "asked for {n} phones, the seed has {} users", seed.users.len());
    let mut pid =
        cli.server_pid.or_else(find_server_pid).context("no hallway-server process found: pass --server-pid")?;
    let mut conversations_of: Vec<Vec<Uuid>> = vec![Vec::new(); n];
    for group in &seed.groups {
        for &member in group.members.iter().filter(|&&m| m < n) {
            conversations_of[member].push(group.id);
        }
    }
    let (phase_tx, phase) = watch::channel(Phase::Connecting);
    let (expected_tx, expected) = watch::channel(None);
    let run = Arc::new(Run {
        server: cli.server,
        http: http_client(CONNECT_CONCURRENCY)?,
        phase,
        expected,
        connected: AtomicUsize::new(0),
        settled: AtomicUsize::new(0),
        busy: AtomicUsize::new(0),
        network_retries: AtomicUsize::new(0),
        dropped_at: OnceLock::new(),
        source_addresses: cli.source_addresses,
    });
    let permits = Arc::new(Semaphore::new(CONNECT_CONCURRENCY));
    let started = Instant::now();
    let phones: Vec<_> = (0..n)
        .map(|i| {
            let (run, permits) = (Arc::clone(&run), Arc::clone(&permits));
            let (token, conversations) = (seed.users[i].token.clone(), std::mem::take(&mut conversations_of[i]));
            tokio::spawn(async move { phone(&run, i, &token, &conversations, &permits).await })
        })
        .collect();

    // Everyone connected (or failed before the storm, which fails the run below).
    while run.connected.load(Ordering::Relaxed) + run.settled.load(Ordering::Relaxed) < n
        && started.elapsed() < CATCH_UP_DEADLINE
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let connected = run.connected.load(Ordering::Relaxed);
    let connect_secs = started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let baseline = rss_kib(pid).context("reading the server's memory")?;

    // The drop (and the restart, if asked), then the messages the phones miss while they are away.
    let mut cpu_before = cpu_secs(pid).context("reading the server's CPU time")?;
    let dropped = Instant::now();
    let _ = run.dropped_at.set(dropped);
    phase_tx.send_replace(Phase::Drop);
    if let Some(command) = restart_command {
        pid = restart(command).await?;
        cpu_before = 0.0;
    }
    let sampler = PeakSampler::start(pid);
    let posted = post_during_outage(cli, seed, &run.http).await?;
    let posting_secs = dropped.elapsed().as_secs_f64();
    let messages_posted: usize = posted.values().map(Vec::len).sum();
    expected_tx.send_replace(Some(Arc::new(posted)));
    while run.settled.load(Ordering::Relaxed) < n && dropped.elapsed() < CATCH_UP_DEADLINE + ATTEMPT_TIMEOUT {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let storm_secs = dropped.elapsed().as_secs_f64();
    let storm_cpu_secs = cpu_secs(pid).context("reading the server's CPU time (did it die?)")? - cpu_before;
    let settled_at = Instant::now();
    let mut settling = Vec::new();
    for secs in SETTLE_READINGS.into_iter().filter(|&secs| secs <= settle_secs.max(1)) {
        tokio::time::sleep(Duration::from_secs(secs).saturating_sub(settled_at.elapsed())).await;
        let kib = rss_kib(pid).context("reading the server's memory (did it die?)")?;
        settling.push(json!({"secs": secs, "rss_kib": kib}));
    }
    let peak = sampler.stop().await;
    let after = rss_kib(pid).context("reading the server's memory (did it die?)")?;
    let healthz = run.http.get(format!("http://{}/healthz", cli.server)).send().await.map(|r| r.status().as_u16());
    phase_tx.send_replace(Phase::Finish);

    let mut outcomes = Vec::with_capacity(n);
    for phone in phones {
        outcomes.push(
            tokio::time::timeout(Duration::from_secs(30), phone)
                .await
                .unwrap_or(Ok(Outcome { error: Some("did not stop".into()), ..Outcome::default() }))?,
        );
    }
    summarise(n, connected, connect_secs, messages_posted, storm_secs, &outcomes).map(|mut result| {
        result["server_rss_baseline_kib"] = json!(baseline);
        result["server_rss_peak_kib"] = json!(peak);
        result["server_rss_after_kib"] = json!(after);
        result["server_rss_settling"] = json!(settling);
        result["server_rss_after_minus_baseline_kib"] = json!(after as i64 - baseline as i64);
        result["server_healthz_after"] = json!(healthz.ok());
        result["catch_ups_answered_busy"] = json!(run.busy.load(Ordering::Relaxed));
        result["catch_ups_retried_after_network_errors"] = json!(run.network_retries.load(Ordering::Relaxed));
        // From the drop until every message of the outage was acknowledged: what a teacher sending during the
        // storm waits.
        result["drop_to_all_sent_secs"] = json!(posting_secs);
        // From the drop until everyone was consistent (a restarted server's whole life so far).
        result["server_cpu_secs"] = json!(storm_cpu_secs);
        result["server_restarted"] = json!(restart_command.is_some());
        result
    })
}

/// Runs the restart command and answers the new server's process id (the last line it printed).
pub(crate) async fn restart(command: &str) -> anyhow::Result<u32> {
    let output = tokio::process::Command::new("sh").arg("-c").arg(command).output().await?;
    anyhow::ensure!(output.status.success(), "the restart command failed: {}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8_lossy(&output.stdout);
    stdout.lines().last().and_then(|line| line.trim().parse().ok()).context("the restart command printed no process id")
}

/// One message in each group, from its first member, over REST, while the phones are away: what they must
/// all end up holding.
async fn post_during_outage(cli: &Cli, seed: &SeedOutput, http: &reqwest::Client) -> anyhow::Result<Posted> {
    let base = format!("http://{}/api/v1", cli.server);
    let sent: Vec<anyhow::Result<(Uuid, Uuid)>> = futures_util::stream::iter(&seed.groups)
        .map(|group| {
            let url = format!("{base}/conversations/{}/messages", group.id);
            let token = group.members.first().map(|&m| seed.users[m].token.clone()).unwrap_or_default();
            async move {
                let body = json!({"client_msg_id": Uuid::now_v7(), "body": "Sent while everyone was away"});
                let message: Value =
                    http.post(url).bearer_auth(token).json(&body).send().await?.error_for_status()?.json().await?;
                let id = message["id"].as_str().and_then(|id| id.parse().ok()).context("the send answered no id")?;
                Ok((group.id, id))
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    let mut posted = Posted::new();
    for message in sent {
        let (conversation, id) = message?;
        posted.entry(conversation).or_default().push(id);
    }
    Ok(posted)
}

/// One phone: catch up, connect, hold the socket until the drop, then come back as the SDK does.
async fn phone(run: &Run, index: usize, token: &str, conversations: &[Uuid], permits: &Semaphore) -> Outcome {
    let mut outcome = Outcome::default();
    if let Err(err) = phone_inner(run, index, token, conversations, permits, &mut outcome).await {
        outcome.error = Some(format!("{err:#}"));
    }
    if outcome.consistent_micros.is_none() {
        // Failed before or during the storm: counted, so the run does not wait for it.
        run.settled.fetch_add(1, Ordering::Relaxed);
    }
    outcome
}

async fn phone_inner(
    run: &Run,
    index: usize,
    token: &str,
    conversations: &[Uuid],
    permits: &Semaphore,
    outcome: &mut Outcome,
) -> anyhow::Result<()> {
    let source = source_address(index, run.source_addresses);
    let (since, ws) = {
        let _permit = permits.acquire().await?;
        let (since, _, _) = catch_up(run, token, None).await.context("the first catch-up")?;
        (since, client::connect(run.server, token, source).await.context("the first connection")?)
    };
    run.connected.fetch_add(1, Ordering::Relaxed);
    let mut phase = run.phase.clone();
    hold(ws, &mut phase, Phase::Drop).await.context("the socket closed before the drop")?;
    // Dropped without a close frame: to the server it is a connection that died.
    let dropped = *run.dropped_at.get().context("dropped with no time")?;

    let mut failures = 0;
    let ws = loop {
        failures += 1;
        outcome.attempts = failures;
        tokio::time::sleep(reconnect::delay(failures, rand::random::<f64>())).await;
        anyhow::ensure!(dropped.elapsed() < CATCH_UP_DEADLINE, "still not reconnected after {failures} attempts");
        if let Ok(Ok(ws)) = tokio::time::timeout(ATTEMPT_TIMEOUT, client::connect(run.server, token, source)).await {
            break ws;
        }
    };
    outcome.reconnect_micros = Some(dropped.elapsed().as_micros() as u64);
    let ws = reconcile(run, ws, token, &since, conversations, dropped, outcome).await?;
    run.settled.fetch_add(1, Ordering::Relaxed);
    hold(ws, &mut phase, Phase::Finish).await;
    Ok(())
}

/// Reads the socket (so pings are answered) until the run reaches `until`; the socket is then dropped.
async fn hold(mut ws: Socket, phase: &mut watch::Receiver<Phase>, until: Phase) -> Option<()> {
    loop {
        if *phase.borrow_and_update() >= until {
            if until == Phase::Finish {
                let _ = ws.close(None).await;
            }
            return Some(());
        }
        tokio::select! {
            frame = ws.next() => if !matches!(frame, Some(Ok(_))) { return None },
            changed = phase.changed() => changed.ok()?,
        }
    }
}

/// The catch-up after the reconnect, while reading the new socket: done when every message sent during the
/// outage to this phone's conversations arrived by one or the other.
async fn reconcile(
    run: &Run,
    mut ws: Socket,
    token: &str,
    since: &str,
    conversations: &[Uuid],
    dropped: Instant,
    outcome: &mut Outcome,
) -> anyhow::Result<Socket> {
    let mut expected = run.expected.clone();
    let (mut by_sync, mut by_socket) = (HashSet::new(), HashSet::new());
    let sync = catch_up(run, token, Some(since));
    tokio::pin!(sync);
    let mut synced = false;
    let deadline = tokio::time::Instant::from_std(dropped + CATCH_UP_DEADLINE);
    loop {
        let wanted: Option<Vec<Uuid>> = expected
            .borrow_and_update()
            .as_ref()
            .map(|posted| conversations.iter().flat_map(|c| posted.get(c).into_iter().flatten().copied()).collect());
        if let (true, Some(wanted)) = (synced, &wanted) {
            let missing = wanted.iter().filter(|id| !by_sync.contains(*id) && !by_socket.contains(*id)).count();
            outcome.missing = missing;
            if missing == 0 {
                outcome.consistent_micros = Some(dropped.elapsed().as_micros() as u64);
                (outcome.by_sync, outcome.by_socket) = (by_sync.len(), by_socket.len());
                return Ok(ws);
            }
        }
        tokio::select! {
            page = &mut sync, if !synced => {
                let (_, ids, requests) = page.context("the catch-up after reconnecting")?;
                by_sync.extend(ids);
                outcome.sync_requests = requests;
                synced = true;
            }
            frame = ws.next() => match frame {
                Some(Ok(Message::Text(text))) => {
                    if let Ok(ServerFrame::Message { message }) = serde_json::from_str(&text) {
                        by_socket.insert(message.id);
                    }
                }
                Some(Ok(_)) => {}
                _ => anyhow::bail!("the new socket closed during the catch-up"),
            },
            changed = expected.changed() => changed?,
            () = tokio::time::sleep_until(deadline) => {
                anyhow::bail!("{} expected messages still missing at the deadline", outcome.missing)
            }
        }
    }
}

/// `GET /sync` from `since` (the start of time without one) until `has_more` is false: the next token, the
/// ids of the messages it answered, and how many requests that took. A busy server's 503 (or 429) is waited
/// out as the SDK does: after its `Retry-After`, else the contract's backoff; each such answer is counted in
/// `busy`. A request that fails in transport is sent again after the backoff, as the SDK does.
async fn catch_up(run: &Run, token: &str, since: Option<&str>) -> anyhow::Result<(String, Vec<Uuid>, u32)> {
    let url = format!("http://{}/api/v1/sync", run.server);
    let mut since = since.map(str::to_owned);
    let mut ids = Vec::new();
    let (mut failures, mut requests) = (0, 0);
    loop {
        requests += 1;
        let mut request = run.http.get(&url).bearer_auth(token).query(&[("limit", SYNC_MAX_LIMIT)]);
        if let Some(since) = &since {
            request = request.query(&[("since", since)]);
        }
        let response = match request.send().await {
            Ok(response) => response,
            // The network failed (or the server dropped the connection): tried again, as the SDK does for a
            // transient failure.
            Err(_) if failures < CATCH_UP_ATTEMPTS => {
                failures += 1;
                run.network_retries.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(reconnect::delay(failures, rand::random())).await;
                continue;
            }
            Err(err) => return Err(err.into()),
        };
        let status = response.status();
        if status.as_u16() == 429 || status.is_server_error() {
            failures += 1;
            run.busy.fetch_add(1, Ordering::Relaxed);
            anyhow::ensure!(failures <= CATCH_UP_ATTEMPTS, "the catch-up was answered {status} {failures} times");
            let retry_after = response.headers().get("retry-after").and_then(|v| v.to_str().ok()?.parse().ok());
            let wait = retry_after.map_or_else(|| reconnect::delay(failures, rand::random()), Duration::from_secs);
            tokio::time::sleep(wait).await;
            continue;
        }
        let page: SyncResponse = response.error_for_status()?.json().await?;
        ids.extend(page.messages.iter().map(|m| m.id));
        since = Some(page.next);
        if !page.has_more {
            return Ok((since.unwrap_or_default(), ids, requests));
        }
    }
}

fn summarise(
    n: usize,
    connected: usize,
    connect_secs: f64,
    messages_posted: usize,
    storm_secs: f64,
    outcomes: &[Outcome],
) -> anyhow::Result<Value> {
    let (mut reconnect, mut consistent): (Histogram<u64>, Histogram<u64>) = (new_histogram()?, new_histogram()?);
    let (mut attempts, mut sync_requests) = (new_histogram()?, new_histogram()?);
    let mut errors: HashMap<&str, usize> = HashMap::new();
    for outcome in outcomes {
        if let Some(micros) = outcome.reconnect_micros {
            reconnect.record(micros.max(1))?;
        }
        if let Some(micros) = outcome.consistent_micros {
            consistent.record(micros.max(1))?;
        }
        attempts.record(u64::from(outcome.attempts.max(1)))?;
        if outcome.consistent_micros.is_some() {
            sync_requests.record(u64::from(outcome.sync_requests.max(1)))?;
        }
        if let Some(error) = &outcome.error {
            *errors.entry(error.as_str()).or_default() += 1;
        }
    }
    let mut errors: Vec<(&str, usize)> = errors.into_iter().collect();
    errors.sort_by_key(|&(_, phones)| std::cmp::Reverse(phones));
    errors.truncate(5);
    Ok(json!({
        "scenario": "reconnect",
        "phones": n,
        "connected_before": connected,
        "connect_secs": connect_secs,
        "messages_sent_during_outage": messages_posted,
        "reconnected": reconnect.len(),
        "consistent": consistent.len(),
        "missing_messages": outcomes.iter().map(|o| o.missing).sum::<usize>(),
        "received_by_catch_up": outcomes.iter().map(|o| o.by_sync).sum::<usize>(),
        "received_by_socket": outcomes.iter().map(|o| o.by_socket).sum::<usize>(),
        "storm_secs": storm_secs,
        "attempts_per_phone": {"mean": attempts.mean(), "max": attempts.max()},
        "sync_requests_per_phone": {"mean": sync_requests.mean(), "max": sync_requests.max()},
        "drop_to_reconnected": latency_summary(&reconnect),
        "drop_to_consistent": latency_summary(&consistent),
        "errors": errors.into_iter().map(|(e, count)| json!({"error": e, "phones": count})).collect::<Vec<_>>(),
    }))
}

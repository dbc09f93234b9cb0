//! The scenarios. Each stops by itself (bounded durations and timeouts) and returns one JSON object.

use std::borrow::Cow;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use futures_util::{SinkExt, StreamExt};
use hallway_loadgen::seed::{SeedOutput, SeededGroup};
use hdrhistogram::Histogram;
use serde_json::{Value, json};
use tokio::sync::{Semaphore, watch};
use tokio_tungstenite::tungstenite::Message;

use crate::client::{self, source_address};
use crate::{Cli, Scenario};

/// Connections being opened at once (more only queues SYNs and handshakes).
pub(crate) const CONNECT_CONCURRENCY: usize = 256;
/// How long a scenario waits for its connections to open before giving up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(900);
/// How long after the last send the receivers keep listening for stragglers.
const DRAIN: Duration = Duration::from_secs(3);

/// Runs the scenario the command line names.
pub async fn run(cli: &Cli) -> anyhow::Result<Value> {
    let seed: SeedOutput = serde_json::from_slice(
        &std::fs::read(&cli.tokens).with_context(|| format!("reading {}", cli.tokens.display()))?,
    )?;
    match cli.scenario {
        Scenario::Connections { n, hold_secs } => connections(cli, &seed, n, Duration::from_secs(hold_secs)).await,
        Scenario::Fanout { groups, members, rate, secs } => {
            fanout(cli, &seed, groups, members, rate, Duration::from_secs(secs)).await
        }
        Scenario::Burst { members } => burst(cli, &seed, members).await,
        Scenario::Reactions { members, changes } => crate::reactions::reactions(cli, &seed, members, changes).await,
        Scenario::Pingpong { pairs, round_trips } => pingpong(cli, &seed, pairs, round_trips).await,
        Scenario::History { requests, concurrency } => history(cli, &seed, requests, concurrency).await,
        Scenario::Logins { requests, concurrency, ref password } => {
            logins(cli, &seed, requests, concurrency, password).await
        }
        Scenario::Receipts { members, requests, concurrency } => {
            receipts(cli, &seed, members, requests, concurrency).await
        }
        Scenario::Reconnect { n, settle_secs, ref restart_command } => {
            crate::storm::storm(cli, &seed, n, settle_secs, restart_command.as_deref()).await
        }
        Scenario::Push { members, messages, ref restart_command } => {
            crate::push::push(cli, &seed, members, messages, restart_command.as_deref()).await
        }
    }
}

/// Linux reports process CPU times in USER_HZ ticks, fixed at 100 per second for user space on every
/// architecture this runs on (sysconf(_SC_CLK_TCK)); read by hand to avoid a libc dependency for one constant.
const TICKS_PER_SEC: f64 = 100.0;

/// The user plus system CPU time a process has used so far, in seconds (fields 14 and 15 of /proc/PID/stat,
/// counted after the command name, which may itself hold spaces and parentheses).
pub(crate) fn cpu_secs(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = stat.get(stat.rfind(')')? + 2..)?;
    let mut fields = after_name.split(' ').skip(11);
    let ticks = fields.next()?.parse::<u64>().ok()? + fields.next()?.parse::<u64>().ok()?;
    Some(ticks as f64 / TICKS_PER_SEC)
}

/// Resident memory of a process in KiB, from /proc.
pub(crate) fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The peak resident memory of a process so far (`VmHWM`) in KiB, from /proc.
fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The pid of the running `hallway-server`, when not given.
pub(crate) fn find_server_pid() -> Option<u32> {
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|entry| {
        let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
        let comm = std::fs::read_to_string(entry.path().join("comm")).ok()?;
        (comm.trim() == "hallway-server").then_some(pid)
    })
}

/// Samples a process's resident memory every 20 ms until stopped, and keeps the highest value seen.
pub(crate) struct PeakSampler {
    running: Arc<std::sync::atomic::AtomicBool>,
    task: tokio::task::JoinHandle<u64>,
}

impl PeakSampler {
    pub(crate) fn start(pid: u32) -> PeakSampler {
        let running = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let task = tokio::spawn({
            let running = Arc::clone(&running);
            async move {
                let mut peak = 0;
                while running.load(Ordering::Relaxed) {
                    peak = peak.max(rss_kib(pid).unwrap_or(0));
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                peak
            }
        });
        PeakSampler { running, task }
    }

    /// The highest resident size seen, in KiB.
    pub(crate) async fn stop(self) -> u64 {
        self.running.store(false, Ordering::Relaxed);
        self.task.await.unwrap_or(0)
    }
}

pub(crate) fn latency_summary(histogram: &Histogram<u64>) -> Value {
    let ms = |micros: u64| micros as f64 / 1000.0;
    json!({
        "p50_ms": ms(histogram.value_at_quantile(0.50)),
        "p90_ms": ms(histogram.value_at_quantile(0.90)),
        "p99_ms": ms(histogram.value_at_quantile(0.99)),
        "max_ms": ms(histogram.max()),
        "samples": histogram.len(),
    })
}

pub(crate) fn new_histogram() -> anyhow::Result<Histogram<u64>> {
    // Microseconds from 1 µs to 10 minutes, 3 significant figures.
    Histogram::new_with_bounds(1, 600_000_000, 3).map_err(Into::into)
}

/// Holds N idle authenticated sockets and reports the server's memory per connection.
async fn connections(cli: &Cli, seed: &SeedOutput, n: usize, hold: Duration) -> anyhow::Result<Value> {
    anyhow::ensure!(!seed.users.is_empty(), "the seed has no users");
    let pid = cli.server_pid.or_else(find_server_pid).context("no hallway-server process found: pass --server-pid")?;
    let before = rss_kib(pid).context("reading the server's memory")?;
    let started = Instant::now();
    let (stop_tx, stop_rx) = watch::channel(false);
    let permits = Arc::new(Semaphore::new(CONNECT_CONCURRENCY));
    let (held, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        let token = seed.users[i % seed.users.len()].token.clone();
        let (permits, held, failed, mut stop) = (permits.clone(), held.clone(), failed.clone(), stop_rx.clone());
        let (server, source) = (cli.server, source_address(i, cli.source_addresses));
        tasks.push(tokio::spawn(async move {
            let permit = permits.acquire_owned().await;
            let connected = client::connect(server, &token, source).await;
            drop(permit);
            let Ok(mut ws) = connected else {
                failed.fetch_add(1, Ordering::Relaxed);
                return;
            };
            held.fetch_add(1, Ordering::Relaxed);
            loop {
                tokio::select! {
                    // Reading lets the library answer the server's pings.
                    frame = ws.next() => if !matches!(frame, Some(Ok(_))) { break },
                    _ = stop.changed() => break,
                }
            }
            let _ = ws.close(None).await;
        }));
    }
    while held.load(Ordering::Relaxed) + failed.load(Ordering::Relaxed) < n && started.elapsed() < CONNECT_TIMEOUT {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let connect_secs = started.elapsed().as_secs_f64();
    tokio::time::sleep(hold).await;
    let after = rss_kib(pid).context("reading the server's memory")?;
    let still_held = held.load(Ordering::Relaxed);
    let _ = stop_tx.send(true);
    for task in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
    }
    let per_connection = after.saturating_sub(before) as f64 / still_held.max(1) as f64;
    Ok(json!({
        "scenario": "connections",
        "requested": n,
        "held": still_held,
        "failed": failed.load(Ordering::Relaxed),
        "connect_secs": connect_secs,
        "server_rss_before_kib": before,
        "server_rss_after_kib": after,
        "server_kib_per_connection": per_connection,
    }))
}

/// What one receiving socket saw.
struct Received {
    delivered: u64,
    latency: Histogram<u64>,
    acks: Histogram<u64>,
}

/// Reads a socket until told to stop: records the latency of every `message` of its group (its body carries
/// the send time) and of every `ack`.
async fn receive(
    mut stream: futures_util::stream::SplitStream<client::Socket>,
    group: uuid::Uuid,
    epoch: Instant,
    mut stop: watch::Receiver<bool>,
) -> anyhow::Result<Received> {
    let mut received = Received { delivered: 0, latency: new_histogram()?, acks: new_histogram()? };
    loop {
        let frame = tokio::select! {
            frame = stream.next() => frame,
            _ = stop.changed() => break,
        };
        let Some(Ok(Message::Text(text))) = frame else {
            if matches!(frame, None | Some(Err(_))) {
                break;
            }
            continue;
        };
        let frame: Delivery<'_> = serde_json::from_str(&text)?;
        let is_ack = frame.kind == "ack";
        let message = frame.message.filter(|m| (is_ack || frame.kind == "message") && m.conversation_id == group);
        if let Some(message) = message {
            let sent_at = message.body.strip_prefix("t:").and_then(|t| t.parse::<u64>().ok());
            if let Some(sent_at) = sent_at {
                let now = epoch.elapsed().as_micros() as u64;
                let latency = now.saturating_sub(sent_at).max(1);
                if is_ack {
                    received.acks.record(latency)?;
                } else {
                    received.delivered += 1;
                    received.latency.record(latency)?;
                }
            }
        }
    }
    Ok(received)
}

/// Counts the frames of one `type` a socket receives, until it closes or `stop` changes. A plain text match,
/// not a parse: the generator must not compete with the server for the cores.
pub(crate) async fn count_frames(
    mut stream: futures_util::stream::SplitStream<client::Socket>,
    kind: &str,
    counter: Arc<AtomicUsize>,
    mut stop: watch::Receiver<bool>,
) {
    let marker = format!("\"type\":\"{kind}\"");
    loop {
        tokio::select! {
            frame = stream.next() => match frame {
                Some(Ok(Message::Text(text))) if text.contains(&marker) => {
                    counter.fetch_add(1, Ordering::Relaxed);
                }
                Some(Ok(_)) => {}
                _ => break,
            },
            _ = stop.changed() => break,
        }
    }
}

/// The part of a server frame the fan-out scenarios read. Borrowed and typed rather than a `serde_json::Value`:
/// the generator parses every one of ~100,000 frames a second on the server's machine, and the profile showed
/// its parsing competing with the server for the same two cores.
#[derive(serde::Deserialize)]
struct Delivery<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(default, borrow)]
    message: Option<DeliveredMessage<'a>>,
}

#[derive(serde::Deserialize)]
struct DeliveredMessage<'a> {
    conversation_id: uuid::Uuid,
    #[serde(borrow)]
    body: Cow<'a, str>,
}

/// Opens one socket per member of each group, in parallel (bounded).
pub(crate) async fn connect_groups(
    cli: &Cli,
    seed: &SeedOutput,
    groups: &[SeededGroup],
) -> anyhow::Result<Vec<Vec<client::Socket>>> {
    let permits = Arc::new(Semaphore::new(CONNECT_CONCURRENCY));
    let mut pending = Vec::new();
    let mut index = 0;
    for group in groups {
        let mut sockets = Vec::new();
        for member in &group.members {
            let token = seed.users[*member].token.clone();
            let (permits, server, source) = (permits.clone(), cli.server, source_address(index, cli.source_addresses));
            index += 1;
            sockets.push(tokio::spawn(async move {
                let _permit = permits.acquire_owned().await;
                client::connect(server, &token, source).await
            }));
        }
        pending.push(sockets);
    }
    let mut connected = Vec::new();
    for sockets in pending {
        let mut group = Vec::new();
        for socket in sockets {
            group.push(tokio::time::timeout(CONNECT_TIMEOUT, socket).await.context("connecting timed out")???);
        }
        connected.push(group);
    }
    Ok(connected)
}

/// G groups of M members; member 0 of each group sends R messages per second for S seconds.
async fn fanout(
    cli: &Cli,
    seed: &SeedOutput,
    group_count: usize,
    members: usize,
    rate: f64,
    secs: Duration,
) -> anyhow::Result<Value> {
    anyhow::ensure!(rate > 0.0 && members >= 2, "a rate above 0 and at least two members");
    let groups: Vec<SeededGroup> = seed
        .groups
        .iter()
        .filter(|g| g.members.len() >= members)
        .take(group_count)
        .map(|g| SeededGroup { id: g.id, members: g.members[..members].to_vec() })
        .collect();
    anyhow::ensure!(groups.len() == group_count, "the seed has only {} groups of {members}+ members", groups.len());
    let connected = connect_groups(cli, seed, &groups).await?;
    let epoch = Instant::now();
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut receivers = Vec::new();
    let mut senders = Vec::new();
    let run = uuid::Uuid::now_v7().simple().to_string();
    for (group, sockets) in groups.iter().zip(connected) {
        for (j, socket) in sockets.into_iter().enumerate() {
            let (mut sink, stream) = socket.split();
            receivers.push(tokio::spawn(receive(stream, group.id, epoch, stop_rx.clone())));
            if j == 0 {
                let (group_id, run) = (group.id, run.clone());
                senders.push(tokio::spawn(async move {
                    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
                    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
                    let mut sent = 0u64;
                    let started = Instant::now();
                    while started.elapsed() < secs {
                        ticker.tick().await;
                        let frame = json!({
                            "type": "send", "conversation_id": group_id,
                            "client_msg_id": format!("{run}-{sent}"),
                            "body": format!("t:{}", epoch.elapsed().as_micros()),
                        });
                        if sink.send(Message::text(frame.to_string())).await.is_err() {
                            break;
                        }
                        sent += 1;
                    }
                    (sent, sink)
                }));
            }
        }
    }
    let mut sent = 0u64;
    let mut sinks = Vec::new();
    for sender in senders {
        let (count, sink) = sender.await?;
        sent += count;
        sinks.push(sink);
    }
    tokio::time::sleep(DRAIN).await;
    let _ = stop_tx.send(true);
    let (mut delivered, mut latency, mut acks) = (0u64, new_histogram()?, new_histogram()?);
    for receiver in receivers {
        let received = receiver.await??;
        delivered += received.delivered;
        latency.add(&received.latency)?;
        acks.add(&received.acks)?;
    }
    drop(sinks);
    let expected = sent * (members as u64 - 1);
    Ok(json!({
        "scenario": "fanout",
        "groups": group_count, "members": members, "rate_per_group": rate, "secs": secs.as_secs(),
        "connections": group_count * members,
        "sent": sent, "acked": acks.len(), "expected_deliveries": expected, "delivered": delivered,
        "lost": expected.saturating_sub(delivered),
        "messages_per_sec": sent as f64 / secs.as_secs_f64(),
        "deliveries_per_sec": delivered as f64 / secs.as_secs_f64(),
        "send_to_delivery": latency_summary(&latency),
        "send_to_ack": latency_summary(&acks),
    }))
}

/// The server (actix-web) closes a keep-alive connection after 5 s idle; a client that reuses one at that
/// moment gets "connection closed before message completed". Idle connections are dropped well before that.
const IDLE_CONNECTION_TIMEOUT: Duration = Duration::from_secs(2);

/// The HTTP client of a scenario, keeping up to `idle_per_host` connections for reuse while they are fresh.
pub(crate) fn http_client(idle_per_host: usize) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder().pool_max_idle_per_host(idle_per_host).pool_idle_timeout(IDLE_CONNECTION_TIMEOUT).build()
}

/// The first `members` members of the first seeded group with at least that many.
pub(crate) fn first_group_of(seed: &SeedOutput, members: usize) -> anyhow::Result<SeededGroup> {
    seed.groups
        .iter()
        .find(|g| g.members.len() >= members)
        .map(|g| SeededGroup { id: g.id, members: g.members[..members].to_vec() })
        .with_context(|| format!("the seed has no group of {members}+ members"))
}

/// Every member of one group sends one message at the same moment.
async fn burst(cli: &Cli, seed: &SeedOutput, members: usize) -> anyhow::Result<Value> {
    let group = first_group_of(seed, members)?;
    let sockets = connect_groups(cli, seed, std::slice::from_ref(&group)).await?.pop().unwrap_or_default();
    let epoch = Instant::now();
    let (stop_tx, stop_rx) = watch::channel(false);
    let expected = (members * (members - 1)) as u64;
    let delivered = Arc::new(AtomicUsize::new(0));
    let (mut tasks, mut sinks) = (Vec::new(), Vec::new());
    let run = uuid::Uuid::now_v7().simple().to_string();
    for (j, socket) in sockets.into_iter().enumerate() {
        let (mut sink, stream) = socket.split();
        let frame = json!({"type": "send", "conversation_id": group.id, "client_msg_id": format!("{run}-{j}"),
                           "body": format!("t:{}", 0)});
        let _ = sink.send(Message::text(frame.to_string())).await;
        sinks.push(sink);
        tasks.push(tokio::spawn(count_frames(stream, "message", delivered.clone(), stop_rx.clone())));
    }
    let deadline = Duration::from_secs(120);
    while (delivered.load(Ordering::Relaxed) as u64) < expected && epoch.elapsed() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let secs = epoch.elapsed().as_secs_f64();
    let got = delivered.load(Ordering::Relaxed) as u64;
    let _ = stop_tx.send(true);
    for task in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
    }
    Ok(json!({
        "scenario": "burst", "members": members, "expected_deliveries": expected, "delivered": got,
        "lost": expected.saturating_sub(got), "secs_until_all_delivered": secs,
        "deliveries_per_sec": got as f64 / secs,
    }))
}

/// How long one side of a ping-pong waits for the other's message before the run fails.
const ROUND_TRIP_TIMEOUT: Duration = Duration::from_secs(10);

/// Sends `body` into the conversation on this socket.
async fn send_text(
    sink: &mut futures_util::stream::SplitSink<client::Socket, Message>,
    conversation: uuid::Uuid,
    client_msg_id: String,
    body: String,
) -> anyhow::Result<()> {
    let frame = json!({"type": "send", "conversation_id": conversation, "client_msg_id": client_msg_id, "body": body});
    sink.send(Message::text(frame.to_string())).await.context("sending")
}

/// Reads frames until a `message` of `conversation` whose body is `body` arrives (acks and other frames
/// are skipped).
async fn wait_for_message(
    stream: &mut futures_util::stream::SplitStream<client::Socket>,
    conversation: uuid::Uuid,
    body: &str,
) -> anyhow::Result<()> {
    loop {
        let frame = tokio::time::timeout(ROUND_TRIP_TIMEOUT, stream.next())
            .await
            .with_context(|| format!("no message {body:?} within {ROUND_TRIP_TIMEOUT:?}"))?;
        match frame {
            Some(Ok(Message::Text(text))) => {
                let frame: Delivery<'_> = serde_json::from_str(&text)?;
                if frame.kind == "message"
                    && frame.message.is_some_and(|m| m.conversation_id == conversation && m.body == body)
                {
                    return Ok(());
                }
            }
            Some(Ok(_)) => {}
            Some(Err(err)) => return Err(err.into()),
            None => anyhow::bail!("the socket closed"),
        }
    }
}

/// P pairs, each in a direct chat (opened through the API, as an app does): the first sends, the second
/// answers as soon as the message arrives, R times. A round trip is from the first's send until the
/// answer arrives on its socket: two sends, two commits and two deliveries.
async fn pingpong(cli: &Cli, seed: &SeedOutput, pairs: usize, round_trips: usize) -> anyhow::Result<Value> {
    anyhow::ensure!(pairs >= 1 && round_trips >= 1, "at least one pair and one round trip");
    anyhow::ensure!(
        seed.users.len() >= 2 * pairs,
        "the seed has {} users, {pairs} pairs need {}",
        seed.users.len(),
        2 * pairs
    );
    let http = reqwest::Client::new();
    let mut sessions = Vec::with_capacity(pairs);
    for pair in 0..pairs {
        let (asker, answerer) = (&seed.users[2 * pair], &seed.users[2 * pair + 1]);
        let response = http
            .post(format!("http://{}/api/v1/conversations", cli.server))
            .bearer_auth(&asker.token)
            .json(&json!({"kind": "direct", "member_ids": [answerer.id]}))
            .send()
            .await?;
        anyhow::ensure!(response.status().is_success(), "opening a direct chat: status {}", response.status());
        let conversation: Value = response.json().await?;
        let id: uuid::Uuid = serde_json::from_value(conversation["id"].clone()).context("the chat's id")?;
        let a = client::connect(cli.server, &asker.token, source_address(2 * pair, cli.source_addresses)).await?;
        let b =
            client::connect(cli.server, &answerer.token, source_address(2 * pair + 1, cli.source_addresses)).await?;
        sessions.push((id, a, b));
    }
    let run = uuid::Uuid::now_v7().simple().to_string();
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(pairs);
    for (pair, (conversation, a, b)) in sessions.into_iter().enumerate() {
        let run = run.clone();
        let answerer = tokio::spawn({
            let run = run.clone();
            async move {
                let (mut sink, mut stream) = b.split();
                for i in 0..round_trips {
                    wait_for_message(&mut stream, conversation, &format!("ping {i}")).await?;
                    send_text(&mut sink, conversation, format!("{run}-{pair}-b{i}"), format!("pong {i}")).await?;
                }
                // Kept open until the last answer has arrived: a socket closed right after a frame may see
                // that frame dropped unanswered (no ack promised it).
                anyhow::Ok((sink, stream))
            }
        });
        tasks.push(tokio::spawn(async move {
            let (mut sink, mut stream) = a.split();
            let mut rtt = new_histogram()?;
            for i in 0..round_trips {
                let sent = Instant::now();
                send_text(&mut sink, conversation, format!("{run}-{pair}-a{i}"), format!("ping {i}")).await?;
                wait_for_message(&mut stream, conversation, &format!("pong {i}")).await?;
                rtt.record((sent.elapsed().as_micros() as u64).max(1))?;
            }
            let answerer = answerer.await??;
            drop(answerer);
            anyhow::Ok(rtt)
        }));
    }
    let mut rtt = new_histogram()?;
    for task in tasks {
        rtt.add(&task.await??)?;
    }
    let secs = started.elapsed().as_secs_f64();
    Ok(json!({
        "scenario": "pingpong", "pairs": pairs, "round_trips_per_pair": round_trips,
        "round_trips": rtt.len(), "secs": secs,
        "round_trips_per_sec": rtt.len() as f64 / secs,
        "round_trip": latency_summary(&rtt),
    }))
}

/// Latency of the two reads a phone does most: the conversation list and a page of older messages.
async fn history(cli: &Cli, seed: &SeedOutput, requests: usize, concurrency: usize) -> anyhow::Result<Value> {
    let history =
        seed.history.as_ref().context("the seed has no history: run hallway-bench-seed with --history-messages")?;
    let token = seed.users[history.reader].token.clone();
    let client = http_client(concurrency)?;
    let base = format!("http://{}/api/v1", cli.server);
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    // A fixed xorshift sequence: reproducible page positions across runs, no extra dependency.
    let mut next_seq = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        2 + (state % history.messages.max(2) as u64) as i64
    };
    let mut jobs = Vec::with_capacity(requests);
    for i in 0..requests {
        let url = if i % 2 == 0 {
            format!("{base}/conversations")
        } else {
            format!("{base}/conversations/{}/messages?before_seq={}&limit=50", history.conversation_id, next_seq())
        };
        jobs.push((i % 2 == 0, url));
    }
    let timings: Vec<anyhow::Result<(bool, u64)>> = futures_util::stream::iter(jobs)
        .map(|(is_list, url)| {
            let (client, token) = (client.clone(), token.clone());
            async move {
                let started = Instant::now();
                let response = client.get(url).bearer_auth(token).send().await?;
                anyhow::ensure!(response.status().is_success(), "status {}", response.status());
                let _ = response.bytes().await?;
                Ok((is_list, started.elapsed().as_micros() as u64))
            }
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    let (mut list, mut page) = (new_histogram()?, new_histogram()?);
    for timing in timings {
        let (is_list, micros) = timing?;
        if is_list { list.record(micros.max(1))? } else { page.record(micros.max(1))? }
    }
    Ok(json!({
        "scenario": "history", "messages_in_conversation": history.messages, "requests": requests,
        "concurrency": concurrency,
        "list_conversations": latency_summary(&list),
        "page_messages": latency_summary(&page),
    }))
}

/// The admin of a large conversation posts one message; half the members read it and a quarter acknowledge it
/// (over REST, as apps do); then `requests` reads of its receipts, `concurrency` at a time, are timed.
async fn receipts(
    cli: &Cli,
    seed: &SeedOutput,
    members: usize,
    requests: usize,
    concurrency: usize,
) -> anyhow::Result<Value> {
    let group = seed
        .groups
        .iter()
        .find(|g| g.members.len() >= members)
        .with_context(|| format!("no seeded conversation has {members} members"))?;
    let client = http_client(concurrency)?;
    let base = format!("http://{}/api/v1", cli.server);
    let token = |member: usize| seed.users[group.members[member]].token.clone();
    let sent: Value = client
        .post(format!("{base}/conversations/{}/messages", group.id))
        .bearer_auth(token(0))
        .json(&json!({"client_msg_id": format!("receipts-{}", uuid::Uuid::now_v7()), "body": "Receipts bench"}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let message_id = sent["id"].as_str().context("the send answered no id")?.to_owned();
    let seq = sent["seq"].as_i64().context("the send answered no seq")?;
    let others = group.members.len() - 1;
    let marks: Vec<(String, Value)> = (1..group.members.len())
        .filter(|member| member % 2 == 0)
        .map(|member| (format!("{base}/conversations/{}/read", group.id), json!({"seq": seq}), member))
        .chain(
            (1..group.members.len())
                .filter(|m| m % 4 == 1)
                .map(|member| (format!("{base}/messages/{message_id}/acknowledge"), json!({}), member)),
        )
        .map(|(url, body, member)| (url, json!({"body": body, "token": token(member)})))
        .collect();
    let marked: Vec<anyhow::Result<()>> = futures_util::stream::iter(marks)
        .map(|(url, job)| {
            let client = client.clone();
            async move {
                let token = job["token"].as_str().unwrap_or_default().to_owned();
                client.post(url).bearer_auth(token).json(&job["body"]).send().await?.error_for_status()?;
                Ok(())
            }
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    marked.into_iter().collect::<anyhow::Result<Vec<()>>>()?;
    let url = format!("{base}/messages/{message_id}/receipts");
    let timings: Vec<anyhow::Result<(u64, Value)>> = futures_util::stream::iter(0..requests)
        .map(|_| {
            let (client, url, token) = (client.clone(), url.clone(), token(0));
            async move {
                let started = Instant::now();
                let response = client.get(url).bearer_auth(token).send().await?.error_for_status()?;
                let body: Value = response.json().await?;
                Ok((started.elapsed().as_micros() as u64, body))
            }
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    let mut latency = new_histogram()?;
    let mut last = Value::Null;
    for timing in timings {
        let (micros, body) = timing?;
        latency.record(micros.max(1))?;
        last = body;
    }
    anyhow::ensure!(last["total"] == json!(others), "receipts counted {} members, not {others}", last["total"]);
    Ok(json!({
        "scenario": "receipts", "members": group.members.len(), "requests": requests, "concurrency": concurrency,
        "total": last["total"], "read": last["read"], "acknowledged": last["acknowledged"],
        "not_read_listed": last["not_read_user_ids"].as_array().map_or(0, Vec::len),
        "get_receipts": latency_summary(&latency),
    }))
}

/// How often a client retries a sign-in answered 503 (after its `Retry-After`) before giving up.
const LOGIN_RETRIES: usize = 20;

/// What one client saw of one sign-in.
struct LoginOutcome {
    /// From the first attempt to the final answer, retries included.
    micros: u64,
    ok: bool,
    unavailable: usize,
    other_status: Option<u16>,
}

async fn logins(
    cli: &Cli,
    seed: &SeedOutput,
    requests: usize,
    concurrency: usize,
    password: &str,
) -> anyhow::Result<Value> {
    let pid = cli.server_pid.or_else(find_server_pid).context("the server's pid")?;
    anyhow::ensure!(seed.users.iter().all(|u| !u.username.is_empty()), "the seed has no usernames: reseed");
    let idle = rss_kib(pid).context("reading the server's memory")?;
    let idle_peak = peak_rss_kib(pid).context("reading the server's memory")?;
    // VmHWM also covers the time before the run: the sampler sees the run alone.
    let sampler = PeakSampler::start(pid);
    let client = http_client(concurrency)?;
    let url = format!("http://{}/api/v1/auth/login", cli.server);
    let started = Instant::now();
    // Client `c` signs in as user `c`, again and again: many devices at once, each account once at a time.
    let outcomes: Vec<anyhow::Result<LoginOutcome>> = futures_util::stream::iter(0..requests)
        .map(|i| {
            let (client, url) = (client.clone(), url.clone());
            let user = &seed.users[(i % concurrency.max(1)) % seed.users.len()];
            let body = json!({"login": user.username, "password": password});
            async move {
                let first = Instant::now();
                let mut unavailable = 0;
                loop {
                    let response = match client.post(&url).json(&body).send().await {
                        Ok(response) => response,
                        // A kept-alive connection the server closed as it was reused: send again, as apps do.
                        Err(err) if err.is_request() && unavailable < LOGIN_RETRIES => {
                            unavailable += 1;
                            continue;
                        }
                        Err(err) => return Err(err.into()),
                    };
                    let status = response.status();
                    let retry_after = response
                        .headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.parse::<u64>().ok());
                    let _ = response.bytes().await?;
                    if status.as_u16() == 503 && unavailable < LOGIN_RETRIES {
                        unavailable += 1;
                        tokio::time::sleep(Duration::from_secs(retry_after.unwrap_or(1))).await;
                        continue;
                    }
                    let micros = first.elapsed().as_micros() as u64;
                    let other_status = (!status.is_success() && status.as_u16() != 503).then_some(status.as_u16());
                    return Ok(LoginOutcome { micros, ok: status.is_success(), unavailable, other_status });
                }
            }
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    let elapsed = started.elapsed();
    let sampled_peak = sampler.stop().await;
    let peak = peak_rss_kib(pid).unwrap_or(0);
    // VmHWM counts from the server's start: it speaks of this run only if the run raised it.
    let run_peak = if peak > idle_peak { peak.max(sampled_peak) } else { sampled_peak };
    let mut latency = new_histogram()?;
    let (mut ok, mut unavailable, mut gave_up, mut other) = (0usize, 0usize, 0usize, Vec::new());
    for outcome in outcomes {
        let outcome = outcome?;
        latency.record(outcome.micros.max(1))?;
        unavailable += outcome.unavailable;
        if outcome.ok {
            ok += 1;
        } else if let Some(status) = outcome.other_status {
            other.push(status);
        } else {
            gave_up += 1;
        }
    }
    // Give the allocator a moment to hand freed memory back, then read what stays.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = rss_kib(pid).context("reading the server's memory")?;
    other.sort_unstable();
    other.dedup();
    Ok(json!({
        "scenario": "logins", "requests": requests, "concurrency": concurrency,
        "signed_in": ok, "secs": elapsed.as_secs_f64(),
        "sign_ins_per_sec": ok as f64 / elapsed.as_secs_f64(),
        "latency": latency_summary(&latency),
        "answered_503_or_reset": unavailable, "gave_up_after_503s": gave_up, "other_statuses": other,
        "server_rss_idle_kib": idle,
        "server_rss_peak_sampled_kib": sampled_peak,
        "server_vmhwm_before_kib": idle_peak,
        "server_vmhwm_after_kib": peak,
        "server_peak_above_idle_kib": run_peak.saturating_sub(idle),
        "server_rss_after_kib": after,
        "server_rss_after_above_idle_kib": after.saturating_sub(idle),
    }))
}

//! Pushes to a big group: every member of an M-member group but the sender is offline with a Web Push device,
//! and the sender posts N messages over REST. A local receiver answers 201: the tests' `PushReceiver`, which
//! checks each request's VAPID signature and decrypts its RFC 8291 body, so the encryption is paid and proven
//! on every push. Reports pushes per second from the first commit to the last push, the latency from each
//! message's commit (its `created_at`) to its push's arrival, and how many pushes were lost or came twice.
//! With a restart command the server is killed (SIGKILL) after half the messages and started again: what it
//! had queued must still arrive.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context;
use futures_util::StreamExt;
use hallway_loadgen::seed::SeedOutput;
use hallway_test_support::push_receiver::{PushReceiver, Received};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::Cli;
use crate::scenarios::{cpu_secs, first_group_of, http_client, latency_summary, new_histogram};

/// Devices registered at once.
const REGISTER_CONCURRENCY: usize = 32;
/// How long the run waits for every push before it reports what is missing (a killed server's leased pushes
/// wait out their lease first).
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(180);

pub async fn push(
    cli: &Cli,
    seed: &SeedOutput,
    members: usize,
    messages: usize,
    restart_command: Option<&str>,
) -> anyhow::Result<Value> {
    let group = first_group_of(seed, members)?;
    let mut server_pid = cli.server_pid.context("--server-pid is needed to read the server's CPU time")?;
    let sender = &seed.users[group.members[0]];
    let base = format!("http://{}/api/v1", cli.server);
    let http = http_client(REGISTER_CONCURRENCY)?;
    let (receiver, _stop) = start_receiver()?;

    // Every member but the sender registers a device of their own.
    let registered: Vec<anyhow::Result<()>> = futures_util::stream::iter(&group.members[1..])
        .map(|&member| {
            let (http, base, body) = (&http, &base, receiver.subscribe().device_body("webpush"));
            async move {
                let response = http
                    .post(format!("{base}/devices"))
                    .bearer_auth(&seed.users[member].token)
                    .json(&body)
                    .send()
                    .await?;
                anyhow::ensure!(response.status().is_success(), "registering a device: {}", response.status());
                Ok(())
            }
        })
        .buffer_unordered(REGISTER_CONCURRENCY)
        .collect()
        .await;
    registered.into_iter().collect::<anyhow::Result<Vec<()>>>()?;
    let devices = group.members.len() - 1;

    // The messages, one after another; each one's commit time is its `created_at`.
    let cpu_before = cpu_secs(server_pid).context("reading the server's CPU time")?;
    let mut committed: HashMap<i64, SystemTime> = HashMap::new();
    for n in 0..messages {
        if n == messages / 2
            && let Some(command) = restart_command
        {
            server_pid = crate::storm::restart(command).await?;
        }
        let body = json!({"client_msg_id": uuid::Uuid::now_v7().to_string(), "body": format!("Notice {n}")});
        let sent: Value = http
            .post(format!("{base}/conversations/{}/messages", group.id))
            .bearer_auth(&sender.token)
            .json(&body)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let seq = sent["seq"].as_i64().context("a message without seq")?;
        let at = OffsetDateTime::parse(sent["created_at"].as_str().context("no created_at")?, &Rfc3339)?;
        committed.insert(seq, at.into());
    }

    // Until every (device, message) arrived, or the time is up.
    let expected = devices * messages;
    let started = Instant::now();
    let mut received = receiver.received();
    while unique(&received) < expected && started.elapsed() < DELIVERY_TIMEOUT {
        tokio::time::sleep(Duration::from_millis(200)).await;
        received = receiver.received();
    }
    // A killed server's CPU time went with it: only a run without a kill reports it.
    let cpu_used = match restart_command {
        None => Some(cpu_secs(server_pid).context("reading the server's CPU time")? - cpu_before),
        Some(_) => None,
    };

    let mut latency = new_histogram()?;
    let first_commit = committed.values().min().copied().context("no message was sent")?;
    let mut last_arrival = first_commit;
    for push in &received {
        let Some(sent) = push.payload["seq"].as_i64().and_then(|seq| committed.get(&seq)) else { continue };
        let micros = push.at.duration_since(*sent).unwrap_or_default().as_micros() as u64;
        latency.record(micros.max(1))?;
        last_arrival = last_arrival.max(push.at);
    }
    let delivered = unique(&received);
    let secs = last_arrival.duration_since(first_commit).unwrap_or_default().as_secs_f64();
    Ok(json!({
        "scenario": "push",
        "members": members,
        "devices": devices,
        "messages": messages,
        "server_killed_midway": restart_command.is_some(),
        "pushes_expected": expected,
        "pushes_delivered": delivered,
        "pushes_lost": expected - delivered,
        "pushes_duplicated": received.len() - delivered,
        "receiver_problems": receiver.problems().len(),
        "secs_first_commit_to_last_push": secs,
        "pushes_per_sec": if secs > 0.0 { delivered as f64 / secs } else { 0.0 },
        "commit_to_push": latency_summary(&latency),
        "server_cpu_secs": cpu_used,
    }))
}

/// How many different (device, message) pairs arrived.
fn unique(received: &[Received]) -> usize {
    received.iter().map(|push| (push.endpoint.as_str(), push.payload["seq"].as_i64())).collect::<HashSet<_>>().len()
}

/// Stops the receiver's actix system when dropped.
struct StopReceiver(Option<tokio::sync::oneshot::Sender<()>>);

impl Drop for StopReceiver {
    fn drop(&mut self) {
        if let Some(stop) = self.0.take() {
            let _ = stop.send(());
        }
    }
}

/// The receiver runs in an actix system of its own, on its own thread (it is an actix-web server; the load
/// generator runs on plain tokio).
fn start_receiver() -> anyhow::Result<(Arc<PushReceiver>, StopReceiver)> {
    let (started_tx, started_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    std::thread::Builder::new().name("push-receiver".into()).spawn(move || {
        actix_rt::System::new().block_on(async move {
            let receiver = Arc::new(PushReceiver::start());
            if started_tx.send(receiver.clone()).is_ok() {
                let _ = stop_rx.await;
            }
        });
    })?;
    let receiver = started_rx.recv_timeout(Duration::from_secs(10)).context("the push receiver did not start")?;
    Ok((receiver, StopReceiver(Some(stop_tx))))
}

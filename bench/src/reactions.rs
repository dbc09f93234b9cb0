//! The cost of one change to a big group: a member toggles a reaction on a message of an M-member group, one
//! change at a time, and each change counts as done when every member's socket (the reactor's own included)
//! has its `reaction` frame. Reports the latency of a change until the last member has it, and the server's
//! CPU time per change (from /proc), which is what a school's busiest announcement costs per 👍.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use futures_util::{SinkExt, StreamExt};
use hallway_loadgen::seed::SeedOutput;
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;

use crate::Cli;
use crate::scenarios::{connect_groups, count_frames, cpu_secs, first_group_of, latency_summary, new_histogram};

/// Changes made before measuring (the actor starts, caches warm).
const WARM_UP: usize = 10;
/// How long one change may take to reach everyone before the run fails.
const CHANGE_TIMEOUT: Duration = Duration::from_secs(30);

pub async fn reactions(cli: &Cli, seed: &SeedOutput, members: usize, changes: usize) -> anyhow::Result<Value> {
    let group = first_group_of(seed, members)?;
    let server_pid = cli.server_pid.context("--server-pid is needed to read the server's CPU time")?;
    let mut sockets = connect_groups(cli, seed, std::slice::from_ref(&group)).await?.pop().unwrap_or_default();
    anyhow::ensure!(sockets.len() == members, "connected {} of {members} members", sockets.len());

    // Member 0 posts the message everyone will react to, and learns its id from the ack.
    let (mut reactor, mut reactor_stream) = sockets.remove(0).split();
    let send = json!({"type": "send", "conversation_id": group.id, "client_msg_id": uuid::Uuid::now_v7().to_string(),
                      "body": "Sports day is on Friday"});
    reactor.send(Message::text(send.to_string())).await?;
    let message_id = loop {
        let frame = tokio::time::timeout(CHANGE_TIMEOUT, reactor_stream.next()).await.context("no ack")?;
        let Some(Ok(Message::Text(text))) = frame else { anyhow::bail!("the reactor's socket closed") };
        let frame: Value = serde_json::from_str(&text)?;
        if frame["type"] == "ack" {
            break frame["message"]["id"].as_str().context("an ack without a message id")?.to_owned();
        }
    };

    // Every socket counts the reaction frames it receives; change k is everywhere once the total is (k+1)·M.
    let received = Arc::new(AtomicUsize::new(0));
    let (stop_tx, stop_rx) = watch::channel(false);
    let streams = std::iter::once(reactor_stream).chain(sockets.into_iter().map(|socket| socket.split().1));
    let tasks: Vec<_> = streams
        .map(|stream| tokio::spawn(count_frames(stream, "reaction", received.clone(), stop_rx.clone())))
        .collect();

    let mut latency = new_histogram()?;
    let mut cpu_before = 0.0;
    let mut measured_from = Instant::now();
    for change in 0..WARM_UP + changes {
        if change == WARM_UP {
            cpu_before = cpu_secs(server_pid).context("reading the server's CPU time")?;
            measured_from = Instant::now();
        }
        let started = Instant::now();
        let react = json!({"type": "react", "message_id": message_id, "emoji": "👍", "on": change % 2 == 0});
        reactor.send(Message::text(react.to_string())).await?;
        let target = (change + 1) * members;
        while received.load(Ordering::Relaxed) < target {
            anyhow::ensure!(started.elapsed() < CHANGE_TIMEOUT, "change {change} reached {} of {target} frames", {
                received.load(Ordering::Relaxed)
            });
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
        if change >= WARM_UP {
            latency.record((started.elapsed().as_micros() as u64).max(1))?;
        }
    }
    let secs = measured_from.elapsed().as_secs_f64();
    let cpu_used = cpu_secs(server_pid).context("reading the server's CPU time")? - cpu_before;
    let _ = stop_tx.send(true);
    for task in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
    }
    Ok(json!({
        "scenario": "reactions", "members": members, "changes": changes,
        "until_every_member_has_it": latency_summary(&latency),
        "changes_per_sec": changes as f64 / secs,
        "frames_per_sec": (changes * members) as f64 / secs,
        "server_cpu_ms_per_change": cpu_used * 1000.0 / changes as f64,
    }))
}

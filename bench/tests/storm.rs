//! The reconnect storm in CI: 5,000 connected phones lose their sockets at once while a message arrives
//! in every group, and come back with the contract's backoff and jitter (the load generator's `reconnect`
//! scenario, the same code `scripts/bench reconnect` runs at 5,000 against a release build). The server must stay
//! up, and every phone must end holding every message, exactly the ones stored. Memory is measured by the
//! benchmark, not asserted here.

mod support;

use std::time::Duration;

use hallway_loadgen::seed::SeedPlan;
use hallway_test_support::TestServer;
use support::{loadgen_within, seed_tokens_file};

/// Phones in the storm: `HALLWAY_STORM_PHONES`, by default the 5,000 (about a minute on the 2-core
/// machine against a debug server and a pool of 10 connections; `.config/nextest.toml` gives it two test
/// threads and five minutes).
fn phones() -> usize {
    std::env::var("HALLWAY_STORM_PHONES").ok().and_then(|n| n.parse().ok()).unwrap_or(5000)
}

#[actix_web::test]
async fn a_storm_of_dropped_sockets_reconnects_with_backoff_and_every_phone_ends_consistent() {
    // Each socket is a file on both sides, and the server runs in this process.
    let (soft, hard) = rlimit::Resource::NOFILE.get().unwrap();
    let n = phones();
    let wanted = 3 * n as u64 + 1000;
    assert!(wanted <= hard, "the open-files limit ({hard}) is too low for {n} phones: set HALLWAY_STORM_PHONES");
    if soft < wanted {
        rlimit::Resource::NOFILE.set(wanted, hard).unwrap();
    }

    let server = TestServer::start().await;
    let members = 50.min(n);
    let groups = n.div_ceil(members);
    let plan = SeedPlan {
        users: n,
        groups,
        members_per_group: members,
        history_messages: 0,
        token_ttl: Duration::from_secs(900),
        password_hash: None,
    };
    let (_, tokens) = seed_tokens_file(&server, &plan).await;

    let phones = n.to_string();
    let args = ["--source-addresses", "16", "reconnect", "--n", &phones, "--settle-secs", "1"];
    let result = loadgen_within(&server, &tokens, &args, Duration::from_secs(280)).await;
    eprintln!("{result}");

    let count = |key: &str| result[key].as_u64().unwrap_or_else(|| panic!("{key} in {result}"));
    assert_eq!(count("connected_before"), n as u64, "{result}");
    assert_eq!(count("messages_sent_during_outage"), groups as u64, "{result}");
    assert_eq!(count("reconnected"), n as u64, "every phone came back: {result}");
    assert_eq!(count("consistent"), n as u64, "every phone holds every message sent while it was away: {result}");
    assert_eq!(count("missing_messages"), 0, "{result}");
    // Every phone is in one group here, and got its group's message by the socket or the catch-up.
    assert!(count("received_by_catch_up") + count("received_by_socket") >= n as u64, "{result}");
    assert_eq!(result["server_healthz_after"], 200, "the server stayed up: {result}");
    assert!(result["attempts_per_phone"]["max"].as_u64().is_some_and(|max| max >= 1), "{result}");

    // What the phones hold is what is stored: one message in each group, each stored once.
    let stored: Vec<(i64,)> =
        sqlx::query_as("SELECT count(*) FROM messages GROUP BY conversation_id").fetch_all(&server.pool).await.unwrap();
    assert_eq!(stored.len(), groups);
    assert!(stored.iter().all(|&(count,)| count == 1), "{stored:?}");
}

//! Each scenario runs to completion at a tiny size against a real server. No timing is asserted here:
//! speed is measured by the scenarios themselves and written to docs/benchmarks.md.

mod support;

use std::time::Duration;

use hallway_loadgen::seed::SeedPlan;
use hallway_test_support::TestServer;
use support::{loadgen, seed_tokens_file};

#[actix_web::test]
async fn every_scenario_runs_to_completion_at_a_tiny_size() {
    let server = TestServer::start().await;
    let plan = SeedPlan {
        users: 30,
        groups: 6,
        members_per_group: 5,
        history_messages: 300,
        token_ttl: Duration::from_secs(600),
        password_hash: Some(hallway_server::auth::password::hash_blocking("bench password").unwrap()),
    };
    let (seeded, tokens) = seed_tokens_file(&server, &plan).await;
    assert_eq!((seeded.users.len(), seeded.groups.len()), (30, 6));

    let connections = loadgen(&server, &tokens, &["connections", "--n", "20", "--hold-secs", "1"]).await;
    assert_eq!((connections["held"].as_u64(), connections["failed"].as_u64()), (Some(20), Some(0)));
    assert!(connections["server_kib_per_connection"].is_number());

    let fanout =
        loadgen(&server, &tokens, &["fanout", "--groups", "2", "--members", "4", "--rate", "4", "--secs", "1"]).await;
    let sent = fanout["sent"].as_u64().unwrap();
    assert!(sent >= 2, "{fanout}");
    assert_eq!(fanout["expected_deliveries"].as_u64(), Some(sent * 3));
    assert_eq!(fanout["lost"].as_u64(), Some(0), "{fanout}");
    assert_eq!(fanout["acked"].as_u64(), Some(sent));
    assert!(fanout["send_to_delivery"]["p99_ms"].is_number());

    let burst = loadgen(&server, &tokens, &["burst", "--members", "5"]).await;
    assert_eq!((burst["delivered"].as_u64(), burst["lost"].as_u64()), (Some(20), Some(0)), "{burst}");

    let reactions = loadgen(&server, &tokens, &["reactions", "--members", "5", "--changes", "6"]).await;
    assert_eq!(reactions["until_every_member_has_it"]["samples"].as_u64(), Some(6), "{reactions}");
    assert!(reactions["server_cpu_ms_per_change"].as_f64().is_some_and(|ms| ms >= 0.0), "{reactions}");

    let history = loadgen(&server, &tokens, &["history", "--requests", "20", "--concurrency", "2"]).await;
    assert_eq!(history["list_conversations"]["samples"].as_u64(), Some(10));
    assert_eq!(history["page_messages"]["samples"].as_u64(), Some(10));

    let pingpong = loadgen(&server, &tokens, &["pingpong", "--pairs", "2", "--round-trips", "10"]).await;
    assert_eq!(pingpong["round_trips"].as_u64(), Some(20), "{pingpong}");
    assert_eq!(pingpong["round_trip"]["samples"].as_u64(), Some(20), "{pingpong}");
    assert!(pingpong["round_trips_per_sec"].as_f64().is_some_and(|r| r > 0.0), "{pingpong}");
    let logins = loadgen(
        &server,
        &tokens,
        &["logins", "--requests", "12", "--concurrency", "3", "--password", "bench password"],
    )
    .await;
    assert_eq!(logins["signed_in"].as_u64(), Some(12), "{logins}");
    assert!(logins["latency"]["p99_ms"].is_number() && logins["server_peak_above_idle_kib"].is_number());
}

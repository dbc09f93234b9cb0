//! `GET /metrics`: served in Prometheus text on the separate `metrics_bind` listener only, and its counters
//! move with real traffic (a message sent over a socket, a rate-limited frame, an actor started).
#![expect(clippy::unwrap_used, reason = "a test that cannot set up must fail loudly")]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use hallway_protocol::{ConversationKind, Role};
use hallway_test_support::TestServer;
use hallway_test_support::ws::WsClient;
use reqwest::StatusCode;
use serde_json::json;

async fn metrics_server() -> TestServer {
    TestServer::start_with(|config| {
        config.metrics_bind = Some("127.0.0.1:0".parse().unwrap());
        // One send, then the next frame is refused: the rate-limit counter has something to count.
        config.realtime.send_burst = 1;
        config.realtime.sends_per_sec = 1;
    })
    .await
}

/// Scrapes the metrics listener: each sample (name with its labels, as written) and its value.
async fn scrape(server: &TestServer) -> (String, HashMap<String, f64>) {
    let addr: SocketAddr = server.metrics_addr().unwrap();
    let response = server.client.get(format!("http://{addr}/metrics")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(content_type.starts_with("text/plain; version=0.0.4"), "{content_type}");
    let text = response.text().await.unwrap();
    let samples = text
        .lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .filter_map(|line| line.rsplit_once(' '))
        .map(|(name, value)| (name.to_owned(), value.parse::<f64>().unwrap()))
        .collect();
    (text, samples)
}

fn sample(samples: &HashMap<String, f64>, name: &str) -> f64 {
    *samples.get(name).unwrap_or_else(|| panic!("no sample {name} in {samples:?}"))
}

#[actix_web::test]
async fn metrics_count_sockets_frames_acks_batches_actors_and_refusals() {
    let server = metrics_server().await;
    let (teacher, teacher_tokens) = server.signed_in("rivera", Role::Teacher).await;
    let (parent, parent_tokens) = server.signed_in("mei", Role::Parent).await;
    let conversation = server.create_conversation(ConversationKind::Direct, None, teacher.id, &[parent.id]).await;

    let (_, before) = scrape(&server).await;
    assert_eq!(sample(&before, "hallway_websocket_connections"), 0.0);
    assert_eq!(sample(&before, "hallway_send_to_ack_seconds_count"), 0.0);

    let mut sender = WsClient::connect(&server, &teacher_tokens.access_token).await;
    let mut receiver = WsClient::connect(&server, &parent_tokens.access_token).await;
    let send = |id: &str| json!({"type": "send", "conversation_id": conversation, "client_msg_id": id, "body": "hi"});
    sender.send(send("m-1")).await;
    sender.expect("ack").await;
    receiver.expect("message").await;
    // Past the burst of one: refused with rate_limited.
    sender.send(send("m-2")).await;
    let refused = sender.expect("error").await;
    assert_eq!(refused["code"], "rate_limited");

    // The send's timing is recorded when the actor's answer reaches the session, a moment after the client
    // already holds its ack: scrape until it is there (or the deadline says it never came).
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let (text, after) = loop {
        let (text, after) = scrape(&server).await;
        if sample(&after, "hallway_send_to_ack_seconds_count") >= 1.0 || std::time::Instant::now() > deadline {
            break (text, after);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(sample(&after, "hallway_websocket_connections"), 2.0);
    assert!(sample(&after, "hallway_websocket_frames_received_total") >= 2.0);
    // hello ×2, the ack, the delivery, the error, and presence.
    assert!(sample(&after, "hallway_websocket_frames_sent_total") >= 5.0);
    assert_eq!(sample(&after, "hallway_send_to_ack_seconds_count"), 1.0);
    assert!(sample(&after, "hallway_send_to_ack_seconds_sum") > 0.0);
    assert_eq!(sample(&after, "hallway_send_to_ack_seconds_bucket{le=\"+Inf\"}"), 1.0);
    assert_eq!(sample(&after, "hallway_group_commit_batch_messages_count"), 1.0);
    assert_eq!(sample(&after, "hallway_group_commit_batch_messages_bucket{le=\"1\"}"), 1.0);
    assert_eq!(sample(&after, "hallway_db_pool_acquire_wait_seconds_count"), 1.0);
    assert!(sample(&after, "hallway_db_pool_connections") >= 1.0);
    assert!(sample(&after, "hallway_db_pool_max_connections") >= 1.0);
    assert_eq!(sample(&after, "hallway_actors_alive{kind=\"conversation\"}"), 1.0);
    assert_eq!(sample(&after, "hallway_actors_alive{kind=\"user\"}"), 2.0);
    assert_eq!(sample(&after, "hallway_rate_limited_total{via=\"socket\"}"), 1.0);
    assert_eq!(sample(&after, "hallway_http_server_errors_total"), 0.0);
    // Each metric says what it is.
    assert!(text.contains("# TYPE hallway_send_to_ack_seconds histogram"), "{text}");
    assert!(text.contains("# HELP hallway_websocket_connections "), "{text}");

    drop(sender);
    drop(receiver);
    let mut open = -1.0;
    for _ in 0..100 {
        open = sample(&scrape(&server).await.1, "hallway_websocket_connections");
        if open == 0.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(open, 0.0, "closed sockets still counted as open");
}

#[actix_web::test]
async fn http_rate_limit_refusals_are_counted() {
    let server = TestServer::start_with(|config| {
        config.metrics_bind = Some("127.0.0.1:0".parse().unwrap());
        config.limits.login_failures_per_account = 1;
    })
    .await;
    server.create_user("mei", Role::Parent).await;
    let wrong = json!({"login": "mei", "password": "not the password"});
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(server.post("/api/v1/auth/login", None, &wrong).await.0);
    }
    let limited = statuses.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count() as f64;
    assert!(limited >= 1.0, "{statuses:?}");
    let (_, samples) = scrape(&server).await;
    assert_eq!(sample(&samples, "hallway_rate_limited_total{via=\"http\"}"), limited);
}

#[actix_web::test]
async fn metrics_are_not_served_on_the_api_listener() {
    let server = metrics_server().await;
    assert_ne!(server.metrics_addr().unwrap(), server.local_addr());
    let (status, _) = server.get("/metrics", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[actix_web::test]
async fn without_a_metrics_bind_nothing_serves_metrics() {
    let server = TestServer::start().await;
    assert_eq!(server.metrics_addr(), None);
    let (status, _) = server.get("/metrics", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[actix_web::test]
async fn server_errors_are_counted() {
    let server = metrics_server().await;
    let (_, tokens) = server.signed_in("mei", Role::Parent).await;
    // A statement the database refuses (a table gone from under the server) is an internal error, 500. (A
    // database that cannot be reached is 503 `unavailable`, which clients retry.)
    sqlx::query("ALTER TABLE users RENAME TO users_gone").execute(&server.pool).await.unwrap();
    let (status, _) = server.get("/api/v1/me", Some(&tokens.access_token)).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    let (_, samples) = scrape(&server).await;
    assert_eq!(sample(&samples, "hallway_http_server_errors_total"), 1.0);
}

#[actix_web::test]
async fn the_push_queue_depth_is_read_from_the_database_at_each_scrape() {
    let server = metrics_server().await;
    let (parent, _) = server.signed_in("mei", Role::Parent).await;
    let (_, empty) = scrape(&server).await;
    assert_eq!(sample(&empty, "hallway_push_queue_pushes{state=\"pending\"}"), 0.0);
    assert_eq!(sample(&empty, "hallway_push_queue_pushes{state=\"dead\"}"), 0.0);

    // An APNs device: no worker of this server claims its pushes, so they stay as written.
    sqlx::query(
        "INSERT INTO devices (id, user_id, session_id, platform, address)
         SELECT gen_random_uuid(), $1, id, 'apns', 'token-1' FROM sessions WHERE user_id = $1 LIMIT 1",
    )
    .bind(parent.id)
    .execute(&server.pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO push_queue (device_id, payload, topic, urgency, state)
         SELECT d.id, '{}', 'topic', 'normal', s FROM devices d, unnest(ARRAY['pending', 'pending', 'dead']) AS s",
    )
    .execute(&server.pool)
    .await
    .unwrap();
    let (_, queued) = scrape(&server).await;
    assert_eq!(sample(&queued, "hallway_push_queue_pushes{state=\"pending\"}"), 2.0);
    assert_eq!(sample(&queued, "hallway_push_queue_pushes{state=\"dead\"}"), 1.0);
}

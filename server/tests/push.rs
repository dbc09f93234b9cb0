//! Push notifications end to end: devices registered over the API, messages sent to the real server, and a
//! Web Push receiver on 127.0.0.1 that checks each request's VAPID signature and decrypts its RFC 8291 body
//! with the subscription's private key, so what a phone would see is what the tests check.
#![expect(clippy::unwrap_used, reason = "helpers of a test fail the test loudly when setup breaks")]

use std::time::Duration;

use hallway_protocol::{ConversationKind, Role};
use hallway_test_support::push_receiver::{PushReceiver, Reply, Subscription};
use hallway_test_support::ws::WsClient;
use hallway_test_support::{PASSWORD, TestServer, error_code};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

/// How long a test waits for a push it expects.
const PUSH_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a test waits to be sure a push does not come.
const QUIET: Duration = Duration::from_millis(1500);

fn fast_retries(config: &mut hallway_server::config::Config) {
    config.push.allow_insecure_endpoints = true;
    config.push.retry_base = Duration::from_millis(200);
    config.push.poll_interval = Duration::from_millis(200);
}

/// A server that lets the loopback receiver through and retries quickly.
async fn push_server() -> TestServer {
    TestServer::start_with(fast_retries).await
}

async fn register(server: &TestServer, token: &str, subscription: &Subscription, platform: &str) -> Value {
    let (status, device) = server.post("/api/v1/devices", Some(token), &subscription.device_body(platform)).await;
    assert_eq!(status, StatusCode::CREATED, "{device}");
    device
}

/// A teacher and a parent in a group; the parent signed in (and offline).
async fn teacher_and_parent(server: &TestServer) -> (String, Uuid, String, Uuid) {
    let (teacher, teacher_tokens) = server.signed_in("teacher", Role::Teacher).await;
    let (parent, parent_tokens) = server.signed_in("parent", Role::Parent).await;
    let group = server.create_conversation(ConversationKind::Group, Some("Class 4B"), teacher.id, &[parent.id]).await;
    (teacher_tokens.access_token, group, parent_tokens.access_token, parent.id)
}

async fn device_count(pool: &PgPool, user_id: Uuid) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM devices WHERE user_id = $1").bind(user_id).fetch_one(pool).await.unwrap()
}

#[actix_web::test]
async fn offline_member_gets_one_encrypted_push_with_ids_and_badge_but_no_text() {
    let server = push_server().await;
    let receiver = PushReceiver::start();
    let (teacher, group, parent, parent_id) = teacher_and_parent(&server).await;
    // Something unread elsewhere first, so the badge is the total over all conversations, not this one's count.
    let teacher_id = server.get("/api/v1/me", Some(&teacher)).await.1["id"].as_str().unwrap().parse().unwrap();
    // (Its push is awaited: a message's device look-up runs after its commit, so a device registered right
    // after a send may still get that message's push.)
    let other = server.create_conversation(ConversationKind::Group, Some("Trip"), teacher_id, &[parent_id]).await;
    register(&server, &parent, &receiver.subscribe(), "webpush").await;
    server.send_message(&teacher, other, "an older note").await;
    let older = receiver.wait_for(1, PUSH_TIMEOUT).await;
    assert_eq!(older.len(), 1, "{:?}", receiver.problems());
    assert_eq!(older[0].payload["badge"], json!(1));

    let message = server.send_message(&teacher, group, "the secret words of the teacher").await;

    let received = receiver.wait_for(2, PUSH_TIMEOUT).await;
    assert_eq!(received.len(), 2, "{:?}", receiver.problems());
    let push = &received[1];
    assert!(push.encrypted);
    assert_eq!(push.payload, json!({ "type": "message", "conversation_id": group, "seq": message["seq"], "badge": 2 }));
    assert!(!serde_json::to_string(&push.payload).unwrap().contains("secret"));
    let (_, vapid) = server.get("/api/v1/push/vapid-key", Some(&parent)).await;
    assert_eq!(push.vapid_key, vapid["public_key"].as_str().unwrap());
    let topic = push.topic.clone().expect("a Topic header");
    assert!(topic.len() <= 32 && topic.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    assert_eq!(push.urgency.as_deref(), Some("high"));
    assert!(push.ttl.is_some());
    // Exactly one per message: nothing else arrives, and the queue is empty once they were delivered.
    tokio::time::sleep(QUIET).await;
    assert_eq!(receiver.attempts().len(), 2);
    let queued: i64 = sqlx::query_scalar("SELECT count(*) FROM push_queue").fetch_one(&server.pool).await.unwrap();
    assert_eq!(queued, 0);
    assert!(receiver.problems().is_empty(), "{:?}", receiver.problems());
}

#[actix_web::test]
async fn a_device_whose_session_has_an_open_socket_gets_the_frame_not_a_push() {
    let server = push_server().await;
    let receiver = PushReceiver::start();
    let (teacher, group, phone, _) = teacher_and_parent(&server).await;
    let laptop = server.login("parent", PASSWORD).await.access_token;
    let on_phone = receiver.subscribe();
    let on_laptop = receiver.subscribe();
    register(&server, &phone, &on_phone, "webpush").await;
    register(&server, &laptop, &on_laptop, "webpush").await;
    let mut socket = WsClient::connect(&server, &phone).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    server.send_message(&teacher, group, "hello").await;

    socket.expect("message").await;
    let received = receiver.wait_for(1, PUSH_TIMEOUT).await;
    tokio::time::sleep(QUIET).await;
    let received_now = receiver.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received_now.len(), 1, "only the laptop, whose session has no socket, is pushed");
    assert_eq!(received_now[0].endpoint, on_laptop.endpoint);
}

#[actix_web::test]
async fn a_muted_conversation_is_not_pushed() {
    let server = push_server().await;
    let receiver = PushReceiver::start();
    let (teacher, group, parent, parent_id) = teacher_and_parent(&server).await;
    let teacher_id = server.get("/api/v1/me", Some(&teacher)).await.1["id"].as_str().unwrap().parse().unwrap();
    let loud = server.create_conversation(ConversationKind::Group, Some("Loud"), teacher_id, &[parent_id]).await;
    register(&server, &parent, &receiver.subscribe(), "webpush").await;
    let (status, _) = server
        .patch(&format!("/api/v1/conversations/{group}/settings"), Some(&parent), &json!({ "muted": true }))
        .await;
    assert_eq!(status, StatusCode::OK);

    server.send_message(&teacher, group, "muted news").await;
    server.send_message(&teacher, loud, "loud news").await;

    receiver.wait_for(1, PUSH_TIMEOUT).await;
    tokio::time::sleep(QUIET).await;
    let received = receiver.received();
    assert_eq!(received.len(), 1, "only the unmuted conversation pushes");
    assert_eq!(received[0].payload["conversation_id"], json!(loud));
    assert_eq!(received[0].payload["badge"], json!(2), "the muted chat's unread message still counts");
}

#[actix_web::test]
async fn reading_on_another_device_sends_a_silent_read_push_on_the_same_topic() {
    let server = push_server().await;
    let receiver = PushReceiver::start();
    let (teacher, group, phone, _) = teacher_and_parent(&server).await;
    let laptop = server.login("parent", PASSWORD).await.access_token;
    register(&server, &phone, &receiver.subscribe(), "webpush").await;
    let message = server.send_message(&teacher, group, "read me").await;
    let first = receiver.wait_for(1, PUSH_TIMEOUT).await;
    assert_eq!(first.len(), 1);

    let (status, _) = server
        .post(&format!("/api/v1/conversations/{group}/read"), Some(&laptop), &json!({ "seq": message["seq"] }))
        .await;
    assert!(status.is_success());

    let received = receiver.wait_for(2, PUSH_TIMEOUT).await;
    assert_eq!(received.len(), 2);
    assert_eq!(received[1].payload, json!({ "type": "read", "conversation_id": group, "badge": 0 }));
    assert_eq!(received[1].topic, first[0].topic, "the read push replaces the message's notification");
    assert_eq!(received[1].urgency.as_deref(), Some("normal"));
}

#[actix_web::test]
async fn reading_on_the_pushed_device_itself_sends_it_no_read_push() {
    let server = push_server().await;
    let receiver = PushReceiver::start();
    let (teacher, group, phone, _) = teacher_and_parent(&server).await;
    register(&server, &phone, &receiver.subscribe(), "webpush").await;
    let message = server.send_message(&teacher, group, "read me").await;
    receiver.wait_for(1, PUSH_TIMEOUT).await;

    server.post(&format!("/api/v1/conversations/{group}/read"), Some(&phone), &json!({ "seq": message["seq"] })).await;

    tokio::time::sleep(QUIET).await;
    assert_eq!(receiver.received().len(), 1);
}

#[actix_web::test]
async fn an_endpoint_answering_410_removes_the_device() {
    let server = push_server().await;
    let receiver = PushReceiver::start();
    let (teacher, group, parent, parent_id) = teacher_and_parent(&server).await;
    register(&server, &parent, &receiver.subscribe(), "webpush").await;
    receiver.script([Reply::Status(410)]);

    server.send_message(&teacher, group, "anyone there?").await;

    assert_eq!(receiver.wait_for_attempts(1, PUSH_TIMEOUT).await.len(), 1);
    let deadline = std::time::Instant::now() + PUSH_TIMEOUT;
    while device_count(&server.pool, parent_id).await > 0 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (_, devices) = server.get("/api/v1/devices", Some(&parent)).await;
    assert_eq!(devices["devices"], json!([]));
    tokio::time::sleep(QUIET).await;
    assert_eq!(receiver.attempts().len(), 1, "a gone device is not tried again");
}

#[actix_web::test]
async fn too_many_requests_is_retried_no_sooner_than_retry_after() {
    let server = push_server().await;
    let receiver = PushReceiver::start();
    let (teacher, group, parent, _) = teacher_and_parent(&server).await;
    register(&server, &parent, &receiver.subscribe(), "webpush").await;
    receiver.script([Reply::RetryAfter(429, 2)]);

    server.send_message(&teacher, group, "later, please").await;

    let received = receiver.wait_for(1, PUSH_TIMEOUT).await;
    assert_eq!(received.len(), 1);
    let attempts = receiver.attempts();
    assert_eq!(attempts.iter().map(|a| a.status).collect::<Vec<_>>(), [429, 201]);
    let waited = attempts[1].at - attempts[0].at;
    assert!(waited >= Duration::from_secs(2), "retried after {waited:?}, before Retry-After's 2 s");
    assert!(waited < Duration::from_secs(5), "retried only after {waited:?}");
}

#[actix_web::test]
async fn the_last_failed_try_leaves_a_dead_letter() {
    let server = TestServer::start_with(|config| {
        fast_retries(config);
        config.push.max_attempts = 2;
    })
    .await;
    let receiver = PushReceiver::start();
    let (teacher, group, parent, _) = teacher_and_parent(&server).await;
    register(&server, &parent, &receiver.subscribe(), "webpush").await;
    receiver.script([Reply::Status(503), Reply::Status(503)]);

    server.send_message(&teacher, group, "down").await;

    assert_eq!(receiver.wait_for_attempts(2, PUSH_TIMEOUT).await.len(), 2);
    let row = wait_for_dead(&server.pool).await;
    assert_eq!(row.1, 2);
    assert!(row.0.contains("503"), "{}", row.0);
    tokio::time::sleep(QUIET).await;
    assert_eq!(receiver.attempts().len(), 2);
}

/// Waits for a dead push and returns its last error and its tries.
async fn wait_for_dead(pool: &PgPool) -> (String, i32) {
    let deadline = std::time::Instant::now() + PUSH_TIMEOUT;
    loop {
        let row: Option<(String, i32)> =
            sqlx::query_as("SELECT last_error, attempts FROM push_queue WHERE state = 'dead'")
                .fetch_optional(pool)
                .await
                .unwrap();
        if let Some(row) = row {
            return row;
        }
        assert!(std::time::Instant::now() < deadline, "no push became dead");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[actix_web::test]
async fn pending_pushes_are_sent_by_the_next_server_after_a_restart() {
    let first = TestServer::start_with(|config| {
        fast_retries(config);
        config.push.retry_base = Duration::from_secs(2);
    })
    .await;
    let receiver = PushReceiver::start();
    let (teacher, group, parent, _) = teacher_and_parent(&first).await;
    register(&first, &parent, &receiver.subscribe(), "webpush").await;
    let (_, first_key) = first.get("/api/v1/push/vapid-key", Some(&parent)).await;
    receiver.script([Reply::Status(503)]);
    first.send_message(&teacher, group, "before the restart").await;
    assert_eq!(receiver.wait_for_attempts(1, PUSH_TIMEOUT).await.len(), 1);

    // The push is queued for a retry when the server stops; a new server on the same database sends it.
    let pool = first.pool.clone();
    drop(first);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let second = TestServer::start_on_with(pool, fast_retries).await;

    let received = receiver.wait_for(1, PUSH_TIMEOUT).await;
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].payload["conversation_id"], json!(group));
    let (_, second_key) = second.get("/api/v1/push/vapid-key", Some(&parent)).await;
    assert_ne!(first_key, second_key, "each test server has its own data dir, so its own key");
    assert_eq!(received[0].vapid_key, second_key["public_key"].as_str().unwrap(), "the new server sent it");
    assert_eq!(receiver.attempts().len(), 2);
}

#[actix_web::test]
async fn a_message_whose_server_died_before_its_push_look_up_is_pushed_once_by_the_recovery_sweep() {
    let server = TestServer::start_with(|config| {
        fast_retries(config);
        config.push.pending_grace = Duration::from_millis(300);
    })
    .await;
    let receiver = PushReceiver::start();
    let (teacher, group, parent, _) = teacher_and_parent(&server).await;
    register(&server, &parent, &receiver.subscribe(), "webpush").await;
    let teacher_id: Uuid = server.get("/api/v1/me", Some(&teacher)).await.1["id"].as_str().unwrap().parse().unwrap();

    // What a server killed right after a commit leaves: the message and its mark, and no look-up ever ran.
    let text = hallway_server::store::messages::NewText {
        conversation_id: group,
        sender_id: teacher_id,
        client_msg_id: "committed-then-killed".into(),
        body: "the bus is late".into(),
    };
    let row = hallway_server::store::messages::insert_text(&server.pool, &text).await.unwrap().unwrap();

    let received = receiver.wait_for(1, PUSH_TIMEOUT).await;
    assert_eq!(received.len(), 1, "{:?}", receiver.problems());
    assert_eq!(received[0].payload["seq"], json!(row.seq));
    tokio::time::sleep(QUIET).await;
    assert_eq!(receiver.received().len(), 1, "pushed once, though the sweep ran again");
    let marks: i64 = sqlx::query_scalar("SELECT count(*) FROM push_pending").fetch_one(&server.pool).await.unwrap();
    assert_eq!(marks, 0);
}

#[actix_web::test]
async fn the_look_up_and_the_sweep_racing_for_the_same_messages_queue_each_once() {
    // A grace shorter than a look-up: the sweep finds every message while its own look-up is still running.
    let server = TestServer::start_with(|config| {
        fast_retries(config);
        config.push.pending_grace = Duration::from_millis(1);
    })
    .await;
    let receiver = PushReceiver::start();
    let (teacher, group, parent, _) = teacher_and_parent(&server).await;
    register(&server, &parent, &receiver.subscribe(), "webpush").await;
    for n in 0..20 {
        server.send_message(&teacher, group, &format!("notice {n}")).await;
    }
    let received = receiver.wait_for(20, PUSH_TIMEOUT).await;
    tokio::time::sleep(QUIET).await;
    let mut seqs: Vec<i64> = receiver.received().iter().map(|p| p.payload["seq"].as_i64().unwrap()).collect();
    seqs.sort_unstable();
    assert_eq!(received.len(), 20);
    assert_eq!(seqs, (1..=20).collect::<Vec<i64>>(), "each message pushed exactly once");
}

#[actix_web::test]
async fn unifiedpush_without_keys_gets_the_plain_json_payload() {
    let server = push_server().await;
    let receiver = PushReceiver::start();
    let (teacher, group, parent, _) = teacher_and_parent(&server).await;
    register(&server, &parent, &receiver.subscribe_plain(), "unifiedpush").await;

    server.send_message(&teacher, group, "plain").await;

    let received = receiver.wait_for(1, PUSH_TIMEOUT).await;
    assert_eq!(received.len(), 1, "{:?}", receiver.problems());
    assert!(!received[0].encrypted);
    assert_eq!(received[0].payload, json!({ "type": "message", "conversation_id": group, "seq": 1, "badge": 1 }));
}

#[actix_web::test]
async fn endpoints_must_be_https_and_public_unless_the_test_flag_allows_loopback() {
    let strict = TestServer::start().await;
    let (_, tokens) = strict.signed_in("parent", Role::Parent).await;
    let keys = PushReceiver::start().subscribe();
    for endpoint in [
        "http://push.example.com/x",
        "http://127.0.0.1:9/x",
        "https://127.0.0.1/x",
        "https://10.1.2.3/x",
        "https://192.168.0.10/x",
        "https://169.254.169.254/latest/meta-data",
        "https://[fd00::1]/x",
        "ftp://push.example.com/x",
    ] {
        let body = Subscription { endpoint: endpoint.to_owned(), ..keys.clone() }.device_body("webpush");
        let (status, error) = strict.post("/api/v1/devices", Some(&tokens.access_token), &body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{endpoint}");
        assert_eq!(error_code(&error), "invalid_input");
        assert!(error["error"]["message"].as_str().unwrap().starts_with("endpoint"), "{error}");
    }

    let testing = push_server().await;
    let (_, tokens) = testing.signed_in("parent", Role::Parent).await;
    let loopback = Subscription { endpoint: "http://127.0.0.1:9/x".to_owned(), ..keys.clone() };
    let (status, _) =
        testing.post("/api/v1/devices", Some(&tokens.access_token), &loopback.device_body("webpush")).await;
    assert_eq!(status, StatusCode::CREATED);
    let private = Subscription { endpoint: "https://10.1.2.3/x".to_owned(), ..keys };
    let (status, _) =
        testing.post("/api/v1/devices", Some(&tokens.access_token), &private.device_body("webpush")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "private addresses stay refused with the flag");
}

#[actix_web::test]
async fn a_name_that_resolves_to_a_loopback_address_is_refused_at_send() {
    let server = TestServer::start_with(|config| {
        config.push.poll_interval = Duration::from_millis(200);
    })
    .await;
    let receiver = PushReceiver::start();
    let (teacher, group, parent, _) = teacher_and_parent(&server).await;
    // https and a name: the shape passes; only resolving it shows where it points.
    let subscription = receiver.subscribe();
    let endpoint = subscription.endpoint.replace("http://127.0.0.1", "https://localhost");
    register(&server, &parent, &Subscription { endpoint, ..subscription }, "webpush").await;

    server.send_message(&teacher, group, "to localhost").await;

    let (error, tries) = wait_for_dead(&server.pool).await;
    assert!(error.contains("not allowed"), "{error}");
    assert_eq!(tries, 1, "a refused address is not retried");
    assert!(receiver.attempts().is_empty());
}

#[actix_web::test]
async fn device_registration_follows_each_platforms_fields() {
    let server = push_server().await;
    let (_, tokens) = server.signed_in("parent", Role::Parent).await;
    let token = tokens.access_token.as_str();
    let receiver = PushReceiver::start();
    let subscription = receiver.subscribe();

    let apns = json!({ "platform": "apns", "token": "a1b2c3d4", "app_version": "1.2.0", "locale": "en-GB" });
    let (status, device) = server.post("/api/v1/devices", Some(token), &apns).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(device["platform"], "apns");
    assert!(device["id"].is_string() && device["created_at"].is_string());
    assert_eq!(device.as_object().unwrap().len(), 3, "the token is never sent back: {device}");
    let (status, again) = server.post("/api/v1/devices", Some(token), &apns).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["id"], device["id"]);

    let (status, _) = server.post("/api/v1/devices", Some(token), &json!({ "platform": "fcm", "token": "f:1" })).await;
    assert_eq!(status, StatusCode::CREATED);
    register(&server, token, &receiver.subscribe_plain(), "unifiedpush").await;
    register(&server, token, &subscription, "webpush").await;

    let refusals = [
        (json!({ "platform": "fcm" }), "token"),
        (json!({ "platform": "apns", "token": "t", "endpoint": subscription.endpoint }), "endpoint"),
        (json!({ "platform": "apns", "token": "has spaces" }), "token"),
        (json!({ "platform": "webpush", "endpoint": subscription.endpoint }), "keys"),
        (json!({ "platform": "webpush", "token": "t", "endpoint": subscription.endpoint }), "token"),
        (json!({ "platform": "unifiedpush" }), "endpoint"),
        (
            json!({ "platform": "webpush", "endpoint": subscription.endpoint, "keys": { "p256dh": "AAAA", "auth": "AAAA" } }),
            "keys",
        ),
        (json!({ "platform": "sms", "token": "t" }), "platform"),
        (json!({ "platform": "apns", "token": "t", "locale": "x".repeat(100) }), "locale"),
    ];
    for (body, field) in refusals {
        let (status, error) = server.post("/api/v1/devices", Some(token), &body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(error_code(&error), "invalid_input", "{body}");
        assert!(error["error"]["message"].as_str().unwrap().starts_with(field), "{body}: {error}");
    }

    let (_, list) = server.get("/api/v1/devices", Some(token)).await;
    assert_eq!(list["devices"].as_array().unwrap().len(), 4);
    let (_, other) = server.signed_in("other", Role::Parent).await;
    let id = device["id"].as_str().unwrap();
    let (status, _) = server.delete(&format!("/api/v1/devices/{id}"), Some(&other.access_token)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = server.delete(&format!("/api/v1/devices/{id}"), Some(token)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, list) = server.get("/api/v1/devices", Some(token)).await;
    assert_eq!(list["devices"].as_array().unwrap().len(), 3);
    let (status, _) = server.get("/api/v1/devices", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[actix_web::test]
async fn ending_a_session_in_any_way_removes_its_devices() {
    let server = push_server().await;
    let admin = server.signed_in("admin", Role::Admin).await.1.access_token;
    let (parent, first) = server.signed_in("parent", Role::Parent).await;
    let second = server.login("parent", PASSWORD).await;
    let third = server.login("parent", PASSWORD).await;
    for (i, tokens) in [&first, &second, &third].into_iter().enumerate() {
        let body = json!({ "platform": "fcm", "token": format!("token-{i}") });
        assert_eq!(server.post("/api/v1/devices", Some(&tokens.access_token), &body).await.0, StatusCode::CREATED);
    }

    // Signing out ends that session's device only.
    let (status, _) = server
        .post("/api/v1/auth/logout", Some(&first.access_token), &json!({ "refresh_token": first.refresh_token }))
        .await;
    assert!(status.is_success());
    assert_eq!(device_count(&server.pool, parent.id).await, 2);

    // A password change ends the other sessions, and their devices.
    let change = json!({ "current_password": PASSWORD, "new_password": "a brand new passphrase" });
    let (status, body) = server.post("/api/v1/me/password", Some(&second.access_token), &change).await;
    assert!(status.is_success(), "{body}");
    assert_eq!(device_count(&server.pool, parent.id).await, 1);

    // Sign-out everywhere, then deactivation, each end the rest.
    let fourth = server.login("parent", "a brand new passphrase").await;
    let body = json!({ "platform": "fcm", "token": "token-4" });
    assert_eq!(server.post("/api/v1/devices", Some(&fourth.access_token), &body).await.0, StatusCode::CREATED);
    let (status, _) = server.post("/api/v1/auth/logout-all", Some(&second.access_token), &json!({})).await;
    assert!(status.is_success());
    assert_eq!(device_count(&server.pool, parent.id).await, 0);

    let fifth = server.login("parent", "a brand new passphrase").await;
    assert_eq!(server.post("/api/v1/devices", Some(&fifth.access_token), &body).await.0, StatusCode::CREATED);
    let (status, _) =
        server.post(&format!("/api/v1/admin/users/{}/deactivate", parent.id), Some(&admin), &json!({})).await;
    assert!(status.is_success());
    assert_eq!(device_count(&server.pool, parent.id).await, 0);
}

#[actix_web::test]
async fn previews_carry_the_sender_and_text_only_when_an_admin_chose_them() {
    let server = push_server().await;
    let receiver = PushReceiver::start();
    let admin = server.signed_in("admin", Role::Admin).await.1.access_token;
    let (teacher, group, parent, _) = teacher_and_parent(&server).await;
    register(&server, &parent, &receiver.subscribe(), "webpush").await;
    let (status, setting) = server.get("/api/v1/admin/settings/push", Some(&admin)).await;
    assert_eq!((status, setting), (StatusCode::OK, json!({ "previews": "none" })));
    let full = json!({ "previews": "full" });
    assert_eq!(server.put("/api/v1/admin/settings/push", Some(&teacher), &full).await.0, StatusCode::FORBIDDEN);
    let (status, error) =
        server.put("/api/v1/admin/settings/push", Some(&admin), &json!({ "previews": "everything" })).await;
    assert_eq!((status, error_code(&error)), (StatusCode::BAD_REQUEST, "invalid_input"));

    assert_eq!(server.put("/api/v1/admin/settings/push", Some(&admin), &full).await.0, StatusCode::OK);
    let long = "word ".repeat(100);
    server.send_message(&teacher, group, &long).await;
    let received = receiver.wait_for(1, PUSH_TIMEOUT).await;
    assert_eq!(received[0].payload["sender_name"], "teacher Display");
    let body = received[0].payload["body"].as_str().unwrap();
    assert_eq!(body.chars().count(), 201, "200 characters and an ellipsis");
    assert!(long.starts_with(body.trim_end_matches('…')));

    let sender = json!({ "previews": "sender" });
    assert_eq!(server.put("/api/v1/admin/settings/push", Some(&admin), &sender).await.0, StatusCode::OK);
    server.send_message(&teacher, group, "only the name shows").await;
    let received = receiver.wait_for(2, PUSH_TIMEOUT).await;
    assert_eq!(received.len(), 2);
    assert_eq!(received[1].payload["sender_name"], "teacher Display");
    assert!(received[1].payload.get("body").is_none(), "{}", received[1].payload);
}

#[actix_web::test]
async fn an_unread_messages_edit_and_deletion_update_and_withdraw_its_notification_but_a_read_one_is_left_alone() {
    let server = push_server().await;
    let receiver = PushReceiver::start();
    let admin = server.signed_in("admin", Role::Admin).await.1.access_token;
    let (teacher, group, phone, _) = teacher_and_parent(&server).await;
    let laptop = server.login("parent", PASSWORD).await.access_token;
    register(&server, &phone, &receiver.subscribe(), "webpush").await;
    let full = json!({ "previews": "full" });
    assert_eq!(server.put("/api/v1/admin/settings/push", Some(&admin), &full).await.0, StatusCode::OK);
    let message = server.send_message(&teacher, group, "pick-up at 3").await;
    let (id, seq) = (message["id"].as_str().unwrap().to_owned(), message["seq"].clone());
    let first = receiver.wait_for(1, PUSH_TIMEOUT).await;

    let (status, _) =
        server.patch(&format!("/api/v1/messages/{id}"), Some(&teacher), &json!({ "body": "pick-up at 4" })).await;
    assert_eq!(status, StatusCode::OK);
    let edited = receiver.wait_for(2, PUSH_TIMEOUT).await;
    assert_eq!(
        edited[1].payload,
        json!({ "type": "message_edited", "conversation_id": group, "seq": seq, "badge": 1,
                "sender_name": "teacher Display", "body": "pick-up at 4" })
    );
    assert_eq!(edited[1].urgency.as_deref(), Some("normal"));
    assert_ne!(edited[1].topic, first[0].topic, "a change never takes the place of the chat's pending push");

    let (status, _) = server.delete(&format!("/api/v1/messages/{id}"), Some(&teacher)).await;
    assert_eq!(status, StatusCode::OK);
    let deleted = receiver.wait_for(3, PUSH_TIMEOUT).await;
    assert_eq!(deleted[2].payload["type"], "message_deleted");
    assert_eq!((&deleted[2].payload["conversation_id"], &deleted[2].payload["seq"]), (&json!(group), &seq));
    assert!(deleted[2].payload.get("body").is_none());

    // Read on the laptop: the phone's notification is cleared, and a later edit has nothing to update.
    let read = server.send_message(&teacher, group, "bring a coat").await;
    receiver.wait_for(4, PUSH_TIMEOUT).await;
    server.post(&format!("/api/v1/conversations/{group}/read"), Some(&laptop), &json!({ "seq": read["seq"] })).await;
    receiver.wait_for(5, PUSH_TIMEOUT).await;
    let read_id = read["id"].as_str().unwrap();
    let (status, _) =
        server.patch(&format!("/api/v1/messages/{read_id}"), Some(&teacher), &json!({ "body": "bring a hat" })).await;
    assert_eq!(status, StatusCode::OK);
    tokio::time::sleep(QUIET).await;
    let all = receiver.received();
    assert_eq!(
        all.iter().map(|p| p.payload["type"].as_str().unwrap()).collect::<Vec<_>>(),
        ["message", "message_edited", "message_deleted", "message", "read"]
    );
    assert!(receiver.problems().is_empty(), "{:?}", receiver.problems());
}

/// Accepts nothing on its port until `open`, then forwards every connection to the test database: a database
/// that is away for a while, at an address a pool can be given beforehand.
struct DatabaseAwayThenBack {
    port: u16,
    upstream: sqlx::postgres::PgConnectOptions,
}

impl DatabaseAwayThenBack {
    fn new(pool: &PgPool) -> DatabaseAwayThenBack {
        let reserved = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = reserved.local_addr().unwrap().port();
        DatabaseAwayThenBack { port, upstream: (*pool.connect_options()).clone() }
    }

    /// Connection options for a pool that reaches the database through this port.
    fn options(&self) -> sqlx::postgres::PgConnectOptions {
        sqlx::postgres::PgConnectOptions::new_without_pgpass()
            .host("127.0.0.1")
            .port(self.port)
            .username(self.upstream.get_username())
            .database(self.upstream.get_database().unwrap())
    }

    async fn open(&self) {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", self.port)).await.unwrap();
        let upstream = self.upstream.clone();
        actix_rt::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let upstream = upstream.clone();
                actix_rt::spawn(async move {
                    let (host, port) = (upstream.get_host().to_owned(), upstream.get_port());
                    match upstream.get_socket() {
                        Some(dir) => {
                            let socket = dir.join(format!(".s.PGSQL.{port}"));
                            let mut server = tokio::net::UnixStream::connect(socket).await.unwrap();
                            let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                        }
                        None => {
                            let mut server = tokio::net::TcpStream::connect((host, port)).await.unwrap();
                            let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                        }
                    }
                });
            }
        });
    }
}

#[actix_web::test]
async fn a_push_whose_look_up_found_the_database_away_is_queued_once_it_answers() {
    let server = push_server().await;
    let receiver = PushReceiver::start();
    let (teacher, group, parent, _) = teacher_and_parent(&server).await;
    let teacher_id: Uuid = server.get("/api/v1/me", Some(&teacher)).await.1["id"].as_str().unwrap().parse().unwrap();
    register(&server, &parent, &receiver.subscribe(), "webpush").await;
    server.send_message(&teacher, group, "first").await;
    assert_eq!(receiver.wait_for(1, PUSH_TIMEOUT).await.len(), 1, "{:?}", receiver.problems());

    // A message committed (with its mark) whose look-up is the job of a notifier that cannot reach the
    // database: its look-up fails, and the push must not be dropped for that.
    let text = hallway_server::store::messages::NewText {
        conversation_id: group,
        sender_id: teacher_id,
        client_msg_id: "while-away".into(),
        body: "second".into(),
    };
    let row = hallway_server::store::messages::insert_text(&server.pool, &text).await.unwrap().unwrap();
    let away = DatabaseAwayThenBack::new(&server.pool);
    let pool = hallway_server::store::pool_options()
        .min_connections(0)
        .acquire_timeout(Duration::from_secs(1))
        .connect_lazy_with(away.options());
    let background = hallway_server::lifecycle::Background::new();
    let notifier = hallway_server::notify::Notifier::new(pool, vec!["webpush"], Vec::new(), background);
    notifier.message_committed(group, teacher_id, row.seq);
    assert_eq!(receiver.wait_for(2, Duration::from_secs(3)).await.len(), 1, "nothing while the database is away");

    // Back: the look-up is tried again and its push queued, which the server's workers send.
    away.open().await;
    let received = receiver.wait_for(2, PUSH_TIMEOUT).await;
    assert_eq!(received.len(), 2, "{:?}", receiver.problems());
    assert_eq!(received[1].payload["seq"], json!(row.seq));
    assert_eq!(received[1].payload["conversation_id"], json!(group));
}

//! APNs and FCM end to end: devices registered over the API, messages sent to the real server, and local
//! stand-ins for Apple's and Google's push services (`hallway_test_support::vendor_push`) over TLS on
//! 127.0.0.1. The APNs one takes HTTP/2 only and verifies the ES256 provider token, the headers and the
//! payload; the FCM one verifies the service account's RS256 assertion at its token endpoint, then the bearer
//! token and the message.
#![expect(clippy::unwrap_used, reason = "helpers of a test fail the test loudly when setup breaks")]

use std::time::{Duration, Instant};

use hallway_protocol::{ConversationKind, Role};
use hallway_server::config::{Config, GatewayKey, GatewaySettings};
use hallway_server::startup::Application;
use hallway_test_support::vendor_push::{ApnsReceiver, ApnsReply, FcmReceiver, FcmReply};
use hallway_test_support::ws::WsClient;
use hallway_test_support::{PASSWORD, TestServer, fresh_database, reachable_temp_dir, test_config};
use reqwest::StatusCode;
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

/// How long a test waits for a push it expects.
const PUSH_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a test waits to be sure a push does not come.
const QUIET: Duration = Duration::from_millis(1500);
/// An APNs device token as iOS hands it out: 32 bytes in hex.
const APNS_TOKEN: &str = "4a1f0c9e2b7d6a5f8e3c1b0d9a7f6e5d4c3b2a19087f6e5d4c3b2a1908f7e6d5";
/// An FCM registration token's shape.
const FCM_TOKEN: &str = "cTq9x-Ab3:APA91bH_test-token_0123456789";

fn fast_retries(config: &mut Config) {
    config.push.retry_base = Duration::from_millis(200);
    config.push.poll_interval = Duration::from_millis(200);
}

/// A server that pushes to both receivers and retries quickly.
async fn server_for(apns: &ApnsReceiver, fcm: &FcmReceiver) -> TestServer {
    TestServer::start_with(|config| {
        fast_retries(config);
        apns.configure(config);
        fcm.configure(config);
    })
    .await
}

async fn register(server: &TestServer, token: &str, platform: &str, device_token: &str) {
    let body = json!({ "platform": platform, "token": device_token });
    let (status, device) = server.post("/api/v1/devices", Some(token), &body).await;
    assert_eq!(status, StatusCode::CREATED, "{device}");
}

/// A teacher's group with an iPhone parent and an Android parent, both signed in and offline:
/// `(teacher token, group, iPhone parent token, Android parent token)`.
struct Class {
    teacher: String,
    group: Uuid,
    ios_parent: String,
    ios_parent_id: Uuid,
    android_parent: String,
    android_parent_id: Uuid,
}

async fn class_with_phones(server: &TestServer) -> Class {
    let (teacher, teacher_tokens) = server.signed_in("teacher", Role::Teacher).await;
    let (ios, ios_tokens) = server.signed_in("iphone", Role::Parent).await;
    let (android, android_tokens) = server.signed_in("android", Role::Parent).await;
    let group =
        server.create_conversation(ConversationKind::Group, Some("Class 4B"), teacher.id, &[ios.id, android.id]).await;
    register(server, &ios_tokens.access_token, "apns", APNS_TOKEN).await;
    register(server, &android_tokens.access_token, "fcm", FCM_TOKEN).await;
    Class {
        teacher: teacher_tokens.access_token,
        group,
        ios_parent: ios_tokens.access_token,
        ios_parent_id: ios.id,
        android_parent: android_tokens.access_token,
        android_parent_id: android.id,
    }
}

async fn device_count(pool: &PgPool, user_id: Uuid) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM devices WHERE user_id = $1").bind(user_id).fetch_one(pool).await.unwrap()
}

async fn wait_for_no_devices(pool: &PgPool, user_id: Uuid) {
    let deadline = Instant::now() + PUSH_TIMEOUT;
    while device_count(pool, user_id).await > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn assert_no_problems(apns: &ApnsReceiver, fcm: &FcmReceiver) {
    assert!(apns.problems().is_empty(), "APNs receiver: {:?}", apns.problems());
    assert!(fcm.problems().is_empty(), "FCM receiver: {:?}", fcm.problems());
}

#[actix_web::test]
async fn offline_members_get_one_apns_and_one_fcm_push_with_ids_badge_and_collapse_key_but_no_text() {
    let (apns, fcm) = (ApnsReceiver::start(), FcmReceiver::start());
    let server = server_for(&apns, &fcm).await;
    let class = class_with_phones(&server).await;

    let message = server.send_message(&class.teacher, class.group, "the secret words of the teacher").await;

    let on_iphone = apns.wait_for(1, PUSH_TIMEOUT).await;
    let on_android = fcm.wait_for(1, PUSH_TIMEOUT).await;
    assert_no_problems(&apns, &fcm);
    assert_eq!((on_iphone.len(), on_android.len()), (1, 1));
    let push = &on_iphone[0];
    assert_eq!(push.device_token, APNS_TOKEN);
    assert_eq!((push.push_type.as_str(), push.priority.as_str()), ("alert", "10"));
    assert_eq!(
        push.payload,
        json!({
            "aps": {
                "alert": { "loc-key": "New message" },
                "badge": 1,
                "sound": "default",
                "thread-id": class.group,
                "category": "school.hallway.message",
                "mutable-content": 1,
            },
            "type": "message",
            "conversation_id": class.group,
            "seq": message["seq"],
            "badge": 1,
        })
    );
    assert!(push.expiration > jsonwebtoken::get_current_timestamp() + 3600, "kept for a phone that is off");
    let android = &on_android[0];
    assert_eq!(android.device_token, FCM_TOKEN);
    assert_eq!(
        android.data,
        json!({ "type": "message", "conversation_id": class.group.to_string(), "seq": "1", "badge": "1" })
    );
    assert_eq!(android.android["priority"], "HIGH");
    assert_eq!(android.android["collapse_key"], json!(push.collapse_id), "one collapse key per chat on both");
    assert!(android.notification.is_none(), "data-only without previews: the app builds the notification");
    for text in [push.payload.to_string(), android.data.to_string()] {
        assert!(!text.contains("secret") && !text.contains("teacher"), "{text}");
    }

    // A second message in the same chat collapses onto the same key; exactly one push per device each time.
    server.send_message(&class.teacher, class.group, "and another").await;
    let on_iphone = apns.wait_for(2, PUSH_TIMEOUT).await;
    let on_android = fcm.wait_for(2, PUSH_TIMEOUT).await;
    assert_eq!(on_iphone[1].collapse_id, on_iphone[0].collapse_id);
    assert_eq!(on_iphone[1].payload["aps"]["badge"], json!(2));
    assert_eq!(on_android[1].android["collapse_key"], on_android[0].android["collapse_key"]);
    assert_eq!(on_android[1].data["badge"], "2");
    tokio::time::sleep(QUIET).await;
    assert_eq!((apns.attempts().len(), fcm.attempts().len()), (2, 2));
    assert_eq!(fcm.grants(), 1, "the access token is reused");
    let queued: i64 = sqlx::query_scalar("SELECT count(*) FROM push_queue").fetch_one(&server.pool).await.unwrap();
    assert_eq!(queued, 0);
    assert_no_problems(&apns, &fcm);
}

#[actix_web::test]
async fn with_full_previews_the_alert_and_the_notification_show_the_sender_and_the_text() {
    let (apns, fcm) = (ApnsReceiver::start(), FcmReceiver::start());
    let server = server_for(&apns, &fcm).await;
    let admin = server.signed_in("admin", Role::Admin).await.1.access_token;
    let class = class_with_phones(&server).await;
    let full = json!({ "previews": "full" });
    assert_eq!(server.put("/api/v1/admin/settings/push", Some(&admin), &full).await.0, StatusCode::OK);

    server.send_message(&class.teacher, class.group, "Trip money is due Friday").await;

    let on_iphone = apns.wait_for(1, PUSH_TIMEOUT).await;
    let on_android = fcm.wait_for(1, PUSH_TIMEOUT).await;
    assert_no_problems(&apns, &fcm);
    assert_eq!(
        on_iphone[0].payload["aps"]["alert"],
        json!({ "title": "teacher Display", "body": "Trip money is due Friday" })
    );
    assert_eq!(on_iphone[0].payload["aps"]["mutable-content"], json!(1));
    let android = &on_android[0];
    assert_eq!(android.notification, Some(json!({ "title": "teacher Display", "body": "Trip money is due Friday" })));
    assert_eq!(android.android["notification"]["tag"], json!(on_iphone[0].collapse_id));
    assert_eq!(android.data["body"], "Trip money is due Friday");

    // `sender`: the name, and the localizable generic text instead of the words.
    let sender = json!({ "previews": "sender" });
    assert_eq!(server.put("/api/v1/admin/settings/push", Some(&admin), &sender).await.0, StatusCode::OK);
    server.send_message(&class.teacher, class.group, "Bring a packed lunch").await;
    let on_iphone = apns.wait_for(2, PUSH_TIMEOUT).await;
    let on_android = fcm.wait_for(2, PUSH_TIMEOUT).await;
    assert_no_problems(&apns, &fcm);
    assert_eq!(on_iphone[1].payload["aps"]["alert"], json!({ "title": "teacher Display", "loc-key": "New message" }));
    assert_eq!(on_android[1].notification, Some(json!({ "title": "teacher Display" })));
    assert_eq!(on_android[1].android["notification"]["body_loc_key"], "notification_new_message");
    for text in [on_iphone[1].payload.to_string(), on_android[1].data.to_string()] {
        assert!(!text.contains("lunch"), "{text}");
    }
}

#[actix_web::test]
async fn members_with_an_open_socket_get_the_frame_and_no_apns_or_fcm_push() {
    let (apns, fcm) = (ApnsReceiver::start(), FcmReceiver::start());
    let server = server_for(&apns, &fcm).await;
    let class = class_with_phones(&server).await;
    let mut on_iphone = WsClient::connect(&server, &class.ios_parent).await;
    let mut on_android = WsClient::connect(&server, &class.android_parent).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    server.send_message(&class.teacher, class.group, "hello").await;

    on_iphone.expect("message").await;
    on_android.expect("message").await;
    tokio::time::sleep(QUIET).await;
    assert!(apns.attempts().is_empty() && fcm.attempts().is_empty());
}

#[actix_web::test]
async fn reading_on_another_device_sends_a_background_apns_push_and_a_data_only_fcm_push() {
    let (apns, fcm) = (ApnsReceiver::start(), FcmReceiver::start());
    let server = server_for(&apns, &fcm).await;
    let class = class_with_phones(&server).await;
    let ios_laptop = server.login("iphone", PASSWORD).await.access_token;
    let android_laptop = server.login("android", PASSWORD).await.access_token;
    let message = server.send_message(&class.teacher, class.group, "read me").await;
    let first_ios = apns.wait_for(1, PUSH_TIMEOUT).await;
    let first_android = fcm.wait_for(1, PUSH_TIMEOUT).await;
    assert_eq!((first_ios.len(), first_android.len()), (1, 1));

    let read = json!({ "seq": message["seq"] });
    let path = format!("/api/v1/conversations/{}/read", class.group);
    assert!(server.post(&path, Some(&ios_laptop), &read).await.0.is_success());
    assert!(server.post(&path, Some(&android_laptop), &read).await.0.is_success());

    let on_iphone = apns.wait_for(2, PUSH_TIMEOUT).await;
    let on_android = fcm.wait_for(2, PUSH_TIMEOUT).await;
    assert_no_problems(&apns, &fcm);
    let cleared = &on_iphone[1];
    assert_eq!((cleared.push_type.as_str(), cleared.priority.as_str()), ("background", "5"));
    assert_eq!(
        cleared.payload,
        json!({ "aps": { "content-available": 1 }, "type": "read", "conversation_id": class.group, "badge": 0 })
    );
    assert_eq!(cleared.collapse_id, first_ios[0].collapse_id, "it replaces the chat's notification");
    let cleared = &on_android[1];
    assert_eq!(cleared.data, json!({ "type": "read", "conversation_id": class.group.to_string(), "badge": "0" }));
    assert_eq!(cleared.android["priority"], "NORMAL");
    assert_eq!(cleared.android["collapse_key"], first_android[0].android["collapse_key"]);
    assert!(cleared.notification.is_none());
}

#[actix_web::test]
async fn an_unread_messages_edit_and_deletion_reach_both_phones_as_silent_pushes_of_their_own_topic() {
    let (apns, fcm) = (ApnsReceiver::start(), FcmReceiver::start());
    let server = server_for(&apns, &fcm).await;
    let class = class_with_phones(&server).await;
    let message = server.send_message(&class.teacher, class.group, "pick-up at 3").await;
    let (id, seq) = (message["id"].as_str().unwrap().to_owned(), message["seq"].clone());
    let first_ios = apns.wait_for(1, PUSH_TIMEOUT).await;
    let first_android = fcm.wait_for(1, PUSH_TIMEOUT).await;
    assert_eq!((first_ios.len(), first_android.len()), (1, 1));

    let edit = json!({ "body": "pick-up at 4" });
    assert_eq!(server.patch(&format!("/api/v1/messages/{id}"), Some(&class.teacher), &edit).await.0, StatusCode::OK);
    let on_iphone = apns.wait_for(2, PUSH_TIMEOUT).await;
    let on_android = fcm.wait_for(2, PUSH_TIMEOUT).await;
    assert_no_problems(&apns, &fcm);
    let edited = &on_iphone[1];
    assert_eq!((edited.push_type.as_str(), edited.priority.as_str()), ("background", "5"));
    assert_eq!(
        edited.payload,
        json!({ "aps": { "content-available": 1 }, "type": "message_edited", "conversation_id": class.group,
                "seq": seq, "badge": 1 })
    );
    assert_ne!(edited.collapse_id, first_ios[0].collapse_id, "a change never takes the place of the chat's push");
    let edited = &on_android[1];
    assert_eq!(
        edited.data,
        json!({ "type": "message_edited", "conversation_id": class.group.to_string(), "seq": "1", "badge": "1" })
    );
    assert_eq!(edited.android["priority"], "NORMAL");
    assert!(edited.notification.is_none());
    assert_ne!(edited.android["collapse_key"], first_android[0].android["collapse_key"]);

    assert_eq!(server.delete(&format!("/api/v1/messages/{id}"), Some(&class.teacher)).await.0, StatusCode::OK);
    let on_iphone = apns.wait_for(3, PUSH_TIMEOUT).await;
    let on_android = fcm.wait_for(3, PUSH_TIMEOUT).await;
    assert_no_problems(&apns, &fcm);
    assert_eq!(on_iphone[2].push_type, "background");
    assert_eq!(on_iphone[2].payload["type"], "message_deleted");
    assert_eq!(on_iphone[2].payload["aps"], json!({ "content-available": 1 }));
    assert_eq!(on_android[2].data["type"], "message_deleted");
    assert_eq!(on_android[2].data["seq"], "1");
}

#[actix_web::test]
async fn apns_unregistered_and_fcm_unregistered_remove_the_device() {
    let (apns, fcm) = (ApnsReceiver::start(), FcmReceiver::start());
    let server = server_for(&apns, &fcm).await;
    let class = class_with_phones(&server).await;
    apns.script([ApnsReply::Status(410, "Unregistered")]);
    fcm.script([FcmReply::Unregistered]);

    server.send_message(&class.teacher, class.group, "anyone there?").await;

    wait_for_no_devices(&server.pool, class.ios_parent_id).await;
    wait_for_no_devices(&server.pool, class.android_parent_id).await;
    assert_eq!(device_count(&server.pool, class.ios_parent_id).await, 0);
    assert_eq!(device_count(&server.pool, class.android_parent_id).await, 0);
    tokio::time::sleep(QUIET).await;
    assert_eq!((apns.attempts().len(), fcm.attempts().len()), (1, 1), "a gone device is not tried again");
    assert_no_problems(&apns, &fcm);
}

#[actix_web::test]
async fn too_many_requests_is_retried_no_sooner_than_retry_after_on_apns_and_fcm() {
    let (apns, fcm) = (ApnsReceiver::start(), FcmReceiver::start());
    let server = server_for(&apns, &fcm).await;
    let class = class_with_phones(&server).await;
    apns.script([ApnsReply::RetryAfter(429, 2)]);
    fcm.script([FcmReply::RetryAfter(429, 2)]);

    server.send_message(&class.teacher, class.group, "later, please").await;

    assert_eq!(apns.wait_for(1, PUSH_TIMEOUT).await.len(), 1);
    assert_eq!(fcm.wait_for(1, PUSH_TIMEOUT).await.len(), 1);
    for (name, attempts) in [("APNs", apns.attempts()), ("FCM", fcm.attempts())] {
        assert_eq!(attempts.iter().map(|a| a.status).collect::<Vec<_>>(), [429, 200], "{name}");
        let waited = attempts[1].at - attempts[0].at;
        assert!(waited >= Duration::from_secs(2), "{name} retried after {waited:?}, before Retry-After's 2 s");
        assert!(waited < Duration::from_secs(5), "{name} retried only after {waited:?}");
    }
    assert_no_problems(&apns, &fcm);
}

#[actix_web::test]
async fn an_expired_apns_provider_token_is_made_anew_and_the_push_sent() {
    let (apns, fcm) = (ApnsReceiver::start(), FcmReceiver::start());
    let server = server_for(&apns, &fcm).await;
    let class = class_with_phones(&server).await;
    // From the first request on, the receiver refuses every provider token made no later than that one's,
    // so only a token made anew gets through.
    apns.script([ApnsReply::ExpireProviderToken]);

    server.send_message(&class.teacher, class.group, "still there?").await;

    let received = apns.wait_for(1, PUSH_TIMEOUT).await;
    assert_eq!(received.len(), 1, "{:?}", apns.attempts());
    let statuses: Vec<u16> = apns.attempts().iter().map(|a| a.status).collect();
    assert_eq!(statuses.first(), Some(&403));
    assert_eq!(statuses.last(), Some(&200));
    assert!(statuses[1..statuses.len() - 1].iter().all(|s| *s == 403), "{statuses:?}");
    assert_no_problems(&apns, &fcm);
}

#[actix_web::test]
async fn an_fcm_401_earns_a_new_access_token_and_the_push_is_sent() {
    let (apns, fcm) = (ApnsReceiver::start(), FcmReceiver::start());
    let server = server_for(&apns, &fcm).await;
    let class = class_with_phones(&server).await;
    fcm.script([FcmReply::Unauthenticated]);

    server.send_message(&class.teacher, class.group, "knock knock").await;

    let received = fcm.wait_for(1, PUSH_TIMEOUT).await;
    assert_eq!(received.len(), 1);
    assert_eq!(fcm.attempts().iter().map(|a| a.status).collect::<Vec<_>>(), [401, 200]);
    assert_eq!(fcm.grants(), 2, "a new access token was earned after the 401");
    assert_no_problems(&apns, &fcm);
}

#[actix_web::test]
async fn other_refusals_are_kept_as_dead_at_once_and_the_device_is_kept() {
    let (apns, fcm) = (ApnsReceiver::start(), FcmReceiver::start());
    let server = server_for(&apns, &fcm).await;
    let class = class_with_phones(&server).await;
    // A token for another app (a misconfigured topic must not delete every device) and a sender mismatch.
    apns.script([ApnsReply::Status(400, "DeviceTokenNotForTopic")]);
    fcm.script([FcmReply::Status(403)]);

    server.send_message(&class.teacher, class.group, "to the wrong app").await;

    let deadline = Instant::now() + PUSH_TIMEOUT;
    let dead = loop {
        let dead: Vec<(String, i32)> =
            sqlx::query_as("SELECT last_error, attempts FROM push_queue WHERE state = 'dead' ORDER BY last_error")
                .fetch_all(&server.pool)
                .await
                .unwrap();
        if dead.len() == 2 || Instant::now() >= deadline {
            break dead;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(dead.len(), 2, "{dead:?}");
    assert!(dead[0].0.contains("APNs answered 400") && dead[0].0.contains("DeviceTokenNotForTopic"), "{dead:?}");
    assert!(dead[1].0.contains("FCM answered 403"), "{dead:?}");
    assert!(dead.iter().all(|(error, tries)| *tries == 1 && !error.contains(APNS_TOKEN) && !error.contains(FCM_TOKEN)));
    assert_eq!(device_count(&server.pool, class.ios_parent_id).await, 1);
    assert_eq!(device_count(&server.pool, class.android_parent_id).await, 1);
    tokio::time::sleep(QUIET).await;
    assert_eq!((apns.attempts().len(), fcm.attempts().len()), (1, 1));
}

#[actix_web::test]
async fn a_platform_whose_provider_is_not_configured_gets_nothing_queued() {
    let apns = ApnsReceiver::start();
    let server = TestServer::start_with(|config| {
        fast_retries(config);
        apns.configure(config);
    })
    .await;
    let class = class_with_phones(&server).await;

    server.send_message(&class.teacher, class.group, "only iPhones here").await;

    assert_eq!(apns.wait_for(1, PUSH_TIMEOUT).await.len(), 1);
    tokio::time::sleep(QUIET).await;
    let queued: i64 = sqlx::query_scalar("SELECT count(*) FROM push_queue").fetch_one(&server.pool).await.unwrap();
    assert_eq!(queued, 0, "nothing waits for an FCM provider that is not there");
    assert_eq!(device_count(&server.pool, class.android_parent_id).await, 1, "the Android device is kept");
}

#[actix_web::test]
async fn the_schools_own_apns_credentials_win_over_the_gateway_which_keeps_fcm() {
    let apns = ApnsReceiver::start();
    let server = TestServer::start_with(|config| {
        fast_retries(config);
        apns.configure(config);
        // A gateway nobody listens at (a closed loopback port): what it is given stays queued.
        config.push.gateway = Some(GatewaySettings {
            url: "https://127.0.0.1:9".to_owned(),
            key: GatewayKey::new("school-key".to_owned()),
            concurrency: 1,
            carries_webpush: false,
        });
    })
    .await;
    let class = class_with_phones(&server).await;

    server.send_message(&class.teacher, class.group, "which way?").await;

    assert_eq!(apns.wait_for(1, PUSH_TIMEOUT).await.len(), 1, "APNs went straight to Apple's stand-in");
    let deadline = Instant::now() + PUSH_TIMEOUT;
    let tried_at_gateway = loop {
        let platforms: Vec<(String, i32)> = sqlx::query_as(
            "SELECT d.platform, q.attempts FROM push_queue q JOIN devices d ON d.id = q.device_id WHERE q.attempts > 0",
        )
        .fetch_all(&server.pool)
        .await
        .unwrap();
        if !platforms.is_empty() || Instant::now() >= deadline {
            break platforms;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(tried_at_gateway.iter().map(|(p, _)| p.as_str()).collect::<Vec<_>>(), ["fcm"]);
    assert_eq!(apns.attempts().len(), 1);
}

/// The error `Application::build` gives for this push configuration, with its whole cause chain.
async fn build_error(adjust: impl FnOnce(&mut Config)) -> String {
    let dir = reachable_temp_dir().unwrap();
    let mut config = test_config(dir.path());
    adjust(&mut config);
    match Application::build(config, fresh_database().await).await {
        Ok(_) => panic!("the server started with a bad push configuration"),
        Err(err) => format!("{err:#}"),
    }
}

#[actix_web::test]
async fn a_partial_or_unreadable_provider_configuration_stops_the_server_with_a_clear_error() {
    let error = build_error(|config| config.push.apns.key_id = Some("ABC123DEFG".to_owned())).await;
    assert!(error.contains("APNs is configured only in part"), "{error}");
    assert!(error.contains("--push-apns-key-file") && error.contains("--push-apns-topic"), "{error}");
    assert!(!error.contains("--push-apns-key-id"), "{error}");

    let error = build_error(|config| {
        let key_file = config.data_dir.join("AuthKey.p8");
        std::fs::write(&key_file, "not a key").unwrap();
        config.push.apns.key_file = Some(key_file);
        config.push.apns.key_id = Some("ABC123DEFG".to_owned());
        config.push.apns.team_id = Some("TEAM123456".to_owned());
        config.push.apns.topic = Some("school.hallway.app".to_owned());
    })
    .await;
    assert!(error.contains("is not a PKCS#8 P-256 key (.p8)"), "{error}");

    let error = build_error(|config| {
        let path = config.data_dir.join("service-account.json");
        std::fs::write(&path, r#"{"type": "authorized_user"}"#).unwrap();
        config.push.fcm.service_account = Some(path);
    })
    .await;
    assert!(error.contains("is not a service-account key file"), "{error}");

    let error = build_error(|config| {
        config.push.fcm.service_account = Some(config.data_dir.join("missing.json"));
    })
    .await;
    assert!(error.contains("reading --push-fcm-service-account"), "{error}");
}

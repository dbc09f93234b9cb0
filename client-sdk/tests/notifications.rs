//! Push notifications on the SDK's side, against the real server: registering the phone's push address as a
//! device, and the `NotificationClient` that a second process (the iOS Notification Service Extension,
//! Android's messaging service) runs on the app's own data directory while the app may be running too.
#![expect(clippy::expect_used, reason = "a test helper that cannot do its job must fail the test loudly")]

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use hallway_protocol::{ConversationKind, Role};
use hallway_sdk::{
    Client, ConnectionState, NotificationClient, NotificationKind, NotificationTextSource, PushRegistration,
    ReplyOutcome, SendState,
};
use hallway_test_support::push_receiver::PushReceiver;
use hallway_test_support::{PASSWORD, TestServer};
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::*;
use uuid::Uuid;

/// The fallback text a notification shows when nothing else could be had.
const FALLBACK: &str = "New message";
/// The notification client's own bound on working out a notification, and what a test allows beyond it.
const CONTENT_BOUND: Duration = Duration::from_secs(8);
const SLACK: Duration = Duration::from_secs(3);

/// A notification client on the same data directory and secrets as the app's client there.
fn notification_client(url: &str, dir: &tempfile::TempDir) -> Arc<NotificationClient> {
    NotificationClient::new(url.to_owned(), dir.path().to_string_lossy().into_owned(), FileSecrets::of(dir.path()))
        .expect("a notification client")
}

/// The devices of the user whose access token this is (on all of their sessions), by id.
async fn devices(server: &TestServer, token: &str) -> Vec<(String, String)> {
    let (status, body) = server.get("/api/v1/devices", Some(token)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["devices"]
        .as_array()
        .expect("a device list")
        .iter()
        .map(|d| (d["id"].as_str().expect("an id").to_owned(), d["platform"].as_str().expect("a platform").to_owned()))
        .collect()
}

/// Sends `body` as the teacher over REST; returns the message.
async fn teacher_sends(server: &TestServer, teacher_token: &str, chat: &str, body: &str) -> Value {
    let request = json!({ "client_msg_id": Uuid::now_v7().to_string(), "body": body });
    let (status, message) =
        server.post(&format!("/api/v1/conversations/{chat}/messages"), Some(teacher_token), &request).await;
    assert_eq!(status, StatusCode::CREATED, "{message}");
    message
}

/// The push the server sends for a new message with previews off.
fn message_push(chat: &str, seq: i64, badge: i64) -> String {
    json!({ "type": "message", "conversation_id": chat, "seq": seq, "badge": badge }).to_string()
}

/// The parent ("chen") signed in on a phone whose app is online with the direct chat with the teacher
/// ("rivera"); the teacher's access token, the chat, the app and its data dir.
async fn parent_app_online(server: &TestServer, url: &str) -> (String, String, Arc<Client>, tempfile::TempDir) {
    let (_, _, chat) = teacher_and_parent_in_a_chat(server).await;
    let teacher = server.login("rivera", PASSWORD).await.access_token;
    let (app, dir) = client(url);
    app.login("chen".into(), PASSWORD.into()).await.expect("signed in");
    wait_for_conversation(&app, &chat).await;
    wait_online(&app).await;
    (teacher, chat, app, dir)
}

#[actix_web::test]
async fn registering_adds_one_device_the_same_token_again_changes_nothing_a_new_one_replaces_it() {
    let server = TestServer::start().await;
    let (_, parent, _) = teacher_and_parent_in_a_chat(&server).await;
    let (app, _dir) = client(&server.base_url);
    app.login("chen".into(), PASSWORD.into()).await.expect("signed in");
    let other_session = server.login("chen", PASSWORD).await.access_token;

    app.register_push(
        PushRegistration::Fcm { token: "fcm-token-1".into() },
        Some("1.4.0".into()),
        Some("fr-CA".into()),
    )
    .await
    .expect("registered");
    let first = devices(&server, &other_session).await;
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].1, "fcm");
    let (version, locale): (Option<String>, Option<String>) =
        sqlx::query_as("SELECT app_version, locale FROM devices WHERE user_id = $1")
            .bind(parent.id)
            .fetch_one(&server.pool)
            .await
            .expect("the device");
    assert_eq!((version.as_deref(), locale.as_deref()), (Some("1.4.0"), Some("fr-CA")));

    app.register_push(PushRegistration::Fcm { token: "fcm-token-1".into() }, None, None).await.expect("again");
    assert_eq!(devices(&server, &other_session).await, first, "the same token is the same device");

    app.register_push(PushRegistration::Fcm { token: "fcm-token-2".into() }, None, None).await.expect("replaced");
    let replaced = devices(&server, &other_session).await;
    assert_eq!(replaced.len(), 1, "the old token's device is gone: {replaced:?}");
    assert_ne!(replaced[0].0, first[0].0);
    let stored: Vec<(String, Option<String>, Option<String>)> =
        sqlx::query_as("SELECT address, app_version, locale FROM devices WHERE user_id = $1")
            .bind(parent.id)
            .fetch_all(&server.pool)
            .await
            .expect("the devices");
    assert_eq!(stored, [("fcm-token-2".to_owned(), None, None)]);

    app.unregister_push().await.expect("unregistered");
    assert!(devices(&server, &other_session).await.is_empty());
    // Forgotten: a new sign-in registers nothing.
    app.logout().await.expect("signed out");
    app.login("chen".into(), PASSWORD.into()).await.expect("signed in again");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(devices(&server, &other_session).await.is_empty());
}

#[actix_web::test]
async fn the_push_address_is_registered_again_after_sign_out_and_sign_in_and_kept_from_before_sign_in() {
    let server = TestServer::start().await;
    teacher_and_parent_in_a_chat(&server).await;
    let watcher = server.login("chen", PASSWORD).await.access_token;
    let (app, _dir) = client(&server.base_url);
    // The platform hands out its token before anyone signs in: kept, and registered by the sign-in.
    let registration =
        PushRegistration::UnifiedPush { endpoint: "https://push.example.org/up/abc".into(), p256dh: None, auth: None };
    app.register_push(registration, None, None).await.expect("kept");
    assert!(devices(&server, &watcher).await.is_empty());
    app.login("chen".into(), PASSWORD.into()).await.expect("signed in");
    let registered = eventually_async_devices(&server, &watcher, 1).await;
    assert_eq!(registered[0].1, "unifiedpush");

    app.logout().await.expect("signed out");
    assert!(devices(&server, &watcher).await.is_empty(), "sign-out ends the session's devices");
    app.login("chen".into(), PASSWORD.into()).await.expect("signed in again");
    let again = eventually_async_devices(&server, &watcher, 1).await;
    assert_ne!(again[0].0, registered[0].0, "a new device of the new session");

    let half_keys = PushRegistration::UnifiedPush {
        endpoint: "https://push.example.org/up/abc".into(),
        p256dh: Some("key".into()),
        auth: None,
    };
    let refused = app.register_push(half_keys, None, None).await;
    assert!(matches!(refused, Err(hallway_sdk::HallwayError::InvalidInput { .. })), "{refused:?}");
}

/// Waits until the user has `count` devices, and returns them.
async fn eventually_async_devices(server: &TestServer, token: &str, count: usize) -> Vec<(String, String)> {
    let deadline = Instant::now() + WAIT;
    loop {
        let found = devices(server, token).await;
        if found.len() == count {
            return found;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {count} devices, found {found:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[actix_web::test]
async fn a_notification_client_beside_the_running_app_shows_the_chat_the_sender_and_the_text() {
    let server = TestServer::start().await;
    let (teacher, chat, app, dir) = parent_app_online(&server, &server.base_url).await;
    let (timeline, _t) = watch_timeline(&app, &chat);
    let message = teacher_sends(&server, &teacher, &chat, "The trip leaves at 8").await;
    timeline.wait_for("the app to hold the message", |s| item(s, "The trip leaves at 8").is_some()).await;

    let notifications = notification_client(&server.base_url, &dir);
    let seq = message["seq"].as_i64().expect("a seq");
    let content = notifications.content(message_push(&chat, seq, 1)).await;

    assert_eq!(content.kind, NotificationKind::Message);
    assert_eq!(content.conversation_id, chat);
    assert_eq!(content.conversation_name.as_deref(), Some("rivera Display"));
    assert!(!content.is_group);
    assert_eq!(content.sender_name.as_deref(), Some("rivera Display"));
    assert_eq!(content.sender_id.as_deref(), message["sender_id"].as_str());
    assert_eq!(content.message_id.as_deref(), message["id"].as_str());
    assert_eq!((content.text.as_str(), content.text_source), ("The trip leaves at 8", NotificationTextSource::Message));
    assert_eq!((content.seq, content.badge), (Some(seq), Some(1)));
    assert!(content.sent_at_ms.is_some());

    // Both on one store at once: the app keeps writing (a send of its own, messages arriving) while the
    // notification client reads and writes (a read marker) beside it.
    let writes = async {
        for i in 0..10 {
            teacher_sends(&server, &teacher, &chat, &format!("burst {i}")).await;
        }
    };
    let reads = async {
        for _ in 0..10 {
            let content = notifications.content(message_push(&chat, seq, 1)).await;
            assert_eq!(content.text_source, NotificationTextSource::Message);
        }
        notifications.mark_read(chat.clone(), seq).await.expect("marked read beside the app");
    };
    tokio::join!(writes, reads);
    app.timeline(chat.clone()).expect("a timeline").send_text("Thanks!".into()).await.expect("queued");
    let settled = timeline
        .wait_for("everything stored and sent", |s| {
            item(s, "burst 9").is_some() && item(s, "Thanks!").is_some_and(|i| i.send_state == SendState::Sent)
        })
        .await;
    assert_contiguous(&settled);
    assert_eq!(app.connection_state(), ConnectionState::Online);
}

#[actix_web::test]
async fn a_group_notification_names_the_group_and_its_sender_and_fetches_what_the_app_never_stored() {
    let server = TestServer::start_with(|config| {
        config.push.allow_insecure_endpoints = true;
        config.push.poll_interval = Duration::from_millis(200);
    })
    .await;
    let receiver = PushReceiver::start();
    let teacher = server.create_user("rivera", Role::Teacher).await;
    let parent = server.create_user("chen", Role::Parent).await;
    let group = server.create_conversation(ConversationKind::Group, Some("Class 4B"), teacher.id, &[parent.id]).await;
    let teacher_token = server.login("rivera", PASSWORD).await.access_token;
    // The teacher has a profile picture: the notification shows it, from a file in the app's media folder.
    let picture = image::RgbImage::from_pixel(64, 64, image::Rgb([10, 120, 40]));
    let mut png = std::io::Cursor::new(Vec::new());
    picture.write_to(&mut png, image::ImageFormat::Png).expect("encoding a PNG");
    let part = reqwest::multipart::Part::bytes(png.into_inner()).file_name("me.png");
    let upload = server
        .client
        .put(server.url("/api/v1/me/avatar"))
        .multipart(reqwest::multipart::Form::new().part("file", part));
    assert_eq!(server.send(upload, Some(&teacher_token)).await.0, StatusCode::OK);
    let (app, dir) = client(&server.base_url);
    app.login("chen".into(), PASSWORD.into()).await.expect("signed in");
    wait_for_conversation(&app, &group.to_string()).await;
    let (_, vapid) = server.get("/api/v1/push/vapid-key", Some(&teacher_token)).await;
    assert_eq!(app.push_vapid_key().await.expect("the VAPID key"), vapid["public_key"].as_str().expect("a key"));
    let subscription = receiver.subscribe();
    let registration = PushRegistration::WebPush {
        endpoint: subscription.endpoint.clone(),
        p256dh: subscription.p256dh.clone().expect("keys"),
        auth: subscription.auth.clone().expect("keys"),
    };
    app.register_push(registration, None, None).await.expect("registered");
    // The phone goes to sleep: the socket closes, so the server pushes instead of sending the frame, and the
    // app's store never sees the message.
    app.pause();
    eventually("the app paused", || (app.connection_state() == ConnectionState::Paused).then_some(())).await;

    let message = teacher_sends(&server, &teacher_token, &group.to_string(), "Bring a coat tomorrow").await;
    let pushes = receiver.wait_for(1, WAIT).await;
    assert_eq!(pushes.len(), 1, "{:?}", receiver.problems());
    let payload = pushes[0].payload.clone();
    assert!(payload.get("body").is_none(), "previews are off: no text in the push");

    let content = notification_client(&server.base_url, &dir).content(payload.to_string()).await;
    assert_eq!(content.conversation_name.as_deref(), Some("Class 4B"));
    assert!(content.is_group);
    assert_eq!(content.sender_name.as_deref(), Some("rivera Display"));
    assert_eq!(
        (content.text.as_str(), content.text_source),
        ("Bring a coat tomorrow", NotificationTextSource::Message)
    );
    assert_eq!(content.seq, message["seq"].as_i64());
    assert_eq!(content.badge, Some(1));
    let avatar = std::path::PathBuf::from(content.sender_avatar_path.clone().expect("the sender's picture"));
    assert!(avatar.starts_with(dir.path().join("media")), "{avatar:?}");
    assert!(std::fs::read(&avatar).expect("the picture's file").starts_with(&[0xff, 0xd8]), "a JPEG");
    // FCM hands the same fields over as strings.
    let as_strings = json!({
        "type": "message", "conversation_id": group.to_string(),
        "seq": message["seq"].to_string(), "badge": "1",
    });
    let from_fcm = notification_client(&server.base_url, &dir).content(as_strings.to_string()).await;
    assert_eq!(from_fcm, content);
}

#[actix_web::test]
async fn an_edit_shows_the_new_text_not_the_stored_one_and_a_deletion_withdraws() {
    let server = TestServer::start().await;
    let (teacher, chat, app, dir) = parent_app_online(&server, &server.base_url).await;
    let (timeline, _t) = watch_timeline(&app, &chat);
    let message = teacher_sends(&server, &teacher, &chat, "Sports day at 3").await;
    timeline.wait_for("the app to hold it", |s| item(s, "Sports day at 3").is_some()).await;
    // The phone sleeps, so its store keeps the old text while the teacher corrects it.
    app.pause();
    eventually("the app paused", || (app.connection_state() == ConnectionState::Paused).then_some(())).await;
    let id = message["id"].as_str().expect("an id");
    let (status, _) =
        server.patch(&format!("/api/v1/messages/{id}"), Some(&teacher), &json!({ "body": "Sports day at 4" })).await;
    assert_eq!(status, StatusCode::OK);
    let seq = message["seq"].as_i64().expect("a seq");
    let notifications = notification_client(&server.base_url, &dir);

    let edited = json!({ "type": "message_edited", "conversation_id": chat, "seq": seq, "badge": 1 }).to_string();
    let content = notifications.content(edited).await;
    assert_eq!(content.kind, NotificationKind::MessageEdited);
    assert_eq!((content.text.as_str(), content.text_source), ("Sports day at 4", NotificationTextSource::Message));
    assert_eq!(content.message_id.as_deref(), Some(id));

    let deleted = json!({ "type": "message_deleted", "conversation_id": chat, "seq": seq, "badge": 0 }).to_string();
    let content = notifications.content(deleted).await;
    assert_eq!((content.kind, content.seq, content.badge), (NotificationKind::MessageDeleted, Some(seq), Some(0)));
    assert_eq!(content.text_source, NotificationTextSource::Fallback, "nothing of a deleted message is shown");
}

#[actix_web::test]
async fn an_unreachable_server_gives_the_preview_or_the_fallback_text_within_the_timeout() {
    let server = TestServer::start().await;
    let proxy = Proxy::start(server.local_addr()).await;
    let (teacher, chat, app, dir) = parent_app_online(&server, &proxy.url()).await;
    let message = teacher_sends(&server, &teacher, &chat, "not on the phone yet").await;
    let seq = message["seq"].as_i64().expect("a seq");
    app.pause();
    eventually("the app paused", || (app.connection_state() == ConnectionState::Paused).then_some(())).await;
    // A network that swallows every byte: requests hang rather than fail.
    proxy.freeze();
    let notifications = notification_client(&proxy.url(), &dir);
    let with_preview = json!({
        "type": "message", "conversation_id": chat, "seq": seq + 1, "badge": 2,
        "sender_name": "rivera Display", "body": "Preview of the words",
    })
    .to_string();

    let started = Instant::now();
    let (bare, previewed) =
        tokio::join!(notifications.content(message_push(&chat, seq + 1, 2)), notifications.content(with_preview));
    let took = started.elapsed();

    assert!(took < CONTENT_BOUND + SLACK, "took {took:?}");
    assert_eq!((bare.text.as_str(), bare.text_source), (FALLBACK, NotificationTextSource::Fallback));
    assert_eq!(bare.conversation_name.as_deref(), Some("rivera Display"), "the stored chat still names it");
    assert_eq!((bare.kind, bare.badge), (NotificationKind::Message, Some(2)));
    assert_eq!(
        (previewed.text.as_str(), previewed.text_source),
        ("Preview of the words", NotificationTextSource::Preview)
    );
    assert_eq!(previewed.sender_name.as_deref(), Some("rivera Display"));

    // Nothing to go on at all (no store in that folder, or no payload it understands): the fallback, at once.
    let empty = tempfile::tempdir().expect("a folder");
    let started = Instant::now();
    let nothing = notification_client(&server.base_url, &empty).content(message_push(&chat, 1, 0)).await;
    let unknown = notifications.content("{\"aps\": {}}".into()).await;
    assert!(started.elapsed() < SLACK);
    assert_eq!((nothing.text.as_str(), nothing.conversation_name), (FALLBACK, None));
    assert_eq!((unknown.kind, unknown.text.as_str()), (NotificationKind::Unknown, FALLBACK));
}

#[actix_web::test]
async fn a_reply_from_a_notification_is_stored_once_while_the_app_runs_and_reconnects() {
    let server = TestServer::start().await;
    let proxy = Proxy::start(server.local_addr()).await;
    let (_, chat, app, dir) = parent_app_online(&server, &proxy.url()).await;
    let (timeline, _t) = watch_timeline(&app, &chat);
    let notifications = notification_client(&server.base_url, &dir);

    let outcome = notifications.reply(chat.clone(), "On my way".into()).await.expect("replied");
    assert_eq!(outcome, ReplyOutcome::Sent);
    // The app, draining the same outbox and then losing and regaining its connection, sends nothing twice.
    go_offline(&app, &proxy).await;
    proxy.restore();
    app.reconnect_now();
    wait_online(&app).await;
    let shown = timeline
        .wait_for("the reply shown sent", |s| item(s, "On my way").is_some_and(|i| i.send_state == SendState::Sent))
        .await;
    assert_eq!(shown.items.iter().filter(|i| i.body == "On my way").count(), 1);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(stored_count(&server, "On my way").await, 1);

    let refused = notifications.reply(chat.clone(), "   ".into()).await;
    assert!(matches!(refused, Err(hallway_sdk::HallwayError::InvalidInput { .. })), "{refused:?}");
}

#[actix_web::test]
async fn a_reply_that_cannot_reach_the_server_in_time_is_sent_by_the_app_and_still_stored_once() {
    let server = TestServer::start().await;
    let (_, chat, app, dir) = parent_app_online(&server, &server.base_url).await;
    let (timeline, _t) = watch_timeline(&app, &chat);
    // The notification's process has a network that holds its request back (it reaches the server later).
    let slow_network = Proxy::start(server.local_addr()).await;
    slow_network.freeze();
    let notifications = notification_client(&slow_network.url(), &dir);

    let outcome = notifications.reply(chat.clone(), "Running late".into()).await.expect("queued");
    assert_eq!(outcome, ReplyOutcome::Queued);
    // The app finds it in the outbox they share and sends it.
    timeline
        .wait_for("the app to send the reply", |s| {
            item(s, "Running late").is_some_and(|i| i.send_state == SendState::Sent)
        })
        .await;
    // The held-back request arrives after all: the same client_msg_id, so the server keeps one.
    slow_network.restore();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(stored_count(&server, "Running late").await, 1);
    let settled = settled(&timeline, &app.timeline(chat.clone()).expect("a timeline")).await;
    assert_eq!(settled.items.iter().filter(|i| i.body == "Running late").count(), 1);
}

#[actix_web::test]
async fn mark_read_from_a_notification_moves_the_read_marker_on_the_server_and_in_the_apps_store() {
    let server = TestServer::start().await;
    let (teacher, chat, app, dir) = parent_app_online(&server, &server.base_url).await;
    let parent = server.login("chen", PASSWORD).await.access_token;
    for body in ["one", "two", "three"] {
        teacher_sends(&server, &teacher, &chat, body).await;
    }
    let (list, _l) = watch_list(&app);
    list.wait_for("three unread", |l| l.iter().any(|c| c.id == chat && c.unread_count == 3)).await;

    notification_client(&server.base_url, &dir).mark_read(chat.clone(), 2).await.expect("marked read");

    let (_, conversation) = server.get(&format!("/api/v1/conversations/{chat}"), Some(&parent)).await;
    assert_eq!((conversation["last_read_seq"].as_i64(), conversation["unread_count"].as_i64()), (Some(2), Some(1)));
    let stored = app.conversation_list().conversations().await.expect("the list");
    let stored = stored.iter().find(|c| c.id == chat).expect("the chat");
    assert_eq!(stored.unread_count, 1, "the app's store moved too");
}

#[actix_web::test]
async fn refreshes_by_the_notification_client_do_not_sign_the_app_out() {
    // Access tokens of 2 s: every call of either process past that refreshes the one session they share, and
    // each refresh rotates the refresh token (an old one presented after its successor was used revokes it).
    let server = TestServer::start_with(|config| config.tokens.access = Duration::from_secs(2)).await;
    let (teacher, chat, app, dir) = parent_app_online(&server, &server.base_url).await;
    let message = teacher_sends(&server, &teacher, &chat, "hello").await;
    let seq = message["seq"].as_i64().expect("a seq");
    let notifications = notification_client(&server.base_url, &dir);
    for _ in 0..2 {
        tokio::time::sleep(Duration::from_millis(2500)).await;
        let content = notifications.content(message_push(&chat, seq, 1)).await;
        assert_eq!(content.text_source, NotificationTextSource::Message);
        notifications.mark_read(chat.clone(), seq).await.expect("a refreshed call");
    }
    tokio::time::sleep(Duration::from_millis(2500)).await;

    let found = app.search_directory(String::new(), 10).await.expect("the app's own call, refreshed");
    assert!(!found.is_empty());
    let content = notifications.content(message_push(&chat, seq, 1)).await;
    assert_eq!(content.text_source, NotificationTextSource::Message);
    assert!(app.user().is_some());
    assert_ne!(
        std::mem::discriminant(&app.connection_state()),
        std::mem::discriminant(&ConnectionState::SignedOut { reason: hallway_sdk::SignOutReason::SessionEnded })
    );
}

/// The environment of [`notification_process`], run as a child process of the test binary.
const CHILD_DIR: &str = "HALLWAY_NOTIFICATION_CHILD_DIR";
const CHILD_URL: &str = "HALLWAY_NOTIFICATION_CHILD_URL";
const CHILD_CHAT: &str = "HALLWAY_NOTIFICATION_CHILD_CHAT";
const CHILD_SEQ: &str = "HALLWAY_NOTIFICATION_CHILD_SEQ";

/// Not a test of its own: the second process of
/// [`another_process_words_replies_and_marks_read_on_the_store_the_running_app_writes`], as the iOS extension or
/// Android's service is one. It opens the app's data directory, words the push, replies and marks read, and prints
/// what it got for the parent to check.
#[test]
#[ignore = "run as a child process by another test"]
fn notification_process() {
    let var = |name: &str| std::env::var(name).expect("set by the parent test");
    let (dir, url, chat) = (var(CHILD_DIR), var(CHILD_URL), var(CHILD_CHAT));
    let seq: i64 = var(CHILD_SEQ).parse().expect("a seq");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    runtime.block_on(async {
        let secrets = FileSecrets::of(std::path::Path::new(&dir));
        let notifications = NotificationClient::new(url, dir.clone(), secrets).expect("a notification client");
        for _ in 0..5 {
            let content = notifications.content(message_push(&chat, seq, 1)).await;
            println!("CONTENT {:?} {}", content.text_source, content.text);
        }
        let outcome = notifications.reply(chat.clone(), "From the other process".into()).await.expect("replied");
        println!("REPLY {outcome:?}");
        notifications.mark_read(chat.clone(), seq).await.expect("marked read");
        println!("READ done");
    });
}

#[actix_web::test]
async fn another_process_words_replies_and_marks_read_on_the_store_the_running_app_writes() {
    let server = TestServer::start().await;
    let (teacher, chat, app, dir) = parent_app_online(&server, &server.base_url).await;
    let (timeline, _t) = watch_timeline(&app, &chat);
    let first = teacher_sends(&server, &teacher, &chat, "Sports day is on").await;
    timeline.wait_for("the app to hold it", |s| item(s, "Sports day is on").is_some()).await;

    let child = tokio::process::Command::new(std::env::current_exe().expect("this test binary"))
        .args(["--exact", "notification_process", "--ignored", "--nocapture", "--test-threads=1"])
        .env(CHILD_DIR, dir.path())
        .env(CHILD_URL, &server.base_url)
        .env(CHILD_CHAT, &chat)
        .env(CHILD_SEQ, first["seq"].to_string())
        .output();
    // Meanwhile the app keeps writing the same store: messages arrive and it sends its own.
    let app_writes = async {
        for i in 0..8 {
            teacher_sends(&server, &teacher, &chat, &format!("meanwhile {i}")).await;
            app.timeline(chat.clone()).expect("a timeline").send_text(format!("answer {i}")).await.expect("queued");
        }
    };
    let (output, ()) = tokio::join!(child, app_writes);
    let output = output.expect("the child process ran");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "the child failed: {stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(stdout.matches("CONTENT Message Sports day is on").count(), 5, "{stdout}");
    assert!(stdout.contains("REPLY Sent") && stdout.contains("READ done"), "{stdout}");

    let settled = timeline
        .wait_for("everything sent and stored", |s| {
            item(s, "From the other process").is_some()
                && (0..8).all(|i| item(s, &format!("answer {i}")).is_some_and(|m| m.send_state == SendState::Sent))
        })
        .await;
    assert_contiguous(&settled);
    assert_eq!(settled.items.iter().filter(|i| i.body == "From the other process").count(), 1);
    assert_eq!(stored_count(&server, "From the other process").await, 1);
    assert_eq!(app.connection_state(), ConnectionState::Online);
}

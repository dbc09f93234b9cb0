//! One SDK client's session and store against the real server: restarts, token refresh, sign-out, and the
//! errors each public operation reports.

mod support;

use std::path::Path;
use std::time::Duration;

use hallway_protocol::{ConversationKind, Role};
use hallway_sdk::{ConnectionState, HallwayError, SendState, SignOutReason};
use hallway_test_support::{PASSWORD, TestServer};
use support::*;
use time::OffsetDateTime;

#[actix_web::test]
async fn restarted_client_shows_its_stored_state_offline_and_sends_unsent_messages_once() {
    let server = TestServer::start().await;
    let (teacher, _, chat) = teacher_and_parent_in_a_chat(&server).await;
    let proxy = Proxy::start(server.local_addr()).await;
    let (alice, dir) = client(&proxy.url());
    alice.login("rivera".into(), PASSWORD.into()).await.expect("signed in");
    wait_for_conversation(&alice, &chat).await;
    let (timeline, handle) = watch_timeline(&alice, &chat);
    alice.timeline(chat.clone()).expect("a timeline").send_text("sent before".into()).await.expect("queued");
    timeline.wait_for("the first message to be sent", |s| s.items.len() == 1 && all_sent(s)).await;

    // Offline, three more are written; then the app is killed.
    go_offline(&alice, &proxy).await;
    for body in ["unsent 1", "unsent 2", "unsent 3"] {
        alice.timeline(chat.clone()).expect("a timeline").send_text(body.into()).await.expect("queued");
    }
    timeline.wait_for("the echoes", |s| s.items.len() == 4).await;
    drop(handle);
    drop(alice);

    // Restarted, still offline: the stored session, list and timeline are there at once.
    let alice = client_in(&proxy.url(), &dir);
    let user = alice.restore_session().await.expect("the store answers").expect("still signed in");
    assert_eq!(user.id, teacher.id.to_string());
    let list = alice.conversation_list().conversations().await.expect("the stored list");
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].last_message.as_ref().map(|m| m.body.as_str()), Some("sent before"));
    assert_eq!(list[0].pending_sends, 3);
    let stored = alice.timeline(chat.clone()).expect("a timeline").snapshot().await.expect("the stored timeline");
    assert_eq!(bodies(&stored), ["sent before", "unsent 1", "unsent 2", "unsent 3"]);
    assert!(stored.items[1..].iter().all(|i| i.send_state == SendState::Sending));

    // The network returns: each unsent message reaches the server once, in order.
    let (timeline, _t) = watch_timeline(&alice, &chat);
    proxy.restore();
    alice.reconnect_now();
    let sent = timeline.wait_for("the outbox to drain", |s| s.items.len() == 4 && all_sent(s)).await;
    assert_contiguous(&sent);
    assert_eq!(bodies(&sent), ["sent before", "unsent 1", "unsent 2", "unsent 3"]);
    for body in ["unsent 1", "unsent 2", "unsent 3"] {
        assert_eq!(stored_count(&server, body).await, 1, "{body} stored once");
    }
}

#[actix_web::test]
async fn restarted_client_does_not_send_twice_what_the_server_already_committed() {
    let server = TestServer::start().await;
    let (_, _, chat) = teacher_and_parent_in_a_chat(&server).await;
    let (alice, dir) = client(&server.base_url);
    alice.login("rivera".into(), PASSWORD.into()).await.expect("signed in");
    wait_for_conversation(&alice, &chat.to_string()).await;
    drop(alice);

    // The app was killed after the server committed a message but before the acknowledgement reached it:
    // the message is both on the server and in the outbox, under the same client_msg_id.
    let client_msg_id = uuid::Uuid::now_v7().to_string();
    let (status, _) = server
        .post(
            &format!("/api/v1/conversations/{chat}/messages"),
            Some(&server.login("rivera", PASSWORD).await.access_token),
            &serde_json::json!({"client_msg_id": client_msg_id, "body": "committed once"}),
        )
        .await;
    assert_eq!(status, 201);
    let db = open_store(dir.path());
    db.execute(
        "INSERT INTO outbox (client_msg_id, conversation_id, body, created_at) VALUES (?1, ?2, 'committed once', 0)",
        [&client_msg_id, &chat.to_string()],
    )
    .expect("an outbox entry");
    drop(db);

    let alice = client_in(&server.base_url, &dir);
    alice.restore_session().await.expect("restored");
    let (timeline, _t) = watch_timeline(&alice, &chat.to_string());
    let settled = timeline.wait_for("the message to settle as sent", |s| s.items.len() == 1 && all_sent(s)).await;
    assert_eq!((settled.items[0].unique_id.clone(), settled.items[0].seq), (client_msg_id, Some(1)));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(stored_count(&server, "committed once").await, 1);
    assert_eq!(timeline.last().expect("a snapshot").items.len(), 1, "shown once");
}

#[actix_web::test]
async fn expired_access_token_is_refreshed_without_the_app_noticing() {
    let server = TestServer::start().await;
    let teacher = server.create_user("rivera", Role::Teacher).await;
    server.create_user("chen", Role::Parent).await;
    let (alice, dir) = client(&server.base_url);
    alice.login("rivera".into(), PASSWORD.into()).await.expect("signed in");
    drop(alice);

    // The stored access token expired an hour ago, though the store believes it is fresh.
    let db = open_store(dir.path());
    let token: String = db.query_row("SELECT access_token FROM session", [], |row| row.get(0)).expect("a session");
    let session = server.state.keys.verify_access(&token).expect("a valid token").sid;
    let issued = OffsetDateTime::now_utc() - Duration::from_secs(7200);
    let expired = server.state.keys.issue_access(teacher.id, session, issued, Duration::from_secs(3600));
    db.execute("UPDATE session SET access_token = ?1, access_expires_at = ?2", rusqlite::params![expired, i64::MAX])
        .expect("planting the expired token");
    drop(db);

    let alice = client_in(&server.base_url, &dir);
    alice.restore_session().await.expect("restored").expect("signed in");
    let people = alice.search_directory(String::new(), 50).await.expect("the call succeeds after a refresh");
    assert_eq!(people.len(), 1);
    wait_online(&alice).await;
    let db = open_store(dir.path());
    let stored: String = db.query_row("SELECT access_token FROM session", [], |row| row.get(0)).expect("a session");
    assert_ne!(stored, expired, "the refreshed token is kept for the next start");
}

#[actix_web::test]
async fn short_lived_access_tokens_are_refreshed_before_they_expire() {
    let server = TestServer::start_with(|config| config.tokens.access = Duration::from_secs(2)).await;
    server.create_user("rivera", Role::Teacher).await;
    server.create_user("chen", Role::Parent).await;
    let (alice, _dir) = client(&server.base_url);
    alice.login("rivera".into(), PASSWORD.into()).await.expect("signed in");
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let people = alice.search_directory("chen".into(), 5).await.expect("still signed in");
        assert_eq!(people.len(), 1);
    }
    // The socket outlives its token, and a reconnect gets a fresh one.
    wait_online(&alice).await;
    assert_eq!(alice.connection_state(), ConnectionState::Online);
}

#[actix_web::test]
async fn a_revoked_session_signs_the_client_out() {
    let server = TestServer::start().await;
    server.create_user("rivera", Role::Teacher).await;
    let (alice, _dir) = client(&server.base_url);
    alice.login("rivera".into(), PASSWORD.into()).await.expect("signed in");
    wait_online(&alice).await;
    let other_device = server.login("rivera", PASSWORD).await;
    let (status, _) =
        server.post("/api/v1/auth/logout-all", Some(&other_device.access_token), &serde_json::json!({})).await;
    assert_eq!(status, 204);
    eventually("the client to be signed out", || {
        let expected = ConnectionState::SignedOut { reason: SignOutReason::SignedOutEverywhere };
        (alice.connection_state() == expected).then_some(())
    })
    .await;
    assert_eq!(alice.search_directory(String::new(), 5).await, Err(HallwayError::Unauthorized));
    assert_eq!(alice.user(), None);
}

#[actix_web::test]
async fn logout_wipes_the_local_store() {
    let server = TestServer::start().await;
    let teacher = server.create_user("rivera", Role::Teacher).await;
    let parent = server.create_user("chen", Role::Parent).await;
    server.create_conversation(ConversationKind::Direct, None, teacher.id, &[parent.id]).await;
    let (alice, dir) = client(&server.base_url);
    alice.login("rivera".into(), PASSWORD.into()).await.expect("signed in");
    let (list, _l) = watch_list(&alice);
    list.wait_for("the chat", |l| l.len() == 1).await;
    alice.logout().await.expect("signed out");
    list.wait_for("an empty list", Vec::is_empty).await;
    assert_eq!(alice.connection_state(), ConnectionState::Offline);
    drop(alice);
    let alice = client_in(&server.base_url, &dir);
    assert_eq!(alice.restore_session().await, Ok(None));
    assert!(alice.conversation_list().conversations().await.expect("the list").is_empty());
}

#[actix_web::test]
async fn public_operations_report_typed_errors() {
    let server = TestServer::start().await;
    let teacher = server.create_user("rivera", Role::Teacher).await;
    let parent = server.create_user("chen", Role::Parent).await;
    let other_parent = server.create_user("singh", Role::Parent).await;
    let chat = server.create_conversation(ConversationKind::Direct, None, teacher.id, &[parent.id]).await.to_string();

    assert!(matches!(
        hallway_sdk::Client::new("not a url".into(), "/nonexistent/hallway".into(), FileSecrets::of(Path::new("/"))),
        Err(HallwayError::InvalidInput { .. })
    ));
    let (bob, _dir) = client(&server.base_url);
    assert_eq!(bob.search_directory(String::new(), 5).await, Err(HallwayError::Unauthorized), "not signed in");
    assert_eq!(bob.login("chen".into(), "wrong password".into()).await, Err(HallwayError::Unauthorized));
    assert_eq!(bob.login("nobody".into(), PASSWORD.into()).await, Err(HallwayError::Unauthorized));
    bob.login("chen".into(), PASSWORD.into()).await.expect("signed in");
    let (list, _l) = watch_list(&bob);
    list.wait_for("the chat", |l| l.len() == 1).await;

    // The school's policy: parents do not start chats with parents.
    assert_eq!(
        bob.start_direct_chat(other_parent.id.to_string()).await,
        Err(HallwayError::Forbidden { code: "policy_forbids".into() })
    );
    assert!(matches!(
        bob.start_direct_chat(uuid::Uuid::now_v7().to_string()).await,
        Err(HallwayError::InvalidInput { code, .. }) if code == "invalid_input"
    ));
    assert!(
        matches!(bob.start_direct_chat("nope".into()).await, Err(HallwayError::InvalidInput { code, .. }) if code == "invalid_id")
    );
    assert!(matches!(
        bob.create_group("  ".into(), vec![teacher.id.to_string()]).await,
        Err(HallwayError::InvalidInput { code, reason }) if code == "invalid_input" && reason.contains("name")
    ));
    assert!(matches!(bob.timeline("nope".into()), Err(HallwayError::InvalidInput { .. })));

    // A conversation Bob is not in does not exist for him.
    let stranger = server.create_conversation(ConversationKind::Direct, None, teacher.id, &[other_parent.id]).await;
    assert_eq!(bob.set_muted(stranger.to_string(), true).await, Err(HallwayError::NotFound));
    let unknown = bob.timeline(stranger.to_string()).expect("a timeline");
    assert_eq!(unknown.send_text("hi".into()).await, Err(HallwayError::NotFound));
    assert_eq!(unknown.paginate_backwards(20).await, Err(HallwayError::NotFound));

    let timeline = bob.timeline(chat.clone()).expect("a timeline");
    assert!(
        matches!(timeline.send_text("   ".into()).await, Err(HallwayError::InvalidInput { code, .. }) if code == "body_empty")
    );
    assert!(matches!(
        timeline.send_text("x".repeat(4001)).await,
        Err(HallwayError::InvalidInput { code, .. }) if code == "body_too_long"
    ));
    assert_eq!(timeline.retry_send("no such id".into()).await, Err(HallwayError::NotFound));
    assert_eq!(timeline.edit(uuid::Uuid::now_v7().to_string(), "x".into()).await, Err(HallwayError::NotFound));

    // The teacher's message: Bob may react, but not edit or delete it; nonsense emoji are refused.
    let rivera = server.login("rivera", PASSWORD).await;
    let (_, message) = server
        .post(
            &format!("/api/v1/conversations/{chat}/messages"),
            Some(&rivera.access_token),
            &serde_json::json!({"client_msg_id": "c1", "body": "from the teacher"}),
        )
        .await;
    let message_id = message["id"].as_str().expect("a message id").to_owned();
    assert_eq!(
        timeline.edit(message_id.clone(), "changed".into()).await,
        Err(HallwayError::Forbidden { code: "forbidden".into() })
    );
    assert_eq!(timeline.delete(message_id.clone()).await, Err(HallwayError::Forbidden { code: "forbidden".into() }));
    assert!(matches!(
        timeline.react(message_id.clone(), "not an emoji".into(), true).await,
        Err(HallwayError::InvalidInput { code, .. }) if code == "invalid_emoji"
    ));
    timeline.react(message_id, "❤️".into(), true).await.expect("a reaction");
    let sent = bob.timeline(chat).expect("a timeline").snapshot().await.expect("a snapshot");
    assert!(sent.items.iter().any(|i| i.reactions.iter().any(|r| r.reacted_by_me)));

    // Mute, pin and archive are the user's own and show in the list.
    bob.set_pinned(sent.details.conversation_id.clone(), true).await.expect("pinned");
    bob.set_muted(sent.details.conversation_id.clone(), true).await.expect("muted");
    bob.set_archived(sent.details.conversation_id.clone(), true).await.expect("archived");
    list.wait_for("the settings in the list", |l| l[0].pinned && l[0].muted && l[0].archived).await;
}

#[actix_web::test]
async fn logs_and_errors_carry_no_message_text_tokens_or_passwords() {
    let logs = capture_logs();
    let server = TestServer::start().await;
    let (_, parent, chat) = teacher_and_parent_in_a_chat(&server).await;
    let proxy = Proxy::start(server.local_addr()).await;
    let (alice, dir) = client(&proxy.url());
    let wrong = alice.login("rivera".into(), "a wrong secret password".into()).await.expect_err("refused");
    alice.login("rivera@school.example".into(), PASSWORD.into()).await.expect("signed in by email");
    wait_for_conversation(&alice, &chat).await;
    let timeline = alice.timeline(chat.clone()).expect("a timeline");
    timeline.send_text("Lily has a fever today".into()).await.expect("queued");
    let refused = timeline.send_text("x".repeat(5000)).await.expect_err("too long");
    // Reconnects, refreshes and failures log too.
    go_offline(&alice, &proxy).await;
    proxy.restore();
    alice.reconnect_now();
    wait_online(&alice).await;
    sqlx::query("UPDATE users SET deactivated_at = now() WHERE id = $1")
        .bind(parent.id)
        .execute(&server.pool)
        .await
        .expect("deactivating");
    timeline.send_text("Refused words".into()).await.expect("queued");
    let (snapshots, _t) = watch_timeline(&alice, &chat);
    snapshots
        .wait_for("the refusal", |s| s.items.iter().any(|i| matches!(i.send_state, SendState::Failed { .. })))
        .await;

    let db = open_store(dir.path());
    let access: String = db.query_row("SELECT access_token FROM session", [], |row| row.get(0)).expect("a session");
    let refresh = secret(dir.path(), "refresh-token").expect("the refresh token");
    let logged = String::from_utf8(logs.lock().expect("the log buffer").clone()).expect("UTF-8 logs");
    assert!(logged.contains("connected"), "the capture works: {logged}");
    for secret in ["Lily has a fever", "Refused words", PASSWORD, "a wrong secret", "school.example", &access, &refresh]
    {
        assert!(!logged.contains(secret), "the logs hold {secret:?}");
        for error in [format!("{wrong:?} {wrong}"), format!("{refused:?} {refused}")] {
            assert!(!error.contains(secret), "an error holds {secret:?}");
        }
    }
}

#[actix_web::test]
async fn a_deactivated_account_is_signed_out_at_the_next_connection() {
    let server = TestServer::start().await;
    let parent = server.create_user("chen", Role::Parent).await;
    let proxy = Proxy::start(server.local_addr()).await;
    let (bob, _dir) = client(&proxy.url());
    bob.login("chen".into(), PASSWORD.into()).await.expect("signed in");
    wait_online(&bob).await;
    sqlx::query("UPDATE users SET deactivated_at = now() WHERE id = $1")
        .bind(parent.id)
        .execute(&server.pool)
        .await
        .expect("deactivating");
    proxy.cut();
    proxy.restore();
    eventually("the client to be signed out", || {
        let expected = ConnectionState::SignedOut { reason: SignOutReason::AccountDeactivated };
        (bob.connection_state() == expected).then_some(())
    })
    .await;
    assert_eq!(bob.user(), None);
    assert_eq!(
        bob.login("chen".into(), PASSWORD.into()).await,
        Err(HallwayError::Forbidden { code: "account_deactivated".into() })
    );
}

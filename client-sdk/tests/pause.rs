//! `Client::pause` and `Client::resume` (the app going to the background and coming back), against the real
//! server: a paused client holds no socket and does not reconnect, what happened meanwhile arrives through the
//! catch-up on resume, and what the user wrote meanwhile is sent once after it.

mod support;

use std::time::Duration;

use hallway_sdk::{ConnectionState, SendState};
use hallway_test_support::{PASSWORD, TestServer};
use support::*;

/// Long enough for a reconnect the client should not make (the first backoff is 0.25 to 0.5 s) or a live
/// frame it should not get (loopback delivers in milliseconds) to have happened.
const QUIET: Duration = Duration::from_millis(1500);

/// A server announcing presence changes after 200 ms, so a test sees a device leave quickly.
async fn server_with_quick_presence() -> TestServer {
    TestServer::start_with(|config| config.realtime.presence_debounce = Duration::from_millis(200)).await
}

/// The states a listener saw, with each run of one state once and `Connecting` left out (it lasts a moment
/// on loopback, so a listener may or may not see it).
fn settled(states: &[ConnectionState]) -> Vec<ConnectionState> {
    let mut seen: Vec<ConnectionState> = Vec::new();
    for state in states.iter().filter(|s| **s != ConnectionState::Connecting) {
        if seen.last() != Some(state) {
            seen.push(*state);
        }
    }
    seen
}

#[actix_web::test]
async fn a_paused_client_holds_no_socket_and_catches_up_on_resume() {
    let server = server_with_quick_presence().await;
    let (teacher, _, chat) = teacher_and_parent_in_a_chat(&server).await;
    let proxy = Proxy::start(server.local_addr()).await;
    let (alice, _alice_dir) = client(&proxy.url());
    let (alice_states, _s) = watch_connection(&alice);
    alice.login("rivera".into(), PASSWORD.into()).await.expect("signed in");
    wait_for_conversation(&alice, &chat).await;
    wait_online(&alice).await;
    let (alice_timeline, _t) = watch_timeline(&alice, &chat);
    let (bob, _bob_dir) = client(&server.base_url);
    bob.login("chen".into(), PASSWORD.into()).await.expect("signed in");
    let (bob_list, _l) = watch_list(&bob);
    let alice_id = teacher.id.to_string();
    bob_list.wait_for("Alice online for Bob", |l| l.len() == 1 && l[0].online_member_ids == [alice_id.clone()]).await;
    let sockets_before = proxy.socket_upgrades();

    alice.pause();
    alice_states.wait_for("Alice paused", |s| *s == ConnectionState::Paused).await;
    assert_eq!(proxy.client_close_codes(), [1000], "closed with a close frame, 1000 (normal)");
    // The server let go of Alice's socket: Bob sees her leave.
    bob_list.wait_for("Alice offline for Bob", |l| l[0].online_member_ids.is_empty()).await;

    // Bob writes meanwhile: it is stored, and does not reach the paused phone live.
    let bob_token = server.login("chen", PASSWORD).await.access_token;
    let body = serde_json::json!({"client_msg_id": "while-paused", "body": "sent while you were away"});
    let (status, _) = server.post(&format!("/api/v1/conversations/{chat}/messages"), Some(&bob_token), &body).await;
    assert_eq!(status, 201);
    tokio::time::sleep(QUIET).await;
    assert!(alice_timeline.last().is_some_and(|s| s.items.is_empty()), "nothing arrives while paused");
    assert_eq!(proxy.socket_upgrades(), sockets_before, "no reconnect while paused");
    assert_eq!(alice.connection_state(), ConnectionState::Paused);

    let requests_before = proxy.requests().len();
    alice.resume();
    alice_timeline.wait_for("the message, through the catch-up", |s| bodies(s) == ["sent while you were away"]).await;
    wait_online(&alice).await;
    assert_eq!(proxy.socket_upgrades(), sockets_before + 1, "one new socket");
    let since_resume = proxy.requests().split_off(requests_before);
    assert!(since_resume.iter().any(|r| r == "GET /api/v1/sync"), "caught up through /sync: {since_resume:?}");
    bob_list.wait_for("Alice online again for Bob", |l| l[0].online_member_ids == [alice_id.clone()]).await;

    let states = alice_states.all();
    let first_online = states.iter().position(|s| *s == ConnectionState::Online).expect("online once");
    assert_eq!(
        settled(&states[first_online..]),
        [ConnectionState::Online, ConnectionState::Paused, ConnectionState::Syncing, ConnectionState::Online],
        "{states:?}"
    );
}

#[actix_web::test]
async fn a_message_written_while_paused_is_sent_once_after_resume() {
    let server = TestServer::start().await;
    let (chat, _proxy, alice, _dir) = teacher_online_in_a_chat(&server).await;
    let (bob, _bob_dir) = client(&server.base_url);
    bob.login("chen".into(), PASSWORD.into()).await.expect("signed in");
    wait_online(&bob).await;
    let (bob_timeline, _b) = watch_timeline(&bob, &chat);
    let (alice_timeline, _a) = watch_timeline(&alice, &chat);
    let alice_chat = alice.timeline(chat.clone()).expect("a timeline");

    alice.pause();
    eventually("Alice paused", || (alice.connection_state() == ConnectionState::Paused).then_some(())).await;
    // In the chat, empty until now, Bob writes first; then Alice, in the background (a reply from a
    // notification, say).
    bob.timeline(chat.clone()).expect("a timeline").send_text("are you there?".into()).await.expect("queued");
    bob_timeline.wait_for("Bob's message sent", |s| s.items.len() == 1 && all_sent(s)).await;
    alice_chat.send_text("written in the background".into()).await.expect("queued");
    let echo = alice_timeline.wait_for("the local echo", |s| s.items.len() == 1).await;
    assert_eq!(echo.items[0].send_state, SendState::Sending);
    tokio::time::sleep(QUIET).await;
    assert_eq!(stored_count(&server, "written in the background").await, 0, "not sent while paused");
    assert_eq!(bodies(&bob_timeline.last().expect("a snapshot")), ["are you there?"]);

    // Her message's ack may come before the catch-up brings Bob's: his still shows, before hers, not behind
    // "load older".
    alice.resume();
    let both = ["are you there?", "written in the background"];
    let caught_up = alice_timeline.wait_for("caught up and sent", |s| bodies(s) == both && all_sent(s)).await;
    assert_contiguous(&caught_up);
    bob_timeline.wait_for("Bob gets it", |s| bodies(s) == both).await;
    tokio::time::sleep(QUIET).await;
    assert_eq!(stored_count(&server, "written in the background").await, 1, "stored exactly once");
    assert_eq!(bodies(&bob_timeline.last().expect("a snapshot")), both, "delivered once");
}

#[actix_web::test]
async fn pause_and_resume_are_idempotent_and_resume_when_not_paused_changes_nothing() {
    let server = TestServer::start().await;
    let (_, proxy, alice, _dir) = teacher_online_in_a_chat(&server).await;
    let (alice_states, _s) = watch_connection(&alice);
    let sockets = proxy.socket_upgrades();

    alice.resume();
    alice.resume();
    tokio::time::sleep(QUIET).await;
    assert_eq!(proxy.socket_upgrades(), sockets, "resuming an online client keeps its socket");
    assert_eq!(alice.connection_state(), ConnectionState::Online);

    alice.pause();
    alice.pause();
    alice_states.wait_for("paused", |s| *s == ConnectionState::Paused).await;
    alice.pause();
    // A network change in the background does not wake the connection either.
    alice.reconnect_now();
    tokio::time::sleep(QUIET).await;
    assert_eq!(proxy.socket_upgrades(), sockets, "no socket while paused");
    assert_eq!(proxy.client_close_codes(), [1000], "one socket closed, once");
    assert_eq!(alice.connection_state(), ConnectionState::Paused);

    alice.resume();
    alice.resume();
    wait_online(&alice).await;
    alice.resume();
    tokio::time::sleep(QUIET).await;
    assert_eq!(proxy.socket_upgrades(), sockets + 1, "one socket for any number of resumes");
    assert_eq!(alice.connection_state(), ConnectionState::Online);
    let paused = alice_states.all().iter().filter(|s| **s == ConnectionState::Paused).count();
    assert_eq!(paused, 1, "one pause for any number of calls: {:?}", alice_states.all());
}

#[actix_web::test]
async fn quick_pauses_and_resumes_end_where_the_last_call_says() {
    let server = TestServer::start().await;
    let (chat, proxy, alice, _dir) = teacher_online_in_a_chat(&server).await;
    let alice_chat = alice.timeline(chat.clone()).expect("a timeline");
    let (alice_timeline, _t) = watch_timeline(&alice, &chat);

    // Resumed while the socket is still closing: connected again, and the outbox flows.
    alice.pause();
    alice.resume();
    alice_chat.send_text("after a blink".into()).await.expect("queued");
    alice_timeline.wait_for("sent", |s| s.items.len() == 1 && all_sent(s)).await;
    wait_online(&alice).await;

    // Paused again while connecting (right after a resume) and while catching up: it ends paused.
    alice.pause();
    eventually("paused", || (alice.connection_state() == ConnectionState::Paused).then_some(())).await;
    for _ in 0..5 {
        alice.resume();
        tokio::time::sleep(Duration::from_millis(20)).await;
        alice.pause();
    }
    eventually("paused at the end", || (alice.connection_state() == ConnectionState::Paused).then_some(())).await;
    let sockets = proxy.socket_upgrades();
    tokio::time::sleep(QUIET).await;
    assert_eq!(proxy.socket_upgrades(), sockets, "no socket opened once paused");
    assert_eq!(alice.connection_state(), ConnectionState::Paused);

    // Paused while waiting out a long backoff after losing the network: paused at once, no attempt until
    // resumed, then one at once, without waiting out the rest of the backoff.
    alice.resume();
    wait_online(&alice).await;
    go_offline(&alice, &proxy).await;
    eventually("a backoff of 4 s or more", || {
        matches!(alice.connection_state(), ConnectionState::WaitingToRetry { delay_ms } if delay_ms >= 4000)
            .then_some(())
    })
    .await;
    alice.pause();
    eventually_within("paused at once", Duration::from_secs(1), || {
        (alice.connection_state() == ConnectionState::Paused).then_some(())
    })
    .await;
    proxy.restore();
    let sockets = proxy.socket_upgrades();
    tokio::time::sleep(QUIET).await;
    assert_eq!(proxy.socket_upgrades(), sockets, "no retry while paused");
    alice.resume();
    eventually_within("online at once, not after the backoff", Duration::from_secs(3), || {
        (alice.connection_state() == ConnectionState::Online).then_some(())
    })
    .await;
}

#[actix_web::test]
async fn a_client_paused_before_sign_in_connects_only_on_resume_and_signs_out_while_paused() {
    let server = TestServer::start().await;
    let (_, _, chat) = teacher_and_parent_in_a_chat(&server).await;
    let proxy = Proxy::start(server.local_addr()).await;
    let (alice, dir) = client(&proxy.url());
    // Started in the background (by a notification, say): the app pauses before it signs in.
    alice.pause();
    assert_eq!(alice.connection_state(), ConnectionState::Offline, "not signed in: offline, not paused");
    alice.login("rivera".into(), PASSWORD.into()).await.expect("signed in");
    eventually("paused once signed in", || (alice.connection_state() == ConnectionState::Paused).then_some(())).await;
    tokio::time::sleep(QUIET).await;
    assert_eq!(proxy.socket_upgrades(), 0, "no socket before resume");

    alice.resume();
    wait_for_conversation(&alice, &chat).await;
    wait_online(&alice).await;
    alice.timeline(chat.clone()).expect("a timeline").send_text("queued".into()).await.expect("sent");
    alice.pause();
    eventually("paused", || (alice.connection_state() == ConnectionState::Paused).then_some(())).await;

    // Signing out while paused: the server is told, the device is wiped.
    let refresh_token = secret(dir.path(), "refresh-token").expect("the stored session's refresh token");
    alice.logout().await.expect("signed out, and the server told");
    assert_eq!(alice.connection_state(), ConnectionState::Offline);
    assert_eq!(alice.user(), None);
    assert!(alice.conversation_list().conversations().await.expect("the list").is_empty(), "wiped");
    let (status, _) =
        server.post("/api/v1/auth/refresh", None, &serde_json::json!({"refresh_token": refresh_token})).await;
    assert_eq!(status, 401, "the session ended on the server");
}

//! Two or more SDK clients against the real server: live updates, a lost network, the outbox.

mod support;

use std::time::Duration;

use hallway_protocol::{ConversationKind, Role};
use hallway_sdk::{ConnectionState, SendState};
use hallway_test_support::{PASSWORD, TestServer};
use support::*;

#[actix_web::test]
async fn two_clients_converse_with_live_updates() {
    let server = TestServer::start().await;
    let teacher = server.create_user("rivera", Role::Teacher).await;
    let parent = server.create_user("chen", Role::Parent).await;
    let (alice, _alice_dir) = client(&server.base_url);
    let (bob, _bob_dir) = client(&server.base_url);
    alice.login("rivera".into(), PASSWORD.into()).await.expect("the teacher signs in");
    bob.login("CHEN".into(), PASSWORD.into()).await.expect("the parent signs in, any letter case");
    let (bob_list, _bob_list_handle) = watch_list(&bob);
    wait_online(&alice).await;
    wait_online(&bob).await;

    // Alice finds Bob in the directory and opens a chat; Bob's list shows it live.
    let found = alice.search_directory("chen".into(), 10).await.expect("the directory answers");
    assert_eq!(found.iter().map(|u| u.id.clone()).collect::<Vec<_>>(), vec![parent.id.to_string()]);
    let chat = alice.start_direct_chat(parent.id.to_string()).await.expect("a direct chat");
    assert!(!chat.is_group);
    assert_eq!(chat.display_name, "chen Display");
    let listed = bob_list.wait_for("Bob's list to show the chat", |list| list.iter().any(|c| c.id == chat.id)).await;
    assert_eq!(listed[0].display_name, "rivera Display");

    let (alice_timeline, _a) = watch_timeline(&alice, &chat.id);
    let (bob_timeline, _b) = watch_timeline(&bob, &chat.id);
    let alice_chat = alice.timeline(chat.id.clone()).expect("a timeline");
    let bob_chat = bob.timeline(chat.id.clone()).expect("a timeline");

    // Typing reaches the other side's list and timeline.
    alice_chat.set_typing(true);
    bob_list
        .wait_for("Bob to see Alice typing", |list| {
            list.iter().any(|c| c.id == chat.id && c.typing_user_ids == vec![teacher.id.to_string()])
        })
        .await;
    bob_timeline.wait_for("Bob's timeline to show the typist", |s| s.typing_user_ids.len() == 1).await;

    // A message goes both ways; unread counts follow.
    alice_chat.send_text("Hello Mei, about Friday".into()).await.expect("queued");
    let seen =
        bob_timeline.wait_for("Bob to see Alice's message", |s| item(s, "Hello Mei, about Friday").is_some()).await;
    let message = item(&seen, "Hello Mei, about Friday").expect("the message").clone();
    assert_eq!((message.seq, message.is_own, message.send_state.clone()), (Some(1), false, SendState::Sent));
    assert_eq!(message.sender_id, teacher.id.to_string());
    bob_timeline.wait_for("the typing state to end with the send", |s| s.typing_user_ids.is_empty()).await;
    bob_list.wait_for("one unread for Bob", |list| list.iter().any(|c| c.unread_count == 1)).await;

    bob_chat.send_text("Thanks, see you then".into()).await.expect("queued");
    alice_timeline
        .wait_for("Alice to see the reply", |s| bodies(s) == ["Hello Mei, about Friday", "Thanks, see you then"])
        .await;

    // Bob reads: his badge clears, and Alice sees his read marker.
    bob_chat.mark_read().await.expect("marked read");
    bob_list.wait_for("Bob's badge to clear", |list| list.iter().all(|c| c.unread_count == 0)).await;
    alice_timeline
        .wait_for("Alice to see Bob's read marker", |s| {
            s.details.read_markers.iter().any(|m| m.user_id == parent.id.to_string() && m.seq == 2)
        })
        .await;

    // A reaction, an edit and a deletion reach the other side.
    let message_id = message.message_id.clone().expect("a sent message has an id");
    bob_chat.react(message_id.clone(), "👍".into(), true).await.expect("reacted");
    let reacted = alice_timeline
        .wait_for("Alice to see the reaction", |s| {
            item(s, "Hello Mei, about Friday").is_some_and(|i| i.reactions.len() == 1)
        })
        .await;
    let reaction = &item(&reacted, "Hello Mei, about Friday").expect("the message").reactions[0];
    assert_eq!((reaction.emoji.as_str(), reaction.count, reaction.reacted_by_me), ("👍", 1, false));
    alice_chat.edit(message_id.clone(), "Hello Mei, about Thursday".into()).await.expect("edited");
    let edited = bob_timeline
        .wait_for("Bob to see the edit", |s| {
            item(s, "Hello Mei, about Thursday").is_some_and(|i| i.edited_at.is_some())
        })
        .await;
    assert_eq!(edited.items.len(), 2, "an edit replaces, never adds");
    alice_chat.delete(message_id).await.expect("deleted");
    let deleted = bob_timeline.wait_for("Bob to see the deletion", |s| s.items[0].deleted).await;
    assert_eq!((deleted.items[0].body.as_str(), deleted.items[0].seq), ("", Some(1)));
    assert_contiguous(&deleted);
}

#[actix_web::test]
async fn lost_network_keeps_sending_offline_and_delivers_each_message_once_in_order() {
    let server = TestServer::start().await;
    let teacher = server.create_user("okafor", Role::Teacher).await;
    let parent = server.create_user("singh", Role::Parent).await;
    let chat = server.create_conversation(ConversationKind::Direct, None, teacher.id, &[parent.id]).await.to_string();
    let proxy = Proxy::start(server.local_addr()).await;
    let (alice, _alice_dir) = client(&proxy.url());
    let (bob, _bob_dir) = client(&server.base_url);
    alice.login("okafor".into(), PASSWORD.into()).await.expect("signed in");
    bob.login("singh".into(), PASSWORD.into()).await.expect("signed in");
    let (alice_states, _s) = watch_connection(&alice);
    let (alice_timeline, _a) = watch_timeline(&alice, &chat);
    let (bob_timeline, _b) = watch_timeline(&bob, &chat);
    wait_for_conversation(&alice, &chat).await;
    wait_for_conversation(&bob, &chat).await;
    let alice_chat = alice.timeline(chat.clone()).expect("a timeline");
    let bob_chat = bob.timeline(chat.clone()).expect("a timeline");
    alice_chat.send_text("before".into()).await.expect("queued");
    bob_timeline.wait_for("Bob to get the first message", |s| bodies(s) == ["before"]).await;

    // The network goes: Alice keeps writing, Bob writes too (Alice cannot hear it).
    proxy.cut();
    alice_states.wait_for("Alice to notice", |state| matches!(state, ConnectionState::WaitingToRetry { .. })).await;
    let offline: Vec<String> = (1..=5).map(|i| format!("offline {i}")).collect();
    for body in &offline {
        alice_chat.send_text(body.clone()).await.expect("queued while offline");
    }
    let echoed = alice_timeline.wait_for("the local echoes", |s| s.items.len() == 6).await;
    assert!(echoed.items[1..].iter().all(|i| i.send_state == SendState::Sending && i.seq.is_none()));
    bob_chat.send_text("bob 1".into()).await.expect("queued");
    bob_chat.send_text("bob 2".into()).await.expect("queued");
    bob_timeline.wait_for("Bob's messages to be sent", |s| s.items.len() == 3 && all_sent(s)).await;

    // The network comes back: everything arrives once, in order, on both sides.
    proxy.restore();
    alice.reconnect_now();
    let alice_final =
        alice_timeline.wait_for("Alice to catch up and send", |s| s.items.len() == 8 && all_sent(s)).await;
    let bob_final = bob_timeline.wait_for("Bob to get Alice's messages", |s| s.items.len() == 8).await;
    assert_contiguous(&alice_final);
    assert_eq!(bodies(&alice_final), bodies(&bob_final), "both sides see the same history");
    let mut expected = vec!["before".to_owned(), "bob 1".into(), "bob 2".into()];
    expected.extend(offline.iter().cloned());
    assert_eq!(bodies(&alice_final), expected, "Bob's messages first, then Alice's in the order she wrote them");
    for body in &offline {
        assert_eq!(stored_count(&server, body).await, 1, "{body} stored exactly once");
    }
    // Each reconnect goes through catching up before it counts as online again.
    let states = alice_states.all();
    let after_cut = states.iter().rposition(|s| matches!(s, ConnectionState::WaitingToRetry { .. })).expect("a retry");
    let reconnect: Vec<_> = states[after_cut + 1..].iter().filter(|s| **s != ConnectionState::Connecting).collect();
    assert_eq!(reconnect.first(), Some(&&ConnectionState::Syncing), "catching up first: {states:?}");
    alice_states.wait_for("Alice online once caught up", |s| *s == ConnectionState::Online).await;
}

#[actix_web::test]
async fn timeline_shows_the_local_echo_then_sent() {
    let server = TestServer::start().await;
    let (_, _, chat) = teacher_and_parent_in_a_chat(&server).await;
    let proxy = Proxy::start(server.local_addr()).await;
    let (alice, _dir) = client(&proxy.url());
    alice.login("rivera".into(), PASSWORD.into()).await.expect("signed in");
    wait_for_conversation(&alice, &chat).await;
    let (timeline, _t) = watch_timeline(&alice, &chat);
    timeline.wait_for("the first snapshot", |s| s.items.is_empty()).await;

    // Offline, so the echo is certainly seen before the acknowledgement.
    go_offline(&alice, &proxy).await;
    let client_msg_id =
        alice.timeline(chat.clone()).expect("a timeline").send_text("echo".into()).await.expect("queued");
    let echo = timeline.wait_for("the local echo", |s| s.items.len() == 1).await;
    let item = &echo.items[0];
    assert_eq!(
        (item.unique_id.as_str(), item.send_state.clone(), item.is_own),
        (client_msg_id.as_str(), SendState::Sending, true)
    );
    assert_eq!((item.seq, item.message_id.clone()), (None, None));
    // A message on its way cannot be discarded (it may already be on the server), nor touched from another chat.
    let chat_timeline = alice.timeline(chat.clone()).expect("a timeline");
    assert!(matches!(
        chat_timeline.discard_send(client_msg_id.clone()).await,
        Err(hallway_sdk::HallwayError::InvalidInput { code, .. }) if code == "conflict"
    ));
    let elsewhere = alice.timeline(uuid::Uuid::now_v7().to_string()).expect("a timeline");
    assert_eq!(elsewhere.retry_send(client_msg_id.clone()).await, Err(hallway_sdk::HallwayError::NotFound));
    assert_eq!(elsewhere.discard_send(client_msg_id.clone()).await, Err(hallway_sdk::HallwayError::NotFound));

    proxy.restore();
    alice.reconnect_now();
    let sent = timeline.wait_for("the acknowledgement", |s| s.items.len() == 1 && all_sent(s)).await;
    assert_eq!(sent.items[0].unique_id, client_msg_id, "the item keeps its key from echo to sent");
    assert_eq!(sent.items[0].seq, Some(1));
    let states: Vec<SendState> =
        timeline.all().iter().flat_map(|s| s.items.iter().map(|i| i.send_state.clone())).collect();
    let first_sent = states.iter().position(|s| *s == SendState::Sent).expect("sent at last");
    assert!(states[..first_sent].iter().all(|s| *s == SendState::Sending), "sending, then sent: {states:?}");
}

#[actix_web::test]
async fn refused_message_fails_with_the_reason_and_does_not_block_the_next() {
    let server = TestServer::start().await;
    let (teacher, _, chat) = teacher_and_parent_in_a_chat(&server).await;
    let (bob, _dir) = client(&server.base_url);
    bob.login("chen".into(), PASSWORD.into()).await.expect("signed in");
    wait_online(&bob).await;
    let (timeline, _t) = watch_timeline(&bob, &chat);
    let (list, _l) = watch_list(&bob);
    list.wait_for("the chat in the list", |l| l.len() == 1).await;
    let chat_timeline = bob.timeline(chat.clone()).expect("a timeline");

    // The teacher's account is deactivated: the server refuses the parent's message.
    sqlx::query("UPDATE users SET deactivated_at = now() WHERE id = $1")
        .bind(teacher.id)
        .execute(&server.pool)
        .await
        .expect("deactivating");
    let refused = chat_timeline.send_text("are you there?".into()).await.expect("queued");
    let failed = timeline
        .wait_for("the message to fail", |s| s.items.iter().any(|i| matches!(i.send_state, SendState::Failed { .. })))
        .await;
    let SendState::Failed { code, reason } = &failed.items[0].send_state else { unreachable!("checked above") };
    assert_eq!(code, "policy_forbids");
    assert!(!reason.is_empty(), "the server's reason is kept");
    list.wait_for("the list to count the unsent, refused message", |l| {
        (l[0].pending_sends, l[0].failed_sends) == (1, 1)
    })
    .await;

    // The account is back: the next message goes out although the failed one is still before it.
    sqlx::query("UPDATE users SET deactivated_at = NULL WHERE id = $1")
        .bind(teacher.id)
        .execute(&server.pool)
        .await
        .expect("reactivating");
    chat_timeline.send_text("second try".into()).await.expect("queued");
    let after = timeline
        .wait_for("the next message to be sent", |s| {
            item(s, "second try").is_some_and(|i| i.send_state == SendState::Sent)
        })
        .await;
    assert!(matches!(item(&after, "are you there?").expect("still there").send_state, SendState::Failed { .. }));

    // The failed one can be retried: it goes out after the one that overtook it.
    chat_timeline.retry_send(refused.clone()).await.expect("retried");
    let retried = timeline.wait_for("the retried message to be sent", |s| s.items.len() == 2 && all_sent(s)).await;
    assert_eq!(bodies(&retried), ["second try", "are you there?"]);
    assert_contiguous(&retried);
    assert_eq!(stored_count(&server, "are you there?").await, 1);

    // A refused message can be discarded instead.
    sqlx::query("UPDATE users SET deactivated_at = now() WHERE id = $1")
        .bind(teacher.id)
        .execute(&server.pool)
        .await
        .expect("deactivating");
    let doomed = chat_timeline.send_text("never mind".into()).await.expect("queued");
    timeline
        .wait_for("the third message to fail", |s| {
            item(s, "never mind").is_some_and(|i| matches!(i.send_state, SendState::Failed { .. }))
        })
        .await;
    chat_timeline.discard_send(doomed.clone()).await.expect("discarded");
    timeline.wait_for("the discarded message to go", |s| item(s, "never mind").is_none()).await;
    assert_eq!(chat_timeline.discard_send(doomed).await, Err(hallway_sdk::HallwayError::NotFound));
    list.wait_for("nothing left unsent", |l| (l[0].pending_sends, l[0].failed_sends) == (0, 0)).await;
}

#[actix_web::test]
async fn a_dead_link_is_found_by_heartbeats_and_nothing_is_lost_or_doubled() {
    let server = TestServer::start().await;
    let (chat, proxy, alice, _dir) = teacher_online_in_a_chat(&server).await;

    // The link dies without a word: no FIN, no RST, just silence. A message written then is held with it.
    proxy.freeze();
    let alice_chat = alice.timeline(chat.clone()).expect("a timeline");
    alice_chat.send_text("into the void".into()).await.expect("queued");
    let noticed = std::time::Instant::now();
    eventually_within("the heartbeat to give the socket up", Duration::from_secs(40), || {
        (alice.connection_state() != ConnectionState::Online).then_some(())
    })
    .await;
    assert!(noticed.elapsed() >= Duration::from_secs(20), "not before the server's pings were due and missing");

    proxy.restore();
    alice.reconnect_now();
    let (timeline, _t) = watch_timeline(&alice, &chat);
    let sent = timeline.wait_for("the held message to be sent", |s| s.items.len() == 1 && all_sent(s)).await;
    assert_eq!(sent.items[0].seq, Some(1));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(stored_count(&server, "into the void").await, 1, "stored once, even if the held bytes arrived too");
}

#[actix_web::test]
async fn catching_up_pages_through_everything_missed_while_a_long_outbox_meets_the_rate_limit() {
    let logs = capture_logs();
    // A tight send limit, so that the outbox certainly meets it: a burst of 5, then 4 per second.
    let server = TestServer::start_with(|c| {
        c.realtime.send_burst = 5;
        c.realtime.sends_per_sec = 4;
    })
    .await;
    let (_, _, chat) = teacher_and_parent_in_a_chat(&server).await;
    let proxy = Proxy::start(server.local_addr()).await;
    let (alice, _dir) = client(&proxy.url());
    alice.login("rivera".into(), PASSWORD.into()).await.expect("signed in");
    wait_for_conversation(&alice, &chat.to_string()).await;
    let alice_chat = alice.timeline(chat.to_string()).expect("a timeline");
    alice_chat.send_text("hello".into()).await.expect("queued");
    let (timeline, _t) = watch_timeline(&alice, &chat.to_string());
    timeline.wait_for("the first message", |s| s.items.len() == 1 && all_sent(s)).await;

    // Offline: Alice writes 20 messages (more than the socket's burst), Bob 250 (more than a page of 200).
    go_offline(&alice, &proxy).await;
    for i in 1..=20 {
        alice_chat.send_text(format!("alice {i}")).await.expect("queued");
    }
    let bob = server.login("chen", PASSWORD).await.access_token;
    for i in 1..=250 {
        let body = serde_json::json!({"client_msg_id": format!("bob-{i}"), "body": format!("bob {i}")});
        let (status, _) = server.post(&format!("/api/v1/conversations/{chat}/messages"), Some(&bob), &body).await;
        assert_eq!(status, 201);
    }

    proxy.restore();
    alice.reconnect_now();
    let all = eventually_within("everything to be caught up and sent", Duration::from_secs(60), || {
        timeline.last().filter(|s| s.items.len() == 271 && all_sent(s))
    })
    .await;
    assert_contiguous(&all);
    let bodies = bodies(&all);
    let alice_order: Vec<&String> = bodies.iter().filter(|b| b.starts_with("alice ")).collect();
    let expected: Vec<String> = (1..=20).map(|i| format!("alice {i}")).collect();
    assert_eq!(alice_order, expected.iter().collect::<Vec<_>>(), "Alice's messages keep their order");
    let bob_order: Vec<&String> = bodies.iter().filter(|b| b.starts_with("bob ")).collect();
    assert_eq!(bob_order.len(), 250);
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM messages WHERE conversation_id = $1::uuid")
        .bind(chat)
        .fetch_one(&server.pool)
        .await
        .expect("counting");
    assert_eq!(total, 271, "each message stored once");
    let logged = String::from_utf8(logs.lock().expect("the log buffer").clone()).expect("UTF-8 logs");
    assert!(logged.contains("a send will be retried"), "the server slowed the outbox down, and it waited");
}

#[actix_web::test]
async fn a_new_device_catches_up_the_whole_history_through_sync_pages() {
    let server = TestServer::start().await;
    let (_, _, chat) = teacher_and_parent_in_a_chat(&server).await;
    let token = server.login("rivera", PASSWORD).await.access_token;
    for i in 1..=120 {
        let body = serde_json::json!({"client_msg_id": format!("m-{i}"), "body": format!("m {i}")});
        let (status, _) = server.post(&format!("/api/v1/conversations/{chat}/messages"), Some(&token), &body).await;
        assert_eq!(status, 201);
    }
    let (bob, _dir) = client(&server.base_url);
    bob.login("chen".into(), PASSWORD.into()).await.expect("signed in");
    let (list, _l) = watch_list(&bob);
    let listed = list.wait_for("the chat", |l| l.len() == 1).await;
    assert_eq!(listed[0].unread_count, 120);
    let timeline = bob.timeline(chat.to_string()).expect("a timeline");
    let (snapshots, _t) = watch(&timeline);
    snapshots.wait_for("the newest message", |s| s.items.last().and_then(|i| i.seq) == Some(120)).await;
    // The first sync of a device brings all of the history: the window shows the newest of it, and paging
    // back shows the rest from the store, with nothing left to ask the server for.
    let shown = snapshots.last().map(|s| s.items.len()).unwrap_or(0);
    assert!(shown < 120, "a window, not the whole history at once");
    assert!(timeline.paginate_backwards(100).await.expect("paged"), "the start is reached");
    let whole = snapshots.wait_for("the whole history", |s| s.items.len() == 120 && s.details.reached_start).await;
    assert_contiguous(&whole);

    timeline.mark_read().await.expect("read");
    list.wait_for("the badge to clear", |l| l[0].unread_count == 0).await;
}

#[actix_web::test]
async fn edits_deletions_and_reactions_made_while_offline_are_seen_after_reconnecting() {
    let server = TestServer::start().await;
    let (_, _, chat) = teacher_and_parent_in_a_chat(&server).await;
    let bob = server.login("chen", PASSWORD).await.access_token;
    let mut ids = Vec::new();
    for i in 1..=3 {
        let body = serde_json::json!({"client_msg_id": format!("b{i}"), "body": format!("bob {i}")});
        let (_, message) = server.post(&format!("/api/v1/conversations/{chat}/messages"), Some(&bob), &body).await;
        ids.push(message["id"].as_str().expect("an id").to_owned());
    }
    let proxy = Proxy::start(server.local_addr()).await;
    let (alice, _dir) = client(&proxy.url());
    alice.login("rivera".into(), PASSWORD.into()).await.expect("signed in");
    let (timeline, _t) = watch_timeline(&alice, &chat.to_string());
    timeline.wait_for("the history", |s| bodies(s) == ["bob 1", "bob 2", "bob 3"]).await;

    go_offline(&alice, &proxy).await;
    let (status, _) = server
        .patch(&format!("/api/v1/messages/{}", ids[0]), Some(&bob), &serde_json::json!({"body": "bob 1, edited"}))
        .await;
    assert_eq!(status, 200);
    let (status, _) = server.delete(&format!("/api/v1/messages/{}", ids[1]), Some(&bob)).await;
    assert_eq!(status, 200);
    let (status, _) = server
        .post(&format!("/api/v1/messages/{}/reactions", ids[2]), Some(&bob), &serde_json::json!({"emoji": "🎉"}))
        .await;
    assert_eq!(status, 200);

    proxy.restore();
    alice.reconnect_now();
    let caught_up = timeline
        .wait_for("the changes", |s| {
            s.items.len() == 3
                && s.items[0].edited_at.is_some()
                && s.items[1].deleted
                && s.items[2].reactions.len() == 1
        })
        .await;
    assert_eq!(bodies(&caught_up), ["bob 1, edited", "", "bob 3"]);
    assert_contiguous(&caught_up);
}

#[actix_web::test]
async fn a_hundred_messages_queued_offline_go_through_one_socket_paced_within_the_allowance() {
    // The server's default allowance: 10 sends a second on a socket, bursts of 30.
    let server = TestServer::start().await;
    let (chat, proxy, alice, _dir) = teacher_online_in_a_chat(&server).await;

    go_offline(&alice, &proxy).await;
    let alice_chat = alice.timeline(chat.clone()).expect("a timeline");
    for i in 1..=100 {
        alice_chat.send_text(format!("queued {i}")).await.expect("queued");
    }
    let upgrades_before = proxy.socket_upgrades();
    let (timeline, _t) = watch_timeline(&alice, &chat);
    let reconnected = std::time::Instant::now();
    proxy.restore();
    alice.reconnect_now();
    let all = eventually_within("the whole outbox to be acknowledged", Duration::from_secs(40), || {
        timeline.last().filter(|s| s.items.len() == 100 && all_sent(s))
    })
    .await;

    // Paced: a burst, then 10 a second, so the server never had to refuse one, nor close the socket.
    assert!(reconnected.elapsed() >= Duration::from_secs(7), "paced, not sent at once: {:?}", reconnected.elapsed());
    assert_eq!(server.state.realtime.metrics().rate_limited_socket.get(), 0, "no send was refused");
    assert_eq!(proxy.socket_upgrades() - upgrades_before, 1, "one socket carried the whole outbox");
    assert_eq!(alice.connection_state(), ConnectionState::Online);
    assert_contiguous(&all);
    let expected: Vec<String> = (1..=100).map(|i| format!("queued {i}")).collect();
    assert_eq!(bodies(&all), expected, "in the order queued");

    // The other member's history holds each once, in that order, at seqs 1 to 100.
    let bob = server.login("chen", PASSWORD).await.access_token;
    let (status, page) = server.get(&format!("/api/v1/conversations/{chat}/messages?limit=200"), Some(&bob)).await;
    assert_eq!(status, 200, "{page}");
    let history: Vec<(i64, String)> = page["messages"]
        .as_array()
        .expect("a page of messages")
        .iter()
        .map(|m| (m["seq"].as_i64().expect("a seq"), m["body"].as_str().expect("a body").to_owned()))
        .collect();
    let queued: Vec<(i64, String)> = (1..=100).map(|i| (i, format!("queued {i}"))).collect();
    assert_eq!(history, queued);
}

#[actix_web::test]
async fn an_outbox_spread_over_forty_conversations_is_paced_across_the_socket() {
    let server = TestServer::start().await;
    let (groups, proxy, alice, _dir) = teacher_online_in_groups(&server, 40).await;

    // One head per conversation is ready at once: 40 of them, past the server's burst of 30.
    go_offline(&alice, &proxy).await;
    for (i, group) in groups.iter().enumerate() {
        let timeline = alice.timeline(group.to_string()).expect("a timeline");
        for n in 1..=2 {
            timeline.send_text(format!("group {} message {n}", i + 1)).await.expect("queued");
        }
    }
    let upgrades_before = proxy.socket_upgrades();
    proxy.restore();
    alice.reconnect_now();
    let stored = stored_by_conversation(&server, 80).await;

    assert_eq!(server.state.realtime.metrics().rate_limited_socket.get(), 0, "no send was refused");
    assert_eq!(proxy.socket_upgrades() - upgrades_before, 1, "one socket carried the whole outbox");
    for (i, group) in groups.iter().enumerate() {
        let expected: Vec<(i64, String)> = (1..=2).map(|n| (n, format!("group {} message {n}", i + 1))).collect();
        assert_eq!(stored.get(group), Some(&expected), "each once, in the order queued");
    }
    wait_all_sent(&alice, &groups).await;
}

#[actix_web::test]
async fn a_server_allowing_less_than_the_default_slows_the_outbox_down_without_closing_it() {
    // Far below the SDK's assumption: the first sends are refused, and the outbox must slow down for good.
    let server = TestServer::start_with(|c| {
        c.realtime.sends_per_sec = 3;
        c.realtime.send_burst = 5;
    })
    .await;
    let (groups, proxy, alice, _dir) = teacher_online_in_groups(&server, 20).await;

    go_offline(&alice, &proxy).await;
    for (i, group) in groups.iter().enumerate() {
        let timeline = alice.timeline(group.to_string()).expect("a timeline");
        timeline.send_text(format!("group {} message 1", i + 1)).await.expect("queued");
    }
    let upgrades_before = proxy.socket_upgrades();
    proxy.restore();
    alice.reconnect_now();
    let stored = stored_by_conversation(&server, 20).await;

    let refused = server.state.realtime.metrics().rate_limited_socket.get();
    assert!(refused > 0, "the server refused some sends, so the outbox had to wait as told");
    assert!(refused <= 30, "but fewer than the server closes a socket for: {refused}");
    assert_eq!(proxy.socket_upgrades() - upgrades_before, 1, "the socket stayed open");
    for (i, group) in groups.iter().enumerate() {
        let expected = vec![(1, format!("group {} message 1", i + 1))];
        assert_eq!(stored.get(group), Some(&expected), "each once");
    }
    wait_all_sent(&alice, &groups).await;
}

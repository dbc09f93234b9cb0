//! The WebSocket protocol with real clients: delivery, ordering, acks, typing, errors, limits, closing.

use std::time::Duration;

use hallway_protocol::{ConversationKind, Role};
use hallway_test_support::ws::{Closed, WsClient};
use hallway_test_support::{TestServer, error_code};
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

const QUIET: Duration = Duration::from_millis(400);

fn send_frame(conversation_id: Uuid, client_msg_id: &str, body: &str) -> Value {
    json!({"type": "send", "conversation_id": conversation_id, "client_msg_id": client_msg_id, "body": body})
}

/// A teacher and a parent in a direct chat, each signed in once.
async fn direct_chat(server: &TestServer) -> (String, String, Uuid, Uuid, Uuid) {
    let (teacher, teacher_tokens) = server.signed_in("rivera", Role::Teacher).await;
    let (parent, parent_tokens) = server.signed_in("mei", Role::Parent).await;
    let conversation = server.create_conversation(ConversationKind::Direct, None, teacher.id, &[parent.id]).await;
    (teacher_tokens.access_token, parent_tokens.access_token, conversation, teacher.id, parent.id)
}

#[actix_web::test]
async fn hello_is_the_first_frame_and_names_the_user() {
    let server = TestServer::start().await;
    let (user, tokens) = server.signed_in("mei", Role::Parent).await;
    let client = WsClient::connect(&server, &tokens.access_token).await;
    assert_eq!(client.hello["user"]["id"], user.id.to_string());
    assert_eq!(client.hello["user"]["username"], "mei");
    assert!(client.hello["session_id"].as_str().and_then(|s| Uuid::parse_str(s).ok()).is_some());
}

#[actix_web::test]
async fn upgrade_without_a_valid_token_is_refused_with_the_envelope() {
    let server = TestServer::start().await;
    let ws_headers = |request: reqwest::RequestBuilder| {
        request
            .header("connection", "upgrade")
            .header("upgrade", "websocket")
            .header("sec-websocket-version", "13")
            .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
    };
    let (status, body) = server.send(ws_headers(server.client.get(server.url("/api/v1/ws"))), None).await;
    assert_eq!((status, error_code(&body)), (StatusCode::UNAUTHORIZED, "unauthenticated"));
    let (status, body) =
        server.send(ws_headers(server.client.get(server.url("/api/v1/ws?access_token=forged"))), None).await;
    assert_eq!((status, error_code(&body)), (StatusCode::UNAUTHORIZED, "unauthenticated"));
}

#[actix_web::test]
async fn browsers_may_pass_the_token_in_the_query() {
    let server = TestServer::start().await;
    let (_, tokens) = server.signed_in("mei", Role::Parent).await;
    let client = WsClient::connect_with_query_token(&server, &tokens.access_token).await;
    assert_eq!(client.hello["user"]["username"], "mei");
}

#[actix_web::test]
async fn send_is_acked_to_the_sender_and_delivered_to_every_other_session() {
    let server = TestServer::start().await;
    let (teacher_token, parent_token, conversation, teacher_id, _) = direct_chat(&server).await;
    let teacher_second_device = server.login("rivera", hallway_test_support::PASSWORD).await.access_token;
    let mut teacher = WsClient::connect(&server, &teacher_token).await;
    let mut teacher_tablet = WsClient::connect(&server, &teacher_second_device).await;
    let mut parent = WsClient::connect(&server, &parent_token).await;

    teacher.send(send_frame(conversation, "c-1", "Hello 👋 مرحبا")).await;
    let ack = teacher.expect("ack").await;
    assert_eq!(ack["client_msg_id"], "c-1");
    assert_eq!(ack["message"]["seq"], 1);
    assert_eq!(ack["message"]["body"], "Hello 👋 مرحبا");
    assert_eq!(ack["message"]["sender_id"], teacher_id.to_string());

    for client in [&mut parent, &mut teacher_tablet] {
        let delivered = client.expect("message").await;
        assert_eq!(delivered["message"], ack["message"]);
    }
    // The sender's own socket gets the ack, not a second copy as `message`.
    teacher.expect_none_of(&["message", "ack"], QUIET).await;
    // The message is durable: it is in the database.
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM messages WHERE conversation_id = $1")
        .bind(conversation)
        .fetch_one(&server.pool)
        .await
        .unwrap();
    assert_eq!(stored, 1);
}

#[actix_web::test]
async fn a_group_of_five_sees_every_message_in_seq_order() {
    let server = TestServer::start_with(|c| c.realtime.send_burst = 100).await;
    let mut people = Vec::new();
    for (i, role) in [Role::Teacher, Role::Parent, Role::Parent, Role::Teacher, Role::Admin].into_iter().enumerate() {
        people.push(server.signed_in(&format!("member{i}"), role).await);
    }
    let ids: Vec<Uuid> = people.iter().map(|(u, _)| u.id).collect();
    let group = server.create_conversation(ConversationKind::Group, Some("Class 4B"), ids[0], &ids[1..]).await;
    let mut clients = Vec::new();
    for (_, tokens) in &people {
        clients.push(WsClient::connect(&server, &tokens.access_token).await);
    }
    // Two senders interleave; everyone must still see seq 1..=20 in order.
    for i in 0..10 {
        clients[0].send(send_frame(group, &format!("a{i}"), &format!("from zero {i}"))).await;
        clients[3].send(send_frame(group, &format!("b{i}"), &format!("from three {i}"))).await;
    }
    for (index, client) in clients.iter_mut().enumerate() {
        let own = if index == 0 || index == 3 { 10 } else { 0 };
        let mut seqs = Vec::new();
        while seqs.len() < 20 {
            let frame = client.next_frame().await.expect("a frame");
            match frame["type"].as_str() {
                Some("message") => seqs.push(frame["message"]["seq"].as_i64().unwrap()),
                Some("ack") => seqs.push(frame["message"]["seq"].as_i64().unwrap()),
                _ => {}
            }
        }
        let _ = own;
        assert_eq!(seqs, (1..=20).collect::<Vec<i64>>(), "client {index} saw messages out of order");
    }
}

#[actix_web::test]
async fn a_repeated_client_msg_id_gets_the_original_ack_and_is_never_broadcast_twice() {
    let server = TestServer::start().await;
    let (teacher_token, parent_token, conversation, _, _) = direct_chat(&server).await;
    let mut teacher = WsClient::connect(&server, &teacher_token).await;
    let mut parent = WsClient::connect(&server, &parent_token).await;
    teacher.send(send_frame(conversation, "same", "first")).await;
    let first = teacher.expect("ack").await;
    parent.expect("message").await;

    // The connection drops before the app saw the ack; it resends on a new socket, even with other text.
    drop(teacher);
    let mut teacher = WsClient::connect(&server, &teacher_token).await;
    teacher.send(send_frame(conversation, "same", "edited text in the retry")).await;
    let again = teacher.expect("ack").await;
    assert_eq!(again["message"], first["message"]);
    parent.expect_none_of(&["message"], QUIET).await;
}

#[actix_web::test]
async fn outsiders_get_not_found_and_see_nothing() {
    let server = TestServer::start().await;
    let (teacher_token, _, conversation, _, _) = direct_chat(&server).await;
    let (_, outsider_tokens) = server.signed_in("ravi", Role::Parent).await;
    let mut teacher = WsClient::connect(&server, &teacher_token).await;
    let mut outsider = WsClient::connect(&server, &outsider_tokens.access_token).await;

    outsider.send(send_frame(conversation, "sneak", "let me in")).await;
    let error = outsider.expect("error").await;
    assert_eq!((error["code"].as_str(), error["ref"].as_str()), (Some("not_found"), Some("sneak")));
    outsider.send(json!({"type": "typing", "conversation_id": conversation, "typing": true, "ref": "t1"})).await;
    let error = outsider.expect("error").await;
    assert_eq!((error["code"].as_str(), error["ref"].as_str()), (Some("not_found"), Some("t1")));
    // A conversation that does not exist answers exactly the same.
    outsider.send(send_frame(Uuid::now_v7(), "nowhere", "hello?")).await;
    assert_eq!(outsider.expect("error").await["code"], "not_found");

    teacher.send(send_frame(conversation, "c1", "private")).await;
    teacher.expect("ack").await;
    outsider.expect_none_of(&["message", "typing", "ack"], QUIET).await;
}

#[actix_web::test]
async fn typing_reaches_the_other_members_and_ends_on_send_stop_expiry_and_disconnect() {
    let server = TestServer::start_with(|c| c.realtime.typing_expiry = Duration::from_millis(500)).await;
    let (teacher_token, parent_token, conversation, teacher_id, _) = direct_chat(&server).await;
    let mut teacher = WsClient::connect(&server, &teacher_token).await;
    let mut parent = WsClient::connect(&server, &parent_token).await;
    let typing = |on: bool| json!({"type": "typing", "conversation_id": conversation, "typing": on});

    // Start, then an explicit stop.
    teacher.send(typing(true)).await;
    let frame = parent.expect("typing").await;
    assert_eq!(
        frame,
        json!({"type": "typing", "conversation_id": conversation, "user_id": teacher_id, "typing": true})
    );
    teacher.send(typing(false)).await;
    assert_eq!(parent.expect("typing").await["typing"], false);
    teacher.expect_none_of(&["typing"], QUIET).await;

    // Start, then nothing: the server ends it by itself.
    teacher.send(typing(true)).await;
    assert_eq!(parent.expect("typing").await["typing"], true);
    let started = std::time::Instant::now();
    assert_eq!(parent.expect("typing").await["typing"], false);
    assert!(started.elapsed() >= Duration::from_millis(300), "expired too early: {:?}", started.elapsed());

    // Start, then send: the stop comes before the message.
    teacher.send(typing(true)).await;
    assert_eq!(parent.expect("typing").await["typing"], true);
    teacher.send(send_frame(conversation, "m1", "here it is")).await;
    let next = parent.next_frame().await.unwrap();
    assert_eq!((next["type"].as_str(), next["typing"].as_bool()), (Some("typing"), Some(false)));
    assert_eq!(parent.expect("message").await["message"]["body"], "here it is");

    // Start, then the socket goes away.
    teacher.send(typing(true)).await;
    assert_eq!(parent.expect("typing").await["typing"], true);
    drop(teacher);
    assert_eq!(parent.expect("typing").await["typing"], false);
}

#[actix_web::test]
async fn malformed_frames_get_error_frames_and_the_connection_stays_open() {
    let server = TestServer::start().await;
    let (_, tokens) = server.signed_in("mei", Role::Parent).await;
    let mut client = WsClient::connect(&server, &tokens.access_token).await;

    client.send_raw("{not json".into()).await;
    assert_eq!(client.expect("error").await["code"], "invalid_json");
    client.send(json!({"type": "dance", "ref": "r1"})).await;
    let error = client.expect("error").await;
    assert_eq!((error["code"].as_str(), error["ref"].as_str()), (Some("invalid_input"), Some("r1")));
    client.send(json!({"type": "send", "conversation_id": "not-a-uuid", "client_msg_id": "x", "ref": "r2"})).await;
    assert_eq!(client.expect("error").await["ref"], "r2");
    client.send(send_frame(Uuid::now_v7(), "empty", "   ")).await;
    let error = client.expect("error").await;
    assert_eq!((error["code"].as_str(), error["ref"].as_str()), (Some("body_empty"), Some("empty")));
    client.send(send_frame(Uuid::now_v7(), "long", &"x".repeat(4001))).await;
    assert_eq!(client.expect("error").await["code"], "body_too_long");

    client.send(json!({"type": "ping", "ref": "p"})).await;
    assert_eq!(client.expect("pong").await, json!({"type": "pong"}));
}

#[actix_web::test]
async fn a_frame_over_64_kib_closes_the_socket_with_1009() {
    let server = TestServer::start().await;
    let (_, tokens) = server.signed_in("mei", Role::Parent).await;
    let mut client = WsClient::connect(&server, &tokens.access_token).await;
    client.send_raw(format!(r#"{{"type":"ping","pad":"{}"}}"#, "x".repeat(70 * 1024))).await;
    assert_eq!(client.close_code(Duration::from_secs(5)).await, 1009);
}

#[actix_web::test]
async fn repeated_abuse_closes_the_socket() {
    let server = TestServer::start().await;
    let (_, tokens) = server.signed_in("mei", Role::Parent).await;
    let mut client = WsClient::connect(&server, &tokens.access_token).await;
    for _ in 0..40 {
        client.send_raw("garbage".into()).await;
    }
    let (closed, frames) = client.until_closed(Duration::from_secs(5)).await;
    assert!(frames.iter().all(|f| f["type"] == "error"));
    match closed {
        Closed::Frame(Some(frame)) => assert_eq!(u16::from(frame.code), 1008),
        other => panic!("expected a policy close, got {other:?}"),
    }
}

#[actix_web::test]
async fn sends_beyond_the_rate_limit_are_refused_with_retry_after() {
    let server = TestServer::start_with(|c| {
        c.realtime.sends_per_sec = 1;
        c.realtime.send_burst = 2;
    })
    .await;
    let (teacher_token, _, conversation, _, _) = direct_chat(&server).await;
    let mut teacher = WsClient::connect(&server, &teacher_token).await;
    for i in 0..3 {
        teacher.send(send_frame(conversation, &format!("r{i}"), "quick")).await;
    }
    let mut acks = 0;
    let mut limited = None;
    while acks + usize::from(limited.is_some()) < 3 {
        let frame = teacher.next_frame().await.expect("a frame");
        match frame["type"].as_str() {
            Some("ack") => acks += 1,
            Some("error") => limited = Some(frame),
            _ => {}
        }
    }
    let limited = limited.expect("one send was limited");
    assert_eq!((acks, limited["code"].as_str(), limited["ref"].as_str()), (2, Some("rate_limited"), Some("r2")));
    let wait = limited["retry_after_ms"].as_u64().unwrap();
    assert!((1..=1000).contains(&wait), "retry_after_ms {wait}");
}

#[actix_web::test]
async fn a_silent_client_is_dropped_after_the_timeout() {
    let server = TestServer::start_with(|c| {
        c.realtime.heartbeat_interval = Duration::from_millis(100);
        c.realtime.client_timeout = Duration::from_millis(400);
    })
    .await;
    let (_, tokens) = server.signed_in("mei", Role::Parent).await;
    let mut client = WsClient::connect(&server, &tokens.access_token).await;
    // Not reading means not answering pings: the server hears nothing.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    // The server closed it: with 1001, or (when the client library's late pongs hit the closed socket) reset.
    match client.until_closed(Duration::from_secs(5)).await.0 {
        Closed::Frame(Some(frame)) => assert_eq!(u16::from(frame.code), 1001),
        Closed::Frame(None) | Closed::Dropped => {}
    }
}

#[actix_web::test]
async fn a_client_that_answers_pings_stays_connected() {
    let server = TestServer::start_with(|c| {
        c.realtime.heartbeat_interval = Duration::from_millis(100);
        c.realtime.client_timeout = Duration::from_millis(400);
    })
    .await;
    let (_, tokens) = server.signed_in("mei", Role::Parent).await;
    let mut client = WsClient::connect(&server, &tokens.access_token).await;
    // Reading lets the client library answer pings by itself.
    client.expect_none_of(&["error"], Duration::from_millis(1200)).await;
    client.send(json!({"type": "ping"})).await;
    client.expect("pong").await;
}

#[actix_web::test]
async fn logout_closes_that_devices_socket_only() {
    let server = TestServer::start().await;
    server.create_user("mei", Role::Parent).await;
    let phone = server.login("mei", hallway_test_support::PASSWORD).await;
    let tablet = server.login("mei", hallway_test_support::PASSWORD).await;
    let mut phone_socket = WsClient::connect(&server, &phone.access_token).await;
    let mut tablet_socket = WsClient::connect(&server, &tablet.access_token).await;
    let (status, _) = server
        .post("/api/v1/auth/logout", Some(&phone.access_token), &json!({"refresh_token": phone.refresh_token}))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(phone_socket.close_code(Duration::from_secs(5)).await, 1008);
    tablet_socket.send(json!({"type": "ping"})).await;
    tablet_socket.expect("pong").await;
}

#[actix_web::test]
async fn logout_all_and_deactivation_close_every_socket_and_password_change_closes_the_others() {
    let server = TestServer::start().await;
    let user = server.create_user("mei", Role::Parent).await;
    let password = hallway_test_support::PASSWORD;
    let (phone, tablet) = (server.login("mei", password).await, server.login("mei", password).await);

    let mut phone_socket = WsClient::connect(&server, &phone.access_token).await;
    let mut tablet_socket = WsClient::connect(&server, &tablet.access_token).await;
    let body = json!({"current_password": password, "new_password": "another password"});
    assert_eq!(server.post("/api/v1/me/password", Some(&phone.access_token), &body).await.0, StatusCode::NO_CONTENT);
    assert_eq!(tablet_socket.close_code(Duration::from_secs(5)).await, 1008);
    phone_socket.send(json!({"type": "ping"})).await;
    phone_socket.expect("pong").await;

    let laptop = server.login("mei", "another password").await;
    let mut laptop_socket = WsClient::connect(&server, &laptop.access_token).await;
    assert_eq!(
        server.post("/api/v1/auth/logout-all", Some(&phone.access_token), &json!({})).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(phone_socket.close_code(Duration::from_secs(5)).await, 1008);
    assert_eq!(laptop_socket.close_code(Duration::from_secs(5)).await, 1008);

    let again = server.login("mei", "another password").await;
    let mut socket = WsClient::connect(&server, &again.access_token).await;
    let audit = hallway_server::store::audit::AuditEntry {
        actor_id: None,
        action: "user.deactivate",
        target: Some(format!("user:{}", user.id)),
        address: None,
        details: json!({}),
    };
    let change = hallway_server::auth::set_deactivated(&server.state, user.id, true, audit).await.unwrap();
    assert_eq!(change, hallway_server::auth::AccountChange::Changed);
    assert_eq!(socket.close_code(Duration::from_secs(5)).await, 1008);
    let (status, body) = server.get("/api/v1/me", Some(&again.access_token)).await;
    assert_eq!((status, error_code(&body)), (StatusCode::FORBIDDEN, "account_deactivated"));
}

#[actix_web::test]
async fn presence_goes_to_contacts_and_a_quick_reconnect_does_not_flap() {
    // Long enough that a reconnect on a loaded machine still lands inside it.
    let server = TestServer::start_with(|c| c.realtime.presence_debounce = Duration::from_millis(1500)).await;
    let (teacher_token, parent_token, _, _, parent_id) = direct_chat(&server).await;
    let (_, stranger_tokens) = server.signed_in("stranger", Role::Teacher).await;
    let mut teacher = WsClient::connect(&server, &teacher_token).await;
    let mut stranger = WsClient::connect(&server, &stranger_tokens.access_token).await;

    let parent = WsClient::connect(&server, &parent_token).await;
    let online = teacher.expect("presence").await;
    assert_eq!((online["user_id"].as_str(), online["online"].as_bool()), (Some(&*parent_id.to_string()), Some(true)));

    // A flapping phone: closed and reopened within the debounce time, nobody hears it went offline. (The
    // teacher's own snapshot of who is online, taken as their socket opened, may land late on a loaded
    // machine and say "online" once more: presence is state, so that repeat is no flap.)
    drop(parent);
    let parent = WsClient::connect(&server, &parent_token).await;
    let quiet_until = tokio::time::Instant::now() + Duration::from_millis(2000);
    while let Some(frame) =
        teacher.next_frame_within(quiet_until.saturating_duration_since(tokio::time::Instant::now())).await
    {
        if frame["type"] == "presence" {
            assert_eq!(
                (frame["user_id"].as_str(), frame["online"].as_bool()),
                (Some(&*parent_id.to_string()), Some(true))
            );
        }
    }

    drop(parent);
    let offline = loop {
        let told = teacher.expect("presence").await;
        if told["online"] == false {
            break told;
        }
    };
    assert_eq!(offline["user_id"].as_str(), Some(&*parent_id.to_string()));
    assert!(offline["last_seen_at"].is_string());
    // Someone who shares no conversation with the parent hears nothing about them.
    stranger.expect_none_of(&["presence"], QUIET).await;
}

#[actix_web::test]
async fn a_new_socket_learns_which_contacts_are_online() {
    let server = TestServer::start().await;
    let (teacher_token, parent_token, _, teacher_id, _) = direct_chat(&server).await;
    let _teacher = WsClient::connect(&server, &teacher_token).await;
    let mut parent = WsClient::connect(&server, &parent_token).await;
    let presence = parent.expect("presence").await;
    assert_eq!(
        (presence["user_id"].as_str(), presence["online"].as_bool()),
        (Some(&*teacher_id.to_string()), Some(true))
    );
}

#[actix_web::test]
async fn people_who_start_sharing_a_conversation_learn_who_of_them_is_online() {
    let server = TestServer::start().await;
    let (teacher, teacher_tokens) = server.signed_in("rivera", Role::Teacher).await;
    let (parent, parent_tokens) = server.signed_in("chen", Role::Parent).await;
    let (student, student_tokens) = server.signed_in("lily", Role::Student).await;
    let (offline, _) = server.signed_in("okafor", Role::Teacher).await;
    // Online, but sharing nothing yet: their sockets heard of no one.
    let mut teacher_socket = WsClient::connect(&server, &teacher_tokens.access_token).await;
    let mut parent_socket = WsClient::connect(&server, &parent_tokens.access_token).await;
    let mut student_socket = WsClient::connect(&server, &student_tokens.access_token).await;

    let body = json!({"kind": "direct", "member_ids": [teacher.id]});
    let (status, _) = server.post("/api/v1/conversations", Some(&parent_tokens.access_token), &body).await;
    assert_eq!(status, StatusCode::CREATED);
    let told = parent_socket.expect("presence").await;
    assert_eq!((told["user_id"].as_str(), told["online"].as_bool()), (Some(&*teacher.id.to_string()), Some(true)));
    let told = teacher_socket.expect("presence").await;
    assert_eq!((told["user_id"].as_str(), told["online"].as_bool()), (Some(&*parent.id.to_string()), Some(true)));

    // Added to a group later: the newcomer learns who is online there, and the others learn of the newcomer;
    // the member who is not connected is never announced.
    let body = json!({"kind": "group", "name": "Reading club", "member_ids": [offline.id]});
    let (status, group) = server.post("/api/v1/conversations", Some(&teacher_tokens.access_token), &body).await;
    assert_eq!(status, StatusCode::CREATED);
    let group_id = group["id"].as_str().expect("an id").to_owned();
    let add = json!({"user_ids": [student.id]});
    let (status, _) = server
        .post(&format!("/api/v1/conversations/{group_id}/members"), Some(&teacher_tokens.access_token), &add)
        .await;
    assert_eq!(status, StatusCode::OK);
    let told = student_socket.expect("presence").await;
    assert_eq!(told["user_id"].as_str(), Some(&*teacher.id.to_string()));
    // The parent's own "online", sent as their socket opened, may land only after the direct chat made them
    // contacts (on a loaded machine): presence is state, so that repeat is harmless and skipped here.
    let told = loop {
        let told = teacher_socket.expect("presence").await;
        if told["user_id"].as_str() != Some(&*parent.id.to_string()) || told["online"] != true {
            break told;
        }
    };
    assert_eq!(told["user_id"].as_str(), Some(&*student.id.to_string()));
    student_socket.expect_none_of(&["presence"], QUIET).await;
}

#[actix_web::test]
async fn a_slow_consumer_is_cut_off_without_holding_up_the_others() {
    const MESSAGES: i64 = 2500;
    let server = TestServer::start_with(|c| {
        c.realtime.max_pending_frames = 32;
        c.realtime.sends_per_sec = 100_000;
        c.realtime.send_burst = 100_000;
    })
    .await;
    let (sender, sender_tokens) = server.signed_in("okafor", Role::Teacher).await;
    let (reader, reader_tokens) = server.signed_in("ravi", Role::Parent).await;
    let (sleeper, sleeper_tokens) = server.signed_in("alex", Role::Admin).await;
    let group = server
        .create_conversation(ConversationKind::Group, Some("Class 4B"), sender.id, &[reader.id, sleeper.id])
        .await;
    let mut sender_socket = WsClient::connect(&server, &sender_tokens.access_token).await;
    let mut reader_socket = WsClient::connect(&server, &reader_tokens.access_token).await;
    // This phone stops reading at once: its kernel buffers fill, then the server's queue for it.
    let mut sleeper_socket = WsClient::connect_with_small_receive_buffer(&server, &sleeper_tokens.access_token).await;

    let reader_task = actix_rt::spawn(async move {
        let mut seqs = Vec::new();
        while seqs.len() < MESSAGES as usize {
            let frame = reader_socket.next_frame().await.expect("the reader keeps receiving");
            if frame["type"] == "message" {
                seqs.push(frame["message"]["seq"].as_i64().unwrap());
            }
        }
        seqs
    });
    let body = "a long announcement ".repeat(195);
    for i in 0..MESSAGES {
        sender_socket.send(send_frame(group, &format!("m{i}"), &body)).await;
        assert_eq!(sender_socket.expect("ack").await["message"]["seq"], i + 1);
    }
    let seqs = reader_task.await.unwrap();
    assert_eq!(seqs, (1..=MESSAGES).collect::<Vec<_>>(), "the reader got every message in order");

    // The sleeper wakes up: it finds a bounded backlog, then the close that tells it to reconnect and catch up.
    let (closed, frames) = sleeper_socket.until_closed(Duration::from_secs(20)).await;
    match closed {
        Closed::Frame(Some(frame)) => assert_eq!(u16::from(frame.code), 1013),
        other => panic!("the slow consumer should get a close frame, got {other:?}"),
    }
    let delivered = frames.iter().filter(|f| f["type"] == "message").count() as i64;
    assert!(delivered < MESSAGES, "the slow consumer was never cut off ({delivered} messages)");
    // Nothing was lost for it either: everything is in the database to backfill.
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM messages WHERE conversation_id = $1")
        .bind(group)
        .fetch_one(&server.pool)
        .await
        .unwrap();
    assert_eq!(stored, MESSAGES);
}

#[actix_web::test]
async fn a_burst_past_the_limit_closes_with_1008_only_after_every_admitted_send_is_answered() {
    // The server's default allowance: 30 at once, then 10 a second.
    let server = TestServer::start().await;
    let (teacher_token, _, conversation, _, _) = direct_chat(&server).await;
    let mut teacher = WsClient::connect(&server, &teacher_token).await;
    for i in 0..100 {
        teacher.send(send_frame(conversation, &format!("b{i}"), &format!("burst {i}"))).await;
    }
    let (closed, frames) = teacher.until_closed(Duration::from_secs(20)).await;
    match closed {
        Closed::Frame(Some(frame)) => assert_eq!(u16::from(frame.code), 1008, "{frame:?}"),
        other => panic!("expected a 1008 close, got {other:?}"),
    }
    let acked: Vec<&str> =
        frames.iter().filter(|f| f["type"] == "ack").map(|f| f["client_msg_id"].as_str().unwrap()).collect();
    let refused: Vec<&str> = frames
        .iter()
        .filter(|f| f["type"] == "error")
        .map(|f| {
            assert_eq!(f["code"], "rate_limited", "{f}");
            f["ref"].as_str().unwrap()
        })
        .collect();
    assert!(acked.len() >= 30, "the whole burst was admitted and answered before the close: {}", acked.len());
    // The first refusal answers a client never told to wait; the 31 after it came too soon and close the socket.
    assert_eq!(refused.len(), 32, "closed at the 31st refusal that counts, with nothing taken after it");
    // Each send the server took is answered once; what it stored is exactly what it acknowledged.
    let mut stored: Vec<String> =
        sqlx::query_scalar("SELECT client_msg_id FROM messages ORDER BY seq").fetch_all(&server.pool).await.unwrap();
    let mut acked_sorted: Vec<String> = acked.iter().map(|id| id.to_string()).collect();
    stored.sort();
    acked_sorted.sort();
    assert_eq!(stored, acked_sorted);
    assert!(refused.iter().all(|id| !acked.contains(id)), "no send both acknowledged and refused");
}

#[actix_web::test]
async fn a_client_that_waits_retry_after_ms_each_time_is_never_closed() {
    // No pacing of its own: each message goes right after the previous ack, and each refusal is waited out.
    let server = TestServer::start().await;
    let (teacher_token, _, conversation, _, _) = direct_chat(&server).await;
    let mut teacher = WsClient::connect(&server, &teacher_token).await;
    let mut refusals = 0;
    for i in 0..70 {
        let id = format!("w{i}");
        loop {
            teacher.send(send_frame(conversation, &id, &format!("waited {i}"))).await;
            let answer = loop {
                match teacher.next_or_closed_within(Duration::from_secs(10)).await {
                    Some(Ok(frame)) if frame["type"] == "ack" || frame["type"] == "error" => break frame,
                    Some(Ok(_)) => {}
                    other => panic!("no answer to {id}: {other:?}"),
                }
            };
            if answer["type"] == "ack" {
                assert_eq!(answer["client_msg_id"], id.as_str());
                break;
            }
            assert_eq!((answer["code"].as_str(), answer["ref"].as_str()), (Some("rate_limited"), Some(id.as_str())));
            refusals += 1;
            tokio::time::sleep(Duration::from_millis(answer["retry_after_ms"].as_u64().unwrap())).await;
        }
    }
    assert!(refusals > 30, "more refusals than a misbehaving socket may earn: {refusals}");
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM messages").fetch_one(&server.pool).await.unwrap();
    assert_eq!(stored, 70);
}

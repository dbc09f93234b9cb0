//! Every door is guarded: REST sends and the socket's change frames are rate-limited like the socket's `send`,
//! and nothing naming a conversation that does not exist, or that the caller is not in, starts an actor.

mod support;

use hallway_protocol::Role;
use hallway_test_support::ws::WsClient;
use hallway_test_support::{TestServer, error_code};
use reqwest::StatusCode;
use serde_json::json;
use support::*;
use uuid::Uuid;

#[actix_web::test]
async fn rest_sends_past_the_quota_get_429_with_retry_after() {
    let server = TestServer::start_with(|c| {
        c.realtime.rest_sends_per_sec = 1;
        c.realtime.rest_send_burst = 2;
    })
    .await;
    let teacher = person(&server, "teacher", Role::Teacher).await;
    let parent = person(&server, "parent", Role::Parent).await;
    let class = group(&server, &[&teacher, &parent]).await;
    for n in 0..2 {
        assert_eq!(send(&server, &teacher, class, &format!("m{n}"), "hello").await.0, StatusCode::CREATED);
    }
    let path = format!("/api/v1/conversations/{class}/messages");
    let request = server.client.post(server.url(&path)).json(&json!({"client_msg_id": "m2", "body": "one more"}));
    let response = request.bearer_auth(&teacher.token).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().contains_key("retry-after"));
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(error_code(&body), "rate_limited");
    // Another person has a quota of their own.
    assert_eq!(send(&server, &parent, class, "p0", "hi").await.0, StatusCode::CREATED);
}

#[actix_web::test]
async fn change_frames_past_the_quota_are_refused_with_rate_limited() {
    let server = TestServer::start_with(|c| {
        c.realtime.sends_per_sec = 1;
        c.realtime.send_burst = 2;
    })
    .await;
    let teacher = person(&server, "teacher", Role::Teacher).await;
    let parent = person(&server, "parent", Role::Parent).await;
    let class = group(&server, &[&teacher, &parent]).await;
    let message = id_of(&sent(&server, &teacher, class, "m1", "hello").await);
    let mut socket = WsClient::connect(&server, &parent.token).await;
    for (n, emoji) in ["👍", "🎉", "😊"].iter().enumerate() {
        socket
            .send(json!({"type": "react", "message_id": message, "emoji": emoji, "on": true, "ref": format!("r{n}")}))
            .await;
    }
    // A read is a change frame too, and its bucket is the same.
    socket.send(json!({"type": "read", "conversation_id": class, "seq": 1, "ref": "read"})).await;
    let (mut refused, mut reactions) = (Vec::new(), 0);
    while refused.len() < 2 || reactions < 2 {
        let frame = socket.next_frame_within(std::time::Duration::from_secs(10)).await.expect("a frame");
        match frame["type"].as_str() {
            Some("error") => {
                assert_eq!(frame["code"], "rate_limited", "{frame}");
                assert!(frame["retry_after_ms"].as_u64().unwrap() > 0);
                refused.push(frame["ref"].as_str().unwrap().to_owned());
            }
            Some("reaction") => reactions += 1,
            _ => {}
        }
    }
    refused.sort();
    assert_eq!(refused, ["r2", "read"]);
    // The first two went through.
    let (_, page) = history(&server, &parent, class, "").await;
    assert_eq!(page["messages"][0]["reactions"].as_array().unwrap().len(), 2);
}

#[actix_web::test]
async fn unknown_and_foreign_conversations_start_no_actor() {
    let server = TestServer::start().await;
    let teacher = person(&server, "teacher", Role::Teacher).await;
    let parent = person(&server, "parent", Role::Parent).await;
    let outsider = person(&server, "outsider", Role::Parent).await;
    let class = group(&server, &[&teacher, &parent]).await;
    // A message stored directly, so that no actor of this conversation runs.
    let text = hallway_server::store::messages::NewText {
        conversation_id: class,
        sender_id: teacher.id,
        client_msg_id: "m1".to_owned(),
        body: "hello".to_owned(),
    };
    let stored = hallway_server::store::messages::insert_text(&server.pool, &text).await.unwrap().unwrap();
    let message = stored.id.to_string();
    let running = || server.state.realtime.running_conversations();
    assert_eq!(running(), 0);

    let nowhere = Uuid::now_v7();
    for conversation in [nowhere, class] {
        let (status, body) = send(&server, &outsider, conversation, &format!("x{conversation}"), "hi").await;
        assert_eq!((status, error_code(&body)), (StatusCode::NOT_FOUND, "not_found"));
        assert_eq!(read(&server, &outsider, conversation, 1).await.0, StatusCode::NOT_FOUND);
    }
    assert_eq!(react(&server, &outsider, &message, "👍", true).await.0, StatusCode::NOT_FOUND);
    assert_eq!(edit(&server, &outsider, &message, "mine now").await.0, StatusCode::NOT_FOUND);

    let mut socket = WsClient::connect(&server, &outsider.token).await;
    let frames = [
        json!({"type": "send", "conversation_id": nowhere, "client_msg_id": "s1", "body": "hi"}),
        json!({"type": "send", "conversation_id": class, "client_msg_id": "s2", "body": "hi"}),
        json!({"type": "typing", "conversation_id": class, "typing": true, "ref": "t"}),
        json!({"type": "read", "conversation_id": nowhere, "seq": 1, "ref": "r"}),
        json!({"type": "delete", "message_id": message, "ref": "d"}),
    ];
    for frame in frames {
        socket.send(frame).await;
        let refused = socket.expect("error").await;
        assert_eq!(refused["code"], "not_found", "{refused}");
    }
    // Every refusal came from the gate: no actor started.
    assert_eq!(running(), 0);
    // A member's request starts it as before.
    assert_eq!(read(&server, &parent, class, 1).await.0, StatusCode::NO_CONTENT);
    assert_eq!(running(), 1);
}

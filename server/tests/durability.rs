//! Nothing acknowledged is ever lost: a server stopped mid-stream and started again on the same database
//! still has every acknowledged message, and clients that reconnect, resend what was not acknowledged and
//! backfill by `after_seq` end with exactly the messages sent, once each, with no gap.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use hallway_protocol::{ConversationKind, Role};
use hallway_test_support::ws::WsClient;
use hallway_test_support::{PASSWORD, TestServer, fresh_database};
use serde_json::{Value, json};
use uuid::Uuid;

const MESSAGES: usize = 40;

fn send_frame(conversation_id: Uuid, client_msg_id: &str) -> Value {
    json!({"type": "send", "conversation_id": conversation_id, "client_msg_id": client_msg_id,
           "body": format!("message {client_msg_id}")})
}

/// Everything after `after_seq`, page by page, as a client resuming would fetch it.
async fn backfill(server: &TestServer, token: &str, conversation: Uuid, mut after_seq: i64) -> Vec<Value> {
    let mut messages = Vec::new();
    loop {
        let path = format!("/api/v1/conversations/{conversation}/messages?after_seq={after_seq}&limit=7");
        let (status, page) = server.get(&path, Some(token)).await;
        assert!(status.is_success(), "{page}");
        let batch = page["messages"].as_array().cloned().unwrap_or_default();
        if let Some(last) = batch.last() {
            after_seq = last["seq"].as_i64().unwrap_or(after_seq);
        }
        messages.extend(batch);
        if page["has_more"] != true {
            return messages;
        }
    }
}

#[actix_web::test]
async fn acknowledged_messages_survive_a_restart_and_resuming_clients_converge_without_gaps_or_duplicates() {
    let pool = fresh_database().await;
    let burst = |c: &mut hallway_server::config::Config| c.realtime.send_burst = 1000;
    let first = TestServer::start_on_with(pool.clone(), burst).await;
    let teacher = first.create_user("okafor", Role::Teacher).await;
    let parent = first.create_user("ravi", Role::Parent).await;
    let conversation = first.create_conversation(ConversationKind::Direct, None, teacher.id, &[parent.id]).await;
    let teacher_token = first.login("okafor", PASSWORD).await.access_token;
    let parent_token = first.login("ravi", PASSWORD).await.access_token;

    let mut sender = WsClient::connect(&first, &teacher_token).await;
    let mut receiver = WsClient::connect(&first, &parent_token).await;
    let ids: Vec<String> = (0..MESSAGES).map(|i| format!("c{i:02}")).collect();
    for id in &ids {
        sender.send(send_frame(conversation, id)).await;
    }
    // Take a few acks, then stop the server while the rest are in flight.
    let mut acked: BTreeMap<String, Value> = BTreeMap::new();
    while acked.len() < MESSAGES / 4 {
        let frame = sender.expect("ack").await;
        acked.insert(frame["client_msg_id"].as_str().unwrap_or_default().to_owned(), frame["message"].clone());
    }
    let mut received: Vec<Value> = Vec::new();
    drop(first);
    // Whatever else arrived before the sockets closed counts too.
    while let Some(frame) = sender.next_frame_within(Duration::from_secs(2)).await {
        if frame["type"] == "ack" {
            acked.insert(frame["client_msg_id"].as_str().unwrap_or_default().to_owned(), frame["message"].clone());
        }
    }
    while let Some(frame) = receiver.next_frame_within(Duration::from_millis(500)).await {
        if frame["type"] == "message" {
            received.push(frame["message"].clone());
        }
    }
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Every acknowledged message is in the database with the seq and text the ack said.
    let second = TestServer::start_on_with(pool.clone(), burst).await;
    for message in acked.values() {
        let path = format!(
            "/api/v1/conversations/{conversation}/messages?after_seq={}&limit=1",
            message["seq"].as_i64().unwrap_or(0) - 1
        );
        let (status, page) = second.get(&path, Some(&teacher_token)).await;
        assert!(status.is_success(), "{page}");
        assert_eq!(&page["messages"][0], message, "an acknowledged message changed or vanished");
    }

    // The sender reconnects and resends everything not acknowledged, with the same client_msg_ids.
    let mut sender = WsClient::connect(&second, &teacher_token).await;
    let unacked: Vec<&String> = ids.iter().filter(|id| !acked.contains_key(*id)).collect();
    println!("{} of {MESSAGES} acknowledged before the stop", MESSAGES - unacked.len());
    for id in &unacked {
        sender.send(send_frame(conversation, id)).await;
    }
    for _ in &unacked {
        let frame = sender.expect("ack").await;
        acked.insert(frame["client_msg_id"].as_str().unwrap_or_default().to_owned(), frame["message"].clone());
    }
    assert_eq!(acked.len(), MESSAGES);

    // The receiver backfills from the last seq it saw, and drops what it already has by seq.
    let last_seen = received.iter().filter_map(|m| m["seq"].as_i64()).max().unwrap_or(0);
    let mut timeline: BTreeMap<i64, Value> =
        received.into_iter().map(|m| (m["seq"].as_i64().unwrap_or(0), m)).collect();
    for message in backfill(&second, &parent_token, conversation, last_seen).await {
        timeline.insert(message["seq"].as_i64().unwrap_or(0), message);
    }
    let seqs: Vec<i64> = timeline.keys().copied().collect();
    assert_eq!(seqs, (1..=MESSAGES as i64).collect::<Vec<_>>(), "a gap or a duplicate in the receiver's timeline");
    let client_ids: HashSet<&str> = timeline.values().filter_map(|m| m["client_msg_id"].as_str()).collect();
    assert_eq!(client_ids.len(), MESSAGES, "a message was stored twice or lost");
    for (client_msg_id, message) in &acked {
        let seq = message["seq"].as_i64().unwrap_or(0);
        assert_eq!(timeline[&seq]["client_msg_id"], client_msg_id.as_str());
    }
}

//! Changes over REST and the socket produce the same frames, to exactly the right sessions, live.

use std::time::Duration;

use hallway_protocol::{ConversationKind, Role};
use hallway_test_support::ws::WsClient;
use hallway_test_support::{PASSWORD, TestServer};
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

const QUIET: Duration = Duration::from_millis(400);

fn send_frame(conversation_id: Uuid, client_msg_id: &str, body: &str) -> Value {
    json!({"type": "send", "conversation_id": conversation_id, "client_msg_id": client_msg_id, "body": body})
}

struct Chat {
    server: TestServer,
    conversation: Uuid,
    teacher_id: Uuid,
    parent_id: Uuid,
    teacher_token: String,
    parent_token: String,
}

async fn direct_chat() -> Chat {
    let server = TestServer::start().await;
    let (teacher, teacher_tokens) = server.signed_in("rivera", Role::Teacher).await;
    let (parent, parent_tokens) = server.signed_in("mei", Role::Parent).await;
    let conversation = server.create_conversation(ConversationKind::Direct, None, teacher.id, &[parent.id]).await;
    Chat {
        server,
        conversation,
        teacher_id: teacher.id,
        parent_id: parent.id,
        teacher_token: teacher_tokens.access_token,
        parent_token: parent_tokens.access_token,
    }
}

async fn unread(server: &TestServer, token: &str, conversation: Uuid) -> i64 {
    let (status, body) = server.get(&format!("/api/v1/conversations/{conversation}"), Some(token)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["unread_count"].as_i64().unwrap_or(i64::MIN)
}

#[actix_web::test]
async fn a_rest_send_reaches_every_socket_including_the_senders_own_as_message() {
    let chat = direct_chat().await;
    let mut teacher = WsClient::connect(&chat.server, &chat.teacher_token).await;
    let mut parent = WsClient::connect(&chat.server, &chat.parent_token).await;
    let path = format!("/api/v1/conversations/{}/messages", chat.conversation);
    let (status, sent) =
        chat.server.post(&path, Some(&chat.teacher_token), &json!({"client_msg_id": "rest-1", "body": "hi"})).await;
    assert_eq!(status, StatusCode::CREATED);
    for client in [&mut teacher, &mut parent] {
        assert_eq!(client.expect("message").await["message"], sent);
    }
    // The same id again: 200 with the original, and nobody hears of it twice.
    let (status, again) =
        chat.server.post(&path, Some(&chat.teacher_token), &json!({"client_msg_id": "rest-1", "body": "other"})).await;
    assert_eq!((status, &again), (StatusCode::OK, &sent));
    parent.expect_none_of(&["message"], QUIET).await;
    teacher.expect_none_of(&["message", "ack"], QUIET).await;
}

#[actix_web::test]
async fn read_receipts_reach_every_member_and_the_readers_other_devices_and_clear_unread() {
    let chat = direct_chat().await;
    let parent_tablet = chat.server.login("mei", PASSWORD).await.access_token;
    let mut teacher = WsClient::connect(&chat.server, &chat.teacher_token).await;
    let mut parent = WsClient::connect(&chat.server, &chat.parent_token).await;
    let mut tablet = WsClient::connect(&chat.server, &parent_tablet).await;
    for i in 0..3 {
        teacher.send(send_frame(chat.conversation, &format!("m{i}"), "news")).await;
        teacher.expect("ack").await;
    }
    assert_eq!(unread(&chat.server, &chat.parent_token, chat.conversation).await, 3);

    parent.send(json!({"type": "read", "conversation_id": chat.conversation, "seq": 2})).await;
    let expected = json!({"type": "read", "conversation_id": chat.conversation, "user_id": chat.parent_id, "seq": 2});
    assert_eq!(teacher.expect("read").await, expected);
    assert_eq!(tablet.expect("read").await, expected);
    assert_eq!(parent.expect("read").await, expected);
    assert_eq!(unread(&chat.server, &parent_tablet, chat.conversation).await, 1);

    // Over REST, the same frames; a seq past the end is the end.
    let path = format!("/api/v1/conversations/{}/read", chat.conversation);
    assert_eq!(chat.server.post(&path, Some(&parent_tablet), &json!({"seq": 99})).await.0, StatusCode::NO_CONTENT);
    assert_eq!(teacher.expect("read").await["seq"], 3);
    assert_eq!(parent.expect("read").await["seq"], 3);
    assert_eq!(unread(&chat.server, &chat.parent_token, chat.conversation).await, 0);
}

#[actix_web::test]
async fn reactions_edits_and_deletes_reach_every_member_over_the_socket_and_rest() {
    let chat = direct_chat().await;
    let mut teacher = WsClient::connect(&chat.server, &chat.teacher_token).await;
    let mut parent = WsClient::connect(&chat.server, &chat.parent_token).await;
    teacher.send(send_frame(chat.conversation, "m1", "Trip on Friday")).await;
    let message = teacher.expect("ack").await["message"].clone();
    let message_id = message["id"].as_str().unwrap().to_owned();
    parent.expect("message").await;

    // A reaction without U+FE0F is the same as the quick reaction ❤️.
    parent.send(json!({"type": "react", "message_id": message_id, "emoji": "\u{2764}", "on": true})).await;
    for client in [&mut teacher, &mut parent] {
        let frame = client.expect("reaction").await;
        assert_eq!(
            frame,
            json!({"type": "reaction", "conversation_id": chat.conversation, "message_id": message_id,
                   "emoji": "❤️", "user_id": chat.parent_id, "on": true})
        );
    }
    // Reacting again changes nothing and tells nobody.
    parent.send(json!({"type": "react", "message_id": message_id, "emoji": "❤️", "on": true})).await;
    teacher.expect_none_of(&["reaction"], QUIET).await;
    parent.send(json!({"type": "react", "message_id": message_id, "emoji": "nope", "on": true, "ref": "bad"})).await;
    let error = parent.expect("error").await;
    assert_eq!((error["code"].as_str(), error["ref"].as_str()), (Some("invalid_emoji"), Some("bad")));

    // Only the sender edits; the parent is refused with `forbidden`.
    parent.send(json!({"type": "edit", "message_id": message_id, "body": "hijacked", "ref": "e1"})).await;
    let error = parent.expect("error").await;
    assert_eq!((error["code"].as_str(), error["ref"].as_str()), (Some("forbidden"), Some("e1")));
    teacher.send(json!({"type": "edit", "message_id": message_id, "body": "Trip on Thursday"})).await;
    for client in [&mut teacher, &mut parent] {
        let updated = client.expect("message_updated").await;
        assert_eq!(updated["message"]["body"], "Trip on Thursday");
        assert!(updated["message"]["edited_at"].is_string());
        assert_eq!(updated["message"]["reactions"][0]["emoji"], "❤️");
    }

    // REST changes produce the same frames.
    let reactions = format!("/api/v1/messages/{message_id}/reactions");
    let (status, _) = chat.server.post(&reactions, Some(&chat.teacher_token), &json!({"emoji": "👍"})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(parent.expect("reaction").await["user_id"], chat.teacher_id.to_string());
    let (status, deleted) =
        chat.server.delete(&format!("/api/v1/messages/{message_id}"), Some(&chat.teacher_token)).await;
    assert_eq!((status, deleted["deleted"].as_bool()), (StatusCode::OK, Some(true)));
    for client in [&mut teacher, &mut parent] {
        let frame = client.expect("message_deleted").await;
        assert_eq!(
            frame,
            json!({"type": "message_deleted", "conversation_id": chat.conversation, "message_id": message_id})
        );
    }
    // An outsider's socket can do none of this: the message does not exist for them.
    let (_, outsider) = chat.server.signed_in("ravi", Role::Parent).await;
    let mut outsider = WsClient::connect(&chat.server, &outsider.access_token).await;
    outsider.send(json!({"type": "delete", "message_id": message_id, "ref": "x"})).await;
    assert_eq!(outsider.expect("error").await["code"], "not_found");
    outsider.send(json!({"type": "read", "conversation_id": chat.conversation, "seq": 1, "ref": "y"})).await;
    assert_eq!(outsider.expect("error").await["code"], "not_found");
}

#[actix_web::test]
async fn membership_changes_are_live_for_the_added_the_removed_and_the_rest() {
    let server = TestServer::start().await;
    let (teacher, teacher_tokens) = server.signed_in("okafor", Role::Teacher).await;
    let (parent, parent_tokens) = server.signed_in("ravi", Role::Parent).await;
    let (newcomer, newcomer_tokens) = server.signed_in("mei", Role::Parent).await;
    let mut teacher_socket = WsClient::connect(&server, &teacher_tokens.access_token).await;
    let mut parent_socket = WsClient::connect(&server, &parent_tokens.access_token).await;
    let mut newcomer_socket = WsClient::connect(&server, &newcomer_tokens.access_token).await;

    // Creating a group tells each member, without reconnecting.
    let body = json!({"kind": "group", "name": "Class 4B", "member_ids": [parent.id]});
    let (status, group) = server.post("/api/v1/conversations", Some(&teacher_tokens.access_token), &body).await;
    assert_eq!(status, StatusCode::CREATED);
    let group_id = group["id"].as_str().unwrap().to_owned();
    for client in [&mut teacher_socket, &mut parent_socket] {
        assert_eq!(client.expect("conversation").await["conversation"]["id"], group_id);
    }
    newcomer_socket.expect_none_of(&["conversation"], QUIET).await;

    // Adding someone: they get the conversation, then its messages, on the socket they already had.
    let members = format!("/api/v1/conversations/{group_id}/members");
    let add = json!({"user_ids": [newcomer.id]});
    assert_eq!(server.post(&members, Some(&teacher_tokens.access_token), &add).await.0, StatusCode::OK);
    let added = newcomer_socket.expect("conversation").await;
    assert_eq!(added["conversation"]["members"].as_array().unwrap().len(), 3);
    for client in [&mut teacher_socket, &mut parent_socket] {
        assert_eq!(client.expect("conversation").await["conversation"]["members"].as_array().unwrap().len(), 3);
    }
    let conversation_id: Uuid = group_id.parse().unwrap();
    teacher_socket.send(send_frame(conversation_id, "welcome", "Welcome Mei!")).await;
    assert_eq!(newcomer_socket.expect("message").await["message"]["body"], "Welcome Mei!");

    // Renaming reaches everyone.
    let rename = json!({"name": "Class 4B families"});
    let path = format!("/api/v1/conversations/{group_id}");
    assert_eq!(server.patch(&path, Some(&teacher_tokens.access_token), &rename).await.0, StatusCode::OK);
    for client in [&mut teacher_socket, &mut parent_socket, &mut newcomer_socket] {
        assert_eq!(client.expect("conversation").await["conversation"]["name"], "Class 4B families");
    }

    // Removing someone: they are told, and from then on hear nothing more about it.
    let (status, _) = server.delete(&format!("{members}/{}", newcomer.id), Some(&teacher_tokens.access_token)).await;
    assert_eq!(status, StatusCode::OK);
    let removed = newcomer_socket.expect("conversation_removed").await;
    assert_eq!(removed, json!({"type": "conversation_removed", "conversation_id": group_id}));
    for client in [&mut teacher_socket, &mut parent_socket] {
        assert_eq!(client.expect("conversation").await["conversation"]["members"].as_array().unwrap().len(), 2);
    }
    teacher_socket.send(send_frame(conversation_id, "after", "Only for the two of us now")).await;
    assert_eq!(parent_socket.expect("message").await["message"]["body"], "Only for the two of us now");
    newcomer_socket.expect_none_of(&["message", "conversation", "typing"], QUIET).await;
    newcomer_socket.send(send_frame(conversation_id, "sneak", "still here?")).await;
    assert_eq!(newcomer_socket.expect("error").await["code"], "not_found");

    // Own settings: only the user's own sockets hear of it.
    let settings = format!("/api/v1/conversations/{group_id}/settings");
    let (status, _) = server.patch(&settings, Some(&parent_tokens.access_token), &json!({"muted": true})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(parent_socket.expect("conversation").await["conversation"]["muted"], true);
    teacher_socket.expect_none_of(&["conversation"], QUIET).await;

    // Leaving: the leaver is told it is gone.
    let leave = format!("/api/v1/conversations/{group_id}/leave");
    assert_eq!(server.post(&leave, Some(&parent_tokens.access_token), &json!({})).await.0, StatusCode::NO_CONTENT);
    assert_eq!(parent_socket.expect("conversation_removed").await["conversation_id"], group_id);
    let _ = teacher;
}

#[actix_web::test]
async fn a_direct_chat_is_announced_to_both_people_when_it_is_created() {
    let server = TestServer::start().await;
    let (_, teacher_tokens) = server.signed_in("rivera", Role::Teacher).await;
    let (parent, parent_tokens) = server.signed_in("mei", Role::Parent).await;
    let mut parent_socket = WsClient::connect(&server, &parent_tokens.access_token).await;
    let body = json!({"kind": "direct", "member_ids": [parent.id]});
    let (status, chat) = server.post("/api/v1/conversations", Some(&teacher_tokens.access_token), &body).await;
    assert_eq!(status, StatusCode::CREATED);
    let frame = parent_socket.expect("conversation").await;
    assert_eq!(frame["conversation"]["id"], chat["id"]);
    // Asking again for the same pair announces nothing new.
    let (status, _) = server.post("/api/v1/conversations", Some(&teacher_tokens.access_token), &body).await;
    assert_eq!(status, StatusCode::OK);
    parent_socket.expect_none_of(&["conversation"], QUIET).await;
}

/// The conversation's actor commits a removal and reloads its members before it takes the next message, so
/// the person removed receives every message committed before the removal and none committed after it, even
/// while messages stream in. The order of commits is read back from the change feed, whose ids are taken
/// under the conversation's row lock that both a message and a removal hold until they commit.
#[actix_web::test]
async fn a_member_removed_while_messages_stream_in_receives_none_committed_after_the_removal() {
    const MESSAGES: usize = 80;
    let server = TestServer::start_with(|config| {
        config.realtime.sends_per_sec = 1000;
        config.realtime.send_burst = 1000;
    })
    .await;
    let (teacher, teacher_tokens) = server.signed_in("okafor", Role::Teacher).await;
    let (parent, _) = server.signed_in("ravi", Role::Parent).await;
    let (leaving, leaving_tokens) = server.signed_in("mei", Role::Parent).await;
    let group =
        server.create_conversation(ConversationKind::Group, Some("4B"), teacher.id, &[parent.id, leaving.id]).await;
    let mut teacher_socket = WsClient::connect(&server, &teacher_tokens.access_token).await;
    let mut leaving_socket = WsClient::connect(&server, &leaving_tokens.access_token).await;

    // Half the messages are queued at the actor, the removal comes over REST, then the other half.
    for n in 0..MESSAGES / 2 {
        teacher_socket.send(send_frame(group, &format!("m{n}"), &format!("message {n}"))).await;
    }
    let member = format!("/api/v1/conversations/{group}/members/{}", leaving.id);
    let remove = server.delete(&member, Some(&teacher_tokens.access_token));
    let ((status, _), ()) = tokio::join!(remove, async {
        for n in MESSAGES / 2..MESSAGES {
            teacher_socket.send(send_frame(group, &format!("m{n}"), &format!("message {n}"))).await;
        }
    });
    assert_eq!(status, StatusCode::OK);
    for _ in 0..MESSAGES {
        teacher_socket.expect("ack").await;
    }

    let mut received = Vec::new();
    let mut removed_at = None;
    while let Some(frame) = leaving_socket.next_frame_within(QUIET).await {
        match frame["type"].as_str() {
            Some("message") => {
                assert!(removed_at.is_none(), "a message after conversation_removed: {frame}");
                received.push(frame["message"]["id"].as_str().unwrap_or_default().parse::<Uuid>().unwrap());
            }
            Some("conversation_removed") => removed_at = Some(received.len()),
            _ => {}
        }
    }
    assert!(removed_at.is_some(), "the person removed was told");

    let changes: Vec<(String, Option<Uuid>)> = sqlx::query_as(
        "SELECT kind, message_id FROM conversation_changes
         WHERE conversation_id = $1 AND kind IN ('message', 'member_removed') ORDER BY id",
    )
    .bind(group)
    .fetch_all(&server.pool)
    .await
    .unwrap();
    let removal = changes.iter().position(|(kind, _)| kind == "member_removed").unwrap();
    let before: Vec<Uuid> = changes[..removal].iter().filter_map(|(_, id)| *id).collect();
    assert_eq!(before.len() + changes[removal + 1..].len(), MESSAGES);
    assert_eq!(received, before, "exactly the messages committed before the removal, in order");
}

//! The banned-words list: admins edit it, and sends and edits that contain a banned word (in any letter case,
//! with or without accents) are refused over REST and over the socket, never stored and never delivered.
#![expect(clippy::unwrap_used, reason = "a helper that cannot reach the database must fail the test at once")]

mod support;

use std::time::Duration;

use hallway_protocol::Role;
use hallway_test_support::ws::WsClient;
use hallway_test_support::{TestServer, error_code};
use reqwest::StatusCode;
use serde_json::json;
use support::{Person, direct, edit, id_of, person, send, sent};
use uuid::Uuid;

const QUIET: Duration = Duration::from_millis(400);

struct Chat {
    server: TestServer,
    admin: Person,
    teacher: Person,
    parent: Person,
    conversation: Uuid,
}

async fn chat_with_banned_words() -> Chat {
    let server = TestServer::start().await;
    let admin = person(&server, "alex", Role::Admin).await;
    let teacher = person(&server, "rivera", Role::Teacher).await;
    let parent = person(&server, "mei", Role::Parent).await;
    let conversation = direct(&server, &teacher, &parent).await;
    let words = json!({"words": ["badword", "  Go Away ", "BADWORD", ""]});
    let (status, saved) = server.put("/api/v1/admin/banned-words", admin.token(), &words).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(saved, json!({"words": ["badword", "Go Away"]}));
    Chat { server, admin, teacher, parent, conversation }
}

async fn stored_bodies(server: &TestServer, conversation: Uuid) -> Vec<String> {
    sqlx::query_scalar("SELECT body FROM messages WHERE conversation_id = $1 ORDER BY seq")
        .bind(conversation)
        .fetch_all(&server.pool)
        .await
        .unwrap()
}

#[actix_web::test]
async fn admins_edit_the_list_and_it_is_audited() {
    let chat = chat_with_banned_words().await;
    let (status, list) = chat.server.get("/api/v1/admin/banned-words", chat.admin.token()).await;
    assert_eq!((status, list), (StatusCode::OK, json!({"words": ["badword", "Go Away"]})));
    let (status, body) =
        chat.server.put("/api/v1/admin/banned-words", chat.admin.token(), &json!({"words": ["?!"]})).await;
    assert_eq!((status, error_code(&body)), (StatusCode::BAD_REQUEST, "invalid_input"));
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'settings.banned_words'")
        .fetch_one(&chat.server.pool)
        .await
        .unwrap();
    assert_eq!(count, 1);
    // An empty list bans nothing again.
    let (status, _) = chat.server.put("/api/v1/admin/banned-words", chat.admin.token(), &json!({"words": []})).await;
    assert_eq!(status, StatusCode::OK);
    sent(&chat.server, &chat.teacher, chat.conversation, "ok", "badword").await;
}

#[actix_web::test]
async fn banned_words_in_any_case_or_accent_are_refused_over_rest_and_nothing_is_stored_or_delivered() {
    let chat = chat_with_banned_words().await;
    let mut parent_socket = WsClient::connect(&chat.server, &chat.parent.token).await;
    for (i, body) in ["badword", "BADWORD", "What a Bädword!", "ｂａｄｗｏｒｄ", "just go... AWAY"].iter().enumerate()
    {
        let (status, answer) = send(&chat.server, &chat.teacher, chat.conversation, &format!("bad{i}"), body).await;
        assert_eq!((status, error_code(&answer)), (StatusCode::BAD_REQUEST, "banned_word"), "{body}");
        assert!(!answer.to_string().to_lowercase().contains("badword"), "the answer repeats the text: {answer}");
    }
    parent_socket.expect_none_of(&["message"], QUIET).await;
    assert!(stored_bodies(&chat.server, chat.conversation).await.is_empty());

    // A word that merely contains a banned one, or the words apart, pass.
    let fine = sent(&chat.server, &chat.teacher, chat.conversation, "fine", "badwords and go right away").await;
    assert_eq!(fine["seq"], 1);
    assert_eq!(parent_socket.expect("message").await["message"]["id"], fine["id"]);
    // The refused client_msg_id was never used: it works for a clean message.
    let later = sent(&chat.server, &chat.teacher, chat.conversation, "bad0", "all good").await;
    assert_eq!(later["seq"], 2);
}

#[actix_web::test]
async fn banned_words_are_refused_over_the_socket_with_an_error_frame() {
    let chat = chat_with_banned_words().await;
    let mut teacher_socket = WsClient::connect(&chat.server, &chat.teacher.token).await;
    let mut parent_socket = WsClient::connect(&chat.server, &chat.parent.token).await;
    let frame = json!({"type": "send", "conversation_id": chat.conversation, "client_msg_id": "w1", "body": "bÄdWoRd"});
    teacher_socket.send(frame).await;
    let error = teacher_socket.expect("error").await;
    assert_eq!((error["code"].as_str(), error["ref"].as_str()), (Some("banned_word"), Some("w1")));
    teacher_socket.expect_none_of(&["ack"], QUIET).await;
    parent_socket.expect_none_of(&["message"], QUIET).await;
    assert!(stored_bodies(&chat.server, chat.conversation).await.is_empty());

    let frame = json!({"type": "send", "conversation_id": chat.conversation, "client_msg_id": "w2", "body": "classic badwords"});
    teacher_socket.send(frame).await;
    assert_eq!(teacher_socket.expect("ack").await["message"]["seq"], 1);
    assert_eq!(parent_socket.expect("message").await["message"]["body"], "classic badwords");
}

#[actix_web::test]
async fn edits_with_banned_words_are_refused_both_ways_and_change_nothing() {
    let chat = chat_with_banned_words().await;
    let message = sent(&chat.server, &chat.teacher, chat.conversation, "m1", "Trip on Friday").await;
    let message_id = id_of(&message);
    let mut teacher_socket = WsClient::connect(&chat.server, &chat.teacher.token).await;
    let mut parent_socket = WsClient::connect(&chat.server, &chat.parent.token).await;

    let (status, body) = edit(&chat.server, &chat.teacher, &message_id, "Trip on BADWORD").await;
    assert_eq!((status, error_code(&body)), (StatusCode::BAD_REQUEST, "banned_word"));
    teacher_socket.send(json!({"type": "edit", "message_id": message_id, "body": "go away", "ref": "e1"})).await;
    let error = teacher_socket.expect("error").await;
    assert_eq!((error["code"].as_str(), error["ref"].as_str()), (Some("banned_word"), Some("e1")));
    parent_socket.expect_none_of(&["message_updated"], QUIET).await;
    assert_eq!(stored_bodies(&chat.server, chat.conversation).await, ["Trip on Friday"]);
    let edits: i64 =
        sqlx::query_scalar("SELECT count(*) FROM message_edits").fetch_one(&chat.server.pool).await.unwrap();
    assert_eq!(edits, 0);

    let (status, edited) = edit(&chat.server, &chat.teacher, &message_id, "Trip on Thursday, classic").await;
    assert_eq!((status, edited["body"].as_str()), (StatusCode::OK, Some("Trip on Thursday, classic")));
    assert_eq!(parent_socket.expect("message_updated").await["message"]["body"], "Trip on Thursday, classic");
}

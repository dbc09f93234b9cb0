//! Helpers shared by the message, reaction and search tests: people, conversations and the calls they make.
#![allow(dead_code, reason = "each test file uses a different part of these helpers")]
#![expect(clippy::unwrap_used, reason = "a helper that cannot reach the database must fail the test at once")]

pub mod load;
pub mod process;

use hallway_protocol::{ConversationKind, Role};
use hallway_test_support::TestServer;
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

/// A signed-in person.
pub struct Person {
    pub id: Uuid,
    pub token: String,
}

impl Person {
    pub fn token(&self) -> Option<&str> {
        Some(&self.token)
    }
}

/// Creates and signs in a user.
pub async fn person(server: &TestServer, username: &str, role: Role) -> Person {
    let (user, tokens) = server.signed_in(username, role).await;
    Person { id: user.id, token: tokens.access_token }
}

/// A group whose first person is its admin.
pub async fn group(server: &TestServer, people: &[&Person]) -> Uuid {
    let others: Vec<Uuid> = people[1..].iter().map(|p| p.id).collect();
    server.create_conversation(ConversationKind::Group, Some("Class 4B"), people[0].id, &others).await
}

/// A direct chat between two people.
pub async fn direct(server: &TestServer, a: &Person, b: &Person) -> Uuid {
    server.create_conversation(ConversationKind::Direct, None, a.id, &[b.id]).await
}

/// `POST /conversations/{id}/messages`.
pub async fn send(
    server: &TestServer,
    who: &Person,
    conversation: Uuid,
    client_msg_id: &str,
    body: &str,
) -> (StatusCode, Value) {
    let path = format!("/api/v1/conversations/{conversation}/messages");
    server.post(&path, who.token(), &json!({"client_msg_id": client_msg_id, "body": body, "attachment_ids": []})).await
}

/// Sends and expects 201; the new message.
pub async fn sent(server: &TestServer, who: &Person, conversation: Uuid, client_msg_id: &str, body: &str) -> Value {
    let (status, message) = send(server, who, conversation, client_msg_id, body).await;
    assert_eq!(status, StatusCode::CREATED, "{message}");
    message
}

/// `GET /conversations/{id}/messages?{query}`.
pub async fn history(server: &TestServer, who: &Person, conversation: Uuid, query: &str) -> (StatusCode, Value) {
    server.get(&format!("/api/v1/conversations/{conversation}/messages?{query}"), who.token()).await
}

/// The seqs of a page, in order.
pub fn seqs(page: &Value) -> Vec<i64> {
    page["messages"].as_array().map(|ms| ms.iter().filter_map(|m| m["seq"].as_i64()).collect()).unwrap_or_default()
}

/// The id of a wire message.
pub fn id_of(message: &Value) -> String {
    message["id"].as_str().unwrap_or_default().to_owned()
}

/// `POST /conversations/{id}/read`.
pub async fn read(server: &TestServer, who: &Person, conversation: Uuid, seq: i64) -> (StatusCode, Value) {
    server.post(&format!("/api/v1/conversations/{conversation}/read"), who.token(), &json!({"seq": seq})).await
}

/// `POST /messages/{id}/reactions`.
pub async fn react(server: &TestServer, who: &Person, message_id: &str, emoji: &str, on: bool) -> (StatusCode, Value) {
    server
        .post(&format!("/api/v1/messages/{message_id}/reactions"), who.token(), &json!({"emoji": emoji, "on": on}))
        .await
}

/// `DELETE /messages/{id}`.
pub async fn delete(server: &TestServer, who: &Person, message_id: &str) -> (StatusCode, Value) {
    server.delete(&format!("/api/v1/messages/{message_id}"), who.token()).await
}

/// `PATCH /messages/{id}`.
pub async fn edit(server: &TestServer, who: &Person, message_id: &str, body: &str) -> (StatusCode, Value) {
    server.patch(&format!("/api/v1/messages/{message_id}"), who.token(), &json!({"body": body})).await
}

/// The member's read marker, straight from the database.
pub async fn last_read_seq(server: &TestServer, conversation: Uuid, who: &Person) -> i64 {
    sqlx::query_scalar("SELECT last_read_seq FROM conversation_members WHERE conversation_id = $1 AND user_id = $2")
        .bind(conversation)
        .bind(who.id)
        .fetch_one(&server.pool)
        .await
        .unwrap()
}

/// The derived unread count (the store's own function, as the conversation list uses it).
pub async fn unread(server: &TestServer, conversation: Uuid, who: &Person) -> i64 {
    hallway_server::store::conversations::unread_count(&server.pool, conversation, who.id).await.unwrap()
}

/// Removes a member in SQL, as the membership endpoints of another issue will.
pub async fn remove_member(server: &TestServer, conversation: Uuid, who: &Person) {
    sqlx::query("DELETE FROM conversation_members WHERE conversation_id = $1 AND user_id = $2")
        .bind(conversation)
        .bind(who.id)
        .execute(&server.pool)
        .await
        .unwrap();
}

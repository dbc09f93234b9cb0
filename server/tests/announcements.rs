//! Contract 1.1 over real HTTP and WebSocket: announcements (only their admins post; members read, react and
//! acknowledge), urgent messages under the role rules and the school's setting, acknowledgements, receipts,
//! and v1 clients that know nothing of any of it.
#![expect(clippy::unwrap_used, reason = "helpers, like the tests, fail the test loudly on an unexpected answer")]

use std::time::Duration;

use hallway_protocol::Role;
use hallway_test_support::ws::WsClient;
use hallway_test_support::{TestServer, error_code};
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{Person, person};
use uuid::Uuid;

mod support;

async fn create(server: &TestServer, who: &Person, body: Value) -> (StatusCode, Value) {
    server.post("/api/v1/conversations", Some(&who.token), &body).await
}

/// Creates an announcement through the API, failing the test if that does not succeed.
async fn announcement(server: &TestServer, creator: &Person, members: &[&Person]) -> Uuid {
    let ids: Vec<Uuid> = members.iter().map(|p| p.id).collect();
    let body = json!({"kind": "announcement", "name": "Year 4 families", "member_ids": ids});
    let (status, body) = create(server, creator, body).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["id"].as_str().unwrap().parse().unwrap()
}

async fn send(server: &TestServer, who: &Person, conversation: Uuid, body: Value) -> (StatusCode, Value) {
    server.post(&format!("/api/v1/conversations/{conversation}/messages"), Some(&who.token), &body).await
}

/// Sends a message and returns it, failing the test unless it was created.
async fn sent(server: &TestServer, who: &Person, conversation: Uuid, body: Value) -> Value {
    let (status, message) = send(server, who, conversation, body).await;
    assert_eq!(status, StatusCode::CREATED, "{message}");
    message
}

fn text(body: &str) -> Value {
    json!({"client_msg_id": Uuid::now_v7().to_string(), "body": body})
}

fn urgent(body: &str) -> Value {
    json!({"client_msg_id": Uuid::now_v7().to_string(), "body": body, "urgent": true})
}

async fn acknowledge(server: &TestServer, who: &Person, message_id: &str) -> (StatusCode, Value) {
    server.post(&format!("/api/v1/messages/{message_id}/acknowledge"), Some(&who.token), &json!({})).await
}

async fn receipts(server: &TestServer, who: &Person, message_id: &str) -> (StatusCode, Value) {
    server.get(&format!("/api/v1/messages/{message_id}/receipts"), Some(&who.token)).await
}

#[actix_web::test]
async fn staff_create_announcements_and_families_may_not() {
    let server = TestServer::start().await;
    let admin = person(&server, "admin", Role::Admin).await;
    let teacher = person(&server, "teacher", Role::Teacher).await;
    let parent = person(&server, "parent", Role::Parent).await;
    let other_parent = person(&server, "parent2", Role::Parent).await;

    let body = json!({"kind": "announcement", "name": "Whole school", "member_ids": [teacher.id, parent.id]});
    let (status, conversation) = create(&server, &admin, body).await;
    assert_eq!(status, StatusCode::CREATED, "{conversation}");
    assert_eq!(conversation["kind"], "announcement");
    assert_eq!(conversation["name"], "Whole school");
    assert_eq!(conversation["admin_ids"], json!([admin.id]));
    assert_eq!(conversation["members"].as_array().unwrap().len(), 3);

    let body = json!({"kind": "announcement", "name": "Class 4B", "member_ids": [parent.id]});
    assert_eq!(create(&server, &teacher, body).await.0, StatusCode::CREATED);

    let body = json!({"kind": "announcement", "name": "Parents' news", "member_ids": [other_parent.id]});
    let (status, refused) = create(&server, &parent, body).await;
    assert_eq!((status, error_code(&refused)), (StatusCode::FORBIDDEN, "policy_forbids"), "{refused}");

    let (status, refused) = create(&server, &admin, json!({"kind": "announcement", "member_ids": [parent.id]})).await;
    assert_eq!((status, error_code(&refused)), (StatusCode::BAD_REQUEST, "invalid_input"), "{refused}");

    // Those who see an announcement list it with its kind.
    let (_, list) = server.get("/api/v1/conversations", Some(&parent.token)).await;
    let kinds: Vec<&str> =
        list["conversations"].as_array().unwrap().iter().map(|c| c["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["announcement", "announcement"]);
}

#[actix_web::test]
async fn only_the_announcements_admins_post_while_members_read_and_react() {
    let server = TestServer::start().await;
    let admin = person(&server, "admin", Role::Admin).await;
    let parent = person(&server, "parent", Role::Parent).await;
    let teacher = person(&server, "teacher", Role::Teacher).await;
    let id = announcement(&server, &admin, &[&parent, &teacher]).await;

    // A member's send is refused over REST...
    let (status, refused) = send(&server, &parent, id, text("Can I reply here?")).await;
    assert_eq!((status, error_code(&refused)), (StatusCode::FORBIDDEN, "forbidden"), "{refused}");
    let (status, refused) = send(&server, &teacher, id, text("Me neither?")).await;
    assert_eq!((status, error_code(&refused)), (StatusCode::FORBIDDEN, "forbidden"), "{refused}");

    // ...and over the socket, where the refusal names the frame.
    let mut parent_socket = WsClient::connect(&server, &parent.token).await;
    parent_socket.send(json!({"type": "send", "client_msg_id": "p-1", "conversation_id": id, "body": "Hello?"})).await;
    let error = parent_socket.expect("error").await;
    assert_eq!((error["code"].as_str(), error["ref"].as_str()), (Some("forbidden"), Some("p-1")), "{error}");

    // The admin posts; members receive it, react and read.
    let message = sent(&server, &admin, id, text("School closes at noon on Friday.")).await;
    assert_eq!(message["seq"], 1);
    assert_eq!(message["urgent"], false);
    let delivered = parent_socket.expect("message").await;
    assert_eq!(delivered["message"]["id"], message["id"]);

    let message_id = message["id"].as_str().unwrap();
    let (status, reacted) = server
        .post(&format!("/api/v1/messages/{message_id}/reactions"), Some(&parent.token), &json!({"emoji": "👍"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{reacted}");
    assert_eq!(reacted["reactions"][0]["user_ids"], json!([parent.id]));
    let (status, _) =
        server.post(&format!("/api/v1/conversations/{id}/read"), Some(&parent.token), &json!({"seq": 1})).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, page) = server.get(&format!("/api/v1/conversations/{id}/messages"), Some(&parent.token)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["messages"].as_array().unwrap().len(), 1, "the refused sends left nothing behind: {page}");
}

#[actix_web::test]
async fn urgent_messages_follow_the_role_rules_and_the_schools_setting() {
    let server = TestServer::start().await;
    let admin = person(&server, "admin", Role::Admin).await;
    let teacher = person(&server, "teacher", Role::Teacher).await;
    let parent = person(&server, "parent", Role::Parent).await;
    let body = json!({"kind": "group", "name": "Class 4B", "member_ids": [teacher.id, parent.id]});
    let (_, group) = create(&server, &admin, body).await;
    let id: Uuid = group["id"].as_str().unwrap().parse().unwrap();

    let message = sent(&server, &admin, id, urgent("Snow day: the school is closed.")).await;
    assert_eq!(message["urgent"], true);

    let (status, refused) = send(&server, &parent, id, urgent("Urgent from me")).await;
    assert_eq!((status, error_code(&refused)), (StatusCode::FORBIDDEN, "policy_forbids"), "{refused}");
    let mut parent_socket = WsClient::connect(&server, &parent.token).await;
    parent_socket
        .send(json!({"type": "send", "client_msg_id": "u-1", "conversation_id": id, "body": "Now!", "urgent": true}))
        .await;
    let error = parent_socket.expect("error").await;
    assert_eq!(error["code"], "policy_forbids", "{error}");

    // Teachers may not until the school allows it.
    let (status, setting) = server.get("/api/v1/admin/settings/urgent-messages", Some(&admin.token)).await;
    assert_eq!((status, &setting), (StatusCode::OK, &json!({"teachers_allowed": false})));
    let (status, refused) = send(&server, &teacher, id, urgent("Trip cancelled")).await;
    assert_eq!((status, error_code(&refused)), (StatusCode::FORBIDDEN, "policy_forbids"), "{refused}");
    let (status, _) = server
        .put("/api/v1/admin/settings/urgent-messages", Some(&teacher.token), &json!({"teachers_allowed": true}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "only school admins change the setting");
    let (status, saved) = server
        .put("/api/v1/admin/settings/urgent-messages", Some(&admin.token), &json!({"teachers_allowed": true}))
        .await;
    assert_eq!((status, saved), (StatusCode::OK, json!({"teachers_allowed": true})));
    let message = sent(&server, &teacher, id, urgent("Trip cancelled")).await;
    assert_eq!(message["urgent"], true);

    // The flag is stored: history and the live frame carry it.
    let live = parent_socket.expect("message").await;
    assert_eq!(
        (live["message"]["id"].clone(), live["message"]["urgent"].clone()),
        (message["id"].clone(), json!(true))
    );
    let (_, page) = server.get(&format!("/api/v1/conversations/{id}/messages"), Some(&parent.token)).await;
    let flags: Vec<bool> =
        page["messages"].as_array().unwrap().iter().map(|m| m["urgent"].as_bool().unwrap()).collect();
    assert_eq!(flags, [true, true]);
}

#[actix_web::test]
async fn members_acknowledge_once_and_the_sender_and_admins_hear_of_it() {
    let server = TestServer::start().await;
    let admin = person(&server, "admin", Role::Admin).await;
    let teacher = person(&server, "teacher", Role::Teacher).await;
    let parent = person(&server, "parent", Role::Parent).await;
    let other_parent = person(&server, "parent2", Role::Parent).await;
    let outsider = person(&server, "outsider", Role::Parent).await;
    let id = announcement(&server, &admin, &[&teacher, &parent, &other_parent]).await;
    // The teacher is an admin of the announcement too: they hear of acknowledgements.
    let (status, _) = server
        .post(&format!("/api/v1/conversations/{id}/admins"), Some(&admin.token), &json!({"user_id": teacher.id}))
        .await;
    assert_eq!(status, StatusCode::OK);

    let mut admin_socket = WsClient::connect(&server, &admin.token).await;
    let mut teacher_socket = WsClient::connect(&server, &teacher.token).await;
    let mut other_parent_socket = WsClient::connect(&server, &other_parent.token).await;
    let message = sent(&server, &admin, id, urgent("Lockdown drill at 10:00. Please acknowledge.")).await;
    let message_id = message["id"].as_str().unwrap();

    let (status, body) = acknowledge(&server, &parent, message_id).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let expected =
        json!({"type": "acknowledged", "conversation_id": id, "message_id": message_id, "user_id": parent.id});
    assert_eq!(admin_socket.expect("acknowledged").await, expected);
    assert_eq!(teacher_socket.expect("acknowledged").await, expected);

    // Again: still 204, and nobody hears of it twice.
    assert_eq!(acknowledge(&server, &parent, message_id).await.0, StatusCode::NO_CONTENT);
    admin_socket.expect_none_of(&["acknowledged"], Duration::from_millis(500)).await;
    // Other members are not told who acknowledged.
    other_parent_socket.expect_none_of(&["acknowledged"], Duration::from_millis(200)).await;

    let (status, refused) = acknowledge(&server, &outsider, message_id).await;
    assert_eq!((status, error_code(&refused)), (StatusCode::NOT_FOUND, "not_found"), "{refused}");
    let (status, refused) = acknowledge(&server, &parent, &Uuid::now_v7().to_string()).await;
    assert_eq!((status, error_code(&refused)), (StatusCode::NOT_FOUND, "not_found"), "{refused}");
}

#[actix_web::test]
async fn receipts_count_deliveries_reads_and_acknowledgements_for_the_sender_and_admins_only() {
    let server = TestServer::start().await;
    let admin = person(&server, "admin", Role::Admin).await;
    let connected = person(&server, "connected", Role::Parent).await;
    let reader = person(&server, "reader", Role::Parent).await;
    let fetcher = person(&server, "fetcher", Role::Parent).await;
    let away = person(&server, "away", Role::Parent).await;
    let outsider = person(&server, "outsider", Role::Teacher).await;
    let id = announcement(&server, &admin, &[&connected, &reader, &fetcher, &away]).await;

    let mut socket = WsClient::connect(&server, &connected.token).await;
    let message = sent(&server, &admin, id, urgent("Parents' evening moved to Thursday.")).await;
    let message_id = message["id"].as_str().unwrap();
    socket.expect("message").await;

    // The reader reads it without fetching; the fetcher fetches it and acknowledges it without reading.
    let (status, _) =
        server.post(&format!("/api/v1/conversations/{id}/read"), Some(&reader.token), &json!({"seq": 1})).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = server.get(&format!("/api/v1/conversations/{id}/messages"), Some(&fetcher.token)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(acknowledge(&server, &fetcher, message_id).await.0, StatusCode::NO_CONTENT);

    // Deliveries are written in the background: wait for them.
    let mut answer = Value::Null;
    for _ in 0..100 {
        let (status, body) = receipts(&server, &admin, message_id).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        answer = body;
        if answer["delivered"] == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut not_read = vec![connected.id, fetcher.id, away.id];
    not_read.sort();
    assert_eq!(
        answer,
        json!({"total": 4, "delivered": 3, "read": 1, "acknowledged": 1, "not_read_user_ids": not_read}),
        "connected: delivered by its socket; reader: read; fetcher: fetched and acknowledged; away: nothing"
    );

    // A member who is neither the sender nor an admin, and an outsider, cannot tell the message exists.
    for who in [&reader, &outsider] {
        let (status, refused) = receipts(&server, who, message_id).await;
        assert_eq!((status, error_code(&refused)), (StatusCode::NOT_FOUND, "not_found"), "{refused}");
    }
}

#[actix_web::test]
async fn a_v1_client_that_never_says_urgent_still_sends_and_receives() {
    let server = TestServer::start().await;
    let teacher = person(&server, "teacher", Role::Teacher).await;
    let parent = person(&server, "parent", Role::Parent).await;
    let (_, chat) = create(&server, &teacher, json!({"kind": "direct", "member_ids": [parent.id]})).await;
    let id: Uuid = chat["id"].as_str().unwrap().parse().unwrap();

    // The exact v1 body, and the exact v1 frame.
    let v1 = json!({"client_msg_id": "v1-rest", "body": "Hello from an old app", "attachment_ids": []});
    let message = sent(&server, &parent, id, v1).await;
    assert_eq!(message["urgent"], false);
    let mut socket = WsClient::connect(&server, &parent.token).await;
    socket
        .send(json!({"type": "send", "client_msg_id": "v1-ws", "conversation_id": id, "body": "And over the socket",
                     "attachment_ids": []}))
        .await;
    let ack = socket.expect("ack").await;
    assert_eq!((ack["message"]["seq"].clone(), ack["message"]["urgent"].clone()), (json!(2), json!(false)));
    let (status, page) = server.get(&format!("/api/v1/conversations/{id}/messages"), Some(&teacher.token)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["messages"].as_array().unwrap().len(), 2);
}

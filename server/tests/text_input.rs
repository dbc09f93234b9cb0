//! The text-input rule: a NUL or another C0 control character (tab, line feed and carriage return excepted) in
//! any text a client sends is refused with 400 `invalid_input` naming the field, never a 500 from PostgreSQL,
//! whether it comes in a JSON body, a query parameter, a roster file or a WebSocket frame.

mod support;

use std::time::Duration;

use hallway_protocol::Role;
use hallway_test_support::ws::WsClient;
use hallway_test_support::{PASSWORD, TestServer, error_code};
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{group, person, send, sent};

/// Asserts a 400 `invalid_input` whose message starts with `field: `.
fn assert_refused(status: StatusCode, response: &Value, field: &str) {
    assert_eq!(status, StatusCode::BAD_REQUEST, "{response}");
    assert_eq!(error_code(response), "invalid_input", "{response}");
    let message = response["error"]["message"].as_str().unwrap_or_default();
    assert!(message.starts_with(&format!("{field}: control character U+")), "{message} should name {field}");
}

#[actix_web::test]
async fn a_message_body_with_nul_is_invalid_input_naming_body() {
    let server = TestServer::start().await;
    let (teacher, parent) =
        (person(&server, "rivera", Role::Teacher).await, person(&server, "mei", Role::Parent).await);
    let chat = group(&server, &[&teacher, &parent]).await;
    let (status, response) = send(&server, &teacher, chat, "c1", "a\u{0}b").await;
    assert_refused(status, &response, "body");
    let (status, response) = send(&server, &teacher, chat, "c2", "escape \u{1b}[31m red").await;
    assert_refused(status, &response, "body");
    let (status, response) = send(&server, &teacher, chat, "c\u{0}3", "fine").await;
    assert_refused(status, &response, "client_msg_id");
}

#[actix_web::test]
async fn tab_newlines_and_crlf_are_kept_exactly_as_sent() {
    let server = TestServer::start().await;
    let (teacher, parent) =
        (person(&server, "rivera", Role::Teacher).await, person(&server, "mei", Role::Parent).await);
    let chat = group(&server, &[&teacher, &parent]).await;
    let body = "Dear parents,\r\n\tthe trip is on Friday.\nBring lunch.";
    let message = sent(&server, &teacher, chat, "c1", body).await;
    assert_eq!(message["body"], body);
}

#[actix_web::test]
async fn a_sign_in_name_or_password_with_nul_is_invalid_input() {
    let server = TestServer::start().await;
    server.create_user("mei", Role::Parent).await;
    let (status, response) =
        server.post("/api/v1/auth/login", None, &json!({"login": "m\u{0}ei", "password": PASSWORD})).await;
    assert_refused(status, &response, "login");
    let (status, response) =
        server.post("/api/v1/auth/login", None, &json!({"login": "mei", "password": "\u{0}"})).await;
    assert_refused(status, &response, "password");
    let (status, response) =
        server.post("/api/v1/auth/activate", None, &json!({"code": "\u{0}", "password": "x"})).await;
    assert_refused(status, &response, "code");
}

#[actix_web::test]
async fn a_nul_in_a_database_bound_query_parameter_is_400_not_500() {
    let server = TestServer::start().await;
    let teacher = person(&server, "rivera", Role::Teacher).await;
    let admin = person(&server, "boss", Role::Admin).await;
    for path in ["/api/v1/users?q=%00", "/api/v1/users?q=a%00b&limit=5", "/api/v1/search?q=trip%00"] {
        let (status, response) = server.get(path, teacher.token()).await;
        assert_refused(status, &response, "q");
    }
    for path in ["/api/v1/admin/users?q=%00", "/api/v1/admin/audit?action=%01"] {
        let (status, response) = server.get(path, admin.token()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {response}");
        assert_eq!(error_code(&response), "invalid_input", "{path}");
    }
    // A parameter's name is checked too.
    let (status, response) = server.get("/api/v1/users?a%00=1", teacher.token()).await;
    assert_refused(status, &response, "query parameter");
    // The rule refuses only what it must: an ordinary search still answers.
    let (status, _) = server.get("/api/v1/users?q=mei%09", teacher.token()).await;
    assert_eq!(status, StatusCode::OK);
}

#[actix_web::test]
async fn banned_words_with_nul_are_invalid_input_naming_the_entry() {
    let server = TestServer::start().await;
    let admin = person(&server, "boss", Role::Admin).await;
    let (status, response) =
        server.put("/api/v1/admin/banned-words", admin.token(), &json!({"words": ["fine", "ba\u{0}d"]})).await;
    assert_refused(status, &response, "words[1]");
}

#[actix_web::test]
async fn names_notes_and_edits_with_control_characters_are_refused() {
    let server = TestServer::start().await;
    let admin = person(&server, "boss", Role::Admin).await;
    let (teacher, parent) =
        (person(&server, "rivera", Role::Teacher).await, person(&server, "mei", Role::Parent).await);
    let chat = group(&server, &[&teacher, &parent]).await;
    let message = sent(&server, &teacher, chat, "c1", "hello").await;
    let message_id = message["id"].as_str().unwrap_or_default().to_owned();
    let (group_path, message_path) =
        (format!("/api/v1/conversations/{chat}"), format!("/api/v1/messages/{message_id}"));
    let (report_path, user_path) = (format!("{message_path}/report"), format!("/api/v1/admin/users/{}", parent.id));
    let cases: Vec<(&str, &str, Option<&str>, Value, &str)> = vec![
        ("patch", &group_path, teacher.token(), json!({"name": "4B\u{0}"}), "name"),
        (
            "post",
            "/api/v1/conversations",
            teacher.token(),
            json!({"kind": "group", "name": "x\u{7f}", "member_ids": []}),
            "name",
        ),
        ("patch", &message_path, teacher.token(), json!({"body": "edit\u{0}"}), "body"),
        ("post", &report_path, parent.token(), json!({"reason": "other", "note": "see \u{0}"}), "note"),
        (
            "post",
            "/api/v1/admin/users",
            admin.token(),
            json!({"username": "ana", "display_name": "Ana\u{8}", "role": "parent"}),
            "display_name",
        ),
        ("patch", &user_path, admin.token(), json!({"display_name": "\u{0}"}), "display_name"),
    ];
    for (method, path, token, body, field) in cases {
        let (status, response) = match method {
            "patch" => server.patch(path, token, &body).await,
            _ => server.post(path, token, &body).await,
        };
        assert_refused(status, &response, field);
    }
}

#[actix_web::test]
async fn a_roster_cell_with_nul_is_a_problem_of_its_line_and_column() {
    let server = TestServer::start().await;
    let admin = person(&server, "boss", Role::Admin).await;
    let csv = "role,username,display_name,email,children\nparent,ana,Ana,,li\u{0}ly\nstudent,lily,Lily,,\n";
    let request = server
        .client
        .post(server.url("/api/v1/admin/import?dry_run=true"))
        .header("content-type", "text/csv")
        .body(csv.to_owned());
    let (status, report) = server.send(request, admin.token()).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["valid"], false);
    assert_eq!(report["problems"][0]["line"], 2);
    assert_eq!(report["problems"][0]["field"], "children");
}

#[actix_web::test]
async fn a_socket_send_with_nul_gets_an_invalid_input_error_frame_and_the_socket_stays_open() {
    let server = TestServer::start().await;
    let (teacher, parent) =
        (person(&server, "rivera", Role::Teacher).await, person(&server, "mei", Role::Parent).await);
    let chat = group(&server, &[&teacher, &parent]).await;
    let mut socket = WsClient::connect(&server, &teacher.token).await;
    socket
        .send(json!({"type": "send", "client_msg_id": "c1", "conversation_id": chat, "body": "a\u{0}b", "ref": "r1"}))
        .await;
    let error = socket.expect("error").await;
    assert_eq!(error["code"], "invalid_input");
    assert_eq!(error["ref"], "r1");
    assert!(error["message"].as_str().unwrap_or_default().starts_with("body: control character U+0000"), "{error}");
    socket.send(json!({"type": "react", "message_id": chat, "emoji": "\u{0}", "on": true})).await;
    assert_eq!(socket.expect("error").await["code"], "invalid_input");
    socket.send(json!({"type": "ping"})).await;
    socket.expect("pong").await;
    socket.send(json!({"type": "send", "client_msg_id": "c2", "conversation_id": chat, "body": "ok\r\n"})).await;
    assert_eq!(socket.expect("ack").await["message"]["body"], "ok\r\n");
    socket.expect_none_of(&["error"], Duration::from_millis(200)).await;
}

#[actix_web::test]
async fn a_body_of_only_zero_width_characters_is_body_empty_when_sent_or_edited() {
    let server = TestServer::start().await;
    let (teacher, parent) =
        (person(&server, "rivera", Role::Teacher).await, person(&server, "mei", Role::Parent).await);
    let chat = group(&server, &[&teacher, &parent]).await;
    for (i, blank) in ["\u{200b}", "\u{200b}\u{200c}\u{200d}", " \u{2060}\n", "\u{feff}"].into_iter().enumerate() {
        let (status, response) = send(&server, &teacher, chat, &format!("c{i}"), blank).await;
        assert_eq!((status, error_code(&response)), (StatusCode::BAD_REQUEST, "body_empty"), "{blank:?}");
    }
    let message = sent(&server, &teacher, chat, "ok", "a\u{200b}b").await;
    assert_eq!(message["body"], "a\u{200b}b");
    let path = format!("/api/v1/messages/{}", message["id"].as_str().unwrap_or_default());
    let (status, response) = server.patch(&path, teacher.token(), &json!({"body": "\u{200b}\u{200d}"})).await;
    assert_eq!((status, error_code(&response)), (StatusCode::BAD_REQUEST, "body_empty"));
}

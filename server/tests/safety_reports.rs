//! Reports, the admins' queue and its resolutions, moderation deletes, and who may reach the admin safety
//! endpoints at all: over real HTTP and WebSocket.
#![expect(clippy::unwrap_used, reason = "a helper that cannot reach the database must fail the test at once")]

mod support;

use std::time::Duration;

use hallway_protocol::Role;
use hallway_test_support::ws::WsClient;
use hallway_test_support::{TestServer, error_code};
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{Person, group, id_of, person, sent};
use uuid::Uuid;

const QUIET: Duration = Duration::from_millis(400);

/// A class group (a teacher and two parents) with twelve messages, and the school admin.
struct Class {
    server: TestServer,
    admin: Person,
    teacher: Person,
    mei: Person,
    ravi: Person,
    conversation: Uuid,
    /// The messages, by seq - 1.
    messages: Vec<Value>,
}

async fn class() -> Class {
    let server = TestServer::start().await;
    let admin = person(&server, "alex", Role::Admin).await;
    let teacher = person(&server, "rivera", Role::Teacher).await;
    let mei = person(&server, "mei", Role::Parent).await;
    let ravi = person(&server, "ravi", Role::Parent).await;
    let conversation = group(&server, &[&teacher, &mei, &ravi]).await;
    let mut messages = Vec::new();
    for i in 1..=12 {
        let who = if i == 7 { &ravi } else { &teacher };
        messages.push(sent(&server, who, conversation, &format!("m{i}"), &format!("message {i}")).await);
    }
    Class { server, admin, teacher, mei, ravi, conversation, messages }
}

async fn report(server: &TestServer, who: &Person, message: &Value, body: Value) -> (StatusCode, Value) {
    server.post(&format!("/api/v1/messages/{}/report", id_of(message)), who.token(), &body).await
}

async fn queue(server: &TestServer, admin: &Person, status: &str) -> Vec<Value> {
    let (status_code, body) = server.get(&format!("/api/v1/admin/reports?status={status}"), admin.token()).await;
    assert_eq!(status_code, StatusCode::OK, "{body}");
    body["reports"].as_array().cloned().unwrap_or_default()
}

async fn resolve(server: &TestServer, admin: &Person, report_id: &str, action: &str) -> (StatusCode, Value) {
    let path = format!("/api/v1/admin/reports/{report_id}/resolve");
    server.post(&path, admin.token(), &json!({"action": action, "note": "looked at it"})).await
}

async fn audit_count(server: &TestServer, action: &str, target: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = $1 AND target = $2")
        .bind(action)
        .bind(target)
        .fetch_one(&server.pool)
        .await
        .unwrap()
}

fn seqs(messages: &Value) -> Vec<i64> {
    messages.as_array().map(|ms| ms.iter().filter_map(|m| m["seq"].as_i64()).collect()).unwrap_or_default()
}

#[actix_web::test]
async fn non_admins_get_403_from_every_admin_safety_endpoint() {
    let class = class().await;
    let (server, id) = (&class.server, class.conversation);
    let message = id_of(&class.messages[0]);
    let report_id = Uuid::now_v7();
    let gets = [
        "/api/v1/admin/reports".to_owned(),
        "/api/v1/admin/safeguarding/conversations".to_owned(),
        format!("/api/v1/admin/safeguarding/conversations/{id}/messages"),
        format!("/api/v1/admin/conversations/{id}/export?format=html"),
        "/api/v1/admin/settings/safeguarding".to_owned(),
        "/api/v1/admin/settings/retention".to_owned(),
        "/api/v1/admin/banned-words".to_owned(),
    ];
    for caller in [&class.teacher, &class.mei] {
        for path in &gets {
            let (status, body) = server.get(path, caller.token()).await;
            assert_eq!((status, error_code(&body)), (StatusCode::FORBIDDEN, "forbidden"), "{path}");
        }
        let puts = [
            ("/api/v1/admin/banned-words", json!({"words": []})),
            ("/api/v1/admin/settings/safeguarding", json!({"enabled": false})),
            ("/api/v1/admin/settings/retention", json!({"retention_days": 1})),
        ];
        for (path, body) in puts {
            let (status, body) = server.put(path, caller.token(), &body).await;
            assert_eq!((status, error_code(&body)), (StatusCode::FORBIDDEN, "forbidden"), "{path}");
        }
        let (status, _) = server.delete(&format!("/api/v1/admin/messages/{message}"), caller.token()).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _) = resolve(server, caller, &report_id.to_string(), "dismiss").await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
    let (status, body) = server.get("/api/v1/admin/reports", None).await;
    assert_eq!((status, error_code(&body)), (StatusCode::UNAUTHORIZED, "unauthenticated"));
    // Nothing was changed by any of it.
    let (_, page) = support::history(server, &class.teacher, id, "").await;
    assert!(page["messages"].as_array().unwrap().iter().all(|m| m["deleted"] == false));
}

#[actix_web::test]
async fn a_report_reaches_the_queue_with_five_messages_of_context_on_each_side() {
    let class = class().await;
    let server = &class.server;
    let reported = &class.messages[6];
    let body = json!({"reason": "bullying", "note": "  not kind  "});
    let (status, first) = report(server, &class.mei, reported, body.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_eq!(first["status"], "open");
    // The same person again: the first report, 200, whatever the repeat says.
    let (status, again) = report(server, &class.mei, reported, json!({"reason": "spam"})).await;
    assert_eq!((status, &again["id"], &again["reason"]), (StatusCode::OK, &first["id"], &json!("bullying")));
    // Outsiders cannot report (the message does not exist for them); reasons come from the list.
    let outsider = person(server, "stranger", Role::Parent).await;
    let (status, body) = report(server, &outsider, reported, json!({"reason": "spam"})).await;
    assert_eq!((status, error_code(&body)), (StatusCode::NOT_FOUND, "not_found"));
    let (status, body) = report(server, &class.mei, reported, json!({"reason": "rude"})).await;
    assert_eq!((status, error_code(&body)), (StatusCode::BAD_REQUEST, "invalid_input"));
    let long = json!({"reason": "other", "note": "x".repeat(1001)});
    let (status, body) = report(server, &class.teacher, reported, long).await;
    assert_eq!((status, error_code(&body)), (StatusCode::BAD_REQUEST, "invalid_input"));

    let reports = queue(server, &class.admin, "open").await;
    assert_eq!(reports.len(), 1);
    let entry = &reports[0];
    assert_eq!(entry["id"], first["id"]);
    assert_eq!((entry["reason"].as_str(), entry["note"].as_str()), (Some("bullying"), Some("not kind")));
    assert_eq!(entry["reported_body"], "message 7");
    assert_eq!(entry["message"]["id"], reported["id"]);
    assert_eq!(entry["sender"]["id"], class.ravi.id.to_string());
    assert_eq!(entry["reporter"]["id"], class.mei.id.to_string());
    assert_eq!(seqs(&entry["context_before"]), vec![2, 3, 4, 5, 6]);
    assert_eq!(seqs(&entry["context_after"]), vec![8, 9, 10, 11, 12]);
    assert_eq!(entry["context_before"][4]["body"], "message 6");
    assert!(entry["people"].as_array().unwrap().iter().any(|p| p["id"] == class.teacher.id.to_string()));
    assert!(entry["action"].is_null());
    assert_eq!(audit_count(server, "report.list", "reports").await, 1);

    let (status, mine) = server.get("/api/v1/reports/mine", class.mei.token()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(mine["reports"][0]["status"], "open");
    assert!(queue(server, &class.admin, "handled").await.is_empty());
}

#[actix_web::test]
async fn dismissing_changes_nothing_and_the_reporter_sees_handled_but_not_how() {
    let class = class().await;
    let server = &class.server;
    let reported = &class.messages[6];
    let (_, created) = report(server, &class.mei, reported, json!({"reason": "spam"})).await;
    let report_id = created["id"].as_str().unwrap().to_owned();
    let mut reporter_socket = WsClient::connect(server, &class.mei.token).await;
    let mut sender_socket = WsClient::connect(server, &class.ravi.token).await;

    let (status, handled) = resolve(server, &class.admin, &report_id, "dismiss").await;
    assert_eq!(status, StatusCode::OK, "{handled}");
    assert_eq!((handled["status"].as_str(), handled["action"].as_str()), (Some("handled"), Some("dismiss")));
    let frame = reporter_socket.expect("report_updated").await;
    assert_eq!(frame, json!({"type": "report_updated", "report_id": report_id, "status": "handled"}));
    sender_socket.expect_none_of(&["message_deleted", "report_updated"], QUIET).await;

    let (_, page) = support::history(server, &class.teacher, class.conversation, "").await;
    assert_eq!(page["messages"][6]["body"], "message 7");
    assert_eq!(server.get("/api/v1/me", class.ravi.token()).await.0, StatusCode::OK);
    let (_, mine) = server.get("/api/v1/reports/mine", class.mei.token()).await;
    assert_eq!(mine["reports"][0]["status"], "handled");
    assert!(mine["reports"][0].get("action").is_none(), "{mine}");
    // Handled once is handled.
    let (status, body) = resolve(server, &class.admin, &report_id, "delete_message").await;
    assert_eq!((status, error_code(&body)), (StatusCode::CONFLICT, "conflict"));
    assert_eq!(audit_count(server, "report.resolve", &format!("report:{report_id}")).await, 1);
}

#[actix_web::test]
async fn deleting_through_a_report_removes_the_message_for_every_member_and_settles_its_reports() {
    let class = class().await;
    let server = &class.server;
    let reported = &class.messages[6];
    let (_, by_mei) = report(server, &class.mei, reported, json!({"reason": "inappropriate"})).await;
    let (_, by_teacher) = report(server, &class.teacher, reported, json!({"reason": "other"})).await;
    let mut sockets = Vec::new();
    for who in [&class.teacher, &class.mei, &class.ravi] {
        sockets.push(WsClient::connect(server, &who.token).await);
    }
    let report_id = by_mei["id"].as_str().unwrap();
    let (status, handled) = resolve(server, &class.admin, report_id, "delete_message").await;
    assert_eq!(status, StatusCode::OK, "{handled}");
    assert_eq!(handled["message"]["deleted"], true);
    // Moderators still see what was reported.
    assert_eq!(handled["reported_body"], "message 7");
    let expected =
        json!({"type": "message_deleted", "conversation_id": class.conversation, "message_id": reported["id"]});
    for socket in &mut sockets {
        assert_eq!(socket.expect("message_deleted").await, expected);
    }
    let (_, page) = support::history(server, &class.mei, class.conversation, "").await;
    assert_eq!(
        (page["messages"][6]["deleted"].as_bool(), page["messages"][6]["body"].as_str()),
        (Some(true), Some(""))
    );
    // The teacher's report of the same message is settled too.
    let (_, mine) = server.get("/api/v1/reports/mine", class.teacher.token()).await;
    assert_eq!(
        (mine["reports"][0]["id"].as_str(), mine["reports"][0]["status"].as_str()),
        (by_teacher["id"].as_str(), Some("handled"))
    );
    assert!(queue(server, &class.admin, "open").await.is_empty());
    assert_eq!(queue(server, &class.admin, "all").await.len(), 2);
    let target = format!("message:{}", id_of(reported));
    assert_eq!(audit_count(server, "message.moderator_delete", &target).await, 1);
    assert_eq!(audit_count(server, "report.resolve", &format!("report:{report_id}")).await, 1);
}

#[actix_web::test]
async fn deactivating_through_a_report_closes_the_senders_socket_and_ends_their_tokens() {
    let class = class().await;
    let server = &class.server;
    let (_, created) = report(server, &class.mei, &class.messages[6], json!({"reason": "safety_concern"})).await;
    let mut sender_socket = WsClient::connect(server, &class.ravi.token).await;
    let (status, handled) = resolve(server, &class.admin, created["id"].as_str().unwrap(), "deactivate_sender").await;
    assert_eq!(status, StatusCode::OK, "{handled}");
    assert_eq!(handled["action"], "deactivate_sender");
    sender_socket.until_closed(Duration::from_secs(10)).await;
    let (status, body) = server.get("/api/v1/me", class.ravi.token()).await;
    assert_eq!((status, error_code(&body)), (StatusCode::FORBIDDEN, "account_deactivated"));
    // The message itself stays.
    let (_, page) = support::history(server, &class.mei, class.conversation, "").await;
    assert_eq!(page["messages"][6]["body"], "message 7");
    assert_eq!(audit_count(server, "user.deactivate", &format!("user:{}", class.ravi.id)).await, 1);
}

#[actix_web::test]
async fn a_moderation_delete_reaches_every_member_and_is_audited() {
    let class = class().await;
    let server = &class.server;
    let mut teacher_socket = WsClient::connect(server, &class.teacher.token).await;
    let mut mei_socket = WsClient::connect(server, &class.mei.token).await;
    let message_id = id_of(&class.messages[0]);
    let path = format!("/api/v1/admin/messages/{message_id}");
    let (status, deleted) = server.delete(&path, class.admin.token()).await;
    assert_eq!((status, deleted["deleted"].as_bool()), (StatusCode::OK, Some(true)), "{deleted}");
    for socket in [&mut teacher_socket, &mut mei_socket] {
        assert_eq!(socket.expect("message_deleted").await["message_id"], message_id);
    }
    // Again: the same answer, no second frame.
    assert_eq!(server.delete(&path, class.admin.token()).await.0, StatusCode::OK);
    mei_socket.expect_none_of(&["message_deleted"], QUIET).await;
    assert_eq!(audit_count(server, "message.moderator_delete", &format!("message:{message_id}")).await, 2);
    let (status, _) = server.delete(&format!("/api/v1/admin/messages/{}", Uuid::now_v7()), class.admin.token()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

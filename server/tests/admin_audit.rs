//! The audit log's filters and paging, usage statistics, and the messaging policy table, over real HTTP.
#![expect(clippy::unwrap_used, reason = "helpers of a test fail the test loudly when setup breaks")]

use hallway_protocol::validate::{ClientMsgId, MessageBody};
use hallway_protocol::{ConversationKind, Role};
use hallway_server::store::{self, audit::AuditEntry, messages::NewMessage};
use hallway_test_support::{TestServer, error_code};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn actions(page: &Value) -> Vec<String> {
    page["entries"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap().to_owned()).collect()
}

#[actix_web::test]
async fn the_audit_log_filters_by_actor_action_and_date_and_pages_newest_first() {
    let server = TestServer::start().await;
    let (principal, tokens) = server.signed_in("principal", Role::Admin).await;
    let admin = tokens.access_token;
    let (deputy, deputy_tokens) = server.signed_in("deputy", Role::Admin).await;
    let teacher = server.create_user("ravi", Role::Teacher).await;
    let deactivate = format!("/api/v1/admin/users/{}/deactivate", teacher.id);
    let reactivate = format!("/api/v1/admin/users/{}/reactivate", teacher.id);
    server.post(&deactivate, Some(&admin), &json!({})).await;
    server.post(&reactivate, Some(&deputy_tokens.access_token), &json!({})).await;
    server.post(&deactivate, Some(&admin), &json!({})).await;
    // An entry dated last year (written last: the log is ordered by id, the order of writing).
    store::audit::record(
        &server.pool,
        AuditEntry {
            actor_id: Some(principal.id),
            action: "user.create",
            target: None,
            address: None,
            details: json!({}),
        },
    )
    .await
    .unwrap();
    sqlx::query("UPDATE audit_log SET at = '2025-03-01T10:00:00Z' WHERE action = 'user.create'")
        .execute(&server.pool)
        .await
        .unwrap();

    let (status, all) = server.get("/api/v1/admin/audit", Some(&admin)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(actions(&all), ["user.create", "user.deactivate", "user.reactivate", "user.deactivate"]);
    let (_, by_principal) = server.get("/api/v1/admin/audit?actor=principal", Some(&admin)).await;
    assert_eq!(actions(&by_principal), ["user.create", "user.deactivate", "user.deactivate"]);
    let (_, by_deputy) = server.get(&format!("/api/v1/admin/audit?actor={}", deputy.id), Some(&admin)).await;
    assert_eq!(actions(&by_deputy), ["user.reactivate"]);
    assert_eq!(by_deputy["entries"][0]["target"], format!("user:{}", teacher.id));
    let (_, nobody) = server.get("/api/v1/admin/audit?actor=nobody", Some(&admin)).await;
    assert_eq!(actions(&nobody), Vec::<String>::new());
    let (_, exact) = server.get("/api/v1/admin/audit?action=user.deactivate", Some(&admin)).await;
    assert_eq!(actions(&exact), ["user.deactivate", "user.deactivate"]);
    let (_, family) = server.get("/api/v1/admin/audit?action=user&actor=principal", Some(&admin)).await;
    assert_eq!(actions(&family).len(), 3);
    let (_, old) = server.get("/api/v1/admin/audit?from=2025-01-01&to=2025-03-01", Some(&admin)).await;
    assert_eq!(actions(&old), ["user.create"]);
    let (_, recent) = server.get("/api/v1/admin/audit?from=2026-01-01T00:00:00Z", Some(&admin)).await;
    assert_eq!(actions(&recent).len(), 3);

    // Paging by id: two pages of two, then nothing more.
    let (_, first) = server.get("/api/v1/admin/audit?limit=2", Some(&admin)).await;
    let before = first["next_before_id"].as_i64().unwrap();
    let (_, second) = server.get(&format!("/api/v1/admin/audit?limit=2&before_id={before}"), Some(&admin)).await;
    assert_eq!([actions(&first), actions(&second)].concat(), actions(&all));
    let ids: Vec<i64> = [&first, &second]
        .iter()
        .flat_map(|p| p["entries"].as_array().unwrap().iter().map(|e| e["id"].as_i64().unwrap()))
        .collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "{ids:?}");

    for bad in ["limit=0", "limit=201", "from=yesterday", "to=2025-13-01"] {
        let (status, _) = server.get(&format!("/api/v1/admin/audit?{bad}"), Some(&admin)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    }
}

#[actix_web::test]
async fn stats_have_one_entry_per_day_with_counts_by_role_and_empty_days() {
    let server = TestServer::start().await;
    let admin = server.signed_in("principal", Role::Admin).await.1.access_token;
    let teacher = server.create_user("ravi", Role::Teacher).await;
    let parent = server.create_user("mei", Role::Parent).await;
    let other_parent = server.create_user("ana", Role::Parent).await;
    let group = server
        .create_conversation(ConversationKind::Group, Some("4B"), teacher.id, &[parent.id, other_parent.id])
        .await;
    for (i, sender) in [teacher.id, teacher.id, parent.id, other_parent.id, parent.id].into_iter().enumerate() {
        let client_msg_id = ClientMsgId::parse(&format!("m{i}")).unwrap();
        let body = MessageBody::parse("hello", false).unwrap();
        let new = NewMessage {
            conversation_id: group,
            sender_id: sender,
            client_msg_id: &client_msg_id,
            body: &body,
            attachment_ids: &[],
        };
        store::messages::insert(&server.pool, &new).await.unwrap();
    }
    // One of the teacher's messages was sent three days ago.
    sqlx::query("UPDATE messages SET created_at = now() - interval '3 days' WHERE client_msg_id = 'm0'")
        .execute(&server.pool)
        .await
        .unwrap();

    let (status, stats) = server.get("/api/v1/admin/stats?days=7", Some(&admin)).await;
    assert_eq!(status, StatusCode::OK, "{stats}");
    let days = stats["days"].as_array().unwrap();
    assert_eq!(days.len(), 7);
    let today = &days[6];
    assert_eq!(today["messages"], json!({"admin": 0, "teacher": 1, "parent": 3, "student": 0, "total": 4}));
    assert_eq!(today["active_users"], json!({"admin": 0, "teacher": 1, "parent": 2, "student": 0, "total": 3}));
    assert_eq!(days[3]["messages"]["teacher"], 1);
    assert_eq!(days[3]["active_users"]["total"], 1);
    for empty in [0, 1, 2, 4, 5] {
        assert_eq!(days[empty]["messages"]["total"], 0, "day {empty}");
    }
    let dates: Vec<&str> = days.iter().map(|d| d["date"].as_str().unwrap()).collect();
    assert!(dates.windows(2).all(|w| w[0] < w[1]), "{dates:?}");
    assert_eq!(dates[6].len(), 10);

    let (_, default) = server.get("/api/v1/admin/stats", Some(&admin)).await;
    assert_eq!(default["days"].as_array().unwrap().len(), 90);
    for bad in ["days=0", "days=401", "days=x"] {
        let (status, _) = server.get(&format!("/api/v1/admin/stats?{bad}"), Some(&admin)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    }
}

#[actix_web::test]
async fn the_policy_table_is_read_and_changed_at_run_time() {
    let server = TestServer::start().await;
    let admin = server.signed_in("principal", Role::Admin).await.1.access_token;
    let (parent, parent_tokens) = server.signed_in("mei", Role::Parent).await;
    let other = server.create_user("ana", Role::Parent).await;
    let (status, table) = server.get("/api/v1/admin/policy", Some(&admin)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(table["rules"].as_array().unwrap().len(), 16);
    let rule = |table: &Value, from: &str, to: &str| {
        table["rules"].as_array().unwrap().iter().find(|r| r["from"] == from && r["to"] == to).unwrap()["allowed"]
            .clone()
    };
    assert_eq!(rule(&table, "parent", "parent"), false);

    let start_chat = json!({"kind": "direct", "member_ids": [other.id]});
    let (status, _) = server.post("/api/v1/conversations", Some(&parent_tokens.access_token), &start_chat).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let change = json!({"rules": [{"from": "parent", "to": "parent", "allowed": true}]});
    let (status, table) = server.put("/api/v1/admin/policy", Some(&admin), &change).await;
    assert_eq!(status, StatusCode::OK, "{table}");
    assert_eq!(rule(&table, "parent", "parent"), true);
    let (status, _) = server.post("/api/v1/conversations", Some(&parent_tokens.access_token), &start_chat).await;
    assert!(status.is_success(), "the new rule applies at once: {status}");
    let stored: Option<Value> =
        store::settings::get(&server.pool, hallway_server::state::POLICY_SETTING).await.unwrap();
    assert!(stored.is_some(), "the rule is persisted");

    let lockout = json!({"rules": [{"from": "admin", "to": "parent", "allowed": false}]});
    let (status, body) = server.put("/api/v1/admin/policy", Some(&admin), &lockout).await;
    assert_eq!((status, error_code(&body)), (StatusCode::BAD_REQUEST, "invalid_input"));
    let (_, audit) = server.get("/api/v1/admin/audit?action=policy", Some(&admin)).await;
    assert_eq!(
        audit["entries"][0]["details"]["changed"][0],
        json!({"from": "parent", "to": "parent", "allowed": true})
    );
    let _ = parent;
}

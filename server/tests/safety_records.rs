//! Safeguarding visibility, conversation exports and message retention, over real HTTP.
#![expect(clippy::unwrap_used, reason = "a helper that cannot reach the database must fail the test at once")]

mod support;

use hallway_protocol::Role;
use hallway_server::safety::retention;
use hallway_test_support::TestServer;
use reqwest::StatusCode;
use serde_json::json;
use support::{Person, direct, edit, group, history, id_of, person, sent, seqs};
use uuid::Uuid;

async fn audit_count(server: &TestServer, action: &str, target: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = $1 AND target = $2")
        .bind(action)
        .bind(target)
        .fetch_one(&server.pool)
        .await
        .unwrap()
}

/// An upload of `uploader`, straight into the database (the upload endpoint is another issue's).
async fn attachment(server: &TestServer, uploader: &Person, file_name: &str, size: i64) -> Uuid {
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO attachments (id, uploader_id, sha256, file_name, mime_type, size_bytes, storage_key)
         VALUES ($1, $2, $3, $4, 'application/pdf', $5, $6)",
    )
    .bind(id)
    .bind(uploader.id)
    .bind(vec![7u8; 32])
    .bind(file_name)
    .bind(size)
    .bind(format!("blobs/{id}"))
    .execute(&server.pool)
    .await
    .unwrap();
    id
}

#[actix_web::test]
async fn teacher_student_chats_are_flagged_and_readable_by_admins_with_every_read_audited() {
    let server = TestServer::start().await;
    let admin = person(&server, "alex", Role::Admin).await;
    let teacher = person(&server, "rivera", Role::Teacher).await;
    let student = person(&server, "lily", Role::Student).await;
    let parent = person(&server, "mei", Role::Parent).await;
    let safeguarded = direct(&server, &teacher, &student).await;
    let with_parent = direct(&server, &teacher, &parent).await;
    sent(&server, &teacher, safeguarded, "s1", "Homework is due Monday").await;
    sent(&server, &student, safeguarded, "s2", "Thank you").await;
    sent(&server, &teacher, with_parent, "p1", "Lily did well").await;

    // Both people in the chat see the banner; the teacher-parent chat has none.
    for who in [&teacher, &student] {
        let (status, conversation) = server.get(&format!("/api/v1/conversations/{safeguarded}"), who.token()).await;
        assert_eq!((status, conversation["safeguarding"].as_bool()), (StatusCode::OK, Some(true)));
    }
    let (_, list) = server.get("/api/v1/conversations", teacher.token()).await;
    let flags: Vec<(String, bool)> = list["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["id"].as_str().unwrap().to_owned(), c["safeguarding"].as_bool().unwrap()))
        .collect();
    assert!(flags.contains(&(safeguarded.to_string(), true)) && flags.contains(&(with_parent.to_string(), false)));

    let (status, view) = server.get("/api/v1/admin/safeguarding/conversations", admin.token()).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    let listed: Vec<&str> = view["conversations"].as_array().unwrap().iter().filter_map(|c| c["id"].as_str()).collect();
    assert_eq!(listed, vec![safeguarded.to_string()]);
    assert_eq!(view["conversations"][0]["message_count"], 2);
    assert_eq!(view["conversations"][0]["members"].as_array().unwrap().len(), 2);

    let path = format!("/api/v1/admin/safeguarding/conversations/{safeguarded}/messages");
    let (status, page) = server.get(&path, admin.token()).await;
    assert_eq!((status, seqs(&page)), (StatusCode::OK, vec![1, 2]));
    assert_eq!(page["messages"][0]["body"], "Homework is due Monday");
    let (status, page) = server.get(&format!("{path}?after_seq=1&limit=1"), admin.token()).await;
    assert_eq!((status, seqs(&page), page["has_more"].as_bool()), (StatusCode::OK, vec![2], Some(false)));
    assert_eq!(audit_count(&server, "safeguarding.read", &format!("conversation:{safeguarded}")).await, 2);
    assert_eq!(audit_count(&server, "safeguarding.list", "safeguarding").await, 1);

    // The teacher-parent chat is not in this view.
    let other = format!("/api/v1/admin/safeguarding/conversations/{with_parent}/messages");
    assert_eq!(server.get(&other, admin.token()).await.0, StatusCode::NOT_FOUND);
    assert_eq!(audit_count(&server, "safeguarding.read", &format!("conversation:{with_parent}")).await, 0);

    // Off: no banner, no view.
    let (status, setting) = server.get("/api/v1/admin/settings/safeguarding", admin.token()).await;
    assert_eq!((status, setting), (StatusCode::OK, json!({"enabled": true})));
    let (status, _) =
        server.put("/api/v1/admin/settings/safeguarding", admin.token(), &json!({"enabled": false})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(server.get(&path, admin.token()).await.0, StatusCode::NOT_FOUND);
    let (_, conversation) = server.get(&format!("/api/v1/conversations/{safeguarded}"), student.token()).await;
    assert_eq!(conversation["safeguarding"], false);
    let (_, view) = server.get("/api/v1/admin/safeguarding/conversations", admin.token()).await;
    assert_eq!(view, json!({"enabled": false, "conversations": []}));
    assert_eq!(audit_count(&server, "settings.safeguarding", "settings:safeguarding").await, 1);
}

#[actix_web::test]
async fn an_export_holds_every_message_in_order_with_edits_deletions_and_attachments_and_escapes_html() {
    let server = TestServer::start().await;
    let admin = person(&server, "alex", Role::Admin).await;
    let teacher = person(&server, "rivera", Role::Teacher).await;
    let parent = person(&server, "mei", Role::Parent).await;
    let conversation = group(&server, &[&teacher, &parent]).await;
    let first = sent(&server, &teacher, conversation, "m1", "Trip on Friday").await;
    sent(&server, &parent, conversation, "m2", "<script>alert('x')</script> & more").await;
    let third = sent(&server, &parent, conversation, "m3", "oops").await;
    let file = attachment(&server, &teacher, "permission <form>.pdf", 12_345).await;
    let path = format!("/api/v1/conversations/{conversation}/messages");
    let body = json!({"client_msg_id": "m4", "body": "The form", "attachment_ids": [file]});
    assert_eq!(server.post(&path, teacher.token(), &body).await.0, StatusCode::CREATED);
    assert_eq!(edit(&server, &teacher, &id_of(&first), "Trip on Thursday").await.0, StatusCode::OK);
    assert_eq!(support::delete(&server, &parent, &id_of(&third)).await.0, StatusCode::OK);

    let export = format!("/api/v1/admin/conversations/{conversation}/export");
    let (status, record) = server.get(&format!("{export}?format=json"), admin.token()).await;
    assert_eq!(status, StatusCode::OK, "{record}");
    let messages = record["messages"].as_array().unwrap();
    assert_eq!(messages.iter().map(|m| m["seq"].as_i64().unwrap()).collect::<Vec<_>>(), vec![1, 2, 3, 4]);
    assert_eq!(messages[0]["body"], "Trip on Thursday");
    assert_eq!(messages[0]["edits"][0]["body"], "Trip on Friday");
    assert!(messages[0]["edited_at"].is_string());
    assert_eq!(messages[0]["sender_name"], "rivera Display");
    assert_eq!(messages[1]["sender_name"], "mei Display");
    assert_eq!((messages[2]["deleted"].as_bool(), messages[2]["body"].as_str()), (Some(true), Some("")));
    assert_eq!(messages[3]["attachments"][0]["file_name"], "permission <form>.pdf");
    assert_eq!(messages[3]["attachments"][0]["size_bytes"], 12_345);
    assert_eq!(record["members"].as_array().unwrap().len(), 2);
    // JSON is the default.
    let (status, default) = server.get(&export, admin.token()).await;
    assert_eq!((status, default["messages"].as_array().map(Vec::len)), (StatusCode::OK, Some(4)));

    // Text people chose, full of HTML's special characters: a display name and a group's name.
    let user = format!("/api/v1/admin/users/{}", parent.id);
    let hostile_name = json!({"display_name": r#"Mei "M" O'Brien <&>"#});
    assert_eq!(server.patch(&user, admin.token(), &hostile_name).await.0, StatusCode::OK);
    let rename = json!({"name": "4B <script>alert(1)</script>"});
    let (status, renamed) =
        server.patch(&format!("/api/v1/conversations/{conversation}"), teacher.token(), &rename).await;
    assert_eq!(status, StatusCode::OK, "{renamed}");

    let response =
        server.client.get(server.url(&format!("{export}?format=html"))).bearer_auth(&admin.token).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    let html = response.text().await.unwrap();
    assert!(!html.contains("<script"), "{html}");
    assert!(html.contains("&#60;script&#62;alert(&#39;x&#39;)&#60;/script&#62; &#38; more"), "{html}");
    assert!(html.contains("permission &#60;form&#62;.pdf"));
    let escaped_name = "Mei &#34;M&#34; O&#39;Brien &#60;&#38;&#62;";
    assert_eq!(html.matches(escaped_name).count(), 3, "in the members and beside both of her messages: {html}");
    assert!(!html.contains("O'Brien") && !html.contains("<&>"), "{html}");
    let title = "Conversation \u{201c}4B &#60;script&#62;alert(1)&#60;/script&#62;\u{201d}";
    assert!(html.contains(&format!("<title>{title}</title>")) && html.contains(&format!("<h1>{title}</h1>")), "{html}");
    let at = |needle: &str| html.find(needle).unwrap_or_else(|| panic!("{needle} is missing"));
    let second = at("&#60;script&#62;alert(&#39;x&#39;)");
    assert!(at("Trip on Thursday") < second && second < at("The form"));
    assert!(html.contains("Trip on Friday"), "the earlier version is in the record");

    assert_eq!(audit_count(&server, "conversation.export", &format!("conversation:{conversation}")).await, 3);
    let (status, _) =
        server.get(&format!("/api/v1/admin/conversations/{}/export", Uuid::now_v7()), admin.token()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = server.get(&format!("{export}?format=pdf"), admin.token()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[actix_web::test]
async fn retention_clears_old_contents_keeps_seqs_gapless_and_is_audited() {
    let server = TestServer::start().await;
    let admin = person(&server, "alex", Role::Admin).await;
    let teacher = person(&server, "rivera", Role::Teacher).await;
    let parent = person(&server, "mei", Role::Parent).await;
    let conversation = direct(&server, &teacher, &parent).await;
    let first = sent(&server, &teacher, conversation, "m1", "first").await;
    sent(&server, &parent, conversation, "m2", "second").await;
    let file = attachment(&server, &teacher, "report.pdf", 10).await;
    let path = format!("/api/v1/conversations/{conversation}/messages");
    let body = json!({"client_msg_id": "m3", "body": "third", "attachment_ids": [file]});
    assert_eq!(server.post(&path, teacher.token(), &body).await.0, StatusCode::CREATED);
    assert_eq!(edit(&server, &teacher, &id_of(&first), "first, edited").await.0, StatusCode::OK);

    // Off by default: a run does nothing.
    let (status, setting) = server.get("/api/v1/admin/settings/retention", admin.token()).await;
    assert_eq!((status, setting), (StatusCode::OK, json!({"retention_days": null})));
    assert!(retention::run_once(&server.pool).await.unwrap().is_none());

    let (status, _) =
        server.put("/api/v1/admin/settings/retention", admin.token(), &json!({"retention_days": 0})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) =
        server.put("/api/v1/admin/settings/retention", admin.token(), &json!({"retention_days": 99_999})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let cleared = retention::run_once(&server.pool).await.unwrap().expect("retention is on");
    assert_eq!((cleared.messages, cleared.edits, cleared.attachments), (3, 1, 1));
    assert_eq!(cleared.unreferenced_storage_keys, vec![format!("blobs/{file}")]);

    let (_, page) = history(&server, &parent, conversation, "").await;
    assert_eq!(seqs(&page), vec![1, 2, 3]);
    for message in page["messages"].as_array().unwrap() {
        assert_eq!((message["deleted"].as_bool(), message["body"].as_str()), (Some(true), Some("")), "{message}");
        assert!(message["attachments"].as_array().unwrap().is_empty());
    }
    let left: i64 =
        sqlx::query_scalar("SELECT (SELECT count(*) FROM message_edits) + (SELECT count(*) FROM attachments)")
            .fetch_one(&server.pool)
            .await
            .unwrap();
    assert_eq!(left, 0);
    // The next message follows on without a gap.
    assert_eq!(sent(&server, &teacher, conversation, "m4", "fourth").await["seq"], 4);
    let runs: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE action = 'retention.run' AND (details->>'messages_cleared')::int = 3",
    )
    .fetch_one(&server.pool)
    .await
    .unwrap();
    assert_eq!(runs, 1);
    assert_eq!(audit_count(&server, "settings.retention", "settings:retention").await, 1);
}

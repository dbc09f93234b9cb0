//! Sending, paging, editing and deleting messages over real HTTP against a real PostgreSQL.

mod support;

use std::collections::{HashMap, HashSet};

use hallway_protocol::Role;
use hallway_test_support::{TestServer, error_code};
use reqwest::StatusCode;
use serde_json::json;
use support::*;
use uuid::Uuid;

#[actix_web::test]
async fn a_new_message_is_201_and_a_repeated_client_msg_id_is_200_with_the_original_unchanged() {
    let server = TestServer::start().await;
    let teacher = person(&server, "teacher", Role::Teacher).await;
    let parent = person(&server, "parent", Role::Parent).await;
    let chat = direct(&server, &teacher, &parent).await;

    let first = sent(&server, &teacher, chat, "c-1", "Homework is on page 12").await;
    assert_eq!(first["seq"], 1);
    assert_eq!(first["sender_id"], teacher.id.to_string());
    assert_eq!(first["conversation_id"], chat.to_string());
    assert_eq!(first["client_msg_id"], "c-1");
    assert_eq!(first["body"], "Homework is on page 12");
    assert_eq!(first["deleted"], false);
    assert!(first["edited_at"].is_null());
    assert_eq!(first["attachments"], json!([]));
    assert_eq!(first["reactions"], json!([]));

    for body in ["Homework is on page 12", "something else entirely"] {
        let (status, repeat) = send(&server, &teacher, chat, "c-1", body).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(repeat, first);
    }
    // The same client_msg_id from another sender is another message.
    let other = sent(&server, &parent, chat, "c-1", "Thanks!").await;
    assert_eq!(other["seq"], 2);
    let (_, page) = history(&server, &teacher, chat, "").await;
    assert_eq!(seqs(&page), [1, 2]);
}

#[actix_web::test]
async fn seqs_run_from_1_with_no_gap_in_each_conversation() {
    let server = TestServer::start().await;
    let teacher = person(&server, "teacher", Role::Teacher).await;
    let parent = person(&server, "parent", Role::Parent).await;
    let chat = direct(&server, &teacher, &parent).await;
    let class = group(&server, &[&teacher, &parent]).await;
    for i in 1..=6 {
        let who = if i % 2 == 0 { &teacher } else { &parent };
        assert_eq!(sent(&server, who, chat, &format!("d{i}"), "hi").await["seq"], i);
    }
    assert_eq!(sent(&server, &teacher, class, "g1", "hello class").await["seq"], 1);
    let (status, page) = history(&server, &parent, chat, "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(seqs(&page), (1..=6).collect::<Vec<_>>());
    assert_eq!(page["has_more"], false);
}

#[actix_web::test]
async fn any_unicode_is_kept_byte_for_byte() {
    let server = TestServer::start().await;
    let teacher = person(&server, "teacher", Role::Teacher).await;
    let parent = person(&server, "parent", Role::Parent).await;
    let chat = direct(&server, &teacher, &parent).await;
    let bodies = [
        "👍🏽 👨\u{200d}👩\u{200d}👧 🇫🇷 1\u{fe0f}\u{20e3} ❤\u{fe0f}",
        "مرحبا، هل الواجب لغدٍ؟ \u{200f}(RTL)",
        "e\u{301}le\u{300}ve — Z\u{351}\u{36b}\u{343}alg\u{36a}o",
        "  leading and trailing spaces kept  ",
        "lines\r\nand\ttabs\n",
        "日本語のメッセージ",
    ];
    for (i, body) in bodies.iter().enumerate() {
        let message = sent(&server, &teacher, chat, &format!("u{i}"), body).await;
        assert_eq!(message["body"].as_str().unwrap().as_bytes(), body.as_bytes());
    }
    let (_, page) = history(&server, &parent, chat, "").await;
    let stored: Vec<&str> = page["messages"].as_array().unwrap().iter().map(|m| m["body"].as_str().unwrap()).collect();
    assert_eq!(stored, bodies);
}

#[actix_web::test]
async fn bodies_must_hold_text_and_at_most_4000_characters() {
    let server = TestServer::start().await;
    let teacher = person(&server, "teacher", Role::Teacher).await;
    let parent = person(&server, "parent", Role::Parent).await;
    let chat = direct(&server, &teacher, &parent).await;
    for (body, code) in [("", "body_empty"), (" \n\t ", "body_empty"), (&"a".repeat(4001), "body_too_long")] {
        let (status, response) = send(&server, &teacher, chat, "x", body).await;
        assert_eq!((status, error_code(&response)), (StatusCode::BAD_REQUEST, code), "{:.20}", body);
    }
    // A body left out is empty.
    let (status, response) = server
        .post(&format!("/api/v1/conversations/{chat}/messages"), teacher.token(), &json!({"client_msg_id": "y"}))
        .await;
    assert_eq!((status, error_code(&response)), (StatusCode::BAD_REQUEST, "body_empty"));
    // 4,000 characters, each a 4-byte emoji, fit; so do 4,000 letters padded with spaces.
    let emoji = "😀".repeat(4000);
    assert_eq!(sent(&server, &teacher, chat, "emoji", &emoji).await["body"], emoji);
    let padded = format!("   {}   ", "a".repeat(4000));
    assert_eq!(sent(&server, &teacher, chat, "padded", &padded).await["body"], padded);
    // Nothing refused took a seq.
    let (_, page) = history(&server, &teacher, chat, "").await;
    assert_eq!(seqs(&page), [1, 2]);
}

#[actix_web::test]
async fn a_bad_client_msg_id_is_invalid_input() {
    let server = TestServer::start().await;
    let teacher = person(&server, "teacher", Role::Teacher).await;
    let parent = person(&server, "parent", Role::Parent).await;
    let chat = direct(&server, &teacher, &parent).await;
    for bad in ["", "   ", &"x".repeat(65)] {
        let (status, response) = send(&server, &teacher, chat, bad, "hi").await;
        assert_eq!((status, error_code(&response)), (StatusCode::BAD_REQUEST, "invalid_input"), "{bad:?}");
        assert!(response["error"]["message"].as_str().unwrap().contains("client_msg_id"));
    }
    let path = format!("/api/v1/conversations/{chat}/messages");
    for body in [json!({"body": "hi"}), json!({"client_msg_id": 7, "body": "hi"})] {
        let (status, response) = server.post(&path, teacher.token(), &body).await;
        assert_eq!((status, error_code(&response)), (StatusCode::BAD_REQUEST, "invalid_input"), "{body}");
    }
    assert_eq!(sent(&server, &teacher, chat, &"é".repeat(64), "64 characters are fine").await["seq"], 1);
}

/// Inserts an uploaded file directly (uploads arrive with a later issue).
#[expect(clippy::unwrap_used, reason = "a test that cannot set up must fail at once")]
async fn uploaded(server: &TestServer, uploader: &Person) -> Uuid {
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO attachments (id, uploader_id, sha256, file_name, mime_type, size_bytes, width, height, storage_key)
         VALUES ($1, $2, $3, 'photo.jpg', 'image/jpeg', 1234, 640, 480, $4)",
    )
    .bind(id)
    .bind(uploader.id)
    .bind(vec![7u8; 32])
    .bind(format!("objects/{id}"))
    .execute(&server.pool)
    .await
    .unwrap();
    id
}

#[actix_web::test]
async fn senders_attach_only_their_own_unsent_uploads_up_to_ten() {
    let server = TestServer::start().await;
    let teacher = person(&server, "teacher", Role::Teacher).await;
    let parent = person(&server, "parent", Role::Parent).await;
    let chat = direct(&server, &teacher, &parent).await;
    let path = format!("/api/v1/conversations/{chat}/messages");
    let mine = uploaded(&server, &teacher).await;
    let theirs = uploaded(&server, &parent).await;

    let refused = [
        json!([theirs]),
        json!([Uuid::now_v7()]),
        json!([mine, mine]),
        json!((0..11).map(|_| Uuid::now_v7()).collect::<Vec<_>>()),
    ];
    for ids in refused {
        let (status, response) = server
            .post(&path, teacher.token(), &json!({"client_msg_id": "a", "body": "", "attachment_ids": ids}))
            .await;
        assert_eq!((status, error_code(&response)), (StatusCode::BAD_REQUEST, "invalid_input"), "{ids}");
        assert!(response["error"]["message"].as_str().unwrap().contains("attachment_ids"));
    }

    // An attachment alone carries a message.
    let (status, message) =
        server.post(&path, teacher.token(), &json!({"client_msg_id": "a", "body": "", "attachment_ids": [mine]})).await;
    assert_eq!(status, StatusCode::CREATED, "{message}");
    assert_eq!(message["body"], "");
    assert_eq!(message["attachments"][0]["id"], mine.to_string());
    assert_eq!(message["attachments"][0]["mime_type"], "image/jpeg");
    assert_eq!(message["attachments"][0]["width"], 640);
    // Its retry is the original; a new message cannot take the same file again.
    let (status, repeat) =
        server.post(&path, teacher.token(), &json!({"client_msg_id": "a", "body": "", "attachment_ids": [mine]})).await;
    assert_eq!((status, &repeat), (StatusCode::OK, &message));
    let (status, response) = server
        .post(&path, teacher.token(), &json!({"client_msg_id": "b", "body": "again", "attachment_ids": [mine]}))
        .await;
    assert_eq!((status, error_code(&response)), (StatusCode::BAD_REQUEST, "invalid_input"));
}

#[actix_web::test]
async fn two_messages_racing_for_one_file_one_gets_it_and_the_other_is_refused() {
    let server = TestServer::start().await;
    let teacher = person(&server, "teacher", Role::Teacher).await;
    let parent = person(&server, "parent", Role::Parent).await;
    let chat = direct(&server, &teacher, &parent).await;
    let other_chat = group(&server, &[&teacher, &parent]).await;
    let file = uploaded(&server, &teacher).await;
    // Through two conversation actors, so nothing but the database orders them.
    let sends = [(chat, "x"), (other_chat, "y")].map(|(conversation, client_msg_id)| {
        let path = format!("/api/v1/conversations/{conversation}/messages");
        let body = json!({"client_msg_id": client_msg_id, "body": "", "attachment_ids": [file]});
        let server = &server;
        let token = teacher.token();
        async move { server.post(&path, token, &body).await }
    });
    let answers = futures_util::future::join_all(sends).await;
    let statuses: Vec<StatusCode> = answers.iter().map(|(status, _)| *status).collect();
    assert!(statuses.contains(&StatusCode::CREATED) && statuses.contains(&StatusCode::BAD_REQUEST), "{answers:?}");
    let carried: i64 = sqlx::query_scalar("SELECT count(*) FROM message_attachments WHERE attachment_id = $1")
        .bind(file)
        .fetch_one(&server.pool)
        .await
        .unwrap();
    assert_eq!(carried, 1);
}

#[actix_web::test]
async fn outsiders_get_the_same_404_as_for_a_conversation_that_does_not_exist() {
    let server = TestServer::start().await;
    let teacher = person(&server, "teacher", Role::Teacher).await;
    let parent = person(&server, "parent", Role::Parent).await;
    let outsider = person(&server, "outsider", Role::Teacher).await;
    let chat = direct(&server, &teacher, &parent).await;
    let message = sent(&server, &teacher, chat, "m1", "private").await;
    let id = id_of(&message);

    let (status, nonexistent) = send(&server, &outsider, Uuid::now_v7(), "x", "hi").await;
    assert_eq!((status, error_code(&nonexistent)), (StatusCode::NOT_FOUND, "not_found"));
    let answers = [
        send(&server, &outsider, chat, "x", "hi").await,
        history(&server, &outsider, chat, "").await,
        history(&server, &outsider, chat, "after_seq=0").await,
        read(&server, &outsider, chat, 1).await,
        edit(&server, &outsider, &id, "changed").await,
        delete(&server, &outsider, &id).await,
        react(&server, &outsider, &id, "👍", true).await,
        history(&server, &outsider, Uuid::now_v7(), "").await,
        edit(&server, &outsider, &Uuid::now_v7().to_string(), "changed").await,
    ];
    for (status, body) in answers {
        assert_eq!((status, &body), (StatusCode::NOT_FOUND, &nonexistent));
    }
    // Nothing happened.
    let (_, page) = history(&server, &parent, chat, "").await;
    assert_eq!(page["messages"], json!([message]));
}

#[actix_web::test]
async fn malformed_ids_in_the_path_are_invalid_id() {
    let server = TestServer::start().await;
    let teacher = person(&server, "teacher", Role::Teacher).await;
    // A well-formed id of nothing is not found; a malformed one is invalid_id.
    assert_eq!(send(&server, &teacher, Uuid::nil(), "x", "hi").await.0, StatusCode::NOT_FOUND);
    let calls = [
        server.get("/api/v1/conversations/123/messages", teacher.token()).await,
        server
            .post("/api/v1/conversations/abc/messages", teacher.token(), &json!({"client_msg_id": "x", "body": "hi"}))
            .await,
        server.post("/api/v1/conversations/abc/read", teacher.token(), &json!({"seq": 1})).await,
        edit(&server, &teacher, "nope", "hi").await,
        delete(&server, &teacher, "nope").await,
        react(&server, &teacher, "nope", "👍", true).await,
    ];
    for (status, body) in calls {
        assert_eq!((status, error_code(&body)), (StatusCode::BAD_REQUEST, "invalid_id"), "{body}");
    }
}

#[actix_web::test]
async fn history_pages_in_all_four_modes_ascending_with_has_more() {
    let server = TestServer::start().await;
    let teacher = person(&server, "teacher", Role::Teacher).await;
    let parent = person(&server, "parent", Role::Parent).await;
    let chat = direct(&server, &teacher, &parent).await;
    let (_, empty) = history(&server, &parent, chat, "").await;
    assert_eq!(empty, json!({"messages": [], "has_more": false}));
    for i in 1..=10 {
        sent(&server, &teacher, chat, &format!("m{i}"), &format!("message {i}")).await;
    }
    let cases: [(&str, Vec<i64>, bool); 13] = [
        ("", (1..=10).collect(), false),
        ("limit=3", vec![8, 9, 10], true),
        ("limit=10", (1..=10).collect(), false),
        ("after_seq=0&limit=3", vec![1, 2, 3], true),
        ("after_seq=6&limit=4", vec![7, 8, 9, 10], false),
        ("after_seq=7&limit=2", vec![8, 9], true),
        ("after_seq=10", vec![], false),
        ("after_seq=99", vec![], false),
        ("before_seq=5&limit=2", vec![3, 4], true),
        ("before_seq=3&limit=2", vec![1, 2], false),
        ("before_seq=11", (1..=10).collect(), false),
        ("before_seq=1", vec![], false),
        ("before_seq=&after_seq=&limit=", (1..=10).collect(), false),
    ];
    for (query, expected, has_more) in cases {
        let (status, page) = history(&server, &parent, chat, query).await;
        assert_eq!(status, StatusCode::OK, "{query}: {page}");
        assert_eq!(seqs(&page), expected, "{query}");
        assert_eq!(page["has_more"], has_more, "{query}");
    }
    // Paging back from the latest page reaches the first message, each page ascending.
    let mut all = Vec::new();
    let (_, mut page) = history(&server, &parent, chat, "limit=4").await;
    loop {
        let mut these = seqs(&page);
        these.extend(all);
        all = these;
        if page["has_more"] == false {
            break;
        }
        page = history(&server, &parent, chat, &format!("before_seq={}&limit=4", all[0])).await.1;
    }
    assert_eq!(all, (1..=10).collect::<Vec<_>>());
}

#[actix_web::test]
async fn bad_paging_is_invalid_paging() {
    let server = TestServer::start().await;
    let teacher = person(&server, "teacher", Role::Teacher).await;
    let parent = person(&server, "parent", Role::Parent).await;
    let chat = direct(&server, &teacher, &parent).await;
    sent(&server, &teacher, chat, "m", "hi").await;
    for query in [
        "before_seq=5&after_seq=1",
        "limit=0",
        "limit=201",
        "limit=-1",
        "limit=ten",
        "limit=1.5",
        "after_seq=-1",
        "before_seq=-3",
        "after_seq=abc",
        "before_seq=99999999999999999999999",
    ] {
        let (status, response) = history(&server, &parent, chat, query).await;
        assert_eq!((status, error_code(&response)), (StatusCode::BAD_REQUEST, "invalid_paging"), "{query}");
    }
    assert_eq!(history(&server, &parent, chat, "limit=200").await.0, StatusCode::OK);
    assert_eq!(history(&server, &parent, chat, "limit=1").await.0, StatusCode::OK);
}

#[actix_web::test]
async fn nobody_sends_into_a_direct_chat_whose_other_member_is_deactivated() {
    let server = TestServer::start().await;
    let teacher = person(&server, "teacher", Role::Teacher).await;
    let parent = person(&server, "parent", Role::Parent).await;
    let other_parent = person(&server, "ravi", Role::Parent).await;
    let chat = direct(&server, &teacher, &parent).await;
    let class = group(&server, &[&teacher, &parent, &other_parent]).await;
    let first = sent(&server, &teacher, chat, "before", "see you tomorrow").await;
    sqlx::query("UPDATE users SET deactivated_at = now() WHERE id = $1")
        .bind(parent.id)
        .execute(&server.pool)
        .await
        .unwrap();

    let (status, response) = send(&server, &teacher, chat, "after", "are you there?").await;
    assert_eq!((status, error_code(&response)), (StatusCode::FORBIDDEN, "policy_forbids"));
    // A retry of what was committed before still gets its original; groups carry on.
    assert_eq!(send(&server, &teacher, chat, "before", "see you tomorrow").await, (StatusCode::OK, first));
    sent(&server, &teacher, class, "class", "hello everyone").await;
    // The history stays readable.
    assert_eq!(seqs(&history(&server, &teacher, chat, "").await.1), [1]);
}

#[actix_web::test]
async fn direct_chats_follow_the_schools_rules_in_either_direction() {
    let server = TestServer::start().await;
    let teacher = person(&server, "teacher", Role::Teacher).await;
    let student = person(&server, "student", Role::Student).await;
    let parent = person(&server, "parent", Role::Parent).await;
    let other_parent = person(&server, "ravi", Role::Parent).await;
    // The school lets teachers write to students but not students start chats with teachers: a student
    // may still answer a chat a teacher started.
    server.state.policy.write().unwrap().set(Role::Student, Role::Teacher, false);
    let chat = direct(&server, &teacher, &student).await;
    sent(&server, &teacher, chat, "t", "Please bring your book").await;
    sent(&server, &student, chat, "s", "OK").await;
    // Two parents may not message each other either way (a chat an admin made before the rule, say).
    let parents = direct(&server, &parent, &other_parent).await;
    let (status, response) = send(&server, &parent, parents, "p", "hi").await;
    assert_eq!((status, error_code(&response)), (StatusCode::FORBIDDEN, "policy_forbids"));
    // In a group, members see each other whatever the roles.
    let class = group(&server, &[&teacher, &parent, &other_parent]).await;
    sent(&server, &parent, class, "g", "hello").await;
}

#[actix_web::test]
async fn only_the_sender_edits_and_the_old_body_is_kept() {
    let server = TestServer::start().await;
    let teacher = person(&server, "teacher", Role::Teacher).await;
    let parent = person(&server, "parent", Role::Parent).await;
    let outsider = person(&server, "outsider", Role::Teacher).await;
    let class = group(&server, &[&teacher, &parent]).await;
    let original = sent(&server, &parent, class, "m", "The trip is on Fridya").await;
    let id = id_of(&original);

    let (status, edited) = edit(&server, &parent, &id, "The trip is on Friday ✅").await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!(edited["body"], "The trip is on Friday ✅");
    assert_eq!(edited["seq"], original["seq"]);
    assert_eq!(edited["client_msg_id"], "m");
    assert!(edited["edited_at"].is_string());
    let (_, page) = history(&server, &teacher, class, "").await;
    assert_eq!(page["messages"][0], edited);
    let old: Vec<String> = sqlx::query_scalar("SELECT old_body FROM message_edits WHERE message_id = $1 ORDER BY id")
        .bind(Uuid::parse_str(&id).unwrap())
        .fetch_all(&server.pool)
        .await
        .unwrap();
    assert_eq!(old, ["The trip is on Fridya"]);

    // The same text again changes nothing.
    assert_eq!(edit(&server, &parent, &id, "The trip is on Friday ✅").await, (StatusCode::OK, edited.clone()));
    // Another member, even the group's admin, may not; an outsider does not see it.
    let (status, response) = edit(&server, &teacher, &id, "hijacked").await;
    assert_eq!((status, error_code(&response)), (StatusCode::FORBIDDEN, "forbidden"));
    let (status, response) = edit(&server, &outsider, &id, "hijacked").await;
    assert_eq!((status, error_code(&response)), (StatusCode::NOT_FOUND, "not_found"));
    // The new body follows the same rules as a new message.
    for (body, code) in [("  ", "body_empty"), (&"b".repeat(4001), "body_too_long")] {
        let (status, response) = edit(&server, &parent, &id, body).await;
        assert_eq!((status, error_code(&response)), (StatusCode::BAD_REQUEST, code));
    }
    let (_, page) = history(&server, &teacher, class, "").await;
    assert_eq!(page["messages"][0], edited);
    // A deleted message cannot be edited.
    delete(&server, &parent, &id).await;
    let (status, response) = edit(&server, &parent, &id, "back again").await;
    assert_eq!((status, error_code(&response)), (StatusCode::CONFLICT, "conflict"));
}

#[actix_web::test]
async fn the_sender_deletes_and_the_message_keeps_its_seq_with_nothing_in_it() {
    let server = TestServer::start().await;
    let teacher = person(&server, "teacher", Role::Teacher).await;
    let parent = person(&server, "parent", Role::Parent).await;
    let chat = direct(&server, &teacher, &parent).await;
    let attachment = uploaded(&server, &parent).await;
    sent(&server, &teacher, chat, "a", "first").await;
    let (status, message) = server
        .post(
            &format!("/api/v1/conversations/{chat}/messages"),
            parent.token(),
            &json!({"client_msg_id": "b", "body": "oops, wrong chat", "attachment_ids": [attachment]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    sent(&server, &teacher, chat, "c", "third").await;
    let id = id_of(&message);
    react(&server, &teacher, &id, "😮", true).await;

    let (status, deleted) = delete(&server, &parent, &id).await;
    assert_eq!(status, StatusCode::OK, "{deleted}");
    assert_eq!(deleted["deleted"], true);
    assert_eq!(deleted["body"], "");
    assert_eq!(deleted["seq"], 2);
    assert_eq!(deleted["id"], message["id"]);
    assert_eq!(deleted["attachments"], json!([]));
    assert_eq!(deleted["reactions"], json!([]));
    // Deleting again is the same answer.
    assert_eq!(delete(&server, &parent, &id).await, (StatusCode::OK, deleted.clone()));
    let (_, page) = history(&server, &teacher, chat, "").await;
    assert_eq!(seqs(&page), [1, 2, 3]);
    assert_eq!(page["messages"][1], deleted);
    // The rows are gone, not hidden: the body, the link to the file and the reactions.
    let (body, links, reactions): (String, i64, i64) = sqlx::query_as(
        "SELECT m.body, (SELECT count(*) FROM message_attachments WHERE message_id = m.id),
                (SELECT count(*) FROM reactions WHERE message_id = m.id)
         FROM messages m WHERE m.id = $1",
    )
    .bind(Uuid::parse_str(&id).unwrap())
    .fetch_one(&server.pool)
    .await
    .unwrap();
    assert_eq!((body.as_str(), links, reactions), ("", 0, 0));
    // In a direct chat the other person may not delete it; nor may they delete the teacher's message.
    let (status, response) = delete(&server, &teacher, &id).await;
    assert_eq!((status, error_code(&response)), (StatusCode::FORBIDDEN, "forbidden"));
    let first = id_of(&page["messages"][0]);
    let (status, response) = delete(&server, &parent, &first).await;
    assert_eq!((status, error_code(&response)), (StatusCode::FORBIDDEN, "forbidden"));
}

#[actix_web::test]
async fn a_group_admin_deletes_anyones_message_but_a_plain_member_does_not() {
    let server = TestServer::start().await;
    let admin = person(&server, "teacher", Role::Teacher).await;
    let mei = person(&server, "mei", Role::Parent).await;
    let ravi = person(&server, "ravi", Role::Parent).await;
    let class = group(&server, &[&admin, &mei, &ravi]).await;
    let by_mei = id_of(&sent(&server, &mei, class, "m", "rude words").await);
    let by_admin = id_of(&sent(&server, &admin, class, "a", "please be kind").await);

    let (status, response) = delete(&server, &ravi, &by_mei).await;
    assert_eq!((status, error_code(&response)), (StatusCode::FORBIDDEN, "forbidden"));
    let (status, response) = delete(&server, &mei, &by_admin).await;
    assert_eq!((status, error_code(&response)), (StatusCode::FORBIDDEN, "forbidden"));
    let (status, deleted) = delete(&server, &admin, &by_mei).await;
    assert_eq!((status, &deleted["deleted"]), (StatusCode::OK, &json!(true)));
    let (_, page) = history(&server, &ravi, class, "").await;
    assert_eq!(page["messages"][0]["deleted"], true);
    assert_eq!(page["messages"][0]["body"], "");
    assert_eq!(page["messages"][1]["body"], "please be kind");
}

#[actix_web::test]
async fn a_removed_member_loses_access_at_once() {
    let server = TestServer::start().await;
    let teacher = person(&server, "teacher", Role::Teacher).await;
    let parent = person(&server, "parent", Role::Parent).await;
    let class = group(&server, &[&teacher, &parent]).await;
    let mine = id_of(&sent(&server, &parent, class, "mine", "my own message").await);
    let theirs = id_of(&sent(&server, &teacher, class, "theirs", "the teacher's message").await);
    assert_eq!(history(&server, &parent, class, "").await.0, StatusCode::OK);

    remove_member(&server, class, &parent).await;
    let answers = [
        history(&server, &parent, class, "").await,
        send(&server, &parent, class, "later", "hello?").await,
        send(&server, &parent, class, "mine", "my own message").await,
        read(&server, &parent, class, 2).await,
        edit(&server, &parent, &mine, "edited").await,
        delete(&server, &parent, &mine).await,
        react(&server, &parent, &theirs, "👍", true).await,
    ];
    for (status, body) in answers {
        assert_eq!((status, error_code(&body)), (StatusCode::NOT_FOUND, "not_found"), "{body}");
    }
}

#[actix_web::test]
async fn concurrent_senders_with_retries_get_seqs_1_to_n_each_message_stored_once() {
    let server = TestServer::start().await;
    let mut people = Vec::new();
    for name in ["t1", "t2", "p1", "p2"] {
        people.push(person(&server, name, Role::Teacher).await);
    }
    let refs: Vec<&Person> = people.iter().collect();
    let class = group(&server, &refs).await;
    // Each client sends 10 messages and immediately retries every third one, all four at once.
    let clients = people.iter().map(|who| {
        let server = &server;
        async move {
            let mut answers = Vec::new();
            for i in 0..10 {
                let client_msg_id = format!("{}-{i}", who.id);
                let attempts = if i % 3 == 0 { 2 } else { 1 };
                let sends = (0..attempts).map(|_| send(server, who, class, &client_msg_id, "concurrent"));
                for (status, message) in futures_util::future::join_all(sends).await {
                    answers.push((client_msg_id.clone(), status, message));
                }
            }
            answers
        }
    });
    let answers: Vec<_> = futures_util::future::join_all(clients).await.into_iter().flatten().collect();

    let mut by_client_msg_id: HashMap<String, HashSet<String>> = HashMap::new();
    let mut created = 0;
    for (client_msg_id, status, message) in &answers {
        assert!(status.is_success(), "{status} {message}");
        created += usize::from(*status == StatusCode::CREATED);
        by_client_msg_id.entry(client_msg_id.clone()).or_default().insert(id_of(message));
    }
    assert_eq!(by_client_msg_id.len(), 40);
    assert!(by_client_msg_id.values().all(|ids| ids.len() == 1), "a retry got a different message");
    assert_eq!(created, 40, "exactly one 201 per message");
    let (_, page) = history(&server, &people[0], class, "limit=200").await;
    assert_eq!(seqs(&page), (1..=40).collect::<Vec<_>>());
    let stored: i64 = sqlx::query_scalar("SELECT count(DISTINCT (sender_id, client_msg_id)) FROM messages")
        .fetch_one(&server.pool)
        .await
        .unwrap();
    assert_eq!(stored, 40);
}

#[actix_web::test]
async fn a_group_commit_stores_many_conversations_messages_in_order_with_gapless_seqs() {
    use hallway_server::store::messages::{NewText, insert_text, insert_texts};
    let server = TestServer::start().await;
    let teacher = person(&server, "teacher", Role::Teacher).await;
    let parent = person(&server, "parent", Role::Parent).await;
    let other = person(&server, "other", Role::Teacher).await;
    let outsider = person(&server, "outsider", Role::Teacher).await;
    let a = direct(&server, &teacher, &parent).await;
    let b = direct(&server, &teacher, &other).await;
    sent(&server, &teacher, a, "a-0", "already there").await;
    let text = |conversation_id, sender: &Person, client_msg_id: &str| NewText {
        conversation_id,
        sender_id: sender.id,
        client_msg_id: client_msg_id.to_owned(),
        body: format!("body of {client_msg_id}"),
    };
    let batch = [
        text(a, &teacher, "a-1"),
        text(b, &teacher, "b-1"),
        text(a, &parent, "a-2"),
        text(a, &outsider, "x-1"),
        text(a, &teacher, "a-0"),
        text(b, &other, "b-2"),
        text(a, &teacher, "a-3"),
    ];
    let rows = insert_texts(&server.pool, &batch).await.expect("one statement");
    let assigned: Vec<Option<i64>> = rows.iter().map(|r| r.as_ref().map(|r| r.seq)).collect();
    assert_eq!(
        assigned,
        [Some(2), Some(1), Some(3), None, None, Some(2), Some(4)],
        "each conversation's seqs follow the batch's order; an outsider and a repeat are not inserted"
    );
    let stored: Vec<&str> = rows.iter().flatten().map(|row| row.client_msg_id.as_str()).collect();
    assert_eq!(stored, ["a-1", "b-1", "a-2", "b-2", "a-3"]);
    // The single path tells the two refusals apart, as the group-commit writer asks it to.
    assert!(insert_text(&server.pool, &batch[3]).await.expect("no error").is_none(), "not a member");
    let repeat = insert_text(&server.pool, &batch[4]).await.expect_err("a repeat");
    assert_eq!(hallway_server::store::violated_unique_constraint(&repeat), Some("messages_sender_client_msg_id_key"));

    let (_, page) = history(&server, &teacher, a, "").await;
    assert_eq!(seqs(&page), [1, 2, 3, 4]);
    let (_, page) = history(&server, &teacher, b, "").await;
    assert_eq!(seqs(&page), [1, 2]);
    let marker: i64 = sqlx::query_scalar(
        "SELECT last_read_seq FROM conversation_members WHERE conversation_id = $1 AND user_id = $2",
    )
    .bind(a)
    .bind(teacher.id)
    .fetch_one(&server.pool)
    .await
    .unwrap();
    assert_eq!(marker, 4, "the sender's read marker moves to their last message");
    let next = sent(&server, &parent, a, "a-5", "after the batch").await;
    assert_eq!(next["seq"], 5, "the conversation's next seq moved past the batch");

    // Two messages of one batch with the same sender and client_msg_id: the statement fails as a whole.
    let twice = [text(b, &teacher, "b-9"), text(b, &teacher, "b-9")];
    let err = insert_texts(&server.pool, &twice).await.expect_err("a repeat inside the batch");
    assert_eq!(hallway_server::store::violated_unique_constraint(&err), Some("messages_sender_client_msg_id_key"));
    let (_, page) = history(&server, &teacher, b, "").await;
    assert_eq!(seqs(&page), [1, 2], "nothing of the failed batch stayed, not even a seq");
}

mod properties {
    //! A model of one group conversation, driven by random sends (with repeated client_msg_ids), deletes
    //! and reads: seqs stay 1..N with no gap, repeats return the original, unread counts match the model.

    use proptest::prelude::*;

    use super::*;

    #[derive(Debug, Clone)]
    enum Op {
        Send { who: usize, client_msg_id: u8, body: u8 },
        Delete { who: usize, message: usize },
        Read { who: usize, seq: i64 },
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (0..3usize, 0..5u8, 0..3u8).prop_map(|(who, client_msg_id, body)| Op::Send { who, client_msg_id, body }),
            1 => (0..3usize, 0..16usize).prop_map(|(who, message)| Op::Delete { who, message }),
            1 => (0..3usize, 0..20i64).prop_map(|(who, seq)| Op::Read { who, seq }),
        ]
    }

    /// What the model knows of one message.
    struct Sent {
        id: String,
        sender: usize,
        client_msg_id: u8,
        deleted: bool,
    }

    async fn check(ops: Vec<Op>) {
        let server = TestServer::start().await;
        let people = [
            person(&server, "admin", Role::Teacher).await,
            person(&server, "mei", Role::Parent).await,
            person(&server, "ravi", Role::Parent).await,
        ];
        let class = group(&server, &[&people[0], &people[1], &people[2]]).await;
        let mut messages: Vec<Sent> = Vec::new();
        let mut read_marker = [0i64; 3];
        for op in ops {
            match op {
                Op::Send { who, client_msg_id, body } => {
                    let (status, message) =
                        send(&server, &people[who], class, &format!("c{client_msg_id}"), &format!("body {body}")).await;
                    let original = messages.iter().position(|m| m.sender == who && m.client_msg_id == client_msg_id);
                    match original {
                        Some(index) => {
                            assert_eq!(status, StatusCode::OK, "{message}");
                            assert_eq!(id_of(&message), messages[index].id);
                            assert_eq!(message["seq"], index as i64 + 1);
                        }
                        None => {
                            assert_eq!(status, StatusCode::CREATED, "{message}");
                            messages.push(Sent { id: id_of(&message), sender: who, client_msg_id, deleted: false });
                            assert_eq!(message["seq"], messages.len() as i64);
                            read_marker[who] = messages.len() as i64;
                        }
                    }
                }
                Op::Delete { who, message } => {
                    let Some(target) = messages.get_mut(message) else { continue };
                    let (status, _) = delete(&server, &people[who], &target.id).await;
                    if target.sender == who || who == 0 {
                        assert_eq!(status, StatusCode::OK);
                        target.deleted = true;
                    } else {
                        assert_eq!(status, StatusCode::FORBIDDEN);
                    }
                }
                Op::Read { who, seq } => {
                    assert_eq!(read(&server, &people[who], class, seq).await.0, StatusCode::NO_CONTENT);
                    read_marker[who] = read_marker[who].max(seq.min(messages.len() as i64));
                }
            }
        }
        let (_, page) = history(&server, &people[1], class, "limit=200").await;
        assert_eq!(seqs(&page), (1..=messages.len() as i64).collect::<Vec<_>>());
        for (who, someone) in people.iter().enumerate() {
            assert_eq!(last_read_seq(&server, class, someone).await, read_marker[who]);
            let expected = messages
                .iter()
                .enumerate()
                .filter(|(i, m)| *i as i64 + 1 > read_marker[who] && m.sender != who && !m.deleted)
                .count() as i64;
            assert_eq!(unread(&server, class, someone).await, expected, "unread count of person {who}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 8, max_shrink_iters: 32, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn seqs_repeats_and_unread_counts_follow_the_model(ops in prop::collection::vec(op(), 1..14)) {
            actix_rt::System::new().block_on(check(ops));
        }
    }
}

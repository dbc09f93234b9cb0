//! Reactions, read markers and unread counts over real HTTP against a real PostgreSQL.

mod support;

use hallway_protocol::Role;
use hallway_test_support::{TestServer, error_code};
use reqwest::StatusCode;
use serde_json::json;
use support::*;

/// A teacher and a parent in a group, with one message from the teacher.
async fn setup(server: &TestServer) -> (Person, Person, uuid::Uuid, String) {
    let teacher = person(server, "teacher", Role::Teacher).await;
    let parent = person(server, "parent", Role::Parent).await;
    let class = group(server, &[&teacher, &parent]).await;
    let message = id_of(&sent(server, &teacher, class, "m", "Sports day is on Friday").await);
    (teacher, parent, class, message)
}

#[actix_web::test]
async fn reactions_are_added_counted_and_taken_back() {
    let server = TestServer::start().await;
    let (teacher, parent, _, message) = setup(&server).await;

    let (status, reacted) = react(&server, &parent, &message, "🎉", true).await;
    assert_eq!(status, StatusCode::OK, "{reacted}");
    assert_eq!(reacted["id"], message);
    assert_eq!(reacted["reactions"], json!([{"emoji": "🎉", "count": 1, "user_ids": [parent.id]}]));
    let (_, reacted) = react(&server, &teacher, &message, "🎉", true).await;
    assert_eq!(reacted["reactions"], json!([{"emoji": "🎉", "count": 2, "user_ids": [parent.id, teacher.id]}]));
    let (_, reacted) = react(&server, &teacher, &message, "👍🏽", true).await;
    assert_eq!(reacted["reactions"][1], json!({"emoji": "👍🏽", "count": 1, "user_ids": [teacher.id]}));

    let (status, taken_back) = react(&server, &parent, &message, "🎉", false).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        taken_back["reactions"],
        json!([
            {"emoji": "🎉", "count": 1, "user_ids": [teacher.id]},
            {"emoji": "👍🏽", "count": 1, "user_ids": [teacher.id]},
        ])
    );
    // The history shows the same.
    let (_, page) =
        history(&server, &parent, uuid::Uuid::parse_str(taken_back["conversation_id"].as_str().unwrap()).unwrap(), "")
            .await;
    assert_eq!(page["messages"][0], taken_back);
}

#[actix_web::test]
async fn reacting_twice_or_taking_back_twice_changes_nothing() {
    let server = TestServer::start().await;
    let (_, parent, _, message) = setup(&server).await;
    let (_, once) = react(&server, &parent, &message, "😊", true).await;
    assert_eq!(react(&server, &parent, &message, "😊", true).await, (StatusCode::OK, once.clone()));
    let (_, gone) = react(&server, &parent, &message, "😊", false).await;
    assert_eq!(gone["reactions"], json!([]));
    assert_eq!(react(&server, &parent, &message, "😊", false).await, (StatusCode::OK, gone));
    // Taking back a reaction never given is fine too.
    assert_eq!(react(&server, &parent, &message, "😢", false).await.0, StatusCode::OK);
}

#[actix_web::test]
async fn on_defaults_to_true() {
    let server = TestServer::start().await;
    let (_, parent, _, message) = setup(&server).await;
    let (status, reacted) =
        server.post(&format!("/api/v1/messages/{message}/reactions"), parent.token(), &json!({"emoji": "😮"})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(reacted["reactions"][0]["emoji"], "😮");
}

#[actix_web::test]
async fn quick_reactions_match_with_or_without_fe0f() {
    let server = TestServer::start().await;
    let (teacher, parent, _, message) = setup(&server).await;
    // One person sends the heart with U+FE0F, the other without: one reaction, shown fully qualified.
    react(&server, &parent, &message, "❤\u{fe0f}", true).await;
    let (_, reacted) = react(&server, &teacher, &message, "❤", true).await;
    assert_eq!(reacted["reactions"], json!([{"emoji": "❤\u{fe0f}", "count": 2, "user_ids": [parent.id, teacher.id]}]));
    // Taking it back without FE0F removes the one given with it.
    let (_, reacted) = react(&server, &parent, &message, "❤", false).await;
    assert_eq!(reacted["reactions"], json!([{"emoji": "❤\u{fe0f}", "count": 1, "user_ids": [teacher.id]}]));
    for quick in ["👍", "😊", "😮", "😢", "🎉", "👍\u{fe0f}"] {
        assert_eq!(react(&server, &parent, &message, quick, true).await.0, StatusCode::OK, "{quick}");
    }
    let (_, reacted) = react(&server, &parent, &message, "❤\u{fe0f}", true).await;
    let emoji: Vec<&str> =
        reacted["reactions"].as_array().unwrap().iter().map(|r| r["emoji"].as_str().unwrap()).collect();
    assert_eq!(emoji, ["❤\u{fe0f}", "👍", "😊", "😮", "😢", "🎉"]);
    let stored: Vec<String> =
        sqlx::query_scalar("SELECT DISTINCT emoji FROM reactions WHERE emoji LIKE '%' || chr(65039) || '%'")
            .fetch_all(&server.pool)
            .await
            .unwrap();
    assert!(stored.is_empty(), "stored with U+FE0F: {stored:?}");
}

#[actix_web::test]
async fn anything_but_one_emoji_is_invalid_emoji() {
    let server = TestServer::start().await;
    let (_, parent, _, message) = setup(&server).await;
    let long = "👍".repeat(33);
    for bad in ["", " ", "a", "yes", "👍👍", "👍 ", ":thumbsup:", &long] {
        let (status, response) = react(&server, &parent, &message, bad, true).await;
        assert_eq!((status, error_code(&response)), (StatusCode::BAD_REQUEST, "invalid_emoji"), "{bad:?}");
    }
    for good in ["👨\u{200d}👩\u{200d}👧", "🇫🇷", "1\u{fe0f}\u{20e3}"] {
        assert_eq!(react(&server, &parent, &message, good, true).await.0, StatusCode::OK, "{good:?}");
    }
}

#[actix_web::test]
async fn no_reactions_on_a_deleted_message_and_none_for_outsiders() {
    let server = TestServer::start().await;
    let (teacher, parent, _, message) = setup(&server).await;
    let outsider = person(&server, "outsider", Role::Teacher).await;
    let (status, response) = react(&server, &outsider, &message, "👍", true).await;
    assert_eq!((status, error_code(&response)), (StatusCode::NOT_FOUND, "not_found"));
    react(&server, &parent, &message, "👍", true).await;
    delete(&server, &teacher, &message).await;
    for on in [true, false] {
        let (status, response) = react(&server, &parent, &message, "👍", on).await;
        assert_eq!((status, error_code(&response)), (StatusCode::CONFLICT, "conflict"));
    }
}

#[actix_web::test]
async fn the_read_marker_only_moves_forward_and_stops_at_the_end() {
    let server = TestServer::start().await;
    let (teacher, parent, class, _) = setup(&server).await;
    for i in 2..=5 {
        sent(&server, &teacher, class, &format!("m{i}"), "more").await;
    }
    let cases = [(3, 3), (2, 3), (0, 3), (5, 5), (4, 5), (1_000_000, 5), (i64::MAX, 5)];
    for (seq, marker) in cases {
        let (status, body) = read(&server, &parent, class, seq).await;
        assert_eq!((status, body), (StatusCode::NO_CONTENT, serde_json::Value::Null), "read {seq}");
        assert_eq!(last_read_seq(&server, class, &parent).await, marker, "after reading {seq}");
    }
    // The end moves with new messages; the marker does not until read again.
    sent(&server, &teacher, class, "m6", "one more").await;
    assert_eq!(last_read_seq(&server, class, &parent).await, 5);
    read(&server, &parent, class, 99).await;
    assert_eq!(last_read_seq(&server, class, &parent).await, 6);
}

#[actix_web::test]
async fn a_bad_read_is_refused() {
    let server = TestServer::start().await;
    let (_, parent, class, _) = setup(&server).await;
    let outsider = person(&server, "outsider", Role::Teacher).await;
    let (status, response) = read(&server, &parent, class, -1).await;
    assert_eq!((status, error_code(&response)), (StatusCode::BAD_REQUEST, "invalid_input"));
    assert!(response["error"]["message"].as_str().unwrap().contains("seq"));
    let path = format!("/api/v1/conversations/{class}/read");
    for body in [json!({}), json!({"seq": "3"}), json!({"seq": 1.5})] {
        let (status, response) = server.post(&path, parent.token(), &body).await;
        assert_eq!((status, error_code(&response)), (StatusCode::BAD_REQUEST, "invalid_input"), "{body}");
    }
    let (status, response) = read(&server, &outsider, class, 1).await;
    assert_eq!((status, error_code(&response)), (StatusCode::NOT_FOUND, "not_found"));
    assert_eq!(last_read_seq(&server, class, &parent).await, 0);
}

#[actix_web::test]
async fn unread_counts_follow_sends_reads_and_deletes() {
    let server = TestServer::start().await;
    let teacher = person(&server, "teacher", Role::Teacher).await;
    let mei = person(&server, "mei", Role::Parent).await;
    let ravi = person(&server, "ravi", Role::Parent).await;
    let class = group(&server, &[&teacher, &mei, &ravi]).await;
    assert_eq!(unread(&server, class, &mei).await, 0);

    let first = id_of(&sent(&server, &teacher, class, "t1", "one").await);
    sent(&server, &teacher, class, "t2", "two").await;
    sent(&server, &ravi, class, "r1", "three").await;
    assert_eq!(unread(&server, class, &mei).await, 3);
    assert_eq!(unread(&server, class, &ravi).await, 0, "sending reads everything before one's own message");
    assert_eq!(unread(&server, class, &teacher).await, 1);

    // Mei's own message does not count for her and moves her marker past what came before.
    sent(&server, &mei, class, "m1", "four").await;
    assert_eq!(unread(&server, class, &mei).await, 0);
    assert_eq!(unread(&server, class, &teacher).await, 2);
    let r2 = id_of(&sent(&server, &ravi, class, "r2", "five").await);
    assert_eq!(unread(&server, class, &teacher).await, 3);
    assert_eq!(unread(&server, class, &mei).await, 1);

    // A deleted message no longer counts; deleting one already read changes nothing.
    assert_eq!(delete(&server, &ravi, &r2).await.0, StatusCode::OK);
    assert_eq!(unread(&server, class, &mei).await, 0);
    assert_eq!(unread(&server, class, &teacher).await, 2);
    assert_eq!(delete(&server, &teacher, &first).await.0, StatusCode::OK);
    assert_eq!(unread(&server, class, &mei).await, 0);
    assert_eq!(unread(&server, class, &teacher).await, 2);

    // Reading moves the counts down, and never back up.
    read(&server, &teacher, class, 3).await;
    assert_eq!(unread(&server, class, &teacher).await, 1);
    read(&server, &teacher, class, 5).await;
    assert_eq!(unread(&server, class, &teacher).await, 0);
    read(&server, &teacher, class, 1).await;
    assert_eq!(unread(&server, class, &teacher).await, 0);
    sent(&server, &ravi, class, "r3", "six").await;
    assert_eq!((unread(&server, class, &teacher).await, unread(&server, class, &mei).await), (1, 1));
}

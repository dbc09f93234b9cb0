//! Full-text search over the caller's conversations, over real HTTP against a real PostgreSQL.

mod support;

use hallway_protocol::Role;
use hallway_test_support::{TestServer, error_code};
use reqwest::StatusCode;
use serde_json::Value;
use support::*;

async fn search(server: &TestServer, who: &Person, query: &str) -> (StatusCode, Value) {
    server.get(&format!("/api/v1/search?{query}"), who.token()).await
}

/// The bodies of the hits, in order.
fn bodies(results: &Value) -> Vec<String> {
    results["results"]
        .as_array()
        .map(|hits| hits.iter().map(|h| h["message"]["body"].as_str().unwrap_or_default().to_owned()).collect())
        .unwrap_or_default()
}

fn encode(q: &str) -> String {
    q.bytes().map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

#[actix_web::test]
async fn finds_words_and_prefixes_whatever_the_case_and_accents_newest_first() {
    let server = TestServer::start().await;
    let teacher = person(&server, "teacher", Role::Teacher).await;
    let parent = person(&server, "parent", Role::Parent).await;
    let chat = direct(&server, &teacher, &parent).await;
    sent(&server, &teacher, chat, "1", "The homework is due on Friday").await;
    sent(&server, &parent, chat, "2", "Which homework? The maths one?").await;
    sent(&server, &teacher, chat, "3", "Élodie's café trip is next week").await;
    sent(&server, &teacher, chat, "4", "Nothing to see here").await;

    let (status, results) = search(&server, &parent, "q=homework").await;
    assert_eq!(status, StatusCode::OK, "{results}");
    assert_eq!(bodies(&results), ["Which homework? The maths one?", "The homework is due on Friday"]);
    let hit = &results["results"][1];
    assert_eq!(hit["conversation_id"], chat.to_string());
    assert_eq!(hit["seq"], 1);
    assert_eq!(hit["message"]["seq"], 1);
    assert_eq!(hit["message"]["sender_id"], teacher.id.to_string());

    for q in ["HOMEWORK", "home", "homework friday", "Homew%20FRI"] {
        let (_, results) = search(&server, &parent, &format!("q={q}")).await;
        assert!(bodies(&results).contains(&"The homework is due on Friday".to_owned()), "{q}: {results}");
    }
    for q in ["elodie", "ÉLODIE", "cafe", "Café"] {
        let (_, results) = search(&server, &teacher, &format!("q={}", encode(q))).await;
        assert_eq!(bodies(&results), ["Élodie's café trip is next week"], "{q}");
    }
    let (_, results) = search(&server, &parent, "q=homework%20saturday").await;
    assert_eq!(bodies(&results), Vec::<String>::new(), "every word must match");
    let (_, results) = search(&server, &parent, "q=homework&limit=1").await;
    assert_eq!(bodies(&results), ["Which homework? The maths one?"]);
}

#[actix_web::test]
async fn only_conversations_the_caller_is_in_now_are_searched() {
    let server = TestServer::start().await;
    let teacher = person(&server, "teacher", Role::Teacher).await;
    let mei = person(&server, "mei", Role::Parent).await;
    let ravi = person(&server, "ravi", Role::Parent).await;
    let with_mei = direct(&server, &teacher, &mei).await;
    let with_ravi = direct(&server, &teacher, &ravi).await;
    sent(&server, &teacher, with_mei, "1", "secret plans for the party").await;
    sent(&server, &teacher, with_ravi, "2", "secret recipe for the party").await;

    assert_eq!(bodies(&search(&server, &mei, "q=secret").await.1), ["secret plans for the party"]);
    assert_eq!(bodies(&search(&server, &ravi, "q=secret").await.1), ["secret recipe for the party"]);
    assert_eq!(bodies(&search(&server, &teacher, "q=secret").await.1).len(), 2);
    let outsider = person(&server, "outsider", Role::Teacher).await;
    assert_eq!(bodies(&search(&server, &outsider, "q=secret").await.1), Vec::<String>::new());
    // Removed from the chat, Mei finds nothing in it, her own messages included.
    sent(&server, &mei, with_mei, "3", "secret handshake").await;
    remove_member(&server, with_mei, &mei).await;
    assert_eq!(bodies(&search(&server, &mei, "q=secret").await.1), Vec::<String>::new());
}

#[actix_web::test]
async fn deleted_messages_are_not_found_and_edits_are() {
    let server = TestServer::start().await;
    let teacher = person(&server, "teacher", Role::Teacher).await;
    let parent = person(&server, "parent", Role::Parent).await;
    let chat = direct(&server, &teacher, &parent).await;
    let gone = id_of(&sent(&server, &teacher, chat, "1", "the giraffe escaped").await);
    let changed = id_of(&sent(&server, &teacher, chat, "2", "the zebra escaped").await);
    delete(&server, &teacher, &gone).await;
    edit(&server, &teacher, &changed, "the penguin escaped").await;
    assert_eq!(bodies(&search(&server, &parent, "q=giraffe").await.1), Vec::<String>::new());
    assert_eq!(bodies(&search(&server, &parent, "q=zebra").await.1), Vec::<String>::new());
    assert_eq!(bodies(&search(&server, &parent, "q=escaped").await.1), ["the penguin escaped"]);
}

#[actix_web::test]
async fn bad_searches_are_refused_and_syntax_in_the_text_is_just_text() {
    let server = TestServer::start().await;
    let teacher = person(&server, "teacher", Role::Teacher).await;
    let parent = person(&server, "parent", Role::Parent).await;
    let chat = direct(&server, &teacher, &parent).await;
    sent(&server, &teacher, chat, "1", "O'Brien's note: 1/2 day (Friday) & no bus!").await;
    for query in ["", "q=", "q=%20%20", "limit=5", "q=a&limit=0", "q=a&limit=101", "q=a&limit=x"] {
        let (status, response) = search(&server, &parent, query).await;
        assert_eq!((status, error_code(&response)), (StatusCode::BAD_REQUEST, "invalid_input"), "{query}");
    }
    let (status, response) = search(&server, &parent, &format!("q={}", "a".repeat(257))).await;
    assert_eq!((status, error_code(&response)), (StatusCode::BAD_REQUEST, "invalid_input"));
    // tsquery operators, quotes, backslashes and letters that unaccent turns into syntax (⑴ → "(1)",
    // ʼ → "'", ½ → " 1/2") are searched for as text, never a 500.
    for q in ["&", "!", "friday & !bus", "'", "''", "\\", "a:*", "(friday", "<->", "⑴", "ʼ", "½", "Oʼbrien", "o'brien"]
    {
        let (status, results) = search(&server, &parent, &format!("q={}", encode(q))).await;
        assert_eq!(status, StatusCode::OK, "{q:?}: {results}");
    }
    assert_eq!(bodies(&search(&server, &parent, &format!("q={}", encode("(friday) & bus!"))).await.1).len(), 1);
    assert_eq!(bodies(&search(&server, &parent, &format!("q={}", encode("o'brien"))).await.1).len(), 1);
}

#[actix_web::test]
async fn search_needs_a_token() {
    let server = TestServer::start().await;
    let (status, response) = server.get("/api/v1/search?q=hello", None).await;
    assert_eq!((status, error_code(&response)), (StatusCode::UNAUTHORIZED, "unauthenticated"));
}

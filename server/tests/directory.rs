//! The directory (`GET /users`) over real HTTP: whom each role may find under the policy, search, filters
//! and paging.
#![expect(clippy::unwrap_used, reason = "helpers, like the tests, fail the test loudly on an unexpected answer")]

use hallway_protocol::Role;
use hallway_server::store::{self, users::NewUser, users::UserRow};
use hallway_test_support::{TestServer, error_code};
use reqwest::StatusCode;
use serde_json::Value;

/// A person who never signs in (no password), with a chosen display name.
async fn person(server: &TestServer, username: &str, display_name: &str, role: Role) -> UserRow {
    let new = NewUser { username, email: None, display_name, role, password_hash: None };
    store::users::insert(&server.pool, &new).await.unwrap()
}

/// `GET /users` with a query string; the usernames listed, in order, when it succeeds.
async fn directory(server: &TestServer, token: &str, query: &str) -> (StatusCode, Value, Vec<String>) {
    let (status, body) = server.get(&format!("/api/v1/users{query}"), Some(token)).await;
    let names = body["users"]
        .as_array()
        .map(|users| users.iter().map(|u| u["username"].as_str().unwrap().to_owned()).collect())
        .unwrap_or_default();
    (status, body, names)
}

fn sorted(mut names: Vec<String>) -> Vec<String> {
    names.sort();
    names
}

/// One person of each role besides the caller's own account.
async fn school(server: &TestServer) {
    for (username, role) in [
        ("fix_admin", Role::Admin),
        ("fix_teacher", Role::Teacher),
        ("fix_parent", Role::Parent),
        ("fix_student", Role::Student),
    ] {
        server.create_user(username, role).await;
    }
}

#[actix_web::test]
async fn a_parent_sees_teachers_and_admins_but_not_parents_or_students() {
    let server = TestServer::start().await;
    school(&server).await;
    let (_, tokens) = server.signed_in("mei", Role::Parent).await;
    let (status, body, names) = directory(&server, &tokens.access_token, "").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(sorted(names), ["fix_admin", "fix_teacher"]);
    let admin = &body["users"][0];
    assert_eq!(admin["role"], "admin");
    assert_eq!(admin["display_name"], "fix_admin Display");
    assert!(admin["id"].is_string() && admin["avatar_url"].is_null());
}

#[actix_web::test]
async fn each_role_sees_exactly_whom_the_default_policy_lets_them_message_and_never_themselves() {
    let server = TestServer::start().await;
    school(&server).await;
    let everyone = ["fix_admin", "fix_parent", "fix_student", "fix_teacher"];
    let cases: [(&str, Role, &[&str]); 4] = [
        ("me_admin", Role::Admin, &everyone),
        ("me_teacher", Role::Teacher, &everyone),
        ("me_parent", Role::Parent, &["fix_admin", "fix_teacher"]),
        ("me_student", Role::Student, &["fix_admin", "fix_teacher"]),
    ];
    let mut signed_in = Vec::new();
    for (username, role, _) in cases {
        signed_in.push(server.signed_in(username, role).await.1);
    }
    for ((username, role, expected), tokens) in cases.into_iter().zip(&signed_in) {
        let (status, _, names) = directory(&server, &tokens.access_token, "?q=fix&limit=200").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(sorted(names), expected, "{role:?}");
        // Without a search, the caller is still absent (the other callers are there when reachable).
        let (_, _, all) = directory(&server, &tokens.access_token, "?limit=200").await;
        assert!(!all.iter().any(|n| n == username), "{username} listed to themselves");
    }
}

#[actix_web::test]
async fn a_policy_change_applies_to_the_directory_at_once() {
    let server = TestServer::start().await;
    school(&server).await;
    let (_, tokens) = server.signed_in("mei", Role::Parent).await;
    server.state.policy.write().unwrap().set(Role::Parent, Role::Parent, true);
    let (_, _, names) = directory(&server, &tokens.access_token, "").await;
    assert_eq!(sorted(names), ["fix_admin", "fix_parent", "fix_teacher"]);
}

#[actix_web::test]
async fn search_ignores_letter_case_and_accents_in_names_and_usernames() {
    let server = TestServer::start().await;
    person(&server, "jalvarez", "José Álvarez", Role::Teacher).await;
    person(&server, "emartin", "ÉLODIE Martin", Role::Teacher).await;
    person(&server, "mchen", "Mei Chen", Role::Teacher).await;
    person(&server, "zoe.k", "Zoë Kowalski", Role::Admin).await;
    let (_, tokens) = server.signed_in("searcher", Role::Teacher).await;
    let token = &tokens.access_token;
    let cases: [(&str, &[&str]); 10] = [
        ("jose", &["jalvarez"]),
        ("JOSÉ", &["jalvarez"]),
        ("alvarez", &["jalvarez"]),
        ("elodie", &["emartin"]),
        ("Élodie", &["emartin"]),
        ("zoe", &["zoe.k"]),
        // Any part of a name: the middle of a surname, and words in any order.
        ("owal", &["zoe.k"]),
        ("chen%20mei", &["mchen"]),
        // The username counts too.
        ("MCHEN", &["mchen"]),
        ("nobody", &[]),
    ];
    for (q, expected) in cases {
        let (status, body, names) = directory(&server, token, &format!("?q={q}")).await;
        assert_eq!(status, StatusCode::OK, "{q}: {body}");
        assert_eq!(names, expected, "q={q}");
    }
    // Characters with a meaning in SQL patterns are plain text.
    let (_, _, names) = directory(&server, token, "?q=%25").await;
    assert!(names.is_empty(), "{names:?}");
}

#[actix_web::test]
async fn results_are_ordered_by_display_name_ignoring_case_and_accents() {
    let server = TestServer::start().await;
    for (username, display_name) in [("u1", "zoe Young"), ("u2", "Émile Zola"), ("u3", "adam Smith"), ("u4", "Bea Ray")]
    {
        person(&server, username, display_name, Role::Teacher).await;
    }
    let (_, tokens) = server.signed_in("zzz_caller", Role::Teacher).await;
    let (_, body, _) = directory(&server, &tokens.access_token, "?role=teacher").await;
    let names: Vec<&str> =
        body["users"].as_array().unwrap().iter().map(|u| u["display_name"].as_str().unwrap()).collect();
    assert_eq!(names, ["adam Smith", "Bea Ray", "Émile Zola", "zoe Young"]);
}

#[actix_web::test]
async fn the_role_filter_narrows_the_list_and_an_unknown_role_is_invalid_input() {
    let server = TestServer::start().await;
    school(&server).await;
    let (_, teacher) = server.signed_in("me_teacher", Role::Teacher).await;
    let (_, parent) = server.signed_in("me_parent", Role::Parent).await;

    let (_, _, names) = directory(&server, &teacher.access_token, "?role=student").await;
    assert_eq!(names, ["fix_student"]);
    let (_, _, names) = directory(&server, &teacher.access_token, "?role=parent").await;
    assert_eq!(sorted(names), ["fix_parent", "me_parent"]);
    // A role the caller may not reach is an empty answer, not an error.
    let (status, _, names) = directory(&server, &parent.access_token, "?role=student").await;
    assert_eq!((status, names.len()), (StatusCode::OK, 0));

    for bad in ["janitor", "Teacher", "admin,teacher"] {
        let (status, body, _) = directory(&server, &teacher.access_token, &format!("?role={bad}")).await;
        assert_eq!((status, error_code(&body)), (StatusCode::BAD_REQUEST, "invalid_input"), "{bad}");
        assert!(body["error"]["message"].as_str().unwrap().starts_with("role"), "{body}");
    }
}

#[actix_web::test]
async fn empty_query_values_count_as_absent() {
    let server = TestServer::start().await;
    school(&server).await;
    let (_, tokens) = server.signed_in("me_parent", Role::Parent).await;
    let (status, _, names) = directory(&server, &tokens.access_token, "?q=&role=&limit=&offset=").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(sorted(names), ["fix_admin", "fix_teacher"]);
}

#[actix_web::test]
async fn limit_defaults_to_50_and_pages_with_offset_without_overlap() {
    let server = TestServer::start().await;
    sqlx::query(
        "INSERT INTO users (id, username, display_name, role)
         SELECT gen_random_uuid(), 'teacher' || i, 'Teacher ' || lpad(i::text, 3, '0'), 'teacher'
         FROM generate_series(1, 60) AS i",
    )
    .execute(&server.pool)
    .await
    .unwrap();
    let (_, tokens) = server.signed_in("me", Role::Parent).await;
    let token = &tokens.access_token;
    let (_, _, names) = directory(&server, token, "").await;
    assert_eq!(names.len(), 50);
    assert_eq!(names[0], "teacher1");

    let mut paged = Vec::new();
    for offset in (0..70).step_by(7) {
        let (status, _, page) = directory(&server, token, &format!("?limit=7&offset={offset}")).await;
        assert_eq!(status, StatusCode::OK);
        paged.extend(page);
    }
    let (_, _, all) = directory(&server, token, "?limit=200").await;
    assert_eq!(all.len(), 60);
    assert_eq!(paged, all);
}

#[actix_web::test]
async fn limit_and_offset_out_of_range_are_invalid_paging_naming_the_field() {
    let server = TestServer::start().await;
    let (_, tokens) = server.signed_in("me", Role::Teacher).await;
    for (query, field) in [
        ("?limit=0", "limit"),
        ("?limit=201", "limit"),
        ("?limit=-1", "limit"),
        ("?limit=ten", "limit"),
        ("?limit=1.5", "limit"),
        ("?offset=-1", "offset"),
        ("?offset=x", "offset"),
    ] {
        let (status, body, _) = directory(&server, &tokens.access_token, query).await;
        assert_eq!((status, error_code(&body)), (StatusCode::BAD_REQUEST, "invalid_paging"), "{query}");
        assert!(body["error"]["message"].as_str().unwrap().starts_with(field), "{query}: {body}");
    }
    for query in ["?limit=1", "?limit=200", "?offset=0", "?offset=100000"] {
        assert_eq!(directory(&server, &tokens.access_token, query).await.0, StatusCode::OK, "{query}");
    }
}

#[actix_web::test]
async fn an_overlong_search_is_invalid_input() {
    let server = TestServer::start().await;
    let (_, tokens) = server.signed_in("me", Role::Teacher).await;
    let (status, body, _) = directory(&server, &tokens.access_token, &format!("?q={}", "a".repeat(129))).await;
    assert_eq!((status, error_code(&body)), (StatusCode::BAD_REQUEST, "invalid_input"));
    assert!(body["error"]["message"].as_str().unwrap().starts_with('q'));
}

#[actix_web::test]
async fn deactivated_people_are_hidden() {
    let server = TestServer::start().await;
    let gone = server.create_user("teacher_gone", Role::Teacher).await;
    server.create_user("teacher_here", Role::Teacher).await;
    store::users::set_deactivated(&server.pool, gone.id, true).await.unwrap();
    let (_, tokens) = server.signed_in("me", Role::Parent).await;
    let (_, _, names) = directory(&server, &tokens.access_token, "").await;
    assert_eq!(names, ["teacher_here"]);
    let (_, _, names) = directory(&server, &tokens.access_token, "?q=gone").await;
    assert!(names.is_empty());
}

#[actix_web::test]
async fn the_directory_needs_a_token() {
    let server = TestServer::start().await;
    let (status, body) = server.get("/api/v1/users", None).await;
    assert_eq!((status, error_code(&body)), (StatusCode::UNAUTHORIZED, "unauthenticated"));
}

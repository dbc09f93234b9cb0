//! The admins' people endpoints over real HTTP: search, create with an activation code, redeem it, rename,
//! change role, deactivate (sockets close at once) and reactivate, reset codes, guardians, and the rule that
//! only school admins reach any admin endpoint.

use std::time::Duration;

use hallway_protocol::Role;
use hallway_test_support::ws::WsClient;
use hallway_test_support::{PASSWORD, TestServer, error_code};
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

/// Every admin endpoint: method and path (ids are random: the permission check comes before any look-up).
fn admin_routes() -> Vec<(&'static str, String)> {
    let id = Uuid::now_v7();
    let other = Uuid::now_v7();
    vec![
        ("GET", "/api/v1/admin/users".into()),
        ("GET", "/api/v1/admin/groups".into()),
        ("POST", "/api/v1/admin/users".into()),
        ("GET", format!("/api/v1/admin/users/{id}")),
        ("PATCH", format!("/api/v1/admin/users/{id}")),
        ("POST", format!("/api/v1/admin/users/{id}/deactivate")),
        ("POST", format!("/api/v1/admin/users/{id}/reactivate")),
        ("POST", format!("/api/v1/admin/users/{id}/reset")),
        ("POST", format!("/api/v1/admin/users/{id}/children")),
        ("DELETE", format!("/api/v1/admin/users/{id}/children/{other}")),
        ("POST", "/api/v1/admin/import".into()),
        ("POST", "/api/v1/admin/import?dry_run=true".into()),
        ("GET", "/api/v1/admin/audit".into()),
        ("GET", "/api/v1/admin/stats".into()),
        ("GET", "/api/v1/admin/policy".into()),
        ("PUT", "/api/v1/admin/policy".into()),
    ]
}

async fn call(server: &TestServer, method: &str, path: &str, token: Option<&str>) -> (StatusCode, Value) {
    let request = match method {
        "GET" => server.client.get(server.url(path)),
        "POST" => server.client.post(server.url(path)),
        "PATCH" => server.client.patch(server.url(path)),
        "PUT" => server.client.put(server.url(path)),
        "DELETE" => server.client.delete(server.url(path)),
        other => panic!("unknown method {other}"),
    };
    // A body no endpoint accepts: the caller's role is checked before anything else.
    let request = request.json(&json!({"nonsense": true}));
    server.send(request, token).await
}

async fn admin(server: &TestServer) -> String {
    server.signed_in("principal", Role::Admin).await.1.access_token
}

#[actix_web::test]
async fn teachers_parents_and_students_get_403_on_every_admin_endpoint_and_strangers_401() {
    let server = TestServer::start().await;
    let routes = admin_routes();
    for (username, role) in [("teacher", Role::Teacher), ("parent", Role::Parent), ("student", Role::Student)] {
        let token = server.signed_in(username, role).await.1.access_token;
        for (method, path) in &routes {
            let (status, body) = call(&server, method, path, Some(&token)).await;
            assert_eq!(
                (status, error_code(&body)),
                (StatusCode::FORBIDDEN, "forbidden"),
                "{username}: {method} {path}"
            );
        }
    }
    for (method, path) in &routes {
        let (status, body) = call(&server, method, path, None).await;
        assert_eq!((status, error_code(&body)), (StatusCode::UNAUTHORIZED, "unauthenticated"), "{method} {path}");
    }
    let admin = admin(&server).await;
    let (status, _) = call(&server, "GET", "/api/v1/admin/users", Some(&admin)).await;
    assert_eq!(status, StatusCode::OK);
}

#[actix_web::test]
async fn a_created_person_activates_once_with_their_code_and_is_signed_in() {
    let server = TestServer::start().await;
    let admin = admin(&server).await;
    let (status, created) = server
        .post(
            "/api/v1/admin/users",
            Some(&admin),
            &json!({"username": "Mei.Chen", "display_name": "  Mei Chen ", "role": "parent", "email": "mei@school.example"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let user = &created["user"];
    assert_eq!(user["username"], "Mei.Chen");
    assert_eq!(user["display_name"], "Mei Chen");
    assert_eq!(user["role"], "parent");
    assert_eq!(user["email"], "mei@school.example");
    assert_eq!(user["status"], "not_activated");
    assert!(user["last_seen_at"].is_null());
    let code = created["activation"]["code"].as_str().unwrap().to_owned();
    assert_eq!(code.len(), 14, "{code}");

    // Not activated: no password works yet.
    let (status, _) = server.post("/api/v1/auth/login", None, &json!({"login": "mei.chen", "password": ""})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Too short a password is refused without using the code up.
    let (status, body) = server.post("/api/v1/auth/activate", None, &json!({"code": code, "password": "short"})).await;
    assert_eq!((status, error_code(&body)), (StatusCode::BAD_REQUEST, "invalid_input"));

    // Typed in lower case with spaces instead of dashes: still the code.
    let typed = code.to_lowercase().replace('-', " ");
    let (status, tokens) =
        server.post("/api/v1/auth/activate", None, &json!({"code": typed, "password": "my own password"})).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(tokens["user"]["username"], "Mei.Chen");
    let (status, me) = server.get("/api/v1/me", tokens["access_token"].as_str()).await;
    assert_eq!((status, me["username"].as_str()), (StatusCode::OK, Some("Mei.Chen")));
    server.login("mei.chen", "my own password").await;

    // Once and never again.
    let (status, body) =
        server.post("/api/v1/auth/activate", None, &json!({"code": code, "password": "another password"})).await;
    assert_eq!((status, error_code(&body)), (StatusCode::UNAUTHORIZED, "invalid_activation_code"));
    server.login("mei.chen", "my own password").await;

    let id = user["id"].as_str().unwrap();
    let (_, view) = server.get(&format!("/api/v1/admin/users/{id}"), Some(&admin)).await;
    assert_eq!(view["status"], "active");
    // The code itself is never stored in clear.
    let stored: i64 =
        sqlx::query_scalar("SELECT count(*) FROM activation_codes WHERE code_hash = convert_to($1, 'UTF8')")
            .bind(code.replace('-', ""))
            .fetch_one(&server.pool)
            .await
            .unwrap();
    assert_eq!(stored, 0);
}

#[actix_web::test]
async fn a_person_may_choose_their_own_username_when_activating_and_a_taken_one_keeps_the_code() {
    let server = TestServer::start().await;
    let admin = admin(&server).await;
    server.create_user("rivera", Role::Teacher).await;
    let (_, created) = server
        .post(
            "/api/v1/admin/users",
            Some(&admin),
            &json!({"username": "p-4411", "display_name": "Mei", "role": "parent"}),
        )
        .await;
    let code = created["activation"]["code"].as_str().unwrap().to_owned();
    let activate = |username: &str| json!({"code": code, "password": "my own password", "username": username});

    // Taken, or a look-alike of a taken one (Cyrillic "р" and "е"): 409, and the code is not used up.
    for taken in ["Rivera", "rіvеra"] {
        let (status, body) = server.post("/api/v1/auth/activate", None, &activate(taken)).await;
        assert_eq!((status, error_code(&body)), (StatusCode::CONFLICT, "conflict"), "{taken}: {body}");
    }
    let (status, body) = server.post("/api/v1/auth/activate", None, &activate("no spaces allowed")).await;
    assert_eq!((status, error_code(&body)), (StatusCode::BAD_REQUEST, "invalid_input"), "{body}");

    let (status, tokens) = server.post("/api/v1/auth/activate", None, &activate("mei.chen")).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(tokens["user"]["username"], "mei.chen");
    server.login("Mei.Chen", "my own password").await;
    let (status, _) =
        server.post("/api/v1/auth/login", None, &json!({"login": "p-4411", "password": "my own password"})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the school's name is gone");
    let (_, audit) = server.get("/api/v1/admin/audit?action=user.activate", Some(&admin)).await;
    assert_eq!(audit["entries"][0]["details"]["username"], json!({"from": "p-4411", "to": "mei.chen"}), "{audit}");
}

#[actix_web::test]
async fn unknown_and_expired_codes_fail_and_failures_are_rate_limited() {
    let server = TestServer::start_with(|c| c.limits.login_failures_per_address = 4).await;
    let admin = admin(&server).await;
    let (_, created) = server
        .post(
            "/api/v1/admin/users",
            Some(&admin),
            &json!({"username": "ravi", "display_name": "Ravi", "role": "teacher"}),
        )
        .await;
    let code = created["activation"]["code"].as_str().unwrap().to_owned();
    sqlx::query("UPDATE activation_codes SET expires_at = now() - interval '1 second'")
        .execute(&server.pool)
        .await
        .unwrap();
    for attempt in [code.as_str(), "ACDE-FGHJ-KMNP", "nonsense"] {
        let (status, body) =
            server.post("/api/v1/auth/activate", None, &json!({"code": attempt, "password": "a fine password"})).await;
        assert_eq!((status, error_code(&body)), (StatusCode::UNAUTHORIZED, "invalid_activation_code"), "{attempt}");
    }
    // A fresh code after a reset works, but this address has used up its failures.
    let (status, fresh) = server
        .post(
            &format!("/api/v1/admin/users/{}/reset", created["user"]["id"].as_str().unwrap()),
            Some(&admin),
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{fresh}");
    server.post("/api/v1/auth/activate", None, &json!({"code": "ACDE-FGHJ-KMNP", "password": "a fine password"})).await;
    let (status, body) = server
        .post("/api/v1/auth/activate", None, &json!({"code": fresh["code"], "password": "a fine password"}))
        .await;
    assert_eq!((status, error_code(&body)), (StatusCode::TOO_MANY_REQUESTS, "rate_limited"));
}

#[actix_web::test]
async fn a_reset_kills_older_codes_but_signs_nobody_out() {
    let server = TestServer::start().await;
    let admin = admin(&server).await;
    let (mei, tokens) = server.signed_in("mei", Role::Parent).await;
    let (status, first) = server.post(&format!("/api/v1/admin/users/{}/reset", mei.id), Some(&admin), &json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let (_, second) = server.post(&format!("/api/v1/admin/users/{}/reset", mei.id), Some(&admin), &json!({})).await;
    assert_ne!(first["code"], second["code"]);
    assert!(second["expires_at"].as_str().is_some());

    // The device that is signed in stays signed in, and the old password works until the code is used.
    let (status, _) = server.get("/api/v1/me", Some(&tokens.access_token)).await;
    assert_eq!(status, StatusCode::OK);
    server.login("mei", PASSWORD).await;

    let (status, _) =
        server.post("/api/v1/auth/activate", None, &json!({"code": first["code"], "password": "new password!"})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the older code died");
    let (status, _) =
        server.post("/api/v1/auth/activate", None, &json!({"code": second["code"], "password": "new password!"})).await;
    assert_eq!(status, StatusCode::OK);
    server.login("mei", "new password!").await;
    let (status, _) = server.post("/api/v1/auth/login", None, &json!({"login": "mei", "password": PASSWORD})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = server.get("/api/v1/me", Some(&tokens.access_token)).await;
    assert_eq!(status, StatusCode::OK, "a reset does not sign out the phone that still works");
}

#[actix_web::test]
async fn creating_checks_usernames_emails_and_duplicates() {
    let server = TestServer::start().await;
    let admin = admin(&server).await;
    let create = |body: Value| {
        let (server, admin) = (&server, &admin);
        async move { server.post("/api/v1/admin/users", Some(admin), &body).await }
    };
    for bad in [
        json!({"username": "two words", "display_name": "X", "role": "teacher"}),
        json!({"username": "", "display_name": "X", "role": "teacher"}),
        json!({"username": "x".repeat(65), "display_name": "X", "role": "teacher"}),
        json!({"username": "ok", "display_name": "  ", "role": "teacher"}),
        json!({"username": "ok", "display_name": "X", "role": "teacher", "email": "not-an-email"}),
    ] {
        let (status, body) = create(bad.clone()).await;
        assert_eq!((status, error_code(&body)), (StatusCode::BAD_REQUEST, "invalid_input"), "{bad}");
    }
    let (status, _) = create(json!({"username": "x", "display_name": "X", "role": "janitor"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) =
        create(json!({"username": "Ana", "display_name": "Ana", "role": "student", "email": "ana@s.example"})).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = create(json!({"username": "ANA", "display_name": "Ana 2", "role": "student"})).await;
    assert_eq!((status, error_code(&body)), (StatusCode::CONFLICT, "conflict"));
    let (status, body) =
        create(json!({"username": "ana2", "display_name": "Ana 2", "role": "student", "email": "ANA@s.example"})).await;
    assert_eq!((status, error_code(&body)), (StatusCode::CONFLICT, "conflict"));
}

#[actix_web::test]
async fn the_list_searches_names_usernames_and_emails_ignoring_case_and_accents_and_filters() {
    let server = TestServer::start().await;
    let admin = admin(&server).await;
    for (username, name, role, email) in [
        ("jose", "José Álvarez", "teacher", "jose@school.example"),
        ("elodie", "ÉLODIE Martin", "parent", "e.martin@home.example"),
        ("kid1", "Kim Lee", "student", "kim@home.example"),
    ] {
        let body = json!({"username": username, "display_name": name, "role": role, "email": email});
        let (status, _) = server.post("/api/v1/admin/users", Some(&admin), &body).await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let names = |page: &Value| -> Vec<String> {
        page["users"].as_array().unwrap().iter().map(|u| u["username"].as_str().unwrap().to_owned()).collect()
    };
    for (query, expected) in [
        ("q=ALVAREZ", vec!["jose"]),
        ("q=elodie", vec!["elodie"]),
        ("q=HOME.example", vec!["elodie", "kid1"]),
        ("q=martin%20%C3%A9lo", vec!["elodie"]),
        ("role=student", vec!["kid1"]),
        ("status=active", vec!["principal"]),
        ("status=not_activated&role=teacher", vec!["jose"]),
    ] {
        let (status, page) = server.get(&format!("/api/v1/admin/users?{query}"), Some(&admin)).await;
        assert_eq!(status, StatusCode::OK, "{query}: {page}");
        assert_eq!(names(&page), expected, "{query}");
        assert_eq!(page["total"], expected.len(), "{query}");
    }
    // Paging: ordered by display name, pages never overlap, the total counts them all.
    let (_, first) = server.get("/api/v1/admin/users?limit=2", Some(&admin)).await;
    let (_, second) = server.get("/api/v1/admin/users?limit=2&offset=2", Some(&admin)).await;
    assert_eq!(first["total"], 4);
    assert_eq!([names(&first), names(&second)].concat(), vec!["elodie", "jose", "kid1", "principal"]);
    let user = &first["users"][0];
    for key in ["id", "email", "status", "created_at", "last_seen_at", "children", "guardians"] {
        assert!(user.get(key).is_some(), "{key} missing from {user}");
    }
    for bad in ["limit=0", "limit=201", "offset=-1", "role=janitor", "status=sleeping"] {
        let (status, _) = server.get(&format!("/api/v1/admin/users?{bad}"), Some(&admin)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    }
}

#[actix_web::test]
async fn a_class_lists_its_members_and_its_students_guardians_each_once() {
    use hallway_protocol::ConversationKind;
    let server = TestServer::start().await;
    let admin = admin(&server).await;
    let teacher = server.create_user("rivera", Role::Teacher).await;
    let kid1 = server.create_user("kid1", Role::Student).await;
    let kid2 = server.create_user("kid2", Role::Student).await;
    let kid3 = server.create_user("kid3", Role::Student).await;
    // Mei has both children in the class, Ana one, Olu's child is in another class.
    let mei = server.create_user("mei", Role::Parent).await;
    let ana = server.create_user("ana", Role::Parent).await;
    let olu = server.create_user("olu", Role::Parent).await;
    for (parent, student) in [(mei.id, kid1.id), (mei.id, kid2.id), (ana.id, kid2.id), (olu.id, kid3.id)] {
        let path = format!("/api/v1/admin/users/{parent}/children");
        let (status, body) = server.post(&path, Some(&admin), &json!({"student_id": student})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let class =
        server.create_conversation(ConversationKind::Group, Some("Class 5A"), teacher.id, &[kid1.id, kid2.id]).await;
    server.create_conversation(ConversationKind::Group, Some("chess club"), teacher.id, &[kid3.id]).await;
    let direct = server.create_conversation(ConversationKind::Direct, None, teacher.id, &[olu.id]).await;

    let (status, list) = server.get("/api/v1/admin/groups", Some(&admin)).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    // By name ignoring case; direct chats are not groups.
    assert_eq!(
        list["groups"],
        json!([
            {"id": list["groups"][0]["id"], "name": "chess club", "members": 2},
            {"id": class, "name": "Class 5A", "members": 3},
        ])
    );

    let names = |page: &Value| -> Vec<String> {
        page["users"].as_array().unwrap().iter().map(|u| u["username"].as_str().unwrap().to_owned()).collect()
    };
    for (query, expected) in [
        (format!("group={class}"), vec!["ana", "kid1", "kid2", "mei", "rivera"]),
        (format!("group={class}&role=parent"), vec!["ana", "mei"]),
        (format!("group={class}&role=parent&q=mei"), vec!["mei"]),
        (format!("group={class}&limit=2&offset=2"), vec!["kid2", "mei"]),
        (format!("group={direct}"), vec![]),
        (format!("group={}", Uuid::now_v7()), vec![]),
    ] {
        let (status, page) = server.get(&format!("/api/v1/admin/users?{query}"), Some(&admin)).await;
        assert_eq!(status, StatusCode::OK, "{query}: {page}");
        assert_eq!(names(&page), expected, "{query}");
    }
    let (_, page) = server.get(&format!("/api/v1/admin/users?group={class}&limit=2"), Some(&admin)).await;
    assert_eq!(page["total"], 5, "the total counts Mei once");
    let (status, body) = server.get("/api/v1/admin/users?group=class-5a", Some(&admin)).await;
    assert_eq!((status, error_code(&body)), (StatusCode::BAD_REQUEST, "invalid_input"));
}

#[actix_web::test]
async fn renaming_and_changing_roles_are_audited_and_guarded() {
    let server = TestServer::start().await;
    let (principal, tokens) = server.signed_in("principal", Role::Admin).await;
    let admin = tokens.access_token;
    let teacher = server.create_user("ravi", Role::Teacher).await;
    let path = format!("/api/v1/admin/users/{}", teacher.id);
    let (status, view) =
        server.patch(&path, Some(&admin), &json!({"display_name": "Mr. Singh", "role": "admin"})).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!((view["display_name"].as_str(), view["role"].as_str()), (Some("Mr. Singh"), Some("admin")));

    let (status, body) =
        server.patch(&format!("/api/v1/admin/users/{}", principal.id), Some(&admin), &json!({"role": "teacher"})).await;
    assert_eq!((status, error_code(&body)), (StatusCode::FORBIDDEN, "forbidden"));
    let (status, _) = server.patch(&path, Some(&admin), &json!({"display_name": ""})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = server.patch(&format!("/api/v1/admin/users/{}", Uuid::now_v7()), Some(&admin), &json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let parent = server.create_user("mei", Role::Parent).await;
    let student = server.create_user("lily", Role::Student).await;
    let children = format!("/api/v1/admin/users/{}/children", parent.id);
    let (status, _) = server.post(&children, Some(&admin), &json!({"student_id": student.id})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) =
        server.patch(&format!("/api/v1/admin/users/{}", parent.id), Some(&admin), &json!({"role": "teacher"})).await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::CONFLICT, "conflict"),
        "a parent with children keeps their role"
    );

    let (status, page) = server.get("/api/v1/admin/audit?action=user.update", Some(&admin)).await;
    assert_eq!(status, StatusCode::OK);
    let entry = &page["entries"][0];
    assert_eq!(entry["actor_id"], principal.id.to_string());
    assert_eq!(entry["actor_username"], "principal");
    assert_eq!(entry["target"], format!("user:{}", teacher.id));
    assert_eq!(entry["address"], "127.0.0.1");
    assert_eq!(entry["details"]["role"], json!({"from": "teacher", "to": "admin"}));
}

#[actix_web::test]
async fn deactivation_closes_open_sockets_at_once_stops_tokens_and_reactivation_restores_sign_in() {
    let server = TestServer::start().await;
    let (principal, tokens) = server.signed_in("principal", Role::Admin).await;
    let admin = tokens.access_token;
    let (mei, mei_tokens) = server.signed_in("mei", Role::Parent).await;
    let mut socket = WsClient::connect(&server, &mei_tokens.access_token).await;

    let (status, view) =
        server.post(&format!("/api/v1/admin/users/{}/deactivate", mei.id), Some(&admin), &json!({})).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["status"], "deactivated");
    assert!(view["deactivated_at"].as_str().is_some());
    socket.until_closed(Duration::from_secs(5)).await;

    let (status, body) = server.get("/api/v1/me", Some(&mei_tokens.access_token)).await;
    assert_eq!((status, error_code(&body)), (StatusCode::FORBIDDEN, "account_deactivated"));
    let (status, _) =
        server.post("/api/v1/auth/refresh", None, &json!({"refresh_token": mei_tokens.refresh_token})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the deactivation ended the session");
    let (status, _) = server.post("/api/v1/auth/login", None, &json!({"login": "mei", "password": PASSWORD})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // An admin may not switch themselves off.
    let (status, body) =
        server.post(&format!("/api/v1/admin/users/{}/deactivate", principal.id), Some(&admin), &json!({})).await;
    assert_eq!((status, error_code(&body)), (StatusCode::FORBIDDEN, "forbidden"));
    let (status, _) =
        server.post(&format!("/api/v1/admin/users/{}/deactivate", Uuid::now_v7()), Some(&admin), &json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, view) =
        server.post(&format!("/api/v1/admin/users/{}/reactivate", mei.id), Some(&admin), &json!({})).await;
    assert_eq!((status, view["status"].as_str()), (StatusCode::OK, Some("active")));
    let fresh = server.login("mei", PASSWORD).await;
    let (status, _) = server.get("/api/v1/me", Some(&fresh.access_token)).await;
    assert_eq!(status, StatusCode::OK);
    // The sessions ended by the deactivation stay ended.
    let (status, _) = server.get("/api/v1/me", Some(&mei_tokens.access_token)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let (_, page) = server.get(&format!("/api/v1/admin/audit?actor={}", principal.id), Some(&admin)).await;
    let actions: Vec<&str> =
        page["entries"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, vec!["user.reactivate", "user.deactivate"]);
}

#[actix_web::test]
async fn concurrent_deactivations_change_and_audit_the_account_once() {
    let server = TestServer::start().await;
    let (_, tokens) = server.signed_in("principal", Role::Admin).await;
    let (_, deputy) = server.signed_in("deputy", Role::Admin).await;
    let (mei, _) = server.signed_in("mei", Role::Parent).await;
    let path = format!("/api/v1/admin/users/{}/deactivate", mei.id);
    let empty = json!({});
    let calls = (0..8).map(|i| {
        let token = if i % 2 == 0 { &tokens.access_token } else { &deputy.access_token };
        server.post(&path, Some(token), &empty)
    });
    for (status, view) in futures_util::future::join_all(calls).await {
        assert_eq!((status, view["status"].as_str()), (StatusCode::OK, Some("deactivated")), "{view}");
    }
    let audited: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'user.deactivate' AND target = $1")
            .bind(format!("user:{}", mei.id))
            .fetch_one(&server.pool)
            .await
            .unwrap();
    assert_eq!(audited, 1, "one change, one audit record");
}

#[actix_web::test]
async fn guardians_link_parents_to_students_only_and_unlink() {
    let server = TestServer::start().await;
    let admin = admin(&server).await;
    let parent = server.create_user("mei", Role::Parent).await;
    let student = server.create_user("lily", Role::Student).await;
    let teacher = server.create_user("ravi", Role::Teacher).await;
    let other_parent = server.create_user("ana", Role::Parent).await;
    let link = |parent: Uuid, student: Uuid| {
        let (server, admin) = (&server, &admin);
        async move {
            server
                .post(&format!("/api/v1/admin/users/{parent}/children"), Some(admin), &json!({"student_id": student}))
                .await
        }
    };
    let (status, view) = link(parent.id, student.id).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["children"][0]["username"], "lily");
    let (_, lily) = server.get(&format!("/api/v1/admin/users/{}", student.id), Some(&admin)).await;
    assert_eq!(lily["guardians"][0]["username"], "mei");
    // Linking twice changes nothing.
    let (status, view) = link(parent.id, student.id).await;
    assert_eq!((status, view["children"].as_array().unwrap().len()), (StatusCode::OK, 1));

    for (p, s, why) in [
        (teacher.id, student.id, "a teacher is no guardian"),
        (parent.id, teacher.id, "a teacher is no child"),
        (parent.id, other_parent.id, "a parent is no child"),
        (student.id, student.id, "a student is no guardian"),
        (parent.id, Uuid::now_v7(), "nobody"),
    ] {
        let (status, body) = link(p, s).await;
        assert_eq!((status, error_code(&body)), (StatusCode::BAD_REQUEST, "invalid_input"), "{why}");
    }
    let (status, _) = link(Uuid::now_v7(), student.id).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let path = format!("/api/v1/admin/users/{}/children/{}", parent.id, student.id);
    let (status, view) = server.delete(&path, Some(&admin)).await;
    assert_eq!((status, view["children"].as_array().unwrap().len()), (StatusCode::OK, 0));
    let (status, _) = server.delete(&path, Some(&admin)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (_, page) = server.get("/api/v1/admin/audit?action=guardian", Some(&admin)).await;
    let actions: Vec<&str> =
        page["entries"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, vec!["guardian.unlink", "guardian.link"]);
}

#[actix_web::test]
async fn the_console_is_served_with_content_types_and_a_strict_csp() {
    let server = TestServer::start().await;
    for (path, content_type, marker) in [
        ("/admin", "text/html", "<title>Hallway admin</title>"),
        ("/admin/", "text/html", "console.js"),
        ("/admin/console.js", "text/javascript", "/api/v1/admin/users"),
        ("/admin/console.css", "text/css", "@media"),
    ] {
        let response = server.client.get(server.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let headers = response.headers().clone();
        assert!(headers["content-type"].to_str().unwrap().starts_with(content_type), "{path}");
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("default-src 'none'") && csp.contains("script-src 'self'"), "{csp}");
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert!(response.text().await.unwrap().contains(marker), "{path}");
    }
}

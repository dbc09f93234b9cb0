//! Sign-in, tokens and sessions over real HTTP against a real PostgreSQL.

use std::time::Duration;

use hallway_protocol::Role;
use hallway_server::store;
use hallway_test_support::ws::WsClient;
use hallway_test_support::{PASSWORD, TestServer, error_code};
use reqwest::StatusCode;
use serde_json::json;
use time::OffsetDateTime;

#[actix_web::test]
async fn login_succeeds_and_me_returns_the_user() {
    let server = TestServer::start().await;
    let user = server.create_user("mei", Role::Parent).await;
    let tokens = server.login("mei", PASSWORD).await;
    assert_eq!(tokens.user.id, user.id);
    assert_eq!(tokens.expires_in, 15 * 60);
    assert!(!tokens.refresh_token.is_empty());

    let (status, me) = server.get("/api/v1/me", Some(&tokens.access_token)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["username"], "mei");
    assert_eq!(me["role"], "parent");
    assert_eq!(me["display_name"], "mei Display");
    assert!(me["avatar_url"].is_null());
    assert!(me.get("password_hash").is_none());
}

#[actix_web::test]
async fn usernames_and_emails_are_case_insensitive() {
    let server = TestServer::start().await;
    server.create_user("Teacher7", Role::Teacher).await;
    for login in ["teacher7", "TEACHER7", "  Teacher7 ", "TEACHER7@School.Example"] {
        let tokens = server.login(login, PASSWORD).await;
        assert_eq!(tokens.user.username, "Teacher7", "login as {login:?}");
    }
}

#[actix_web::test]
async fn wrong_password_and_unknown_user_get_invalid_credentials() {
    let server = TestServer::start().await;
    server.create_user("mei", Role::Parent).await;
    for (login, password) in [("mei", "not the password"), ("nobody", PASSWORD), ("mei", "")] {
        let (status, body) =
            server.post("/api/v1/auth/login", None, &json!({"login": login, "password": password})).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{login}/{password}");
        assert_eq!(error_code(&body), "invalid_credentials");
    }
}

#[actix_web::test]
async fn failed_logins_are_rate_limited_per_account_but_successes_are_not() {
    let server = TestServer::start_with(|c| c.limits.login_failures_per_account = 3).await;
    server.create_user("mei", Role::Parent).await;
    server.create_user("ravi", Role::Parent).await;
    // Many successful logins in a row are never slowed.
    for _ in 0..6 {
        server.login("ravi", PASSWORD).await;
    }
    for _ in 0..3 {
        let (status, _) = server.post("/api/v1/auth/login", None, &json!({"login": "mei", "password": "wrong"})).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let response = server
        .client
        .post(server.url("/api/v1/auth/login"))
        .json(&json!({"login": "MEI", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=900).contains(&retry_after), "Retry-After {retry_after}");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(error_code(&body), "rate_limited");
    // Another account from the same address is not affected.
    server.login("ravi", PASSWORD).await;
}

#[actix_web::test]
async fn failed_logins_are_rate_limited_per_address() {
    let server = TestServer::start_with(|c| c.limits.login_failures_per_address = 4).await;
    server.create_user("mei", Role::Parent).await;
    for i in 0..4 {
        let login = format!("guess{i}");
        let (status, _) = server.post("/api/v1/auth/login", None, &json!({"login": login, "password": "x"})).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let (status, body) = server.post("/api/v1/auth/login", None, &json!({"login": "mei", "password": PASSWORD})).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(error_code(&body), "rate_limited");
}

#[actix_web::test]
async fn refresh_rotates_and_the_old_token_stops_working_after_the_grace_period() {
    let server = TestServer::start_with(|c| c.tokens.refresh_grace = Duration::from_millis(1500)).await;
    server.create_user("mei", Role::Parent).await;
    let first = server.login("mei", PASSWORD).await;

    let (status, second) =
        server.post("/api/v1/auth/refresh", None, &json!({"refresh_token": first.refresh_token})).await;
    assert_eq!(status, StatusCode::OK);
    let second_refresh = second["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(second_refresh, first.refresh_token);
    let (status, _) = server.get("/api/v1/me", second["access_token"].as_str()).await;
    assert_eq!(status, StatusCode::OK);

    // A retry within the grace period (the app was killed before it saved the answer) gets the same successor.
    let (status, retry) =
        server.post("/api/v1/auth/refresh", None, &json!({"refresh_token": first.refresh_token})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(retry["refresh_token"], second_refresh.as_str());

    // The successor keeps working and rotates in turn.
    let (status, third) = server.post("/api/v1/auth/refresh", None, &json!({"refresh_token": second_refresh})).await;
    assert_eq!(status, StatusCode::OK);
    assert_ne!(third["refresh_token"], second_refresh.as_str());
}

#[actix_web::test]
async fn concurrent_refreshes_with_the_same_token_yield_exactly_one_successor() {
    let server = TestServer::start().await;
    server.create_user("mei", Role::Parent).await;
    let first = server.login("mei", PASSWORD).await;
    let body = json!({"refresh_token": first.refresh_token});
    // An app and its background job refreshing at the same moment: all get the one successor, none is taken
    // for a thief (which would sign the device out).
    let answers =
        futures_util::future::join_all((0..12).map(|_| server.post("/api/v1/auth/refresh", None, &body))).await;
    let mut successors = std::collections::BTreeSet::new();
    for (status, answer) in &answers {
        assert_eq!(*status, StatusCode::OK, "{answer}");
        successors.insert(answer["refresh_token"].as_str().unwrap().to_owned());
    }
    assert_eq!(successors.len(), 1, "exactly one successor");
    let claims = server.state.keys.verify_access(&first.access_token).unwrap();
    let live: i64 =
        sqlx::query_scalar("SELECT count(*) FROM refresh_tokens WHERE session_id = $1 AND rotated_at IS NULL")
            .bind(claims.sid)
            .fetch_one(&server.pool)
            .await
            .unwrap();
    assert_eq!(live, 1, "one live refresh token for the session");
    let successor = successors.into_iter().next().unwrap();
    let (status, _) = server.post("/api/v1/auth/refresh", None, &json!({"refresh_token": successor})).await;
    assert_eq!(status, StatusCode::OK);
}

#[actix_web::test]
async fn a_refresh_that_could_not_commit_leaves_the_old_token_working() {
    let server = TestServer::start().await;
    server.create_user("mei", Role::Parent).await;
    let first = server.login("mei", PASSWORD).await;
    // Storing the successor fails, as a crash between the rotation's statements would stop it: a trigger
    // refuses the insert after the old token was marked used in the same transaction.
    sqlx::raw_sql(
        "CREATE FUNCTION refuse_insert() RETURNS trigger LANGUAGE plpgsql AS
           $$ BEGIN RAISE EXCEPTION 'the server stopped here'; END $$;
         CREATE TRIGGER refuse_successor BEFORE INSERT ON refresh_tokens FOR EACH ROW EXECUTE FUNCTION refuse_insert();",
    )
    .execute(&server.pool)
    .await
    .unwrap();
    let (status, _) = server.post("/api/v1/auth/refresh", None, &json!({"refresh_token": first.refresh_token})).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    sqlx::raw_sql("DROP TRIGGER refuse_successor ON refresh_tokens").execute(&server.pool).await.unwrap();

    // Nothing of the failed rotation stayed: the old token was not marked used, so this is a first use, not
    // a replay, and the device stays signed in.
    let (status, second) =
        server.post("/api/v1/auth/refresh", None, &json!({"refresh_token": first.refresh_token})).await;
    assert_eq!(status, StatusCode::OK, "{second}");
    let (status, _) = server.get("/api/v1/me", second["access_token"].as_str()).await;
    assert_eq!(status, StatusCode::OK);
}

#[actix_web::test]
async fn reusing_a_rotated_refresh_token_later_revokes_the_whole_session() {
    let server = TestServer::start_with(|c| c.tokens.refresh_grace = Duration::from_millis(300)).await;
    server.create_user("mei", Role::Parent).await;
    let first = server.login("mei", PASSWORD).await;
    let (_, second) = server.post("/api/v1/auth/refresh", None, &json!({"refresh_token": first.refresh_token})).await;
    let second_access = second["access_token"].as_str().unwrap().to_owned();
    let second_refresh = second["refresh_token"].as_str().unwrap().to_owned();

    tokio::time::sleep(Duration::from_millis(600)).await;
    let (status, body) =
        server.post("/api/v1/auth/refresh", None, &json!({"refresh_token": first.refresh_token})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(&body), "invalid_refresh_token");

    // The thief's replay ended the session: the legitimate successor and its access token are dead too.
    let (status, body) = server.post("/api/v1/auth/refresh", None, &json!({"refresh_token": second_refresh})).await;
    assert_eq!((status, error_code(&body)), (StatusCode::UNAUTHORIZED, "invalid_refresh_token"));
    let (status, body) = server.get("/api/v1/me", Some(&second_access)).await;
    assert_eq!((status, error_code(&body)), (StatusCode::UNAUTHORIZED, "unauthenticated"));
}

#[actix_web::test]
async fn a_retry_after_the_successor_was_used_revokes_the_session() {
    let server = TestServer::start().await;
    server.create_user("mei", Role::Parent).await;
    let first = server.login("mei", PASSWORD).await;
    let (_, second) = server.post("/api/v1/auth/refresh", None, &json!({"refresh_token": first.refresh_token})).await;
    let (status, _) =
        server.post("/api/v1/auth/refresh", None, &json!({"refresh_token": second["refresh_token"]})).await;
    assert_eq!(status, StatusCode::OK);
    // Within the grace period, but the successor has been used already: someone else holds the old token.
    let (status, body) =
        server.post("/api/v1/auth/refresh", None, &json!({"refresh_token": first.refresh_token})).await;
    assert_eq!((status, error_code(&body)), (StatusCode::UNAUTHORIZED, "invalid_refresh_token"));
}

#[actix_web::test]
async fn unknown_refresh_token_is_refused() {
    let server = TestServer::start().await;
    let (status, body) = server.post("/api/v1/auth/refresh", None, &json!({"refresh_token": "made-up"})).await;
    assert_eq!((status, error_code(&body)), (StatusCode::UNAUTHORIZED, "invalid_refresh_token"));
}

#[actix_web::test]
async fn logout_ends_only_that_device() {
    let server = TestServer::start().await;
    server.create_user("mei", Role::Parent).await;
    let phone = server.login("mei", PASSWORD).await;
    let tablet = server.login("mei", PASSWORD).await;

    let (status, _) = server
        .post("/api/v1/auth/logout", Some(&phone.access_token), &json!({"refresh_token": phone.refresh_token}))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    let (status, body) = server.get("/api/v1/me", Some(&phone.access_token)).await;
    assert_eq!((status, error_code(&body)), (StatusCode::UNAUTHORIZED, "unauthenticated"));
    let (status, body) =
        server.post("/api/v1/auth/refresh", None, &json!({"refresh_token": phone.refresh_token})).await;
    assert_eq!((status, error_code(&body)), (StatusCode::UNAUTHORIZED, "invalid_refresh_token"));

    let (status, _) = server.get("/api/v1/me", Some(&tablet.access_token)).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = server.post("/api/v1/auth/refresh", None, &json!({"refresh_token": tablet.refresh_token})).await;
    assert_eq!(status, StatusCode::OK);
}

#[actix_web::test]
async fn logout_with_an_expired_access_token_ends_the_session() {
    let server = TestServer::start().await;
    let user = server.create_user("mei", Role::Parent).await;
    let phone = server.login("mei", PASSWORD).await;
    let tablet = server.login("mei", PASSWORD).await;
    let claims = server.state.keys.verify_access(&phone.access_token).unwrap();
    let an_hour_ago = OffsetDateTime::now_utc() - Duration::from_secs(3600);
    let expired = server.state.keys.issue_access(user.id, claims.sid, an_hour_ago, Duration::from_secs(60));
    assert_eq!(error_code(&server.get("/api/v1/me", Some(&expired)).await.1), "token_expired");

    let (status, body) =
        server.post("/api/v1/auth/logout", Some(&expired), &json!({"refresh_token": phone.refresh_token})).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");

    let (status, body) =
        server.post("/api/v1/auth/refresh", None, &json!({"refresh_token": phone.refresh_token})).await;
    assert_eq!((status, error_code(&body)), (StatusCode::UNAUTHORIZED, "invalid_refresh_token"));
    let (status, body) = server.get("/api/v1/me", Some(&phone.access_token)).await;
    assert_eq!((status, error_code(&body)), (StatusCode::UNAUTHORIZED, "unauthenticated"));
    // The other device is untouched.
    let (status, _) = server.post("/api/v1/auth/refresh", None, &json!({"refresh_token": tablet.refresh_token})).await;
    assert_eq!(status, StatusCode::OK);
}

#[actix_web::test]
async fn logout_with_the_refresh_token_alone_ends_the_session_and_closes_its_socket() {
    let server = TestServer::start().await;
    server.create_user("mei", Role::Parent).await;
    let phone = server.login("mei", PASSWORD).await;
    let tablet = server.login("mei", PASSWORD).await;
    let mut phone_socket = WsClient::connect(&server, &phone.access_token).await;
    let mut tablet_socket = WsClient::connect(&server, &tablet.access_token).await;

    // A refresh first: the session is proved by its current token, whichever rotation that is.
    let (_, rotated) = server.post("/api/v1/auth/refresh", None, &json!({"refresh_token": phone.refresh_token})).await;
    let current = rotated["refresh_token"].as_str().unwrap().to_owned();
    let (status, body) = server.post("/api/v1/auth/logout", None, &json!({"refresh_token": current})).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");

    assert_eq!(phone_socket.close_code(Duration::from_secs(5)).await, 1008);
    let (status, body) = server.post("/api/v1/auth/refresh", None, &json!({"refresh_token": current})).await;
    assert_eq!((status, error_code(&body)), (StatusCode::UNAUTHORIZED, "invalid_refresh_token"));
    let (status, _) = server.get("/api/v1/me", rotated["access_token"].as_str()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    tablet_socket.send(json!({"type": "ping"})).await;
    tablet_socket.expect("pong").await;
    assert_eq!(server.get("/api/v1/me", Some(&tablet.access_token)).await.0, StatusCode::OK);
}

#[actix_web::test]
async fn logout_with_an_unknown_or_already_used_refresh_token_answers_204() {
    let server = TestServer::start().await;
    server.create_user("mei", Role::Parent).await;
    let phone = server.login("mei", PASSWORD).await;
    for token in ["made-up", phone.refresh_token.as_str(), phone.refresh_token.as_str()] {
        let (status, body) = server.post("/api/v1/auth/logout", None, &json!({"refresh_token": token})).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    }
    // A forged access token is no reason to refuse either: the refresh token is what counts.
    let (status, _) = server.post("/api/v1/auth/logout", Some("garbage"), &json!({"refresh_token": "x"})).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = server.post("/api/v1/auth/logout", None, &json!({})).await;
    assert_eq!((status, error_code(&body)), (StatusCode::BAD_REQUEST, "invalid_input"));
}

#[actix_web::test]
async fn logout_all_ends_every_device() {
    let server = TestServer::start().await;
    server.create_user("mei", Role::Parent).await;
    let phone = server.login("mei", PASSWORD).await;
    let tablet = server.login("mei", PASSWORD).await;
    let (status, _) = server.post("/api/v1/auth/logout-all", Some(&tablet.access_token), &json!({})).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    for tokens in [&phone, &tablet] {
        let (status, _) = server.get("/api/v1/me", Some(&tokens.access_token)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let (status, _) =
            server.post("/api/v1/auth/refresh", None, &json!({"refresh_token": tokens.refresh_token})).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
}

#[actix_web::test]
async fn password_change_needs_the_current_password_and_ends_other_sessions() {
    let server = TestServer::start().await;
    server.create_user("mei", Role::Parent).await;
    let phone = server.login("mei", PASSWORD).await;
    let tablet = server.login("mei", PASSWORD).await;

    let (status, body) = server
        .post(
            "/api/v1/me/password",
            Some(&phone.access_token),
            &json!({"current_password": "wrong", "new_password": "a new secret"}),
        )
        .await;
    assert_eq!((status, error_code(&body)), (StatusCode::UNAUTHORIZED, "invalid_credentials"));
    let (status, body) = server
        .post(
            "/api/v1/me/password",
            Some(&phone.access_token),
            &json!({"current_password": PASSWORD, "new_password": "short"}),
        )
        .await;
    assert_eq!((status, error_code(&body)), (StatusCode::BAD_REQUEST, "invalid_input"));
    assert!(body["error"]["message"].as_str().unwrap().contains("new_password"));

    let (status, _) = server
        .post(
            "/api/v1/me/password",
            Some(&phone.access_token),
            &json!({"current_password": PASSWORD, "new_password": "a new secret"}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    // This device stays signed in; the other one is signed out.
    assert_eq!(server.get("/api/v1/me", Some(&phone.access_token)).await.0, StatusCode::OK);
    assert_eq!(server.get("/api/v1/me", Some(&tablet.access_token)).await.0, StatusCode::UNAUTHORIZED);
    // The old password no longer works; the new one does.
    let (status, _) = server.post("/api/v1/auth/login", None, &json!({"login": "mei", "password": PASSWORD})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    server.login("mei", "a new secret").await;
    let audited: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'user.password_changed'")
        .fetch_one(&server.pool)
        .await
        .unwrap();
    assert_eq!(audited, 1);
}

#[actix_web::test]
async fn expired_token_is_told_apart_from_a_forged_one() {
    let server = TestServer::start().await;
    let user = server.create_user("mei", Role::Parent).await;
    let tokens = server.login("mei", PASSWORD).await;
    let claims = server.state.keys.verify_access(&tokens.access_token).unwrap();

    let an_hour_ago = OffsetDateTime::now_utc() - Duration::from_secs(3600);
    let expired = server.state.keys.issue_access(user.id, claims.sid, an_hour_ago, Duration::from_secs(60));
    let (status, body) = server.get("/api/v1/me", Some(&expired)).await;
    assert_eq!((status, error_code(&body)), (StatusCode::UNAUTHORIZED, "token_expired"));

    let forger = hallway_server::auth::tokens::Keys::from_secret(b"someone else's secret");
    let forged = forger.issue_access(user.id, claims.sid, OffsetDateTime::now_utc(), Duration::from_secs(600));
    let (status, body) = server.get("/api/v1/me", Some(&forged)).await;
    assert_eq!((status, error_code(&body)), (StatusCode::UNAUTHORIZED, "unauthenticated"));

    let mut tampered = tokens.access_token.clone();
    tampered.pop();
    tampered.push(if tokens.access_token.ends_with('A') { 'B' } else { 'A' });
    for bad in [tampered.as_str(), "garbage", ""] {
        let (status, body) = server.get("/api/v1/me", Some(bad)).await;
        assert_eq!((status, error_code(&body)), (StatusCode::UNAUTHORIZED, "unauthenticated"), "token {bad:?}");
    }
    let response =
        server.client.get(server.url("/api/v1/me")).header("authorization", "Basic abc").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[actix_web::test]
async fn deactivated_user_cannot_log_in_and_their_live_token_is_refused_at_once() {
    let server = TestServer::start().await;
    let user = server.create_user("mei", Role::Parent).await;
    let tokens = server.login("mei", PASSWORD).await;
    assert!(store::users::set_deactivated(&server.pool, user.id, true).await.unwrap());

    let (status, body) = server.get("/api/v1/me", Some(&tokens.access_token)).await;
    assert_eq!((status, error_code(&body)), (StatusCode::FORBIDDEN, "account_deactivated"));
    let (status, body) = server.post("/api/v1/auth/login", None, &json!({"login": "mei", "password": PASSWORD})).await;
    assert_eq!((status, error_code(&body)), (StatusCode::FORBIDDEN, "account_deactivated"));
    let (status, body) =
        server.post("/api/v1/auth/refresh", None, &json!({"refresh_token": tokens.refresh_token})).await;
    assert_eq!((status, error_code(&body)), (StatusCode::FORBIDDEN, "account_deactivated"));
    // A wrong password does not reveal that the account exists but is deactivated.
    let (status, body) = server.post("/api/v1/auth/login", None, &json!({"login": "mei", "password": "wrong"})).await;
    assert_eq!((status, error_code(&body)), (StatusCode::UNAUTHORIZED, "invalid_credentials"));

    store::users::set_deactivated(&server.pool, user.id, false).await.unwrap();
    server.login("mei", PASSWORD).await;
}

/// Sends `count` sign-ins at once; the status and `Retry-After` (seconds) of each.
#[expect(clippy::unwrap_used, reason = "a sign-in the server does not answer must fail the test")]
async fn sign_in_burst(
    server: &TestServer,
    count: usize,
    login: impl Fn(usize) -> String,
) -> Vec<(StatusCode, Option<u64>)> {
    let attempts = (0..count).map(|i| {
        let body = json!({"login": login(i), "password": if i % 2 == 0 { PASSWORD } else { "wrong password" }});
        let request = server.client.post(server.url("/api/v1/auth/login")).json(&body);
        async move {
            let response = request.send().await.unwrap();
            let retry_after =
                response.headers().get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
            (response.status(), retry_after)
        }
    });
    futures_util::future::join_all(attempts).await
}

#[actix_web::test]
async fn a_burst_of_sign_ins_beyond_the_hashing_queue_gets_503_with_retry_after_never_500() {
    let server = TestServer::start_with(|c| {
        c.limits.password_hash_workers = Some(1);
        c.limits.password_hash_queue = Some(2);
        c.limits.login_failures_per_account = 0;
        c.limits.login_failures_per_address = 0;
    })
    .await;
    server.create_user("mei", Role::Parent).await;
    let answers = sign_in_burst(&server, 40, |_| "mei".to_owned()).await;
    let busy: Vec<_> = answers.iter().filter(|(status, _)| *status == StatusCode::SERVICE_UNAVAILABLE).collect();
    assert!(!busy.is_empty(), "one worker with a queue of two cannot take forty at once: {answers:?}");
    assert!(busy.iter().all(|(_, retry_after)| retry_after.is_some_and(|s| s >= 1)), "{busy:?}");
    for (status, _) in &answers {
        assert!(
            [StatusCode::OK, StatusCode::UNAUTHORIZED, StatusCode::SERVICE_UNAVAILABLE].contains(status),
            "{answers:?}"
        );
    }
    // Which attempts reach the worker depends on arrival order; right and wrong passwords alike are checked.
    assert!(
        answers.iter().any(|(status, _)| [StatusCode::OK, StatusCode::UNAUTHORIZED].contains(status)),
        "the queue still serves some: {answers:?}"
    );
    // Once the burst is over, signing in works again.
    server.login("mei", PASSWORD).await;
}

#[actix_web::test]
async fn wrong_sign_ins_in_flight_from_one_address_count_against_its_limit() {
    let server = TestServer::start_with(|c| {
        c.limits.login_failures_per_address = 10;
        c.limits.password_hash_queue = Some(200);
    })
    .await;
    // A hundred wrong sign-ins at once, each for another (unknown) account: only the address limit applies.
    let answers = sign_in_burst(&server, 100, |i| format!("nobody{i}")).await;
    let hashed = answers.iter().filter(|(status, _)| *status == StatusCode::UNAUTHORIZED).count();
    let limited = answers.iter().filter(|(status, _)| *status == StatusCode::TOO_MANY_REQUESTS).count();
    assert!(hashed <= 10, "at most the address's limit is checked: {hashed} were");
    assert_eq!(hashed + limited, 100, "{answers:?}");
    assert!(answers.iter().filter(|(status, _)| *status == StatusCode::TOO_MANY_REQUESTS).all(|(_, r)| r.is_some()));
}

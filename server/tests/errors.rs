//! Bad input of every kind gets the contract's error envelope, never a bare framework error.

use hallway_protocol::Role;
use hallway_test_support::{PASSWORD, TestServer, error_code};
use reqwest::StatusCode;
use serde_json::Value;

async fn raw_post(server: &TestServer, path: &str, content_type: &str, body: Vec<u8>) -> (StatusCode, Value) {
    let request = server.client.post(server.url(path)).header("content-type", content_type).body(body);
    server.send(request, None).await
}

#[actix_web::test]
async fn malformed_json_is_invalid_json() {
    let server = TestServer::start().await;
    for body in [&b"{"[..], b"not json", b"{\"login\": \"a\",}", b"\xff\xfe"] {
        let (status, response) = raw_post(&server, "/api/v1/auth/login", "application/json", body.to_vec()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body:?}");
        assert_eq!(error_code(&response), "invalid_json");
        assert!(response["error"]["message"].is_string());
    }
}

#[actix_web::test]
async fn missing_or_mistyped_fields_are_invalid_input_naming_the_field() {
    let server = TestServer::start().await;
    let cases = [
        (r#"{"login": "a"}"#, "password"),
        (r#"{"password": "a"}"#, "login"),
        (r#"{"login": 5, "password": "a"}"#, ""),
    ];
    for (body, field) in cases {
        let (status, response) = raw_post(&server, "/api/v1/auth/login", "application/json", body.into()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(error_code(&response), "invalid_input");
        assert!(response["error"]["message"].as_str().unwrap().contains(field), "{response}");
    }
}

#[actix_web::test]
async fn oversized_body_is_too_large() {
    let server = TestServer::start().await;
    let huge = format!(r#"{{"login": "a", "password": "{}"}}"#, "x".repeat(200 * 1024));
    let (status, response) = raw_post(&server, "/api/v1/auth/login", "application/json", huge.into()).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(error_code(&response), "too_large");
}

#[actix_web::test]
async fn wrong_content_type_is_unsupported_media_type() {
    let server = TestServer::start().await;
    let (status, response) = raw_post(&server, "/api/v1/auth/login", "text/plain", b"{}".to_vec()).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(error_code(&response), "unsupported_media_type");
}

#[actix_web::test]
async fn unknown_routes_are_not_found_with_the_envelope() {
    let server = TestServer::start().await;
    let (status, response) = server.get("/api/v1/no-such-thing", None).await;
    assert_eq!((status, error_code(&response)), (StatusCode::NOT_FOUND, "not_found"));
}

#[actix_web::test]
async fn health_and_readiness_answer_without_a_token() {
    let server = TestServer::start().await;
    assert_eq!(server.get("/healthz", None).await, (StatusCode::OK, serde_json::json!({"status": "ok"})));
    assert_eq!(server.get("/readyz", None).await, (StatusCode::OK, serde_json::json!({"status": "ready"})));
}

#[actix_web::test]
async fn readiness_fails_when_the_database_is_gone_but_health_does_not() {
    let server = TestServer::start().await;
    server.create_user("mei", Role::Parent).await;
    server.login("mei", PASSWORD).await;
    server.pool.close().await;
    let (status, response) = server.get("/readyz", None).await;
    assert_eq!((status, error_code(&response)), (StatusCode::SERVICE_UNAVAILABLE, "unavailable"));
    assert_eq!(server.get("/healthz", None).await.0, StatusCode::OK);
    // A database failure inside a request is an opaque 5xx with the envelope, never internals.
    let (status, response) =
        server.post("/api/v1/auth/login", None, &serde_json::json!({"login": "mei", "password": PASSWORD})).await;
    assert!(status.is_server_error(), "{status}");
    assert!(["internal", "unavailable"].contains(&error_code(&response)), "{response}");
    assert!(!response.to_string().to_lowercase().contains("sqlx"));
    assert!(!response.to_string().to_lowercase().contains("pool"));
}

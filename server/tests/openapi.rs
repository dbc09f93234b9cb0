//! The OpenAPI document at `GET /api/v1/openapi.json`, fetched from a real server: it is OpenAPI 3, it lists
//! exactly the endpoints the server answers (with the security they really need), and its schemas are the wire
//! types' own.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "helpers, like the tests, fail the test loudly on an unexpected document"
)]

use std::collections::{BTreeMap, BTreeSet};

use hallway_protocol::{ConversationKind, Role};
use hallway_test_support::{TestServer, error_code};
use reqwest::multipart::{Form, Part};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

/// The methods probed on every documented path (HEAD, OPTIONS and TRACE are never routed to a handler).
const METHODS: [Method; 5] = [Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE];

/// The endpoints that need no token, as the contract lists them.
const PUBLIC: [(&str, &str); 7] = [
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/api/v1/openapi.json"),
    ("post", "/api/v1/auth/login"),
    ("post", "/api/v1/auth/refresh"),
    ("post", "/api/v1/auth/logout"),
    ("post", "/api/v1/auth/activate"),
];

/// The endpoints that take a signed link (`?exp=&sig=`, the `signed_link` scheme) instead of the Bearer token: the
/// attachment downloads, which image loaders and browsers fetch without a header.
const SIGNED_LINK: [(&str, &str); 2] =
    [("get", "/api/v1/attachments/{id}"), ("get", "/api/v1/attachments/{id}/thumbnail")];

/// The error codes of the contract's table, which every client may rely on.
const CONTRACT_CODES: [&str; 21] = [
    "invalid_json",
    "invalid_input",
    "invalid_id",
    "body_empty",
    "body_too_long",
    "invalid_emoji",
    "invalid_paging",
    "banned_word",
    "unauthenticated",
    "token_expired",
    "invalid_credentials",
    "invalid_refresh_token",
    "account_deactivated",
    "policy_forbids",
    "forbidden",
    "not_found",
    "conflict",
    "too_large",
    "unsupported_media_type",
    "rate_limited",
    // Not in the table but answered by every server (503 from `/readyz`).
    "unavailable",
];

async fn fetch_document(server: &TestServer) -> Value {
    let response = server.client.get(server.url("/api/v1/openapi.json")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(content_type.starts_with("application/json"), "content-type {content_type}");
    let text = response.text().await.unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("the document is not JSON ({e}): {text}"))
}

/// Every documented `(method, path)`, the method in lower case as OpenAPI writes it.
fn documented(doc: &Value) -> BTreeMap<(String, String), Value> {
    let mut operations = BTreeMap::new();
    for (path, item) in doc["paths"].as_object().expect("paths is an object") {
        for (method, operation) in item.as_object().expect("a path item is an object") {
            if METHODS.iter().any(|m| m.as_str().eq_ignore_ascii_case(method)) {
                operations.insert((method.clone(), path.clone()), operation.clone());
            }
        }
    }
    operations
}

/// The schemas required of the operation to be called: its own `security`, else the document's.
fn effective_security<'a>(doc: &'a Value, operation: &'a Value) -> &'a Value {
    operation.get("security").unwrap_or(&doc["security"])
}

/// Whether `scheme` alone is one of the alternatives of `security`.
fn admits(security: &Value, scheme: &str) -> bool {
    security.as_array().is_some_and(|alternatives| {
        alternatives.iter().any(|a| a.as_object().is_some_and(|o| o.len() == 1 && o.contains_key(scheme)))
    })
}

fn is_public(security: &Value) -> bool {
    // `[]` or `[{}]`: no scheme required.
    security.as_array().is_some_and(|alternatives| {
        alternatives.is_empty() || alternatives.iter().any(|a| a.as_object().is_some_and(|o| o.is_empty()))
    })
}

fn schema<'a>(doc: &'a Value, name: &str) -> &'a Value {
    let schema = &doc["components"]["schemas"][name];
    assert!(schema.is_object(), "no schema {name}");
    schema
}

/// The `type` of a property, as a set: OpenAPI 3.1 writes a nullable string as `["string", "null"]`.
fn types(property: &Value) -> BTreeSet<String> {
    match &property["type"] {
        Value::String(t) => BTreeSet::from([t.clone()]),
        Value::Array(ts) => ts.iter().filter_map(|t| t.as_str().map(str::to_owned)).collect(),
        _ => BTreeSet::new(),
    }
}

#[actix_web::test]
async fn the_document_is_openapi_3_json_served_without_a_token() {
    let server = TestServer::start().await;
    let doc = fetch_document(&server).await;
    let version = doc["openapi"].as_str().unwrap_or_default();
    assert!(version.starts_with("3."), "openapi {version}");
    assert_eq!(doc["info"]["title"], "Hallway");
    assert!(doc["info"]["description"].as_str().unwrap_or_default().contains("docs/protocol.md"));
    let bearer = &doc["components"]["securitySchemes"]["bearer"];
    assert_eq!(bearer["type"], "http");
    assert_eq!(bearer["scheme"], "bearer");
    assert_eq!(bearer["bearerFormat"], "JWT");
    assert_eq!(doc["security"], json!([{"bearer": []}]), "the token is the default, public endpoints opt out");
    let link = &doc["components"]["securitySchemes"]["signed_link"];
    assert_eq!((&link["type"], &link["in"], &link["name"]), (&json!("apiKey"), &json!("query"), &json!("sig")));
}

/// Proves that the documented `(method, path)` pairs are exactly the ones the server routes to a handler.
///
/// "Served" here means the API, everything under `/api/v1`, plus `/healthz` and `/readyz`. The server also serves
/// the admins' web console at `/admin`, `/admin/console.js` and `/admin/console.css`: static pages for a browser,
/// not operations of the API, so they are registered apart from the table (`http::console`) and are not in the
/// document; no documented path is under `/admin`, so the probes below never reach them.
///
/// Routes are registered from one table (`http::openapi`), which the document is made from too, so a path the
/// document lacks cannot be served. What this test checks on the real server is the rest: every documented pair
/// is routed, no other method is routed on a documented path, and each needs a token exactly when the document
/// says so.
///
/// How "routed" is told apart from "unknown route": the probes carry no token and well-formed random ids. Then
/// no handler can answer 404: a protected one refuses with 401 `unauthenticated` before it looks anything up,
/// and the public ones (health, sign-in, refresh, this document) never answer 404. So a 404 means the router
/// found no handler, and the framework's default answer, the `not_found` envelope, is what comes back.
///
/// Attachment downloads are reachable without a Bearer header, but not without a credential: a signed link is
/// one. The document says so with `signed_link` as an alternative to `bearer` in their `security`, so they are
/// not public, and a probe that carries neither gets 401 like any protected endpoint. They get one more probe,
/// with a forged link: 401 again, since a link is checked before anything is looked up, so a link never tells
/// whether a file exists. That real links open their files without a header is the next test.
#[actix_web::test]
async fn documented_endpoints_are_exactly_the_served_ones_with_the_documented_security() {
    let server = TestServer::start().await;
    let doc = fetch_document(&server).await;
    let operations = documented(&doc);
    assert_eq!(operations.len(), 75, "operations documented");
    assert!(
        operations.keys().all(|(_, path)| path.starts_with("/api/v1/") || path == "/healthz" || path == "/readyz"),
        "only the API and health are documented"
    );

    let public: BTreeSet<(String, String)> =
        PUBLIC.iter().map(|(method, path)| (method.to_string(), path.to_string())).collect();
    let documented_public: BTreeSet<(String, String)> = operations
        .iter()
        .filter(|(_, operation)| is_public(effective_security(&doc, operation)))
        .map(|(key, _)| key.clone())
        .collect();
    assert_eq!(documented_public, public, "the endpoints documented as public");
    let signed: BTreeSet<(String, String)> =
        SIGNED_LINK.iter().map(|(method, path)| (method.to_string(), path.to_string())).collect();
    let documented_signed: BTreeSet<(String, String)> = operations
        .iter()
        .filter(|(_, operation)| admits(effective_security(&doc, operation), "signed_link"))
        .map(|(key, _)| key.clone())
        .collect();
    assert_eq!(documented_signed, signed, "the endpoints documented as taking a signed link");

    let paths: BTreeSet<&String> = operations.keys().map(|(_, path)| path).collect();
    for path in paths {
        let url = fill_ids(path);
        for method in METHODS {
            let key = (method.as_str().to_lowercase(), path.clone());
            let response = server.client.request(method.clone(), server.url(&url)).send().await.unwrap();
            let status = response.status();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            match operations.get(&key) {
                None => {
                    assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path} is served but not documented");
                    assert_eq!(error_code(&body), "not_found");
                }
                Some(_) if public.contains(&key) => {
                    assert_ne!(status, StatusCode::NOT_FOUND, "{method} {path} is documented but not served");
                    assert_ne!(status, StatusCode::UNAUTHORIZED, "{method} {path} is public but asks for a token");
                }
                Some(_) => {
                    assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path} without a token: {body}");
                    assert_eq!(error_code(&body), "unauthenticated", "{method} {path}");
                    if signed.contains(&key) {
                        let forged = format!("{url}?exp=4102444800&sig=Zm9yZ2Vk");
                        let (status, body) = server.get(&forged, None).await;
                        assert_eq!(
                            (status, error_code(&body)),
                            (StatusCode::UNAUTHORIZED, "unauthenticated"),
                            "{path}"
                        );
                    }
                }
            }
        }
    }
    // The probe can tell: an unknown path is the router's 404.
    let (status, body) = server.get(&format!("/api/v1/nothing/{}", Uuid::now_v7()), None).await;
    assert_eq!((status, error_code(&body)), (StatusCode::NOT_FOUND, "not_found"));
}

/// The other side of the signed-link alternative: a real link opens its file without any header, and what comes
/// back is what the document says (a documented content type, the documented headers, the documented query).
#[actix_web::test]
async fn a_signed_link_opens_its_file_without_a_token_as_documented() {
    let server = TestServer::start().await;
    let doc = fetch_document(&server).await;
    let (_, tokens) = server.signed_in("mei", Role::Teacher).await;
    let text = b"Bring a coat on Friday.\n".to_vec();
    let part = Part::bytes(text.clone()).file_name("note.txt");
    let request = server.client.post(server.url("/api/v1/attachments")).multipart(Form::new().part("file", part));
    let (status, attachment) = server.send(request, Some(&tokens.access_token)).await;
    assert_eq!(status, StatusCode::CREATED, "{attachment}");
    let sent: BTreeSet<&String> = attachment.as_object().unwrap().keys().collect();
    let properties: BTreeSet<&String> = schema(&doc, "Attachment")["properties"].as_object().unwrap().keys().collect();
    assert_eq!(sent, properties, "Attachment: the keys sent and the documented properties");

    let operation = &doc["paths"]["/api/v1/attachments/{id}"]["get"];
    let url = attachment["url"].as_str().unwrap();
    let (_, query) = url.split_once('?').expect("a signed link has a query");
    let carried: BTreeSet<&str> = query.split('&').filter_map(|pair| Some(pair.split_once('=')?.0)).collect();
    let documented_query: BTreeSet<&str> = operation["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|parameter| parameter["in"] == "query")
        .filter_map(|parameter| parameter["name"].as_str())
        .collect();
    assert_eq!(carried, documented_query, "the link carries exactly the documented query parameters");

    let response = server.client.get(server.url(url)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "a signed link needs no Authorization header");
    let ok = &operation["responses"]["200"];
    let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(ok["content"].get(&content_type).is_some(), "{content_type} is not among the documented types");
    for header in ok["headers"].as_object().unwrap().keys() {
        assert!(response.headers().contains_key(header.as_str()), "{header} is documented but not sent");
    }
    assert_eq!(response.bytes().await.unwrap().as_ref(), text.as_slice());
}

/// Every admin route checks that the caller is an admin before anything else (`http::admin::require_admin`, a
/// `wrap` on each route since there is no admin scope): a signed-in teacher gets 403 `forbidden` from each one,
/// even with a body that is not JSON at all, rather than the body's or the path's error.
#[actix_web::test]
async fn every_admin_route_refuses_a_teacher_before_looking_at_the_request() {
    let server = TestServer::start().await;
    let doc = fetch_document(&server).await;
    let (_, tokens) = server.signed_in("mei", Role::Teacher).await;
    let admin_operations: Vec<(String, String)> =
        documented(&doc).into_keys().filter(|(_, path)| path.starts_with("/api/v1/admin/")).collect();
    assert_eq!(admin_operations.len(), 32, "admin operations documented");
    for (method, path) in admin_operations {
        let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let url = path.replace('{', "not-a-uuid-").replace('}', "");
        let request = server
            .client
            .request(method.clone(), server.url(&url))
            .bearer_auth(&tokens.access_token)
            .header("content-type", "application/json")
            .body("{not json");
        let response = request.send().await.unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert_eq!((status, error_code(&body)), (StatusCode::FORBIDDEN, "forbidden"), "{method} {path}: {body}");
    }
}

/// `/conversations/{id}/members/{user_id}` with random, well-formed ids.
fn fill_ids(path: &str) -> String {
    path.split('/')
        .map(|segment| if segment.starts_with('{') { Uuid::now_v7().to_string() } else { segment.to_owned() })
        .collect::<Vec<_>>()
        .join("/")
}

#[actix_web::test]
async fn every_error_response_is_the_envelope_and_protected_ones_document_401() {
    let server = TestServer::start().await;
    let doc = fetch_document(&server).await;
    for ((method, path), operation) in documented(&doc) {
        let responses = operation["responses"].as_object().expect("responses");
        assert!(responses.keys().any(|s| s.starts_with('2') || s == "101"), "{method} {path}: no success answer");
        for (status, response) in responses {
            assert!(!response["description"].as_str().unwrap_or_default().is_empty(), "{method} {path} {status}");
            if status == "416" {
                // The one error answer that is not the envelope: a byte range outside a downloaded file gets an
                // empty 416 whose `Content-Range` names the length (RFC 9110), as HTTP clients expect of it.
                assert!(response.get("content").is_none(), "{method} {path} 416 has no body");
                assert!(response["headers"]["Content-Range"].is_object(), "{method} {path} 416 names the length");
            } else if status.as_str() >= "400" {
                let schema = &response["content"]["application/json"]["schema"]["$ref"];
                assert_eq!(schema, "#/components/schemas/ErrorBody", "{method} {path} {status}");
            }
        }
        if !is_public(effective_security(&doc, &operation)) {
            assert!(responses.contains_key("401"), "{method} {path} does not document 401");
        }
        if path.contains('{') {
            assert!(responses.contains_key("400"), "{method} {path} does not document `invalid_id`");
            let parameters = operation["parameters"].as_array().expect("path parameters");
            for name in path.split('/').filter_map(|s| s.strip_prefix('{')?.strip_suffix('}')) {
                let parameter = parameters.iter().find(|p| p["name"] == name && p["in"] == "path");
                let parameter = parameter.unwrap_or_else(|| panic!("{method} {path}: no path parameter {name}"));
                assert_eq!(parameter["schema"]["format"], "uuid", "{method} {path} {name}");
            }
        }
    }
    let operations = documented(&doc);
    let operation_ids: Vec<&str> =
        operations.values().map(|operation| operation["operationId"].as_str().unwrap_or_default()).collect();
    let unique: BTreeSet<&str> = operation_ids.iter().copied().collect();
    assert_eq!(unique.len(), operation_ids.len(), "operation ids must be unique: {operation_ids:?}");
    assert!(!unique.contains(""), "every operation has an id");
    let ws = &doc["paths"]["/api/v1/ws"]["get"];
    assert!(ws["description"].as_str().unwrap_or_default().contains("docs/protocol.md"));
    assert!(ws["responses"]["101"].is_object());
}

#[actix_web::test]
async fn schemas_are_the_wire_types() {
    let server = TestServer::start().await;
    let doc = fetch_document(&server).await;

    let message = schema(&doc, "Message");
    let properties = &message["properties"];
    assert_eq!(types(&properties["seq"]), BTreeSet::from(["integer".to_owned()]));
    assert_eq!(properties["seq"]["format"], "int64");
    assert_eq!(types(&properties["client_msg_id"]), BTreeSet::from(["string".to_owned()]));
    assert_eq!(properties["id"]["format"], "uuid");
    assert_eq!(properties["conversation_id"]["format"], "uuid");
    assert_eq!(properties["created_at"]["format"], "date-time");
    assert_eq!(properties["edited_at"]["format"], "date-time");
    assert!(types(&properties["edited_at"]).contains("null"), "edited_at is nullable");
    let required: BTreeSet<&str> = message["required"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    for field in ["id", "conversation_id", "seq", "sender_id", "client_msg_id", "body", "created_at", "deleted"] {
        assert!(required.contains(field), "Message.{field} is required");
    }

    let codes: BTreeSet<&str> =
        schema(&doc, "ErrorCode")["enum"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    for code in CONTRACT_CODES {
        assert!(codes.contains(code), "ErrorCode lacks {code}");
    }
    let detail = schema(&doc, "ErrorDetail");
    assert_eq!(detail["properties"]["code"]["$ref"], "#/components/schemas/ErrorCode");
    assert_eq!(schema(&doc, "ErrorBody")["properties"]["error"]["$ref"], "#/components/schemas/ErrorDetail");

    let roles: Vec<&str> = schema(&doc, "Role")["enum"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert_eq!(roles, ["admin", "teacher", "parent", "student"]);

    assert_eq!(frame_types(&doc, "ClientFrame"), ["delete", "edit", "ping", "react", "read", "send", "typing"]);
    let server_frames = frame_types(&doc, "ServerFrame");
    for frame in [
        "hello",
        "ack",
        "message",
        "typing",
        "read",
        "reaction",
        "message_updated",
        "message_deleted",
        "conversation",
        "conversation_removed",
        "error",
        "pong",
        "report_updated",
    ] {
        assert!(server_frames.contains(&frame.to_owned()), "ServerFrame lacks {frame}");
    }
}

/// The `type` values of a WebSocket frame enum's variants, sorted.
fn frame_types(doc: &Value, name: &str) -> Vec<String> {
    let variants = schema(doc, name)["oneOf"].as_array().unwrap_or_else(|| panic!("{name} is a oneOf"));
    let mut names: Vec<String> = variants
        .iter()
        .flat_map(|variant| variant["properties"]["type"]["enum"].as_array().cloned().unwrap_or_default())
        .filter_map(|value| value.as_str().map(str::to_owned))
        .collect();
    names.sort();
    assert_eq!(names.len(), variants.len(), "{name}: every variant has one `type`");
    names
}

/// Guards the other direction of drift: what the server really sends for a message has exactly the documented
/// properties, so a field added to `Message` without its schema (or the reverse) fails here.
#[actix_web::test]
async fn a_real_message_has_exactly_the_documented_properties() {
    let server = TestServer::start().await;
    let doc = fetch_document(&server).await;
    let (mei, tokens) = server.signed_in("mei", Role::Teacher).await;
    let (ravi, _) = server.signed_in("ravi", Role::Teacher).await;
    let id = server.create_conversation(ConversationKind::Group, Some("4B"), mei.id, &[ravi.id]).await;
    let (status, message) = server
        .post(
            &format!("/api/v1/conversations/{id}/messages"),
            Some(&tokens.access_token),
            &json!({"client_msg_id": "c1", "body": "hello"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{message}");
    let (status, conversation) = server.get(&format!("/api/v1/conversations/{id}"), Some(&tokens.access_token)).await;
    assert_eq!(status, StatusCode::OK);

    for (name, value) in [("Message", &message), ("Conversation", &conversation), ("User", &conversation["members"][0])]
    {
        let sent: BTreeSet<&String> = value.as_object().unwrap().keys().collect();
        let documented: BTreeSet<&String> = schema(&doc, name)["properties"].as_object().unwrap().keys().collect();
        assert_eq!(sent, documented, "{name}: the keys sent and the documented properties");
    }
}

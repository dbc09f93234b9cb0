//! Hardening of answers: the headers every answer carries, files that are downloaded rather than opened, and
//! a deleted message's files that stop being served at once, however it was deleted.

mod support;

use hallway_protocol::Role;
use hallway_test_support::{PASSWORD, TestServer, error_code};
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};
use support::{Person, group, person};

const PDF: &[u8] =
    b"%PDF-1.4\n1 0 obj << /Type /Catalog /OpenAction << /S /JavaScript /JS (app.alert(1)) >> >> endobj\n\
    trailer << /Root 1 0 R >>\n%%EOF\n";

/// A 2 x 2 PNG.
fn png() -> Vec<u8> {
    let mut bytes = std::io::Cursor::new(Vec::new());
    let image = image::RgbImage::from_pixel(2, 2, image::Rgb([200, 10, 10]));
    image.write_to(&mut bytes, image::ImageFormat::Png).unwrap_or_default();
    bytes.into_inner()
}

async fn upload(server: &TestServer, who: &Person, file_name: &str, bytes: Vec<u8>) -> Value {
    let part = Part::bytes(bytes).file_name(file_name.to_owned());
    let request = server.client.post(server.url("/api/v1/attachments")).multipart(Form::new().part("file", part));
    let (status, attachment) = server.send(request, who.token()).await;
    assert_eq!(status, StatusCode::CREATED, "{attachment}");
    attachment
}

/// Sends a message carrying `attachment` over REST; the message.
async fn send_with(server: &TestServer, who: &Person, chat: uuid::Uuid, attachment: &Value) -> Value {
    let path = format!("/api/v1/conversations/{chat}/messages");
    let body = json!({"client_msg_id": uuid::Uuid::now_v7(), "body": "", "attachment_ids": [attachment["id"]]});
    let (status, message) = server.post(&path, who.token(), &body).await;
    assert_eq!(status, StatusCode::CREATED, "{message}");
    message
}

async fn fetch(server: &TestServer, path: &str, token: Option<&str>) -> reqwest::Response {
    let request = server.client.get(server.url(path));
    let request = match token {
        Some(token) => request.bearer_auth(token),
        None => request,
    };
    request.send().await.unwrap_or_else(|err| panic!("GET {path}: {err}"))
}

fn header<'a>(response: &'a reqwest::Response, name: &str) -> &'a str {
    response.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
}

#[actix_web::test]
async fn api_answers_are_not_stored_and_not_sniffed() {
    let server = TestServer::start().await;
    server.create_user("mei", Role::Parent).await;
    let login =
        server.client.post(server.url("/api/v1/auth/login")).json(&json!({"login": "mei", "password": PASSWORD}));
    let response = login.send().await.unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, "cache-control"), "no-store", "the sign-in answer carries tokens");
    assert_eq!(header(&response, "x-content-type-options"), "nosniff");
    assert!(response.headers().get("strict-transport-security").is_none(), "no HSTS over plain HTTP");
    for path in ["/api/v1/me", "/api/v1/no-such-route", "/healthz", "/api/v1/openapi.json"] {
        let response = fetch(&server, path, None).await;
        assert_eq!(header(&response, "cache-control"), "no-store", "{path}");
        assert_eq!(header(&response, "x-content-type-options"), "nosniff", "{path}");
    }
}

#[actix_web::test]
async fn downloads_keep_their_own_private_caching() {
    let server = TestServer::start().await;
    let mei = person(&server, "mei", Role::Parent).await;
    let attachment = upload(&server, &mei, "note.txt", b"Friday".to_vec()).await;
    let response = fetch(&server, attachment["url"].as_str().unwrap_or_default(), None).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, "cache-control"), "private, max-age=3600");
    assert_eq!(header(&response, "x-content-type-options"), "nosniff");
}

#[actix_web::test]
async fn a_pdf_is_served_as_an_attachment_and_an_image_inline() {
    let server = TestServer::start().await;
    let mei = person(&server, "mei", Role::Parent).await;
    let pdf = upload(&server, &mei, "permission slip.pdf", PDF.to_vec()).await;
    assert_eq!(pdf["mime_type"], "application/pdf");
    for token in [None, mei.token()] {
        let response = fetch(&server, pdf["url"].as_str().unwrap_or_default(), token).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(header(&response, "content-type"), "application/pdf");
        let disposition = header(&response, "content-disposition");
        assert!(disposition.starts_with("attachment; filename=\"permission slip.pdf\""), "{disposition}");
        assert_eq!(response.bytes().await.unwrap_or_default().as_ref(), PDF);
    }
    let image = upload(&server, &mei, "class.png", png()).await;
    let response = fetch(&server, image["url"].as_str().unwrap_or_default(), None).await;
    assert!(header(&response, "content-disposition").starts_with("inline"));
}

/// Every way of fetching the file: the signed link and thumbnail link, and the Bearer token of the uploader
/// and of another member. All answer `expected`.
async fn assert_every_way(server: &TestServer, attachment: &Value, people: [&Person; 2], expected: StatusCode) {
    let id = attachment["id"].as_str().unwrap_or_default();
    let links = [attachment["url"].as_str(), attachment["thumbnail_url"].as_str()];
    for link in links.into_iter().flatten() {
        let response = fetch(server, link, None).await;
        assert_eq!(response.status(), expected, "{link}");
    }
    for who in people {
        for path in [format!("/api/v1/attachments/{id}"), format!("/api/v1/attachments/{id}/thumbnail")] {
            let response = fetch(server, &path, who.token()).await;
            assert_eq!(response.status(), expected, "{path}");
            if expected == StatusCode::NOT_FOUND {
                let body: Value = response.json().await.unwrap_or_default();
                assert_eq!(error_code(&body), "not_found");
            }
        }
    }
}

#[actix_web::test]
async fn a_photo_stops_being_served_at_once_when_its_sender_deletes_the_message() {
    let server = TestServer::start().await;
    let (teacher, parent) =
        (person(&server, "rivera", Role::Teacher).await, person(&server, "mei", Role::Parent).await);
    let chat = group(&server, &[&teacher, &parent]).await;
    let photo = upload(&server, &teacher, "trip.png", png()).await;
    let message = send_with(&server, &teacher, chat, &photo).await;
    let sent = &message["attachments"][0];
    assert_every_way(&server, sent, [&teacher, &parent], StatusCode::OK).await;
    let path = format!("/api/v1/messages/{}", message["id"].as_str().unwrap_or_default());
    let (status, _) = server.delete(&path, teacher.token()).await;
    assert!(status.is_success(), "{status}");
    assert_every_way(&server, sent, [&teacher, &parent], StatusCode::NOT_FOUND).await;
}

#[actix_web::test]
async fn a_photo_stops_being_served_at_once_when_moderation_deletes_the_message() {
    let server = TestServer::start().await;
    let admin = person(&server, "boss", Role::Admin).await;
    let (teacher, parent) =
        (person(&server, "rivera", Role::Teacher).await, person(&server, "mei", Role::Parent).await);
    let chat = group(&server, &[&parent, &teacher]).await;
    let photo = upload(&server, &parent, "photo.png", png()).await;
    let message = send_with(&server, &parent, chat, &photo).await;
    let sent = &message["attachments"][0];
    assert_every_way(&server, sent, [&parent, &teacher], StatusCode::OK).await;
    let path = format!("/api/v1/admin/messages/{}", message["id"].as_str().unwrap_or_default());
    let (status, deleted) = server.delete(&path, admin.token()).await;
    assert_eq!(status, StatusCode::OK, "{deleted}");
    assert_every_way(&server, sent, [&parent, &teacher], StatusCode::NOT_FOUND).await;
}

#[actix_web::test]
async fn a_photo_stops_being_served_when_a_group_admin_deletes_the_message() {
    let server = TestServer::start().await;
    let (teacher, parent) =
        (person(&server, "rivera", Role::Teacher).await, person(&server, "mei", Role::Parent).await);
    // The teacher created the group, so is its admin; the parent sends the photo.
    let chat = group(&server, &[&teacher, &parent]).await;
    let photo = upload(&server, &parent, "photo.png", png()).await;
    let message = send_with(&server, &parent, chat, &photo).await;
    let path = format!("/api/v1/messages/{}", message["id"].as_str().unwrap_or_default());
    let (status, _) = server.delete(&path, teacher.token()).await;
    assert!(status.is_success(), "{status}");
    assert_every_way(&server, &message["attachments"][0], [&parent, &teacher], StatusCode::NOT_FOUND).await;
}

#[actix_web::test]
async fn usernames_that_pass_for_others_are_refused() {
    let server = TestServer::start().await;
    let boss = person(&server, "boss", Role::Admin).await;
    server.create_user("admin", Role::Admin).await;
    let create = |username: &str| json!({"username": username, "display_name": "Someone", "role": "parent"});
    // Cyrillic а, fullwidth letters (NFKC makes them `admin`), and a digit one for a letter l.
    for look_alike in ["\u{430}dmin", "ａｄｍｉｎ", "ADM\u{0399}N"] {
        let (status, response) = server.post("/api/v1/admin/users", boss.token(), &create(look_alike)).await;
        assert_eq!((status, error_code(&response)), (StatusCode::CONFLICT, "conflict"), "{look_alike:?}: {response}");
    }
    let (status, response) = server.post("/api/v1/admin/users", boss.token(), &create("..")).await;
    assert_eq!((status, error_code(&response)), (StatusCode::BAD_REQUEST, "invalid_input"), "{response}");
    assert!(response["error"]["message"].as_str().unwrap_or_default().starts_with("username: "));
    // Fullwidth that looks like nobody is stored in its normal form.
    let (status, created) = server.post("/api/v1/admin/users", boss.token(), &create("ｍｅｉ")).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["user"]["username"], "mei");
    // A roster import meets the same rule.
    let csv = "role,username,display_name\nparent,\u{430}dmin,Fake Admin\n";
    let request = server.client.post(server.url("/api/v1/admin/import")).header("content-type", "text/csv").body(csv);
    let (status, response) = server.send(request, boss.token()).await;
    assert_eq!((status, error_code(&response)), (StatusCode::CONFLICT, "conflict"), "{response}");
}

#[actix_web::test]
async fn older_usernames_get_their_skeleton_at_start_up() {
    let pool = hallway_test_support::fresh_database().await;
    sqlx::query("INSERT INTO users (id, username, display_name, role) VALUES ($1, 'teacher', 'T', 'teacher')")
        .bind(uuid::Uuid::now_v7())
        .execute(&pool)
        .await
        .unwrap_or_else(|err| panic!("{err}"));
    let server = TestServer::start_on(pool.clone()).await;
    let skeleton: Option<String> = sqlx::query_scalar("SELECT username_skeleton FROM users WHERE username = 'teacher'")
        .fetch_one(&pool)
        .await
        .unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(skeleton.as_deref(), Some("teacher"));
    let boss = person(&server, "boss", Role::Admin).await;
    let body = json!({"username": "t\u{435}acher", "display_name": "Fake", "role": "teacher"});
    let (status, _) = server.post("/api/v1/admin/users", boss.token(), &body).await;
    assert_eq!(status, StatusCode::CONFLICT, "Cyrillic е in teacher");
}

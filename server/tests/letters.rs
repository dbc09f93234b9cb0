//! Printable invitation letters (`POST /admin/letters`) against a real server: one page per person, and each
//! page's QR code, read back from the PDF's drawing and decoded, is the person's working invitation link.
#![expect(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "helpers, like the tests, fail the test loudly on an unexpected PDF"
)]

use hallway_protocol::Role;
use hallway_protocol::admin::CreatedUser;
use hallway_test_support::{TestServer, error_code};
use lopdf::Document;
use lopdf::content::Content;
use serde_json::{Value, json};
use uuid::Uuid;

const PUBLIC_URL: &str = "https://hallway.school.example";

/// Creates a person through the admin API; their id.
async fn create(server: &TestServer, admin: &str, username: &str, name: &str, role: &str) -> Uuid {
    let body = json!({"username": username, "display_name": name, "role": role});
    let (status, created) = server.post("/api/v1/admin/users", Some(admin), &body).await;
    assert_eq!(status, 201, "{created}");
    serde_json::from_value::<CreatedUser>(created).expect("a created user").user.id
}

async fn letters(server: &TestServer, token: &str, user_ids: &[Uuid]) -> reqwest::Response {
    server
        .client
        .post(server.url("/api/v1/admin/letters"))
        .bearer_auth(token)
        .json(&json!({"user_ids": user_ids}))
        .send()
        .await
        .expect("the server answers")
}

/// The QR code drawn on a page, rebuilt from its filled squares (`re` operations) and decoded.
fn qr_on_page(doc: &Document, page: lopdf::ObjectId) -> String {
    let content = Content::decode(&doc.get_page_content(page).expect("the page's content")).expect("operations");
    let squares: Vec<[f32; 4]> = content
        .operations
        .iter()
        .filter(|op| op.operator == "re")
        .map(|op| {
            let v: Vec<f32> = op.operands.iter().map(|o| o.as_float().expect("a number")).collect();
            [v[0], v[1], v[2], v[3]]
        })
        .collect();
    assert!(!squares.is_empty(), "the page draws a QR code");
    let module = squares[0][2];
    let left = squares.iter().map(|s| s[0]).fold(f32::MAX, f32::min);
    let top = squares.iter().map(|s| s[1] + s[3]).fold(f32::MIN, f32::max);
    let cell =
        |s: &[f32; 4]| (((s[0] - left) / module).round() as usize, ((top - s[1] - s[3]) / module).round() as usize);
    let width = squares.iter().map(|s| cell(s).0).max().unwrap() + 1;
    let dark: std::collections::HashSet<(usize, usize)> = squares.iter().map(cell).collect();
    // Render with a quiet zone of 4 modules, 4 pixels per module, as a camera would see the print.
    let (scale, quiet) = (4, 4);
    let side = (width + 2 * quiet) * scale;
    let mut image = rqrr::PreparedImage::prepare_from_bitmap(side, side, |x, y| {
        let (col, row) = ((x / scale).wrapping_sub(quiet), (y / scale).wrapping_sub(quiet));
        dark.contains(&(col, row))
    });
    let grids = image.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code on the page");
    grids[0].decode().expect("a readable QR code").1
}

#[actix_web::test]
async fn letters_have_one_page_per_person_and_each_qr_code_is_that_persons_working_link() {
    let server = TestServer::start_with(|config| {
        config.onboarding.public_url = Some(PUBLIC_URL.into());
        config.onboarding.school_name = "Maple Primary".into();
    })
    .await;
    let (_, admin) = server.signed_in("principal", Role::Admin).await;
    let token = admin.access_token.as_str();
    let mei = create(&server, token, "mei", "Mei Chen", "parent").await;
    let teacher = create(&server, token, "rivera", "Ms. Rivera", "teacher").await;
    for (username, name) in [("lily", "Lily Chen"), ("tom", "Tom Chen")] {
        let child = create(&server, token, username, name, "student").await;
        let path = format!("/api/v1/admin/users/{mei}/children");
        let (status, _) = server.post(&path, Some(token), &json!({"student_id": child})).await;
        assert_eq!(status, 200);
    }

    // The class list names the parent once per child: she still gets one letter.
    let response = letters(&server, token, &[mei, teacher, mei]).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/pdf");
    assert!(response.headers()["content-disposition"].to_str().unwrap().starts_with("attachment"));
    let pdf = response.bytes().await.expect("the PDF");
    let doc = Document::load_mem(&pdf).expect("a PDF lopdf reads");
    let pages = doc.get_pages();
    assert_eq!(pages.len(), 2, "one page per person");

    for ((number, page), (person, name, username)) in
        pages.iter().zip([(mei, "Mei Chen", "mei"), (teacher, "Ms. Rivera", "rivera")])
    {
        let text = doc.extract_text(&[*number]).expect("the page's text");
        for expected in [name, "Maple Primary", "Three steps", username] {
            assert!(text.contains(expected), "page {number} lacks {expected:?}: {text}");
        }
        let link = qr_on_page(&doc, *page);
        let code = link.strip_prefix(&format!("{PUBLIC_URL}/join/")).expect("the join link of the public URL");
        assert!(text.contains(code), "the printed code is the QR code's");
        let body = json!({"code": code, "password": "a password of my own"});
        let (status, signed_in) = server.post("/api/v1/auth/activate", None, &body).await;
        assert_eq!(status, 200, "the letter's code works: {signed_in}");
        assert_eq!(signed_in["user"]["id"], person.to_string(), "and it is this person's");
    }

    let (status, audit) = server.get("/api/v1/admin/audit?action=letters.print", Some(token)).await;
    assert_eq!(status, 200);
    let entries = audit["entries"].as_array().expect("audit entries");
    assert_eq!(entries.len(), 1, "{audit}");
    assert_eq!(entries[0]["details"]["people"], 2);
}

#[actix_web::test]
async fn letters_refuse_nobody_strangers_and_non_admins() {
    let server = TestServer::start().await;
    let (_, admin) = server.signed_in("principal", Role::Admin).await;
    let (_, teacher) = server.signed_in("rivera", Role::Teacher).await;
    for ids in [vec![], vec![Uuid::now_v7()]] {
        let response = letters(&server, &admin.access_token, &ids).await;
        assert_eq!(response.status(), 400);
        let body: Value = response.json().await.expect("an error envelope");
        assert_eq!(error_code(&body), "invalid_input");
    }
    let response = letters(&server, &teacher.access_token, &[Uuid::now_v7()]).await;
    assert_eq!(response.status(), 403);
}

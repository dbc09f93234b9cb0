//! Profile pictures over real HTTP: upload, centred square crop to 256 × 256, metadata stripped, replace,
//! delete, and who may fetch them.
#![expect(clippy::unwrap_used, reason = "the helpers that make files and send requests fail the test loudly")]

use std::io::Cursor;
use std::path::PathBuf;

use hallway_protocol::Role;
use hallway_test_support::{TestServer, error_code};
use image::{GenericImageView, ImageFormat, Rgb, RgbImage};
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde_json::Value;

async fn put_avatar(server: &TestServer, token: &str, file_name: &str, bytes: Vec<u8>) -> (StatusCode, Value) {
    let part = Part::bytes(bytes).file_name(file_name.to_owned());
    let request = server.client.put(server.url("/api/v1/me/avatar")).multipart(Form::new().part("file", part));
    server.send(request, Some(token)).await
}

/// A 300 × 200 picture: a green centre square between red bands 50 px wide on the left and right.
fn banded_png() -> Vec<u8> {
    let image =
        RgbImage::from_fn(300, 200, |x, _| if (50..250).contains(&x) { Rgb([0, 200, 0]) } else { Rgb([220, 0, 0]) });
    let mut bytes = Cursor::new(Vec::new());
    image.write_to(&mut bytes, ImageFormat::Png).unwrap();
    bytes.into_inner()
}

fn blob_count(server: &TestServer) -> usize {
    fn walk(dir: &std::path::Path) -> usize {
        std::fs::read_dir(dir)
            .map_or(0, |entries| entries.flatten().map(|e| if e.path().is_dir() { walk(&e.path()) } else { 1 }).sum())
    }
    let root: PathBuf = server.state.config.data_dir.join("blobs");
    std::fs::read_dir(&root)
        .map_or(0, |entries| entries.flatten().filter(|e| e.file_name() != "staging").map(|e| walk(&e.path())).sum())
}

#[actix_web::test]
async fn avatar_is_cropped_to_a_centred_256_square_and_served_to_signed_in_users() {
    let server = TestServer::start().await;
    let (mei, tokens) = server.signed_in("mei", Role::Parent).await;
    let (_, other) = server.signed_in("ravi", Role::Parent).await;

    let (status, user) = put_avatar(&server, &tokens.access_token, "me.png", banded_png()).await;
    assert_eq!(status, StatusCode::OK, "{user}");
    let avatar_url = user["avatar_url"].as_str().unwrap().to_owned();
    assert!(avatar_url.starts_with(&format!("/api/v1/users/{}/avatar", mei.id)), "{avatar_url}");
    let (_, me) = server.get("/api/v1/me", Some(&tokens.access_token)).await;
    assert_eq!(me["avatar_url"], avatar_url.as_str());

    let response = server.client.get(server.url(&avatar_url)).bearer_auth(&other.access_token).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "image/jpeg");
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    let bytes = response.bytes().await.unwrap();
    assert!(!bytes.windows(4).any(|w| w == b"Exif"));
    let avatar = image::load_from_memory(&bytes).unwrap();
    assert_eq!(avatar.dimensions(), (256, 256));
    // The centred square is all green: the red bands were cropped away.
    for (x, y) in [(2, 2), (253, 2), (128, 128), (2, 253), (253, 253)] {
        let [r, g, _, _] = avatar.get_pixel(x, y).0;
        assert!(g > 150 && r < 80, "pixel ({x}, {y}) is {r}/{g}");
    }

    let (status, body) = server.get(&avatar_url, None).await;
    assert_eq!((status, error_code(&body)), (StatusCode::UNAUTHORIZED, "unauthenticated"));
}

#[actix_web::test]
async fn replacing_and_deleting_the_avatar_frees_its_blob() {
    let server = TestServer::start().await;
    let (mei, tokens) = server.signed_in("mei", Role::Parent).await;
    let token = tokens.access_token.as_str();
    let path = format!("/api/v1/users/{}/avatar", mei.id);
    let (status, body) = server.get(&path, Some(token)).await;
    assert_eq!((status, error_code(&body)), (StatusCode::NOT_FOUND, "not_found"), "no picture yet");

    let (_, first) = put_avatar(&server, token, "a.png", banded_png()).await;
    let mut other = Cursor::new(Vec::new());
    RgbImage::from_pixel(64, 64, Rgb([10, 20, 200])).write_to(&mut other, ImageFormat::Jpeg).unwrap();
    let (status, second) = put_avatar(&server, token, "b.jpg", other.into_inner()).await;
    assert_eq!(status, StatusCode::OK);
    assert_ne!(first["avatar_url"], second["avatar_url"], "a new picture gets a new link");
    assert_eq!(blob_count(&server), 1, "the old picture's blob is deleted");

    let (status, _) = server.delete("/api/v1/me/avatar", Some(token)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(blob_count(&server), 0);
    let (status, _) = server.get(&path, Some(token)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, me) = server.get("/api/v1/me", Some(token)).await;
    assert!(me["avatar_url"].is_null());
    let (status, body) = server.delete("/api/v1/me/avatar", Some(token)).await;
    assert_eq!((status, error_code(&body)), (StatusCode::NOT_FOUND, "not_found"));
}

#[actix_web::test]
async fn an_avatar_must_be_an_image() {
    let server = TestServer::start().await;
    let (_, tokens) = server.signed_in("mei", Role::Parent).await;
    let (status, body) = put_avatar(&server, &tokens.access_token, "me.jpg", b"%PDF-1.4\n%%EOF\n".to_vec()).await;
    assert_eq!((status, error_code(&body)), (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"));
    let (status, body) = put_avatar(&server, &tokens.access_token, "me.txt", b"just text".to_vec()).await;
    assert_eq!((status, error_code(&body)), (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"));
    assert_eq!(blob_count(&server), 0);
    let (_, me) = server.get("/api/v1/me", Some(&tokens.access_token)).await;
    assert!(me["avatar_url"].is_null());
}

#[actix_web::test]
async fn admins_see_the_same_versioned_avatar_link_as_everyone() {
    let server = TestServer::start().await;
    let (mei, tokens) = server.signed_in("mei", Role::Parent).await;
    let (_, admin) = server.signed_in("office", Role::Admin).await;
    let admin_view = format!("/api/v1/admin/users/{}", mei.id);

    let (_, first) = put_avatar(&server, &tokens.access_token, "a.png", banded_png()).await;
    let (status, person) = server.get(&admin_view, Some(&admin.access_token)).await;
    assert_eq!(status, StatusCode::OK, "{person}");
    assert_eq!(person["avatar_url"], first["avatar_url"]);

    let mut other = Cursor::new(Vec::new());
    RgbImage::from_pixel(64, 64, Rgb([10, 20, 200])).write_to(&mut other, ImageFormat::Jpeg).unwrap();
    let (_, second) = put_avatar(&server, &tokens.access_token, "b.jpg", other.into_inner()).await;
    let (_, person) = server.get(&admin_view, Some(&admin.access_token)).await;
    assert_eq!(person["avatar_url"], second["avatar_url"], "a new picture gets a new link for admins too");
    assert_ne!(first["avatar_url"], second["avatar_url"]);
}

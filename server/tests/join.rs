//! The invitation pages outside the API: `/join/{code}` for a phone without the app, and the `/.well-known/`
//! files that let the apps open those links, against a real server.
#![expect(clippy::expect_used, reason = "a helper that cannot do its job must fail the test loudly")]

use hallway_protocol::Role;
use hallway_protocol::admin::CreatedUser;
use hallway_protocol::invitation::app_link;
use hallway_test_support::TestServer;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

const PUBLIC_URL: &str = "https://hallway.school.example";

async fn page(server: &TestServer, path: &str) -> (StatusCode, HeaderMap, String) {
    let response = server.client.get(server.url(path)).send().await.expect("the server answers");
    let (status, headers) = (response.status(), response.headers().clone());
    (status, headers, response.text().await.expect("a body"))
}

async fn configured() -> TestServer {
    TestServer::start_with(|config| {
        config.onboarding.public_url = Some(PUBLIC_URL.into());
        config.onboarding.school_name = "Maple <Primary> & Co".into();
        config.onboarding.play_store_url = "https://play.example/hallway".into();
        config.onboarding.android_package = Some("school.hallway.app".into());
        config.onboarding.android_cert_sha256 = vec!["AB:CD:EF".into()];
        config.onboarding.apple_app_id = Some("TEAM123.school.hallway.app".into());
    })
    .await
}

#[actix_web::test]
async fn the_join_page_shows_the_school_the_code_the_stores_and_the_app_link_escaped() {
    let server = configured().await;
    let (status, headers, body) = page(&server, "/join/acde-fghj-kmnp").await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    assert_eq!(headers["referrer-policy"], "no-referrer", "the code must not leak to the stores");
    assert!(headers["content-security-policy"].to_str().expect("ascii").contains("default-src 'none'"));
    assert_eq!(headers["cache-control"], "no-store");
    assert!(
        body.contains("Maple &#60;Primary&#62; &#38; Co") || body.contains("Maple &lt;Primary&gt; &amp; Co"),
        "{body}"
    );
    assert!(!body.contains("<Primary>"), "the school's name is escaped");
    assert!(body.contains("ACDE-FGHJ-KMNP"), "the code, formatted");
    let link = app_link(PUBLIC_URL, "ACDE-FGHJ-KMNP").replace('&', "&#38;");
    let link_amp = app_link(PUBLIC_URL, "ACDE-FGHJ-KMNP").replace('&', "&amp;");
    assert!(body.contains(&link) || body.contains(&link_amp), "the app link: {body}");
    assert!(body.contains("https://play.example/hallway"));
    assert!(body.contains("https://apps.apple.com/"), "the default App Store link");
    assert!(!body.contains("<script"));
}

#[actix_web::test]
async fn the_join_page_reveals_nothing_about_the_code() {
    let server = configured().await;
    let (_, admin) = server.signed_in("principal", Role::Admin).await;
    let (_, created) = server
        .post(
            "/api/v1/admin/users",
            Some(&admin.access_token),
            &json!({"username": "mei", "display_name": "Mei Chen", "role": "parent"}),
        )
        .await;
    let created: CreatedUser = serde_json::from_value(created).expect("a created user");
    let real = created.activation.code;
    let (real_status, _, real_page) = page(&server, &format!("/join/{real}")).await;
    let (made_up_status, _, made_up_page) = page(&server, "/join/ACDE-FGHJ-KMNP").await;
    assert_eq!((real_status, made_up_status), (StatusCode::OK, StatusCode::OK));
    assert_eq!(real_page.replace(&real, "CODE"), made_up_page.replace("ACDE-FGHJ-KMNP", "CODE"), "the same page");
    assert!(!real_page.contains("Mei") && !real_page.contains("mei"), "never whose code it is");
}

#[actix_web::test]
async fn malformed_codes_get_a_plain_404_page() {
    let server = configured().await;
    for path in
        ["/join/nope", "/join/ACDE-FGHJ-KMN0", "/join/%3Cscript%3Ealert(1)%3C%2Fscript%3E", "/join/ACDE-FGHJ-KMNP-ACDE"]
    {
        let (status, headers, body) = page(&server, path).await;
        assert_eq!(status, 404, "{path}");
        assert_eq!(headers["content-type"], "text/html; charset=utf-8", "{path}");
        assert!(!body.contains("<script"), "{path}");
        assert!(!body.contains("hallway://"), "{path}");
    }
}

#[actix_web::test]
async fn without_a_public_url_the_app_link_names_the_address_the_page_was_asked_at() {
    let server = TestServer::start().await;
    let (status, _, body) = page(&server, "/join/ACDE-FGHJ-KMNP").await;
    assert_eq!(status, 200);
    let expected = app_link(&server.base_url, "ACDE-FGHJ-KMNP");
    assert!(body.contains(&expected.replace('&', "&#38;")) || body.contains(&expected.replace('&', "&amp;")), "{body}");
}

#[actix_web::test]
async fn the_well_known_files_say_which_apps_may_open_the_links() {
    let server = configured().await;
    let (status, headers, body) = page(&server, "/.well-known/assetlinks.json").await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "application/json");
    let links: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(
        links,
        json!([{
            "relation": ["delegate_permission/common.handle_all_urls"],
            "target": {"namespace": "android_app", "package_name": "school.hallway.app", "sha256_cert_fingerprints": ["AB:CD:EF"]},
        }])
    );
    let (status, headers, body) = page(&server, "/.well-known/apple-app-site-association").await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "application/json");
    let association: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(association["applinks"]["details"][0]["appIDs"], json!(["TEAM123.school.hallway.app"]));
    assert_eq!(association["applinks"]["details"][0]["components"][0]["/"], "/join/*");
}

#[actix_web::test]
async fn the_well_known_files_are_404_until_configured() {
    let server = TestServer::start().await;
    for path in ["/.well-known/assetlinks.json", "/.well-known/apple-app-site-association"] {
        let (status, _, _) = page(&server, path).await;
        assert_eq!(status, 404, "{path}");
    }
}

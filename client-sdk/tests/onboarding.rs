//! Getting in and out against the real server: activation from a code an admin made, invitation links,
//! password changes, sign-out, and what a device keeps when the server ends its session (nothing).
#![expect(clippy::expect_used, reason = "a test helper that cannot do its job must fail the test loudly")]

mod support;

use std::path::Path;

use hallway_protocol::Role;
use hallway_protocol::admin::CreatedUser;
use hallway_protocol::invitation::{app_link, join_link};
use hallway_sdk::{ConnectionState, HallwayError, SignOutReason, parse_invitation};
use hallway_test_support::{PASSWORD, TestServer};
use support::*;

const NEW_PASSWORD: &str = "the parent's own choice";

/// A parent created through the admin API, with the activation code the admin was shown.
async fn parent_with_a_code(server: &TestServer, username: &str) -> String {
    let (_, admin) = server.signed_in("principal", Role::Admin).await;
    let (status, body) = server
        .post(
            "/api/v1/admin/users",
            Some(&admin.access_token),
            &serde_json::json!({"username": username, "display_name": "Mei Chen", "role": "parent"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let created: CreatedUser = serde_json::from_value(body).expect("a created user");
    created.activation.code
}

/// Every byte of every file under `dir`.
fn all_bytes(dir: &Path) -> Vec<u8> {
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(dir).expect("the data dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            bytes.extend(all_bytes(&path));
        } else {
            bytes.extend(std::fs::read(&path).expect("a file of the data dir"));
        }
    }
    bytes
}

/// How many rows of the store in `dir` (opened with its key) mention `text`, in any table.
fn stored_mentions(dir: &Path, text: &str) -> i64 {
    let db = open_store(dir);
    let pattern = format!("%{text}%");
    [("session", "user"), ("conversations", "data"), ("messages", "data"), ("outbox", "body")]
        .iter()
        .map(|(table, column)| {
            db.query_row(&format!("SELECT count(*) FROM {table} WHERE {column} LIKE ?1"), [&pattern], |row| {
                row.get::<_, i64>(0)
            })
            .expect("a count")
        })
        .sum::<i64>()
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|window| window == needle.as_bytes())
}

#[actix_web::test]
async fn a_parent_activates_from_an_invitation_link_then_signs_in_on_a_second_device() {
    let server = TestServer::start().await;
    let code = parent_with_a_code(&server, "mei").await;

    let invitation = parse_invitation(join_link(&server.base_url, &code)).expect("the letter's link");
    assert_eq!(invitation.server_url, server.base_url);
    let (phone, _dir) = client(&invitation.server_url);
    let user = phone.activate(invitation.code.to_lowercase(), NEW_PASSWORD.into(), None).await.expect("activated");
    assert_eq!(user.username, "mei");
    assert_eq!(phone.user(), Some(user.clone()));
    wait_online(&phone).await;

    let (tablet, _dir) = client(&server.base_url);
    assert_eq!(tablet.login("mei".into(), NEW_PASSWORD.into()).await, Ok(user));
    wait_online(&tablet).await;
}

#[actix_web::test]
async fn a_used_or_mistyped_code_and_a_weak_password_fail_with_their_own_errors() {
    let server = TestServer::start().await;
    let code = parent_with_a_code(&server, "mei").await;
    let (phone, _dir) = client(&server.base_url);

    // Checked before anything is sent, so the code is not used up.
    assert!(matches!(phone.activate(code.clone(), "short".into(), None).await, Err(HallwayError::WeakPassword { .. })));
    assert_eq!(
        phone.activate("ACDE-FGHJ".into(), NEW_PASSWORD.into(), None).await,
        Err(HallwayError::InvalidActivationCode)
    );
    assert_eq!(
        phone.activate("ACDE-FGHJ-KMNP".into(), NEW_PASSWORD.into(), None).await,
        Err(HallwayError::InvalidActivationCode),
        "well formed, but no such code"
    );
    phone.activate(code.clone(), NEW_PASSWORD.into(), None).await.expect("activated");

    let (other, _dir) = client(&server.base_url);
    assert_eq!(other.activate(code, "another password".into(), None).await, Err(HallwayError::InvalidActivationCode));
    assert_eq!(other.user(), None);
}

#[actix_web::test]
async fn a_parent_may_choose_their_username_and_a_taken_one_leaves_the_code_usable() {
    let server = TestServer::start().await;
    server.create_user("rivera", Role::Teacher).await;
    let code = parent_with_a_code(&server, "p-4411").await;
    let (phone, _dir) = client(&server.base_url);

    let taken = phone.activate(code.clone(), NEW_PASSWORD.into(), Some("Rivera".into())).await;
    assert!(matches!(&taken, Err(HallwayError::InvalidInput { code, .. }) if code == "conflict"), "{taken:?}");
    let user = phone.activate(code, NEW_PASSWORD.into(), Some("mei.chen".into())).await.expect("activated");
    assert_eq!(user.username, "mei.chen");
    let (tablet, _tablet_dir) = client(&server.base_url);
    assert_eq!(tablet.login("mei.chen".into(), NEW_PASSWORD.into()).await.expect("signed in").id, user.id);
}

#[actix_web::test]
async fn changing_the_password_signs_the_other_device_out_and_wipes_its_data() {
    let server = TestServer::start().await;
    let (_, _, chat) = teacher_and_parent_in_a_chat(&server).await;
    let teacher = server.login("rivera", PASSWORD).await;
    let secret = "Lily's allergy plan for Friday";
    let (status, _) = server
        .post(
            &format!("/api/v1/conversations/{chat}/messages"),
            Some(&teacher.access_token),
            &serde_json::json!({"client_msg_id": "c1", "body": secret}),
        )
        .await;
    assert_eq!(status, 201);

    let (phone, _phone_dir) = client(&server.base_url);
    phone.login("chen".into(), PASSWORD.into()).await.expect("signed in");
    let (tablet, tablet_dir) = client(&server.base_url);
    tablet.login("chen".into(), PASSWORD.into()).await.expect("signed in");
    let (timeline, _t) = watch_timeline(&tablet, &chat);
    timeline.wait_for("the teacher's message on the tablet", |s| bodies(s) == [secret]).await;
    assert!(stored_mentions(tablet_dir.path(), secret) > 0, "the check can see the stored message");
    let (states, _s) = watch_connection(&tablet);

    assert_eq!(phone.change_password("not it".into(), NEW_PASSWORD.into()).await, Err(HallwayError::WrongPassword));
    assert!(matches!(
        phone.change_password(PASSWORD.into(), "short".into()).await,
        Err(HallwayError::WeakPassword { .. })
    ));
    phone.change_password(PASSWORD.into(), NEW_PASSWORD.into()).await.expect("changed");

    let expected = ConnectionState::SignedOut { reason: SignOutReason::PasswordChanged };
    states.wait_for("the tablet to be signed out, saying why", |state| *state == expected).await;
    assert_eq!(tablet.user(), None);
    assert!(tablet.conversation_list().conversations().await.expect("the list").is_empty());
    // Nothing left, even for someone with the store's key (the files are encrypted besides).
    assert_eq!(stored_mentions(tablet_dir.path(), secret), 0, "the tablet's store still holds the message");
    assert_eq!(stored_mentions(tablet_dir.path(), "rivera"), 0, "the tablet's store still holds the teacher");
    let left = all_bytes(tablet_dir.path());
    assert!(!contains(&left, secret) && !contains(&left, "rivera"), "the tablet's files show the message");
    drop(tablet);
    let restarted = client_in(&server.base_url, &tablet_dir);
    assert_eq!(restarted.restore_session().await, Ok(None));

    // The device that changed it stays signed in, and the new password works elsewhere.
    assert!(phone.search_directory(String::new(), 5).await.is_ok());
    assert_eq!(phone.connection_state(), ConnectionState::Online);
    assert!(restarted.login("chen".into(), NEW_PASSWORD.into()).await.is_ok());
}

#[actix_web::test]
async fn sign_out_ends_the_server_session_and_reports_when_the_server_could_not_be_told() {
    let server = TestServer::start().await;
    server.create_user("chen", Role::Parent).await;
    let proxy = Proxy::start(server.local_addr()).await;

    let (phone, dir) = client(&proxy.url());
    phone.login("chen".into(), PASSWORD.into()).await.expect("signed in");
    let refresh_token = stored_refresh_token(dir.path());
    phone.logout().await.expect("signed out, server told");
    assert_eq!(secret(dir.path(), "refresh-token"), None, "the secret store forgets the refresh token");
    let (status, body) =
        server.post("/api/v1/auth/refresh", None, &serde_json::json!({"refresh_token": refresh_token})).await;
    assert_eq!((status.as_u16(), hallway_test_support::error_code(&body)), (401, "invalid_refresh_token"));

    phone.login("chen".into(), PASSWORD.into()).await.expect("signed in again");
    wait_online(&phone).await;
    proxy.cut();
    assert_eq!(phone.logout().await, Err(HallwayError::SignOutNotConfirmed));
    assert_eq!(phone.user(), None);
    assert_eq!(phone.connection_state(), ConnectionState::Offline);
    drop(phone);
    assert_eq!(client_in(&proxy.url(), &dir).restore_session().await, Ok(None), "forgotten here all the same");
}

fn stored_refresh_token(dir: &Path) -> String {
    secret(dir, "refresh-token").expect("a session")
}

#[actix_web::test]
async fn invitations_in_both_forms_are_read_and_other_links_refused() {
    let server = TestServer::start().await;
    let code = parent_with_a_code(&server, "mei").await;
    for link in [join_link(&server.base_url, &code), app_link(&server.base_url, &code)] {
        let invitation = parse_invitation(link.clone()).expect("an invitation");
        assert_eq!(
            (invitation.server_url.as_str(), invitation.code.as_str()),
            (server.base_url.as_str(), code.as_str())
        );
    }
    for link in ["https://school.example/join/nope", "https://school.example/", "hallway://activate?code=x"] {
        assert!(matches!(parse_invitation(link.into()), Err(HallwayError::InvalidInvitation { .. })), "{link}");
    }
}

//! What a phone's data directory gives away without the phone's secret store: nothing. The store is
//! encrypted with a key from the app's `SecretStore`, the refresh token lives only there, and a store whose
//! key is gone is replaced, not crashed on.
#![expect(clippy::expect_used, reason = "a test helper that cannot do its job must fail the test loudly")]

mod support;

use std::path::Path;

use hallway_sdk::{DATABASE_FILE, SendState};
use hallway_test_support::{PASSWORD, TestServer};
use support::*;

const SECRET: &str = "Lily's appointment is at 3";

/// Copies the store's files (the database and its write-ahead log) as someone with the files but not the
/// phone would: while the app runs.
fn copy_store(from: &Path, to: &Path) {
    for suffix in ["", "-wal"] {
        let name = format!("{DATABASE_FILE}{suffix}");
        if from.join(&name).exists() {
            std::fs::copy(from.join(&name), to.join(&name)).expect("a copy of the store");
        }
    }
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|window| window == needle.as_bytes())
}

#[actix_web::test]
async fn a_store_copied_off_the_phone_cannot_be_read_without_the_key_from_the_secret_store() {
    let server = TestServer::start().await;
    let (_, _, chat) = teacher_and_parent_in_a_chat(&server).await;
    let (phone, dir) = client(&server.base_url);
    phone.login("rivera".into(), PASSWORD.into()).await.expect("signed in");
    wait_for_conversation(&phone, &chat).await;
    let (timeline, _handle) = watch_timeline(&phone, &chat);
    phone.timeline(chat.clone()).expect("a timeline").send_text(SECRET.into()).await.expect("queued");
    timeline
        .wait_for("the message sent", |s| s.items.iter().any(|i| i.body == SECRET && i.send_state == SendState::Sent))
        .await;

    let stolen = tempfile::tempdir().expect("a thief's folder");
    copy_store(dir.path(), stolen.path());
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(stolen.path()).expect("the copy").flatten() {
        bytes.extend(std::fs::read(entry.path()).expect("a copied file"));
    }
    assert!(bytes.len() > 4096, "the copy holds the store ({} bytes)", bytes.len());
    for plain in [SECRET, "rivera", "SQLite format 3"] {
        assert!(!contains(&bytes, plain), "the copied files show {plain:?}");
    }

    // Without the key, and with a wrong one, SQLite sees no database.
    let copy = stolen.path().join(DATABASE_FILE);
    let unkeyed = rusqlite::Connection::open(&copy).expect("a file opens");
    let refused = unkeyed.query_row("SELECT count(*) FROM messages", [], |row| row.get::<_, i64>(0));
    assert!(
        matches!(&refused, Err(rusqlite::Error::SqliteFailure(e, _)) if e.code == rusqlite::ErrorCode::NotADatabase),
        "{refused:?}"
    );
    let wrong = rusqlite::Connection::open(&copy).expect("a file opens");
    wrong.execute_batch(&format!("PRAGMA key = \"x'{}'\";", "ab".repeat(32))).expect("keyed");
    assert!(wrong.query_row("SELECT count(*) FROM messages", [], |row| row.get::<_, i64>(0)).is_err());

    // With the key from the phone's secret store, the same copy reads: the test above refused a real store.
    let key = secret(dir.path(), "store-key").expect("the key in the secret store");
    let keyed = rusqlite::Connection::open(&copy).expect("a file opens");
    keyed.execute_batch(&format!("PRAGMA key = \"x'{key}'\";")).expect("keyed");
    let found: i64 = keyed
        .query_row("SELECT count(*) FROM messages WHERE data LIKE ?1", [format!("%{SECRET}%")], |row| row.get(0))
        .expect("the keyed copy reads");
    assert_eq!(found, 1);

    // The refresh token is in the secret store only, and the server takes it.
    let refresh = secret(dir.path(), "refresh-token").expect("the refresh token in the secret store");
    assert!(!contains(&bytes, &refresh), "the store holds the refresh token");
    let (status, _) = server.post("/api/v1/auth/refresh", None, &serde_json::json!({"refresh_token": refresh})).await;
    assert_eq!(status, 200);
}

#[actix_web::test]
async fn a_store_whose_key_is_lost_is_replaced_and_the_person_signs_in_again() {
    let server = TestServer::start().await;
    let (_, _, chat) = teacher_and_parent_in_a_chat(&server).await;
    let (phone, dir) = client(&server.base_url);
    phone.login("chen".into(), PASSWORD.into()).await.expect("signed in");
    wait_for_conversation(&phone, &chat).await;
    drop(phone);

    // The keystore was reset (a restored phone, a changed lock screen): the store's key is gone.
    std::fs::remove_file(dir.path().join("test-secrets").join("store-key")).expect("the key removed");
    let restarted = client_in(&server.base_url, &dir);
    assert_eq!(restarted.restore_session().await, Ok(None), "no session without the key");
    assert_eq!(secret(dir.path(), "refresh-token"), None, "the orphaned refresh token is forgotten");
    assert!(restarted.conversation_list().conversations().await.expect("a new, empty store").is_empty());
    restarted.login("chen".into(), PASSWORD.into()).await.expect("signed in again");
    wait_for_conversation(&restarted, &chat).await;
    drop(restarted);

    // A plaintext store left by an older version is replaced the same way.
    let old = tempfile::tempdir().expect("a data dir");
    let plain = rusqlite::Connection::open(old.path().join(DATABASE_FILE)).expect("a plaintext store");
    plain
        .execute_batch("CREATE TABLE session (id INTEGER PRIMARY KEY); INSERT INTO session VALUES (1);")
        .expect("rows");
    drop(plain);
    let upgraded = client_in(&server.base_url, &old);
    assert_eq!(upgraded.restore_session().await, Ok(None));
    upgraded.login("chen".into(), PASSWORD.into()).await.expect("signed in on the new store");
}

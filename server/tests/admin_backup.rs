//! `hallway-server backup` and `restore`, through the real binary: a database with people, a conversation and
//! messages, plus an uploaded file and the token secret, comes back identical in another database and data dir.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "helpers of a test fail the test loudly when setup breaks"
)]

use std::path::Path;
use std::time::Duration;

use hallway_protocol::validate::{ClientMsgId, MessageBody};
use hallway_protocol::{ConversationKind, Role};
use hallway_server::store::{self, conversations::NewConversation, messages::NewMessage, users::NewUser};
use hallway_test_support::{fresh_database_with_url, reachable_temp_dir};
use sqlx::PgPool;
use tokio::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_hallway-server");

/// Runs the binary against `database_url` and `data_dir`; its success and what it printed.
async fn run(database_url: &str, data_dir: &Path, args: &[&str]) -> (bool, String) {
    let output = Command::new(BIN)
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .env("DATABASE_URL", database_url)
        .env("RUST_LOG", "warn")
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(120), output).await.expect("finishes in 2 min").unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.success(), text)
}

type Snapshot = (
    Vec<(String, String, String, Option<String>)>,
    Vec<(String, String, Option<String>, i64)>,
    Vec<(i64, String, String)>,
);

async fn snapshot(pool: &PgPool) -> Snapshot {
    let users = sqlx::query_as("SELECT username, display_name, role, password_hash FROM users ORDER BY username")
        .fetch_all(pool)
        .await
        .unwrap();
    let conversations = sqlx::query_as("SELECT id::text, kind, name, next_seq FROM conversations ORDER BY id")
        .fetch_all(pool)
        .await
        .unwrap();
    let messages = sqlx::query_as("SELECT seq, body, id::text FROM messages ORDER BY conversation_id, seq")
        .fetch_all(pool)
        .await
        .unwrap();
    (users, conversations, messages)
}

#[actix_web::test]
async fn a_backup_restores_people_conversations_messages_files_and_the_secret_into_a_new_data_dir() {
    let (pool, url) = fresh_database_with_url().await;
    let mut ids = Vec::new();
    for (username, role) in [("teacher", Role::Teacher), ("mei", Role::Parent), ("lily", Role::Student)] {
        let new = NewUser {
            username,
            email: None,
            display_name: "Someone Ünïcode",
            role,
            password_hash: Some("$argon2id$x"),
        };
        ids.push(store::users::insert(&pool, &new).await.unwrap().id);
    }
    let mut tx = pool.begin().await.unwrap();
    let members = [(ids[0], true), (ids[1], false)];
    let new = NewConversation {
        kind: ConversationKind::Group,
        name: Some("Class 4B"),
        created_by: ids[0],
        members: &members,
    };
    let conversation = store::conversations::create(&mut tx, &new).await.unwrap();
    tx.commit().await.unwrap();
    for (i, body) in ["Welcome!", "Thank you 🎉", "Trip on Friday"].into_iter().enumerate() {
        let (client_msg_id, body) =
            (ClientMsgId::parse(&format!("m{i}")).unwrap(), MessageBody::parse(body, false).unwrap());
        let sender = ids[i % 2];
        let new = NewMessage {
            conversation_id: conversation,
            sender_id: sender,
            client_msg_id: &client_msg_id,
            body: &body,
            attachment_ids: &[],
        };
        store::messages::insert(&pool, &new).await.unwrap();
    }
    let data_dir = reachable_temp_dir().unwrap();
    let blob: Vec<u8> = (0..70_000u32).map(|i| (i * 31 % 251) as u8).collect();
    std::fs::create_dir_all(data_dir.path().join("blobs/ab/cd")).unwrap();
    std::fs::write(data_dir.path().join("blobs/ab/cd/abcdef0123"), &blob).unwrap();
    std::fs::write(data_dir.path().join("jwt-secret"), "the school's secret").unwrap();

    let out_dir = reachable_temp_dir().unwrap();
    let archive = out_dir.path().join("hallway.tar.gz");
    let (ok, said) = run(&url, data_dir.path(), &["backup", "--out", archive.to_str().unwrap()]).await;
    assert!(ok, "backup failed: {said}");
    assert!(said.contains("backed up"), "{said}");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&archive).unwrap().permissions().mode() & 0o777, 0o600);

    let (restored_pool, restored_url) = fresh_database_with_url().await;
    restored_pool.close().await;
    let restored_dir = reachable_temp_dir().unwrap();
    let (ok, said) = run(&restored_url, restored_dir.path(), &["restore", archive.to_str().unwrap()]).await;
    assert!(ok, "restore failed: {said}");

    let restored = PgPool::connect(&restored_url).await.unwrap();
    let (before, after) = (snapshot(&pool).await, snapshot(&restored).await);
    assert_eq!(after, before);
    assert_eq!((after.0.len(), after.1.len(), after.2.len()), (3, 1, 3));
    assert_eq!(std::fs::read(restored_dir.path().join("blobs/ab/cd/abcdef0123")).unwrap(), blob);
    assert_eq!(std::fs::read_to_string(restored_dir.path().join("jwt-secret")).unwrap(), "the school's secret");
    // The restored database is fully migrated: the server can start on it.
    let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations").fetch_one(&restored).await.unwrap();
    assert_eq!(applied as usize, store::MIGRATOR.iter().count());

    // Restoring again over the people now there needs --force.
    let (ok, said) = run(&restored_url, restored_dir.path(), &["restore", archive.to_str().unwrap()]).await;
    assert!(!ok && said.contains("--force"), "{said}");
    restored.close().await;
    let (ok, said) = run(&restored_url, restored_dir.path(), &["restore", "--force", archive.to_str().unwrap()]).await;
    assert!(ok, "forced restore failed: {said}");
    let again = PgPool::connect(&restored_url).await.unwrap();
    assert_eq!(snapshot(&again).await, before);

    // Anything else is refused.
    std::fs::write(out_dir.path().join("not-a-backup.tar.gz"), b"hello").unwrap();
    let (ok, _) = run(
        &restored_url,
        restored_dir.path(),
        &["restore", "--force", out_dir.path().join("not-a-backup.tar.gz").to_str().unwrap()],
    )
    .await;
    assert!(!ok);
}

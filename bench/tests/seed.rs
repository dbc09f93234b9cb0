//! `hallway-bench-seed`, the real binary against a fresh database of the test cluster: it fills an empty
//! database with people whose tokens and password the real server accepts, and refuses, writing nothing, a
//! database that holds anyone (a school's, or one it seeded before).
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "helpers of a test fail the test loudly when setup breaks"
)]

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Output;
use std::time::Duration;

use hallway_loadgen::seed::SeedOutput;
use hallway_protocol::Role;
use hallway_server::store::{self, users::NewUser};
use hallway_test_support::{JWT_SECRET, TestServer, fresh_database_with_url, reachable_temp_dir};
use reqwest::StatusCode;
use sqlx::PgPool;
use uuid::Uuid;

const BIN: &str = env!("CARGO_BIN_EXE_hallway-bench-seed");

/// Runs the seed to completion (bounded) on `database_url`, with the test servers' token secret.
async fn run_seed(database_url: &str, data_dir: &Path, args: &[&str]) -> Output {
    let seed = tokio::process::Command::new(BIN)
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .env("DATABASE_URL", database_url)
        .env("HALLWAY_JWT_SECRET", JWT_SECRET)
        .env("RUST_LOG", "warn")
        .kill_on_drop(true)
        .output();
    tokio::time::timeout(Duration::from_secs(120), seed)
        .await
        .expect("hallway-bench-seed finishes within 120 s")
        .expect("starting hallway-bench-seed")
}

/// What the database holds: users, sessions, conversations, messages.
async fn counts(pool: &PgPool) -> (i64, i64, i64, i64) {
    sqlx::query_as(
        "SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM sessions),
                (SELECT count(*) FROM conversations), (SELECT count(*) FROM messages)",
    )
    .fetch_one(pool)
    .await
    .unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[actix_web::test]
async fn seeds_an_empty_database_with_people_the_server_lets_in() {
    let (pool, url) = fresh_database_with_url().await;
    let dir = reachable_temp_dir().unwrap();
    let tokens = dir.path().join("tokens.json");
    let args = ["--users", "6", "--groups", "2", "--members", "3", "--history-messages", "40"];
    let out = run_seed(
        &url,
        dir.path(),
        &[&args[..], &["--password", "bench password", "--tokens-out", tokens.to_str().unwrap()]].concat(),
    )
    .await;
    assert!(out.status.success(), "the seed failed: {}", stderr(&out));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("seeded 6 users, 2 groups, 40 history messages"), "{said}");
    // Two groups and the history's conversation; one session per person.
    assert_eq!(counts(&pool).await, (6, 6, 3, 40));

    let seeded: SeedOutput = serde_json::from_slice(&std::fs::read(&tokens).unwrap()).unwrap();
    assert_eq!(seeded.groups.iter().map(|g| g.members.clone()).collect::<Vec<_>>(), vec![vec![0, 1, 2], vec![3, 4, 5]]);
    let history = seeded.history.as_ref().expect("a history");
    assert_eq!((history.reader, history.messages), (1, 40));

    // The server signs with the same secret: every minted token is let in and sees its own conversations.
    let server = TestServer::start_on(pool).await;
    for (index, user) in seeded.users.iter().enumerate() {
        let (status, list) = server.get("/api/v1/conversations", Some(&user.token)).await;
        assert_eq!(status, StatusCode::OK, "{list}");
        let listed: BTreeSet<Uuid> = list["conversations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap().parse().unwrap())
            .collect();
        let mut expected: BTreeSet<Uuid> =
            seeded.groups.iter().filter(|g| g.members.contains(&index)).map(|g| g.id).collect();
        if index < 2 {
            expected.insert(history.conversation_id);
        }
        assert_eq!(listed, expected, "user {index}");
    }
    // And `--password` lets each of them sign in.
    let signed_in = server.login(&seeded.users[4].username, "bench password").await;
    assert_eq!(signed_in.user.id, seeded.users[4].id);
}

#[actix_web::test]
async fn refuses_a_database_that_holds_people_it_did_not_create_and_writes_nothing() {
    let (pool, url) = fresh_database_with_url().await;
    let principal = NewUser {
        username: "principal",
        email: None,
        display_name: "Dana Park",
        role: Role::Admin,
        password_hash: None,
    };
    store::users::insert(&pool, &principal).await.unwrap();
    let dir = reachable_temp_dir().unwrap();
    let tokens = dir.path().join("tokens.json");
    let out = run_seed(
        &url,
        dir.path(),
        &["--users", "4", "--groups", "1", "--members", "4", "--tokens-out", tokens.to_str().unwrap()],
    )
    .await;

    assert_eq!(out.status.code(), Some(1), "the seed ran on a school's database: {}", stderr(&out));
    assert!(stderr(&out).contains("refusing to seed a database that holds people (1 users)"), "{}", stderr(&out));
    assert!(!tokens.exists(), "no tokens were written");
    assert_eq!(counts(&pool).await, (1, 0, 0, 0), "nothing was added");
}

#[actix_web::test]
async fn refuses_to_seed_a_database_twice() {
    let (pool, url) = fresh_database_with_url().await;
    let dir = reachable_temp_dir().unwrap();
    let tokens = dir.path().join("tokens.json");
    let args = ["--users", "3", "--groups", "1", "--members", "3", "--tokens-out", tokens.to_str().unwrap()];
    let first = run_seed(&url, dir.path(), &args).await;
    assert!(first.status.success(), "{}", stderr(&first));
    let written = std::fs::read(&tokens).unwrap();

    let second = run_seed(&url, dir.path(), &args).await;
    assert_eq!(second.status.code(), Some(1), "seeded twice");
    assert!(stderr(&second).contains("holds people (3 users)"), "{}", stderr(&second));
    assert_eq!(counts(&pool).await, (3, 3, 1, 0));
    assert_eq!(std::fs::read(&tokens).unwrap(), written, "the first run's tokens are kept");
}

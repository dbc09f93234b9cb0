//! The command line: the real `hallway-server` binary against a fresh database of the test cluster
//! (`migrate`, `create-admin`, and `serve --demo` up to a clean exit on SIGTERM), and the demo school that
//! `--demo` seeds, checked against the contract.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "helpers of a test fail the test loudly when setup breaks"
)]

use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use hallway_protocol::Role;
use hallway_server::auth::password;
use hallway_server::demo::{self, DemoError};
use hallway_server::store::{self, MIGRATOR, users::NewUser};
use hallway_test_support::{TestServer, fresh_database, fresh_database_with_url, reachable_temp_dir};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;
use tokio::io::AsyncWriteExt;
use tokio::process::{Child, Command};

const BIN: &str = env!("CARGO_BIN_EXE_hallway-server");
const DEMO_PASSWORD: &str = "demo-password";
/// The demo school of the contract: username, display name, role, sorted by username.
const DEMO_PEOPLE: [(&str, &str, &str); 7] = [
    ("admin", "Alex Morgan", "admin"),
    ("parent1", "Mei Chen", "parent"),
    ("parent2", "Ravi Singh", "parent"),
    ("student1", "Lily Chen", "student"),
    ("student2", "Arjun Singh", "student"),
    ("teacher1", "Ms. Rivera", "teacher"),
    ("teacher2", "Mr. Okafor", "teacher"),
];

/// What a finished command said.
struct Finished {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

/// The binary with `DATABASE_URL` set, in a private data dir (so nothing lands in the working tree), killed
/// if the test lets go of it early.
fn command(database_url: &str, data_dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .env("DATABASE_URL", database_url)
        .env("HALLWAY_DATA_DIR", data_dir)
        .env("RUST_LOG", "info,sqlx=warn")
        .current_dir(data_dir)
        .kill_on_drop(true);
    cmd
}

/// Runs the binary to completion (bounded) with `stdin` as its standard input.
async fn run(database_url: &str, args: &[&str], stdin: &str) -> Finished {
    let data_dir = reachable_temp_dir().unwrap();
    let mut child = command(database_url, data_dir.path(), args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting hallway-server");
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.as_bytes()).await.unwrap();
    drop(input);
    // On timeout the child is dropped, which kills it.
    let output = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("hallway-server finishes within 60 s")
        .unwrap();
    Finished {
        status: output.status,
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

async fn count(pool: &PgPool, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

#[actix_web::test]
async fn migrate_applies_the_schema_to_an_empty_database_and_is_idempotent() {
    let (pool, url) = fresh_database_with_url().await;
    sqlx::raw_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public;").execute(&pool).await.unwrap();
    let users: Option<String> = sqlx::query_scalar("SELECT to_regclass('users')::text").fetch_one(&pool).await.unwrap();
    assert_eq!(users, None, "the database starts empty");

    for attempt in ["first", "second"] {
        let out = run(&url, &["migrate"], "").await;
        assert!(out.status.success(), "{attempt} migrate failed: {}", out.stderr);
        assert!(out.stdout.contains("migrations applied"), "{}", out.stdout);
        let applied = count(&pool, "SELECT count(*) FROM _sqlx_migrations WHERE success").await;
        assert_eq!(applied as usize, MIGRATOR.iter().count(), "after the {attempt} run");
    }
    let users: Option<String> = sqlx::query_scalar("SELECT to_regclass('users')::text").fetch_one(&pool).await.unwrap();
    assert_eq!(users.as_deref(), Some("users"));
}

#[actix_web::test]
async fn create_admin_reads_the_password_from_stdin_and_the_admin_signs_in() {
    let (pool, url) = fresh_database_with_url().await;
    let args = [
        "create-admin",
        "--username",
        "principal",
        "--display-name",
        "Dana Park",
        "--email",
        "dana.park@school.example",
    ];
    let out = run(&url, &args, "a long enough password\n").await;
    assert!(out.status.success(), "create-admin failed: {}", out.stderr);
    assert!(out.stdout.contains("created admin principal"), "{}", out.stdout);

    let (id, role): (uuid::Uuid, String) =
        sqlx::query_as("SELECT id, role FROM users WHERE username = 'principal'").fetch_one(&pool).await.unwrap();
    assert_eq!(role, "admin");
    let audit: (String, Option<String>, Option<uuid::Uuid>) =
        sqlx::query_as("SELECT action, target, actor_id FROM audit_log").fetch_one(&pool).await.unwrap();
    assert_eq!(audit, ("user.create_admin".to_owned(), Some(format!("user:{id}")), None));

    let server = TestServer::start_on(pool).await;
    for login in ["principal", "dana.park@school.example"] {
        let tokens = server.login(login, "a long enough password").await;
        assert_eq!(tokens.user.id, id);
        assert_eq!(tokens.user.role, Role::Admin);
        assert_eq!(tokens.user.display_name, "Dana Park");
    }
}

#[actix_web::test]
async fn create_admin_refuses_a_short_or_missing_password() {
    let (pool, url) = fresh_database_with_url().await;
    for stdin in ["short\n", ""] {
        let out = run(&url, &["create-admin", "--username", "principal", "--display-name", "Dana Park"], stdin).await;
        assert!(!out.status.success(), "accepted the password {stdin:?}");
        assert!(out.stderr.contains("the password must be at least 8 characters"), "{}", out.stderr);
    }
    assert_eq!(count(&pool, "SELECT count(*) FROM users").await, 0);
}

#[actix_web::test]
async fn create_admin_refuses_a_username_taken_in_any_case() {
    let (pool, url) = fresh_database_with_url().await;
    let first =
        run(&url, &["create-admin", "--username", "principal", "--display-name", "Dana Park"], "password one\n").await;
    assert!(first.status.success(), "{}", first.stderr);
    let second =
        run(&url, &["create-admin", "--username", "Principal", "--display-name", "Someone Else"], "password two\n")
            .await;
    assert!(!second.status.success(), "a second Principal was created");
    assert!(second.stderr.contains("a user with that username or email already exists"), "{}", second.stderr);
    assert_eq!(count(&pool, "SELECT count(*) FROM users").await, 1);
    assert_eq!(count(&pool, "SELECT count(*) FROM audit_log").await, 1, "the refused attempt left no audit entry");
}

#[actix_web::test]
async fn the_server_binary_has_no_bench_seed_command() {
    // Minting tokens with the server's secret belongs to the bench crate's `hallway-bench-seed` only.
    let out = run("postgres://127.0.0.1:1/unused", &["bench-seed", "--tokens-out", "tokens.json"], "").await;
    assert_eq!(out.status.code(), Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("unrecognized subcommand 'bench-seed'"), "{}", out.stderr);
}

/// Every row the demo school consists of, as JSON text, leaving out what a re-seed may touch (password
/// hashes and the `updated_at` that records their reset).
async fn demo_snapshot(pool: &PgPool) -> Vec<String> {
    let mut rows = Vec::new();
    for sql in [
        "SELECT (to_jsonb(u) - 'password_hash' - 'updated_at')::text FROM users u ORDER BY id",
        "SELECT to_jsonb(g)::text FROM guardianships g ORDER BY parent_id, student_id",
        "SELECT to_jsonb(c)::text FROM conversations c ORDER BY id",
        "SELECT to_jsonb(m)::text FROM conversation_members m ORDER BY conversation_id, user_id",
        "SELECT to_jsonb(m)::text FROM messages m ORDER BY id",
    ] {
        rows.extend(sqlx::query_scalar::<_, String>(sql).fetch_all(pool).await.unwrap());
    }
    rows
}

/// Whether `username`'s stored password hash accepts `password`.
async fn has_password(pool: &PgPool, username: &str, password: &str) -> bool {
    let hash: Option<String> = sqlx::query_scalar("SELECT password_hash FROM users WHERE username = $1")
        .bind(username)
        .fetch_one(pool)
        .await
        .unwrap();
    password::HashPool::start(1, Some(1)).unwrap().verify(hash, password.to_owned()).await.unwrap()
}

#[actix_web::test]
async fn demo_seed_creates_exactly_the_contracts_school() {
    let pool = fresh_database().await;
    demo::seed(&pool).await.unwrap();

    let people: Vec<(String, String, String)> =
        sqlx::query_as("SELECT username, display_name, role FROM users ORDER BY username")
            .fetch_all(&pool)
            .await
            .unwrap();
    let expected: Vec<(String, String, String)> =
        DEMO_PEOPLE.iter().map(|(u, d, r)| (u.to_string(), d.to_string(), r.to_string())).collect();
    assert_eq!(people, expected);
    for (username, _, _) in DEMO_PEOPLE {
        assert!(has_password(&pool, username, DEMO_PASSWORD).await, "{username} has the demo password");
    }

    let guardians: Vec<(String, String)> = sqlx::query_as(
        "SELECT p.username, s.username FROM guardianships g
         JOIN users p ON p.id = g.parent_id JOIN users s ON s.id = g.student_id ORDER BY 1",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(guardians, [("parent1".into(), "student1".into()), ("parent2".into(), "student2".into())]);

    // One conversation and nothing else: the group "Class 4B" of teacher2.
    let conversations: Vec<(uuid::Uuid, String, Option<String>, String, i64)> = sqlx::query_as(
        "SELECT c.id, c.kind, c.name, u.username, c.next_seq FROM conversations c JOIN users u ON u.id = c.created_by",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let [(group, kind, name, creator, next_seq)] = conversations.as_slice() else {
        panic!("expected exactly one conversation, got {conversations:?}")
    };
    assert_eq!((kind.as_str(), name.as_deref(), creator.as_str()), ("group", Some("Class 4B"), "teacher2"));

    let members: Vec<(String, String)> = sqlx::query_as(
        "SELECT u.username, m.role FROM conversation_members m JOIN users u ON u.id = m.user_id
         WHERE m.conversation_id = $1 ORDER BY u.username",
    )
    .bind(group)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        members,
        [("admin".into(), "member".into()), ("parent2".into(), "member".into()), ("teacher2".into(), "admin".into())]
    );

    let messages: Vec<(i64, String, String, bool)> = sqlx::query_as(
        "SELECT m.seq, u.username, m.body, m.deleted_at IS NOT NULL FROM messages m JOIN users u ON u.id = m.sender_id
         WHERE m.conversation_id = $1 ORDER BY m.seq",
    )
    .bind(group)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(!messages.is_empty(), "the group has a few messages");
    let n = messages.len() as i64;
    assert_eq!(messages.iter().map(|m| m.0).collect::<Vec<_>>(), (1..=n).collect::<Vec<_>>(), "seq runs 1..N");
    assert_eq!(*next_seq, n + 1);
    for (seq, sender, body, deleted) in &messages {
        assert!(members.iter().any(|(member, _)| member == sender), "message {seq} is by a member");
        assert!(!body.trim().is_empty() && !deleted, "message {seq} is a live message with a body");
    }
    assert_eq!(count(&pool, "SELECT count(*) FROM messages").await, n, "no messages elsewhere");
    let last_is_latest: bool = sqlx::query_scalar(
        "SELECT c.last_message_at = (SELECT max(created_at) FROM messages WHERE conversation_id = c.id)
         FROM conversations c WHERE c.id = $1",
    )
    .bind(group)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(last_is_latest, "last_message_at is the newest message's time");
}

#[actix_web::test]
async fn demo_seed_again_changes_nothing_but_resets_the_passwords() {
    let pool = fresh_database().await;
    demo::seed(&pool).await.unwrap();
    let before = demo_snapshot(&pool).await;
    // parent1 changed their password since the last start.
    let changed = password::hash_blocking("parent1's own password").unwrap();
    sqlx::query("UPDATE users SET password_hash = $1 WHERE username = 'parent1'")
        .bind(changed)
        .execute(&pool)
        .await
        .unwrap();
    assert!(!has_password(&pool, "parent1", DEMO_PASSWORD).await);

    demo::seed(&pool).await.unwrap();
    assert_eq!(demo_snapshot(&pool).await, before, "a second seed changes no row of the school");
    let server = TestServer::start_on(pool).await;
    let tokens = server.login("parent1", DEMO_PASSWORD).await;
    assert_eq!(tokens.user.display_name, "Mei Chen");
}

#[actix_web::test]
async fn demo_seed_refuses_a_database_holding_someone_outside_the_demo() {
    let insert_mallory = |pool: PgPool| async move {
        let new = NewUser {
            username: "mallory",
            email: None,
            display_name: "Mallory",
            role: Role::Teacher,
            password_hash: None,
        };
        store::users::insert(&pool, &new).await.unwrap();
    };
    // An empty school with one real account, and a demo school someone added an account to.
    for seed_first in [false, true] {
        let pool = fresh_database().await;
        if seed_first {
            demo::seed(&pool).await.unwrap();
        }
        insert_mallory(pool.clone()).await;
        let before = demo_snapshot(&pool).await;

        let err = demo::seed(&pool).await.unwrap_err();
        assert!(matches!(&err, DemoError::ForeignUsers(names) if names == "mallory"), "{err:?}");
        assert!(err.to_string().contains("--demo refuses this database"), "{err}");
        assert_eq!(demo_snapshot(&pool).await, before, "nothing was seeded");
    }
}

/// `hallway-server serve` running in the background, with its output in files for the failure messages.
struct Serving {
    child: Child,
    stdout: std::path::PathBuf,
    stderr: std::path::PathBuf,
    _data_dir: tempfile::TempDir,
}

impl Serving {
    fn start(database_url: &str, args: &[&str]) -> Serving {
        let data_dir = reachable_temp_dir().unwrap();
        let (stdout, stderr) = (data_dir.path().join("stdout.log"), data_dir.path().join("stderr.log"));
        let child = command(database_url, data_dir.path(), args)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&stdout).unwrap())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .expect("starting hallway-server serve");
        Serving { child, stdout, stderr, _data_dir: data_dir }
    }

    fn output(&self) -> String {
        let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
        format!("--- stdout\n{}--- stderr\n{}", read(&self.stdout), read(&self.stderr))
    }
}

/// A loopback port that was free a moment ago (bound, then released for the server to take).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[actix_web::test]
async fn serve_demo_answers_signs_in_and_exits_cleanly_on_sigterm() {
    let (_pool, url) = fresh_database_with_url().await;
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    // `serving` is dropped on every path out of this test, and dropping kills the process.
    let mut serving = Serving::start(&url, &["serve", "--demo", "--bind", &format!("127.0.0.1:{port}")]);
    let client = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap();

    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = serving.child.try_wait().unwrap() {
            panic!("hallway-server exited early ({status}):\n{}", serving.output());
        }
        if let Ok(response) = client.get(format!("{base}/healthz")).send().await
            && response.status() == StatusCode::OK
        {
            break;
        }
        assert!(Instant::now() < deadline, "no /healthz within 30 s:\n{}", serving.output());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    for login in ["parent1", "PARENT1"] {
        let response = client
            .post(format!("{base}/api/v1/auth/login"))
            .json(&json!({ "login": login, "password": DEMO_PASSWORD }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "login as {login}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["user"]["username"], "parent1");
        assert_eq!(body["user"]["display_name"], "Mei Chen");
        assert_eq!(body["user"]["role"], "parent");
    }
    assert!(serving.output().contains(&format!("Hallway demo school is running at {base}")), "{}", serving.output());

    // No idle keep-alive connection may hold the graceful shutdown up.
    drop(client);
    let pid = serving.child.id().expect("the server is still running") as i32;
    kill(Pid::from_raw(pid), Signal::SIGTERM).unwrap();
    let status = tokio::time::timeout(Duration::from_secs(15), serving.child.wait())
        .await
        .unwrap_or_else(|_| panic!("no exit within 15 s of SIGTERM:\n{}", serving.output()))
        .unwrap();
    assert!(status.success(), "exit status {status} after SIGTERM:\n{}", serving.output());
}

//! The test harness. `with-test-db` (run by `scripts/test`) starts one throwaway PostgreSQL cluster per test
//! run; here each test gets its own fresh, migrated database cloned from the template, and can start the
//! real server (the same `startup` code as `main`) on a free port and talk to it over real HTTP.
#![expect(clippy::expect_used, reason = "a test that cannot set up must fail loudly, with the reason")]

use std::net::SocketAddr;
use std::path::Path;
use std::str::FromStr;
use std::sync::OnceLock;

use hallway_protocol::Role;
use hallway_protocol::auth::TokenResponse;
use hallway_server::config::Config;
use hallway_server::startup::Application;
use hallway_server::state::AppState;
use hallway_server::store::{self, users::NewUser, users::UserRow};
use reqwest::StatusCode;
use serde_json::Value;
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection, PgPool};
use uuid::Uuid;

/// Set by `with-test-db`: the URL of the run's cluster (its `postgres` database).
pub const DATABASE_URL_VAR: &str = "HALLWAY_TEST_DATABASE_URL";
/// The migrated database every test database is cloned from.
pub const TEMPLATE_DATABASE: &str = "hallway_template";
/// The password `TestServer::create_user` gives everyone.
pub const PASSWORD: &str = "correct horse battery";
/// The token secret test servers sign with, so tests can mint tokens of their own (expired ones, say).
pub const JWT_SECRET: &str = "test secret, not for production";

/// A temporary directory that the unprivileged PostgreSQL user can reach (tempdirs are 0700 by default).
pub fn reachable_temp_dir() -> std::io::Result<tempfile::TempDir> {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::Builder::new().prefix("hallway-test-").tempdir_in(std::env::temp_dir())?;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))?;
    Ok(dir)
}

/// The pool settings of test databases: a few connections, none kept open while idle.
fn test_pool_options() -> sqlx::postgres::PgPoolOptions {
    store::pool_options().min_connections(0).max_connections(10)
}

/// A fresh database for one test, cloned from the migrated template of this run's cluster.
pub async fn fresh_database() -> PgPool {
    fresh_database_with_url().await.0
}

/// A fresh database as `fresh_database` makes it, with its URL too, for tests that hand the database to
/// another process (the `hallway-server` binary through `DATABASE_URL`).
pub async fn fresh_database_with_url() -> (PgPool, String) {
    let url = std::env::var(DATABASE_URL_VAR).unwrap_or_else(|_| {
        panic!("{DATABASE_URL_VAR} is not set: run the tests through scripts/test, which starts the test cluster")
    });
    let admin = PgConnectOptions::from_str(&url).expect("HALLWAY_TEST_DATABASE_URL is a PostgreSQL URL");
    let name = format!("test_{}", Uuid::now_v7().simple());
    let mut conn = PgConnection::connect_with(&admin).await.expect("connecting to the test cluster");
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name} TEMPLATE {TEMPLATE_DATABASE}")))
        .execute(&mut conn)
        .await
        .expect("cloning the template database");
    conn.close().await.ok();
    let pool = test_pool_options()
        // Durability is the server's business in production; in tests, waiting for fsync only slows them.
        .connect_with(admin.database(&name).options([("synchronous_commit", "off")]))
        .await
        .expect("connecting to the test database");
    // Same cluster and socket (the `host` query parameter), another database: only the path changes.
    let mut database_url = reqwest::Url::parse(&url).expect("HALLWAY_TEST_DATABASE_URL is a URL");
    database_url.set_path(&format!("/{name}"));
    (pool, database_url.into())
}

/// A configuration for a test server: loopback, a free port, a known secret, a private data dir.
pub fn test_config(data_dir: &Path) -> Config {
    let mut config = Config::new(data_dir.to_path_buf());
    config.bind = "127.0.0.1:0".parse().expect("a literal socket address");
    config.jwt_secret = Some(JWT_SECRET.to_owned());
    config.workers = Some(2);
    // Tests send many messages over REST in quick succession; the test of the REST quota sets its own.
    config.realtime.rest_send_burst = 100_000;
    config
}

/// The real server on a free loopback port, with its own database; stopped when dropped.
pub struct TestServer {
    /// `http://127.0.0.1:<port>`, or `https://` when the configuration has TLS.
    pub base_url: String,
    pub pool: PgPool,
    pub client: reqwest::Client,
    pub state: AppState,
    handle: actix_web::dev::ServerHandle,
    local_addr: SocketAddr,
    metrics_addr: Option<SocketAddr>,
    _data_dir: tempfile::TempDir,
}

impl TestServer {
    /// Starts a server with the default test configuration. Call from an `#[actix_web::test]`.
    pub async fn start() -> TestServer {
        TestServer::start_with(|_| {}).await
    }

    /// Starts a server after letting the test adjust the configuration (its `data_dir` is the test's own).
    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> TestServer {
        TestServer::start_on_with(fresh_database().await, adjust).await
    }

    /// Starts a server on a database the test prepared (say, one the command-line tools wrote to).
    pub async fn start_on(pool: PgPool) -> TestServer {
        TestServer::start_on_with(pool, |_| {}).await
    }

    /// Starts a server on a prepared database, after letting the test adjust the configuration.
    pub async fn start_on_with(pool: PgPool, adjust: impl FnOnce(&mut Config)) -> TestServer {
        // A pool of its own on the same database: the connections a stopped server's workers opened belong to
        // their runtimes and fail with them ("a Tokio context ... is being shutdown"), so a server restarted on
        // its predecessor's pool would inherit dead connections.
        let pool = test_pool_options().connect_lazy_with((*pool.connect_options()).clone());
        let data_dir = reachable_temp_dir().expect("creating a data dir");
        let mut config = test_config(data_dir.path());
        adjust(&mut config);
        let scheme = if config.tls.is_some() { "https" } else { "http" };
        let app = Application::build(config, pool.clone()).await.expect("building the application");
        let local_addr = app.local_addr();
        let metrics_addr = app.metrics_addr();
        let base_url = format!("{scheme}://{local_addr}");
        let handle = app.handle();
        let state = app.state().clone();
        actix_rt::spawn(app.run());
        let client = reqwest::Client::builder().build().expect("building the HTTP client");
        TestServer { base_url, pool, client, state, handle, local_addr, metrics_addr, _data_dir: data_dir }
    }

    /// The loopback address the server listens on (for clients that must dial it themselves).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The address of the metrics listener, when the configuration set `metrics_bind`.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_addr
    }

    /// The absolute URL of a path such as `/api/v1/me`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// Creates an active user with the password `PASSWORD`.
    pub async fn create_user(&self, username: &str, role: Role) -> UserRow {
        store::users::insert(
            &self.pool,
            &NewUser {
                username,
                email: Some(&format!("{username}@school.example")),
                display_name: &format!("{username} Display"),
                role,
                password_hash: Some(password_hash()),
            },
        )
        .await
        .expect("inserting a user")
    }

    /// Signs in and returns the tokens, failing the test if that does not succeed.
    pub async fn login(&self, login: &str, password: &str) -> TokenResponse {
        let (status, body) =
            self.post("/api/v1/auth/login", None, &serde_json::json!({ "login": login, "password": password })).await;
        assert_eq!(status, StatusCode::OK, "login of {login} failed: {body}");
        serde_json::from_value(body).expect("a token response")
    }

    /// Creates a user and signs them in.
    pub async fn signed_in(&self, username: &str, role: Role) -> (UserRow, TokenResponse) {
        let user = self.create_user(username, role).await;
        let tokens = self.login(username, PASSWORD).await;
        (user, tokens)
    }

    /// Creates a conversation directly in the database (the creator first, as group admin), returning its id.
    pub async fn create_conversation(
        &self,
        kind: hallway_protocol::ConversationKind,
        name: Option<&str>,
        creator: Uuid,
        others: &[Uuid],
    ) -> Uuid {
        let mut members = vec![(creator, kind == hallway_protocol::ConversationKind::Group)];
        members.extend(others.iter().map(|id| (*id, false)));
        let mut tx = self.pool.begin().await.expect("a transaction");
        let new = store::conversations::NewConversation { kind, name, created_by: creator, members: &members };
        let id = store::conversations::create(&mut tx, &new).await.expect("creating a conversation");
        tx.commit().await.expect("committing the conversation");
        id
    }

    /// `GET` with an optional Bearer token; the status and the JSON body (`Null` when empty).
    pub async fn get(&self, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        self.send(self.client.get(self.url(path)), token).await
    }

    /// `POST` a JSON body with an optional Bearer token.
    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> (StatusCode, Value) {
        self.send(self.client.post(self.url(path)).json(body), token).await
    }

    /// `PATCH` a JSON body with an optional Bearer token.
    pub async fn patch(&self, path: &str, token: Option<&str>, body: &Value) -> (StatusCode, Value) {
        self.send(self.client.patch(self.url(path)).json(body), token).await
    }

    /// `PUT` a JSON body with an optional Bearer token.
    pub async fn put(&self, path: &str, token: Option<&str>, body: &Value) -> (StatusCode, Value) {
        self.send(self.client.put(self.url(path)).json(body), token).await
    }

    /// `DELETE` with an optional Bearer token.
    pub async fn delete(&self, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        self.send(self.client.delete(self.url(path)), token).await
    }

    /// Posts a text message to `conversation` as the holder of `token` over REST, asserts it was created
    /// (201) and answers the message.
    pub async fn send_message(&self, token: &str, conversation: Uuid, body: &str) -> Value {
        let request = serde_json::json!({ "client_msg_id": Uuid::now_v7().to_string(), "body": body });
        let (status, message) =
            self.post(&format!("/api/v1/conversations/{conversation}/messages"), Some(token), &request).await;
        assert_eq!(status, StatusCode::CREATED, "{message}");
        message
    }

    /// Sends a prepared request with an optional Bearer token.
    pub async fn send(&self, request: reqwest::RequestBuilder, token: Option<&str>) -> (StatusCode, Value) {
        let request = match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        };
        let response = request.send().await.expect("the server answers");
        let status = response.status();
        let text = response.text().await.expect("reading the body");
        let body =
            if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
        (status, body)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        // Sends the stop command at once; the workers wind down on their own threads.
        drop(self.handle.stop(false));
    }
}

pub mod push_receiver;
pub mod vendor_push;
pub mod ws;

/// The error code of an error envelope, or `""` when the body is not one.
pub fn error_code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("")
}

/// One argon2 hash of `PASSWORD`, computed once per test process.
fn password_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| hallway_server::auth::password::hash_blocking(PASSWORD).expect("hashing the test password"))
}

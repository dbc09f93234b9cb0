//! `app-test-server`: the real Hallway server for the Kotlin and Swift app tests, which cannot start one
//! themselves (the Swift tests run inside a Debian 13 root without PostgreSQL). It starts a throwaway
//! PostgreSQL cluster (the server's own embedded-cluster code), seeds the demo school, serves on a loopback
//! port, and prints one JSON line: `{"server_url": "http://127.0.0.1:P", "control_url": "http://127.0.0.1:C"}`.
//!
//! The control URL lets a test take the server down and bring it back, as a phone sees a server restart:
//! `POST /stop` answers 204 once the server stopped listening and its sockets are closed (the database stays),
//! `POST /start` answers 204 once it listens again on the same port, with fresh actors, as after a restart.
//!
//! It exits, removing its cluster, when its standard input reaches end-of-file (so a test script that dies
//! cannot leave it behind), on SIGTERM or on Ctrl-C.

use std::io::{Read, Write};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpResponse, HttpServer, web};
use anyhow::Context;
use hallway_server::config::Config;
use hallway_server::startup::Application;
use hallway_server::store::embedded::Durability;
use hallway_server::store::{self, EmbeddedCluster, MIGRATOR};
use sqlx::PgPool;
use tokio::sync::Mutex;

/// The database the cluster holds for the server.
const DATABASE: &str = "hallway";
/// How many times `/start` tries again, 100 ms apart, while the old listening socket lingers.
const START_ATTEMPTS: u32 = 50;

#[actix_web::main]
async fn main() -> ExitCode {
    hallway_server::telemetry::init();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("app-test-server: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// The Hallway server the control endpoints start and stop.
struct Controlled {
    config: Config,
    pool: PgPool,
    /// The running server's handle; `None` while stopped.
    running: Mutex<Option<ServerHandle>>,
}

impl Controlled {
    /// Starts the server unless it runs already. The stopped server's listening socket may close a moment
    /// after its handle says it stopped (actix-server's accept thread lets go of it on its own schedule), so
    /// binding the same port is tried again for a few seconds.
    async fn start(&self) -> anyhow::Result<()> {
        let mut running = self.running.lock().await;
        if running.is_some() {
            return Ok(());
        }
        let mut attempts = 0;
        let app = loop {
            match Application::build(self.config.clone(), self.pool.clone()).await {
                Ok(app) => break app,
                Err(err) if attempts < START_ATTEMPTS => {
                    attempts += 1;
                    tracing::info!(error = %format!("{err:#}"), attempts, "starting again failed; retrying");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(err) => return Err(err),
            }
        };
        *running = Some(app.handle());
        actix_rt::spawn(app.run());
        Ok(())
    }

    /// Stops the server at once (no grace: a crash or a cut network looks the same to a phone).
    async fn stop(&self) {
        if let Some(handle) = self.running.lock().await.take() {
            handle.stop(false).await;
        }
    }
}

async fn run() -> anyhow::Result<()> {
    let dir = hallway_test_support::reachable_temp_dir()?;
    let cluster = EmbeddedCluster::start_with(&dir.path().join("cluster"), DATABASE, Durability::Throwaway).await?;
    let outcome = serve(&cluster, dir.path()).await;
    if let Err(err) = cluster.stop().await {
        eprintln!("app-test-server: could not stop the cluster: {err}");
    }
    outcome
}

async fn serve(cluster: &EmbeddedCluster, dir: &std::path::Path) -> anyhow::Result<()> {
    let pool = store::pool_options().connect_with(cluster.connect_options(DATABASE)).await?;
    MIGRATOR.run(&pool).await.context("migrating")?;
    hallway_server::demo::seed(&pool).await.context("seeding the demo school")?;

    let data_dir = dir.join("data");
    std::fs::create_dir_all(&data_dir)?;
    let mut config = hallway_test_support::test_config(&data_dir);
    // Apps under test sign in and send far more often than people do.
    config.limits.login_failures_per_account = 1_000;
    config.limits.login_failures_per_address = 1_000;
    config.realtime.sends_per_sec = 1_000;
    config.realtime.send_burst = 1_000;
    config.realtime.typing_per_sec = 1_000;
    // Bind a free port once, then keep it: a restarted server must be found where the apps left it.
    let first = Application::build(config.clone(), pool.clone()).await?;
    config.bind = first.local_addr();
    let controlled = Arc::new(Controlled { config, pool, running: Mutex::new(Some(first.handle())) });
    actix_rt::spawn(first.run());

    let control = {
        let controlled = web::Data::from(controlled.clone());
        HttpServer::new(move || {
            App::new()
                .app_data(controlled.clone())
                .route("/stop", web::post().to(stop))
                .route("/start", web::post().to(start))
        })
        .workers(1)
        .bind("127.0.0.1:0")?
    };
    let control_addr = control.addrs().first().copied().context("the control server has no address")?;
    let control = control.run();
    let control_handle = control.handle();
    actix_rt::spawn(control);

    let ready = serde_json::json!({
        "server_url": format!("http://{}", controlled.config.bind),
        "control_url": format!("http://{control_addr}"),
    });
    let mut stdout = std::io::stdout();
    writeln!(stdout, "{ready}")?;
    stdout.flush()?;

    wait_for_the_end().await;
    controlled.stop().await;
    control_handle.stop(false).await;
    Ok(())
}

/// Returns when standard input closes, or on SIGTERM or Ctrl-C.
async fn wait_for_the_end() {
    let stdin_closed = tokio::task::spawn_blocking(|| {
        let mut sink = [0u8; 256];
        let mut stdin = std::io::stdin();
        while matches!(stdin.read(&mut sink), Ok(n) if n > 0) {}
    });
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = stdin_closed => {}
        _ = terminate => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

async fn stop(controlled: web::Data<Controlled>) -> HttpResponse {
    controlled.stop().await;
    HttpResponse::NoContent().finish()
}

async fn start(controlled: web::Data<Controlled>) -> HttpResponse {
    match controlled.start().await {
        Ok(()) => HttpResponse::NoContent().finish(),
        Err(err) => HttpResponse::InternalServerError().body(format!("{err:#}")),
    }
}

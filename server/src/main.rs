//! `hallway-server`: serve, migrate, create-admin, backup, restore.

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use hallway_protocol::Role;
use hallway_protocol::admin::Username;
use hallway_server::auth::password::{self, NewPassword};
use hallway_server::config::{CommonArgs, Config, ServeArgs};
use hallway_server::startup::Application;
use hallway_server::store::{self, Database, audit::AuditEntry, users::NewUser};
use hallway_server::{demo, telemetry};

/// mimalloc instead of glibc's allocator: after a storm of 5,000 reconnecting phones glibc kept the whole
/// peak (about 250 MB above the baseline, for good), jemalloc gave back all but 58 MB and mimalloc all but
/// 23 MB; sign-in storms measured alike (docs/benchmarks.md, "Allocators"). Only the binary: tests and
/// embedders of the library keep their own.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "hallway-server", version, about = "Hallway: real-time messaging for schools")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (with its own PostgreSQL unless DATABASE_URL is set).
    Serve(Box<ServeArgs>),
    /// Apply the database migrations, then exit.
    Migrate(DatabaseArgs),
    /// Create a school admin account (the password is read from standard input).
    CreateAdmin(CreateAdminArgs),
    /// Write the database, the uploaded files and the token secret into one .tar.gz file.
    Backup(BackupArgs),
    /// Restore a backup into this data dir (and its database), which must be empty unless --force.
    Restore(RestoreArgs),
}

#[derive(Args)]
struct BackupArgs {
    /// The backup file to write (a .tar.gz; replaced if it exists).
    #[arg(long)]
    out: PathBuf,
    #[command(flatten)]
    database: DatabaseArgs,
}

#[derive(Args)]
struct RestoreArgs {
    /// The backup file, as `backup --out` wrote it.
    file: PathBuf,
    /// Replace a database that holds people, and the data dir's uploaded files and token secret.
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    database: DatabaseArgs,
}

#[derive(Args)]
struct DatabaseArgs {
    /// The server's data dir (its embedded database lives there when DATABASE_URL is unset).
    #[arg(long, env = "HALLWAY_DATA_DIR", default_value = "./data")]
    data_dir: PathBuf,
    #[command(flatten)]
    common: CommonArgs,
}

#[derive(Args)]
struct CreateAdminArgs {
    /// Their username (letters, digits, `.`, `_` or `-`).
    #[arg(long)]
    username: String,
    /// Their name as people see it.
    #[arg(long)]
    display_name: String,
    /// Their email address (they may sign in with it too).
    #[arg(long)]
    email: Option<String>,
    #[command(flatten)]
    database: DatabaseArgs,
}

#[actix_web::main]
async fn main() -> ExitCode {
    telemetry::init();
    let result = match Cli::parse().command {
        Command::Serve(args) => serve(Config::from_serve_args(*args)).await,
        Command::Migrate(args) => migrate(Config::from_common(args.data_dir, args.common)).await,
        Command::CreateAdmin(args) => create_admin(args).await,
        Command::Backup(args) => backup(args).await,
        Command::Restore(args) => restore(args).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let database = Database::open(&config).await?;
    let demo = config.demo;
    let scheme = if config.tls.is_some() { "https" } else { "http" };
    let result = async {
        if demo {
            demo::seed(&database.pool).await?;
        }
        let app = Application::build(config, database.pool.clone()).await?;
        database.supervise(app.state().database.clone(), app.background());
        hallway_server::safety::retention::spawn_daily(database.pool.clone(), app.background());
        hallway_server::sync::spawn_pruning(database.pool.clone(), app.background());
        let url = format!("{scheme}://{}", app.local_addr());
        tracing::info!(%url, "Hallway is listening");
        if let Some(metrics) = app.metrics_addr() {
            tracing::info!(url = %format!("http://{metrics}/metrics"), "metrics are served apart from the API");
        }
        if demo {
            println!("{}", demo::banner(&url));
        }
        // Returns once the sockets are closed and the background tasks have stored what they held.
        app.run().await.context("serving")
    }
    .await;
    // Last, with nothing left that writes: the pool, then the embedded cluster (`lifecycle`).
    tracing::info!("closing the database");
    database.close().await;
    tracing::info!("stopped");
    result
}

async fn migrate(config: Config) -> anyhow::Result<()> {
    let database = Database::open(&config).await?;
    println!("migrations applied");
    database.close().await;
    Ok(())
}

async fn backup(args: BackupArgs) -> anyhow::Result<()> {
    let config = Config::from_common(args.database.data_dir, args.database.common);
    let manifest = hallway_server::backup::backup(&config, &args.out).await?;
    let extras = [(manifest.has_blobs, "uploaded files"), (manifest.has_jwt_secret, "token secret")];
    let extras: Vec<&str> = extras.into_iter().filter_map(|(has, what)| has.then_some(what)).collect();
    let with = if extras.is_empty() { String::new() } else { format!(" with the {}", extras.join(" and the ")) };
    println!("backed up the database{with} to {}", args.out.display());
    Ok(())
}

async fn restore(args: RestoreArgs) -> anyhow::Result<()> {
    let config = Config::from_common(args.database.data_dir, args.database.common);
    let manifest = hallway_server::backup::restore(&config, &args.file, args.force).await?;
    println!(
        "restored the backup of {} (Hallway {}) into {}",
        manifest.created_at,
        manifest.server_version,
        config.data_dir.display()
    );
    Ok(())
}

async fn create_admin(args: CreateAdminArgs) -> anyhow::Result<()> {
    let username = Username::parse(&args.username)
        .map_err(|_| anyhow::anyhow!("the username must be 1 to 64 letters, digits, `.`, `_` or `-`"))?
        .as_str()
        .to_owned();
    let display_name = args.display_name.trim().to_owned();
    anyhow::ensure!(!display_name.is_empty(), "the display name must not be empty");
    let password = NewPassword::parse(&read_password()?).map_err(|e| anyhow::anyhow!("the password {e}"))?;
    let hash = password::hash(password).await?;

    let config = Config::from_common(args.database.data_dir, args.database.common);
    let database = Database::open(&config).await?;
    let result = async {
        let mut tx = database.pool.begin().await?;
        let new = NewUser {
            username: &username,
            email: args.email.as_deref().map(str::trim).filter(|e| !e.is_empty()),
            display_name: &display_name,
            role: Role::Admin,
            password_hash: Some(&hash),
        };
        let user = match store::users::insert(&mut *tx, &new).await {
            Ok(user) => user,
            Err(err) if store::violated_unique_constraint(&err).is_some() => {
                anyhow::bail!("a user with that username or email already exists")
            }
            Err(err) => return Err(err.into()),
        };
        let entry = AuditEntry {
            actor_id: None,
            action: "user.create_admin",
            target: Some(format!("user:{}", user.id)),
            address: None,
            details: serde_json::json!({ "via": "command line" }),
        };
        store::audit::record(&mut *tx, entry).await?;
        tx.commit().await?;
        println!("created admin {} ({})", user.username, user.id);
        Ok(())
    }
    .await;
    database.close().await;
    result
}

/// Reads the new admin's password: prompted twice on a terminal, else the first line of standard input.
fn read_password() -> anyhow::Result<String> {
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password: ")?;
        let second = rpassword::prompt_password("Again: ")?;
        anyhow::ensure!(first == second, "the two passwords differ");
        return Ok(first);
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

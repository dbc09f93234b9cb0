//! `hallway-bench-seed`: fills an empty Hallway database for the load generator (users, groups, history) and
//! writes ready access tokens to a file. It mints tokens with the server's secret, so it is its own binary in
//! the bench crate, never a command of `hallway-server`, and it refuses a database that holds anyone.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use hallway_loadgen::seed::{SeedPlan, seed};
use hallway_server::auth::password::{self, NewPassword};
use hallway_server::auth::tokens::{Keys, load_or_create_secret};
use hallway_server::config::{CommonArgs, Config};
use hallway_server::store::Database;

/// The bench seed's command line (the database options are the server's own).
#[derive(Parser)]
#[command(name = "hallway-bench-seed", version, about = "Fill an empty Hallway database for the load generator")]
struct Cli {
    /// How many users to create (each gets a session and an access token).
    #[arg(long, default_value_t = 1000)]
    users: usize,
    /// How many groups to create.
    #[arg(long, default_value_t = 10)]
    groups: usize,
    /// Members per group (taken round-robin from the users).
    #[arg(long, default_value_t = 10)]
    members: usize,
    /// Messages in one extra conversation between the first two users, for the history scenario.
    #[arg(long, default_value_t = 0)]
    history_messages: i64,
    /// How long the minted access tokens live, in seconds.
    #[arg(long, default_value_t = 12 * 3600)]
    token_ttl_secs: u64,
    /// A password every seeded user gets (hashed once), for the sign-in scenario; none when absent.
    #[arg(long)]
    password: Option<String>,
    /// Where to write the users, groups and tokens (JSON).
    #[arg(long)]
    tokens_out: PathBuf,
    /// The server's data dir (its embedded database and token secret live there).
    #[arg(long, env = "HALLWAY_DATA_DIR", default_value = "./data")]
    data_dir: PathBuf,
    #[command(flatten)]
    common: CommonArgs,
}

#[tokio::main]
async fn main() -> ExitCode {
    hallway_server::telemetry::init();
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = Config::from_common(cli.data_dir, cli.common);
    let secret = load_or_create_secret(config.jwt_secret.as_deref(), &config.data_dir)?;
    let keys = Keys::from_secret(&secret);
    let password_hash = match cli.password {
        Some(password) => Some(password::hash(NewPassword::parse(&password)?).await?),
        None => None,
    };
    let plan = SeedPlan {
        users: cli.users,
        groups: cli.groups,
        members_per_group: cli.members,
        history_messages: cli.history_messages,
        token_ttl: Duration::from_secs(cli.token_ttl_secs),
        password_hash,
    };
    let database = Database::open(&config).await?;
    let started = Instant::now();
    let result = seed(&database.pool, &keys, &plan).await;
    database.close().await;
    let output = result?;
    std::fs::write(&cli.tokens_out, serde_json::to_vec(&output)?)
        .with_context(|| format!("writing {}", cli.tokens_out.display()))?;
    println!(
        "seeded {} users, {} groups, {} history messages in {:.1} s; tokens in {}",
        output.users.len(),
        output.groups.len(),
        output.history.as_ref().map_or(0, |h| h.messages),
        started.elapsed().as_secs_f64(),
        cli.tokens_out.display()
    );
    Ok(())
}

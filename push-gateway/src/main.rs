//! `hallway-push-gateway`: `serve` runs the gateway; `keys add|revoke|list` edit its keys file.

use clap::{Parser, Subcommand};
use hallway_push_gateway::config::{Config, KeysArgs, ServeArgs};
use hallway_push_gateway::keys::KeysFile;
use tracing_subscriber::EnvFilter;

/// The Hallway push gateway: forwards school servers' id-only pushes to APNs and FCM with the app publisher's
/// credentials.
#[derive(Parser)]
#[command(version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway.
    Serve(Box<ServeArgs>),
    /// Manage school keys (the running gateway picks changes up by itself).
    Keys {
        #[command(flatten)]
        file: KeysArgs,
        #[command(subcommand)]
        action: KeysAction,
    },
}

#[derive(Subcommand)]
enum KeysAction {
    /// Issue a key for a school; it is printed once, on standard output, and only its hash is kept.
    Add { school: String },
    /// Revoke a school's key.
    Revoke { school: String },
    /// List the schools holding a key.
    List,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve(Config::from_args(*args)),
        Command::Keys { file, action } => keys(&file.keys_file, action),
    }
}

#[actix_web::main]
async fn serve(config: Config) -> anyhow::Result<()> {
    init_logs();
    let running = hallway_push_gateway::build(config)?;
    running.server.await?;
    Ok(())
}

fn keys(path: &std::path::Path, action: KeysAction) -> anyhow::Result<()> {
    let mut file = KeysFile::read(path)?;
    match action {
        KeysAction::Add { school } => {
            let key = file.add(&school)?;
            file.write(path)?;
            eprintln!(
                "The key of {:?} follows. It is shown this once: give it to the school's operator \
                 (--push-gateway-key); only its hash is kept in {}.",
                school.trim(),
                path.display()
            );
            println!("{key}");
        }
        KeysAction::Revoke { school } => {
            file.revoke(&school)?;
            file.write(path)?;
            eprintln!(
                "Revoked {:?}; a running gateway refuses its key once it has re-read {}.",
                school.trim(),
                path.display()
            );
        }
        KeysAction::List => {
            for (school, entry) in &file.schools {
                println!("{school}\t{}\t{}", entry.created, &entry.sha256[..entry.sha256.len().min(12)]);
            }
        }
    }
    Ok(())
}

/// Logs to standard error, coloured only on a terminal; `RUST_LOG` overrides the filter, and
/// `HALLWAY_LOG_FORMAT=json` gives JSON lines.
fn init_logs() {
    use std::io::IsTerminal as _;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    let _ = if std::env::var("HALLWAY_LOG_FORMAT").is_ok_and(|f| f == "json") {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

//! `hallway-loadgen`: load scenarios against a running Hallway server, each stopping by itself and printing
//! one JSON line of results. Users, groups and tokens come from `hallway-bench-seed --tokens-out`.
//! It talks only to the address it is given (loopback in every documented run).

mod client;
mod push;
mod reactions;
mod scenarios;
mod storm;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// The load generator's command line.
#[derive(Parser)]
#[command(name = "hallway-loadgen", version, about = "Load scenarios for a Hallway server")]
pub struct Cli {
    /// The server (host:port).
    #[arg(long, default_value = "127.0.0.1:8080", global = true)]
    pub server: SocketAddr,
    /// The file `hallway-bench-seed --tokens-out` wrote.
    #[arg(long, default_value = "bench-tokens.json", global = true)]
    pub tokens: PathBuf,
    /// The server's process id, to read its memory from /proc (found by name when absent).
    #[arg(long, global = true)]
    pub server_pid: Option<u32>,
    /// Spread client sockets over this many loopback source addresses (127.0.0.2 ...), so tens of
    /// thousands of connections do not run out of ephemeral ports on one address.
    #[arg(long, default_value_t = 8, global = true)]
    pub source_addresses: u8,
    #[command(subcommand)]
    pub scenario: Scenario,
}

/// The scenarios.
#[derive(Subcommand)]
pub enum Scenario {
    /// Hold N authenticated idle WebSocket connections; report how many held and server memory per connection.
    Connections {
        #[arg(long)]
        n: usize,
        /// How long to hold them once all are open, in seconds.
        #[arg(long, default_value_t = 5)]
        hold_secs: u64,
    },
    /// G groups of M connected members, one sender per group at R messages/s for S seconds.
    Fanout {
        #[arg(long)]
        groups: usize,
        #[arg(long)]
        members: usize,
        #[arg(long)]
        rate: f64,
        #[arg(long)]
        secs: u64,
    },
    /// Every member of one group sends one message at once; time until every delivery arrived.
    Burst {
        /// Members of the group to use (the first seeded group with at least this many).
        #[arg(long, default_value_t = 500)]
        members: usize,
    },
    /// One member of an M-member group toggles a reaction on a message, R times, one change at a time: the
    /// latency until every member has each change, and the server's CPU time per change.
    Reactions {
        #[arg(long, default_value_t = 500)]
        members: usize,
        #[arg(long, default_value_t = 200)]
        changes: usize,
    },
    /// P pairs of people in direct chats; in each, one sends and waits for the other's answer, R times:
    /// the round trip of the most common conversation (a parent and a teacher).
    Pingpong {
        #[arg(long, default_value_t = 10)]
        pairs: usize,
        #[arg(long, default_value_t = 200)]
        round_trips: usize,
    },
    /// Latency of `GET /messages/{id}/receipts` for a message in a conversation of M members (the first seeded
    /// conversation with at least M), after half of them read it and a quarter acknowledged it.
    Receipts {
        #[arg(long, default_value_t = 2001)]
        members: usize,
        #[arg(long, default_value_t = 2000)]
        requests: usize,
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
    },
    /// Sign-ins: `requests` of them from `concurrency` clients at once (seed with --password); sign-ins per
    /// second, latency, 503s, and the server's peak memory above idle and its memory afterwards.
    Logins {
        #[arg(long, default_value_t = 5000)]
        requests: usize,
        #[arg(long, default_value_t = 200)]
        concurrency: usize,
        /// The password `hallway-bench-seed --password` gave everyone.
        #[arg(long)]
        password: String,
    },
    /// The reconnect storm: N connected phones (the first N seeded users) lose their sockets at once, messages
    /// arrive meanwhile, and each comes back with the contract's backoff and jitter and catches up through
    /// `/sync`; whether everyone ends consistent, how long it took, and the server's memory before, at the peak
    /// and after.
    Reconnect {
        #[arg(long, default_value_t = 5000)]
        n: usize,
        /// How long to keep reading the server's memory after everyone caught up (readings at 1, 5, 10, 20
        /// and 30 s, as far as this goes).
        #[arg(long, default_value_t = 30)]
        settle_secs: u64,
        /// A shell command that restarts the server (stops it, starts it again, returns once it answers, and
        /// prints the new process id last): run at the drop, so the phones come back to a server that
        /// restarted rather than one that only lost their sockets.
        #[arg(long)]
        restart_command: Option<String>,
    },
    /// Every member of an M-member group but the sender offline with a Web Push device, N messages: pushes
    /// per second to a local receiver (which decrypts each one), commit-to-push latency, lost and repeated
    /// pushes.
    Push {
        #[arg(long, default_value_t = 500)]
        members: usize,
        #[arg(long, default_value_t = 20)]
        messages: usize,
        /// A shell command that kills the server and starts it again (printing the new process id last): run
        /// after half the messages, so what the killed server had queued must still arrive.
        #[arg(long)]
        restart_command: Option<String>,
    },
    /// Latency of listing conversations and paging a long history (seed it with --history-messages).
    History {
        #[arg(long, default_value_t = 2000)]
        requests: usize,
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match scenarios::run(&cli).await {
        Ok(result) => {
            println!("{result}");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("hallway-loadgen: {err:#}");
            ExitCode::FAILURE
        }
    }
}

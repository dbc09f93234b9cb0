//! The gateway's flags (each may also come from the environment), gathered into one typed `Config`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use hallway_server::config::{PushSettings, TlsFiles, VendorPushArgs};

/// `hallway-push-gateway serve` flags.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on (`:0` picks a free port; the log says which).
    #[arg(long, env = "HALLWAY_GATEWAY_BIND", default_value = "127.0.0.1:8090")]
    pub bind: SocketAddr,
    /// PEM certificate chain; with --tls-key the gateway speaks HTTPS only (school keys travel in a header).
    #[arg(long, env = "HALLWAY_GATEWAY_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for --tls-cert.
    #[arg(long, env = "HALLWAY_GATEWAY_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    #[command(flatten)]
    pub keys: KeysArgs,
    /// How often, in milliseconds, the keys file is looked at for changes (0: only on SIGHUP).
    #[arg(long, env = "HALLWAY_GATEWAY_KEYS_POLL_MS", default_value_t = 2000)]
    pub keys_poll_ms: u64,
    /// Pushes one school may send per second (sustained); more get 429 with Retry-After.
    #[arg(long, env = "HALLWAY_GATEWAY_SCHOOL_PUSHES_PER_SEC", default_value_t = 200)]
    pub school_pushes_per_sec: u32,
    /// Pushes one school may send in a burst.
    #[arg(long, env = "HALLWAY_GATEWAY_SCHOOL_PUSH_BURST", default_value_t = 2000)]
    pub school_push_burst: u32,
    /// One upstream request's time limit, in seconds.
    #[arg(long, env = "HALLWAY_GATEWAY_UPSTREAM_TIMEOUT_SECS", default_value_t = 15)]
    pub upstream_timeout_secs: u64,
    /// HTTP worker threads (default: one per core).
    #[arg(long, env = "HALLWAY_GATEWAY_WORKERS")]
    pub workers: Option<usize>,
    /// Where the gateway keeps files it makes itself (a generated VAPID key).
    #[arg(long, env = "HALLWAY_GATEWAY_DATA_DIR", default_value = "./gateway-data")]
    pub data_dir: PathBuf,
    /// Forward `webpush` and `unifiedpush` pushes too, signed with the gateway's VAPID key. School servers send
    /// those directly; this is for a publisher's own web app subscribed with the gateway's key, and for tests.
    #[arg(long, env = "HALLWAY_GATEWAY_WEBPUSH")]
    pub webpush: bool,
    /// The gateway's VAPID private key (base64url P-256 scalar); without it one is made in the data dir.
    #[arg(long, env = "HALLWAY_GATEWAY_VAPID_PRIVATE_KEY", hide_env_values = true)]
    pub vapid_private_key: Option<String>,
    /// The VAPID contact (`mailto:` or `https:`).
    #[arg(long, env = "HALLWAY_GATEWAY_CONTACT", default_value = PushSettings::DEFAULT_CONTACT)]
    pub contact: String,
    /// FOR TESTS ONLY: let Web Push go to `http://` and loopback endpoints.
    #[arg(long, env = "HALLWAY_GATEWAY_ALLOW_INSECURE_ENDPOINTS")]
    pub allow_insecure_endpoints: bool,
    /// The publisher's APNs key and FCM service account: the same flags as a school server's own.
    #[command(flatten)]
    pub vendors: VendorPushArgs,
}

/// Where the keys file is (shared by `serve` and `keys`).
#[derive(Debug, Clone, Args)]
pub struct KeysArgs {
    /// The TOML file of school key hashes.
    #[arg(long, env = "HALLWAY_GATEWAY_KEYS_FILE", default_value = "./gateway-keys.toml")]
    pub keys_file: PathBuf,
}

/// The gateway's whole configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub bind: SocketAddr,
    pub tls: Option<TlsFiles>,
    pub keys_file: PathBuf,
    /// `None`: the keys file is re-read on SIGHUP only.
    pub keys_poll: Option<Duration>,
    pub school_pushes_per_sec: u32,
    pub school_push_burst: u32,
    pub workers: Option<usize>,
    pub data_dir: PathBuf,
    pub upstreams: Upstreams,
}

/// What each upstream push service needs. The upstreams reuse the school server's providers, so their
/// settings are the server's `PushSettings` (timeouts, concurrency, VAPID contact).
#[derive(Debug, Clone)]
pub struct Upstreams {
    pub push: PushSettings,
    /// Whether Web Push and UnifiedPush are forwarded.
    pub webpush: bool,
}

impl Config {
    /// Builds the configuration of `serve` from its flags.
    pub fn from_args(args: ServeArgs) -> Config {
        let tls = match (args.tls_cert, args.tls_key) {
            (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
            _ => None,
        };
        let (apns, fcm, extra_root_cert) = args.vendors.into_settings();
        let push = PushSettings {
            apns,
            fcm,
            extra_root_cert,
            allow_insecure_endpoints: args.allow_insecure_endpoints,
            vapid_private_key: args.vapid_private_key.filter(|k| !k.is_empty()),
            contact: args.contact,
            timeout: Duration::from_secs(args.upstream_timeout_secs.max(1)),
            ..PushSettings::default()
        };
        Config {
            bind: args.bind,
            tls,
            keys_file: args.keys.keys_file,
            keys_poll: (args.keys_poll_ms > 0).then(|| Duration::from_millis(args.keys_poll_ms)),
            school_pushes_per_sec: args.school_pushes_per_sec.max(1),
            school_push_burst: args.school_push_burst.max(1),
            workers: args.workers,
            data_dir: args.data_dir,
            upstreams: Upstreams { push, webpush: args.webpush },
        }
    }
}

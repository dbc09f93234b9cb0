//! Flags and environment, gathered into one typed `Config`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use url::Url;

/// `hallway-server serve` flags; each may also come from the environment.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "HALLWAY_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,
    /// Serve `GET /metrics` (Prometheus text) on this separate address; off when absent, so metrics are
    /// never public by accident.
    #[arg(long, env = "HALLWAY_METRICS_BIND")]
    pub metrics_bind: Option<SocketAddr>,
    /// Where the server keeps its files: the embedded database (when DATABASE_URL is unset), the token
    /// secret, uploads.
    #[arg(long, env = "HALLWAY_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// Seed the demo school (all passwords `demo-password`); refuses a database with non-demo users.
    #[arg(long)]
    pub demo: bool,
    /// Largest file one upload may carry, in bytes (default 25 MiB); larger uploads get 413.
    #[arg(long, env = "HALLWAY_MAX_UPLOAD_BYTES", default_value_t = MediaLimits::DEFAULT_MAX_UPLOAD_BYTES)]
    pub max_upload_bytes: u64,
    /// Bytes of distinct files one user may keep stored (default 2 GiB); uploads past it get 413.
    #[arg(long, env = "HALLWAY_UPLOAD_QUOTA_BYTES", default_value_t = MediaLimits::DEFAULT_QUOTA_BYTES)]
    pub upload_quota_bytes: u64,
    /// Uploads not sent with any message within this many seconds are deleted (default one day).
    #[arg(long, env = "HALLWAY_UNATTACHED_UPLOAD_MAX_AGE_SECS", default_value_t = 24 * 3600)]
    pub unattached_upload_max_age_secs: u64,
    /// How often, in seconds, the server looks for such forgotten uploads (default hourly).
    #[arg(long, env = "HALLWAY_UPLOAD_CLEANUP_INTERVAL_SECS", default_value_t = 3600)]
    pub upload_cleanup_interval_secs: u64,
    #[command(flatten)]
    pub push: PushArgs,
    #[command(flatten)]
    pub onboarding: OnboardingArgs,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// Push notification flags (`serve` only).
#[derive(Debug, Clone, Args)]
pub struct PushArgs {
    /// FOR TESTS ONLY: accept `http://` push endpoints and loopback addresses (127.0.0.1, ::1), so a test can
    /// run its own push receiver. Private, link-local and metadata addresses stay refused.
    #[arg(long, env = "HALLWAY_PUSH_ALLOW_INSECURE_ENDPOINTS")]
    pub push_allow_insecure_endpoints: bool,
    /// The VAPID private key (RFC 8292: a P-256 scalar, base64url); without it, one is generated once and kept
    /// in the data dir (`vapid-private-key`).
    #[arg(long, env = "HALLWAY_PUSH_VAPID_PRIVATE_KEY", hide_env_values = true)]
    pub push_vapid_private_key: Option<String>,
    /// The contact push services may reach the school's operator at (the VAPID `sub`: `mailto:` or `https:`).
    #[arg(long, env = "HALLWAY_PUSH_CONTACT", default_value = PushSettings::DEFAULT_CONTACT)]
    pub push_contact: String,
    /// Web Push and UnifiedPush requests in flight at once.
    #[arg(long, env = "HALLWAY_PUSH_WEBPUSH_CONCURRENCY", default_value_t = 256)]
    pub push_webpush_concurrency: usize,
    /// Tries of one push before it is kept as dead.
    #[arg(long, env = "HALLWAY_PUSH_MAX_ATTEMPTS", default_value_t = 8)]
    pub push_max_attempts: u32,
    /// The app publisher's push gateway (`https://...`): APNs and FCM pushes to the published apps go there.
    /// APNs or FCM credentials of the school's own (a white-label app) win over it for their platform.
    #[arg(long, env = "HALLWAY_PUSH_GATEWAY_URL", requires = "push_gateway_key")]
    pub push_gateway_url: Option<String>,
    /// This school's key at the push gateway, as the publisher issued it (prefer the environment variable).
    #[arg(long, env = "HALLWAY_PUSH_GATEWAY_KEY", hide_env_values = true, requires = "push_gateway_url")]
    pub push_gateway_key: Option<String>,
    /// Requests to the push gateway in flight at once.
    #[arg(long, env = "HALLWAY_PUSH_GATEWAY_CONCURRENCY", default_value_t = 32)]
    pub push_gateway_concurrency: usize,
    #[command(flatten)]
    pub vendors: VendorPushArgs,
}

/// The APNs and FCM flags: a school's own credentials on `serve`, the publisher's on the push gateway.
#[derive(Debug, Clone, Args)]
pub struct VendorPushArgs {
    /// APNs: the token-signing key (`AuthKey_<key id>.p8`) from the Apple developer account. APNs pushes are
    /// sent only when this, the key id, the team id and the topic are all set.
    #[arg(long, env = "HALLWAY_PUSH_APNS_KEY_FILE")]
    pub push_apns_key_file: Option<PathBuf>,
    /// APNs: the id of that key (10 characters).
    #[arg(long, env = "HALLWAY_PUSH_APNS_KEY_ID")]
    pub push_apns_key_id: Option<String>,
    /// APNs: the Apple developer team id the key belongs to.
    #[arg(long, env = "HALLWAY_PUSH_APNS_TEAM_ID")]
    pub push_apns_team_id: Option<String>,
    /// APNs: the iOS app's bundle id (`apns-topic`).
    #[arg(long, env = "HALLWAY_PUSH_APNS_TOPIC")]
    pub push_apns_topic: Option<String>,
    /// APNs: where pushes go; `https://api.sandbox.push.apple.com` for development builds of the app.
    #[arg(long, env = "HALLWAY_PUSH_APNS_ENDPOINT", default_value = ApnsSettings::PRODUCTION)]
    pub push_apns_endpoint: Url,
    /// FCM: the Firebase project's service-account key (the JSON file from the Firebase console). FCM pushes
    /// are sent only when this is set.
    #[arg(long, env = "HALLWAY_PUSH_FCM_SERVICE_ACCOUNT")]
    pub push_fcm_service_account: Option<PathBuf>,
    /// FCM: the HTTP v1 API's base URL.
    #[arg(long, env = "HALLWAY_PUSH_FCM_ENDPOINT", default_value = FcmSettings::PRODUCTION)]
    pub push_fcm_endpoint: Url,
    /// FOR TESTS AND PRIVATE DEPLOYMENTS: a PEM certificate the APNs and FCM clients trust besides the public
    /// roots (a test's local receivers, or a private relay in front of Apple and Google).
    #[arg(long, env = "HALLWAY_PUSH_EXTRA_ROOT_CERT")]
    pub push_extra_root_cert: Option<PathBuf>,
}

impl VendorPushArgs {
    /// The APNs settings, the FCM settings and the extra root certificate these flags give.
    pub fn into_settings(self) -> (ApnsSettings, FcmSettings, Option<PathBuf>) {
        let apns = ApnsSettings {
            key_file: self.push_apns_key_file,
            key_id: non_empty(self.push_apns_key_id),
            team_id: non_empty(self.push_apns_team_id),
            topic: non_empty(self.push_apns_topic),
            endpoint: self.push_apns_endpoint,
        };
        let fcm = FcmSettings { service_account: self.push_fcm_service_account, endpoint: self.push_fcm_endpoint };
        (apns, fcm, self.push_extra_root_cert)
    }
}

/// Settings shared by every subcommand that opens the database.
#[derive(Debug, Clone, Args)]
pub struct CommonArgs {
    /// Use this PostgreSQL database instead of the embedded cluster.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Secret that signs access tokens; without it, one is generated once and kept in the data dir.
    #[arg(long, env = "HALLWAY_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// PEM certificate chain; with --tls-key, the server speaks HTTPS and WSS only.
    #[arg(long, env = "HALLWAY_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for --tls-cert.
    #[arg(long, env = "HALLWAY_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// HTTP worker threads (default: one per core).
    #[arg(long, env = "HALLWAY_WORKERS")]
    pub workers: Option<usize>,
    /// Failed logins allowed per account within the window before further attempts get 429.
    #[arg(long, env = "HALLWAY_LOGIN_FAILURES_PER_ACCOUNT", default_value_t = 5)]
    pub login_failures_per_account: u32,
    /// Failed logins allowed per client address within the window before further attempts get 429.
    #[arg(long, env = "HALLWAY_LOGIN_FAILURES_PER_ADDRESS", default_value_t = 30)]
    pub login_failures_per_address: u32,
    /// The window, in seconds, over which failed logins are counted.
    #[arg(long, env = "HALLWAY_LOGIN_FAILURE_WINDOW_SECS", default_value_t = 900)]
    pub login_failure_window_secs: u64,
    /// Password hashes computed at once (each holds 19 MiB); the number of cores when absent.
    #[arg(long, env = "HALLWAY_PASSWORD_HASH_WORKERS")]
    pub password_hash_workers: Option<usize>,
    /// Password checks that may wait for a worker before sign-ins get 503; about 5 s of work when absent.
    #[arg(long, env = "HALLWAY_PASSWORD_HASH_QUEUE")]
    pub password_hash_queue: Option<usize>,
    /// Messages one WebSocket session may send per second (sustained).
    #[arg(long, env = "HALLWAY_WS_SENDS_PER_SEC", default_value_t = 10)]
    pub ws_sends_per_sec: u32,
    /// Messages one WebSocket session may send in a burst.
    #[arg(long, env = "HALLWAY_WS_SEND_BURST", default_value_t = 30)]
    pub ws_send_burst: u32,
    /// Typing frames one WebSocket session may send per second (sustained; bursts of 5).
    #[arg(long, env = "HALLWAY_WS_TYPING_PER_SEC", default_value_t = 2)]
    pub ws_typing_per_sec: u32,
    /// Messages one person may send per second over REST (`POST /conversations/{id}/messages`), sustained.
    #[arg(long, env = "HALLWAY_REST_SENDS_PER_SEC", default_value_t = 10)]
    pub rest_sends_per_sec: u32,
    /// Messages one person may send over REST in a burst.
    #[arg(long, env = "HALLWAY_REST_SEND_BURST", default_value_t = 30)]
    pub rest_send_burst: u32,
    /// Frames queued for one WebSocket session before it counts as too far behind and is closed.
    #[arg(long, env = "HALLWAY_WS_MAX_PENDING_FRAMES", default_value_t = 2048)]
    pub ws_max_pending_frames: usize,
}

/// How people get in: the server's public address for invitation links and letters, the school's name, where
/// the apps are, and what the apps' verified links need (`serve` only).
#[derive(Debug, Clone, Args)]
pub struct OnboardingArgs {
    /// The address phones reach this server at, e.g. `https://hallway.school.example` (for invitation links and
    /// printed letters); default: the address each request came to.
    #[arg(long, env = "HALLWAY_PUBLIC_URL", value_parser = parse_public_url)]
    pub public_url: Option<String>,
    /// The school's name, on the join page and the letters.
    #[arg(long, env = "HALLWAY_SCHOOL_NAME", default_value = Onboarding::DEFAULT_SCHOOL_NAME)]
    pub school_name: String,
    /// Where the iOS app is, linked from the join page and the letters.
    #[arg(long, env = "HALLWAY_APP_STORE_URL", default_value = Onboarding::DEFAULT_APP_STORE_URL)]
    pub app_store_url: String,
    /// Where the Android app is, linked from the join page and the letters.
    #[arg(long, env = "HALLWAY_PLAY_STORE_URL", default_value = Onboarding::DEFAULT_PLAY_STORE_URL)]
    pub play_store_url: String,
    /// The Android app's package name, for `/.well-known/assetlinks.json` (unset: 404 there).
    #[arg(long, env = "HALLWAY_ANDROID_PACKAGE")]
    pub android_package: Option<String>,
    /// SHA-256 fingerprints of the Android app's signing certificates (`AA:BB:...`, comma-separated).
    #[arg(long, env = "HALLWAY_ANDROID_CERT_SHA256", value_delimiter = ',')]
    pub android_cert_sha256: Vec<String>,
    /// The iOS app's id (`TEAMID.school.hallway.app`), for `/.well-known/apple-app-site-association` (unset: 404).
    #[arg(long, env = "HALLWAY_APPLE_APP_ID")]
    pub apple_app_id: Option<String>,
}

/// An `http(s)` URL without a query, a fragment or a trailing slash.
fn parse_public_url(raw: &str) -> Result<String, String> {
    let url = raw.trim().trim_end_matches('/');
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
    match rest {
        Some(rest) if !rest.is_empty() && !rest.contains(['?', '#', ' ', '"', '<', '>', '\\']) => Ok(url.to_owned()),
        _ => Err("an http(s) URL such as https://hallway.school.example, without a query".into()),
    }
}

/// What the onboarding pages, the apps' verified links and the letters need.
#[derive(Debug, Clone)]
pub struct Onboarding {
    /// `https://hallway.school.example` without a trailing slash; `None`: the address each request came to.
    pub public_url: Option<String>,
    pub school_name: String,
    pub app_store_url: String,
    pub play_store_url: String,
    pub android_package: Option<String>,
    pub android_cert_sha256: Vec<String>,
    pub apple_app_id: Option<String>,
}

impl Onboarding {
    /// Shown until the school sets its name.
    pub const DEFAULT_SCHOOL_NAME: &str = "Hallway";
    /// The Hallway app on Apple's App Store.
    pub const DEFAULT_APP_STORE_URL: &str = "https://apps.apple.com/app/hallway-school";
    /// The Hallway app on Google Play (its package name is `school.hallway.app`).
    pub const DEFAULT_PLAY_STORE_URL: &str = "https://play.google.com/store/apps/details?id=school.hallway.app";
}

impl Default for Onboarding {
    fn default() -> Self {
        Onboarding {
            public_url: None,
            school_name: Onboarding::DEFAULT_SCHOOL_NAME.to_owned(),
            app_store_url: Onboarding::DEFAULT_APP_STORE_URL.to_owned(),
            play_store_url: Onboarding::DEFAULT_PLAY_STORE_URL.to_owned(),
            android_package: None,
            android_cert_sha256: Vec::new(),
            apple_app_id: None,
        }
    }
}

impl From<OnboardingArgs> for Onboarding {
    fn from(args: OnboardingArgs) -> Onboarding {
        let set = |value: Option<String>| value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        Onboarding {
            public_url: args.public_url,
            school_name: args.school_name.trim().to_owned(),
            app_store_url: args.app_store_url,
            play_store_url: args.play_store_url,
            android_package: set(args.android_package),
            android_cert_sha256: args
                .android_cert_sha256
                .into_iter()
                .map(|f| f.trim().to_ascii_uppercase())
                .filter(|f| !f.is_empty())
                .collect(),
            apple_app_id: set(args.apple_app_id),
        }
    }
}

/// The server's whole configuration, typed and validated.
#[derive(Debug, Clone)]
pub struct Config {
    pub bind: SocketAddr,
    /// Where `GET /metrics` is served, apart from the API; `None`: nowhere.
    pub metrics_bind: Option<SocketAddr>,
    pub data_dir: PathBuf,
    pub demo: bool,
    pub database_url: Option<String>,
    pub jwt_secret: Option<String>,
    pub tls: Option<TlsFiles>,
    pub workers: Option<usize>,
    pub limits: Limits,
    pub tokens: TokenLifetimes,
    pub realtime: RealtimeLimits,
    pub media: MediaLimits,
    pub push: PushSettings,
    pub onboarding: Onboarding,
}

/// How pushes are sent.
#[derive(Debug, Clone)]
pub struct PushSettings {
    /// Lets `http://` and loopback endpoints through (tests only; see `PushArgs`).
    pub allow_insecure_endpoints: bool,
    /// The VAPID private key, base64url; `None`: the data dir's, generated on first use.
    pub vapid_private_key: Option<String>,
    /// The VAPID `sub` claim.
    pub contact: String,
    /// Web Push and UnifiedPush requests in flight at once.
    pub webpush_concurrency: usize,
    /// One request's time limit (connect, send, answer).
    pub timeout: Duration,
    /// Tries of one push before it is kept as dead.
    pub max_attempts: u32,
    /// The wait after the first failed try; it doubles with each further one (up to `max_backoff`).
    pub retry_base: Duration,
    pub max_backoff: Duration,
    /// How long the push service keeps a push for an unreachable device (Web Push `TTL`).
    pub ttl: Duration,
    /// The longest a worker sleeps before looking at the queue again (rows other servers left, leases run out).
    pub poll_interval: Duration,
    /// How long a committed message may wait for its push look-up before the recovery sweep does it (the
    /// server that committed it died first); also how often the sweep looks.
    pub pending_grace: Duration,
    /// APNs, as configured; checked (all or nothing, the key readable) when the server starts.
    pub apns: ApnsSettings,
    /// FCM, as configured; checked (the service account readable) when the server starts.
    pub fcm: FcmSettings,
    /// A PEM certificate the APNs and FCM clients trust besides the public roots (tests, private relays).
    pub extra_root_cert: Option<PathBuf>,
    /// The publisher's push gateway, when the school uses one.
    pub gateway: Option<GatewaySettings>,
}

/// Where the push gateway is and how the school signs in to it.
#[derive(Debug, Clone)]
pub struct GatewaySettings {
    /// The gateway's base URL (`https://push.hallway.example`).
    pub url: String,
    pub key: GatewayKey,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// FOR TESTS ONLY (no flag): Web Push and UnifiedPush go through the gateway too, instead of directly, so a
    /// test can follow a push through the gateway to a receiver that decrypts it.
    pub carries_webpush: bool,
}

/// The school's key at the push gateway; `Debug` does not print it.
#[derive(Clone)]
pub struct GatewayKey(String);

impl GatewayKey {
    pub fn new(key: String) -> GatewayKey {
        GatewayKey(key)
    }

    /// The key itself, for the `Authorization` header.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for GatewayKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GatewayKey(<redacted>)")
    }
}

impl PushSettings {
    pub const DEFAULT_CONTACT: &str = "mailto:admin@hallway.invalid";
}

/// The APNs flags as given: none set means no APNs; some but not all is refused at start (`notify::apns`).
#[derive(Debug, Clone)]
pub struct ApnsSettings {
    pub key_file: Option<PathBuf>,
    pub key_id: Option<String>,
    pub team_id: Option<String>,
    /// The app's bundle id.
    pub topic: Option<String>,
    pub endpoint: Url,
}

impl ApnsSettings {
    pub const PRODUCTION: &str = "https://api.push.apple.com";
    pub const SANDBOX: &str = "https://api.sandbox.push.apple.com";
}

impl Default for ApnsSettings {
    fn default() -> Self {
        ApnsSettings {
            key_file: None,
            key_id: None,
            team_id: None,
            topic: None,
            // A literal URL always parses.
            endpoint: Url::parse(ApnsSettings::PRODUCTION).unwrap_or_else(|_| unreachable!()),
        }
    }
}

/// The FCM flags as given: no service account means no FCM.
#[derive(Debug, Clone)]
pub struct FcmSettings {
    pub service_account: Option<PathBuf>,
    pub endpoint: Url,
}

impl FcmSettings {
    pub const PRODUCTION: &str = "https://fcm.googleapis.com";
}

impl Default for FcmSettings {
    fn default() -> Self {
        // A literal URL always parses.
        FcmSettings {
            service_account: None,
            endpoint: Url::parse(FcmSettings::PRODUCTION).unwrap_or_else(|_| unreachable!()),
        }
    }
}

impl Default for PushSettings {
    fn default() -> Self {
        PushSettings {
            allow_insecure_endpoints: false,
            vapid_private_key: None,
            contact: PushSettings::DEFAULT_CONTACT.to_owned(),
            webpush_concurrency: 256,
            timeout: Duration::from_secs(15),
            max_attempts: 8,
            retry_base: Duration::from_secs(5),
            max_backoff: Duration::from_secs(3600),
            ttl: Duration::from_secs(24 * 3600),
            poll_interval: Duration::from_secs(2),
            pending_grace: Duration::from_secs(30),
            gateway: None,
            apns: ApnsSettings::default(),
            fcm: FcmSettings::default(),
            extra_root_cert: None,
        }
    }
}

/// A PEM certificate chain and its private key.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Abuse limits; configurable so that a benchmark or a large school can raise them.
#[derive(Debug, Clone)]
pub struct Limits {
    pub login_failures_per_account: u32,
    pub login_failures_per_address: u32,
    pub login_failure_window: Duration,
    /// Threads hashing passwords; `None`: one per core.
    pub password_hash_workers: Option<usize>,
    /// Password checks that may wait; `None`: sized to `auth::password::MAX_QUEUE_WAIT` of work.
    pub password_hash_queue: Option<usize>,
}

/// The WebSocket layer's timings and limits.
#[derive(Debug, Clone)]
pub struct RealtimeLimits {
    /// How often the server pings each socket.
    pub heartbeat_interval: Duration,
    /// A socket from which nothing (pong or frame) arrived for this long is dropped.
    pub client_timeout: Duration,
    pub sends_per_sec: u32,
    pub send_burst: u32,
    pub typing_per_sec: u32,
    /// Messages one person may send over REST per second (sustained) and in a burst, across all their devices.
    pub rest_sends_per_sec: u32,
    pub rest_send_burst: u32,
    /// Frames queued for one session before it is closed as too far behind.
    pub max_pending_frames: usize,
    /// A typing state not refreshed within this time ends by itself.
    pub typing_expiry: Duration,
    /// How long a user's last socket must stay closed before others see them offline (a flapping phone
    /// does not spam its contacts).
    pub presence_debounce: Duration,
    /// A conversation actor with no traffic for this long stops (it restarts on next use).
    pub conversation_idle: Duration,
}

impl Default for RealtimeLimits {
    fn default() -> Self {
        RealtimeLimits {
            heartbeat_interval: Duration::from_secs(10),
            client_timeout: Duration::from_secs(30),
            sends_per_sec: 10,
            send_burst: 30,
            typing_per_sec: 2,
            rest_sends_per_sec: 10,
            rest_send_burst: 30,
            max_pending_frames: 2048,
            typing_expiry: Duration::from_secs(5),
            presence_debounce: Duration::from_secs(5),
            conversation_idle: Duration::from_secs(300),
        }
    }
}

/// Uploads: how big, how much per person, how long an unsent upload is kept.
#[derive(Debug, Clone)]
pub struct MediaLimits {
    /// Largest file one upload may carry; the server stops reading past it.
    pub max_upload_bytes: u64,
    /// Bytes of distinct stored files per uploader (the same file twice counts once).
    pub quota_bytes: u64,
    /// An upload attached to no message for this long is deleted (people who picked a photo and then
    /// changed their mind should not keep it on the server forever).
    pub unattached_max_age: Duration,
    /// How often the server deletes such uploads.
    pub cleanup_interval: Duration,
}

impl MediaLimits {
    /// 25 MiB, as DESIGN.md says.
    pub const DEFAULT_MAX_UPLOAD_BYTES: u64 = 25 * 1024 * 1024;
    /// 2 GiB per person.
    pub const DEFAULT_QUOTA_BYTES: u64 = 2 * 1024 * 1024 * 1024;
}

impl Default for MediaLimits {
    fn default() -> Self {
        MediaLimits {
            max_upload_bytes: MediaLimits::DEFAULT_MAX_UPLOAD_BYTES,
            quota_bytes: MediaLimits::DEFAULT_QUOTA_BYTES,
            unattached_max_age: Duration::from_secs(24 * 3600),
            cleanup_interval: Duration::from_secs(3600),
        }
    }
}

/// How long tokens live.
#[derive(Debug, Clone)]
pub struct TokenLifetimes {
    /// Access tokens (JWT): short, since they are checked without a round trip for their signature.
    pub access: Duration,
    /// A refresh token unused for this long no longer works.
    pub refresh: Duration,
    /// A rotated refresh token presented again within this time gets the same successor.
    pub refresh_grace: Duration,
}

impl Default for TokenLifetimes {
    fn default() -> Self {
        TokenLifetimes {
            access: Duration::from_secs(15 * 60),
            refresh: Duration::from_secs(60 * 24 * 3600),
            refresh_grace: Duration::from_secs(30),
        }
    }
}

impl Config {
    /// A configuration with the documented defaults, for `data_dir`.
    pub fn new(data_dir: PathBuf) -> Config {
        Config {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            metrics_bind: None,
            data_dir,
            demo: false,
            database_url: None,
            jwt_secret: None,
            tls: None,
            workers: None,
            limits: Limits {
                login_failures_per_account: 5,
                login_failures_per_address: 30,
                login_failure_window: Duration::from_secs(900),
                password_hash_workers: None,
                password_hash_queue: None,
            },
            tokens: TokenLifetimes::default(),
            realtime: RealtimeLimits::default(),
            media: MediaLimits::default(),
            push: PushSettings::default(),
            onboarding: Onboarding::default(),
        }
    }

    /// Builds the configuration of `serve` from its flags.
    pub fn from_serve_args(args: ServeArgs) -> Config {
        let mut config = Config::from_common(args.data_dir, args.common);
        config.bind = args.bind;
        config.metrics_bind = args.metrics_bind;
        config.demo = args.demo;
        config.media = MediaLimits {
            max_upload_bytes: args.max_upload_bytes,
            quota_bytes: args.upload_quota_bytes,
            unattached_max_age: Duration::from_secs(args.unattached_upload_max_age_secs),
            // Zero would make the cleanup loop spin.
            cleanup_interval: Duration::from_secs(args.upload_cleanup_interval_secs.max(1)),
        };
        let (apns, fcm, extra_root_cert) = args.push.vendors.into_settings();
        config.push = PushSettings {
            allow_insecure_endpoints: args.push.push_allow_insecure_endpoints,
            vapid_private_key: args.push.push_vapid_private_key.filter(|k| !k.is_empty()),
            contact: args.push.push_contact,
            webpush_concurrency: args.push.push_webpush_concurrency.max(1),
            max_attempts: args.push.push_max_attempts.max(1),
            gateway: match (args.push.push_gateway_url, args.push.push_gateway_key) {
                (Some(url), Some(key)) if !url.trim().is_empty() && !key.trim().is_empty() => Some(GatewaySettings {
                    url,
                    key: GatewayKey::new(key),
                    concurrency: args.push.push_gateway_concurrency.max(1),
                    carries_webpush: false,
                }),
                _ => None,
            },
            apns,
            fcm,
            extra_root_cert,
            ..PushSettings::default()
        };
        config.onboarding = Onboarding::from(args.onboarding);
        config
    }

    /// Builds the configuration of a subcommand that only needs the database and secrets.
    pub fn from_common(data_dir: PathBuf, common: CommonArgs) -> Config {
        let tls = match (common.tls_cert, common.tls_key) {
            (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
            _ => None,
        };
        Config {
            database_url: common.database_url.filter(|u| !u.is_empty()),
            jwt_secret: common.jwt_secret.filter(|s| !s.is_empty()),
            tls,
            workers: common.workers,
            limits: Limits {
                login_failures_per_account: common.login_failures_per_account,
                login_failures_per_address: common.login_failures_per_address,
                login_failure_window: Duration::from_secs(common.login_failure_window_secs),
                password_hash_workers: common.password_hash_workers,
                password_hash_queue: common.password_hash_queue,
            },
            realtime: RealtimeLimits {
                sends_per_sec: common.ws_sends_per_sec,
                send_burst: common.ws_send_burst,
                typing_per_sec: common.ws_typing_per_sec,
                rest_sends_per_sec: common.rest_sends_per_sec,
                rest_send_burst: common.rest_send_burst,
                max_pending_frames: common.ws_max_pending_frames,
                ..RealtimeLimits::default()
            },
            ..Config::new(data_dir)
        }
    }
}

/// A flag's value trimmed, `None` when empty (an environment variable set to nothing counts as unset).
fn non_empty(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Serve {
        #[command(flatten)]
        args: ServeArgs,
    }

    fn push_settings(flags: &[&str]) -> PushSettings {
        let argv = std::iter::once("serve").chain(flags.iter().copied());
        match Serve::try_parse_from(argv) {
            Ok(serve) => Config::from_serve_args(serve.args).push,
            Err(err) => panic!("{err}"),
        }
    }

    #[test]
    fn apns_and_fcm_are_off_by_default_and_point_at_apple_and_google() {
        let push = push_settings(&[]);
        assert!(push.apns.key_file.is_none() && push.apns.key_id.is_none() && push.fcm.service_account.is_none());
        assert_eq!(push.apns.endpoint.as_str(), "https://api.push.apple.com/");
        assert_eq!(push.fcm.endpoint.as_str(), "https://fcm.googleapis.com/");
        assert!(push.extra_root_cert.is_none());
    }

    #[test]
    fn apns_and_fcm_flags_reach_the_push_settings_trimmed() {
        let push = push_settings(&[
            "--push-apns-key-file=/keys/AuthKey_K1.p8",
            "--push-apns-key-id= K1 ",
            "--push-apns-team-id=T1",
            "--push-apns-topic=",
            "--push-apns-endpoint",
            ApnsSettings::SANDBOX,
            "--push-fcm-service-account=/keys/fcm.json",
            "--push-fcm-endpoint=https://fcm.example.org",
            "--push-extra-root-cert=/keys/ca.pem",
        ]);
        assert_eq!(push.apns.key_file, Some(PathBuf::from("/keys/AuthKey_K1.p8")));
        assert_eq!(push.apns.key_id.as_deref(), Some("K1"));
        assert_eq!(push.apns.team_id.as_deref(), Some("T1"));
        assert_eq!(push.apns.topic, None, "an empty flag counts as unset");
        assert_eq!(push.apns.endpoint.host_str(), Some("api.sandbox.push.apple.com"));
        assert_eq!(push.fcm.service_account, Some(PathBuf::from("/keys/fcm.json")));
        assert_eq!(push.fcm.endpoint.host_str(), Some("fcm.example.org"));
        assert_eq!(push.extra_root_cert, Some(PathBuf::from("/keys/ca.pem")));
    }
}

//! The private PostgreSQL cluster the server runs when `DATABASE_URL` is unset: created on first start from
//! the machine's PostgreSQL binaries, listening only on a Unix socket, stopped on shutdown. The test
//! harness uses this same code, so the dev mode is what the tests exercise.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use sha2::{Digest, Sha256};
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, PgConnection};
use tokio::process::Command;

/// PostgreSQL refuses to run as root; as root we run it as this unprivileged user (Debian's own).
const DEFAULT_RUN_AS: &str = "postgres";
/// Where clusters live when the data dir cannot be reached by the unprivileged user (e.g. under /root).
const FALLBACK_CLUSTER_ROOT: &str = "/var/lib/hallway/clusters";
/// The kernel's limit for a Unix socket path (`sun_path`) is 108 bytes including the NUL.
const MAX_SOCKET_PATH: usize = 107;
/// The port only names the socket file (`.s.PGSQL.<port>`): nothing listens on TCP.
const SOCKET_PORT: u16 = 5432;
/// How long `pg_ctl` may take to start or stop the cluster.
const PG_CTL_TIMEOUT_SECS: &str = "60";

/// Why the embedded cluster could not be started or stopped.
#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    #[error(
        "PostgreSQL's server binaries (initdb, pg_ctl, postgres) were not found on PATH or under \
         /usr/lib/postgresql/*/bin. Install them (Debian/Ubuntu: `apt-get install postgresql`; \
         Fedora: `dnf install postgresql-server`; macOS: `brew install postgresql`), set HALLWAY_PG_BIN \
         to their directory, or set DATABASE_URL to use an existing database"
    )]
    BinariesNotFound,
    #[error(
        "running as root, PostgreSQL must run as an unprivileged user, but user `{0}` does not exist: \
         create it (`useradd --system {0}`) or set HALLWAY_PG_USER to another user"
    )]
    NoUnprivilegedUser(String),
    #[error("{what}: {source}")]
    Io { what: String, source: std::io::Error },
    #[error("{command} failed ({status}); see {log}")]
    CommandFailed { command: String, status: String, log: String },
    #[error("the socket path {0} is longer than the {MAX_SOCKET_PATH} bytes a Unix socket allows")]
    SocketPathTooLong(String),
    #[error("could not reach the embedded cluster: {0}")]
    Connect(#[from] sqlx::Error),
}

fn io_err(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> EmbeddedError {
    let what = what.into();
    move |source| EmbeddedError::Io { what, source }
}

/// The unprivileged account the cluster's files belong to and its processes run as.
#[derive(Debug, Clone, Copy)]
struct RunAs {
    uid: nix::unistd::Uid,
    gid: nix::unistd::Gid,
}

/// How much a cluster protects its data against a crash of the machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// Every commit reaches the disk before it is acknowledged: the server's mode.
    Durable,
    /// No fsync at all: for test clusters, which are thrown away and must stay fast on a loaded machine.
    Throwaway,
}

/// A running private cluster. `stop` shuts it down if this process owns it; dropping it leaves it running (the
/// next start adopts it).
#[derive(Debug)]
pub struct EmbeddedCluster {
    /// Held (locked) by the process that owns the cluster: the one that stops it. A second process on the same
    /// data dir (`migrate` or `create-admin` beside a running `serve`) finds it locked, uses the cluster and
    /// leaves it running. The lock dies with its process, so after a crash the next start takes over.
    owner_lock: Option<std::fs::File>,
    /// The directory holding `pgdata/`, `socket/` and `postgres.log`, owned by the unprivileged user.
    base_dir: PathBuf,
    /// Directory of `initdb`, `pg_ctl` and `postgres`.
    bin_dir: PathBuf,
    /// Set when we are root and PostgreSQL must run as someone else.
    run_as: Option<RunAs>,
}

impl EmbeddedCluster {
    /// Creates (first time) and starts the durable cluster belonging to `data_dir`, recovering one left
    /// running or a stale pid file from a crash, and makes sure `database` exists.
    pub async fn start(data_dir: &Path, database: &str) -> Result<Self, EmbeddedError> {
        EmbeddedCluster::start_with(data_dir, database, Durability::Durable).await
    }

    /// `start`, choosing the durability (tests use `Throwaway`).
    pub async fn start_with(data_dir: &Path, database: &str, durability: Durability) -> Result<Self, EmbeddedError> {
        let bin_dir = find_bin_dir().ok_or(EmbeddedError::BinariesNotFound)?;
        let run_as = unprivileged_user()?;
        std::fs::create_dir_all(data_dir).map_err(io_err(format!("creating {}", data_dir.display())))?;
        let data_dir = data_dir.canonicalize().map_err(io_err(format!("resolving {}", data_dir.display())))?;
        let base_dir = cluster_base_dir(&data_dir, run_as).await?;
        let mut cluster = EmbeddedCluster { owner_lock: None, base_dir, bin_dir, run_as };
        cluster.prepare_dirs()?;
        cluster.owner_lock = cluster.try_own()?;
        let socket_file = cluster.socket_dir().join(format!(".s.PGSQL.{SOCKET_PORT}"));
        if socket_file.as_os_str().len() > MAX_SOCKET_PATH {
            return Err(EmbeddedError::SocketPathTooLong(socket_file.display().to_string()));
        }
        if !cluster.pgdata().join("PG_VERSION").exists() {
            cluster.initdb().await?;
        }
        cluster.write_settings(durability)?;
        cluster.start_or_adopt().await?;
        cluster.ensure_database(database).await?;
        Ok(cluster)
    }

    /// Connection options for one database of this cluster, through its Unix socket.
    pub fn connect_options(&self, database: &str) -> PgConnectOptions {
        PgConnectOptions::new()
            .socket(self.socket_dir())
            .port(SOCKET_PORT)
            .username("postgres")
            .database(database)
            .log_statements(tracing::log::LevelFilter::Debug)
    }

    /// A `postgres://` URL for one database of this cluster (the socket directory goes in `host`).
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@localhost:{SOCKET_PORT}/{database}?host={}", self.socket_dir().display())
    }

    /// Where the cluster's files live (for logs and backups).
    pub fn base_dir(&self) -> &Path {
        &self.base_dir
    }

    /// Directory of the PostgreSQL binaries in use (pg_dump and pg_restore live there too).
    pub fn bin_dir(&self) -> &Path {
        &self.bin_dir
    }

    /// Stops the cluster, waiting until its processes are gone; a process that merely borrowed a cluster owned
    /// by another (a running server) leaves it running.
    pub async fn stop(&self) -> Result<(), EmbeddedError> {
        if self.owner_lock.is_none() {
            tracing::info!("leaving the embedded cluster running for the process that owns it");
            return Ok(());
        }
        match self.pg_ctl(["stop", "-m", "fast", "-w", "-t", PG_CTL_TIMEOUT_SECS]).await {
            Ok(()) => Ok(()),
            Err(err) => {
                // A fast shutdown waits for its checkpoint; on an overloaded machine that can outlast the
                // timeout. An immediate stop skips it (the next start replays the WAL, losing nothing).
                tracing::warn!(error = %err, "the embedded cluster did not stop in time: stopping it immediately");
                self.pg_ctl(["stop", "-m", "immediate", "-w", "-t", PG_CTL_TIMEOUT_SECS]).await
            }
        }
    }

    /// Brings back a cluster that stopped answering (its postmaster killed, say): clears the dead postmaster's
    /// pid file and starts it again; a cluster that answers is left as it is.
    pub async fn recover(&self) -> Result<(), EmbeddedError> {
        self.start_or_adopt().await
    }

    /// Whether this process owns (and will stop) the cluster.
    pub fn is_owner(&self) -> bool {
        self.owner_lock.is_some()
    }

    fn try_own(&self) -> Result<Option<std::fs::File>, EmbeddedError> {
        let path = self.base_dir.join("owner.lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io_err(format!("opening {}", path.display())))?;
        match file.try_lock() {
            Ok(()) => Ok(Some(file)),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(err)) => Err(io_err(format!("locking {}", path.display()))(err)),
        }
    }

    fn pgdata(&self) -> PathBuf {
        self.base_dir.join("pgdata")
    }

    fn socket_dir(&self) -> PathBuf {
        self.base_dir.join("socket")
    }

    fn log_file(&self) -> PathBuf {
        self.base_dir.join("postgres.log")
    }

    /// Creates the base and socket directories, owned by the unprivileged user and closed to everyone else:
    /// the socket accepts anyone who can reach it (trust authentication), so its directory is the lock.
    fn prepare_dirs(&self) -> Result<(), EmbeddedError> {
        use std::os::unix::fs::PermissionsExt;
        for dir in [self.base_dir.clone(), self.socket_dir()] {
            std::fs::create_dir_all(&dir).map_err(io_err(format!("creating {}", dir.display())))?;
            if let Some(user) = self.run_as {
                std::os::unix::fs::chown(&dir, Some(user.uid.as_raw()), Some(user.gid.as_raw()))
                    .map_err(io_err(format!("handing {} to the postgres user", dir.display())))?;
            }
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
                .map_err(io_err(format!("closing {}", dir.display())))?;
        }
        Ok(())
    }

    async fn initdb(&self) -> Result<(), EmbeddedError> {
        let pgdata = self.pgdata();
        if pgdata.exists() {
            // A previous initdb died half way: nothing in it is worth keeping.
            tracing::warn!(dir = %pgdata.display(), "removing an incomplete cluster directory");
            std::fs::remove_dir_all(&pgdata).map_err(io_err(format!("removing {}", pgdata.display())))?;
        }
        tracing::info!(dir = %pgdata.display(), "creating the embedded PostgreSQL cluster");
        let args: Vec<&OsStr> = vec![
            OsStr::new("-D"),
            pgdata.as_os_str(),
            OsStr::new("-U"),
            OsStr::new("postgres"),
            OsStr::new("--auth=trust"),
            OsStr::new("--encoding=UTF8"),
            OsStr::new("--locale=C.UTF-8"),
            OsStr::new("--no-sync"),
        ];
        self.run("initdb", &args).await?;
        let conf = pgdata.join("postgresql.conf");
        let mut text = std::fs::read_to_string(&conf).map_err(io_err(format!("reading {}", conf.display())))?;
        text.push_str("\ninclude_if_exists = 'hallway.conf'\n");
        std::fs::write(&conf, text).map_err(io_err(format!("writing {}", conf.display())))
    }

    /// Rewritten at every start, so a moved socket directory or a changed setting takes effect.
    fn write_settings(&self, durability: Durability) -> Result<(), EmbeddedError> {
        let socket_dir = self.socket_dir().display().to_string().replace('\'', "''");
        let sync = match durability {
            Durability::Durable => "fsync = on\nsynchronous_commit = on\nfull_page_writes = on\n",
            Durability::Throwaway => "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n",
        };
        let text = format!(
            "# Written by hallway-server at every start: changes here are lost.\n\
             listen_addresses = ''\n\
             unix_socket_directories = '{socket_dir}'\n\
             unix_socket_permissions = 0700\n\
             port = {SOCKET_PORT}\n\
             max_connections = 200\n\
             shared_buffers = 128MB\n\
             log_min_messages = warning\n\
             {sync}"
        );
        let path = self.pgdata().join("hallway.conf");
        std::fs::write(&path, text).map_err(io_err(format!("writing {}", path.display())))?;
        if let Some(user) = self.run_as {
            std::os::unix::fs::chown(&path, Some(user.uid.as_raw()), Some(user.gid.as_raw()))
                .map_err(io_err(format!("handing {} to the postgres user", path.display())))?;
        }
        Ok(())
    }

    /// Starts the cluster, or adopts one that a crashed server left running, after clearing a stale pid file.
    async fn start_or_adopt(&self) -> Result<(), EmbeddedError> {
        if self.is_running().await {
            if self.ping().await.is_ok() {
                tracing::warn!(dir = %self.base_dir.display(), "adopting an embedded cluster left running");
                return Ok(());
            }
            tracing::warn!("a cluster left running does not answer on its socket: restarting it");
            let _ = self.pg_ctl(["stop", "-m", "immediate", "-w", "-t", PG_CTL_TIMEOUT_SECS]).await;
        }
        let pid_file = self.pgdata().join("postmaster.pid");
        if pid_file.exists() {
            tracing::warn!(file = %pid_file.display(), "removing the stale pid file of a crashed cluster");
            std::fs::remove_file(&pid_file).map_err(io_err(format!("removing {}", pid_file.display())))?;
        }
        let log = self.log_file();
        let pgdata = self.pgdata();
        let args: Vec<&OsStr> = vec![
            OsStr::new("-D"),
            pgdata.as_os_str(),
            OsStr::new("-l"),
            log.as_os_str(),
            OsStr::new("-w"),
            OsStr::new("-t"),
            OsStr::new(PG_CTL_TIMEOUT_SECS),
            OsStr::new("start"),
        ];
        self.run("pg_ctl", &args).await?;
        tracing::info!(socket = %self.socket_dir().display(), "embedded PostgreSQL is up");
        Ok(())
    }

    async fn is_running(&self) -> bool {
        let pgdata = self.pgdata();
        let args: Vec<&OsStr> = vec![OsStr::new("status"), OsStr::new("-D"), pgdata.as_os_str()];
        self.command("pg_ctl", &args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .await
            .map(|s| s.success())
            .unwrap_or(false)
    }

    async fn ping(&self) -> Result<(), sqlx::Error> {
        let options = self.connect_options("postgres");
        let connect = PgConnection::connect_with(&options);
        let mut conn =
            tokio::time::timeout(Duration::from_secs(5), connect).await.map_err(|_| sqlx::Error::PoolTimedOut)??;
        conn.ping().await?;
        conn.close().await
    }

    async fn ensure_database(&self, database: &str) -> Result<(), EmbeddedError> {
        let mut conn = PgConnection::connect_with(&self.connect_options("postgres")).await?;
        let exists: Option<i32> = sqlx::query_scalar("SELECT 1 FROM pg_database WHERE datname = $1")
            .bind(database)
            .fetch_optional(&mut conn)
            .await?;
        if exists.is_none() {
            let quoted = database.replace('"', "\"\"");
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{quoted}\""))).execute(&mut conn).await?;
        }
        conn.close().await?;
        Ok(())
    }

    async fn pg_ctl<const N: usize>(&self, args: [&str; N]) -> Result<(), EmbeddedError> {
        let pgdata = self.pgdata();
        let mut all: Vec<&OsStr> = vec![OsStr::new("-D"), pgdata.as_os_str()];
        all.extend(args.iter().map(OsStr::new));
        self.run("pg_ctl", &all).await
    }

    fn command(&self, program: &str, args: &[&OsStr]) -> Command {
        let mut cmd = Command::new(self.bin_dir.join(program));
        cmd.args(args).current_dir(&self.base_dir).env("LC_ALL", "C.UTF-8").stdin(Stdio::null()).kill_on_drop(false);
        if let Some(user) = self.run_as {
            cmd.uid(user.uid.as_raw()).gid(user.gid.as_raw());
        }
        cmd
    }

    async fn run(&self, program: &str, args: &[&OsStr]) -> Result<(), EmbeddedError> {
        let output = self.command(program, args).output().await.map_err(io_err(format!("running {program}")))?;
        if output.status.success() {
            return Ok(());
        }
        let log = self.base_dir.join(format!("{program}.log"));
        let mut text = output.stdout;
        text.extend_from_slice(&output.stderr);
        let _ = std::fs::write(&log, &text);
        tracing::error!(
            program,
            output = %String::from_utf8_lossy(&text),
            "PostgreSQL command failed"
        );
        Err(EmbeddedError::CommandFailed {
            command: program.to_owned(),
            status: output.status.to_string(),
            log: log.display().to_string(),
        })
    }
}

/// Looks for `pg_ctl` on PATH, then under Debian's /usr/lib/postgresql/<version>/bin (newest first).
/// `HALLWAY_PG_BIN` overrides both.
pub fn find_bin_dir() -> Option<PathBuf> {
    let has_binaries = |dir: &Path| ["initdb", "pg_ctl", "postgres"].iter().all(|b| dir.join(b).is_file());
    if let Some(dir) = std::env::var_os("HALLWAY_PG_BIN") {
        let dir = PathBuf::from(dir);
        return has_binaries(&dir).then_some(dir);
    }
    if let Some(path) = std::env::var_os("PATH")
        && let Some(dir) = std::env::split_paths(&path).find(|d| has_binaries(d))
    {
        // Some machines put symlinks to the server binaries on PATH; pg_dump and friends live only in the
        // real directory, so follow pg_ctl there.
        return std::fs::canonicalize(dir.join("pg_ctl"))
            .ok()
            .and_then(|p| p.parent().map(Path::to_path_buf))
            .or(Some(dir));
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            has_binaries(&bin).then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, dir)| dir)
}

fn unprivileged_user() -> Result<Option<RunAs>, EmbeddedError> {
    if !nix::unistd::geteuid().is_root() {
        return Ok(None);
    }
    let name = std::env::var("HALLWAY_PG_USER").unwrap_or_else(|_| DEFAULT_RUN_AS.to_owned());
    match nix::unistd::User::from_name(&name) {
        Ok(Some(user)) => Ok(Some(RunAs { uid: user.uid, gid: user.gid })),
        _ => Err(EmbeddedError::NoUnprivilegedUser(name)),
    }
}

/// `<data dir>/postgres` when the unprivileged user can reach the data dir; otherwise (say, under /root,
/// mode 0700) a directory under /var/lib/hallway/clusters named by a hash of the data dir's path.
async fn cluster_base_dir(data_dir: &Path, run_as: Option<RunAs>) -> Result<PathBuf, EmbeddedError> {
    let in_data_dir = data_dir.join("postgres");
    let Some(user) = run_as else {
        return Ok(in_data_dir);
    };
    // Path resolution needs search permission on every ancestor: `test -x` as that user checks them all.
    let reachable = Command::new("test")
        .arg("-x")
        .arg(data_dir)
        .uid(user.uid.as_raw())
        .gid(user.gid.as_raw())
        .current_dir("/")
        .status()
        .await
        .map(|s| s.success())
        .unwrap_or(false);
    if reachable {
        return Ok(in_data_dir);
    }
    let digest = Sha256::digest(data_dir.as_os_str().as_encoded_bytes());
    let hash: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    let root = Path::new(FALLBACK_CLUSTER_ROOT);
    std::fs::create_dir_all(root).map_err(io_err(format!("creating {}", root.display())))?;
    let base = root.join(hash);
    tracing::warn!(
        data_dir = %data_dir.display(),
        cluster = %base.display(),
        "the data dir is not reachable by the postgres user, so the embedded cluster lives elsewhere"
    );
    Ok(base)
}

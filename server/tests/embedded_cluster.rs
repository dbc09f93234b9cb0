//! The embedded PostgreSQL cluster against real PostgreSQL binaries: restarts keep data, a cluster left
//! running is adopted, a crash (SIGKILL of the postmaster) is recovered from, an unreachable data dir moves
//! the cluster under /var/lib/hallway/clusters, and a socket path too long is refused clearly. Each test
//! owns its directories and stops what it starts, even when an assertion fails.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "helpers of a test fail the test loudly when setup breaks"
)]

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use hallway_server::store::{EmbeddedCluster, EmbeddedError};
use hallway_test_support::reachable_temp_dir;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use sha2::{Digest, Sha256};
use sqlx::{Connection, PgConnection};

const DATABASE: &str = "hallway";
/// Where the server keeps clusters whose data dir the postgres user cannot reach.
const FALLBACK_CLUSTER_ROOT: &str = "/var/lib/hallway/clusters";
/// The longest Unix socket path the kernel accepts (`sun_path` is 108 bytes with its NUL).
const MAX_SOCKET_PATH: usize = 107;
/// What the cluster appends to the data dir to name its socket file.
const SOCKET_SUFFIX: &str = "/postgres/socket/.s.PGSQL.5432";

/// Stops, when dropped, the cluster living under `base` if it still runs (`pg_ctl stop -m immediate`, as
/// the directory's owner), and removes `base` too when asked: a failing assertion must leave no postmaster
/// and no stray cluster behind. On the happy path the test has stopped the cluster already and this finds
/// nothing to do.
struct Cleanup {
    pg_ctl: PathBuf,
    base: PathBuf,
    remove_base: bool,
}

impl Cleanup {
    fn new(cluster: &EmbeddedCluster) -> Cleanup {
        Cleanup { pg_ctl: cluster.bin_dir().join("pg_ctl"), base: cluster.base_dir().to_path_buf(), remove_base: false }
    }

    fn removing_base(mut self) -> Cleanup {
        self.remove_base = true;
        self
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let pgdata = self.base.join("pgdata");
        if pgdata.join("postmaster.pid").exists()
            && let Ok(meta) = std::fs::metadata(&pgdata)
        {
            // As root this drops to the postgres user; otherwise it is our own uid and changes nothing.
            let _ = std::process::Command::new(&self.pg_ctl)
                .arg("-D")
                .arg(&pgdata)
                .args(["stop", "-m", "immediate", "-w", "-t", "30"])
                .uid(meta.uid())
                .gid(meta.gid())
                .current_dir("/")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        if self.remove_base {
            let _ = std::fs::remove_dir_all(&self.base);
        }
    }
}

async fn connect(cluster: &EmbeddedCluster) -> PgConnection {
    PgConnection::connect_with(&cluster.connect_options(DATABASE)).await.expect("connecting to the cluster")
}

async fn create_table_with_row(cluster: &EmbeddedCluster, note: &str) {
    let mut conn = connect(cluster).await;
    sqlx::query("CREATE TABLE notes (id serial PRIMARY KEY, body text NOT NULL)").execute(&mut conn).await.unwrap();
    sqlx::query("INSERT INTO notes (body) VALUES ($1)").bind(note).execute(&mut conn).await.unwrap();
    conn.close().await.unwrap();
}

async fn notes(cluster: &EmbeddedCluster) -> Vec<String> {
    let mut conn = connect(cluster).await;
    let rows = sqlx::query_scalar("SELECT body FROM notes ORDER BY id").fetch_all(&mut conn).await.unwrap();
    conn.close().await.unwrap();
    rows
}

fn pid_file(cluster: &EmbeddedCluster) -> PathBuf {
    cluster.base_dir().join("pgdata").join("postmaster.pid")
}

/// The postmaster's pid: the first line of `postmaster.pid`.
fn postmaster_pid(cluster: &EmbeddedCluster) -> i32 {
    let text = std::fs::read_to_string(pid_file(cluster)).expect("reading postmaster.pid");
    text.lines().next().and_then(|l| l.trim().parse().ok()).expect("a pid on the first line of postmaster.pid")
}

/// The state letter of a process (`R`, `S`, `Z`...), `None` once it is gone for good.
fn process_state(pid: i32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `pid (comm) state ...`: comm may hold spaces and parentheses, so look after the last `)`.
    stat.rsplit_once(')')?.1.trim_start().chars().next()
}

/// The processes whose parent is `pid` (the postmaster's backends and auxiliary processes).
fn children_of(pid: i32) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|child| {
            std::fs::read_to_string(format!("/proc/{child}/stat")).ok().is_some_and(|stat| {
                stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<i32>().ok())
                    == Some(pid)
            })
        })
        .collect()
}

/// Waits (bounded) until `reaped` no longer exists at all and none of `others` runs. A zombie has released
/// everything it held (its shared memory included) and only waits for init to reap it, so it counts as
/// ended; a killed postmaster must be reaped too, as it is after a real crash, since until then `pg_ctl
/// status` takes it for a live server.
fn wait_until_gone(reaped: Option<i32>, others: &[i32], within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let reaped_state = reaped.and_then(process_state);
        let running: Vec<i32> =
            others.iter().copied().filter(|&p| process_state(p).is_some_and(|state| state != 'Z')).collect();
        if reaped_state.is_none() && running.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "after {within:?}, {reaped:?} is still in state {reaped_state:?} and these still run: {running:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test]
async fn restart_from_the_same_data_dir_keeps_the_data() {
    let dir = reachable_temp_dir().unwrap();
    let cluster = EmbeddedCluster::start(dir.path(), DATABASE).await.unwrap();
    let _cleanup = Cleanup::new(&cluster);
    assert_eq!(cluster.base_dir(), dir.path().canonicalize().unwrap().join("postgres"));
    create_table_with_row(&cluster, "written before the restart").await;
    cluster.stop().await.unwrap();
    assert!(!pid_file(&cluster).exists(), "a clean stop removes postmaster.pid");
    drop(cluster);

    let cluster = EmbeddedCluster::start(dir.path(), DATABASE).await.unwrap();
    assert_eq!(notes(&cluster).await, ["written before the restart"]);
    cluster.stop().await.unwrap();
    assert!(!pid_file(&cluster).exists());
}

#[tokio::test]
async fn a_cluster_left_running_is_adopted_by_the_next_start() {
    let dir = reachable_temp_dir().unwrap();
    let cluster = EmbeddedCluster::start(dir.path(), DATABASE).await.unwrap();
    let _cleanup = Cleanup::new(&cluster);
    create_table_with_row(&cluster, "written by the first server").await;
    let first_postmaster = postmaster_pid(&cluster);
    // A server that crashed never called stop: its cluster keeps running.
    drop(cluster);

    let cluster = EmbeddedCluster::start(dir.path(), DATABASE).await.unwrap();
    assert_eq!(postmaster_pid(&cluster), first_postmaster, "the running postmaster was adopted, not replaced");
    assert_eq!(notes(&cluster).await, ["written by the first server"]);
    cluster.stop().await.unwrap();
    assert!(!pid_file(&cluster).exists());
    // The adopted postmaster itself ended (a zombie waiting for init to reap it has ended too).
    wait_until_gone(None, &[first_postmaster], Duration::from_secs(30));
}

#[tokio::test]
async fn a_stale_pid_file_after_a_crash_is_recovered_and_committed_data_survives() {
    let dir = reachable_temp_dir().unwrap();
    let cluster = EmbeddedCluster::start(dir.path(), DATABASE).await.unwrap();
    let _cleanup = Cleanup::new(&cluster);
    create_table_with_row(&cluster, "committed before the crash").await;

    let postmaster = postmaster_pid(&cluster);
    let children = children_of(postmaster);
    assert!(!children.is_empty(), "a running postmaster has auxiliary processes");
    kill(Pid::from_raw(postmaster), Signal::SIGKILL).unwrap();
    wait_until_gone(Some(postmaster), &children, Duration::from_secs(30));
    assert!(pid_file(&cluster).exists(), "a killed postmaster leaves its pid file behind");
    drop(cluster);

    let cluster = EmbeddedCluster::start(dir.path(), DATABASE).await.unwrap();
    assert_ne!(postmaster_pid(&cluster), postmaster, "a new postmaster runs");
    assert_eq!(notes(&cluster).await, ["committed before the crash"]);
    cluster.stop().await.unwrap();
    assert!(!pid_file(&cluster).exists());
}

#[tokio::test]
async fn an_unreachable_data_dir_keeps_its_cluster_under_var_lib_hallway() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: only root runs PostgreSQL as another user, so only root has unreachable data dirs");
        return;
    }
    // Like /root: mode 0700, owned by root, so the postgres user cannot even look inside.
    let home = tempfile::tempdir().unwrap();
    std::fs::set_permissions(home.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    assert_eq!(std::fs::metadata(home.path()).unwrap().uid(), 0);
    let data_dir = home.path().join("hallway-data");

    let cluster = EmbeddedCluster::start(&data_dir, DATABASE).await.unwrap();
    let _cleanup = Cleanup::new(&cluster).removing_base();
    let canonical = data_dir.canonicalize().unwrap();
    let digest = Sha256::digest(canonical.as_os_str().as_encoded_bytes());
    let hash: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    assert_eq!(cluster.base_dir(), Path::new(FALLBACK_CLUSTER_ROOT).join(&hash));
    assert!(!data_dir.join("postgres").exists(), "nothing of the cluster lands in the unreachable data dir");
    let base_owner = std::fs::metadata(cluster.base_dir()).unwrap().uid();
    let postgres = nix::unistd::User::from_name("postgres").unwrap().expect("the postgres user");
    assert_eq!(base_owner, postgres.uid.as_raw(), "the cluster directory belongs to the postgres user");

    create_table_with_row(&cluster, "kept outside the data dir").await;
    cluster.stop().await.unwrap();
    drop(cluster);
    // The same data dir finds the same cluster again.
    let cluster = EmbeddedCluster::start(&data_dir, DATABASE).await.unwrap();
    assert_eq!(cluster.base_dir(), Path::new(FALLBACK_CLUSTER_ROOT).join(&hash));
    assert_eq!(notes(&cluster).await, ["kept outside the data dir"]);
    cluster.stop().await.unwrap();
    // `_cleanup` removes /var/lib/hallway/clusters/<hash> here.
}

/// A reachable data dir (under a `reachable_temp_dir`) whose path is exactly `len` bytes long.
fn data_dir_of_length(root: &Path, len: usize) -> PathBuf {
    let root = root.canonicalize().unwrap();
    let mut dir = root.clone();
    let mut missing = len.checked_sub(root.as_os_str().len()).expect("the temp dir is shorter than the target");
    // Components of at most 40 bytes (`/` + name), so no single name is unusual.
    while missing > 0 {
        let take = missing.min(40);
        assert!(take >= 2, "cannot add a component of {take} byte(s)");
        let take = if missing - take == 1 { take - 1 } else { take };
        dir.push("d".repeat(take - 1));
        missing -= take;
    }
    assert_eq!(dir.as_os_str().len(), len);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test]
async fn a_socket_path_too_long_is_refused_with_a_clear_error() {
    let root = reachable_temp_dir().unwrap();
    let data_dir = data_dir_of_length(root.path(), 120);

    let err = EmbeddedCluster::start(&data_dir, DATABASE).await.unwrap_err();
    let EmbeddedError::SocketPathTooLong(path) = &err else { panic!("expected SocketPathTooLong, got {err:?}") };
    assert_eq!(*path, format!("{}{SOCKET_SUFFIX}", data_dir.display()));
    assert!(err.to_string().contains(&format!("longer than the {MAX_SOCKET_PATH} bytes")), "{err}");
    assert!(!data_dir.join("postgres/pgdata/PG_VERSION").exists(), "refused before creating a cluster");
}

#[tokio::test]
async fn a_socket_path_of_exactly_the_limit_works() {
    let root = reachable_temp_dir().unwrap();
    let data_dir = data_dir_of_length(root.path(), MAX_SOCKET_PATH - SOCKET_SUFFIX.len());

    let cluster = EmbeddedCluster::start(&data_dir, DATABASE).await.unwrap();
    let _cleanup = Cleanup::new(&cluster);
    let socket = cluster.base_dir().join("socket/.s.PGSQL.5432");
    assert_eq!(socket.as_os_str().len(), MAX_SOCKET_PATH);
    create_table_with_row(&cluster, "through a 107-byte socket path").await;
    assert_eq!(notes(&cluster).await, ["through a 107-byte socket path"]);
    cluster.stop().await.unwrap();
}

#[tokio::test]
async fn a_second_process_borrows_a_running_cluster_without_stopping_it() {
    let dir = hallway_test_support::reachable_temp_dir().unwrap();
    let owner = EmbeddedCluster::start(dir.path(), "hallway").await.unwrap();
    assert!(owner.is_owner());
    // `migrate` or `create-admin` beside a running server: same data dir, another handle.
    let borrower = EmbeddedCluster::start(dir.path(), "hallway").await.unwrap();
    assert!(!borrower.is_owner());
    borrower.stop().await.unwrap();
    let mut conn = sqlx::PgConnection::connect_with(&owner.connect_options("hallway")).await.unwrap();
    let one: i32 = sqlx::query_scalar("SELECT 1").fetch_one(&mut conn).await.unwrap();
    assert_eq!(one, 1, "the owner's cluster still answers");
    conn.close().await.unwrap();
    owner.stop().await.unwrap();
}

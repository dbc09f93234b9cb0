//! `hallway-server backup` and `hallway-server restore`: everything a school needs to rebuild its server, in one
//! `.tar.gz` file.
//!
//! The archive holds:
//! - `hallway-backup.json`: what the file is (format, when, which server version, what it holds);
//! - `database.dump`: `pg_dump --format=custom` of the whole database, taken in one snapshot, so a backup may
//!   run beside a live server;
//! - `jwt-secret`: the data dir's token-signing secret, when the server generated one (with it, devices stay
//!   signed in across a restore onto a new machine);
//! - `blobs/`: the data dir's attachment store, when there is one.
//!
//! The dump comes from the PostgreSQL binaries the embedded cluster uses (or found on the machine), so its
//! version always matches. Restore goes into an empty database (one that holds no people) unless `--force`;
//! it replaces the whole schema with the backup's, then applies any newer migrations, so a backup taken by an
//! older version restores into a newer one.

use std::fs::File;
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use serde::{Deserialize, Serialize};
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};
use time::OffsetDateTime;
use tokio::process::Command;

use crate::config::Config;
use crate::store::embedded::find_bin_dir;
use crate::store::{EMBEDDED_DATABASE, EmbeddedCluster, EmbeddedError, MIGRATOR};

/// The archive's description of itself.
pub const MANIFEST: &str = "hallway-backup.json";
const DUMP: &str = "database.dump";
const SECRET: &str = "jwt-secret";
const BLOBS: &str = "blobs";
/// The archive layout this version writes and reads.
const FORMAT: u32 = 1;

/// Why a backup or a restore failed.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error(transparent)]
    Embedded(#[from] EmbeddedError),
    #[error("{tool} failed ({status}): {stderr}")]
    ToolFailed { tool: String, status: String, stderr: String },
    #[error("{what}: {source}")]
    Io { what: String, source: std::io::Error },
    #[error("{0} is not a Hallway backup (it has no {MANIFEST})")]
    NotABackup(String),
    #[error("this backup was written in format {0}, which this version of Hallway does not read")]
    UnknownFormat(u32),
    #[error(
        "the database already holds people: restoring would replace them. Restore into a new data dir (or an \
         empty DATABASE_URL), or pass --force to replace everything"
    )]
    DatabaseNotEmpty,
    #[error("{0} already exists: pass --force to replace it")]
    FilesExist(String),
    #[error("a server is running on this data dir: stop it before restoring")]
    ServerRunning,
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("applying migrations after the restore: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

fn io_err(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> BackupError {
    let what = what.into();
    move |source| BackupError::Io { what, source }
}

/// What an archive says about itself.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub server_version: String,
    pub has_jwt_secret: bool,
    pub has_blobs: bool,
}

/// The database a command works on: its URL for the PostgreSQL tools, and the embedded cluster when it runs one.
struct Target {
    url: String,
    options: PgConnectOptions,
    bin_dir: Option<PathBuf>,
    cluster: Option<EmbeddedCluster>,
}

impl Target {
    async fn open(config: &Config) -> Result<Target, BackupError> {
        match &config.database_url {
            Some(url) => Ok(Target {
                url: url.clone(),
                options: url.parse().map_err(BackupError::Database)?,
                bin_dir: find_bin_dir(),
                cluster: None,
            }),
            None => {
                let cluster = EmbeddedCluster::start(&config.data_dir, EMBEDDED_DATABASE).await?;
                Ok(Target {
                    url: cluster.url(EMBEDDED_DATABASE),
                    options: cluster.connect_options(EMBEDDED_DATABASE),
                    bin_dir: Some(cluster.bin_dir().to_owned()),
                    cluster: Some(cluster),
                })
            }
        }
    }

    /// `pg_dump` or `pg_restore` beside the cluster's binaries, else on PATH.
    fn tool(&self, name: &str) -> PathBuf {
        self.bin_dir.as_ref().map(|dir| dir.join(name)).filter(|p| p.is_file()).unwrap_or_else(|| name.into())
    }

    async fn close(self) {
        if let Some(cluster) = self.cluster
            && let Err(err) = cluster.stop().await
        {
            tracing::error!(error = %err, "could not stop the embedded PostgreSQL cluster");
        }
    }
}

/// Writes a backup of the configured database and data dir to `out` (replaced atomically when complete, mode
/// 0600: it holds every message and the token secret).
pub async fn backup(config: &Config, out: &Path) -> Result<Manifest, BackupError> {
    let target = Target::open(config).await?;
    let result = backup_with(config, &target, out).await;
    target.close().await;
    result
}

async fn backup_with(config: &Config, target: &Target, out: &Path) -> Result<Manifest, BackupError> {
    let out_dir = match out.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
        _ => PathBuf::from("."),
    };
    let work = tempfile::Builder::new()
        .prefix(".hallway-backup-")
        .tempdir_in(&out_dir)
        .map_err(io_err(format!("creating a work directory in {}", out_dir.display())))?;
    let dump = work.path().join(DUMP);
    let mut pg_dump = Command::new(target.tool("pg_dump"));
    pg_dump
        .args([
            "--format=custom",
            "--no-owner",
            "--no-privileges",
            "--exclude-table-data=conversation_changes",
            "--file",
        ])
        .arg(&dump)
        .arg("--dbname")
        .arg(&target.url);
    run(pg_dump, "pg_dump").await?;

    let secret = config.data_dir.join(SECRET);
    let blobs = config.data_dir.join(BLOBS);
    let manifest = Manifest {
        format: FORMAT,
        created_at: OffsetDateTime::now_utc(),
        server_version: env!("CARGO_PKG_VERSION").to_owned(),
        has_jwt_secret: secret.is_file(),
        has_blobs: blobs.is_dir(),
    };
    let packed = work.path().join("backup.tar.gz");
    let manifest = {
        let (packed, manifest) = (packed.clone(), manifest.clone());
        tokio::task::spawn_blocking(move || pack(&packed, &dump, &secret, &blobs, &manifest).map(|()| manifest))
            .await
            .map_err(|e| io_err("packing the backup")(std::io::Error::other(e)))??
    };
    std::fs::rename(&packed, out).map_err(io_err(format!("writing {}", out.display())))?;
    Ok(manifest)
}

fn pack(archive: &Path, dump: &Path, secret: &Path, blobs: &Path, manifest: &Manifest) -> Result<(), BackupError> {
    use std::os::unix::fs::OpenOptionsExt;
    let what = || format!("writing {}", archive.display());
    let file =
        std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(archive).map_err(io_err(what()))?;
    let mut tar = tar::Builder::new(GzEncoder::new(file, Compression::default()));
    let manifest_json = serde_json::to_vec_pretty(manifest).map_err(|e| io_err(what())(e.into()))?;
    let mut header = tar::Header::new_gnu();
    header.set_size(manifest_json.len() as u64);
    header.set_mode(0o600);
    header.set_mtime(manifest.created_at.unix_timestamp().max(0) as u64);
    header.set_cksum();
    tar.append_data(&mut header, MANIFEST, manifest_json.as_slice()).map_err(io_err(what()))?;
    tar.append_path_with_name(dump, DUMP).map_err(io_err(what()))?;
    if manifest.has_jwt_secret {
        tar.append_path_with_name(secret, SECRET).map_err(io_err(what()))?;
    }
    if manifest.has_blobs {
        tar.append_dir_all(BLOBS, blobs).map_err(io_err(format!("packing {}", blobs.display())))?;
    }
    let file = tar.into_inner().map_err(io_err(what()))?.finish().map_err(io_err(what()))?;
    file.sync_all().map_err(io_err(what()))?;
    Ok(())
}

/// Restores a backup into the configured database and data dir. Refuses a database that holds people, an
/// existing attachment store, or a different token secret, unless `force`.
pub async fn restore(config: &Config, archive: &Path, force: bool) -> Result<Manifest, BackupError> {
    std::fs::create_dir_all(&config.data_dir).map_err(io_err(format!("creating {}", config.data_dir.display())))?;
    // Unpacked inside the data dir, so the attachment store moves into place with a rename.
    let work = tempfile::Builder::new()
        .prefix(".hallway-restore-")
        .tempdir_in(&config.data_dir)
        .map_err(io_err(format!("creating a work directory in {}", config.data_dir.display())))?;
    let manifest = {
        let (archive, dir) = (archive.to_owned(), work.path().to_owned());
        tokio::task::spawn_blocking(move || unpack(&archive, &dir))
            .await
            .map_err(|e| io_err("unpacking the backup")(std::io::Error::other(e)))??
    };
    let secret = config.data_dir.join(SECRET);
    let blobs = config.data_dir.join(BLOBS);
    if !force {
        if manifest.has_blobs && dir_has_entries(&blobs) {
            return Err(BackupError::FilesExist(blobs.display().to_string()));
        }
        if manifest.has_jwt_secret && secret.exists() {
            let ours = std::fs::read(&secret).map_err(io_err(format!("reading {}", secret.display())))?;
            let theirs = std::fs::read(work.path().join(SECRET)).map_err(io_err("reading the backup's secret"))?;
            if ours != theirs {
                return Err(BackupError::FilesExist(secret.display().to_string()));
            }
        }
    }

    let target = Target::open(config).await?;
    let result = restore_database(&target, &work.path().join(DUMP), force).await;
    target.close().await;
    result?;

    if manifest.has_blobs {
        if blobs.exists() {
            std::fs::remove_dir_all(&blobs).map_err(io_err(format!("replacing {}", blobs.display())))?;
        }
        std::fs::rename(work.path().join(BLOBS), &blobs).map_err(io_err(format!("restoring {}", blobs.display())))?;
    }
    if manifest.has_jwt_secret {
        std::fs::rename(work.path().join(SECRET), &secret)
            .map_err(io_err(format!("restoring {}", secret.display())))?;
    }
    Ok(manifest)
}

async fn restore_database(target: &Target, dump: &Path, force: bool) -> Result<(), BackupError> {
    if target.cluster.as_ref().is_some_and(|c| !c.is_owner()) {
        return Err(BackupError::ServerRunning);
    }
    let mut conn = PgConnection::connect_with(&target.options).await?;
    let has_users_table: bool =
        sqlx::query_scalar("SELECT to_regclass('public.users') IS NOT NULL").fetch_one(&mut conn).await?;
    let has_people = has_users_table
        && sqlx::query_scalar::<_, bool>("SELECT EXISTS (SELECT 1 FROM public.users)").fetch_one(&mut conn).await?;
    if has_people && !force {
        return Err(BackupError::DatabaseNotEmpty);
    }
    // The backup brings its whole schema (and its migration history); whatever is there goes.
    sqlx::raw_sql("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;").execute(&mut conn).await?;
    let mut pg_restore = Command::new(target.tool("pg_restore"));
    pg_restore
        .args(["--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction", "--dbname"])
        .arg(&target.url)
        .arg(dump);
    run(pg_restore, "pg_restore").await?;
    // A backup from an older version is brought up to this one.
    MIGRATOR.run(&mut conn).await?;
    conn.close().await?;
    Ok(())
}

fn unpack(archive: &Path, dir: &Path) -> Result<Manifest, BackupError> {
    let file = File::open(archive).map_err(io_err(format!("opening {}", archive.display())))?;
    // `unpack` refuses entries that would land outside `dir` (absolute paths, `..`).
    tar::Archive::new(GzDecoder::new(file)).unpack(dir).map_err(io_err(format!("unpacking {}", archive.display())))?;
    let text = std::fs::read(dir.join(MANIFEST)).map_err(|_| BackupError::NotABackup(archive.display().to_string()))?;
    let manifest: Manifest =
        serde_json::from_slice(&text).map_err(|_| BackupError::NotABackup(archive.display().to_string()))?;
    if manifest.format != FORMAT {
        return Err(BackupError::UnknownFormat(manifest.format));
    }
    if !dir.join(DUMP).is_file() {
        return Err(BackupError::NotABackup(archive.display().to_string()));
    }
    Ok(manifest)
}

fn dir_has_entries(dir: &Path) -> bool {
    std::fs::read_dir(dir).map(|mut entries| entries.next().is_some()).unwrap_or(false)
}

/// Runs a PostgreSQL tool to completion; its standard error becomes the failure's message.
async fn run(mut command: Command, tool: &str) -> Result<(), BackupError> {
    let output = command
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .map_err(io_err(format!("running {tool} (is PostgreSQL's client installed?)")))?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr).trim().to_owned();
    Err(BackupError::ToolFailed { tool: tool.to_owned(), status: output.status.to_string(), stderr })
}

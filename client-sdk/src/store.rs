//! The local store: one SQLite file in the app's data directory holding the session, the conversation list,
//! the loaded messages of each conversation (by `seq`) and the outbox. The file is encrypted (SQLCipher,
//! AES-256) with a random key kept in the app's [`SecretStore`], beside the refresh token; a copy of the
//! file alone opens nothing. The app reads everything from here,
//! so it shows the last known state at once, offline included; the network only ever writes into it.
//!
//! Wire objects are kept as the JSON of `hallway-protocol`'s types (the same serde the server speaks), with
//! the columns that queries need beside them. Every function takes a connection or a transaction; [`Store`]
//! runs them on tokio's blocking pool so SQLite never stalls the runtime.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use hallway_protocol::conversations::ConversationSettingsRequest;
use hallway_protocol::sync::SyncResponse;
use hallway_protocol::validate::Emoji;
use hallway_protocol::{Conversation, Message, ReactionSummary, User};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use serde::de::DeserializeOwned;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::secrets::{self, SecretStore};

/// The file inside the data directory.
pub(crate) const DATABASE_FILE: &str = "hallway.sqlite3";

/// The schema, one entry per version; `PRAGMA user_version` says how many have been applied.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE session (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    user TEXT NOT NULL,
    access_token TEXT NOT NULL,
    access_expires_at INTEGER NOT NULL,
    refresh_token TEXT NOT NULL
);
CREATE TABLE conversations (
    id TEXT PRIMARY KEY,
    data TEXT NOT NULL,
    -- Every message from oldest_seq up to synced_seq is stored: the next backfill asks for after_seq=synced_seq.
    synced_seq INTEGER NOT NULL DEFAULT 0,
    -- The oldest stored message; NULL while none is loaded.
    oldest_seq INTEGER,
    -- The first message of the conversation is stored (or it has none).
    reached_start INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE messages (
    conversation_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    id TEXT NOT NULL UNIQUE,
    sender_id TEXT NOT NULL,
    deleted INTEGER NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (conversation_id, seq)
);
CREATE TABLE read_markers (
    conversation_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, user_id)
);
-- Messages written on this device and not yet acknowledged; local_id orders them.
CREATE TABLE outbox (
    local_id INTEGER PRIMARY KEY AUTOINCREMENT,
    client_msg_id TEXT NOT NULL UNIQUE,
    conversation_id TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    failed_code TEXT,
    failed_reason TEXT
);
CREATE INDEX outbox_by_conversation ON outbox (conversation_id, local_id);
"#,
    r#"
-- A message with a file: the SDK's own copy of it (under OUTBOX_FILES_DIR, named by client_msg_id), its name
-- and size, and the server's attachment id once uploaded (a retry after a restart does not upload it again).
ALTER TABLE outbox ADD COLUMN file_name TEXT;
ALTER TABLE outbox ADD COLUMN file_size INTEGER;
ALTER TABLE outbox ADD COLUMN attachment_id TEXT;
"#,
    r#"
-- Where the last `GET /sync` left off (its `next`), saved with the page it came with.
CREATE TABLE sync_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    token TEXT NOT NULL
);
"#,
    r#"
-- The refresh token moved to the app's secret store (Keystore, Keychain).
ALTER TABLE session DROP COLUMN refresh_token;
"#,
    r#"
-- Where this device receives pushes: the `POST /devices` body the app last registered (its token or endpoint),
-- kept across sign-outs so the next sign-in registers again, and the server's device id while the current
-- session has one (NULL after a sign-out, which ends it on the server, or while registering failed).
CREATE TABLE push_registration (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    request TEXT NOT NULL,
    device_id TEXT
);
"#,
];

/// The file beside the store that processes sharing the data directory (the app and its notification
/// extension or service) lock while they refresh the session: refresh tokens rotate, and the server takes an old
/// one presented after its successor was used as theft, revoking the session.
const SESSION_LOCK_FILE: &str = "session.lock";
/// How long a process waits for another one's refresh (which a request timeout bounds) before giving up.
const SESSION_LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(40);
/// How long SQLite waits for the other process's write before answering busy.
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// The folder inside the data directory that keeps a copy of each file waiting in the outbox, so that the
/// app's picked file may go away and a restarted app still has it.
const OUTBOX_FILES_DIR: &str = "outbox-files";

/// The SQLite connection, shared by the client's tasks. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Store {
    conn: Arc<Mutex<Connection>>,
    /// How many times the connection was used, for tests that check that something reads nothing.
    #[cfg(test)]
    pub(crate) uses: Arc<std::sync::atomic::AtomicUsize>,
    /// Where the outbox's files are kept (see `OUTBOX_FILES_DIR`).
    files_dir: Arc<PathBuf>,
    /// The app's secret store: the database's key, and the refresh token (see [`StoredSession`]).
    secrets: Arc<dyn SecretStore>,
    /// The session's lock file (see `SESSION_LOCK_FILE`).
    session_lock: Arc<PathBuf>,
}

/// Held while this process refreshes the session: no other process on the data directory refreshes meanwhile.
/// Dropping it unlocks.
pub(crate) struct SessionLock(#[expect(dead_code, reason = "held for its lock, released on drop")] std::fs::File);

impl Store {
    /// Opens (creating it if needed) the store in `data_dir` with its key from `secrets`, and brings its
    /// schema up to date. A file the key does not open (one made before the store was encrypted, or whose key
    /// went with a reset keystore) is discarded: it is a cache of the server, and without its key it is only
    /// noise. The person then signs in again.
    pub(crate) fn open(data_dir: &Path, secrets: Arc<dyn SecretStore>) -> Result<Store> {
        std::fs::create_dir_all(data_dir)
            .map_err(|e| Error::Internal(format!("creating the data dir: {}", e.kind())))?;
        let key = match secrets.get(secrets::STORE_KEY.into())? {
            Some(key) if secrets::is_store_key(&key) => key,
            _ => {
                let key = secrets::new_store_key();
                secrets.set(secrets::STORE_KEY.into(), key.clone())?;
                key
            }
        };
        let path = data_dir.join(DATABASE_FILE);
        let conn = match open_encrypted(&path, &key) {
            Err(Error::Storage(rusqlite::Error::SqliteFailure(failure, _)))
                if failure.code == rusqlite::ErrorCode::NotADatabase =>
            {
                tracing::warn!("the local store cannot be opened with its key; starting a new one");
                for suffix in ["", "-wal", "-shm"] {
                    let mut name = path.clone().into_os_string();
                    name.push(suffix);
                    if let Err(e) = std::fs::remove_file(&name)
                        && e.kind() != std::io::ErrorKind::NotFound
                    {
                        return Err(Error::Internal(format!("removing an unreadable store: {}", e.kind())));
                    }
                }
                // The session went with the file; its refresh token alone signs no one in.
                secrets.remove(secrets::REFRESH_TOKEN.into())?;
                open_encrypted(&path, &key)?
            }
            other => other?,
        };
        Store::prepare(data_dir, conn, secrets)
    }

    /// Opens the store an app's client made in `data_dir`, for a second process beside the app (a notification
    /// extension or service): unlike [`Store::open`] it never creates a key nor discards a file it cannot read,
    /// which would destroy the app's store. Fails (`NotSignedIn`) when there is no store yet.
    pub(crate) fn open_existing(data_dir: &Path, secrets: Arc<dyn SecretStore>) -> Result<Store> {
        let path = data_dir.join(DATABASE_FILE);
        let key = secrets.get(secrets::STORE_KEY.into())?.filter(|key| secrets::is_store_key(key));
        let (Some(key), true) = (key, path.is_file()) else { return Err(Error::NotSignedIn) };
        let conn = open_encrypted(&path, &key)?;
        Store::prepare(data_dir, conn, secrets)
    }

    /// Sets up an open connection (write-ahead log, so that another process's reads and writes do not block
    /// this one's reads), brings the schema up to date, and makes the outbox's folder.
    fn prepare(data_dir: &Path, mut conn: Connection, secrets: Arc<dyn SecretStore>) -> Result<Store> {
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        // Deleted rows are overwritten, not just unlinked: after a sign-out the file keeps no old messages.
        conn.pragma_update(None, "secure_delete", "ON")?;
        migrate(&mut conn)?;
        let files_dir = data_dir.join(OUTBOX_FILES_DIR);
        std::fs::create_dir_all(&files_dir)
            .map_err(|e| Error::Internal(format!("creating the outbox's file folder: {}", e.kind())))?;
        Ok(Store {
            conn: Arc::new(Mutex::new(conn)),
            #[cfg(test)]
            uses: Arc::default(),
            files_dir: Arc::new(files_dir),
            secrets,
            session_lock: Arc::new(data_dir.join(SESSION_LOCK_FILE)),
        })
    }

    /// Locks the session against refreshes by other processes on the same data directory (and waits for
    /// theirs), for as long as the returned guard lives.
    pub(crate) async fn lock_session(&self) -> Result<SessionLock> {
        let path = self.session_lock.clone();
        let file = tokio::task::spawn_blocking(move || {
            std::fs::File::options().create(true).truncate(false).write(true).open(path.as_path())
        })
        .await?
        .map_err(|e| Error::Internal(format!("opening the session's lock file: {}", e.kind())))?;
        let deadline = tokio::time::Instant::now() + SESSION_LOCK_WAIT;
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(SessionLock(file)),
                Err(std::fs::TryLockError::WouldBlock) if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(std::time::Duration::from_millis(25)).await;
                }
                Err(std::fs::TryLockError::WouldBlock) => {
                    return Err(Error::Internal("another process kept the session locked".into()));
                }
                Err(std::fs::TryLockError::Error(e)) => {
                    return Err(Error::Internal(format!("locking the session: {}", e.kind())));
                }
            }
        }
    }

    /// The session kept from the last run: its row, and the refresh token from the secret store. A row whose
    /// token is gone (the secret store was reset) is no session.
    pub(crate) async fn load_session(&self) -> Result<Option<StoredSession>> {
        let Some(row) = self.run(|conn| load_session(conn)).await? else { return Ok(None) };
        let refresh_token = self.with_secrets(|secrets| secrets.get(secrets::REFRESH_TOKEN.into())).await?;
        let SessionRow { user, access_token, access_expires_at } = row;
        Ok(refresh_token.map(|refresh_token| StoredSession { user, access_token, access_expires_at, refresh_token }))
    }

    /// Keeps a session's tokens for the next start: the refresh token in the secret store, the rest in the
    /// database. Another account's data left here (a different person signed in) is wiped first.
    pub(crate) async fn save_session(&self, session: &StoredSession) -> Result<()> {
        let saved = session.clone();
        let other_account = self
            .transaction(move |conn| {
                let other = load_session(conn)?.is_some_and(|old| old.user.id != saved.user.id);
                if other {
                    wipe(conn)?;
                }
                save_session(conn, &saved)?;
                Ok(other)
            })
            .await?;
        if other_account {
            self.sweep_outbox_files().await?;
        }
        let refresh_token = session.refresh_token.clone();
        self.with_secrets(move |secrets| secrets.set(secrets::REFRESH_TOKEN.into(), refresh_token)).await
    }

    /// Runs `f` on the secret store, on the blocking pool (a keychain call may wait on the OS).
    async fn with_secrets<R, F>(&self, f: F) -> Result<R>
    where
        R: Send + 'static,
        F: FnOnce(&dyn SecretStore) -> Result<R, secrets::SecretStoreError> + Send + 'static,
    {
        let secrets = self.secrets.clone();
        Ok(tokio::task::spawn_blocking(move || f(secrets.as_ref())).await??)
    }

    /// Where the outbox keeps its copy of the file of message `client_msg_id` (a UUID the SDK made).
    pub(crate) fn outbox_file(&self, client_msg_id: &str) -> PathBuf {
        self.files_dir.join(client_msg_id)
    }

    /// Deletes the outbox's copy of the file of message `client_msg_id`, which left the outbox (a message
    /// without a file has none: nothing to do).
    pub(crate) async fn remove_outbox_file(&self, client_msg_id: &str) {
        if let Err(error) = tokio::fs::remove_file(self.outbox_file(client_msg_id)).await
            && error.kind() != std::io::ErrorKind::NotFound
        {
            tracing::info!(error = %error.kind(), "removing a sent file's copy failed; the next sweep retries");
        }
    }

    /// Deletes the outbox's copies of files whose message left the outbox in bulk (removed with its
    /// conversation, by sign-out, or settled by a catch-up): run at each connection and after those.
    pub(crate) async fn sweep_outbox_files(&self) -> Result<()> {
        let files_dir = self.files_dir.clone();
        self.run(move |conn| {
            let Ok(entries) = std::fs::read_dir(files_dir.as_path()) else { return Ok(()) };
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                let waiting: bool =
                    conn.query_row("SELECT EXISTS (SELECT 1 FROM outbox WHERE client_msg_id = ?1)", [&name], |row| {
                        row.get(0)
                    })?;
                if !waiting {
                    // A file that cannot be removed now is tried again at the next sweep.
                    let _ = std::fs::remove_file(entry.path());
                }
            }
            Ok(())
        })
        .await
    }

    /// Forgets the account: the refresh token first (so nothing left half-wiped can sign in), every row
    /// (session, conversations, messages, outbox), then the write-ahead log (so no old page survives in it)
    /// and the outbox's file copies. With `secure_delete` on, the database file itself keeps nothing of what
    /// was deleted. The store's key stays: it encrypts the next account's data.
    pub(crate) async fn wipe_all(&self) -> Result<()> {
        self.with_secrets(|secrets| secrets.remove(secrets::REFRESH_TOKEN.into())).await?;
        self.transaction(wipe).await?;
        self.run(|conn| {
            conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
            Ok(())
        })
        .await?;
        self.sweep_outbox_files().await
    }

    /// Runs `f` on the connection, on the blocking pool.
    pub(crate) async fn run<R, F>(&self, f: F) -> Result<R>
    where
        R: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<R> + Send + 'static,
    {
        #[cfg(test)]
        self.uses.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = conn.lock().map_err(|_| Error::Internal("the store's lock is poisoned".into()))?;
            f(&mut guard)
        })
        .await?
    }

    /// Runs `f` in one transaction, on the blocking pool: all of it is stored, or none. The transaction takes
    /// the write lock when it begins: another process writing the same store (a notification extension beside
    /// the app) is then waited for, whereas a read upgraded to a write after the other's commit would fail at
    /// once (`SQLITE_BUSY_SNAPSHOT`, which no busy timeout waits out).
    pub(crate) async fn transaction<R, F>(&self, f: F) -> Result<R>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> Result<R> + Send + 'static,
    {
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let result = f(&tx)?;
            tx.commit()?;
            Ok(result)
        })
        .await
    }
}

/// Opens the SQLCipher database at `path` with the raw `key` (64 hex digits, checked by the caller's
/// `is_store_key`), and reads it once: SQLCipher only finds out that a key is wrong on the first read
/// (`NotADatabase`).
fn open_encrypted(path: &Path, key: &str) -> Result<Connection> {
    let conn = Connection::open(path)?;
    conn.execute_batch(&format!("PRAGMA key = \"x'{key}'\";"))?;
    // Another process (the app, its notification extension) may be writing: wait for it rather than fail.
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(()))?;
    Ok(conn)
}

/// Applies the migrations not applied yet, each in a transaction that takes the write lock first and reads the
/// version under it, so two processes opening the store at once apply each migration once.
fn migrate(conn: &mut Connection) -> Result<()> {
    loop {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let applied: usize = tx.pragma_query_value(None, "user_version", |row| row.get(0))?;
        let Some(sql) = MIGRATIONS.get(applied) else { return Ok(()) };
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", applied + 1)?;
        tx.commit()?;
    }
}

fn to_json<T: Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|_| Error::Internal("serialising a stored value".into()))
}

fn from_json<T: DeserializeOwned>(text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|_| Error::Internal("a stored value is unreadable".into()))
}

// ---------------------------------------------------------------------------------------------------------
// Session

/// The signed-in account: who, and the tokens that prove it.
#[derive(Debug, Clone)]
pub(crate) struct StoredSession {
    pub user: User,
    pub access_token: String,
    /// Unix seconds.
    pub access_expires_at: i64,
    /// Kept in the secret store, not in the database.
    pub refresh_token: String,
}

/// The database's part of the session: all of [`StoredSession`] but the refresh token.
struct SessionRow {
    user: User,
    access_token: String,
    access_expires_at: i64,
}

fn load_session(conn: &Connection) -> Result<Option<SessionRow>> {
    let row = conn
        .query_row("SELECT user, access_token, access_expires_at FROM session WHERE id = 1", [], |row| {
            Ok((row.get::<_, String>(0)?, row.get(1)?, row.get(2)?))
        })
        .optional()?;
    row.map(|(user, access_token, access_expires_at)| {
        Ok(SessionRow { user: from_json(&user)?, access_token, access_expires_at })
    })
    .transpose()
}

/// Whose session the store keeps, if anyone's (the owner of what the media cache holds).
pub(crate) fn session_user(conn: &Connection) -> Result<Option<Uuid>> {
    Ok(load_session(conn)?.map(|row| row.user.id))
}

fn save_session(conn: &Connection, session: &StoredSession) -> Result<()> {
    conn.execute(
        "INSERT INTO session (id, user, access_token, access_expires_at) VALUES (1, ?1, ?2, ?3)
         ON CONFLICT (id) DO UPDATE SET user = ?1, access_token = ?2, access_expires_at = ?3",
        params![to_json(&session.user)?, session.access_token, session.access_expires_at],
    )?;
    Ok(())
}

/// Forgets everything: the session, the conversations, the messages and the outbox.
/// The push registration's token stays (it names this phone, not the account) for the next sign-in to register.
fn wipe(conn: &Connection) -> Result<()> {
    conn.execute_batch(
        "DELETE FROM session; DELETE FROM conversations; DELETE FROM messages; DELETE FROM read_markers;
         DELETE FROM outbox; DELETE FROM sync_state; UPDATE push_registration SET device_id = NULL;",
    )?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------
// Push

/// The push registration this device keeps: the `POST /devices` body (JSON) and the server's device id while
/// the session has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PushRow {
    pub request: String,
    pub device_id: Option<Uuid>,
}

pub(crate) fn push_registration(conn: &Connection) -> Result<Option<PushRow>> {
    let row = conn
        .query_row("SELECT request, device_id FROM push_registration WHERE id = 1", [], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, Option<String>>(1)?))
        })
        .optional()?;
    Ok(row
        .map(|(request, device_id)| PushRow { request, device_id: device_id.and_then(|id| Uuid::parse_str(&id).ok()) }))
}

pub(crate) fn save_push_registration(conn: &Connection, row: &PushRow) -> Result<()> {
    conn.execute(
        "INSERT INTO push_registration (id, request, device_id) VALUES (1, ?1, ?2)
         ON CONFLICT (id) DO UPDATE SET request = ?1, device_id = ?2",
        params![row.request, row.device_id.map(|id| id.to_string())],
    )?;
    Ok(())
}

/// Forgets the registration: the next sign-in registers nothing.
pub(crate) fn forget_push_registration(conn: &Connection) -> Result<()> {
    conn.execute("DELETE FROM push_registration", [])?;
    Ok(())
}

/// One stored message of a conversation, by its `seq`.
pub(crate) fn message_at(conn: &Connection, id: Uuid, seq: i64) -> Result<Option<Message>> {
    let data: Option<String> = conn
        .query_row(
            "SELECT data FROM messages WHERE conversation_id = ?1 AND seq = ?2",
            params![id.to_string(), seq],
            |row| row.get(0),
        )
        .optional()?;
    data.map(|d| from_json(&d)).transpose()
}

// ---------------------------------------------------------------------------------------------------------
// Catching up

/// The `next` of the last applied `GET /sync` page; `None` before the first (or after a refused token).
pub(crate) fn sync_token(conn: &Connection) -> Result<Option<String>> {
    Ok(conn.query_row("SELECT token FROM sync_state WHERE id = 1", [], |row| row.get(0)).optional()?)
}

/// Forgets the sync token: the next catch-up starts from the beginning.
pub(crate) fn clear_sync_token(conn: &Connection) -> Result<()> {
    conn.execute("DELETE FROM sync_state", [])?;
    Ok(())
}

/// What applying one sync page found, for the follow-up requests it needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct SyncOutcome {
    /// Conversations whose stored history now has a gap after `synced_seq` (backfill them with `after_seq`),
    /// or that are new to this device with nothing of them loaded (fetch their newest page).
    pub backfill: Vec<Uuid>,
}

/// Applies one `GET /sync` page and saves its `next`, in the caller's transaction, so that a crash never
/// leaves a token ahead of what is stored. `from_start` (a sync without `since`): the page's conversations
/// are all of the user's, so stored ones missing from the first page are forgotten.
///
/// The page is a snapshot from some moment after the sync's first request was sent, and live frames kept
/// arriving meanwhile. `known_before` are the conversations stored before that request: one that arrived
/// since (not in it) is kept although the page lacks it, and one removed since (in it, no longer stored) is
/// not brought back by the page's older copy. `overtaken` conversations were changed since by a live frame or
/// the user's own request: what is stored of them is newer than the page's copy, which is left out (their
/// messages are still taken, see `apply_sync_messages`).
pub(crate) fn apply_sync_page(
    conn: &Connection,
    page: &SyncResponse,
    first_from_start: bool,
    known_before: &HashSet<Uuid>,
    overtaken: &HashSet<Uuid>,
    me: Uuid,
) -> Result<SyncOutcome> {
    let stored = conversation_ids(conn)?;
    let removed_meanwhile = |id: &Uuid| known_before.contains(id) && !stored.contains(id);
    let listed: Vec<Conversation> = page.conversations.iter().filter(|c| !removed_meanwhile(&c.id)).cloned().collect();
    if first_from_start {
        let in_page: HashSet<Uuid> = page.conversations.iter().map(|c| c.id).collect();
        for gone in known_before.difference(&in_page) {
            remove_conversation(conn, *gone)?;
        }
    }
    for conversation in listed.iter().filter(|c| !(overtaken.contains(&c.id) && stored.contains(&c.id))) {
        upsert_conversation(conn, conversation)?;
    }
    for gone in &page.removed_conversation_ids {
        remove_conversation(conn, *gone)?;
    }
    let mut outcome = SyncOutcome::default();
    // Messages come grouped by conversation, ascending by seq.
    let mut groups: Vec<(Uuid, Vec<&Message>)> = Vec::new();
    for message in &page.messages {
        match groups.last_mut() {
            Some((id, group)) if *id == message.conversation_id => group.push(message),
            _ => groups.push((message.conversation_id, vec![message])),
        }
    }
    for (id, messages) in groups {
        if apply_sync_messages(conn, id, &messages, me)? {
            outcome.backfill.push(id);
        }
    }
    // A conversation new to this device that brought no message: its newest page is fetched like a timeline's.
    for conversation in &listed {
        let id = conversation.id;
        if !known_before.contains(&id)
            && conversation.last_message.is_some()
            && sync_position(conn, id)?.is_some_and(|p| p.oldest_seq.is_none())
            && !outcome.backfill.contains(&id)
        {
            outcome.backfill.push(id);
        }
    }
    conn.execute(
        "INSERT INTO sync_state (id, token) VALUES (1, ?1) ON CONFLICT (id) DO UPDATE SET token = ?1",
        [&page.next],
    )?;
    Ok(outcome)
}

/// Stores the messages of one conversation from a sync page, each in its current state (a message deleted
/// or cleared meanwhile loses its text and attachments). Messages older than the loaded history are left
/// out (the timeline's pagination brings them, current, when asked); newer ones extend it. True when the
/// stored history now has a gap to backfill.
fn apply_sync_messages(conn: &Connection, id: Uuid, messages: &[&Message], me: Uuid) -> Result<bool> {
    let Some(mut position) = sync_position(conn, id)? else { return Ok(false) };
    let mut stored_any = false;
    for message in messages {
        if position.oldest_seq.is_some_and(|oldest| message.seq < oldest) {
            continue;
        }
        if position.oldest_seq.is_none() {
            // Nothing was loaded: this message starts the stored history (the whole of it from seq 1).
            position.oldest_seq = Some(message.seq);
            position.synced_seq = message.seq;
            position.reached_start = message.seq <= 1;
            set_sync_position(conn, id, position)?;
        }
        if !is_older_than_stored(conn, message)? {
            put_message(conn, message)?;
        }
        settle_outbox(conn, message, me)?;
        stored_any = true;
    }
    if !stored_any {
        return Ok(false);
    }
    advance_synced(conn, id)?;
    let newest = messages.iter().map(|m| m.seq).max().unwrap_or(0);
    let gap = sync_position(conn, id)?.is_some_and(|p| p.synced_seq < newest);
    if let (Some(mut conversation), Some(newest)) = (conversation(conn, id)?, messages.iter().max_by_key(|m| m.seq))
        && bump_last_message(&mut conversation, newest)
    {
        save_conversation_data(conn, &conversation)?;
    }
    recompute_unread(conn, id, me)?;
    Ok(gap)
}

// ---------------------------------------------------------------------------------------------------------
// Conversations

/// Where the stored history of one conversation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SyncPosition {
    pub synced_seq: i64,
    pub oldest_seq: Option<i64>,
    pub reached_start: bool,
}

pub(crate) fn conversation(conn: &Connection, id: Uuid) -> Result<Option<Conversation>> {
    let data: Option<String> = conn
        .query_row("SELECT data FROM conversations WHERE id = ?1", [id.to_string()], |row| row.get(0))
        .optional()?;
    data.map(|d| from_json(&d)).transpose()
}

fn save_conversation_data(conn: &Connection, conversation: &Conversation) -> Result<()> {
    conn.execute(
        "INSERT INTO conversations (id, data) VALUES (?1, ?2) ON CONFLICT (id) DO UPDATE SET data = ?2",
        params![conversation.id.to_string(), to_json(conversation)?],
    )?;
    Ok(())
}

/// Stores a conversation as the server sent it; the local history's position is kept.
pub(crate) fn upsert_conversation(conn: &Connection, conversation: &Conversation) -> Result<()> {
    let mut conversation = conversation.clone();
    // The list may be older than a message that arrived live: keep the newer last message.
    if let Some(stored) = self::conversation(conn, conversation.id)? {
        let stored_seq = stored.last_message.as_ref().map_or(0, |m| m.seq);
        let new_seq = conversation.last_message.as_ref().map_or(0, |m| m.seq);
        if stored_seq > new_seq {
            conversation.last_message = stored.last_message;
            conversation.last_message_at = stored.last_message_at;
        }
        conversation.last_read_seq = conversation.last_read_seq.max(stored.last_read_seq);
    }
    // The server's unread count is exact at this moment (deletions this device missed included): keep it.
    save_conversation_data(conn, &conversation)?;
    Ok(())
}

/// Stores the outcome of a change of the user's own settings: only the settings the request named are taken
/// from the answer. Its other fields may already be older than what the socket delivered since (two quick
/// changes answer out of order, and each answer shows the other setting as it was), so the stored
/// conversation keeps them; a conversation not stored yet is stored whole.
pub(crate) fn apply_settings(
    conn: &Connection,
    answer: &Conversation,
    request: &ConversationSettingsRequest,
) -> Result<()> {
    let Some(mut stored) = conversation(conn, answer.id)? else { return upsert_conversation(conn, answer) };
    if request.muted.is_some() {
        stored.muted = answer.muted;
    }
    if request.pinned.is_some() {
        stored.pinned = answer.pinned;
    }
    if request.archived.is_some() {
        stored.archived = answer.archived;
    }
    save_conversation_data(conn, &stored)
}

/// The ids of the stored conversations.
pub(crate) fn conversation_ids(conn: &Connection) -> Result<HashSet<Uuid>> {
    Ok(conn
        .prepare("SELECT id FROM conversations")?
        .query_map([], |row| row.get::<_, String>(0))?
        .filter_map(|id| id.ok().and_then(|id| Uuid::parse_str(&id).ok()))
        .collect())
}

/// Forgets a conversation the user left or was removed from, with its history and its outbox.
pub(crate) fn remove_conversation(conn: &Connection, id: Uuid) -> Result<()> {
    remove_conversation_str(conn, &id.to_string())
}

fn remove_conversation_str(conn: &Connection, id: &str) -> Result<()> {
    for table in ["conversations WHERE id", "messages WHERE conversation_id", "read_markers WHERE conversation_id"] {
        conn.execute(&format!("DELETE FROM {table} = ?1"), [id])?;
    }
    conn.execute("DELETE FROM outbox WHERE conversation_id = ?1", [id])?;
    Ok(())
}

/// How many of the user's messages in one conversation wait in the outbox, and how many of those the server
/// refused.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Unsent {
    pub pending: u64,
    pub failed: u64,
}

/// The list as the app shows it: pinned first, then the newest activity first, with each one's unsent messages.
pub(crate) fn conversations(conn: &Connection) -> Result<Vec<(Conversation, Unsent)>> {
    let mut statement = conn.prepare(
        "SELECT c.data,
                (SELECT count(*) FROM outbox o WHERE o.conversation_id = c.id),
                (SELECT count(*) FROM outbox o WHERE o.conversation_id = c.id AND o.failed_code IS NOT NULL)
         FROM conversations c",
    )?;
    let rows: Vec<(String, i64, i64)> =
        statement.query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?.collect::<Result<_, _>>()?;
    let count = |n: i64| u64::try_from(n).unwrap_or(0);
    let mut list = rows
        .into_iter()
        .map(|(data, pending, failed)| {
            Ok((from_json::<Conversation>(&data)?, Unsent { pending: count(pending), failed: count(failed) }))
        })
        .collect::<Result<Vec<_>>>()?;
    list.sort_by(|(a, _), (b, _)| b.pinned.cmp(&a.pinned).then(b.last_message_at.cmp(&a.last_message_at)));
    Ok(list)
}

pub(crate) fn sync_position(conn: &Connection, id: Uuid) -> Result<Option<SyncPosition>> {
    Ok(conn
        .query_row(
            "SELECT synced_seq, oldest_seq, reached_start FROM conversations WHERE id = ?1",
            [id.to_string()],
            |row| Ok(SyncPosition { synced_seq: row.get(0)?, oldest_seq: row.get(1)?, reached_start: row.get(2)? }),
        )
        .optional()?)
}

fn set_sync_position(conn: &Connection, id: Uuid, position: SyncPosition) -> Result<()> {
    conn.execute(
        "UPDATE conversations SET synced_seq = ?2, oldest_seq = ?3, reached_start = ?4 WHERE id = ?1",
        params![id.to_string(), position.synced_seq, position.oldest_seq, position.reached_start],
    )?;
    Ok(())
}

/// Moves `synced_seq` over every stored message that directly follows it (after a gap was filled).
fn advance_synced(conn: &Connection, id: Uuid) -> Result<()> {
    let Some(mut position) = sync_position(conn, id)? else { return Ok(()) };
    let mut statement =
        conn.prepare_cached("SELECT seq FROM messages WHERE conversation_id = ?1 AND seq > ?2 ORDER BY seq")?;
    let seqs: Vec<i64> = statement
        .query_map(params![id.to_string(), position.synced_seq], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    for seq in seqs {
        if seq != position.synced_seq + 1 {
            break;
        }
        position.synced_seq = seq;
    }
    set_sync_position(conn, id, position)
}

/// Derives the unread count from the stored history when it covers everything after the read marker (as
/// the server does: others' messages, not deleted); otherwise keeps the server's last count.
fn recompute_unread(conn: &Connection, id: Uuid, me: Uuid) -> Result<()> {
    let (Some(mut conversation), Some(position)) = (conversation(conn, id)?, sync_position(conn, id)?) else {
        return Ok(());
    };
    let last_seq = conversation.last_message.as_ref().map_or(0, |m| m.seq);
    let covers_marker =
        position.reached_start || position.oldest_seq.is_some_and(|o| o <= conversation.last_read_seq + 1);
    let unread = if conversation.last_read_seq >= last_seq {
        0
    } else if covers_marker && position.synced_seq >= last_seq {
        conn.query_row(
            "SELECT count(*) FROM messages WHERE conversation_id = ?1 AND seq > ?2 AND sender_id != ?3 AND deleted = 0",
            params![id.to_string(), conversation.last_read_seq, me.to_string()],
            |row| row.get(0),
        )?
    } else {
        return Ok(());
    };
    if unread != conversation.unread_count {
        conversation.unread_count = unread;
        save_conversation_data(conn, &conversation)?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------
// Messages

/// Which page of history the server answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PageKind {
    /// No `before_seq` nor `after_seq`: the newest messages.
    Latest,
    /// `after_seq=synced_seq`: the next messages, oldest first.
    After,
    /// `before_seq=oldest_seq`: older messages.
    Before,
}

/// Whether the stored copy of a message is a later state than `message` (from a sync page, which a live
/// frame may have overtaken): a deletion is never undone, and a later edit is kept.
fn is_older_than_stored(conn: &Connection, message: &Message) -> Result<bool> {
    let stored: Option<String> = conn
        .query_row(
            "SELECT data FROM messages WHERE conversation_id = ?1 AND seq = ?2",
            params![message.conversation_id.to_string(), message.seq],
            |row| row.get(0),
        )
        .optional()?;
    let Some(stored) = stored.map(|data| from_json::<Message>(&data)).transpose()? else { return Ok(false) };
    Ok((stored.deleted && !message.deleted) || stored.edited_at > message.edited_at)
}

fn put_message(conn: &Connection, message: &Message) -> Result<bool> {
    let existed: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM messages WHERE conversation_id = ?1 AND seq = ?2)",
        params![message.conversation_id.to_string(), message.seq],
        |row| row.get(0),
    )?;
    conn.execute(
        "INSERT INTO messages (conversation_id, seq, id, sender_id, deleted, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (conversation_id, seq) DO UPDATE SET deleted = ?5, data = ?6",
        params![
            message.conversation_id.to_string(),
            message.seq,
            message.id.to_string(),
            message.sender_id.to_string(),
            message.deleted,
            to_json(message)?
        ],
    )?;
    Ok(!existed)
}

/// One of the user's own messages is on the server: if it is still in the outbox (its acknowledgement was
/// lost with the connection, and a backfill brought it), it leaves the outbox, so it is never shown twice.
fn settle_outbox(conn: &Connection, message: &Message, me: Uuid) -> Result<()> {
    if message.sender_id == me {
        conn.execute("DELETE FROM outbox WHERE client_msg_id = ?1", [&message.client_msg_id])?;
    }
    Ok(())
}

/// Keeps the conversation's `last_message` the one with the highest `seq`.
fn bump_last_message(conversation: &mut Conversation, message: &Message) -> bool {
    let current = conversation.last_message.as_ref().map_or(0, |m| m.seq);
    if message.seq > current || (message.seq == current && conversation.last_message.as_ref() != Some(message)) {
        conversation.last_message = Some(message.clone());
        conversation.last_message_at = Some(message.created_at);
        return true;
    }
    false
}

/// Stores one page of history and moves the conversation's sync position accordingly.
pub(crate) fn store_page(
    conn: &Connection,
    id: Uuid,
    messages: &[Message],
    has_more: bool,
    kind: PageKind,
    me: Uuid,
) -> Result<()> {
    let Some(mut position) = sync_position(conn, id)? else { return Ok(()) };
    for message in messages {
        put_message(conn, message)?;
        settle_outbox(conn, message, me)?;
    }
    let min = messages.iter().map(|m| m.seq).min();
    let max = messages.iter().map(|m| m.seq).max();
    match kind {
        PageKind::Latest => {
            if let (Some(min), Some(max)) = (min, max) {
                position.oldest_seq = Some(position.oldest_seq.map_or(min, |o| o.min(min)));
                // The latest page may jump over a gap: what lies between stays a gap to backfill... unless the
                // stored history was empty, in which case the page is the whole of it.
                if position.synced_seq == 0 || position.synced_seq + 1 >= min {
                    position.synced_seq = position.synced_seq.max(max);
                }
            }
            position.reached_start = position.reached_start || !has_more;
        }
        PageKind::After => {
            if let Some(max) = max {
                position.synced_seq = position.synced_seq.max(max);
                position.oldest_seq = Some(position.oldest_seq.unwrap_or_else(|| min.unwrap_or(max)));
            }
        }
        PageKind::Before => {
            if let Some(min) = min {
                position.oldest_seq = Some(position.oldest_seq.map_or(min, |o| o.min(min)));
            }
            position.reached_start = !has_more;
        }
    }
    set_sync_position(conn, id, position)?;
    advance_synced(conn, id)?;
    if let (Some(mut conversation), Some(newest)) = (conversation(conn, id)?, messages.iter().max_by_key(|m| m.seq))
        && bump_last_message(&mut conversation, newest)
    {
        save_conversation_data(conn, &conversation)?;
    }
    recompute_unread(conn, id, me)
}

/// What storing a live message found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct LiveOutcome {
    /// The conversation is not in the local list (the app must refresh the list and backfill it).
    pub unknown_conversation: bool,
    /// Messages before this one are missing locally: backfill the conversation.
    pub gap: bool,
}

/// Stores a message that arrived live (a `message` or an `ack` frame) and updates its conversation.
pub(crate) fn apply_message(conn: &Connection, message: &Message, me: Uuid) -> Result<LiveOutcome> {
    let id = message.conversation_id;
    let (Some(mut conversation), Some(mut position)) = (conversation(conn, id)?, sync_position(conn, id)?) else {
        return Ok(LiveOutcome { unknown_conversation: true, gap: false });
    };
    let new = put_message(conn, message)?;
    settle_outbox(conn, message, me)?;
    let mut gap = false;
    match position.oldest_seq {
        // Known to hold no message until now (a new chat, or one synced empty): its history starts at seq 1, so
        // whatever came before this message (written while this device was away and still on its way in a
        // catch-up, which an `ack` of the device's own send can overtake) is a gap to fill, not older history
        // left to the timeline's pagination.
        None if conversation.last_message.is_none() => {
            (position.oldest_seq, position.synced_seq, position.reached_start) = (Some(1), 0, true);
            set_sync_position(conn, id, position)?;
            if message.seq == 1 {
                advance_synced(conn, id)?;
            } else {
                gap = true;
            }
        }
        None => {
            position.oldest_seq = Some(message.seq);
            position.synced_seq = message.seq;
            position.reached_start = message.seq == 1;
            set_sync_position(conn, id, position)?;
        }
        Some(_) if message.seq > position.synced_seq + 1 => gap = true,
        Some(_) => advance_synced(conn, id)?,
    }
    bump_last_message(&mut conversation, message);
    if message.sender_id == me {
        // The server moves the sender's read marker to their new message.
        conversation.last_read_seq = conversation.last_read_seq.max(message.seq);
    } else if new && !message.deleted && message.seq > conversation.last_read_seq {
        conversation.unread_count += 1;
    }
    save_conversation_data(conn, &conversation)?;
    recompute_unread(conn, id, me)?;
    Ok(LiveOutcome { unknown_conversation: false, gap })
}

/// A stored message, by its id.
pub(crate) fn message_by_id(conn: &Connection, message_id: Uuid) -> Result<Option<Message>> {
    let data: Option<String> = conn
        .query_row("SELECT data FROM messages WHERE id = ?1", [message_id.to_string()], |row| row.get(0))
        .optional()?;
    data.map(|d| from_json(&d)).transpose()
}

/// Which of `ids` are stored messages that are not deleted (the media cache keeps files only for those).
pub(crate) fn undeleted_messages(conn: &Connection, ids: &[Uuid]) -> Result<HashSet<Uuid>> {
    let mut statement = conn.prepare_cached("SELECT EXISTS (SELECT 1 FROM messages WHERE id = ?1 AND deleted = 0)")?;
    let mut undeleted = HashSet::new();
    for id in ids {
        if statement.query_row([id.to_string()], |row| row.get::<_, bool>(0))? {
            undeleted.insert(*id);
        }
    }
    Ok(undeleted)
}

/// Replaces a stored message with a newer state of it (an edit, a deletion, reactions), if it is loaded.
pub(crate) fn replace_message(conn: &Connection, message: &Message, me: Uuid) -> Result<()> {
    let Some(stored) = message_by_id(conn, message.id)? else { return Ok(()) };
    if stored.seq != message.seq {
        return Ok(());
    }
    put_message(conn, message)?;
    if let Some(mut conversation) = conversation(conn, message.conversation_id)?
        && conversation.last_message.as_ref().is_some_and(|m| m.id == message.id)
    {
        conversation.last_message = Some(message.clone());
        save_conversation_data(conn, &conversation)?;
    }
    recompute_unread(conn, message.conversation_id, me)
}

/// A `message_deleted` frame: the message keeps its place, without body, attachments or reactions.
pub(crate) fn mark_deleted(conn: &Connection, message_id: Uuid, me: Uuid) -> Result<()> {
    let Some(mut message) = message_by_id(conn, message_id)? else { return Ok(()) };
    message.deleted = true;
    message.body.clear();
    message.attachments.clear();
    message.reactions.clear();
    replace_message(conn, &message, me)
}

/// A `reaction` frame: one person's emoji added to or taken from a message.
pub(crate) fn apply_reaction(conn: &Connection, message_id: Uuid, emoji: &str, user: Uuid, on: bool) -> Result<()> {
    let Some(mut message) = message_by_id(conn, message_id)? else { return Ok(()) };
    let key = |e: &str| Emoji::parse(e).map(|e| e.key().to_owned()).unwrap_or_else(|_| e.to_owned());
    let wanted = key(emoji);
    let position = message.reactions.iter().position(|r| key(&r.emoji) == wanted);
    match (position, on) {
        (Some(i), true) => {
            let reaction = &mut message.reactions[i];
            if !reaction.user_ids.contains(&user) {
                reaction.user_ids.push(user);
                reaction.count += 1;
            }
        }
        (None, true) => {
            message.reactions.push(ReactionSummary { emoji: emoji.to_owned(), count: 1, user_ids: vec![user] })
        }
        (Some(i), false) => {
            let reaction = &mut message.reactions[i];
            if let Some(at) = reaction.user_ids.iter().position(|u| *u == user) {
                reaction.user_ids.remove(at);
                reaction.count -= 1;
            }
            if reaction.count <= 0 {
                message.reactions.remove(i);
            }
        }
        (None, false) => return Ok(()),
    }
    put_message(conn, &message)?;
    Ok(())
}

/// A `read` frame, or the user's own `mark_read`: read markers only move forward.
pub(crate) fn apply_read(conn: &Connection, id: Uuid, user: Uuid, seq: i64, me: Uuid) -> Result<()> {
    if user == me {
        let Some(mut conversation) = conversation(conn, id)? else { return Ok(()) };
        if seq > conversation.last_read_seq {
            let last_seq = conversation.last_message.as_ref().map_or(seq, |m| m.seq);
            conversation.last_read_seq = seq.min(last_seq);
            save_conversation_data(conn, &conversation)?;
            recompute_unread(conn, id, me)?;
        }
    } else {
        conn.execute(
            "INSERT INTO read_markers (conversation_id, user_id, seq) VALUES (?1, ?2, ?3)
             ON CONFLICT (conversation_id, user_id) DO UPDATE SET seq = max(seq, ?3)",
            params![id.to_string(), user.to_string(), seq],
        )?;
    }
    Ok(())
}

/// Everything one conversation screen shows, from the store.
#[derive(Debug, Clone)]
pub(crate) struct TimelineData {
    pub conversation: Conversation,
    /// Oldest first: the window's messages (see `timeline`).
    pub messages: Vec<Message>,
    pub outbox: Vec<OutboxEntry>,
    pub read_markers: Vec<(Uuid, i64)>,
    /// The window holds the oldest stored message, and that is the conversation's first.
    pub reached_start: bool,
    /// How many messages the window holds at most from now on (`limit`, grown to keep what was shown).
    pub limit: usize,
}

/// A window of one conversation's history: its newest `limit` stored messages, and never fewer than those from
/// `keep_from` on (the oldest seq the window showed last time), so messages that arrive push nothing out of a
/// screen someone is reading; what fills a gap below `keep_from` still shows while the window has room.
pub(crate) fn timeline(
    conn: &Connection,
    id: Uuid,
    limit: usize,
    keep_from: Option<i64>,
) -> Result<Option<TimelineData>> {
    let (Some(conversation), Some(position)) = (conversation(conn, id)?, sync_position(conn, id)?) else {
        return Ok(None);
    };
    let key = id.to_string();
    let kept: i64 = match keep_from {
        Some(seq) => conn
            .prepare_cached("SELECT count(*) FROM messages WHERE conversation_id = ?1 AND seq >= ?2")?
            .query_row(params![&key, seq], |row| row.get(0))?,
        None => 0,
    };
    let limit = limit.max(usize::try_from(kept).unwrap_or(0));
    let mut messages = conn
        .prepare_cached("SELECT data FROM messages WHERE conversation_id = ?1 ORDER BY seq DESC LIMIT ?2")?
        .query_map(params![&key, i64::try_from(limit).unwrap_or(i64::MAX)], |row| row.get::<_, String>(0))?
        .map(|row| from_json(&row?))
        .collect::<Result<Vec<Message>>>()?;
    messages.reverse();
    let older_stored = match messages.first() {
        Some(oldest) => conn
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM messages WHERE conversation_id = ?1 AND seq < ?2)")?
            .query_row(params![&key, oldest.seq], |row| row.get(0))?,
        None => false,
    };
    let outbox = conversation_outbox(conn, id)?;
    let read_markers = conn
        .prepare_cached("SELECT user_id, seq FROM read_markers WHERE conversation_id = ?1 ORDER BY user_id")?
        .query_map([&key], |row| Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?)))?
        .filter_map(|row| row.ok().and_then(|(user, seq)| Uuid::parse_str(&user).ok().map(|u| (u, seq))))
        .collect();
    Ok(Some(TimelineData {
        conversation,
        messages,
        outbox,
        read_markers,
        reached_start: position.reached_start && !older_stored,
        limit,
    }))
}

/// How many messages of a conversation are stored.
pub(crate) fn stored_messages(conn: &Connection, id: Uuid) -> Result<usize> {
    let count: i64 =
        conn.query_row("SELECT count(*) FROM messages WHERE conversation_id = ?1", [id.to_string()], |row| row.get(0))?;
    Ok(usize::try_from(count).unwrap_or(0))
}

// ---------------------------------------------------------------------------------------------------------
// Outbox

/// One message written on this device that the server has not acknowledged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OutboxEntry {
    pub client_msg_id: String,
    pub conversation_id: Uuid,
    pub body: String,
    pub created_at: OffsetDateTime,
    /// The server refused it: its code and its sentence. Failed entries are not sent until retried.
    pub failure: Option<(String, String)>,
    /// The file it carries, if any.
    pub file: Option<OutboxFile>,
}

/// The file of an outbox message; the bytes are in `Store::outbox_file(client_msg_id)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OutboxFile {
    /// The name the recipients see.
    pub name: String,
    pub size: u64,
    /// The server's attachment, once uploaded.
    pub attachment_id: Option<Uuid>,
}

const OUTBOX_COLUMNS: &str =
    "client_msg_id, conversation_id, body, created_at, failed_code, failed_reason, file_name, file_size, attachment_id";

fn outbox_entry(row: &rusqlite::Row<'_>) -> rusqlite::Result<OutboxEntry> {
    let conversation: String = row.get(1)?;
    let created_at: i64 = row.get(3)?;
    let failed_code: Option<String> = row.get(4)?;
    let failed_reason: Option<String> = row.get(5)?;
    let file_name: Option<String> = row.get(6)?;
    let file_size: Option<i64> = row.get(7)?;
    let attachment_id: Option<String> = row.get(8)?;
    let file = file_name.map(|name| OutboxFile {
        name,
        size: file_size.and_then(|size| u64::try_from(size).ok()).unwrap_or(0),
        attachment_id: attachment_id.and_then(|id| Uuid::parse_str(&id).ok()),
    });
    Ok(OutboxEntry {
        client_msg_id: row.get(0)?,
        conversation_id: Uuid::parse_str(&conversation)
            .map_err(|e| rusqlite::Error::FromSqlConversionFailure(1, rusqlite::types::Type::Text, Box::new(e)))?,
        body: row.get(2)?,
        created_at: OffsetDateTime::from_unix_timestamp_nanos(i128::from(created_at) * 1_000_000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH),
        failure: failed_code.map(|code| (code, failed_reason.unwrap_or_default())),
        file,
    })
}

pub(crate) fn enqueue(conn: &Connection, entry: &OutboxEntry) -> Result<()> {
    let millis = i64::try_from(entry.created_at.unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
    let file = entry.file.as_ref();
    conn.execute(
        "INSERT INTO outbox (client_msg_id, conversation_id, body, created_at, file_name, file_size)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            entry.client_msg_id,
            entry.conversation_id.to_string(),
            entry.body,
            millis,
            file.map(|f| &f.name),
            file.map(|f| i64::try_from(f.size).unwrap_or(i64::MAX)),
        ],
    )?;
    Ok(())
}

/// The file of an outbox message is on the server: the send can name it, now or after a restart.
pub(crate) fn set_attachment(conn: &Connection, client_msg_id: &str, attachment_id: Uuid) -> Result<()> {
    conn.execute(
        "UPDATE outbox SET attachment_id = ?2 WHERE client_msg_id = ?1",
        params![client_msg_id, attachment_id.to_string()],
    )?;
    Ok(())
}

fn conversation_outbox(conn: &Connection, id: Uuid) -> Result<Vec<OutboxEntry>> {
    Ok(conn
        .prepare_cached(&format!("SELECT {OUTBOX_COLUMNS} FROM outbox WHERE conversation_id = ?1 ORDER BY local_id"))?
        .query_map([id.to_string()], outbox_entry)?
        .collect::<Result<_, _>>()?)
}

/// The next message to send in each conversation: the oldest one not refused. Later ones wait behind it,
/// which keeps each conversation's order; a refused one does not hold the others back.
pub(crate) fn outbox_heads(conn: &Connection) -> Result<Vec<OutboxEntry>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {OUTBOX_COLUMNS} FROM outbox WHERE local_id IN (
                 SELECT min(local_id) FROM outbox WHERE failed_code IS NULL GROUP BY conversation_id)
             ORDER BY local_id"
        ))?
        .query_map([], outbox_entry)?
        .collect::<Result<_, _>>()?)
}

pub(crate) fn outbox_entry_by_id(conn: &Connection, client_msg_id: &str) -> Result<Option<OutboxEntry>> {
    Ok(conn
        .query_row(
            &format!("SELECT {OUTBOX_COLUMNS} FROM outbox WHERE client_msg_id = ?1"),
            [client_msg_id],
            outbox_entry,
        )
        .optional()?)
}

/// The server committed the message: it leaves the outbox and joins the history, in one transaction.
pub(crate) fn acknowledge(conn: &Connection, client_msg_id: &str, message: &Message, me: Uuid) -> Result<LiveOutcome> {
    conn.execute("DELETE FROM outbox WHERE client_msg_id = ?1", [client_msg_id])?;
    apply_message(conn, message, me)
}

/// The server refused the message: it stays, marked failed, until the user retries or discards it.
pub(crate) fn fail(conn: &Connection, client_msg_id: &str, code: &str, reason: &str) -> Result<()> {
    conn.execute(
        "UPDATE outbox SET failed_code = ?2, failed_reason = ?3 WHERE client_msg_id = ?1",
        params![client_msg_id, code, reason],
    )?;
    Ok(())
}

/// Puts a failed message back in line (in its original place). False when there is no such message. Its file
/// is uploaded again: the refusal may have been about the upload the server had.
pub(crate) fn retry(conn: &Connection, client_msg_id: &str) -> Result<bool> {
    Ok(conn.execute(
        "UPDATE outbox SET failed_code = NULL, failed_reason = NULL, attachment_id = NULL WHERE client_msg_id = ?1",
        [client_msg_id],
    )? > 0)
}

/// Drops a message from the outbox. False when there is no such message.
pub(crate) fn discard(conn: &Connection, client_msg_id: &str) -> Result<bool> {
    Ok(conn.execute("DELETE FROM outbox WHERE client_msg_id = ?1", [client_msg_id])? > 0)
}

#[cfg(test)]
pub(crate) mod tests {
    use hallway_protocol::{ConversationKind, Role};

    use super::*;

    fn user(id: Uuid) -> User {
        User { id, username: "u".into(), display_name: "U".into(), role: Role::Teacher, avatar_url: None }
    }

    fn setup() -> (Connection, Uuid, Uuid, Uuid) {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        let (me, other, id) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        upsert_conversation(&conn, &direct_chat(id, me, other)).unwrap();
        (conn, me, other, id)
    }

    /// A direct chat of `me` and `other`, with nothing in it.
    pub(crate) fn direct_chat(id: Uuid, me: Uuid, other: Uuid) -> Conversation {
        Conversation {
            id,
            kind: ConversationKind::Direct,
            name: None,
            members: vec![user(me), user(other)],
            admin_ids: Vec::new(),
            last_message: None,
            last_message_at: None,
            unread_count: 0,
            last_read_seq: 0,
            muted: false,
            pinned: false,
            archived: false,
            safeguarding: false,
        }
    }

    pub(crate) fn message(conversation: Uuid, seq: i64, sender: Uuid) -> Message {
        Message {
            id: Uuid::now_v7(),
            conversation_id: conversation,
            seq,
            sender_id: sender,
            client_msg_id: format!("c{seq}"),
            body: format!("message {seq}"),
            attachments: Vec::new(),
            reactions: Vec::new(),
            created_at: OffsetDateTime::now_utc(),
            edited_at: None,
            deleted: false,
            urgent: false,
        }
    }

    fn seqs(conn: &Connection, id: Uuid) -> Vec<i64> {
        timeline(conn, id, usize::MAX, None).unwrap().unwrap().messages.iter().map(|m| m.seq).collect()
    }

    fn window(conn: &Connection, id: Uuid, limit: usize, keep_from: Option<i64>) -> (Vec<i64>, bool, usize) {
        let data = timeline(conn, id, limit, keep_from).unwrap().unwrap();
        (data.messages.iter().map(|m| m.seq).collect(), data.reached_start, data.limit)
    }

    #[test]
    fn a_window_shows_the_newest_messages_and_keeps_what_it_showed_as_more_arrive() {
        let (conn, me, other, id) = setup();
        let page: Vec<Message> = (1..=10).map(|seq| message(id, seq, other)).collect();
        store_page(&conn, id, &page, false, PageKind::Latest, me).unwrap();
        assert_eq!(window(&conn, id, 4, None), ((7..=10).collect(), false, 4), "the newest four, older ones stored");
        assert_eq!(window(&conn, id, 10, None), ((1..=10).collect(), true, 10), "everything: the start");
        for seq in 11..=12 {
            apply_message(&conn, &message(id, seq, other), me).unwrap();
        }
        assert_eq!(window(&conn, id, 4, Some(7)), ((7..=12).collect(), false, 6), "grown, nothing pushed out");
        assert_eq!(window(&conn, id, 8, Some(7)), ((5..=12).collect(), false, 8), "room left shows older ones");
    }

    #[test]
    fn live_messages_and_backfilled_pages_are_deduplicated_by_seq() {
        let (conn, me, other, id) = setup();
        let first: Vec<Message> = (1..=3).map(|seq| message(id, seq, other)).collect();
        store_page(&conn, id, &first, false, PageKind::Latest, me).unwrap();
        // The same messages again, live and in an overlapping page: still one each.
        assert_eq!(apply_message(&conn, &first[2], me).unwrap(), LiveOutcome::default());
        let overlap: Vec<Message> = (2..=4).map(|seq| message(id, seq, other)).collect();
        store_page(&conn, id, &overlap, false, PageKind::After, me).unwrap();
        assert_eq!(seqs(&conn, id), [1, 2, 3, 4]);
        assert_eq!(sync_position(&conn, id).unwrap().unwrap().synced_seq, 4);
        assert_eq!(conversation(&conn, id).unwrap().unwrap().unread_count, 4);
    }

    #[test]
    fn a_gap_is_reported_and_filled_by_the_backfill() {
        let (conn, me, other, id) = setup();
        store_page(&conn, id, &[message(id, 1, other)], false, PageKind::Latest, me).unwrap();
        let outcome = apply_message(&conn, &message(id, 4, other), me).unwrap();
        assert!(outcome.gap, "3 and 2 are missing");
        assert_eq!(sync_position(&conn, id).unwrap().unwrap().synced_seq, 1, "the backfill starts after 1");
        let missing: Vec<Message> = (2..=3).map(|seq| message(id, seq, other)).collect();
        store_page(&conn, id, &missing, false, PageKind::After, me).unwrap();
        assert_eq!(sync_position(&conn, id).unwrap().unwrap().synced_seq, 4, "the page joins the live message");
        assert_eq!(seqs(&conn, id), [1, 2, 3, 4]);
    }

    #[test]
    fn a_chat_known_empty_starts_at_seq_1_so_what_a_live_message_overtook_is_a_gap_not_older_history() {
        let (conn, me, other, id) = setup();
        // Back from the background: the device's own queued message is acknowledged as #2 before the catch-up
        // brings #1, written meanwhile by the other member.
        let outcome = apply_message(&conn, &message(id, 2, me), me).unwrap();
        assert!(outcome.gap, "#1 is missing");
        let position = sync_position(&conn, id).unwrap().unwrap();
        assert_eq!((position.oldest_seq, position.synced_seq, position.reached_start), (Some(1), 0, true));
        let page = SyncResponse {
            next: "t1".into(),
            has_more: false,
            conversations: Vec::new(),
            removed_conversation_ids: Vec::new(),
            messages: vec![message(id, 1, other), message(id, 2, me)],
        };
        apply_sync_page(&conn, &page, false, &HashSet::from([id]), &HashSet::from([id]), me).unwrap();
        assert_eq!(seqs(&conn, id), [1, 2], "#1 shows, not left behind pagination");
        assert_eq!(sync_position(&conn, id).unwrap().unwrap().synced_seq, 2);

        // A chat joined with history (its summary names a last message) still starts from what arrives.
        let (conn, me, other, id) = setup();
        let mut joined = conversation(&conn, id).unwrap().unwrap();
        joined.last_message = Some(message(id, 40, other));
        upsert_conversation(&conn, &joined).unwrap();
        assert!(!apply_message(&conn, &message(id, 41, other), me).unwrap().gap);
        let position = sync_position(&conn, id).unwrap().unwrap();
        assert_eq!((position.oldest_seq, position.reached_start), (Some(41), false), "older pages on demand");
    }

    #[test]
    fn own_read_markers_and_own_messages_clear_the_unread_count() {
        let (conn, me, other, id) = setup();
        for seq in 1..=3 {
            apply_message(&conn, &message(id, seq, other), me).unwrap();
        }
        assert_eq!(conversation(&conn, id).unwrap().unwrap().unread_count, 3);
        apply_read(&conn, id, me, 2, me).unwrap();
        assert_eq!(conversation(&conn, id).unwrap().unwrap().unread_count, 1);
        mark_deleted(&conn, timeline(&conn, id, usize::MAX, None).unwrap().unwrap().messages[2].id, me).unwrap();
        assert_eq!(conversation(&conn, id).unwrap().unwrap().unread_count, 0, "deleted messages are not unread");
        apply_message(&conn, &message(id, 4, other), me).unwrap();
        apply_message(&conn, &message(id, 5, me), me).unwrap();
        assert_eq!(conversation(&conn, id).unwrap().unwrap().unread_count, 0, "replying reads");
    }

    #[test]
    fn a_settings_answer_changes_only_the_settings_it_was_asked_for() {
        let (conn, _, _, id) = setup();
        // Pinned, then muted, answered out of order: the "pin" answer still shows the chat unmuted.
        let (mut muted, _) = conversations(&conn).unwrap().remove(0);
        (muted.muted, muted.pinned) = (true, true);
        let mute = ConversationSettingsRequest { muted: Some(true), ..Default::default() };
        apply_settings(&conn, &muted, &mute).unwrap();
        let mut pinned_answer = muted.clone();
        pinned_answer.muted = false;
        let pin = ConversationSettingsRequest { pinned: Some(true), ..Default::default() };
        apply_settings(&conn, &pinned_answer, &pin).unwrap();
        let stored = conversation(&conn, id).unwrap().unwrap();
        assert_eq!((stored.pinned, stored.muted), (true, true));
    }

    #[test]
    fn a_sync_page_replaces_loaded_messages_skips_older_ones_reports_gaps_and_keeps_its_token() {
        let (conn, me, other, id) = setup();
        let loaded: Vec<Message> = (5..=7).map(|seq| message(id, seq, other)).collect();
        store_page(&conn, id, &loaded, true, PageKind::Latest, me).unwrap();
        let mut deleted = loaded[0].clone();
        (deleted.deleted, deleted.body) = (true, String::new());
        let page = SyncResponse {
            next: "t1".into(),
            has_more: false,
            conversations: Vec::new(),
            removed_conversation_ids: Vec::new(),
            // seq 2 is older than what is loaded; seq 10 leaves 8 and 9 missing.
            messages: vec![message(id, 2, other), deleted, message(id, 10, other)],
        };
        let known_before = conversation_ids(&conn).unwrap();
        let outcome = apply_sync_page(&conn, &page, false, &known_before, &HashSet::new(), me).unwrap();
        assert_eq!(outcome.backfill, [id], "8 and 9 are fetched with after_seq");
        assert_eq!(seqs(&conn, id), [5, 6, 7, 10], "2 is left to the timeline's pagination");
        let stored = &timeline(&conn, id, usize::MAX, None).unwrap().unwrap().messages[0];
        assert!(stored.deleted && stored.body.is_empty(), "deleted while offline: no text left");
        assert_eq!(sync_token(&conn).unwrap().as_deref(), Some("t1"));

        let gone = SyncResponse { next: "t2".into(), removed_conversation_ids: vec![id], messages: Vec::new(), ..page };
        apply_sync_page(&conn, &gone, false, &known_before, &HashSet::new(), me).unwrap();
        assert!(conversation(&conn, id).unwrap().is_none() && seqs_stored(&conn, id) == 0, "forgotten");
        assert_eq!(sync_token(&conn).unwrap().as_deref(), Some("t2"));
        clear_sync_token(&conn).unwrap();
        assert_eq!(sync_token(&conn).unwrap(), None);
    }

    #[test]
    fn a_sync_page_keeps_what_arrived_live_on_its_way_and_does_not_bring_back_what_was_removed() {
        let (conn, me, other, removed) = setup();
        let known_before = conversation_ids(&conn).unwrap();
        let (stale_copy, _) = conversations(&conn).unwrap().remove(0);
        // While the first page from the start is on its way, a new group arrives live with its first message,
        // and the user is removed from the stored chat; the page (a snapshot from before) has only the latter.
        let mut live = stale_copy.clone();
        (live.id, live.kind, live.name) = (Uuid::now_v7(), ConversationKind::Group, Some("Trip".into()));
        upsert_conversation(&conn, &live).unwrap();
        store_page(&conn, live.id, &[message(live.id, 1, other)], true, PageKind::Latest, me).unwrap();
        remove_conversation(&conn, removed).unwrap();
        let page = SyncResponse {
            next: "t1".into(),
            has_more: false,
            conversations: vec![stale_copy],
            removed_conversation_ids: Vec::new(),
            messages: vec![message(removed, 1, other)],
        };
        let outcome = apply_sync_page(&conn, &page, true, &known_before, &HashSet::new(), me).unwrap();
        let ids = conversation_ids(&conn).unwrap();
        assert!(ids.contains(&live.id), "the group that arrived meanwhile is kept");
        assert_eq!(seqs(&conn, live.id), [1], "with its first message");
        assert!(!ids.contains(&removed), "the chat removed meanwhile stays removed");
        assert_eq!(seqs_stored(&conn, removed), 0, "and none of its messages come back");
        assert!(outcome.backfill.is_empty(), "{outcome:?}");
    }

    #[test]
    fn a_sync_page_does_not_overwrite_what_changed_live_while_it_was_on_its_way() {
        let (conn, me, other, id) = setup();
        let loaded: Vec<Message> = (1..=3).map(|seq| message(id, seq, other)).collect();
        store_page(&conn, id, &loaded, true, PageKind::Latest, me).unwrap();
        let known_before = conversation_ids(&conn).unwrap();
        let (snapshot, _) = conversations(&conn).unwrap().remove(0);
        // Meanwhile, live: the user mutes the chat, message 1 is deleted and message 2 edited.
        let mut muted = snapshot.clone();
        muted.muted = true;
        upsert_conversation(&conn, &muted).unwrap();
        mark_deleted(&conn, loaded[0].id, me).unwrap();
        let mut edited = loaded[1].clone();
        (edited.body, edited.edited_at) = ("edited".into(), Some(OffsetDateTime::now_utc()));
        replace_message(&conn, &edited, me).unwrap();
        // The page, from before all that, holds the chat unmuted and the three messages as first sent.
        let page = SyncResponse {
            next: "t1".into(),
            has_more: false,
            conversations: vec![snapshot],
            removed_conversation_ids: Vec::new(),
            messages: loaded.clone(),
        };
        apply_sync_page(&conn, &page, true, &known_before, &HashSet::from([id]), me).unwrap();
        assert!(conversation(&conn, id).unwrap().unwrap().muted, "the live mute stays");
        let stored = timeline(&conn, id, usize::MAX, None).unwrap().unwrap().messages;
        assert!(stored[0].deleted && stored[0].body.is_empty(), "a deletion is never undone");
        assert_eq!(stored[1].body, "edited", "the later edit stays");
        assert_eq!(stored[2].body, loaded[2].body);
    }

    fn seqs_stored(conn: &Connection, id: Uuid) -> i64 {
        conn.query_row("SELECT count(*) FROM messages WHERE conversation_id = ?1", [id.to_string()], |row| row.get(0))
            .unwrap()
    }

    #[test]
    fn the_outbox_sends_in_order_per_conversation_and_skips_failed_messages() {
        let (conn, me, _, id) = setup();
        let entry = |n: u32| OutboxEntry {
            client_msg_id: format!("c{n}"),
            conversation_id: id,
            body: format!("body {n}"),
            created_at: OffsetDateTime::now_utc(),
            failure: None,
            file: None,
        };
        for n in 1..=3 {
            enqueue(&conn, &entry(n)).unwrap();
        }
        let heads =
            |conn: &Connection| outbox_heads(conn).unwrap().iter().map(|e| e.client_msg_id.clone()).collect::<Vec<_>>();
        assert_eq!(heads(&conn), ["c1"]);
        fail(&conn, "c1", "policy_forbids", "no").unwrap();
        assert_eq!(heads(&conn), ["c2"], "a refused message does not block the next");
        let mut sent = message(id, 1, me);
        sent.client_msg_id = "c2".into();
        acknowledge(&conn, "c2", &sent, me).unwrap();
        assert_eq!(heads(&conn), ["c3"]);
        assert!(retry(&conn, "c1").unwrap());
        assert_eq!(heads(&conn), ["c1"], "a retried message takes its place again");
        // A backfill that brings an own message still in the outbox settles it.
        let mut committed = message(id, 2, me);
        committed.client_msg_id = "c1".into();
        store_page(&conn, id, &[committed], false, PageKind::After, me).unwrap();
        assert_eq!(heads(&conn), ["c3"]);
        assert!(discard(&conn, "c3").unwrap());
        assert!(heads(&conn).is_empty());
    }

    #[test]
    fn reactions_are_counted_per_user_and_compared_without_fe0f() {
        let (conn, me, other, id) = setup();
        let original = message(id, 1, other);
        apply_message(&conn, &original, me).unwrap();
        apply_reaction(&conn, original.id, "❤\u{fe0f}", me, true).unwrap();
        apply_reaction(&conn, original.id, "❤", me, true).unwrap();
        apply_reaction(&conn, original.id, "❤", other, true).unwrap();
        let stored = &timeline(&conn, id, usize::MAX, None).unwrap().unwrap().messages[0];
        assert_eq!(stored.reactions.len(), 1);
        assert_eq!((stored.reactions[0].count, stored.reactions[0].user_ids.clone()), (2, vec![me, other]));
        apply_reaction(&conn, original.id, "❤\u{fe0f}", me, false).unwrap();
        apply_reaction(&conn, original.id, "❤\u{fe0f}", other, false).unwrap();
        assert!(timeline(&conn, id, usize::MAX, None).unwrap().unwrap().messages[0].reactions.is_empty());
    }
}

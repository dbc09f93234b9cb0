//! Helpers for the SDK's tests: clients with their own data directories, listeners that record what they
//! are told, bounded waits, and a loopback TCP proxy that a test cuts and restores to play a lost network.
//!
//! The server runs in the test's actix system (`TestServer`); the SDK runs on its own tokio runtime, so the
//! test simply awaits the SDK's futures.
#![allow(dead_code, reason = "each test binary uses its own subset of the helpers")]
#![expect(clippy::expect_used, reason = "a test helper that cannot do its job must fail the test loudly")]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hallway_protocol::{ConversationKind, Role};
use hallway_sdk::{
    Client, ConnectionState, ConnectionStateListener, ConversationListDiff, ConversationListListener,
    ConversationSummary, SecretStore, SecretStoreError, SendState, TaskHandle, Timeline, TimelineDetails, TimelineDiff,
    TimelineItem, TimelineListener, TimelineSnapshot,
};
use hallway_server::store::users::UserRow;
use hallway_test_support::{PASSWORD, TestServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use uuid::Uuid;

/// How long a test waits for something it expects before failing.
pub const WAIT: Duration = Duration::from_secs(20);

/// A client of `url` with a fresh data directory (kept alive by the returned guard).
pub fn client(url: &str) -> (Arc<Client>, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("a data dir");
    (client_in(url, &dir), dir)
}

/// A client of `url` on an existing data directory (a restarted app), with its secrets in [`FileSecrets`].
pub fn client_in(url: &str, dir: &tempfile::TempDir) -> Arc<Client> {
    Client::new(url.to_owned(), dir.path().to_string_lossy().into_owned(), FileSecrets::of(dir.path()))
        .expect("a client")
}

/// The tests' secret store: one file per name in a folder, standing in for the Keystore or the Keychain. It
/// lives in the data directory's `test-secrets` folder, which the SDK never touches, so a restarted client
/// finds its secrets and a test can read them.
pub struct FileSecrets {
    dir: PathBuf,
}

impl FileSecrets {
    /// The secrets of the client whose data directory is `data_dir`.
    pub fn of(data_dir: &Path) -> Arc<FileSecrets> {
        Arc::new(FileSecrets { dir: data_dir.join("test-secrets") })
    }
}

impl SecretStore for FileSecrets {
    fn get(&self, name: String) -> Result<Option<String>, SecretStoreError> {
        match std::fs::read_to_string(self.dir.join(name)) {
            Ok(value) => Ok(Some(value)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(SecretStoreError::Unavailable { reason: e.kind().to_string() }),
        }
    }

    fn set(&self, name: String, value: String) -> Result<(), SecretStoreError> {
        let unavailable = |e: std::io::Error| SecretStoreError::Unavailable { reason: e.kind().to_string() };
        std::fs::create_dir_all(&self.dir).map_err(unavailable)?;
        std::fs::write(self.dir.join(name), value).map_err(unavailable)
    }

    fn remove(&self, name: String) -> Result<(), SecretStoreError> {
        match std::fs::remove_file(self.dir.join(name)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(SecretStoreError::Unavailable { reason: e.kind().to_string() })
            }
            _ => Ok(()),
        }
    }
}

/// The secret kept under `name` for the client of `data_dir` (`refresh-token`, `store-key`).
pub fn secret(data_dir: &Path, name: &str) -> Option<String> {
    FileSecrets::of(data_dir).get(name.to_owned()).expect("the test secrets")
}

/// The client's SQLite store in `data_dir`, opened with its key, as the SDK opens it.
pub fn open_store(data_dir: &Path) -> rusqlite::Connection {
    let db = rusqlite::Connection::open(data_dir.join(hallway_sdk::DATABASE_FILE)).expect("the store");
    let key = secret(data_dir, "store-key").expect("the store's key");
    db.execute_batch(&format!("PRAGMA key = \"x'{key}'\";")).expect("keying the store");
    db
}

/// Polls `check` until it returns `Some`, failing the test after `WAIT`.
pub async fn eventually<T>(what: &str, check: impl FnMut() -> Option<T>) -> T {
    eventually_within(what, WAIT, check).await
}

/// Polls `check` until it returns `Some`, failing the test after `limit`.
pub async fn eventually_within<T>(what: &str, limit: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// A listener that keeps every state it was told. A list's or a timeline's listener is told changes: it
/// applies them in order to its own copy, as an app's view model does, and keeps each state that makes.
pub struct Recorder<T> {
    updates: Mutex<Vec<T>>,
    /// The state the changes so far add up to (`None` before the first).
    building: Mutex<Option<T>>,
    /// Which callback was called, in order ("items", "details", "typing", "list", "state").
    calls: Mutex<Vec<&'static str>>,
}

impl<T: Clone> Recorder<T> {
    pub fn new() -> Arc<Recorder<T>> {
        Arc::new(Recorder {
            updates: Mutex::new(Vec::new()),
            building: Mutex::new(None),
            calls: Mutex::new(Vec::new()),
        })
    }

    /// The callbacks called so far, in order.
    pub fn calls(&self) -> Vec<&'static str> {
        self.calls.lock().expect("the recorder's lock").clone()
    }

    fn called(&self, call: &'static str) {
        self.calls.lock().expect("the recorder's lock").push(call);
    }

    fn push(&self, update: T) {
        self.updates.lock().expect("the recorder's lock").push(update);
    }

    /// Everything received so far, oldest first.
    pub fn all(&self) -> Vec<T> {
        self.updates.lock().expect("the recorder's lock").clone()
    }

    /// The latest update.
    pub fn last(&self) -> Option<T> {
        self.updates.lock().expect("the recorder's lock").last().cloned()
    }

    /// Waits until the latest update satisfies `check`, and returns it.
    pub async fn wait_for(&self, what: &str, check: impl Fn(&T) -> bool) -> T {
        eventually(what, || self.last().filter(|update| check(update))).await
    }
}

impl Recorder<TimelineSnapshot> {
    /// Changes the timeline built so far, and records it once its items came (its details come first).
    fn build(&self, call: &'static str, change: impl FnOnce(&mut TimelineSnapshot)) {
        self.called(call);
        let mut building = self.building.lock().expect("the recorder's lock");
        let snapshot = building.get_or_insert_with(|| TimelineSnapshot {
            items: Vec::new(),
            details: TimelineDetails::default(),
            typing_user_ids: Vec::new(),
        });
        change(snapshot);
        if self.calls().contains(&"items") {
            self.push(snapshot.clone());
        }
    }
}

impl TimelineListener for Recorder<TimelineSnapshot> {
    fn on_items(&self, diffs: Vec<TimelineDiff>) {
        assert!(!diffs.is_empty(), "told no change");
        let first = !self.calls().contains(&"items");
        assert!(!first || matches!(diffs[..], [TimelineDiff::Reset { .. }]), "the first update is one reset");
        self.build("items", |snapshot| diffs.into_iter().for_each(|diff| diff.apply(&mut snapshot.items)));
    }

    fn on_details(&self, details: TimelineDetails) {
        self.build("details", |snapshot| snapshot.details = details);
    }

    fn on_typing(&self, user_ids: Vec<String>) {
        self.build("typing", |snapshot| snapshot.typing_user_ids = user_ids);
    }
}

impl ConversationListListener for Recorder<Vec<ConversationSummary>> {
    fn on_update(&self, diffs: Vec<ConversationListDiff>) {
        assert!(!diffs.is_empty(), "told no change");
        let first = self.calls().is_empty();
        assert!(!first || matches!(diffs[..], [ConversationListDiff::Reset { .. }]), "the first update is one reset");
        self.called("list");
        let mut building = self.building.lock().expect("the recorder's lock");
        let list = building.get_or_insert_with(Vec::new);
        diffs.into_iter().for_each(|diff| diff.apply(list));
        self.push(list.clone());
    }
}

impl ConnectionStateListener for Recorder<ConnectionState> {
    fn on_state(&self, state: ConnectionState) {
        self.called("state");
        self.push(state);
    }
}

/// Subscribes a recorder to a client's connection state.
pub fn watch_connection(client: &Client) -> (Arc<Recorder<ConnectionState>>, Arc<TaskHandle>) {
    let recorder = Recorder::new();
    let handle = client.subscribe_connection_state(recorder.clone());
    (recorder, handle)
}

/// Subscribes a recorder to a client's conversation list.
pub fn watch_list(client: &Client) -> (Arc<Recorder<Vec<ConversationSummary>>>, Arc<TaskHandle>) {
    let recorder = Recorder::new();
    let handle = client.conversation_list().subscribe(recorder.clone());
    (recorder, handle)
}

/// Subscribes a recorder to one conversation's timeline.
pub fn watch_timeline(client: &Client, conversation: &str) -> (Arc<Recorder<TimelineSnapshot>>, Arc<TaskHandle>) {
    watch(&client.timeline(conversation.to_owned()).expect("a timeline"))
}

/// Subscribes a recorder to a timeline object (whose window `paginate_backwards` then grows).
pub fn watch(timeline: &Timeline) -> (Arc<Recorder<TimelineSnapshot>>, Arc<TaskHandle>) {
    let recorder = Recorder::new();
    let handle = timeline.subscribe(recorder.clone());
    (recorder, handle)
}

/// Waits until what the recorder built from a timeline's updates equals the timeline's snapshot (things have
/// settled), and returns it.
pub async fn settled(recorder: &Recorder<TimelineSnapshot>, timeline: &Timeline) -> TimelineSnapshot {
    let deadline = Instant::now() + WAIT;
    loop {
        let snapshot = timeline.snapshot().await.expect("a snapshot");
        if recorder.last().as_ref() == Some(&snapshot) {
            return snapshot;
        }
        assert!(
            Instant::now() < deadline,
            "the updates add up to {:?}, the snapshot is {snapshot:?}",
            recorder.last().map(|s| bodies(&s))
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Waits until what the recorder built from the list's updates equals the stored list, and returns it.
pub async fn settled_list(recorder: &Recorder<Vec<ConversationSummary>>, client: &Client) -> Vec<ConversationSummary> {
    let deadline = Instant::now() + WAIT;
    loop {
        let list = client.conversation_list().conversations().await.expect("the list");
        if recorder.last().as_ref() == Some(&list) {
            return list;
        }
        assert!(Instant::now() < deadline, "the updates add up to {:?}, the list is {list:?}", recorder.last());
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Waits until the client is online.
pub async fn wait_online(client: &Client) {
    eventually("the client to be online", || (client.connection_state() == ConnectionState::Online).then_some(()))
        .await;
}

/// The bodies of a timeline's items, in order.
pub fn bodies(snapshot: &TimelineSnapshot) -> Vec<String> {
    snapshot.items.iter().map(|item| item.body.clone()).collect()
}

/// Whether every item of a timeline is acknowledged.
pub fn all_sent(snapshot: &TimelineSnapshot) -> bool {
    snapshot.items.iter().all(|item| item.send_state == SendState::Sent)
}

/// The item with this body, if any.
pub fn item<'a>(snapshot: &'a TimelineSnapshot, body: &str) -> Option<&'a TimelineItem> {
    snapshot.items.iter().find(|item| item.body == body)
}

/// Checks that a timeline's sent items have the seqs 1, 2, 3, ... with no gap and no duplicate.
pub fn assert_contiguous(snapshot: &TimelineSnapshot) {
    let seqs: Vec<i64> = snapshot.items.iter().filter_map(|item| item.seq).collect();
    let expected: Vec<i64> = (1..=i64::try_from(seqs.len()).expect("a small count")).collect();
    assert_eq!(seqs, expected, "seqs are 1..n, each once: {:?}", bodies(snapshot));
}

/// Checks that a timeline's sent items have the seqs `first`, `first + 1`, ... with no gap and no duplicate.
pub fn assert_contiguous_from(snapshot: &TimelineSnapshot, first: i64) {
    let seqs: Vec<i64> = snapshot.items.iter().filter_map(|item| item.seq).collect();
    let expected: Vec<i64> = (first..first + i64::try_from(seqs.len()).expect("a small count")).collect();
    assert_eq!(seqs, expected, "seqs are {first}.., each once: {:?}", bodies(snapshot));
}

/// How many messages with this body the server stored (any conversation).
pub async fn stored_count(server: &TestServer, body: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM messages WHERE body = $1")
        .bind(body)
        .fetch_one(&server.pool)
        .await
        .expect("counting messages")
}

/// A loopback TCP proxy in front of the server, playing the phone's network: `cut` drops every connection
/// and refuses new ones (no network, noticed at once); `freeze` keeps connections open but holds every byte
/// back (a dead link nobody closes, found only by heartbeats); `restore` lets everything through again.
pub struct Proxy {
    pub addr: SocketAddr,
    up: Arc<AtomicBool>,
    frozen: Arc<AtomicBool>,
    connections: Arc<Mutex<Vec<JoinHandle<()>>>>,
    accept: JoinHandle<()>,
    /// The request line (method and path, without the query) of each HTTP request that went through.
    requests: Arc<Mutex<Vec<String>>>,
    /// The status code of each WebSocket close frame a client sent through.
    close_codes: Arc<Mutex<Vec<u16>>>,
}

impl Proxy {
    pub async fn start(target: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("binding the proxy");
        let addr = listener.local_addr().expect("the proxy's address");
        let up = Arc::new(AtomicBool::new(true));
        let frozen = Arc::new(AtomicBool::new(false));
        let connections: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let requests: Arc<Mutex<Vec<String>>> = Arc::default();
        let close_codes: Arc<Mutex<Vec<u16>>> = Arc::default();
        let accept = tokio::spawn({
            let (up, frozen, connections, requests, close_codes) =
                (up.clone(), frozen.clone(), connections.clone(), requests.clone(), close_codes.clone());
            async move {
                while let Ok((inbound, _)) = listener.accept().await {
                    if !up.load(Ordering::SeqCst) {
                        drop(inbound);
                        continue;
                    }
                    let (frozen, requests, close_codes) = (frozen.clone(), requests.clone(), close_codes.clone());
                    let pipe = tokio::spawn(async move {
                        let Ok(outbound) = TcpStream::connect(target).await else { return };
                        let (mut inbound_read, mut inbound_write) = inbound.into_split();
                        let (mut outbound_read, mut outbound_write) = outbound.into_split();
                        let client_side = ClientSide { requests: &requests, close_codes: &close_codes };
                        tokio::select! {
                            () = pump(&mut inbound_read, &mut outbound_write, &frozen, Some(client_side)) => {}
                            () = pump(&mut outbound_read, &mut inbound_write, &frozen, None) => {}
                        }
                    });
                    connections.lock().expect("the proxy's lock").push(pipe);
                }
            }
        });
        Proxy { addr, up, frozen, connections, accept, requests, close_codes }
    }

    /// The status codes of the WebSocket close frames clients sent through so far (1000: a clean close).
    pub fn client_close_codes(&self) -> Vec<u16> {
        self.close_codes.lock().expect("the proxy's lock").clone()
    }

    /// The HTTP requests that went through so far, as `METHOD /path` (the WebSocket upgrade included).
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().expect("the proxy's lock").clone()
    }

    /// How many WebSocket upgrades went through so far (each one a new socket).
    pub fn socket_upgrades(&self) -> usize {
        self.requests().iter().filter(|request| *request == "GET /api/v1/ws").count()
    }

    /// The URL a client uses to go through the proxy.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Drops every open connection and refuses new ones.
    pub fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        for pipe in self.connections.lock().expect("the proxy's lock").drain(..) {
            pipe.abort();
        }
    }

    /// Holds back every byte in both directions, without closing anything.
    pub fn freeze(&self) {
        self.frozen.store(true, Ordering::SeqCst);
    }

    /// Lets connections through again.
    pub fn restore(&self) {
        self.frozen.store(false, Ordering::SeqCst);
        self.up.store(true, Ordering::SeqCst);
    }
}

/// What the proxy notes of the bytes a client sends.
#[derive(Clone, Copy)]
struct ClientSide<'a> {
    requests: &'a Mutex<Vec<String>>,
    close_codes: &'a Mutex<Vec<u16>>,
}

/// Copies bytes one way, holding them while the proxy is frozen; on the client's side, notes each request
/// line (a client writes each request of a keep-alive connection from its start) and, on a WebSocket, the
/// code of each close frame.
async fn pump(from: &mut OwnedReadHalf, to: &mut OwnedWriteHalf, frozen: &AtomicBool, client: Option<ClientSide<'_>>) {
    let mut buffer = vec![0_u8; 16 * 1024];
    let mut socket: Option<FrameReader> = None;
    loop {
        let read = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(read) => read,
        };
        if let Some(client) = client {
            if socket.is_none()
                && let Some(line) = request_line(&buffer[..read])
            {
                if line == "GET /api/v1/ws" {
                    socket = Some(FrameReader::default());
                }
                client.requests.lock().expect("the proxy's lock").push(line);
            }
            if let Some(frames) = socket.as_mut() {
                let codes = frames.close_codes(&buffer[..read]);
                client.close_codes.lock().expect("the proxy's lock").extend(codes);
            }
        }
        while frozen.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        if to.write_all(&buffer[..read]).await.is_err() {
            return;
        }
    }
}

/// Reads the frames a WebSocket client sends (after its upgrade request), for their close codes.
#[derive(Default)]
struct FrameReader {
    /// Bytes not yet read as a whole frame; the upgrade request's headers first.
    pending: Vec<u8>,
    /// The upgrade request's headers are behind.
    upgraded: bool,
}

impl FrameReader {
    /// Takes the next bytes from the client; returns the codes of the close frames they complete.
    fn close_codes(&mut self, bytes: &[u8]) -> Vec<u16> {
        self.pending.extend_from_slice(bytes);
        if !self.upgraded {
            let Some(end) = self.pending.windows(4).position(|w| w == b"\r\n\r\n") else { return Vec::new() };
            self.pending.drain(..end + 4);
            self.upgraded = true;
        }
        let mut codes = Vec::new();
        while let Some((opcode, payload, length)) = self.next_frame() {
            if opcode == 0x8 && payload.len() >= 2 {
                codes.push(u16::from_be_bytes([payload[0], payload[1]]));
            }
            self.pending.drain(..length);
        }
        codes
    }

    /// The first whole frame of `pending`: its opcode, its unmasked payload and its length in bytes.
    fn next_frame(&self) -> Option<(u8, Vec<u8>, usize)> {
        let bytes = &self.pending;
        let (first, second) = (*bytes.first()?, *bytes.get(1)?);
        let (mut at, length) = match second & 0x7f {
            126 => (4, u64::from(u16::from_be_bytes(bytes.get(2..4)?.try_into().ok()?))),
            127 => (10, u64::from_be_bytes(bytes.get(2..10)?.try_into().ok()?)),
            short => (2, u64::from(short)),
        };
        let mask: Option<[u8; 4]> = if second & 0x80 != 0 {
            let mask = bytes.get(at..at + 4)?.try_into().ok()?;
            at += 4;
            Some(mask)
        } else {
            None
        };
        let end = at + usize::try_from(length).ok()?;
        let payload = bytes.get(at..end)?;
        let payload = match mask {
            Some(mask) => payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]).collect(),
            None => payload.to_vec(),
        };
        Some((first & 0x0f, payload, end))
    }
}

/// `METHOD /path` when the bytes start an HTTP request.
fn request_line(bytes: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(512)]);
    let mut words = text.split(' ');
    let (method, target) = (words.next()?, words.next()?);
    if !["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&method) || !target.starts_with('/') {
        return None;
    }
    Some(format!("{method} {}", target.split('?').next().unwrap_or(target)))
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.cut();
        self.accept.abort();
    }
}

/// A teacher (`rivera`) and a parent (`chen`), both with `PASSWORD`, and the id of their direct chat.
pub async fn teacher_and_parent_in_a_chat(server: &TestServer) -> (UserRow, UserRow, String) {
    let teacher = server.create_user("rivera", Role::Teacher).await;
    let parent = server.create_user("chen", Role::Parent).await;
    let chat = server.create_conversation(ConversationKind::Direct, None, teacher.id, &[parent.id]).await;
    (teacher, parent, chat.to_string())
}

/// Waits until the client's stored list holds the conversation (the first sync after sign-in brought it).
pub async fn wait_for_conversation(client: &Client, id: &str) {
    let deadline = Instant::now() + WAIT;
    loop {
        let list = client.conversation_list().conversations().await.expect("the stored list");
        if list.iter().any(|c| c.id == id) {
            return;
        }
        assert!(Instant::now() < deadline, "timed out waiting for conversation {id} in the list");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Everything the SDK logs (at every level) from now on in this test process, for tests that check what
/// logs may not contain.
pub fn capture_logs() -> Arc<Mutex<Vec<u8>>> {
    let buffer: Arc<Mutex<Vec<u8>>> = Arc::default();
    let writer = LogWriter(buffer.clone());
    tracing_subscriber::fmt()
        .with_env_filter("hallway_sdk=trace")
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .try_init()
        .expect("the only subscriber of this test process");
    buffer
}

#[derive(Clone)]
struct LogWriter(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("the log buffer's lock").extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Cuts the network of a signed-in client and waits until it noticed.
/// The teacher of [`teacher_and_parent_in_a_chat`] signed in through a proxy the test can cut, online and
/// holding the chat: the chat's id, the proxy, the client and its data dir.
pub async fn teacher_online_in_a_chat(server: &TestServer) -> (String, Proxy, Arc<Client>, tempfile::TempDir) {
    let (_, _, chat) = teacher_and_parent_in_a_chat(server).await;
    let proxy = Proxy::start(server.local_addr()).await;
    let (alice, dir) = client(&proxy.url());
    alice.login("rivera".into(), PASSWORD.into()).await.expect("signed in");
    wait_for_conversation(&alice, &chat).await;
    wait_online(&alice).await;
    (chat, proxy, alice, dir)
}

/// A teacher ("rivera") in `count` groups with one parent ("chen"), signed in through a proxy the test can cut,
/// online and holding every group: the groups (in order), the proxy, the client and its data dir.
pub async fn teacher_online_in_groups(
    server: &TestServer,
    count: usize,
) -> (Vec<Uuid>, Proxy, Arc<Client>, tempfile::TempDir) {
    let teacher = server.create_user("rivera", Role::Teacher).await;
    let parent = server.create_user("chen", Role::Parent).await;
    let mut groups = Vec::new();
    for i in 1..=count {
        let name = format!("group {i}");
        groups.push(server.create_conversation(ConversationKind::Group, Some(&name), teacher.id, &[parent.id]).await);
    }
    let proxy = Proxy::start(server.local_addr()).await;
    let (alice, dir) = client(&proxy.url());
    alice.login("rivera".into(), PASSWORD.into()).await.expect("signed in");
    for group in &groups {
        wait_for_conversation(&alice, &group.to_string()).await;
    }
    wait_online(&alice).await;
    (groups, proxy, alice, dir)
}

pub async fn go_offline(client: &Client, proxy: &Proxy) {
    proxy.cut();
    eventually("the client to notice", || (client.connection_state() != ConnectionState::Online).then_some(())).await;
}

/// Waits until the server stored `count` messages, and returns each conversation's `(seq, body)` in seq order.
pub async fn stored_by_conversation(server: &TestServer, count: usize) -> HashMap<Uuid, Vec<(i64, String)>> {
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let rows: Vec<(Uuid, i64, String)> =
            sqlx::query_as("SELECT conversation_id, seq, body FROM messages ORDER BY conversation_id, seq")
                .fetch_all(&server.pool)
                .await
                .expect("reading the messages");
        if rows.len() >= count {
            let mut by_conversation = HashMap::<Uuid, Vec<(i64, String)>>::new();
            for (conversation, seq, body) in rows {
                by_conversation.entry(conversation).or_default().push((seq, body));
            }
            return by_conversation;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {count} stored messages, {} so far", rows.len());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until every message of these conversations shows sent on the client (none failed, none waiting).
pub async fn wait_all_sent(client: &Client, conversations: &[Uuid]) {
    for conversation in conversations {
        let (timeline, _t) = watch_timeline(client, &conversation.to_string());
        timeline.wait_for("every message to show sent", |s| !s.items.is_empty() && all_sent(s)).await;
    }
}

/// A PDF as the server's sniffer sees one: the magic, then `len` bytes of filler.
pub fn pdf(len: usize) -> Vec<u8> {
    let mut bytes = b"%PDF-1.4\n".to_vec();
    bytes.extend((0..len).map(|i| b'a' + (i % 26) as u8));
    bytes
}

/// A small PNG photo, 320 × 240.
pub fn png() -> Vec<u8> {
    let photo = image::RgbImage::from_fn(320, 240, |x, y| image::Rgb([(x % 256) as u8, (y % 256) as u8, 90]));
    let mut bytes = std::io::Cursor::new(Vec::new());
    photo.write_to(&mut bytes, image::ImageFormat::Png).expect("encoding a PNG");
    bytes.into_inner()
}

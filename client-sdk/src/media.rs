//! Media the SDK manages for the apps: the photos, files and thumbnails that messages carry, and people's
//! profile pictures. They are fetched with the session's access token (never through a message's signed
//! link, which expires an hour or so after the message was read), kept on disk under `<data dir>/media`
//! within a size cap (the least recently used go first), and handed to the apps as local paths.
//!
//! A cached file belongs to one stored message: when that message is deleted (by its sender, a group admin,
//! moderation or retention) or leaves the store (the conversation was left, sign-out), its files are removed,
//! so a photo the school took down does not stay on the phone. A task follows the store's change feed for
//! that; every request checks the store again, so nothing is handed out in between. Profile pictures are
//! kept by version (the `v` of `avatar_url`), so a new picture is fetched once and the old one dropped.
//!
//! The folder is the index: file names say what each file is, and a file's modification time is its last
//! use, so the least recently used order survives a restart.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::SystemTime;

use futures_util::StreamExt;
use hallway_protocol::ErrorCode;
use tokio::io::AsyncWriteExt;
use tokio::sync::{OnceCell, broadcast};
use uuid::Uuid;

use crate::client::Client;
use crate::error::{Error, HallwayError, Result};
use crate::shared::{Change, Shared};
use crate::timeline::parse_id;
use crate::{runtime, store};

/// The folder inside the data directory.
pub(crate) const MEDIA_DIR: &str = "media";
/// The cap unless the app sets another (`Client::set_media_cache_limit`): a few hundred photos.
pub(crate) const DEFAULT_MEDIA_CACHE_LIMIT_BYTES: u64 = 256 * 1024 * 1024;
/// Suffix of a download in progress; such files left by a killed app are removed at the next start.
const PARTIAL_SUFFIX: &str = ".part";
/// How a PNG file starts.
const PNG_MAGIC: &[u8] = b"\x89PNG";
/// The longest version or extension kept in a file name.
const MAX_NAME_PART: usize = 32;

/// Which file of an attachment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Variant {
    Original,
    Thumbnail,
}

/// What a cached file is; its file name says the same, so the folder can be read back after a restart.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Item {
    /// `a.<conversation>.<message>.<attachment>.<o|t>[.<extension>]`
    Attachment { conversation: Uuid, message: Uuid, attachment: Uuid, variant: Variant },
    /// `u.<user>.<version>.jpg` (the server keeps profile pictures as JPEG)
    Avatar { user: Uuid, version: String },
}

impl Item {
    /// The file name; `extension` (of the attachment's own name, or the thumbnail's format) lets the app's
    /// viewers and image loaders pick the right decoder.
    fn file_name(&self, extension: Option<&str>) -> String {
        match self {
            Item::Attachment { conversation, message, attachment, variant } => {
                let kind = if *variant == Variant::Original { "o" } else { "t" };
                let mut name = format!("a.{conversation}.{message}.{attachment}.{kind}");
                if let Some(extension) = extension {
                    name.push('.');
                    name.push_str(extension);
                }
                name
            }
            Item::Avatar { user, version } => format!("u.{user}.{version}.jpg"),
        }
    }

    /// The item a file name stands for; `None` for anything else (removed when the folder is read).
    fn parse(name: &str) -> Option<Item> {
        let parts: Vec<&str> = name.split('.').collect();
        match parts.as_slice() {
            ["a", conversation, message, attachment, kind, extension @ ..] if extension.len() <= 1 => {
                let variant = match *kind {
                    "o" => Variant::Original,
                    "t" => Variant::Thumbnail,
                    _ => return None,
                };
                Some(Item::Attachment {
                    conversation: Uuid::parse_str(conversation).ok()?,
                    message: Uuid::parse_str(message).ok()?,
                    attachment: Uuid::parse_str(attachment).ok()?,
                    variant,
                })
            }
            ["u", user, version, "jpg"] if safe_part(version).as_deref() == Some(*version) => {
                Some(Item::Avatar { user: Uuid::parse_str(user).ok()?, version: (*version).to_owned() })
            }
            _ => None,
        }
    }

    fn message(&self) -> Option<Uuid> {
        match self {
            Item::Attachment { message, .. } => Some(*message),
            Item::Avatar { .. } => None,
        }
    }
}

/// Letters, digits, `-` and `_` only, at most `MAX_NAME_PART` of them; `None` when nothing is left.
fn safe_part(raw: &str) -> Option<String> {
    let part: String =
        raw.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').take(MAX_NAME_PART).collect();
    (!part.is_empty()).then_some(part)
}

/// The extension of an attachment's file name, made safe for a file name of ours (`pdf`, `jpg`).
fn extension_of(file_name: &str) -> Option<String> {
    let (_, extension) = file_name.rsplit_once('.')?;
    safe_part(extension).filter(|e| e.len() <= 8).map(|e| e.to_ascii_lowercase())
}

/// The picture's version from a `User.avatar_url` (`/api/v1/users/{id}/avatar?v=abc`).
fn avatar_version(avatar_url: &str) -> String {
    let query = avatar_url.split_once('?').map_or("", |(_, query)| query);
    query.split('&').find_map(|pair| pair.strip_prefix("v=")).and_then(safe_part).unwrap_or_else(|| "0".to_owned())
}

/// One cached file.
#[derive(Debug, Clone)]
struct Entry {
    path: PathBuf,
    size: u64,
    last_used: SystemTime,
}

/// What the folder holds, in memory.
#[derive(Debug, Default)]
struct Index {
    entries: HashMap<Item, Entry>,
    /// The sum of the entries' sizes.
    total: u64,
    /// The account whose media the folder holds; another account's sign-in empties it.
    owner: Option<Uuid>,
}

impl Index {
    fn insert(&mut self, item: Item, entry: Entry) {
        self.total += entry.size;
        if let Some(old) = self.entries.insert(item, entry) {
            self.total -= old.size;
        }
    }

    fn remove(&mut self, item: &Item) -> Option<Entry> {
        let entry = self.entries.remove(item)?;
        self.total -= entry.size;
        Some(entry)
    }

    /// Takes out entries, least recently used first, until the total fits `limit`; `keep` stays whatever its
    /// size (the app is about to show it).
    fn evict(&mut self, limit: u64, keep: Option<&Item>) -> Vec<PathBuf> {
        let mut removed = Vec::new();
        while self.total > limit {
            let oldest = self
                .entries
                .iter()
                .filter(|(item, _)| Some(*item) != keep)
                .min_by_key(|(_, entry)| entry.last_used)
                .map(|(item, _)| item.clone());
            let Some(oldest) = oldest else { break };
            removed.extend(self.remove(&oldest).map(|entry| entry.path));
        }
        removed
    }

    /// Takes out the entries `doomed` says so of.
    fn remove_where(&mut self, doomed: impl Fn(&Item) -> bool) -> Vec<PathBuf> {
        let items: Vec<Item> = self.entries.keys().filter(|item| doomed(item)).cloned().collect();
        items.iter().filter_map(|item| self.remove(item)).map(|entry| entry.path).collect()
    }
}

/// The on-disk media cache of one client.
pub(crate) struct MediaCache {
    dir: PathBuf,
    /// The size cap, in bytes.
    limit: AtomicU64,
    /// Filled from the folder on first use (`loaded`); every change to the folder goes through it.
    index: Mutex<Index>,
    loaded: OnceCell<()>,
    /// One lock per item being fetched: a second request for the same item waits for the first download
    /// and takes its file. An entry lives only while its fetch does.
    fetching: Mutex<HashMap<Item, Arc<tokio::sync::Mutex<()>>>>,
}

/// Which cached files a change to the store may have made stale.
#[derive(Debug, Default)]
struct Stale {
    /// Everything may have changed (a sign-in, a sign-out, a change feed that overflowed).
    everything: bool,
    /// These conversations' messages may have been deleted, or the conversation forgotten.
    conversations: HashSet<Uuid>,
}

impl Stale {
    fn add(&mut self, change: Change) {
        match change {
            Change::Everything => self.everything = true,
            Change::Timeline(id) => {
                self.conversations.insert(id);
            }
            Change::List | Change::Typing(_) => {}
        }
    }
}

impl MediaCache {
    /// The cache in `<data_dir>/media` (created if needed), and the task that removes the files of messages
    /// that are deleted or forgotten; the task ends when the client is gone.
    pub(crate) fn start(data_dir: &Path, shared: &Arc<Shared>) -> Result<Arc<MediaCache>> {
        let dir = data_dir.join(MEDIA_DIR);
        std::fs::create_dir_all(&dir).map_err(|e| cache_error("creating the media folder", &e))?;
        let cache = Arc::new(MediaCache {
            dir,
            limit: AtomicU64::new(DEFAULT_MEDIA_CACHE_LIMIT_BYTES),
            index: Mutex::new(Index::default()),
            loaded: OnceCell::new(),
            fetching: Mutex::new(HashMap::new()),
        });
        let changes = shared.changes.subscribe();
        runtime::handle()?.spawn(follow_changes(changes, Arc::downgrade(shared), Arc::downgrade(&cache)));
        Ok(cache)
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Index>> {
        self.index.lock().map_err(|_| Error::Internal("the media index's lock is poisoned".into()))
    }

    /// Reads the folder once: the files it holds and their last use. Leftover partial downloads and files
    /// that are not ours go; with no one signed in, everything goes (a sign-out the app did not live through).
    async fn ensure_loaded(&self, shared: &Shared) -> Result<()> {
        self.loaded
            .get_or_try_init(|| async {
                let owner = shared.store.run(|conn| store::session_user(conn)).await?;
                let dir = self.dir.clone();
                let found = tokio::task::spawn_blocking(move || read_folder(&dir, owner.is_some())).await??;
                let mut index = self.lock()?;
                index.owner = owner;
                for (item, entry) in found {
                    index.insert(item, entry);
                }
                Ok::<(), Error>(())
            })
            .await?;
        Ok(())
    }

    /// Changes the size cap, evicting at once what no longer fits.
    pub(crate) async fn set_limit(&self, shared: &Shared, bytes: u64) -> Result<()> {
        self.limit.store(bytes, Ordering::Relaxed);
        self.ensure_loaded(shared).await?;
        let evicted = self.lock()?.evict(bytes, None);
        remove_files(evicted).await;
        Ok(())
    }

    /// The bytes the cache holds now.
    pub(crate) async fn size(&self, shared: &Shared) -> Result<u64> {
        self.ensure_loaded(shared).await?;
        Ok(self.lock()?.total)
    }

    /// Removes every cached file (the app's "clear cache", or a sign-out).
    pub(crate) async fn clear(&self) -> Result<()> {
        let paths = self.lock()?.remove_where(|_| true);
        remove_files(paths).await;
        Ok(())
    }

    /// A local copy of a file (`Original`) or its thumbnail that a stored, undeleted message carries; `None`
    /// for the thumbnail of a file that has none. `NotFound` when the message is not stored, is deleted, or
    /// does not carry that file (and any copy of it is removed).
    async fn attachment(
        &self,
        shared: &Shared,
        message_id: Uuid,
        attachment_id: Uuid,
        variant: Variant,
    ) -> Result<Option<PathBuf>> {
        self.ensure_loaded(shared).await?;
        let Some((conversation, attachment)) = carried(shared, message_id, attachment_id).await? else {
            self.forget_message(message_id).await?;
            return Err(not_found());
        };
        if variant == Variant::Thumbnail && attachment.thumbnail_url.is_none() {
            return Ok(None);
        }
        let item = Item::Attachment { conversation, message: message_id, attachment: attachment_id, variant };
        let extension = (variant == Variant::Original).then(|| extension_of(&attachment.file_name)).flatten();
        let resource = match variant {
            Variant::Original => format!("attachments/{attachment_id}"),
            Variant::Thumbnail => format!("attachments/{attachment_id}/thumbnail"),
        };
        let path = self.get_or_fetch(shared, &item, extension.as_deref(), &resource).await;
        let path = match path {
            Err(error) if error.code() == Some(ErrorCode::NotFound) => {
                // The server no longer serves it: deleted there before this device heard, or no longer visible.
                self.forget_message(message_id).await?;
                return Err(error);
            }
            other => other?,
        };
        // A deletion may have been stored while the file was on its way: then it goes again at once.
        if carried(shared, message_id, attachment_id).await?.is_none() {
            self.forget_message(message_id).await?;
            return Err(not_found());
        }
        Ok(Some(path))
    }

    /// A local copy of a person's profile picture named by their `avatar_url`; `None` when the server has no
    /// picture for them (any more).
    async fn avatar(&self, shared: &Shared, user: Uuid, avatar_url: &str) -> Result<Option<PathBuf>> {
        self.ensure_loaded(shared).await?;
        let version = avatar_version(avatar_url);
        let item = Item::Avatar { user, version: version.clone() };
        let fetched = self.get_or_fetch(shared, &item, None, &format!("users/{user}/avatar")).await;
        let older = |other: &Item| matches!(other, Item::Avatar { user: u, version: v } if *u == user && *v != version);
        match fetched {
            Ok(path) => {
                let replaced = self.lock()?.remove_where(older);
                remove_files(replaced).await;
                Ok(Some(path))
            }
            Err(error) if error.code() == Some(ErrorCode::NotFound) => {
                let gone =
                    self.lock()?.remove_where(|other| matches!(other, Item::Avatar { user: u, .. } if *u == user));
                remove_files(gone).await;
                Ok(None)
            }
            Err(error) => Err(error),
        }
    }

    /// The cached file of `item`, or else a download of `resource` into the cache. Concurrent requests for
    /// the same item download it once.
    async fn get_or_fetch(
        &self,
        shared: &Shared,
        item: &Item,
        extension: Option<&str>,
        resource: &str,
    ) -> Result<PathBuf> {
        if let Some(path) = self.hit(item).await? {
            return Ok(path);
        }
        let gate = {
            let mut fetching =
                self.fetching.lock().map_err(|_| Error::Internal("the media fetch lock is poisoned".into()))?;
            fetching.entry(item.clone()).or_default().clone()
        };
        let _only_fetch = gate.lock().await;
        let result = match self.hit(item).await {
            Ok(Some(path)) => Ok(path),
            Ok(None) => self.fetch(shared, item, extension, resource).await,
            Err(error) => Err(error),
        };
        // Whoever waits on this gate finds the file in the index; later requests take a fresh gate (and a
        // waiter finishing after them leaves theirs alone).
        if let Ok(mut fetching) = self.fetching.lock()
            && fetching.get(item).is_some_and(|current| Arc::ptr_eq(current, &gate))
        {
            fetching.remove(item);
        }
        result
    }

    /// The cached file of `item`, marked as just used; `None` when there is none (or it vanished from disk).
    async fn hit(&self, item: &Item) -> Result<Option<PathBuf>> {
        let now = SystemTime::now();
        let path = {
            let mut index = self.lock()?;
            match index.entries.get_mut(item) {
                Some(entry) => {
                    entry.last_used = now;
                    entry.path.clone()
                }
                None => return Ok(None),
            }
        };
        let touched = path.clone();
        let exists = tokio::task::spawn_blocking(move || {
            // The modification time is the last use, for the order after a restart; failing to set it only
            // makes the order less exact.
            let file = std::fs::File::options().append(true).open(&touched)?;
            let _ = file.set_modified(now);
            Ok::<(), std::io::Error>(())
        })
        .await?
        .is_ok();
        if exists {
            Ok(Some(path))
        } else {
            self.lock()?.remove(item);
            Ok(None)
        }
    }

    /// Downloads `resource` with the session into the cache as `item`, then evicts what no longer fits.
    async fn fetch(&self, shared: &Shared, item: &Item, extension: Option<&str>, resource: &str) -> Result<PathBuf> {
        let response = shared.api.get_file(resource).await?;
        let partial = self.dir.join(format!("{}{PARTIAL_SUFFIX}", item.file_name(None)));
        let (size, head) = match write_body(response, &partial).await {
            Ok(written) => written,
            Err(error) => {
                let _ = tokio::fs::remove_file(&partial).await;
                return Err(error);
            }
        };
        let extension = match item {
            // A thumbnail is JPEG, or PNG for an image with transparency: its first bytes say which.
            Item::Attachment { variant: Variant::Thumbnail, .. } => {
                Some(if head.starts_with(PNG_MAGIC) { "png" } else { "jpg" })
            }
            _ => extension,
        };
        let path = self.dir.join(item.file_name(extension));
        tokio::fs::rename(&partial, &path).await.map_err(|e| cache_error("keeping a downloaded file", &e))?;
        let evicted = {
            let mut index = self.lock()?;
            index.insert(item.clone(), Entry { path: path.clone(), size, last_used: SystemTime::now() });
            index.evict(self.limit.load(Ordering::Relaxed), Some(item))
        };
        remove_files(evicted).await;
        Ok(path)
    }

    /// Removes the cached files of one message.
    async fn forget_message(&self, message: Uuid) -> Result<()> {
        let paths = self.lock()?.remove_where(|item| item.message() == Some(message));
        remove_files(paths).await;
        Ok(())
    }

    /// Removes the files that a change to the store made stale: those of messages now deleted or no longer
    /// stored, and, when another account signed in or no one is, everything.
    async fn sweep(&self, shared: &Shared, stale: Stale) -> Result<()> {
        self.ensure_loaded(shared).await?;
        if stale.everything {
            let signed_in = shared.store.run(|conn| store::session_user(conn)).await?;
            let other_account = {
                let mut index = self.lock()?;
                let other = signed_in.is_none() || (index.owner.is_some() && index.owner != signed_in);
                index.owner = signed_in;
                other
            };
            if other_account {
                return self.clear().await;
            }
        }
        let cached: Vec<Uuid> = {
            let index = self.lock()?;
            let messages = index.entries.keys().filter_map(|item| match item {
                Item::Attachment { conversation, message, .. }
                    if stale.everything || stale.conversations.contains(conversation) =>
                {
                    Some(*message)
                }
                _ => None,
            });
            messages.collect::<HashSet<Uuid>>().into_iter().collect()
        };
        if cached.is_empty() {
            return Ok(());
        }
        let checked = cached.clone();
        let live = shared.store.run(move |conn| store::undeleted_messages(conn, &checked)).await?;
        let gone: HashSet<Uuid> = cached.into_iter().filter(|message| !live.contains(message)).collect();
        if !gone.is_empty() {
            tracing::debug!(count = gone.len(), "removing the cached files of deleted messages");
            let paths = self.lock()?.remove_where(|item| item.message().is_some_and(|m| gone.contains(&m)));
            remove_files(paths).await;
        }
        Ok(())
    }
}

/// Follows the store's change feed and sweeps the cache after each burst of changes, until the client or
/// its shared state is gone.
async fn follow_changes(mut changes: broadcast::Receiver<Change>, shared: Weak<Shared>, cache: Weak<MediaCache>) {
    loop {
        let mut stale = Stale::default();
        match changes.recv().await {
            Ok(change) => stale.add(change),
            Err(broadcast::error::RecvError::Lagged(_)) => stale.everything = true,
            Err(broadcast::error::RecvError::Closed) => return,
        }
        loop {
            match changes.try_recv() {
                Ok(change) => stale.add(change),
                Err(broadcast::error::TryRecvError::Lagged(_)) => stale.everything = true,
                Err(_) => break,
            }
        }
        let (Some(shared), Some(cache)) = (shared.upgrade(), cache.upgrade()) else { return };
        if let Err(error) = cache.sweep(&shared, stale).await {
            tracing::info!(%error, "sweeping the media cache failed; the next change retries");
        }
    }
}

/// The message's conversation and the attachment, when the message is stored, not deleted, and carries it.
async fn carried(
    shared: &Shared,
    message_id: Uuid,
    attachment_id: Uuid,
) -> Result<Option<(Uuid, hallway_protocol::Attachment)>> {
    let message = shared.store.run(move |conn| store::message_by_id(conn, message_id)).await?;
    Ok(message.filter(|m| !m.deleted).and_then(|m| {
        let conversation = m.conversation_id;
        m.attachments.into_iter().find(|a| a.id == attachment_id).map(|a| (conversation, a))
    }))
}

/// The cached files in `dir`; removes partial downloads, files that are not ours, and with `keep` false
/// everything.
fn read_folder(dir: &Path, keep: bool) -> Result<Vec<(Item, Entry)>> {
    let entries = std::fs::read_dir(dir).map_err(|e| cache_error("reading the media folder", &e))?;
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let item = Item::parse(&name).filter(|_| keep && !name.ends_with(PARTIAL_SUFFIX));
        let metadata = entry.metadata().ok().filter(std::fs::Metadata::is_file);
        match (item, metadata) {
            (Some(item), Some(metadata)) => {
                let last_used = metadata.modified().unwrap_or(SystemTime::UNIX_EPOCH);
                found.push((item, Entry { path: entry.path(), size: metadata.len(), last_used }));
            }
            // A file that cannot be removed now is tried again at the next start.
            _ => {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
    Ok(found)
}

/// Streams a response's body into a new file; returns its size and its first bytes (up to `PNG_MAGIC`'s length).
async fn write_body(response: reqwest::Response, path: &Path) -> Result<(u64, Vec<u8>)> {
    let mut file = tokio::fs::File::create(path).await.map_err(|e| cache_error("writing a media file", &e))?;
    let mut body = response.bytes_stream();
    let mut written = 0u64;
    let mut head = Vec::with_capacity(PNG_MAGIC.len());
    while let Some(chunk) = body.next().await {
        let chunk = chunk?;
        let wanted = PNG_MAGIC.len().saturating_sub(head.len()).min(chunk.len());
        head.extend_from_slice(&chunk[..wanted]);
        file.write_all(&chunk).await.map_err(|e| cache_error("writing a media file", &e))?;
        written += chunk.len() as u64;
    }
    file.flush().await.map_err(|e| cache_error("writing a media file", &e))?;
    Ok((written, head))
}

/// A person's profile picture for a process beside the app (a notification extension or service), which keeps
/// no index of the cache: the app's cached file when there is one, else a download written under a name of its
/// own and renamed into place, as the app names it (the app counts it in its cap from its next start). `None`
/// when the person has no picture.
pub(crate) async fn avatar_beside_app(
    data_dir: &Path,
    shared: &Shared,
    user: Uuid,
    avatar_url: &str,
) -> Result<Option<PathBuf>> {
    let dir = data_dir.join(MEDIA_DIR);
    let path = dir.join(Item::Avatar { user, version: avatar_version(avatar_url) }.file_name(None));
    if tokio::fs::try_exists(&path).await.unwrap_or(false) {
        return Ok(Some(path));
    }
    let response = match shared.api.get_file(&format!("users/{user}/avatar")).await {
        Err(error) if error.code() == Some(ErrorCode::NotFound) => return Ok(None),
        other => other?,
    };
    tokio::fs::create_dir_all(&dir).await.map_err(|e| cache_error("creating the media folder", &e))?;
    let partial = dir.join(format!("{}.{}{PARTIAL_SUFFIX}", Uuid::now_v7().simple(), user.simple()));
    if let Err(error) = write_body(response, &partial).await {
        let _ = tokio::fs::remove_file(&partial).await;
        return Err(error);
    }
    if let Err(error) = tokio::fs::rename(&partial, &path).await {
        let _ = tokio::fs::remove_file(&partial).await;
        return Err(cache_error("keeping a downloaded file", &error));
    }
    Ok(Some(path))
}

/// Deletes files the index let go of; one that cannot be deleted now is found again by the next start.
async fn remove_files(paths: Vec<PathBuf>) {
    for path in paths {
        if let Err(error) = tokio::fs::remove_file(&path).await
            && error.kind() != std::io::ErrorKind::NotFound
        {
            tracing::info!(error = %error.kind(), "removing a cached media file failed");
        }
    }
}

/// The cache's folder failed (disk full, removed under the app): the device's storage, never a path.
fn cache_error(doing: &str, error: &std::io::Error) -> Error {
    Error::Cache(format!("{doing}: {}", error.kind()))
}

fn not_found() -> Error {
    Error::api(404, ErrorCode::NotFound, "no such file in a message this device holds".into())
}

fn path_string(path: PathBuf) -> String {
    path.to_string_lossy().into_owned()
}

#[uniffi::export(async_runtime = "tokio")]
impl Client {
    /// A local path to the file (a photo at full size, a PDF, ...) that a message carries, fetched with the
    /// session and kept in the media cache; the file name ends with the attachment's extension, for viewers.
    /// Show or open it at once rather than keeping the path: the cache may evict it later (ask again then).
    /// `NotFound` when the message is not in the store, is deleted, or does not carry that file.
    pub async fn media_path(&self, message_id: String, attachment_id: String) -> Result<String, HallwayError> {
        let (shared, media) = (self.shared.clone(), self.media.clone());
        let path = runtime::run(async move {
            let message = parse_id(&message_id, "message_id")?;
            let attachment = parse_id(&attachment_id, "attachment_id")?;
            media.attachment(&shared, message, attachment, Variant::Original).await
        })
        .await?;
        path.map(path_string).ok_or(HallwayError::NotFound)
    }

    /// A local path to the small preview image of a file a message carries (JPEG, or PNG with transparency),
    /// as `media_path` does; `None` for a file that has none (not an image).
    pub async fn thumbnail_path(
        &self,
        message_id: String,
        attachment_id: String,
    ) -> Result<Option<String>, HallwayError> {
        let (shared, media) = (self.shared.clone(), self.media.clone());
        let path = runtime::run(async move {
            let message = parse_id(&message_id, "message_id")?;
            let attachment = parse_id(&attachment_id, "attachment_id")?;
            media.attachment(&shared, message, attachment, Variant::Thumbnail).await
        })
        .await?;
        Ok(path.map(path_string))
    }

    /// A local path to a person's profile picture (a 256 × 256 JPEG), given their `UserInfo.avatar_url`;
    /// `None` when they have none, so the app shows their initials. A new picture has a new `avatar_url`.
    pub async fn avatar_path(
        &self,
        user_id: String,
        avatar_url: Option<String>,
    ) -> Result<Option<String>, HallwayError> {
        let Some(avatar_url) = avatar_url else { return Ok(None) };
        let (shared, media) = (self.shared.clone(), self.media.clone());
        let path = runtime::run(async move {
            let user = parse_id(&user_id, "user_id")?;
            media.avatar(&shared, user, &avatar_url).await
        })
        .await?;
        Ok(path.map(path_string))
    }

    /// Sets the media cache's size cap in bytes (default 256 MiB) for this client (call it after creating the
    /// client, at each start); the least recently used files beyond it are removed at once. The file just
    /// fetched is kept even when it alone is larger.
    pub async fn set_media_cache_limit(&self, bytes: u64) -> Result<(), HallwayError> {
        let (shared, media) = (self.shared.clone(), self.media.clone());
        Ok(runtime::run(async move { media.set_limit(&shared, bytes).await }).await?)
    }

    /// The bytes the media cache holds now (for a settings screen).
    pub async fn media_cache_size(&self) -> Result<u64, HallwayError> {
        let (shared, media) = (self.shared.clone(), self.media.clone());
        Ok(runtime::run(async move { media.size(&shared).await }).await?)
    }

    /// Removes every file from the media cache; they are fetched again when next asked for.
    pub async fn clear_media_cache(&self) -> Result<(), HallwayError> {
        let (shared, media) = (self.shared.clone(), self.media.clone());
        Ok(runtime::run(async move {
            media.ensure_loaded(&shared).await?;
            media.clear().await
        })
        .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_say_what_a_file_is_and_read_back() {
        let (conversation, message, attachment, user) =
            (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let photo = Item::Attachment { conversation, message, attachment, variant: Variant::Original };
        assert_eq!(Item::parse(&photo.file_name(Some("jpg"))), Some(photo.clone()));
        assert_eq!(Item::parse(&photo.file_name(None)), Some(photo));
        let thumbnail = Item::Attachment { conversation, message, attachment, variant: Variant::Thumbnail };
        assert_eq!(Item::parse(&thumbnail.file_name(None)), Some(thumbnail));
        let avatar = Item::Avatar { user, version: avatar_version(&format!("/api/v1/users/{user}/avatar?v=3f2a9c")) };
        assert_eq!(avatar.file_name(None), format!("u.{user}.3f2a9c.jpg"));
        assert_eq!(Item::parse(&avatar.file_name(None)), Some(avatar));
        for foreign in ["notes.txt", "a.x.y.z.o", "u.not-a-uuid.1", "a.1.2.3.o.jpg.part", ""] {
            assert_eq!(Item::parse(foreign), None, "{foreign}");
        }
    }

    #[test]
    fn extensions_and_versions_cannot_escape_the_folder() {
        assert_eq!(extension_of("Homework sheet.PDF").as_deref(), Some("pdf"));
        assert_eq!(extension_of("../../etc/passwd"), None);
        assert_eq!(extension_of("photo./../x"), Some("x".to_owned()));
        assert_eq!(extension_of("no extension"), None);
        assert_eq!(avatar_version("/api/v1/users/1/avatar?v=../../x"), "x");
        assert_eq!(avatar_version("/api/v1/users/1/avatar"), "0");
    }

    #[test]
    fn eviction_takes_the_least_recently_used_first_and_keeps_the_newest() {
        let mut index = Index::default();
        let at = |secs| SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(secs);
        let avatar = |n: u64| Item::Avatar { user: Uuid::from_u128(u128::from(n)), version: "1".into() };
        for (n, used) in [(1, 30), (2, 10), (3, 20)] {
            index.insert(avatar(n), Entry { path: PathBuf::from(n.to_string()), size: 100, last_used: at(used) });
        }
        assert_eq!(index.evict(200, None), vec![PathBuf::from("2")]);
        assert_eq!(index.total, 200);
        assert_eq!(index.evict(50, Some(&avatar(3))), vec![PathBuf::from("1")]);
        assert_eq!((index.total, index.entries.len()), (100, 1));
    }
}

//! Where stored files (blobs) live. Handlers and the store speak only to `BlobStore`, so an S3-compatible
//! store can replace the local disk without touching them. Blobs are content-addressed: the key is the
//! SHA-256 of the bytes, so the same file uploaded twice is kept once, and a blob never changes.

use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::time::{Duration, SystemTime};

use bytes::{Bytes, BytesMut};
use futures_util::future::BoxFuture;
use futures_util::stream::{self, BoxStream};
use tempfile::NamedTempFile;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncSeek, AsyncSeekExt};

/// The name of a blob: the lower-case hex SHA-256 of its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlobKey(String);

impl BlobKey {
    /// The key of bytes whose SHA-256 is `digest`.
    pub fn from_sha256(digest: &[u8; 32]) -> BlobKey {
        BlobKey(digest.iter().map(|b| format!("{b:02x}")).collect())
    }

    /// A key read back from the database; `None` unless it is 64 lower-case hex digits (so a key can never
    /// name a path outside the store).
    pub fn parse(s: &str) -> Option<BlobKey> {
        (s.len() == 64 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
            .then(|| BlobKey(s.to_owned()))
    }

    /// The key as stored in the database.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for BlobKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a blob's bytes are read through: a seekable async reader, so ranges cost no more than whole files.
pub trait BlobReader: AsyncRead + AsyncSeek + Send + Unpin {}
impl<T: AsyncRead + AsyncSeek + Send + Unpin> BlobReader for T {}

/// An open blob.
pub struct Blob {
    /// Its length in bytes.
    pub len: u64,
    reader: Pin<Box<dyn BlobReader>>,
}

/// Chunks of a blob on their way to a client.
pub type ByteStream = BoxStream<'static, io::Result<Bytes>>;

/// Size of the chunks a blob is streamed in.
const CHUNK: usize = 64 * 1024;

impl Blob {
    /// Wraps a reader of `len` bytes.
    pub fn new(len: u64, reader: impl BlobReader + 'static) -> Blob {
        Blob { len, reader: Box::pin(reader) }
    }

    /// Up to `n` bytes from the start (to recognise a format), leaving the blob readable from the start.
    pub async fn head(&mut self, n: usize) -> io::Result<Vec<u8>> {
        let mut head = Vec::with_capacity(n);
        (&mut self.reader).take(n as u64).read_to_end(&mut head).await?;
        self.reader.seek(io::SeekFrom::Start(0)).await?;
        Ok(head)
    }

    /// The bytes of `range` (which must lie within the blob), in chunks.
    pub async fn into_stream(mut self, range: Range<u64>) -> io::Result<ByteStream> {
        self.reader.seek(io::SeekFrom::Start(range.start)).await?;
        let remaining = range.end.saturating_sub(range.start);
        let chunks = stream::try_unfold((self.reader, remaining), |(mut reader, remaining)| async move {
            if remaining == 0 {
                return Ok(None);
            }
            let want = remaining.min(CHUNK as u64) as usize;
            let mut buf = BytesMut::zeroed(want);
            let read = reader.read(&mut buf).await?;
            if read == 0 {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the blob is shorter than its length"));
            }
            buf.truncate(read);
            Ok(Some((buf.freeze(), (reader, remaining - read as u64))))
        });
        Ok(Box::pin(chunks))
    }
}

/// A place to keep blobs.
pub trait BlobStore: Send + Sync {
    /// A local directory for files on their way into the store (uploads are streamed there, then processed);
    /// for the local store it is on the same file system, so `put_file` is a rename.
    fn staging_dir(&self) -> io::Result<PathBuf>;

    /// Stores the finished file `staged` under `key`, atomically: readers see the whole blob or none. A key
    /// that exists already is left as it is (same key, same bytes).
    fn put_file<'a>(&'a self, key: &'a BlobKey, staged: NamedTempFile) -> BoxFuture<'a, io::Result<()>>;

    /// Opens a blob; `None` when there is none under `key`.
    fn open<'a>(&'a self, key: &'a BlobKey) -> BoxFuture<'a, io::Result<Option<Blob>>>;

    /// Deletes a blob; deleting a missing blob is not an error.
    fn delete<'a>(&'a self, key: &'a BlobKey) -> BoxFuture<'a, io::Result<()>>;

    /// Whether a blob exists under `key`.
    fn exists<'a>(&'a self, key: &'a BlobKey) -> BoxFuture<'a, io::Result<bool>>;

    /// Removes staged files older than `age` that a crash left behind; returns how many.
    fn sweep_staging(&self, age: Duration) -> BoxFuture<'_, io::Result<usize>>;
}

/// Blobs as files under one directory, sharded as `ab/cd/abcd…` so no directory grows huge.
pub struct LocalDiskStore {
    root: PathBuf,
}

impl LocalDiskStore {
    /// A store under `root` (usually `<data dir>/blobs`); directories are made when first needed.
    pub fn new(root: PathBuf) -> LocalDiskStore {
        LocalDiskStore { root }
    }

    /// Where the blob `key` lives.
    pub fn path_of(&self, key: &BlobKey) -> PathBuf {
        let k = key.as_str();
        self.root.join(&k[0..2]).join(&k[2..4]).join(k)
    }
}

impl BlobStore for LocalDiskStore {
    fn staging_dir(&self) -> io::Result<PathBuf> {
        let dir = self.root.join("staging");
        std::fs::create_dir_all(&dir)?;
        Ok(dir)
    }

    fn put_file<'a>(&'a self, key: &'a BlobKey, staged: NamedTempFile) -> BoxFuture<'a, io::Result<()>> {
        let path = self.path_of(key);
        Box::pin(blocking(move || {
            if path.exists() {
                return Ok(());
            }
            let dir = path.parent().ok_or_else(|| io::Error::other("a blob path has a parent"))?;
            std::fs::create_dir_all(dir)?;
            staged.as_file().sync_all()?;
            match staged.persist_noclobber(&path) {
                Ok(_) => {}
                // Another upload of the same bytes got there first: same key, same content.
                Err(err) if err.error.kind() == io::ErrorKind::AlreadyExists => {}
                Err(err) if err.error.kind() == io::ErrorKind::CrossesDevices => copy_into(dir, err.file, &path)?,
                Err(err) => return Err(err.error),
            }
            // Make the rename itself durable.
            std::fs::File::open(dir)?.sync_all()
        }))
    }

    fn open<'a>(&'a self, key: &'a BlobKey) -> BoxFuture<'a, io::Result<Option<Blob>>> {
        let path = self.path_of(key);
        Box::pin(async move {
            let file = match tokio::fs::File::open(&path).await {
                Ok(file) => file,
                Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
                Err(err) => return Err(err),
            };
            let len = file.metadata().await?.len();
            Ok(Some(Blob::new(len, file)))
        })
    }

    fn delete<'a>(&'a self, key: &'a BlobKey) -> BoxFuture<'a, io::Result<()>> {
        let path = self.path_of(key);
        Box::pin(async move {
            match tokio::fs::remove_file(&path).await {
                Err(err) if err.kind() != io::ErrorKind::NotFound => Err(err),
                _ => Ok(()),
            }
        })
    }

    fn exists<'a>(&'a self, key: &'a BlobKey) -> BoxFuture<'a, io::Result<bool>> {
        let path = self.path_of(key);
        Box::pin(async move { tokio::fs::try_exists(&path).await })
    }

    fn sweep_staging(&self, age: Duration) -> BoxFuture<'_, io::Result<usize>> {
        let dir = self.root.join("staging");
        Box::pin(blocking(move || {
            let entries = match std::fs::read_dir(&dir) {
                Ok(entries) => entries,
                Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(0),
                Err(err) => return Err(err),
            };
            let mut removed = 0;
            for entry in entries {
                let entry = entry?;
                let modified = entry.metadata()?.modified()?;
                let old = SystemTime::now().duration_since(modified).is_ok_and(|elapsed| elapsed >= age);
                if old && std::fs::remove_file(entry.path()).is_ok() {
                    removed += 1;
                }
            }
            Ok(removed)
        }))
    }
}

/// Copies a staged file next to its destination, then renames it there (when the staging dir sits on
/// another file system, a rename alone cannot be atomic).
fn copy_into(dir: &Path, mut staged: NamedTempFile, path: &Path) -> io::Result<()> {
    use std::io::Seek;
    let mut copy = NamedTempFile::new_in(dir)?;
    staged.as_file_mut().rewind()?;
    io::copy(staged.as_file_mut(), copy.as_file_mut())?;
    copy.as_file().sync_all()?;
    match copy.persist_noclobber(path) {
        Err(err) if err.error.kind() != io::ErrorKind::AlreadyExists => Err(err.error),
        _ => Ok(()),
    }
}

/// Runs file-system work on the blocking pool.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> io::Result<T> + Send + 'static) -> io::Result<T> {
    tokio::task::spawn_blocking(work).await.map_err(io::Error::other)?
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use futures_util::TryStreamExt;

    use super::*;

    #[test]
    fn keys_are_hex_and_nothing_else() {
        let key = BlobKey::from_sha256(&[0xab; 32]);
        assert_eq!(key.as_str().len(), 64);
        assert_eq!(BlobKey::parse(key.as_str()), Some(key));
        assert_eq!(BlobKey::parse("../../etc/passwd"), None);
        assert_eq!(BlobKey::parse(&"A".repeat(64)), None);
    }

    #[tokio::test]
    async fn put_open_range_and_delete() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalDiskStore::new(dir.path().join("blobs"));
        let key = BlobKey::from_sha256(&[0x12; 32]);
        let mut staged = NamedTempFile::new_in(store.staging_dir().unwrap()).unwrap();
        staged.write_all(b"0123456789abcdef").unwrap();
        store.put_file(&key, staged).await.unwrap();
        assert!(store.path_of(&key).starts_with(dir.path().join("blobs/12/12")));
        assert!(store.exists(&key).await.unwrap());
        // Putting the same key again keeps the first file.
        let again = NamedTempFile::new_in(store.staging_dir().unwrap()).unwrap();
        store.put_file(&key, again).await.unwrap();

        let mut blob = store.open(&key).await.unwrap().unwrap();
        assert_eq!(blob.len, 16);
        assert_eq!(blob.head(4).await.unwrap(), b"0123");
        let chunks: Vec<Bytes> = blob.into_stream(10..14).await.unwrap().try_collect().await.unwrap();
        assert_eq!(chunks.concat(), b"abcd");

        store.delete(&key).await.unwrap();
        store.delete(&key).await.unwrap();
        assert!(!store.exists(&key).await.unwrap());
        assert!(store.open(&key).await.unwrap().is_none());
        assert_eq!(std::fs::read_dir(store.staging_dir().unwrap()).unwrap().count(), 0);
    }
}

//! Uploads, safe for children's photos: files are typed by their bytes (`sniff`), images are decoded and
//! re-encoded without their metadata (`images`, `animated`), everything is stored content-addressed behind
//! `storage::BlobStore`, links carry an expiring signature (`urls`), and uploads nobody sent are removed
//! (`cleanup`).
//!
//! The flow of `POST /attachments`: `upload::receive` streams the file to the staging directory, then
//! `prepare` (on the blocking pool, at most one job per core at a time) sniffs and re-encodes it, then
//! `store::attachments` checks the quota, puts the blobs and inserts the row in one transaction.

pub mod animated;
pub mod cleanup;
pub mod images;
pub mod library;
pub mod names;
pub mod sniff;
pub mod storage;
pub mod upload;
pub mod urls;

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use hallway_protocol::ErrorCode;
use sha2::{Digest, Sha256};
use tempfile::NamedTempFile;
use tokio::sync::Semaphore;

use crate::error::ApiError;
use sniff::FileKind;
use storage::{BlobKey, BlobStore, LocalDiskStore};
use upload::Received;

/// Why an upload was refused or failed, mapped to the contract's codes at the HTTP edge.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// 413 `too_large`: over the size limit, the quota, or the image dimensions we process.
    #[error("{0}")]
    TooLarge(String),
    /// 415 `unsupported_media_type`: a kind of file not on the allow-list, or one that does not decode.
    #[error("{0}")]
    Unsupported(String),
    /// 415 `unsupported_media_type`: the request itself is not `multipart/form-data`.
    #[error("{0}")]
    UnsupportedRequest(String),
    /// 400 `invalid_input`: a malformed form, a missing field, an empty file.
    #[error("{0}")]
    Invalid(String),
    #[error("file storage failed")]
    Io(#[from] std::io::Error),
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl From<MediaError> for ApiError {
    fn from(err: MediaError) -> ApiError {
        match err {
            MediaError::TooLarge(message) => ApiError::new(ErrorCode::TooLarge, message),
            MediaError::Unsupported(message) | MediaError::UnsupportedRequest(message) => {
                ApiError::new(ErrorCode::UnsupportedMediaType, message)
            }
            MediaError::Invalid(message) => ApiError::new(ErrorCode::InvalidInput, message),
            MediaError::Io(err) => ApiError::Internal(anyhow::Error::new(err).context("file storage")),
            MediaError::Internal(err) => ApiError::Internal(err),
        }
    }
}

/// What the media handlers share: the blob store, and the permits that bound how many images are
/// decoded at once (a 50-megapixel photo takes some 200 MB while it is processed).
#[derive(Clone)]
pub struct Media {
    pub blobs: Arc<dyn BlobStore>,
    pub jobs: Arc<Semaphore>,
}

impl Media {
    /// Blobs under `<data dir>/blobs` on the local disk; one processing job per core.
    pub fn local(data_dir: &Path) -> Media {
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        Media { blobs: Arc::new(LocalDiskStore::new(data_dir.join("blobs"))), jobs: Arc::new(Semaphore::new(cores)) }
    }

    /// Runs CPU-heavy work on the blocking pool, waiting for a permit first.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T, MediaError> + Send + 'static,
    ) -> Result<T, MediaError> {
        let _permit = self.jobs.acquire().await.map_err(|err| MediaError::Internal(err.into()))?;
        tokio::task::spawn_blocking(work).await.map_err(|err| MediaError::Internal(err.into()))?
    }
}

/// A finished file waiting to go into the store under its key.
pub struct Staged {
    pub file: NamedTempFile,
    pub key: BlobKey,
    pub sha256: [u8; 32],
    pub len: u64,
}

/// An upload ready to store: its type, its bytes as stored (re-encoded for images), its thumbnail.
pub struct Prepared {
    pub mime: &'static str,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub main: Staged,
    pub thumbnail: Option<Staged>,
    /// The extension of the stored format, when it differs from what was sent (WebP stored as JPEG).
    pub converted_extension: Option<&'static str>,
}

/// Types a received file by its bytes and, for images, re-encodes it and makes its thumbnail. Blocking.
pub fn prepare(received: Received, staging_dir: &Path) -> Result<Prepared, MediaError> {
    let kind = sniff::sniff(received.file.path())?;
    if !kind.is_image() {
        let key = BlobKey::from_sha256(&received.sha256);
        let main = Staged { file: received.file, key, sha256: received.sha256, len: received.len };
        return Ok(Prepared {
            mime: kind.mime(),
            width: None,
            height: None,
            main,
            thumbnail: None,
            converted_extension: None,
        });
    }
    let processed = match kind {
        FileKind::Gif => animated::process_gif(received.file.path())?,
        _ => images::process_still(received.file.path(), kind)?,
    };
    let converted_extension = match processed.main.mime {
        mime if mime == kind.mime() => None,
        "image/png" => Some("png"),
        _ => Some("jpg"),
    };
    Ok(Prepared {
        mime: processed.main.mime,
        width: Some(processed.width),
        height: Some(processed.height),
        main: stage_bytes(staging_dir, &processed.main.bytes)?,
        thumbnail: Some(stage_bytes(staging_dir, &processed.thumbnail.bytes)?),
        converted_extension,
    })
}

/// Writes bytes made in memory (an encoded image) to a staged file under their hash.
pub fn stage_bytes(staging_dir: &Path, bytes: &[u8]) -> Result<Staged, MediaError> {
    let sha256: [u8; 32] = Sha256::digest(bytes).into();
    let mut file = NamedTempFile::new_in(staging_dir)?;
    file.write_all(bytes)?;
    Ok(Staged { file, key: BlobKey::from_sha256(&sha256), sha256, len: bytes.len() as u64 })
}

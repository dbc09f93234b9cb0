//! Receiving an upload: the multipart field `file` is streamed to a staged file on disk chunk by chunk
//! (never whole in memory), hashed on the way, and cut off as soon as it passes the size limit, the partial
//! file deleted at once.

use std::path::Path;

use actix_multipart::{Multipart, MultipartError};
use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use tempfile::NamedTempFile;
use tokio::io::AsyncWriteExt;

use super::MediaError;

/// The multipart field that carries the file.
pub const FILE_FIELD: &str = "file";
/// Bytes of other fields (which are ignored) read before the file, at most.
const MAX_OTHER_FIELDS: usize = 64 * 1024;

/// A file received in full.
pub struct Received {
    /// The bytes, on disk in the staging directory; deleted when dropped.
    pub file: NamedTempFile,
    /// The name the client gave, unsanitised.
    pub file_name: Option<String>,
    pub len: u64,
    /// SHA-256 of the bytes.
    pub sha256: [u8; 32],
}

/// Reads the form until its `file` field, and that field into a staged file of at most `max_bytes`.
pub async fn receive(mut form: Multipart, staging_dir: &Path, max_bytes: u64) -> Result<Received, MediaError> {
    let mut other_bytes = 0usize;
    while let Some(field) = form.next().await {
        let mut field = field.map_err(multipart_error)?;
        if field.name() != Some(FILE_FIELD) {
            while let Some(chunk) = field.next().await {
                other_bytes += chunk.map_err(multipart_error)?.len();
                if other_bytes > MAX_OTHER_FIELDS {
                    return Err(MediaError::Invalid(format!(
                        "the form's fields other than `{FILE_FIELD}` are too long"
                    )));
                }
            }
            continue;
        }
        let file_name = field.content_disposition().and_then(|cd| cd.get_filename()).map(str::to_owned);
        let staging_dir = staging_dir.to_owned();
        let staged = tokio::task::spawn_blocking(move || NamedTempFile::new_in(staging_dir))
            .await
            .map_err(|err| MediaError::Internal(err.into()))??;
        let mut writer = tokio::fs::File::from_std(staged.reopen()?);
        let mut hasher = Sha256::new();
        let mut len = 0u64;
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(multipart_error)?;
            len += chunk.len() as u64;
            if len > max_bytes {
                // Returning drops `staged`, which deletes the partial file, and stops reading the request.
                return Err(too_large(max_bytes));
            }
            hasher.update(&chunk);
            writer.write_all(&chunk).await?;
        }
        writer.flush().await?;
        return Ok(Received { file: staged, file_name, len, sha256: hasher.finalize().into() });
    }
    Err(MediaError::Invalid(format!("{FILE_FIELD}: the form has no field named `{FILE_FIELD}`")))
}

/// The 413 of an upload over the limit.
pub fn too_large(max_bytes: u64) -> MediaError {
    MediaError::TooLarge(format!("the file is larger than the limit of {}", human_bytes(max_bytes)))
}

/// `25 MiB`, `2 GiB`, `512 KiB`, `100 bytes`: sizes as people read them.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [(&str, u64); 3] = [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)];
    for (unit, size) in UNITS {
        if bytes >= size {
            let value = bytes as f64 / size as f64;
            return if value.fract() == 0.0 { format!("{value:.0} {unit}") } else { format!("{value:.1} {unit}") };
        }
    }
    format!("{bytes} bytes")
}

fn multipart_error(err: MultipartError) -> MediaError {
    match err {
        MultipartError::ContentTypeMissing
        | MultipartError::ContentTypeParse
        | MultipartError::ContentTypeIncompatible
        | MultipartError::BoundaryMissing => {
            MediaError::UnsupportedRequest("the request body must be multipart/form-data".into())
        }
        _ => MediaError::Invalid(format!("{FILE_FIELD}: the multipart body is malformed or was cut off")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_like_people_write_them() {
        assert_eq!(human_bytes(25 * 1024 * 1024), "25 MiB");
        assert_eq!(human_bytes(2 * 1024 * 1024 * 1024), "2 GiB");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(100), "100 bytes");
    }
}

//! Keeps rows and blobs consistent: a blob goes into the store before the row that names it commits, and
//! is deleted only when the last row naming it is gone, both under the blob's advisory lock.

use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::storage::{BlobKey, BlobStore};
use super::upload::human_bytes;
use super::{MediaError, Prepared, Staged};
use crate::error::{ApiError, ApiResult};
use crate::store::attachments::{self, AttachmentRow, NewAttachment};

/// Stores a prepared upload for `uploader_id`, within their quota of distinct stored bytes.
pub async fn save_attachment(
    db: &PgPool,
    blobs: &dyn BlobStore,
    uploader_id: Uuid,
    prepared: Prepared,
    file_name: &str,
    quota_bytes: u64,
) -> ApiResult<AttachmentRow> {
    let Prepared { mime, width, height, main, thumbnail, .. } = prepared;
    let mut tx = db.begin().await?;
    attachments::lock_uploader(&mut tx, uploader_id).await?;
    if !attachments::holds_content(&mut *tx, uploader_id, &main.sha256).await? {
        let used = attachments::stored_bytes(&mut *tx, uploader_id).await?.max(0) as u64;
        if used.saturating_add(main.len) > quota_bytes {
            return Err(MediaError::TooLarge(format!(
                "your storage quota of {} is full ({} used): this file does not fit; \
                 files not sent with a message are removed after a day",
                human_bytes(quota_bytes),
                human_bytes(used)
            ))
            .into());
        }
    }
    let keys: Vec<&BlobKey> = std::iter::once(&main.key).chain(thumbnail.as_ref().map(|t| &t.key)).collect();
    attachments::lock_blobs(&mut tx, &keys).await?;
    let (sha256, size, storage_key) = (main.sha256, main.len, main.key.clone());
    put(blobs, main).await?;
    let thumbnail_key = match thumbnail {
        Some(staged) => {
            let key = staged.key.clone();
            put(blobs, staged).await?;
            Some(key)
        }
        None => None,
    };
    let new = NewAttachment {
        uploader_id,
        sha256: &sha256,
        file_name,
        mime_type: mime,
        size_bytes: size as i64,
        width: width.map(|w| w as i32),
        height: height.map(|h| h as i32),
        storage_key: &storage_key,
        thumbnail_key: thumbnail_key.as_ref(),
    };
    let row = attachments::insert(&mut *tx, &new).await?;
    tx.commit().await?;
    Ok(row)
}

/// Deletes an attachment that no message carries, and its blobs unless other rows use them. Returns false
/// when it was carried (or being sent) meanwhile and so was kept.
pub async fn delete_unattached(db: &PgPool, blobs: &dyn BlobStore, id: Uuid) -> Result<bool, MediaError> {
    let mut tx = db.begin().await.map_err(database)?;
    let Some(row) = attachments::lock_unattached(&mut tx, id).await.map_err(database)? else {
        return Ok(false);
    };
    let keys = row.blob_keys();
    attachments::lock_blobs(&mut tx, &keys.iter().collect::<Vec<_>>()).await.map_err(database)?;
    attachments::delete(&mut *tx, id).await.map_err(database)?;
    release(&mut tx, blobs, &keys).await?;
    tx.commit().await.map_err(database)?;
    Ok(true)
}

/// Sets a user's profile picture, deleting the previous one's blob if nothing else uses it.
pub async fn set_avatar(db: &PgPool, blobs: &dyn BlobStore, user_id: Uuid, staged: Staged) -> ApiResult<BlobKey> {
    let mut tx = db.begin().await?;
    let old = attachments::lock_avatar(&mut tx, user_id).await?;
    let new = staged.key.clone();
    attachments::lock_blobs(&mut tx, &std::iter::once(&new).chain(old.as_ref()).collect::<Vec<_>>()).await?;
    put(blobs, staged).await?;
    attachments::set_avatar(&mut *tx, user_id, Some(&new)).await?;
    release(&mut tx, blobs, old.as_slice()).await?;
    tx.commit().await?;
    Ok(new)
}

/// Removes a user's profile picture; returns whether there was one.
pub async fn remove_avatar(db: &PgPool, blobs: &dyn BlobStore, user_id: Uuid) -> ApiResult<bool> {
    let mut tx = db.begin().await?;
    let Some(old) = attachments::lock_avatar(&mut tx, user_id).await? else {
        return Ok(false);
    };
    attachments::lock_blobs(&mut tx, &[&old]).await?;
    attachments::set_avatar(&mut *tx, user_id, None).await?;
    release(&mut tx, blobs, std::slice::from_ref(&old)).await?;
    tx.commit().await?;
    Ok(true)
}

async fn put(blobs: &dyn BlobStore, staged: Staged) -> Result<(), ApiError> {
    let key = staged.key.clone();
    blobs.put_file(&key, staged.file).await.map_err(|err| ApiError::from(MediaError::Io(err)))
}

/// Deletes the blobs no row names any more; the caller holds their locks and has removed its references.
async fn release(tx: &mut PgConnection, blobs: &dyn BlobStore, keys: &[BlobKey]) -> Result<(), MediaError> {
    for key in keys {
        if !attachments::blob_in_use(&mut *tx, key).await.map_err(database)? {
            blobs.delete(key).await?;
        }
    }
    Ok(())
}

fn database(err: sqlx::Error) -> MediaError {
    MediaError::Internal(anyhow::Error::new(err).context("database"))
}

//! `/attachments`: upload a file, download it or its thumbnail.
//!
//! Downloads are for the uploader and for members of a conversation in which a message that is not deleted
//! carries the file; everyone else gets 404, exactly as for an id that does not exist. They authenticate
//! with the Bearer token or with the signed link of the `Attachment` (`?exp=&sig=`); a link that is
//! expired, tampered with or signed for another file is 401 `unauthenticated` (the signature is checked
//! before anything is looked up, so the answer says nothing about whether the file exists).

use std::str::FromStr;

use actix_multipart::Multipart;
use actix_web::body::SizedStream;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, ContentDisposition, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use hallway_protocol::ErrorCode;
use serde::Deserialize;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::auth::extractor::{authenticate, bearer_token};
use crate::error::{ApiError, ApiResult};
use crate::media::storage::{BlobKey, BlobStore};
use crate::media::urls::Variant;
use crate::media::{self, MediaError, library, names, upload};
use crate::state::AppState;
use crate::store;

/// Room for the multipart framing around the file when judging a request by its `Content-Length`.
const MULTIPART_OVERHEAD: u64 = 64 * 1024;
/// How long clients may cache downloaded bytes (the bytes of an id never change).
const CACHE_CONTROL: &str = "private, max-age=3600";

/// `POST /attachments`: multipart, field `file`. 201 `Attachment`.
pub async fn upload(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: AuthUser,
    form: Multipart,
) -> ApiResult<HttpResponse> {
    let limits = &state.config.media;
    refuse_oversized_request(&req, limits.max_upload_bytes)?;
    let staging = state.media.blobs.staging_dir().map_err(MediaError::from)?;
    let received = upload::receive(form, &staging, limits.max_upload_bytes).await?;
    let mut file_name = names::sanitize_file_name(received.file_name.as_deref());
    let prepared = state.media.run(move || media::prepare(received, &staging)).await?;
    if let Some(extension) = prepared.converted_extension {
        file_name = names::with_extension(&file_name, extension);
    }
    let row = library::save_attachment(
        &state.db,
        state.media.blobs.as_ref(),
        caller.id(),
        prepared,
        &file_name,
        limits.quota_bytes,
    )
    .await?;
    Ok(HttpResponse::Created().json(row.fields().to_wire(&state.keys)))
}

/// A request whose declared length is far over the limit is refused before a byte of it is read.
pub fn refuse_oversized_request(req: &HttpRequest, max_bytes: u64) -> Result<(), MediaError> {
    let declared = req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    match declared {
        Some(len) if len > max_bytes.saturating_add(MULTIPART_OVERHEAD) => Err(upload::too_large(max_bytes)),
        _ => Ok(()),
    }
}

/// The query of a signed link.
#[derive(Deserialize)]
pub struct SignedQuery {
    exp: Option<i64>,
    sig: Option<String>,
}

/// `GET /attachments/{id}`: the file.
pub async fn download(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<Uuid>,
    query: web::Query<SignedQuery>,
) -> ApiResult<HttpResponse> {
    serve(&state, &req, id.into_inner(), Variant::Original, &query).await
}

/// `GET /attachments/{id}/thumbnail`: the still thumbnail (longest side 320 px) of an image; 404 for other
/// files.
pub async fn thumbnail(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<Uuid>,
    query: web::Query<SignedQuery>,
) -> ApiResult<HttpResponse> {
    serve(&state, &req, id.into_inner(), Variant::Thumbnail, &query).await
}

/// Who is downloading.
enum Access {
    /// A valid signed link: whoever holds it was given it by the server.
    Link,
    User(Uuid),
}

async fn serve(
    state: &AppState,
    req: &HttpRequest,
    id: Uuid,
    variant: Variant,
    query: &SignedQuery,
) -> ApiResult<HttpResponse> {
    let access = access(state, req, id, variant, query).await?;
    let row = store::attachments::find(&state.db, id).await?.ok_or_else(ApiError::not_found)?;
    let allowed = match access {
        Access::Link => !store::attachments::carried_by_deleted_message(&state.db, id).await?,
        Access::User(user_id) => store::attachments::may_read(&state.db, id, user_id).await?,
    };
    if !allowed {
        return Err(ApiError::not_found());
    }
    let key = match variant {
        Variant::Original => Some(row.storage_key.as_str()),
        Variant::Thumbnail => row.thumbnail_key.as_deref(),
    };
    let key = key.and_then(BlobKey::parse).ok_or_else(ApiError::not_found)?;
    let (content_type, disposition) = match variant {
        Variant::Original => {
            let inline =
                ["image/", "audio/"].iter().any(|p| row.mime_type.starts_with(p)) || row.mime_type == "application/pdf";
            let content_type = match row.mime_type.as_str() {
                "text/plain" => "text/plain; charset=utf-8".to_owned(),
                other => other.to_owned(),
            };
            (Some(content_type), names::content_disposition(inline, &row.file_name))
        }
        // The thumbnail's type is read from its bytes (JPEG, or PNG for images with transparency).
        Variant::Thumbnail => {
            (None, ContentDisposition { disposition: header::DispositionType::Inline, parameters: vec![] })
        }
    };
    serve_blob(req, state.media.blobs.as_ref(), &key, content_type, disposition, CACHE_CONTROL).await
}

/// A valid signed link, else a valid Bearer token, else 401.
async fn access(
    state: &AppState,
    req: &HttpRequest,
    id: Uuid,
    variant: Variant,
    query: &SignedQuery,
) -> ApiResult<Access> {
    if let (Some(exp), Some(sig)) = (query.exp, query.sig.as_deref()) {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        if state.keys.verify_attachment(id, variant.as_str(), exp, sig, now) {
            return Ok(Access::Link);
        }
        if bearer_token(req).is_none() {
            return Err(ApiError::new(
                ErrorCode::Unauthenticated,
                "the link has expired or is not valid: fetch it again",
            ));
        }
    }
    let token = bearer_token(req).ok_or_else(|| {
        ApiError::new(ErrorCode::Unauthenticated, "a Bearer access token or a signed link is required")
    })?;
    Ok(Access::User(authenticate(state, &token).await?.id()))
}

/// Streams a blob with its validators: the ETag is the blob's key (its SHA-256), `If-None-Match` gets 304,
/// a single `Range` gets 206 (honouring `If-Range`), an unsatisfiable one 416. `content_type` `None` means
/// an image whose format is read from its first bytes.
pub async fn serve_blob(
    req: &HttpRequest,
    blobs: &dyn BlobStore,
    key: &BlobKey,
    content_type: Option<String>,
    disposition: ContentDisposition,
    cache_control: &str,
) -> ApiResult<HttpResponse> {
    let etag = format!("\"{key}\"");
    let mut response = HttpResponse::build(StatusCode::OK);
    response
        .insert_header((header::ETAG, etag.as_str()))
        .insert_header((header::CACHE_CONTROL, cache_control))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .insert_header((header::ACCEPT_RANGES, "bytes"));
    if etag_listed(req.headers().get(header::IF_NONE_MATCH), &etag) {
        return Ok(response.status(StatusCode::NOT_MODIFIED).finish());
    }
    let mut blob = blobs
        .open(key)
        .await
        .map_err(MediaError::from)?
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("blob {key} is missing from the store")))?;
    let content_type = match content_type {
        Some(content_type) => content_type,
        None => image_type(&blob.head(8).await.map_err(MediaError::from)?).to_owned(),
    };
    response
        .insert_header((header::CONTENT_TYPE, content_type))
        .insert_header((header::CONTENT_DISPOSITION, disposition));
    let len = blob.len;
    let mut range = 0..len;
    let if_range_holds = req.headers().get(header::IF_RANGE).is_none_or(|v| v.to_str().is_ok_and(|v| v.trim() == etag));
    let requested = req.headers().get(header::RANGE).and_then(|v| v.to_str().ok()).filter(|_| if_range_holds);
    // Only byte ranges count; a malformed header is ignored and the whole file served (RFC 9110 §14.2).
    if let Some(Ok(header::Range::Bytes(specs))) = requested.map(header::Range::from_str) {
        match specs.first().and_then(|spec| spec.to_satisfiable_range(len)) {
            Some((first, last)) => {
                range = first..last + 1;
                response
                    .status(StatusCode::PARTIAL_CONTENT)
                    .insert_header((header::CONTENT_RANGE, format!("bytes {first}-{last}/{len}")));
            }
            None => {
                return Ok(response
                    .status(StatusCode::RANGE_NOT_SATISFIABLE)
                    .insert_header((header::CONTENT_RANGE, format!("bytes */{len}")))
                    .finish());
            }
        }
    }
    let size = range.end - range.start;
    let stream = blob.into_stream(range).await.map_err(MediaError::from)?;
    Ok(response.body(SizedStream::new(size, stream)))
}

/// Whether an `If-None-Match` value lists `etag` (or is `*`); weak tags compare equal to strong ones.
fn etag_listed(value: Option<&HeaderValue>, etag: &str) -> bool {
    let Some(value) = value.and_then(|v| v.to_str().ok()) else { return false };
    value.split(',').map(str::trim).any(|tag| tag == "*" || tag.trim_start_matches("W/") == etag)
}

/// The type of a stored image (thumbnails and profile pictures are JPEG or PNG, animations GIF).
fn image_type(head: &[u8]) -> &'static str {
    if head.starts_with(b"\x89PNG") {
        "image/png"
    } else if head.starts_with(b"GIF8") {
        "image/gif"
    } else {
        "image/jpeg"
    }
}

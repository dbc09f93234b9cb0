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
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use hallway_protocol::{Attachment, ErrorBody, ErrorCode};
use serde::Deserialize;
use time::OffsetDateTime;
use uuid::Uuid;

use super::openapi::{DEACTIVATED, UNAUTHENTICATED};
use crate::auth::AuthUser;
use crate::auth::extractor::{authenticate, bearer_token};
use crate::error::{ApiError, ApiResult};
use crate::media::storage::{BlobKey, BlobStore};
use crate::media::urls::{AttachmentFields, Variant};
use crate::media::{self, MediaError, library, names};
use crate::state::AppState;
use crate::store;

/// Room for the multipart framing around the file when judging a request by its `Content-Length`.
const MULTIPART_OVERHEAD: u64 = 64 * 1024;
/// How long clients may cache downloaded bytes (the bytes of an id never change).
const CACHE_CONTROL: &str = "private, max-age=3600";

// For the OpenAPI document only: the handlers read the multipart stream themselves (`media::upload::receive`),
// field by field, without buffering the file.
/// An upload: `multipart/form-data` with the file in the field `file`.
#[derive(utoipa::ToSchema)]
pub struct UploadForm {
    /// The file's bytes. The part's `filename` is kept, made safe, as the attachment's `file_name`; other fields
    /// are ignored.
    #[schema(value_type = String, content_media_type = "application/octet-stream")]
    pub file: Vec<u8>,
}

/// The conditional and range request headers that downloads honour, for the OpenAPI document (`serve_blob` reads
/// them from the request).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
pub struct RangeHeaders {
    /// One byte range, `bytes=a-b` (or `a-`, `-n`): 206 with that part; other units and malformed values are
    /// ignored and the whole file is sent.
    #[param(rename = "Range", nullable = false)]
    pub range: Option<String>,
    /// The `ETag`: the `Range` counts only while it still names the stored bytes.
    #[param(rename = "If-Range", nullable = false)]
    pub if_range: Option<String>,
    /// `ETag`s the client holds (or `*`): 304 when one matches.
    #[param(rename = "If-None-Match", nullable = false)]
    pub if_none_match: Option<String>,
}

/// 400 of an upload.
pub const UPLOAD_INVALID: &str = "`invalid_input`: the form has no `file` field, the file is empty, the form is \
    malformed, or its other fields are over 64 KiB";
/// 413 of an upload.
pub const UPLOAD_TOO_LARGE: &str = "`too_large`: the file is over the upload limit (25 MiB unless configured \
    otherwise; refused before reading when `Content-Length` says so), an image is over 20,000 pixels a side, \
    50 megapixels or 500 frames, or the uploader's storage quota is full";
/// 304 of a download.
pub const NOT_MODIFIED: &str = "`If-None-Match` lists the `ETag`: the bytes have not changed (no body)";
/// 206 of a download.
pub const PARTIAL: &str =
    "A single `Range: bytes=a-b` (honouring `If-Range`): that part of the bytes, with the same `Content-Type`";
/// 416 of a download: no body, as RFC 9110 has it.
pub const UNSATISFIABLE: &str = "The `Range` lies outside the file: no body, `Content-Range: bytes */<length>`";

/// `POST /attachments`: multipart, field `file`. 201 `Attachment`.
#[utoipa::path(
    operation_id = "upload_attachment",
    tag = "attachments",
    description = "The type is read from the bytes, never from the name or the part's `Content-Type`; images are \
        re-encoded without their metadata. Name the answer's `id` in a message's `attachment_ids`; an upload that \
        no message carries is deleted after 24 hours.",
    request_body(content = inline(UploadForm), content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "Stored; `url` and `thumbnail_url` are signed links", body = Attachment),
        (status = 400, description = UPLOAD_INVALID, body = ErrorBody),
        (status = 401, description = UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = DEACTIVATED, body = ErrorBody),
        (status = 413, description = UPLOAD_TOO_LARGE, body = ErrorBody),
        (status = 415, body = ErrorBody, description = "`unsupported_media_type`: the request is not \
            `multipart/form-data`, or the file is of a kind that is not accepted (programs, archives, videos, \
            HEIC, Office documents with macros) or an image that does not decode"),
    )
)]
#[post("/api/v1/attachments")]
pub async fn upload(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: AuthUser,
    form: Multipart,
) -> ApiResult<HttpResponse> {
    let limits = &state.config.media;
    refuse_oversized_request(&req, limits.max_upload_bytes)?;
    let staging = state.media.blobs.staging_dir().map_err(MediaError::from)?;
    let received = media::upload::receive(form, &staging, limits.max_upload_bytes).await?;
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
    Ok(HttpResponse::Created().json(AttachmentFields::from(&row).to_wire(&state.keys)))
}

/// A request whose declared length is far over the limit is refused before a byte of it is read.
pub fn refuse_oversized_request(req: &HttpRequest, max_bytes: u64) -> Result<(), MediaError> {
    let declared = req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    match declared {
        Some(len) if len > max_bytes.saturating_add(MULTIPART_OVERHEAD) => Err(media::upload::too_large(max_bytes)),
        _ => Ok(()),
    }
}

/// The query of a signed link. Both parameters, or neither: without them the Bearer token is needed.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SignedQuery {
    /// The link's expiry, in Unix seconds, as the signed link carries it (the `signed_link` security scheme).
    exp: Option<i64>,
    /// The link's signature: base64url HMAC-SHA256 of `id|variant|exp` (`variant`: `original` or `thumbnail`).
    sig: Option<String>,
}

/// `GET /attachments/{id}`: the file.
#[utoipa::path(
    operation_id = "download_attachment",
    tag = "attachments",
    description = "For the uploader, and for members of a conversation in which a message that is not deleted \
        carries the file; with a valid signed link, for whoever holds it while that message stands. A link is \
        checked before anything is looked up. With a valid Bearer token as well, the token decides.",
    security(("bearer" = []), ("signed_link" = [])),
    params(
        ("id" = Uuid, Path, description = "The attachment"),
        SignedQuery,
        RangeHeaders,
    ),
    responses(
        (status = 200, description = "The file as stored: `Content-Type` is its `mime_type` (`text/plain` with \
            `charset=utf-8`); `Content-Disposition` is `inline` for images, `attachment` for every other file, \
            with the file name",
            content(
                ("image/jpeg"), ("image/png"), ("image/gif"), ("application/pdf"),
                ("application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
                ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
                ("application/vnd.openxmlformats-officedocument.presentationml.presentation"),
                ("application/msword"), ("application/vnd.ms-excel"), ("application/vnd.ms-powerpoint"),
                ("text/plain; charset=utf-8"),
                ("audio/aac"), ("audio/mp4"), ("audio/mpeg"), ("audio/ogg"), ("audio/wav"),
            ),
            headers(
                ("ETag" = String, description = "The quoted SHA-256 of the stored bytes"),
                ("Content-Disposition" = String, description = "`inline` or `attachment`, with `filename` and \
                    `filename*` (RFC 6266)"),
                ("Cache-Control" = String, description = "`private, max-age=3600`"),
                ("Accept-Ranges" = String, description = "`bytes`"),
                ("X-Content-Type-Options" = String, description = "`nosniff`"),
            )),
        (status = 206, description = PARTIAL, content(("*/*")),
            headers(("Content-Range" = String, description = "`bytes a-b/<length>`"))),
        (status = 304, description = NOT_MODIFIED),
        (status = 400, body = ErrorBody, description = "`invalid_id`; `invalid_input`: `exp` is not a whole \
            number"),
        (status = 401, body = ErrorBody, description = "`unauthenticated`: neither a signed link nor a Bearer \
            token; a link that has expired, was altered, or was signed for the other variant or another file; or \
            a token that is not valid (`token_expired`: refresh it)"),
        (status = 403, description = DEACTIVATED, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "`not_found`: no such file, the caller may not see it, or \
            the message that carried it has been deleted (its links stop working at once)"),
        (status = 416, description = UNSATISFIABLE,
            headers(("Content-Range" = String, description = "`bytes */<length>`"))),
    )
)]
#[get("/api/v1/attachments/{id}")]
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
#[utoipa::path(
    operation_id = "download_attachment_thumbnail",
    tag = "attachments",
    description = "Who may fetch it, and how, exactly as for the file itself; the signed link is \
        `Attachment.thumbnail_url` (signed for the thumbnail only).",
    security(("bearer" = []), ("signed_link" = [])),
    params(
        ("id" = Uuid, Path, description = "The attachment"),
        SignedQuery,
        RangeHeaders,
    ),
    responses(
        (status = 200, description = "The still thumbnail, longest side 320 px: JPEG, or PNG when the image has \
            transparency (`Content-Disposition: inline`)",
            content(("image/jpeg"), ("image/png")),
            headers(
                ("ETag" = String, description = "The quoted SHA-256 of the stored bytes"),
                ("Cache-Control" = String, description = "`private, max-age=3600`"),
                ("Accept-Ranges" = String, description = "`bytes`"),
                ("X-Content-Type-Options" = String, description = "`nosniff`"),
            )),
        (status = 206, description = PARTIAL, content(("image/jpeg"), ("image/png")),
            headers(("Content-Range" = String, description = "`bytes a-b/<length>`"))),
        (status = 304, description = NOT_MODIFIED),
        (status = 400, body = ErrorBody, description = "`invalid_id`; `invalid_input`: `exp` is not a whole \
            number"),
        (status = 401, body = ErrorBody, description = "`unauthenticated`: neither a signed link nor a Bearer \
            token; a link that has expired, was altered, or was signed for the original or another file; or a \
            token that is not valid (`token_expired`: refresh it)"),
        (status = 403, description = DEACTIVATED, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "`not_found`: no such file, the caller may not see it, the \
            message that carried it has been deleted, or the file is not an image (no thumbnail)"),
        (status = 416, description = UNSATISFIABLE,
            headers(("Content-Range" = String, description = "`bytes */<length>`"))),
    )
)]
#[get("/api/v1/attachments/{id}/thumbnail")]
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
    // A deleted message's files stop being served at once, to everyone: link holders, members, the uploader.
    let allowed = !store::attachments::carried_by_deleted_message(&state.db, id).await?
        && match access {
            Access::Link => true,
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
            // Only images open in the browser; anything else (a PDF may carry JavaScript) is a download.
            let inline = row.mime_type.starts_with("image/");
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

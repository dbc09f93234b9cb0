//! Profile pictures: `PUT /me/avatar` (multipart `file`, an image), `DELETE /me/avatar`, and
//! `GET /users/{id}/avatar` for every signed-in user. A picture is cropped to its centred square, scaled to
//! 256 × 256 and re-encoded as JPEG, which leaves none of the original's metadata.

use actix_multipart::Multipart;
use actix_web::http::header::{ContentDisposition, DispositionType};
use actix_web::{HttpRequest, HttpResponse, delete, get, put, web};
use hallway_protocol::{ErrorBody, User};
use uuid::Uuid;

use super::attachments::{
    NOT_MODIFIED, PARTIAL, RangeHeaders, UNSATISFIABLE, UPLOAD_INVALID, UPLOAD_TOO_LARGE, UploadForm,
    refuse_oversized_request, serve_blob,
};
use super::openapi::{DEACTIVATED, INVALID_ID, UNAUTHENTICATED};
use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult};
use crate::media::sniff::{self, FileKind};
use crate::media::storage::BlobKey;
use crate::media::{self, MediaError, images, library, upload};
use crate::state::AppState;
use crate::store;

/// Profile pictures change rarely and their link names the version (`?v=`), so clients may keep them a day.
const CACHE_CONTROL: &str = "private, max-age=86400";

/// The query of `User.avatar_url`, for the OpenAPI document: the server does not read it.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AvatarVersion {
    /// The picture's version: it changes with the picture, so that caches keep one version apart from the next.
    pub v: Option<String>,
}

/// `PUT /me/avatar`: 200 with the caller's `User`, whose `avatar_url` now names the new picture.
#[utoipa::path(
    operation_id = "put_my_avatar",
    tag = "avatars",
    description = "The image (judged by its bytes) has its EXIF orientation applied, is cropped to its centred \
        square, scaled to 256 × 256 and stored as JPEG without metadata; the previous picture is deleted.",
    request_body(content = inline(UploadForm), content_type = "multipart/form-data"),
    responses(
        (status = 200, description = "The caller, whose `avatar_url` names the new picture", body = User),
        (status = 400, description = UPLOAD_INVALID, body = ErrorBody),
        (status = 401, description = UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = DEACTIVATED, body = ErrorBody),
        (status = 413, description = UPLOAD_TOO_LARGE, body = ErrorBody),
        (status = 415, body = ErrorBody, description = "`unsupported_media_type`: the request is not \
            `multipart/form-data`, or the file is not a JPEG, PNG, WebP or GIF image that decodes"),
    )
)]
#[put("/api/v1/me/avatar")]
pub async fn put(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: AuthUser,
    form: Multipart,
) -> ApiResult<HttpResponse> {
    let max_bytes = state.config.media.max_upload_bytes;
    refuse_oversized_request(&req, max_bytes)?;
    let staging = state.media.blobs.staging_dir().map_err(MediaError::from)?;
    let received = upload::receive(form, &staging, max_bytes).await?;
    let staged = state
        .media
        .run(move || {
            let kind = sniff::sniff(received.file.path())?;
            if !matches!(kind, FileKind::Jpeg | FileKind::Png | FileKind::WebP | FileKind::Gif) {
                return Err(MediaError::Unsupported("a profile picture must be a JPEG, PNG, WebP or GIF image".into()));
            }
            let encoded = images::avatar(received.file.path(), kind)?;
            media::stage_bytes(&staging, &encoded.bytes)
        })
        .await?;
    let key = library::set_avatar(&state.db, state.media.blobs.as_ref(), caller.id(), staged).await?;
    let mut user = caller.user;
    user.avatar_key = Some(key.as_str().to_owned());
    Ok(HttpResponse::Ok().json(crate::views::user(&user)))
}

/// `DELETE /me/avatar`: 204; 404 when there was none.
#[utoipa::path(
    operation_id = "delete_my_avatar",
    tag = "avatars",
    responses(
        (status = 204, description = "Deleted: the caller's `avatar_url` is `null` from now on"),
        (status = 401, description = UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = DEACTIVATED, body = ErrorBody),
        (status = 404, description = "`not_found`: the caller has no profile picture", body = ErrorBody),
    )
)]
#[delete("/api/v1/me/avatar")]
pub async fn delete(state: web::Data<AppState>, caller: AuthUser) -> ApiResult<HttpResponse> {
    if library::remove_avatar(&state.db, state.media.blobs.as_ref(), caller.id()).await? {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(ApiError::not_found())
    }
}

/// `GET /users/{id}/avatar`: the picture, for any signed-in user; 404 when the user has none.
#[utoipa::path(
    operation_id = "get_user_avatar",
    tag = "avatars",
    params(
        ("id" = Uuid, Path, description = "The user"),
        AvatarVersion,
        RangeHeaders,
    ),
    responses(
        (status = 200, description = "The picture: a 256 × 256 JPEG (`Content-Disposition: inline`)",
            content(("image/jpeg")),
            headers(
                ("ETag" = String, description = "The quoted SHA-256 of the stored bytes"),
                ("Cache-Control" = String, description = "`private, max-age=86400`"),
                ("Accept-Ranges" = String, description = "`bytes`"),
                ("X-Content-Type-Options" = String, description = "`nosniff`"),
            )),
        (status = 206, description = PARTIAL, content(("image/jpeg")),
            headers(("Content-Range" = String, description = "`bytes a-b/<length>`"))),
        (status = 304, description = NOT_MODIFIED),
        (status = 400, description = INVALID_ID, body = ErrorBody),
        (status = 401, description = UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = DEACTIVATED, body = ErrorBody),
        (status = 404, description = "`not_found`: no such user, or they have no profile picture", body = ErrorBody),
        (status = 416, description = UNSATISFIABLE,
            headers(("Content-Range" = String, description = "`bytes */<length>`"))),
    )
)]
#[get("/api/v1/users/{id}/avatar")]
pub async fn get(
    state: web::Data<AppState>,
    req: HttpRequest,
    _caller: AuthUser,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let user = store::users::find(&state.db, id.into_inner()).await?.ok_or_else(ApiError::not_found)?;
    let key = user.avatar_key.as_deref().and_then(BlobKey::parse).ok_or_else(ApiError::not_found)?;
    let disposition = ContentDisposition { disposition: DispositionType::Inline, parameters: vec![] };
    serve_blob(&req, state.media.blobs.as_ref(), &key, Some("image/jpeg".into()), disposition, CACHE_CONTROL).await
}

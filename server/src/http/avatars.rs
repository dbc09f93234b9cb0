//! Profile pictures: `PUT /me/avatar` (multipart `file`, an image), `DELETE /me/avatar`, and
//! `GET /users/{id}/avatar` for every signed-in user. A picture is cropped to its centred square, scaled to
//! 256 × 256 and re-encoded as JPEG, which leaves none of the original's metadata.

use actix_multipart::Multipart;
use actix_web::http::header::{ContentDisposition, DispositionType};
use actix_web::{HttpRequest, HttpResponse, web};
use uuid::Uuid;

use super::attachments::{refuse_oversized_request, serve_blob};
use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult};
use crate::media::sniff::{self, FileKind};
use crate::media::storage::BlobKey;
use crate::media::{self, MediaError, images, library, upload};
use crate::state::AppState;
use crate::store;

/// Profile pictures change rarely and their link names the version (`?v=`), so clients may keep them a day.
const CACHE_CONTROL: &str = "private, max-age=86400";

/// `PUT /me/avatar`: 200 with the caller's `User`, whose `avatar_url` now names the new picture.
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
    Ok(HttpResponse::Ok().json(user.to_wire()))
}

/// `DELETE /me/avatar`: 204; 404 when there was none.
pub async fn delete(state: web::Data<AppState>, caller: AuthUser) -> ApiResult<HttpResponse> {
    if library::remove_avatar(&state.db, state.media.blobs.as_ref(), caller.id()).await? {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(ApiError::not_found())
    }
}

/// `GET /users/{id}/avatar`: the picture, for any signed-in user; 404 when the user has none.
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

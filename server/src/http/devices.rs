//! Devices for push: `POST/GET /devices`, `DELETE /devices/{id}` and `GET /push/vapid-key`. A device belongs
//! to the sign-in session that registered it; ending that session removes it (see `store::sessions`).

use actix_web::{HttpResponse, delete, get, post, web};
use hallway_protocol::ErrorBody;
use hallway_protocol::devices::{Device, DeviceList, Platform, RegisterDeviceRequest, VapidKey};
use uuid::Uuid;

use super::openapi::{DEACTIVATED, INVALID_ID, NOT_JSON, TOO_LARGE, UNAUTHENTICATED};
use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult};
use crate::notify::devices::Registration;
use crate::notify::endpoint::EndpointRules;
use crate::state::AppState;
use crate::store::{self, devices::DeviceRow, devices::NewDevice};

/// `POST /devices`: 201 with the new device, 200 with the existing one when this session registered it before.
#[utoipa::path(
    operation_id = "register_device",
    tag = "devices",
    description = "`apns`/`fcm` take `token`; `webpush` takes `endpoint` and `keys` (RFC 8291, base64url); \
        `unifiedpush` takes `endpoint`, and `keys` when its distributor encrypts. An endpoint must be an `https` \
        URL of at most 2,048 characters that does not point into a private network. The device belongs to the \
        caller's session: signing out (or any other end of the session) removes it. Its pushes carry \
        `{\"type\": \"message\", \"conversation_id\", \"seq\", \"badge\"}` or `{\"type\": \"read\", \
        \"conversation_id\", \"badge\"}`, never message text.",
    request_body = RegisterDeviceRequest,
    responses(
        (status = 201, description = "Registered", body = Device),
        (status = 200, description = "This session had registered this token or endpoint already: that device", body = Device),
        (status = 400, body = ErrorBody, description = "`invalid_json`; `invalid_input` naming the field: an unknown \
            `platform`, a missing or extra `token`/`endpoint`/`keys`, an endpoint that is not https or points to a \
            private address, keys that are not a P-256 point and a 16-byte secret"),
        (status = 401, description = UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = DEACTIVATED, body = ErrorBody),
        (status = 413, description = TOO_LARGE, body = ErrorBody),
        (status = 415, description = NOT_JSON, body = ErrorBody),
    )
)]
#[post("/api/v1/devices")]
pub async fn register(
    state: web::Data<AppState>,
    caller: AuthUser,
    body: web::Json<RegisterDeviceRequest>,
) -> ApiResult<HttpResponse> {
    let rules = EndpointRules { allow_insecure: state.config.push.allow_insecure_endpoints };
    let registration = Registration::parse(body.into_inner(), rules)
        .map_err(|err| ApiError::invalid_input(err.field, &err.problem))?;
    let new = NewDevice {
        user_id: caller.id(),
        session_id: caller.session_id,
        platform: registration.platform.as_str(),
        address: &registration.address,
        keys: registration.keys.as_ref().map(|(p256dh, auth)| (p256dh.as_str(), auth.as_str())),
        app_version: registration.app_version.as_deref(),
        locale: registration.locale.as_deref(),
    };
    let mut tx = state.db.begin().await?;
    let (row, created) = store::devices::register(&mut tx, &new).await?;
    tx.commit().await?;
    Ok(if created { HttpResponse::Created() } else { HttpResponse::Ok() }.json(view(&row)?))
}

/// `GET /devices`: the caller's devices, on all of their sessions.
#[utoipa::path(
    operation_id = "list_devices",
    tag = "devices",
    responses(
        (status = 200, description = "The caller's devices, oldest first", body = DeviceList),
        (status = 401, description = UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = DEACTIVATED, body = ErrorBody),
    )
)]
#[get("/api/v1/devices")]
pub async fn list(state: web::Data<AppState>, caller: AuthUser) -> ApiResult<HttpResponse> {
    let rows = store::devices::list_of_user(&state.db, caller.id()).await?;
    let devices = rows.iter().map(view).collect::<ApiResult<Vec<_>>>()?;
    Ok(HttpResponse::Ok().json(DeviceList { devices }))
}

/// `GET /push/vapid-key`: the key Web Push and UnifiedPush subscriptions are made with.
#[utoipa::path(
    operation_id = "get_vapid_key",
    tag = "devices",
    description = "The server's VAPID public key (RFC 8292), the `applicationServerKey` to subscribe with before \
        registering a `webpush` or `unifiedpush` device. It stays the same across restarts.",
    responses(
        (status = 200, description = "The uncompressed P-256 public key, base64url without padding", body = VapidKey),
        (status = 401, description = UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = DEACTIVATED, body = ErrorBody),
    )
)]
#[get("/api/v1/push/vapid-key")]
pub async fn vapid_key(state: web::Data<AppState>, _caller: AuthUser) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(VapidKey { public_key: state.vapid.public_key() }))
}

/// `DELETE /devices/{id}`: the device gets no more pushes.
#[utoipa::path(
    operation_id = "delete_device",
    tag = "devices",
    params(("id" = Uuid, Path, description = "The device")),
    responses(
        (status = 204, description = "Removed, with the pushes still queued for it"),
        (status = 400, description = INVALID_ID, body = ErrorBody),
        (status = 401, description = UNAUTHENTICATED, body = ErrorBody),
        (status = 403, description = DEACTIVATED, body = ErrorBody),
        (status = 404, description = "`not_found`: the caller has no such device", body = ErrorBody),
    )
)]
#[delete("/api/v1/devices/{id}")]
pub async fn remove(state: web::Data<AppState>, caller: AuthUser, id: web::Path<Uuid>) -> ApiResult<HttpResponse> {
    if store::devices::delete_of_user(&state.db, id.into_inner(), caller.id()).await? {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(ApiError::not_found())
    }
}

fn view(row: &DeviceRow) -> ApiResult<Device> {
    let platform = Platform::parse(&row.platform)
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("a device with the unknown platform {}", row.platform)))?;
    Ok(Device { id: row.id, platform, created_at: row.created_at })
}

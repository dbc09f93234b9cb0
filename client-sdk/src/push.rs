//! Push registration: the app hands the SDK the address its platform gave it (an APNs or FCM token, a Web Push
//! or UnifiedPush endpoint), and the SDK registers it with the server as a device of the current session
//! (`POST /devices`), remembers it in the store, and registers it again after each new sign-in (a sign-out
//! ends the session's devices on the server). A new token replaces the old registration.

use std::sync::Arc;

use hallway_protocol::ErrorCode;
use hallway_protocol::devices::{Device, Platform, PushKeys, RegisterDeviceRequest, VapidKey};
use reqwest::Method;

use crate::api::NO_BODY;
use crate::client::Client;
use crate::error::{Error, HallwayError, Result};
use crate::runtime;
use crate::shared::Shared;
use crate::store::{self, PushRow};

/// Where this device receives pushes, as its platform gave it.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum PushRegistration {
    /// iOS: the APNs device token, as hex.
    Apns { token: String },
    /// Android with Google Play services: the FCM registration token.
    Fcm { token: String },
    /// A browser's Web Push subscription (`PushSubscription.toJSON()`): its endpoint and RFC 8291 keys.
    WebPush { endpoint: String, p256dh: String, auth: String },
    /// Android without Google: the UnifiedPush distributor's endpoint, and its keys when it encrypts (the
    /// current UnifiedPush spec does).
    UnifiedPush { endpoint: String, p256dh: Option<String>, auth: Option<String> },
}

impl PushRegistration {
    /// The `POST /devices` body.
    fn request(self, app_version: Option<String>, locale: Option<String>) -> Result<RegisterDeviceRequest> {
        let (platform, token, endpoint, keys) = match self {
            PushRegistration::Apns { token } => (Platform::Apns, Some(token), None, None),
            PushRegistration::Fcm { token } => (Platform::Fcm, Some(token), None, None),
            PushRegistration::WebPush { endpoint, p256dh, auth } => {
                (Platform::Webpush, None, Some(endpoint), Some(PushKeys { p256dh, auth }))
            }
            PushRegistration::UnifiedPush { endpoint, p256dh, auth } => {
                let keys = match (p256dh, auth) {
                    (Some(p256dh), Some(auth)) => Some(PushKeys { p256dh, auth }),
                    (None, None) => None,
                    _ => {
                        return Err(Error::Invalid {
                            code: ErrorCode::InvalidInput,
                            message: "keys: both p256dh and auth, or neither".into(),
                        });
                    }
                };
                (Platform::Unifiedpush, None, Some(endpoint), keys)
            }
        };
        Ok(RegisterDeviceRequest { platform, token, endpoint, keys, app_version, locale })
    }
}

/// Registers `request` as a device of the current session and keeps it; the device registered before (another
/// token, or the same one on an earlier session) is deleted on the server once the new one is in place, so
/// pushes never stop in between and never come twice.
async fn register(shared: &Shared, request: &RegisterDeviceRequest) -> Result<()> {
    let previous = shared.store.run(|conn| store::push_registration(conn)).await?;
    let device: Device = shared.api.call(Method::POST, "devices", &[], Some(request)).await?;
    let row = PushRow { request: to_json(request)?, device_id: Some(device.id) };
    let saved = row.clone();
    shared.store.run(move |conn| store::save_push_registration(conn, &saved)).await?;
    if let Some(old) = previous.and_then(|p| p.device_id).filter(|old| *old != device.id) {
        match shared.api.call_empty(Method::DELETE, &format!("devices/{old}"), NO_BODY).await {
            Ok(()) | Err(Error::Api { code: ErrorCode::NotFound, .. }) => {}
            // The old device's session may still live (it pushes a token the phone no longer answers to, and
            // the push service's "unregistered" prunes it): not a reason to fail the new registration.
            Err(error) => tracing::info!(%error, "deleting the replaced push device failed"),
        }
    }
    Ok(())
}

fn to_json(request: &RegisterDeviceRequest) -> Result<String> {
    serde_json::to_string(request).map_err(|_| Error::Internal("serialising a device".into()))
}

/// Registers the kept registration again for a new session (after a sign-in), or when the last try failed
/// (`only_if_missing`, after a restart). Failures are logged: the next start tries again.
pub(crate) async fn register_again(shared: Arc<Shared>, only_if_missing: bool) {
    let kept = match shared.store.run(|conn| store::push_registration(conn)).await {
        Ok(kept) => kept,
        Err(error) => {
            tracing::info!(%error, "reading the push registration failed");
            return;
        }
    };
    let Some(kept) = kept else { return };
    if only_if_missing && kept.device_id.is_some() {
        return;
    }
    let Ok(request) = serde_json::from_str::<RegisterDeviceRequest>(&kept.request) else {
        tracing::info!("the kept push registration is unreadable; forgetting it");
        let _ = shared.store.run(|conn| store::forget_push_registration(conn)).await;
        return;
    };
    // A device id kept from an ended session names nothing any more: do not delete it with the new session.
    let cleared = PushRow { request: kept.request, device_id: None };
    if let Err(error) = shared.store.run(move |conn| store::save_push_registration(conn, &cleared)).await {
        tracing::info!(%error, "resetting the push registration failed");
        return;
    }
    if let Err(error) = register(&shared, &request).await {
        tracing::info!(%error, "registering for pushes failed; the next start tries again");
    }
}

#[uniffi::export(async_runtime = "tokio")]
impl Client {
    /// Registers this device for push notifications with the address the platform gave (call it whenever the
    /// platform hands out a token or endpoint, at each start too: the same one again changes nothing). A new
    /// address replaces the old registration. Before sign-in it is kept and registered by the sign-in. It stays registered across restarts and is registered again after
    /// each sign-in; sign-out ends it on the server. `app_version` and `locale` (`fr-CA`) help the school's
    /// support. Errors: `InvalidInput` (a token or endpoint the server refuses), `Network`.
    #[uniffi::method(default(app_version = None, locale = None))]
    pub async fn register_push(
        &self,
        registration: PushRegistration,
        app_version: Option<String>,
        locale: Option<String>,
    ) -> Result<(), HallwayError> {
        let shared = self.shared.clone();
        Ok(runtime::run(async move {
            let request = registration.request(app_version, locale)?;
            if shared.api.session().is_none() {
                // Before sign-in: kept, and registered by the sign-in.
                let row = PushRow { request: to_json(&request)?, device_id: None };
                return shared.store.run(move |conn| store::save_push_registration(conn, &row)).await;
            }
            register(&shared, &request).await
        })
        .await?)
    }

    /// The server's VAPID public key (base64url, an uncompressed P-256 point): the `applicationServerKey` a
    /// UnifiedPush distributor or a browser subscribes with, so that only this server can push to the endpoint.
    pub async fn push_vapid_key(&self) -> Result<String, HallwayError> {
        let shared = self.shared.clone();
        let key = runtime::run(async move {
            let key: VapidKey = shared.api.call(Method::GET, "push/vapid-key", &[], NO_BODY).await?;
            Ok(key)
        })
        .await?;
        Ok(key.public_key)
    }

    /// Stops push notifications to this device (the person turned them off): deletes the device on the server
    /// and forgets the registration, so the next sign-in does not register it again.
    pub async fn unregister_push(&self) -> Result<(), HallwayError> {
        let shared = self.shared.clone();
        Ok(runtime::run(async move {
            let kept = shared.store.run(|conn| store::push_registration(conn)).await?;
            if let Some(device) = kept.and_then(|kept| kept.device_id) {
                match shared.api.call_empty(Method::DELETE, &format!("devices/{device}"), NO_BODY).await {
                    Ok(()) | Err(Error::Api { code: ErrorCode::NotFound, .. }) => {}
                    Err(error) => return Err(error),
                }
            }
            shared.store.run(|conn| store::forget_push_registration(conn)).await
        })
        .await?)
    }
}

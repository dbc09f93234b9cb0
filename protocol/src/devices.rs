//! Devices that receive push notifications (`/devices`), and the push payloads they receive.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// Longest `token` or `endpoint` accepted.
pub const MAX_ADDRESS_CHARS: usize = 2048;

/// Where a device's pushes go. An unknown name is refused with a message naming the field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase", try_from = "String")]
pub enum Platform {
    Apns,
    Fcm,
    Webpush,
    Unifiedpush,
}

impl Platform {
    /// The wire (and database) name.
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Apns => "apns",
            Platform::Fcm => "fcm",
            Platform::Webpush => "webpush",
            Platform::Unifiedpush => "unifiedpush",
        }
    }

    /// The platform of a wire (or database) name.
    pub fn parse(name: &str) -> Option<Platform> {
        [Platform::Apns, Platform::Fcm, Platform::Webpush, Platform::Unifiedpush]
            .into_iter()
            .find(|p| p.as_str() == name)
    }
}

impl TryFrom<String> for Platform {
    type Error = String;

    fn try_from(name: String) -> Result<Platform, String> {
        Platform::parse(&name).ok_or_else(|| "platform: must be apns, fcm, webpush or unifiedpush".to_owned())
    }
}

/// RFC 8291 keys of a Web Push subscription, as the browser's `PushSubscription.toJSON()` gives them
/// (base64url): the user agent's P-256 public key and the 16-byte authentication secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushKeys {
    pub p256dh: String,
    pub auth: String,
}

/// `POST /devices`. `apns`/`fcm` take `token`; `webpush` takes `endpoint` and `keys`; `unifiedpush` takes
/// `endpoint`, and `keys` when its distributor encrypts.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegisterDeviceRequest {
    pub platform: Platform,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keys: Option<PushKeys>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
}

/// A registered device, as its owner sees it (the token or endpoint is never sent back).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Device {
    pub id: Uuid,
    pub platform: Platform,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// `GET /devices`: the caller's devices, oldest first.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeviceList {
    pub devices: Vec<Device>,
}

/// `GET /push/vapid-key`: the server's VAPID public key (RFC 8292), the `applicationServerKey` a browser
/// or a UnifiedPush distributor subscribes with: an uncompressed P-256 point, base64url without padding.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VapidKey {
    pub public_key: String,
}

/// How much of a message a push shows, chosen by the school: by default nothing (`none`: ids and the badge, the
/// app fetches the rest), else the sender's name (`sender`) or the name and the start of the text (`full`), which
/// then pass through Apple's, Google's or the browser vendor's push service.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PushPreviews {
    #[default]
    None,
    Sender,
    Full,
}

/// `GET`/`PUT /admin/settings/push`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushSetting {
    pub previews: PushPreviews,
}

/// Longest text preview a push carries (push services cap payloads at about 4 KiB).
pub const MAX_PREVIEW_CHARS: usize = 200;

/// What a push carries: ids and the badge, and message text only when the school chose previews (the app
/// fetches the rest).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PushPayload {
    /// A new message in a conversation; `badge` is the member's unread total over all conversations.
    /// `sender_name` with previews `sender` or `full`; `body` (its first 200 characters) with `full`.
    Message {
        conversation_id: Uuid,
        seq: i64,
        badge: i64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sender_name: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        body: Option<String>,
    },
    /// The member read the conversation on another device: clear its notification, set the badge.
    Read { conversation_id: Uuid, badge: i64 },
    /// A message the member has not read was edited: show its new text where its notification shows (or show
    /// it, if the push of the message itself never arrived). Previews as for `message`.
    MessageEdited {
        conversation_id: Uuid,
        seq: i64,
        badge: i64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sender_name: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        body: Option<String>,
    },
    /// A message the member has not read was deleted (by its sender or a moderator): withdraw its notification.
    MessageDeleted { conversation_id: Uuid, seq: i64, badge: i64 },
}

//! The push gateway's API (`POST /v1/push`), spoken between a school's server and the gateway its app's
//! publisher runs: one queued push per request, carrying ids and a badge (and a preview only when the school
//! chose one), never more than the school server would have sent to the push service itself.

use serde::{Deserialize, Serialize};

use crate::devices::{Platform, PushKeys};

/// The path of the one endpoint, under the gateway's base URL.
pub const PUSH_PATH: &str = "/v1/push";

/// `POST /v1/push` with `Authorization: Bearer <school key>`: one push for one device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GatewayPush {
    pub platform: Platform,
    /// The device's token (`apns`, `fcm`) or endpoint (`webpush`, `unifiedpush`).
    pub address: String,
    /// A `webpush`/`unifiedpush` subscription's encryption keys; absent for token platforms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keys: Option<PushKeys>,
    /// The push payload (`devices::PushPayload` as JSON), forwarded as it is.
    pub payload: serde_json::Value,
    /// The collapse key: one visible notification per topic.
    pub topic: String,
    /// `high` or `normal`.
    pub urgency: String,
}

/// What the gateway answers, with every status: `200` delivered, `410` gone (delete the device), `429` and
/// `502`/`503` retry (after `Retry-After` when given), `400`/`401`/`413`/`422` failed for good.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GatewayAnswer {
    pub outcome: GatewayOutcome,
    /// A short reason for logs; never a token or a payload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The outcome named in a [`GatewayAnswer`], matching its status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GatewayOutcome {
    /// 200: the upstream push service accepted it.
    Delivered,
    /// 410: the upstream says the device is gone for good.
    Gone,
    /// 429: the school's rate limit here, or the upstream's; try again after `Retry-After`.
    RateLimited,
    /// 502/503: the upstream failed or cannot be reached, or this gateway forwards no push of that platform.
    UpstreamUnavailable,
    /// 422: the upstream refused this push for good.
    Refused,
    /// 401: the school key is unknown or revoked.
    Unauthorized,
    /// 400/413: the body is not a push.
    Malformed,
}

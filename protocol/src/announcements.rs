//! Contract 1.1: announcements, urgent messages, acknowledgements and receipts.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Most people in one announcement, its admins included: a whole school's families, far more than a group
/// (`conversations::MAX_GROUP_MEMBERS`), since only admins post and nobody's chatter fans out.
pub const MAX_ANNOUNCEMENT_MEMBERS: usize = 5000;

/// `GET /messages/{id}/receipts`: who of the members other than the sender received, read and acknowledged a
/// message. Counts are of the conversation's members now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Receipts {
    /// Members other than the sender.
    pub total: i64,
    /// Of those, how many a session received it (or fetched it, or read it).
    pub delivered: i64,
    /// Of those, how many read up to it or past it.
    pub read: i64,
    /// Of those, how many acknowledged it.
    pub acknowledged: i64,
    /// The members (other than the sender) who have not read it, by id.
    pub not_read_user_ids: Vec<Uuid>,
}

/// `GET`/`PUT /admin/settings/urgent-messages`: whether teachers may send urgent messages (school admins
/// always may). Off unless a school turns it on: an urgent message cuts through mute.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UrgentMessagesSetting {
    pub teachers_allowed: bool,
}

//! Attachment links: `/api/v1/attachments/{id}[/thumbnail]?exp=<unix seconds>&sig=<HMAC>`, so image
//! loaders and browsers fetch files without an `Authorization` header. The signature covers the id, the
//! variant and the expiry (see `Keys::sign_attachment`). Expiries are rounded up to the next 10 minutes,
//! so a client listing messages twice in a row gets the same URLs and its image cache keeps working.

use std::time::Duration;

use hallway_protocol::Attachment;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::auth::tokens::Keys;
use crate::store::attachments::AttachmentRow;

/// How long a link works, at least.
pub const URL_TTL: Duration = Duration::from_secs(3600);
/// Expiries are multiples of this many seconds.
const EXPIRY_STEP: i64 = 600;

/// The two things an attachment link can point at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    Original,
    Thumbnail,
}

impl Variant {
    /// The name the signature covers.
    pub fn as_str(self) -> &'static str {
        match self {
            Variant::Original => "original",
            Variant::Thumbnail => "thumbnail",
        }
    }

    fn path_suffix(self) -> &'static str {
        match self {
            Variant::Original => "",
            Variant::Thumbnail => "/thumbnail",
        }
    }
}

/// The signed path of one variant of an attachment, valid for at least `URL_TTL` from `now`.
pub fn signed_path(keys: &Keys, id: Uuid, variant: Variant, now: OffsetDateTime) -> String {
    let earliest = now.unix_timestamp() + URL_TTL.as_secs() as i64;
    let expires = (earliest + EXPIRY_STEP - 1).div_euclid(EXPIRY_STEP) * EXPIRY_STEP;
    let sig = keys.sign_attachment(id, variant.as_str(), expires);
    format!("/api/v1/attachments/{id}{}?exp={expires}&sig={sig}", variant.path_suffix())
}

/// An attachment row's columns as the wire type, with signed links.
pub struct AttachmentFields {
    pub id: Uuid,
    pub file_name: String,
    pub mime_type: String,
    pub size_bytes: i64,
    pub width: Option<i32>,
    pub height: Option<i32>,
    pub has_thumbnail: bool,
}

impl From<&AttachmentRow> for AttachmentFields {
    fn from(row: &AttachmentRow) -> AttachmentFields {
        AttachmentFields {
            id: row.id,
            file_name: row.file_name.clone(),
            mime_type: row.mime_type.clone(),
            size_bytes: row.size_bytes,
            width: row.width,
            height: row.height,
            has_thumbnail: row.thumbnail_key.is_some(),
        }
    }
}

impl AttachmentFields {
    /// The contract's `Attachment`, its links signed now.
    pub fn to_wire(self, keys: &Keys) -> Attachment {
        let now = OffsetDateTime::now_utc();
        Attachment {
            url: signed_path(keys, self.id, Variant::Original, now),
            thumbnail_url: self.has_thumbnail.then(|| signed_path(keys, self.id, Variant::Thumbnail, now)),
            id: self.id,
            file_name: self.file_name,
            mime_type: self.mime_type,
            size_bytes: self.size_bytes,
            width: self.width,
            height: self.height,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_stable_for_a_while_and_verify() {
        let keys = Keys::from_secret(b"secret");
        let id = Uuid::now_v7();
        let now = OffsetDateTime::from_unix_timestamp(1_800_000_123).unwrap();
        let path = signed_path(&keys, id, Variant::Thumbnail, now);
        assert_eq!(path, signed_path(&keys, id, Variant::Thumbnail, now + Duration::from_secs(60)));
        let (prefix, query) = path.split_once('?').unwrap();
        assert_eq!(prefix, format!("/api/v1/attachments/{id}/thumbnail"));
        let exp: i64 = query.split('&').next().unwrap().strip_prefix("exp=").unwrap().parse().unwrap();
        assert_eq!(exp % EXPIRY_STEP, 0);
        assert!(exp >= now.unix_timestamp() + 3600 && exp < now.unix_timestamp() + 3600 + EXPIRY_STEP);
        let sig = query.split_once("sig=").unwrap().1;
        assert!(keys.verify_attachment(id, "thumbnail", exp, sig, now.unix_timestamp()));
    }
}

//! The contract's types as the server sends them, built from the store's rows: people, messages (their
//! attachment links signed here), conversations as one member sees them, and what admins see. The one place
//! each is made, so that a list, a single read, a sync and a frame can never disagree; the store below only
//! reads rows.

pub mod admin;
pub mod conversations;
pub mod messages;

use hallway_protocol::User;
use uuid::Uuid;

use crate::store::users::UserRow;

/// A person as clients see them.
pub fn user(row: &UserRow) -> User {
    User {
        id: row.id,
        username: row.username.clone(),
        display_name: row.display_name.clone(),
        role: row.role(),
        avatar_url: avatar_url(row.id, row.avatar_key.as_deref()),
    }
}

/// The link to a person's picture, if they have one, for everyone who shows it (people, admins' views of
/// them). Its version (the start of the picture's hash) changes with the picture, so caches, which keep a
/// picture a day, refresh.
fn avatar_url(id: Uuid, avatar_key: Option<&str>) -> Option<String> {
    avatar_key.map(|key| format!("/api/v1/users/{id}/avatar?v={}", key.get(..12).unwrap_or(key)))
}

//! The Hallway wire contract, version 1: the JSON shapes and error codes that the server, the SDK and
//! every other client agree on. No I/O lives here, so nothing can drift between the two sides.
//!
//! With the `openapi` feature every wire type also derives `utoipa::ToSchema`, so the server's OpenAPI document
//! describes these very types; clients leave it off and build without utoipa.

pub mod admin;
pub mod auth;
pub mod conversations;
pub mod error;
pub mod messages;
pub mod model;
pub mod safety;
pub mod sync;
pub mod validate;
pub mod ws;

pub use error::{ErrorBody, ErrorCode, ErrorDetail};
pub use model::{Attachment, Conversation, ConversationKind, Message, ReactionSummary, Role, User};

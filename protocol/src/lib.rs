//! The Hallway wire contract, version 1: the JSON shapes and error codes that the server, the SDK and
//! every other client agree on. No I/O lives here, so nothing can drift between the two sides.
//!
//! Text input follows one rule, [`validate::check_text`]: the C0 control characters other than tab, line feed
//! and carriage return, and U+007F, are refused with `invalid_input` naming the field, never stripped (text is
//! stored exactly as sent). The server applies it to every JSON body, query parameter and socket frame, and the
//! validating newtypes (`MessageBody`, `Username`, ...) apply it in their `parse`.
//!
//! With the `openapi` feature every wire type also derives `utoipa::ToSchema`, so the server's OpenAPI document
//! describes these very types; clients leave it off and build without utoipa.

pub mod admin;
pub mod announcements;
pub mod auth;
pub mod conversations;
pub mod devices;
pub mod error;
pub mod invitation;
pub mod messages;
pub mod model;
pub mod push_gateway;
pub mod reconnect;
pub mod safety;
pub mod sync;
pub mod validate;
pub mod ws;

pub use error::{ErrorBody, ErrorCode, ErrorDetail};
pub use model::{Attachment, Conversation, ConversationKind, Message, ReactionSummary, Role, User};

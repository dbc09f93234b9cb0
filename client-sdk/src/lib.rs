//! The Hallway client SDK: one [`Client`] per signed-in account, with a local SQLite store encrypted with a
//! key from the app's [`SecretStore`] (the app shows data offline), a connection that reconnects and catches
//! up by `seq`, an outbox that sends every message exactly once, and observers for the conversation list,
//! each timeline and the connection state.
//!
//! Exported to Kotlin and Swift through uniffi (proc-macros, no UDL); Rust apps and tests use it directly.
//! Wire types come from `hallway-protocol`, never redefined here. See `ARCHITECTURE.md` for how the pieces
//! fit, and `README.md` beside this crate for how an app uses it.

mod api;
mod client;
mod diff;
mod error;
mod invitation;
mod list;
mod listeners;
mod media;
mod models;
mod notification;
mod push;
mod runtime;
mod secrets;
mod send_pacer;
mod shared;
mod store;
mod sync;
mod task;
mod timeline;

pub use client::Client;
pub use diff::{ConversationListDiff, TimelineDiff};
pub use error::HallwayError;
pub use invitation::parse_invitation;
pub use list::ConversationList;
pub use listeners::{ConnectionStateListener, ConversationListListener, TimelineListener};
pub use models::{
    AttachmentInfo, ConnectionState, ConversationSummary, Invitation, MessagePreview, ReactionInfo, ReadMarker,
    ReportInfo, ReportReason, SendState, SignOutReason, TimelineDetails, TimelineItem, TimelineSnapshot,
    UploadProgress, UserInfo, UserRole,
};
pub use notification::{
    NotificationClient, NotificationContent, NotificationKind, NotificationTextSource, ReplyOutcome,
};
pub use push::PushRegistration;
pub use secrets::{SecretStore, SecretStoreError};
pub use task::TaskHandle;
pub use timeline::Timeline;

/// The store's file name inside the data directory (for tests and for apps that back it up or exclude it).
pub const DATABASE_FILE: &str = store::DATABASE_FILE;

uniffi::setup_scaffolding!();

//! The actors that carry conversations in real time.
//!
//! - `WsSession` (session.rs): one per WebSocket connection; parses and validates frames, heartbeats,
//!   rate-limits, forwards intents; holds nothing a restart would miss.
//! - `UserActor` (user.rs): one per connected user across all their devices; fans frames out to the user's
//!   sessions, keeps presence, and cuts off a session that falls too far behind.
//! - `ConversationActor` (conversation.rs): one per active conversation, the single writer for it: checks
//!   membership, persists (taking the next seq), acknowledges, then broadcasts; keeps typing state.
//! - `Realtime` (registry.rs): finds or starts those actors, placing them on a few arbiter threads by
//!   hashing their id (the one place a future cluster would change to place actors across nodes).
//!
//! Everything that reaches a session goes conversation actor → user actor → session, one path, so every
//! session sees a conversation's frames in the order the conversation actor produced them.

pub mod conversation;
pub mod registry;
pub mod session;
pub mod user;

use std::sync::Arc;

use hallway_protocol::ws::ServerFrame;
use uuid::Uuid;

pub use registry::Realtime;

/// A frame serialised once, shared by every session it goes to.
pub type FrameText = Arc<str>;

/// Identifies one WebSocket connection (the `session_id` of its `hello`).
pub type ConnId = Uuid;

/// Serialises a frame for delivery.
pub fn encode(frame: &ServerFrame) -> FrameText {
    // Serialising these plain data types to JSON cannot fail (no maps with non-string keys, no I/O).
    serde_json::to_string(frame).unwrap_or_default().into()
}

/// Which of a user's sessions get a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    All,
    /// Every session but this one (the sender's own session gets an `ack` instead).
    Except(ConnId),
    Only(ConnId),
}

impl Target {
    /// Whether the session `conn` is meant.
    pub fn includes(self, conn: ConnId) -> bool {
        match self {
            Target::All => true,
            Target::Except(other) => other != conn,
            Target::Only(only) => only == conn,
        }
    }
}

/// Which of a user's sessions to close.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionFilter {
    All,
    /// The sockets opened with these sign-in sessions (device sessions of `sessions`).
    Sessions(Vec<Uuid>),
    /// Every socket except those of this sign-in session (a password change keeps the current device).
    AllExcept(Uuid),
}

impl SessionFilter {
    /// Whether a socket opened with sign-in session `auth_session` is meant.
    pub fn includes(&self, auth_session: Uuid) -> bool {
        match self {
            SessionFilter::All => true,
            SessionFilter::Sessions(ids) => ids.contains(&auth_session),
            SessionFilter::AllExcept(keep) => *keep != auth_session,
        }
    }
}

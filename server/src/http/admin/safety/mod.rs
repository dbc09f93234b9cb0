//! The admins' safety and records endpoints: the report queue, moderation deletes, exports, safeguarding
//! visibility and the safety settings (banned words, safeguarding, retention). Every read of people's
//! messages and every change is written to the audit log before the answer goes out.

pub mod moderation;
pub mod reports;
pub mod safeguarding;
pub mod settings;

// The admin area's one way of recording an action; its submodules call it `audit`.
use super::audit_action as audit;

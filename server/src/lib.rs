//! The Hallway server as a library: `main` and the black-box tests build the same application from it.

pub mod announcements;
pub mod auth;
pub mod backup;
pub mod config;
pub mod demo;
pub mod error;
pub mod groups;
pub mod http;
pub mod letters;
pub mod lifecycle;
pub mod media;
pub mod messaging;
pub mod metrics;
pub mod notify;
pub mod policy;
pub mod realtime;
pub mod roster;
pub mod safety;
pub mod startup;
pub mod state;
pub mod store;
pub mod sync;
pub mod telemetry;
pub mod usernames;
pub mod views;

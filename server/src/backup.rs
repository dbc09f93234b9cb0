//! Backups (filled in below).

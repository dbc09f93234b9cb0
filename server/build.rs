//! `sqlx::migrate!` embeds `migrations/` at compile time; rebuild when a migration is added or changed, or
//! the binary (and the test template database) would miss it.

fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}

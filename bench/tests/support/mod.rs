//! What the load generator's tests share: a seeded database's tokens in a file, and a run of the real
//! `hallway-loadgen` binary against a test server.
#![allow(dead_code, reason = "each test binary uses its own part")]
#![expect(clippy::unwrap_used, reason = "a helper whose setup breaks fails the test at once")]

use std::path::PathBuf;
use std::time::Duration;

use hallway_loadgen::seed::{SeedOutput, SeedPlan, seed};
use hallway_test_support::TestServer;
use serde_json::Value;

/// The tokens file `hallway-loadgen --tokens` reads, in a directory removed with it.
pub struct TokensFile {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

/// Seeds the test server's empty database with `plan` and writes the tokens file.
pub async fn seed_tokens_file(server: &TestServer, plan: &SeedPlan) -> (SeedOutput, TokensFile) {
    let seeded = seed(&server.pool, &server.state.keys, plan).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens.json");
    std::fs::write(&path, serde_json::to_vec(&seeded).unwrap()).unwrap();
    (seeded, TokensFile { _dir: dir, path })
}

/// Runs one scenario (`args`) against `server`, which must stop by itself within 120 s; its one JSON line.
pub async fn loadgen(server: &TestServer, tokens: &TokensFile, args: &[&str]) -> Value {
    loadgen_within(server, tokens, args, Duration::from_secs(120)).await
}

/// Like [`loadgen`], for a scenario that may take up to `limit`.
pub async fn loadgen_within(server: &TestServer, tokens: &TokensFile, args: &[&str], limit: Duration) -> Value {
    let output = tokio::time::timeout(
        limit,
        tokio::process::Command::new(env!("CARGO_BIN_EXE_hallway-loadgen"))
            .arg("--server")
            .arg(server.local_addr().to_string())
            .arg("--tokens")
            .arg(&tokens.path)
            .arg("--server-pid")
            .arg(std::process::id().to_string())
            .args(args)
            .kill_on_drop(true)
            .output(),
    )
    .await
    .unwrap_or_else(|_| panic!("{args:?} did not stop by itself"))
    .unwrap_or_else(|err| panic!("the load generator did not run: {err}"));
    assert!(output.status.success(), "{args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
    let line = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(line.trim()).unwrap_or_else(|err| panic!("one JSON line, not {line:?}: {err}"))
}

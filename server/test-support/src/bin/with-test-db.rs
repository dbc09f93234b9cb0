//! `with-test-db COMMAND [ARGS...]`: starts one throwaway PostgreSQL cluster (the server's own embedded-cluster
//! code) with a migrated template database, runs COMMAND with `HALLWAY_TEST_DATABASE_URL` pointing at it,
//! then stops the cluster and removes it, whatever COMMAND did. Each test clones the template.

use std::process::ExitCode;

use anyhow::Context;
use hallway_server::store::embedded::Durability;
use hallway_server::store::{EmbeddedCluster, MIGRATOR};
use hallway_test_support::{DATABASE_URL_VAR, TEMPLATE_DATABASE};
use sqlx::Connection;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    hallway_server::telemetry::init();
    let mut args = std::env::args_os().skip(1);
    let Some(program) = args.next() else {
        eprintln!("usage: with-test-db COMMAND [ARGS...]");
        return ExitCode::from(2);
    };
    let args: Vec<_> = args.collect();
    match run(program, args).await {
        Ok(code) => code,
        Err(err) => {
            eprintln!("with-test-db: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(program: std::ffi::OsString, args: Vec<std::ffi::OsString>) -> anyhow::Result<ExitCode> {
    let dir = hallway_test_support::reachable_temp_dir()?;
    let cluster = EmbeddedCluster::start_with(dir.path(), TEMPLATE_DATABASE, Durability::Throwaway).await?;
    let outcome = async {
        let mut conn = sqlx::PgConnection::connect_with(&cluster.connect_options(TEMPLATE_DATABASE)).await?;
        MIGRATOR.run(&mut conn).await.context("migrating the template database")?;
        conn.close().await?;
        let mut child = tokio::process::Command::new(&program)
            .args(&args)
            .env(DATABASE_URL_VAR, cluster.url("postgres"))
            .spawn()
            .with_context(|| format!("starting {}", program.to_string_lossy()))?;
        // Ctrl-C reaches the child too (same process group); wait for it so the cluster is always cleaned up.
        let status = loop {
            tokio::select! {
                status = child.wait() => break status?,
                _ = tokio::signal::ctrl_c() => continue,
            }
        };
        anyhow::Ok(ExitCode::from(status.code().unwrap_or(1).clamp(0, 255) as u8))
    }
    .await;
    if let Err(err) = cluster.stop().await {
        eprintln!("with-test-db: could not stop the test cluster: {err}");
    }
    outcome
}

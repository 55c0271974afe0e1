//! The tests' control service on its own, for running the pytest suite or a script by
//! hand against throwaway servers:
//!
//! ```sh
//! cargo run -p assistant-db-pytest --example control
//! # prints ASSISTANT_DB_TEST_CONTROL=127.0.0.1:PORT; then, in another shell:
//! ASSISTANT_DB_TEST_CONTROL=127.0.0.1:PORT python -m pytest python/tests
//! ```
//!
//! It serves the requests of `python/harness/src/control.rs` (a migrated database, a
//! postrust server with its keys, a stop or start of PostgreSQL) until Ctrl-C or SIGTERM,
//! then stops every server it started.

use assistant_db_pytest::control::Control;
use assistant_db_testkit::db;
use tokio::signal::unix::{signal, SignalKind};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Started first, so that a `stop` request acts on a running server.
    tokio::task::spawn_blocking(db::server).await?;
    let control = Control::start().await?;
    println!("ASSISTANT_DB_TEST_CONTROL={}", control.addr);
    let mut terminate = signal(SignalKind::terminate())?;
    tokio::select! {
        result = tokio::signal::ctrl_c() => result?,
        _ = terminate.recv() => {}
    }
    control.stop().await;
    Ok(())
}

//! A throwaway cluster in a temporary directory, removed when dropped or when its
//! process dies.

use std::os::unix::fs::PermissionsExt;
use std::process::{Child, Command, Stdio};

use assistant_db::local::{LocalCluster, Tuning};
use assistant_db::{Error, Result};

/// A private PostgreSQL server in a temporary directory, for tests and benchmarks.
///
/// Dropping it stops the server and deletes the directory. Statics are never dropped
/// and a test process may be killed, so a small watchdog process also stops the server
/// and cleans up once this process is gone.
#[derive(Debug)]
pub struct EphemeralCluster {
    cluster: LocalCluster,
    watchdog: Option<Child>,
    dir: Option<tempfile::TempDir>,
}

impl EphemeralCluster {
    /// Creates and starts a throwaway server (no fsync).
    pub fn start() -> Result<Self> {
        Self::start_with(Tuning::Throwaway)
    }

    /// Creates and starts a temporary server with the given durability (benchmarks
    /// that compare with real commits want [`Tuning::Durable`]).
    pub fn start_with(tuning: Tuning) -> Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("assistant-db-")
            .tempdir()
            .map_err(|e| io_error("cannot create a temporary directory", e))?;
        // The server may run as another user, who must be able to enter the directory.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
            .map_err(|e| io_error("cannot open up the temporary directory", e))?;
        let cluster = LocalCluster::with_tuning(dir.path(), tuning)?;
        let watchdog = spawn_watchdog(&cluster)?;
        let ephemeral = EphemeralCluster {
            cluster,
            watchdog: Some(watchdog),
            dir: Some(dir),
        };
        // On failure `ephemeral` is dropped here, which cleans up.
        ephemeral.cluster.start()?;
        Ok(ephemeral)
    }

    /// The cluster, for connection options, status and stop/start.
    pub fn cluster(&self) -> &LocalCluster {
        &self.cluster
    }
}

impl Drop for EphemeralCluster {
    fn drop(&mut self) {
        let _ = self.cluster.stop_immediately();
        if let Some(mut watchdog) = self.watchdog.take() {
            let _ = watchdog.kill();
            let _ = watchdog.wait();
        }
        if let Some(dir) = self.dir.take() {
            let _ = dir.close();
        }
    }
}

/// Starts `sh` watching this process: when it is gone, stop the server, remove the files.
fn spawn_watchdog(cluster: &LocalCluster) -> Result<Child> {
    const SCRIPT: &str = r#"
        while kill -0 "$1" 2>/dev/null; do sleep 1; done
        pid=$(head -n 1 "$2/postmaster.pid" 2>/dev/null) && kill -QUIT "$pid" 2>/dev/null
        sleep 1
        rm -rf "$3"
    "#;
    Command::new("/bin/sh")
        .arg("-c")
        .arg(SCRIPT)
        .arg("assistant-db-watchdog")
        .arg(std::process::id().to_string())
        .arg(cluster.data_dir())
        .arg(cluster.home())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| io_error("cannot start the cleanup watchdog", e))
}

/// An I/O failure of the test support, with what it was doing.
fn io_error(context: &str, source: std::io::Error) -> Error {
    Error::Io {
        context: context.to_owned(),
        source,
    }
}

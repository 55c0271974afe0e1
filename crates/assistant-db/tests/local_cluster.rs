//! The embedded PostgreSQL: lifecycle, private socket, and concurrent starts.

use std::os::unix::fs::PermissionsExt;
use std::sync::{Arc, Barrier};

use assistant_db::local::{ClusterStatus, LocalCluster, Tuning};
use sqlx::{ConnectOptions, Connection};

/// A cluster in a temporary home, destroyed even when the test fails.
struct Scratch {
    cluster: LocalCluster,
    _dir: tempfile::TempDir,
}

impl Scratch {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        // The server may run as the `postgres` user, who must be able to enter it.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
            .expect("chmod");
        let cluster = LocalCluster::with_tuning(dir.path().join("home"), Tuning::Throwaway)
            .unwrap_or_else(|e| panic!("these tests need PostgreSQL server binaries: {e}"));
        Scratch { cluster, _dir: dir }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = self.cluster.destroy();
    }
}

/// True while a live (non-zombie) process has this pid.
fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let state = stat
                .rsplit(')')
                .next()
                .and_then(|rest| rest.split_whitespace().next());
            state != Some("Z") && state != Some("X")
        }
        Err(_) => false,
    }
}

#[tokio::test]
async fn start_status_stop_restart_destroy() {
    let scratch = Scratch::new();
    let cluster = &scratch.cluster;
    assert_eq!(
        cluster.status().expect("status"),
        ClusterStatus::NotInitialized
    );

    let first = cluster.start().expect("start");
    assert!(first.initialized && !first.already_running, "{first:?}");
    let ClusterStatus::Running { pid } = cluster.status().expect("status") else {
        panic!("not running after start");
    };
    assert!(alive(pid));
    let again = cluster.start().expect("second start");
    assert!(!again.initialized && again.already_running, "{again:?}");

    // Only the private socket: no TCP listener at all.
    let mut conn = cluster
        .connect_options("postgres")
        .connect()
        .await
        .expect("connect");
    let listen: String = sqlx::query_scalar("SHOW listen_addresses")
        .fetch_one(&mut conn)
        .await
        .expect("show");
    assert_eq!(listen, "");
    let port: Option<i32> = sqlx::query_scalar("SELECT inet_server_port()")
        .fetch_one(&mut conn)
        .await
        .expect("port");
    assert_eq!(port, None, "connected over TCP?");
    let socket_perms = std::fs::metadata(cluster.socket_dir())
        .expect("socket dir")
        .permissions()
        .mode();
    assert_eq!(
        socket_perms & 0o077,
        0,
        "the socket directory must be private"
    );
    sqlx::raw_sql("CREATE TABLE kept (v int); INSERT INTO kept VALUES (7)")
        .execute(&mut conn)
        .await
        .expect("write");
    conn.close().await.expect("close");

    assert!(cluster.stop().expect("stop"), "it was running");
    assert_eq!(cluster.status().expect("status"), ClusterStatus::Stopped);
    assert!(!alive(pid), "the postmaster {pid} survived stop");
    assert!(
        !cluster.stop().expect("second stop"),
        "stopping twice is a no-op"
    );

    let restart = cluster.start().expect("restart");
    assert!(
        !restart.initialized && !restart.already_running,
        "{restart:?}"
    );
    let mut conn = cluster
        .connect_options("postgres")
        .connect()
        .await
        .expect("reconnect");
    let kept: i32 = sqlx::query_scalar("SELECT v FROM kept")
        .fetch_one(&mut conn)
        .await
        .expect("read");
    assert_eq!(kept, 7, "data survives a restart");
    conn.close().await.expect("close");

    cluster
        .ensure_database("assistant")
        .await
        .expect("create database");
    cluster
        .ensure_database("assistant")
        .await
        .expect("ensure is idempotent");

    cluster.destroy().expect("destroy");
    assert_eq!(
        cluster.status().expect("status"),
        ClusterStatus::NotInitialized
    );
    assert!(!cluster.data_dir().exists());
}

#[test]
fn concurrent_starts_create_and_start_the_cluster_once() {
    let scratch = Scratch::new();
    let barrier = Arc::new(Barrier::new(4));
    let outcomes: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let barrier = Arc::clone(&barrier);
                let cluster = scratch.cluster.clone();
                s.spawn(move || {
                    barrier.wait();
                    cluster.start()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    let outcomes: Vec<_> = outcomes
        .into_iter()
        .map(|o| o.expect("every start succeeds"))
        .collect();
    assert_eq!(
        outcomes.iter().filter(|o| o.initialized).count(),
        1,
        "{outcomes:?}"
    );
    assert_eq!(
        outcomes.iter().filter(|o| !o.already_running).count(),
        1,
        "{outcomes:?}"
    );
    assert!(matches!(
        scratch.cluster.status(),
        Ok(ClusterStatus::Running { .. })
    ));
}

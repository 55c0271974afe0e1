//! What each call costs from Python, beside the spec's wrapper on the same server: runs
//! `python/bench/bench.py` (see there for the measures) against a throwaway PostgreSQL,
//! postrust in front of it, and a proxy that serves postrust under `/rest/v1` as a
//! Supabase project does, so that supabase-py reaches it unchanged.
//!
//! `cargo bench -p assistant-db-pytest --bench python` (the first run makes a virtualenv
//! under the target directory from PyPI and builds the package in release).

use std::process::Stdio;

use assistant_db_pytest::venv::{package_dir, Venv};
use assistant_db_pytest::PrefixProxy;
use assistant_db_testkit::db;
use assistant_db_testkit::rest::{key, RestServer, Role};

#[tokio::main]
async fn main() {
    let venv = tokio::task::spawn_blocking(Venv::for_bench)
        .await
        .expect("the build task")
        .unwrap_or_else(|e| panic!("cannot build the Python package: {e}"));
    let direct = db::migrated_options().await;
    let server = RestServer::start().await;
    let proxy = PrefixProxy::start(&server.url)
        .await
        .unwrap_or_else(|e| panic!("cannot start the /rest/v1 proxy: {e}"));
    let database_url = format!(
        "postgres://{}@localhost:{}/{}?host={}",
        direct.get_username(),
        direct.get_port(),
        direct.get_database().expect("a named database"),
        direct.get_socket().expect("a Unix socket").display()
    );
    let status = tokio::process::Command::new(&venv.python)
        .arg(package_dir().join("bench").join("bench.py"))
        .current_dir(std::env::temp_dir())
        .env("BENCH_DATABASE_URL", database_url)
        .env("BENCH_SUPABASE_URL", proxy.url())
        .env("BENCH_SERVICE_KEY", key(Role::ServiceRole).expose())
        .env(
            "ASSISTANT_DB_HOME",
            std::env::temp_dir().join("assistant-db-python-bench"),
        )
        .env_remove("DATABASE_URL")
        .env_remove("SUPABASE_URL")
        .env_remove("SUPABASE_KEY")
        .env_remove("SUPABASE_REST_URL")
        .env_remove("ASSISTANT_DB_SPOOL")
        .stdin(Stdio::null())
        .status()
        .await
        .unwrap_or_else(|e| panic!("cannot run bench.py: {e}"));
    assert!(status.success(), "bench.py failed ({status})");
    drop(server);
}

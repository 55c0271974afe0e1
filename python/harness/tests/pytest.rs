//! The Python package's pytest suite (`python/tests`), run against throwaway servers.
//!
//! Builds and installs the package into a virtualenv under the target directory (the
//! first run downloads maturin and pytest from PyPI), then runs pytest with the control
//! service's address in `ASSISTANT_DB_TEST_CONTROL`. Fails, with pytest's output, when
//! any Python test fails; never skips.

use assistant_db_pytest::control::Control;
use assistant_db_pytest::venv::{package_dir, tail, Venv};
use assistant_db_testkit::db;

/// Variables of the developer's own configuration that must not reach the tests.
const CLEARED: [&str; 5] = [
    "DATABASE_URL",
    "SUPABASE_URL",
    "SUPABASE_KEY",
    "SUPABASE_REST_URL",
    "ASSISTANT_DB_SPOOL",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_python_package_passes_its_pytest_suite() {
    let venv = tokio::task::spawn_blocking(Venv::for_tests)
        .await
        .expect("the build task")
        .unwrap_or_else(|e| panic!("cannot build the Python package: {e}"));
    // Started before the tests ask, so that `stop` and `start` act on a running server.
    db::server();
    let control = Control::start()
        .await
        .unwrap_or_else(|e| panic!("cannot start the control service: {e}"));
    let home = tempfile_dir();

    let tests = package_dir().join("tests");
    let mut command = tokio::process::Command::new(&venv.python);
    command
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "-rA"])
        .arg(&tests)
        // Not python/: `python -m pytest` puts the working directory on sys.path, where
        // the sources (without the compiled module) would shadow the installed package.
        .current_dir(&tests)
        .env("ASSISTANT_DB_TEST_CONTROL", control.addr.to_string())
        .env("ASSISTANT_DB_HOME", &home)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(std::process::Stdio::null());
    for name in CLEARED {
        command.env_remove(name);
    }
    let output = command
        .output()
        .await
        .unwrap_or_else(|e| panic!("cannot run pytest: {e}"));
    control.stop().await;
    let _ = std::fs::remove_dir_all(&home);

    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}\n{stderr}");
    assert!(
        output.status.success(),
        "pytest failed ({}):\n{}\n{}",
        output.status,
        tail(&stdout, 200),
        tail(&stderr, 50)
    );
}

/// A private directory for the tests' default home (spools), under the system's temp
/// directory, which the embedded PostgreSQL's user can reach when run as root.
fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("assistant-db-pytest-{}", std::process::id()));
    std::fs::create_dir_all(&dir)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    dir
}

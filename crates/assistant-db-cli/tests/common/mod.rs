//! Helpers shared by the integration tests of the `assistant-db` binary: the binary with a
//! clean environment, running it and checking its exit status, fresh databases on the shared
//! throwaway PostgreSQL, a private embedded-PostgreSQL home, and a running `serve`.
//!
//! Every test binary compiles its own copy of this module (`mod common;`) and uses a part of
//! it, hence `dead_code` is allowed.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use assistant_db_testkit::ScratchServer;
use serde_json::Value;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

/// The variables that would point the binary at a configured database, an API token, or a
/// home or spool outside the test; [`command`] removes them all.
const CONFIGURATION: [&str; 7] = [
    "DATABASE_URL",
    "SUPABASE_URL",
    "SUPABASE_REST_URL",
    "SUPABASE_KEY",
    "ASSISTANT_DB_HOME",
    "ASSISTANT_DB_SPOOL",
    "ASSISTANT_DB_API_TOKEN",
];

/// The binary, run in `cwd`, with a clean environment: no configured database, API token,
/// home or spool, and (when `cwd` is a new temporary directory) no `.env` in reach.
pub fn command(cwd: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_assistant-db"));
    cmd.current_dir(cwd);
    for name in CONFIGURATION {
        cmd.env_remove(name);
    }
    cmd
}

/// [`command`] started through `sh` under `umask` (e.g. `"000"`), as a user's shell would
/// start it: `sh -c 'umask 000 && exec assistant-db "$@"'`.
pub fn command_with_umask(cwd: &Path, umask: &str) -> Command {
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c")
        .arg(format!("umask {umask} && exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_assistant-db"))
        .current_dir(cwd);
    for name in CONFIGURATION {
        cmd.env_remove(name);
    }
    cmd
}

/// The embedded PostgreSQL's home that [`command_with_home_in`]`(dir)` gives the binary.
pub fn home_in(dir: &Path) -> PathBuf {
    dir.join("home")
}

/// [`command`] keeping all its state in `cwd`: the embedded PostgreSQL's home in
/// [`home_in`]`(cwd)` and the logger's spool in `cwd/spool.db`.
pub fn command_with_home_in(cwd: &Path) -> Command {
    let mut cmd = command(cwd);
    cmd.env("ASSISTANT_DB_HOME", home_in(cwd))
        .env("ASSISTANT_DB_SPOOL", cwd.join("spool.db"));
    cmd
}

/// Runs `cmd` to its end with an empty stdin, capturing stdout and stderr.
pub fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("the binary runs")
}

/// Runs `cmd` to its end with `input` piped to its stdin, capturing stdout and stderr.
pub fn run_with_stdin(cmd: &mut Command, input: &str) -> Output {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("the binary runs");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(input.as_bytes()).expect("write stdin");
    drop(stdin);
    child.wait_with_output().expect("the binary runs")
}

/// Runs `assistant-db ARGS --database-url URL` from a new empty directory that also holds
/// its home and spool ([`command_with_home_in`]).
pub fn run_against(url: &str, args: &[&str]) -> Output {
    let dir = tempfile::tempdir().expect("tempdir");
    run(command_with_home_in(dir.path())
        .args(args)
        .args(["--database-url", url]))
}

/// [`run_against`], asserting success (see [`assert_args_ok`]); returns stdout.
pub fn ok_against(url: &str, args: &[&str]) -> String {
    assert_args_ok(args, &run_against(url, args))
}

/// The binary's stdout as text.
pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The binary's stderr as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The exit code, stdout and stderr of a run, for a failure message.
pub fn show(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        stdout(out),
        stderr(out)
    )
}

/// Asserts that the binary exited 0, showing its exit code, stdout and stderr if not;
/// returns stdout.
pub fn assert_ok(out: &Output) -> String {
    assert!(out.status.success(), "{}", show(out));
    stdout(out)
}

/// [`assert_ok`] for a run of `args`, which the failure message names first.
pub fn assert_args_ok(args: &[&str], out: &Output) -> String {
    assert!(out.status.success(), "{args:?} failed: {}", show(out));
    stdout(out)
}

/// `text` parsed as JSON; panics showing the text when it is not JSON.
pub fn json_of(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}):\n{text}"))
}

/// What a new database from [`scratch_db`] holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Schema {
    /// Every migration applied.
    Migrated,
    /// No tables at all.
    Empty,
}

/// The throwaway PostgreSQL shared by the tests of one binary, started on first use; fails
/// the test (never skips it) when the PostgreSQL server binaries are missing.
pub fn scratch_server() -> &'static ScratchServer {
    ScratchServer::shared()
        .unwrap_or_else(|e| panic!("these tests need PostgreSQL server binaries: {e}"))
}

/// A new database on the [`scratch_server`].
pub struct ScratchDb {
    /// Options connecting to it.
    pub options: PgConnectOptions,
    /// Its `DATABASE_URL`.
    pub url: String,
}

impl ScratchDb {
    /// A pool of at most two connections to the database.
    pub async fn pool(&self) -> PgPool {
        PgPoolOptions::new()
            .max_connections(2)
            .connect_with(self.options.clone())
            .await
            .expect("connect")
    }
}

/// A new database holding `schema` on the shared throwaway server.
pub async fn scratch_db(schema: Schema) -> ScratchDb {
    let server = scratch_server();
    let options = match schema {
        Schema::Migrated => server.migrated_database().await,
        Schema::Empty => server.empty_database().await,
    }
    .expect("database");
    let name = options.get_database().expect("named database").to_owned();
    let url = server.server().cluster().url(&name);
    ScratchDb { options, url }
}

/// A `DATABASE_URL` for a new database holding `schema` on the shared throwaway server.
pub async fn scratch_url(schema: Schema) -> String {
    scratch_db(schema).await.url
}

/// A temporary directory for the binary's embedded PostgreSQL, whose cluster is destroyed
/// (`local destroy --yes`) before the directory is removed.
pub struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    /// A new directory that the `postgres` user, as whom the server may run, can enter.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
            .expect("chmod");
        Home { dir }
    }

    /// The directory itself: the binary's working directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The embedded PostgreSQL's home (`ASSISTANT_DB_HOME`) inside it.
    pub fn home(&self) -> PathBuf {
        home_in(self.dir())
    }

    /// `assistant-db ARGS` keeping its state in this directory ([`command_with_home_in`]).
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = command_with_home_in(self.dir());
        cmd.args(args);
        cmd
    }
}

impl Drop for Home {
    fn drop(&mut self) {
        let _ = self.cmd(&["local", "destroy", "--yes"]).output();
    }
}

/// A running `assistant-db serve`, killed when dropped; its stderr is printed when the
/// test is panicking.
pub struct Served {
    child: Child,
    /// The dashboard's base URL, without a trailing slash.
    pub base: String,
    stderr: mpsc::Receiver<String>,
}

impl Served {
    /// Spawns `cmd` (a `serve` command) and waits up to `startup` for its
    /// `Dashboard: URL` line; if that does not come, kills it and panics with the arguments,
    /// the stdout lines seen and stderr.
    pub fn start(cmd: &mut Command, startup: Duration) -> Served {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("the binary runs");
        let lines = read_lines(child.stdout.take().expect("stdout"));
        let stderr = read_lines(child.stderr.take().expect("stderr"));
        let deadline = Instant::now() + startup;
        let mut seen = Vec::new();
        let base = loop {
            match lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(line) => {
                    if let Some(url) = line.strip_prefix("Dashboard: ") {
                        break url.trim_end_matches('/').to_owned();
                    }
                    seen.push(line);
                }
                Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    let args: Vec<_> = cmd.get_args().map(|a| a.to_string_lossy()).collect();
                    panic!(
                        "`assistant-db {}` did not start within {startup:?}\nstdout:\n{}\n\
                         stderr:\n{}",
                        args.join(" "),
                        seen.join("\n"),
                        drain(&stderr, Duration::from_secs(5))
                    );
                }
            }
        };
        Served {
            child,
            base,
            stderr,
        }
    }

    /// The URL of `path` on the server.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!(
                "server stderr:\n{}",
                drain(&self.stderr, Duration::from_secs(2))
            );
        }
    }
}

/// The lines of `pipe`, read on a thread of their own until it closes.
fn read_lines(pipe: impl std::io::Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    rx
}

/// The lines `lines` holds or receives until its pipe closes or `wait` has passed.
fn drain(lines: &mpsc::Receiver<String>, wait: Duration) -> String {
    let deadline = Instant::now() + wait;
    let mut text = String::new();
    while let Ok(line) = lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        text.push_str(&line);
        text.push('\n');
    }
    text
}

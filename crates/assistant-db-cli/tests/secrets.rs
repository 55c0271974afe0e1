//! Secrets in a `DATABASE_URL` never reach the terminal (help, errors, logs at any level),
//! sqlx's slow-statement warnings stay below the default log level, and log colours are
//! written only to a terminal, never with `NO_COLOR` set.

mod common;

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{command, run, scratch_db, show, stderr, stdout, Schema};

/// Secrets of every kind a connection string may carry, each with a marker to look for.
const URL: &str = "postgres://someone:pw1marker@127.0.0.1:1/db?sslmode=disable\
                   &sslpassword=pw2marker&sslkey=%2Ftmp%2Fkey3marker.pem&api_token=tok4marker\
                   &password=pw5marker&application_name=visible";
const MARKERS: [&str; 5] = [
    "pw1marker",
    "pw2marker",
    "key3marker",
    "tok4marker",
    "pw5marker",
];

/// [`URL`] with an `sslmode` the driver refuses: the command fails at once, after logging
/// the parameters it ignores, instead of retrying a refused connection for 15 seconds.
fn failing_at_once(url: &str) -> String {
    url.replace("sslmode=disable", "sslmode=bogus")
}

fn assert_no_secret(what: &str, out: &Output) {
    let all = format!("{}{}", stdout(out), stderr(out));
    for marker in MARKERS {
        assert!(!all.contains(marker), "{what}: {marker} leaked:\n{all}");
    }
}

#[test]
fn secrets_in_the_database_url_never_show() {
    let dir = tempfile::tempdir().expect("tempdir");

    // Every message at every level while connecting to a refused port (trace), and the
    // same URL failing at once at the default level and at debug.
    for (level, url) in [
        ("trace", URL.to_owned()),
        ("debug", failing_at_once(URL)),
        ("", failing_at_once(URL)),
    ] {
        let mut cmd = command(dir.path());
        cmd.args(["interactions", "list"]).env("DATABASE_URL", &url);
        if !level.is_empty() {
            cmd.env("ASSISTANT_DB_LOG", level);
        }
        let out = run(&mut cmd);
        assert_eq!(out.status.code(), Some(1), "{}", show(&out));
        assert_no_secret(&format!("log level {level:?}"), &out);
        let err = stderr(&out);
        // Parameters the driver does not know are named, never shown with their value.
        assert!(
            err.contains("sslpassword") && err.contains("api_token"),
            "level {level:?}: {err}"
        );
        if level == "debug" {
            assert!(
                err.contains("postgres://someone:***@127.0.0.1:1/db?sslmode=bogus&sslpassword=***"),
                "the URL is logged redacted: {err}"
            );
        }
    }

    let out = run(command(dir.path())
        .args(["verify", "--database-url", &failing_at_once(URL)])
        .env("ASSISTANT_DB_LOG", "debug"));
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert_no_secret("verify", &out);

    for args in [
        &["--help"][..],
        &["import", "--help"][..],
        &["serve", "--help"][..],
    ] {
        let out = run(command(dir.path()).args(args).env("DATABASE_URL", URL));
        assert!(out.status.success(), "{args:?}: {}", show(&out));
        assert_no_secret(&format!("{args:?}"), &out);
    }

    // A URL that does not even parse.
    let out = run(command(dir.path()).args(["interactions", "list"]).env(
        "DATABASE_URL",
        "postgres://someone:pw1marker@host:port/db?api_token=tok4marker",
    ));
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(stderr(&out).contains("DATABASE_URL"), "{}", show(&out));
    assert_no_secret("unparsable URL", &out);
}

/// Runs `interactions list` (plus `env`) while a transaction holds the table locked for
/// more than a second, so that its statement is slow.
async fn list_while_locked(env: &[(&str, &str)]) -> Output {
    let db = scratch_db(Schema::Migrated).await;
    let pool = db.pool().await;
    let mut lock = pool.begin().await.expect("begin");
    sqlx::raw_sql("LOCK TABLE interactions IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *lock)
        .await
        .expect("lock");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cmd = command(dir.path());
    cmd.args(["interactions", "list", "--database-url", &db.url])
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = cmd.spawn().expect("the binary runs");
    // Wait until its statement waits for the lock, then hold the lock past sqlx's
    // one-second threshold for slow statements.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity \
             WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
        .fetch_one(&pool)
        .await
        .expect("pg_stat_activity");
        if waiting > 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the command never waited for the lock"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    lock.commit().await.expect("release the lock");
    tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .expect("join")
        .expect("wait")
}

#[tokio::test]
async fn slow_statement_warnings_stay_below_the_default_log_level() {
    let quiet = list_while_locked(&[]).await;
    assert!(quiet.status.success(), "{}", show(&quiet));
    let err = stderr(&quiet);
    assert!(!err.contains("slow statement"), "{err}");
    assert!(!err.contains("SELECT"), "SQL text on stderr: {err}");

    // The same statement, with sqlx's debug messages asked for: it was slow, and said so.
    let asked = list_while_locked(&[("ASSISTANT_DB_LOG", "sqlx=debug")]).await;
    assert!(asked.status.success(), "{}", show(&asked));
    assert!(
        stderr(&asked).contains("slow statement"),
        "{}",
        show(&asked)
    );
}

/// A database URL the command refuses at once, after logging (at debug) where it connects.
const REFUSED_AT_ONCE: &str = "postgres://nobody@127.0.0.1:1/none?sslmode=bogus";

/// `assistant-db interactions list` on an unusable database with debug logs, run in a
/// pseudo-terminal by `script`; returns what the terminal showed.
fn in_a_terminal(no_color: Option<&str>) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cmd = Command::new("script");
    cmd.args([
        "-q",
        "-e",
        "-c",
        "\"$ASSISTANT_DB_BIN\" interactions list",
        "/dev/null",
    ])
    .current_dir(dir.path())
    .env("ASSISTANT_DB_BIN", env!("CARGO_BIN_EXE_assistant-db"))
    .env("DATABASE_URL", REFUSED_AT_ONCE)
    .env("ASSISTANT_DB_LOG", "debug")
    .env_remove("NO_COLOR")
    .stdin(Stdio::null());
    for name in [
        "SUPABASE_URL",
        "SUPABASE_KEY",
        "SUPABASE_REST_URL",
        "ASSISTANT_DB_HOME",
    ] {
        cmd.env_remove(name);
    }
    if let Some(value) = no_color {
        cmd.env("NO_COLOR", value);
    }
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("this test needs `script` (util-linux): {e}"));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn log_colours_only_on_a_terminal_and_never_with_no_color() {
    // A pipe: never colours.
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run(command(dir.path())
        .args(["interactions", "list"])
        .env("DATABASE_URL", REFUSED_AT_ONCE)
        .env("ASSISTANT_DB_LOG", "debug")
        .env_remove("NO_COLOR"));
    let err = stderr(&out);
    assert!(err.contains("DEBUG"), "debug messages were logged: {err}");
    assert!(!err.contains('\u{1b}'), "ANSI codes on a pipe: {err:?}");

    // A terminal: colours, unless NO_COLOR says otherwise (an empty NO_COLOR does not).
    let coloured = in_a_terminal(None);
    assert!(coloured.contains("DEBUG"), "{coloured:?}");
    assert!(
        coloured.contains("\u{1b}["),
        "no colours on a terminal: {coloured:?}"
    );
    assert!(in_a_terminal(Some("")).contains("\u{1b}["));
    let plain = in_a_terminal(Some("1"));
    assert!(plain.contains("DEBUG"), "{plain:?}");
    assert!(
        !plain.contains('\u{1b}'),
        "colours despite NO_COLOR: {plain:?}"
    );
}

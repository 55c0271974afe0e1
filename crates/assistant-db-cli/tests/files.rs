//! The files the binary keeps: spool modes under real umasks, tightening of old files,
//! symbolic links refused as root, dead letters expiring, and where `.env` is read from.

mod common;

use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use assistant_db::logger::{Logger, LoggerConfig, SpoolFile};
use assistant_db::model::{AssistantMode, Escalation, Interaction, Outcome};
use assistant_db::Client;
use common::{
    assert_args_ok, command, command_with_umask, json_of, run, scratch_db, scratch_url, show,
    stderr, stdout, Schema, Served,
};
use uuid::Uuid;

/// How long `serve` may take to print its address.
const STARTUP: Duration = Duration::from_secs(60);

/// The permission bits of `path` (not following a link).
fn mode(path: &Path) -> u32 {
    fs::symlink_metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o7777
}

fn chmod(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).expect("chmod");
}

/// `path` with `suffix` appended to its file name.
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// `assistant-db spool ARGS` with its home in `home` and the default spool path.
fn spool_cmd(cwd: &Path, home: &Path, args: &[&str]) -> std::process::Output {
    run(command(cwd)
        .env("ASSISTANT_DB_HOME", home)
        .arg("spool")
        .args(args))
}

/// A logger on a fresh migrated database, spooling to `spool`.
async fn start_logger(spool: &Path, ttl: Option<Duration>) -> assistant_db::Result<Logger> {
    let pool = scratch_db(Schema::Migrated).await.pool().await;
    let mut config = LoggerConfig {
        flush_interval: Duration::from_millis(50),
        ..LoggerConfig::new(spool)
    };
    if let Some(ttl) = ttl {
        config.dead_letter_ttl = ttl;
    }
    Logger::start(Client::from_pool(pool), config).await
}

#[tokio::test]
async fn spool_files_are_private_whatever_the_umask() {
    let url = scratch_url(Schema::Migrated).await;
    for umask in ["000", "022"] {
        let dir = tempfile::tempdir().expect("tempdir");
        let home = dir.path().join("home");
        let mut cmd = command_with_umask(dir.path(), umask);
        cmd.env("ASSISTANT_DB_HOME", &home)
            .env("DATABASE_URL", &url)
            .args(["serve", "--addr", "127.0.0.1:0"]);
        // The logger runs while the server does: its -wal and -shm files exist now.
        let served = Served::start(&mut cmd, STARTUP);
        let spool_dir = home.join("spool");
        let spool = fs::read_dir(&spool_dir)
            .expect("the spool directory")
            .map(|e| e.expect("entry").path())
            .find(|p| p.extension().is_some_and(|e| e == "db"))
            .expect("a spool file");
        assert_eq!(mode(&spool_dir), 0o700, "umask {umask}: spool directory");
        for file in [
            spool.clone(),
            with_suffix(&spool, "-wal"),
            with_suffix(&spool, "-shm"),
            spool.with_extension("lock"),
        ] {
            assert_eq!(mode(&file), 0o600, "umask {umask}: {}", file.display());
        }
        assert_eq!(
            mode(&home) & 0o022,
            0,
            "umask {umask}: the home is writable by others"
        );
        drop(served);
    }
}

#[tokio::test]
async fn an_existing_readable_spool_and_its_side_files_are_tightened() {
    let dir = tempfile::tempdir().expect("tempdir");
    let home = dir.path().join("home");
    let spool_dir = home.join("spool");
    let spool = spool_dir.join("local.db");
    // A running logger keeps the -wal and -shm files in place.
    let logger = start_logger(&spool, None).await.expect("logger");
    let files = [
        spool.clone(),
        with_suffix(&spool, "-wal"),
        with_suffix(&spool, "-shm"),
        spool.with_extension("lock"),
    ];
    // As an older version left them.
    chmod(&spool_dir, 0o755);
    for file in &files {
        chmod(file, 0o644);
    }

    let out = spool_cmd(dir.path(), &home, &["status", "--json"]);
    let status = json_of(&assert_args_ok(&["spool", "status"], &out));
    assert_eq!(status["exists"], true, "{status}");
    assert_eq!(mode(&spool_dir), 0o700);
    for file in &files {
        assert_eq!(mode(file), 0o600, "{}", file.display());
    }
    logger
        .shutdown(Duration::from_secs(10))
        .await
        .expect("shutdown");
}

#[tokio::test]
async fn a_directory_named_for_the_spool_that_holds_other_files_keeps_its_mode() {
    let dir = tempfile::tempdir().expect("tempdir");
    let shared = dir.path().join("shared");
    fs::create_dir(&shared).expect("mkdir");
    fs::write(shared.join("notes.txt"), "not a spool").expect("write");
    chmod(&shared, 0o755);
    let spool = shared.join("mine.db");
    let logger = start_logger(&spool, None).await.expect("logger");
    assert_eq!(
        mode(&shared),
        0o755,
        "a directory of other things is left alone"
    );
    assert_eq!(mode(&spool), 0o600);
    logger
        .shutdown(Duration::from_secs(10))
        .await
        .expect("shutdown");
}

#[tokio::test]
async fn symbolic_links_under_the_home_are_refused_as_root() {
    let dir = tempfile::tempdir().expect("tempdir");
    let home = dir.path().join("home");
    fs::create_dir(&home).expect("home");
    let elsewhere = dir.path().join("elsewhere");
    fs::create_dir(&elsewhere).expect("elsewhere");
    let victim = dir.path().join("victim");
    fs::write(&victim, "not a spool").expect("victim");
    chmod(&victim, 0o644);
    let untouched = |what: &str| {
        assert_eq!(
            fs::read_to_string(&victim).expect("victim"),
            "not a spool",
            "{what}"
        );
        assert_eq!(mode(&victim), 0o644, "{what}");
        assert_eq!(
            fs::read_dir(&elsewhere).expect("elsewhere").count(),
            0,
            "{what}"
        );
    };

    // The spool directory is a link.
    let spool_dir = home.join("spool");
    symlink(&elsewhere, &spool_dir).expect("symlink");
    let spool = spool_dir.join("local.db");
    let out = spool_cmd(dir.path(), &home, &["status"]);
    let started = start_logger(&spool, None).await;
    if !is_root() {
        // Not root: a user's own links are followed, as any program follows them.
        assert!(out.status.success(), "{}", show(&out));
        let logger = started.expect("a non-root logger follows the link");
        logger
            .shutdown(Duration::from_secs(10))
            .await
            .expect("shutdown");
        assert!(elsewhere.join("local.db").exists());
        return;
    }
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&spool_dir.display().to_string()) && err.contains("symbolic link"),
        "{err}"
    );
    let refused = started
        .expect_err("the logger refuses the link")
        .to_string();
    assert!(refused.contains("symbolic link"), "{refused}");
    untouched("spool directory link");

    // The spool file is a link.
    fs::remove_file(&spool_dir).expect("unlink");
    fs::create_dir(&spool_dir).expect("spool dir");
    symlink(&victim, &spool).expect("symlink");
    let out = spool_cmd(dir.path(), &home, &["status"]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(stderr(&out).contains("symbolic link"), "{}", show(&out));
    let refused = start_logger(&spool, None)
        .await
        .expect_err("refused")
        .to_string();
    assert!(
        refused.contains(&spool.display().to_string()) && refused.contains("symbolic link"),
        "{refused}"
    );
    untouched("spool file link");

    // The spool is real, its -wal is a link.
    fs::remove_file(&spool).expect("unlink");
    start_logger(&spool, None)
        .await
        .expect("a real spool")
        .shutdown(Duration::from_secs(10))
        .await
        .expect("shutdown");
    let wal = with_suffix(&spool, "-wal");
    let _ = fs::remove_file(&wal);
    symlink(&victim, &wal).expect("symlink");
    let out = spool_cmd(dir.path(), &home, &["status"]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(
        stderr(&out).contains(&wal.display().to_string()),
        "{}",
        show(&out)
    );
    untouched("-wal link");

    // The home itself is a link.
    let link_home = dir.path().join("link-home");
    symlink(&home, &link_home).expect("symlink");
    for args in [&["spool", "status"][..], &["local", "status"][..]] {
        let out = run(command(dir.path())
            .env("ASSISTANT_DB_HOME", &link_home)
            .args(args));
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", show(&out));
        assert!(
            stderr(&out).contains("ASSISTANT_DB_HOME"),
            "{args:?}: {}",
            show(&out)
        );
    }
}

#[tokio::test]
async fn dead_letters_older_than_their_time_are_deleted_and_counted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let home = dir.path().join("home");
    let spool = home.join("spool/local.db");

    // Three escalations of interactions that do not exist: the database refuses them.
    let logger = start_logger(&spool, None).await.expect("logger");
    for n in 0..3 {
        let orphan = Escalation::new(Uuid::now_v7(), "low_confidence", &format!("orphan {n}"))
            .expect("valid");
        logger.log_escalation(orphan).await.expect("log");
    }
    let kept =
        Interaction::new(AssistantMode::Banker, "Wire limits?", Outcome::Resolved).expect("valid");
    logger.log(kept).await.expect("log");
    logger.flush(Duration::from_secs(30)).await.expect("flush");
    logger
        .shutdown(Duration::from_secs(10))
        .await
        .expect("shutdown");

    // Two were refused ten days ago; the third's reason quotes a hostile value.
    let day_ms = 86_400_000_i64;
    let now_ms = chrono::Utc::now().timestamp_millis();
    {
        let conn = rusqlite::Connection::open(&spool).expect("open the spool");
        let seqs: Vec<i64> = conn
            .prepare("SELECT seq FROM dead ORDER BY seq")
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .expect("dead letters");
        assert_eq!(seqs.len(), 3);
        for seq in &seqs[..2] {
            conn.execute(
                "UPDATE dead SET failed_at_ms = ?1 WHERE seq = ?2",
                [now_ms - 10 * day_ms, *seq],
            )
            .expect("age");
        }
        conn.execute(
            "UPDATE dead SET error = 'refused \u{1b}[2J\u{7} value' WHERE seq = ?1",
            [seqs[2]],
        )
        .expect("error text");
    }

    // The default (30 days) keeps all three.
    let status = json_of(&assert_args_ok(
        &["spool", "status"],
        &spool_cmd(dir.path(), &home, &["status", "--json"]),
    ));
    assert_eq!(
        (status["dead"].as_u64(), status["dead_expired"].as_u64()),
        (Some(3), Some(0)),
        "{status}"
    );
    let oldest = status["dead_oldest_age_ms"].as_i64().expect("oldest age");
    assert!(oldest >= 10 * day_ms, "{status}");

    // Seven days: the two old ones go, and stay counted.
    for _ in 0..2 {
        let out = run(command(dir.path())
            .env("ASSISTANT_DB_HOME", &home)
            .env("ASSISTANT_DB_DEAD_LETTER_DAYS", "7")
            .args(["spool", "status", "--json"]));
        let status = json_of(&assert_args_ok(&["spool", "status"], &out));
        assert_eq!(
            (
                status["dead"].as_u64(),
                status["dead_expired"].as_u64(),
                status["dead_letter_days"].as_u64()
            ),
            (Some(1), Some(2), Some(7)),
            "{status}"
        );
        assert!(
            status["dead_oldest_age_ms"].as_i64().expect("age") < day_ms,
            "{status}"
        );
    }
    let text = stdout(&spool_cmd(dir.path(), &home, &["status"]));
    assert!(
        text.contains("expired: 2 dead letters deleted after 30 days"),
        "{text}"
    );

    // The remaining reason is shown escaped.
    let dead = spool_cmd(dir.path(), &home, &["dead"]);
    let text = assert_args_ok(&["spool", "dead"], &dead);
    assert!(text.contains("refused \\u{1b}[2J\\u{7} value"), "{text}");
    assert!(
        !text.contains('\u{1b}') && !text.contains('\u{7}'),
        "{text:?}"
    );

    // A logger deletes expired dead letters when it starts.
    {
        let conn = rusqlite::Connection::open(&spool).expect("open the spool");
        conn.execute("UPDATE dead SET failed_at_ms = ?1", [now_ms - 10 * day_ms])
            .expect("age");
    }
    start_logger(&spool, Some(Duration::from_secs(7 * 86_400)))
        .await
        .expect("logger")
        .shutdown(Duration::from_secs(10))
        .await
        .expect("shutdown");
    let status = SpoolFile::inspect(&spool)
        .await
        .expect("inspect")
        .status()
        .await
        .expect("status");
    assert_eq!((status.dead, status.dead_expired), (0, 3), "{status:?}");
}

#[test]
fn spool_commands_on_a_home_without_a_spool_say_so_and_succeed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let home = dir.path().join("home");
    let text = assert_args_ok(
        &["spool", "status"],
        &spool_cmd(dir.path(), &home, &["status"]),
    );
    assert!(text.starts_with("no spool yet at "), "{text}");
    let status = json_of(&assert_args_ok(
        &["spool", "status", "--json"],
        &spool_cmd(dir.path(), &home, &["status", "--json"]),
    ));
    assert_eq!(
        (&status["exists"], &status["pending"], &status["dead"]),
        (
            &serde_json::json!(false),
            &serde_json::json!(0),
            &serde_json::json!(0)
        ),
        "{status}"
    );
    let dead = assert_args_ok(&["spool", "dead"], &spool_cmd(dir.path(), &home, &["dead"]));
    assert_eq!(dead, "no dead letters\n");
    let retry = assert_args_ok(
        &["spool", "retry"],
        &spool_cmd(dir.path(), &home, &["retry"]),
    );
    assert!(retry.starts_with("re-queued 0"), "{retry}");
    assert!(!home.exists(), "looking created {}", home.display());
}

#[test]
fn dotenv_is_read_from_the_working_directory_and_never_from_a_parent() {
    let dir = tempfile::tempdir().expect("tempdir");
    let work = dir.path().join("work");
    fs::create_dir(&work).expect("work");
    let parent_home = dir.path().join("parent-home");
    fs::write(
        dir.path().join(".env"),
        format!("ASSISTANT_DB_HOME={}\n", parent_home.display()),
    )
    .expect(".env");
    let spool_path = || {
        let out = run(command(&work).args(["spool", "status", "--json"]));
        let status = json_of(&assert_args_ok(&["spool", "status"], &out));
        status["path"].as_str().expect("path").to_owned()
    };
    let path = spool_path();
    assert!(
        !path.starts_with(&parent_home.display().to_string()),
        "the parent's .env was read: {path}"
    );

    let work_home = dir.path().join("work-home");
    fs::write(
        work.join(".env"),
        format!("ASSISTANT_DB_HOME={}\n", work_home.display()),
    )
    .expect(".env");
    let path = spool_path();
    assert_eq!(
        PathBuf::from(&path),
        work_home.join("spool/local.db"),
        "the working directory's .env is read"
    );
}

//! Two processes logging to one database at once: both succeed, each on a spool of its
//! own beside the configured one; and when one is killed with `kill -9`, every record
//! either acknowledged is stored exactly once, what the dead one left being adopted by
//! the next logger.

mod common;

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use assistant_db::logger::{Logger, LoggerConfig};
use assistant_db::Client;
use common::{assert_args_ok, command, json_of, run, scratch_db, show, Schema};
use uuid::Uuid;

/// `assistant-db demo …` on `url`, logging through the spool `spool`.
fn demo(dir: &Path, spool: &Path, url: &str, args: &[&str]) -> Command {
    let mut cmd = command(dir);
    cmd.arg("demo")
        .args(args)
        .args(["--database-url", url])
        .env("ASSISTANT_DB_SPOOL", spool);
    cmd
}

#[tokio::test]
async fn two_processes_log_to_one_database_at_once() {
    let db = scratch_db(Schema::Migrated).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let spool = dir.path().join("spool.db");
    let spawn = |seed: &str| {
        demo(
            dir.path(),
            &spool,
            &db.url,
            &["--count", "3000", "--seed", seed],
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn a demo")
    };
    let (first, second) = (spawn("1"), spawn("2"));
    for child in [first, second] {
        let out = child.wait_with_output().expect("the demo ends");
        assert!(out.status.success(), "{}", show(&out));
    }
    let pool = db.pool().await;
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM public.interactions")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(stored, 6000, "both demos' interactions");

    // Each had its own spool; `spool status` shows them all, with nothing left waiting.
    assert!(spool.exists() && dir.path().join("spool-2.db").exists());
    let out = run(command(dir.path())
        .args(["spool", "status", "--json"])
        .env("ASSISTANT_DB_SPOOL", &spool));
    let status = json_of(&assert_args_ok(&["spool", "status"], &out));
    assert_eq!(status["pending"], 0, "{status}");
    let spools = status["spools"].as_array().expect("spools");
    assert_eq!(spools.len(), 2, "{status}");
    assert!(spools.iter().all(|s| s["held_by"].is_null()), "{status}");
}

/// Reads ids from a demo's stdout until `n` were acknowledged.
fn acknowledged(
    child: &mut Child,
    n: usize,
) -> (
    Vec<Uuid>,
    std::io::Lines<BufReader<std::process::ChildStdout>>,
) {
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let mut ids = Vec::new();
    while ids.len() < n {
        let line = lines
            .next()
            .expect("the demo ended too early")
            .expect("read");
        ids.push(Uuid::parse_str(line.trim()).expect("an id per line"));
    }
    (ids, lines)
}

#[tokio::test]
async fn kill_9_of_one_of_two_loggers_loses_nothing_it_acknowledged() {
    let db = scratch_db(Schema::Migrated).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let spool = dir.path().join("spool.db");
    let spawn = |count: &str, seed: &str| {
        demo(
            dir.path(),
            &spool,
            &db.url,
            &["--count", count, "--seed", seed, "--echo-ids"],
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn a demo")
    };
    let mut survivor = spawn("20000", "1");
    let mut victim = spawn("200000", "2");
    let (mut kept, survivor_lines) = acknowledged(&mut survivor, 2_000);
    let (mut lost, victim_lines) = acknowledged(&mut victim, 5_000);
    victim.kill().expect("kill -9"); // SIGKILL: no destructor, no flush.
    victim.wait().expect("reap");
    // Lines printed before it died were acknowledged too.
    lost.extend(
        victim_lines
            .map_while(Result::ok)
            .filter_map(|l| Uuid::parse_str(l.trim()).ok()),
    );
    kept.extend(
        survivor_lines
            .map_while(Result::ok)
            .filter_map(|l| Uuid::parse_str(l.trim()).ok()),
    );
    let status = survivor.wait().expect("the survivor ends");
    assert!(status.success(), "the other logger kept working");
    assert_eq!(kept.len(), 20_000);

    // Whatever the dead one still held, the next logger to start adopts and stores.
    let pool = db.pool().await;
    let logger = Logger::start(Client::from_pool(pool.clone()), LoggerConfig::new(&spool))
        .await
        .expect("a logger starts beside the dead one's spool");
    logger.flush(Duration::from_secs(120)).await.expect("flush");
    // Adopted entries are not this logger's own: wait until its spool is empty too.
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while logger.stats().await.expect("stats").depth > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the adopted entries never drained"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    logger
        .shutdown(Duration::from_secs(10))
        .await
        .expect("shutdown");

    let stored: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM public.interactions")
        .fetch_all(&pool)
        .await
        .expect("ids");
    let stored_set: HashSet<Uuid> = stored.iter().copied().collect();
    assert_eq!(
        stored_set.len(),
        stored.len(),
        "an interaction was stored twice"
    );
    for (who, ids) in [("the survivor", &kept), ("the killed one", &lost)] {
        let missing = ids.iter().filter(|id| !stored_set.contains(id)).count();
        assert_eq!(
            missing, 0,
            "{missing} interactions {who} acknowledged were lost"
        );
    }
    assert!(
        stored.len() < 220_000,
        "the killed demo was killed before it finished"
    );
}

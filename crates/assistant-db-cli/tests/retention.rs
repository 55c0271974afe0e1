//! `retention run|log` and `forget` as a user runs them: summaries and receipts, a run
//! killed in the middle and run again, the spools under the home, and `serve` pruning
//! with `ASSISTANT_DB_RETENTION`.

mod common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use assistant_db::logger::{Logger, LoggerConfig, SpoolFile};
use assistant_db::model::{AssistantMode, Interaction, Outcome, VarChar};
use assistant_db::Client;
use common::{assert_ok, command, json_of, run, scratch_db, show, stdout, Home, Schema, Served};
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;

async fn count(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// `n` interactions `days` old (every fourth escalated, with its escalation).
async fn seed(pool: &PgPool, n: u32, days: u32, query: &str) {
    sqlx::raw_sql(&format!(
        "INSERT INTO interactions (assistant_mode, user_query, outcome, \"timestamp\")
         SELECT 'customer', '{query} ' || g, CASE WHEN g % 4 = 0 THEN 'escalated' ELSE 'resolved' END,
                now() - interval '{days} days' + g * interval '1 millisecond'
         FROM generate_series(1, {n}) AS g;
         INSERT INTO escalations (interaction_id, trigger_type, escalation_reason)
         SELECT id, 'human_only', 'r' FROM interactions
         WHERE outcome = 'escalated' AND user_query LIKE '{query} %';"
    ))
    .execute(pool)
    .await
    .expect("seed");
}

#[tokio::test]
async fn dry_run_then_run_then_the_log() {
    let db = scratch_db(Schema::Migrated).await;
    let pool = db.pool().await;
    seed(&pool, 1000, 500, "old").await;
    seed(&pool, 10, 1, "new").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let cli = |args: &[&str]| {
        let out = run(command(dir.path())
            .args(args)
            .args(["--database-url", &db.url]));
        assert_ok(&out)
    };

    let preview = json_of(&cli(&[
        "retention",
        "run",
        "--older-than",
        "400d",
        "--dry-run",
        "--json",
    ]));
    assert_eq!(
        (
            preview["interactions"].as_i64(),
            preview["escalations"].as_i64()
        ),
        (Some(1000), Some(250))
    );
    assert_eq!(preview["dry_run"], true);
    assert_eq!(
        count(&pool, "SELECT count(*) FROM interactions").await,
        1010
    );
    let text = cli(&["retention", "run", "--older-than", "400d", "--dry-run"]);
    assert!(
        text.contains("1000 interactions and 250 escalations are older than 400d"),
        "{text}"
    );

    let summary = json_of(&cli(&[
        "retention",
        "run",
        "--older-than",
        "400d",
        "--batch-size",
        "300",
        "--json",
    ]));
    assert_eq!(
        (
            summary["interactions"].as_i64(),
            summary["escalations"].as_i64()
        ),
        (Some(1000), Some(250))
    );
    assert_eq!(summary["batches"], 4);
    assert_eq!(count(&pool, "SELECT count(*) FROM interactions").await, 10);

    let text = cli(&["retention", "run", "--older-than", "400d"]);
    assert!(text.starts_with("Nothing is older than 400d"), "{text}");
    // What is left still follows the model's rules, and the security checks still pass.
    let data = cli(&["verify", "--data"]);
    assert!(
        data.contains("OK: every stored row follows the model's rules"),
        "{data}"
    );
    cli(&["verify"]);
    let log = json_of(&cli(&["retention", "log", "--json"]));
    let entries = log.as_array().expect("entries");
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[1]["interactions"], 1000);
    assert_eq!(entries[1]["via"], "cli");
    let table = cli(&["retention", "log"]);
    assert!(table.contains("older than 400 days"), "{table}");

    // No policy anywhere, or a bad one: a clear refusal, nothing deleted.
    let out = run(command(dir.path()).args(["retention", "run", "--database-url", &db.url]));
    assert!(
        !out.status.success() && common::stderr(&out).contains("--older-than 400d"),
        "{}",
        show(&out)
    );
    let out = run(command(dir.path()).args([
        "retention",
        "run",
        "--older-than",
        "400",
        "--database-url",
        &db.url,
    ]));
    assert!(
        !out.status.success() && common::stderr(&out).contains("at least 1d"),
        "{}",
        show(&out)
    );
    let out = run(command(dir.path())
        .args([
            "retention",
            "run",
            "--dry-run",
            "--json",
            "--database-url",
            &db.url,
        ])
        .env("ASSISTANT_DB_RETENTION", "1d"));
    assert_eq!(json_of(&stdout(&out))["policy"], "1d", "{}", show(&out));
}

/// `kill -9` in the middle of a run: whole batches are gone, nothing else; the trail
/// shows the run unfinished; the next run finishes the job.
#[tokio::test]
async fn a_run_killed_in_the_middle_is_finished_by_the_next() {
    let db = scratch_db(Schema::Migrated).await;
    let pool = db.pool().await;
    seed(&pool, 60_000, 500, "old").await;
    seed(&pool, 100, 1, "new").await;
    let dir = tempfile::tempdir().expect("tempdir");
    // Named, so that the test can wait for its server session to end after the kill.
    let url = format!(
        "{}{}application_name=killed-retention",
        db.url,
        if db.url.contains('?') { '&' } else { '?' }
    );
    let mut child = command(dir.path())
        .args([
            "retention",
            "run",
            "--older-than",
            "400d",
            "--batch-size",
            "100",
            "--database-url",
            &url,
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let deleted: i64 = count(
            &pool,
            "SELECT coalesce(max(interactions), 0) FROM assistant_db.retention_log",
        )
        .await;
        if deleted >= 1000 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the run deleted nothing in two minutes"
        );
        assert!(
            child.try_wait().expect("wait").is_none(),
            "the run ended before it was killed"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    child.kill().expect("kill -9");
    child.wait().expect("reap");
    // The batch in flight at the kill still commits or rolls back on the server: count
    // only once the killed run's sessions are gone.
    let deadline = Instant::now() + Duration::from_secs(60);
    while count(
        &pool,
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'killed-retention'",
    )
    .await
        > 0
    {
        assert!(
            Instant::now() < deadline,
            "the killed run's session did not end"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let left = count(
        &pool,
        "SELECT count(*) FROM interactions WHERE user_query LIKE 'old %'",
    )
    .await;
    assert!(
        left > 0 && left < 60_000,
        "killed in the middle: {left} old rows left"
    );
    let (done, finished): (i64, bool) = sqlx::query_as(
        "SELECT interactions, finished_at IS NOT NULL FROM assistant_db.retention_log",
    )
    .fetch_one(&pool)
    .await
    .expect("trail");
    assert!(!finished, "the trail shows the run unfinished");
    assert_eq!(
        done,
        60_000 - left,
        "the trail counts exactly the batches that committed"
    );
    assert_eq!(
        count(&pool, "SELECT count(*) FROM escalations e JOIN interactions i ON i.id = e.interaction_id WHERE i.user_query LIKE 'old %'").await,
        count(&pool, "SELECT count(*) FROM interactions WHERE user_query LIKE 'old %' AND outcome = 'escalated'").await,
        "no interaction lost its escalation while staying itself"
    );

    let out = run(command(dir.path()).args([
        "retention",
        "run",
        "--older-than",
        "400d",
        "--json",
        "--database-url",
        &db.url,
    ]));
    let summary = json_of(&assert_ok(&out));
    assert_eq!(summary["interactions"].as_i64(), Some(left));
    assert_eq!(count(&pool, "SELECT count(*) FROM interactions").await, 100);
    assert_eq!(count(&pool, "SELECT count(*) FROM escalations").await, 25);
    assert_eq!(
        count(
            &pool,
            "SELECT sum(interactions)::int8 FROM assistant_db.retention_log"
        )
        .await,
        60_000
    );
}

#[tokio::test]
async fn forget_erases_the_session_in_the_database_and_the_spools_under_the_home() {
    let db = scratch_db(Schema::Migrated).await;
    let pool = db.pool().await;
    let client = Client::from_pool(pool.clone());
    let session = |query: &str, id: &str| {
        let mut i =
            Interaction::new(AssistantMode::Customer, query, Outcome::Resolved).expect("valid");
        i.session_id = Some(VarChar::parse(id).expect("session"));
        i
    };
    client
        .log(
            &[
                session("stored a", "conv-1"),
                session("stored b", "conv-1"),
                session("kept", "conv-2"),
            ],
            &[],
        )
        .await
        .expect("stored");

    // A spool under the home, as a logger for another (unreachable) database leaves it.
    let dir = tempfile::tempdir().expect("tempdir");
    let home = dir.path().join("home");
    let spool = home.join("spool").join("pg-0123456789abcdef.db");
    let unreachable = Client::from_pool(
        PgPoolOptions::new()
            .acquire_timeout(Duration::from_millis(200))
            .connect_lazy_with(db.options.clone().database("no_such_database")),
    );
    let logger = Logger::start(unreachable, LoggerConfig::new(&spool))
        .await
        .expect("logger");
    logger
        .log(session("waiting secret", "conv-1"))
        .await
        .expect("spooled");
    logger
        .log(session("other waiting", "conv-2"))
        .await
        .expect("spooled");
    let _ = logger.shutdown(Duration::from_millis(100)).await;

    let out = run(command(dir.path())
        .args([
            "forget",
            "--session",
            "conv-1",
            "--json",
            "--database-url",
            &db.url,
        ])
        .env("ASSISTANT_DB_HOME", &home));
    let receipt = json_of(&assert_ok(&out));
    assert_eq!(receipt["database"]["interactions"], 2, "{receipt}");
    assert_eq!(receipt["spools"]["files"][0]["entries"], 1, "{receipt}");
    assert_eq!(
        receipt["spools"]["files"][0]["path"],
        spool.display().to_string()
    );
    assert_eq!(receipt["may_still_be_logging"], true);
    assert!(
        !receipt.to_string().contains("secret"),
        "no content in the receipt"
    );
    assert_eq!(count(&pool, "SELECT count(*) FROM interactions").await, 1);
    let data = assert_ok(&run(command(dir.path()).args([
        "verify",
        "--data",
        "--database-url",
        &db.url,
    ])));
    assert!(
        data.contains("OK: every stored row follows the model's rules"),
        "{data}"
    );
    let status = SpoolFile::inspect(&spool)
        .await
        .expect("spool")
        .status()
        .await
        .expect("status");
    assert_eq!(status.pending, 1);

    // The text receipt, and the trail found by the session id.
    let out = run(command(dir.path())
        .args(["forget", "--session", "conv-2", "--database-url", &db.url])
        .env("ASSISTANT_DB_HOME", &home));
    let text = assert_ok(&out);
    assert!(
        text.contains("Erased session \"conv-2\"") && text.contains("database: 1 interactions"),
        "{text}"
    );
    assert!(text.contains("not reached:"), "{text}");
    let out = run(command(dir.path()).args([
        "retention",
        "log",
        "--session",
        "conv-1",
        "--json",
        "--database-url",
        &db.url,
    ]));
    let log = json_of(&assert_ok(&out));
    assert_eq!(log.as_array().map(Vec::len), Some(1));
    assert_eq!(log[0]["spool_entries"], 1);
    let out = run(command(dir.path()).args(["forget", "--database-url", &db.url]));
    assert!(!out.status.success(), "{}", show(&out));
}

#[tokio::test]
async fn serve_prunes_at_start_when_a_policy_is_set() {
    let db = scratch_db(Schema::Migrated).await;
    let pool = db.pool().await;
    seed(&pool, 500, 500, "old").await;
    seed(&pool, 5, 1, "new").await;
    let home = Home::new();
    let mut cmd = home.cmd(&["serve", "--addr", "127.0.0.1:0", "--database-url", &db.url]);
    cmd.env("ASSISTANT_DB_RETENTION", "400d");
    let _served = Served::start(&mut cmd, Duration::from_secs(60));
    let deadline = Instant::now() + Duration::from_secs(60);
    while count(
        &pool,
        "SELECT count(*) FROM assistant_db.retention_log WHERE finished_at IS NOT NULL",
    )
    .await
        == 0
    {
        assert!(
            Instant::now() < deadline,
            "serve did not run retention at start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(count(&pool, "SELECT count(*) FROM interactions").await, 5);
    let via: String = sqlx::query_scalar("SELECT via FROM assistant_db.retention_log")
        .fetch_one(&pool)
        .await
        .expect("via");
    assert_eq!(via, "serve");
}

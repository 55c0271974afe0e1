//! Retention and erasure against a real PostgreSQL (and over the REST API): what goes,
//! what stays, the trail, a writer that holds a row, a logger writing all the while, and
//! the pg_cron procedure run by a real pg_cron.

mod common;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use assistant_db::logger::{EscalatedInteraction, Logger, LoggerConfig};
use assistant_db::metrics::MetricsFilter;
use assistant_db::model::{AssistantMode, Escalation, Interaction, Outcome};
use assistant_db::retention::{AuditQuery, ErasureTarget, RetentionPolicy, SessionId, Via};
use assistant_db::{Client, Error};
use common::rest::{Db, Role, Transport};
use sqlx::PgPool;
use uuid::Uuid;

/// What [`seed`] wrote.
const OLD: i64 = 300;
const OLD_ESCALATED: i64 = 100;
const NEW: i64 = 120;

/// Another writer's rows: `OLD` interactions 500 days old (every third with an
/// escalation), `NEW` from today, two without a timestamp (one created 500 days ago,
/// one now), escalations of no interaction (one old, one new), two knowledge documents.
async fn seed(pool: &PgPool) {
    common::exec(
        pool,
        "INSERT INTO interactions (assistant_mode, user_query, outcome, \"timestamp\", session_id)
         SELECT 'customer', 'old question ' || g,
                CASE WHEN g % 3 = 0 THEN 'escalated' ELSE 'resolved' END,
                now() - interval '500 days' + g * interval '1 minute', 'old-' || (g % 10)
         FROM generate_series(1, 300) AS g;
         INSERT INTO escalations (interaction_id, trigger_type, escalation_reason)
         SELECT id, 'human_only', 'old reason' FROM interactions WHERE outcome = 'escalated';
         INSERT INTO interactions (assistant_mode, user_query, outcome, \"timestamp\", session_id)
         SELECT 'banker', 'new question ' || g, 'resolved', now() - g * interval '1 hour', 'new'
         FROM generate_series(1, 120) AS g;
         INSERT INTO interactions (assistant_mode, user_query, outcome, \"timestamp\", created_at)
         VALUES ('banker', 'untimed old', 'resolved', NULL, now() - interval '500 days'),
                ('banker', 'untimed new', 'resolved', NULL, now());
         INSERT INTO escalations (interaction_id, trigger_type, escalation_reason, created_at)
         VALUES (NULL, 'orphan', 'old orphan', now() - interval '500 days'),
                (NULL, 'orphan', 'new orphan', now());
         INSERT INTO knowledge_documents (openai_file_id, title, ingested_at)
         VALUES ('file-old', 'Old fees', now() - interval '900 days'), ('file-new', 'Fees', now());",
    )
    .await;
}

async fn count(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

fn policy() -> RetentionPolicy {
    "400d".parse().expect("policy")
}

#[tokio::test]
async fn direct_retention_deletes_what_is_old_in_batches_and_keeps_the_rest() {
    retention_deletes_what_is_old(Transport::Direct).await;
}

#[tokio::test]
async fn rest_retention_deletes_what_is_old_in_batches_and_keeps_the_rest() {
    retention_deletes_what_is_old(Transport::Rest).await;
}

async fn retention_deletes_what_is_old(transport: Transport) {
    let db = Db::on(transport).await;
    seed(&db.pool).await;

    // A dry run counts and deletes nothing.
    let preview = db
        .client
        .retention_preview(&policy())
        .await
        .expect("preview");
    assert_eq!(preview.interactions as i64, OLD + 1, "{preview:?}");
    assert_eq!(preview.escalations as i64, OLD_ESCALATED + 1, "{preview:?}");
    assert_eq!(
        count(&db.pool, "SELECT count(*) FROM interactions").await,
        OLD + NEW + 2
    );

    let mut seen = Vec::new();
    let summary = db
        .client
        .run_retention(&policy(), 64, Via::Cli, |run, total| {
            seen.push((run.interactions, total.interactions))
        })
        .await
        .expect("retention");
    assert_eq!(summary.interactions as i64, OLD + 1);
    assert_eq!(summary.escalations as i64, OLD_ESCALATED + 1);
    // 301 rows, 64 a batch: four full batches and a short one.
    assert_eq!(summary.batches, 5);
    assert_eq!(seen.len(), 5);
    assert!(seen.iter().all(|(expected, _)| *expected as i64 == OLD + 1));
    assert!(
        seen.windows(2).all(|w| w[0].1 < w[1].1),
        "progress grows: {seen:?}"
    );

    // What is left: the new rows, the untimed new one, the new orphan, both documents.
    assert_eq!(
        count(&db.pool, "SELECT count(*) FROM interactions").await,
        NEW + 1
    );
    assert_eq!(
        count(&db.pool, "SELECT count(*) FROM interactions WHERE user_query LIKE 'old%' OR user_query = 'untimed old'").await,
        0
    );
    assert_eq!(count(&db.pool, "SELECT count(*) FROM escalations").await, 1);
    assert_eq!(
        count(
            &db.pool,
            "SELECT count(*) FROM escalations WHERE escalation_reason = 'new orphan'"
        )
        .await,
        1
    );
    assert_eq!(
        count(&db.pool, "SELECT count(*) FROM knowledge_documents").await,
        2
    );

    // The trail has the run, finished, with the same counts, and nothing personal.
    let log = db
        .client
        .retention_log(&AuditQuery::default())
        .await
        .expect("trail");
    let entry = log.first().expect("one entry");
    assert_eq!(entry.id, summary.run);
    assert_eq!(
        (
            entry.kind.as_str(),
            entry.via.as_str(),
            entry.policy.as_deref()
        ),
        ("retention", "cli", Some("400 days"))
    );
    assert_eq!(
        (entry.interactions, entry.escalations, entry.batches),
        (301, 101, 5)
    );
    assert!(entry.finished_at.is_some() && entry.target_hash.is_none());

    // A second run finds nothing; readers and the data report are content.
    let again = db
        .client
        .run_retention(&policy(), 64, Via::Cli, |_, _| {})
        .await
        .expect("again");
    assert_eq!(
        (again.interactions, again.escalations, again.batches),
        (0, 0, 1)
    );
    let metrics = db
        .client
        .metrics(&MetricsFilter::default())
        .await
        .expect("metrics");
    assert_eq!(metrics.total_interactions as i64, NEW + 1);
    // The report lists what was seeded breaking the model's rules (an orphan escalation,
    // a row without a timestamp), and nothing else.
    common::exec(
        &db.pool,
        "DELETE FROM escalations WHERE interaction_id IS NULL;          DELETE FROM interactions WHERE \"timestamp\" IS NULL;",
    )
    .await;
    assert!(db.client.data_quality().await.expect("report").passed());
}

#[tokio::test]
async fn policies_and_batches_out_of_range_are_refused_naming_the_field() {
    let db = Db::direct().await;
    let err = db
        .client
        .run_retention(&policy(), 0, Via::Cli, |_, _| {})
        .await
        .expect_err("batch 0");
    assert!(
        matches!(&err, Error::Validation(v) if v.field == "batch"),
        "{err}"
    );
    // The database refuses a policy under a day, whoever calls it.
    let err = sqlx::query("SELECT public.retention_start(interval '400', 'sql')")
        .execute(&db.pool)
        .await
        .expect_err("400 seconds");
    assert!(
        err.to_string()
            .contains("older_than: must be at least 1 day"),
        "{err}"
    );
    let err = db
        .client
        .retention_step(424_242, 10)
        .await
        .expect_err("no such run");
    assert!(
        matches!(&err, Error::Validation(v) if v.field == "run"),
        "{err}"
    );
}

#[tokio::test]
async fn the_public_key_may_neither_prune_nor_erase_nor_read_the_trail() {
    let server = common::rest::RestServer::start().await;
    let anon = server.client(Role::Anon);
    let denied = |r: Result<(), Error>| match r {
        Err(Error::PermissionDenied(_)) => {}
        other => panic!("expected permission denied, got {other:?}"),
    };
    denied(anon.retention_preview(&policy()).await.map(|_| ()));
    denied(anon.retention_start(&policy(), Via::Sql).await.map(|_| ()));
    denied(
        anon.erase(&ErasureTarget::Interaction(Uuid::now_v7()), None, Via::Sql)
            .await
            .map(|_| ()),
    );
    denied(anon.retention_log(&AuditQuery::default()).await.map(|_| ()));
    // Nor can it read the table behind the trail, directly.
    let mut tx = server.pool.begin().await.expect("tx");
    sqlx::query("SET LOCAL ROLE anon")
        .execute(&mut *tx)
        .await
        .expect("anon");
    let err = sqlx::query("SELECT * FROM assistant_db.retention_log")
        .execute(&mut *tx)
        .await
        .expect_err("closed");
    assert!(err.to_string().contains("permission denied"), "{err}");
}

#[tokio::test]
async fn a_row_a_writer_holds_is_skipped_not_waited_for() {
    let db = Db::direct().await;
    seed(&db.pool).await;
    let held: Uuid =
        sqlx::query_scalar("SELECT id FROM interactions WHERE user_query = 'old question 7'")
            .fetch_one(&db.pool)
            .await
            .expect("id");
    let mut writer = db.pool.begin().await.expect("writer's transaction");
    sqlx::query("SELECT 1 FROM interactions WHERE id = $1 FOR UPDATE")
        .bind(held)
        .execute(&mut *writer)
        .await
        .expect("hold the row");

    // The guard only keeps a hang from stalling the suite; a wait would hang for good.
    let summary = tokio::time::timeout(
        Duration::from_secs(60),
        db.client.run_retention(&policy(), 50, Via::Cli, |_, _| {}),
    )
    .await
    .expect("retention does not wait for the writer")
    .expect("retention");
    assert_eq!(summary.interactions as i64, OLD, "all but the held row");
    writer.rollback().await.expect("release");
    assert_eq!(
        count(
            &db.pool,
            &format!("SELECT count(*) FROM interactions WHERE id = '{held}'")
        )
        .await,
        1
    );
    let next = db
        .client
        .run_retention(&policy(), 50, Via::Cli, |_, _| {})
        .await
        .expect("next run");
    assert_eq!(next.interactions, 1, "the next run takes it");
}

/// A logger writes new interactions (some escalated) the whole time, and another writer
/// keeps adding escalations to old interactions, which retention is deleting; a monitor
/// samples PostgreSQL's lock table. No lock wait reaches a second, no logged row is lost,
/// every old row and escalation is gone.
#[tokio::test]
async fn retention_beside_a_busy_logger_blocks_nobody_and_loses_nothing() {
    const OLD_ROWS: i64 = 20_000;
    let pool = common::migrated_db().await;
    common::exec(
        &pool,
        "INSERT INTO interactions (assistant_mode, user_query, outcome, \"timestamp\", session_id)
         SELECT 'customer', 'old ' || g, CASE WHEN g % 4 = 0 THEN 'escalated' ELSE 'resolved' END,
                now() - interval '800 days' + g * interval '1 second', 's' || (g % 500)
         FROM generate_series(1, 20000) AS g;
         INSERT INTO escalations (interaction_id, trigger_type, escalation_reason)
         SELECT id, 'human_only', 'old' FROM interactions WHERE outcome = 'escalated';",
    )
    .await;
    let old_ids: Vec<Uuid> =
        sqlx::query_scalar("SELECT id FROM interactions ORDER BY \"timestamp\"")
            .fetch_all(&pool)
            .await
            .expect("old ids");
    let client = Client::from_pool(pool.clone());
    let dir = tempfile::tempdir().expect("tempdir");
    let logger = Logger::start(
        client.clone(),
        LoggerConfig {
            batch_size: 100,
            flush_interval: Duration::from_millis(20),
            ..LoggerConfig::new(dir.path().join("spool.db"))
        },
    )
    .await
    .expect("logger");
    let running = Arc::new(AtomicBool::new(true));

    let monitor = tokio::spawn({
        let (pool, running) = (pool.clone(), Arc::clone(&running));
        async move {
            let mut longest = 0.0_f64;
            let mut samples = 0u64;
            while running.load(Ordering::Acquire) {
                let wait: f64 = sqlx::query_scalar(
                    "SELECT coalesce(max(extract(epoch FROM clock_timestamp() - l.waitstart)), 0)::float8 \
                     FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
                     WHERE NOT l.granted AND a.datname = current_database()",
                )
                .fetch_one(&pool)
                .await
                .expect("lock sample");
                longest = longest.max(wait);
                samples += 1;
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            (longest, samples)
        }
    });
    let logging = tokio::spawn({
        let (logger, running) = (logger.clone(), Arc::clone(&running));
        async move {
            let (mut interactions, mut escalations) = (Vec::new(), Vec::new());
            let mut n = 0u64;
            while running.load(Ordering::Acquire) {
                n += 1;
                let mut interaction = Interaction::new(
                    AssistantMode::Banker,
                    &format!("new question {n}"),
                    if n.is_multiple_of(5) {
                        Outcome::Escalated
                    } else {
                        Outcome::Resolved
                    },
                )
                .expect("valid");
                interaction.session_id = Some(
                    assistant_db::model::VarChar::parse(format!("live-{}", n % 50))
                        .expect("session"),
                );
                interactions.push(interaction.id);
                let escalation = n.is_multiple_of(5).then(|| {
                    let e =
                        Escalation::new(interaction.id, "low_confidence", "unsure").expect("valid");
                    escalations.push(e.id);
                    e
                });
                logger
                    .log_with_escalations(vec![EscalatedInteraction {
                        interaction,
                        escalations: escalation.into_iter().collect(),
                    }])
                    .await
                    .expect("log");
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            (interactions, escalations)
        }
    });
    // Escalations of old interactions, racing retention's batches for the same rows:
    // each lands before its interaction's batch (and goes with it) or is refused after.
    let contending = tokio::spawn({
        let (pool, running, old_ids) = (pool.clone(), Arc::clone(&running), old_ids.clone());
        async move {
            let (mut landed, mut refused) = (0u64, 0u64);
            let mut i = 0;
            while running.load(Ordering::Acquire) {
                let target = old_ids[(i * 97) % old_ids.len()];
                i += 1;
                match sqlx::query(
                    "INSERT INTO escalations (interaction_id, trigger_type, escalation_reason) \
                     VALUES ($1, 'late', 'late')",
                )
                .bind(target)
                .execute(&pool)
                .await
                {
                    Ok(_) => landed += 1,
                    Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("23503") => {
                        refused += 1
                    }
                    Err(e) => panic!("unexpected error: {e}"),
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            (landed, refused)
        }
    });

    tokio::time::sleep(Duration::from_millis(300)).await;
    let summary = client
        .run_retention(&"400d".parse().expect("policy"), 200, Via::Cli, |_, _| {})
        .await
        .expect("retention");
    tokio::time::sleep(Duration::from_millis(300)).await;
    running.store(false, Ordering::Release);
    let (longest_wait, samples) = monitor.await.expect("monitor");
    let (interactions, escalations) = logging.await.expect("logger task");
    let (landed, refused) = contending.await.expect("contending writer");
    logger.flush(Duration::from_secs(60)).await.expect("flush");
    logger
        .shutdown(Duration::from_secs(10))
        .await
        .expect("shutdown");

    assert!(
        samples > 20,
        "the monitor sampled the run ({samples} samples)"
    );
    assert!(
        longest_wait < 1.0,
        "a writer waited {longest_wait:.3} s for a lock during retention"
    );
    assert_eq!(summary.interactions as i64, OLD_ROWS);
    assert!(summary.batches >= 100, "{summary:?}");
    assert!(
        landed + refused > 0 && interactions.len() > 50,
        "writers overlapped the run"
    );
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM interactions WHERE user_query LIKE 'old %'"
        )
        .await,
        0
    );
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM escalations WHERE escalation_reason IN ('old', 'late')"
        )
        .await,
        0,
        "every escalation of an old interaction went with it"
    );
    let stored: HashSet<Uuid> = sqlx::query_scalar("SELECT id FROM interactions")
        .fetch_all(&pool)
        .await
        .expect("ids")
        .into_iter()
        .collect();
    assert_eq!(
        stored,
        interactions.iter().copied().collect::<HashSet<_>>(),
        "no new row lost"
    );
    let stored_escalations: HashSet<Uuid> = sqlx::query_scalar("SELECT id FROM escalations")
        .fetch_all(&pool)
        .await
        .expect("ids")
        .into_iter()
        .collect();
    assert_eq!(
        stored_escalations,
        escalations.iter().copied().collect::<HashSet<_>>()
    );
}

/// The hash the trail holds is HMAC-SHA256 under the database's own key, so a guessable
/// id cannot be found in it without that key; and the trail finds an erasure by its id.
#[tokio::test]
async fn erasure_is_recorded_under_a_keyed_hash_of_the_id() {
    use hmac::{Hmac, Mac};
    let db = Db::direct().await;
    seed(&db.pool).await;
    let target = ErasureTarget::Session(SessionId::parse("old-3").expect("session"));
    let erased = db
        .client
        .erase(&target, None, Via::Sql)
        .await
        .expect("erase");
    assert_eq!((erased.interactions, erased.escalations), (30, 10));
    assert_eq!(
        count(
            &db.pool,
            "SELECT count(*) FROM interactions WHERE session_id = 'old-3'"
        )
        .await,
        0
    );

    let key: String = sqlx::query_scalar(
        "SELECT value #>> '{}' FROM assistant_db.settings WHERE name = 'erasure_hash_key'",
    )
    .fetch_one(&db.pool)
    .await
    .expect("key");
    let key: Vec<u8> = (0..key.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&key[i..i + 2], 16).expect("hex"))
        .collect();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&key).expect("key");
    mac.update(b"session:old-3");
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(erased.id_hash, expected);
    let unkeyed: String = {
        use sha2::Digest;
        sha2::Sha256::digest(b"session:old-3")
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    assert_ne!(erased.id_hash, unkeyed);

    let found = db
        .client
        .retention_log(&AuditQuery {
            limit: Some(10),
            target: Some(target),
        })
        .await
        .expect("trail");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].target_hash.as_deref(), Some(expected.as_str()));
    let trail = serde_json::to_string(
        &db.client
            .retention_log(&AuditQuery::default())
            .await
            .expect("all"),
    )
    .expect("json");
    assert!(!trail.contains("old-3"), "the trail holds no id: {trail}");
    let report = db.client.verify().await;
    assert!(
        report.passed(),
        "{:?}",
        report.failures().collect::<Vec<_>>()
    );
    let procedure = report
        .check("procedure public.run_retention(interval, integer, text)")
        .expect("the procedure is checked");
    assert!(procedure.ok, "{procedure:?}");
}

//! Erasure of one session everywhere this host holds it: the database, the spool's
//! waiting entries and its dead letters — and an entry a running logger was sending at
//! that very moment.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use assistant_db::logger::erase::{forget, spool_files};
use assistant_db::logger::{Entry, Logger, LoggerConfig, SpoolFile};
use assistant_db::model::{AssistantMode, Escalation, Interaction, Outcome, VarChar};
use assistant_db::retention::{AuditQuery, ErasureTarget, SessionId, Via};
use assistant_db::Client;
use common::rest::Db;
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;
use uuid::Uuid;

fn interaction(session: &str, query: &str) -> Interaction {
    let mut i = Interaction::new(AssistantMode::Customer, query, Outcome::Resolved).expect("valid");
    i.session_id = Some(VarChar::parse(session).expect("session"));
    i
}

/// An interaction the test database refuses for good (see [`refuse_marked`]).
fn refused(session: &str, query: &str) -> Interaction {
    let mut i = interaction(session, query);
    i.intent_name = Some(VarChar::parse("refuse-me").expect("intent"));
    i
}

/// A trigger standing for a database that refuses some records for good (a CHECK the
/// writer did not know about): interactions whose intent is `refuse-me`.
async fn refuse_marked(pool: &PgPool) {
    common::exec(
        pool,
        "CREATE FUNCTION public.refuse_marked() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN
             IF NEW.intent_name = 'refuse-me' THEN
                 RAISE EXCEPTION 'refused for the test' USING ERRCODE = 'check_violation';
             END IF;
             RETURN NEW;
         END $$;
         CREATE TRIGGER refuse_marked BEFORE INSERT ON interactions
             FOR EACH ROW EXECUTE FUNCTION public.refuse_marked();",
    )
    .await;
}

fn config(spool: &Path) -> LoggerConfig {
    LoggerConfig {
        batch_size: 50,
        flush_interval: Duration::from_millis(20),
        min_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(200),
        ..LoggerConfig::new(spool)
    }
}

async fn count(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// The bytes of the spool and its side files, as a lossy string.
fn spool_bytes(spool: &Path) -> String {
    let mut bytes = Vec::new();
    for suffix in ["", "-wal", "-journal"] {
        let mut name = spool.as_os_str().to_owned();
        name.push(suffix);
        bytes.extend(std::fs::read(&name).unwrap_or_default());
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

#[tokio::test]
async fn forget_removes_a_session_from_the_database_the_spool_and_the_dead_letters() {
    let options = common::migrated_options().await;
    let pool = common::pool(options.clone()).await;
    refuse_marked(&pool).await;
    let client = Client::from_pool(pool.clone());
    let dir = tempfile::tempdir().expect("tempdir");
    let spool = dir.path().join("local.db");

    // Stored: three interactions of session S (one escalated), two of session T.
    let stored: Vec<Interaction> = (0..3)
        .map(|n| interaction("S", &format!("S stored {n}")))
        .collect();
    let escalation =
        Escalation::new(stored[0].id, "human_only", "S wants a banker").expect("valid");
    client
        .log(&stored, std::slice::from_ref(&escalation))
        .await
        .expect("stored");
    client
        .log(
            &[
                interaction("T", "T stored 0"),
                interaction("T", "T stored 1"),
            ],
            &[],
        )
        .await
        .expect("stored");

    // Dead letters: an interaction of S and of T the database refuses, and an escalation
    // of the refused S interaction (whose interaction is nowhere in the database).
    let s_dead = refused("S", "S-dead-secret");
    let logger = Logger::start(client.clone(), config(&spool))
        .await
        .expect("logger");
    logger.log(s_dead.clone()).await.expect("spooled");
    logger
        .log(refused("T", "T-dead-secret"))
        .await
        .expect("spooled");
    logger.flush(Duration::from_secs(30)).await.expect("flush");
    logger
        .log_escalation(
            Escalation::new(s_dead.id, "human_only", "S-dead-escalation").expect("valid"),
        )
        .await
        .expect("spooled");
    logger
        .shutdown(Duration::from_secs(30))
        .await
        .expect("shutdown");

    // Waiting entries: the database is unreachable for this logger, so they stay.
    let unreachable = Client::from_pool(
        PgPoolOptions::new()
            .acquire_timeout(Duration::from_millis(300))
            .connect_lazy_with(options.clone().database("no_such_database")),
    );
    let logger = Logger::start(unreachable, config(&spool))
        .await
        .expect("logger");
    logger
        .log(interaction("S", "S-pending-secret"))
        .await
        .expect("spooled");
    logger
        .log_escalation(
            Escalation::new(stored[1].id, "low_confidence", "S-pending-escalation").expect("valid"),
        )
        .await
        .expect("spooled");
    logger
        .log(interaction("T", "T-pending-secret"))
        .await
        .expect("spooled");
    let _ = logger.shutdown(Duration::from_millis(100)).await; // Nothing can be stored.

    let before = SpoolFile::inspect(&spool)
        .await
        .expect("spool")
        .status()
        .await
        .expect("status");
    assert_eq!((before.pending, before.dead), (3, 3), "{before:?}");
    assert!(spool_bytes(&spool).contains("S-pending-secret"));

    let session = ErasureTarget::Session(SessionId::parse("S").expect("session"));
    let files = spool_files(dir.path(), &[]);
    assert_eq!(files, vec![spool.clone()]);
    let receipt = forget(&client, &files, &session, Via::Cli)
        .await
        .expect("forget");

    assert_eq!(
        (receipt.database.interactions, receipt.database.escalations),
        (3, 1)
    );
    let file = &receipt.spools.files[0];
    assert_eq!((file.entries, file.dead_letters), (2, 2), "{receipt:?}");
    assert!(!file.logger_running && file.wal_cleared, "{file:?}");
    assert!(receipt.may_still_be_logging, "entries were still waiting");
    assert_eq!(receipt.target, "session");
    assert!(!receipt.not_reached.is_empty());
    let shown = serde_json::to_string(&receipt).expect("json");
    for secret in ["S stored", "S-pending", "S-dead", "S wants"] {
        assert!(
            !shown.contains(secret),
            "the receipt shows no content: {shown}"
        );
    }

    // Gone from the database; T untouched.
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM interactions WHERE session_id = 'S'"
        )
        .await,
        0
    );
    assert_eq!(count(&pool, "SELECT count(*) FROM escalations").await, 0);
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM interactions WHERE session_id = 'T'"
        )
        .await,
        2
    );

    // Gone from the spool, to the byte; T's entries stay.
    let after = SpoolFile::inspect(&spool).await.expect("spool");
    let status = after.status().await.expect("status");
    assert_eq!((status.pending, status.dead), (1, 1), "{status:?}");
    let dead = after.dead_records().await.expect("dead");
    assert_eq!(dead[0].entry["interaction"]["user_query"], "T-dead-secret");
    let bytes = spool_bytes(&spool);
    for secret in [
        "S-pending-secret",
        "S-pending-escalation",
        "S-dead-secret",
        "S-dead-escalation",
    ] {
        assert!(
            !bytes.contains(secret),
            "{secret} is still in the spool's files"
        );
    }
    assert!(bytes.contains("T-pending-secret") && bytes.contains("T-dead-secret"));

    // The trail has the erasure with the spool's counts, under the id's hash.
    let trail = client
        .retention_log(&AuditQuery {
            limit: Some(5),
            target: Some(session.clone()),
        })
        .await
        .expect("trail");
    assert_eq!(trail.len(), 1);
    assert_eq!(
        (trail[0].spool_entries, trail[0].spool_dead_letters),
        (Some(2), Some(2))
    );
    assert_eq!(
        trail[0].target_hash.as_deref(),
        Some(receipt.id_hash.as_str())
    );

    // A logger that takes over the spool delivers T's entry and nothing of S.
    let logger = Logger::start(client.clone(), config(&spool))
        .await
        .expect("logger");
    logger.flush(Duration::from_secs(30)).await.expect("flush");
    logger
        .shutdown(Duration::from_secs(10))
        .await
        .expect("shutdown");
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM interactions WHERE session_id = 'S'"
        )
        .await,
        0
    );
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM interactions WHERE session_id = 'T'"
        )
        .await,
        3
    );
    assert!(client.data_quality().await.expect("report").passed());
}

/// The logger has read an entry of the session and is writing it (held up by another
/// transaction) when the erasure runs: once its write commits, it finds the entry erased
/// and deletes it again.
#[tokio::test]
async fn an_entry_in_flight_when_erased_is_deleted_again_once_stored() {
    let pool = common::migrated_db().await;
    let client = Client::from_pool(pool.clone());
    let dir = tempfile::tempdir().expect("tempdir");
    let spool = dir.path().join("local.db");
    let logger = Logger::start(client.clone(), config(&spool))
        .await
        .expect("logger");
    let entry = interaction("S", "in flight");

    // Another transaction writes the same id, uncommitted: the logger's insert waits on it.
    let mut holder = pool.begin().await.expect("transaction");
    sqlx::query(
        "INSERT INTO interactions (id, assistant_mode, user_query, outcome, session_id) \
         VALUES ($1, 'customer', 'placeholder', 'resolved', 'someone else')",
    )
    .bind(entry.id)
    .execute(&mut *holder)
    .await
    .expect("hold the id");
    logger
        .log_entry(Entry {
            interaction: Some(entry.clone()),
            escalation: None,
        })
        .await
        .expect("spooled");
    let deadline = Instant::now() + Duration::from_secs(30);
    while count(
        &pool,
        "SELECT count(*) FROM pg_stat_activity \
         WHERE datname = current_database() AND wait_event_type = 'Lock'",
    )
    .await
        == 0
    {
        assert!(
            Instant::now() < deadline,
            "the logger never started writing the entry"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let session = ErasureTarget::Session(SessionId::parse("S").expect("session"));
    let receipt = forget(&client, std::slice::from_ref(&spool), &session, Via::Cli)
        .await
        .expect("forget");
    assert_eq!(receipt.spools.files[0].entries, 1);
    assert!(receipt.spools.files[0].logger_running);
    assert_eq!(receipt.database.interactions, 0, "not stored yet");

    // The other transaction goes away; the logger's write goes through, then is undone.
    holder.rollback().await.expect("rollback");
    logger.flush(Duration::from_secs(30)).await.expect("flush");
    assert_eq!(
        count(
            &pool,
            &format!(
                "SELECT count(*) FROM interactions WHERE id = '{}'",
                entry.id
            )
        )
        .await,
        0,
        "the erased entry must not stay in the database"
    );
    // Later entries of the session are logged as usual (the receipt said so).
    logger
        .log(interaction("S", "after"))
        .await
        .expect("spooled");
    logger.flush(Duration::from_secs(30)).await.expect("flush");
    logger
        .shutdown(Duration::from_secs(10))
        .await
        .expect("shutdown");
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM interactions WHERE session_id = 'S'"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn erasure_over_rest_with_the_secret_key() {
    let db = Db::rest().await;
    let rows: Vec<Interaction> = (0..45)
        .map(|n| interaction("S", &format!("q {n}")))
        .collect();
    db.client.log(&rows, &[]).await.expect("stored");
    db.client
        .log(&[interaction("T", "other")], &[])
        .await
        .expect("stored");
    let session = ErasureTarget::Session(SessionId::parse("S").expect("session"));
    // 45 rows behind a 40-row cap: the ids are read a page at a time.
    let receipt = forget(&db.client, &[], &session, Via::Api)
        .await
        .expect("forget");
    assert_eq!(receipt.database.interactions, 45);
    assert!(receipt.spools.files.is_empty());
    assert_eq!(
        count(&db.pool, "SELECT count(*) FROM interactions").await,
        1
    );
    let one = ErasureTarget::Interaction(Uuid::now_v7());
    let nothing = db.client.erase(&one, None, Via::Api).await.expect("erase");
    assert_eq!((nothing.interactions, nothing.escalations), (0, 0));
    let trail = db
        .client
        .retention_log(&AuditQuery::default())
        .await
        .expect("trail");
    assert_eq!(trail.len(), 2);
    assert_eq!(trail[1].via, "api");
    assert_eq!(trail[1].run_by, "service_role");
}

//! The logger against a real PostgreSQL that goes down and comes back.

use std::collections::HashSet;
use std::time::Duration;

use assistant_db::local::DEFAULT_DATABASE;
use assistant_db::logger::{Logger, LoggerConfig, SpoolFile, WhenFull};
use assistant_db::model::{AssistantMode, Escalation, Interaction, Outcome};
use assistant_db::{Client, Error};
use assistant_db_testkit::EphemeralCluster;
use sqlx::postgres::PgPoolOptions;
use sqlx::{ConnectOptions, Connection};
use uuid::Uuid;

mod common;

/// A private server this test may stop and start, with the schema migrated.
struct Database {
    server: EphemeralCluster,
}

impl Database {
    async fn start() -> Self {
        let server = EphemeralCluster::start()
            .unwrap_or_else(|e| panic!("these tests need PostgreSQL server binaries: {e}"));
        let cluster = server.cluster();
        cluster
            .ensure_database(DEFAULT_DATABASE)
            .await
            .expect("database");
        let mut conn = cluster
            .connect_options(DEFAULT_DATABASE)
            .connect()
            .await
            .expect("connect");
        assistant_db::migrate::run(&mut conn)
            .await
            .expect("migrate");
        conn.close().await.expect("close");
        Database { server }
    }

    /// A client whose pool connects lazily, so it can exist while the server is down.
    fn client(&self) -> Client {
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(2))
            .connect_lazy_with(self.server.cluster().connect_options(DEFAULT_DATABASE));
        Client::from_pool(pool)
    }

    /// A logger on this database with the tests' settings, its spool in `dir`.
    async fn logger(&self, dir: &tempfile::TempDir) -> Logger {
        Logger::start(self.client(), config(dir))
            .await
            .expect("the logger starts (with or without a database)")
    }

    fn stop(&self) {
        self.server.cluster().stop().expect("stop the server");
    }

    fn start_again(&self) {
        self.server.cluster().start().expect("start the server");
    }

    async fn connect(&self) -> sqlx::PgConnection {
        self.server
            .cluster()
            .connect_options(DEFAULT_DATABASE)
            .connect()
            .await
            .expect("connect")
    }

    /// The stored interactions' ids.
    async fn ids(&self) -> Vec<Uuid> {
        self.uuids("SELECT id FROM interactions").await
    }

    /// The interaction ids of the stored escalations.
    async fn escalated_ids(&self) -> Vec<Uuid> {
        self.uuids("SELECT interaction_id FROM escalations").await
    }

    async fn uuids(&self, sql: &str) -> Vec<Uuid> {
        sqlx::query_scalar(sql)
            .fetch_all(&mut self.connect().await)
            .await
            .expect(sql)
    }
}

fn config(dir: &tempfile::TempDir) -> LoggerConfig {
    LoggerConfig {
        batch_size: 200,
        flush_interval: Duration::from_millis(50),
        min_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(300),
        ..LoggerConfig::new(dir.path().join("spool.db"))
    }
}

fn interaction(n: usize) -> Interaction {
    Interaction::new(
        AssistantMode::Customer,
        &format!("question {n}"),
        Outcome::Resolved,
    )
    .expect("valid")
}

/// Logs interactions numbered `range`, waiting for each; returns their ids.
async fn log_many(logger: &Logger, range: std::ops::Range<usize>) -> Vec<Uuid> {
    let mut logged = Vec::new();
    for n in range {
        let i = interaction(n);
        logged.push(i.id);
        logger
            .log(i)
            .await
            .expect("log returns once the record is on disk");
    }
    logged
}

fn assert_exactly_once(stored: &[Uuid], logged: &[Uuid]) {
    let unique: HashSet<_> = stored.iter().collect();
    assert_eq!(unique.len(), stored.len(), "duplicates in the database");
    assert_eq!(
        unique,
        logged.iter().collect::<HashSet<_>>(),
        "stored ids differ from logged ids"
    );
}

#[tokio::test]
async fn database_down_at_start_then_everything_arrives_once() {
    let db = Database::start().await;
    db.stop();
    let dir = tempfile::tempdir().expect("tempdir");
    let logger = db.logger(&dir).await;

    // `log` returns once the record is on disk, database or not.
    let logged = log_many(&logger, 0..1000).await;
    let err = logger
        .flush(Duration::from_millis(300))
        .await
        .expect_err("nothing can be stored yet");
    assert!(
        err.to_string().contains("1000 entries still spooled"),
        "{err}"
    );
    let stats = logger.stats().await.expect("stats");
    assert_eq!((stats.logged, stats.stored, stats.depth), (1000, 0, 1000));
    assert!(
        stats.last_error.is_some() && stats.oldest_age_ms.is_some(),
        "{stats:?}"
    );

    db.start_again();
    logger
        .flush(Duration::from_secs(60))
        .await
        .expect("flush once the database is back");
    assert_exactly_once(&db.ids().await, &logged);
    let stats = logger.stats().await.expect("stats");
    assert_eq!(
        (stats.stored, stats.depth, stats.dead),
        (1000, 0, 0),
        "{stats:?}"
    );
    assert!(stats.retried > 0);
    logger
        .shutdown(Duration::from_secs(5))
        .await
        .expect("shutdown");
}

#[tokio::test]
async fn two_restarts_while_logging_twenty_thousand() {
    let db = Database::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let logger = db.logger(&dir).await;

    let writers: Vec<_> = (0..8)
        .map(|w| {
            let logger = logger.clone();
            tokio::spawn(async move {
                let mut ids = Vec::new();
                for n in 0..2500 {
                    let i = interaction(w * 10_000 + n);
                    ids.push(i.id);
                    if n % 2 == 0 {
                        logger.log(i).await.expect("log");
                    } else {
                        // The buffer may be momentarily full; then wait as `log` does.
                        if let Err(Error::SpoolFull(_)) = logger.log_nowait(i.clone()) {
                            logger.log(i).await.expect("log");
                        }
                    }
                }
                ids
            })
        })
        .collect();
    for _ in 0..2 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let stopper = tokio::task::spawn_blocking({
            let cluster = db.server.cluster().clone();
            move || cluster.stop()
        });
        assert!(
            stopper.await.expect("join").expect("stop"),
            "the server was running"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
        let starter = tokio::task::spawn_blocking({
            let cluster = db.server.cluster().clone();
            move || cluster.start()
        });
        starter.await.expect("join").expect("start");
    }
    let mut logged = Vec::new();
    for writer in writers {
        logged.extend(writer.await.expect("writer"));
    }
    logger.flush(Duration::from_secs(120)).await.expect("flush");
    let stored = db.ids().await;
    assert_eq!(stored.len(), 20_000);
    assert_exactly_once(&stored, &logged);
    logger
        .shutdown(Duration::from_secs(5))
        .await
        .expect("shutdown");
}

#[tokio::test]
async fn a_poison_record_is_dead_lettered_and_the_rest_flow() {
    let db = Database::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let logger = db.logger(&dir).await;
    let mut logged = Vec::new();
    for n in 0..30 {
        if n == 15 {
            // Valid on its own, refused by the database: its interaction does not exist.
            let orphan =
                Escalation::new(Uuid::now_v7(), "low_confidence", "orphan").expect("valid");
            logger.log_escalation(orphan).await.expect("log");
        }
        let i = interaction(n);
        logged.push(i.id);
        logger.log(i).await.expect("log");
    }
    logger.flush(Duration::from_secs(30)).await.expect("flush");
    assert_exactly_once(&db.ids().await, &logged);
    let stats = logger.stats().await.expect("stats");
    assert_eq!(
        (stats.stored, stats.dead, stats.depth),
        (30, 1, 0),
        "{stats:?}"
    );
    let path = logger.spool_path().to_path_buf();
    logger
        .shutdown(Duration::from_secs(5))
        .await
        .expect("shutdown");

    let spool = SpoolFile::inspect(&path).await.expect("inspect");
    let dead = spool.dead_records().await.expect("dead");
    assert_eq!(dead.len(), 1);
    assert!(dead[0].error.contains("foreign key"), "{}", dead[0].error);
    assert_eq!(dead[0].entry["escalation"]["escalation_reason"], "orphan");
    assert_eq!(spool.retry_dead(None).await.expect("retry"), 1);
    let status = spool.status().await.expect("status");
    assert_eq!((status.pending, status.dead), (1, 0));
}

#[tokio::test]
async fn a_full_spool_refuses_with_a_typed_error_and_drops_nothing() {
    let db = Database::start().await;
    db.stop();
    let dir = tempfile::tempdir().expect("tempdir");
    let logger = Logger::start(
        db.client(),
        LoggerConfig {
            max_records: 5,
            when_full: WhenFull::Reject,
            ..config(&dir)
        },
    )
    .await
    .expect("logger");
    let logged = log_many(&logger, 0..5).await;
    assert!(matches!(
        logger.log(interaction(5)).await,
        Err(Error::SpoolFull(_))
    ));
    assert!(matches!(
        logger.log_nowait(interaction(6)),
        Err(Error::SpoolFull(_))
    ));
    assert_eq!(
        logger.stats().await.expect("stats").logged,
        5,
        "refused records are not counted"
    );

    db.start_again();
    logger.flush(Duration::from_secs(30)).await.expect("flush");
    assert_exactly_once(&db.ids().await, &logged);
    logger
        .shutdown(Duration::from_secs(5))
        .await
        .expect("shutdown");
}

#[tokio::test]
async fn a_full_spool_makes_log_wait_until_there_is_room() {
    let db = Database::start().await;
    db.stop();
    let dir = tempfile::tempdir().expect("tempdir");
    let logger = Logger::start(
        db.client(),
        LoggerConfig {
            max_records: 3,
            when_full: WhenFull::Wait(Duration::from_millis(200)),
            ..config(&dir)
        },
    )
    .await
    .expect("logger");
    for n in 0..3 {
        logger.log(interaction(n)).await.expect("room for three");
    }
    let started = std::time::Instant::now();
    assert!(matches!(
        logger.log(interaction(3)).await,
        Err(Error::SpoolFull(_))
    ));
    assert!(
        started.elapsed() >= Duration::from_millis(200),
        "it waited before refusing"
    );

    let cluster = db.server.cluster().clone();
    let restart = tokio::task::spawn_blocking(move || {
        std::thread::sleep(Duration::from_millis(100));
        cluster.start()
    });
    // With the database back, the drain frees room and a waiting `log` gets in.
    let mut got_in = false;
    for _ in 0..50 {
        match logger.log(interaction(99)).await {
            Ok(()) => {
                got_in = true;
                break;
            }
            Err(Error::SpoolFull(_)) => continue,
            Err(e) => panic!("{e}"),
        }
    }
    restart.await.expect("join").expect("start");
    assert!(
        got_in,
        "log never got room after the database came back: {:?}",
        logger.stats().await
    );
    logger.flush(Duration::from_secs(30)).await.expect("flush");
    assert_eq!(db.ids().await.len(), 4);
    logger
        .shutdown(Duration::from_secs(5))
        .await
        .expect("shutdown");
}

#[tokio::test]
async fn a_new_logger_resumes_what_the_last_one_left() {
    let db = Database::start().await;
    db.stop();
    let dir = tempfile::tempdir().expect("tempdir");
    let first = db.logger(&dir).await;
    let logged = log_many(&first, 0..100).await;
    // A second logger on the same destination meanwhile gets a spool of its own.
    let beside = Logger::start(db.client(), config(&dir))
        .await
        .expect("a second logger starts beside the first");
    assert_ne!(
        beside.spool_path(),
        first.spool_path(),
        "one logger per spool"
    );
    assert_eq!(beside.stats().await.expect("stats").depth, 0);
    let _ = beside.shutdown(Duration::from_millis(200)).await;
    assert!(
        first.shutdown(Duration::from_millis(200)).await.is_err(),
        "could not flush while down"
    );

    db.start_again();
    let second = db.logger(&dir).await;
    assert_eq!(second.stats().await.expect("stats").depth, 100);
    second.flush(Duration::from_secs(30)).await.expect("flush");
    assert_exactly_once(&db.ids().await, &logged);
    second
        .shutdown(Duration::from_secs(5))
        .await
        .expect("shutdown");
}

#[tokio::test]
async fn escalations_wait_for_their_interactions_while_batches_overlap() {
    let db = Database::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    // Small batches, four in flight: an interaction and its escalation, logged as two
    // entries one after the other, often land in different batches sent at once.
    let logger = Logger::start(
        db.client(),
        LoggerConfig {
            batch_size: 5,
            deliveries: 4,
            ..config(&dir)
        },
    )
    .await
    .expect("logger");
    let mut logged = Vec::new();
    for n in 0..300 {
        let i = interaction(n);
        let escalation = Escalation::new(i.id, "low_confidence", "check").expect("valid");
        logged.push(i.id);
        logger.log(i).await.expect("log");
        logger.log_escalation(escalation).await.expect("log");
    }
    logger.flush(Duration::from_secs(60)).await.expect("flush");
    let stats = logger.stats().await.expect("stats");
    assert_eq!((stats.stored, stats.dead), (600, 0), "{stats:?}");
    assert_exactly_once(&db.ids().await, &logged);
    assert_exactly_once(&db.escalated_ids().await, &logged);
    logger
        .shutdown(Duration::from_secs(5))
        .await
        .expect("shutdown");
}

#[tokio::test]
async fn dead_letters_requeued_by_another_process_reach_the_database() {
    let db = Database::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let logger = db.logger(&dir).await;
    // Refused at first: its interaction is not stored yet.
    let late = interaction(1);
    let escalation = Escalation::new(late.id, "low_confidence", "late").expect("valid");
    logger.log_escalation(escalation).await.expect("log");
    logger.flush(Duration::from_secs(30)).await.expect("flush");
    assert_eq!(logger.stats().await.expect("stats").dead, 1);

    // Once the interaction exists, `assistant-db spool retry` re-queues it from another
    // process while this logger keeps running; the logger finds and stores it.
    db.client().insert_interaction(&late).await.expect("insert");
    let spool = SpoolFile::inspect(logger.spool_path())
        .await
        .expect("inspect");
    assert_eq!(spool.retry_dead(None).await.expect("retry"), 1);
    let mut conn = db.connect().await;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM escalations")
            .fetch_one(&mut conn)
            .await
            .expect("count");
        if stored == 1 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the re-queued escalation never reached the database"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let status = spool.status().await.expect("status");
    assert_eq!((status.dead, status.pending), (0, 0), "{status:?}");
    logger
        .shutdown(Duration::from_secs(5))
        .await
        .expect("shutdown");
}

#[tokio::test]
async fn over_rest_entries_split_into_requests_arrive_once_and_poison_is_dead_lettered() {
    use common::rest::{fast_retries, key, RestServer, Role};
    let server = RestServer::start().await;
    // Seven rows per request: one batch of the drain becomes several requests, and an
    // interaction's escalation must travel in the same request as its interaction.
    let store = server.store_with(
        key(Role::ServiceRole),
        assistant_db::store::RestOptions {
            batch_rows: 7,
            ..fast_retries()
        },
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let logger = Logger::start(
        Client::from_rest(store),
        LoggerConfig {
            batch_size: 40,
            deliveries: 3,
            ..config(&dir)
        },
    )
    .await
    .expect("logger");
    let mut logged = Vec::new();
    let mut escalated = Vec::new();
    for n in 0..300 {
        let i = interaction(n);
        logged.push(i.id);
        match n % 3 {
            0 => logger.log(i).await.expect("log"),
            1 => {
                let escalation = Escalation::new(i.id, "low_confidence", "with it").expect("valid");
                escalated.push(i.id);
                logger.log_escalated(i, escalation).await.expect("log");
            }
            _ => {
                let escalation = Escalation::new(i.id, "human_only", "after it").expect("valid");
                escalated.push(i.id);
                logger.log(i).await.expect("log");
                logger.log_escalation(escalation).await.expect("log");
            }
        }
        if n == 150 {
            let orphan =
                Escalation::new(Uuid::now_v7(), "low_confidence", "orphan").expect("valid");
            logger.log_escalation(orphan).await.expect("log");
        }
    }
    logger.flush(Duration::from_secs(60)).await.expect("flush");
    let stats = logger.stats().await.expect("stats");
    assert_eq!((stats.dead, stats.depth), (1, 0), "{stats:?}");
    let stored: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM interactions")
        .fetch_all(&server.pool)
        .await
        .expect("interactions");
    assert_exactly_once(&stored, &logged);
    let stored: Vec<Uuid> = sqlx::query_scalar("SELECT interaction_id FROM escalations")
        .fetch_all(&server.pool)
        .await
        .expect("escalations");
    assert_exactly_once(&stored, &escalated);
    let dead = SpoolFile::inspect(logger.spool_path())
        .await
        .expect("inspect")
        .dead_records()
        .await
        .expect("dead");
    assert_eq!(dead[0].entry["escalation"]["escalation_reason"], "orphan");
    logger
        .shutdown(Duration::from_secs(5))
        .await
        .expect("shutdown");
}

#[tokio::test]
async fn after_shutdown_a_clone_is_refused_and_nothing_accepted_is_lost() {
    let db = Database::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let logger = db.logger(&dir).await;
    let clone = logger.clone();
    let mut logged = Vec::new();
    for n in 0..1_000 {
        let i = interaction(n);
        logged.push(i.id);
        clone.log_nowait(i).expect("the buffer has room");
    }
    logger
        .shutdown(Duration::from_secs(30))
        .await
        .expect("shutdown");
    assert!(clone.log_nowait(interaction(5_000)).is_err());
    assert!(clone.log(interaction(5_001)).await.is_err());
    drop(clone);

    // Whatever the first logger accepted is stored, by it or by the next one.
    let next = db.logger(&dir).await;
    next.flush(Duration::from_secs(30)).await.expect("flush");
    assert_exactly_once(&db.ids().await, &logged);
    next.shutdown(Duration::from_secs(5))
        .await
        .expect("shutdown");
}

/// Set in the child process of the test below: the database URL it logs to.
const UNSPOOLED_CHILD: &str = "ASSISTANT_DB_TEST_UNSPOOLED_CHILD";

#[tokio::test]
async fn entries_the_spool_cannot_take_are_counted_and_flush_says_so() {
    if let Ok(url) = std::env::var(UNSPOOLED_CHILD) {
        return unspooled_child(&url).await;
    }
    // The child logs under a 4 MiB limit on the size of any file it writes, so that
    // the spool runs out of room for real (SQLite's writes fail with EFBIG).
    let db = Database::start().await;
    let url = db.server.cluster().url(DEFAULT_DATABASE);
    let output = std::process::Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "entries_the_spool_cannot_take_are_counted_and_flush_says_so",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(UNSPOOLED_CHILD, &url)
        .output()
        .expect("run the child");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the child failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = stdout
        .lines()
        .find_map(|line| line.split_once("CHILD ").map(|(_, json)| json))
        .map(|json| serde_json::from_str(json).expect("the child's report"))
        .unwrap_or_else(|| panic!("no report from the child:\n{stdout}"));
    let (total, stored, unspooled) = (
        report["total"].as_u64().expect("total"),
        report["stats"]["stored"].as_u64().expect("stored"),
        report["stats"]["unspooled"].as_u64().expect("unspooled"),
    );
    assert!(unspooled > 0, "the spool never ran out of room: {report}");
    assert_eq!(stored + unspooled, total, "an entry went missing: {report}");
    let flush = report["flush"].as_str().expect("flush failed");
    assert!(
        flush.contains(&format!(
            "{unspooled} entries handed to log_nowait could not be written"
        )),
        "{flush}"
    );
    let ids = db.ids().await;
    assert_eq!(ids.len() as u64, stored, "rows in the database");
    assert_eq!(
        ids.iter().collect::<HashSet<_>>().len(),
        ids.len(),
        "duplicates"
    );
}

async fn unspooled_child(url: &str) {
    use nix::sys::resource::{setrlimit, Resource};
    use nix::sys::signal::{SigSet, Signal};
    // A write past the limit raises SIGXFSZ, which would end the process; blocked (in
    // this thread and the threads it starts, the spool's writer among them), the write
    // fails with EFBIG instead, as a full disk would make it fail.
    let mut xfsz = SigSet::empty();
    xfsz.add(Signal::SIGXFSZ);
    xfsz.thread_block().expect("block SIGXFSZ");
    setrlimit(Resource::RLIMIT_FSIZE, 4 << 20, 4 << 20).expect("limit file sizes");

    let dir = tempfile::tempdir().expect("tempdir");
    let pool = PgPoolOptions::new()
        .max_connections(2)
        .connect_lazy(url)
        .expect("pool");
    let logger = Logger::start(
        Client::from_pool(pool),
        LoggerConfig {
            buffer: 100_000,
            ..config(&dir)
        },
    )
    .await
    .expect("logger");
    let big = |n: usize| {
        let mut i = interaction(n);
        i.response_text = Some("r".repeat(4_000).try_into().expect("text"));
        i
    };
    // Entries that fit, stored and gone from the spool.
    let mut total = 0;
    for n in 0..200 {
        logger.log(big(n)).await.expect("log");
        total += 1;
    }
    logger.flush(Duration::from_secs(60)).await.expect("flush");
    // Then a burst that cannot fit: while another connection holds the spool's write
    // lock, the writer waits with the burst queued behind it, and then takes it as one
    // transaction (≈ 11 MB) that the file may not grow to.
    let other = rusqlite::Connection::open(logger.spool_path()).expect("open the spool");
    other
        .execute_batch("BEGIN IMMEDIATE")
        .expect("take the write lock");
    for n in 200..3_000 {
        logger.log_nowait(big(n)).expect("the buffer has room");
        total += 1;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    other.execute_batch("ROLLBACK").expect("release the lock");
    let flush = logger.flush(Duration::from_secs(60)).await;
    let stats = logger.stats().await.expect("stats");
    println!(
        "CHILD {}",
        serde_json::json!({
            "total": total,
            "flush": flush.err().map(|e| e.to_string()),
            "stats": stats,
        })
    );
}

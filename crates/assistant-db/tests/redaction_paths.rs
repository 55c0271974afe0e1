//! Every write path redacts: a card number, an IBAN, an e-mail address (and, where the
//! library writes, a phone number) sent through the client over both transports, the
//! logger, and the REST API with either key come back masked; a Luhn-failing order
//! number, an amount and a UUID come back unchanged; and the full card number never
//! appears in the spool file, its WAL, the dead-letter table, the log or an error.
//!
//! The library's paths are tested with the database's guard trigger disabled, so that
//! what comes back masked was masked by the library; the paths that bypass the library
//! are tested with the guard on, which is all they have.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use assistant_db::config::Secret;
use assistant_db::logger::{EscalatedInteraction, Logger, LoggerConfig, SpoolFile};
use assistant_db::model::{AssistantMode, Escalation, Interaction, Outcome};
use assistant_db::redact::{Kind, Policy, RedactionConfig, Redactor};
use assistant_db::Client;
use assistant_db_testkit::rest::{key, Db, RestServer, Role, Transport};
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

/// PII of every kind the tests send: a Visa test number, a valid IBAN, an address and a
/// phone number.
const PII: &str = "Card 4012 8888 8888 1881, IBAN GB82 WEST 1234 5698 7654 32, \
                   mail jane.doe@example.com, call +44 20 7946 0958";
/// [`PII`] as the library stores it.
const MASKED: &str = "Card [CARD ••••1881], IBAN [IBAN GB••…5432], mail [EMAIL], call [PHONE]";
/// [`PII`] as the database guard alone stores it: phone numbers are the library's.
const GUARDED: &str =
    "Card [CARD ••••1881], IBAN [IBAN GB••…5432], mail [EMAIL], call +44 20 7946 0958";
/// Hard negatives: a Luhn-failing order number, an amount, a UUID.
const NEGATIVE: &str = "Order 4111 1111 1111 1112 is late; paid $1,250.00 on 2024-03-15; \
                        ref 0190a6b2-7c3e-7d4f-8a9b-1c2d3e4f5a6b";
/// The card's digits in the ways they could leak, each without its last four digits
/// (the mask keeps those).
const LEAKS: [&str; 3] = ["401288888888", "4012 8888 8888", "4012-8888-8888"];

/// Panics if `haystack` holds the card number in any form.
fn assert_no_card(haystack: &[u8], what: &str) {
    for leak in LEAKS {
        assert!(
            !haystack
                .windows(leak.len())
                .any(|window| window == leak.as_bytes()),
            "{what} holds the card number ({leak})"
        );
    }
}

/// Everything every test logged, at debug level and finer for this crate and sqlx.
fn captured_log() -> Arc<Mutex<Vec<u8>>> {
    static LOG: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOG.get_or_init(|| {
        let log = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&log);
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("debug"))
            .with_ansi(false)
            .with_writer(move || Sink(Arc::clone(&sink)))
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("one subscriber");
        log
    })
    .clone()
}

/// A writer appending to the captured log.
struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Checks the log captured so far; it must hold something, or the check proves nothing.
fn assert_log_clean() {
    let log = captured_log();
    let log = log
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    assert!(!log.is_empty(), "nothing was logged at debug level");
    assert_no_card(&log, "the log");
}

/// Turns the database's guard off, as if the rows were written before migration 006.
async fn without_guard(pool: &PgPool) {
    common::exec(
        pool,
        "ALTER TABLE public.interactions DISABLE TRIGGER redaction_guard; \
         ALTER TABLE public.escalations DISABLE TRIGGER redaction_guard;",
    )
    .await;
}

fn interaction(query: &str, response: &str) -> Interaction {
    let mut row =
        Interaction::new(AssistantMode::Customer, query, Outcome::Escalated).expect("valid");
    row.response_text = Some(response.try_into().expect("text"));
    row.escalation_reason = Some(query.try_into().expect("text"));
    row.classification_reason = Some(response.try_into().expect("text"));
    row
}

/// The four text columns of an interaction.
async fn stored(pool: &PgPool, id: Uuid) -> [Option<String>; 4] {
    let row: (
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
    ) = sqlx::query_as(
        "SELECT user_query, response_text, classification_reason, escalation_reason \
         FROM public.interactions WHERE id = $1",
    )
    .bind(id)
    .fetch_one(pool)
    .await
    .unwrap_or_else(|e| panic!("interaction {id}: {e}"));
    [row.0, row.1, row.2, row.3]
}

async fn stored_reason(pool: &PgPool, id: Uuid) -> String {
    sqlx::query_scalar("SELECT escalation_reason FROM public.escalations WHERE id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap_or_else(|e| panic!("escalation {id}: {e}"))
}

/// An interaction written with [`PII`] in its query and reason and [`NEGATIVE`] in its
/// response and classification comes back as `expected` / unchanged.
async fn assert_masked(pool: &PgPool, id: Uuid, expected: &str) {
    let m = Some(expected.to_owned());
    let n = Some(NEGATIVE.to_owned());
    assert_eq!(stored(pool, id).await, [m.clone(), n.clone(), n, m]);
}

async fn client_writes_are_masked(transport: Transport) {
    let db = Db::on(transport).await;
    without_guard(&db.pool).await;
    let client = &db.client;

    let one = interaction(PII, NEGATIVE);
    client.insert_interaction(&one).await.expect("insert");
    let clean = interaction(NEGATIVE, NEGATIVE);
    let many = [clean.clone(), interaction(PII, NEGATIVE)];
    client
        .insert_interactions(&many)
        .await
        .expect("insert many");
    let escalated = interaction(PII, NEGATIVE);
    let escalation = Escalation::new(escalated.id, "human_only", PII).expect("valid");
    client
        .log_escalated_interaction(&escalated, &escalation)
        .await
        .expect("log escalated");
    let alone = Escalation::new(one.id, "low_confidence", PII).expect("valid");
    client.insert_escalation(&alone).await.expect("escalation");
    let kept = Escalation::new(one.id, "low_confidence", NEGATIVE).expect("valid");
    client
        .log(&[], std::slice::from_ref(&kept))
        .await
        .expect("log");
    let staged = interaction(PII, NEGATIVE);
    client
        .stage_interactions(vec![staged.clone()])
        .await
        .expect("stage")
        .commit()
        .await
        .expect("commit");

    for id in [one.id, many[1].id, escalated.id, staged.id] {
        assert_masked(&db.pool, id, MASKED).await;
    }
    assert_eq!(
        stored(&db.pool, clean.id).await,
        [0; 4].map(|_| Some(NEGATIVE.to_owned()))
    );
    assert_eq!(stored_reason(&db.pool, escalation.id).await, MASKED);
    assert_eq!(stored_reason(&db.pool, alone.id).await, MASKED);
    assert_eq!(stored_reason(&db.pool, kept.id).await, NEGATIVE);

    // Four interactions with two dirty fields each, two dirty escalations.
    let counts = client.redactions();
    for kind in [Kind::Card, Kind::Iban, Kind::Email, Kind::Phone] {
        assert_eq!(counts.get(kind), 10, "{kind} over {transport:?}");
    }
    assert_eq!(counts.total(), 40);
    assert_log_clean();
}

#[tokio::test]
async fn client_writes_are_masked_by_the_library_directly() {
    captured_log();
    client_writes_are_masked(Transport::Direct).await;
}

#[tokio::test]
async fn client_writes_are_masked_by_the_library_over_rest() {
    captured_log();
    client_writes_are_masked(Transport::Rest).await;
}

#[tokio::test]
async fn hash_tokens_are_stored_and_the_key_is_not() {
    captured_log();
    const HASH_KEY: &str = "a hash key of well over thirty-two characters";
    let pool = common::migrated_db().await;
    without_guard(&pool).await;
    let config = RedactionConfig::new()
        .with_policy(Kind::Card, Policy::Hash)
        .with_policy(Kind::Email, Policy::Off)
        .with_hash_key(Secret::new(HASH_KEY));
    let redactor = Redactor::new(&config).expect("config");
    let expected_card = redactor.redact("4012888888881881").into_owned();
    let client = Client::from_pool(pool.clone()).with_redactor(redactor);
    let row = interaction(PII, NEGATIVE);
    client.insert_interaction(&row).await.expect("insert");
    let [query, ..] = stored(&pool, row.id).await;
    let query = query.expect("query");
    assert_eq!(
        query,
        format!(
            "Card {expected_card}, IBAN [IBAN GB••…5432], mail jane.doe@example.com, \
             call [PHONE]"
        )
    );
    assert!(expected_card.starts_with("[CARD #"), "{expected_card}");
    let everything: String =
        sqlx::query_scalar("SELECT string_agg(to_jsonb(i)::text, ' ') FROM public.interactions i")
            .fetch_one(&pool)
            .await
            .expect("rows");
    assert!(!everything.contains(HASH_KEY));
    assert!(!format!("{client:?}").contains(HASH_KEY));
}

/// A logger's settings with its spool in `dir`.
fn logger_config(dir: &tempfile::TempDir) -> LoggerConfig {
    LoggerConfig {
        flush_interval: Duration::from_millis(20),
        min_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(200),
        ..LoggerConfig::new(dir.path().join("spool.db"))
    }
}

/// Every way into the logger, each with [`PII`]; returns the interactions and
/// escalations logged.
async fn log_every_way(logger: &Logger) -> (Vec<Interaction>, Vec<Escalation>) {
    let mut interactions = Vec::new();
    let mut escalations = Vec::new();
    let plain = interaction(PII, NEGATIVE);
    logger.log(plain.clone()).await.expect("log");
    interactions.push(plain.clone());
    let nowait = interaction(PII, NEGATIVE);
    logger.log_nowait(nowait.clone()).expect("log_nowait");
    interactions.push(nowait);
    let escalated = interaction(PII, NEGATIVE);
    let escalation = Escalation::new(escalated.id, "human_only", PII).expect("valid");
    logger
        .log_escalated(escalated.clone(), escalation.clone())
        .await
        .expect("log_escalated");
    interactions.push(escalated);
    escalations.push(escalation);
    let batch = interaction(PII, NEGATIVE);
    let attached = Escalation::new(batch.id, "human_only", PII).expect("valid");
    let second = Escalation::new(batch.id, "low_confidence", PII).expect("valid");
    logger
        .log_with_escalations(vec![EscalatedInteraction {
            interaction: batch.clone(),
            escalations: vec![attached.clone(), second.clone()],
        }])
        .await
        .expect("log_with_escalations");
    interactions.push(batch);
    escalations.extend([attached, second]);
    let later = Escalation::new(plain.id, "low_confidence", PII).expect("valid");
    logger
        .log_escalations(vec![later.clone()])
        .await
        .expect("log_escalations");
    escalations.push(later);
    (interactions, escalations)
}

#[tokio::test]
async fn the_spool_and_its_wal_never_hold_the_card_number() {
    captured_log();
    // No database answers here, so every record stays in the spool.
    let pool = sqlx::postgres::PgPoolOptions::new()
        .acquire_timeout(Duration::from_millis(200))
        .connect_lazy("postgres://nobody@127.0.0.1:1/none")
        .expect("lazy pool");
    let dir = tempfile::tempdir().expect("tempdir");
    let logger = Logger::start(Client::from_pool(pool), logger_config(&dir))
        .await
        .expect("logger");
    let (interactions, escalations) = log_every_way(&logger).await;
    // `log_nowait`'s entry is on disk once a later `log` returns (one writer, in order).
    logger
        .log(interaction(NEGATIVE, NEGATIVE))
        .await
        .expect("log");

    // Seven entries: four interactions (two with an escalation), two escalations alone
    // and the clean interaction; four with two dirty fields each, four dirty escalations.
    let stats = logger.stats().await.expect("stats");
    assert_eq!((interactions.len(), escalations.len()), (4, 4));
    assert_eq!(stats.depth, 7, "{stats:?}");
    assert_eq!(stats.redactions.get(Kind::Card), 12, "{stats:?}");
    assert_eq!(stats.redactions.get(Kind::Phone), 12, "{stats:?}");
    assert_eq!(stats.redactions.total(), 48);

    let mut files = 0;
    for entry in std::fs::read_dir(dir.path()).expect("spool dir") {
        let path = entry.expect("entry").path();
        let bytes = std::fs::read(&path).expect("read");
        assert_no_card(&bytes, &path.display().to_string());
        files += 1;
    }
    assert!(files >= 2, "the spool and its WAL");
    let spool = SpoolFile::inspect(logger.spool_path())
        .await
        .expect("inspect");
    assert_eq!(spool.status().await.expect("status").pending, 7);
    // Nothing can be delivered: the flush inside times out, the entries stay spooled.
    let _ = logger.shutdown(Duration::from_millis(100)).await;
    assert_log_clean();
}

#[tokio::test]
async fn logged_records_arrive_masked_and_dead_letters_hold_no_card_number() {
    captured_log();
    let pool = common::migrated_db().await;
    without_guard(&pool).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let logger = Logger::start(Client::from_pool(pool.clone()), logger_config(&dir))
        .await
        .expect("logger");
    let (interactions, escalations) = log_every_way(&logger).await;
    let clean = interaction(NEGATIVE, NEGATIVE);
    logger.log(clean.clone()).await.expect("log");
    // An escalation of no interaction: refused for good, so dead-lettered.
    let orphan = Escalation::new(Uuid::now_v7(), "human_only", PII).expect("valid");
    logger.log_escalation(orphan).await.expect("spooled");
    logger.flush(Duration::from_secs(30)).await.expect("flush");

    for row in &interactions {
        assert_masked(&pool, row.id, MASKED).await;
    }
    assert_eq!(
        stored(&pool, clean.id).await,
        [0; 4].map(|_| Some(NEGATIVE.to_owned()))
    );
    for escalation in &escalations {
        assert_eq!(stored_reason(&pool, escalation.id).await, MASKED);
    }
    let stats = logger.stats().await.expect("stats");
    assert_eq!(stats.dead, 1, "{stats:?}");
    assert_eq!(stats.redactions.get(Kind::Card), 13, "{stats:?}");
    let json = serde_json::to_value(&stats).expect("stats serialize");
    assert_eq!(json["redactions"]["card"], 13);
    assert_eq!(json["redactions"]["iban"], 13);

    let dead = SpoolFile::inspect(logger.spool_path())
        .await
        .expect("inspect")
        .dead_records()
        .await
        .expect("dead");
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].entry["escalation"]["escalation_reason"], MASKED);
    assert!(dead[0].error.contains("foreign key"), "{}", dead[0].error);
    assert_no_card(
        format!("{:?} {}", dead[0], dead[0].entry).as_bytes(),
        "the dead letter",
    );
    logger
        .shutdown(Duration::from_secs(10))
        .await
        .expect("stop");
    for entry in std::fs::read_dir(dir.path()).expect("spool dir") {
        let path = entry.expect("entry").path();
        assert_no_card(&std::fs::read(&path).expect("read"), "the spool");
    }
    assert_log_clean();
}

#[tokio::test]
async fn errors_of_refused_writes_hold_no_card_number() {
    captured_log();
    let pool = common::migrated_db().await;
    without_guard(&pool).await;
    // PostgreSQL's message for a CHECK violation shows the whole failing row.
    common::exec(
        &pool,
        "ALTER TABLE public.interactions ADD CONSTRAINT no_refusals \
         CHECK (intent_name IS DISTINCT FROM 'refuse')",
    )
    .await;
    let client = Client::from_pool(pool.clone());
    let mut refused = interaction(PII, PII);
    refused.intent_name = Some("refuse".try_into().expect("intent"));
    let err = client
        .insert_interaction(&refused)
        .await
        .expect_err("refused");
    let shown = format!("{err} {err:?}");
    assert!(shown.contains("no_refusals"), "{shown}");
    assert_no_card(shown.as_bytes(), "the CHECK violation");

    let orphan = Escalation::new(Uuid::now_v7(), "human_only", PII).expect("valid");
    let err = client.insert_escalation(&orphan).await.expect_err("orphan");
    let shown = format!("{err} {err:?}");
    assert!(
        matches!(err, assistant_db::Error::ForeignKey { .. }),
        "{shown}"
    );
    assert_no_card(shown.as_bytes(), "the foreign-key violation");
    assert_eq!(client.redactions().total(), 0, "nothing was stored");
    assert_log_clean();
}

#[tokio::test]
async fn rows_sent_around_the_library_are_masked_by_the_guard() {
    captured_log();
    let server = RestServer::start().await;
    let http = reqwest::Client::new();
    let post = |path: &str, role: Role, body: serde_json::Value| {
        let key = key(role);
        http.post(format!("{}/{path}", server.url))
            .header("apikey", key.expose())
            .bearer_auth(key.expose())
            .header("Prefer", "return=representation")
            .json(&body)
            .send()
    };
    let row = |id: Uuid| {
        json!({"id": id, "assistant_mode": "customer", "outcome": "escalated",
               "user_query": PII, "escalation_reason": PII,
               "response_text": NEGATIVE, "classification_reason": NEGATIVE})
    };
    // The public key logs through the validating function.
    let public = Uuid::now_v7();
    let reply = post(
        "rpc/log_interactions",
        Role::Anon,
        json!({"p_interactions": [row(public)],
               "p_escalations": [{"interaction_id": public, "trigger_type": "human_only",
                                  "escalation_reason": PII}]}),
    )
    .await
    .expect("request");
    assert!(reply.status().is_success(), "{}", reply.status());
    // The secret key inserts straight into the tables, as the spec's Python wrapper does
    // (`client.table("interactions").insert(data).execute()`).
    let secret = Uuid::now_v7();
    let reply = post("interactions", Role::ServiceRole, row(secret))
        .await
        .expect("request");
    assert!(reply.status().is_success(), "{}", reply.status());
    let answer = reply.bytes().await.expect("body");
    assert_no_card(&answer, "the API's answer");
    let reply = post(
        "escalations",
        Role::ServiceRole,
        json!({"interaction_id": secret, "trigger_type": "human_only",
               "escalation_reason": PII}),
    )
    .await
    .expect("request");
    assert!(reply.status().is_success(), "{}", reply.status());

    for id in [public, secret] {
        assert_masked(&server.pool, id, GUARDED).await;
        let reasons: Vec<String> = sqlx::query_scalar(
            "SELECT escalation_reason FROM public.escalations WHERE interaction_id = $1",
        )
        .bind(id)
        .fetch_all(&server.pool)
        .await
        .expect("escalations");
        assert_eq!(reasons, [GUARDED]);
    }
    assert_log_clean();
}

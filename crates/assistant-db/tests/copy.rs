//! The COPY bulk path (`PgStore::copy_interactions`) against a real PostgreSQL: it stores
//! exactly what `log_interactions` stores, skips ids already present, writes nothing of
//! a batch PostgreSQL refuses, carries any text, falls back to a staging table when a
//! concurrent writer takes one of its ids, and to `log_interactions` for a role that may
//! not COPY.

mod common;

use std::time::Duration;

use assistant_db::demo::{DemoConfig, Generator};
use assistant_db::model::{
    AssistantMode, Citation, Confidence, IntentCategory, Interaction, NonNegativeInt, Outcome,
};
use assistant_db::query::InteractionFilter;
use assistant_db::row::InteractionRow;
use assistant_db::store::PgStore;
use assistant_db::Client;
use chrono::{DateTime, TimeZone, Utc};
use futures_util::TryStreamExt;
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

fn store(pool: &PgPool) -> PgStore {
    PgStore::new(pool.clone(), "test database")
}

fn at(secs: i64, nanos: u32) -> DateTime<Utc> {
    Utc.timestamp_opt(secs, nanos)
        .single()
        .expect("valid instant")
}

async fn count(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM public.interactions")
        .fetch_one(pool)
        .await
        .expect("count")
}

/// Every stored row, read back through the client, in id order.
async fn read_all(pool: &PgPool) -> Vec<Interaction> {
    let client = Client::from_pool(pool.clone());
    let rows: Vec<InteractionRow> = client
        .export_interactions(InteractionFilter::default())
        .try_collect()
        .await
        .expect("export");
    let mut rows: Vec<Interaction> = rows.into_iter().map(model).collect();
    rows.sort_by_key(|row| row.id);
    rows
}

async fn read_one(pool: &PgPool, id: Uuid) -> Interaction {
    model(
        Client::from_pool(pool.clone())
            .interaction(id)
            .await
            .expect("read")
            .expect("stored")
            .interaction,
    )
}

/// A stored row as the model's record (every row these tests store keeps the model).
fn model(row: InteractionRow) -> Interaction {
    Interaction::try_from(row).expect("a row the model accepts")
}

/// Every stored row as PostgreSQL's own JSON of it, `created_at` left out, in id order.
async fn stored_text(pool: &PgPool) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT (to_jsonb(i) - 'created_at')::text FROM public.interactions i ORDER BY id",
    )
    .fetch_all(pool)
    .await
    .expect("rows")
}

fn minimal(query: &str) -> Interaction {
    let mut row =
        Interaction::new(AssistantMode::Customer, query, Outcome::Resolved).expect("valid");
    row.timestamp = at(1_790_000_000, 0);
    row
}

/// Text that COPY's text and CSV formats would have to escape, and more.
const AWKWARD: [&str; 8] = [
    "tab\there\tand\tthere",
    "line\nbreak and\r\nCRLF and a lone \r",
    "back\\slash \\N \\. \\t \\\\ \\x41",
    "\\.",
    "quotes \" ' `, commas ,,, semicolons ;",
    "Unicode: é, 中文, 🦀, e\u{301}, zero\u{200B}width, RTL \u{202E}txet",
    "controls \u{1}\u{7}\u{1b}[0m \u{7f}",
    "",
];

/// An interaction with every column set, its text awkward.
fn awkward(n: usize) -> Interaction {
    let text = AWKWARD[n % AWKWARD.len()];
    let short = |limit: usize| text.chars().take(limit).collect::<String>();
    let mut row = Interaction::new(
        AssistantMode::Banker,
        &format!("{n}: {text}"),
        Outcome::Escalated,
    )
    .expect("valid");
    row.timestamp = at(1_790_000_000 + n as i64, 123_456_000);
    row.session_id = Some(short(255).try_into().expect("session"));
    row.intent_name = Some(short(100).try_into().expect("intent"));
    row.intent_category = Some(IntentCategory::HumanOnly);
    row.classification_reason = Some(text.try_into().expect("reason"));
    row.step_1_intent_completed = true;
    row.step_2_routing_decision = Some(short(50).try_into().expect("route"));
    row.step_3_retrieval_performed = n.is_multiple_of(2);
    row.step_4_response_generated = true;
    row.step_5_confidence_score = Some(Confidence::new(0.1 * (n % 11) as f64).expect("c"));
    row.step_6_escalation_triggered = true;
    row.confidence_score = Some(Confidence::new(1.0 / 3.0).expect("c"));
    row.escalation_reason = Some(text.try_into().expect("reason"));
    row.response_text = Some(format!("{text} {text}").try_into().expect("response"));
    row.citations = Some(vec![
        Citation::new(
            1,
            &format!("source {text}"),
            Some(&format!("https://x/{text}")),
        )
        .expect("cite"),
        Citation::new(2, "plain", None).expect("cite"),
    ]);
    row.retrieved_chunks_count = Some(NonNegativeInt::new(i64::from(i32::MAX)).expect("n"));
    row.processing_time_ms = Some(NonNegativeInt::ZERO);
    row.created_at = Some(at(1_790_000_100, 999_999_000));
    row
}

/// Rows the generator makes, and hand-made ones at every edge the encoding has.
fn varied_rows() -> Vec<Interaction> {
    let config = DemoConfig {
        interactions: 300,
        ..DemoConfig::ending_at(at(1_790_000_000, 0), 30)
    };
    let mut rows: Vec<Interaction> = Generator::new(&config).map(|t| t.interaction).collect();
    rows.extend((0..AWKWARD.len()).map(awkward));
    // Every optional column absent; `created_at` left to the database.
    rows.push(minimal("only the required columns"));
    // An empty citations array is not NULL; zero and one are valid scores.
    let mut edges = minimal("edges");
    edges.citations = Some(Vec::new());
    edges.confidence_score = Some(Confidence::new(0.0).expect("c"));
    edges.step_5_confidence_score = Some(Confidence::new(1.0).expect("c"));
    rows.push(edges);
    // Sub-microsecond instants, before and after 2000, including exact halves, which
    // PostgreSQL rounds to even.
    for (n, (secs, nanos)) in [
        (1_790_000_000, 1),
        (1_790_000_000, 499),
        (1_790_000_000, 500),
        (1_790_000_000, 1_500),
        (1_790_000_000, 2_500),
        (1_790_000_000, 999_999_500),
        (1_790_000_000, 123_456_789),
        (-1_000_000_000, 987_654_321),
        (0, 0),
        (946_684_799, 999_999_999),
    ]
    .into_iter()
    .enumerate()
    {
        let mut row = minimal(&format!("instant {n}"));
        row.timestamp = at(secs, nanos);
        row.created_at = Some(at(secs + 1, nanos));
        rows.push(row);
    }
    rows
}

/// `rows` as PostgreSQL stores them: timestamps in microseconds, `created_at` unknown.
fn forget_created_at(rows: Vec<Interaction>) -> Vec<Interaction> {
    rows.into_iter()
        .map(|row| Interaction {
            created_at: None,
            ..row
        })
        .collect()
}

#[tokio::test]
async fn copy_stores_exactly_what_log_interactions_stores() {
    let (copied, logged) = (common::migrated_db().await, common::migrated_db().await);
    let rows = varied_rows();

    let before = Utc::now() - chrono::Duration::seconds(1);
    let written = store(&copied).copy_interactions(&rows).await.expect("copy");
    let after = Utc::now() + chrono::Duration::seconds(1);
    assert_eq!(written.interactions, rows.len() as u64);
    assert_eq!(written.escalations, 0);
    Client::from_pool(logged.clone())
        .insert_interactions(&rows)
        .await
        .expect("log");

    // Byte for byte the same rows, as PostgreSQL prints them.
    assert_eq!(stored_text(&copied).await, stored_text(&logged).await);
    // The same values read back through the client; `created_at` defaults to now().
    let (back, expected) = (read_all(&copied).await, read_all(&logged).await);
    assert!(back.iter().all(|row| row.created_at.is_some()));
    // Rows sent without one get the transaction's now(), as log_interactions gives them.
    let defaulted: Vec<_> = rows
        .iter()
        .filter(|row| row.created_at.is_none())
        .map(|row| {
            back.iter()
                .find(|b| b.id == row.id)
                .and_then(|b| b.created_at)
        })
        .collect();
    assert_eq!(defaulted.len(), 2);
    assert_eq!(defaulted[0], defaulted[1], "one transaction, one now()");
    assert!(
        defaulted[0].is_some_and(|t| before < t && t < after),
        "{defaulted:?}"
    );
    assert_eq!(forget_created_at(back.clone()), forget_created_at(expected));
    let mut sent = rows.clone();
    sent.sort_by_key(|row| row.id);
    for (back, sent) in back.iter().zip(&sent) {
        // Rows whose instants are whole microseconds come back exactly as sent.
        let whole = |t: Option<DateTime<Utc>>| {
            t.is_none_or(|t| t.timestamp_subsec_nanos().is_multiple_of(1000))
        };
        if whole(Some(sent.timestamp)) && whole(sent.created_at) {
            let sent = Interaction {
                created_at: sent.created_at.or(back.created_at),
                ..sent.clone()
            };
            assert_eq!(back, &sent);
        }
    }
}

#[tokio::test]
async fn text_copy_formats_would_escape_round_trips() {
    let db = common::migrated_db().await;
    let rows: Vec<Interaction> = (0..AWKWARD.len()).map(awkward).collect();
    let written = store(&db).copy_interactions(&rows).await.expect("copy");
    assert_eq!(written.interactions, rows.len() as u64);
    for row in &rows {
        assert_eq!(&read_one(&db, row.id).await, row);
    }
    // The citations are the same JSON the model writes.
    let citations: serde_json::Value =
        sqlx::query_scalar("SELECT citations FROM public.interactions WHERE id = $1")
            .bind(rows[0].id)
            .fetch_one(&db)
            .await
            .expect("citations");
    assert_eq!(
        citations,
        serde_json::to_value(&rows[0].citations).expect("json")
    );
}

#[tokio::test]
async fn rows_already_present_are_skipped_and_a_repeated_id_keeps_its_first_row() {
    let db = common::migrated_db().await;
    let pg = store(&db);
    let present = minimal("already stored");
    Client::from_pool(db.clone())
        .insert_interaction(&present)
        .await
        .expect("log");

    let changed = Interaction {
        user_query: "a different query".try_into().expect("text"),
        ..present.clone()
    };
    let (first, second) = (minimal("first"), minimal("second"));
    let repeat = Interaction {
        user_query: "the repeat".try_into().expect("text"),
        ..first.clone()
    };
    let batch = vec![changed, first.clone(), repeat, second.clone()];
    let written = pg.copy_interactions(&batch).await.expect("copy");
    assert_eq!(written.interactions, 2, "only `first` and `second` are new");
    assert_eq!(count(&db).await, 3);
    assert_eq!(
        read_one(&db, present.id).await.user_query,
        present.user_query
    );
    assert_eq!(read_one(&db, first.id).await.user_query, first.user_query);

    // Again: nothing is new.
    let written = pg.copy_interactions(&batch).await.expect("copy again");
    assert_eq!(written.interactions, 0);
    assert_eq!(count(&db).await, 3);
    assert_eq!(
        pg.copy_interactions(&[]).await.expect("empty").interactions,
        0
    );
}

/// A row PostgreSQL refuses although the model accepts it: a year before 4713 BC.
fn out_of_range() -> Interaction {
    let mut row = minimal("from before the Julian period");
    row.timestamp = Utc
        .with_ymd_and_hms(-5000, 1, 1, 0, 0, 0)
        .single()
        .expect("chrono's range");
    row
}

#[tokio::test]
async fn a_batch_postgresql_refuses_writes_nothing() {
    let db = common::migrated_db().await;
    let mut batch: Vec<Interaction> = (0..50).map(|n| minimal(&format!("row {n}"))).collect();
    batch.insert(25, out_of_range());
    let err = store(&db)
        .copy_interactions(&batch)
        .await
        .expect_err("refused");
    assert!(err.to_string().contains("timestamp out of range"), "{err}");
    assert_eq!(count(&db).await, 0, "nothing of the batch is written");

    // Without the bad row the same batch goes in.
    batch.remove(25);
    let written = store(&db).copy_interactions(&batch).await.expect("copy");
    assert_eq!((written.interactions, count(&db).await), (50, 50));
}

#[tokio::test]
async fn inside_a_transaction_the_caller_commits_or_rolls_back() {
    let db = common::migrated_db().await;
    let rows: Vec<Interaction> = (0..10).map(|n| minimal(&format!("row {n}"))).collect();

    let mut tx = db.begin().await.expect("begin");
    let inserted = PgStore::copy_interactions_in(&mut tx, &rows)
        .await
        .expect("copy");
    assert_eq!(inserted, 10);
    tx.rollback().await.expect("rollback");
    assert_eq!(count(&db).await, 0);

    // A refused batch leaves the caller's transaction usable.
    let mut tx = db.begin().await.expect("begin");
    let mut bad = rows.clone();
    bad.push(out_of_range());
    PgStore::copy_interactions_in(&mut tx, &bad)
        .await
        .expect_err("refused");
    let inserted = PgStore::copy_interactions_in(&mut tx, &rows[..4])
        .await
        .expect("copy");
    assert_eq!(inserted, 4);
    // Called twice in one transaction: the second call skips what the first wrote.
    let inserted = PgStore::copy_interactions_in(&mut tx, &rows)
        .await
        .expect("copy");
    assert_eq!(inserted, 6);
    tx.commit().await.expect("commit");
    assert_eq!(count(&db).await, 10);
}

/// Runs `copy_interactions_in` on `conn` while another transaction holds an uncommitted
/// row with the id of `batch[0]`: the COPY waits, then meets a unique violation when the
/// other commits, and the batch goes through the staging table instead.
async fn race(
    db: &PgPool,
    mut conn: sqlx::pool::PoolConnection<sqlx::Postgres>,
    batch: Vec<Interaction>,
) -> (u64, sqlx::pool::PoolConnection<sqlx::Postgres>) {
    let other = Interaction {
        user_query: "the other writer's row".try_into().expect("text"),
        ..batch[0].clone()
    };
    let mut writer = db.begin().await.expect("begin");
    sqlx::query("SELECT public.log_interactions($1, '[]'::jsonb)")
        .bind(sqlx::types::Json(vec![&other]))
        .execute(&mut *writer)
        .await
        .expect("log");
    let copier = tokio::spawn(async move {
        let inserted = PgStore::copy_interactions_in(&mut conn, &batch).await;
        (inserted, conn)
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!copier.is_finished(), "the COPY waits for the other writer");
    writer.commit().await.expect("commit");
    let (inserted, conn) = copier.await.expect("task");
    (inserted.expect("copy through the staging table"), conn)
}

#[tokio::test]
async fn a_concurrent_writer_of_an_id_sends_the_batch_through_the_staging_table() {
    let db = common::migrated_db().await;
    let conn = db.acquire().await.expect("connection");
    let batch: Vec<Interaction> = (0..AWKWARD.len()).map(awkward).collect();
    let (inserted, conn) = race(&db, conn, batch.clone()).await;
    assert_eq!(inserted, batch.len() as u64 - 1, "the raced id is skipped");
    assert_eq!(
        read_one(&db, batch[0].id).await.user_query.as_str(),
        "the other writer's row"
    );
    for row in &batch[1..] {
        assert_eq!(
            &read_one(&db, row.id).await,
            row,
            "every field, via staging"
        );
    }

    // Again on the same connection: the staging table is reused, and empty.
    let second: Vec<Interaction> = (0..5).map(|n| minimal(&format!("second {n}"))).collect();
    let (inserted, mut conn) = race(&db, conn, second).await;
    assert_eq!(inserted, 4);
    let staged: i64 =
        sqlx::query_scalar("SELECT count(*) FROM pg_temp.assistant_db_staged_interactions")
            .fetch_one(&mut *conn)
            .await
            .expect("the staging table exists on this connection");
    assert_eq!(staged, 0, "emptied at commit");
    assert_eq!(count(&db).await, batch.len() as i64 + 5);
}

#[tokio::test]
async fn a_role_that_may_not_copy_writes_through_log_interactions() {
    let options = common::migrated_options().await;
    let admin = common::pool(options.clone()).await;
    let suffix = Uuid::now_v7().simple().to_string();
    // Only what the public key has: log_interactions, no table privilege.
    let logger = format!("copy_logger_{suffix}");
    // Table privileges, but row-level security applies (no BYPASSRLS): COPY is refused.
    let restricted = format!("copy_rls_{suffix}");
    common::exec(
        &admin,
        &format!(
            "CREATE ROLE {logger} LOGIN IN ROLE anon;
             CREATE ROLE {restricted} LOGIN;
             GRANT USAGE ON SCHEMA public TO {restricted};
             GRANT SELECT, INSERT ON public.interactions TO {restricted};
             GRANT EXECUTE ON FUNCTION public.log_interactions(jsonb, jsonb) TO {restricted};"
        ),
    )
    .await;
    for (n, role) in [logger, restricted].iter().enumerate() {
        let pool = common::pool(options.clone().username(role)).await;
        let rows: Vec<Interaction> = (0..3).map(|i| minimal(&format!("{role} {i}"))).collect();
        let written = store(&pool).copy_interactions(&rows).await.expect(role);
        assert_eq!(written.interactions, 3, "{role}");
        let again = store(&pool).copy_interactions(&rows).await.expect(role);
        assert_eq!(again.interactions, 0, "{role}");
        assert_eq!(count(&admin).await, 3 * (n as i64 + 1));
        pool.close().await;
    }
    let stored: Vec<String> =
        sqlx::query_scalar("SELECT user_query FROM public.interactions ORDER BY user_query")
            .fetch_all(&admin)
            .await
            .expect("rows");
    assert_eq!(stored.len(), 6, "{}", json!(stored));
}

#[tokio::test]
async fn a_large_batch_in_several_messages_round_trips() {
    let db = common::migrated_db().await;
    let config = DemoConfig {
        interactions: 3000,
        ..DemoConfig::ending_at(at(1_790_000_000, 0), 30)
    };
    let rows: Vec<Interaction> = Generator::new(&config).map(|t| t.interaction).collect();
    let written = store(&db).copy_interactions(&rows).await.expect("copy");
    assert_eq!(written.interactions, 3000);
    let mut sent = rows;
    sent.sort_by_key(|row| row.id);
    assert_eq!(read_all(&db).await, sent);
}

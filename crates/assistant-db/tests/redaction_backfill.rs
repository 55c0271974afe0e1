//! The backfill over both transports: rows stored before redaction (written here with
//! the guard's trigger disabled) are masked, only rows that change are rewritten, hard
//! negatives and rows outside the window stay as they were, a dry run writes nothing,
//! and a second run rewrites nothing.

mod common;

use assistant_db::redact::backfill::{BackfillOptions, BackfillProgress};
use assistant_db::redact::Kind;
use assistant_db::store::{TextTable, TextWindow};
use assistant_db::Error;
use assistant_db_testkit::rest::{Db, RestServer, Role, Transport};
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

const PII: &str = "Card 4012 8888 8888 1881, IBAN GB82 WEST 1234 5698 7654 32, \
                   mail jane.doe@example.com, call +44 20 7946 0958";
const MASKED: &str = "Card [CARD ••••1881], IBAN [IBAN GB••…5432], mail [EMAIL], call [PHONE]";
const NEGATIVE: &str = "Order 4111 1111 1111 1112 is late; paid $1,250.00 on 2024-03-15; \
                        ref 0190a6b2-7c3e-7d4f-8a9b-1c2d3e4f5a6b";

/// Old rows: written with the guard off, as before migration 006 or by a writer the
/// library never saw. The guard is back on afterwards, as it is in production.
struct OldRows {
    /// Interactions with PII in `user_query` and `response_text`, inside the window.
    dirty: Vec<Uuid>,
    /// An interaction holding only negatives.
    clean: Uuid,
    /// An interaction with PII, dated before the window.
    before: Uuid,
    /// An escalation with PII.
    escalation: Uuid,
    /// An escalation holding only negatives.
    clean_escalation: Uuid,
}

fn at(text: &str) -> DateTime<Utc> {
    text.parse().expect("timestamp")
}

async fn insert_old_rows(pool: &PgPool) -> OldRows {
    common::exec(
        pool,
        "ALTER TABLE public.interactions DISABLE TRIGGER redaction_guard; \
         ALTER TABLE public.escalations DISABLE TRIGGER redaction_guard;",
    )
    .await;
    let insert = |query: &'static str, response: Option<&'static str>, ts: &'static str| async move {
        sqlx::query_scalar::<_, Uuid>(
            "INSERT INTO public.interactions (assistant_mode, user_query, outcome, \
             response_text, timestamp) VALUES ('customer', $1, 'resolved', $2, $3::timestamptz) \
             RETURNING id",
        )
        .bind(query)
        .bind(response)
        .bind(ts)
        .fetch_one(pool)
        .await
        .expect("insert")
    };
    let mut dirty = Vec::new();
    for _ in 0..5 {
        dirty.push(insert(PII, Some(PII), "2024-06-01T12:00:00Z").await);
    }
    let clean = insert(NEGATIVE, None, "2024-06-01T12:00:00Z").await;
    let before = insert(PII, None, "2024-01-01T00:00:00Z").await;
    let escalate = |reason: &'static str| {
        let interaction = clean;
        async move {
            sqlx::query_scalar::<_, Uuid>(
                "INSERT INTO public.escalations (interaction_id, trigger_type, escalation_reason, \
                 created_at) VALUES ($1, 'human_only', $2, '2024-06-01T12:00:00Z') RETURNING id",
            )
            .bind(interaction)
            .bind(reason)
            .fetch_one(pool)
            .await
            .expect("escalation")
        }
    };
    let escalation = escalate(PII).await;
    let clean_escalation = escalate(NEGATIVE).await;
    common::exec(
        pool,
        "ALTER TABLE public.interactions ENABLE TRIGGER redaction_guard; \
         ALTER TABLE public.escalations ENABLE TRIGGER redaction_guard;",
    )
    .await;
    OldRows {
        dirty,
        clean,
        before,
        escalation,
        clean_escalation,
    }
}

async fn texts(pool: &PgPool, id: Uuid) -> (String, Option<String>) {
    sqlx::query_as("SELECT user_query, response_text FROM public.interactions WHERE id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .expect("row")
}

async fn reason(pool: &PgPool, id: Uuid) -> String {
    sqlx::query_scalar("SELECT escalation_reason FROM public.escalations WHERE id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .expect("row")
}

/// Runs the backfill, collecting its progress reports.
async fn backfill(
    db: &Db,
    options: &BackfillOptions,
) -> (
    assistant_db::redact::backfill::BackfillReport,
    Vec<BackfillProgress>,
) {
    let mut seen = Vec::new();
    let report = db
        .client
        .redact_stored(options, |p| seen.push(*p))
        .await
        .expect("backfill");
    (report, seen)
}

async fn backfill_masks_old_rows(transport: Transport) {
    let db = Db::on(transport).await;
    let old = insert_old_rows(&db.pool).await;
    let window = TextWindow {
        from: Some(at("2024-05-01T00:00:00Z")),
        to: Some(at("2024-07-01T00:00:00Z")),
    };
    let options = BackfillOptions {
        window,
        dry_run: true,
        batch_size: 2,
    };

    let (dry, _) = backfill(&db, &options).await;
    assert!(dry.dry_run);
    assert_eq!(
        (
            dry.interactions.scanned,
            dry.interactions.changed,
            dry.interactions.rewritten
        ),
        (6, 5, 0)
    );
    assert_eq!(
        (
            dry.escalations.scanned,
            dry.escalations.changed,
            dry.escalations.rewritten
        ),
        (2, 1, 0)
    );
    // Five interactions with two dirty columns, one escalation.
    assert_eq!(dry.redactions.get(Kind::Card), 11);
    assert_eq!(dry.redactions.get(Kind::Phone), 11);
    assert_eq!(dry.redactions.total(), 44);
    assert_eq!(
        texts(&db.pool, old.dirty[0]).await.0,
        PII,
        "a dry run writes nothing"
    );

    let (report, progress) = backfill(
        &db,
        &BackfillOptions {
            dry_run: false,
            ..options
        },
    )
    .await;
    assert_eq!(
        (
            report.rows_scanned,
            report.rows_changed,
            report.rows_rewritten
        ),
        (8, 6, 6)
    );
    assert_eq!(report.redactions, dry.redactions);
    for id in &old.dirty {
        assert_eq!(
            texts(&db.pool, *id).await,
            (MASKED.to_owned(), Some(MASKED.to_owned()))
        );
    }
    assert_eq!(
        texts(&db.pool, old.clean).await,
        (NEGATIVE.to_owned(), None)
    );
    assert_eq!(
        texts(&db.pool, old.before).await.0,
        PII,
        "outside the window"
    );
    assert_eq!(reason(&db.pool, old.escalation).await, MASKED);
    assert_eq!(reason(&db.pool, old.clean_escalation).await, NEGATIVE);

    // Progress: each table counted first, then batch after batch up to its total.
    let interactions: Vec<_> = progress
        .iter()
        .filter(|p| p.table == TextTable::Interactions)
        .collect();
    assert!(
        interactions.iter().all(|p| p.total == Some(6)),
        "{progress:?}"
    );
    assert_eq!(interactions.first().map(|p| p.scanned), Some(0));
    assert_eq!(
        interactions.last().map(|p| (p.scanned, p.rewritten)),
        Some((6, 5))
    );
    assert!(interactions
        .windows(2)
        .all(|w| w[0].scanned <= w[1].scanned));
    assert!(interactions.len() >= 4, "batches of two: {progress:?}");

    // Again: nothing left to change.
    let (again, _) = backfill(
        &db,
        &BackfillOptions {
            dry_run: false,
            ..options
        },
    )
    .await;
    assert_eq!(
        (again.rows_scanned, again.rows_changed, again.rows_rewritten),
        (8, 0, 0)
    );
    assert!(again.redactions.is_empty());

    // Without a window every row is scanned, the older one too.
    let (all, _) = backfill(&db, &BackfillOptions::default()).await;
    assert_eq!((all.rows_scanned, all.rows_rewritten), (9, 1));
    assert_eq!(texts(&db.pool, old.before).await.0, MASKED);
}

#[tokio::test]
async fn the_backfill_masks_old_rows_directly() {
    backfill_masks_old_rows(Transport::Direct).await;
}

#[tokio::test]
async fn the_backfill_masks_old_rows_over_rest_with_the_secret_key() {
    backfill_masks_old_rows(Transport::Rest).await;
}

#[tokio::test]
async fn the_public_key_may_not_backfill() {
    let server = RestServer::start().await;
    let old = insert_old_rows(&server.pool).await;
    let err = server
        .client(Role::Anon)
        .redact_stored(&BackfillOptions::default(), |_| {})
        .await
        .expect_err("the public key reads no table");
    assert!(matches!(err, Error::PermissionDenied(_)), "{err:?}");
    assert!(err.to_string().contains("secret"), "{err}");
    assert_eq!(texts(&server.pool, old.dirty[0]).await.0, PII);
}

#[tokio::test]
async fn a_bad_batch_size_is_refused_naming_it() {
    let db = Db::direct().await;
    for batch_size in [0, 10_001] {
        let err = db
            .client
            .redact_stored(
                &BackfillOptions {
                    batch_size,
                    ..BackfillOptions::default()
                },
                |_| {},
            )
            .await
            .expect_err("refused");
        assert!(matches!(err, Error::Validation(_)), "{err:?}");
        assert!(err.to_string().contains("batch_size"), "{err}");
    }
}

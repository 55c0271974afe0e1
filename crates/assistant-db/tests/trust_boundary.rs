//! The trust boundary of migration 005 on real PostgreSQL: rows other writers may store
//! are counted by metrics and reported by the data-quality report; `verify` fails when
//! the boundary drifts; the model's limits agree with the database's; who counts as a
//! restricted caller.

mod common;

use assistant_db::metrics::{self, MetricsFilter};
use assistant_db::model::limits::{jsonb_text_len, MAX_CALL_ROWS, MAX_TEXT_CHARS};
use assistant_db::model::{
    AssistantMode, Citation, Escalation, Interaction, KnowledgeDocument, Outcome,
};
use assistant_db::store::{PgStore, Store};
use assistant_db::verify::{self, data, Report};
use assistant_db::{Client, Error};
use common::rest::{RestServer, Role};
use serde_json::{json, Value};
use sqlx::PgPool;
use uuid::Uuid;

/// Rows another writer may store (the schema allows each), all but one breaking a rule of
/// the model, and escalations: one of no interaction, one with a blank trigger.
const POISON: &str = r#"
INSERT INTO public.interactions (id, "timestamp", assistant_mode, user_query, outcome,
                                 confidence_score, processing_time_ms, citations) VALUES
  ('00000000-0000-7000-8000-000000000001', '2024-05-01T10:00:00Z', 'customer', 'NaN', 'resolved', 'NaN', 100, NULL),
  ('00000000-0000-7000-8000-000000000002', '2024-05-01T10:01:00Z', 'customer', '42', 'resolved', 42, 100, NULL),
  ('00000000-0000-7000-8000-000000000003', '2024-05-01T10:02:00Z', 'customer', '-5 ms', 'resolved', 0.5, -5, NULL),
  ('00000000-0000-7000-8000-000000000004', 'infinity', 'customer', 'infinity', 'resolved', 0.5, 100, NULL),
  ('00000000-0000-7000-8000-000000000005', '2999-01-01T00:00:00Z', 'banker', '2999', 'escalated', 0.5, 100, NULL),
  ('00000000-0000-7000-8000-000000000006', NULL, 'banker', 'no timestamp', 'resolved', 0.5, 100, NULL),
  ('00000000-0000-7000-8000-000000000007', '2024-05-01T10:03:00Z', 'customer', '{} citations', 'resolved', 0.5, 100, '{}'),
  ('00000000-0000-7000-8000-000000000008', '2024-05-01T10:04:00Z', 'customer', '   ', 'resolved', 0.5, 100, NULL),
  ('00000000-0000-7000-8000-000000000009', '2024-05-01T10:05:00Z', 'customer', 'a good row', 'escalated', 0.25, 300,
   '[{"number": 1, "source": "Fee schedule"}]'),
  ('00000000-0000-7000-8000-000000000010', '2024-05-01T10:06:00Z', 'customer', '-infinity', 'resolved', '-Infinity', NULL, NULL);
INSERT INTO public.escalations (interaction_id, trigger_type, escalation_reason) VALUES
  (NULL, 'human_only', 'orphan'),
  ('00000000-0000-7000-8000-000000000009', '  ', 'a blank trigger'),
  ('00000000-0000-7000-8000-000000000009', 'low_confidence', 'fine');
"#;

/// What the metrics must say of [`POISON`]: every row counted, the bad values left out.
fn assert_poison_metrics(m: &metrics::Metrics, how: &str) {
    assert_eq!(m.total_interactions, 10, "{how}: every row counts");
    assert_eq!((m.resolved, m.escalated), (8, 2), "{how}");
    // Six valid 0.5s and one 0.25; NaN, 42 and -Infinity left out.
    let avg = m.avg_confidence.expect("an average");
    assert!((avg - 3.25 / 7.0).abs() < 1e-12, "{how}: {avg}");
    assert_eq!(m.excluded.confidence_score, Some(3), "{how}");
    // Seven 100s and a 300; -5 left out, one NULL.
    assert_eq!(m.processing_time_ms.avg, Some(125.0), "{how}");
    assert_eq!(m.excluded.processing_time_ms, Some(1), "{how}");
    // infinity, 2999 and NULL are left out of the timeseries only.
    assert_eq!(m.excluded.timestamp, Some(3), "{how}");
    assert_eq!(
        m.timeseries.iter().map(|b| b.total).sum::<i64>(),
        7,
        "{how}"
    );
    assert_eq!(
        m.confidence_histogram,
        [0, 0, 1, 0, 0, 6, 0, 0, 0, 0].map(Some),
        "{how}"
    );
    // The blank trigger counts; the orphan belongs to no interaction.
    assert_eq!(
        m.escalations_by_trigger
            .iter()
            .map(|t| t.count)
            .sum::<i64>(),
        2,
        "{how}"
    );
}

/// What the report must say of [`POISON`].
fn assert_poison_report(report: &data::DataReport, how: &str) {
    assert!(!report.passed(), "{how}");
    let interactions = &report.tables[0];
    assert_eq!(
        (
            interactions.table.as_str(),
            interactions.rows,
            interactions.rows_with_problems
        ),
        ("interactions", 10, 9),
        "{how}: {report}"
    );
    for (field, rule, rows) in [
        ("confidence_score", "must be a finite number", 2),
        ("confidence_score", "must be between 0 and 1", 1),
        ("processing_time_ms", "must be at least 0", 1),
        ("timestamp", "must be a finite timestamp", 1),
        ("timestamp", "must be at most 5 minutes in the future", 1),
        ("timestamp", "must be set", 1),
        ("citations", "must be an array of citation objects", 1),
        ("user_query", "must not be empty or whitespace-only", 1),
    ] {
        assert_eq!(
            report.rows_breaking("interactions", field, rule),
            rows,
            "{how}: {field}: {rule}\n{report}"
        );
    }
    assert_eq!(interactions.problems.len(), 8, "{how}: {report}");
    let escalations = &report.tables[1];
    assert_eq!(
        (escalations.rows, escalations.rows_with_problems),
        (3, 2),
        "{how}: {report}"
    );
    assert_eq!(
        report.rows_breaking(
            "escalations",
            "trigger_type",
            "must not be empty or whitespace-only"
        ),
        1
    );
    assert_eq!(
        report.rows_breaking(
            "escalations",
            "interaction_id",
            "is NULL: the escalation belongs to no interaction and counts in no metrics"
        ),
        1
    );
    assert_eq!(report.tables[2].rows_with_problems, 0, "{how}");
}

#[tokio::test]
async fn rows_other_writers_store_are_counted_by_metrics_and_reported_over_both_transports() {
    let server = RestServer::start().await;
    common::exec(&server.pool, POISON).await;

    let direct = PgStore::metrics_in(&server.pool, &MetricsFilter::default())
        .await
        .expect("metrics over the direct transport");
    assert_poison_metrics(&direct, "direct");
    let rest = server
        .client(Role::ServiceRole)
        .metrics(&MetricsFilter::default())
        .await
        .expect("metrics over REST");
    assert_poison_metrics(&rest, "REST");
    assert_eq!(direct, rest);

    let report = PgStore::new(server.pool.clone(), "test database")
        .data_quality()
        .await
        .expect("report");
    assert_poison_report(&report, "direct");
    let store = server.store_with(
        common::rest::key(Role::ServiceRole),
        common::rest::fast_retries(),
    );
    let over_rest = store.data_quality().await.expect("report over REST");
    assert_poison_report(&over_rest, "REST");
    assert_eq!(over_rest.tables, report.tables);

    // The public key may not read it.
    let public = server.store_with(common::rest::key(Role::Anon), common::rest::fast_retries());
    match public.data_quality().await {
        Err(Error::PermissionDenied(message)) => {
            assert!(message.contains("secret (service_role) key"), "{message}")
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

async fn verify_on(pool: &PgPool) -> Report {
    PgStore::new(pool.clone(), "test database").verify().await
}

fn failing<'r>(report: &'r Report, object: &str) -> &'r verify::Check {
    let check = report
        .check(object)
        .unwrap_or_else(|| panic!("no check named {object:?}:\n{report}"));
    assert!(!check.ok, "{object} should fail:\n{report}");
    assert!(report.to_string().contains(&format!("✗ {object}")));
    check
}

fn migration(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../database/migrations")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[tokio::test]
async fn pasting_003_again_fails_verify_naming_the_function_and_005_repairs_it() {
    let pool = common::migrated_db().await;
    assert!(verify_on(&pool).await.passed());

    // 003 pasted into the SQL editor after every migration: the write function is the
    // old one again, SECURITY INVOKER with another search_path.
    common::exec(&pool, &migration("003_write_functions.sql")).await;
    let report = verify_on(&pool).await;
    let check = failing(&report, "function public.log_interactions(jsonb, jsonb)");
    assert!(
        check
            .detail
            .contains("SECURITY INVOKER, must be SECURITY DEFINER"),
        "{}",
        check.detail
    );
    assert!(check.detail.contains("search_path"), "{}", check.detail);
    assert!(
        check.detail.contains("paste migration 005 again"),
        "{}",
        check.detail
    );
    failing(&report, "function public.upsert_knowledge_documents(jsonb)");
    // And what anon can do shows it: the old function, run with anon's own rights.
    failing(
        &report,
        "log_interactions refuses a bad row to anon, naming row, field and rule",
    );

    common::exec(&pool, &migration("005_trust_boundaries.sql")).await;
    let report = verify_on(&pool).await;
    assert!(report.passed(), "005 pasted again repairs it:\n{report}");
}

#[tokio::test]
async fn verify_fails_on_an_open_table_a_public_grant_and_a_role_without_a_timeout() {
    let pool = common::migrated_db().await;
    let database: String = sqlx::query_scalar("SELECT current_database()")
        .fetch_one(&pool)
        .await
        .expect("name");
    common::exec(
        &pool,
        &format!(
            "CREATE TABLE public.notes (body text); \
             GRANT SELECT ON public.notes TO anon; \
             GRANT EXECUTE ON FUNCTION public.upsert_knowledge_documents(jsonb) TO PUBLIC; \
             GRANT USAGE ON SCHEMA assistant_db TO authenticated; \
             GRANT EXECUTE ON FUNCTION assistant_db.set_public_metrics(boolean) TO anon; \
             ALTER ROLE authenticated IN DATABASE {database} SET statement_timeout = 0;"
        ),
    )
    .await;
    let report = verify_on(&pool).await;
    let notes = failing(&report, "table public.notes closed to the public key");
    assert!(
        notes.detail.contains("row-level security is off")
            && notes.detail.contains("anon may reach it"),
        "{}",
        notes.detail
    );
    let upsert = failing(&report, "function public.upsert_knowledge_documents(jsonb)");
    assert!(
        upsert.detail.contains("PUBLIC may execute it"),
        "{}",
        upsert.detail
    );
    let schema = failing(&report, "schema assistant_db");
    assert!(schema.detail.contains("authenticated"), "{}", schema.detail);
    let internal = failing(&report, "functions of schema assistant_db");
    assert!(
        internal
            .detail
            .starts_with("assistant_db.set_public_metrics(boolean): anon may execute it"),
        "{}",
        internal.detail
    );
    let timeout = failing(&report, "statement_timeout of authenticated");
    assert!(timeout.detail.starts_with("none"), "{}", timeout.detail);
    // The rest still holds.
    assert!(report
        .check("statement_timeout of anon")
        .is_some_and(|c| c.ok));
    common::exec(
        &pool,
        &format!("ALTER ROLE authenticated IN DATABASE {database} RESET statement_timeout"),
    )
    .await;
}

#[tokio::test]
async fn the_model_and_the_database_count_json_alike_and_agree_on_the_limits() {
    let pool = common::migrated_db().await;
    // What the REST client counts before sending is what PostgreSQL counts after.
    let documents = [
        json!({"a": 1, "b": [1, 2.5, -3e-7, 1e21], "c": {"d": null, "e": true}}),
        json!([{"number": 1, "source": "a,b:c \"quoted\" \\ \u{1} é 😀", "url": null}]),
        json!({"small": 5e-324, "big": 1.7976931348623157e308, "neg": -0.0}),
        json!("plain"),
        json!([]),
    ];
    for document in documents {
        let compact = document.to_string();
        let printed: i32 = sqlx::query_scalar("SELECT octet_length($1::jsonb::text)")
            .bind(&compact)
            .fetch_one(&pool)
            .await
            .expect("PostgreSQL prints it");
        assert_eq!(jsonb_text_len(&compact), printed as usize, "{compact}");
    }

    // Each limit, broken on both sides: the same rule in the same words.
    let problem = |sql: &'static str, arg: Value| {
        let pool = pool.clone();
        async move {
            let row: (String, String, String) = sqlx::query_as(sql)
                .bind(arg)
                .fetch_one(&pool)
                .await
                .expect("a problem");
            (row.0, format!("{} (got {})", row.1, row.2))
        }
    };
    let long = "x".repeat(MAX_TEXT_CHARS + 1);
    let rust = Interaction::from_json_value(json!({
        "assistant_mode": "customer", "user_query": long, "outcome": "resolved"
    }))
    .expect_err("too long");
    let sql = problem(
        "SELECT p.field, p.rule, p.got FROM assistant_db.interaction_problems(\
             jsonb_populate_record(NULL::public.interactions, $1)) AS p",
        json!({"assistant_mode": "customer", "user_query": long, "outcome": "resolved",
               "timestamp": "2024-05-01T00:00:00Z"}),
    )
    .await;
    assert_eq!((rust.field, rust.rule), sql);

    let citation =
        serde_json::to_value(Citation::new(1, "Fees", None).expect("valid")).expect("json");
    let many = Value::Array(vec![citation; 101]);
    // Three citations, each within the text limit, together over 64 KiB; as the model
    // writes them (with `"url": null`), which is what a client sends and both sides count.
    let big = Value::Array(
        (1..=3)
            .map(|n| {
                serde_json::to_value(Citation::new(n, &"s".repeat(30_000), None).expect("valid"))
                    .expect("json")
            })
            .collect(),
    );
    for citations in [many, big] {
        let rust = Interaction::from_json_value(json!({
            "assistant_mode": "customer", "user_query": "q", "outcome": "resolved",
            "citations": citations
        }))
        .expect_err("over a limit");
        let (field, rule) = problem(
            "SELECT c[1], c[2], c[3] FROM assistant_db.citations_problem($1) AS c",
            citations.clone(),
        )
        .await;
        assert_eq!(
            (rust.field.as_str(), rust.rule.as_str()),
            (field.as_str(), rule.as_str())
        );
    }

    let metadata = json!({"notes": "n".repeat(70_000)});
    let rust = KnowledgeDocument::from_json_value(json!({
        "openai_file_id": "file-1", "title": "t", "metadata": metadata
    }))
    .expect_err("too large");
    let sql = problem(
        "SELECT p.field, p.rule, p.got FROM assistant_db.knowledge_document_problems(\
             jsonb_populate_record(NULL::public.knowledge_documents, $1)) AS p",
        json!({"openai_file_id": "file-1", "title": "t", "metadata": metadata}),
    )
    .await;
    assert_eq!((rust.field, rust.rule), sql);
}

/// Interactions of the model, `n` of them.
fn interactions(n: usize) -> Vec<Interaction> {
    (0..n)
        .map(|i| {
            Interaction::new(
                AssistantMode::Customer,
                &format!("q{i}"),
                Outcome::Escalated,
            )
            .expect("valid")
        })
        .collect()
}

#[tokio::test]
async fn owners_get_the_value_rules_and_a_login_role_with_only_the_public_keys_rights_the_limits() {
    let options = common::migrated_options().await;
    let owner = common::pool(options.clone()).await;
    let old = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO public.interactions (id, assistant_mode, user_query, outcome, created_at) \
         VALUES ($1, 'customer', 'old', 'escalated', now() - interval '2 hours')",
    )
    .bind(old)
    .execute(&owner)
    .await
    .expect("an old interaction");
    let escalate_old = Escalation::new(old, "human_only", "late").expect("valid");

    // The owner (a direct connection): the value rules, but neither limit.
    let client = Client::from_pool(owner.clone());
    let err: Error = sqlx::query_scalar::<_, Value>(
        "SELECT public.log_interactions('[{\"assistant_mode\": \"customer\", \"user_query\": \"q\", \
                                           \"outcome\": \"resolved\", \"confidence_score\": \"NaN\"}]')",
    )
    .fetch_one(&owner)
    .await
    .expect_err("NaN refused")
    .into();
    match err {
        Error::Validation(v) => assert_eq!(v.field, "interactions[0].confidence_score"),
        other => panic!("expected a validation error, got {other:?}"),
    }
    let many = interactions(MAX_CALL_ROWS + 1);
    let written = client
        .log(&many, std::slice::from_ref(&escalate_old))
        .await
        .expect("no limits for the owner");
    assert_eq!((written.interactions, written.escalations), (1001, 1));

    // A login role holding only what the public key holds, with no SET ROLE: restricted.
    let logger = format!("logger_{}", Uuid::now_v7().simple());
    common::exec(&owner, &format!("CREATE ROLE {logger} LOGIN IN ROLE anon")).await;
    let restricted = common::pool(options.clone().username(&logger)).await;
    let client = Client::from_pool(restricted.clone());
    match client.log(&interactions(MAX_CALL_ROWS + 1), &[]).await {
        Err(Error::Validation(v)) => {
            assert_eq!(v.field, "log_interactions");
            assert!(v.rule.contains("at most 1000 rows"), "{v}");
        }
        other => panic!("expected the row limit, got {other:?}"),
    }
    let again = Escalation::new(old, "human_only", "later still").expect("valid");
    match client.insert_escalation(&again).await {
        Err(Error::Validation(v)) => assert_eq!(v.field, "escalations[0].interaction_id"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    let fresh = interactions(3);
    let with = Escalation::new(fresh[0].id, "human_only", "now").expect("valid");
    let written = client
        .log(&fresh, std::slice::from_ref(&with))
        .await
        .expect("its own interactions");
    assert_eq!((written.interactions, written.escalations), (3, 1));
    restricted.close().await;
}

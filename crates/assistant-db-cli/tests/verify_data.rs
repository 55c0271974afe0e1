//! `assistant-db verify --data` and `assistant-db public-metrics`, run as a user would.

mod common;

use common::{json_of, ok_against, run_against, scratch_db, show, stdout, Schema};

/// Rows the spec's schema allows that break the model's rules, as the SQL editor or a
/// service on the secret key may write them.
const POISON: &str = r#"
INSERT INTO public.interactions (id, "timestamp", assistant_mode, user_query, outcome,
                                 confidence_score, processing_time_ms, citations) VALUES
  ('00000000-0000-7000-8000-000000000001', '2024-05-01T10:00:00Z', 'customer', 'q', 'resolved', 'NaN', 100, NULL),
  ('00000000-0000-7000-8000-000000000002', '2024-05-01T10:01:00Z', 'customer', 'q', 'resolved', 42, 100, NULL),
  ('00000000-0000-7000-8000-000000000003', '2024-05-01T10:02:00Z', 'customer', 'q', 'resolved', 0.5, -5, NULL),
  ('00000000-0000-7000-8000-000000000004', 'infinity', 'customer', 'q', 'resolved', 0.5, 100, NULL),
  ('00000000-0000-7000-8000-000000000005', NULL, 'banker', 'q', 'resolved', 0.5, 100, '{}'),
  ('00000000-0000-7000-8000-000000000006', '2024-05-01T10:04:00Z', 'customer', ' ', 'escalated', 0.5, 100, NULL);
INSERT INTO public.escalations (interaction_id, trigger_type, escalation_reason) VALUES
  (NULL, 'human_only', 'orphan'),
  ('00000000-0000-7000-8000-000000000006', '', 'blank trigger');
"#;

#[tokio::test]
async fn verify_data_reports_each_rule_with_its_count_and_exits_1() {
    let db = scratch_db(Schema::Migrated).await;
    // A clean database passes.
    let clean = ok_against(&db.url, &["verify", "--data"]);
    assert!(
        clean.contains("OK: every stored row follows the model's rules"),
        "{clean}"
    );

    let pool = db.pool().await;
    sqlx::raw_sql(POISON)
        .execute(&pool)
        .await
        .expect("poison rows");
    let out = run_against(&db.url, &["verify", "--data"]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let text = stdout(&out);
    for line in [
        "✗ interactions: 6 of 6 rows break a rule",
        "confidence_score: must be a finite number — 1 row (e.g. id 00000000-0000-7000-8000-000000000001)",
        "confidence_score: must be between 0 and 1 — 1 row",
        "processing_time_ms: must be at least 0 — 1 row",
        "timestamp: must be a finite timestamp — 1 row",
        "timestamp: must be set — 1 row",
        "citations: must be an array of citation objects — 1 row",
        "user_query: must not be empty or whitespace-only — 1 row",
        "✗ escalations: 2 of 2 rows break a rule",
        "trigger_type: must not be empty or whitespace-only — 1 row",
        "interaction_id: is NULL: the escalation belongs to no interaction",
        "✓ knowledge_documents: 0 rows",
        "FAILED: 8 stored rows break the model's rules",
    ] {
        assert!(text.contains(line), "missing {line:?} in:\n{text}");
    }

    let out = run_against(&db.url, &["verify", "--data", "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let report = json_of(&stdout(&out));
    assert_eq!(report["passed"], false);
    assert_eq!(report["tables"][0]["rows_with_problems"], 6);
    let problems = report["tables"][0]["problems"]
        .as_array()
        .expect("problems");
    assert_eq!(problems.len(), 7, "{report}");
    assert!(
        problems
            .iter()
            .all(|p| p["rows"] == 1 && p["example_id"].is_string()),
        "{report}"
    );

    // Metrics still count every row, leaving only the bad values out.
    let metrics = json_of(&ok_against(&db.url, &["metrics", "--json"]));
    assert_eq!(metrics["total_interactions"], 6, "{metrics}");
    assert_eq!(metrics["excluded"]["confidence_score"], 2, "{metrics}");
    assert_eq!(metrics["avg_confidence"], 0.5, "{metrics}");
}

#[tokio::test]
async fn public_metrics_are_off_until_turned_on_and_can_be_turned_off() {
    let db = scratch_db(Schema::Migrated).await;
    let status = |args: &[&str]| json_of(&ok_against(&db.url, args))["public_metrics"].clone();
    assert_eq!(status(&["public-metrics", "status", "--json"]), false);
    assert_eq!(status(&["public-metrics", "on", "--json"]), true);
    assert_eq!(status(&["public-metrics", "status", "--json"]), true);
    let text = ok_against(&db.url, &["public-metrics", "status"]);
    assert!(text.starts_with("Public metrics are on for"), "{text}");
    assert!(text.contains("whole-hour windows"), "{text}");
    // verify lists the setting and tries it as anon.
    let verify = ok_against(&db.url, &["verify"]);
    assert!(verify.contains("✓ public metrics setting: on"), "{verify}");
    assert!(
        verify.contains("✓ interaction_metrics refuses anon a window that is not whole hours"),
        "{verify}"
    );
    let text = ok_against(&db.url, &["public-metrics", "off"]);
    assert!(text.contains("the public key may only log"), "{text}");
    assert_eq!(status(&["public-metrics", "status", "--json"]), false);

    let out = run_against(&db.url, &["public-metrics", "maybe"]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
}

//! `verify` passes on the spec's schema and names the object of every drift.

mod common;

use assistant_db::store::{PgStore, Store};
use assistant_db::verify::Report;

async fn verify_after(drift: &str) -> Report {
    let pool = common::migrated_db().await;
    if !drift.is_empty() {
        common::exec(&pool, drift).await;
    }
    let report = PgStore::new(pool.clone(), "test database").verify().await;
    // Behavioural checks are rolled back: verify leaves no rows behind.
    for table in ["interactions", "escalations", "knowledge_documents"] {
        let exists: bool = sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL")
            .bind(table)
            .fetch_one(&pool)
            .await
            .expect("lookup");
        if exists {
            let rows: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
                .fetch_one(&pool)
                .await
                .expect("count");
            assert_eq!(rows, 0, "verify left rows behind in {table}");
        }
    }
    report
}

fn assert_fails(report: &Report, object: &str, detail: &str) {
    let check = report
        .check(object)
        .unwrap_or_else(|| panic!("no check named {object:?}:\n{report}"));
    assert!(!check.ok, "{object} should fail:\n{report}");
    assert!(
        check.detail.contains(detail),
        "{object}: {:?} lacks {detail:?}",
        check.detail
    );
    assert!(!report.passed());
    assert!(
        report.to_string().contains(&format!("✗ {object}")),
        "{report}"
    );
}

#[tokio::test]
async fn passes_on_a_freshly_migrated_database() {
    let report = verify_after("").await;
    assert!(report.passed(), "{report}");
    assert!(
        report.to_string().ends_with("OK: 110 passed, 0 failed"),
        "{report}"
    );
    assert!(
        report
            .beyond_spec
            .iter()
            .any(|o| o == "table _sqlx_migrations"),
        "{report}"
    );
}

#[tokio::test]
async fn objects_beyond_the_spec_are_listed_not_failed() {
    let report = verify_after(
        "CREATE INDEX idx_extra ON interactions(created_at); \
         CREATE FUNCTION public.answer() RETURNS int LANGUAGE sql AS 'SELECT 42';",
    )
    .await;
    assert!(report.passed(), "{report}");
    assert!(
        report
            .beyond_spec
            .iter()
            .any(|o| o.starts_with("index idx_extra")),
        "{report}"
    );
    assert!(
        report.beyond_spec.iter().any(|o| o == "function answer()"),
        "{report}"
    );
}

#[tokio::test]
async fn catches_a_dropped_index() {
    let report = verify_after("DROP INDEX idx_interactions_mode").await;
    assert_fails(&report, "index idx_interactions_mode", "missing");
}

#[tokio::test]
async fn catches_an_index_on_the_wrong_column() {
    let report = verify_after(
        "DROP INDEX idx_escalations_trigger; \
         CREATE INDEX idx_escalations_trigger ON escalations(created_at)",
    )
    .await;
    assert_fails(&report, "index idx_escalations_trigger", "created_at");
}

#[tokio::test]
async fn catches_a_dropped_check_and_proves_it_by_behaviour() {
    let report =
        verify_after("ALTER TABLE interactions DROP CONSTRAINT interactions_assistant_mode_check")
            .await;
    assert_fails(&report, "check interactions.assistant_mode", "missing");
    assert_fails(
        &report,
        "check interactions.assistant_mode rejects 'robot'",
        "accepted assistant_mode = 'robot'",
    );
}

#[tokio::test]
async fn catches_a_check_that_allows_other_values() {
    let report = verify_after(
        "ALTER TABLE knowledge_documents DROP CONSTRAINT knowledge_documents_content_type_check; \
         ALTER TABLE knowledge_documents ADD CONSTRAINT knowledge_documents_content_type_check \
           CHECK (content_type IN ('public', 'synthetic', 'secret'))",
    )
    .await;
    assert_fails(&report, "check knowledge_documents.content_type", "secret");
    assert_fails(
        &report,
        "check knowledge_documents.content_type rejects 'secret'",
        "accepted",
    );
}

#[tokio::test]
async fn catches_a_foreign_key_without_cascade() {
    let report = verify_after(
        "ALTER TABLE escalations DROP CONSTRAINT escalations_interaction_id_fkey; \
         ALTER TABLE escalations ADD CONSTRAINT escalations_interaction_id_fkey \
           FOREIGN KEY (interaction_id) REFERENCES interactions(id)",
    )
    .await;
    assert_fails(
        &report,
        "foreign key escalations.interaction_id → interactions.id ON DELETE CASCADE",
        "NO ACTION instead of CASCADE",
    );
    assert_fails(
        &report,
        "deleting an interaction deletes its escalations",
        "",
    );
}

#[tokio::test]
async fn catches_a_changed_varchar_length() {
    let report =
        verify_after("ALTER TABLE interactions ALTER COLUMN session_id TYPE varchar(100)").await;
    assert_fails(
        &report,
        "column interactions.session_id",
        "type is character varying(100), spec says character varying(255)",
    );
}

#[tokio::test]
async fn catches_a_dropped_unique() {
    let report = verify_after(
        "ALTER TABLE knowledge_documents DROP CONSTRAINT knowledge_documents_openai_file_id_key",
    )
    .await;
    assert_fails(
        &report,
        "unique knowledge_documents.openai_file_id",
        "missing",
    );
    assert_fails(
        &report,
        "unique openai_file_id rejects a duplicate",
        "accepted",
    );
}

#[tokio::test]
async fn catches_a_dropped_not_null() {
    let report =
        verify_after("ALTER TABLE interactions ALTER COLUMN user_query DROP NOT NULL").await;
    assert_fails(
        &report,
        "column interactions.user_query",
        "allows NULL, spec says NOT NULL",
    );
}

#[tokio::test]
async fn catches_a_changed_default_and_a_missing_table() {
    let report = verify_after(
        // The rule functions of migration 005 take the table's row type: CASCADE drops
        // them with it (pasting 005 again restores them).
        "ALTER TABLE interactions ALTER COLUMN step_1_intent_completed SET DEFAULT true; \
         DROP TABLE knowledge_documents CASCADE",
    )
    .await;
    assert_fails(
        &report,
        "column interactions.step_1_intent_completed",
        "default is true, spec says false",
    );
    assert_fails(&report, "table knowledge_documents", "missing");
    assert_fails(&report, "index idx_knowledge_documents_type", "missing");
    assert_fails(
        &report,
        "insert and read back a knowledge document",
        "knowledge_documents",
    );
}

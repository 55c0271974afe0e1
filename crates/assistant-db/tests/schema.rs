//! The spec's schema: the files, the migrations, and the catalog they produce.

mod common;

use std::path::{Path, PathBuf};

use assistant_db::migrate;
use assistant_db::store::Store;
use sqlx::PgPool;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The SQL block of the spec's "Database Schema" section, read from the spec itself.
fn spec_sql() -> String {
    let path = std::env::var("ASSISTANT_DB_SPEC")
        .map(PathBuf::from)
        .unwrap_or_else(|_| workspace().join("../shared/spec/task-2-database-schema.md"));
    let spec = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read the spec at {} ({e}); set ASSISTANT_DB_SPEC to its path",
            path.display()
        )
    });
    let section = spec
        .find("Create `database/schema.sql`")
        .expect("the spec has a schema.sql section");
    let start =
        spec[section..].find("```sql\n").expect("an sql block") + section + "```sql\n".len();
    let end = spec[start..].find("```").expect("the block ends") + start;
    spec[start..end].to_owned()
}

#[test]
fn schema_sql_is_the_spec_byte_for_byte() {
    let schema =
        std::fs::read_to_string(workspace().join("database/schema.sql")).expect("schema.sql");
    assert_eq!(
        schema,
        spec_sql(),
        "database/schema.sql differs from the spec's SQL"
    );
    assert_eq!(schema, migrate::SCHEMA_SQL, "the embedded schema is stale");
}

#[test]
fn migration_001_is_byte_identical_to_schema_sql() {
    let schema = std::fs::read(workspace().join("database/schema.sql")).expect("schema.sql");
    let first = std::fs::read(workspace().join("database/migrations/001_initial_schema.sql"))
        .expect("001_initial_schema.sql");
    assert_eq!(schema, first);
}

/// Everything the catalog says about the spec's tables, in a comparable form.
async fn catalog(pool: &PgPool) -> Vec<String> {
    let mut lines: Vec<String> = sqlx::query_scalar(
        "SELECT format('column %s.%s %s notnull=%s default=%s', c.relname, a.attname, \
                       format_type(a.atttypid, a.atttypmod), a.attnotnull, \
                       coalesce(pg_get_expr(d.adbin, d.adrelid), '-')) \
         FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
         WHERE n.nspname = 'public' AND a.attnum > 0 AND NOT a.attisdropped \
           AND c.relname IN ('interactions', 'escalations', 'knowledge_documents') \
         UNION ALL \
         SELECT format('constraint %s on %s: %s', con.conname, c.relname, pg_get_constraintdef(con.oid)) \
         FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = 'public' AND c.relname IN ('interactions', 'escalations', 'knowledge_documents') \
         UNION ALL \
         SELECT format('index %s: %s', indexname, indexdef) FROM pg_indexes \
         WHERE schemaname = 'public' AND tablename IN ('interactions', 'escalations', 'knowledge_documents')",
    )
    .fetch_all(pool)
    .await
    .expect("catalog query");
    lines.sort();
    lines
}

#[tokio::test]
async fn migrate_from_empty_then_rerun_is_a_no_op() {
    let pool = common::empty_db().await;
    let mut conn = pool.acquire().await.expect("connection");

    let before = migrate::status(&mut conn).await.expect("status");
    assert!(before.iter().all(|s| !s.is_applied()), "{before:?}");

    let applied = migrate::run(&mut conn).await.expect("first migrate");
    let versions: Vec<i64> = applied.iter().map(|s| s.version).collect();
    let all: Vec<i64> = migrate::MIGRATOR.iter().map(|m| m.version).collect();
    assert_eq!(versions, all, "the first run applies every migration");

    let snapshot = catalog(&pool).await;
    let again = migrate::run(&mut conn).await.expect("second migrate");
    assert!(again.is_empty(), "re-run applied {again:?}");
    assert_eq!(
        catalog(&pool).await,
        snapshot,
        "a re-run changed the catalog"
    );

    let after = migrate::status(&mut conn).await.expect("status");
    assert!(
        after.iter().all(|s| s.is_applied() && s.problem.is_none()),
        "{after:?}"
    );
}

#[tokio::test]
async fn catalog_after_schema_sql_and_after_migrate_equals_the_specs() {
    let from_spec = common::empty_db().await;
    common::exec(&from_spec, &spec_sql()).await;

    let from_schema_file = common::empty_db().await;
    common::exec(&from_schema_file, migrate::SCHEMA_SQL).await;

    let migrated = common::migrated_db().await;

    let expected = catalog(&from_spec).await;
    assert_eq!(
        expected
            .iter()
            .filter(|l| l.starts_with("index idx_"))
            .count(),
        9
    );
    assert_eq!(catalog(&from_schema_file).await, expected, "schema.sql");
    // Later migrations may add indexes (never columns or constraints): the spec's catalog
    // plus exactly these.
    let (added, rest): (Vec<String>, Vec<String>) =
        catalog(&migrated).await.into_iter().partition(|l| {
            ADDED_INDEXES
                .iter()
                .any(|name| l.starts_with(&format!("index {name}:")))
        });
    assert_eq!(added.len(), ADDED_INDEXES.len(), "migrate: {added:?}");
    assert_eq!(rest, expected, "migrate");
}

/// Indexes beyond the spec's, added by later migrations (008: retention of rows without a
/// timestamp; 009: paging; 010: text search).
const ADDED_INDEXES: [&str; 4] = [
    "idx_interactions_untimed_created_at",
    "idx_interactions_timestamp_id",
    "idx_interactions_user_query_trgm",
    "idx_interactions_response_text_trgm",
];

#[tokio::test]
async fn the_editor_sql_can_be_pasted_twice_and_followed_by_migrate() {
    let pool = common::empty_db().await;
    common::exec(&pool, &migrate::editor_sql()).await;
    common::exec(&pool, &migrate::editor_sql()).await;
    let mut conn = pool.acquire().await.expect("connection");
    migrate::run(&mut conn)
        .await
        .expect("migrate after pasting");
    let report = assistant_db::store::PgStore::new(pool.clone(), "test database")
        .verify()
        .await;
    assert!(report.passed(), "{report}");
}

#[tokio::test]
async fn an_edited_applied_migration_is_refused() {
    let pool = common::migrated_db().await;
    let mut conn = pool.acquire().await.expect("connection");

    // A copy of the migrations in which 001 has been edited after it was applied.
    let dir = tempfile::tempdir().expect("tempdir");
    for entry in std::fs::read_dir(workspace().join("database/migrations")).expect("migrations") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), dir.path().join(entry.file_name())).expect("copy");
    }
    let first = dir.path().join("001_initial_schema.sql");
    let mut sql = std::fs::read_to_string(&first).expect("read");
    sql.push_str("CREATE INDEX IF NOT EXISTS idx_sneaky ON interactions(response_text);\n");
    std::fs::write(&first, sql).expect("write");
    let edited = sqlx::migrate::Migrator::new(dir.path())
        .await
        .expect("migrator");

    let err = migrate::run_with(&mut conn, &edited)
        .await
        .expect_err("must refuse");
    let message = err.to_string();
    assert!(
        message.contains("001") && message.contains("edited"),
        "{message}"
    );

    let status = migrate::status_with(&mut conn, &edited)
        .await
        .expect("status");
    assert!(
        status[0].problem.is_some(),
        "status names the edited migration: {status:?}"
    );
    let sneaky: bool = sqlx::query_scalar("SELECT to_regclass('idx_sneaky') IS NOT NULL")
        .fetch_one(&pool)
        .await
        .expect("query");
    assert!(!sneaky, "the edited migration must not run");
}

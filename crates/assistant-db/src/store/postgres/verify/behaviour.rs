//! Behavioural checks: write rows that must be refused or must cascade, inside one
//! transaction that is always rolled back.

use sqlx::{Acquire, PgConnection, Postgres, Transaction};
use uuid::Uuid;

use crate::error::Result;
use crate::verify::expected::CHECKS;
use crate::verify::{Report, Section};

/// The outcome of one statement we expect to fail with `sqlstate`.
fn expect_refusal(
    result: std::result::Result<(), sqlx::Error>,
    sqlstate: &str,
    what: &str,
) -> (bool, String) {
    match result {
        Ok(()) => (false, format!("accepted {what}")),
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some(sqlstate) => {
            (true, format!("refused {what} ({sqlstate})"))
        }
        Err(e) => (false, format!("expected SQLSTATE {sqlstate}, got: {e}")),
    }
}

fn outcome(result: std::result::Result<String, sqlx::Error>) -> (bool, String) {
    match result {
        Ok(detail) => (true, detail),
        Err(e) => (false, e.to_string()),
    }
}

/// Runs every behavioural check; the caller's database is left exactly as it was.
pub(super) async fn check(conn: &mut PgConnection, report: &mut Report) -> Result<()> {
    let mut tx = conn.begin().await?;
    let mut results: Vec<(String, (bool, String))> = Vec::new();

    let interaction = Uuid::now_v7();
    let r = savepoint(
        &mut tx,
        |c| Box::pin(insert_and_read_interaction(c, interaction)),
        true,
    )
    .await;
    results.push(("insert and read back an interaction".into(), outcome(r)));

    for spec in CHECKS.iter() {
        let what = format!("{} = '{}'", spec.column, spec.rejected);
        let r = savepoint(
            &mut tx,
            |c| Box::pin(insert_bad_enum(c, spec.table, spec.column, spec.rejected)),
            false,
        )
        .await;
        results.push((
            format!(
                "check {}.{} rejects '{}'",
                spec.table, spec.column, spec.rejected
            ),
            expect_refusal(r, "23514", &what),
        ));
    }

    let r = savepoint(&mut tx, |c| Box::pin(insert_dangling_escalation(c)), false).await;
    results.push((
        "foreign key rejects an escalation of a missing interaction".into(),
        expect_refusal(r, "23503", "an escalation whose interaction does not exist"),
    ));

    let r = savepoint(&mut tx, |c| Box::pin(cascade(c)), false).await;
    results.push((
        "deleting an interaction deletes its escalations".into(),
        outcome(r),
    ));

    let r = savepoint(&mut tx, |c| Box::pin(duplicate_document(c)), false).await;
    results.push((
        "unique openai_file_id rejects a duplicate".into(),
        expect_refusal(r, "23505", "a second document with the same openai_file_id"),
    ));

    let r = savepoint(&mut tx, |c| Box::pin(insert_and_read_document(c)), false).await;
    results.push((
        "insert and read back a knowledge document".into(),
        outcome(r),
    ));

    tx.rollback().await?;
    for (object, (ok, detail)) in results {
        report.push(Section::Behaviour, object, ok, detail);
    }
    Ok(())
}

/// One step of a check, run on the transaction's connection.
pub(super) type Step<'c, T> = std::pin::Pin<
    Box<dyn std::future::Future<Output = std::result::Result<T, sqlx::Error>> + Send + 'c>,
>;

/// Runs `step` inside a savepoint; keeps its effects when `keep`, else rolls them back.
pub(super) async fn savepoint<T>(
    tx: &mut Transaction<'_, Postgres>,
    step: impl for<'c> FnOnce(&'c mut PgConnection) -> Step<'c, T>,
    keep: bool,
) -> std::result::Result<T, sqlx::Error> {
    let mut sp = tx.begin().await?;
    let result = step(&mut sp).await;
    if keep && result.is_ok() {
        sp.commit().await?;
    } else {
        sp.rollback().await?;
    }
    result
}

async fn insert_interaction(
    conn: &mut PgConnection,
    id: Uuid,
) -> std::result::Result<(), sqlx::Error> {
    // The spec's own test insert.
    sqlx::query(
        "INSERT INTO interactions (id, assistant_mode, user_query, outcome, step_1_intent_completed) \
         VALUES ($1, 'customer', 'test query', 'resolved', true)",
    )
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

async fn insert_and_read_interaction(
    conn: &mut PgConnection,
    id: Uuid,
) -> std::result::Result<String, sqlx::Error> {
    insert_interaction(conn, id).await?;
    let (query, step_1, step_3, has_timestamp): (String, Option<bool>, Option<bool>, bool) =
        sqlx::query_as(
            "SELECT user_query, step_1_intent_completed, step_3_retrieval_performed, \
                timestamp IS NOT NULL AND created_at IS NOT NULL \
         FROM interactions WHERE id = $1",
        )
        .bind(id)
        .fetch_one(&mut *conn)
        .await?;
    if query == "test query" && step_1 == Some(true) && step_3 == Some(false) && has_timestamp {
        Ok("read back with defaults filled in".into())
    } else {
        Err(sqlx::Error::Protocol(format!(
            "read back user_query={query:?} step_1={step_1:?} step_3={step_3:?} timestamps set={has_timestamp}"
        )))
    }
}

async fn insert_bad_enum(
    conn: &mut PgConnection,
    table: &str,
    column: &str,
    value: &str,
) -> std::result::Result<(), sqlx::Error> {
    let (mode, category, outcome, content_type) = match column {
        "assistant_mode" => (value, "automatable", "resolved", "public"),
        "intent_category" => ("customer", value, "resolved", "public"),
        "outcome" => ("customer", "automatable", value, "public"),
        _ => ("customer", "automatable", "resolved", value),
    };
    if table == "knowledge_documents" {
        sqlx::query("INSERT INTO knowledge_documents (openai_file_id, title, content_type) VALUES ($1, 'verify', $2)")
            .bind(format!("verify-{}", Uuid::now_v7()))
            .bind(content_type)
            .execute(conn)
            .await?;
    } else {
        sqlx::query(
            "INSERT INTO interactions (assistant_mode, user_query, intent_category, outcome) \
             VALUES ($1, 'verify', $2, $3)",
        )
        .bind(mode)
        .bind(category)
        .bind(outcome)
        .execute(conn)
        .await?;
    }
    Ok(())
}

async fn insert_dangling_escalation(
    conn: &mut PgConnection,
) -> std::result::Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO escalations (interaction_id, trigger_type, escalation_reason) VALUES ($1, 'verify', 'verify')")
        .bind(Uuid::now_v7())
        .execute(conn)
        .await?;
    Ok(())
}

async fn cascade(conn: &mut PgConnection) -> std::result::Result<String, sqlx::Error> {
    let id = Uuid::now_v7();
    insert_interaction(conn, id).await?;
    sqlx::query(
        "INSERT INTO escalations (interaction_id, trigger_type, escalation_reason) \
         VALUES ($1, 'low_confidence', 'verify')",
    )
    .bind(id)
    .execute(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM interactions WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    let left: i64 =
        sqlx::query_scalar("SELECT count(*) FROM escalations WHERE interaction_id = $1")
            .bind(id)
            .fetch_one(&mut *conn)
            .await?;
    if left == 0 {
        Ok("the escalation went with its interaction".into())
    } else {
        Err(sqlx::Error::Protocol(format!(
            "{left} escalation(s) survived the delete"
        )))
    }
}

async fn duplicate_document(conn: &mut PgConnection) -> std::result::Result<(), sqlx::Error> {
    let file_id = format!("verify-{}", Uuid::now_v7());
    for _ in 0..2 {
        sqlx::query(
            "INSERT INTO knowledge_documents (openai_file_id, title) VALUES ($1, 'verify')",
        )
        .bind(&file_id)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

async fn insert_and_read_document(
    conn: &mut PgConnection,
) -> std::result::Result<String, sqlx::Error> {
    let file_id = format!("verify-{}", Uuid::now_v7());
    let metadata = serde_json::json!({"pages": 3, "tags": ["fees"]});
    sqlx::query(
        "INSERT INTO knowledge_documents (openai_file_id, title, content_type, metadata) \
         VALUES ($1, 'verify', 'public', $2)",
    )
    .bind(&file_id)
    .bind(&metadata)
    .execute(&mut *conn)
    .await?;
    let back: serde_json::Value =
        sqlx::query_scalar("SELECT metadata FROM knowledge_documents WHERE openai_file_id = $1")
            .bind(&file_id)
            .fetch_one(&mut *conn)
            .await?;
    if back == metadata {
        Ok("metadata JSONB read back intact".into())
    } else {
        Err(sqlx::Error::Protocol(format!(
            "metadata read back as {back}"
        )))
    }
}

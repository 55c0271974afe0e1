//! `assistant-db spool status|dead|retry` on a spool holding a dead letter.

mod common;

use std::path::Path;
use std::time::Duration;

use assistant_db::logger::{Logger, LoggerConfig};
use assistant_db::model::{AssistantMode, Escalation, Interaction, Outcome};
use assistant_db::Client;
use common::{assert_args_ok, command, run, scratch_db, Schema};
use uuid::Uuid;

/// `assistant-db spool ARGS` on `spool`, run in the spool's directory: its stdout as JSON,
/// or else as a JSON string.
fn spool_cmd(spool: &Path, args: &[&str]) -> serde_json::Value {
    let dir = spool.parent().expect("the spool's directory");
    let out = run(command(dir)
        .arg("spool")
        .args(args)
        .env("ASSISTANT_DB_SPOOL", spool));
    let text = assert_args_ok(args, &out);
    serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text))
}

#[tokio::test]
async fn status_dead_and_retry_show_and_requeue_refused_records() {
    let pool = scratch_db(Schema::Migrated).await.pool().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let spool = dir.path().join("spool.db");

    let logger = Logger::start(Client::from_pool(pool), LoggerConfig::new(&spool))
        .await
        .expect("logger");
    let good =
        Interaction::new(AssistantMode::Banker, "Wire limits?", Outcome::Resolved).expect("valid");
    logger.log(good).await.expect("log");
    let orphan =
        Escalation::new(Uuid::now_v7(), "low_confidence", "no such interaction").expect("valid");
    logger.log_escalation(orphan).await.expect("log");
    logger.flush(Duration::from_secs(30)).await.expect("flush");
    logger
        .shutdown(Duration::from_secs(5))
        .await
        .expect("shutdown");

    let status = spool_cmd(&spool, &["status", "--json"]);
    assert_eq!(
        (status["pending"].as_u64(), status["dead"].as_u64()),
        (Some(0), Some(1)),
        "{status}"
    );

    let dead = spool_cmd(&spool, &["dead", "--json"]);
    let error = dead[0]["error"].as_str().expect("an error");
    assert!(error.contains("escalations_interaction_id_fkey"), "{error}");
    assert_eq!(
        dead[0]["entry"]["escalation"]["trigger_type"],
        "low_confidence"
    );

    let retried = spool_cmd(&spool, &["retry"]);
    assert!(
        retried.as_str().is_some_and(|t| t.contains("re-queued 1")),
        "{retried}"
    );
    let status = spool_cmd(&spool, &["status", "--json"]);
    assert_eq!(
        (status["pending"].as_u64(), status["dead"].as_u64()),
        (Some(1), Some(0)),
        "{status}"
    );
}

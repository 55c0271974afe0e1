//! `assistant-db demo` and `assistant-db metrics`, run as a user would run them against a
//! fresh migrated database on the shared throwaway PostgreSQL.

mod common;

use std::process::Output;

use chrono::{DateTime, SecondsFormat, Timelike, Utc};
use common::{assert_ok, command, json_of, run, run_against, scratch_url, stderr, Schema};
use serde_json::Value;
use sqlx::{Connection, PgConnection};

fn json(out: &Output) -> Value {
    json_of(&assert_ok(out))
}

async fn connect(url: &str) -> PgConnection {
    PgConnection::connect(url).await.expect("connect")
}

async fn count(conn: &mut PgConnection, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// A fresh database holding `demo --count 300 --seed 7`.
async fn seeded_url() -> String {
    let url = scratch_url(Schema::Migrated).await;
    assert_ok(&run_against(
        &url,
        &["demo", "--count", "300", "--seed", "7"],
    ));
    url
}

#[tokio::test]
async fn demo_writes_interactions_escalations_and_documents_once() {
    let url = scratch_url(Schema::Migrated).await;
    let hour_before = Utc::now().hour();
    let first = json(&run_against(
        &url,
        &["demo", "--count", "300", "--seed", "7", "--json"],
    ));
    assert_eq!(first["written"]["interactions"], 300, "{first:#}");
    assert_eq!(first["generated"]["interactions"], 300, "{first:#}");
    assert_eq!(first["metrics"]["total_interactions"], 300, "{first:#}");

    let mut conn = connect(&url).await;
    assert_eq!(
        count(&mut conn, "SELECT count(*) FROM interactions").await,
        300
    );
    let escalated = count(
        &mut conn,
        "SELECT count(*) FROM interactions WHERE outcome = 'escalated'",
    )
    .await;
    assert!(escalated > 0 && escalated < 300, "{escalated} escalated");
    assert_eq!(
        first["written"]["escalations"].as_i64(),
        Some(escalated),
        "one escalation per escalated turn"
    );
    let human_only = count(
        &mut conn,
        "SELECT count(*) FROM interactions \
         WHERE intent_category = 'human_only' AND outcome = 'escalated'",
    )
    .await;
    assert!(human_only > 0, "no human_only turn in 300");
    let without_escalation = count(
        &mut conn,
        "SELECT count(*) FROM interactions i \
         WHERE i.intent_category = 'human_only' AND i.outcome = 'escalated' \
           AND NOT EXISTS (SELECT 1 FROM escalations e \
                           WHERE e.interaction_id = i.id AND e.trigger_type = 'human_only')",
    )
    .await;
    assert_eq!(
        without_escalation, 0,
        "human_only turns without an escalation"
    );
    let documents = count(&mut conn, "SELECT count(*) FROM knowledge_documents").await;
    assert!(documents >= 15, "{documents} knowledge documents");
    assert_eq!(first["knowledge_documents"].as_i64(), Some(documents));
    let public = count(
        &mut conn,
        "SELECT count(*) FROM knowledge_documents WHERE content_type = 'public'",
    )
    .await;
    assert!(
        public > 0 && public < documents,
        "{public} of {documents} public"
    );

    // Same seed again: no failure, and within the same hour (same window) nothing new.
    let second = json(&run_against(
        &url,
        &["demo", "--count", "300", "--seed", "7", "--json"],
    ));
    assert_eq!(
        count(&mut conn, "SELECT count(*) FROM knowledge_documents").await,
        documents
    );
    if Utc::now().hour() == hour_before {
        assert_eq!(second["written"]["interactions"], 0, "{second:#}");
        assert_eq!(second["written"]["escalations"], 0, "{second:#}");
        assert_eq!(
            count(&mut conn, "SELECT count(*) FROM interactions").await,
            300
        );
    }
}

#[tokio::test]
async fn metrics_json_equals_an_independent_sql_computation() {
    let url = seeded_url().await;
    let mut conn = connect(&url).await;
    let (first, last): (DateTime<Utc>, DateTime<Utc>) =
        sqlx::query_as("SELECT min(timestamp), max(timestamp) FROM interactions")
            .fetch_one(&mut conn)
            .await
            .expect("window");
    let quarter = (last - first) / 4;
    let whole_second =
        |t: DateTime<Utc>| DateTime::from_timestamp(t.timestamp(), 0).expect("in range");
    let from = whole_second(first + quarter);
    let to = whole_second(last - quarter);
    let stamp = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Micros, true);
    let out = run_against(
        &url,
        &[
            "metrics",
            "--json",
            "--mode",
            "customer",
            "--from",
            &stamp(from),
            "--to",
            &stamp(to),
        ],
    );
    let stdout = assert_ok(&out);
    let metrics: assistant_db::metrics::Metrics =
        serde_json::from_str(&stdout).expect("the SQL function's object");
    assert_eq!(
        stdout.trim_end(),
        serde_json::to_string_pretty(&metrics).expect("serializes"),
        "--json prints exactly the Metrics object"
    );

    let (total, resolved, escalated, avg_confidence, p95): (
        i64,
        i64,
        i64,
        Option<f64>,
        Option<f64>,
    ) = sqlx::query_as(
        "SELECT count(*), \
                count(*) FILTER (WHERE outcome = 'resolved'), \
                count(*) FILTER (WHERE outcome = 'escalated'), \
                avg(confidence_score), \
                percentile_cont(0.95) WITHIN GROUP (ORDER BY processing_time_ms) \
         FROM interactions \
         WHERE assistant_mode = 'customer' AND timestamp >= $1 AND timestamp <= $2",
    )
    .bind(from)
    .bind(to)
    .fetch_one(&mut conn)
    .await
    .expect("independent metrics");

    let all = count(&mut conn, "SELECT count(*) FROM interactions").await;
    assert!(
        total > 0 && total < all,
        "the filter selects {total} of {all}"
    );
    assert_eq!(metrics.total_interactions, total);
    assert_eq!(metrics.resolved, resolved);
    assert_eq!(metrics.escalated, escalated);
    assert_close(
        metrics.avg_confidence,
        avg_confidence,
        "avg_confidence",
        1e-9,
    );
    // From the rollups' histogram (migration 011): within 0.75 % of percentile_cont.
    assert_close(metrics.processing_time_ms.p95, p95, "p95", 0.0075);
    assert_eq!(metrics.by_mode.len(), 1, "only customer rows");
    assert_eq!(
        metrics.by_mode[0].assistant_mode,
        assistant_db::model::AssistantMode::Customer
    );
}

fn assert_close(got: Option<f64>, want: Option<f64>, what: &str, tolerance: f64) {
    match (got, want) {
        (Some(g), Some(w)) => assert!(
            (g - w).abs() <= tolerance * w.abs().max(1.0),
            "{what}: {g} vs {w}"
        ),
        (g, w) => panic!("{what}: {g:?} vs {w:?}"),
    }
}

#[tokio::test]
async fn metrics_report_has_the_kpis_and_tables() {
    let url = seeded_url().await;
    let report = assert_ok(&run_against(&url, &["metrics"]));
    for label in [
        "Total interactions",
        "Resolved",
        "Escalated",
        "Resolution rate",
        "Escalation rate",
        "Avg confidence",
        "Processing time",
        "p95",
        "Sessions",
        "containment",
        "By mode",
        "Top intents",
        "By category",
        "Escalations by trigger",
        "Pipeline steps reached",
        "Timeseries",
    ] {
        assert!(report.contains(label), "missing {label:?}:\n{report}");
    }
    let by_mode = report
        .split("\nBy mode\n")
        .nth(1)
        .and_then(|rest| rest.split("\n\n").next())
        .unwrap_or_else(|| panic!("no by-mode table:\n{report}"));
    let rows: Vec<&str> = by_mode.lines().skip(1).collect();
    assert!(
        rows.iter().any(|r| r.trim_start().starts_with("customer"))
            && rows.iter().any(|r| r.trim_start().starts_with("banker")),
        "by-mode rows:\n{by_mode}"
    );
    assert!(report.contains("human_only"), "{report}");

    let empty = assert_ok(&run_against(
        &url,
        &["metrics", "--intent", "no_such_intent"],
    ));
    assert!(
        empty.contains("Resolution rate") && empty.contains('–') && empty.contains("(none)"),
        "{empty}"
    );
}

#[test]
fn metrics_rejects_an_unknown_bucket() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run(command(dir.path())
        .args(["metrics", "--bucket", "month"])
        .env("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none"));
    assert!(!out.status.success());
    let stderr = stderr(&out);
    assert!(
        stderr.contains("--bucket")
            && stderr.contains("month")
            && stderr.contains("'hour', 'day', 'week'"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}

#[tokio::test]
async fn knowledge_documents_list_pages_through_the_whole_registry() {
    let url = seeded_url().await;
    let mut conn = connect(&url).await;
    let mut stored: Vec<String> =
        sqlx::query_scalar("SELECT id::text FROM knowledge_documents ORDER BY id")
            .fetch_all(&mut conn)
            .await
            .expect("ids");
    assert!(
        stored.len() >= 3,
        "the demo wrote {} documents",
        stored.len()
    );

    // Pages of two, each continuing after the previous page's `next`.
    let mut listed = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let mut args = vec!["knowledge-documents", "list", "--limit", "2", "--json"];
        if let Some(id) = after.as_deref() {
            args.extend(["--after", id]);
        }
        let page = json(&run_against(&url, &args));
        let items = page["items"].as_array().expect("items");
        assert!(items.len() <= 2, "{page}");
        listed.extend(
            items
                .iter()
                .map(|d| d["id"].as_str().expect("id").to_owned()),
        );
        match page["next"].as_str() {
            Some(next) => after = Some(next.to_owned()),
            None => break,
        }
        assert!(
            listed.len() <= stored.len(),
            "paging does not end: {listed:?}"
        );
    }
    stored.sort();
    assert_eq!(
        listed, stored,
        "the pages, in order, are the registry by id"
    );

    let text = assert_ok(&run_against(&url, &["knowledge-documents", "list"]));
    let file: String =
        sqlx::query_scalar("SELECT openai_file_id FROM knowledge_documents ORDER BY id LIMIT 1")
            .fetch_one(&mut conn)
            .await
            .expect("file id");
    assert!(
        text.starts_with("ID") && text.contains(&file) && text.contains(&stored[0]),
        "{text}"
    );
}

#[tokio::test]
async fn metrics_all_lists_every_intent_and_tz_is_checked() {
    let url = seeded_url().await;
    let metrics = json(&run_against(&url, &["metrics", "--json"]));
    let intents: Vec<String> = metrics["by_intent"]
        .as_array()
        .expect("by_intent")
        .iter()
        .filter_map(|r| r["intent_name"].as_str().map(str::to_owned))
        .collect();
    assert!(
        intents.len() > 10,
        "the demo has only {} intents",
        intents.len()
    );

    let top = assert_ok(&run_against(&url, &["metrics"]));
    let more = format!(
        "and {} more (--all lists them)",
        metrics["by_intent"].as_array().map_or(0, Vec::len) - 10
    );
    assert!(top.contains(&more), "{top}");
    let all = assert_ok(&run_against(&url, &["metrics", "--all"]));
    assert!(!all.contains("--all lists them"), "{all}");
    let section = all
        .split("\nIntents\n")
        .nth(1)
        .and_then(|rest| rest.split("\n\n").next())
        .unwrap_or_else(|| panic!("no intent table:\n{all}"));
    for name in &intents {
        assert!(
            section.contains(name.as_str()),
            "--all omits {name}:\n{section}"
        );
    }

    let bad = run_against(&url, &["metrics", "--tz", "Mars/Olympus"]);
    assert!(!bad.status.success());
    assert!(
        stderr(&bad).contains("--tz") && stderr(&bad).contains("IANA"),
        "{}",
        stderr(&bad)
    );
    let reversed = run_against(
        &url,
        &["metrics", "--from", "2026-11-02", "--to", "2026-11-01"],
    );
    assert!(!reversed.status.success());
    assert!(
        stderr(&reversed).contains("--from"),
        "{}",
        stderr(&reversed)
    );
    let day = json(&run_against(
        &url,
        &[
            "metrics",
            "--from",
            "2026-11-01",
            "--to",
            "2026-11-01",
            "--tz",
            "Europe/Paris",
            "--json",
        ],
    ));
    assert!(day["total_interactions"].is_number(), "{day}");
}

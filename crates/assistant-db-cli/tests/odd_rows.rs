//! Readers tolerate the schema: with rows another writer stored — each allowed by the
//! spec's schema, most breaking a rule of the model (NaN, 42 and -Infinity confidences, a
//! negative time, infinite, far-future, far-away and missing timestamps, `{}` citations,
//! a blank query, NULL step flags, text over the model's limit, an orphan escalation) —
//! every reader succeeds and counts every row: `metrics`, `interactions list` paged to the
//! end, `interactions show`, `export` (NDJSON and CSV), and the served dashboard, detail
//! pages, `/api/metrics` and `/api/interactions` paged to the end.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::{assert_ok, command_with_home_in, json_of, run_against, scratch_db, Schema, Served};
use serde_json::Value;

/// The rows, written by the table owner as the secret key or the SQL editor would.
const ODD_ROWS: &str = r#"
INSERT INTO public.interactions (id, "timestamp", assistant_mode, user_query, outcome,
                                 confidence_score, processing_time_ms, citations,
                                 step_1_intent_completed, created_at) VALUES
  ('00000000-0000-7000-8000-000000000001', '2024-05-01T10:00:00Z', 'customer', ' ', 'resolved', 'NaN', 100, NULL, true, now()),
  ('00000000-0000-7000-8000-000000000002', '2024-05-01T10:01:00Z', 'customer', 'forty-two', 'resolved', 42, 100, NULL, true, now()),
  ('00000000-0000-7000-8000-000000000003', '2024-05-01T10:02:00Z', 'customer', 'negative time', 'resolved', 0.5, -5, NULL, true, now()),
  ('00000000-0000-7000-8000-000000000004', 'infinity', 'customer', 'infinite time', 'resolved', 0.5, 100, NULL, true, 'infinity'),
  ('00000000-0000-7000-8000-000000000005', '2999-01-01T00:00:00Z', 'banker', 'far future', 'escalated', 0.5, 100, NULL, true, now()),
  ('00000000-0000-7000-8000-000000000006', NULL, 'banker', 'no timestamp', 'resolved', 0.5, 100, NULL, NULL, NULL),
  ('00000000-0000-7000-8000-000000000007', '2024-05-01T10:03:00Z', 'customer', 'map of citations', 'resolved', 0.5, 100, '{"a": 1}', true, now()),
  ('00000000-0000-7000-8000-000000000008', '-infinity', 'customer', 'minus infinity', 'resolved', '-Infinity', NULL, '"a string"', false, now()),
  ('00000000-0000-7000-8000-000000000009', '200000-01-01T00:00:00Z', 'banker', 'year 200000', 'resolved', 'Infinity', 7, '[1, 2]', NULL, now()),
  ('00000000-0000-7000-8000-000000000010', '0044-03-15T00:00:00Z BC', 'banker', 'the ides of March', 'resolved', 0.9, 7, NULL, true, now()),
  ('00000000-0000-7000-8000-000000000011', '2024-05-01T10:05:00Z', 'customer', repeat('x', 40000), 'escalated', 0.25, 300,
   '[{"number": 1, "source": "Fee schedule"}]', true, now());
INSERT INTO public.escalations (interaction_id, trigger_type, escalation_reason) VALUES
  (NULL, 'human_only', 'orphan'),
  ('00000000-0000-7000-8000-000000000011', '  ', ''),
  ('00000000-0000-7000-8000-000000000011', 'low_confidence', 'fine');
"#;

/// How many interactions [`ODD_ROWS`] holds.
const ROWS: usize = 11;

/// The ids of [`ODD_ROWS`].
fn all_ids() -> BTreeSet<String> {
    (1..=ROWS)
        .map(|n| format!("00000000-0000-7000-8000-{n:012}"))
        .collect()
}

/// A migrated scratch database holding [`ODD_ROWS`]; its `DATABASE_URL`.
async fn seeded() -> String {
    let db = scratch_db(Schema::Migrated).await;
    let pool = db.pool().await;
    sqlx::raw_sql(ODD_ROWS)
        .execute(&pool)
        .await
        .expect("the odd rows are allowed by the schema");
    db.url
}

/// The ids of a page's items.
fn ids_of(items: &Value) -> Vec<String> {
    items
        .as_array()
        .expect("items")
        .iter()
        .map(|row| row["id"].as_str().expect("id").to_owned())
        .collect()
}

#[tokio::test]
async fn the_cli_reads_and_counts_every_row_the_schema_allows() {
    let url = seeded().await;

    let metrics = json_of(&assert_ok(&run_against(&url, &["metrics", "--json"])));
    assert_eq!(metrics["total_interactions"], ROWS as u64, "{metrics}");
    assert_eq!(metrics["escalated"], 2, "{metrics}");
    // Two valid 0.5s, 0.5, 0.5, 0.5, 0.9 and 0.25 among the odd values.
    assert!(metrics["avg_confidence"].is_number(), "{metrics}");
    assert_eq!(metrics["excluded"]["confidence_score"], 4, "{metrics}");
    assert_metrics_text(&url);

    // The listing, three rows a page, in text and in JSON, to the last page.
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    for _ in 0..ROWS {
        let mut args = vec!["interactions", "list", "--limit", "3", "--json"];
        if let Some(after) = &after {
            args.extend(["--after", after.as_str()]);
        }
        let page = json_of(&assert_ok(&run_against(&url, &args)));
        seen.extend(ids_of(&page["items"]));
        match page["next"].as_str() {
            Some(next) => after = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), ROWS, "every row once: {seen:?}");
    assert_eq!(seen.iter().cloned().collect::<BTreeSet<_>>(), all_ids());
    let text = assert_ok(&run_against(
        &url,
        &["interactions", "list", "--limit", "20"],
    ));
    for id in all_ids() {
        assert!(text.contains(&id), "{id} missing from\n{text}");
    }
    assert!(text.contains("infinity") && text.contains("NaN"), "{text}");

    // Each row's detail, in text and JSON.
    for id in all_ids() {
        let shown = assert_ok(&run_against(&url, &["interactions", "show", &id]));
        assert!(shown.contains(&id), "{shown}");
        let detail = json_of(&assert_ok(&run_against(
            &url,
            &["interactions", "show", &id, "--json"],
        )));
        assert_eq!(detail["id"], id.as_str(), "{detail}");
    }
    let nan = json_of(&assert_ok(&run_against(
        &url,
        &[
            "interactions",
            "show",
            "00000000-0000-7000-8000-000000000001",
            "--json",
        ],
    )));
    assert_eq!(nan["confidence_score"], "NaN", "shown as it is: {nan}");
    let infinite = json_of(&assert_ok(&run_against(
        &url,
        &[
            "interactions",
            "show",
            "00000000-0000-7000-8000-000000000004",
            "--json",
        ],
    )));
    assert_eq!(infinite["timestamp"], "infinity", "{infinite}");

    // Exports: NDJSON exact, one line a row; CSV one record a row after the header.
    let ndjson = assert_ok(&run_against(&url, &["export", "interactions"]));
    let lines: Vec<Value> = ndjson.lines().map(json_of).collect();
    assert_eq!(lines.len(), ROWS, "{ndjson}");
    let exported: BTreeSet<String> = lines
        .iter()
        .map(|l| l["id"].as_str().expect("id").to_owned())
        .collect();
    assert_eq!(exported, all_ids());
    let long = lines
        .iter()
        .find(|l| l["id"] == "00000000-0000-7000-8000-000000000011")
        .expect("the long row");
    assert_eq!(long["user_query"].as_str().map(str::len), Some(40_000));
    let csv = assert_ok(&run_against(
        &url,
        &["export", "interactions", "--format", "csv"],
    ));
    let records = csv::Reader::from_reader(csv.as_bytes())
        .records()
        .collect::<Result<Vec<_>, _>>()
        .expect("well-formed CSV");
    assert_eq!(records.len(), ROWS);
    let escalations = assert_ok(&run_against(&url, &["export", "escalations"]));
    assert_eq!(escalations.lines().count(), 3, "{escalations}");
}

/// The text report of `metrics` over the same rows.
fn assert_metrics_text(url: &str) {
    let report = assert_ok(&run_against(url, &["metrics"]));
    assert!(report.contains(&ROWS.to_string()), "{report}");
}

#[tokio::test]
async fn the_dashboard_and_the_api_read_and_count_every_row_the_schema_allows() {
    let url = seeded().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cmd = command_with_home_in(dir.path());
    cmd.args(["serve", "--addr", "127.0.0.1:0"])
        .env("DATABASE_URL", &url);
    let served = Served::start(&mut cmd, Duration::from_secs(60));
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    let get = |path: String| {
        let http = http.clone();
        let url = served.url(&path);
        async move {
            let response = http.get(url).send().await.expect("request");
            let status = response.status();
            let body = response.text().await.expect("body");
            assert!(status.is_success(), "GET {path}: {status}\n{body}");
            body
        }
    };

    let page = get("/".into()).await;
    assert!(page.contains("interactions-table"), "{page}");
    let metrics: Value =
        serde_json::from_str(&get("/api/metrics".into()).await).expect("metrics JSON");
    assert_eq!(metrics["total_interactions"], ROWS as u64, "{metrics}");

    let mut seen = Vec::new();
    let mut path = "/api/interactions?limit=4".to_owned();
    for _ in 0..ROWS {
        let page: Value = serde_json::from_str(&get(path.clone()).await).expect("page JSON");
        seen.extend(ids_of(&page["items"]));
        match page["next"].as_str() {
            Some(next) => {
                let after: String = url::form_urlencoded::byte_serialize(next.as_bytes()).collect();
                path = format!("/api/interactions?limit=4&after={after}");
            }
            None => break,
        }
    }
    assert_eq!(seen.len(), ROWS, "every row once: {seen:?}");
    assert_eq!(seen.into_iter().collect::<BTreeSet<_>>(), all_ids());

    for id in all_ids() {
        let detail = get(format!("/interactions/{id}")).await;
        assert!(detail.contains(&id), "{detail}");
        let json: Value =
            serde_json::from_str(&get(format!("/api/interactions/{id}")).await).expect("JSON");
        assert_eq!(json["id"], id.as_str());
    }
    let citations = get("/interactions/00000000-0000-7000-8000-000000000007".into()).await;
    assert!(
        citations.contains("not a list of citations"),
        "a map of citations is shown as it is: {citations}"
    );
}

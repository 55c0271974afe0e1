//! Finding and taking away: text search, trigger and time-zone parameters of the API,
//! dates as people write them, a session's turns, knowledge documents a page at a time,
//! the streamed CSV/NDJSON export, and the dashboard pages over them (filters, session
//! view, knowledge documents, export links, tile comparisons, empty buckets drawn).

use assistant_db::model::{AssistantMode, Escalation, Interaction, KnowledgeDocument, Outcome};
use assistant_db::Client;
use chrono::{DateTime, Duration, Utc};
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{field_errors, TestApp};

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("test instant")
        .with_timezone(&Utc)
}

/// Three turns of one conversation and one of another, the second escalated; the
/// first query starts with `=` (a formula, for a spreadsheet).
async fn seed(app: &TestApp) -> Vec<Interaction> {
    let turn = |query: &str, response: &str, session: &str, at_: &str, outcome| {
        let mut i = Interaction::new(AssistantMode::Customer, query, outcome).expect("valid");
        i.response_text = Some(response.try_into().expect("response"));
        i.session_id = Some(session.try_into().expect("session"));
        i.intent_name = Some("card_dispute".try_into().expect("intent"));
        i.timestamp = at(at_);
        i
    };
    let rows = vec![
        turn(
            "=HYPERLINK(\"x\") my card is blocked",
            "Your card is unblocked.",
            "thread 1/a",
            "2026-11-19T10:00:00Z",
            Outcome::Resolved,
        ),
        turn(
            "I want to dispute a charge",
            "A banker will call you.",
            "thread 1/a",
            "2026-11-19T10:05:00Z",
            Outcome::Escalated,
        ),
        turn(
            "Thanks",
            "You are welcome.",
            "thread 1/a",
            "2026-11-19T10:06:00Z",
            Outcome::Resolved,
        ),
        turn(
            "Wire cut-off?",
            "17:00 on business days.",
            "thread 2",
            "2026-11-18T23:30:00Z",
            Outcome::Resolved,
        ),
    ];
    let escalation = Escalation::new(rows[1].id, "human_only", "disputes").expect("valid");
    Client::from_pool(app.pool.clone())
        .log(&rows, &[escalation])
        .await
        .expect("seeded");
    rows
}

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no items in {page}"))
        .iter()
        .map(|i| i["id"].as_str().expect("id").to_owned())
        .collect()
}

#[tokio::test]
async fn the_api_searches_filters_by_trigger_and_reads_dates_in_a_zone() {
    let app = TestApp::spawn().await;
    let rows = seed(&app).await;
    let id = |n: usize| rows[n].id.to_string();

    let (status, page) = app.get("/api/interactions?q=card%20blocked").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(ids(&page), [id(0)]);
    let (_, page) = app.get("/api/interactions?q=BANKER").await;
    assert_eq!(ids(&page), [id(1)]);
    let (_, page) = app.get("/api/interactions?trigger=human_only").await;
    assert_eq!(ids(&page), [id(1)]);

    // 2026-11-19 on Kiritimati (UTC+14) runs from 10:00 UTC on the 18th to 10:00 UTC on
    // the 19th: the wire question (23:30 UTC on the 18th) is on it, the conversation
    // (10:00 UTC on the 19th) is not.
    let (_, page) = app
        .get("/api/interactions?from=2026-11-19&to=2026-11-19&tz=Pacific/Kiritimati")
        .await;
    assert_eq!(ids(&page), [id(3)]);
    let (_, page) = app
        .get("/api/interactions?from=2026-11-19&to=2026-11-19")
        .await;
    assert_eq!(ids(&page), [id(2), id(1), id(0)]);
    // Relative dates count back from now; these rows are older than a day.
    let (_, page) = app.get("/api/interactions?from=24h").await;
    assert_eq!(ids(&page), Vec::<String>::new());

    let (status, body) = app
        .get("/api/interactions?q=ab&tz=Mars%2FOlympus&from=someday")
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let fields: Vec<String> = field_errors(&body).into_iter().map(|(_, f, _)| f).collect();
    assert_eq!(fields, ["q", "tz", "from"], "{body}");

    let (status, metrics) = app
        .get("/api/metrics?from=2026-11-18&to=2026-11-19&tz=Europe%2FParis")
        .await;
    assert_eq!(status, StatusCode::OK, "{metrics}");
    assert_eq!(metrics["total_interactions"], 4, "{metrics}");
    // Paris days: the 19th starts at 23:00 UTC on the 18th, so the wire question is there.
    let buckets: Vec<(String, i64)> = metrics["timeseries"]
        .as_array()
        .expect("series")
        .iter()
        .map(|b| {
            (
                b["bucket"].as_str().expect("bucket").to_owned(),
                b["total"].as_i64().expect("total"),
            )
        })
        .collect();
    assert_eq!(buckets, [("2026-11-18T23:00:00Z".to_owned(), 4)]);
}

#[tokio::test]
async fn a_session_and_the_knowledge_documents_read_back() {
    let app = TestApp::spawn().await;
    let rows = seed(&app).await;
    let (status, session) = app.get("/api/sessions/thread%201%2Fa").await;
    assert_eq!(status, StatusCode::OK, "{session}");
    assert_eq!(session["session_id"], "thread 1/a");
    let turns: Vec<&str> = session["turns"]
        .as_array()
        .expect("turns")
        .iter()
        .map(|t| t["id"].as_str().expect("id"))
        .collect();
    let oldest_first: Vec<String> = rows[..3].iter().map(|r| r.id.to_string()).collect();
    assert_eq!(turns, oldest_first);
    let (status, body) = app.get("/api/sessions/nobody").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, body) = app.get("/api/sessions/a%00b").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");

    let documents: Vec<KnowledgeDocument> = (0..3)
        .map(|i| KnowledgeDocument::new(&format!("file-{i}"), &format!("Fees {i}")).expect("valid"))
        .collect();
    Client::from_pool(app.pool.clone())
        .upsert_knowledge_documents(&documents)
        .await
        .expect("registered");
    let (status, first) = app.get("/api/knowledge-documents?limit=2").await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(first["items"].as_array().map(Vec::len), Some(2), "{first}");
    let next = first["next"].as_str().expect("a next page");
    let (_, second) = app
        .get(&format!("/api/knowledge-documents?limit=2&after={next}"))
        .await;
    assert_eq!(
        second["items"].as_array().map(Vec::len),
        Some(1),
        "{second}"
    );
    assert_eq!(second["next"], Value::Null);
    let (status, body) = app.get("/api/knowledge-documents?limit=0&after=x").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let fields: Vec<String> = field_errors(&body).into_iter().map(|(_, f, _)| f).collect();
    assert_eq!(fields, ["limit", "after"]);

    let html = app.fetch_text("/knowledge-documents").await;
    for d in &documents {
        assert!(html.contains(&format!("data-id=\"{}\"", d.id)), "{html}");
    }
    let session_page = app
        .fetch_text("/sessions/thread%201%2Fa?tz=Europe%2FParis")
        .await;
    assert_eq!(session_page.matches(r#"class="card turn""#).count(), 3);
    assert!(session_page.contains("3 turns"), "{session_page}");
    // Times on the chosen zone's clock: 10:00 UTC is 11:00 in Paris.
    assert!(session_page.contains("2026-11-19 11:00"), "{session_page}");
    let detail = app
        .fetch_text(&format!("/interactions/{}", rows[1].id))
        .await;
    assert!(
        detail.contains(r#"href="/sessions/thread%201%2Fa""#),
        "the detail page links to its conversation: {detail}"
    );
}

#[tokio::test]
async fn the_export_streams_the_filter_as_csv_or_ndjson() {
    let app = TestApp::spawn().await;
    let rows = seed(&app).await;
    let response = app
        .fetch("/api/interactions/export?session=thread%201%2Fa&format=csv")
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert!(header("content-type").starts_with("text/csv"));
    assert!(
        header("content-disposition").starts_with("attachment; filename=\"interactions-"),
        "{}",
        header("content-disposition")
    );
    let csv = response.text().await.expect("body");
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let headers = reader.headers().expect("a header row").clone();
    assert_eq!(headers.get(0), Some("id"));
    let query = headers
        .iter()
        .position(|h| h == "user_query")
        .expect("column");
    let records: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("record")).collect();
    assert_eq!(records.len(), 3, "{csv}");
    // Newest first, and the formula neutralised for the spreadsheet.
    assert_eq!(
        records[2].get(query),
        Some("'=HYPERLINK(\"x\") my card is blocked")
    );

    let ndjson = app
        .fetch_text("/api/interactions/export?q=card&format=ndjson")
        .await;
    let lines: Vec<Value> = ndjson
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(lines.len(), 1, "{ndjson}");
    assert_eq!(lines[0]["id"], rows[0].id.to_string());
    assert_eq!(
        lines[0]["user_query"],
        "=HYPERLINK(\"x\") my card is blocked"
    );

    // More rows than one chunk, and none at all.
    let many: Vec<Interaction> = (0..1203)
        .map(|n| {
            let mut i =
                Interaction::new(AssistantMode::Banker, "bulk", Outcome::Resolved).expect("valid");
            i.timestamp = at("2026-11-01T00:00:00Z") + Duration::seconds(n);
            i
        })
        .collect();
    Client::from_pool(app.pool.clone())
        .log(&many, &[])
        .await
        .expect("logged");
    let all = app
        .fetch_text("/api/interactions/export?mode=banker&format=ndjson")
        .await;
    assert_eq!(all.lines().count(), 1203);
    let none = app
        .fetch_text("/api/interactions/export?q=nothing-here")
        .await;
    assert_eq!(none.lines().count(), 1, "only the header: {none}");

    let (status, body) = app
        .get("/api/interactions/export?format=xlsx&limit=3")
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let fields: Vec<String> = field_errors(&body).into_iter().map(|(_, f, _)| f).collect();
    assert_eq!(fields, ["format", "limit"]);
}

#[tokio::test]
async fn the_dashboard_filters_links_compares_and_draws_every_bucket() {
    let app = TestApp::spawn().await;
    let rows = seed(&app).await;
    // The whole page for one intent and day, the list narrowed to a search.
    let html = app
        .fetch_text("/?from=2026-11-19&to=2026-11-19&intent=card_dispute&q=dispute&bucket=hour")
        .await;
    assert!(html.contains(r#"id="active-filters""#), "{html}");
    assert!(
        html.contains(&format!(r#"data-id="{}""#, rows[1].id)),
        "{html}"
    );
    assert!(
        !html.contains(&format!(r#"data-id="{}""#, rows[0].id)),
        "{html}"
    );
    // The export links carry the filter, search included.
    assert!(
        html.contains("/api/interactions/export?from=2026-11-19T00%3A00%3A00Z"),
        "{html}"
    );
    assert!(html.contains("q=dispute&amp;format=csv"), "{html}");
    // 24 hours are drawn, three with interactions (10:00); each of those links to its
    // interactions.
    assert_eq!(
        html.matches(r#"<g class="bucket"#).count(),
        2 * 24,
        "both layouts"
    );
    assert_eq!(html.matches(r#"class="bucket-link""#).count(), 2);
    // Intents link to their interactions; the tiles compare with the day before.
    assert!(html.contains(r#"class="bar-label" href="/?"#), "{html}");
    assert!(html.contains("tiles compared with Nov 18"), "{html}");
    assert!(
        html.contains(r#"data-kpi="total_interactions" data-value="3" data-previous="1""#),
        "{html}"
    );
    // Auto-refresh is off until asked for, and then a meta refresh needs no script.
    assert!(!html.contains("http-equiv=\"refresh\""));
    let refreshing = app.fetch_text("/?refresh=1").await;
    assert!(refreshing.contains(r#"<meta http-equiv="refresh" content="60">"#));
    // The trigger's row opens the interactions it escalated.
    let triggered = app.fetch_text("/?trigger=human_only").await;
    assert!(triggered.contains(&format!(r#"data-id="{}""#, rows[1].id)));
    assert!(!triggered.contains(&format!(r#"data-id="{}""#, rows[2].id)));
    // Bad values are dropped with a notice, never an error page.
    let response = app.fetch("/?from=someday&tz=Nowhere%2FLand&q=a").await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.expect("body");
    assert_eq!(html.matches(r#"class="notice""#).count(), 3, "{html}");
}

//! Reads: keyset pages, an interaction with its escalations and citations (API and
//! page), metrics equal to the library's, health, Prometheus, OpenAPI and the empty
//! dashboard.

use assistant_db::demo::{into_records, DemoConfig, Generator};
use assistant_db::metrics::{Bucket, MetricsFilter};
use assistant_db::model::{AssistantMode, IntentCategory};
use assistant_db::Client;
use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{interaction, TestApp};

#[tokio::test]
async fn pages_walk_every_interaction_once_and_writes_are_idempotent() {
    let app = TestApp::spawn().await;
    // Seven interactions, two of them at the same instant (the id breaks the tie).
    let records: Vec<Value> = (1..=7)
        .map(|n| {
            let minute = if n == 7 { 6 } else { n };
            interaction(
                &format!("01900000-0000-7000-8000-00000000000{n}"),
                if n % 2 == 0 { "banker" } else { "customer" },
                &format!("2025-05-01T10:0{minute}:00Z"),
            )
        })
        .collect();
    let (status, body) = app.post("/api/interactions", &json!(records)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["interactions"].as_array().map(Vec::len), Some(7));
    app.settled().await;

    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &after {
            Some(cursor) => format!("/api/interactions?limit=3&after={cursor}"),
            None => "/api/interactions?limit=3".to_owned(),
        };
        let (status, page) = app.get(&path).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        pages += 1;
        for item in page["items"].as_array().expect("items") {
            seen.push(item["id"].as_str().expect("id").to_owned());
        }
        match page["next"].as_str() {
            Some(next) => after = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    let newest_first: Vec<String> = [7, 6, 5, 4, 3, 2, 1]
        .iter()
        .map(|n| format!("01900000-0000-7000-8000-00000000000{n}"))
        .collect();
    assert_eq!(seen, newest_first);

    let (_, bankers) = app.get("/api/interactions?mode=banker").await;
    assert_eq!(
        bankers["items"].as_array().map(Vec::len),
        Some(3),
        "{bankers}"
    );

    // The same batch again: accepted, nothing new stored.
    let (status, _) = app.post("/api/interactions", &json!(records)).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    app.settled().await;
    let (_, all) = app.get("/api/interactions?limit=100").await;
    assert_eq!(all["items"].as_array().map(Vec::len), Some(7));
}

#[tokio::test]
async fn an_interaction_reads_back_with_its_escalations_and_citations() {
    let app = TestApp::spawn().await;
    let id = "01900000-0000-7000-8000-0000000000c1";
    let record = json!({
        "id": id,
        "assistant_mode": "customer",
        "user_query": "I want to close my account <today>",
        "intent_name": "close_account",
        "intent_category": "human_only",
        "step_1_intent_completed": true,
        "step_2_routing_decision": "human_handoff",
        "step_6_escalation_triggered": true,
        "outcome": "escalated",
        "response_text": "A banker will take it from here.",
        "citations": [{"number": 1, "source": "Account closure policy", "url": "https://example.com/closure"}],
        "escalations": [
            {"trigger_type": "human_only", "escalation_reason": "Closures need a banker"},
            {"trigger_type": "complaint", "escalation_reason": "The customer is unhappy"},
        ],
    });
    let (status, accepted) = app.post("/api/interactions", &record).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{accepted}");
    assert_eq!(accepted["escalations"].as_array().map(Vec::len), Some(2));
    let (status, more) = app
        .post(
            "/api/escalations",
            &json!([{"interaction_id": id, "trigger_type": "follow_up", "escalation_reason": "Called back"}]),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{more}");
    app.settled().await;

    let (status, detail) = app.get(&format!("/api/interactions/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    assert_eq!(detail["citations"][0]["source"], "Account closure policy");
    let triggers: Vec<&str> = detail["escalations"]
        .as_array()
        .expect("escalations")
        .iter()
        .filter_map(|e| e["trigger_type"].as_str())
        .collect();
    assert_eq!(triggers.len(), 3, "{detail}");
    for trigger in ["human_only", "complaint", "follow_up"] {
        assert!(triggers.contains(&trigger), "{detail}");
    }
    assert!(detail["escalations"]
        .as_array()
        .expect("escalations")
        .iter()
        .all(|e| e["interaction_id"] == id));
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM escalations")
        .fetch_one(&app.pool)
        .await
        .expect("count");
    assert_eq!(stored, 3, "every escalation reached the database");

    // The detail page shows the same, escaped.
    let page = app.fetch(&format!("/interactions/{id}")).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page
        .headers()
        .get("content-security-policy")
        .is_some_and(|v| v.to_str().is_ok_and(|v| v.contains("default-src 'none'"))));
    let html = page.text().await.expect("html");
    assert!(
        html.contains("I want to close my account &lt;today&gt;"),
        "{html}"
    );
    assert!(html.contains("Escalations (3)"), "{html}");
    assert!(
        html.contains(r#"href="https://example.com/closure""#),
        "{html}"
    );
    assert!(!html.contains("Sign out"), "no session, no sign-out button");
}

/// The window `assistant-db demo --count 400 --days 14 --end 2025-06-01T00:00:00Z` fills.
async fn demo_traffic(client: &Client) {
    let end: DateTime<Utc> = "2025-06-01T00:00:00Z".parse().expect("time");
    let demo = DemoConfig {
        interactions: 400,
        ..DemoConfig::ending_at(end, 14)
    };
    let (interactions, escalations) = into_records(Generator::new(&demo));
    client
        .log(&interactions, &escalations)
        .await
        .expect("demo traffic");
}

/// `assistant-db metrics --json` prints the library's metrics object as it is, so the API
/// must answer exactly the library's object for the same filter.
#[tokio::test]
async fn api_metrics_equal_the_library_metrics() {
    let app = TestApp::spawn().await;
    let client = Client::from_pool(app.pool.clone());
    demo_traffic(&client).await;
    let time = |text: &str| Some(text.parse::<DateTime<Utc>>().expect("time"));
    for (query, filter) in [
        ("", MetricsFilter::default()),
        (
            "?mode=banker&bucket=week",
            MetricsFilter {
                mode: Some(AssistantMode::Banker),
                bucket: Bucket::Week,
                ..MetricsFilter::default()
            },
        ),
        (
            "?mode=customer&from=2025-05-20T00:00:00Z&to=2025-05-27T12:00:00%2B02:00&bucket=hour",
            MetricsFilter {
                mode: Some(AssistantMode::Customer),
                from: time("2025-05-20T00:00:00Z"),
                to: time("2025-05-27T10:00:00Z"),
                bucket: Bucket::Hour,
                ..MetricsFilter::default()
            },
        ),
        (
            "?category=sensitive",
            MetricsFilter {
                category: Some(IntentCategory::Sensitive),
                ..MetricsFilter::default()
            },
        ),
    ] {
        let (status, api) = app.get(&format!("/api/metrics{query}")).await;
        assert_eq!(status, StatusCode::OK, "{query}: {api}");
        let expected =
            serde_json::to_value(client.metrics(&filter).await.expect("metrics")).expect("json");
        assert_eq!(api, expected, "{query}");
        assert!(
            api["total_interactions"].as_i64().is_some_and(|n| n > 0),
            "{query}"
        );
    }

    // The dashboard's tiles carry the same numbers.
    let html = app.fetch_text("/?mode=banker").await;
    let (_, banker) = app.get("/api/metrics?mode=banker").await;
    assert!(
        html.contains(&format!(
            r#"data-kpi="total_interactions" data-value="{}""#,
            banker["total_interactions"]
        )),
        "{html}"
    );
    assert!(html.contains(&format!(
        r#"data-kpi="escalation_rate" data-value="{}""#,
        banker["escalation_rate"]
    )));
}

#[tokio::test]
async fn health_prometheus_openapi_and_the_empty_dashboard() {
    let app = TestApp::spawn().await;
    let (status, health) = app.get("/healthz").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(health["status"], "ok");
    assert_eq!(health["database_reachable"], true);
    assert_eq!(health["spool_depth"], 0);

    let empty = app.fetch_text("/").await;
    assert!(empty.contains("No interactions yet"), "{empty}");
    // The curl example points at this server, whatever port it was given.
    assert!(
        empty.contains(&format!("curl -X POST {} \\", app.url("/api/interactions"))),
        "{empty}"
    );
    let filtered = app.fetch_text("/?mode=banker&from=2030-01-01").await;
    assert!(
        filtered.contains("No interactions match these filters"),
        "{filtered}"
    );

    let record = interaction(
        "01900000-0000-7000-8000-0000000000d1",
        "banker",
        "2025-05-01T10:00:00Z",
    );
    assert_eq!(
        app.post("/api/interactions", &record).await.0,
        StatusCode::ACCEPTED
    );
    app.settled().await;
    assert_eq!(
        app.get("/api/interactions/01900000-0000-7000-8000-0000000000d1")
            .await
            .0,
        StatusCode::OK
    );

    let text = app.fetch_text("/metrics").await;
    for needle in [
        r#"assistant_db_http_requests_total{route="/api/interactions",method="POST",status="202"} 1"#,
        r#"assistant_db_http_requests_total{route="/api/interactions/{id}",method="GET",status="200"} 1"#,
        r#"assistant_db_http_request_duration_seconds_bucket{route="/healthz",method="GET",le="+Inf"}"#,
        "assistant_db_logger_logged_total 1",
        "assistant_db_logger_stored_total 1",
        "assistant_db_logger_depth 0",
    ] {
        assert!(text.contains(needle), "missing {needle} in\n{text}");
    }

    let (status, spec) = app.get("/api/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        spec["openapi"].as_str().is_some_and(|v| v.starts_with('3')),
        "{spec}"
    );
    assert!(spec["paths"]["/api/interactions"]["post"].is_object());
    assert!(spec["components"]["schemas"]["InteractionWrite"].is_object());

    let (status, body) = app.get("/api/nothing-here").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body["error"].is_string());
    let css = app.fetch("/assets/dashboard.css").await;
    assert_eq!(css.status(), StatusCode::OK);
    assert!(css
        .headers()
        .get("content-type")
        .is_some_and(|v| v.to_str().is_ok_and(|v| v.starts_with("text/css"))));
}

//! `assistant-db serve`, run as a user would run it and called over a real socket, against
//! a fresh migrated database on the shared throwaway PostgreSQL: validation, access,
//! pagination, idempotent writes through the spool, metrics equal to the CLI's, health,
//! Prometheus metrics, the OpenAPI document, and a database outage.

mod common;

use std::time::{Duration, Instant};

use assistant_db_testkit::EphemeralCluster;
use common::{command_with_home_in, json_of, ok_against, run, scratch_url, stderr, Schema, Served};
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

/// A token long enough for the server.
const TOKEN: &str = "test-token-0123456789abcdef";
/// How long a server may take to print its address.
const STARTUP: Duration = Duration::from_secs(60);
/// How long a spooled write may take to reach the database.
const SETTLE: Duration = Duration::from_secs(60);

/// A running `assistant-db serve` with its home and spool in a directory of its own.
struct Server {
    /// The process, killed when dropped (first, before `_dir`).
    served: Served,
    /// The server's working directory (home and spool), removed last.
    _dir: tempfile::TempDir,
}

impl Server {
    /// Starts the server on a free loopback port against `url`.
    fn start(url: &str, token: Option<&str>) -> Server {
        Self::start_with(url, token, &["--addr", "127.0.0.1:0"])
    }

    fn start_with(url: &str, token: Option<&str>, args: &[&str]) -> Server {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut cmd = command_with_home_in(dir.path());
        cmd.arg("serve").args(args).env("DATABASE_URL", url);
        if let Some(token) = token {
            cmd.env("ASSISTANT_DB_API_TOKEN", token);
        }
        Server {
            served: Served::start(&mut cmd, STARTUP),
            _dir: dir,
        }
    }

    fn url(&self, path: &str) -> String {
        self.served.url(path)
    }
}

fn http() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(30))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// GET `path` without a token, the response as it comes.
async fn fetch(server: &Server, path: &str) -> reqwest::Response {
    http().get(server.url(path)).send().await.expect("request")
}

/// GET `path` without a token, the body as text.
async fn fetch_text(server: &Server, path: &str) -> String {
    fetch(server, path).await.text().await.expect("body")
}

/// GET `path`, returning status and JSON body.
async fn get(server: &Server, path: &str) -> (StatusCode, Value) {
    let response = fetch(server, path).await;
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Sends `body` with `method` to `path` with the test token.
async fn send(
    server: &Server,
    method: reqwest::Method,
    path: &str,
    body: &Value,
) -> (StatusCode, Value) {
    let response = http()
        .request(method, server.url(path))
        .bearer_auth(TOKEN)
        .json(body)
        .send()
        .await
        .expect("request");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn post(server: &Server, path: &str, body: &Value) -> (StatusCode, Value) {
    send(server, reqwest::Method::POST, path, body).await
}

/// Waits until the spool has handed everything to the database.
async fn settled(server: &Server) {
    let deadline = Instant::now() + SETTLE;
    loop {
        let (status, health) = get(server, "/healthz").await;
        if status == StatusCode::OK && health["spool_depth"] == 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the spool did not drain: {status} {health}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The `(index, field)` pairs of a 422 body, and each rule.
fn field_errors(body: &Value) -> Vec<(Option<u64>, String, String)> {
    body["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("no errors in {body}"))
        .iter()
        .map(|e| {
            (
                e["index"].as_u64(),
                e["field"].as_str().unwrap_or_default().to_owned(),
                e["rule"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn interaction(id: &str, mode: &str, timestamp: &str) -> Value {
    json!({
        "id": id,
        "timestamp": timestamp,
        "assistant_mode": mode,
        "session_id": "thread_test",
        "user_query": "What is the wire cut-off time?",
        "intent_name": "wire_cutoff",
        "intent_category": "automatable",
        "step_1_intent_completed": true,
        "outcome": "resolved",
        "confidence_score": 0.9,
        "processing_time_ms": 800,
    })
}

#[tokio::test]
async fn invalid_records_get_422_with_index_and_field_and_nothing_is_written() {
    let url = scratch_url(Schema::Migrated).await;
    let server = Server::start(&url, Some(TOKEN));

    let batch = json!([
        interaction("01900000-0000-7000-8000-000000000001", "customer", "2025-05-01T10:00:00Z"),
        {"assistant_mode": "robot", "user_query": "q", "outcome": "resolved"},
        {"assistant_mode": "banker", "user_query": "q", "outcome": "escalated",
         "escalations": [{"trigger_type": "human_only"}]},
        {"assistant_mode": "banker", "user_query": "q", "outcome": "resolved",
         "confidence_score": 1.5},
        {"assistant_mode": "banker", "user_query": "q", "outcome": "resolved",
         "citations": [{"number": 0, "source": "Fees"}]},
    ]);
    let (status, body) = post(&server, "/api/interactions", &batch).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let errors = field_errors(&body);
    let located: Vec<(Option<u64>, &str)> =
        errors.iter().map(|(i, f, _)| (*i, f.as_str())).collect();
    assert_eq!(
        located,
        [
            (Some(1), "assistant_mode"),
            (Some(2), "escalations[0].escalation_reason"),
            (Some(3), "confidence_score"),
            (Some(4), "citations[0].number"),
        ],
        "{body}"
    );
    assert!(
        errors[0]
            .2
            .starts_with("must be one of 'customer', 'banker'"),
        "{body}"
    );
    assert_eq!(errors[1].2, "is required");
    assert!(errors[2].2.contains("between 0 and 1"), "{body}");

    // A single object has no index.
    let (status, body) = post(
        &server,
        "/api/interactions",
        &json!({"assistant_mode": "customer", "outcome": "resolved"}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        body["errors"],
        json!([{"field": "user_query", "rule": "is required"}])
    );

    let (status, body) = post(
        &server,
        "/api/escalations",
        &json!({"trigger_type": "human_only", "escalation_reason": "closure"}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(field_errors(&body)[0].1, "interaction_id");

    let (status, body) = send(
        &server,
        reqwest::Method::PUT,
        "/api/knowledge-documents",
        &json!([{"openai_file_id": "file-1", "title": "Fees"}, {"openai_file_id": "file-2"}]),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        field_errors(&body)[0],
        (Some(1), "title".into(), "is required".into())
    );

    // Not JSON at all.
    let response = http()
        .post(server.url("/api/interactions"))
        .bearer_auth(TOKEN)
        .body("{\"assistant_mode\":")
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.expect("json");
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("not JSON")),
        "{body}"
    );

    // Bad query parameters name themselves.
    for (path, field) in [
        ("/api/interactions?limit=0", "limit"),
        ("/api/interactions?after=nonsense", "after"),
        ("/api/interactions?mode=robot", "mode"),
        ("/api/metrics?bucket=month", "bucket"),
        ("/api/metrics?from=yesterday", "from"),
        ("/api/metrics?colour=red", "colour"),
        ("/api/interactions/not-a-uuid", "id"),
    ] {
        let (status, body) = get(&server, path).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{path}: {body}");
        assert_eq!(field_errors(&body)[0].1, field, "{path}: {body}");
    }
    let (status, _) = get(
        &server,
        "/api/interactions/01900000-0000-7000-8000-00000000ffff",
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The valid record of the refused batch was not written either.
    settled(&server).await;
    let (_, page) = get(&server, "/api/interactions").await;
    assert_eq!(page["items"], json!([]), "{page}");
}

#[tokio::test]
async fn oversized_bodies_are_refused_with_413() {
    let url = scratch_url(Schema::Migrated).await;
    let server = Server::start_with(
        &url,
        Some(TOKEN),
        &["--addr", "127.0.0.1:0", "--max-body-bytes", "1024"],
    );
    let mut big = interaction(
        "01900000-0000-7000-8000-000000000001",
        "customer",
        "2025-05-01T10:00:00Z",
    );
    big["user_query"] = json!("x".repeat(4096));
    let (status, body) = post(&server, "/api/interactions", &big).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert!(
        body["error"].as_str().is_some_and(|e| e.contains("larger")),
        "{body}"
    );
}

#[tokio::test]
async fn writes_need_the_token_and_reads_on_loopback_do_not() {
    let url = scratch_url(Schema::Migrated).await;
    let record = interaction(
        "01900000-0000-7000-8000-0000000000a1",
        "banker",
        "2025-05-01T10:00:00Z",
    );

    let open = Server::start(&url, None);
    let (status, body) = post(&open, "/api/interactions", &record).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("ASSISTANT_DB_API_TOKEN")),
        "{body}"
    );
    assert_eq!(get(&open, "/api/metrics").await.0, StatusCode::OK);
    drop(open);

    let guarded = Server::start(&url, Some(TOKEN));
    let anonymous = http()
        .post(guarded.url("/api/interactions"))
        .json(&record)
        .send()
        .await
        .expect("request");
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert!(anonymous.headers().contains_key("www-authenticate"));
    let wrong = http()
        .post(guarded.url("/api/interactions"))
        .bearer_auth("not-the-token-0123456789")
        .json(&record)
        .send()
        .await
        .expect("request");
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let (status, body) = post(&guarded, "/api/interactions", &record).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["interactions"], json!([record["id"]]));
    assert_eq!(get(&guarded, "/api/interactions").await.0, StatusCode::OK);
    let page = fetch(&guarded, "/").await;
    assert_eq!(page.status(), StatusCode::OK);
}

#[tokio::test]
async fn other_addresses_need_a_token_for_everything() {
    let url = scratch_url(Schema::Migrated).await;
    // Without a token the server refuses to start.
    let dir = tempfile::tempdir().expect("tempdir");
    let refused = run(command_with_home_in(dir.path())
        .args(["serve", "--addr", "0.0.0.0:0"])
        .env("DATABASE_URL", &url));
    assert!(!refused.status.success());
    let stderr = stderr(&refused);
    assert!(stderr.contains("ASSISTANT_DB_API_TOKEN"), "{stderr}");

    let server = Server::start_with(&url, Some(TOKEN), &["--addr", "0.0.0.0:0"]);
    let port = server
        .served
        .base
        .rsplit(':')
        .next()
        .expect("port")
        .to_owned();
    let local = |path: &str| format!("http://127.0.0.1:{port}{path}");
    let client = http();
    let status = |r: reqwest::Response| r.status();
    assert_eq!(
        status(
            client
                .get(local("/api/metrics"))
                .send()
                .await
                .expect("request")
        ),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        status(
            client
                .get(local("/api/metrics"))
                .bearer_auth(TOKEN)
                .send()
                .await
                .expect("request")
        ),
        StatusCode::OK
    );
    assert_eq!(
        status(client.get(local("/healthz")).send().await.expect("request")),
        StatusCode::OK,
        "health checks need no token"
    );
    let page = client.get(local("/")).send().await.expect("request");
    assert_eq!(page.status(), StatusCode::UNAUTHORIZED);
    assert!(page.text().await.expect("body").contains("name=\"token\""));

    // The login form trades the token for a cookie that lets a browser read.
    let login = client
        .post(local("/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={TOKEN}"))
        .send()
        .await
        .expect("request");
    assert_eq!(login.status(), StatusCode::SEE_OTHER);
    let cookie = login
        .headers()
        .get("set-cookie")
        .and_then(|c| c.to_str().ok())
        .and_then(|c| c.split(';').next())
        .expect("a cookie")
        .to_owned();
    let page = client
        .get(local("/"))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("request");
    assert_eq!(page.status(), StatusCode::OK);
    let write = client
        .post(local("/api/interactions"))
        .header("cookie", &cookie)
        .json(&interaction(
            "01900000-0000-7000-8000-0000000000b1",
            "banker",
            "2025-05-01T10:00:00Z",
        ))
        .send()
        .await
        .expect("request");
    assert_eq!(
        write.status(),
        StatusCode::UNAUTHORIZED,
        "a cookie never writes"
    );
    let bad_login = client
        .post(local("/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("token=wrong-token-0123456789")
        .send()
        .await
        .expect("request");
    assert_eq!(bad_login.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn pages_walk_every_interaction_once_and_writes_are_idempotent() {
    let url = scratch_url(Schema::Migrated).await;
    let server = Server::start(&url, Some(TOKEN));
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
    let (status, body) = post(&server, "/api/interactions", &json!(records)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["interactions"].as_array().map(Vec::len), Some(7));
    settled(&server).await;

    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &after {
            Some(cursor) => format!("/api/interactions?limit=3&after={cursor}"),
            None => "/api/interactions?limit=3".to_owned(),
        };
        let (status, page) = get(&server, &path).await;
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

    let (_, bankers) = get(&server, "/api/interactions?mode=banker").await;
    assert_eq!(
        bankers["items"].as_array().map(Vec::len),
        Some(3),
        "{bankers}"
    );

    // The same batch again: accepted, nothing new stored.
    let (status, _) = post(&server, "/api/interactions", &json!(records)).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    settled(&server).await;
    let (_, all) = get(&server, "/api/interactions?limit=100").await;
    assert_eq!(all["items"].as_array().map(Vec::len), Some(7));
}

#[tokio::test]
async fn an_interaction_reads_back_with_its_escalations_and_citations() {
    let url = scratch_url(Schema::Migrated).await;
    let server = Server::start(&url, Some(TOKEN));
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
    let (status, accepted) = post(&server, "/api/interactions", &record).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{accepted}");
    assert_eq!(accepted["escalations"].as_array().map(Vec::len), Some(2));
    let (status, more) = post(
        &server,
        "/api/escalations",
        &json!([{"interaction_id": id, "trigger_type": "follow_up", "escalation_reason": "Called back"}]),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{more}");
    settled(&server).await;

    let (status, detail) = get(&server, &format!("/api/interactions/{id}")).await;
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

    // The detail page shows the same, escaped.
    let page = fetch(&server, &format!("/interactions/{id}")).await;
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
}

#[tokio::test]
async fn knowledge_documents_are_upserted_by_file_id() {
    let url = scratch_url(Schema::Migrated).await;
    let server = Server::start(&url, Some(TOKEN));
    let put = |body: Value| {
        let server = &server;
        async move {
            send(
                server,
                reqwest::Method::PUT,
                "/api/knowledge-documents",
                &body,
            )
            .await
        }
    };
    let (status, first) = put(json!({"openai_file_id": "file-abc", "title": "Fee schedule"})).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(first["documents"][0]["inserted"], true);
    assert!(first["documents"][0].get("index").is_none());
    let (status, second) = put(json!([
        {"openai_file_id": "file-abc", "title": "Fee schedule 2025", "content_type": "public"},
        {"openai_file_id": "file-def", "title": "Wire transfers"},
    ]))
    .await;
    assert_eq!(status, StatusCode::OK, "{second}");
    assert_eq!(second["documents"][0]["id"], first["documents"][0]["id"]);
    assert_eq!(second["documents"][0]["inserted"], false);
    assert_eq!(second["documents"][0]["index"], 0);
    assert_eq!(second["documents"][1]["inserted"], true);
    assert_eq!(second["documents"][1]["openai_file_id"], "file-def");
}

#[tokio::test]
async fn api_metrics_equal_the_cli_metrics() {
    let url = scratch_url(Schema::Migrated).await;
    ok_against(
        &url,
        &[
            "demo",
            "--count",
            "400",
            "--days",
            "14",
            "--end",
            "2025-06-01T00:00:00Z",
        ],
    );
    let server = Server::start(&url, None);
    for (query, args) in [
        ("", vec![]),
        (
            "?mode=banker&bucket=week",
            vec!["--mode", "banker", "--bucket", "week"],
        ),
        (
            "?mode=customer&from=2025-05-20T00:00:00Z&to=2025-05-27T12:00:00%2B02:00&bucket=hour",
            vec![
                "--mode",
                "customer",
                "--from",
                "2025-05-20T00:00:00Z",
                "--to",
                "2025-05-27T12:00:00+02:00",
                "--bucket",
                "hour",
            ],
        ),
        ("?category=sensitive", vec!["--category", "sensitive"]),
    ] {
        let (status, api) = get(&server, &format!("/api/metrics{query}")).await;
        assert_eq!(status, StatusCode::OK, "{query}: {api}");
        let mut command = vec!["metrics", "--json"];
        command.extend(args);
        let expected = json_of(&ok_against(&url, &command));
        assert_eq!(api, expected, "{query}");
        assert!(
            api["total_interactions"].as_i64().is_some_and(|n| n > 0),
            "{query}"
        );
    }

    // The dashboard's tiles carry the same numbers.
    let html = fetch_text(&server, "/?mode=banker").await;
    let (_, banker) = get(&server, "/api/metrics?mode=banker").await;
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
    let url = scratch_url(Schema::Migrated).await;
    let server = Server::start(&url, Some(TOKEN));
    let (status, health) = get(&server, "/healthz").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(health["status"], "ok");
    assert_eq!(health["database_reachable"], true);
    assert_eq!(health["spool_depth"], 0);

    let empty = fetch_text(&server, "/").await;
    assert!(empty.contains("No interactions yet"), "{empty}");
    let filtered = fetch_text(&server, "/?mode=banker&from=2030-01-01").await;
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
        post(&server, "/api/interactions", &record).await.0,
        StatusCode::ACCEPTED
    );
    settled(&server).await;
    assert_eq!(
        get(
            &server,
            "/api/interactions/01900000-0000-7000-8000-0000000000d1"
        )
        .await
        .0,
        StatusCode::OK
    );

    let text = fetch_text(&server, "/metrics").await;
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

    let (status, spec) = get(&server, "/api/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        spec["openapi"].as_str().is_some_and(|v| v.starts_with('3')),
        "{spec}"
    );
    assert!(spec["paths"]["/api/interactions"]["post"].is_object());
    assert!(spec["components"]["schemas"]["Interaction"].is_object());

    let (status, body) = get(&server, "/api/nothing-here").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body["error"].is_string());
    let css = fetch(&server, "/assets/dashboard.css").await;
    assert_eq!(css.status(), StatusCode::OK);
    assert!(css
        .headers()
        .get("content-type")
        .is_some_and(|v| v.to_str().is_ok_and(|v| v.starts_with("text/css"))));
}

#[tokio::test]
async fn a_database_outage_does_not_fail_the_caller() {
    let cluster = EphemeralCluster::start()
        .unwrap_or_else(|e| panic!("this test needs PostgreSQL server binaries: {e}"));
    cluster
        .cluster()
        .ensure_database("assistant")
        .await
        .expect("database");
    let url = cluster.cluster().url("assistant");
    ok_against(&url, &["migrate"]);
    let server = Server::start(&url, Some(TOKEN));

    cluster.cluster().stop().expect("stop PostgreSQL");
    let id = "01900000-0000-7000-8000-0000000000e1";
    let (status, body) = post(
        &server,
        "/api/interactions",
        &interaction(id, "customer", "2025-05-01T10:00:00Z"),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::ACCEPTED,
        "spooled while the database is down: {body}"
    );
    let (status, health) = get(&server, "/healthz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{health}");
    assert_eq!(health["database_reachable"], false);
    assert!(
        health["spool_depth"].as_u64().is_some_and(|d| d >= 1),
        "{health}"
    );
    let page = fetch(&server, "/").await;
    assert_eq!(page.status(), StatusCode::SERVICE_UNAVAILABLE);

    cluster.cluster().start().expect("restart PostgreSQL");
    settled(&server).await;
    let (status, detail) = get(&server, &format!("/api/interactions/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{detail}");
}

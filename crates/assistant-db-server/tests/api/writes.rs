//! Writes: validation with index and field, nothing written from a refused batch, the
//! body size limit, and knowledge documents upserted by file id.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{field_errors, interaction, loopback, TestApp, TOKEN};
use assistant_db_server::ServerConfig;

#[tokio::test]
async fn invalid_records_get_422_with_index_and_field_and_nothing_is_written() {
    let app = TestApp::spawn().await;

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
    let (status, body) = app.post("/api/interactions", &batch).await;
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
    assert_eq!(body["error"], "4 fields are invalid; nothing was written");

    // A single object has no index.
    let (status, body) = app
        .post(
            "/api/interactions",
            &json!({"assistant_mode": "customer", "outcome": "resolved"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        body["errors"],
        json!([{"field": "user_query", "rule": "is required"}])
    );

    let (status, body) = app
        .post(
            "/api/escalations",
            &json!({"trigger_type": "human_only", "escalation_reason": "closure"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(field_errors(&body)[0].1, "interaction_id");

    let (status, body) = app
        .send(
            Method::PUT,
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
    let response = app
        .http
        .post(app.url("/api/interactions"))
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
        // Cursors the fuzzer made: impossible offsets, a far year, the range's edges.
        (
            "/api/interactions?after=9488-12-22T22:13:04%2B66:59:45_01900000-0000-7000-8000-000000000001",
            "after",
        ),
        (
            "/api/interactions?after=45063-04-14T08:53:31%2B72_01900000-0000-7000-8000-000000000001",
            "after",
        ),
        (
            "/api/interactions?after=294276-12-31T23:59:59-15:00_01900000-0000-7000-8000-000000000001",
            "after",
        ),
        (
            "/api/interactions?after=4714-01-01T00:00:00%2B00:00%20BC_01900000-0000-7000-8000-000000000001",
            "after",
        ),
        ("/api/interactions?mode=robot", "mode"),
        ("/api/metrics?bucket=month", "bucket"),
        ("/api/metrics?from=last-week", "from"),
        ("/api/metrics?colour=red", "colour"),
        ("/api/interactions/not-a-uuid", "id"),
    ] {
        let (status, body) = app.get(path).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{path}: {body}");
        assert_eq!(field_errors(&body)[0].1, field, "{path}: {body}");
    }
    let (status, _) = app
        .get("/api/interactions/01900000-0000-7000-8000-00000000ffff")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The valid record of the refused batch was not written either.
    app.settled().await;
    let (_, page) = app.get("/api/interactions").await;
    assert_eq!(page["items"], json!([]), "{page}");
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM interactions")
        .fetch_one(&app.pool)
        .await
        .expect("count");
    assert_eq!(stored, 0);
}

#[tokio::test]
async fn oversized_bodies_are_refused_with_413() {
    let app = TestApp::spawn_with(ServerConfig {
        max_body_bytes: 1024,
        ..loopback()
    })
    .await;
    let mut big = interaction(
        "01900000-0000-7000-8000-000000000001",
        "customer",
        "2025-05-01T10:00:00Z",
    );
    big["user_query"] = json!("x".repeat(4096));
    let (status, body) = app.post("/api/interactions", &big).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert!(
        body["error"].as_str().is_some_and(|e| e.contains("larger")),
        "{body}"
    );

    // Without a Content-Length (chunked) the limit holds while reading.
    let chunk = format!("200\r\n{}\r\n", " ".repeat(0x200));
    let answer = app
        .raw(&format!(
            "POST /api/interactions HTTP/1.1\r\nHost: localhost\r\n\
             Authorization: Bearer {TOKEN}\r\nTransfer-Encoding: chunked\r\n\r\n{}0\r\n\r\n",
            chunk.repeat(8)
        ))
        .await;
    assert!(answer.starts_with("HTTP/1.1 413 "), "{answer}");
}

#[tokio::test]
async fn knowledge_documents_are_upserted_by_file_id() {
    let app = TestApp::spawn().await;
    let put = |body: Value| {
        let app = &app;
        async move {
            app.send(Method::PUT, "/api/knowledge-documents", &body)
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

/// PostgreSQL prints a `jsonb` number in full (`f64::MAX` as 309 digits): every number a
/// writer could send must read back as the same number.
#[tokio::test]
async fn metadata_numbers_at_the_ends_of_the_range_read_back() {
    let app = TestApp::spawn().await;
    let numbers = json!([
        f64::MAX,
        -f64::MAX,
        f64::MIN_POSITIVE,
        5e-324,
        1e300,
        -0.1,
        u64::MAX
    ]);
    let (status, body) = app
        .send(
            Method::PUT,
            "/api/knowledge-documents",
            &json!({"openai_file_id": "file-range", "title": "Numbers", "metadata": numbers}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, page) = app.get("/api/knowledge-documents").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["items"][0]["metadata"], numbers, "{page}");
}

//! `assistant-db serve` as a binary, where the binary itself is the subject: setups it
//! refuses before starting, its flags reaching the server, and a real database outage
//! across a restart of PostgreSQL. The API itself is tested in-process in the
//! `assistant-db-server` crate (`tests/api`).

mod common;

use std::time::{Duration, Instant};

use assistant_db_testkit::EphemeralCluster;
use common::{command_with_home_in, ok_against, run, scratch_url, stderr, Schema, Served};
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

/// Runs `serve ARGS` against `url` with `token`, expecting it to refuse to start; its
/// stderr.
fn refused(url: &str, token: Option<&str>, args: &[&str]) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cmd = command_with_home_in(dir.path());
    cmd.arg("serve").args(args).env("DATABASE_URL", url);
    if let Some(token) = token {
        cmd.env("ASSISTANT_DB_API_TOKEN", token);
    }
    let out = run(&mut cmd);
    assert!(!out.status.success(), "`serve {args:?}` started");
    stderr(&out)
}

#[tokio::test]
async fn setups_that_would_expose_data_are_refused_before_starting() {
    let url = scratch_url(Schema::Migrated).await;
    // Off loopback without a token.
    let stderr = refused(&url, None, &["--addr", "0.0.0.0:0"]);
    assert!(stderr.contains("ASSISTANT_DB_API_TOKEN"), "{stderr}");
    // Off loopback over plain HTTP, even with a token.
    let stderr = refused(&url, Some(TOKEN), &["--addr", "0.0.0.0:0"]);
    for needle in ["plain HTTP", "--tls-cert", "--behind-tls-proxy"] {
        assert!(stderr.contains(needle), "{needle}: {stderr}");
    }
    // A proxy in front, or a public name, and no token.
    let stderr = refused(&url, None, &["--addr", "127.0.0.1:0", "--behind-tls-proxy"]);
    assert!(stderr.contains("ASSISTANT_DB_API_TOKEN"), "{stderr}");
    let stderr = refused(
        &url,
        None,
        &[
            "--addr",
            "127.0.0.1:0",
            "--public-url",
            "https://dash.example.com",
        ],
    );
    assert!(stderr.contains("--public-url"), "{stderr}");
    // Flags that do not make sense.
    let stderr = refused(&url, Some(TOKEN), &["--tls-cert", "cert.pem"]);
    assert!(stderr.contains("--tls-key"), "{stderr}");
    let stderr = refused(
        &url,
        Some(TOKEN),
        &["--public-url", "https://x.example/dash"],
    );
    assert!(stderr.contains("--public-url"), "{stderr}");
    let stderr = refused(&url, Some(TOKEN), &["--header-timeout", "0"]);
    assert!(stderr.contains("--header-timeout"), "{stderr}");
    let stderr = refused(
        &url,
        Some(TOKEN),
        &["--tls-cert", "missing.pem", "--tls-key", "missing.pem"],
    );
    assert!(stderr.contains("missing.pem"), "{stderr}");
}

#[tokio::test]
async fn the_flags_reach_the_server() {
    let url = scratch_url(Schema::Migrated).await;
    let server = Server::start_with(
        &url,
        Some(TOKEN),
        &[
            "--addr",
            "127.0.0.1:0",
            "--public-url",
            "http://dash.example",
            "--max-body-bytes",
            "1024",
        ],
    );
    let client = http();
    let with_host = |host: &'static str| {
        client
            .get(server.url("/api/metrics"))
            .header("host", host)
            .bearer_auth(TOKEN)
            .send()
    };
    assert_eq!(
        with_host("dash.example").await.expect("request").status(),
        StatusCode::OK
    );
    assert_eq!(
        with_host("evil.example").await.expect("request").status(),
        StatusCode::MISDIRECTED_REQUEST
    );
    // A public name makes reads need the token.
    assert_eq!(
        fetch(&server, "/api/metrics").await.status(),
        StatusCode::UNAUTHORIZED
    );
    let mut big = interaction(
        "01900000-0000-7000-8000-000000000001",
        "customer",
        "2025-05-01T10:00:00Z",
    );
    big["user_query"] = json!("x".repeat(4096));
    let (status, body) = post(&server, "/api/interactions", &big).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
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

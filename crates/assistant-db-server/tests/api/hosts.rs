//! DNS rebinding and cross-origin reads: the server answers only requests that name it,
//! on loopback too, and never grants a cross-origin read.

use assistant_db_server::ServerConfig;
use reqwest::{Method, StatusCode};

use crate::helpers::{interaction, json, loopback, TestApp, TOKEN};

/// Every page, API and document path a rebinding page would want to read.
const PATHS: [&str; 7] = [
    "/",
    "/api/interactions",
    "/api/metrics",
    "/api/openapi.json",
    "/interactions/01900000-0000-7000-8000-0000000000f1",
    "/metrics",
    "/login",
];

#[tokio::test]
async fn a_foreign_host_is_refused_on_loopback_for_pages_api_and_openapi() {
    let app = TestApp::spawn().await;
    let (status, _) = app
        .post(
            "/api/interactions",
            &interaction(
                "01900000-0000-7000-8000-0000000000f1",
                "customer",
                "2025-05-01T10:00:00Z",
            ),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    app.settled().await;
    let port = app.addr.port();
    for path in PATHS {
        for host in [format!("evil.example:{port}"), "evil.example".to_owned()] {
            let response = app
                .http
                .get(app.url(path))
                .header("host", &host)
                .send()
                .await
                .expect("request");
            let (status, body) = json(response).await;
            assert_eq!(
                status,
                StatusCode::MISDIRECTED_REQUEST,
                "{host}{path}: {body}"
            );
            let error = body["error"].as_str().unwrap_or_default();
            assert!(error.contains("--public-url"), "{body}");
            assert!(
                !error.contains("wire cut-off"),
                "no customer text in a refusal: {body}"
            );
        }
    }
    // Writes with the token are refused under a foreign name too.
    let response = app
        .http
        .post(app.url("/api/interactions"))
        .header("host", "evil.example")
        .bearer_auth(TOKEN)
        .json(&interaction(
            "01900000-0000-7000-8000-0000000000f2",
            "customer",
            "2025-05-01T10:00:00Z",
        ))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::MISDIRECTED_REQUEST);
}

#[tokio::test]
async fn its_own_names_are_answered_with_or_without_the_port() {
    let app = TestApp::spawn_with(ServerConfig {
        public_urls: vec!["http://dash.example.com".parse().expect("url")],
        ..loopback()
    })
    .await;
    let port = app.addr.port();
    for host in [
        "localhost".to_owned(),
        format!("localhost:{port}"),
        "127.0.0.1".to_owned(),
        format!("127.0.0.1:{port}"),
        format!("[::1]:{port}"),
        "dash.example.com".to_owned(),
        "dash.example.com:80".to_owned(),
    ] {
        // A public name makes reads need the token.
        let response = app
            .http
            .get(app.url("/api/interactions"))
            .header("host", &host)
            .bearer_auth(TOKEN)
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), StatusCode::OK, "{host}");
    }
    for host in [
        format!("localhost:{}", port.wrapping_add(1)),
        "dash.example.com:8443".into(),
    ] {
        let response = app
            .http
            .get(app.url("/api/interactions"))
            .header("host", &host)
            .bearer_auth(TOKEN)
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), StatusCode::MISDIRECTED_REQUEST, "{host}");
    }
}

#[tokio::test]
async fn a_missing_or_malformed_host_is_refused() {
    let app = TestApp::spawn().await;
    // HTTP/1.0 has no Host header.
    let answer = app.raw("GET /api/interactions HTTP/1.0\r\n\r\n").await;
    assert!(
        answer.starts_with("HTTP/1.0 400 ") || answer.starts_with("HTTP/1.1 400 "),
        "{answer}"
    );
    assert!(answer.contains("no Host header"), "{answer}");
    assert!(!answer.contains("\"items\""), "{answer}");
    for host in ["user@localhost", "localhost:port", "local host"] {
        let answer = app
            .raw(&format!(
                "GET /api/interactions HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
            ))
            .await;
        assert!(answer.starts_with("HTTP/1.1 400 "), "{host}: {answer}");
        assert!(!answer.contains("\"items\""), "{answer}");
    }
    // An absolute request line names the host too, and it must be ours.
    let answer = app
        .raw(&format!(
            "GET http://evil.example/api/interactions HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n\
             Connection: close\r\n\r\n",
            app.addr.port()
        ))
        .await;
    assert!(answer.starts_with("HTTP/1.1 421 "), "{answer}");
}

#[tokio::test]
async fn cross_origin_requests_get_no_cors_grant() {
    let app = TestApp::spawn().await;
    let preflight = app
        .http
        .request(Method::OPTIONS, app.url("/api/interactions"))
        .header("origin", "https://evil.example")
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "authorization")
        .send()
        .await
        .expect("request");
    let cross = app
        .http
        .get(app.url("/api/interactions"))
        .header("origin", "https://evil.example")
        .send()
        .await
        .expect("request");
    for response in [&preflight, &cross] {
        let granted: Vec<_> = response
            .headers()
            .keys()
            .filter(|name| name.as_str().starts_with("access-control-"))
            .collect();
        assert!(granted.is_empty(), "{granted:?}");
    }
    assert!(
        !preflight.status().is_success(),
        "a preflight is not approved: {}",
        preflight.status()
    );
}

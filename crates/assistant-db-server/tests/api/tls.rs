//! HTTPS: off loopback the server needs TLS (or a TLS proxy in front); with a
//! certificate it serves HTTPS, refuses plain HTTP on its port, and marks cookies
//! `Secure`.

use std::net::SocketAddr;

use assistant_db::config::Secret;
use assistant_db_server::config::TlsFiles;
use assistant_db_server::{ConfigError, ServerConfig};
use reqwest::StatusCode;

use crate::helpers::{set_cookie, TestApp, TOKEN};

/// A self-signed certificate for `localhost` and `127.0.0.1`, written to `dir`.
fn certificate(dir: &std::path::Path) -> (TlsFiles, reqwest::Certificate) {
    let generated =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .expect("certificate");
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    std::fs::write(&cert, generated.cert.pem()).expect("write cert");
    std::fs::write(&key, generated.signing_key.serialize_pem()).expect("write key");
    let trusted = reqwest::Certificate::from_pem(generated.cert.pem().as_bytes()).expect("pem");
    (TlsFiles { cert, key }, trusted)
}

#[tokio::test]
async fn off_loopback_plain_http_refuses_to_start() {
    let any = SocketAddr::from(([0, 0, 0, 0], 0));
    let err = ServerConfig {
        token: Some(Secret::new(TOKEN)),
        ..ServerConfig::new(any)
    }
    .check()
    .expect_err("plain HTTP off loopback");
    assert!(matches!(err, ConfigError::PlainHttp { .. }), "{err}");
    let message = err.to_string();
    for needle in [
        "plain HTTP",
        "--tls-cert",
        "--tls-key",
        "--behind-tls-proxy",
    ] {
        assert!(message.contains(needle), "{needle}: {message}");
    }
    // A certificate file that is not one is named in the refusal.
    let dir = tempfile::tempdir().expect("tempdir");
    let junk = dir.path().join("junk.pem");
    std::fs::write(&junk, "not a certificate").expect("write");
    let err = ServerConfig {
        token: Some(Secret::new(TOKEN)),
        tls: Some(TlsFiles {
            cert: junk.clone(),
            key: junk,
        }),
        ..ServerConfig::new(any)
    }
    .check()
    .expect_err("junk certificate");
    assert!(err.to_string().contains("junk.pem"), "{err}");
}

#[tokio::test]
async fn with_a_certificate_it_serves_https_and_refuses_plain_http() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (files, trusted) = certificate(dir.path());
    let https = reqwest::Client::builder()
        .add_root_certificate(trusted)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let pool = assistant_db_testkit::db::migrated_db().await;
    let app = TestApp::spawn_on(
        pool,
        ServerConfig {
            token: Some(Secret::new(TOKEN)),
            tls: Some(files),
            // Off loopback with TLS, reads need the token and browsers sign in.
            ..ServerConfig::new(SocketAddr::from(([0, 0, 0, 0], 0)))
        },
        https,
    )
    .await;
    assert!(app.base.starts_with("https://"), "{}", app.base);
    let response = app
        .http
        .get(app.url("/api/metrics"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("an HTTPS request");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        app.fetch("/api/metrics").await.status(),
        StatusCode::UNAUTHORIZED
    );

    // The session cookie is Secure over TLS.
    let login = app
        .http
        .post(app.url("/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={TOKEN}"))
        .send()
        .await
        .expect("request");
    assert_eq!(login.status(), StatusCode::SEE_OTHER);
    let cookie = set_cookie(&login);
    assert!(
        cookie.split(';').map(str::trim).any(|p| p == "Secure"),
        "{cookie}"
    );

    // Plain HTTP on the TLS port gets one line saying so, and nothing else.
    let answer = app
        .raw(&format!(
            "GET /api/metrics HTTP/1.1\r\nHost: localhost:{}\r\nAuthorization: Bearer {TOKEN}\r\n\r\n",
            app.addr.port()
        ))
        .await;
    assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");
    assert!(answer.contains("HTTPS only"), "{answer}");
    assert!(!answer.contains("total_interactions"), "{answer}");
    let plain = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{}/healthz", app.addr.port()))
        .send()
        .await
        .expect("a plain request gets an answer");
    assert_eq!(plain.status(), StatusCode::BAD_REQUEST);
}

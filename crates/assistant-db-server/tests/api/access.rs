//! Who may call what: writes always need the token; reads need it too when other
//! machines can reach the server, and browsers then sign in for a read-only session.

use std::net::SocketAddr;

use assistant_db::config::Secret;
use assistant_db_server::ServerConfig;
use reqwest::StatusCode;

use crate::helpers::{cookie_pair, interaction, loopback, set_cookie, sign_in, TestApp, TOKEN};

#[tokio::test]
async fn writes_need_the_token_and_reads_on_loopback_do_not() {
    let record = interaction(
        "01900000-0000-7000-8000-0000000000a1",
        "banker",
        "2025-05-01T10:00:00Z",
    );

    let open = TestApp::spawn_with(ServerConfig {
        token: None,
        ..loopback()
    })
    .await;
    let (status, body) = open.post("/api/interactions", &record).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("ASSISTANT_DB_API_TOKEN")),
        "{body}"
    );
    assert_eq!(open.get("/api/metrics").await.0, StatusCode::OK);
    drop(open);

    let guarded = TestApp::spawn().await;
    let anonymous = guarded
        .http
        .post(guarded.url("/api/interactions"))
        .json(&record)
        .send()
        .await
        .expect("request");
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert!(anonymous.headers().contains_key("www-authenticate"));
    let wrong = guarded
        .http
        .post(guarded.url("/api/interactions"))
        .bearer_auth("not-the-token-0123456789")
        .json(&record)
        .send()
        .await
        .expect("request");
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let (status, body) = guarded.post("/api/interactions", &record).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["interactions"], serde_json::json!([record["id"]]));
    assert_eq!(guarded.get("/api/interactions").await.0, StatusCode::OK);
    let page = guarded.fetch("/").await;
    assert_eq!(page.status(), StatusCode::OK);
}

#[tokio::test]
async fn other_addresses_need_a_token_for_everything() {
    // Without a token the setup is refused before anything listens.
    let refused = ServerConfig {
        behind_tls_proxy: true,
        ..ServerConfig::new(SocketAddr::from(([0, 0, 0, 0], 0)))
    }
    .check()
    .expect_err("no token");
    assert!(
        refused.to_string().contains("ASSISTANT_DB_API_TOKEN"),
        "{refused}"
    );

    let app = TestApp::spawn_with(ServerConfig {
        token: Some(Secret::new(TOKEN)),
        behind_tls_proxy: true,
        ..ServerConfig::new(SocketAddr::from(([0, 0, 0, 0], 0)))
    })
    .await;
    let client = &app.http;
    assert_eq!(
        app.fetch("/api/metrics").await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        client
            .get(app.url("/api/metrics"))
            .bearer_auth(TOKEN)
            .send()
            .await
            .expect("request")
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        app.fetch("/healthz").await.status(),
        StatusCode::OK,
        "health checks need no token"
    );
    let page = app.fetch("/").await;
    assert_eq!(page.status(), StatusCode::UNAUTHORIZED);
    assert!(page.text().await.expect("body").contains("name=\"token\""));

    // The login form trades the token for a cookie that lets a browser read.
    let login = sign_in(&app, TOKEN).await;
    assert_eq!(login.status(), StatusCode::SEE_OTHER);
    let cookie = cookie_pair(&set_cookie(&login));
    let page = client
        .get(app.url("/"))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("request");
    assert_eq!(page.status(), StatusCode::OK);
    assert!(
        page.text().await.expect("html").contains("Sign out"),
        "a signed-in page offers to sign out"
    );
    let write = client
        .post(app.url("/api/interactions"))
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
    let bad_login = sign_in(&app, "wrong-token-0123456789").await;
    assert_eq!(bad_login.status(), StatusCode::UNAUTHORIZED);
    assert!(bad_login.headers().get("set-cookie").is_none());
}

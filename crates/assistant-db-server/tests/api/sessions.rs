//! Browser sessions: what the cookie holds and how it is flagged, cookies that must be
//! refused (tampered, expired, from another token, signed out), and the sign-in limit.

use std::net::SocketAddr;
use std::time::Duration;

use assistant_db::config::Secret;
use assistant_db_server::ServerConfig;
use reqwest::StatusCode;

use crate::helpers::{cookie_pair, set_cookie, sign_in, TestApp, TOKEN};

/// A server whose reads need the token: as reached through a TLS proxy.
fn proxied(token: &str) -> ServerConfig {
    ServerConfig {
        token: Some(Secret::new(token)),
        behind_tls_proxy: true,
        ..ServerConfig::new(SocketAddr::from(([127, 0, 0, 1], 0)))
    }
}

/// A server whose reads need the token (it has a public name) and that nothing says is
/// reached over HTTPS, so cookies are not marked `Secure`.
fn plain(token: &str) -> ServerConfig {
    ServerConfig {
        token: Some(Secret::new(token)),
        public_urls: vec!["http://dash.internal:8080".parse().expect("url")],
        ..ServerConfig::new(SocketAddr::from(([127, 0, 0, 1], 0)))
    }
}

/// GET `/` with `cookie`, the status.
async fn page_with(app: &TestApp, cookie: &str) -> StatusCode {
    app.http
        .get(app.url("/"))
        .header("cookie", cookie)
        .send()
        .await
        .expect("request")
        .status()
}

#[tokio::test]
async fn the_cookie_is_http_only_strict_and_never_the_token() {
    let app = TestApp::spawn_with(plain(TOKEN)).await;
    let login = sign_in(&app, TOKEN).await;
    assert_eq!(login.status(), StatusCode::SEE_OTHER);
    let header = set_cookie(&login);
    let parts: Vec<&str> = header.split(';').map(str::trim).collect();
    assert!(parts.contains(&"HttpOnly"), "{header}");
    assert!(parts.contains(&"SameSite=Strict"), "{header}");
    assert!(parts.contains(&"Path=/"), "{header}");
    assert!(parts.contains(&"Max-Age=43200"), "twelve hours: {header}");
    assert!(
        !parts.contains(&"Secure"),
        "plain HTTP cannot keep a Secure cookie: {header}"
    );
    assert!(!header.contains(TOKEN), "{header}");
    let body = login.text().await.expect("body");
    assert!(!body.contains(TOKEN), "the token is never sent back");
    assert_eq!(page_with(&app, &cookie_pair(&header)).await, StatusCode::OK);

    // Behind a TLS proxy the browser speaks HTTPS: the cookie is Secure.
    let app = TestApp::spawn_with(proxied(TOKEN)).await;
    let header = set_cookie(&sign_in(&app, TOKEN).await);
    assert!(
        header.split(';').map(str::trim).any(|p| p == "Secure"),
        "{header}"
    );
}

#[tokio::test]
async fn tampered_expired_and_foreign_cookies_are_refused() {
    let app = TestApp::spawn_with(ServerConfig {
        session_lifetime: Duration::from_secs(1),
        ..plain(TOKEN)
    })
    .await;
    let cookie = cookie_pair(&set_cookie(&sign_in(&app, TOKEN).await));
    assert_eq!(page_with(&app, &cookie).await, StatusCode::OK);
    let (name, value) = cookie.split_once('=').expect("name=value");
    let (payload, mac) = value.rsplit_once('.').expect("payload.mac");
    let (expiry, id) = payload.split_once('.').expect("expiry.id");
    let later: u64 = expiry.parse::<u64>().expect("expiry") + 3600;
    let flipped: String = mac
        .chars()
        .enumerate()
        .map(|(i, c)| {
            if i == 0 {
                if c == 'A' {
                    'B'
                } else {
                    'A'
                }
            } else {
                c
            }
        })
        .collect();
    for forged in [
        format!("{name}={later}.{id}.{mac}"),
        format!("{name}={payload}.{flipped}"),
        format!("{name}={payload}"),
        format!("{name}={TOKEN}"),
        "assistant_db_token=".to_owned() + TOKEN,
    ] {
        assert_eq!(
            page_with(&app, &forged).await,
            StatusCode::UNAUTHORIZED,
            "{forged}"
        );
    }

    // A cookie from a server with another token means nothing here.
    let other = TestApp::spawn_with(plain("another-token-0123456789")).await;
    let theirs = cookie_pair(&set_cookie(
        &sign_in(&other, "another-token-0123456789").await,
    ));
    assert_eq!(page_with(&other, &theirs).await, StatusCode::OK);
    assert_eq!(page_with(&app, &theirs).await, StatusCode::UNAUTHORIZED);

    // After its lifetime (one second here) the cookie is refused.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(page_with(&app, &cookie).await, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn signing_out_ends_the_session() {
    let app = TestApp::spawn_with(plain(TOKEN)).await;
    let cookie = cookie_pair(&set_cookie(&sign_in(&app, TOKEN).await));
    let other = cookie_pair(&set_cookie(&sign_in(&app, TOKEN).await));
    assert_eq!(page_with(&app, &cookie).await, StatusCode::OK);
    let logout = app
        .http
        .post(app.url("/logout"))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("request");
    assert_eq!(logout.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        logout
            .headers()
            .get("location")
            .and_then(|l| l.to_str().ok()),
        Some("/login")
    );
    let cleared = set_cookie(&logout);
    assert!(cleared.starts_with("assistant_db_session=;"), "{cleared}");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    // The old cookie is refused even if a browser (or a thief) sends it again.
    assert_eq!(page_with(&app, &cookie).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        page_with(&app, &other).await,
        StatusCode::OK,
        "other sessions go on"
    );
}

#[tokio::test]
async fn sign_in_attempts_are_limited_per_address() {
    let app = TestApp::spawn_with(plain(TOKEN)).await;
    let mut statuses = Vec::new();
    for n in 0..8 {
        let response = sign_in(&app, &format!("guess-{n:020}")).await;
        let status = response.status();
        if status == StatusCode::TOO_MANY_REQUESTS {
            let wait: u64 = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok())
                .expect("Retry-After in whole seconds");
            assert!((1..=60).contains(&wait), "{wait}");
            let page = response.text().await.expect("body");
            assert!(page.contains("Too many sign-in attempts"), "{page}");
        }
        statuses.push(status);
    }
    assert_eq!(
        statuses,
        [
            [StatusCode::UNAUTHORIZED; 5].as_slice(),
            [StatusCode::TOO_MANY_REQUESTS; 3].as_slice()
        ]
        .concat()
    );
    // Even the right token waits its turn: guessing cannot go on at full speed.
    assert_eq!(
        sign_in(&app, TOKEN).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
}

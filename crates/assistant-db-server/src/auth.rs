//! Who may call what.
//!
//! - Bound to a loopback address (the default, `127.0.0.1`), the pages and the read API
//!   are open to anyone on this machine.
//! - Bound to any other address, everything but `/healthz`, `/login` and the static
//!   assets needs the token in `ASSISTANT_DB_API_TOKEN`, and the server refuses to
//!   start without one.
//! - Writes (`POST`, `PUT`, …) always need the token, sent as `Authorization: Bearer
//!   <token>`. With no token configured they are refused (403) with a message saying
//!   how to enable them: an open write endpoint would let any local process or web page
//!   inject records.
//!
//! A browser cannot send a bearer header when it opens a page, so `/login` trades the
//! token for an `HttpOnly`, `SameSite=Strict` cookie, which is accepted for reads only;
//! writes never take the cookie, so a foreign page cannot make a browser write.

use std::net::SocketAddr;

use assistant_db::config::Secret;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;

use super::api::ApiError;
use super::dashboard::html;
use super::AppState;

/// The environment variable holding the API token.
pub const TOKEN_VAR: &str = "ASSISTANT_DB_API_TOKEN";
/// The shortest token accepted: shorter ones are too easy to guess.
pub const MIN_TOKEN_CHARS: usize = 16;
/// The cookie `/login` sets for browsers.
const COOKIE: &str = "assistant_db_token";

/// The access rules of one server.
#[derive(Debug, Clone)]
pub struct Access {
    token: Option<Secret>,
    reads_need_token: bool,
}

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    /// A write, and no token is configured: writes are disabled.
    WritesDisabled,
    /// The request carries no token.
    Missing,
    /// The request carries a token that is not the configured one.
    Wrong,
}

impl Access {
    /// The rules for a server bound to `addr`, with the token from the environment.
    ///
    /// Refuses a non-loopback address without a token, and a token that is too short.
    pub fn for_bind(addr: SocketAddr, token: Option<String>) -> anyhow::Result<Self> {
        let token = token.filter(|t| !t.is_empty());
        if let Some(token) = &token {
            let chars = token.chars().count();
            anyhow::ensure!(
                chars >= MIN_TOKEN_CHARS,
                "{TOKEN_VAR} is too short ({chars} characters); use at least \
                 {MIN_TOKEN_CHARS}, e.g. the output of `openssl rand -hex 32`"
            );
            anyhow::ensure!(
                !token.chars().any(char::is_whitespace),
                "{TOKEN_VAR} must not contain whitespace"
            );
        }
        let reads_need_token = !is_loopback(addr);
        anyhow::ensure!(
            !(reads_need_token && token.is_none()),
            "refusing to listen on {addr} without {TOKEN_VAR}: on any address but \
             loopback (127.0.0.1, ::1) the API and the dashboard need a bearer token. \
             Set {TOKEN_VAR} (e.g. to the output of `openssl rand -hex 32`), or listen \
             on 127.0.0.1"
        );
        Ok(Access {
            token: token.map(Secret::new),
            reads_need_token,
        })
    }

    /// True when a token is configured (and so writes are enabled).
    pub fn writes_enabled(&self) -> bool {
        self.token.is_some()
    }

    /// True when reads need the token too (not bound to loopback).
    pub fn reads_need_token(&self) -> bool {
        self.reads_need_token
    }

    /// Whether a request with this method and these headers may proceed.
    pub fn check(&self, method: &Method, headers: &HeaderMap) -> Result<(), Denied> {
        let write = !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
        if !write && !self.reads_need_token {
            return Ok(());
        }
        let Some(expected) = &self.token else {
            return Err(Denied::WritesDisabled);
        };
        let bearer = bearer(headers);
        // Cookies are for browsers reading pages; writes need the header (no CSRF).
        let given = if write {
            bearer
        } else {
            bearer.or_else(|| cookie(headers))
        };
        match given {
            None => Err(Denied::Missing),
            Some(given) if same(given.as_bytes(), expected.expose().as_bytes()) => Ok(()),
            Some(_) => Err(Denied::Wrong),
        }
    }

    /// True when `candidate` is the configured token.
    fn accepts(&self, candidate: &str) -> bool {
        self.token
            .as_ref()
            .is_some_and(|t| same(candidate.as_bytes(), t.expose().as_bytes()))
    }
}

/// Loopback, IPv4-mapped IPv6 loopback included.
fn is_loopback(addr: SocketAddr) -> bool {
    addr.ip().to_canonical().is_loopback()
}

/// The token of an `Authorization: Bearer …` header.
fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

/// The token of the login cookie.
fn cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| {
            url::form_urlencoded::parse(format!("v={value}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        })
}

/// Compares in time that depends only on the lengths, not on where the bytes differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Paths anyone may fetch: liveness, the login form and the page's static files.
fn is_open(path: &str) -> bool {
    path == "/healthz" || path == "/login" || path.starts_with("/assets/")
}

/// Paths that answer JSON (or Prometheus text) rather than a page.
fn is_machine_path(path: &str) -> bool {
    path.starts_with("/api/") || path == "/metrics"
}

/// The middleware that applies [`Access::check`] to every request.
pub async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if is_open(path) {
        return next.run(request).await;
    }
    match state.access().check(request.method(), request.headers()) {
        Ok(()) => next.run(request).await,
        Err(denied) if is_machine_path(path) || request.method() != Method::GET => {
            ApiError::from(denied).into_response()
        }
        Err(denied) => login_page(StatusCode::UNAUTHORIZED, denied == Denied::Wrong),
    }
}

/// The login form body.
#[derive(Debug, serde::Deserialize)]
pub struct Login {
    token: String,
}

/// `GET /login`: the form asking for the token.
pub async fn login_form(State(state): State<AppState>) -> Response {
    if !state.access().reads_need_token() {
        return Redirect::to("/").into_response();
    }
    login_page(StatusCode::OK, false)
}

/// `POST /login`: checks the token and sets the cookie that lets this browser read.
pub async fn login(State(state): State<AppState>, Form(form): Form<Login>) -> Response {
    let token = form.token.trim();
    if !state.access().accepts(token) {
        return login_page(StatusCode::UNAUTHORIZED, true);
    }
    let value: String = url::form_urlencoded::byte_serialize(token.as_bytes()).collect();
    let cookie = format!("{COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict");
    let mut response = Redirect::to("/").into_response();
    match HeaderValue::from_str(&cookie) {
        Ok(cookie) => {
            response.headers_mut().insert(header::SET_COOKIE, cookie);
            response
        }
        Err(_) => login_page(StatusCode::UNAUTHORIZED, true),
    }
}

/// The page that asks for the token.
fn login_page(status: StatusCode, wrong: bool) -> Response {
    let notice = if wrong {
        r#"<p class="notice error">That is not the server's token.</p>"#
    } else {
        ""
    };
    let body = format!(
        r#"<main class="wrap"><section class="card login">
  <h1>Sign in</h1>
  <p>This dashboard is served on a network address, so it needs the token the server
  was started with (<code>{TOKEN_VAR}</code>).</p>
  {notice}
  <form method="post" action="/login">
    <label>Token <input type="password" name="token" autocomplete="current-password" required autofocus></label>
    <button type="submit">Sign in</button>
  </form>
</section></main>"#
    );
    (status, html::page("Sign in · assistant-db", &body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "0123456789abcdef0123";

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(name.clone(), HeaderValue::from_str(value).expect("header"));
        }
        map
    }

    fn addr(text: &str) -> SocketAddr {
        text.parse().expect("address")
    }

    #[test]
    fn loopback_reads_are_open_and_writes_need_the_token() {
        let open = Access::for_bind(addr("127.0.0.1:0"), None).expect("loopback");
        assert_eq!(open.check(&Method::GET, &HeaderMap::new()), Ok(()));
        assert_eq!(
            open.check(&Method::POST, &HeaderMap::new()),
            Err(Denied::WritesDisabled)
        );
        let guarded = Access::for_bind(addr("[::1]:0"), Some(TOKEN.into())).expect("loopback");
        assert_eq!(guarded.check(&Method::GET, &HeaderMap::new()), Ok(()));
        assert_eq!(
            guarded.check(&Method::PUT, &HeaderMap::new()),
            Err(Denied::Missing)
        );
        let good = headers(&[(header::AUTHORIZATION, &format!("Bearer {TOKEN}"))]);
        assert_eq!(guarded.check(&Method::PUT, &good), Ok(()));
        let bad = headers(&[(header::AUTHORIZATION, "Bearer 0123456789abcdef0124")]);
        assert_eq!(guarded.check(&Method::POST, &bad), Err(Denied::Wrong));
    }

    #[test]
    fn other_addresses_need_a_token_for_everything() {
        let err = Access::for_bind(addr("0.0.0.0:8080"), None).expect_err("refused");
        assert!(err.to_string().contains(TOKEN_VAR), "{err}");
        let access = Access::for_bind(addr("10.1.2.3:8080"), Some(TOKEN.into())).expect("ok");
        assert_eq!(
            access.check(&Method::GET, &HeaderMap::new()),
            Err(Denied::Missing)
        );
        let cookie = headers(&[(header::COOKIE, &format!("a=b; {COOKIE}={TOKEN}"))]);
        assert_eq!(access.check(&Method::GET, &cookie), Ok(()));
        assert_eq!(
            access.check(&Method::POST, &cookie),
            Err(Denied::Missing),
            "the cookie never authorizes a write"
        );
        assert!(Access::for_bind(addr("[::ffff:127.0.0.1]:1"), None).is_ok());
    }

    #[test]
    fn short_tokens_are_refused() {
        let err = Access::for_bind(addr("127.0.0.1:0"), Some("short".into())).expect_err("short");
        assert!(err.to_string().contains("too short"), "{err}");
        assert!(Access::for_bind(addr("127.0.0.1:0"), Some(String::new()))
            .is_ok_and(|a| !a.writes_enabled()));
    }

    #[test]
    fn comparison_needs_every_byte() {
        assert!(same(b"abc", b"abc"));
        assert!(!same(b"abc", b"abd"));
        assert!(!same(b"abc", b"abcd"));
    }
}

//! Who may call what.
//!
//! - On loopback (the default, `127.0.0.1`) the pages and the read API are open to
//!   anyone on this machine: the `Host` check (the `host` middleware) keeps
//!   web pages from elsewhere out.
//! - When other machines can reach the server (bound off loopback, `--behind-tls-proxy`,
//!   or a public `--public-url`), everything but `/healthz`, `/login`, `/logout` and the
//!   static assets needs the token in `ASSISTANT_DB_API_TOKEN`, and the server refuses
//!   to start without one.
//! - Writes (`POST`, `PUT`, …) always need the token, sent as `Authorization: Bearer
//!   <token>`. With no token configured they are refused (403) with a message saying
//!   how to enable them: an open write endpoint would let any local process or web page
//!   inject records.
//!
//! A browser cannot send a bearer header when it opens a page, so `/login` trades the
//! token for a signed, expiring session cookie ([`session`]), `HttpOnly` and
//! `SameSite=Strict`, accepted for reads only; `/login` is rate-limited per client
//! address ([`limit`]) and `/logout` ends the session.

pub mod access;
pub mod limit;
pub mod session;

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Extension;

use self::access::Access;
pub use self::access::Principal;
use self::limit::LoginLimiter;
use self::session::{NoRandomness, Sessions};
use crate::body::RequestBody;
use crate::config::{Settings, TOKEN_VAR};
use crate::error::ApiError;
use crate::html;
use crate::listen::Connection;

/// The access rules, sessions and sign-in limit of one server.
#[derive(Debug)]
pub struct Auth {
    access: Access,
    sessions: Option<Sessions>,
    limiter: LoginLimiter,
    secure_cookies: bool,
    session_lifetime: Duration,
}

impl Auth {
    /// The rules of a server started with `settings`.
    pub fn new(settings: &Settings) -> Result<Self, NoRandomness> {
        let secure = settings.browsers_use_https();
        let sessions = settings
            .token()
            .map(|token| Sessions::new(token, settings.session_lifetime(), secure))
            .transpose()?;
        Ok(Auth {
            access: Access::new(settings.token().cloned(), settings.reads_need_token()),
            sessions,
            limiter: LoginLimiter::default(),
            secure_cookies: secure,
            session_lifetime: settings.session_lifetime(),
        })
    }

    /// The access rules.
    pub fn access(&self) -> &Access {
        &self.access
    }

    /// True when `headers` carry a valid session cookie.
    fn has_session(&self, headers: &HeaderMap) -> bool {
        match (&self.sessions, session::from_headers(headers)) {
            (Some(sessions), Some(value)) => sessions.is_valid(value),
            _ => false,
        }
    }
}

/// Paths anyone may fetch: liveness, signing in and out, and the page's static files.
fn is_open(path: &str) -> bool {
    matches!(path, "/healthz" | "/login" | "/logout") || path.starts_with("/assets/")
}

/// Paths that answer JSON (or Prometheus text) rather than a page.
fn is_machine_path(path: &str) -> bool {
    path.starts_with("/api/") || path == "/metrics"
}

/// The middleware that applies the access rules to every request, and records who was
/// let in as a [`Principal`] extension.
pub async fn guard(State(auth): State<Arc<Auth>>, mut request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if is_open(path) {
        return next.run(request).await;
    }
    let session = auth.has_session(request.headers());
    match auth
        .access
        .check(request.method(), request.headers(), session)
    {
        Ok(principal) => {
            request.extensions_mut().insert(principal);
            next.run(request).await
        }
        Err(denied)
            if is_machine_path(path)
                || !matches!(*request.method(), Method::GET | Method::HEAD) =>
        {
            ApiError::from(denied).into_response()
        }
        Err(denied) => login_page(
            &auth,
            StatusCode::UNAUTHORIZED,
            (denied == crate::error::Denied::Wrong).then_some(WRONG),
        ),
    }
}

/// The notice after a wrong token.
const WRONG: &str = "That is not the server's token.";

/// `GET /login`: the form asking for the token.
pub async fn login_form(State(auth): State<Arc<Auth>>, headers: HeaderMap) -> Response {
    if !auth.access.reads_need_token() || auth.has_session(&headers) {
        return Redirect::to("/").into_response();
    }
    login_page(&auth, StatusCode::OK, None)
}

/// `POST /login`: checks the token and starts a session for this browser.
pub async fn login(
    State(auth): State<Arc<Auth>>,
    connection: Option<Extension<Connection>>,
    RequestBody(body): RequestBody,
) -> Response {
    let client = connection.map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.peer.ip());
    if let Err(wait) = auth.limiter.attempt(client) {
        let seconds = limit::whole_seconds(wait);
        let notice =
            format!("Too many sign-in attempts from your address; try again in {seconds} seconds.");
        let mut response = login_page(&auth, StatusCode::TOO_MANY_REQUESTS, Some(&notice));
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        return response;
    }
    let token = url::form_urlencoded::parse(&body)
        .find(|(name, _)| name == "token")
        .map(|(_, value)| value.trim().to_owned())
        .unwrap_or_default();
    let Some(sessions) = auth
        .sessions
        .as_ref()
        .filter(|_| auth.access.accepts(&token))
    else {
        return login_page(&auth, StatusCode::UNAUTHORIZED, Some(WRONG));
    };
    let cookie = match sessions.issue() {
        Ok(value) => sessions.set_cookie(&value),
        Err(e) => return ApiError::Internal(e.to_string()).into_response(),
    };
    let mut response = Redirect::to("/").into_response();
    match HeaderValue::from_str(&cookie) {
        Ok(cookie) => {
            response.headers_mut().insert(header::SET_COOKIE, cookie);
            response
        }
        Err(e) => ApiError::Internal(format!("cannot set the session cookie: {e}")).into_response(),
    }
}

/// `POST /logout`: ends this browser's session and removes its cookie.
pub async fn logout(State(auth): State<Arc<Auth>>, headers: HeaderMap) -> Response {
    if let (Some(sessions), Some(value)) = (&auth.sessions, session::from_headers(&headers)) {
        sessions.end(value);
    }
    let secure = if auth.secure_cookies { "; Secure" } else { "" };
    let clear = format!(
        "{}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict{secure}",
        session::COOKIE
    );
    let mut response = Redirect::to("/login").into_response();
    if let Ok(clear) = HeaderValue::from_str(&clear) {
        response.headers_mut().insert(header::SET_COOKIE, clear);
    }
    response
}

/// The page that asks for the token, with an optional notice.
fn login_page(auth: &Auth, status: StatusCode, notice: Option<&str>) -> Response {
    let notice = notice.map_or_else(String::new, |n| {
        format!(r#"<p class="notice error">{}</p>"#, html::esc(n))
    });
    let lifetime = in_words(auth.session_lifetime);
    let body = format!(
        r#"<main class="wrap"><section class="card login">
  <h1>Sign in</h1>
  <p>This dashboard can be reached from other machines, so it needs the token the server
  was started with (<code>{TOKEN_VAR}</code>). Signing in keeps this browser signed in
  for {lifetime}; the token itself is not stored.</p>
  {notice}
  <form method="post" action="/login">
    <label>Token <input type="password" name="token" autocomplete="current-password" required autofocus></label>
    <button type="submit">Sign in</button>
  </form>
</section></main>"#
    );
    (status, html::page("Sign in · assistant-db", &body)).into_response()
}

/// A duration in the largest whole unit that fits: `12 hours`, `30 minutes`, `1 second`.
fn in_words(duration: Duration) -> String {
    let secs = duration.as_secs();
    let (n, unit) = if secs >= 3600 && secs.is_multiple_of(3600) {
        (secs / 3600, "hour")
    } else if secs >= 60 && secs.is_multiple_of(60) {
        (secs / 60, "minute")
    } else {
        (secs, "second")
    };
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_read_as_words() {
        assert_eq!(in_words(Duration::from_secs(12 * 3600)), "12 hours");
        assert_eq!(in_words(Duration::from_secs(90 * 60)), "90 minutes");
        assert_eq!(in_words(Duration::from_secs(1)), "1 second");
    }
}

//! The `Host` check: a request is answered only when it names this server (see
//! [`HostNames`] for which names, and why).
//!
//! A foreign name gets `421 Misdirected Request`; a missing or malformed `Host` gets
//! `400 Bad Request`, as HTTP/1.1 asks. Both apply on every path, `/healthz` included:
//! probes that address the server by the IP they connect to are let in because that
//! address is one of the server's own names.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::config::names::{HostNames, HostRefusal};
use crate::error::ErrorBody;
use crate::listen::Connection;

/// Longest part of a refused name echoed back.
const ECHOED: usize = 100;

/// Refuses requests that do not name this server.
pub async fn check_host(
    State(names): State<Arc<HostNames>>,
    request: Request,
    next: Next,
) -> Response {
    let reached = request.extensions().get::<Connection>().map(|c| c.local);
    let host = request.headers().get(header::HOST).map(|v| v.as_bytes());
    match names.check(host, request.uri().authority(), reached) {
        Ok(()) => next.run(request).await,
        Err(refusal) => refuse(&names, refusal),
    }
}

fn refuse(names: &HostNames, refusal: HostRefusal) -> Response {
    let (status, error) = match refusal {
        HostRefusal::Missing => (
            StatusCode::BAD_REQUEST,
            "the request has no Host header; this server answers only requests that name it"
                .to_owned(),
        ),
        HostRefusal::Malformed => (
            StatusCode::BAD_REQUEST,
            "the Host header is not a host name with an optional port".to_owned(),
        ),
        HostRefusal::Foreign(name) => (
            StatusCode::MISDIRECTED_REQUEST,
            format!(
                "this server does not answer to {:?}; it answers to {} (start it with \
                 --public-url to add a name)",
                name.chars().take(ECHOED).collect::<String>(),
                names.describe()
            ),
        ),
    };
    (
        status,
        Json(ErrorBody {
            error,
            errors: None,
        }),
    )
        .into_response()
}

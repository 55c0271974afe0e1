//! `GET /metrics`: request counters and the logger's counters in Prometheus text form.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::error::ErrorBody;
use crate::state::AppState;

/// Prometheus metrics: requests and latencies per route, the logger's counters.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    responses(
        (status = 200, description = "Prometheus text exposition format", body = String, content_type = "text/plain"),
        (status = 401, description = "Reads need the token (the server is reachable from other machines)", body = ErrorBody),
    ),
    security((), ("bearer" = [])),
)]
pub async fn prometheus(State(state): State<AppState>) -> Response {
    let stats = state.logger().stats().await.ok();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.telemetry().render(stats.as_ref()),
    )
        .into_response()
}

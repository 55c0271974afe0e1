//! `GET /healthz`: liveness and readiness for load balancers and probes.

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use crate::state::AppState;

/// How long a health check waits for the database.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(2);

/// The health report.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok` when the database answers, `unavailable` when it does not (writes are still
    /// accepted into the spool).
    pub status: &'static str,
    /// Whether the database answered within two seconds.
    pub database_reachable: bool,
    /// Entries waiting in the spool for the database.
    pub spool_depth: Option<u64>,
    /// Age of the oldest waiting entry, in milliseconds.
    pub spool_oldest_age_ms: Option<u64>,
}

/// Liveness and readiness: is the database reachable, how much waits in the spool.
/// Open to everyone (no customer data), for load balancers and probes.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "operations",
    responses(
        (status = 200, description = "The database answers", body = Health),
        (status = 503, description = "The database does not answer", body = Health),
    ),
    security(()),
)]
pub async fn healthz(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    let reachable = matches!(
        tokio::time::timeout(HEALTH_TIMEOUT, state.client().test_connection()).await,
        Ok(Ok(()))
    );
    let stats = state.logger().stats().await.ok();
    let status = if reachable {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(Health {
            status: if reachable { "ok" } else { "unavailable" },
            database_reachable: reachable,
            spool_depth: stats.as_ref().map(|s| s.depth),
            spool_oldest_age_ms: stats.and_then(|s| s.oldest_age_ms),
        }),
    )
}

//! `POST /api/escalations`: escalations of interactions logged before.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;

use super::Accepted;
use crate::body::RequestBody;
use crate::error::{ApiError, ErrorBody};
use crate::ingest;
use crate::schemas;
use crate::state::AppState;

/// Logs escalations of interactions logged before: one object or an array. Each needs
/// `interaction_id`; one naming an interaction that never arrives is refused by the
/// database later and kept in the spool's dead letters (`assistant-db spool`).
#[utoipa::path(
    post,
    path = "/api/escalations",
    tag = "write",
    request_body(content = schemas::EscalationBody, description = "One escalation or an array of them"),
    responses(
        (status = 202, description = "Spooled; will be written to the database", body = Accepted),
        (status = 400, description = "The body is not JSON", body = ErrorBody),
        (status = 401, description = "Missing or wrong bearer token", body = ErrorBody),
        (status = 403, description = "Writes are disabled (no token configured)", body = ErrorBody),
        (status = 408, description = "The body did not arrive in time", body = ErrorBody),
        (status = 413, description = "The body is larger than the limit", body = ErrorBody),
        (status = 422, description = "Fields are invalid; nothing was written", body = ErrorBody),
        (status = 503, description = "The spool is full; retry later", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn post(
    State(state): State<AppState>,
    RequestBody(body): RequestBody,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    let escalations = ingest::escalations(&body)?;
    let accepted = Accepted {
        interactions: Vec::new(),
        escalations: escalations.iter().map(|e| e.id).collect(),
    };
    state
        .logger()
        .log_escalations(escalations)
        .await
        .map_err(ApiError::writing("the escalations"))?;
    Ok((StatusCode::ACCEPTED, Json(accepted)))
}

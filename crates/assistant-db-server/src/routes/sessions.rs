//! `DELETE /api/sessions/{id}`: erasing one conversation's data (GDPR art. 17) — its
//! interactions and escalations in the database, and its entries and dead letters in
//! the spools beside the server's own — answered with the erasure's receipt.
//!
//! A write, so it needs the token whatever the server's exposure (see [`crate::auth`]).
//! The receipt holds counts and times, never content; the trail (`retention log`) keeps
//! the erasure under a keyed hash of the id.

use std::path::Path as FsPath;

use assistant_db::logger::erase::{forget, spool_files, Receipt};
use assistant_db::retention::{ErasureTarget, SessionId, Via};
use axum::extract::path::ErrorKind;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::Json;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{ApiError, ErrorBody, FieldError};
use crate::state::AppState;

/// Erases a session: every interaction whose `session_id` is `id` (compared exactly),
/// their escalations, and the matching entries and dead letters of the spools in the
/// directory of the server's own spool. Safe to repeat.
///
/// A session that is still logging keeps logging: rows logged after `erased_at` are not
/// erased, and the receipt says `may_still_be_logging` when the session was recently
/// active or had entries waiting.
#[utoipa::path(
    delete,
    path = "/api/sessions/{id}",
    tag = "write",
    params(("id" = String, Path, description = "The session's id (`session_id`), percent-encoded")),
    responses(
        (status = 200, description = "Erased; what was removed, where and when", body = ErasureReceipt),
        (status = 401, description = "Missing or wrong bearer token", body = ErrorBody),
        (status = 403, description = "Writes are disabled (no token configured)", body = ErrorBody),
        (status = 422, description = "The id is not a session id", body = ErrorBody),
        (status = 503, description = "The database cannot be reached; nothing is reported erased, retry", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn erase(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<Receipt>, ApiError> {
    let target = ErasureTarget::Session(session_id(id)?);
    let own = state.logger().spool_path().to_path_buf();
    let dir = own
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(FsPath::new("."))
        .to_path_buf();
    let spools = spool_files(&dir, &[own]);
    let receipt = forget(state.client(), &spools, &target, Via::Api)
        .await
        .map_err(ApiError::writing("the erasure"))?;
    tracing::info!(
        interactions = receipt.database.interactions,
        escalations = receipt.database.escalations,
        spool_entries = receipt.spools.counts().entries,
        log_id = receipt.log_id,
        "erased a session"
    );
    Ok(Json(receipt))
}

/// The session id of the path, checked as the column holds it.
fn session_id(path: Result<Path<String>, PathRejection>) -> Result<SessionId, ApiError> {
    let text = match path {
        Ok(Path(text)) => text,
        Err(PathRejection::FailedToDeserializePathParams(e))
            if matches!(e.kind(), ErrorKind::InvalidUtf8InPathParam { .. }) =>
        {
            return Err(ApiError::InvalidParameters(vec![FieldError::new(
                "id",
                "must be UTF-8 text (a percent-encoded byte sequence here is not)",
            )]));
        }
        Err(other) => {
            return Err(ApiError::Internal(format!(
                "the path cannot be read: {}",
                other.body_text()
            )))
        }
    };
    SessionId::parse(text)
        .map_err(|e| ApiError::InvalidParameters(vec![FieldError::new("id", e.rule)]))
}

/// The receipt of an erasure (the JSON of `assistant-db forget --json`).
#[derive(Serialize, ToSchema)]
pub struct ErasureReceipt {
    /// `session`.
    target: String,
    /// The session id erased.
    id: String,
    /// The keyed hash (HMAC-SHA256, hex) under which the trail records the erasure.
    id_hash: String,
    /// The trail's entry.
    log_id: i64,
    /// When the database deleted the rows.
    erased_at: DateTime<Utc>,
    /// What the database deleted.
    database: DatabaseCounts,
    /// What the spools held.
    spools: SpoolsErased,
    /// The newest `timestamp` among the interactions erased.
    latest_activity: Option<DateTime<Utc>>,
    /// The session may still be logging; later rows are not erased.
    may_still_be_logging: bool,
    /// What no erasure here can reach (backups, exports, other hosts' spools).
    not_reached: Vec<String>,
}

/// Rows the database deleted.
#[derive(Serialize, ToSchema)]
pub struct DatabaseCounts {
    /// Interactions deleted.
    interactions: u64,
    /// Escalations deleted.
    escalations: u64,
}

/// The spools looked at.
#[derive(Serialize, ToSchema)]
pub struct SpoolsErased {
    /// One per spool file.
    files: Vec<SpoolFileErased>,
}

/// What one spool file held.
#[derive(Serialize, ToSchema)]
pub struct SpoolFileErased {
    /// The file.
    path: String,
    /// Waiting entries removed.
    entries: u64,
    /// Dead letters removed.
    dead_letters: u64,
    /// A logger was draining it: what it was sending is deleted again once stored.
    logger_running: bool,
    /// Its write-ahead log was emptied.
    wal_cleared: bool,
}

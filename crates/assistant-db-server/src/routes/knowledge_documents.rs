//! `PUT /api/knowledge-documents`: registering or updating documents by
//! `openai_file_id`, written at once (the logger carries interactions and escalations
//! only).

use axum::extract::State;
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::body::RequestBody;
use crate::error::{ApiError, ErrorBody};
use crate::ingest;
use crate::schemas;
use crate::state::AppState;

/// One knowledge document written by an upsert.
#[derive(Debug, Serialize, ToSchema)]
pub struct DocumentWritten {
    /// Position in the request's array; absent for a single object.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<usize>,
    /// The stored row's id (an existing row keeps its id).
    pub id: Uuid,
    /// The key the row was matched on.
    pub openai_file_id: String,
    /// True if the row is new, false if an existing one was updated.
    pub inserted: bool,
}

/// What `PUT /api/knowledge-documents` wrote.
#[derive(Debug, Serialize, ToSchema)]
pub struct DocumentsWritten {
    /// One entry per document, in the order of the request.
    pub documents: Vec<DocumentWritten>,
}

/// Registers or updates knowledge documents by `openai_file_id`: one object or an array,
/// atomically. Unlike interactions these are written at once, so a database outage
/// answers `503`; the upsert is idempotent, so retry.
#[utoipa::path(
    put,
    path = "/api/knowledge-documents",
    tag = "write",
    request_body(content = schemas::KnowledgeDocumentBody, description = "One document or an array of them"),
    responses(
        (status = 200, description = "Written", body = DocumentsWritten),
        (status = 400, description = "The body is not JSON", body = ErrorBody),
        (status = 401, description = "Missing or wrong bearer token", body = ErrorBody),
        (status = 403, description = "Writes are disabled (no token configured)", body = ErrorBody),
        (status = 408, description = "The body did not arrive in time", body = ErrorBody),
        (status = 409, description = "A given `id` belongs to a stored document with another `openai_file_id`; nothing was written", body = ErrorBody),
        (status = 413, description = "The body is larger than the limit", body = ErrorBody),
        (status = 422, description = "Fields are invalid; nothing was written", body = ErrorBody),
        (status = 503, description = "The database is unavailable; retry later", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn put(
    State(state): State<AppState>,
    RequestBody(body): RequestBody,
) -> Result<Json<DocumentsWritten>, ApiError> {
    let batch = body.trim_ascii_start().starts_with(b"[");
    let documents = ingest::knowledge_documents(&body)?;
    let rows = state
        .client()
        .upsert_knowledge_documents(&documents)
        .await
        .map_err(ApiError::writing("the knowledge documents"))?;
    if rows.len() != documents.len() {
        return Err(ApiError::Internal(format!(
            "the upsert returned {} rows for {} documents",
            rows.len(),
            documents.len()
        )));
    }
    // The upsert returns its rows in the order of its input.
    let documents = documents
        .iter()
        .zip(rows)
        .enumerate()
        .map(|(i, (document, row))| DocumentWritten {
            index: batch.then_some(i),
            id: row.id,
            openai_file_id: document.openai_file_id.as_str().to_owned(),
            inserted: row.inserted,
        })
        .collect();
    Ok(Json(DocumentsWritten { documents }))
}

//! The JSON API, one module per resource: metrics and interactions to read;
//! interactions, escalations and knowledge documents to write; a session to erase;
//! health and Prometheus metrics for operators; and the answer for paths nobody serves.
//!
//! Handlers stay thin: parse the request ([`crate::params`], [`crate::ingest`]), make
//! one library call, shape the answer. Every failure is an [`crate::error::ApiError`].

pub mod escalations;
pub mod fallback;
pub mod health;
pub mod interactions;
pub mod knowledge_documents;
pub mod metrics;
pub mod prometheus;
pub mod sessions;

use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// What a write accepted: the ids, in the order of the request, to retry with or to
/// read back.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct Accepted {
    /// Ids of the interactions (given or generated).
    pub interactions: Vec<Uuid>,
    /// Ids of the escalations (given or generated).
    pub escalations: Vec<Uuid>,
}

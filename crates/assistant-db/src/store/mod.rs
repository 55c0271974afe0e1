//! Transports: where a [`Client`](crate::Client) sends its reads and writes.
//!
//! Writes and metrics go through SQL functions created by the migrations
//! (`log_interactions`, `upsert_knowledge_documents`, `interaction_metrics`), so every
//! transport inserts and aggregates in exactly the same way, inside PostgreSQL.

mod copy;
mod postgres;
pub mod rest;

pub use postgres::PgStore;
pub use rest::{KeyRole, RestOptions, RestStore};

/// The transport a client holds.
#[derive(Debug, Clone)]
pub(crate) enum Backend {
    /// Direct PostgreSQL.
    Postgres(PgStore),
    /// Supabase's REST API (PostgREST).
    Rest(RestStore),
}

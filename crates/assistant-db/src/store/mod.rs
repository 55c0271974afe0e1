//! Transports: where a [`Client`](crate::Client) sends its reads and writes.
//!
//! Writes and metrics go through SQL functions created by the migrations
//! (`log_interactions`, `upsert_knowledge_documents`, `interaction_metrics`), so every
//! transport inserts and aggregates in exactly the same way, inside PostgreSQL.

mod postgres;

pub use postgres::PgStore;

/// The transport a client holds.
#[derive(Debug, Clone)]
pub(crate) enum Backend {
    /// Direct PostgreSQL.
    Postgres(PgStore),
}

//! One module per subcommand.

pub mod demo;
pub mod export;
pub mod forget;
pub mod import;
pub mod interactions;
pub mod knowledge_documents;
pub mod local;
pub mod log;
pub mod metrics;
pub mod migrate;
pub mod public_metrics;
pub mod records;
pub mod redact;
pub mod retention;
pub mod rollups;
pub mod schema;
pub mod serve;
pub mod spool;
pub mod verify;

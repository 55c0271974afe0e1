//! The database layer of the AI banking assistant.
//!
//! `assistant-db` owns the spec's schema (`interactions`, `escalations`,
//! `knowledge_documents`), applies it as tracked migrations, verifies a live database
//! against it, and runs a private local PostgreSQL when no database is configured.

pub mod client;
pub mod config;
pub mod connect;
pub mod demo;
pub mod error;
pub mod export;
mod files;
pub mod local;
pub mod logger;
pub mod metrics;
pub mod migrate;
pub mod model;
pub mod query;
pub mod redact;
pub mod retention;
pub mod rollups;
pub mod row;
mod secret;
pub mod store;
pub mod table;
pub mod verify;
pub mod when;

pub use client::Client;
pub use config::Config;
pub use error::{Error, Result};

/// The README's Rust examples, compiled as doctests so they stay true.
#[doc = include_str!("../../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

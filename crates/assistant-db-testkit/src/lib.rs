//! Test support for the assistant-db workspace (not published): throwaway PostgreSQL
//! servers, a fresh migrated database per test, and a PostgREST-compatible REST server in
//! front of one.
//!
//! Everything here panics with a clear message when what a test needs cannot be started:
//! a test that cannot reach a real server fails, it is never skipped.

pub mod db;
mod ephemeral;
pub mod plans;
pub mod rest;
mod scratch;

pub use ephemeral::EphemeralCluster;
pub use scratch::ScratchServer;

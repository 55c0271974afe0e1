//! Runs the Python package's pytest suite the way the rest of the workspace tests run:
//! against throwaway PostgreSQL databases and REST servers started by
//! `assistant-db-testkit`, so that there is one way of starting servers.
//!
//! [`venv`] builds the package into a virtualenv under the target directory (`pip
//! install ./python`, as a user would); [`control`] serves the tests what they ask for
//! over a line of JSON on a loopback socket: a fresh migrated database, a REST server in
//! front of one, and a stop or start of the PostgreSQL server itself.

pub mod control;
pub mod venv;

// The pass-through proxy that serves a root-served REST API under `/rest/v1`, as a
// Supabase project does (shared with crates/assistant-db/benches); only it is used here.
#[path = "../../../crates/assistant-db/benches/spec_python.rs"]
#[allow(dead_code, missing_docs)]
mod spec_python;

pub use spec_python::PrefixProxy;

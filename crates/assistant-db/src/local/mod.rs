//! The embedded default: a private PostgreSQL cluster owned by the tool.
//!
//! With no database configured, assistant-db runs its own server from the installed
//! PostgreSQL binaries: data under one home directory, created with `initdb` on first
//! use, listening only on a Unix socket inside that directory (no TCP port), and left
//! running between commands until `assistant-db local stop`, as `supabase start` does.
//! PostgreSQL refuses to run as root, so when we are root the server runs as the
//! `postgres` system user and the cluster directory is handed to that user.
//!
//! Throwaway servers for tests and benchmarks are built on [`LocalCluster`] in the
//! workspace's test-support crate.

mod binaries;
mod cluster;

pub use binaries::PgBinaries;
pub use cluster::{ClusterStatus, LocalCluster, StartOutcome, Tuning};

/// The database the embedded default keeps the assistant's tables in.
pub const DEFAULT_DATABASE: &str = "assistant";
/// The superuser created in every local cluster (trusted on the private socket only).
pub const SUPERUSER: &str = "postgres";
/// The port number; with no TCP listener it only names the socket file `.s.PGSQL.5432`.
pub const PORT: u16 = 5432;

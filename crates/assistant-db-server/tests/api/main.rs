//! The server in-process, as zero2prod's API tests run theirs: every test spawns the
//! router on a random 127.0.0.1 port over a fresh migrated database and talks to it
//! with a real HTTP client over a real socket.

mod helpers;

mod access;
mod bad_text;
mod find;
mod fuzz;
mod hosts;
mod limits;
mod reads;
mod redaction;
mod sessions;
mod telemetry;
mod tls;
mod writes;

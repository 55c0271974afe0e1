//! The HTTP API and the metrics dashboard of `assistant-db serve`, as a library: build a
//! [`Server`] from checked [`Settings`], a [`Client`](assistant_db::Client) and a
//! [`Logger`](assistant_db::logger::Logger), then run it.
//!
//! Reads go straight to the database through the client. Writes are parsed with the
//! model's own parsers ([`ingest`]), then handed to the logger's durable spool and
//! answered `202 Accepted`: a database outage delays them instead of failing the
//! caller, and client-generated ids make a retried request harmless.
//!
//! The server is a trust boundary. It answers only requests that name it
//! ([`middleware::host`]), lets in only who may call ([`auth`]), reads bodies and
//! headers within limits of size and time ([`body`], [`listen`]), and refuses to start
//! from a setup that would expose customer data ([`config`]). Request and response
//! bodies are never logged: they hold customer text.
//!
//! Modules depend downwards only: `config`, `error`, `html` and `listen` at the
//! bottom; `params`, `body`, `ingest`, `telemetry`, `schemas` on them; `auth` and
//! `middleware` next; `state` over those; `dashboard` and `routes` over `state`;
//! `openapi` over `routes`; `startup` puts everything together.

pub mod auth;
pub mod body;
pub mod config;
pub mod dashboard;
pub mod error;
pub mod html;
pub mod ingest;
pub mod listen;
pub mod middleware;
pub mod openapi;
pub mod params;
pub mod routes;
pub mod schemas;
pub mod startup;
pub mod state;
pub mod telemetry;

pub use config::{ConfigError, ServerConfig, Settings};
pub use startup::{router, ServeError, Server};
pub use state::AppState;

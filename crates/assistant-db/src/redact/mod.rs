//! PII redaction: card numbers, IBANs, e-mail addresses, phone numbers, SSNs, account
//! numbers and security codes found in free text, masked or replaced by keyed hashes
//! before a record is spooled or sent.
//!
//! Build a [`Redactor`] once from a [`RedactionConfig`] (from the environment with
//! [`RedactionConfig::from_env`]), then call [`Redactor::redact_interaction`] /
//! [`Redactor::redact_escalation`] on each record, or [`Redactor::redact`] on a text.
//! Tokens: `[CARD ••••1234]`, `[IBAN GB••…5432]`, `[EMAIL]`, `[PHONE]`, `[SSN]`,
//! `[ACCOUNT]`, `[CVV]`, `[NAME]` for a user rule; with the `hash` policy
//! `[CARD #1a2b3c4d5e6f]`, the first 12 hex digits of HMAC-SHA256(key,
//! "card:" + normalised value). Redacting a redacted text changes nothing.
//!
//! The database-side guard (migration `006_redaction_guard.sql`) masks cards, IBANs and
//! e-mail addresses with the same rules and tokens for writers that bypass the library.
//!
//! Wired in: every write of a [`Client`](crate::Client) and every entry point of the
//! [`Logger`](crate::logger::Logger) (before the spool) redact with the client's engine;
//! [`backfill`] redacts rows stored before.

pub mod backfill;
pub mod config;
pub mod detect;
mod engine;
mod kind;

pub use config::{ConfigError, Policy, RedactionConfig, UserRule};
pub use engine::{Finding, Redactor};
pub use kind::{Counts, Kind, SharedCounts};

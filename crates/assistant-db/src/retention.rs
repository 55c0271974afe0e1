//! Retention and erasure, as values: the policy (`400d`), what erasure targets, what a
//! run or an erasure reports, and the trail's entries.
//!
//! The deleting itself happens in PostgreSQL (migration 008): `retention_step` deletes
//! one short batch per transaction and `erase_customer_data` one session or interaction;
//! both record what they did in `assistant_db.retention_log`, which holds no personal
//! data (an erased id appears only as a keyed hash). [`Client::run_retention`] drives
//! the batches and [`crate::logger::erase`] adds the spools of this host to an erasure.
//! This module holds only the values both sides exchange, so that the transports, the
//! client and the logger can all use them without depending on one another.
//!
//! [`Client::run_retention`]: crate::Client::run_retention

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::model::ValidationError;

/// Rows deleted per transaction by default: small enough that a batch holds its locks
/// for milliseconds, large enough that a million rows take a thousand round trips.
pub const DEFAULT_BATCH: u32 = 1000;
/// The largest batch `retention_step` accepts.
pub const MAX_BATCH: u32 = 10_000;

/// How old a row must be for retention to delete it: a whole number of days, weeks,
/// months or years (`400d`, `60w`, `13mo`, `7y`), at least one day.
///
/// Months and years are calendar units, as PostgreSQL counts them from the moment of
/// the run (`now() - interval '7 years'`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RetentionPolicy {
    amount: u32,
    unit: Unit,
}

/// The unit of a [`RetentionPolicy`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Unit {
    Days,
    Weeks,
    Months,
    Years,
}

impl Unit {
    fn suffix(self) -> &'static str {
        match self {
            Unit::Days => "d",
            Unit::Weeks => "w",
            Unit::Months => "mo",
            Unit::Years => "y",
        }
    }

    fn word(self) -> &'static str {
        match self {
            Unit::Days => "days",
            Unit::Weeks => "weeks",
            Unit::Months => "months",
            Unit::Years => "years",
        }
    }
}

/// The rule a policy must follow, in the words errors use.
const POLICY_RULE: &str = "must be a whole number followed by d (days), w (weeks), mo (months) \
                           or y (years), at least 1d, e.g. 400d";

impl RetentionPolicy {
    /// A policy of `amount` days.
    pub fn days(amount: u32) -> Result<Self, ValidationError> {
        Self::new(amount, Unit::Days)
    }

    fn new(amount: u32, unit: Unit) -> Result<Self, ValidationError> {
        // 100 years in any unit keeps the interval far inside PostgreSQL's range.
        let limit = match unit {
            Unit::Days => 36_525,
            Unit::Weeks => 5_218,
            Unit::Months => 1_200,
            Unit::Years => 100,
        };
        if amount == 0 || amount > limit {
            return Err(ValidationError::new(
                "older_than",
                format!(
                    "{POLICY_RULE}, and at most 100 years (got {amount}{})",
                    unit.suffix()
                ),
            ));
        }
        Ok(RetentionPolicy { amount, unit })
    }

    /// The policy as a PostgreSQL interval literal: `400 days`.
    pub fn interval(&self) -> String {
        format!("{} {}", self.amount, self.unit.word())
    }
}

impl FromStr for RetentionPolicy {
    type Err = ValidationError;

    /// Parses `400d`, `60w`, `13mo`, `7y` (surrounding space ignored, units in any case).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let split = text
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len());
        let (digits, unit) = text.split_at(split);
        let unit = match unit.to_ascii_lowercase().as_str() {
            "d" => Some(Unit::Days),
            "w" => Some(Unit::Weeks),
            "mo" => Some(Unit::Months),
            "y" => Some(Unit::Years),
            _ => None,
        };
        match (digits.parse::<u32>(), unit) {
            (Ok(amount), Some(unit)) => Self::new(amount, unit),
            _ => Err(ValidationError::new(
                "older_than",
                format!("{POLICY_RULE} (got {text:?})"),
            )),
        }
    }
}

impl fmt::Display for RetentionPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.amount, self.unit.suffix())
    }
}

/// What started a retention run or an erasure, as the trail records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Via {
    /// The `assistant-db` command.
    Cli,
    /// The daily task of `assistant-db serve`.
    Serve,
    /// The HTTP API (`DELETE /api/sessions/{id}`).
    Api,
    /// A pg_cron job.
    PgCron,
    /// Anything else calling the SQL functions.
    Sql,
}

impl Via {
    /// The name the trail stores.
    pub fn as_str(self) -> &'static str {
        match self {
            Via::Cli => "cli",
            Via::Serve => "serve",
            Via::Api => "api",
            Via::PgCron => "pg_cron",
            Via::Sql => "sql",
        }
    }
}

/// What counts a run would delete now (`retention run --dry-run`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetentionPreview {
    /// Rows older than this go.
    pub cutoff: DateTime<Utc>,
    /// Interactions older than the cutoff.
    pub interactions: u64,
    /// Their escalations, and escalations of no interaction older than the cutoff.
    pub escalations: u64,
}

/// A run just opened: its number in the trail, its cutoff, and what it is to delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetentionRun {
    /// The trail's id of the run.
    pub run: i64,
    /// Rows older than this go.
    pub cutoff: DateTime<Utc>,
    /// Interactions older than the cutoff when the run opened.
    pub interactions: u64,
    /// Escalations that go with them when the run opened.
    pub escalations: u64,
}

/// What one batch deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetentionStep {
    /// Interactions deleted.
    pub interactions: u64,
    /// Escalations deleted.
    pub escalations: u64,
    /// True when nothing older than the cutoff is left (but rows other transactions
    /// held, which the next run takes).
    pub done: bool,
}

/// What a whole run did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetentionSummary {
    /// The trail's id of the run.
    pub run: i64,
    /// The policy, as given (`400d`).
    pub policy: String,
    /// Rows older than this were deleted.
    pub cutoff: DateTime<Utc>,
    /// Interactions deleted.
    pub interactions: u64,
    /// Escalations deleted.
    pub escalations: u64,
    /// Transactions (batches) it took.
    pub batches: u64,
    /// When the run started and finished.
    pub started_at: DateTime<Utc>,
    /// When it finished.
    pub finished_at: DateTime<Utc>,
}

/// What an erasure removes: the interactions of one session, or one interaction, with
/// their escalations.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "target", content = "id", rename_all = "snake_case")]
pub enum ErasureTarget {
    /// Every interaction whose `session_id` is this.
    Session(SessionId),
    /// The interaction with this id.
    Interaction(Uuid),
}

impl ErasureTarget {
    /// `session` or `interaction`, as the SQL function and the trail name it.
    pub fn kind(&self) -> &'static str {
        match self {
            ErasureTarget::Session(_) => "session",
            ErasureTarget::Interaction(_) => "interaction",
        }
    }

    /// The id as text, exactly as the database compares it.
    pub fn id(&self) -> String {
        match self {
            ErasureTarget::Session(session) => session.as_str().to_owned(),
            ErasureTarget::Interaction(id) => id.to_string(),
        }
    }
}

/// A `session_id` to erase: not empty, at most 255 characters (the column's
/// `VARCHAR(255)`), no NUL.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SessionId(String);

impl SessionId {
    /// Checks a session id; it is compared exactly as given (no trimming).
    pub fn parse(id: impl Into<String>) -> Result<Self, ValidationError> {
        let id = id.into();
        let chars = id.chars().count();
        if id.is_empty() {
            return Err(ValidationError::new("session_id", "must not be empty"));
        }
        if chars > 255 {
            return Err(ValidationError::new(
                "session_id",
                format!("must be at most 255 characters (got {chars})"),
            ));
        }
        if id.contains('\0') {
            return Err(ValidationError::new(
                "session_id",
                "must not contain NUL characters",
            ));
        }
        Ok(SessionId(id))
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for SessionId {
    type Error = ValidationError;

    fn try_from(id: String) -> Result<Self, Self::Error> {
        Self::parse(id)
    }
}

impl From<SessionId> for String {
    fn from(id: SessionId) -> Self {
        id.0
    }
}

/// What an erasure removed from this host's spools, counted, for the trail.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpoolCounts {
    /// Entries waiting for the database.
    pub entries: u64,
    /// Dead letters.
    pub dead_letters: u64,
}

/// What an erasure removed from the database, as `erase_customer_data` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DbErasure {
    /// The trail's id of this erasure.
    pub log_id: i64,
    /// The keyed hash of the id that the trail holds (HMAC-SHA256, hex).
    pub id_hash: String,
    /// Interactions deleted.
    pub interactions: u64,
    /// Escalations deleted.
    pub escalations: u64,
    /// The newest `timestamp` (or `created_at`) among the interactions deleted.
    pub latest: Option<DateTime<Utc>>,
    /// When the database deleted them.
    pub erased_at: DateTime<Utc>,
}

/// Which entries of the trail to list.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuditQuery {
    /// At most this many, newest first (1 to 1000; 50 when `None`).
    pub limit: Option<u32>,
    /// Only the erasures of this target (found by the hash of its id).
    pub target: Option<ErasureTarget>,
}

impl AuditQuery {
    /// The most entries to list: the query's limit, or 50.
    pub fn page_size(&self) -> u32 {
        self.limit.unwrap_or(50)
    }

    /// The session id and the interaction id to filter on, as text (at most one is set).
    pub(crate) fn ids(&self) -> (Option<String>, Option<String>) {
        match &self.target {
            Some(ErasureTarget::Session(session)) => (Some(session.as_str().to_owned()), None),
            Some(ErasureTarget::Interaction(id)) => (None, Some(id.to_string())),
            None => (None, None),
        }
    }
}

/// One entry of the trail: a retention run or an erasure. Holds no personal data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Its id.
    pub id: i64,
    /// `retention` or `erasure`.
    pub kind: String,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it finished; `None` for a run still going or interrupted.
    pub finished_at: Option<DateTime<Utc>>,
    /// The database role that ran it.
    pub run_by: String,
    /// What started it (`cli`, `serve`, `api`, `pg_cron`, `sql`).
    pub via: String,
    /// Retention: the policy, as PostgreSQL prints the interval (`400 days`).
    pub policy: Option<String>,
    /// Retention: rows older than this went.
    pub cutoff: Option<DateTime<Utc>>,
    /// Retention: batches (transactions) so far.
    pub batches: u64,
    /// Erasure: `session` or `interaction`.
    pub target: Option<String>,
    /// Erasure: the keyed hash of the id.
    pub target_hash: Option<String>,
    /// Interactions deleted.
    pub interactions: u64,
    /// Escalations deleted.
    pub escalations: u64,
    /// Erasure: entries removed from the spools of the host that asked.
    pub spool_entries: Option<u64>,
    /// Erasure: dead letters removed there.
    pub spool_dead_letters: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_parse_with_their_unit_and_print_back() {
        for (text, interval, shown) in [
            ("400d", "400 days", "400d"),
            (" 60W ", "60 weeks", "60w"),
            ("13mo", "13 months", "13mo"),
            ("7y", "7 years", "7y"),
            ("1d", "1 days", "1d"),
        ] {
            let policy: RetentionPolicy = text.parse().expect(text);
            assert_eq!(policy.interval(), interval);
            assert_eq!(policy.to_string(), shown);
        }
    }

    #[test]
    fn a_policy_needs_a_unit_and_a_positive_amount() {
        for bad in [
            "400", "0d", "d", "-3d", "1.5d", "400 days", "3m", "", "101y",
        ] {
            let err = bad.parse::<RetentionPolicy>().expect_err(bad);
            assert_eq!(err.field, "older_than");
            assert!(err.rule.contains("400d"), "{bad}: {}", err.rule);
        }
    }

    #[test]
    fn session_ids_follow_the_column() {
        assert!(SessionId::parse("conv_123").is_ok());
        assert!(SessionId::parse(" spaced ").is_ok());
        assert_eq!(
            SessionId::parse("").expect_err("empty").rule,
            "must not be empty"
        );
        let long = "é".repeat(256);
        assert!(SessionId::parse(long)
            .expect_err("long")
            .rule
            .contains("255"));
        assert!(SessionId::parse("a\0b").is_err());
    }
}

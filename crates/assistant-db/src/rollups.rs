//! The rollups that answer the dashboard (migration 011): comparing them with what the
//! raw rows give, and rebuilding them from the rows.
//!
//! Triggers keep the rollups exact on every write, so a difference means someone
//! bypassed them (`session_replication_role = replica`, triggers disabled, a restore of
//! one table without the other). Both operations are `PgStore::rollups_check` and
//! `PgStore::rollups_rebuild`: they need a direct PostgreSQL connection as the table
//! owner or `service_role`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A range of whole UTC hours, `[from, to)`; a missing bound is no bound, and with both
/// missing the rows without a finite timestamp are included too.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HourRange {
    /// The first hour (a time inside an hour stands for that hour).
    pub from: Option<DateTime<Utc>>,
    /// The hour after the last (a time inside an hour takes that whole hour).
    pub to: Option<DateTime<Utc>>,
}

/// What `rollups_check` found: the range it widened to whole hours, and per rollup table
/// the groups whose stored counts differ from the raw rows' (missing or extra included).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RollupCheck {
    /// The first hour compared.
    pub from: Option<DateTime<Utc>>,
    /// The hour after the last compared.
    pub to: Option<DateTime<Utc>>,
    /// Groups that differ, per table.
    pub groups_differing: GroupsDiffering,
    /// True when no group differs.
    pub ok: bool,
}

/// Groups that differ, per rollup table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupsDiffering {
    /// Counts, sums and the confidence histogram (`rollup_hours`).
    pub hours: u64,
    /// The processing-time histogram (`rollup_times`).
    pub times: u64,
    /// Sessions: each kept session against its rows (`rollup_sessions`), and the
    /// sessions counted per hour against the sessions kept.
    pub sessions: u64,
    /// Escalations per trigger (`rollup_triggers`).
    pub triggers: u64,
    /// The day rows and the per-mode rows against the hours they sum (`rollup_days`,
    /// the day rows of `rollup_times`, `rollup_times_by_mode`, `rollup_triggers_by_mode`).
    pub by_mode: u64,
}

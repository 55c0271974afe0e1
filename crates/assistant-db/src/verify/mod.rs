//! `verify`: the spec's validation checklist and what it reports.
//!
//! Two kinds of check. Catalog checks compare tables, columns (type, length,
//! nullability, default), indexes and constraints with [`expected`]. Behavioural checks
//! prove that the constraints work: a bad enum value is rejected, the foreign key
//! cascades, the UNIQUE key holds, a row can be written and read back; they run inside
//! one transaction that is rolled back, so `verify` leaves nothing. Objects beyond the
//! spec are listed, never failures. The Security section checks the trust boundary of
//! migrations 004 and 005 and fails on drift; [`data`] is the data-quality report of
//! `verify --data`.
//!
//! This module holds the expectations and the report; each transport runs the checks it
//! can ([`Store::verify`](crate::store::Store::verify)): a direct connection reads the
//! catalog, Supabase's REST API checks what the API can show and lists the rest as
//! needing `DATABASE_URL`.

pub mod data;
pub mod expected;

use std::fmt;

use serde::Serialize;

/// The part of the checklist a check belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Section {
    /// Reaching the database.
    Connection,
    /// The three tables exist.
    Tables,
    /// Every column as specified.
    Columns,
    /// The nine indexes as specified.
    Indexes,
    /// Primary keys, CHECK enums, the foreign key, the UNIQUE key.
    Constraints,
    /// The trust boundary: row-level security, grants, the API functions' rights and
    /// search_path, timeouts, and what the public key can do.
    Security,
    /// Constraints that really reject, cascade that really deletes, insert and read back.
    Behaviour,
}

impl Section {
    fn title(self) -> &'static str {
        match self {
            Section::Connection => "Connection",
            Section::Tables => "Tables",
            Section::Columns => "Columns",
            Section::Indexes => "Indexes",
            Section::Constraints => "Constraints",
            Section::Security => "Security",
            Section::Behaviour => "Behaviour",
        }
    }
}

/// One line of the checklist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// Where it belongs.
    pub section: Section,
    /// The object checked, e.g. `index idx_interactions_mode`.
    pub object: String,
    /// Whether it holds.
    pub ok: bool,
    /// What was found (for a failure, what differs from the spec).
    pub detail: String,
}

/// The whole checklist.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Every check, in checklist order.
    pub checks: Vec<Check>,
    /// Objects present beyond the spec: listed, not failures.
    pub beyond_spec: Vec<String>,
    /// Checks this transport could not run, and what they need (over REST: the catalog
    /// checks, which need `DATABASE_URL`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_checked: Vec<String>,
}

impl Report {
    /// A report for a database that could not be reached at all.
    pub fn unreachable(error: &crate::Error) -> Self {
        let mut report = Report::default();
        report.push(Section::Connection, "connection", false, error.to_string());
        report
    }

    /// True when every check passed.
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.ok)
    }

    /// The checks that failed.
    pub fn failures(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| !c.ok)
    }

    /// The check on `object`, if there is one.
    pub fn check(&self, object: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.object == object)
    }

    pub(crate) fn push(
        &mut self,
        section: Section,
        object: impl Into<String>,
        ok: bool,
        detail: impl Into<String>,
    ) {
        self.checks.push(Check {
            section,
            object: object.into(),
            ok,
            detail: detail.into(),
        });
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut section = None;
        for check in &self.checks {
            if section != Some(check.section) {
                writeln!(f, "{}", check.section.title())?;
                section = Some(check.section);
            }
            let mark = if check.ok { "✓" } else { "✗" };
            if check.detail.is_empty() {
                writeln!(f, "  {mark} {}", check.object)?;
            } else {
                writeln!(f, "  {mark} {}: {}", check.object, check.detail)?;
            }
        }
        if !self.beyond_spec.is_empty() {
            writeln!(f, "Beyond the spec (listed, not checked)")?;
            for object in &self.beyond_spec {
                writeln!(f, "  • {object}")?;
            }
        }
        if !self.not_checked.is_empty() {
            writeln!(
                f,
                "Not checked: these need DATABASE_URL (PostgreSQL itself)"
            )?;
            for what in &self.not_checked {
                writeln!(f, "  • {what}")?;
            }
        }
        let failed = self.failures().count();
        write!(
            f,
            "{}: {} passed, {} failed",
            if failed == 0 { "OK" } else { "FAILED" },
            self.checks.len() - failed,
            failed
        )
    }
}

//! Filters, keyset pagination and result shapes for reading interactions back.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::model::{
    AssistantMode, Escalation, IntentCategory, Interaction, Outcome, ValidationError,
};

/// The most rows one page may hold.
pub const MAX_PAGE_SIZE: u32 = 1000;
/// Rows per page when the caller does not say.
pub const DEFAULT_PAGE_SIZE: u32 = 50;

/// Which interactions to read; every filter is optional and they combine with AND.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InteractionFilter {
    /// `assistant_mode` equals.
    pub mode: Option<AssistantMode>,
    /// `outcome` equals.
    pub outcome: Option<Outcome>,
    /// `intent_name` equals.
    pub intent: Option<String>,
    /// `intent_category` equals.
    pub category: Option<IntentCategory>,
    /// `session_id` equals.
    pub session: Option<String>,
    /// `timestamp` at or after.
    pub from: Option<DateTime<Utc>>,
    /// `timestamp` at or before.
    pub to: Option<DateTime<Utc>>,
}

/// One page of a listing, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InteractionQuery {
    /// Which rows.
    #[serde(flatten)]
    pub filter: InteractionFilter,
    /// Rows per page, 1 to [`MAX_PAGE_SIZE`]; [`DEFAULT_PAGE_SIZE`] when `None`.
    pub limit: Option<u32>,
    /// Continue after this position (from the previous page's `next`).
    pub after: Option<Cursor>,
}

impl InteractionQuery {
    /// The page size, checked against its bounds.
    pub fn page_size(&self) -> Result<u32, ValidationError> {
        match self.limit {
            None => Ok(DEFAULT_PAGE_SIZE),
            Some(n) if (1..=MAX_PAGE_SIZE).contains(&n) => Ok(n),
            Some(n) => Err(ValidationError::new(
                "limit",
                format!("must be between 1 and {MAX_PAGE_SIZE} (got {n})"),
            )),
        }
    }
}

/// A position in the newest-first order: the last row's `timestamp` and `id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    /// The row's timestamp (`None` for rows written without one).
    pub timestamp: Option<DateTime<Utc>>,
    /// The row's id, which breaks ties.
    pub id: Uuid,
}

impl Cursor {
    /// The position of `interaction`.
    pub fn of(interaction: &Interaction) -> Self {
        Cursor {
            timestamp: Some(interaction.timestamp),
            id: interaction.id,
        }
    }
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.timestamp {
            Some(ts) => write!(
                f,
                "{}_{}",
                ts.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
                self.id
            ),
            None => write!(f, "null_{}", self.id),
        }
    }
}

impl FromStr for Cursor {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || {
            ValidationError::new(
                "after",
                "must be a cursor from a previous page (`<timestamp>_<id>`)",
            )
        };
        let (ts, id) = s.rsplit_once('_').ok_or_else(bad)?;
        let id = Uuid::parse_str(id).map_err(|_| bad())?;
        let timestamp = match ts {
            "null" => None,
            ts => Some(
                DateTime::parse_from_rfc3339(ts)
                    .map_err(|_| bad())?
                    .with_timezone(&Utc),
            ),
        };
        Ok(Cursor { timestamp, id })
    }
}

impl Serialize for Cursor {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Cursor {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A page of interactions and where the next one starts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    /// The rows, newest first.
    pub items: Vec<T>,
    /// Pass as `after` for the next page; `None` on the last page.
    pub next: Option<Cursor>,
}

/// One interaction with its escalations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InteractionDetail {
    /// The interaction.
    #[serde(flatten)]
    pub interaction: Interaction,
    /// Its escalations, oldest first.
    pub escalations: Vec<Escalation>,
}

/// How many rows one write inserted; rows whose id already existed are skipped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Written {
    /// Interactions inserted.
    pub interactions: u64,
    /// Escalations inserted.
    pub escalations: u64,
}

/// One knowledge document written by an upsert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Upserted {
    /// The stored row's id (an existing row keeps its id).
    pub id: Uuid,
    /// True if the row is new, false if an existing one was updated.
    pub inserted: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_through_text() {
        let cursor = Cursor {
            timestamp: Some("2026-11-26T03:24:52.123456Z".parse().expect("ts")),
            id: Uuid::now_v7(),
        };
        assert_eq!(cursor.to_string().parse::<Cursor>().expect("parse"), cursor);
        let null = Cursor {
            timestamp: None,
            id: Uuid::now_v7(),
        };
        assert_eq!(null.to_string().parse::<Cursor>().expect("parse"), null);
        assert_eq!(
            "nonsense".parse::<Cursor>().expect_err("bad").field,
            "after"
        );
    }

    #[test]
    fn page_size_is_bounded() {
        let mut q = InteractionQuery::default();
        assert_eq!(q.page_size(), Ok(DEFAULT_PAGE_SIZE));
        q.limit = Some(0);
        assert!(q.page_size().is_err());
        q.limit = Some(MAX_PAGE_SIZE + 1);
        assert_eq!(q.page_size().expect_err("too big").field, "limit");
    }
}

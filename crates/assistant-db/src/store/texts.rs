//! The stored free text of interactions and escalations, read in id order and rewritten
//! by id: what the redaction backfill ([`crate::redact::backfill`]) asks of a transport.

use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::query::Condition;

/// A table whose rows hold customer text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TextTable {
    /// `interactions`: `user_query`, `response_text`, `classification_reason`,
    /// `escalation_reason`.
    Interactions,
    /// `escalations`: `escalation_reason`.
    Escalations,
}

impl TextTable {
    /// Both tables, in the order the backfill visits them.
    pub const ALL: [TextTable; 2] = [TextTable::Interactions, TextTable::Escalations];

    /// The table's name.
    pub const fn name(self) -> &'static str {
        match self {
            TextTable::Interactions => "interactions",
            TextTable::Escalations => "escalations",
        }
    }

    /// The free-text columns, in the order [`StoredTexts::texts`] holds them.
    pub const fn columns(self) -> &'static [&'static str] {
        match self {
            TextTable::Interactions => &[
                "user_query",
                "response_text",
                "classification_reason",
                "escalation_reason",
            ],
            TextTable::Escalations => &["escalation_reason"],
        }
    }

    /// The column a [`TextWindow`] bounds: an interaction's `timestamp`, an escalation's
    /// `created_at`.
    pub const fn time_column(self) -> &'static str {
        match self {
            TextTable::Interactions => "timestamp",
            TextTable::Escalations => "created_at",
        }
    }
}

/// Which rows: those whose time column is at or after `from` and at or before `to`
/// (each bound optional; with either set, rows without a time are left out).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TextWindow {
    /// Earliest time, inclusive.
    pub from: Option<DateTime<Utc>>,
    /// Latest time, inclusive.
    pub to: Option<DateTime<Utc>>,
}

impl TextWindow {
    /// The window as conditions on `table`'s time column, for a transport to render.
    pub(crate) fn conditions(&self, table: TextTable) -> Vec<Condition<'static>> {
        let column = table.time_column();
        let mut conditions = Vec::new();
        if let Some(from) = self.from {
            conditions.push(Condition::AtOrAfter(column, from));
        }
        if let Some(to) = self.to {
            conditions.push(Condition::AtOrBefore(column, to));
        }
        conditions
    }
}

/// One row's id and its free-text columns, in [`TextTable::columns`] order.
///
/// Read back, `None` is a NULL column; handed to a rewrite, `None` leaves the column as
/// it is (a NULL column never needs rewriting).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredTexts {
    /// The row's id.
    pub id: Uuid,
    /// The columns' text.
    pub texts: Vec<Option<String>>,
}

impl StoredTexts {
    /// Reads `{"id": …, "<column>": …}` as both transports return it.
    pub(crate) fn from_json(table: TextTable, row: &Value) -> Result<Self> {
        let bad = |what: String| Error::Database {
            code: None,
            message: format!("reading {}: {what}", table.name()),
        };
        let id = row
            .get("id")
            .and_then(Value::as_str)
            .and_then(|id| Uuid::parse_str(id).ok())
            .ok_or_else(|| bad("a row without a UUID id".into()))?;
        let texts = table
            .columns()
            .iter()
            .map(|column| match row.get(*column) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(text)) => Ok(Some(text.clone())),
                Some(_) => Err(bad(format!("{column} of {id} is not text"))),
            })
            .collect::<Result<_>>()?;
        Ok(StoredTexts { id, texts })
    }

    /// The columns to set, as a JSON object (for a REST update).
    pub(crate) fn changes(&self, table: TextTable) -> Value {
        Value::Object(
            table
                .columns()
                .iter()
                .zip(&self.texts)
                .filter_map(|(column, text)| {
                    text.as_ref()
                        .map(|t| ((*column).to_owned(), Value::String(t.clone())))
                })
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn rows_read_and_changes_written_column_by_column() {
        let id = Uuid::now_v7();
        let row = StoredTexts::from_json(
            TextTable::Interactions,
            &json!({"id": id, "user_query": "q", "response_text": null,
                    "escalation_reason": "r"}),
        )
        .expect("row");
        assert_eq!(row.texts, [Some("q".into()), None, None, Some("r".into())]);
        let change = StoredTexts {
            id,
            texts: vec![None, Some("[EMAIL]".into()), None, None],
        };
        assert_eq!(
            change.changes(TextTable::Interactions),
            json!({"response_text": "[EMAIL]"})
        );
        let err = StoredTexts::from_json(
            TextTable::Escalations,
            &json!({"id": id, "escalation_reason": 5}),
        )
        .expect_err("not text");
        assert!(err.to_string().contains("escalation_reason"), "{err}");
        assert_eq!(
            TextWindow::default().conditions(TextTable::Escalations),
            Vec::<Condition<'_>>::new()
        );
    }
}

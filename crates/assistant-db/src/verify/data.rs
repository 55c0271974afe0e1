//! `verify --data`: how many stored rows break each rule of the model.
//!
//! Other writers (the SQL editor, services on the secret key) may store any row the
//! spec's schema allows: a NaN confidence, no timestamp, a blank query. Readers show such
//! rows and metrics count them; this report says where they are, so that they can be
//! fixed at the source. It is computed by `public.data_quality_report()` (migration 005)
//! from the same SQL rules `log_interactions` enforces, over either transport (over REST
//! with the secret key only).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The report: one entry per table of the spec.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataReport {
    /// When the database made it.
    pub checked_at: String,
    /// Interactions, escalations, knowledge documents, in that order.
    pub tables: Vec<TableQuality>,
}

/// What one table holds that breaks the model's rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableQuality {
    /// The table.
    pub table: String,
    /// Its rows.
    pub rows: i64,
    /// Rows that break at least one rule.
    pub rows_with_problems: i64,
    /// Each rule broken, by field.
    pub problems: Vec<Problem>,
}

/// Rows that break one rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// The column, or the JSON path within it (`citations[*].source`).
    pub field: String,
    /// The rule, in words.
    pub rule: String,
    /// How many rows break it.
    pub rows: i64,
    /// One of them, to look at.
    pub example_id: String,
}

impl DataReport {
    /// True when every stored row follows every rule.
    pub fn passed(&self) -> bool {
        self.tables.iter().all(|t| t.rows_with_problems == 0)
    }

    /// The rows of `table` that break the rule `rule` of `field`, if any do.
    pub fn rows_breaking(&self, table: &str, field: &str, rule: &str) -> i64 {
        self.tables
            .iter()
            .filter(|t| t.table == table)
            .flat_map(|t| &t.problems)
            .filter(|p| p.field == field && p.rule == rule)
            .map(|p| p.rows)
            .sum()
    }
}

impl fmt::Display for DataReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for table in &self.tables {
            if table.problems.is_empty() {
                writeln!(
                    f,
                    "✓ {}: {} row{}, every one follows the model's rules",
                    table.table,
                    table.rows,
                    plural(table.rows)
                )?;
                continue;
            }
            writeln!(
                f,
                "✗ {}: {} of {} row{} break a rule",
                table.table,
                table.rows_with_problems,
                table.rows,
                plural(table.rows)
            )?;
            for p in &table.problems {
                writeln!(
                    f,
                    "    {}: {} — {} row{} (e.g. id {})",
                    p.field,
                    p.rule,
                    p.rows,
                    plural(p.rows),
                    p.example_id
                )?;
            }
        }
        let bad: i64 = self.tables.iter().map(|t| t.rows_with_problems).sum();
        if bad == 0 {
            write!(f, "OK: every stored row follows the model's rules")
        } else {
            write!(
                f,
                "FAILED: {bad} stored row{} break{} the model's rules; readers still show and \
                 count them, metrics leave their bad values out of the averages",
                plural(bad),
                if bad == 1 { "s" } else { "" }
            )
        }
    }
}

fn plural(n: i64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

impl DataReport {
    /// Reads the object `data_quality_report()` returns.
    pub(crate) fn from_value(value: serde_json::Value) -> Result<DataReport> {
        serde_path_to_error::deserialize(value).map_err(|e| Error::Database {
            code: None,
            message: format!(
                "public.data_quality_report returned an unexpected shape at `{}`: {}",
                e.path(),
                e.inner()
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_function_object_reads_and_prints() {
        let report = DataReport::from_value(serde_json::json!({
            "checked_at": "2026-12-01T15:00:00+00:00",
            "tables": [
                {"table": "interactions", "rows": 3, "rows_with_problems": 1, "problems": [
                    {"field": "confidence_score", "rule": "must be between 0 and 1", "rows": 1,
                     "example_id": "0190b6a0-0000-7000-8000-000000000001"}
                ]},
                {"table": "escalations", "rows": 0, "rows_with_problems": 0, "problems": []}
            ]
        }))
        .expect("decodes");
        assert!(!report.passed());
        assert_eq!(
            report.rows_breaking(
                "interactions",
                "confidence_score",
                "must be between 0 and 1"
            ),
            1
        );
        let text = report.to_string();
        assert!(
            text.contains("✗ interactions: 1 of 3 rows break a rule"),
            "{text}"
        );
        assert!(
            text.contains("confidence_score: must be between 0 and 1 — 1 row (e.g. id 0190b6a0"),
            "{text}"
        );
        assert!(text.contains("✓ escalations: 0 rows"), "{text}");
        assert!(text.ends_with("FAILED: 1 stored row breaks the model's rules; readers still show and count them, metrics leave their bad values out of the averages"), "{text}");
        assert!(matches!(
            DataReport::from_value(serde_json::json!({"tables": 1})),
            Err(Error::Database { .. })
        ));
    }
}

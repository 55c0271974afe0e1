//! The backfill: redacts the free text already stored, for rows written before redaction
//! was on or by writers that bypass the library and the guard's kinds.
//!
//! Rows are read in batches in id order (within a time window, if given), redacted with
//! the same engine as new writes, and only rows whose text changed are rewritten — only
//! their changed columns, by id, one atomic statement per batch over PostgreSQL (one
//! request per row over REST). Redacting a redacted text changes nothing, so a second run
//! rewrites nothing, and a run that stopped half-way is finished by running it again.
//! Updates fire the database's triggers like any write (the guard masks again, harmlessly).

use std::borrow::Cow;

use serde::Serialize;
use uuid::Uuid;

use super::{Counts, Redactor};
use crate::error::Result;
use crate::model::ValidationError;
use crate::store::{Store, StoredTexts, TextTable, TextWindow};

/// Rows read per batch unless told otherwise.
pub const DEFAULT_BATCH_SIZE: u32 = 1000;
/// The most rows one batch may read.
pub const MAX_BATCH_SIZE: u32 = 10_000;

/// What to scan, and whether to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackfillOptions {
    /// Interactions by `timestamp`, escalations by `created_at`; both bounds inclusive.
    pub window: TextWindow,
    /// Count what would change, write nothing.
    pub dry_run: bool,
    /// Rows read per batch, 1 to [`MAX_BATCH_SIZE`].
    pub batch_size: u32,
}

impl Default for BackfillOptions {
    fn default() -> Self {
        BackfillOptions {
            window: TextWindow::default(),
            dry_run: false,
            batch_size: DEFAULT_BATCH_SIZE,
        }
    }
}

/// Where a backfill is, after each batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackfillProgress {
    /// The table being scanned.
    pub table: TextTable,
    /// Its rows in the window, when the transport can count them.
    pub total: Option<u64>,
    /// Rows of it scanned so far.
    pub scanned: u64,
    /// Rows whose text redaction changes (or would, in a dry run).
    pub changed: u64,
    /// Rows rewritten so far (0 in a dry run).
    pub rewritten: u64,
}

/// What a backfill did to one table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TableReport {
    /// Rows scanned.
    pub scanned: u64,
    /// Rows whose text redaction changes (or would, in a dry run).
    pub changed: u64,
    /// Rows rewritten (0 in a dry run; fewer than `changed` if rows were deleted meanwhile).
    pub rewritten: u64,
}

/// What a backfill did: per table, in all, and the values redacted per kind (never the
/// values themselves).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BackfillReport {
    /// Nothing was written.
    pub dry_run: bool,
    /// Rows scanned, both tables.
    pub rows_scanned: u64,
    /// Rows whose text changes, both tables.
    pub rows_changed: u64,
    /// Rows rewritten, both tables.
    pub rows_rewritten: u64,
    /// Values redacted (or that would be), per kind.
    pub redactions: Counts,
    /// The `interactions` table.
    pub interactions: TableReport,
    /// The `escalations` table.
    pub escalations: TableReport,
}

/// Scans both tables of `store` and rewrites what `redactor` changes; `progress` is
/// called once a table's count is known and after each batch.
pub async fn run(
    store: &dyn Store,
    redactor: &Redactor,
    options: &BackfillOptions,
    mut progress: impl FnMut(&BackfillProgress) + Send,
) -> Result<BackfillReport> {
    if !(1..=MAX_BATCH_SIZE).contains(&options.batch_size) {
        return Err(ValidationError::new(
            "batch_size",
            format!(
                "must be from 1 to {MAX_BATCH_SIZE} (got {})",
                options.batch_size
            ),
        )
        .into());
    }
    let mut report = BackfillReport {
        dry_run: options.dry_run,
        ..BackfillReport::default()
    };
    for table in TextTable::ALL {
        let mut state = BackfillProgress {
            table,
            total: store.count_texts(table, &options.window).await?,
            scanned: 0,
            changed: 0,
            rewritten: 0,
        };
        progress(&state);
        let mut after: Option<Uuid> = None;
        loop {
            let rows = store
                .texts_after(table, &options.window, after, options.batch_size)
                .await?;
            let Some(last) = rows.last() else { break };
            after = Some(last.id);
            let changed = redacted(redactor, &rows, &mut report.redactions);
            state.scanned += rows.len() as u64;
            state.changed += changed.len() as u64;
            if !options.dry_run && !changed.is_empty() {
                state.rewritten += store.rewrite_texts(table, &changed).await?;
            }
            progress(&state);
            if rows.len() < options.batch_size as usize {
                break;
            }
        }
        let done = TableReport {
            scanned: state.scanned,
            changed: state.changed,
            rewritten: state.rewritten,
        };
        match table {
            TextTable::Interactions => report.interactions = done,
            TextTable::Escalations => report.escalations = done,
        }
        report.rows_scanned += done.scanned;
        report.rows_changed += done.changed;
        report.rows_rewritten += done.rewritten;
    }
    Ok(report)
}

/// The rows whose text `redactor` changes, holding only the changed columns.
fn redacted(redactor: &Redactor, rows: &[StoredTexts], counts: &mut Counts) -> Vec<StoredTexts> {
    rows.iter()
        .filter_map(|row| {
            let texts: Vec<Option<String>> = row
                .texts
                .iter()
                .map(
                    |text| match redactor.redact_counting(text.as_deref()?, counts) {
                        Cow::Borrowed(_) => None,
                        Cow::Owned(redacted) => Some(redacted),
                    },
                )
                .collect();
            texts
                .iter()
                .any(Option::is_some)
                .then_some(StoredTexts { id: row.id, texts })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::redact::{Kind, RedactionConfig};

    #[test]
    fn only_changed_columns_of_changed_rows_are_kept() {
        let redactor = Redactor::new(&RedactionConfig::new()).expect("config");
        let clean = StoredTexts {
            id: Uuid::now_v7(),
            texts: vec![Some("Order 4111 1111 1111 1112 is late".into()), None],
        };
        let dirty = StoredTexts {
            id: Uuid::now_v7(),
            texts: vec![
                Some("fine".into()),
                Some("card 4111 1111 1111 1111, mail a@b.com".into()),
            ],
        };
        let mut counts = Counts::default();
        let changed = redacted(&redactor, &[clean, dirty.clone()], &mut counts);
        assert_eq!(
            changed,
            [StoredTexts {
                id: dirty.id,
                texts: vec![None, Some("card [CARD ••••1111], mail [EMAIL]".into())],
            }]
        );
        assert_eq!((counts.get(Kind::Card), counts.get(Kind::Email)), (1, 1));
    }
}

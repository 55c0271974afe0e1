//! Records as files: writing NDJSON and CSV, for `assistant-db export` and the
//! dashboard's download links alike.
//!
//! NDJSON is one record per line, exactly the serde form of the record (the spec's dict
//! for the model, every stored value for a [row](crate::row)). CSV has a header row of the
//! table's column names ([`crate::table`]) and one record per row: an empty cell is a
//! missing (null) value, booleans are `true`/`false`, and the JSONB columns (`citations`,
//! `metadata`) hold JSON text. CSV cannot tell an empty string from a missing value.
//!
//! CSV is meant for spreadsheets, so by default every text cell a spreadsheet would run
//! as a formula (starting with `=`, `+`, `-`, `@`, a tab or a carriage return) is written
//! with a `'` in front, as OWASP recommends against CSV injection. The exact text, which
//! `import` needs, is written with [`CsvCells::Raw`].

use std::io::{self, Write};
use std::sync::{Arc, Mutex};

use serde::Serialize;
use serde_json::Value;

use crate::table::{Column, SqlType, Table};

/// Bytes a writer gathers before handing them on: a large export makes one write call
/// per this many bytes rather than per 8 KiB.
const BUFFER: usize = 256 * 1024;

/// A file format for records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One JSON object per line.
    Ndjson,
    /// A header row of column names, then one record per row.
    Csv,
}

impl Format {
    /// The file name extension: `ndjson` or `csv`.
    pub const fn extension(self) -> &'static str {
        match self {
            Format::Ndjson => "ndjson",
            Format::Csv => "csv",
        }
    }

    /// The media type of the format, for an HTTP response.
    pub const fn media_type(self) -> &'static str {
        match self {
            Format::Ndjson => "application/x-ndjson",
            Format::Csv => "text/csv; charset=utf-8",
        }
    }
}

/// How a column's CSV cell is written (and read), by the column's SQL type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellKind {
    /// A string (text, UUID, timestamp, enum value).
    Text,
    /// `true` or `false`.
    Bool,
    /// A JSON number.
    Number,
    /// JSON text, for a JSONB column.
    Json,
}

impl CellKind {
    /// How a cell of `column` is written and read.
    pub fn of(column: &Column) -> CellKind {
        match column.sql_type {
            SqlType::Boolean => CellKind::Bool,
            SqlType::Float8 | SqlType::Integer => CellKind::Number,
            SqlType::Jsonb => CellKind::Json,
            SqlType::Uuid | SqlType::TimestampTz | SqlType::VarChar(_) | SqlType::Text => {
                CellKind::Text
            }
        }
    }
}

/// Whether CSV text cells that a spreadsheet would run are neutralised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CsvCells {
    /// A cell starting with `=`, `+`, `-`, `@`, tab or CR gets a `'` in front.
    Neutralised,
    /// Every cell is the exact text (what `import` needs).
    Raw,
}

/// What a writer wrote that its reader should know.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteNotes {
    /// Text cells holding `""`, which read back as null (CSV only).
    pub empty_strings: u64,
    /// Text cells written with a `'` in front (CSV only).
    pub neutralised: u64,
}

/// Writes records of one table as NDJSON or CSV.
pub struct RecordWriter<W: Write> {
    inner: Inner<W>,
}

enum Inner<W: Write> {
    Ndjson(io::BufWriter<W>),
    Csv {
        out: Box<csv::Writer<W>>,
        columns: &'static [Column],
        cells: CsvCells,
        notes: WriteNotes,
    },
}

impl<W: Write> RecordWriter<W> {
    /// A writer of `table`'s records; CSV writes its header row now.
    pub fn new(format: Format, table: &'static Table, out: W, cells: CsvCells) -> io::Result<Self> {
        let inner = match format {
            Format::Ndjson => Inner::Ndjson(io::BufWriter::with_capacity(BUFFER, out)),
            Format::Csv => {
                let mut out = csv::WriterBuilder::new()
                    .buffer_capacity(BUFFER)
                    .from_writer(out);
                out.write_record(table.columns.iter().map(|c| c.name))
                    .map_err(csv_io)?;
                Inner::Csv {
                    out: Box::new(out),
                    columns: table.columns,
                    cells,
                    notes: WriteNotes::default(),
                }
            }
        };
        Ok(RecordWriter { inner })
    }

    /// Writes one record.
    pub fn write<T: Serialize>(&mut self, record: &T) -> io::Result<()> {
        match &mut self.inner {
            Inner::Ndjson(out) => {
                serde_json::to_writer(&mut *out, record).map_err(io::Error::from)?;
                out.write_all(b"\n")
            }
            Inner::Csv {
                out,
                columns,
                cells,
                notes,
            } => {
                let value = serde_json::to_value(record).map_err(io::Error::from)?;
                let row = csv_cells(columns, value, *cells, notes)?;
                out.write_record(&row).map_err(csv_io)
            }
        }
    }

    /// Hands what was written so far on to the output.
    pub fn flush(&mut self) -> io::Result<()> {
        match &mut self.inner {
            Inner::Ndjson(out) => out.flush(),
            Inner::Csv { out, .. } => out.flush(),
        }
    }

    /// Flushes; returns what the reader should know (nothing for NDJSON).
    pub fn finish(self) -> io::Result<WriteNotes> {
        self.into_inner().map(|(_, notes)| notes)
    }

    /// Flushes and gives back the output with what the reader should know.
    pub fn into_inner(self) -> io::Result<(W, WriteNotes)> {
        match self.inner {
            Inner::Ndjson(out) => out
                .into_inner()
                .map(|w| (w, WriteNotes::default()))
                .map_err(io::IntoInnerError::into_error),
            Inner::Csv { out, notes, .. } => out
                .into_inner()
                .map(|w| (w, notes))
                .map_err(|e| io::Error::other(e.to_string())),
        }
    }
}

/// Bytes written by a [`RecordWriter`] and taken by another owner as they come, to
/// send a long export on while it is still being written. Clones share the bytes.
#[derive(Debug, Clone, Default)]
pub struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Buffer {
    /// Takes the bytes written (and flushed) so far.
    pub fn take(&self) -> Vec<u8> {
        std::mem::take(&mut *self.lock())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<u8>> {
        // The bytes stay valid whatever a panicking holder did; keep them.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.lock().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A record's cells in column order, counting what `notes` counts.
fn csv_cells(
    columns: &[Column],
    value: Value,
    cells: CsvCells,
    notes: &mut WriteNotes,
) -> io::Result<Vec<String>> {
    let Value::Object(mut object) = value else {
        return Err(io::Error::other(
            "a record did not serialize as a JSON object",
        ));
    };
    let row = columns
        .iter()
        .map(|column| {
            let value = object.remove(column.name).unwrap_or(Value::Null);
            let kind = CellKind::of(column);
            if kind == CellKind::Text && value.as_str() == Some("") {
                notes.empty_strings += 1;
            }
            let text = cell_text(kind, value);
            if kind == CellKind::Text && cells == CsvCells::Neutralised && runs_as_formula(&text) {
                notes.neutralised += 1;
                format!("'{text}")
            } else {
                text
            }
        })
        .collect();
    if let Some(extra) = object.keys().next() {
        return Err(io::Error::other(format!(
            "field `{extra}` has no CSV column"
        )));
    }
    Ok(row)
}

/// Whether a spreadsheet would take a cell of this text for a formula (or, for tab and
/// CR, start one after them), per OWASP's CSV-injection guidance.
pub fn runs_as_formula(text: &str) -> bool {
    text.starts_with(['=', '+', '-', '@', '\t', '\r'])
}

/// The CSV text of one value: empty for null, JSON text for JSONB columns.
fn cell_text(kind: CellKind, value: Value) -> String {
    match (kind, value) {
        (_, Value::Null) => String::new(),
        (CellKind::Json, value) => value.to_string(),
        (_, Value::String(s)) => s,
        (_, value) => value.to_string(),
    }
}

/// The I/O error inside a CSV error, or the CSV error as an I/O error.
fn csv_io(err: csv::Error) -> io::Error {
    let message = err.to_string();
    match err.into_kind() {
        csv::ErrorKind::Io(e) => e,
        _ => io::Error::new(io::ErrorKind::InvalidData, message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Escalation;
    use crate::table::ESCALATIONS;

    #[test]
    fn csv_cells_a_spreadsheet_would_run_are_neutralised_unless_raw() {
        let write = |cells: CsvCells| {
            let mut out =
                RecordWriter::new(Format::Csv, &ESCALATIONS, Vec::new(), cells).expect("writer");
            for reason in ["=1+1", "+1", "-2", "@SUM(A1)", "\tx", "\rx", "plain", "a=b"] {
                let e = Escalation::new(uuid::Uuid::nil(), "t", reason).expect("valid");
                out.write(&e).expect("write");
            }
            let (bytes, notes) = out.into_inner().expect("flush");
            (String::from_utf8(bytes).expect("utf8"), notes.neutralised)
        };
        let (text, neutralised) = write(CsvCells::Neutralised);
        assert_eq!(neutralised, 6);
        for cell in [
            "'=1+1",
            "'+1",
            "'-2",
            "'@SUM(A1)",
            ",'\tx,",
            "\"'\rx\"",
            ",plain,",
            ",a=b,",
        ] {
            assert!(text.contains(cell), "{cell:?} not in {text}");
        }
        let (raw, none) = write(CsvCells::Raw);
        assert_eq!(none, 0);
        assert!(raw.contains(",=1+1,") && !raw.contains('\''), "{raw}");
    }

    #[test]
    fn written_bytes_can_be_taken_as_they_come() {
        let e = Escalation::new(uuid::Uuid::nil(), "t", "why").expect("valid");
        for format in [Format::Csv, Format::Ndjson] {
            let buffer = Buffer::default();
            let mut out =
                RecordWriter::new(format, &ESCALATIONS, buffer.clone(), CsvCells::Neutralised)
                    .expect("writer");
            out.write(&e).expect("write");
            out.flush().expect("flush");
            let first = String::from_utf8(buffer.take()).expect("utf8");
            out.write(&e).expect("write");
            out.finish().expect("finish");
            let second = String::from_utf8(buffer.take()).expect("utf8");
            assert!(buffer.take().is_empty(), "{format:?}");
            assert_eq!(second.lines().count(), 1, "{format:?}: {second}");
            let header = usize::from(format == Format::Csv);
            assert_eq!(first.lines().count(), 1 + header, "{format:?}: {first}");
            assert!(first.ends_with(&second), "{format:?}: {first} / {second}");
        }
    }
}

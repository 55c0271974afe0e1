//! Records as files: reading and writing NDJSON and CSV for `import` and `export`.
//!
//! NDJSON is one record per line, exactly the serde form of the model (the spec's dict).
//! CSV has a header row of column names and one record per row: an empty cell is an
//! absent (null) value, booleans are `true`/`false`, and the JSONB columns (`citations`,
//! `metadata`) hold JSON text. A CSV row is turned into the same JSON object an NDJSON
//! line would hold and parsed by the same model parser, so both formats obey one set of
//! rules. CSV cannot tell an empty string from a missing value: an optional text column
//! holding `""` reads back as null (NDJSON keeps it).
//!
//! Reading keeps memory bounded whatever the input: a line (NDJSON) or record (CSV) longer
//! than the limit is skipped to its end without being held, and reported as a bad
//! record; so are CSV records with more cells than their header.
//!
//! Writing CSV neutralises, by default, every text cell a spreadsheet would run as a
//! formula (starting with `=`, `+`, `-`, `@`, a tab or a carriage return): it is written
//! with a `'` in front, as OWASP recommends. That file is for spreadsheets; the exact
//! text, for `import`, is written when neutralising is turned off (`export --csv-raw`).

use std::collections::HashSet;
use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::Path;

use anyhow::{bail, Context};
use assistant_db::model::{Escalation, Interaction, KnowledgeDocument, ValidationError};
use assistant_db::table::{self, Column, SqlType};
use serde::Serialize;
use serde_json::{Map, Value};

/// A file format for records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One JSON object per line.
    Ndjson,
    /// A header row of column names, then one record per row.
    Csv,
}

impl Format {
    /// The format `--format` names, else the one a `.csv` extension implies, else NDJSON.
    pub fn choose(given: Option<Format>, path: Option<&Path>) -> Format {
        given.unwrap_or_else(|| {
            let is_csv = path
                .and_then(Path::extension)
                .is_some_and(|ext| ext.eq_ignore_ascii_case("csv"));
            if is_csv {
                Format::Csv
            } else {
                Format::Ndjson
            }
        })
    }
}

/// One of the spec's tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Table {
    /// `interactions`.
    Interactions,
    /// `escalations`.
    Escalations,
    /// `knowledge_documents`.
    KnowledgeDocuments,
}

/// How a column's CSV cell becomes a JSON value, by the column's SQL type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A string (text, UUID, timestamp, enum value).
    Text,
    /// `true` or `false`.
    Bool,
    /// A JSON number.
    Number,
    /// JSON text, for a JSONB column.
    Json,
}

impl Kind {
    /// How a cell of `column` is read and written.
    fn of(column: &Column) -> Kind {
        match column.sql_type {
            SqlType::Boolean => Kind::Bool,
            SqlType::Float8 | SqlType::Integer => Kind::Number,
            SqlType::Jsonb => Kind::Json,
            SqlType::Uuid | SqlType::TimestampTz | SqlType::VarChar(_) | SqlType::Text => {
                Kind::Text
            }
        }
    }
}

impl Table {
    /// The table's description in the library.
    pub fn described(self) -> &'static assistant_db::table::Table {
        match self {
            Table::Interactions => &table::INTERACTIONS,
            Table::Escalations => &table::ESCALATIONS,
            Table::KnowledgeDocuments => &table::KNOWLEDGE_DOCUMENTS,
        }
    }

    /// The SQL table name.
    pub fn name(self) -> &'static str {
        self.described().name
    }

    /// Every column, in the table's (and the model's) order.
    pub fn columns(self) -> &'static [Column] {
        self.described().columns
    }

    fn column(self, name: &str) -> Option<&'static Column> {
        self.described().column(name)
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A model type that is a row of one table, parsed by the model's own parser, which
/// reports every field that breaks a rule.
pub trait Record: Serialize + Sized {
    /// Parses JSON text.
    fn parse_text(text: &str) -> Result<Self, Vec<ValidationError>>;
    /// Parses a JSON value.
    fn parse_value(value: Value) -> Result<Self, Vec<ValidationError>>;
}

impl Record for Interaction {
    fn parse_text(text: &str) -> Result<Self, Vec<ValidationError>> {
        Interaction::from_json_all(text)
    }
    fn parse_value(value: Value) -> Result<Self, Vec<ValidationError>> {
        Interaction::from_json_value_all(value)
    }
}

impl Record for Escalation {
    fn parse_text(text: &str) -> Result<Self, Vec<ValidationError>> {
        Escalation::from_json_all(text)
    }
    fn parse_value(value: Value) -> Result<Self, Vec<ValidationError>> {
        Escalation::from_json_value_all(value)
    }
}

impl Record for KnowledgeDocument {
    fn parse_text(text: &str) -> Result<Self, Vec<ValidationError>> {
        KnowledgeDocument::from_json_all(text)
    }
    fn parse_value(value: Value) -> Result<Self, Vec<ValidationError>> {
        KnowledgeDocument::from_json_value_all(value)
    }
}

/// The default longest line (NDJSON) or record (CSV) `import` reads: 16 MiB.
pub const DEFAULT_MAX_RECORD_BYTES: usize = 16 << 20;

/// A record as read from the file, not yet parsed.
#[derive(Debug)]
pub struct RawRecord {
    /// The line the record starts on, from 1.
    pub line: u64,
    /// Bytes of input it took, line end included.
    pub bytes: u64,
    body: Body,
    /// The record's exact input, when the reader keeps it and the body does not hold it
    /// already (a CSV row, a line that is not UTF-8).
    raw: Option<Vec<u8>>,
}

#[derive(Debug)]
enum Body {
    /// An NDJSON line.
    Text(String),
    /// A CSV row, as a JSON object.
    Value(Value),
    /// Already known to be bad (not UTF-8, a cell that is not JSON, a short row).
    Invalid(ValidationError),
}

/// A record that broke a rule, with where it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BadRecord {
    /// The line the record starts on.
    pub line: u64,
    /// The field (a JSON path), or `.` for the record as a whole.
    pub field: String,
    /// The rule it broke.
    pub rule: String,
}

impl fmt::Display for BadRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field == "." {
            write!(f, "line {}: invalid record: {}", self.line, self.rule)
        } else {
            write!(
                f,
                "line {}: invalid `{}`: {}",
                self.line, self.field, self.rule
            )
        }
    }
}

/// A record that broke rules: every rule it broke, and its exact input when kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// The line the record starts on.
    pub line: u64,
    /// Each field and the rule it broke (at least one).
    pub errors: Vec<BadRecord>,
    /// The record's exact input, line end excluded for NDJSON; `None` when it was not
    /// kept (a record over `--max-record-bytes`, or a reader not asked to keep CSV rows).
    pub raw: Option<Vec<u8>>,
}

impl RawRecord {
    /// Parses the record with the model's parser.
    pub fn parse<T: Record>(self) -> Result<T, Rejected> {
        let line = self.line;
        let (parsed, raw) = match self.body {
            Body::Text(text) => match T::parse_text(&text) {
                Ok(record) => return Ok(record),
                Err(errors) => (
                    errors.into_iter().map(within_line).collect(),
                    Some(text.into_bytes()),
                ),
            },
            Body::Value(value) => match T::parse_value(value) {
                Ok(record) => return Ok(record),
                Err(errors) => (errors, self.raw),
            },
            Body::Invalid(err) => (vec![err], self.raw),
        };
        let errors: Vec<ValidationError> = parsed;
        Err(Rejected {
            line,
            errors: errors
                .into_iter()
                .map(|err| BadRecord {
                    line,
                    field: err.field,
                    rule: err.rule,
                })
                .collect(),
            raw,
        })
    }
}

/// serde_json locates syntax errors "at line 1 column N" of the one line it saw.
fn within_line(mut err: ValidationError) -> ValidationError {
    err.rule = err.rule.replace(" at line 1 column ", " at column ");
    err
}

/// Where records are read from: a file, or stdin for `-` or no file.
pub struct Input {
    /// The reader.
    pub reader: Box<dyn Read>,
    /// The size in bytes, when known (for a progress bar).
    pub len: Option<u64>,
    /// How to name it in messages.
    pub name: String,
}

impl Input {
    /// Opens `path`; `None` or `-` is stdin.
    pub fn open(path: Option<&Path>) -> anyhow::Result<Input> {
        match path {
            None => Ok(Input::stdin()),
            Some(p) if is_stdio(p) => Ok(Input::stdin()),
            Some(p) => {
                let file = File::open(p).with_context(|| format!("cannot open {}", p.display()))?;
                let len = file.metadata().ok().map(|m| m.len());
                Ok(Input {
                    reader: Box::new(file),
                    len,
                    name: p.display().to_string(),
                })
            }
        }
    }

    fn stdin() -> Input {
        Input {
            reader: Box::new(io::stdin()),
            len: None,
            name: "stdin".into(),
        }
    }
}

/// Raw records, read one at a time.
pub type Records = Box<dyn Iterator<Item = io::Result<RawRecord>>>;

/// Reads raw records from `input` in `format`, for `table`; a line or record longer than
/// `max_record_bytes` becomes a bad record, read past without being held in memory.
///
/// A CSV header naming an unknown or repeated column, or missing a required one, is an
/// error before any record is read.
#[cfg(test)]
pub fn reader(
    format: Format,
    table: Table,
    input: impl Read + 'static,
    max_record_bytes: usize,
) -> anyhow::Result<Records> {
    Ok(reader_keeping_input(format, table, input, max_record_bytes, false)?.0)
}

/// [`reader`], keeping each record's exact input when `keep` (so that a rejected one can
/// be written out as it was), and the CSV header's exact input.
pub fn reader_keeping_input(
    format: Format,
    table: Table,
    input: impl Read + 'static,
    max_record_bytes: usize,
    keep: bool,
) -> anyhow::Result<(Records, Option<Vec<u8>>)> {
    Ok(match format {
        Format::Ndjson => (
            Box::new(NdjsonReader {
                input: BufReader::new(input),
                line: 0,
                buf: Vec::new(),
                max: max_record_bytes,
                keep,
            }),
            None,
        ),
        Format::Csv => {
            let reader = CsvReader::new(table, input, max_record_bytes, keep)?;
            let header = reader.raw.clone().filter(|_| keep);
            (Box::new(reader), header)
        }
    })
}

/// The rule a record longer than the limit breaks.
fn too_long(bytes: u64, max: usize) -> ValidationError {
    ValidationError::new(
        ".",
        format!(
            "is {bytes} bytes long, over the limit of {max} bytes (--max-record-bytes); \
             it was not read"
        ),
    )
}

struct NdjsonReader<R> {
    input: R,
    line: u64,
    buf: Vec<u8>,
    max: usize,
    /// Keep the bytes of lines that are not UTF-8 (others keep their text anyway).
    keep: bool,
}

impl<R: BufRead> Iterator for NdjsonReader<R> {
    type Item = io::Result<RawRecord>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            self.buf.clear();
            let line = match read_line_within(&mut self.input, &mut self.buf, self.max) {
                Ok(line) if line.read == 0 => return None,
                Ok(line) => line,
                Err(e) => return Some(Err(e)),
            };
            self.line += 1;
            let bytes = line.read;
            let mut raw = None;
            let body = if !line.kept {
                Body::Invalid(too_long(line.read - line.end, self.max))
            } else {
                match std::str::from_utf8(&self.buf) {
                    Ok(text) if text.trim().is_empty() => continue,
                    Ok(text) => Body::Text(text.trim_end_matches(['\n', '\r']).to_owned()),
                    Err(e) => {
                        if self.keep {
                            let end = self.buf.len() - line.end as usize;
                            raw = Some(self.buf[..end].to_vec());
                        }
                        Body::Invalid(ValidationError::new(
                            ".",
                            format!("is not valid UTF-8 ({e})"),
                        ))
                    }
                }
            };
            return Some(Ok(RawRecord {
                line: self.line,
                bytes,
                body,
                raw,
            }));
        }
    }
}

/// What [`read_line_within`] read.
struct Line {
    /// Bytes read, line end included.
    read: u64,
    /// Bytes of the line end (`\n` or `\r\n`; none at the end of the input).
    end: u64,
    /// Whether the line is in the buffer (it was within the limit).
    kept: bool,
}

/// Reads the next line, its `\n` included, into `buf`, unless it holds more than `max`
/// bytes before its line end: then `buf` is left empty and the rest of the line is read
/// past, a buffer at a time.
fn read_line_within(input: &mut impl BufRead, buf: &mut Vec<u8>, max: usize) -> io::Result<Line> {
    // Room for the line end (`\r\n`) beyond the limit.
    let room = max.saturating_add(2);
    let mut line = Line {
        read: 0,
        end: 0,
        kept: true,
    };
    let mut last = 0u8;
    loop {
        let chunk = match input.fill_buf() {
            Ok(chunk) => chunk,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            break;
        }
        let (take, done) = match memchr::memchr(b'\n', chunk) {
            Some(at) => (at + 1, true),
            None => (chunk.len(), false),
        };
        if done {
            let before = if take >= 2 { chunk[take - 2] } else { last };
            line.end = if before == b'\r' && line.read + take as u64 >= 2 {
                2
            } else {
                1
            };
        }
        last = chunk[take - 1];
        if line.kept {
            if buf.len() + take > room {
                line.kept = false;
                buf.clear();
                buf.shrink_to(room.min(1 << 20));
            } else {
                buf.extend_from_slice(&chunk[..take]);
            }
        }
        input.consume(take);
        line.read += take as u64;
        if done {
            break;
        }
    }
    if line.kept && line.read - line.end > max as u64 {
        line.kept = false;
        buf.clear();
    }
    Ok(line)
}

/// Most cells a CSV record may have beyond its header's (the header itself may have up
/// to this many): more are counted, not kept.
const EXTRA_CELLS: usize = 64;

/// A CSV reader on `csv_core` that holds at most `max` bytes of one record.
struct CsvReader<R> {
    input: BufReader<R>,
    core: csv_core::Reader,
    header: Vec<&'static Column>,
    max: usize,
    /// The current record's unquoted cells, end to end.
    cells: Vec<u8>,
    /// Where each cell ends in `cells`.
    ends: Vec<usize>,
    /// How many cells the current record has (`ends` keeps the first ones only).
    count: usize,
    done: bool,
    /// Whether to keep each record's exact input in `raw`.
    keep: bool,
    /// The current record's exact input, while it is within the limit (kept only when
    /// `keep`, and always for the header).
    raw: Option<Vec<u8>>,
    /// Line ends read past between records, which `csv_core` did not count.
    lines_skipped: u64,
}

/// What reading a CSV record found.
enum CsvRecord {
    /// A record whose cells are in the reader's buffers.
    Kept { line: u64, bytes: u64 },
    /// A record longer than the limit, not kept.
    TooLong { line: u64, bytes: u64 },
}

impl<R: Read> CsvReader<R> {
    fn new(table: Table, input: R, max: usize, keep: bool) -> anyhow::Result<Self> {
        let mut reader = CsvReader {
            input: BufReader::new(input),
            core: csv_core::Reader::new(),
            header: Vec::new(),
            max,
            cells: vec![0; 4096],
            ends: vec![0; EXTRA_CELLS],
            count: 0,
            done: false,
            keep: true,
            raw: None,
            lines_skipped: 0,
        };
        let names = match reader.read_record().context("cannot read the CSV header")? {
            Some(CsvRecord::Kept { .. }) => reader.cells_of_record(),
            Some(CsvRecord::TooLong { bytes, .. }) => {
                bail!("line 1: the CSV header is {bytes} bytes long, over the limit of {max} bytes")
            }
            None => Vec::new(),
        };
        if reader.count > names.len() {
            bail!("line 1: the CSV header has more than {EXTRA_CELLS} columns");
        }
        reader.header = header_columns(table, &names).context("line 1: bad CSV header")?;
        let cells = reader.header.len() + EXTRA_CELLS;
        reader.ends.resize(cells, 0);
        reader.keep = keep;
        Ok(reader)
    }

    /// The cells of the record just read (those kept).
    fn cells_of_record(&self) -> Vec<Vec<u8>> {
        let kept = self.count.min(self.ends.len());
        let mut start = 0;
        self.ends[..kept]
            .iter()
            .map(|&end| {
                let cell = self.cells[start..end].to_vec();
                start = end;
                cell
            })
            .collect()
    }

    /// Reads the next record into the buffers, or past it when it is longer than the limit.
    fn read_record(&mut self) -> io::Result<Option<CsvRecord>> {
        use csv_core::ReadRecordResult;
        if self.done {
            return Ok(None);
        }
        self.skip_line_ends()?;
        let line = self.core.line() + self.lines_skipped;
        let (mut out, mut end, mut bytes) = (0usize, 0usize, 0u64);
        self.count = 0;
        let mut whole = true;
        let mut raw = self.keep.then(Vec::new);
        loop {
            let input = match self.input.fill_buf() {
                Ok(input) => input,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            let (result, read, written, ended) =
                self.core
                    .read_record(input, &mut self.cells[out..], &mut self.ends[end..]);
            if let Some(kept) = raw.as_mut() {
                if bytes + read as u64 <= self.max as u64 {
                    kept.extend_from_slice(&input[..read]);
                } else {
                    // Over the limit: the record is not held, nor is its input.
                    raw = None;
                }
            }
            self.input.consume(read);
            bytes += read as u64;
            out += written;
            end += ended;
            self.count += ended;
            if whole && bytes > self.max as u64 {
                whole = false;
            }
            match result {
                ReadRecordResult::InputEmpty => {}
                ReadRecordResult::OutputFull if whole => {
                    // Cells are never longer than their input, which is within the limit.
                    let grown = (self.cells.len() * 2).min(self.max.saturating_add(1));
                    self.cells.resize(grown.max(self.cells.len() + 1), 0);
                }
                // Past the limit, or past the cells a record may have: count, keep nothing.
                ReadRecordResult::OutputFull => out = 0,
                ReadRecordResult::OutputEndsFull => end = 0,
                ReadRecordResult::Record => {
                    self.raw = raw.map(|raw| self.exact(raw));
                    if !whole {
                        self.shrink();
                        return Ok(Some(CsvRecord::TooLong { line, bytes }));
                    }
                    return Ok(Some(CsvRecord::Kept { line, bytes }));
                }
                ReadRecordResult::End => {
                    self.done = true;
                    return Ok(None);
                }
            }
        }
    }

    /// Reads past the line ends before a record: the `\n` of a `\r\n` that ended the
    /// last one (`csv_core` ends a record at its `\r`), and blank lines, which are no
    /// record. Counted here, so that a record's line is the line it starts on.
    fn skip_line_ends(&mut self) -> io::Result<()> {
        loop {
            let input = match self.input.fill_buf() {
                Ok(input) => input,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            let blank = input
                .iter()
                .take_while(|b| matches!(b, b'\r' | b'\n'))
                .count();
            if blank == 0 {
                return Ok(());
            }
            self.lines_skipped += input[..blank].iter().filter(|&&b| b == b'\n').count() as u64;
            self.input.consume(blank);
        }
    }

    /// A record's input as it is in the file: with the `\n` of its `\r\n`, which
    /// `csv_core` leaves unread.
    fn exact(&mut self, mut raw: Vec<u8>) -> Vec<u8> {
        if raw.ends_with(b"\r")
            && self
                .input
                .fill_buf()
                .is_ok_and(|next| next.starts_with(b"\n"))
        {
            raw.push(b'\n');
        }
        raw
    }

    /// Gives back the memory of a long record.
    fn shrink(&mut self) {
        self.cells.truncate(1 << 20);
        self.cells.shrink_to_fit();
    }

    /// The current record as a JSON object, or what is wrong with it.
    fn row(&self) -> Result<Value, ValidationError> {
        if self.count != self.header.len() {
            return Err(ValidationError::new(
                ".",
                format!(
                    "has {} cells, the header has {}",
                    self.count,
                    self.header.len()
                ),
            ));
        }
        let mut object = Map::new();
        let mut start = 0;
        for (column, &end) in self.header.iter().zip(&self.ends) {
            let cell = &self.cells[start..end];
            start = end;
            let text = std::str::from_utf8(cell).map_err(|e| {
                ValidationError::new(column.name, format!("is not valid UTF-8 ({e})"))
            })?;
            if let Some(value) = cell_value(column, text)? {
                object.insert(column.name.to_owned(), value);
            }
        }
        Ok(Value::Object(object))
    }
}

impl<R: Read> Iterator for CsvReader<R> {
    type Item = io::Result<RawRecord>;

    fn next(&mut self) -> Option<Self::Item> {
        let (line, bytes, body) = match self.read_record() {
            Ok(None) => return None,
            Err(e) => return Some(Err(e)),
            Ok(Some(CsvRecord::TooLong { line, bytes })) => {
                (line, bytes, Body::Invalid(too_long(bytes, self.max)))
            }
            Ok(Some(CsvRecord::Kept { line, bytes })) => {
                let body = match self.row() {
                    Ok(value) => Body::Value(value),
                    Err(err) => Body::Invalid(err),
                };
                (line, bytes, body)
            }
        };
        let raw = self.raw.take().filter(|_| self.keep);
        Some(Ok(RawRecord {
            line,
            bytes,
            body,
            raw,
        }))
    }
}

/// The columns a CSV header names, checked against the table.
fn header_columns(table: Table, names: &[Vec<u8>]) -> anyhow::Result<Vec<&'static Column>> {
    let mut columns = Vec::with_capacity(names.len());
    let mut seen = HashSet::new();
    for name in names {
        let name = String::from_utf8_lossy(name);
        let name = name.trim();
        let Some(column) = table.column(name) else {
            let known: Vec<_> = table.columns().iter().map(|c| c.name).collect();
            bail!(
                "`{name}` is not a column of {table} (columns: {})",
                known.join(", ")
            );
        };
        if !seen.insert(column.name) {
            bail!("column `{name}` is given more than once");
        }
        columns.push(column);
    }
    if let Some(missing) = table
        .columns()
        .iter()
        .find(|c| c.required() && !seen.contains(c.name))
    {
        bail!(
            "no `{}` column, which every {table} record needs",
            missing.name
        );
    }
    Ok(columns)
}

/// The JSON value of one CSV cell; `None` for an empty cell (absent).
///
/// A cell that is not a boolean or number where one is expected is passed on as a string,
/// so the model reports it exactly as it would in NDJSON.
fn cell_value(column: &Column, cell: &str) -> Result<Option<Value>, ValidationError> {
    if cell.is_empty() {
        return Ok(None);
    }
    let text = || Value::String(cell.to_owned());
    Ok(Some(match Kind::of(column) {
        Kind::Text => text(),
        Kind::Bool => match cell {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => text(),
        },
        Kind::Number => {
            serde_json::from_str::<serde_json::Number>(cell).map_or_else(|_| text(), Value::Number)
        }
        Kind::Json => serde_json::from_str(cell).map_err(|e| {
            ValidationError::new(
                column.name,
                format!("must be JSON text in a CSV cell ({e})"),
            )
        })?,
    }))
}

/// The I/O error inside a CSV error, or the CSV error as an I/O error.
fn csv_io(err: csv::Error) -> io::Error {
    let message = err.to_string();
    match err.into_kind() {
        csv::ErrorKind::Io(e) => e,
        _ => io::Error::new(io::ErrorKind::InvalidData, message),
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

/// Writes records as NDJSON or CSV.
pub enum RecordWriter<W: Write> {
    /// One JSON object per line, exactly the model's serde form.
    Ndjson(io::BufWriter<W>),
    /// CSV with a header row.
    Csv {
        /// The CSV writer (it buffers).
        out: Box<csv::Writer<W>>,
        /// The columns, in order.
        columns: &'static [Column],
        /// Whether formula-like text cells are neutralised.
        cells: CsvCells,
        /// What the reader should know.
        notes: WriteNotes,
    },
}

impl<W: Write> RecordWriter<W> {
    /// A writer of `table`'s records; CSV writes its header row now.
    pub fn new(format: Format, table: Table, out: W, cells: CsvCells) -> io::Result<Self> {
        match format {
            Format::Ndjson => Ok(RecordWriter::Ndjson(io::BufWriter::new(out))),
            Format::Csv => {
                let mut out = csv::Writer::from_writer(out);
                let columns = table.columns();
                out.write_record(columns.iter().map(|c| c.name))
                    .map_err(csv_io)?;
                Ok(RecordWriter::Csv {
                    out: Box::new(out),
                    columns,
                    cells,
                    notes: WriteNotes::default(),
                })
            }
        }
    }

    /// Writes one record.
    pub fn write<T: Serialize>(&mut self, record: &T) -> io::Result<()> {
        match self {
            RecordWriter::Ndjson(out) => {
                serde_json::to_writer(&mut *out, record).map_err(io::Error::from)?;
                out.write_all(b"\n")
            }
            RecordWriter::Csv {
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

    /// Flushes; returns what the reader should know (nothing for NDJSON).
    pub fn finish(self) -> io::Result<WriteNotes> {
        match self {
            RecordWriter::Ndjson(mut out) => out.flush().map(|()| WriteNotes::default()),
            RecordWriter::Csv { mut out, notes, .. } => out.flush().map(|()| notes),
        }
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
            let kind = Kind::of(column);
            if kind == Kind::Text && value.as_str() == Some("") {
                notes.empty_strings += 1;
            }
            let text = cell_text(kind, value);
            if kind == Kind::Text && cells == CsvCells::Neutralised && runs_as_formula(&text) {
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
fn cell_text(kind: Kind, value: Value) -> String {
    match (kind, value) {
        (_, Value::Null) => String::new(),
        (Kind::Json, value) => value.to_string(),
        (_, Value::String(s)) => s,
        (_, value) => value.to_string(),
    }
}

/// True for the path `-`, which means stdin or stdout.
pub fn is_stdio(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// True when an error chain ends in a broken pipe (the reader went away, as `| head` does).
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain()
        .filter_map(|e| e.downcast_ref::<io::Error>())
        .any(|e| e.kind() == io::ErrorKind::BrokenPipe)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csv_records(table: Table, text: &'static str) -> Vec<RawRecord> {
        reader(
            Format::Csv,
            table,
            text.as_bytes(),
            DEFAULT_MAX_RECORD_BYTES,
        )
        .expect("header")
        .collect::<io::Result<Vec<_>>>()
        .expect("read")
    }

    #[test]
    fn csv_rows_become_model_records() {
        let rows = csv_records(
            Table::Interactions,
            "assistant_mode,user_query,outcome,step_1_intent_completed,confidence_score,citations\n\
             customer,\"Hi, there\",resolved,true,0.5,\"[{\"\"number\"\":1,\"\"source\"\":\"\"s\"\"}]\"\n\
             banker,q,escalated,,,\n",
        );
        assert_eq!(rows.iter().map(|r| r.line).collect::<Vec<_>>(), [2, 3]);
        let mut rows = rows.into_iter();
        let first: Interaction = rows.next().expect("row").parse().expect("valid");
        assert_eq!(first.user_query.as_str(), "Hi, there");
        assert!(first.step_1_intent_completed);
        assert_eq!(first.citations.as_ref().map(Vec::len), Some(1));
        let second: Interaction = rows.next().expect("row").parse().expect("valid");
        assert_eq!((second.confidence_score, second.citations), (None, None));
    }

    #[test]
    fn bad_cells_name_line_and_field() {
        let rows = csv_records(
            Table::Interactions,
            "assistant_mode,user_query,outcome,citations,step_3_retrieval_performed\n\
             robot,q,resolved,,\n\
             customer,q,resolved,[oops,\n\
             customer,q,resolved,,yes\n\
             customer,q\n",
        );
        let errors: Vec<_> = rows
            .into_iter()
            .map(|r| {
                let rejected = r.parse::<Interaction>().expect_err("bad");
                assert_eq!(rejected.errors.len(), 1, "{rejected:?}");
                rejected.errors[0].clone()
            })
            .collect();
        assert_eq!(errors[0].line, 2);
        assert_eq!(errors[0].field, "assistant_mode");
        assert_eq!((errors[1].line, errors[1].field.as_str()), (3, "citations"));
        assert!(
            errors[1].rule.starts_with("must be JSON text"),
            "{}",
            errors[1].rule
        );
        assert_eq!(
            (errors[2].line, errors[2].field.as_str()),
            (4, "step_3_retrieval_performed")
        );
        assert_eq!((errors[3].line, errors[3].field.as_str()), (5, "."));
    }

    #[test]
    fn every_bad_field_of_a_record_is_reported() {
        let rows = csv_records(
            Table::Interactions,
            "assistant_mode,user_query,outcome,confidence_score\nrobot,q,resolved,7\n",
        );
        let rejected = rows
            .into_iter()
            .next()
            .expect("row")
            .parse::<Interaction>()
            .expect_err("bad");
        let fields: Vec<&str> = rejected.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["assistant_mode", "confidence_score"]);
        assert!(rejected.errors.iter().all(|e| e.line == 2));
        // The reader was not asked to keep CSV rows.
        assert_eq!(rejected.raw, None);
    }

    #[test]
    fn rejected_records_keep_their_exact_input_when_asked() {
        let text = "trigger_type,escalation_reason\r\nt,r\r\n\"a\nb\",\r\nt,\"x, \"\"y\"\"\"\r\n";
        let (records, header) = reader_keeping_input(
            Format::Csv,
            Table::Escalations,
            std::io::Cursor::new(text.to_owned()),
            DEFAULT_MAX_RECORD_BYTES,
            true,
        )
        .expect("reader");
        assert_eq!(
            header.as_deref(),
            Some(&b"trigger_type,escalation_reason\r\n"[..])
        );
        let outcomes: Vec<_> = records
            .map(|r| r.expect("read").parse::<Escalation>())
            .collect();
        assert!(outcomes[0].is_ok());
        let bad = outcomes[1].as_ref().expect_err("no reason");
        assert_eq!(bad.raw.as_deref(), Some(&b"\"a\nb\",\r\n"[..]));
        assert_eq!(bad.line, 3);
        assert!(outcomes[2].is_ok());
    }

    #[test]
    fn csv_headers_are_checked() {
        let err = |text: &'static str| {
            reader(
                Format::Csv,
                Table::Escalations,
                text.as_bytes(),
                DEFAULT_MAX_RECORD_BYTES,
            )
            .err()
            .map(|e| format!("{e:#}"))
            .unwrap_or_default()
        };
        assert!(err("trigger_type,escalation_reason,foo\n")
            .contains("`foo` is not a column of escalations"));
        assert!(err("trigger_type,trigger_type,escalation_reason\n").contains("more than once"));
        assert!(err("trigger_type\n").contains("no `escalation_reason` column"));
    }

    #[test]
    fn ndjson_skips_blank_lines_and_counts_them() {
        let text = "\n{\"trigger_type\":\"t\",\"escalation_reason\":\"r\"}\n  \n{oops\n";
        let rows: Vec<_> = reader(
            Format::Ndjson,
            Table::Escalations,
            text.as_bytes(),
            DEFAULT_MAX_RECORD_BYTES,
        )
        .expect("reader")
        .collect::<io::Result<_>>()
        .expect("read");
        assert_eq!(rows.iter().map(|r| r.line).collect::<Vec<_>>(), [2, 4]);
        let mut rows = rows.into_iter();
        assert!(rows.next().expect("row").parse::<Escalation>().is_ok());
        let rejected = rows
            .next()
            .expect("row")
            .parse::<Escalation>()
            .expect_err("syntax");
        assert_eq!(rejected.raw.as_deref(), Some(&b"{oops"[..]));
        let bad = &rejected.errors[0];
        assert!(
            bad.to_string().starts_with("line 4: invalid record: "),
            "{bad}"
        );
        assert!(bad.rule.contains("at column 2"), "{}", bad.rule);
    }

    #[test]
    fn csv_writer_round_trips_through_the_reader() {
        let doc = KnowledgeDocument::from_json(
            r#"{"openai_file_id":"f-1","title":"T, \"quoted\"\nline","metadata":"just a string","source_url":""}"#,
        )
        .expect("valid");
        let mut out = RecordWriter::new(
            Format::Csv,
            Table::KnowledgeDocuments,
            Vec::new(),
            CsvCells::Raw,
        )
        .expect("writer");
        out.write(&doc).expect("write");
        let RecordWriter::Csv { out, notes, .. } = out else {
            panic!("csv writer")
        };
        assert_eq!(notes.empty_strings, 1);
        let bytes = (*out)
            .into_inner()
            .map_err(|e| e.to_string())
            .expect("flush");
        let text: &'static str = String::from_utf8(bytes).expect("utf8").leak();
        let back: KnowledgeDocument = csv_records(Table::KnowledgeDocuments, text)
            .into_iter()
            .next()
            .expect("row")
            .parse()
            .expect("valid");
        // CSV cannot keep "" apart from null; everything else survives.
        assert_eq!(
            back,
            KnowledgeDocument {
                source_url: None,
                ..doc
            }
        );
    }

    #[test]
    fn columns_match_the_model() {
        let check = |table: Table, value: Value| {
            let keys: Vec<_> = value.as_object().expect("object").keys().cloned().collect();
            let mut names: Vec<_> = table.columns().iter().map(|c| c.name.to_owned()).collect();
            names.sort();
            let mut keys = keys;
            keys.sort();
            assert_eq!(names, keys, "{table}");
        };
        let i = Interaction::from_json(
            r#"{"assistant_mode":"banker","user_query":"q","outcome":"resolved"}"#,
        )
        .expect("valid");
        check(Table::Interactions, serde_json::to_value(i).expect("json"));
        let e = Escalation::from_json(r#"{"trigger_type":"t","escalation_reason":"r"}"#)
            .expect("valid");
        check(Table::Escalations, serde_json::to_value(e).expect("json"));
        let d = KnowledgeDocument::new("f", "t").expect("valid");
        check(
            Table::KnowledgeDocuments,
            serde_json::to_value(d).expect("json"),
        );
    }

    /// Every record of `text` read with a limit of `max` bytes: its line, and the rule it
    /// broke or `ok`.
    fn lines_with_limit(format: Format, text: &str, max: usize) -> Vec<(u64, String)> {
        reader(
            format,
            Table::Escalations,
            std::io::Cursor::new(text.to_owned()),
            max,
        )
        .expect("reader")
        .map(|r| {
            let r = r.expect("read");
            let line = r.line;
            match r.parse::<Escalation>() {
                Ok(_) => (line, "ok".to_owned()),
                Err(bad) => (line, bad.errors[0].rule.clone()),
            }
        })
        .collect()
    }

    #[test]
    fn ndjson_lines_over_the_limit_are_bad_records_and_reading_goes_on() {
        let ok = r#"{"trigger_type":"t","escalation_reason":"r"}"#;
        let long = format!(
            r#"{{"trigger_type":"t","escalation_reason":"{}"}}"#,
            "x".repeat(5000)
        );
        let text = format!("{ok}\n{long}\r\n{ok}\n{long}");
        let seen = lines_with_limit(Format::Ndjson, &text, 2000);
        assert_eq!(seen.len(), 4, "{seen:?}");
        assert_eq!((seen[0].0, seen[0].1.as_str()), (1, "ok"));
        assert_eq!(seen[1].0, 2);
        assert!(
            seen[1].1.starts_with(&format!(
                "is {} bytes long, over the limit of 2000",
                long.len()
            )),
            "{seen:?}"
        );
        assert_eq!((seen[2].0, seen[2].1.as_str()), (3, "ok"));
        // The last line, without a line end, is measured exactly too.
        assert!(
            seen[3].1.starts_with(&format!("is {} bytes", long.len())),
            "{seen:?}"
        );
        // Exactly at the limit is within it.
        let exact = lines_with_limit(Format::Ndjson, &format!("{ok}\r\n"), ok.len());
        assert_eq!(exact, [(1, "ok".to_owned())]);
    }

    #[test]
    fn csv_records_over_the_limit_or_with_extra_cells_are_bad_records() {
        let long_cell = format!("\"{}\n{}\"", "y".repeat(3000), "z".repeat(3000));
        let extra = vec!["c"; 200].join(",");
        let text =
            format!("trigger_type,escalation_reason\nt,r\nt,{long_cell}\nt,r\n{extra}\nt,r\n");
        let seen = lines_with_limit(Format::Csv, &text, 4000);
        assert_eq!(seen.len(), 5, "{seen:?}");
        assert_eq!(seen[0], (2, "ok".to_owned()));
        assert_eq!(seen[1].0, 3);
        assert!(
            seen[1].1.contains("over the limit of 4000 bytes"),
            "{seen:?}"
        );
        // The long record spans two lines; counting goes on after it.
        assert_eq!(seen[2], (5, "ok".to_owned()));
        assert_eq!(seen[3], (6, "has 200 cells, the header has 2".to_owned()));
        assert_eq!(seen[4], (7, "ok".to_owned()));
    }

    #[test]
    fn csv_cells_a_spreadsheet_would_run_are_neutralised_unless_raw() {
        let write = |cells: CsvCells| {
            let mut out = RecordWriter::new(Format::Csv, Table::Escalations, Vec::new(), cells)
                .expect("writer");
            for reason in ["=1+1", "+1", "-2", "@SUM(A1)", "\tx", "\rx", "plain", "a=b"] {
                let e = Escalation::new(uuid::Uuid::nil(), "t", reason).expect("valid");
                out.write(&e).expect("write");
            }
            let RecordWriter::Csv { out, notes, .. } = out else {
                panic!("csv writer")
            };
            let bytes = (*out)
                .into_inner()
                .map_err(|e| e.to_string())
                .expect("flush");
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
}

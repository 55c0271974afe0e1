//! Records as files: reading and writing NDJSON and CSV for `import` and `export`.
//!
//! NDJSON is one record per line, exactly the serde form of the model (the spec's dict).
//! CSV has a header row of column names and one record per row: an empty cell is an
//! absent (null) value, booleans are `true`/`false`, and the JSONB columns (`citations`,
//! `metadata`) hold JSON text. A CSV row is turned into the same JSON object an NDJSON
//! line would hold and parsed by the same model parser, so both formats obey one set of
//! rules. CSV cannot tell an empty string from a missing value: an optional text column
//! holding `""` reads back as null (NDJSON keeps it).

use std::collections::HashSet;
use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::Path;

use anyhow::{bail, Context};
use assistant_db::model::{Escalation, Interaction, KnowledgeDocument, ValidationError};
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

/// How a column's CSV cell becomes a JSON value.
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

/// A column of a table, in the order the model serializes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    /// The column name (and serde field name).
    pub name: &'static str,
    /// How its CSV cell is read.
    pub kind: Kind,
    /// Whether every record must give it.
    pub required: bool,
}

const fn col(name: &'static str, kind: Kind) -> Column {
    Column {
        name,
        kind,
        required: false,
    }
}

const fn required(name: &'static str) -> Column {
    Column {
        name,
        kind: Kind::Text,
        required: true,
    }
}

const INTERACTION_COLUMNS: &[Column] = &[
    col("id", Kind::Text),
    col("timestamp", Kind::Text),
    required("assistant_mode"),
    col("session_id", Kind::Text),
    required("user_query"),
    col("intent_name", Kind::Text),
    col("intent_category", Kind::Text),
    col("classification_reason", Kind::Text),
    col("step_1_intent_completed", Kind::Bool),
    col("step_2_routing_decision", Kind::Text),
    col("step_3_retrieval_performed", Kind::Bool),
    col("step_4_response_generated", Kind::Bool),
    col("step_5_confidence_score", Kind::Number),
    col("step_6_escalation_triggered", Kind::Bool),
    required("outcome"),
    col("confidence_score", Kind::Number),
    col("escalation_reason", Kind::Text),
    col("response_text", Kind::Text),
    col("citations", Kind::Json),
    col("retrieved_chunks_count", Kind::Number),
    col("processing_time_ms", Kind::Number),
    col("created_at", Kind::Text),
];

const ESCALATION_COLUMNS: &[Column] = &[
    col("id", Kind::Text),
    col("interaction_id", Kind::Text),
    required("trigger_type"),
    required("escalation_reason"),
    col("created_at", Kind::Text),
];

const KNOWLEDGE_DOCUMENT_COLUMNS: &[Column] = &[
    col("id", Kind::Text),
    required("openai_file_id"),
    required("title"),
    col("source_url", Kind::Text),
    col("content_type", Kind::Text),
    col("topic_collection", Kind::Text),
    col("ingested_at", Kind::Text),
    col("metadata", Kind::Json),
];

impl Table {
    /// The SQL table name.
    pub fn name(self) -> &'static str {
        match self {
            Table::Interactions => Interaction::TABLE,
            Table::Escalations => Escalation::TABLE,
            Table::KnowledgeDocuments => KnowledgeDocument::TABLE,
        }
    }

    /// Every column, in the model's order.
    pub fn columns(self) -> &'static [Column] {
        match self {
            Table::Interactions => INTERACTION_COLUMNS,
            Table::Escalations => ESCALATION_COLUMNS,
            Table::KnowledgeDocuments => KNOWLEDGE_DOCUMENT_COLUMNS,
        }
    }

    fn column(self, name: &str) -> Option<&'static Column> {
        self.columns().iter().find(|c| c.name == name)
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A model type that is a row of one table, parsed by the model's own parser.
pub trait Record: Serialize + Sized {
    /// Parses JSON text.
    fn parse_text(text: &str) -> Result<Self, ValidationError>;
    /// Parses a JSON value.
    fn parse_value(value: Value) -> Result<Self, ValidationError>;
}

impl Record for Interaction {
    fn parse_text(text: &str) -> Result<Self, ValidationError> {
        Interaction::from_json(text)
    }
    fn parse_value(value: Value) -> Result<Self, ValidationError> {
        Interaction::from_json_value(value)
    }
}

impl Record for Escalation {
    fn parse_text(text: &str) -> Result<Self, ValidationError> {
        Escalation::from_json(text)
    }
    fn parse_value(value: Value) -> Result<Self, ValidationError> {
        Escalation::from_json_value(value)
    }
}

impl Record for KnowledgeDocument {
    fn parse_text(text: &str) -> Result<Self, ValidationError> {
        KnowledgeDocument::from_json(text)
    }
    fn parse_value(value: Value) -> Result<Self, ValidationError> {
        KnowledgeDocument::from_json_value(value)
    }
}

/// A record as read from the file, not yet parsed.
#[derive(Debug)]
pub struct RawRecord {
    /// The line the record starts on, from 1.
    pub line: u64,
    body: Body,
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

impl RawRecord {
    /// Parses the record with the model's parser.
    pub fn parse<T: Record>(self) -> Result<T, BadRecord> {
        let line = self.line;
        let parsed = match self.body {
            Body::Text(text) => T::parse_text(&text).map_err(within_line),
            Body::Value(value) => T::parse_value(value),
            Body::Invalid(err) => Err(err),
        };
        parsed.map_err(|err| BadRecord {
            line,
            field: err.field,
            rule: err.rule,
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

/// Reads raw records from `input` in `format`, for `table`.
///
/// A CSV header naming an unknown or repeated column, or missing a required one, is an
/// error before any record is read.
pub fn reader(
    format: Format,
    table: Table,
    input: impl Read + 'static,
) -> anyhow::Result<Box<dyn Iterator<Item = io::Result<RawRecord>>>> {
    Ok(match format {
        Format::Ndjson => Box::new(NdjsonReader {
            input: BufReader::new(input),
            line: 0,
            buf: Vec::new(),
        }),
        Format::Csv => Box::new(CsvReader::new(table, input)?),
    })
}

struct NdjsonReader<R> {
    input: R,
    line: u64,
    buf: Vec<u8>,
}

impl<R: BufRead> Iterator for NdjsonReader<R> {
    type Item = io::Result<RawRecord>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            self.buf.clear();
            match self.input.read_until(b'\n', &mut self.buf) {
                Ok(0) => return None,
                Ok(_) => self.line += 1,
                Err(e) => return Some(Err(e)),
            }
            let body = match std::str::from_utf8(&self.buf) {
                Ok(text) if text.trim().is_empty() => continue,
                Ok(text) => Body::Text(text.trim_end_matches(['\n', '\r']).to_owned()),
                Err(e) => Body::Invalid(ValidationError::new(
                    ".",
                    format!("is not valid UTF-8 ({e})"),
                )),
            };
            return Some(Ok(RawRecord {
                line: self.line,
                body,
            }));
        }
    }
}

struct CsvReader<R> {
    input: csv::Reader<R>,
    header: Vec<&'static Column>,
    record: csv::ByteRecord,
}

impl<R: Read> CsvReader<R> {
    fn new(table: Table, input: R) -> anyhow::Result<Self> {
        let mut input = csv::ReaderBuilder::new().flexible(true).from_reader(input);
        let names = input
            .byte_headers()
            .map_err(csv_io)
            .context("cannot read the CSV header")?;
        let header = header_columns(table, names).context("line 1: bad CSV header")?;
        Ok(CsvReader {
            input,
            header,
            record: csv::ByteRecord::new(),
        })
    }

    /// The current row as a JSON object, or what is wrong with it.
    fn row(&self) -> Result<Value, ValidationError> {
        if self.record.len() != self.header.len() {
            return Err(ValidationError::new(
                ".",
                format!(
                    "has {} cells, the header has {}",
                    self.record.len(),
                    self.header.len()
                ),
            ));
        }
        let mut object = Map::new();
        for (column, cell) in self.header.iter().zip(self.record.iter()) {
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
        match self.input.read_byte_record(&mut self.record) {
            Ok(false) => None,
            Err(e) => Some(Err(csv_io(e))),
            Ok(true) => {
                let line = self.record.position().map_or(0, csv::Position::line);
                let body = match self.row() {
                    Ok(value) => Body::Value(value),
                    Err(err) => Body::Invalid(err),
                };
                Some(Ok(RawRecord { line, body }))
            }
        }
    }
}

/// The columns a CSV header names, checked against the table.
fn header_columns(table: Table, names: &csv::ByteRecord) -> anyhow::Result<Vec<&'static Column>> {
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
        .find(|c| c.required && !seen.contains(c.name))
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
    Ok(Some(match column.kind {
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

/// Writes records as NDJSON or CSV.
pub enum RecordWriter<W: Write> {
    /// One JSON object per line.
    Ndjson(io::BufWriter<W>),
    /// CSV with a header row.
    Csv {
        /// The CSV writer (it buffers).
        out: Box<csv::Writer<W>>,
        /// The columns, in order.
        columns: &'static [Column],
        /// Text cells holding `""`, which will read back as null.
        empty_strings: u64,
    },
}

impl<W: Write> RecordWriter<W> {
    /// A writer of `table`'s records; CSV writes its header row now.
    pub fn new(format: Format, table: Table, out: W) -> io::Result<Self> {
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
                    empty_strings: 0,
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
                empty_strings,
            } => {
                let value = serde_json::to_value(record).map_err(io::Error::from)?;
                let (cells, empties) = csv_cells(columns, value)?;
                *empty_strings += empties;
                out.write_record(&cells).map_err(csv_io)
            }
        }
    }

    /// Flushes; returns how many text cells held an empty string (CSV only).
    pub fn finish(self) -> io::Result<u64> {
        match self {
            RecordWriter::Ndjson(mut out) => out.flush().map(|()| 0),
            RecordWriter::Csv {
                mut out,
                empty_strings,
                ..
            } => out.flush().map(|()| empty_strings),
        }
    }
}

/// A record's cells in column order, and how many were empty strings.
fn csv_cells(columns: &[Column], value: Value) -> io::Result<(Vec<String>, u64)> {
    let Value::Object(mut object) = value else {
        return Err(io::Error::other(
            "a record did not serialize as a JSON object",
        ));
    };
    let mut empties = 0;
    let cells = columns
        .iter()
        .map(|column| {
            let value = object.remove(column.name).unwrap_or(Value::Null);
            if column.kind == Kind::Text && value.as_str() == Some("") {
                empties += 1;
            }
            cell_text(column.kind, value)
        })
        .collect();
    if let Some(extra) = object.keys().next() {
        return Err(io::Error::other(format!(
            "field `{extra}` has no CSV column"
        )));
    }
    Ok((cells, empties))
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
        reader(Format::Csv, table, text.as_bytes())
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
            .map(|r| r.parse::<Interaction>().expect_err("bad"))
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
    fn csv_headers_are_checked() {
        let err = |text: &'static str| {
            reader(Format::Csv, Table::Escalations, text.as_bytes())
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
        let rows: Vec<_> = reader(Format::Ndjson, Table::Escalations, text.as_bytes())
            .expect("reader")
            .collect::<io::Result<_>>()
            .expect("read");
        assert_eq!(rows.iter().map(|r| r.line).collect::<Vec<_>>(), [2, 4]);
        let mut rows = rows.into_iter();
        assert!(rows.next().expect("row").parse::<Escalation>().is_ok());
        let bad = rows
            .next()
            .expect("row")
            .parse::<Escalation>()
            .expect_err("syntax");
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
        let mut out =
            RecordWriter::new(Format::Csv, Table::KnowledgeDocuments, Vec::new()).expect("writer");
        out.write(&doc).expect("write");
        let RecordWriter::Csv {
            out, empty_strings, ..
        } = out
        else {
            panic!("csv writer")
        };
        assert_eq!(empty_strings, 1);
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
}

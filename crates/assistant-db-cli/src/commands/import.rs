//! `assistant-db import`: load NDJSON or CSV records, validated, in atomic batches.
//!
//! Every record is parsed by the model's parser (CSV rows are first turned into the JSON
//! object an NDJSON line would hold), so a bad record is reported with its line, field
//! and rule. Each batch is one atomic write; rows whose id already exists are skipped
//! (knowledge documents are upserted by `openai_file_id`), so re-running an import with
//! the same ids writes nothing new. By default the import stops at the first batch that
//! holds a bad record and writes nothing of that batch; `--skip-invalid` writes the
//! valid records, reports the rest (every rule each one breaks) and succeeds.
//! `--rejects FILE` writes the bad records there exactly as they were read (for CSV,
//! under the input's header line), so that they can be fixed and imported again.
//!
//! Memory stays bounded: a line (NDJSON) or record (CSV) longer than `--max-record-bytes`
//! (16 MiB by default) is read past, not held, and reported as a bad record; and a batch
//! ends early once its records hold [`BATCH_BYTES`] of input.
//!
//! Free text is redacted before it is sent, as every write of the library's client does
//! (the summary counts the values redacted per kind); a bad record's report is redacted
//! too, since a rule may quote what the line held.
//!
//! Interactions over a direct PostgreSQL connection take the bulk path: each batch is
//! staged ([`Client::stage_interactions`]: binary `COPY` in an open transaction over
//! PostgreSQL), and the next batches
//! are read and validated while earlier ones are written on other connections, their
//! transactions committing in input order (see [`Importer::staged_interactions`]). Over
//! the REST API, and for the other tables, each batch is one call of the SQL write
//! functions.

use std::collections::{HashSet, VecDeque};
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use assistant_db::model::{Escalation, Interaction, KnowledgeDocument};
use assistant_db::redact::Counts;
use assistant_db::{Client, Config};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use uuid::Uuid;

use super::records::{
    self, BadRecord, Format, Input, RawRecord, Record, Rejected, Table, DEFAULT_MAX_RECORD_BYTES,
};
use crate::terminal::escape;

/// Bad records kept for the JSON summary; all of them are printed on stderr.
const MAX_REPORTED: usize = 1000;

/// Input bytes after which a batch ends, however few records it holds, so that a few
/// batches of long records in flight stay within memory.
const BATCH_BYTES: u64 = 64 << 20;

/// Examples at the end of `import --help`.
const EXAMPLES: &str = "Examples:
  assistant-db import interactions interactions.ndjson
  assistant-db import interactions rows.csv --skip-invalid --json
  gunzip -c dump.ndjson.gz | assistant-db import escalations -";

/// Arguments of `import`.
#[derive(Debug, clap::Args)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    /// The table the records are rows of.
    #[arg(value_enum)]
    table: Table,
    /// The file to read; `-` or nothing reads stdin.
    #[arg(value_name = "FILE|-")]
    file: Option<PathBuf>,
    /// The file's format; by default CSV for a `.csv` file, NDJSON otherwise (and for stdin).
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// Records per atomic write.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    batch_size: u32,
    /// Report invalid records and write all the valid ones, instead of stopping; the
    /// import then succeeds when every valid record was written.
    #[arg(long)]
    skip_invalid: bool,
    /// Write each invalid record to this new file, exactly as it was read (CSV: under the
    /// input's header line), to fix and import again.
    #[arg(long, value_name = "FILE")]
    rejects: Option<PathBuf>,
    /// Longest line (NDJSON) or record (CSV) read, in bytes; a longer one is a bad record.
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_RECORD_BYTES,
          value_parser = parse_max_record_bytes)]
    max_record_bytes: usize,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
}

/// What an import did.
#[derive(Debug, Serialize)]
struct Summary {
    table: &'static str,
    source: String,
    /// Records read (blank lines are not records).
    read: u64,
    /// Rows inserted.
    written: u64,
    /// Records whose row was already there: skipped, or updated for knowledge documents.
    existing: u64,
    /// What happened to the existing rows.
    existing_action: &'static str,
    /// Records that broke a rule.
    invalid: u64,
    /// Each rule the bad records broke, with their lines (at most [`MAX_REPORTED`]).
    errors: Vec<BadRecord>,
    /// The file the bad records were written to, with `--rejects`.
    rejects: Option<String>,
    /// Bad records written to that file (those over `--max-record-bytes` were not kept).
    rejects_written: u64,
    /// Why the import stopped early, if it did.
    aborted: Option<Aborted>,
    /// Values redacted from the rows written, per kind.
    redactions: Counts,
}

/// Why an import stopped before the end of its input.
#[derive(Debug, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
enum Aborted {
    /// A batch held invalid records; none of it was written.
    Invalid { first_line: u64, last_line: u64 },
    /// The database refused a batch; none of it was written.
    Database {
        first_line: u64,
        last_line: u64,
        error: String,
    },
}

/// A table's atomic batch write.
trait Import: Record {
    /// What happens to a record whose row already exists.
    const EXISTING_ACTION: &'static str;

    /// Writes `batch` in one atomic call; returns how many rows were new.
    async fn write(client: &Client, batch: &[Self]) -> assistant_db::Result<u64>;
}

impl Import for Interaction {
    const EXISTING_ACTION: &'static str = "skipped";

    async fn write(client: &Client, batch: &[Self]) -> assistant_db::Result<u64> {
        Ok(client.insert_interactions(batch).await?.interactions)
    }
}

impl Import for Escalation {
    const EXISTING_ACTION: &'static str = "skipped";

    async fn write(client: &Client, batch: &[Self]) -> assistant_db::Result<u64> {
        Ok(client.insert_escalations(batch).await?.escalations)
    }
}

impl Import for KnowledgeDocument {
    const EXISTING_ACTION: &'static str = "updated";

    async fn write(client: &Client, batch: &[Self]) -> assistant_db::Result<u64> {
        let rows = client.upsert_knowledge_documents(batch).await?;
        Ok(rows.iter().filter(|row| row.inserted).count() as u64)
    }
}

/// Runs the command.
pub async fn run(config: &Config, args: Args) -> anyhow::Result<ExitCode> {
    let format = Format::choose(args.format, args.file.as_deref());
    let input = Input::open(args.file.as_deref())?;
    let progress = Progress::new(input.len);
    let name = input.name.clone();
    let (mut source, header) = records::reader_keeping_input(
        format,
        args.table,
        progress.wrap(input.reader),
        args.max_record_bytes,
        args.rejects.is_some(),
    )
    .with_context(|| format!("cannot import {name}"))?;
    let rejects = args
        .rejects
        .as_deref()
        .map(|path| Rejects::create(path, header.as_deref()))
        .transpose()?;
    let client = Client::connect(config)
        .await
        .context("cannot connect to the database")?;
    let mut summary = Summary::new(args.table, name);
    summary.rejects = args.rejects.as_ref().map(|p| p.display().to_string());
    let mut import = Importer {
        client: &client,
        args: &args,
        progress: &progress,
        summary,
        failure: None,
        rejects,
    };
    match args.table {
        Table::Interactions => import.staged_interactions(&mut source).await?,
        Table::Escalations => import.all::<Escalation>(&mut source).await?,
        Table::KnowledgeDocuments => import.all::<KnowledgeDocument>(&mut source).await?,
    }
    // The last batches' fold runs beside them: the import ends when it has.
    client.idle().await;
    progress.finish();
    import.summary.redactions = client.redactions();
    if let Some(rejects) = import.rejects.take() {
        rejects.finish()?;
    }
    finish(import.summary, import.failure, args.json)
}

/// The `--rejects` file: the bad records, as they were read.
struct Rejects {
    out: BufWriter<File>,
    path: String,
    /// Bad records whose input was not kept (over `--max-record-bytes`).
    missing: Vec<u64>,
}

impl Rejects {
    /// Creates the file, which must not exist yet (a previous run's rejects are not
    /// overwritten), and writes the CSV header line into it.
    fn create(path: &Path, header: Option<&[u8]>) -> anyhow::Result<Self> {
        let shown = escape(&path.display().to_string()).into_owned();
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(|e| {
                if e.kind() == std::io::ErrorKind::AlreadyExists {
                    anyhow::anyhow!("{shown} exists; --rejects writes a new file")
                } else {
                    anyhow::Error::new(e).context(format!("cannot create {shown}"))
                }
            })?;
        let mut rejects = Rejects {
            out: BufWriter::new(file),
            path: shown,
            missing: Vec::new(),
        };
        if let Some(header) = header {
            rejects.line(header)?;
        }
        Ok(rejects)
    }

    /// Writes one bad record's input; true if it was kept and written.
    fn write(&mut self, rejected: &Rejected) -> anyhow::Result<bool> {
        match &rejected.raw {
            Some(raw) => {
                self.line(raw)?;
                Ok(true)
            }
            None => {
                self.missing.push(rejected.line);
                Ok(false)
            }
        }
    }

    /// `bytes`, ending in a line end.
    fn line(&mut self, bytes: &[u8]) -> anyhow::Result<()> {
        let written = self.out.write_all(bytes).and_then(|()| {
            if bytes.ends_with(b"\n") {
                Ok(())
            } else {
                self.out.write_all(b"\n")
            }
        });
        written.with_context(|| format!("cannot write to {}", self.path))
    }

    fn finish(mut self) -> anyhow::Result<()> {
        self.out
            .flush()
            .with_context(|| format!("cannot write to {}", self.path))?;
        if !self.missing.is_empty() {
            let lines: Vec<String> = self.missing.iter().map(u64::to_string).collect();
            eprintln!(
                "note: {} bad records were over --max-record-bytes, so their input was not \
                 kept and is not in {} (lines {})",
                self.missing.len(),
                self.path,
                lines.join(", ")
            );
        }
        Ok(())
    }
}

/// Prints the summary; an aborted batch's database error becomes the command's error.
fn finish(
    summary: Summary,
    failure: Option<anyhow::Error>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    if json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        println!("{}", escape(&summary.line()));
    }
    if let Some(Aborted::Invalid {
        first_line,
        last_line,
    }) = &summary.aborted
    {
        eprintln!(
            "stopped: the batch of {} holds invalid records, so none of it was written; {}. \
             Fix the lines above, or pass --skip-invalid to write the valid records.",
            lines(*first_line, *last_line),
            earlier(summary.written)
        );
    }
    if let Some(err) = failure {
        return Err(err);
    }
    if summary.aborted.is_some() {
        return Ok(ExitCode::FAILURE);
    }
    if summary.invalid > 0 {
        // --skip-invalid: the valid records are written, which is what was asked.
        let to = summary
            .rejects
            .as_deref()
            .map(|path| format!("; they are in {}", escape(path)))
            .unwrap_or_default();
        eprintln!(
            "skipped {} invalid records (reported above){to}",
            summary.invalid
        );
    }
    Ok(ExitCode::SUCCESS)
}

impl Summary {
    fn new(table: Table, source: String) -> Self {
        Summary {
            table: table.name(),
            source,
            read: 0,
            written: 0,
            existing: 0,
            existing_action: "skipped",
            invalid: 0,
            errors: Vec::new(),
            rejects: None,
            rejects_written: 0,
            aborted: None,
            redactions: Counts::default(),
        }
    }

    /// The one-line text summary.
    fn line(&self) -> String {
        let mut line = format!(
            "{} from {}: read {}, written {}, already present {} ({}), invalid {}",
            self.table,
            self.source,
            self.read,
            self.written,
            self.existing,
            self.existing_action,
            self.invalid
        );
        if self.aborted.is_some() {
            line.push_str(" — aborted");
        }
        line
    }
}

/// One run of an import: reads batches and writes them.
struct Importer<'a> {
    client: &'a Client,
    args: &'a Args,
    progress: &'a Progress,
    summary: Summary,
    /// The database error that aborted the import, with its batch's line range.
    failure: Option<anyhow::Error>,
    /// Where bad records go, with `--rejects`.
    rejects: Option<Rejects>,
}

/// A batch read and validated, not yet counted in the summary.
struct Parsed<T> {
    first: u64,
    last: u64,
    read: u64,
    good: Vec<T>,
    bad: Vec<Rejected>,
}

impl<T: Record> Parsed<T> {
    /// Parses up to `size` records of `source`; `None` at the end of the input.
    fn next(
        source: &mut dyn Iterator<Item = std::io::Result<RawRecord>>,
        size: usize,
    ) -> std::io::Result<Option<Self>> {
        let batch = next_batch(source, size)?;
        let (Some(first), Some(last)) =
            (batch.first().map(|r| r.line), batch.last().map(|r| r.line))
        else {
            return Ok(None);
        };
        let mut parsed = Parsed {
            first,
            last,
            read: batch.len() as u64,
            good: Vec::with_capacity(batch.len()),
            bad: Vec::new(),
        };
        for raw in batch {
            match raw.parse::<T>() {
                Ok(record) => parsed.good.push(record),
                Err(bad) => parsed.bad.push(bad),
            }
        }
        Ok(Some(parsed))
    }
}

impl Importer<'_> {
    /// Imports every batch of `source` until the end or the first abort.
    async fn all<T: Import>(
        &mut self,
        source: &mut dyn Iterator<Item = std::io::Result<RawRecord>>,
    ) -> anyhow::Result<()> {
        self.summary.existing_action = T::EXISTING_ACTION;
        loop {
            let Some(mut batch) = self.read::<T>(source)? else {
                return Ok(());
            };
            if !self.admit(&mut batch)? {
                return Ok(());
            }
            if !batch.good.is_empty() {
                let result = T::write(self.client, &batch.good).await;
                if !self.wrote(result, batch.good.len() as u64, batch.first, batch.last) {
                    return Ok(());
                }
            }
            self.progress.message(&self.summary);
        }
    }

    /// The next batch, parsed.
    fn read<T: Record>(
        &self,
        source: &mut dyn Iterator<Item = std::io::Result<RawRecord>>,
    ) -> anyhow::Result<Option<Parsed<T>>> {
        Parsed::next(source, self.args.batch_size as usize)
            .with_context(|| format!("cannot read {}", self.summary.source))
    }

    /// Counts a parsed batch and reports its bad records; false when they stop the import.
    fn admit<T>(&mut self, batch: &mut Parsed<T>) -> anyhow::Result<bool> {
        self.summary.read += batch.read;
        let invalid = !batch.bad.is_empty();
        for bad in batch.bad.drain(..) {
            self.invalid(bad)?;
        }
        if invalid && !self.args.skip_invalid {
            self.summary.aborted = Some(Aborted::Invalid {
                first_line: batch.first,
                last_line: batch.last,
            });
            return Ok(false);
        }
        Ok(true)
    }

    /// Counts the outcome of writing a batch's `good` records; false when the import must stop.
    fn wrote(
        &mut self,
        result: assistant_db::Result<u64>,
        good: u64,
        first: u64,
        last: u64,
    ) -> bool {
        match result {
            Ok(inserted) => {
                self.summary.written += inserted;
                self.summary.existing += good - inserted.min(good);
                true
            }
            Err(err) => {
                self.summary.aborted = Some(Aborted::Database {
                    first_line: first,
                    last_line: last,
                    error: err.to_string(),
                });
                self.failure = Some(anyhow::Error::new(err).context(format!(
                    "the database refused the batch of {}: nothing of it was written ({})",
                    lines(first, last),
                    earlier(self.summary.written)
                )));
                false
            }
        }
    }

    /// Reports every rule a bad record broke, and keeps it in the rejects file.
    fn invalid(&mut self, rejected: Rejected) -> anyhow::Result<()> {
        if let Some(rejects) = self.rejects.as_mut() {
            if rejects.write(&rejected)? {
                self.summary.rejects_written += 1;
            }
        }
        let redactor = self.client.redactor();
        for mut bad in rejected.errors {
            // The field and rule may quote the input: its PII is redacted, its control
            // characters escaped.
            bad.field = redactor.redact(&bad.field).into_owned();
            bad.rule = redactor.redact(&bad.rule).into_owned();
            self.progress.println(&escape(&bad.to_string()));
            if self.summary.errors.len() < MAX_REPORTED {
                self.summary.errors.push(bad);
            }
        }
        self.summary.invalid += 1;
        Ok(())
    }

    /// Imports interactions through [`Client::stage_interactions`], pipelined.
    ///
    /// The next batch is read and validated (here, on this thread) while up to
    /// [`COPY_IN_FLIGHT`] earlier ones are written, each in its own transaction on its own
    /// connection. Those transactions commit strictly in input order — each waits for
    /// the one before it to commit, and rolls back if that one did not — and batches are
    /// counted in input order too, so the import behaves exactly as if the batches were
    /// written one after another: a failing batch writes nothing, the batches before it
    /// stay written and none after it is. An id already in an earlier batch still being
    /// written is left out of a later one (it counts as already present), so two open
    /// transactions never insert the same id and never wait for each other.
    async fn staged_interactions(
        &mut self,
        source: &mut dyn Iterator<Item = std::io::Result<RawRecord>>,
    ) -> anyhow::Result<()> {
        self.summary.existing_action = Interaction::EXISTING_ACTION;
        let mut pending: VecDeque<Pending> = VecDeque::new();
        let mut turn: Option<oneshot::Receiver<bool>> = None;
        let mut stopped = false;
        let read = loop {
            let mut batch = match self.read::<Interaction>(source) {
                Ok(Some(batch)) => batch,
                Ok(None) => break Ok(()),
                Err(err) => break Err(err),
            };
            let stop = !batch.bad.is_empty() && !self.args.skip_invalid;
            let good = batch.good.len() as u64;
            if stop || good == 0 {
                pending.push_back(Pending {
                    batch,
                    good,
                    ids: HashSet::new(),
                    write: None,
                });
                if stop {
                    break Ok(());
                }
                continue;
            }
            // Make room: count the oldest batches once they are written.
            while pending.iter().filter(|p| p.write.is_some()).count() >= COPY_IN_FLIGHT {
                let Some(next) = pending.pop_front() else {
                    break;
                };
                if !self.settle(next).await? {
                    stopped = true;
                    break;
                }
            }
            if stopped {
                break Ok(());
            }
            let mut rows = std::mem::take(&mut batch.good);
            rows.retain(|row| !pending.iter().any(|p| p.ids.contains(&row.id)));
            let ids = rows.iter().map(|row| row.id).collect();
            let (done, next_turn) = oneshot::channel();
            let previous = turn.replace(next_turn);
            let write = tokio::spawn(write_in_turn(self.client.clone(), rows, previous, done));
            pending.push_back(Pending {
                batch,
                good,
                ids,
                write: Some(write),
            });
        };
        // Settle what is left in order; after a stop, only wait for the rollbacks.
        while let Some(next) = pending.pop_front() {
            if stopped {
                if let Some(write) = next.write {
                    let _ = write.await;
                }
            } else if !self.settle(next).await? {
                stopped = true;
            }
        }
        if stopped {
            return Ok(());
        }
        read.map(|_| ())
    }

    /// Counts one batch, in input order, once its write is done; false to stop.
    async fn settle(&mut self, mut next: Pending) -> anyhow::Result<bool> {
        if !self.admit(&mut next.batch)? {
            return Ok(false);
        }
        let Some(write) = next.write else {
            self.progress.message(&self.summary);
            return Ok(true);
        };
        let result = match write.await {
            Ok(Ok(Some(inserted))) => Ok(inserted),
            Ok(Ok(None)) => Err(assistant_db::Error::Unavailable(
                "the batch was rolled back because an earlier batch was not written".into(),
            )),
            Ok(Err(err)) => Err(err),
            Err(join) => Err(assistant_db::Error::Unavailable(format!(
                "the batch's writer stopped: {join}"
            ))),
        };
        let go_on = self.wrote(result, next.good, next.batch.first, next.batch.last);
        self.progress.message(&self.summary);
        Ok(go_on)
    }
}

/// Interaction batches being written at once by [`Importer::staged_interactions`], each
/// on its own connection: measured on 2 CPUs, 3 kept the server busiest (while one
/// transaction waits for its turn to commit, two others are writing).
const COPY_IN_FLIGHT: usize = 3;

/// A batch of the pipelined import: parsed, and being written.
struct Pending {
    /// The batch, its good records handed over to `write`.
    batch: Parsed<Interaction>,
    /// How many good records it had.
    good: u64,
    /// The ids `write` writes.
    ids: HashSet<Uuid>,
    /// Rows inserted, or `None` when rolled back because an earlier batch failed.
    write: Option<JoinHandle<assistant_db::Result<Option<u64>>>>,
}

/// Stages `rows` (over PostgreSQL: copies them in an open transaction) and commits only
/// once the previous batch has (`previous` says true); tells the next batch through `done`.
async fn write_in_turn(
    client: Client,
    rows: Vec<Interaction>,
    previous: Option<oneshot::Receiver<bool>>,
    done: oneshot::Sender<bool>,
) -> assistant_db::Result<Option<u64>> {
    let staged = match client.stage_interactions(rows).await {
        Ok(staged) => staged,
        Err(err) => {
            let _ = done.send(false);
            return Err(err);
        }
    };
    let go = match previous {
        Some(previous) => previous.await.unwrap_or(false),
        None => true,
    };
    if !go {
        staged.rollback().await;
        let _ = done.send(false);
        return Ok(None);
    }
    match staged.commit().await {
        Ok(inserted) => {
            let _ = done.send(true);
            Ok(Some(inserted))
        }
        Err(err) => {
            let _ = done.send(false);
            Err(err)
        }
    }
}

/// `line 7`, or `lines 7–9`.
fn lines(first: u64, last: u64) -> String {
    if first == last {
        format!("line {first}")
    } else {
        format!("lines {first}–{last}")
    }
}

/// What earlier batches wrote, in words.
fn earlier(written: u64) -> String {
    match written {
        0 => "no earlier batch wrote any row".to_owned(),
        n => format!("{n} rows from earlier batches stay written"),
    }
}

/// Up to `size` records, fewer once they hold [`BATCH_BYTES`] of input; empty at the end
/// of the input.
fn next_batch(
    source: &mut dyn Iterator<Item = std::io::Result<RawRecord>>,
    size: usize,
) -> std::io::Result<Vec<RawRecord>> {
    let mut batch = Vec::new();
    let mut bytes = 0;
    while batch.len() < size && bytes < BATCH_BYTES {
        match source.next() {
            Some(record) => {
                let record = record?;
                bytes += record.bytes;
                batch.push(record);
            }
            None => break,
        }
    }
    Ok(batch)
}

/// `--max-record-bytes`: a whole number from 1 KiB to 1 GiB.
fn parse_max_record_bytes(text: &str) -> Result<usize, String> {
    const RANGE: std::ops::RangeInclusive<usize> = 1024..=(1 << 30);
    match text.parse::<usize>() {
        Ok(n) if RANGE.contains(&n) => Ok(n),
        _ => Err(format!(
            "must be a number of bytes from {} to {}",
            RANGE.start(),
            RANGE.end()
        )),
    }
}

/// A progress bar on stderr, only when stderr is a terminal.
struct Progress(Option<ProgressBar>);

impl Progress {
    fn new(len: Option<u64>) -> Self {
        if !std::io::stderr().is_terminal() {
            return Progress(None);
        }
        let bar = match len {
            Some(len) => ProgressBar::new(len).with_style(
                ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} ({eta}) {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            ),
            None => ProgressBar::new_spinner().with_style(
                ProgressStyle::with_template("{spinner} {bytes} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            ),
        };
        bar.enable_steady_tick(Duration::from_millis(120));
        Progress(Some(bar))
    }

    /// The input, counted into the bar as it is read.
    fn wrap(&self, input: Box<dyn std::io::Read>) -> Box<dyn std::io::Read> {
        match &self.0 {
            Some(bar) => Box::new(bar.wrap_read(input)),
            None => input,
        }
    }

    /// Prints a line on stderr above the bar.
    fn println(&self, line: &str) {
        match &self.0 {
            Some(bar) => bar.println(line),
            None => eprintln!("{line}"),
        }
    }

    fn message(&self, summary: &Summary) {
        if let Some(bar) = &self.0 {
            bar.set_message(format!(
                "{} read, {} written",
                summary.read, summary.written
            ));
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    //! The pipelined COPY import against a real PostgreSQL: batches written concurrently
    //! still commit, stop and count exactly as if written one after another.

    use assistant_db_testkit::ScratchServer;
    use serde_json::json;
    use sqlx::postgres::PgPoolOptions;
    use sqlx::PgPool;

    use super::*;
    use crate::commands::records::Format;

    async fn database() -> PgPool {
        let server = ScratchServer::shared().expect("these tests need PostgreSQL binaries");
        let options = server.migrated_database().await.expect("database");
        PgPoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .expect("connect")
    }

    async fn count(pool: &PgPool) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM public.interactions")
            .fetch_one(pool)
            .await
            .expect("count")
    }

    /// NDJSON of `n` interactions, line `k` (from 1) asking `query k`.
    fn lines(n: usize) -> Vec<serde_json::Value> {
        (1..=n)
            .map(|k| {
                json!({
                    "id": Uuid::now_v7(),
                    "assistant_mode": "customer",
                    "user_query": format!("query {k}"),
                    "outcome": "resolved",
                })
            })
            .collect()
    }

    /// Runs the pipelined import of `records` in batches of `batch_size`.
    async fn import(
        pool: &PgPool,
        records: &[serde_json::Value],
        batch_size: u32,
        skip_invalid: bool,
    ) -> (Summary, Option<anyhow::Error>) {
        let client = Client::from_pool(pool.clone());
        let args = Args {
            table: Table::Interactions,
            file: None,
            format: None,
            batch_size,
            skip_invalid,
            rejects: None,
            max_record_bytes: DEFAULT_MAX_RECORD_BYTES,
            json: false,
        };
        let progress = Progress(None);
        let text: String = records.iter().map(|r| format!("{r}\n")).collect();
        let mut source = records::reader(
            Format::Ndjson,
            Table::Interactions,
            std::io::Cursor::new(text.into_bytes()),
            DEFAULT_MAX_RECORD_BYTES,
        )
        .expect("reader");
        let mut import = Importer {
            client: &client,
            args: &args,
            progress: &progress,
            summary: Summary::new(Table::Interactions, "test".into()),
            failure: None,
            rejects: None,
        };
        import
            .staged_interactions(&mut *source)
            .await
            .expect("import");
        (import.summary, import.failure)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_refused_batch_stops_the_import_and_later_batches_are_rolled_back() {
        let db = database().await;
        sqlx::raw_sql(
            "ALTER TABLE public.interactions \
             ADD CONSTRAINT refuse CHECK (user_query <> 'refuse me')",
        )
        .execute(&db)
        .await
        .expect("constraint");
        let mut records = lines(10);
        records[4]["user_query"] = json!("refuse me");
        // Batches of 2: lines 1–2, 3–4 are written; 5–6 is refused; 7–8 and 9–10 were
        // already being written and must be rolled back.
        let (summary, failure) = import(&db, &records, 2, false).await;
        assert_eq!(summary.written, 4);
        assert_eq!(count(&db).await, 4);
        assert!(matches!(
            summary.aborted,
            Some(Aborted::Database {
                first_line: 5,
                last_line: 6,
                ..
            })
        ));
        let failure = format!("{:#}", failure.expect("the failure"));
        assert!(failure.contains("batch of lines 5–6"), "{failure}");
        assert!(failure.contains("4 rows from earlier batches"), "{failure}");
        let queries: Vec<String> =
            sqlx::query_scalar("SELECT user_query FROM public.interactions ORDER BY user_query")
                .fetch_all(&db)
                .await
                .expect("rows");
        assert_eq!(queries, ["query 1", "query 2", "query 3", "query 4"]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_invalid_record_stops_after_the_batches_before_it() {
        let db = database().await;
        let mut records = lines(10);
        records[6]["confidence_score"] = json!(7);
        let (summary, failure) = import(&db, &records, 2, false).await;
        assert!(failure.is_none());
        assert_eq!((summary.read, summary.written, summary.invalid), (8, 6, 1));
        assert_eq!(count(&db).await, 6);
        assert!(matches!(
            summary.aborted,
            Some(Aborted::Invalid {
                first_line: 7,
                last_line: 8
            })
        ));
        assert_eq!(summary.errors[0].line, 7);
        assert_eq!(summary.errors[0].field, "confidence_score");

        // With --skip-invalid every valid record is written; the rest are skipped.
        let (summary, _) = import(&db, &records, 2, true).await;
        assert_eq!(
            (summary.read, summary.written, summary.existing),
            (10, 3, 6)
        );
        assert!(summary.aborted.is_none());
        assert_eq!(count(&db).await, 9);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn ids_repeated_across_batches_in_flight_count_once() {
        let db = database().await;
        let mut records = lines(8);
        // Line 3 repeats line 2's id (the next batch), line 6 repeats line 1's, line 8
        // repeats line 7's (same batch).
        for (to, from) in [(2, 1), (5, 0), (7, 6)] {
            records[to]["id"] = records[from]["id"].clone();
        }
        let (summary, failure) = import(&db, &records, 2, false).await;
        assert!(failure.is_none());
        assert_eq!((summary.written, summary.existing), (5, 3));
        assert_eq!(count(&db).await, 5);
        let first: String = sqlx::query_scalar(
            "SELECT user_query FROM public.interactions WHERE id = $1::text::uuid",
        )
        .bind(records[1]["id"].as_str().expect("id"))
        .fetch_one(&db)
        .await
        .expect("row");
        assert_eq!(first, "query 2", "the first record of an id wins");

        // Importing again writes nothing.
        let (summary, _) = import(&db, &records, 3, false).await;
        assert_eq!((summary.read, summary.written, summary.existing), (8, 0, 8));
    }
}

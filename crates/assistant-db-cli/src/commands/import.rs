//! `assistant-db import`: load NDJSON or CSV records, validated, in atomic batches.
//!
//! Every record is parsed by the model's parser (CSV rows are first turned into the JSON
//! object an NDJSON line would hold), so a bad record is reported with its line, field
//! and rule. Each batch is one atomic write; rows whose id already exists are skipped
//! (knowledge documents are upserted by `openai_file_id`), so re-running an import with
//! the same ids writes nothing new. By default the import stops at the first batch that
//! holds a bad record and writes nothing of that batch; `--skip-invalid` writes the
//! valid records and reports the rest.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use assistant_db::model::{Escalation, Interaction, KnowledgeDocument};
use assistant_db::{Client, Config};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use super::records::{self, BadRecord, Format, Input, RawRecord, Record, Table};

/// Bad records kept for the JSON summary; all of them are printed on stderr.
const MAX_REPORTED: usize = 1000;

/// Arguments of `import`.
#[derive(Debug, clap::Args)]
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
    /// Report invalid records and write all the valid ones, instead of stopping.
    #[arg(long)]
    skip_invalid: bool,
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
    /// The bad records (at most [`MAX_REPORTED`]).
    errors: Vec<BadRecord>,
    /// Why the import stopped early, if it did.
    aborted: Option<Aborted>,
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
    let mut source = records::reader(format, args.table, progress.wrap(input.reader))
        .with_context(|| format!("cannot import {name}"))?;
    let client = Client::connect(config)
        .await
        .context("cannot connect to the database")?;
    let mut import = Importer {
        client: &client,
        args: &args,
        progress: &progress,
        summary: Summary::new(args.table, name),
        failure: None,
    };
    match args.table {
        Table::Interactions => import.all::<Interaction>(&mut source).await?,
        Table::Escalations => import.all::<Escalation>(&mut source).await?,
        Table::KnowledgeDocuments => import.all::<KnowledgeDocument>(&mut source).await?,
    }
    progress.finish();
    finish(import.summary, import.failure, args.json)
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
        println!("{}", summary.line());
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
    Ok(if summary.invalid > 0 || summary.aborted.is_some() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
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
            aborted: None,
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
}

impl Importer<'_> {
    /// Imports every batch of `source` until the end or the first abort.
    async fn all<T: Import>(
        &mut self,
        source: &mut dyn Iterator<Item = std::io::Result<RawRecord>>,
    ) -> anyhow::Result<()> {
        self.summary.existing_action = T::EXISTING_ACTION;
        loop {
            let batch = next_batch(source, self.args.batch_size as usize)
                .with_context(|| format!("cannot read {}", self.summary.source))?;
            let (Some(first), Some(last)) =
                (batch.first().map(|r| r.line), batch.last().map(|r| r.line))
            else {
                return Ok(());
            };
            if !self.batch::<T>(batch, first, last).await {
                return Ok(());
            }
            self.progress.message(&self.summary);
        }
    }

    /// Validates and writes one batch; false when the import must stop.
    async fn batch<T: Import>(&mut self, batch: Vec<RawRecord>, first: u64, last: u64) -> bool {
        self.summary.read += batch.len() as u64;
        let mut good = Vec::with_capacity(batch.len());
        let mut invalid = 0;
        for raw in batch {
            match raw.parse::<T>() {
                Ok(record) => good.push(record),
                Err(bad) => {
                    invalid += 1;
                    self.invalid(bad);
                }
            }
        }
        if invalid > 0 && !self.args.skip_invalid {
            self.summary.aborted = Some(Aborted::Invalid {
                first_line: first,
                last_line: last,
            });
            return false;
        }
        if good.is_empty() {
            return true;
        }
        match T::write(self.client, &good).await {
            Ok(inserted) => {
                self.summary.written += inserted;
                self.summary.existing += good.len() as u64 - inserted.min(good.len() as u64);
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

    fn invalid(&mut self, bad: BadRecord) {
        self.progress.println(&bad.to_string());
        self.summary.invalid += 1;
        if self.summary.errors.len() < MAX_REPORTED {
            self.summary.errors.push(bad);
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

/// Up to `size` records; empty at the end of the input.
fn next_batch(
    source: &mut dyn Iterator<Item = std::io::Result<RawRecord>>,
    size: usize,
) -> std::io::Result<Vec<RawRecord>> {
    source.take(size).collect()
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

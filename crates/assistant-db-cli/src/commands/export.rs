//! `assistant-db export`: stream a table as NDJSON or CSV, a page at a time.
//!
//! NDJSON lines are exactly the serde form of the model, what `import` reads. CSV is
//! meant for spreadsheets by default: a text cell that a spreadsheet would run as a
//! formula (starting with `=`, `+`, `-`, `@`, tab or CR) is written with a `'` in front.
//! `--csv-raw` writes the exact text instead, which is what `import` needs: then
//! `export | import` into an empty database reproduces every field, in either format.
//! Rows are written as they arrive; the table is never held in memory. `-o FILE` never
//! overwrites a file unless `--force` says so. On a terminal, a line on stderr counts the
//! rows written and their rate.

use std::fs::{File, OpenOptions};
use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};
use assistant_db::{Client, Config};
use futures_util::{Stream, TryStreamExt};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use super::interactions::FilterArgs;
use super::records::{self, CsvCells, Format, RecordWriter, Table, WriteNotes};
use crate::terminal::escape;

/// Arguments of `export`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The table to export.
    #[arg(value_enum)]
    table: Table,
    /// Output format; by default CSV when `--output` ends in `.csv`, NDJSON otherwise.
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// Write to this file instead of stdout (`-` is stdout); an existing file is refused
    /// unless `--force` is given.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
    /// With `--output`: replace the file if it exists.
    #[arg(long)]
    force: bool,
    /// CSV only: write every cell's exact text. By default a text cell starting with
    /// `=`, `+`, `-`, `@`, tab or CR gets a `'` in front, so that a spreadsheet shows it
    /// instead of running it; use this flag for a file to `import`.
    #[arg(long)]
    csv_raw: bool,
    /// Filters (interactions only).
    #[command(flatten)]
    filter: FilterArgs,
}

/// Runs the command.
pub async fn run(config: &Config, args: Args) -> anyhow::Result<ExitCode> {
    if args.table != Table::Interactions && !args.filter.is_empty() {
        bail!(
            "filters apply to `export interactions` only, not to {}",
            args.table
        );
    }
    let format = Format::choose(args.format, args.output.as_deref());
    if args.csv_raw && format != Format::Csv {
        bail!("--csv-raw applies to CSV output only; NDJSON is always the exact text");
    }
    let cells = if args.csv_raw {
        CsvCells::Raw
    } else {
        CsvCells::Neutralised
    };
    let to_file = args.output.as_deref().filter(|p| !records::is_stdio(p));
    if args.force && to_file.is_none() {
        bail!("--force goes with --output FILE: it allows replacing that file");
    }
    if let Some(path) = to_file {
        // Checked before connecting, so that a refusal costs nothing; the file is created
        // below with `create_new`, which refuses one that appeared meanwhile.
        if !args.force && std::fs::symlink_metadata(path).is_ok() {
            bail!(
                "{} exists; pass --force to replace it",
                escape(&path.display().to_string())
            );
        }
    }
    let client = Client::connect(config)
        .await
        .context("cannot connect to the database")?;
    let out: Box<dyn Write> = match to_file {
        Some(path) => Box::new(create(path, args.force)?),
        None => Box::new(io::stdout()),
    };
    let writer =
        RecordWriter::new(format, args.table, out, cells).context("cannot write the output")?;
    let progress = Progress::new(to_file.is_some());
    let written = match args.table {
        Table::Interactions => {
            copy(
                client.export_interactions(args.filter.filter()),
                writer,
                &progress,
            )
            .await
        }
        Table::Escalations => copy(client.export_escalations(), writer, &progress).await,
        Table::KnowledgeDocuments => {
            copy(client.export_knowledge_documents(), writer, &progress).await
        }
    };
    progress.finish();
    report(written, args.table, to_file)
}

/// The output file: a new one, or with `force` the existing one emptied.
fn create(path: &Path, force: bool) -> anyhow::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true);
    if force {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    options.open(path).map_err(|e| {
        let shown = escape(&path.display().to_string()).into_owned();
        if e.kind() == io::ErrorKind::AlreadyExists {
            anyhow::anyhow!("{shown} exists; pass --force to replace it")
        } else {
            anyhow::Error::new(e).context(format!("cannot create {shown}"))
        }
    })
}

/// Rows written so far and their rate, on stderr, only when a person watches it and the
/// data does not go to the same terminal.
struct Progress(Option<ProgressBar>);

impl Progress {
    fn new(to_file: bool) -> Self {
        if !io::stderr().is_terminal() || (!to_file && io::stdout().is_terminal()) {
            return Progress(None);
        }
        let bar = ProgressBar::new_spinner().with_style(
            ProgressStyle::with_template(
                "{spinner} {human_pos} rows exported ({per_sec}, {elapsed})",
            )
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        Progress(Some(bar))
    }

    fn add(&self, rows: u64) {
        if let Some(bar) = &self.0 {
            bar.inc(rows);
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

/// What an export wrote.
struct Written {
    rows: u64,
    notes: WriteNotes,
}

/// Writes every row of `rows`; stops at the first error.
async fn copy<T, S>(
    rows: S,
    mut writer: RecordWriter<Box<dyn Write>>,
    progress: &Progress,
) -> anyhow::Result<Written>
where
    T: Serialize,
    S: Stream<Item = assistant_db::Result<T>> + Unpin,
{
    let mut rows = rows;
    let mut count = 0;
    while let Some(row) = rows
        .try_next()
        .await
        .with_context(|| format!("cannot read rows from the database after {count} rows"))?
    {
        writer.write(&row).context("cannot write the output")?;
        count += 1;
        if count % 1024 == 0 {
            progress.add(1024);
        }
    }
    let notes = writer.finish().context("cannot write the output")?;
    Ok(Written { rows: count, notes })
}

/// Reports the outcome on stderr (stdout holds the data).
fn report(
    written: anyhow::Result<Written>,
    table: Table,
    file: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let written = match written {
        Ok(written) => written,
        // The reader went away (`export … | head`): not an error of ours.
        Err(err) if records::is_broken_pipe(&err) => return Ok(ExitCode::SUCCESS),
        Err(err) => {
            let err = match file {
                Some(path) => err.context(format!(
                    "{} is incomplete",
                    escape(&path.display().to_string())
                )),
                None => err,
            };
            return Err(err);
        }
    };
    if let Some(path) = file {
        eprintln!(
            "exported {} {table} to {}",
            written.rows,
            escape(&path.display().to_string())
        );
    }
    let notes = written.notes;
    if notes.empty_strings > 0 {
        eprintln!(
            "note: {} text cells hold an empty string, which CSV cannot tell from a missing value: \
             they will import as null (use NDJSON for an exact copy)",
            notes.empty_strings
        );
    }
    if notes.neutralised > 0 {
        eprintln!(
            "note: {} text cells start with =, +, -, @, tab or CR and were written with a ' in \
             front, so that a spreadsheet does not run them; for a file to import, export \
             with --csv-raw (or as NDJSON)",
            notes.neutralised
        );
    }
    Ok(ExitCode::SUCCESS)
}

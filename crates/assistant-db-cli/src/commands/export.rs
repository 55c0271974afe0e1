//! `assistant-db export`: stream a table as NDJSON or CSV, a page at a time.
//!
//! The output is exactly what `import` reads: NDJSON lines are the serde form of the
//! model, CSV rows hold the same values, so `export | import` into an empty database
//! reproduces every field. Rows are written as they arrive; the table is never held in
//! memory.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use assistant_db::{Client, Config};
use futures_util::{Stream, TryStreamExt};
use serde::Serialize;

use super::interactions::FilterArgs;
use super::records::{self, Format, RecordWriter, Table};

/// Arguments of `export`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The table to export.
    #[arg(value_enum)]
    table: Table,
    /// Output format; by default CSV when `--output` ends in `.csv`, NDJSON otherwise.
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// Write to this file instead of stdout (`-` is stdout).
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
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
    let client = Client::connect(config)
        .await
        .context("cannot connect to the database")?;
    let to_file = args.output.as_deref().filter(|p| !records::is_stdio(p));
    let out: Box<dyn Write> = match to_file {
        Some(path) => Box::new(
            File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
        ),
        None => Box::new(io::stdout()),
    };
    let writer = RecordWriter::new(format, args.table, out).context("cannot write the output")?;
    let written = match args.table {
        Table::Interactions => copy(client.export_interactions(args.filter.filter()), writer).await,
        Table::Escalations => copy(client.export_escalations(), writer).await,
        Table::KnowledgeDocuments => copy(client.export_knowledge_documents(), writer).await,
    };
    report(written, args.table, to_file)
}

/// What an export wrote.
struct Written {
    rows: u64,
    empty_strings: u64,
}

/// Writes every row of `rows`; stops at the first error.
async fn copy<T, S>(rows: S, mut writer: RecordWriter<Box<dyn Write>>) -> anyhow::Result<Written>
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
    }
    let empty_strings = writer.finish().context("cannot write the output")?;
    Ok(Written {
        rows: count,
        empty_strings,
    })
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
                Some(path) => err.context(format!("{} is incomplete", path.display())),
                None => err,
            };
            return Err(err);
        }
    };
    if let Some(path) = file {
        eprintln!("exported {} {table} to {}", written.rows, path.display());
    }
    if written.empty_strings > 0 {
        eprintln!(
            "note: {} text cells hold an empty string, which CSV cannot tell from a missing value: \
             they will import as null (use NDJSON for an exact copy)",
            written.empty_strings
        );
    }
    Ok(ExitCode::SUCCESS)
}

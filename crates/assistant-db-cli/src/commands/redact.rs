//! `assistant-db redact`: redact the free text already stored (the backfill).
//!
//! Scans interactions (by `timestamp`) and escalations (by `created_at`) in batches, with
//! a progress bar on a terminal, redacts their free text with the configured policies
//! and rewrites only the rows that change; `--dry-run` counts without writing. A second
//! run rewrites nothing. Over the REST API it needs the secret key. The summary gives
//! counts per kind, never a removed value.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use assistant_db::redact::backfill::{
    BackfillOptions, BackfillProgress, BackfillReport, TableReport, DEFAULT_BATCH_SIZE,
    MAX_BATCH_SIZE,
};
use assistant_db::store::TextWindow;
use assistant_db::{Client, Config};
use chrono::{DateTime, Utc};
use indicatif::{ProgressBar, ProgressStyle};

use super::metrics::parse_timestamp;

/// Examples at the end of `redact --help`.
const EXAMPLES: &str = "Examples:
  assistant-db redact --dry-run
  assistant-db redact --from 2026-01-01T00:00:00Z --json";

/// Arguments of `redact`.
#[derive(Debug, clap::Args)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    /// Count what would be redacted; write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Only rows at or after this time (RFC 3339): interactions by `timestamp`,
    /// escalations by `created_at`.
    #[arg(long, value_name = "RFC3339", value_parser = parse_timestamp)]
    from: Option<DateTime<Utc>>,
    /// Only rows at or before this time (RFC 3339).
    #[arg(long, value_name = "RFC3339", value_parser = parse_timestamp)]
    to: Option<DateTime<Utc>>,
    /// Rows read per batch.
    #[arg(long, default_value_t = DEFAULT_BATCH_SIZE,
          value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_BATCH_SIZE)))]
    batch_size: u32,
    /// Print the summary as JSON: rows scanned, changed and rewritten, and redactions
    /// per kind, in all and per table.
    #[arg(long)]
    json: bool,
}

/// Runs the command.
pub async fn run(config: &Config, args: Args) -> anyhow::Result<ExitCode> {
    if let (Some(from), Some(to)) = (args.from, args.to) {
        anyhow::ensure!(from <= to, "--from ({from}) must not be after --to ({to})");
    }
    let client = Client::connect(config)
        .await
        .context("cannot connect to the database")?;
    let options = BackfillOptions {
        window: TextWindow {
            from: args.from,
            to: args.to,
        },
        dry_run: args.dry_run,
        batch_size: args.batch_size,
    };
    let progress = Progress::new();
    let report = client
        .redact_stored(&options, |state| progress.show(state))
        .await;
    progress.finish();
    let report = report.context(
        "the backfill stopped; the batches rewritten so far stay rewritten, and running it \
         again finishes the rest",
    )?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", summary(&report));
    }
    Ok(ExitCode::SUCCESS)
}

/// The text summary: a line per table, then the kinds redacted.
fn summary(report: &BackfillReport) -> String {
    let table = |name: &str, t: &TableReport| {
        if report.dry_run {
            format!("{name}: {} scanned, {} to rewrite\n", t.scanned, t.changed)
        } else {
            format!("{name}: {} scanned, {} rewritten\n", t.scanned, t.rewritten)
        }
    };
    let mut out = String::new();
    if report.dry_run {
        out.push_str("Dry run: nothing was written.\n");
    }
    out.push_str(&table("interactions", &report.interactions));
    out.push_str(&table("escalations", &report.escalations));
    let kinds: Vec<String> = report
        .redactions
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(kind, n)| format!("{kind} {n}"))
        .collect();
    if kinds.is_empty() {
        out.push_str("Nothing to redact.\n");
    } else {
        out.push_str(&format!(
            "{}: {}\n",
            if report.dry_run {
                "Would redact"
            } else {
                "Redacted"
            },
            kinds.join(", ")
        ));
    }
    out
}

/// A progress bar on stderr, only when stderr is a terminal: rows scanned of each table.
struct Progress(Option<ProgressBar>);

impl Progress {
    fn new() -> Self {
        if !std::io::stderr().is_terminal() {
            return Progress(None);
        }
        let bar = ProgressBar::new(0);
        bar.enable_steady_tick(Duration::from_millis(120));
        Progress(Some(bar))
    }

    fn show(&self, state: &BackfillProgress) {
        let Some(bar) = &self.0 else { return };
        if bar.prefix() != state.table.name() {
            bar.set_prefix(state.table.name());
            bar.reset();
            let style = match state.total {
                Some(total) => {
                    bar.set_length(total);
                    ProgressStyle::with_template("{prefix:>12} {bar:40} {pos}/{len} ({eta}) {msg}")
                        .unwrap_or_else(|_| ProgressStyle::default_bar())
                }
                None => ProgressStyle::with_template("{prefix:>12} {spinner} {pos} rows {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            };
            bar.set_style(style);
        }
        bar.set_position(state.scanned);
        bar.set_message(format!("{} to rewrite", state.changed));
    }

    fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use assistant_db::redact::{Counts, Kind};

    use super::*;

    #[test]
    fn the_summary_names_tables_and_kinds_never_values() {
        let mut redactions = Counts::default();
        redactions.record(Kind::Card);
        redactions.record(Kind::Card);
        redactions.record(Kind::Email);
        let mut report = BackfillReport {
            dry_run: true,
            rows_scanned: 12,
            rows_changed: 2,
            rows_rewritten: 0,
            redactions,
            interactions: TableReport {
                scanned: 10,
                changed: 2,
                rewritten: 0,
            },
            escalations: TableReport {
                scanned: 2,
                changed: 0,
                rewritten: 0,
            },
        };
        assert_eq!(
            summary(&report),
            "Dry run: nothing was written.\ninteractions: 10 scanned, 2 to rewrite\n\
             escalations: 2 scanned, 0 to rewrite\nWould redact: card 2, email 1\n"
        );
        report.dry_run = false;
        report.interactions.rewritten = 2;
        assert!(summary(&report).contains("interactions: 10 scanned, 2 rewritten\nescalations"));
        assert!(summary(&report).ends_with("Redacted: card 2, email 1\n"));
    }
}

//! `assistant-db rollups check|rebuild`: compare the dashboard's rollups (migration 011)
//! with the raw rows, and rebuild them.
//!
//! Triggers keep the rollups exact on every write; `check` finds what bypassed them
//! (triggers disabled, a restore of one table) and exits 1 when a group differs;
//! `rebuild` repairs a range of hours one day at a time, each day its own transaction,
//! so writers wait at most for one day's rebuild. Both need a direct PostgreSQL
//! connection as the table owner (`DATABASE_URL`, or the embedded default).

use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::{bail, Context};
use assistant_db::connect::{connect, Prepare};
use assistant_db::rollups::{HourRange, RollupCheck};
use assistant_db::store::PgStore;
use assistant_db::when::Moment;
use assistant_db::Config;
use chrono::{DateTime, Duration, DurationRound, Utc};

use super::interactions::{parse_from, parse_to, window};

/// Examples at the end of `rollups --help`.
const EXAMPLES: &str = "Examples:
  assistant-db rollups check --from 30d
  assistant-db rollups check --json
  assistant-db rollups rebuild --from 2026-11-01 --to 2026-11-30";

/// Arguments of `rollups`.
#[derive(Debug, clap::Args)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    /// `check` (compare with the raw rows; exit 1 on a difference) or `rebuild`.
    #[arg(value_enum)]
    action: Action,
    /// From the hour holding this time: a date, today, a span back (24h, 7d), or RFC 3339.
    /// Without --from and --to: every hour, and rows without a finite timestamp.
    #[arg(long, value_name = "WHEN", value_parser = parse_from)]
    from: Option<Moment>,
    /// Up to the end of the hour holding this time, in the same forms (a date: its end).
    #[arg(long, value_name = "WHEN", value_parser = parse_to)]
    to: Option<Moment>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// What to do with the rollups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Action {
    /// Recompute from the raw rows and compare.
    Check,
    /// Replace by what the raw rows give.
    Rebuild,
}

/// Runs the command.
pub async fn run(config: &Config, args: Args) -> anyhow::Result<ExitCode> {
    let window = window(args.from.as_ref(), args.to.as_ref(), Default::default())?;
    // The window's end is inclusive; the range's is the hour after the one holding it.
    let range = HourRange {
        from: window.from.map(hour_of).transpose()?,
        to: window
            .to
            .map(|t| hour_of(t).map(|h| h + Duration::hours(1)))
            .transpose()?,
    };
    let db = connect(config, Prepare::MigrateLocal).await?;
    match args.action {
        Action::Check => {
            let check = PgStore::rollups_check(&db.pool, range).await?;
            report(&check, args.json)?;
            Ok(if check.ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Action::Rebuild => {
            let rows = rebuild(&db.pool, range).await?;
            if args.json {
                println!("{}", serde_json::json!({ "interactions": rows }));
            } else {
                println!("Rebuilt the rollups from {rows} interactions.");
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Rebuilds `range` a day at a time (all at once without bounds), saying how far it got.
async fn rebuild(pool: &sqlx::PgPool, range: HourRange) -> anyhow::Result<u64> {
    let (Some(from), Some(to)) = (range.from, range.to) else {
        if range.from.is_some() || range.to.is_some() {
            bail!("rebuild takes both --from and --to, or neither (every hour)");
        }
        return Ok(PgStore::rollups_rebuild(pool, range).await?);
    };
    let talk = std::io::stderr().is_terminal();
    let mut day = from;
    let mut rows = 0;
    while day < to {
        let next = (day + Duration::days(1)).min(to);
        let range = HourRange {
            from: Some(day),
            to: Some(next),
        };
        rows += PgStore::rollups_rebuild(pool, range)
            .await
            .with_context(|| {
                format!(
                    "rebuild stopped at {day}; the hours before it are rebuilt, run it again \
                     from there"
                )
            })?;
        if talk {
            eprintln!("rebuilt to {next} ({rows} interactions so far)");
        }
        day = next;
    }
    Ok(rows)
}

/// The start of the UTC hour holding `at`.
fn hour_of(at: DateTime<Utc>) -> anyhow::Result<DateTime<Utc>> {
    Ok(at.duration_trunc(Duration::hours(1))?)
}

/// The check's result, as JSON or in words.
fn report(check: &RollupCheck, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(check)?);
        return Ok(());
    }
    let range = match (check.from, check.to) {
        (None, None) => "every hour".to_owned(),
        (from, to) => format!(
            "the hours from {} to {}",
            from.map_or("the first".into(), |t| t.to_rfc3339()),
            to.map_or("the last".into(), |t| t.to_rfc3339())
        ),
    };
    let d = check.groups_differing;
    if check.ok {
        println!("The rollups of {range} equal the raw rows.");
    } else {
        println!(
            "The rollups of {range} differ from the raw rows: {} groups of counts, {} of \
             processing times, {} of sessions, {} of escalation triggers, {} of day or per-mode sums. \
             Repair them with `assistant-db rollups rebuild` (same --from/--to).",
            d.hours, d.times, d.sessions, d.triggers, d.by_mode
        );
    }
    Ok(())
}

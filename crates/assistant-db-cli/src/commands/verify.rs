//! `assistant-db verify`: the spec's validation checklist; exits non-zero on any failure.
//!
//! With `DATABASE_URL` (or the embedded default) every check runs. With only
//! `SUPABASE_URL` + `SUPABASE_KEY`, the checks the REST API allows run and the report
//! lists those that need `DATABASE_URL`.
//!
//! The text report is escaped ([`escape_lines`]): it names objects found in the database,
//! whose names anyone with `CREATE` chose.
//!
//! `verify --data` is the data-quality report instead: how many stored rows break each
//! rule of the model (over REST, with the secret key); it exits non-zero when any do.

use std::io::Write as _;
use std::process::ExitCode;

use assistant_db::verify::Report;
use assistant_db::{Client, Config};

use crate::terminal::escape_lines;

/// Examples at the end of `verify --help`.
const EXAMPLES: &str = "Examples:
  assistant-db verify
  assistant-db verify --data --json
  SUPABASE_URL=https://PROJECT.supabase.co SUPABASE_KEY=PUBLIC_KEY assistant-db verify";

/// Arguments of `verify`.
#[derive(Debug, clap::Args)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    /// Print the checklist as JSON.
    #[arg(long)]
    json: bool,
    /// Report the stored rows that break each rule of the model, instead of the checklist.
    #[arg(long)]
    data: bool,
}

/// Runs the command.
pub async fn run(config: &Config, args: Args) -> anyhow::Result<ExitCode> {
    if args.data {
        return data(config, args.json).await;
    }
    let (location, report) = match Client::connect(config).await {
        Ok(client) => (client.location(), client.verify().await),
        Err(e) => (
            "the configured database".to_owned(),
            Report::unreachable(&e),
        ),
    };
    let mut out = std::io::stdout().lock();
    if args.json {
        let value = serde_json::json!({
            "database": location,
            "passed": report.passed(),
            "checks": report.checks,
            "beyond_spec": report.beyond_spec,
            "not_checked": report.not_checked,
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&value)?)?;
    } else {
        let text = format!("Verifying {location}\n{report}");
        writeln!(out, "{}", escape_lines(&text))?;
    }
    Ok(if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `verify --data`: the data-quality report; exit status 1 when a stored row breaks a rule.
async fn data(config: &Config, json: bool) -> anyhow::Result<ExitCode> {
    let client = Client::connect(config).await?;
    let (location, report) = (client.location(), client.data_quality().await?);
    let mut out = std::io::stdout().lock();
    if json {
        let value = serde_json::json!({
            "database": location,
            "passed": report.passed(),
            "checked_at": report.checked_at,
            "tables": report.tables,
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&value)?)?;
    } else {
        writeln!(out, "Data quality of {}", escape_lines(&location))?;
        writeln!(out, "{}", escape_lines(&report.to_string()))?;
    }
    Ok(if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

//! `assistant-db verify`: the spec's validation checklist; exits non-zero on any failure.
//!
//! With `DATABASE_URL` (or the embedded default) every check runs. With only
//! `SUPABASE_URL` + `SUPABASE_KEY`, the checks the REST API allows run and the report
//! lists those that need `DATABASE_URL`.
//!
//! The text report is escaped ([`escape_lines`]): it names objects found in the database,
//! whose names anyone with `CREATE` chose.

use std::io::Write as _;
use std::process::ExitCode;

use assistant_db::verify::Report;
use assistant_db::{Client, Config};

use crate::terminal::escape_lines;

/// Arguments of `verify`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print the checklist as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs the command.
pub async fn run(config: &Config, args: Args) -> anyhow::Result<ExitCode> {
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

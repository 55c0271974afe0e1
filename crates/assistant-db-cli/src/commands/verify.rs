//! `assistant-db verify`: the spec's validation checklist; exits non-zero on any failure.
//!
//! With `DATABASE_URL` (or the embedded default) every check runs. With only
//! `SUPABASE_URL` + `SUPABASE_KEY`, the checks the REST API allows run and the report
//! lists those that need `DATABASE_URL`.
//!
//! `verify --data` is the data-quality report instead: how many stored rows break each
//! rule of the model (over REST, with the secret key); it exits non-zero when any do.

use std::io::Write as _;
use std::process::ExitCode;

use assistant_db::config::Target;
use assistant_db::connect::{connect, Prepare};
use assistant_db::store::{RestOptions, RestStore};
use assistant_db::verify::{self, Report};
use assistant_db::Config;

/// Arguments of `verify`.
#[derive(Debug, clap::Args)]
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
    let (location, report) = match config.target() {
        Ok(Target::Rest { rest_url, key, .. }) => {
            match RestStore::new(&rest_url, key, RestOptions::default()) {
                Ok(store) => (store.location(), verify::rest::verify(&store).await),
                Err(e) => (
                    "the configured REST API".to_owned(),
                    Report::unreachable(&e),
                ),
            }
        }
        Ok(_) => match connect(config, Prepare::MigrateLocal).await {
            Ok(db) => {
                let mut conn = db.pool.acquire().await?;
                (db.location, verify::verify(&mut conn).await?)
            }
            Err(e) => (
                "the configured database".to_owned(),
                Report::unreachable(&e),
            ),
        },
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
        writeln!(out, "Verifying {location}")?;
        writeln!(out, "{report}")?;
    }
    Ok(if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `verify --data`: the data-quality report; exit status 1 when a stored row breaks a rule.
async fn data(config: &Config, json: bool) -> anyhow::Result<ExitCode> {
    let (location, report) = match config.target()? {
        Target::Rest { rest_url, key, .. } => {
            let store = RestStore::new(&rest_url, key, RestOptions::default())?;
            let report = verify::data::report_rest(&store).await?;
            (store.location(), report)
        }
        _ => {
            let db = connect(config, Prepare::MigrateLocal).await?;
            let report = verify::data::report(&db.pool).await?;
            (db.location, report)
        }
    };
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
        writeln!(out, "Data quality of {location}")?;
        writeln!(out, "{report}")?;
    }
    Ok(if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

//! `assistant-db verify`: the spec's validation checklist; exits non-zero on any failure.

use std::process::ExitCode;

use assistant_db::connect::{connect, Prepare};
use assistant_db::verify::{verify, Report};
use assistant_db::Config;

/// Arguments of `verify`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print the checklist as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs the command.
pub async fn run(config: &Config, args: Args) -> anyhow::Result<ExitCode> {
    let (location, report) = match connect(config, Prepare::MigrateLocal).await {
        Ok(db) => {
            let mut conn = db.pool.acquire().await?;
            (db.location, verify(&mut conn).await?)
        }
        Err(e) => (
            "the configured database".to_owned(),
            Report::unreachable(&e),
        ),
    };
    if args.json {
        let value = serde_json::json!({
            "database": location,
            "passed": report.passed(),
            "checks": report.checks,
            "beyond_spec": report.beyond_spec,
        });
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        println!("Verifying {location}");
        println!("{report}");
    }
    Ok(if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

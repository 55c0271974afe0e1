//! `assistant-db migrate`: apply pending migrations, or show where each stands.

use std::process::ExitCode;

use assistant_db::connect::{connect, Prepare};
use assistant_db::migrate::{self, MigrationState};
use assistant_db::Config;

/// Examples at the end of `migrate --help`.
const EXAMPLES: &str = "Examples:
  assistant-db migrate
  assistant-db migrate --status --json
  DATABASE_URL='postgresql://postgres:PASSWORD@db.PROJECT.supabase.co:5432/postgres' assistant-db migrate";

/// Arguments of `migrate`.
#[derive(Debug, clap::Args)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    /// List applied and pending migrations instead of applying them.
    #[arg(long)]
    status: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Runs the command.
pub async fn run(config: &Config, args: Args) -> anyhow::Result<ExitCode> {
    let db = connect(config, Prepare::AsIs).await?;
    let mut conn = db.pool.acquire().await?;
    if args.status {
        let states = migrate::status(&mut conn).await?;
        if args.json {
            println!("{}", serde_json::to_string_pretty(&states)?);
        } else {
            println!("Migrations on {}:", db.location);
            for state in &states {
                println!("  {}", line(state));
            }
        }
        let broken = states.iter().any(|s| s.problem.is_some());
        return Ok(if broken {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        });
    }
    let applied = migrate::run(&mut conn).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&applied)?);
    } else if applied.is_empty() {
        println!("{}: up to date, nothing to apply", db.location);
    } else {
        println!("Applied to {}:", db.location);
        for state in &applied {
            println!("  {:03} {}", state.version, state.description);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn line(state: &MigrationState) -> String {
    let when = match (&state.applied_on, &state.problem) {
        (_, Some(problem)) => format!("PROBLEM: {problem}"),
        (Some(on), None) => format!("applied {}", on.format("%Y-%m-%d %H:%M:%S UTC")),
        (None, None) => "pending".to_owned(),
    };
    format!("{:03} {:<28} {when}", state.version, state.description)
}

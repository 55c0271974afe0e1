//! `assistant-db public-metrics on|off|status`: whether the public key may read metrics.
//!
//! Off by default: the public key (shipped inside apps) may only log. When on, it may
//! call `interaction_metrics` for whole-hour windows, and every group of fewer than 10
//! rows is suppressed, so that no answer describes a handful of customers. The setting
//! lives in schema `assistant_db`, which the REST API does not expose, so this command
//! needs a direct PostgreSQL connection as the database owner (`DATABASE_URL`, or the
//! embedded default).

use std::process::ExitCode;

use assistant_db::connect::{connect, Prepare};
use assistant_db::store::PgStore;
use assistant_db::Config;

/// Examples at the end of `public-metrics --help`.
const EXAMPLES: &str = "Examples:
  assistant-db public-metrics status
  assistant-db public-metrics on
  assistant-db public-metrics off --json";

/// Arguments of `public-metrics`.
#[derive(Debug, clap::Args)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    /// `on`, `off`, or `status` to show the setting.
    #[arg(value_enum)]
    action: Action,
    /// Print JSON: `{"public_metrics": true|false}`.
    #[arg(long)]
    json: bool,
}

/// What to do with the setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Action {
    /// Let the public key read metrics (whole hours, groups of at least 10 rows).
    On,
    /// The public key may only log (the default).
    Off,
    /// Show the setting.
    Status,
}

/// Runs the command.
pub async fn run(config: &Config, args: Args) -> anyhow::Result<ExitCode> {
    let db = connect(config, Prepare::MigrateLocal).await?;
    let enabled = match args.action {
        Action::On => PgStore::set_public_metrics(&db.pool, true).await?,
        Action::Off => PgStore::set_public_metrics(&db.pool, false).await?,
        Action::Status => PgStore::public_metrics_enabled(&db.pool).await?,
    };
    if args.json {
        println!("{}", serde_json::json!({ "public_metrics": enabled }));
    } else if enabled {
        println!(
            "Public metrics are on for {}: the public key may read interaction_metrics for \
             whole-hour windows of at least 10 interactions; groups of fewer than 10 rows are \
             left out.",
            db.location
        );
    } else {
        println!(
            "Public metrics are off for {}: the public key may only log.",
            db.location
        );
    }
    Ok(ExitCode::SUCCESS)
}

//! `assistant-db schema`: the SQL to paste into the Supabase SQL editor.

use std::process::ExitCode;

use assistant_db::migrate;

/// Examples at the end of `schema --help`.
const EXAMPLES: &str = "Examples:
  assistant-db schema > assistant-db.sql    # then paste it into the Supabase SQL editor
  assistant-db schema --spec-only";

/// Arguments of `schema`.
#[derive(Debug, clap::Args)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    /// Print only the spec's schema.sql, without the later migrations.
    #[arg(long)]
    spec_only: bool,
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.spec_only {
        print!("{}", migrate::SCHEMA_SQL);
    } else {
        print!("{}", migrate::editor_sql());
    }
    Ok(ExitCode::SUCCESS)
}

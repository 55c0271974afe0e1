//! `assistant-db schema`: the SQL to paste into the Supabase SQL editor.

use std::process::ExitCode;

use assistant_db::migrate;

/// Arguments of `schema`.
#[derive(Debug, clap::Args)]
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

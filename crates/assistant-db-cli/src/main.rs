//! The `assistant-db` command: a thin shell over the `assistant-db` library.

mod commands;
mod terminal;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// The database layer of the AI banking assistant, on Supabase / PostgreSQL.
///
/// With no DATABASE_URL (or SUPABASE_URL) configured, every command uses a private local
/// PostgreSQL kept under $ASSISTANT_DB_HOME, started on first use.
#[derive(Debug, Parser)]
#[command(name = "assistant-db", version, about, long_about = None)]
struct Cli {
    /// PostgreSQL connection string; overrides DATABASE_URL from the environment and .env.
    #[arg(long, global = true, value_name = "URL")]
    database_url: Option<String>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Apply pending migrations (tracked and checksummed), or list them with --status.
    Migrate(commands::migrate::Args),
    /// Print the SQL to paste into the Supabase SQL editor.
    Schema(commands::schema::Args),
    /// Check the database against the spec: tables, columns, indexes, constraints, behaviour.
    Verify(commands::verify::Args),
    /// Manage the embedded local PostgreSQL.
    Local(commands::local::Args),
    /// Write one record given as JSON (argument or stdin).
    Log(commands::log::Args),
    /// Import records from NDJSON or CSV, validated, in batches.
    Import(commands::import::Args),
    /// Export a table as NDJSON or CSV, streamed.
    Export(commands::export::Args),
    /// List interactions or show one with its escalations.
    Interactions(commands::interactions::Args),
    /// Dashboard metrics, computed by PostgreSQL.
    Metrics(commands::metrics::Args),
    /// Let the public key read metrics (whole hours, small groups suppressed), or not.
    PublicMetrics(commands::public_metrics::Args),
    /// Fill the database with realistic synthetic assistant traffic.
    Demo(commands::demo::Args),
    /// Inspect the logger's durable spool and its dead letters.
    Spool(commands::spool::Args),
    /// Redact card numbers, IBANs, e-mail addresses and other PII already stored.
    Redact(commands::redact::Args),
    /// Serve the metrics dashboard and the HTTP API.
    Serve(commands::serve::Args),
}

fn main() -> ExitCode {
    // Colours only for a person at a terminal who has not asked for none (no-color.org).
    let colour = std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ASSISTANT_DB_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(terminal::LogWriter)
        .with_ansi(colour)
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(err) => {
            // Messages may quote a URL or a stored value: redact and escape them.
            eprintln!("error: {}", terminal::for_stderr(&err.to_string()));
            for cause in err.chain().skip(1) {
                eprintln!("  caused by: {}", terminal::for_stderr(&cause.to_string()));
            }
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let config =
        assistant_db::Config::from_env()?.with_database_url(cli.database_url.as_deref())?;
    if matches!(
        cli.command,
        Command::Local(_) | Command::Demo(_) | Command::Spool(_) | Command::Serve(_)
    ) {
        // These create or read files under the home; others reach it only through the
        // local cluster, which checks for itself.
        config.check_paths()?;
    }
    match cli.command {
        Command::Migrate(args) => commands::migrate::run(&config, args).await,
        Command::Schema(args) => commands::schema::run(args),
        Command::Verify(args) => commands::verify::run(&config, args).await,
        Command::Local(args) => commands::local::run(&config, args).await,
        Command::Log(args) => commands::log::run(&config, args).await,
        Command::Import(args) => commands::import::run(&config, args).await,
        Command::Export(args) => commands::export::run(&config, args).await,
        Command::Interactions(args) => commands::interactions::run(&config, args).await,
        Command::Metrics(args) => commands::metrics::run(&config, args).await,
        Command::PublicMetrics(args) => commands::public_metrics::run(&config, args).await,
        Command::Demo(args) => commands::demo::run(&config, args).await,
        Command::Spool(args) => commands::spool::run(&config, args).await,
        Command::Redact(args) => commands::redact::run(&config, args).await,
        Command::Serve(args) => commands::serve::run(&config, args).await,
    }
}

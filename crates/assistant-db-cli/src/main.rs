//! The `assistant-db` command: a thin shell over the `assistant-db` library.

mod commands;
mod terminal;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// What `assistant-db --help` ends with: the embedded default, the environment, examples.
const AFTER_HELP: &str = "\
Where the data is:
  DATABASE_URL is used when set; else SUPABASE_URL with SUPABASE_KEY (Supabase's REST
  API); else the embedded default: a private PostgreSQL under $ASSISTANT_DB_HOME
  (~/.local/share/assistant-db; /var/lib/assistant-db as root), created, migrated and
  started on first use, on a Unix socket with no TCP port (`assistant-db local stop`
  stops it). Flags win over the environment, the environment over ./.env.

Environment:
  DATABASE_URL                    direct PostgreSQL connection string (also --database-url)
  SUPABASE_URL                    Supabase project URL, for the REST API
  SUPABASE_KEY                    Supabase API key: public (anon) to log, secret (service_role) for the rest
  SUPABASE_REST_URL               the REST API's base URL when not $SUPABASE_URL/rest/v1
  ASSISTANT_DB_HOME               home of the embedded PostgreSQL and of the spools
  ASSISTANT_DB_SPOOL              the logger's spool file
  ASSISTANT_DB_API_TOKEN          bearer token of `serve` (writes; everything off loopback)
  ASSISTANT_DB_PG_BIN             directory of initdb, pg_ctl and postgres
  ASSISTANT_DB_PG_USER            as root, the user the embedded server runs as (postgres)
  ASSISTANT_DB_DEAD_LETTER_DAYS   days a dead letter is kept (default 30)
  ASSISTANT_DB_LOG                log filter for stderr (default warn), e.g. assistant_db=debug
  ASSISTANT_DB_RETENTION          retention policy (e.g. 400d): `serve` deletes older interactions daily
  ASSISTANT_DB_REDACT_CARD        PII policy per kind (also _IBAN, _EMAIL, _PHONE, _SSN,
                                  _ACCOUNT, _CVV): mask (default), hash or off
  ASSISTANT_DB_REDACT_HASH_KEY    the hash policy's HMAC key (32+ characters, never printed)
  ASSISTANT_DB_REDACT_RULES       your own PII patterns, as JSON
  NO_COLOR                        no colours in log messages

Examples:
  assistant-db demo
  assistant-db serve
  assistant-db metrics --from 7d --tz Europe/Paris";

/// The database layer of the AI banking assistant, on Supabase / PostgreSQL.
///
/// With no DATABASE_URL (or SUPABASE_URL) configured, every command uses a private local
/// PostgreSQL kept under $ASSISTANT_DB_HOME, started on first use.
#[derive(Debug, Parser)]
#[command(name = "assistant-db", version, about, long_about = None, after_help = AFTER_HELP)]
struct Cli {
    /// PostgreSQL connection string; overrides DATABASE_URL from the environment and .env.
    /// (`schema` and `local` connect to no configured database and refuse it.)
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
    /// List the registered knowledge documents.
    KnowledgeDocuments(commands::knowledge_documents::Args),
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
    /// Delete interactions older than a policy, in short batches; list past runs and erasures.
    Retention(commands::retention::Args),
    /// Erase a session's or an interaction's data from the database and this host's spools.
    Forget(commands::forget::Args),
    /// Compare the dashboard's rollups with the raw rows, or rebuild them.
    Rollups(commands::rollups::Args),
}

fn main() -> ExitCode {
    // Colours only for a person at a terminal who has not asked for none (no-color.org).
    let colour = std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let notice = assistant_db::connect::NOTICE;
    let filter =
        EnvFilter::try_from_env("ASSISTANT_DB_LOG").unwrap_or_else(|_| EnvFilter::new("warn"));
    // Notices (the local PostgreSQL was started, …) are for the user whatever the log
    // level: plain lines, never twice.
    let filter = match format!("{notice}=off").parse() {
        Ok(directive) => filter.add_directive(directive),
        Err(_) => filter,
    };
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(terminal::LogWriter)
                .with_ansi(colour)
                .with_filter(filter),
        )
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(terminal::LogWriter)
                .with_ansi(false)
                .without_time()
                .with_level(false)
                .with_target(false)
                .with_filter(Targets::new().with_target(notice, LevelFilter::INFO)),
        )
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
    if cli.database_url.is_some() {
        match cli.command {
            Command::Schema(_) => anyhow::bail!(
                "`schema` prints SQL and connects to no database, so --database-url does not \
                 apply; to apply the migrations to that database, run `assistant-db migrate \
                 --database-url URL`"
            ),
            Command::Local(_) => anyhow::bail!(
                "`local` manages the embedded PostgreSQL under ASSISTANT_DB_HOME, so \
                 --database-url does not apply; leave it out"
            ),
            _ => {}
        }
    }
    let config =
        assistant_db::Config::from_env()?.with_database_url(cli.database_url.as_deref())?;
    if matches!(
        cli.command,
        Command::Local(_)
            | Command::Demo(_)
            | Command::Spool(_)
            | Command::Serve(_)
            | Command::Forget(_)
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
        Command::KnowledgeDocuments(args) => {
            commands::knowledge_documents::run(&config, args).await
        }
        Command::Metrics(args) => commands::metrics::run(&config, args).await,
        Command::PublicMetrics(args) => commands::public_metrics::run(&config, args).await,
        Command::Demo(args) => commands::demo::run(&config, args).await,
        Command::Spool(args) => commands::spool::run(&config, args).await,
        Command::Redact(args) => commands::redact::run(&config, args).await,
        Command::Serve(args) => commands::serve::run(&config, args).await,
        Command::Retention(args) => commands::retention::run(&config, args).await,
        Command::Rollups(args) => commands::rollups::run(&config, args).await,
        Command::Forget(args) => commands::forget::run(&config, args).await,
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    /// Every subcommand, nested ones too, with its full name.
    fn subcommands(command: &clap::Command, path: &str, out: &mut Vec<(String, clap::Command)>) {
        for sub in command.get_subcommands() {
            let name = format!("{path} {}", sub.get_name());
            out.push((name.clone(), sub.clone()));
            subcommands(sub, &name, out);
        }
    }

    #[test]
    fn every_subcommand_help_ends_with_examples() {
        let mut all = Vec::new();
        subcommands(&Cli::command(), "assistant-db", &mut all);
        assert!(all.len() > 15, "{}", all.len());
        for (name, mut command) in all {
            if name.ends_with(" help") {
                continue;
            }
            let help = command.render_long_help().to_string();
            let examples = help
                .rsplit_once("Examples:\n")
                .map(|(_, tail)| tail)
                .unwrap_or_else(|| panic!("`{name} --help` has no examples:\n{help}"));
            let lines: Vec<&str> = examples.lines().filter(|l| !l.trim().is_empty()).collect();
            assert!(
                (2..=3).contains(&lines.len())
                    && lines
                        .iter()
                        .all(|l| l.trim_start().starts_with("assistant-db ")
                            || l.contains(" assistant-db ")),
                "`{name} --help` must end with two or three example commands:\n{examples}"
            );
            let top = name.split(' ').nth(1).unwrap_or_default();
            assert!(
                lines
                    .iter()
                    .all(|l| l.contains(&format!("assistant-db {top}"))),
                "`{name} --help`: every example runs `assistant-db {top}`:\n{examples}"
            );
        }
    }

    #[test]
    fn top_level_help_names_the_embedded_default_and_every_variable_of_the_readme() {
        let help = Cli::command().render_long_help().to_string();
        assert!(help.contains("embedded default"), "{help}");
        assert!(help.contains("ASSISTANT_DB_HOME"), "{help}");
        let readme = include_str!("../../../README.md");
        let config = readme
            .split("\n## Configuration")
            .nth(1)
            .and_then(|rest| rest.split("\n## ").next())
            .expect("the README has a Configuration section");
        let variables: Vec<&str> = config
            .lines()
            .filter_map(|l| l.strip_prefix("| `"))
            .filter_map(|l| l.split('`').next())
            .collect();
        assert!(variables.len() >= 10, "{variables:?}");
        for variable in variables {
            assert!(
                help.contains(variable),
                "`assistant-db --help` does not name {variable}"
            );
        }
    }
}

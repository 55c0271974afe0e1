//! `assistant-db retention run|log`: delete interactions older than a policy, in short
//! batches, and list the trail of retention runs and erasures.
//!
//! `run` drives the database's `retention_step` one transaction at a time (see
//! [`assistant_db::retention`]), with a progress bar on a terminal; interrupted, it has
//! deleted whole batches only, and running it again finishes the job. The policy comes
//! from `--older-than`, else from `ASSISTANT_DB_RETENTION`.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};
use assistant_db::retention::{
    AuditEntry, AuditQuery, ErasureTarget, RetentionPolicy, SessionId, Via, DEFAULT_BATCH,
    MAX_BATCH,
};
use assistant_db::{Client, Config};
use indicatif::{ProgressBar, ProgressStyle};
use uuid::Uuid;

use crate::terminal::escape;

/// Examples at the end of `retention --help`.
const EXAMPLES: &str = "Examples:
  assistant-db retention run --older-than 400d --dry-run
  assistant-db retention log --limit 20";

/// Examples at the end of `retention run --help`.
const RUN_EXAMPLES: &str = "Examples:
  assistant-db retention run --older-than 400d --dry-run
  ASSISTANT_DB_RETENTION=13mo assistant-db retention run --json";

/// Examples at the end of `retention log --help`.
const LOG_EXAMPLES: &str = "Examples:
  assistant-db retention log
  assistant-db retention log --session 7f3c2a --json";

/// Arguments of `retention`.
#[derive(Debug, clap::Args)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, clap::Subcommand)]
enum Action {
    /// Delete interactions (and their escalations) older than the policy, in batches of
    /// one short transaction each; knowledge documents are kept.
    #[command(after_help = RUN_EXAMPLES)]
    Run {
        /// How old an interaction must be to go: 400d, 60w, 13mo, 7y (at least 1d);
        /// default: ASSISTANT_DB_RETENTION.
        #[arg(long, value_name = "AGE")]
        older_than: Option<String>,
        /// Count what would be deleted; delete nothing.
        #[arg(long)]
        dry_run: bool,
        /// Interactions deleted per transaction.
        #[arg(long, value_name = "N", default_value_t = DEFAULT_BATCH,
              value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_BATCH)))]
        batch_size: u32,
        /// Print a JSON summary.
        #[arg(long)]
        json: bool,
    },
    /// The trail of retention runs and erasures, newest first (no personal data: an
    /// erased id appears as a keyed hash).
    #[command(after_help = LOG_EXAMPLES)]
    Log {
        /// Entries to show, 1 to 1000.
        #[arg(long, value_name = "N", default_value_t = 50,
              value_parser = clap::value_parser!(u32).range(1..=1000))]
        limit: u32,
        /// Only the erasures of this session.
        #[arg(long, value_name = "ID", conflicts_with = "interaction")]
        session: Option<String>,
        /// Only the erasures of this interaction.
        #[arg(long, value_name = "UUID")]
        interaction: Option<Uuid>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Runs the command.
pub async fn run(config: &Config, args: Args) -> anyhow::Result<ExitCode> {
    let client = Client::connect(config)
        .await
        .context("cannot connect to the database")?;
    match args.action {
        Action::Run {
            older_than,
            dry_run,
            batch_size,
            json,
        } => {
            let policy = match (older_than, config.retention) {
                (Some(text), _) => text
                    .parse::<RetentionPolicy>()
                    .map_err(|e| anyhow::anyhow!("--older-than {}", e.rule))?,
                (None, Some(policy)) => policy,
                (None, None) => bail!(
                    "say how old interactions must be to go: --older-than 400d, or set \
                     ASSISTANT_DB_RETENTION"
                ),
            };
            if dry_run {
                preview(&client, &policy, json).await
            } else {
                prune(&client, &policy, batch_size, json).await
            }
        }
        Action::Log {
            limit,
            session,
            interaction,
            json,
        } => {
            let target = match (session, interaction) {
                (Some(session), _) => Some(ErasureTarget::Session(SessionId::parse(session)?)),
                (None, Some(id)) => Some(ErasureTarget::Interaction(id)),
                (None, None) => None,
            };
            let entries = client
                .retention_log(&AuditQuery {
                    limit: Some(limit),
                    target,
                })
                .await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&entries)?);
            } else {
                print_log(&entries);
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn preview(
    client: &Client,
    policy: &RetentionPolicy,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let preview = client.retention_preview(policy).await?;
    if json {
        let mut value = serde_json::to_value(preview)?;
        value["dry_run"] = true.into();
        value["policy"] = policy.to_string().into();
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        println!(
            "Dry run: {} interactions and {} escalations are older than {policy} (before {}); \
             nothing was deleted.",
            preview.interactions,
            preview.escalations,
            when(preview.cutoff)
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn prune(
    client: &Client,
    policy: &RetentionPolicy,
    batch: u32,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = ProgressBar::new(0).with_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} interactions ({eta}) {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    });
    let summary = client
        .run_retention(policy, batch, Via::Cli, |run, total| {
            if let Some(bar) = &bar {
                // Rows logged old meanwhile (an import) may outgrow the first count.
                bar.set_length(run.interactions.max(total.interactions));
                bar.set_position(total.interactions);
                bar.set_message(format!("{} escalations", total.escalations));
            }
        })
        .await;
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let summary = summary.context(
        "retention stopped; the batches done so far are deleted, run it again to finish",
    )?;
    if json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else if summary.interactions == 0 && summary.escalations == 0 {
        println!(
            "Nothing is older than {policy} (before {}); nothing was deleted (retention log \
             entry {}).",
            when(summary.cutoff),
            summary.run
        );
    } else {
        println!(
            "Deleted {} interactions and {} escalations older than {policy} (before {}) in {} \
             batches, {:.1} s (retention log entry {}).",
            summary.interactions,
            summary.escalations,
            when(summary.cutoff),
            summary.batches,
            (summary.finished_at - summary.started_at).num_milliseconds() as f64 / 1000.0,
            summary.run
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn when(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

fn print_log(entries: &[AuditEntry]) {
    if entries.is_empty() {
        println!("no retention runs or erasures yet");
        return;
    }
    println!(
        "{:>6}  {:<9}  {:<19}  {:<8}  {:<7}  {:<14}  {:>12}  {:>11}  what",
        "id", "kind", "started (UTC)", "took", "via", "run by", "interactions", "escalations"
    );
    for entry in entries {
        let took = match entry.finished_at {
            Some(end) => format!(
                "{:.1} s",
                (end - entry.started_at).num_milliseconds() as f64 / 1000.0
            ),
            None => "unfinished".to_owned(),
        };
        let what = match entry.kind.as_str() {
            "retention" => format!(
                "older than {} (before {}), {} batches",
                entry.policy.as_deref().unwrap_or("?"),
                entry.cutoff.map(when).unwrap_or_default(),
                entry.batches
            ),
            _ => {
                let hash = entry.target_hash.as_deref().unwrap_or("");
                let spool = match (entry.spool_entries, entry.spool_dead_letters) {
                    (Some(entries), Some(dead)) => {
                        format!("; spools: {entries} entries, {dead} dead letters")
                    }
                    _ => String::new(),
                };
                format!(
                    "{} {}…{spool}",
                    entry.target.as_deref().unwrap_or("?"),
                    hash.get(..16).unwrap_or(hash)
                )
            }
        };
        println!(
            "{:>6}  {:<9}  {:<19}  {:<8}  {:<7}  {:<14}  {:>12}  {:>11}  {}",
            entry.id,
            entry.kind,
            entry.started_at.format("%Y-%m-%d %H:%M:%S"),
            took,
            entry.via,
            escape(&entry.run_by),
            entry.interactions,
            entry.escalations,
            what
        );
    }
}

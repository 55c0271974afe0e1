//! `assistant-db spool …`: what the logger's durable spool holds, and its dead letters.
//!
//! Each action first deletes the dead letters older than `ASSISTANT_DB_DEAD_LETTER_DAYS`
//! (as a running logger does every hour), so that what it shows is what is kept. A home
//! with no spool yet holds nothing: that is reported, not an error. The database's
//! reasons are shown escaped: they may quote refused values.

use std::path::Path;
use std::process::ExitCode;

use assistant_db::logger::{SpoolFile, SpoolStatus};
use assistant_db::Config;
use serde_json::json;

use crate::terminal::escape;

/// Examples at the end of `spool status --help`.
const STATUS_EXAMPLES: &str = "Examples:
  assistant-db spool status
  assistant-db spool status --json";

/// Examples at the end of `spool dead --help`.
const DEAD_EXAMPLES: &str = "Examples:
  assistant-db spool dead
  assistant-db spool dead --json";

/// Examples at the end of `spool retry --help`.
const RETRY_EXAMPLES: &str = "Examples:
  assistant-db spool retry
  assistant-db spool retry 12 13";

/// Examples at the end of `spool --help`.
const EXAMPLES: &str = "Examples:
  assistant-db spool status
  assistant-db spool dead --json
  assistant-db spool retry 12 13";

/// Arguments of `spool`.
#[derive(Debug, clap::Args)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, clap::Subcommand)]
enum Action {
    /// Entries waiting for the database, the oldest one's age, and dead letters (how many,
    /// the oldest one's age, and how many were deleted for their age).
    #[command(after_help = STATUS_EXAMPLES)]
    Status {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// The records the database refused, with its reasons.
    #[command(after_help = DEAD_EXAMPLES)]
    Dead {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Put dead letters back in the queue (all, or the given sequence numbers).
    #[command(after_help = RETRY_EXAMPLES)]
    Retry {
        /// Sequence numbers, as `spool dead` shows them.
        seqs: Vec<i64>,
    },
}

/// Runs the command.
pub async fn run(config: &Config, args: Args) -> anyhow::Result<ExitCode> {
    let path = config.spool_path();
    let days = config.dead_letter_ttl.as_secs() / 86_400;
    // `symlink_metadata`: a dangling link is a spool that `inspect` refuses (as root) or
    // reports, not a spool that is missing.
    let spool = if std::fs::symlink_metadata(&path).is_ok() {
        let spool = SpoolFile::inspect(&path).await?;
        spool.expire_dead(config.dead_letter_ttl).await?;
        Some(spool)
    } else {
        None
    };
    match args.action {
        Action::Status { json } => {
            let status = match &spool {
                Some(spool) => Some(spool.status().await?),
                None => None,
            };
            print_status(&path, status.as_ref(), days, json)?;
        }
        Action::Dead { json } => {
            let dead = match &spool {
                Some(spool) => spool.dead_records().await?,
                None => Vec::new(),
            };
            if json {
                println!("{}", serde_json::to_string_pretty(&dead)?);
            } else if dead.is_empty() {
                println!("no dead letters");
            } else {
                for record in &dead {
                    let at = chrono::DateTime::from_timestamp_millis(record.failed_at_ms)
                        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
                        .unwrap_or_default();
                    println!("{:>8}  {at}  {}", record.seq, escape(&record.error));
                }
            }
        }
        Action::Retry { seqs } => {
            let moved = match &spool {
                Some(spool) => {
                    let only = (!seqs.is_empty()).then_some(seqs.as_slice());
                    spool.retry_dead(only).await?
                }
                None => 0,
            };
            println!("re-queued {moved} dead letter(s); a running logger sends them next");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints the status, or that there is no spool yet.
fn print_status(
    path: &Path,
    status: Option<&SpoolStatus>,
    days: u64,
    json: bool,
) -> anyhow::Result<()> {
    if json {
        let mut value = match status {
            Some(status) => serde_json::to_value(status)?,
            None => json!({
                "path": path,
                "pending": 0,
                "pending_bytes": 0,
                "oldest_age_ms": null,
                "dead": 0,
                "dead_oldest_age_ms": null,
                "dead_expired": 0,
            }),
        };
        value["exists"] = json!(status.is_some());
        value["dead_letter_days"] = json!(days);
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    let shown_path = path.display().to_string();
    let Some(status) = status else {
        println!(
            "no spool yet at {}: nothing is waiting and there are no dead letters",
            escape(&shown_path)
        );
        return Ok(());
    };
    println!("spool:   {}", escape(&shown_path));
    println!(
        "pending: {} entries ({} bytes)",
        status.pending, status.pending_bytes
    );
    match status.oldest_age_ms {
        Some(ms) => println!("oldest:  {} old", age(ms)),
        None => println!("oldest:  –"),
    }
    match status.dead_oldest_age_ms {
        Some(ms) => println!("dead:    {} (oldest {} old)", status.dead, age(ms)),
        None => println!("dead:    {}", status.dead),
    }
    println!(
        "expired: {} dead letters deleted after {days} days (ASSISTANT_DB_DEAD_LETTER_DAYS)",
        status.dead_expired
    );
    Ok(())
}

/// An age in the largest unit that keeps it readable.
fn age(ms: u64) -> String {
    let seconds = ms as f64 / 1000.0;
    if seconds < 120.0 {
        format!("{seconds:.1} s")
    } else if seconds < 7200.0 {
        format!("{:.1} min", seconds / 60.0)
    } else if seconds < 172_800.0 {
        format!("{:.1} h", seconds / 3600.0)
    } else {
        format!("{:.1} days", seconds / 86_400.0)
    }
}

//! `assistant-db spool …`: what the logger's durable spool holds, and its dead letters.

use std::process::ExitCode;

use assistant_db::logger::SpoolFile;
use assistant_db::Config;

/// Arguments of `spool`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, clap::Subcommand)]
enum Action {
    /// Entries waiting for the database, the oldest one's age, and dead letters.
    Status {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// The records the database refused, with its reasons.
    Dead {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Put dead letters back in the queue (all, or the given sequence numbers).
    Retry {
        /// Sequence numbers, as `spool dead` shows them.
        seqs: Vec<i64>,
    },
}

/// Runs the command.
pub async fn run(config: &Config, args: Args) -> anyhow::Result<ExitCode> {
    let spool = SpoolFile::inspect(&config.spool_path()).await?;
    match args.action {
        Action::Status { json } => {
            let status = spool.status().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&status)?);
            } else {
                println!("spool:   {}", status.path.display());
                println!(
                    "pending: {} entries ({} bytes)",
                    status.pending, status.pending_bytes
                );
                match status.oldest_age_ms {
                    Some(ms) => println!("oldest:  {:.1} s old", ms as f64 / 1000.0),
                    None => println!("oldest:  –"),
                }
                println!("dead:    {}", status.dead);
            }
        }
        Action::Dead { json } => {
            let dead = spool.dead_records().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&dead)?);
            } else if dead.is_empty() {
                println!("no dead letters");
            } else {
                for record in &dead {
                    let at = chrono::DateTime::from_timestamp_millis(record.failed_at_ms)
                        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
                        .unwrap_or_default();
                    println!("{:>8}  {at}  {}", record.seq, record.error);
                }
            }
        }
        Action::Retry { seqs } => {
            let only = (!seqs.is_empty()).then_some(seqs.as_slice());
            let moved = spool.retry_dead(only).await?;
            println!("re-queued {moved} dead letter(s); a running logger sends them next");
        }
    }
    Ok(ExitCode::SUCCESS)
}

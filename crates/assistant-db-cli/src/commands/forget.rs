//! `assistant-db forget --session ID | --interaction ID`: erase one customer's data
//! (GDPR art. 17) from the database and from every spool on this host — waiting entries
//! and dead letters — and print a receipt: what was removed, where and when, as counts,
//! never the content. The erasure is recorded in the trail (`retention log`) under a
//! keyed hash of the id.

use std::process::ExitCode;

use anyhow::Context;
use assistant_db::logger::erase::{forget, spool_files, Receipt};
use assistant_db::retention::{ErasureTarget, SessionId, Via};
use assistant_db::{Client, Config};
use uuid::Uuid;

use crate::terminal::escape;

/// Examples at the end of `forget --help`.
const EXAMPLES: &str = "Examples:
  assistant-db forget --session 7f3c2a --json
  assistant-db forget --interaction 0190b6a0-0000-7000-8000-000000000001";

/// Arguments of `forget`.
#[derive(Debug, clap::Args)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    /// Erase every interaction of this session (`session_id`, compared exactly).
    #[arg(
        long,
        value_name = "ID",
        required_unless_present = "interaction",
        conflicts_with = "interaction"
    )]
    session: Option<String>,
    /// Erase this interaction.
    #[arg(long, value_name = "UUID")]
    interaction: Option<Uuid>,
    /// Print the receipt as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs the command.
pub async fn run(config: &Config, args: Args) -> anyhow::Result<ExitCode> {
    let target = match (args.session, args.interaction) {
        (Some(session), _) => ErasureTarget::Session(SessionId::parse(session)?),
        (None, Some(id)) => ErasureTarget::Interaction(id),
        (None, None) => anyhow::bail!("say what to erase: --session ID or --interaction UUID"),
    };
    let client = Client::connect(config)
        .await
        .context("cannot connect to the database")?;
    let extra: Vec<_> = config.spool.iter().cloned().collect();
    let spools = spool_files(&config.home.join("spool"), &extra);
    let receipt = forget(&client, &spools, &target, Via::Cli)
        .await
        .context("the erasure did not finish; run it again (it is safe to repeat)")?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&receipt)?);
    } else {
        print_receipt(&receipt);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_receipt(receipt: &Receipt) {
    let counts = receipt.spools.counts();
    println!(
        "Erased {} \"{}\" at {} (retention log entry {}, id hash {}).",
        receipt.target,
        escape(&receipt.id),
        receipt.erased_at.format("%Y-%m-%d %H:%M:%S UTC"),
        receipt.log_id,
        receipt.id_hash
    );
    println!(
        "  database: {} interactions, {} escalations",
        receipt.database.interactions, receipt.database.escalations
    );
    println!(
        "  spools:   {} entries, {} dead letters, in {} spool files on this host",
        counts.entries,
        counts.dead_letters,
        receipt.spools.files.len()
    );
    for file in &receipt.spools.files {
        let mut notes = Vec::new();
        if file.logger_running {
            notes.push("a logger is draining it: what it was sending is deleted again once stored");
        }
        if !file.wal_cleared {
            notes.push("its write-ahead log was in use and keeps old pages until the logger overwrites them");
        }
        let notes = if notes.is_empty() {
            String::new()
        } else {
            format!(" ({})", notes.join("; "))
        };
        println!(
            "            {}: {} entries, {} dead letters{notes}",
            escape(&file.path.display().to_string()),
            file.entries,
            file.dead_letters
        );
    }
    if receipt.may_still_be_logging {
        let latest = receipt
            .latest_activity
            .map(|at| {
                format!(
                    "its latest interaction is from {}",
                    at.format("%Y-%m-%d %H:%M:%S UTC")
                )
            })
            .unwrap_or_else(|| "entries of it were still waiting in a spool".to_owned());
        println!(
            "  note:     the session may still be logging ({latest}); interactions logged after \
             this erasure are not erased: run forget again once it has ended"
        );
    }
    println!("  not reached:");
    for item in &receipt.not_reached {
        println!("    - {item}");
    }
}

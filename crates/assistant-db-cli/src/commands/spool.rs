//! `assistant-db spool …`: what the logger's durable spool holds, and its dead letters.
//!
//! Each action first deletes the dead letters older than `ASSISTANT_DB_DEAD_LETTER_DAYS`
//! (as a running logger does every hour), so that what it shows is what is kept. A home
//! with no spool yet holds nothing: that is reported, not an error. The database's
//! reasons are shown escaped: they may quote refused values.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::bail;
use assistant_db::logger::slots::{self, Slot};
use assistant_db::logger::{DeadRecord, SpoolFile, SpoolStatus};
use assistant_db::Config;
use serde::Serialize;
use serde_json::json;

use crate::terminal::escape;

/// Arguments of `spool`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, clap::Subcommand)]
enum Action {
    /// Entries waiting for the database, the oldest one's age, and dead letters (how many,
    /// the oldest one's age, and how many were deleted for their age), over every spool
    /// of the destination, then each spool and the process logging into it.
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
    /// Put dead letters back in the queue (all, or the given ones).
    Retry {
        /// Dead letters as `spool dead` numbers them: `SEQ` in the first spool,
        /// `SLOT:SEQ` in another.
        ids: Vec<String>,
    },
}

/// One spool of the destination, opened for inspection.
struct Opened {
    slot: Slot,
    spool: SpoolFile,
    /// The process logging into it, if one is.
    holder: Option<u32>,
}

/// What `status --json` shows of one spool.
#[derive(Serialize)]
struct SpoolReport {
    slot: u32,
    /// The process logging into this spool, if one is.
    held_by: Option<u32>,
    #[serde(flatten)]
    status: SpoolStatus,
}

/// A dead letter and the spool that holds it, as `dead --json` shows it.
#[derive(Serialize)]
struct DeadReport<'a> {
    /// The number `retry` takes: `SEQ`, or `SLOT:SEQ` outside the first spool.
    id: String,
    spool: &'a Path,
    #[serde(flatten)]
    record: &'a DeadRecord,
}

/// Runs the command.
pub async fn run(config: &Config, args: Args) -> anyhow::Result<ExitCode> {
    let base = config.spool_path();
    let days = config.dead_letter_ttl.as_secs() / 86_400;
    let mut spools = Vec::new();
    for slot in slots::existing(&base) {
        let spool = SpoolFile::inspect(&slot.path).await?;
        spool.expire_dead(config.dead_letter_ttl).await?;
        spools.push(Opened {
            holder: slots::holder(&slot.path),
            slot,
            spool,
        });
    }
    match args.action {
        Action::Status { json } => {
            let mut reports = Vec::new();
            for opened in &spools {
                reports.push(SpoolReport {
                    slot: opened.slot.n,
                    held_by: opened.holder,
                    status: opened.spool.status().await?,
                });
            }
            print_status(&base, &reports, days, json)?;
        }
        Action::Dead { json } => {
            let mut dead = Vec::new();
            for opened in &spools {
                for record in opened.spool.dead_records().await? {
                    dead.push((opened, record));
                }
            }
            let reports: Vec<DeadReport<'_>> = dead
                .iter()
                .map(|(opened, record)| DeadReport {
                    id: id_of(opened.slot.n, record.seq),
                    spool: &opened.slot.path,
                    record,
                })
                .collect();
            if json {
                println!("{}", serde_json::to_string_pretty(&reports)?);
            } else if reports.is_empty() {
                println!("no dead letters");
            } else {
                for report in &reports {
                    let at = chrono::DateTime::from_timestamp_millis(report.record.failed_at_ms)
                        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
                        .unwrap_or_default();
                    println!("{:>8}  {at}  {}", report.id, escape(&report.record.error));
                }
            }
        }
        Action::Retry { ids } => {
            let mut moved = 0;
            let wanted = ids
                .iter()
                .map(|id| parse_id(id))
                .collect::<anyhow::Result<Vec<_>>>()?;
            if let Some((slot, _)) = wanted
                .iter()
                .find(|(slot, _)| !spools.iter().any(|o| o.slot.n == *slot))
            {
                bail!(
                    "there is no spool {} ({}); `spool dead` shows the dead letters and their numbers",
                    slot,
                    escape(&slots::slot_path(&base, *slot).display().to_string())
                );
            }
            for opened in &spools {
                let only: Option<Vec<i64>> = (!wanted.is_empty()).then(|| {
                    wanted
                        .iter()
                        .filter(|(slot, _)| *slot == opened.slot.n)
                        .map(|(_, seq)| *seq)
                        .collect()
                });
                if only.as_ref().is_some_and(Vec::is_empty) {
                    continue;
                }
                moved += opened.spool.retry_dead(only.as_deref()).await?;
            }
            println!(
                "re-queued {moved} dead letter(s); a running logger sends them next (one on \
                 their spool, or, within {} s, one on another spool of this database)",
                slots::ADOPT_EVERY.as_secs()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A dead letter's number: its sequence number in the first spool, `SLOT:SEQ` elsewhere.
fn id_of(slot: u32, seq: i64) -> String {
    if slot == 1 {
        seq.to_string()
    } else {
        format!("{slot}:{seq}")
    }
}

/// `SEQ` or `SLOT:SEQ`, as [`id_of`] writes them.
fn parse_id(text: &str) -> anyhow::Result<(u32, i64)> {
    let bad = || {
        anyhow::anyhow!(
            "`{}` is not a dead letter's number (`SEQ`, or `SLOT:SEQ`, as `spool dead` shows them)",
            escape(text)
        )
    };
    let (slot, seq) = match text.split_once(':') {
        Some((slot, seq)) => (slot.parse().map_err(|_| bad())?, seq),
        None => (1, text),
    };
    Ok((slot, seq.parse().map_err(|_| bad())?))
}

/// Prints the status over every spool, or that there is no spool yet.
fn print_status(base: &Path, reports: &[SpoolReport], days: u64, json: bool) -> anyhow::Result<()> {
    let total = |f: fn(&SpoolStatus) -> u64| reports.iter().map(|r| f(&r.status)).sum::<u64>();
    let oldest =
        |f: fn(&SpoolStatus) -> Option<u64>| reports.iter().filter_map(|r| f(&r.status)).max();
    let (pending, pending_bytes, dead, dead_expired) = (
        total(|s| s.pending),
        total(|s| s.pending_bytes),
        total(|s| s.dead),
        total(|s| s.dead_expired),
    );
    let (oldest_age_ms, dead_oldest_age_ms) = (
        oldest(|s| s.oldest_age_ms),
        oldest(|s| s.dead_oldest_age_ms),
    );
    if json {
        let value = json!({
            "path": base,
            "exists": !reports.is_empty(),
            "pending": pending,
            "pending_bytes": pending_bytes,
            "oldest_age_ms": oldest_age_ms,
            "dead": dead,
            "dead_oldest_age_ms": dead_oldest_age_ms,
            "dead_expired": dead_expired,
            "dead_letter_days": days,
            "spools": reports,
        });
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    let shown = |path: &Path| escape(&path.display().to_string()).into_owned();
    if reports.is_empty() {
        println!(
            "no spool yet at {}: nothing is waiting and there are no dead letters",
            shown(base)
        );
        return Ok(());
    }
    match reports {
        [one] => println!("spool:   {}{}", shown(&one.status.path), held(one.held_by)),
        many => println!("spools:  {} beside {}", many.len(), shown(base)),
    }
    println!("pending: {pending} entries ({pending_bytes} bytes)");
    match oldest_age_ms {
        Some(ms) => println!("oldest:  {} old", age(ms)),
        None => println!("oldest:  –"),
    }
    match dead_oldest_age_ms {
        Some(ms) => println!("dead:    {dead} (oldest {} old)", age(ms)),
        None => println!("dead:    {dead}"),
    }
    println!(
        "expired: {dead_expired} dead letters deleted after {days} days (ASSISTANT_DB_DEAD_LETTER_DAYS)"
    );
    if reports.len() > 1 {
        for report in reports {
            let name: PathBuf = report
                .status
                .path
                .file_name()
                .map(PathBuf::from)
                .unwrap_or_else(|| report.status.path.clone());
            println!(
                "  {}: {} pending, {} dead{}",
                shown(&name),
                report.status.pending,
                report.status.dead,
                held(report.held_by)
            );
        }
    }
    Ok(())
}

/// Who logs into a spool, in words.
fn held(holder: Option<u32>) -> String {
    match holder {
        Some(pid) => format!(" (a logger runs on it: process {pid})"),
        None => String::new(),
    }
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

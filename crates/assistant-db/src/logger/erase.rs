//! Erasure (GDPR art. 17) everywhere this host holds the data: the database, and the
//! entries and dead letters waiting in its spools.
//!
//! [`forget`] goes in this order: it reads which interactions of the session the
//! database holds, removes the matching entries and dead letters from every spool, then
//! deletes the rows in the database (which records the erasure in the trail with the
//! spool counts). Spools first, so that nothing the erasure removed from a spool can
//! reach the database after the database was cleaned — with one exception that the
//! logger closes itself: a running logger may already have read an entry into a batch
//! it is sending. The erasure leaves the entry's sequence number (never its content)
//! in the spool's `erased` table; when that logger finishes the batch and finds the
//! entry gone from the spool and named there, it deletes what it stored of it again
//! (see the drain). A logger that starts later has read nothing, and clears the table.
//!
//! An entry matches when its interaction belongs to the session (`session_id`), or is
//! one of the session's interactions (by `id`, whether stored, waiting or dead), or when
//! its escalation names one of them (`interaction_id`). Another process may hold the
//! spool: the removal is one SQLite transaction on a connection of its own, which
//! SQLite serialises with the logger's writer; its commit is synced, deleted content is
//! overwritten (`secure_delete`), and the write-ahead log is then emptied (a checkpoint
//! that truncates it) when no reader is in the middle of it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection};
use serde::Serialize;
use uuid::Uuid;

use super::spool::{is_default_spool_file, logger_holds, open_for_erasure, spool_error};
use crate::error::{Error, Result};
use crate::query::{InteractionFilter, InteractionQuery, MAX_PAGE_SIZE};
use crate::retention::{ErasureTarget, SpoolCounts, Via};
use crate::Client;

/// An erasure whose newest row is younger than this may belong to a session that is
/// still going: the receipt says that rows logged later are not covered.
const RECENT: chrono::TimeDelta = chrono::TimeDelta::minutes(30);

/// What an erasure cannot reach, said on every receipt.
const NOT_REACHED: [&str; 4] = [
    "database backups and point-in-time-recovery archives (they expire on their own schedule)",
    "exports and copies made earlier, and rows logged after this erasure",
    "spools on other hosts (run `assistant-db forget` there too)",
    "deleted rows' space in PostgreSQL until VACUUM reuses it",
];

/// What an erasure removed from one spool file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SpoolFileErasure {
    /// The spool file.
    pub path: PathBuf,
    /// Entries removed from the queue.
    pub entries: u64,
    /// Dead letters removed.
    pub dead_letters: u64,
    /// A logger was draining this spool at the time: an entry it was sending is deleted
    /// from the database again once stored.
    pub logger_running: bool,
    /// The write-ahead log, which may still hold copies of deleted entries, was emptied.
    pub wal_cleared: bool,
}

/// What an erasure removed from this host's spools.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SpoolErasure {
    /// Each spool file looked at.
    pub files: Vec<SpoolFileErasure>,
}

impl SpoolErasure {
    /// The totals, as the trail records them.
    pub fn counts(&self) -> SpoolCounts {
        SpoolCounts {
            entries: self.files.iter().map(|f| f.entries).sum(),
            dead_letters: self.files.iter().map(|f| f.dead_letters).sum(),
        }
    }
}

/// What the database deleted, for the receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DatabaseErasure {
    /// Interactions deleted.
    pub interactions: u64,
    /// Escalations deleted.
    pub escalations: u64,
}

/// The receipt of an erasure: what was removed, where and when — counts, never content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Receipt {
    /// `session` or `interaction`.
    pub target: String,
    /// The id erased, as the requester gave it.
    pub id: String,
    /// The keyed hash under which the trail records this erasure.
    pub id_hash: String,
    /// The trail's entry.
    pub log_id: i64,
    /// When the database deleted the rows.
    pub erased_at: DateTime<Utc>,
    /// What the database deleted.
    pub database: DatabaseErasure,
    /// What this host's spools held.
    pub spools: SpoolErasure,
    /// The newest `timestamp` among the interactions erased.
    pub latest_activity: Option<DateTime<Utc>>,
    /// The session may still be logging: its newest interaction is recent, or entries
    /// were still waiting in a spool. Rows logged after `erased_at` are not erased.
    pub may_still_be_logging: bool,
    /// What no erasure here can reach.
    pub not_reached: Vec<String>,
}

/// Every spool of this host: the default spools in `dir` (`$ASSISTANT_DB_HOME/spool`:
/// `local.db`, `pg-<hash>.db`, `rest-<hash>.db`) and each of `extra` that exists
/// (`ASSISTANT_DB_SPOOL`), each once.
pub fn spool_files(dir: &Path, extra: &[PathBuf]) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|entry| entry.ok())
                .filter(|entry| {
                    entry
                        .file_name()
                        .to_str()
                        .is_some_and(|name| name.ends_with(".db") && is_default_spool_file(name))
                })
                .map(|entry| entry.path())
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    for path in extra {
        let known = found.iter().any(|f| same_file(f, path));
        if !known && std::fs::symlink_metadata(path).is_ok() {
            found.push(path.clone());
        }
    }
    found
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// Removes the entries and dead letters of `target` from each spool file; `known` are
/// interaction ids of the target known elsewhere (the database's), whose escalations go
/// too. One transaction per file.
pub async fn erase_spools(
    files: &[PathBuf],
    target: &ErasureTarget,
    known: &[Uuid],
) -> Result<SpoolErasure> {
    let mut erasure = SpoolErasure::default();
    for path in files {
        let path = path.clone();
        let target = target.clone();
        let known = known.to_vec();
        let file = tokio::task::spawn_blocking(move || erase_spool(&path, &target, &known))
            .await
            .map_err(|e| Error::Spool(format!("a blocking task failed: {e}")))??;
        erasure.files.push(file);
    }
    Ok(erasure)
}

/// The interactions of `target` in the database, entries and dead letters of it in
/// `spools`, in that order (see the module's notes); returns the receipt.
pub async fn forget(
    client: &Client,
    spools: &[PathBuf],
    target: &ErasureTarget,
    via: Via,
) -> Result<Receipt> {
    let known = stored_ids(client, target).await?;
    let spooled = erase_spools(spools, target, &known).await?;
    let erased = client.erase(target, Some(spooled.counts()), via).await?;
    let recent = erased
        .latest
        .is_some_and(|latest| erased.erased_at - latest < RECENT);
    Ok(Receipt {
        target: target.kind().to_owned(),
        id: target.id(),
        id_hash: erased.id_hash,
        log_id: erased.log_id,
        erased_at: erased.erased_at,
        database: DatabaseErasure {
            interactions: erased.interactions,
            escalations: erased.escalations,
        },
        may_still_be_logging: recent || spooled.counts().entries > 0,
        spools: spooled,
        latest_activity: erased.latest,
        not_reached: NOT_REACHED.iter().map(|s| (*s).to_owned()).collect(),
    })
}

/// The ids of the target's interactions the database holds now.
async fn stored_ids(client: &Client, target: &ErasureTarget) -> Result<Vec<Uuid>> {
    let session = match target {
        ErasureTarget::Interaction(id) => return Ok(vec![*id]),
        ErasureTarget::Session(session) => session.as_str().to_owned(),
    };
    let mut query = InteractionQuery {
        filter: InteractionFilter {
            session: Some(session),
            ..InteractionFilter::default()
        },
        limit: Some(MAX_PAGE_SIZE),
        after: None,
    };
    let mut ids = Vec::new();
    loop {
        let page = client.interactions(&query).await?;
        ids.extend(page.items.iter().map(|row| row.id));
        match page.next {
            Some(next) => query.after = Some(next),
            None => return Ok(ids),
        }
    }
}

/// One spool file's part of an erasure (blocking).
fn erase_spool(path: &Path, target: &ErasureTarget, known: &[Uuid]) -> Result<SpoolFileErasure> {
    let logger_running = logger_holds(path);
    let mut conn = open_for_erasure(path)?;
    let (entries, dead_letters) = remove(&mut conn, target, known).map_err(spool_error)?;
    // A reader in the middle of the log keeps it from being emptied; that is reported,
    // not waited for.
    conn.busy_timeout(Duration::from_secs(1))
        .map_err(spool_error)?;
    let wal_cleared = conn
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
            r.get::<_, i64>(0)
        })
        .is_ok_and(|busy| busy == 0);
    Ok(SpoolFileErasure {
        path: path.to_path_buf(),
        entries,
        dead_letters,
        logger_running,
        wal_cleared,
    })
}

/// Removes the matching entries (leaving their sequence numbers in `erased`) and dead
/// letters, in one transaction; returns how many of each.
fn remove(
    conn: &mut Connection,
    target: &ErasureTarget,
    known: &[Uuid],
) -> rusqlite::Result<(u64, u64)> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let session = match target {
        ErasureTarget::Session(session) => Some(session.as_str().to_owned()),
        ErasureTarget::Interaction(_) => None,
    };
    let mut ids: BTreeSet<String> = known.iter().map(Uuid::to_string).collect();
    if let ErasureTarget::Interaction(id) = target {
        ids.insert(id.to_string());
    }
    if let Some(session) = &session {
        for table in ["spool", "dead"] {
            let mut statement = tx.prepare(&format!(
                "SELECT json_extract(interaction, '$.id') FROM {table} \
                 WHERE json_extract(interaction, '$.session_id') = ?1"
            ))?;
            let found = statement.query_map([session], |r| r.get::<_, Option<String>>(0))?;
            for id in found {
                ids.extend(id?);
            }
        }
    }
    let ids = serde_json::to_string(&ids)
        .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
    let matches = "json_extract(interaction, '$.session_id') = ?1 \
        OR json_extract(interaction, '$.id') IN (SELECT value FROM json_each(?2)) \
        OR json_extract(escalation, '$.interaction_id') IN (SELECT value FROM json_each(?2))";
    let erased: Vec<i64> = {
        let mut statement =
            tx.prepare(&format!("DELETE FROM spool WHERE {matches} RETURNING seq"))?;
        let seqs = statement
            .query_map(params![session, ids], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        seqs
    };
    for seq in &erased {
        tx.execute("INSERT OR IGNORE INTO erased (seq) VALUES (?1)", [seq])?;
    }
    let dead = tx.execute(
        &format!("DELETE FROM dead WHERE {matches}"),
        params![session, ids],
    )?;
    tx.commit()?;
    Ok((erased.len() as u64, dead as u64))
}

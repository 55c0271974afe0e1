//! Several processes logging to one destination at once: a spool per process.
//!
//! A spool has one writer (see [`super::writer`]), so two processes cannot share one.
//! Each logger instead claims a *slot* of its destination's spool path: the first whose
//! lock no live process holds. Slot 1 is the path itself (`local.db`, or whatever
//! `ASSISTANT_DB_SPOOL` names), slot n the same name with `-n` before the extension
//! (`local-2.db`), so one process finds its spool where it always was, and a second
//! one starts beside it instead of being refused. The lock is an advisory `flock` on
//! `<spool>.lock`, held for the logger's life and released by the kernel when the
//! process ends however it ends; the lock file holds the owner's process id, so that a
//! refusal or `spool status` can say which process holds a spool.
//!
//! Nothing a dead process spooled is lost: a logger adopts the waiting entries of every
//! slot of its destination that no process holds, when it starts and then every
//! [`ADOPT_EVERY`] while it runs. Adopting copies them into the adopter's own spool in
//! one synced transaction, then deletes them from the orphan; a crash between the two
//! leaves them in both, which client ids make harmless (a replay writes nothing twice).
//! Dead letters stay in their spool, where `spool dead` and `spool retry` find them;
//! retried ones are adopted like any waiting entry.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::fcntl::OFlag;
use rusqlite::{params, Connection};

use super::spool::{last_seq, open_connection, prepare, spool_error, Durability, SCHEMA};
use crate::error::{Error, Result};
use crate::files;

/// The most spools one destination has: processes logging to it at once.
pub const MAX_SLOTS: u32 = 64;

/// How often a running logger looks for spools whose process is gone.
pub const ADOPT_EVERY: Duration = Duration::from_secs(10);

/// Entries moved per transaction when adopting, to bound memory.
const ADOPT_CHUNK: i64 = 5_000;

/// The spool file of slot `n` of `base`: `base` itself for slot 1, then `stem-n.ext`.
pub fn slot_path(base: &Path, n: u32) -> PathBuf {
    if n <= 1 {
        return base.to_path_buf();
    }
    let stem = base
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = match base.extension() {
        Some(ext) => format!("{stem}-{n}.{}", ext.to_string_lossy()),
        None => format!("{stem}-{n}"),
    };
    base.with_file_name(name)
}

/// A spool of a destination that exists on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    /// Its number: 1 for the destination's own path.
    pub n: u32,
    /// Its file.
    pub path: PathBuf,
}

/// The spools of `base` that exist, by slot number.
pub fn existing(base: &Path) -> Vec<Slot> {
    (1..=MAX_SLOTS)
        .map(|n| Slot {
            n,
            path: slot_path(base, n),
        })
        .filter(|slot| std::fs::symlink_metadata(&slot.path).is_ok())
        .collect()
}

/// The lock file of the spool at `path`.
pub(super) fn lock_path(path: &Path) -> PathBuf {
    path.with_extension("lock")
}

/// The process holding the spool at `path`, if a live one does (and wrote its id).
///
/// Probes the lock with a shared lock of its own, released at once; a logger claiming
/// the slot at that very moment takes the next one instead, which does no harm.
pub fn holder(path: &Path) -> Option<u32> {
    let mut file = OpenOptions::new()
        .read(true)
        .custom_flags((OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK).bits())
        .open(lock_path(path))
        .ok()?;
    match file.try_lock_shared() {
        Ok(()) => None,
        Err(TryLockError::WouldBlock) => {
            let mut text = String::new();
            file.read_to_string(&mut text).ok()?;
            text.trim().parse().ok()
        }
        Err(TryLockError::Error(_)) => None,
    }
}

/// Takes the lock of the spool at `path` if no process holds it, and writes this
/// process's id into it; `None` while another process holds it.
pub(super) fn try_lock(path: &Path) -> Result<Option<File>> {
    let lock = lock_path(path);
    let mut file = files::private_file(&lock, "the spool's lock file")?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => return Ok(None),
        Err(TryLockError::Error(e)) => {
            return Err(Error::io(format!("cannot lock {}", lock.display()), e))
        }
    }
    let written = file
        .set_len(0)
        .and_then(|()| file.write_all(format!("{}\n", std::process::id()).as_bytes()));
    written.map_err(|e| Error::io(format!("cannot write {}", lock.display()), e))?;
    Ok(Some(file))
}

/// A slot claimed by this process: its spool file and the lock held on it.
#[derive(Debug)]
pub(super) struct Claim {
    /// The spool file.
    pub path: PathBuf,
    /// The lock, held while this lives.
    pub lock: File,
}

/// Claims the first slot of `base` no live process holds, creating its file.
pub(super) fn claim(base: &Path) -> Result<Claim> {
    let mut holders = Vec::new();
    for n in 1..=MAX_SLOTS {
        let path = slot_path(base, n);
        prepare(&path, true)?;
        if let Some(lock) = try_lock(&path)? {
            return Ok(Claim { path, lock });
        }
        holders.push(holder(&path).map_or_else(|| "?".to_owned(), |pid| pid.to_string()));
    }
    Err(Error::Config(format!(
        "all {MAX_SLOTS} spools of {} are in use, by the processes {}; stop one of them, or \
         give this process a spool of its own with ASSISTANT_DB_SPOOL",
        base.display(),
        holders.join(", ")
    )))
}

/// What adopting orphaned spools moved into this logger's spool.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Adopted {
    /// Entries moved.
    pub records: u64,
    /// Their payload bytes.
    pub bytes: u64,
    /// The highest sequence number of the own spool afterwards.
    pub last_seq: i64,
}

/// Moves the waiting entries of every spool of `base` but `own` that no process holds
/// into `own`, oldest first.
pub(super) fn adopt_orphans(base: &Path, own: &Path) -> Result<Adopted> {
    let mut adopted = Adopted::default();
    let mut into: Option<Connection> = None;
    for slot in existing(base) {
        if slot.path == own {
            continue;
        }
        // Held while its entries move, so that no logger starts on it meanwhile.
        let Some(_lock) = try_lock(&slot.path)? else {
            continue;
        };
        prepare(&slot.path, false)?;
        let from = open_connection(&slot.path, Durability::Relaxed)?;
        from.execute_batch(SCHEMA).map_err(spool_error)?;
        let into = match into.as_mut() {
            Some(conn) => conn,
            None => into.insert(open_connection(own, Durability::Synced)?),
        };
        let (records, bytes) = adopt(&from, into).map_err(spool_error)?;
        if records > 0 {
            tracing::info!(
                entries = records,
                from = %slot.path.display(),
                into = %own.display(),
                "adopted the entries of a spool whose process is gone"
            );
        }
        adopted.records += records;
        adopted.bytes += bytes;
    }
    if let Some(conn) = &into {
        adopted.last_seq = last_seq(conn).map_err(spool_error)?;
    }
    Ok(adopted)
}

/// Moves every waiting entry of `from` to `into`, a chunk at a time: each chunk is
/// committed (synced) in `into` before it is deleted from `from`.
fn adopt(from: &Connection, into: &mut Connection) -> rusqlite::Result<(u64, u64)> {
    type Row = (i64, i64, Option<String>, Option<String>);
    let (mut records, mut bytes) = (0u64, 0u64);
    loop {
        let rows: Vec<Row> = from
            .prepare_cached(
                "SELECT seq, logged_at_ms, interaction, escalation FROM spool \
                 ORDER BY seq LIMIT ?1",
            )?
            .query_map([ADOPT_CHUNK], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })?
            .collect::<rusqlite::Result<_>>()?;
        let Some(&(last, ..)) = rows.last() else {
            return Ok((records, bytes));
        };
        let tx = into.transaction()?;
        for (_, logged_at_ms, interaction, escalation) in &rows {
            tx.prepare_cached(
                "INSERT INTO spool (logged_at_ms, interaction, escalation) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![logged_at_ms, interaction, escalation])?;
            bytes += (interaction.as_ref().map_or(0, String::len)
                + escalation.as_ref().map_or(0, String::len)) as u64;
        }
        tx.commit()?;
        from.execute("DELETE FROM spool WHERE seq <= ?1", [last])?;
        records += rows.len() as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_numbered_beside_the_spool() {
        let base = Path::new("/h/spool/local.db");
        assert_eq!(slot_path(base, 1), base);
        assert_eq!(slot_path(base, 2), Path::new("/h/spool/local-2.db"));
        assert_eq!(slot_path(Path::new("/s/queue"), 3), Path::new("/s/queue-3"));
        assert_eq!(
            lock_path(&slot_path(base, 2)),
            Path::new("/h/spool/local-2.lock")
        );
    }

    #[test]
    fn a_lock_names_its_process_and_is_taken_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let spool = dir.path().join("s.db");
        let held = try_lock(&spool).expect("lock").expect("free");
        assert_eq!(holder(&spool), Some(std::process::id()));
        // flock locks belong to the open file: another open of it is refused.
        assert!(try_lock(&spool).expect("try").is_none());
        drop(held);
        assert_eq!(holder(&spool), None);
        assert!(try_lock(&spool).expect("try").is_some());
    }
}

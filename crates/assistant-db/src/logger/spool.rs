//! The durable spool: a SQLite file of entries waiting for the database, and of dead
//! letters the database refused.
//!
//! Why SQLite: it is crash-safe with one sync per commit in WAL mode, a reader never
//! blocks the writer, and an operator can open the file with the `sqlite3` shell. The
//! file is driven through `rusqlite` on plain threads rather than through an async
//! driver: the writer ([`super::writer`]) is a single sequential loop whose latency *is*
//! the latency of `log`, and an async driver would add a hop to a worker thread and back
//! on every commit. Reads happen here, on a second connection, off the async runtime.
//!
//! The spool holds customer text, so it is its owner's alone: the file is created with
//! mode 0600 before SQLite opens it (SQLite gives its `-wal` and `-shm` files the main
//! file's mode), an existing spool and its `-wal`, `-shm`, `-journal` and lock files are
//! set to 0600 whenever one is opened, and a directory created for the spool is 0700.
//! An existing directory is made 0700 only when it holds nothing but spools (the default
//! `<home>/spool/`); a directory named through `ASSISTANT_DB_SPOOL` that holds other
//! things (a home directory, `/var/spool`) is left as it is. As root, a symbolic link at
//! the spool's directory or at any of its files is refused.
//!
//! Dead letters are kept for a configured time (see `LoggerConfig::dead_letter_ttl`),
//! then deleted; the `meta` table counts how many were, for `spool status`.
//!
//! Each logger has a spool of its own, the first free *slot* of its destination's path
//! (see [`super::slots`]), so that several processes may log to one database at once.

use std::ffi::OsString;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use serde::Serialize;

use super::slots;
use crate::error::{Error, Result};
use crate::files::{self, PRIVATE_DIR};

/// The tables, created on first use. `AUTOINCREMENT` keeps sequence numbers growing even
/// when the queue empties, so that the dead-letter table (keyed by them) never sees one
/// twice, and so that `assistant-db spool retry` may append while a logger runs.
/// `erased` holds the sequence numbers of entries an erasure removed (no content): a
/// running logger that had read one of them before deletes it from the database again
/// once it is stored (see [`super::erase`]).
pub(super) const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS spool (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        logged_at_ms INTEGER NOT NULL,
        interaction TEXT,
        escalation TEXT);
    CREATE TABLE IF NOT EXISTS dead (
        seq INTEGER PRIMARY KEY,
        logged_at_ms INTEGER NOT NULL,
        failed_at_ms INTEGER NOT NULL,
        error TEXT NOT NULL,
        interaction TEXT,
        escalation TEXT);
    CREATE TABLE IF NOT EXISTS meta (
        key TEXT PRIMARY KEY,
        value INTEGER NOT NULL);
    CREATE TABLE IF NOT EXISTS erased (
        seq INTEGER PRIMARY KEY);";

/// The `meta` key counting dead letters deleted for their age.
const DEAD_EXPIRED: &str = "dead_expired";

/// Suffixes of the files SQLite keeps beside a database.
const SIDE_FILES: [&str; 3] = ["-wal", "-shm", "-journal"];

/// A spooled entry read back for draining.
#[derive(Debug, Clone)]
pub(super) struct Spooled {
    pub seq: i64,
    /// The interaction as JSON, if the entry has one.
    pub interaction: Option<String>,
    /// The escalation as JSON, if the entry has one.
    pub escalation: Option<String>,
}

impl Spooled {
    /// Payload size in bytes, as reserved against the spool's limit.
    pub fn bytes(&self) -> u64 {
        (self.interaction.as_ref().map_or(0, String::len)
            + self.escalation.as_ref().map_or(0, String::len)) as u64
    }

    /// True for an escalation of an interaction logged in an earlier entry: it can only
    /// be stored after that entry is.
    pub fn depends_on_earlier(&self) -> bool {
        self.interaction.is_none() && self.escalation.is_some()
    }
}

/// A record the database refused for good.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeadRecord {
    /// Its position in the spool when it was logged.
    pub seq: i64,
    /// When it was logged (Unix milliseconds).
    pub logged_at_ms: i64,
    /// When the database refused it (Unix milliseconds).
    pub failed_at_ms: i64,
    /// The database's reason.
    pub error: String,
    /// The entry, as JSON.
    pub entry: serde_json::Value,
}

/// What the spool holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SpoolStatus {
    /// The spool file.
    pub path: PathBuf,
    /// Entries waiting for the database.
    pub pending: u64,
    /// Their payload size in bytes.
    pub pending_bytes: u64,
    /// Age of the oldest waiting entry, in milliseconds.
    pub oldest_age_ms: Option<u64>,
    /// Entries in the dead-letter table.
    pub dead: u64,
    /// Age of the oldest dead letter, in milliseconds since the database refused it.
    pub dead_oldest_age_ms: Option<u64>,
    /// Dead letters deleted so far because they were older than the configured age.
    pub dead_expired: u64,
}

/// An open spool file: the reading side (the logger's writer has its own connection).
#[derive(Clone)]
pub struct SpoolFile {
    path: PathBuf,
    /// Reads, and the inspection commands' writes. Its commits skip the
    /// sync (`NORMAL`): it writes only when re-queuing dead letters, which a crash would
    /// simply leave dead.
    reader: Arc<Mutex<Connection>>,
    /// Held by the logger that drains this spool, so that only one does.
    _lock: Option<Arc<File>>,
}

impl std::fmt::Debug for SpoolFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpoolFile")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl SpoolFile {
    /// Opens a spool for a logger: the first slot of the destination's spool `base` that
    /// no other process holds (creating it if needed, and keeping its lock), after moving
    /// into it what spools of processes that are gone still hold.
    pub(super) async fn open(base: &Path) -> Result<Self> {
        let owned = base.to_path_buf();
        let claim = blocking(move || {
            let claim = slots::claim(&owned)?;
            slots::adopt_orphans(&owned, &claim.path)?;
            Ok(claim)
        })
        .await?;
        Self::connect(&claim.path, Some(Arc::new(claim.lock))).await
    }

    /// Opens an existing spool for inspection (status, dead letters, retry), without the
    /// logger's lock; SQLite keeps concurrent use consistent.
    pub async fn inspect(path: &Path) -> Result<Self> {
        files::refuse_symlink(path, "the spool")?;
        if std::fs::symlink_metadata(path).is_err() {
            return Err(Error::Config(format!(
                "there is no spool at {}",
                path.display()
            )));
        }
        prepare(path, false)?;
        Self::connect(path, None).await
    }

    async fn connect(path: &Path, lock: Option<Arc<File>>) -> Result<Self> {
        let owned = path.to_path_buf();
        let reader = blocking(move || {
            let conn = open_connection(&owned, Durability::Relaxed)?;
            conn.execute_batch(SCHEMA).map_err(spool_error)?;
            Ok(conn)
        })
        .await?;
        Ok(SpoolFile {
            path: path.to_path_buf(),
            reader: Arc::new(Mutex::new(reader)),
            _lock: lock,
        })
    }

    /// The spool's file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `work` on the reading connection, off the async runtime.
    async fn read<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let reader = Arc::clone(&self.reader);
        blocking(move || {
            let mut conn = reader
                .lock()
                .map_err(|_| Error::Spool("a reader panicked".into()))?;
            work(&mut conn).map_err(spool_error)
        })
        .await
    }

    /// Counts of waiting and dead entries.
    pub async fn status(&self) -> Result<SpoolStatus> {
        let (pending, pending_bytes) = self.pending_size().await?;
        let (dead, dead_oldest, dead_expired): (i64, Option<i64>, Option<i64>) = self
            .read(|c| {
                c.query_row(
                    "SELECT count(*), min(failed_at_ms), \
                         (SELECT value FROM meta WHERE key = ?1) FROM dead",
                    [DEAD_EXPIRED],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
            })
            .await?;
        Ok(SpoolStatus {
            path: self.path.clone(),
            pending,
            pending_bytes,
            oldest_age_ms: self.oldest_logged_at().await?.map(age_ms),
            dead: dead.max(0) as u64,
            dead_oldest_age_ms: dead_oldest.map(age_ms),
            dead_expired: dead_expired.unwrap_or(0).max(0) as u64,
        })
    }

    /// Deletes the dead letters the database refused more than `ttl` ago, and counts them
    /// in `dead_expired`; returns how many it deleted.
    pub async fn expire_dead(&self, ttl: Duration) -> Result<u64> {
        self.read(move |c| expire_dead(c, ttl)).await
    }

    /// Every dead letter, oldest first.
    pub async fn dead_records(&self) -> Result<Vec<DeadRecord>> {
        type Row = (i64, i64, i64, String, Option<String>, Option<String>);
        let rows: Vec<Row> = self
            .read(|c| {
                let mut statement = c.prepare(
                    "SELECT seq, logged_at_ms, failed_at_ms, error, interaction, escalation \
                     FROM dead ORDER BY seq",
                )?;
                let rows = statement.query_map([], |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                    ))
                })?;
                rows.collect()
            })
            .await?;
        let parse = |text: Option<String>| match text {
            Some(t) => serde_json::from_str(&t).unwrap_or(serde_json::Value::String(t)),
            None => serde_json::Value::Null,
        };
        Ok(rows
            .into_iter()
            .map(
                |(seq, logged_at_ms, failed_at_ms, error, interaction, escalation)| DeadRecord {
                    seq,
                    logged_at_ms,
                    failed_at_ms,
                    error,
                    entry: serde_json::json!({
                        "interaction": parse(interaction),
                        "escalation": parse(escalation),
                    }),
                },
            )
            .collect())
    }

    /// Moves dead letters back into the queue (all, or those with the given sequence
    /// numbers), in one transaction; returns how many were moved.
    pub async fn retry_dead(&self, only: Option<&[i64]>) -> Result<u64> {
        let only = only.map(<[i64]>::to_vec);
        self.read(move |c| {
            let tx = c.transaction()?;
            let seqs: Vec<i64> = match only {
                Some(seqs) => seqs,
                None => {
                    let mut statement = tx.prepare("SELECT seq FROM dead ORDER BY seq")?;
                    let seqs = statement
                        .query_map([], |r| r.get(0))?
                        .collect::<rusqlite::Result<_>>()?;
                    seqs
                }
            };
            let mut moved = 0;
            for seq in seqs {
                moved += tx.execute(
                    "INSERT INTO spool (logged_at_ms, interaction, escalation) \
                     SELECT logged_at_ms, interaction, escalation FROM dead WHERE seq = ?1",
                    [seq],
                )? as u64;
                tx.execute("DELETE FROM dead WHERE seq = ?1", [seq])?;
            }
            tx.commit()?;
            Ok(moved)
        })
        .await
    }

    /// Entries waiting, and their payload bytes.
    pub(super) async fn pending_size(&self) -> Result<(u64, u64)> {
        let (count, bytes): (i64, i64) = self
            .read(|c| {
                c.query_row(
                    "SELECT count(*), coalesce(sum(coalesce(length(interaction), 0) \
                         + coalesce(length(escalation), 0)), 0) FROM spool",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
            })
            .await?;
        Ok((count.max(0) as u64, bytes.max(0) as u64))
    }

    /// The highest sequence number handed out so far (0 for a new spool).
    pub(super) async fn last_seq(&self) -> Result<i64> {
        self.read(|c| last_seq(c)).await
    }

    /// The sequence number of the oldest waiting entry.
    pub(super) async fn first_pending_seq(&self) -> Result<Option<i64>> {
        self.read(|c| c.query_row("SELECT min(seq) FROM spool", [], |r| r.get(0)))
            .await
    }

    /// When the oldest waiting entry was logged (Unix milliseconds).
    pub(super) async fn oldest_logged_at(&self) -> Result<Option<i64>> {
        self.logged_at_after(0).await
    }

    /// When the first waiting entry after `seq` was logged (Unix milliseconds).
    pub(super) async fn logged_at_after(&self, seq: i64) -> Result<Option<i64>> {
        self.read(move |c| {
            c.query_row(
                "SELECT logged_at_ms FROM spool WHERE seq > ?1 ORDER BY seq LIMIT 1",
                [seq],
                |r| r.get(0),
            )
            .optional()
        })
        .await
    }

    /// Sequence numbers in `first..=last` that an erasure removed (see [`super::erase`]).
    pub(super) async fn erased_between(&self, first: i64, last: i64) -> Result<Vec<i64>> {
        self.read(move |c| {
            let mut statement =
                c.prepare_cached("SELECT seq FROM erased WHERE seq BETWEEN ?1 AND ?2")?;
            let seqs = statement
                .query_map(params![first, last], |r| r.get(0))?
                .collect();
            seqs
        })
        .await
    }

    /// Up to `limit` waiting entries after sequence number `after`, oldest first.
    pub(super) async fn fetch(&self, after: i64, limit: usize) -> Result<Vec<Spooled>> {
        self.read(move |c| {
            let mut statement = c.prepare_cached(
                "SELECT seq, interaction, escalation FROM spool WHERE seq > ?1 ORDER BY seq LIMIT ?2",
            )?;
            let rows = statement.query_map(params![after, limit as i64], |r| {
                Ok(Spooled {
                    seq: r.get(0)?,
                    interaction: r.get(1)?,
                    escalation: r.get(2)?,
                })
            })?;
            rows.collect()
        })
        .await
    }
}

/// Opens an existing spool for an erasure, on a connection of its own whose commits are
/// synced (an erasure lost in a crash would bring the entries back) and whose deletions
/// overwrite the deleted content (`secure_delete`).
pub(super) fn open_for_erasure(path: &Path) -> Result<Connection> {
    files::refuse_symlink(path, "the spool")?;
    prepare(path, false)?;
    let conn = open_connection(path, Durability::Synced)?;
    conn.execute_batch(SCHEMA).map_err(spool_error)?;
    conn.pragma_update(None, "secure_delete", "ON")
        .map_err(spool_error)?;
    Ok(conn)
}

/// Whether a logger holds the spool's lock (is draining it) right now.
pub(super) fn logger_holds(path: &Path) -> bool {
    let lock_path = path.with_extension("lock");
    match File::open(&lock_path) {
        // Taken and dropped at once: a probe, not a claim.
        Ok(file) => file.try_lock().is_err(),
        Err(_) => false,
    }
}

/// How a connection's commits reach the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Durability {
    /// Every commit is synced (`synchronous = FULL`): what `log` promises.
    Synced,
    /// Commits are not synced (`synchronous = NORMAL`); WAL mode keeps the file
    /// consistent and a crash may lose only the last such commits.
    Relaxed,
}

impl Durability {
    pub(super) fn pragma(self) -> &'static str {
        match self {
            Durability::Synced => "FULL",
            Durability::Relaxed => "NORMAL",
        }
    }
}

/// Opens a connection in WAL mode that never checkpoints on its own.
pub(super) fn open_connection(path: &Path, durability: Durability) -> Result<Connection> {
    let cannot = |e: rusqlite::Error| {
        Error::Config(format!("cannot open the spool {}: {e}", path.display()))
    };
    let mut flags = OpenFlags::default();
    if files::is_root() {
        // Already refused by `prepare`; this closes the gap between its check and the open.
        flags |= OpenFlags::SQLITE_OPEN_NOFOLLOW;
    }
    let conn = Connection::open_with_flags(path, flags).map_err(cannot)?;
    conn.busy_timeout(Duration::from_secs(30)).map_err(cannot)?;
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
        .map_err(cannot)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(Error::Config(format!(
            "the spool {} cannot use write-ahead logging (journal mode stays {mode})",
            path.display()
        )));
    }
    conn.pragma_update(None, "synchronous", durability.pragma())
        .map_err(cannot)?;
    conn.pragma_update(None, "wal_autocheckpoint", 0)
        .map_err(cannot)?;
    Ok(conn)
}

/// The highest sequence number handed out so far (0 for a new spool).
pub(super) fn last_seq(conn: &Connection) -> rusqlite::Result<i64> {
    let seq: Option<i64> = conn
        .query_row(
            "SELECT seq FROM sqlite_sequence WHERE name = 'spool'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    Ok(seq.unwrap_or(0))
}

/// Deletes dead letters refused more than `ttl` ago and adds their number to the
/// `dead_expired` count, in one transaction; returns how many it deleted.
pub(super) fn expire_dead(conn: &Connection, ttl: Duration) -> rusqlite::Result<u64> {
    let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
    let cutoff = now_ms().saturating_sub(ttl_ms);
    let tx = conn.unchecked_transaction()?;
    let deleted = tx.execute("DELETE FROM dead WHERE failed_at_ms < ?1", [cutoff])?;
    if deleted > 0 {
        tx.execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2) \
             ON CONFLICT (key) DO UPDATE SET value = value + excluded.value",
            params![DEAD_EXPIRED, deleted as i64],
        )?;
    }
    tx.commit()?;
    Ok(deleted as u64)
}

/// Makes the spool's directory and files private before SQLite opens them: creates the
/// directory (0700) when `create`, makes an existing one 0700 when it holds only spools,
/// creates the file with 0600 when `create` and sets 0600 on the file and its side files.
pub(super) fn prepare(path: &Path, create: bool) -> Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tighten = holds_only_spools(dir, path);
    if create || dir.exists() {
        files::ensure_dir(dir, PRIVATE_DIR, tighten, "the spool's directory")?;
    }
    if create {
        files::private_file(path, "the spool")?;
    } else {
        files::tighten_file(path, "the spool")?;
    }
    for suffix in SIDE_FILES {
        files::tighten_file(&with_suffix(path, suffix), "a file of the spool")?;
    }
    files::tighten_file(&slots::lock_path(path), "the spool's lock file")
}

/// `path` with `suffix` appended to its file name (`spool.db` → `spool.db-wal`).
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name: OsString = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Whether `dir` holds nothing but files of spools: this spool's, its slots' (see
/// [`super::slots`]), or those named as [`crate::Config::spool_path`] names them
/// (`local`, `pg-<hash>`, `rest-<hash>`, and their slots).
fn holds_only_spools(dir: &Path, spool: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    let own_stem = spool
        .file_stem()
        .and_then(|s| s.to_str())
        .map(|s| without_slot(s).to_owned());
    let own: Vec<OsString> = std::iter::once(spool.to_path_buf())
        .chain(SIDE_FILES.iter().map(|s| with_suffix(spool, s)))
        .chain(std::iter::once(slots::lock_path(spool)))
        .filter_map(|p| p.file_name().map(ToOwned::to_owned))
        .collect();
    entries.into_iter().all(|entry| {
        let Ok(entry) = entry else { return false };
        let name = entry.file_name();
        own.contains(&name)
            || name.to_str().is_some_and(|name| {
                is_default_spool_file(name)
                    || spool_stem(name)
                        .is_some_and(|stem| Some(without_slot(stem)) == own_stem.as_deref())
            })
    })
}

/// `local.db`, `pg-0123456789abcdef-2.db-wal`, `rest-….lock` and the like.
pub(super) fn is_default_spool_file(name: &str) -> bool {
    let hashed = |stem: &str, prefix: &str| {
        stem.strip_prefix(prefix)
            .is_some_and(|hash| hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()))
    };
    spool_stem(name)
        .map(without_slot)
        .is_some_and(|stem| stem == "local" || hashed(stem, "pg-") || hashed(stem, "rest-"))
}

/// The name of a spool's file without its suffix (`.db`, `.db-wal`, `.lock`, …).
fn spool_stem(name: &str) -> Option<&str> {
    [".db-wal", ".db-shm", ".db-journal", ".db", ".lock"]
        .iter()
        .find_map(|suffix| name.strip_suffix(suffix))
}

/// A spool's stem without a slot number (`local-2` → `local`).
fn without_slot(stem: &str) -> &str {
    match stem.rsplit_once('-') {
        Some((base, n)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => base,
        _ => stem,
    }
}

/// Runs blocking SQLite work on tokio's blocking pool.
async fn blocking<T, F>(work: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T> + Send + 'static,
{
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| Error::Spool(format!("a blocking task failed: {e}")))?
}

/// A spool failure, as the logger reports it.
pub(super) fn spool_error(e: rusqlite::Error) -> Error {
    Error::Spool(e.to_string())
}

/// Now, in Unix milliseconds.
pub(super) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Milliseconds since `logged_at_ms`.
pub(super) fn age_ms(logged_at_ms: i64) -> u64 {
    (now_ms() - logged_at_ms).max(0) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_spool_names_are_recognised() {
        for name in [
            "local.db",
            "local.db-wal",
            "local-2.db",
            "local-17.lock",
            "pg-0123456789abcdef.db-shm",
            "pg-0123456789abcdef-3.db-wal",
            "rest-fedcba9876543210.lock",
        ] {
            assert!(is_default_spool_file(name), "{name}");
        }
        for name in [
            "notes.txt",
            "pg-xyz.db",
            "local",
            "crontabs",
            "pg-0123456789abcdef",
            "local-x.db",
        ] {
            assert!(!is_default_spool_file(name), "{name}");
        }
    }

    #[test]
    fn only_a_directory_of_spools_is_tightened() {
        let dir = tempfile::tempdir().expect("tempdir");
        let spool = dir.path().join("mine.db");
        std::fs::write(&spool, "").expect("spool");
        std::fs::write(dir.path().join("mine.db-wal"), "").expect("wal");
        std::fs::write(dir.path().join("local.db"), "").expect("other spool");
        std::fs::write(dir.path().join("mine-2.db"), "").expect("a second slot");
        std::fs::write(dir.path().join("mine-2.lock"), "").expect("its lock");
        assert!(holds_only_spools(dir.path(), &spool));
        std::fs::write(dir.path().join("notes.txt"), "").expect("other file");
        assert!(!holds_only_spools(dir.path(), &spool));
    }
}

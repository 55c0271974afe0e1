//! The durable spool: a SQLite file of entries waiting for the database, and of dead
//! letters the database refused.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{QueryBuilder, Sqlite};
use tokio::sync::mpsc;

use super::{Request, Shared};
use crate::error::{Error, Result};

/// Most requests the writer folds into one transaction (one disk sync).
const MAX_GROUP: usize = 8192;
/// Rows per INSERT statement (three parameters each, within SQLite's 32,766).
const APPEND_CHUNK: usize = 8192;

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
}

/// An open spool file.
#[derive(Debug, Clone)]
pub struct SpoolFile {
    /// Appends: every commit reaches the disk (`synchronous = FULL`).
    pool: SqlitePool,
    /// Reads, removals and dead letters. A removal lost in a crash only means a replay,
    /// which client ids make harmless, so these commits skip the sync (`NORMAL`), and
    /// WAL checkpoints run here instead of in the writer's commit path.
    drain_pool: SqlitePool,
    path: PathBuf,
    /// Taken around every write: two connections writing at once would leave one in
    /// SQLite's busy handler, which sleeps in milliseconds; this queues them instead.
    write_lock: Arc<tokio::sync::Mutex<()>>,
    /// Held by the logger that drains this spool, so that only one does.
    _lock: Option<Arc<File>>,
}

impl SpoolFile {
    /// Opens the spool for a logger: creates it if needed and takes its exclusive lock.
    pub(super) async fn open(path: &Path) -> Result<Self> {
        let lock = lock_file(path)?;
        Self::connect(path, Some(Arc::new(lock))).await
    }

    /// Opens an existing spool for inspection (status, dead letters, retry), without the
    /// logger's lock; SQLite keeps concurrent use consistent.
    pub async fn inspect(path: &Path) -> Result<Self> {
        if !path.exists() {
            return Err(Error::Config(format!(
                "there is no spool at {}",
                path.display()
            )));
        }
        Self::connect(path, None).await
    }

    async fn connect(path: &Path, lock: Option<Arc<File>>) -> Result<Self> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(Duration::from_secs(30));
        let open = |synchronous, autocheckpoint: &'static str| {
            SqlitePoolOptions::new().max_connections(1).connect_with(
                options
                    .clone()
                    .synchronous(synchronous)
                    .pragma("wal_autocheckpoint", autocheckpoint),
            )
        };
        let cannot = |e: sqlx::Error| {
            Error::Config(format!("cannot open the spool {}: {e}", path.display()))
        };
        let pool = open(SqliteSynchronous::Full, "0").await.map_err(cannot)?;
        let drain_pool = open(SqliteSynchronous::Normal, "1000")
            .await
            .map_err(cannot)?;
        sqlx::raw_sql(
            "CREATE TABLE IF NOT EXISTS spool (\
                 seq INTEGER PRIMARY KEY AUTOINCREMENT, \
                 logged_at_ms INTEGER NOT NULL, \
                 interaction TEXT, \
                 escalation TEXT); \
             CREATE TABLE IF NOT EXISTS dead (\
                 seq INTEGER PRIMARY KEY, \
                 logged_at_ms INTEGER NOT NULL, \
                 failed_at_ms INTEGER NOT NULL, \
                 error TEXT NOT NULL, \
                 interaction TEXT, \
                 escalation TEXT);",
        )
        .execute(&pool)
        .await
        .map_err(spool_error)?;
        Ok(SpoolFile {
            pool,
            drain_pool,
            path: path.to_path_buf(),
            write_lock: Arc::new(tokio::sync::Mutex::new(())),
            _lock: lock,
        })
    }

    /// The spool's file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Counts of waiting and dead entries.
    pub async fn status(&self) -> Result<SpoolStatus> {
        let (pending, bytes) = self.pending_size().await?;
        let dead: i64 = sqlx::query_scalar("SELECT count(*) FROM dead")
            .fetch_one(&self.pool)
            .await
            .map_err(spool_error)?;
        Ok(SpoolStatus {
            path: self.path.clone(),
            pending,
            pending_bytes: bytes,
            oldest_age_ms: self.oldest_logged_at().await?.map(age_ms),
            dead: dead.max(0) as u64,
        })
    }

    /// Every dead letter, oldest first.
    pub async fn dead_records(&self) -> Result<Vec<DeadRecord>> {
        type Row = (i64, i64, i64, String, Option<String>, Option<String>);
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT seq, logged_at_ms, failed_at_ms, error, interaction, escalation \
             FROM dead ORDER BY seq",
        )
        .fetch_all(&self.drain_pool)
        .await
        .map_err(spool_error)?;
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
    /// numbers); returns how many were moved.
    pub async fn retry_dead(&self, only: Option<&[i64]>) -> Result<u64> {
        let mut tx = self.pool.begin().await.map_err(spool_error)?;
        let seqs: Vec<i64> = match only {
            Some(seqs) => seqs.to_vec(),
            None => sqlx::query_scalar("SELECT seq FROM dead ORDER BY seq")
                .fetch_all(&mut *tx)
                .await
                .map_err(spool_error)?,
        };
        let mut moved = 0;
        for seq in seqs {
            let done = sqlx::query(
                "INSERT INTO spool (logged_at_ms, interaction, escalation) \
                 SELECT logged_at_ms, interaction, escalation FROM dead WHERE seq = ?",
            )
            .bind(seq)
            .execute(&mut *tx)
            .await
            .map_err(spool_error)?;
            sqlx::query("DELETE FROM dead WHERE seq = ?")
                .bind(seq)
                .execute(&mut *tx)
                .await
                .map_err(spool_error)?;
            moved += done.rows_affected();
        }
        tx.commit().await.map_err(spool_error)?;
        Ok(moved)
    }

    pub(super) async fn pending_size(&self) -> Result<(u64, u64)> {
        let (count, bytes): (i64, i64) =
            sqlx::query_as(
                "SELECT count(*), \
                        coalesce(sum(coalesce(length(interaction), 0) + coalesce(length(escalation), 0)), 0) \
                 FROM spool",
            )
                .fetch_one(&self.pool)
                .await
                .map_err(spool_error)?;
        Ok((count.max(0) as u64, bytes.max(0) as u64))
    }

    /// The last sequence number ever handed out (0 for a new spool).
    pub(super) async fn last_seq(&self) -> Result<i64> {
        let seq: Option<i64> =
            sqlx::query_scalar("SELECT seq FROM sqlite_sequence WHERE name = 'spool'")
                .fetch_optional(&self.pool)
                .await
                .map_err(spool_error)?;
        Ok(seq.unwrap_or(0))
    }

    pub(super) async fn first_pending_seq(&self) -> Result<Option<i64>> {
        sqlx::query_scalar("SELECT min(seq) FROM spool")
            .fetch_one(&self.pool)
            .await
            .map_err(spool_error)
    }

    pub(super) async fn oldest_logged_at(&self) -> Result<Option<i64>> {
        sqlx::query_scalar("SELECT logged_at_ms FROM spool ORDER BY seq LIMIT 1")
            .fetch_optional(&self.pool)
            .await
            .map_err(spool_error)
    }

    /// Appends entries in one transaction (one disk sync); returns the last sequence number.
    async fn append(&self, entries: &[(Option<String>, Option<String>)]) -> Result<i64> {
        let now = now_ms();
        let _writing = self.write_lock.lock().await;
        // One multi-row INSERT per chunk: a single statement is its own transaction, so
        // a group costs one round trip and one sync rather than one per entry.
        let mut last = 0;
        for chunk in entries.chunks(APPEND_CHUNK) {
            let mut sql = QueryBuilder::<Sqlite>::new(
                "INSERT INTO spool (logged_at_ms, interaction, escalation) ",
            );
            sql.push_values(chunk, |mut row, (interaction, escalation)| {
                row.push_bind(now)
                    .push_bind(interaction.as_deref())
                    .push_bind(escalation.as_deref());
            });
            last = sql
                .build()
                .execute(&self.pool)
                .await
                .map_err(spool_error)?
                .last_insert_rowid();
        }
        Ok(last)
    }

    /// The oldest `limit` waiting entries.
    pub(super) async fn fetch(&self, limit: usize) -> Result<Vec<Spooled>> {
        let rows: Vec<(i64, Option<String>, Option<String>)> =
            sqlx::query_as("SELECT seq, interaction, escalation FROM spool ORDER BY seq LIMIT ?")
                .bind(limit as i64)
                .fetch_all(&self.drain_pool)
                .await
                .map_err(spool_error)?;
        Ok(rows
            .into_iter()
            .map(|(seq, interaction, escalation)| Spooled {
                seq,
                interaction,
                escalation,
            })
            .collect())
    }

    /// Removes entries the database acknowledged (a contiguous range of the queue).
    pub(super) async fn remove(&self, first: i64, last: i64) -> Result<()> {
        let _writing = self.write_lock.lock().await;
        sqlx::query("DELETE FROM spool WHERE seq BETWEEN ? AND ?")
            .bind(first)
            .bind(last)
            .execute(&self.drain_pool)
            .await
            .map_err(spool_error)?;
        Ok(())
    }

    /// Copies committed WAL pages into the database file without waiting for readers.
    pub(super) async fn checkpoint(&self) -> Result<()> {
        sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&self.drain_pool)
            .await
            .map_err(spool_error)?;
        Ok(())
    }

    /// Moves an entry to the dead-letter table with the database's reason.
    pub(super) async fn bury(&self, seq: i64, error: &str) -> Result<()> {
        // Dead letters are kept durably: nothing else holds them.
        let _writing = self.write_lock.lock().await;
        let mut tx = self.pool.begin().await.map_err(spool_error)?;
        sqlx::query(
            "INSERT OR REPLACE INTO dead (seq, logged_at_ms, failed_at_ms, error, interaction, escalation) \
             SELECT seq, logged_at_ms, ?, ?, interaction, escalation FROM spool WHERE seq = ?",
        )
        .bind(now_ms())
        .bind(error)
        .bind(seq)
        .execute(&mut *tx)
        .await
        .map_err(spool_error)?;
        sqlx::query("DELETE FROM spool WHERE seq = ?")
            .bind(seq)
            .execute(&mut *tx)
            .await
            .map_err(spool_error)?;
        tx.commit().await.map_err(spool_error)
    }

    /// Closes the file.
    pub(super) async fn close(&self) {
        self.pool.close().await;
        self.drain_pool.close().await;
    }
}

/// The spool writer: folds concurrent appends into one transaction each (group commit).
pub(super) async fn write_loop(
    spool: SpoolFile,
    shared: Arc<Shared>,
    mut requests: mpsc::Receiver<Request>,
) {
    let mut last_seq = spool.last_seq().await.unwrap_or(0);
    while let Some(first) = requests.recv().await {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match requests.try_recv() {
                Ok(next) => group.push(next),
                Err(_) => break,
            }
        }
        let mut entries = Vec::new();
        let mut bytes = 0;
        let mut acks = Vec::new();
        let mut markers = Vec::new();
        for request in group {
            match request {
                Request::Append {
                    interaction,
                    escalation,
                    ack,
                } => {
                    bytes += (interaction.as_ref().map_or(0, String::len)
                        + escalation.as_ref().map_or(0, String::len))
                        as u64;
                    entries.push((interaction, escalation));
                    acks.push(ack);
                }
                Request::Marker { reply } => markers.push(reply),
            }
        }
        if !entries.is_empty() {
            match spool.append(&entries).await {
                Ok(seq) => {
                    last_seq = seq;
                    for ack in acks.into_iter().flatten() {
                        let _ = ack.send(Ok(()));
                    }
                    shared.work.notify_one();
                }
                Err(e) => {
                    tracing::error!(error = %e, "cannot write to the spool");
                    shared
                        .logged
                        .fetch_sub(entries.len() as u64, Ordering::Relaxed);
                    shared.release(entries.len() as u64, bytes);
                    for ack in acks.into_iter().flatten() {
                        let _ = ack.send(Err(Error::Unavailable(format!(
                            "the spool cannot be written: {e}"
                        ))));
                    }
                }
            }
        }
        for reply in markers {
            let _ = reply.send(last_seq);
        }
    }
}

fn lock_file(path: &Path) -> Result<File> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
    }
    let lock_path = path.with_extension("lock");
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| Error::io(format!("cannot open {}", lock_path.display()), e))?;
    file.try_lock().map_err(|_| {
        Error::Config(format!(
            "another logger is draining the spool {} (its lock {} is held)",
            path.display(),
            lock_path.display()
        ))
    })?;
    Ok(file)
}

fn spool_error(e: sqlx::Error) -> Error {
    Error::Unavailable(format!("spool: {e}"))
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Milliseconds since `logged_at_ms`.
pub(super) fn age_ms(logged_at_ms: i64) -> u64 {
    (now_ms() - logged_at_ms).max(0) as u64
}

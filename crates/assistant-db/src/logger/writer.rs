//! The spool writer: one thread, one connection, every write to the spool.
//!
//! Requests queue on a channel; the thread takes whatever has queued while it was busy
//! and commits it as one transaction (group commit), so concurrent `log` calls share one
//! disk sync. Removals of delivered entries and dead letters go through the same thread:
//! with a single writer, no commit ever waits in SQLite's busy handler (which sleeps in
//! whole milliseconds). A group that holds only removals commits without a sync — a
//! removal lost in a crash only means a replay, which client ids make harmless.
//!
//! It also deletes expired dead letters: when it starts, and when asked
//! ([`Request::ExpireDead`]), which the logger does every hour.
//!
//! The writer also checkpoints, between groups. A checkpoint that copies every frame
//! lets the next commit start the WAL file over from its beginning, so commits keep
//! overwriting blocks the file already has; a commit that grows the file must also sync
//! its new size, which costs about a second sync. A checkpoint running beside the
//! writer (on another connection) would rarely catch the WAL with no new frame, and the
//! file would grow for as long as appends keep coming.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::{params, Connection};
use tokio::sync::mpsc::error::TryRecvError;
use tokio::sync::{mpsc, oneshot};

use super::spool::{expire_dead, last_seq, now_ms, open_connection, spool_error, Durability};
use super::Shared;
use crate::error::{Error, Result};

/// Most requests folded into one transaction.
const MAX_GROUP: usize = 8192;

/// The largest the WAL file stays after a burst (SQLite trims it when it starts over).
const WAL_SIZE_LIMIT: i64 = 64 << 20;
const _: () = assert!(WAL_SIZE_LIMIT as u64 >= WAL_ROOM);

/// A request to the writer.
pub(super) enum Request {
    /// Append one entry; `ack` learns once it is on disk.
    Append {
        interaction: Option<String>,
        escalation: Option<String>,
        ack: Option<oneshot::Sender<Result<()>>>,
    },
    /// Reply with the sequence number of the last entry appended so far.
    Marker { reply: oneshot::Sender<i64> },
    /// Remove the entries in `first..=last` (the database has them), of which there
    /// should be `expected`; the reply names those an erasure removed meanwhile.
    Remove {
        first: i64,
        last: i64,
        expected: u64,
        reply: oneshot::Sender<Result<Vec<i64>>>,
    },
    /// Move an entry to the dead-letter table with the database's reason.
    Bury {
        seq: i64,
        error: String,
        reply: oneshot::Sender<Result<()>>,
    },
    /// Delete the dead letters older than the configured time to keep them.
    ExpireDead,
    /// Stop taking requests; write those already queued, then stop.
    Stop,
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the payload: it holds customer text.
        f.write_str(match self {
            Request::Append { .. } => "Append",
            Request::Marker { .. } => "Marker",
            Request::Remove { .. } => "Remove",
            Request::Bury { .. } => "Bury",
            Request::ExpireDead => "ExpireDead",
            Request::Stop => "Stop",
        })
    }
}

impl Request {
    /// Whether committing this request must reach the disk before it is answered.
    fn needs_sync(&self) -> bool {
        matches!(self, Request::Append { .. } | Request::Bury { .. })
    }
}

/// The handle the drain uses to change the spool.
#[derive(Debug, Clone)]
pub(super) struct Writer {
    requests: mpsc::Sender<Request>,
}

impl Writer {
    /// Removes delivered entries `first..=last`, `expected` of them; returns the
    /// sequence numbers of those an erasure removed before (see [`super::erase`]).
    pub async fn remove(&self, first: i64, last: i64, expected: u64) -> Result<Vec<i64>> {
        let (reply, done) = oneshot::channel();
        self.call(
            Request::Remove {
                first,
                last,
                expected,
                reply,
            },
            done,
        )
        .await?
    }

    /// Moves entry `seq` to the dead-letter table.
    pub async fn bury(&self, seq: i64, error: String) -> Result<()> {
        let (reply, done) = oneshot::channel();
        self.call(Request::Bury { seq, error, reply }, done).await?
    }

    async fn call<T>(&self, request: Request, answer: oneshot::Receiver<T>) -> Result<T> {
        self.requests
            .send(request)
            .await
            .map_err(|_| writer_gone())?;
        answer.await.map_err(|_| writer_gone())
    }
}

/// Opens the writer's connection and starts its thread; returns the handle the drain
/// uses and the thread, once the thread has made room in the WAL (before anyone reads
/// the spool meanwhile, which would keep the checkpoint from completing).
pub(super) async fn start(
    path: &Path,
    shared: Arc<Shared>,
    requests: mpsc::Sender<Request>,
    receiver: mpsc::Receiver<Request>,
) -> Result<(Writer, JoinHandle<()>)> {
    let conn = open_connection(path, Durability::Synced)?;
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    let (ready, is_ready) = oneshot::channel();
    let thread = std::thread::Builder::new()
        .name("assistant-db-spool".into())
        .spawn(move || {
            // Nothing is in flight yet: what erasures noted for an earlier logger is moot.
            if let Err(e) = conn.execute("DELETE FROM erased", []) {
                tracing::warn!(error = %e, "cannot clear the spool's erasure notes");
            }
            expire(&conn, &shared);
            if let Err(e) = make_room_in_the_wal(&conn, Path::new(&wal)) {
                tracing::warn!(error = %e, "cannot make room in the spool's WAL");
            }
            let _ = ready.send(());
            run(conn, &shared, receiver)
        })
        .map_err(|e| Error::io("cannot start the spool writer thread", e))?;
    is_ready.await.map_err(|_| writer_gone())?;
    Ok((Writer { requests }, thread))
}

/// Bytes of WAL the writer makes room for when it starts.
const WAL_ROOM: u64 = 16 << 20;

/// Makes the WAL file `WAL_ROOM` long before the first append, so that commits rewrite
/// blocks the file has from the start (see the module's notes). SQLite truncates a WAL
/// it finds without a valid header, so the room is made its way: one transaction
/// writes that many bytes of filler, which is then dropped (its pages go to the spool's
/// free list, for entries to reuse) and checkpointed; the next commit starts the WAL over.
fn make_room_in_the_wal(conn: &Connection, wal: &Path) -> rusqlite::Result<()> {
    if std::fs::metadata(wal).map_or(0, |m| m.len()) >= WAL_ROOM {
        return Ok(());
    }
    conn.execute_batch("CREATE TABLE IF NOT EXISTS wal_room (filler BLOB)")?;
    conn.execute(
        "INSERT INTO wal_room VALUES (zeroblob(?1))",
        [WAL_ROOM as i64],
    )?;
    conn.execute_batch("DROP TABLE wal_room")?;
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
}

/// Deletes the expired dead letters, saying how many (an error only delays them).
fn expire(conn: &Connection, shared: &Shared) {
    let ttl = shared.config.dead_letter_ttl;
    match expire_dead(conn, ttl) {
        Ok(0) => {}
        Ok(n) => tracing::info!(
            deleted = n,
            days = ttl.as_secs() / 86_400,
            "deleted dead letters older than the time they are kept"
        ),
        Err(e) => tracing::warn!(error = %e, "cannot delete expired dead letters"),
    }
}

fn run(mut conn: Connection, shared: &Shared, mut requests: mpsc::Receiver<Request>) {
    let mut durability = Durability::Synced;
    let mut appended = last_seq(&conn).unwrap_or(0);
    let mut checkpoints = Checkpoints::new();
    if let Err(e) = conn.pragma_update(None, "journal_size_limit", WAL_SIZE_LIMIT) {
        tracing::warn!(error = %e, "cannot limit the spool's WAL size");
    }
    loop {
        let first = match requests.try_recv() {
            Ok(request) => request,
            Err(TryRecvError::Empty) => {
                if checkpoints.due_when_idle() {
                    checkpoints.run(&conn);
                }
                match requests.blocking_recv() {
                    Some(request) => request,
                    None => return,
                }
            }
            Err(TryRecvError::Disconnected) => return,
        };
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match requests.try_recv() {
                Ok(next) => group.push(next),
                Err(_) => break,
            }
        }
        let wanted = if group.iter().any(Request::needs_sync) {
            Durability::Synced
        } else {
            Durability::Relaxed
        };
        if wanted != durability {
            match conn.pragma_update(None, "synchronous", wanted.pragma()) {
                Ok(()) => durability = wanted,
                Err(e) => tracing::error!(error = %e, "cannot set the spool's synchronous mode"),
            }
        }
        let stop = group.iter().any(|r| matches!(r, Request::Stop));
        let expire_now = group.iter().any(|r| matches!(r, Request::ExpireDead));
        // Never answer a request whose commit did not reach the required durability.
        let committed = if durability == wanted {
            commit(&mut conn, &group)
        } else {
            Err(Error::Spool("cannot make commits durable".into()))
        };
        match &committed {
            Ok(_) => checkpoints.count(&group),
            // Perhaps the WAL could not grow (a full disk): fold it back into the file
            // now, so that the next commits rewrite it from its start instead.
            Err(_) => checkpoints.run(&conn),
        }
        answer(group, committed, shared, &mut appended);
        if expire_now {
            // Its own transaction, after the group's: it answers nobody.
            expire(&conn, shared);
        }
        if stop {
            // Refuse what comes from now on (`log_nowait` then fails rather than hand
            // over an entry nobody will write), and write what is already queued.
            requests.close();
        }
        if checkpoints.due_when_busy() {
            checkpoints.run(&conn);
        }
    }
}

/// When the writer checkpoints: when it has nothing to do and the WAL holds 250 ms'
/// or a few thousand rows' worth of changes, or regardless once it holds many more.
struct Checkpoints {
    last: Instant,
    /// Rows inserted or deleted since the last checkpoint.
    rows: u64,
}

impl Checkpoints {
    const EVERY: Duration = Duration::from_millis(250);
    const ROWS: u64 = 4_096;
    const ROWS_BUSY: u64 = 32_768;

    fn new() -> Self {
        Checkpoints {
            last: Instant::now(),
            rows: 0,
        }
    }

    fn count(&mut self, group: &[Request]) {
        for request in group {
            self.rows += match request {
                Request::Append { .. } | Request::Bury { .. } => 1,
                Request::Remove { first, last, .. } => (last - first + 1).max(0) as u64,
                Request::Marker { .. } | Request::ExpireDead | Request::Stop => 0,
            };
        }
    }

    fn due_when_idle(&self) -> bool {
        self.rows > 0 && (self.rows >= Self::ROWS || self.last.elapsed() >= Self::EVERY)
    }

    fn due_when_busy(&self) -> bool {
        self.rows >= Self::ROWS_BUSY
    }

    fn run(&mut self, conn: &Connection) {
        if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            tracing::warn!(error = %e, "spool checkpoint failed");
        }
        self.last = Instant::now();
        self.rows = 0;
    }
}

/// What a group's transaction did: the sequence numbers given to its appends, and for
/// each removal the entries an erasure had taken first, in order.
#[derive(Debug, Default)]
struct Committed {
    seqs: Vec<i64>,
    erased: Vec<Vec<i64>>,
}

/// Writes a group in one transaction.
fn commit(conn: &mut Connection, group: &[Request]) -> Result<Committed> {
    let now = now_ms();
    let tx = conn.transaction().map_err(spool_error)?;
    let mut seqs = Vec::new();
    let mut erased = Vec::new();
    for request in group {
        match request {
            Request::Append {
                interaction,
                escalation,
                ..
            } => {
                tx.prepare_cached(
                    "INSERT INTO spool (logged_at_ms, interaction, escalation) VALUES (?1, ?2, ?3)",
                )
                .and_then(|mut s| s.execute(params![now, interaction, escalation]))
                .map_err(spool_error)?;
                seqs.push(tx.last_insert_rowid());
            }
            Request::Remove {
                first,
                last,
                expected,
                ..
            } => {
                let removed = tx
                    .prepare_cached("DELETE FROM spool WHERE seq BETWEEN ?1 AND ?2")
                    .and_then(|mut s| s.execute(params![first, last]))
                    .map_err(spool_error)?;
                // Fewer than were sent: an erasure took some while they were in flight.
                let taken = if (removed as u64) < *expected {
                    erased_between(&tx, *first, *last).map_err(spool_error)?
                } else {
                    Vec::new()
                };
                erased.push(taken);
            }
            Request::Bury { seq, error, .. } => {
                tx.execute(
                    "INSERT OR REPLACE INTO dead \
                         (seq, logged_at_ms, failed_at_ms, error, interaction, escalation) \
                     SELECT seq, logged_at_ms, ?1, ?2, interaction, escalation \
                     FROM spool WHERE seq = ?3",
                    params![now, error, seq],
                )
                .map_err(spool_error)?;
                tx.execute("DELETE FROM spool WHERE seq = ?1", [seq])
                    .map_err(spool_error)?;
            }
            Request::Marker { .. } | Request::ExpireDead | Request::Stop => {}
        }
    }
    tx.commit().map_err(spool_error)?;
    Ok(Committed { seqs, erased })
}

/// The erasure notes in `first..=last`, taken off the table: the drain now knows them.
fn erased_between(conn: &Connection, first: i64, last: i64) -> rusqlite::Result<Vec<i64>> {
    let mut statement =
        conn.prepare_cached("DELETE FROM erased WHERE seq BETWEEN ?1 AND ?2 RETURNING seq")?;
    let seqs = statement
        .query_map(params![first, last], |r| r.get(0))?
        .collect();
    seqs
}

/// Answers every request of a group with the outcome of its commit.
fn answer(group: Vec<Request>, committed: Result<Committed>, shared: &Shared, appended: &mut i64) {
    let failure = committed.as_ref().err().map(|e| match e {
        Error::Spool(detail) => detail.clone(),
        other => other.to_string(),
    });
    if let Ok(Some(&last)) = committed.as_ref().map(|c| c.seqs.last()) {
        *appended = last;
        shared.appended.fetch_max(last, Ordering::AcqRel);
        shared.work.notify_one();
    }
    if let Some(e) = &failure {
        tracing::error!(error = %e, "cannot write to the spool");
        shared.set_error(Some(format!("spool: {e}")));
    }
    let fail = |e: &str| Error::Spool(format!("cannot be written: {e}"));
    let mut erased = committed.map(|c| c.erased.into_iter()).unwrap_or_default();
    for request in group {
        match request {
            Request::Append {
                interaction,
                escalation,
                ack,
            } => {
                if let Some(e) = &failure {
                    let bytes = interaction.as_ref().map_or(0, String::len)
                        + escalation.as_ref().map_or(0, String::len);
                    shared.logged.fetch_sub(1, Ordering::Relaxed);
                    shared.release(1, bytes as u64);
                    match ack {
                        Some(ack) => {
                            let _ = ack.send(Err(fail(e)));
                        }
                        // Nobody waits for this one: count it, so `flush` and the
                        // counters say that it was not spooled.
                        None => {
                            shared.unspooled.fetch_add(1, Ordering::AcqRel);
                        }
                    }
                } else if let Some(ack) = ack {
                    let _ = ack.send(Ok(()));
                }
            }
            Request::Remove { reply, .. } => {
                let _ = reply.send(match &failure {
                    Some(e) => Err(fail(e)),
                    None => Ok(erased.next().unwrap_or_default()),
                });
            }
            Request::Bury { reply, .. } => {
                let _ = reply.send(match &failure {
                    Some(e) => Err(fail(e)),
                    None => Ok(()),
                });
            }
            Request::Marker { reply } => {
                let _ = reply.send(*appended);
            }
            Request::ExpireDead | Request::Stop => {}
        }
    }
}

fn writer_gone() -> Error {
    Error::Unavailable("the logger has been shut down".into())
}

//! A logger that never blocks the assistant and never loses or duplicates a record.
//!
//! `log` validates nothing new (records are valid by construction), appends the record
//! to a durable local spool and returns once it is on disk; concurrent callers share one
//! disk sync (group commit). `log_nowait` hands the record to a bounded in-memory buffer
//! and returns at once; the spool write follows within milliseconds and `flush` covers
//! it. A background task drains the spool in batches to the database, removing records
//! only after the database acknowledged them. Client-generated ids make a replayed batch
//! a no-op for rows already stored, so a crash between "stored" and "removed" duplicates
//! nothing. Records the database refuses for good go to a dead-letter table with their
//! error and never block the queue.
//!
//! The spool is SQLite in WAL mode with `synchronous = FULL` (see [`spool`] for why):
//! crash-safe, one sync per commit, inspectable with the `sqlite3` shell. One thread
//! ([`writer`]) makes every change to it; the drain ([`drain`]) reads on a second
//! connection and keeps a few batches in flight to the database at once.
//!
//! The spool's files are private to their owner (see [`spool`]); dead letters are deleted
//! once older than [`LoggerConfig::dead_letter_ttl`], when the logger starts and every
//! hour while it runs.
//!
//! Every entry point redacts the record's free text with the client's
//! [`Redactor`](crate::redact::Redactor) before it is encoded, so the spool, its WAL and
//! the dead letters never hold what the policy removes; what was redacted is counted per
//! kind in [`LoggerStats::redactions`]. The drain sends spooled records as they are.
//!
//! Several processes may log to one destination at once: each logger claims a spool of
//! its own beside the configured one, and adopts what the spools of processes that are
//! gone still hold (see [`slots`]).

mod drain;
pub mod erase;
pub mod slots;
mod spool;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::future::try_join_all;
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot, watch, Notify};
use tokio::task::JoinHandle;

use crate::error::{Error, Result};
use crate::model::{Escalation, Interaction};
use crate::redact::{Counts, SharedCounts};
use crate::Client;
use writer::Request;

pub use slots::{Slot, MAX_SLOTS};
pub use spool::{DeadRecord, SpoolFile, SpoolStatus};

/// What to do when the spool is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhenFull {
    /// `log` waits up to this long for the drain to make room, then fails with
    /// [`Error::SpoolFull`]; `log_nowait` fails at once.
    Wait(Duration),
    /// Fail at once with [`Error::SpoolFull`].
    Reject,
}

/// Days a dead letter is kept unless configured otherwise.
pub const DEFAULT_DEAD_LETTER_DAYS: u32 = 30;

/// How the logger spools and drains.
#[derive(Debug, Clone)]
pub struct LoggerConfig {
    /// The spool's SQLite file; a logger takes it, or the first free slot beside it when
    /// another process's logger holds it (see [`slots`]).
    pub spool_path: PathBuf,
    /// Records per database write.
    pub batch_size: usize,
    /// Batches on their way to the database at once (at least 1). More than one lets
    /// the database work on a batch while the next one is read and sent; completions
    /// are still acknowledged in order, and an escalation of an earlier entry waits
    /// for every batch before it.
    pub deliveries: usize,
    /// The longest a record waits in the spool before a (partial) batch is sent.
    pub flush_interval: Duration,
    /// Most records the spool (and the in-memory buffer) may hold.
    pub max_records: u64,
    /// Most bytes of record payload the spool may hold.
    pub max_bytes: u64,
    /// Behaviour when either limit is reached.
    pub when_full: WhenFull,
    /// Capacity of the in-memory buffer in front of the spool writer.
    pub buffer: usize,
    /// First retry delay after a retryable failure; doubles up to `max_backoff`.
    pub min_backoff: Duration,
    /// Longest retry delay.
    pub max_backoff: Duration,
    /// How long a dead letter is kept after the database refused it; older ones are
    /// deleted (and counted in [`SpoolStatus::dead_expired`]).
    pub dead_letter_ttl: Duration,
}

/// How often a running logger deletes expired dead letters.
const EXPIRE_EVERY: Duration = Duration::from_secs(3600);

impl LoggerConfig {
    /// Defaults (500 records or 1 s per batch, one million records or 1 GiB of spool,
    /// dead letters kept 30 days).
    pub fn new(spool_path: impl Into<PathBuf>) -> Self {
        LoggerConfig {
            spool_path: spool_path.into(),
            batch_size: 500,
            deliveries: 2,
            flush_interval: Duration::from_secs(1),
            max_records: 1_000_000,
            max_bytes: 1 << 30,
            when_full: WhenFull::Wait(Duration::from_secs(5)),
            buffer: 16_384,
            min_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(30),
            dead_letter_ttl: Duration::from_secs(u64::from(DEFAULT_DEAD_LETTER_DAYS) * 86_400),
        }
    }
}

/// One spooled unit: written to the database together, atomically.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// The interaction, if the entry has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interaction: Option<Interaction>,
    /// The escalation, if the entry has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalation: Option<Escalation>,
}

/// An interaction with the escalations logged along with it, for
/// [`Logger::log_with_escalations`].
#[derive(Debug, Clone, PartialEq)]
pub struct EscalatedInteraction {
    /// The interaction.
    pub interaction: Interaction,
    /// Its escalations, any number; each is attached to the interaction when spooled.
    pub escalations: Vec<Escalation>,
}

/// Counters, as of the moment they were read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LoggerStats {
    /// Entries accepted by `log` / `log_nowait` since the logger started.
    pub logged: u64,
    /// Entries the database acknowledged since the logger started.
    pub stored: u64,
    /// Database writes retried after a retryable failure.
    pub retried: u64,
    /// Entries moved to the dead-letter table since the logger started.
    pub dead: u64,
    /// Entries waiting: in the spool or in the in-memory buffer.
    pub depth: u64,
    /// Age of the oldest entry in the spool, in milliseconds.
    pub oldest_age_ms: Option<u64>,
    /// Entries handed to `log_nowait` that could not be written to the spool (the
    /// spool's error is in `last_error`); the next `flush` fails while this grows.
    pub unspooled: u64,
    /// The last error from the database, while the drain is retrying.
    pub last_error: Option<String>,
    /// Values redacted from accepted entries since the logger started, per kind (never
    /// the values).
    pub redactions: Counts,
}

/// State shared by the handle, the spool writer and the drain.
#[derive(Debug)]
struct Shared {
    config: LoggerConfig,
    logged: AtomicU64,
    stored: AtomicU64,
    retried: AtomicU64,
    dead: AtomicU64,
    /// `log_nowait` entries the writer failed to spool, and how many `flush` reported.
    unspooled: AtomicU64,
    unspooled_reported: AtomicU64,
    /// Sequence number of the last entry the writer committed.
    appended: AtomicI64,
    /// Records reserved against `max_records`: buffered or spooled, not yet drained.
    reserved_records: AtomicU64,
    /// Payload bytes reserved against `max_bytes`.
    reserved_bytes: AtomicU64,
    /// Woken whenever the drain frees space.
    space_freed: Notify,
    /// Woken when the spool gets new entries or a flush is requested.
    work: Notify,
    /// Set while a flush waits, so the drain sends partial batches at once.
    flushing: AtomicU64,
    last_error: std::sync::Mutex<Option<String>>,
    stopping: AtomicBool,
    /// Values redacted from the entries accepted.
    redactions: SharedCounts,
    /// Interactions to delete again from the database: stored from entries an erasure
    /// removed while they were in flight, whose deletion has not succeeded yet.
    owed: std::sync::Mutex<Vec<uuid::Uuid>>,
}

impl Shared {
    /// Reserves room for one entry of `bytes`, or says the spool is full.
    fn try_reserve(&self, bytes: u64) -> bool {
        let records = self.reserved_records.fetch_add(1, Ordering::AcqRel) + 1;
        let total = self.reserved_bytes.fetch_add(bytes, Ordering::AcqRel) + bytes;
        if records > self.config.max_records || total > self.config.max_bytes {
            // Undo quietly: waking waiters here would make them spin on their own refusal.
            self.unreserve(1, bytes);
            return false;
        }
        true
    }

    fn unreserve(&self, records: u64, bytes: u64) {
        self.reserved_records.fetch_sub(records, Ordering::AcqRel);
        self.reserved_bytes.fetch_sub(bytes, Ordering::AcqRel);
    }

    /// Gives back room once entries left the spool, and wakes writers waiting for it.
    fn release(&self, records: u64, bytes: u64) {
        self.unreserve(records, bytes);
        self.space_freed.notify_waiters();
    }

    fn set_error(&self, error: Option<String>) {
        if let Ok(mut last) = self.last_error.lock() {
            *last = error;
        }
    }

    fn last_error(&self) -> Option<String> {
        self.last_error.lock().ok().and_then(|e| e.clone())
    }
}

/// The logger handle; clone it freely, every clone feeds the same spool.
#[derive(Debug, Clone)]
pub struct Logger {
    shared: Arc<Shared>,
    requests: mpsc::Sender<Request>,
    /// Highest sequence number the drain has finished with (stored or dead).
    done_through: watch::Receiver<i64>,
    tasks: Arc<std::sync::Mutex<Tasks>>,
    spool: SpoolFile,
    /// The client whose redactor every entry goes through.
    client: Client,
}

impl Logger {
    /// Opens (or creates) the spool and starts draining it to `client`, resuming
    /// whatever an earlier run left in it.
    pub async fn start(client: Client, config: LoggerConfig) -> Result<Self> {
        let spool = SpoolFile::open(&config.spool_path).await?;
        let (pending_records, pending_bytes) = spool.pending_size().await?;
        let last_seq = spool.last_seq().await?;
        let shared = Arc::new(Shared {
            logged: AtomicU64::new(0),
            stored: AtomicU64::new(0),
            retried: AtomicU64::new(0),
            dead: AtomicU64::new(0),
            unspooled: AtomicU64::new(0),
            unspooled_reported: AtomicU64::new(0),
            appended: AtomicI64::new(last_seq),
            reserved_records: AtomicU64::new(pending_records),
            reserved_bytes: AtomicU64::new(pending_bytes),
            space_freed: Notify::new(),
            work: Notify::new(),
            flushing: AtomicU64::new(0),
            last_error: std::sync::Mutex::new(None),
            stopping: AtomicBool::new(false),
            redactions: SharedCounts::default(),
            owed: std::sync::Mutex::new(Vec::new()),
            config,
        });
        let (requests, receiver) = mpsc::channel(shared.config.buffer.max(1));
        let first_pending = spool.first_pending_seq().await?;
        let (done_tx, done_through) = watch::channel(first_pending.map_or(last_seq, |s| s - 1));
        let (writer, writer_thread) = writer::start(
            spool.path(),
            Arc::clone(&shared),
            requests.clone(),
            receiver,
        )
        .await?;
        let drainer = tokio::spawn(drain::drain_loop(
            spool.clone(),
            writer,
            Arc::clone(&shared),
            client.clone(),
            done_tx,
        ));
        let expirer = tokio::spawn(expire_dead_letters(requests.downgrade()));
        let adopter = tokio::spawn(adopt_orphans(
            Arc::downgrade(&shared),
            spool.path().to_path_buf(),
        ));
        Ok(Logger {
            shared,
            requests,
            done_through,
            tasks: Arc::new(std::sync::Mutex::new(Tasks {
                drainer: Some(drainer),
                expirer: Some(expirer),
                adopter: Some(adopter),
                writer: Some(writer_thread),
            })),
            spool,
            client,
        })
    }

    /// Spools an interaction; `Ok` means it is on disk and will reach the database.
    pub async fn log(&self, interaction: Interaction) -> Result<()> {
        self.log_entry(Entry {
            interaction: Some(interaction),
            escalation: None,
        })
        .await
    }

    /// Spools an escalated interaction with its escalation (written together).
    pub async fn log_escalated(
        &self,
        interaction: Interaction,
        escalation: Escalation,
    ) -> Result<()> {
        let escalation = Escalation {
            interaction_id: Some(interaction.id),
            ..escalation
        };
        self.log_entry(Entry {
            interaction: Some(interaction),
            escalation: Some(escalation),
        })
        .await
    }

    /// Spools a standalone escalation of an interaction logged earlier.
    pub async fn log_escalation(&self, escalation: Escalation) -> Result<()> {
        self.log_entry(Entry {
            interaction: None,
            escalation: Some(escalation),
        })
        .await
    }

    /// Spools interactions, each with any number of escalations, and waits until all
    /// are on disk. Each escalation's `interaction_id` is set to its interaction's id.
    ///
    /// No escalation is spooled before its interaction, so the drain never writes one
    /// whose interaction is not stored yet. On an error some records may already be
    /// spooled: send the same records again (their ids make that harmless).
    pub async fn log_with_escalations(&self, items: Vec<EscalatedInteraction>) -> Result<()> {
        let (first, then) = in_spool_order(items);
        // Appends made together share one disk sync (the spool's group commit).
        try_join_all(first.into_iter().map(|entry| self.log_entry(entry))).await?;
        try_join_all(then.into_iter().map(|entry| self.log_entry(entry))).await?;
        Ok(())
    }

    /// Spools standalone escalations of interactions logged earlier, together, and waits
    /// until all are on disk.
    pub async fn log_escalations(&self, escalations: Vec<Escalation>) -> Result<()> {
        try_join_all(escalations.into_iter().map(|e| self.log_escalation(e))).await?;
        Ok(())
    }

    /// Spools an entry, its free text redacted, and waits until it is on disk.
    pub async fn log_entry(&self, entry: Entry) -> Result<()> {
        let (encoded, counts) = self.encode(entry)?;
        self.reserve(encoded.bytes, true).await?;
        let (ack, on_disk) = oneshot::channel();
        self.send(encoded.into_request(Some(ack))).await?;
        on_disk.await.map_err(|_| stopped())??;
        self.shared.redactions.add(&counts);
        Ok(())
    }

    /// The entry redacted, then encoded for the spool, and what was redacted.
    fn encode(&self, mut entry: Entry) -> Result<(Encoded, Counts)> {
        let redactor = self.client.redactor();
        let mut counts = Counts::default();
        if !redactor.is_off() {
            if let Some(interaction) = &mut entry.interaction {
                counts += redactor.redact_interaction(interaction);
            }
            if let Some(escalation) = &mut entry.escalation {
                counts += redactor.redact_escalation(escalation);
            }
        }
        Ok((Encoded::new(&entry)?, counts))
    }

    /// Hands an interaction to the in-memory buffer and returns at once; it reaches the
    /// spool within milliseconds, and [`flush`](Self::flush) covers it.
    pub fn log_nowait(&self, interaction: Interaction) -> Result<()> {
        self.log_entry_nowait(Entry {
            interaction: Some(interaction),
            escalation: None,
        })
    }

    /// [`log_nowait`](Self::log_nowait) for any entry (its free text redacted first).
    pub fn log_entry_nowait(&self, entry: Entry) -> Result<()> {
        let (encoded, counts) = self.encode(entry)?;
        let bytes = encoded.bytes;
        if !self.shared.try_reserve(bytes) {
            return Err(self.full());
        }
        match self.requests.try_send(encoded.into_request(None)) {
            Ok(()) => {
                self.shared.logged.fetch_add(1, Ordering::Relaxed);
                self.shared.redactions.add(&counts);
                Ok(())
            }
            Err(e) => {
                self.shared.release(1, bytes);
                Err(match e {
                    mpsc::error::TrySendError::Full(_) => Error::SpoolFull(
                        "the in-memory buffer in front of the spool is full; use `log`, which waits".into(),
                    ),
                    mpsc::error::TrySendError::Closed(_) => stopped(),
                })
            }
        }
    }

    /// Waits until everything logged before this call is stored (or dead-lettered).
    pub async fn flush(&self, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        let (reply, last) = oneshot::channel();
        self.send(Request::Marker { reply }).await?;
        let target = last.await.map_err(|_| stopped())?;
        self.shared.flushing.fetch_add(1, Ordering::AcqRel);
        self.shared.work.notify_one();
        let mut done = self.done_through.clone();
        let waited =
            tokio::time::timeout_at(deadline.into(), done.wait_for(|&d| d >= target)).await;
        self.shared.flushing.fetch_sub(1, Ordering::AcqRel);
        match waited {
            Ok(Ok(_)) => self.unspooled_since_last_flush(),
            Ok(Err(_)) => Err(stopped()),
            Err(_) => Err(Error::Unavailable(format!(
                "flush timed out after {timeout:?} with {} entries still spooled{}",
                self.shared.reserved_records.load(Ordering::Acquire),
                self.shared
                    .last_error()
                    .map(|e| format!("; last database error: {e}"))
                    .unwrap_or_default()
            ))),
        }
    }

    /// Fails if `log_nowait` entries could not be spooled since the last flush said so.
    fn unspooled_since_last_flush(&self) -> Result<()> {
        let total = self.shared.unspooled.load(Ordering::Acquire);
        let reported = self.shared.unspooled_reported.swap(total, Ordering::AcqRel);
        if total <= reported {
            return Ok(());
        }
        Err(Error::Spool(format!(
            "{} entries handed to log_nowait could not be written{}",
            total - reported,
            self.shared
                .last_error()
                .map(|e| format!(" (last error: {e})"))
                .unwrap_or_default()
        )))
    }

    /// Flushes, then stops the background tasks and waits, within what is left of
    /// `timeout`, for the work the store runs beside the logged batches (the rollups'
    /// folds). Entries still spooled (after a timeout) stay on disk and are drained by
    /// the next logger on this spool.
    pub async fn shutdown(self, timeout: Duration) -> Result<()> {
        let deadline = tokio::time::Instant::now() + timeout;
        let flushed = self.flush(timeout).await;
        self.shared.stopping.store(true, Ordering::Release);
        self.shared.work.notify_one();
        let (drainer, expirer, adopter, writer) = match self.tasks.lock() {
            Ok(mut tasks) => (
                tasks.drainer.take(),
                tasks.expirer.take(),
                tasks.adopter.take(),
                tasks.writer.take(),
            ),
            Err(_) => (None, None, None, None),
        };
        for task in [drainer, expirer, adopter].into_iter().flatten() {
            task.abort();
            let _ = task.await;
        }
        // The writer finishes what was queued before, then closes its connection.
        if self.requests.send(Request::Stop).await.is_ok() {
            if let Some(writer) = writer {
                let _ = tokio::task::spawn_blocking(move || writer.join()).await;
            }
        }
        // A fold still running after the deadline goes on in the database; should this
        // program exit, what it had not folded stays pending, exact, for the next fold.
        let _ = tokio::time::timeout_at(deadline, self.client.idle()).await;
        flushed
    }

    /// The counters.
    pub async fn stats(&self) -> Result<LoggerStats> {
        let oldest = self.spool.oldest_logged_at().await?;
        Ok(LoggerStats {
            logged: self.shared.logged.load(Ordering::Relaxed),
            stored: self.shared.stored.load(Ordering::Relaxed),
            retried: self.shared.retried.load(Ordering::Relaxed),
            dead: self.shared.dead.load(Ordering::Relaxed),
            unspooled: self.shared.unspooled.load(Ordering::Acquire),
            depth: self.shared.reserved_records.load(Ordering::Acquire),
            oldest_age_ms: oldest.map(spool::age_ms),
            last_error: self.shared.last_error(),
            redactions: self.shared.redactions.get(),
        })
    }

    /// The spool file this logger uses: the configured one, or a slot beside it.
    pub fn spool_path(&self) -> &Path {
        self.spool.path()
    }

    async fn reserve(&self, bytes: u64, may_wait: bool) -> Result<()> {
        let deadline = match self.shared.config.when_full {
            WhenFull::Wait(limit) if may_wait => Some(Instant::now() + limit),
            _ => None,
        };
        loop {
            let freed = self.shared.space_freed.notified();
            if self.shared.try_reserve(bytes) {
                self.shared.logged.fetch_add(1, Ordering::Relaxed);
                return Ok(());
            }
            match deadline {
                Some(deadline) if Instant::now() < deadline => {
                    let _ = tokio::time::timeout_at(deadline.into(), freed).await;
                }
                _ => return Err(self.full()),
            }
        }
    }

    async fn send(&self, request: Request) -> Result<()> {
        self.requests.send(request).await.map_err(|_| stopped())
    }

    fn full(&self) -> Error {
        let c = &self.shared.config;
        Error::SpoolFull(format!(
            "the spool holds its limit ({} records / {} bytes) while the database is behind",
            c.max_records, c.max_bytes
        ))
    }
}

/// The entries of [`Logger::log_with_escalations`] in two waves: every interaction, each
/// with its first escalation (an entry is written atomically), then the further
/// escalations. The spool is first in, first out and the second wave is appended only
/// after the first is on disk, so no escalation precedes its interaction.
fn in_spool_order(items: Vec<EscalatedInteraction>) -> (Vec<Entry>, Vec<Entry>) {
    let mut then = Vec::new();
    let first = items
        .into_iter()
        .map(|item| {
            let id = item.interaction.id;
            let mut escalations = item.escalations.into_iter().map(|escalation| Escalation {
                interaction_id: Some(id),
                ..escalation
            });
            let escalation = escalations.next();
            then.extend(escalations.map(|escalation| Entry {
                interaction: None,
                escalation: Some(escalation),
            }));
            Entry {
                interaction: Some(item.interaction),
                escalation,
            }
        })
        .collect();
    (first, then)
}

/// The logger's background work: the drain task, the dead-letter expiry, the adoption of
/// orphaned spools and the writer thread.
#[derive(Debug)]
struct Tasks {
    drainer: Option<JoinHandle<()>>,
    expirer: Option<JoinHandle<()>>,
    adopter: Option<JoinHandle<()>>,
    writer: Option<std::thread::JoinHandle<()>>,
}

/// Every [`slots::ADOPT_EVERY`], moves into this logger's spool what the spools of
/// processes that are gone still hold (the logger did so once when it started), and
/// hands it to the drain. Holds the logger's state weakly, so that it never outlives it.
///
/// The move commits on a connection of its own: it is rare (a process died, or
/// dead letters of a spool nobody holds were retried), so the writer's single
/// connection is left to the appends.
async fn adopt_orphans(shared: std::sync::Weak<Shared>, own: PathBuf) {
    let mut every = tokio::time::interval(slots::ADOPT_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    every.tick().await;
    loop {
        every.tick().await;
        let Some(base) = shared.upgrade().map(|s| s.config.spool_path.clone()) else {
            return;
        };
        let path = own.clone();
        let adopted = tokio::task::spawn_blocking(move || slots::adopt_orphans(&base, &path)).await;
        let Some(shared) = shared.upgrade() else {
            return;
        };
        match adopted {
            Ok(Ok(adopted)) if adopted.records > 0 => {
                shared
                    .reserved_records
                    .fetch_add(adopted.records, Ordering::AcqRel);
                shared
                    .reserved_bytes
                    .fetch_add(adopted.bytes, Ordering::AcqRel);
                shared
                    .appended
                    .fetch_max(adopted.last_seq, Ordering::AcqRel);
                shared.work.notify_one();
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "cannot adopt the spools of processes that are gone")
            }
            Err(e) => tracing::warn!(error = %e, "the adoption of orphaned spools failed"),
        }
    }
}

/// Asks the writer to delete expired dead letters every [`EXPIRE_EVERY`] (it also does
/// when it starts). Holds the channel weakly, so that it never keeps a writer alive
/// whose logger is gone.
async fn expire_dead_letters(requests: mpsc::WeakSender<Request>) {
    let mut every = tokio::time::interval(EXPIRE_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The first tick is immediate, and the writer has just expired on its start.
    every.tick().await;
    loop {
        every.tick().await;
        let Some(requests) = requests.upgrade() else {
            return;
        };
        if requests.send(Request::ExpireDead).await.is_err() {
            return;
        }
    }
}

/// An entry encoded for the spool: each record as the spec's JSON dict.
struct Encoded {
    interaction: Option<String>,
    escalation: Option<String>,
    bytes: u64,
}

impl Encoded {
    fn new(entry: &Entry) -> Result<Self> {
        if entry.interaction.is_none() && entry.escalation.is_none() {
            return Err(crate::model::ValidationError::new(
                "entry",
                "must hold an interaction or an escalation",
            )
            .into());
        }
        let interaction = entry.interaction.as_ref().map(to_json).transpose()?;
        let escalation = entry.escalation.as_ref().map(to_json).transpose()?;
        let bytes = (interaction.as_ref().map_or(0, String::len)
            + escalation.as_ref().map_or(0, String::len)) as u64;
        Ok(Encoded {
            interaction,
            escalation,
            bytes,
        })
    }

    fn into_request(self, ack: Option<oneshot::Sender<Result<()>>>) -> Request {
        Request::Append {
            interaction: self.interaction,
            escalation: self.escalation,
            ack,
        }
    }
}

fn to_json<T: Serialize>(record: &T) -> Result<String> {
    serde_json::to_string(record).map_err(|e| Error::Database {
        code: None,
        message: format!("cannot encode the record: {e}"),
    })
}

fn stopped() -> Error {
    Error::Unavailable("the logger has been shut down".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AssistantMode, Outcome};

    fn escalated(n: usize) -> EscalatedInteraction {
        let interaction =
            Interaction::new(AssistantMode::Banker, "q", Outcome::Escalated).expect("valid");
        let escalations = (0..n)
            .map(|i| {
                Escalation::new(uuid::Uuid::now_v7(), "human_only", &format!("reason {i}"))
                    .expect("valid")
            })
            .collect();
        EscalatedInteraction {
            interaction,
            escalations,
        }
    }

    #[test]
    fn no_escalation_is_spooled_before_its_interaction() {
        let items = vec![escalated(3), escalated(0), escalated(1)];
        let ids: Vec<_> = items.iter().map(|i| i.interaction.id).collect();
        let (first, then) = in_spool_order(items);
        // Every interaction is in the first wave, in order, with at most one escalation.
        let firsts: Vec<_> = first
            .iter()
            .map(|e| e.interaction.as_ref().map(|i| i.id))
            .collect();
        assert_eq!(firsts, ids.iter().copied().map(Some).collect::<Vec<_>>());
        let attached: Vec<_> = first.iter().map(|e| e.escalation.is_some()).collect();
        assert_eq!(attached, [true, false, true]);
        // The rest come after, alone, each pointing at its interaction.
        assert_eq!(then.len(), 2);
        assert!(then
            .iter()
            .all(|e| e.interaction.is_none() && e.escalation.is_some()));
        let owners: Vec<_> = first
            .iter()
            .chain(&then)
            .filter_map(|e| e.escalation.as_ref())
            .map(|e| e.interaction_id)
            .collect();
        assert_eq!(
            owners,
            [Some(ids[0]), Some(ids[2]), Some(ids[0]), Some(ids[0])]
        );
    }
}

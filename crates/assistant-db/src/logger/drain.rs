//! The drain: moves spooled entries to the database in batches, retrying what may
//! succeed later and dead-lettering what the database refuses for good.
//!
//! Up to `deliveries` batches are on their way at once: while the database stores one,
//! the next is read from the spool and sent. Batches finish in any order but are
//! acknowledged in order, so `done` (everything up to it is stored or dead) only moves
//! forward over a contiguous prefix. A batch holding an escalation of an interaction
//! logged earlier waits until every batch before it is done, as it would in a single
//! line. After a retryable failure the drain lets the other batches finish, backs off,
//! and reads the spool again from the first entry not yet done: what was stored in the
//! meantime is no longer there, and the rest is sent again.
//!
//! An erasure may remove entries of a batch while it is on its way (see [`super::erase`]).
//! Once the batch's outcome is known, entries that left the spool that way are deleted
//! from the database again, whatever of them was stored; a deletion that fails is kept
//! and retried before the next batch.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use backon::{BackoffBuilder, ExponentialBackoff, ExponentialBuilder};
use futures_util::stream::{FuturesOrdered, StreamExt};
use serde_json::Value;
use tokio::sync::watch;
use uuid::Uuid;

use super::spool::{age_ms, SpoolFile, Spooled};
use super::writer::Writer;
use super::Shared;
use crate::error::{Error, Result};
use crate::store::EncodedEntry;
use crate::Client;

/// What became of a batch: the last sequence number finished with, or the retryable
/// error with how far it got.
type Outcome = std::result::Result<i64, (Option<i64>, Error)>;

type Delivery = Pin<Box<dyn Future<Output = Outcome> + Send>>;

/// The drain's state between batches.
struct Drain {
    spool: SpoolFile,
    writer: Writer,
    shared: Arc<Shared>,
    client: Client,
    done: watch::Sender<i64>,
    /// Every entry up to here has been read into a batch (done or in flight).
    cursor: i64,
    in_flight: FuturesOrdered<Delivery>,
    /// The pauses between consecutive failed attempts; reset by a success.
    pauses: Option<ExponentialBackoff>,
    /// When the oldest unread entry of a partial batch is due, once looked up.
    partial_due: Option<Instant>,
}

/// Drains until the logger stops.
pub(super) async fn drain_loop(
    spool: SpoolFile,
    writer: Writer,
    shared: Arc<Shared>,
    client: Client,
    done: watch::Sender<i64>,
) {
    let cursor = *done.borrow();
    let mut drain = Drain {
        spool,
        writer,
        shared,
        client,
        done,
        cursor,
        in_flight: FuturesOrdered::new(),
        pauses: None,
        partial_due: None,
    };
    drain.run().await;
}

impl Drain {
    async fn run(&mut self) {
        let depth = self.shared.config.deliveries.max(1);
        loop {
            if self.shared.stopping.load(Ordering::Acquire) {
                return;
            }
            settle_owed(&self.client, &self.shared).await;
            if let Err(e) = self.fill(depth).await {
                self.fail(None, e).await;
                continue;
            }
            if self.in_flight.is_empty() {
                self.idle().await;
                continue;
            }
            let work = self.shared.work.notified();
            tokio::select! {
                Some(outcome) = self.in_flight.next() => {
                    self.settle(outcome).await;
                }
                _ = work, if self.in_flight.len() < depth => {}
            }
        }
    }

    /// Starts batches until `depth` are in flight or none is ready.
    async fn fill(&mut self, depth: usize) -> Result<()> {
        while self.in_flight.len() < depth {
            let appended = self.shared.appended.load(Ordering::Acquire);
            if appended <= self.cursor {
                self.partial_due = None;
                return Ok(());
            }
            if !self.due(appended).await? {
                return Ok(());
            }
            let batch = self
                .spool
                .fetch(self.cursor, self.shared.config.batch_size)
                .await?;
            let Some(last) = batch.last().map(|e| e.seq) else {
                // Nothing after the cursor although the writer got further: those
                // entries left the spool some other way (`spool` commands).
                self.cursor = self.cursor.max(appended);
                self.partial_due = None;
                if self.in_flight.is_empty() {
                    self.acknowledge_idle();
                }
                return Ok(());
            };
            if batch.iter().any(Spooled::depends_on_earlier) {
                // It may name an interaction of an earlier batch: let those finish.
                while let Some(outcome) = self.in_flight.next().await {
                    if !self.settle(outcome).await {
                        return Ok(()); // The batch is read again after the backoff.
                    }
                }
            }
            self.cursor = last;
            self.partial_due = None;
            self.in_flight.push_back(Box::pin(deliver(
                self.writer.clone(),
                self.spool.clone(),
                Arc::clone(&self.shared),
                self.client.clone(),
                batch,
            )));
        }
        Ok(())
    }

    /// Whether the entries after the cursor make a batch to send now: a full one, a
    /// partial one whose oldest entry waited `flush_interval`, or any during a flush.
    async fn due(&mut self, appended: i64) -> Result<bool> {
        let config = &self.shared.config;
        let waiting = (appended - self.cursor).max(0) as u64;
        if waiting >= config.batch_size as u64 || self.shared.flushing.load(Ordering::Acquire) > 0 {
            return Ok(true);
        }
        let due = match self.partial_due {
            Some(due) => due,
            None => {
                let Some(logged_at) = self.spool.logged_at_after(self.cursor).await? else {
                    return Ok(true); // Nothing there: the fetch finds out and moves on.
                };
                let age = Duration::from_millis(age_ms(logged_at));
                let due = Instant::now() + config.flush_interval.saturating_sub(age);
                self.partial_due = Some(due);
                due
            }
        };
        Ok(Instant::now() >= due)
    }

    /// Records what became of the oldest batch in flight; false after a failure.
    async fn settle(&mut self, outcome: Outcome) -> bool {
        match outcome {
            Ok(last) => {
                self.pauses = None;
                self.shared.set_error(None);
                if self.in_flight.is_empty() {
                    self.acknowledge_idle();
                } else {
                    self.done.send_if_modified(|d| advance(d, last));
                }
                true
            }
            Err((got_to, e)) => {
                self.fail(got_to, e).await;
                false
            }
        }
    }

    /// With nothing in flight, everything read so far is done.
    fn acknowledge_idle(&self) {
        let cursor = self.cursor;
        self.done.send_if_modified(|d| advance(d, cursor));
    }

    /// After a retryable failure: lets the other batches finish, backs off, and rewinds
    /// to the first entry not yet done.
    async fn fail(&mut self, got_to: Option<i64>, error: Error) {
        if let Some(last) = got_to {
            self.done.send_if_modified(|d| advance(d, last));
        }
        // What the others stored has left the spool; `done` cannot pass the failed
        // batch, and moves on once that one is stored.
        while self.in_flight.next().await.is_some() {}
        self.cursor = *self.done.borrow();
        self.partial_due = None;
        self.shared.retried.fetch_add(1, Ordering::Relaxed);
        self.shared.set_error(Some(error.to_string()));
        if needs_an_operator(&error) {
            tracing::error!(error = %error, "the database refuses the logger's writes until its setup is fixed (key, grants or migrations); entries stay in the spool and are retried");
        } else {
            tracing::warn!(error = %error, "database write failed; retrying");
        }
        self.backoff().await;
    }

    /// Waits for new entries, a flush, or the partial batch's deadline. The wait is
    /// bounded so that entries appended by another process (`spool retry`) are found.
    async fn idle(&mut self) {
        let interval = self.shared.config.flush_interval;
        let wait = self
            .partial_due
            .map_or(interval, |due| {
                due.saturating_duration_since(Instant::now())
            })
            .min(interval);
        let woken = tokio::time::timeout(wait, self.shared.work.notified()).await;
        if woken.is_err() {
            // A quiet spell: look for entries the writer did not append.
            if let Ok(seq) = self.spool.last_seq().await {
                self.shared.appended.fetch_max(seq, Ordering::AcqRel);
            }
        }
    }

    /// Sleeps for an exponentially growing, jittered delay, from the configured least to
    /// the configured most, for as long as the failures go on.
    async fn backoff(&mut self) {
        let config = &self.shared.config;
        let pauses = self.pauses.get_or_insert_with(|| {
            ExponentialBuilder::new()
                .with_min_delay(config.min_backoff)
                .with_max_delay(config.max_backoff)
                .without_max_times()
                .with_jitter()
                .build()
        });
        let pause = pauses.next().unwrap_or(config.max_backoff);
        tokio::time::sleep(pause.min(config.max_backoff)).await;
    }
}

/// Moves `done` forward to `to`, never back.
fn advance(done: &mut i64, to: i64) -> bool {
    if to > *done {
        *done = to;
        true
    } else {
        false
    }
}

/// Writes a batch; on a record-level refusal, writes its entries one by one so only the
/// poison ones are dead-lettered.
async fn deliver(
    writer: Writer,
    spool: SpoolFile,
    shared: Arc<Shared>,
    client: Client,
    batch: Vec<Spooled>,
) -> Outcome {
    let Some(last) = batch.last() else {
        return Err((None, Error::Unavailable("empty batch".into())));
    };
    match write(&client, &batch).await {
        Ok(()) => {
            finish(&writer, &shared, &client, &batch)
                .await
                .map_err(|e| (None, e))?;
            return Ok(last.seq);
        }
        Err(e) if !is_record_error(&e) => {
            // The write may have been stored all the same (an answer lost on the way).
            undo_erased(&spool, &shared, &client, &batch).await;
            return Err((None, e));
        }
        Err(_) => {} // Find the poison entries one by one below.
    }
    let mut done = None;
    for (n, entry) in batch.iter().enumerate() {
        match write(&client, std::slice::from_ref(entry)).await {
            Ok(()) => finish(&writer, &shared, &client, std::slice::from_ref(entry))
                .await
                .map_err(|e| (done, e))?,
            Err(e) if is_record_error(&e) => {
                tracing::error!(seq = entry.seq, error = %e, "the database refused a record; it is in the dead-letter table");
                writer
                    .bury(entry.seq, e.to_string())
                    .await
                    .map_err(|e| (done, e))?;
                shared.dead.fetch_add(1, Ordering::Relaxed);
                shared.release(1, entry.bytes());
            }
            Err(e) => {
                undo_erased(&spool, &shared, &client, &batch[n..]).await;
                return Err((done, e));
            }
        }
        done = Some(entry.seq);
    }
    Ok(last.seq)
}

/// Writes entries through the client's store, in one atomic write per request.
async fn write(client: &Client, entries: &[Spooled]) -> Result<()> {
    let encoded: Vec<EncodedEntry<'_>> = entries
        .iter()
        .map(|e| EncodedEntry {
            interaction: e.interaction.as_deref(),
            escalation: e.escalation.as_deref(),
        })
        .collect();
    client.log_encoded(&encoded).await?;
    Ok(())
}

/// Removes delivered entries from the spool and counts them; deletes again from the
/// database those an erasure removed while they were in flight.
async fn finish(
    writer: &Writer,
    shared: &Shared,
    client: &Client,
    entries: &[Spooled],
) -> Result<()> {
    let (Some(first), Some(last)) = (entries.first(), entries.last()) else {
        return Ok(());
    };
    let records = entries.len() as u64;
    let erased = writer.remove(first.seq, last.seq, records).await?;
    let bytes = entries.iter().map(Spooled::bytes).sum();
    shared
        .stored
        .fetch_add(records - erased.len() as u64, Ordering::Relaxed);
    shared.release(records, bytes);
    if !erased.is_empty() {
        let taken: Vec<&Spooled> = entries.iter().filter(|e| erased.contains(&e.seq)).collect();
        delete_again(client, shared, &taken).await;
    }
    Ok(())
}

/// After a failed write of `entries` (which may have been stored nonetheless): deletes
/// again those an erasure removed from the spool meanwhile.
async fn undo_erased(spool: &SpoolFile, shared: &Shared, client: &Client, entries: &[Spooled]) {
    let (Some(first), Some(last)) = (entries.first(), entries.last()) else {
        return;
    };
    match spool.erased_between(first.seq, last.seq).await {
        Ok(erased) if erased.is_empty() => {}
        Ok(erased) => {
            let taken: Vec<&Spooled> = entries.iter().filter(|e| erased.contains(&e.seq)).collect();
            delete_again(client, shared, &taken).await;
        }
        Err(e) => tracing::warn!(error = %e, "cannot read the spool's erasure notes"),
    }
}

/// Deletes from the database the interactions of erased entries (for an escalation
/// alone, its interaction, which the erasure also covered); what fails is owed.
async fn delete_again(client: &Client, shared: &Shared, entries: &[&Spooled]) {
    let ids: Vec<Uuid> = entries.iter().filter_map(|e| interaction_of(e)).collect();
    let mut owed = Vec::new();
    for id in ids {
        if let Err(e) = client.delete_interaction(id).await {
            tracing::warn!(error = %e, "cannot delete an erased entry from the database yet; retrying");
            owed.push(id);
        }
    }
    tracing::info!(
        entries = entries.len(),
        "deleted again what the database stored of entries erased while on their way"
    );
    if !owed.is_empty() {
        if let Ok(mut list) = shared.owed.lock() {
            list.extend(owed);
        }
    }
}

/// Retries the deletions that failed before; keeps those that fail again.
async fn settle_owed(client: &Client, shared: &Shared) {
    let owed: Vec<Uuid> = match shared.owed.lock() {
        Ok(mut list) if !list.is_empty() => std::mem::take(&mut *list),
        _ => return,
    };
    let mut still = Vec::new();
    for id in owed {
        match client.delete_interaction(id).await {
            Ok(_) => {}
            // This key may not delete: retrying cannot help (nor can it be said which
            // interaction without naming it in the log).
            Err(Error::PermissionDenied(_)) => {
                tracing::error!("the logger's key may not delete an erased interaction it stored; run `assistant-db forget` again with the secret key");
            }
            Err(_) => still.push(id),
        }
    }
    if !still.is_empty() {
        if let Ok(mut list) = shared.owed.lock() {
            list.extend(still);
        }
    }
}

/// The interaction an entry wrote: its own, or for an escalation alone the one it names.
fn interaction_of(entry: &Spooled) -> Option<Uuid> {
    let (json, key) = match (&entry.interaction, &entry.escalation) {
        (Some(interaction), _) => (interaction, "id"),
        (None, Some(escalation)) => (escalation, "interaction_id"),
        (None, None) => return None,
    };
    serde_json::from_str::<Value>(json)
        .ok()?
        .get(key)?
        .as_str()?
        .parse()
        .ok()
}

/// True when retrying cannot help until someone fixes the setup: a key the server
/// refuses, missing rights, or a schema without the tables and functions the logger
/// writes to. The entries are kept and retried all the same: nothing is lost meanwhile.
fn needs_an_operator(error: &Error) -> bool {
    match error {
        Error::Auth(_)
        | Error::PermissionDenied(_)
        | Error::Config(_)
        | Error::NotMigrated { .. } => true,
        Error::Database {
            code: Some(code), ..
        } => matches!(code.as_str(), "42703" | "3D000" | "28000" | "28P01"),
        _ => false,
    }
}

/// True when the database refused the record itself: retrying it cannot help.
fn is_record_error(error: &Error) -> bool {
    match error {
        Error::Validation(_)
        | Error::CheckViolation { .. }
        | Error::ForeignKey { .. }
        | Error::Duplicate { .. }
        | Error::NotNull { .. } => true,
        Error::Database {
            code: Some(code), ..
        } => code.starts_with("22") || code.starts_with("23"),
        _ => false,
    }
}

//! The drain: moves spooled entries to the database in batches, retrying what may
//! succeed later and dead-lettering what the database refuses for good.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::spool::{age_ms, SpoolFile, Spooled};
use super::Shared;
use crate::error::{Error, Result};
use crate::Client;

/// Drains until the logger stops.
pub(super) async fn drain_loop(
    spool: SpoolFile,
    shared: Arc<Shared>,
    client: Client,
    done: watch::Sender<i64>,
) {
    let mut attempt: u32 = 0;
    let mut checkpointed = std::time::Instant::now();
    loop {
        if shared.stopping.load(Ordering::Acquire) {
            return;
        }
        // The writer never checkpoints (it must only sync): fold the WAL back here.
        if checkpointed.elapsed() >= Duration::from_secs(1) {
            if let Err(e) = spool.checkpoint().await {
                tracing::warn!(error = %e, "spool checkpoint failed");
            }
            checkpointed = std::time::Instant::now();
        }
        let batch = match spool.fetch(shared.config.batch_size).await {
            Ok(batch) => batch,
            Err(e) => {
                shared.set_error(Some(e.to_string()));
                backoff(&shared, &mut attempt).await;
                continue;
            }
        };
        if batch.is_empty() {
            wait_for_work(&shared, shared.config.flush_interval).await;
            continue;
        }
        let partial = batch.len() < shared.config.batch_size;
        if partial && shared.flushing.load(Ordering::Acquire) == 0 {
            // Let a partial batch fill up until its oldest entry is `flush_interval` old.
            let age = Duration::from_millis(oldest_age(&spool).await);
            if let Some(wait) = shared
                .config
                .flush_interval
                .checked_sub(age)
                .filter(|w| !w.is_zero())
            {
                wait_for_work(&shared, wait).await;
                continue;
            }
        }
        match deliver(&spool, &shared, &client, &batch).await {
            Ok(last) => {
                attempt = 0;
                shared.set_error(None);
                done.send_replace(last);
            }
            Err((last, e)) => {
                if let Some(last) = last {
                    done.send_replace(last);
                }
                shared.retried.fetch_add(1, Ordering::Relaxed);
                shared.set_error(Some(e.to_string()));
                tracing::warn!(error = %e, "database write failed; retrying");
                backoff(&shared, &mut attempt).await;
            }
        }
    }
}

/// Writes a batch; on a record-level refusal, writes its entries one by one so only the
/// poison ones are dead-lettered. Returns the last sequence number finished with, or the
/// retryable error (with how far it got).
async fn deliver(
    spool: &SpoolFile,
    shared: &Shared,
    client: &Client,
    batch: &[Spooled],
) -> std::result::Result<i64, (Option<i64>, Error)> {
    let (Some(first), Some(last)) = (batch.first(), batch.last()) else {
        return Err((None, Error::Unavailable("empty batch".into())));
    };
    match write(client, batch).await {
        Ok(()) => {
            let bytes = batch.iter().map(Spooled::bytes).sum();
            finish(
                spool,
                shared,
                first.seq,
                last.seq,
                batch.len() as u64,
                bytes,
            )
            .await
            .map_err(|e| (None, e))?;
            return Ok(last.seq);
        }
        Err(e) if !is_record_error(&e) => return Err((None, e)),
        Err(_) => {} // Find the poison entries one by one below.
    }
    let mut done = None;
    for entry in batch {
        match write(client, std::slice::from_ref(entry)).await {
            Ok(()) => finish(spool, shared, entry.seq, entry.seq, 1, entry.bytes())
                .await
                .map_err(|e| (done, e))?,
            Err(e) if is_record_error(&e) => {
                tracing::error!(seq = entry.seq, error = %e, "the database refused a record; it is in the dead-letter table");
                spool
                    .bury(entry.seq, &e.to_string())
                    .await
                    .map_err(|e| (done, e))?;
                shared.dead.fetch_add(1, Ordering::Relaxed);
                shared.release(1, entry.bytes());
            }
            Err(e) => return Err((done, e)),
        }
        done = Some(entry.seq);
    }
    Ok(last.seq)
}

/// Sends entries as two JSON arrays, joined from the spooled text without re-encoding.
async fn write(client: &Client, entries: &[Spooled]) -> Result<()> {
    let join = |parts: Vec<&str>| format!("[{}]", parts.join(","));
    let interactions = join(
        entries
            .iter()
            .filter_map(|e| e.interaction.as_deref())
            .collect(),
    );
    let escalations = join(
        entries
            .iter()
            .filter_map(|e| e.escalation.as_deref())
            .collect(),
    );
    client
        .log_json(&interactions, &escalations)
        .await
        .map(|_| ())
}

async fn finish(
    spool: &SpoolFile,
    shared: &Shared,
    first: i64,
    last: i64,
    records: u64,
    bytes: u64,
) -> Result<()> {
    spool.remove(first, last).await?;
    shared.stored.fetch_add(records, Ordering::Relaxed);
    shared.release(records, bytes);
    Ok(())
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

async fn oldest_age(spool: &SpoolFile) -> u64 {
    match spool.oldest_logged_at().await {
        Ok(Some(at)) => age_ms(at),
        _ => 0,
    }
}

async fn wait_for_work(shared: &Shared, at_most: Duration) {
    let _ = tokio::time::timeout(at_most, shared.work.notified()).await;
}

/// Sleeps for an exponentially growing, jittered delay (in [d/2, d]).
async fn backoff(shared: &Shared, attempt: &mut u32) {
    let base = shared
        .config
        .min_backoff
        .saturating_mul(1u32 << (*attempt).min(16));
    let ceiling = base.min(shared.config.max_backoff);
    *attempt = attempt.saturating_add(1);
    let half = ceiling / 2;
    let jitter = half.mul_f64(rand::random::<f64>());
    tokio::time::sleep(half + jitter).await;
}

//! The drain: moves spooled entries to the database in batches, retrying what may
//! succeed later and dead-lettering what the database refuses for good.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::spool::{age_ms, SpoolFile, Spooled};
use super::{Entry, Shared};
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
    loop {
        if shared.stopping.load(Ordering::Acquire) {
            return;
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
    let decoded: Vec<(i64, u64, std::result::Result<Entry, String>)> = batch
        .iter()
        .map(|s| {
            let entry = serde_json::from_slice::<Entry>(&s.payload)
                .map_err(|e| format!("unreadable spool entry: {e}"));
            (s.seq, s.payload.len() as u64, entry)
        })
        .collect();
    if decoded.iter().all(|(_, _, e)| e.is_ok()) {
        let entries: Vec<&Entry> = decoded
            .iter()
            .filter_map(|(_, _, e)| e.as_ref().ok())
            .collect();
        match write(client, &entries).await {
            Ok(()) => {
                let seqs: Vec<i64> = decoded.iter().map(|(seq, _, _)| *seq).collect();
                let bytes = decoded.iter().map(|(_, b, _)| b).sum();
                finish(spool, shared, &seqs, bytes)
                    .await
                    .map_err(|e| (None, e))?;
                return Ok(*seqs.last().unwrap_or(&0));
            }
            Err(e) if !is_record_error(&e) => return Err((None, e)),
            Err(_) => {} // Find the poison entries one by one below.
        }
    }
    let mut last = None;
    for (seq, bytes, entry) in decoded {
        let refusal = match entry {
            Err(reason) => Some(reason),
            Ok(entry) => match write(client, &[&entry]).await {
                Ok(()) => None,
                Err(e) if is_record_error(&e) => Some(e.to_string()),
                Err(e) => return Err((last, e)),
            },
        };
        match refusal {
            None => finish(spool, shared, &[seq], bytes)
                .await
                .map_err(|e| (last, e))?,
            Some(reason) => {
                tracing::error!(seq, error = %reason, "the database refused a record; it is in the dead-letter table");
                spool.bury(seq, &reason).await.map_err(|e| (last, e))?;
                shared.dead.fetch_add(1, Ordering::Relaxed);
                shared.release(1, bytes);
            }
        }
        last = Some(seq);
    }
    last.ok_or_else(|| (None, Error::Unavailable("empty batch".into())))
}

async fn write(client: &Client, entries: &[&Entry]) -> Result<()> {
    let interactions: Vec<_> = entries
        .iter()
        .filter_map(|e| e.interaction.clone())
        .collect();
    let escalations: Vec<_> = entries
        .iter()
        .filter_map(|e| e.escalation.clone())
        .collect();
    client.log(&interactions, &escalations).await.map(|_| ())
}

async fn finish(spool: &SpoolFile, shared: &Shared, seqs: &[i64], bytes: u64) -> Result<()> {
    spool.remove(seqs).await?;
    shared
        .stored
        .fetch_add(seqs.len() as u64, Ordering::Relaxed);
    shared.release(seqs.len() as u64, bytes);
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

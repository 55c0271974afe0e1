//! Folding the rollups' deltas beside an import's and a logger's batches (migration 015).
//!
//! A staged batch ([`super::copy::Staging`]) commits in its turn, after the batches
//! before it; had its statement folded the pending deltas (0.2–0.45 s), the batches
//! behind it would wait idle. A logger's batch ([`PgStore::log_copy`]) is acknowledged in
//! order too, and the next batch is read only when one is acknowledged. So both set
//! `assistant_db.fold = 'elsewhere'` and this store folds instead, on a connection of its
//! own, once about [`FOLD_ROWS`] rows of such batches have been committed since the last
//! fold, one fold at a time, never waited for.
//! When the database cannot (before migration 015, or a role without the right to fold)
//! or a fold fails, the batches fold in their own statements as every writer does.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use sqlx::{Executor, PgConnection, PgPool};
use tokio::sync::OnceCell;

use crate::error::Result;

/// Rows of such batches committed between two folds: the triggers' own rule (migration 012).
const FOLD_ROWS: u64 = 16_000;

/// Whether the database folds on request, and whether this store may ask it (a role
/// without use of the schema must not even look the function up: that is an error).
const CAN_FOLD: &str = "SELECT CASE WHEN EXISTS (SELECT FROM pg_catalog.pg_namespace AS n \
         WHERE n.nspname = 'assistant_db' AND pg_catalog.has_schema_privilege(n.oid, 'USAGE')) \
     THEN coalesce(pg_catalog.has_function_privilege(\
         pg_catalog.to_regprocedure('assistant_db.rollups_fold()'), 'EXECUTE'), false) \
     ELSE false END";

/// What makes a transaction leave its fold to this store.
const FOLD_ELSEWHERE: &str = "SET LOCAL assistant_db.fold = 'elsewhere'";

/// The folds of one store (shared by its clones).
#[derive(Debug, Default)]
pub(super) struct Folds {
    /// Whether the batches leave their folds to this store: asked once.
    elsewhere: OnceCell<bool>,
    /// Set after a fold failed: the batches fold in their statements again.
    gave_up: AtomicBool,
    /// Rows of the batches committed since the last fold began.
    since: AtomicU64,
    /// A fold of this store is running.
    running: AtomicBool,
}

impl Folds {
    /// Prepares a batch's transaction: leaves its fold to this store when it can.
    pub(super) async fn prepare(&self, pool: &PgPool, tx: &mut PgConnection) -> Result<()> {
        let elsewhere = *self
            .elsewhere
            .get_or_init(|| async {
                // Not knowing leaves the folds in the batches, as before migration 015.
                sqlx::query_scalar::<_, bool>(CAN_FOLD)
                    .fetch_one(pool)
                    .await
                    .unwrap_or_else(|err| {
                        tracing::debug!(error = %err, "cannot tell whether the rollups fold on request");
                        false
                    })
            })
            .await;
        if elsewhere && !self.gave_up.load(Ordering::Relaxed) {
            tx.execute(FOLD_ELSEWHERE).await?;
        }
        Ok(())
    }

    /// Counts `rows` committed by a batch; starts a fold when they are due and none
    /// of this store's is running.
    pub(super) fn committed(self: &Arc<Self>, pool: &PgPool, rows: u64) {
        if self.elsewhere.get() != Some(&true) || self.gave_up.load(Ordering::Relaxed) {
            return;
        }
        if self.since.fetch_add(rows, Ordering::Relaxed) + rows < FOLD_ROWS
            || self.running.swap(true, Ordering::AcqRel)
        {
            return;
        }
        self.since.store(0, Ordering::Relaxed);
        let (folds, pool) = (Arc::clone(self), pool.clone());
        tokio::spawn(async move {
            let folded = sqlx::query_scalar::<_, bool>("SELECT assistant_db.rollups_fold()")
                .fetch_one(&pool)
                .await;
            if let Err(err) = folded {
                // What is pending stays exact; the batches fold in their statements again.
                tracing::warn!(error = %err, "folding the rollups beside the batches failed; \
                                              the batches fold them from now on");
                folds.gave_up.store(true, Ordering::Relaxed);
            }
            folds.running.store(false, Ordering::Release);
        });
    }
}

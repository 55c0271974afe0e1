//! Folding the rollups' deltas beside an import's and a logger's batches (migrations 015
//! and 016).
//!
//! A staged batch ([`super::copy::Staging`]) commits in its turn, after the batches
//! before it; had its statement folded the pending deltas (0.2–0.45 s), the batches
//! behind it would wait idle. A logger's batch (`PgStore::log_copy`) is acknowledged in
//! order too, and the next batch is read only when one is acknowledged. So both set
//! `assistant_db.fold = 'elsewhere'`: the statement whose turn it is to fold (about one
//! per 16,000 rows written, by whoever writes) does not, and says so in
//! `assistant_db.fold_due`; the batch reads that before it commits, and after its commit
//! this store folds instead, on a connection of its own, one fold at a time, never
//! waited for. When the database cannot (before migration 016, or a role without the
//! right to fold) or a fold fails, the batches fold in their own statements as every
//! writer does.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use sqlx::{Executor, PgConnection, PgPool};
use tokio::sync::OnceCell;

use crate::error::Result;

/// Whether the database folds on request and tells a writer its turn (migration 016),
/// and whether this store may ask it (a role without use of the schema must not even look
/// the functions up: that is an error).
const CAN_FOLD: &str = "SELECT CASE WHEN EXISTS (SELECT FROM pg_catalog.pg_namespace AS n \
         WHERE n.nspname = 'assistant_db' AND pg_catalog.has_schema_privilege(n.oid, 'USAGE')) \
     THEN coalesce(pg_catalog.has_function_privilege(\
         pg_catalog.to_regprocedure('assistant_db.rollups_fold()'), 'EXECUTE'), false) \
         AND EXISTS (SELECT FROM pg_catalog.pg_proc AS p \
             WHERE p.oid = pg_catalog.to_regprocedure('assistant_db.rollups_after_write(bigint, text)') \
             AND p.prosrc LIKE '%assistant_db.fold_due%') \
     ELSE false END";

/// What makes a transaction leave its fold to this store.
const FOLD_ELSEWHERE: &str = "SET LOCAL assistant_db.fold = 'elsewhere'";

/// Whether a statement of the transaction had the turn to fold and left it to this store.
const FOLD_DUE: &str =
    "SELECT coalesce(pg_catalog.current_setting('assistant_db.fold_due', true), '') = 'true'";

/// The folds of one store (shared by its clones).
#[derive(Debug, Default)]
pub(super) struct Folds {
    /// Whether the batches leave their folds to this store: asked once.
    elsewhere: OnceCell<bool>,
    /// Set after a fold failed: the batches fold in their statements again.
    gave_up: AtomicBool,
    /// A fold of this store is running.
    running: AtomicBool,
}

/// How a batch's transaction was prepared: whether it left its fold to the store.
#[derive(Debug, Clone, Copy)]
#[must_use]
pub(super) struct Prepared {
    elsewhere: bool,
}

impl Folds {
    /// Prepares a batch's transaction: leaves its fold to this store when it can.
    pub(super) async fn prepare(&self, pool: &PgPool, tx: &mut PgConnection) -> Result<Prepared> {
        let can = *self
            .elsewhere
            .get_or_init(|| async {
                // Not knowing leaves the folds in the batches, as before migration 016.
                sqlx::query_scalar::<_, bool>(CAN_FOLD)
                    .fetch_one(pool)
                    .await
                    .unwrap_or_else(|err| {
                        tracing::debug!(error = %err, "cannot tell whether the rollups fold on request");
                        false
                    })
            })
            .await;
        let elsewhere = can && !self.gave_up.load(Ordering::Relaxed);
        if elsewhere {
            tx.execute(FOLD_ELSEWHERE).await?;
        }
        Ok(Prepared { elsewhere })
    }

    /// Before the batch commits: whether one of its statements had the turn to fold and
    /// left it to this store.
    pub(super) async fn due(prepared: Prepared, tx: &mut PgConnection) -> Result<bool> {
        if !prepared.elsewhere {
            return Ok(false);
        }
        Ok(sqlx::query_scalar::<_, bool>(FOLD_DUE)
            .fetch_one(&mut *tx)
            .await?)
    }

    /// After the batch committed: folds on a connection of its own when the batch had the
    /// turn (`due`), unless a fold of this store is running (that one or the next turn's
    /// takes the deltas then).
    pub(super) fn committed(self: &Arc<Self>, pool: &PgPool, due: bool) {
        if !due || self.running.swap(true, Ordering::AcqRel) {
            return;
        }
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

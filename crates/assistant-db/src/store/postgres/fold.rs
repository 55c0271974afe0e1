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
//! waited for by the batches. A turn that comes while this store's fold runs is not lost:
//! that fold runs once more when it ends (the deltas committed meanwhile were not all
//! visible to it). [`Folds::idle`] waits for the folds to end, so that a program that
//! exits after its last batch (an import, a logger shutting down) does not leave its fold
//! cut off. A fold waits ten seconds at most for each lock: one held back longer (by a
//! transaction holding a rollup table), or failing for a while (a deadlock, the database
//! away), leaves what is pending to the next turn, so that neither waits unbounded. When
//! the database cannot (before migration 016, or a role without the right to fold) or a
//! fold fails otherwise, the batches fold in their own statements as every writer does.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use sqlx::{Executor, PgConnection, PgPool};
use tokio::sync::{watch, OnceCell};

use crate::error::{Error, Result};

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

/// How long this store's fold waits for each lock before it leaves what is pending to
/// the next turn: a transaction holding a rollup table (an operator's `LOCK TABLE`, a
/// long `rollups rebuild` elsewhere) must not hold an import's exit or a logger's
/// shutdown for as long as it lasts.
const FOLD_LOCK_TIMEOUT: &str = "SET LOCAL lock_timeout = '10s'";

/// SQLSTATE `lock_not_available`: a lock waited for longer than the lock timeout.
const LOCK_NOT_AVAILABLE: &str = "55P03";

/// Whether a statement of the transaction had the turn to fold and left it to this store.
const FOLD_DUE: &str =
    "SELECT coalesce(pg_catalog.current_setting('assistant_db.fold_due', true), '') = 'true'";

/// The folds of one store (shared by its clones).
#[derive(Debug)]
pub(super) struct Folds {
    /// Whether the batches leave their folds to this store: asked once.
    elsewhere: OnceCell<bool>,
    /// Set after a fold failed: the batches fold in their statements again.
    gave_up: AtomicBool,
    /// Whether a fold of this store runs, and whether a turn came meanwhile.
    state: watch::Sender<State>,
}

impl Default for Folds {
    fn default() -> Self {
        Folds {
            elsewhere: OnceCell::new(),
            gave_up: AtomicBool::new(false),
            state: watch::Sender::new(State::Idle),
        }
    }
}

/// Where this store's folds stand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// No fold runs.
    Idle,
    /// A fold runs.
    Running,
    /// A fold runs, and a batch that had the turn committed since it began.
    Again,
}

impl State {
    /// A batch that had the turn committed: the state after, and whether to start a fold.
    fn turn(self) -> (State, bool) {
        match self {
            State::Idle => (State::Running, true),
            State::Running | State::Again => (State::Again, false),
        }
    }

    /// The running fold ended: the state after, and whether to fold once more.
    fn folded(self) -> (State, bool) {
        match self {
            State::Again => (State::Running, true),
            State::Idle | State::Running => (State::Idle, false),
        }
    }

    /// Moves `state` by `step`, telling the waiters when it became idle; returns what
    /// `step` said to do.
    fn step(state: &watch::Sender<State>, step: fn(State) -> (State, bool)) -> bool {
        let mut act = false;
        state.send_if_modified(|now| {
            let (next, then) = step(*now);
            act = then;
            let idle = next == State::Idle && *now != State::Idle;
            *now = next;
            idle
        });
        act
    }
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

    /// After the batch committed: when the batch had the turn (`due`), folds on a
    /// connection of its own, or once more after the fold that runs.
    pub(super) fn committed(self: &Arc<Self>, pool: &PgPool, due: bool) {
        if !due || !State::step(&self.state, State::turn) {
            return;
        }
        let (folds, pool) = (Arc::clone(self), pool.clone());
        tokio::spawn(async move {
            loop {
                if let Err(err) = fold(&pool).await {
                    if another_turn(&err) {
                        // Held back (a lock held past FOLD_LOCK_TIMEOUT, a deadlock, the
                        // database away): what is pending stays exact and waits for the
                        // next turn; the batches still leave their folds here.
                        tracing::warn!(error = %err, "folding the rollups beside the batches \
                                                      did not finish; the next turn folds");
                    } else {
                        // What is pending stays exact; the batches fold in their
                        // statements again.
                        tracing::warn!(error = %err, "folding the rollups beside the batches \
                                                      failed; the batches fold them from now on");
                        folds.gave_up.store(true, Ordering::Relaxed);
                    }
                    folds.state.send_replace(State::Idle);
                    return;
                }
                if !State::step(&folds.state, State::folded) {
                    return;
                }
            }
        });
    }

    /// Waits until no fold of this store runs.
    pub(super) async fn idle(&self) {
        // The sender lives in `self`, so the wait cannot fail.
        let _ = self
            .state
            .subscribe()
            .wait_for(|state| *state == State::Idle)
            .await;
    }
}

/// Folds what is pending, in a transaction whose locks wait `FOLD_LOCK_TIMEOUT` at most.
async fn fold(pool: &PgPool) -> Result<()> {
    let mut tx = pool.begin().await?;
    (&mut *tx).execute(FOLD_LOCK_TIMEOUT).await?;
    // `false`: another fold runs, which folds what this one would have.
    sqlx::query_scalar::<_, bool>("SELECT assistant_db.rollups_fold()")
        .fetch_one(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Whether a fold that failed with `err` may succeed at a later turn, rather than
/// failing the same way each time (no right to fold, the function gone).
fn another_turn(err: &Error) -> bool {
    err.is_retryable()
        || matches!(err, Error::Database { code: Some(code), .. } if code == LOCK_NOT_AVAILABLE)
}

#[cfg(test)]
mod tests {
    use super::{another_turn, State};
    use crate::error::Error;

    #[test]
    fn a_fold_held_back_waits_for_the_next_turn_and_one_refused_gives_up() {
        let database = |code: &str| Error::Database {
            code: Some(code.to_owned()),
            message: "m".into(),
        };
        for held_back in [
            database("55P03"),
            database("40P01"),
            database("40001"),
            Error::Unavailable("the database is away".into()),
        ] {
            assert!(another_turn(&held_back), "{held_back:?} gave up for good");
        }
        for refused in [
            Error::PermissionDenied("permission denied for function rollups_fold".into()),
            database("XX000"),
        ] {
            assert!(
                !another_turn(&refused),
                "{refused:?} is tried at every turn"
            );
        }
    }

    #[test]
    fn a_turn_during_a_fold_folds_once_more_and_only_once() {
        assert_eq!(State::Idle.turn(), (State::Running, true));
        assert_eq!(State::Running.turn(), (State::Again, false));
        assert_eq!(State::Again.turn(), (State::Again, false));
        assert_eq!(State::Again.folded(), (State::Running, true));
        assert_eq!(State::Running.folded(), (State::Idle, false));
    }

    #[tokio::test]
    async fn waiters_wake_when_the_folds_end() {
        let state = tokio::sync::watch::Sender::new(State::Idle);
        assert!(
            State::step(&state, State::turn),
            "an idle store starts a fold"
        );
        assert!(!State::step(&state, State::turn), "a second fold started");
        let mut rx = state.subscribe();
        let waiter =
            tokio::spawn(
                async move { rx.wait_for(|s| *s == State::Idle).await.map(|_| ()).is_ok() },
            );
        tokio::task::yield_now().await;
        assert!(
            State::step(&state, State::folded),
            "the turn taken meanwhile was lost"
        );
        tokio::task::yield_now().await;
        assert!(
            !waiter.is_finished(),
            "a waiter woke while a fold still ran"
        );
        assert!(!State::step(&state, State::folded));
        assert!(
            waiter.await.expect("join"),
            "the waiter did not see the folds end"
        );
    }
}

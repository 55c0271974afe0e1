//! The bulk write path: interactions through `COPY … FROM STDIN (FORMAT binary)`.
//!
//! `log_interactions` sends a batch as one JSON document that PostgreSQL parses and
//! inserts row by row; that is right for the logger's small batches, but an import of a
//! million rows spends most of its time there. This path writes a batch the way
//! `psql \copy` does — COPY, whose bulk insert writes whole heap pages at a time — in
//! PostgreSQL's binary format, so the server parses no text at all (the client has
//! already validated every value), and keeps the semantics of `log_interactions`:
//!
//! * **Idempotent by id.** Ids repeated inside the batch keep their first row; ids
//!   already stored are looked up first and skipped; the rest are copied straight into
//!   `public.interactions`. Should a concurrent writer store one of those ids in the
//!   meantime (the COPY then fails with a unique violation), the batch is written
//!   instead through a temporary staging table and `INSERT … ON CONFLICT (id) DO NOTHING`.
//! * **The same rights.** A role that may not COPY into the table — it lacks SELECT or
//!   INSERT on it, or row-level security applies to it (COPY FROM refuses such a table)
//!   — writes through `log_interactions`, as the JSON path does.
//! * **Atomic.** Everything happens in one transaction (a savepoint inside the caller's).
//! * **The same stored values** as `log_interactions`: `created_at` is `now()` when
//!   absent, timestamps are rounded to microseconds exactly as PostgreSQL rounds the
//!   RFC 3339 text the JSON path sends, citations are the same JSON.
//!
//! Binary COPY needs no escaping: every value travels as its length and its bytes, so
//! tabs, newlines, backslashes and quotes are ordinary characters (NUL cannot occur, the
//! model refuses it, as PostgreSQL's text types do).

use std::collections::HashSet;
use std::sync::{Arc, LazyLock};

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;
use sqlx::{Connection, Executor, PgConnection, Row};
use uuid::Uuid;

use super::fold::{Folds, Prepared};
use super::{tuple, PgStore};
use crate::error::{Error, Result};
use crate::model::{Interaction, ValidationError};
use crate::query::Written;
use crate::store::decode;
use crate::table::INTERACTIONS;

/// Whether this role may COPY into the table: it may read and insert, and row-level
/// security does not apply to it (COPY FROM refuses a table whose RLS applies). A role
/// that may only call `log_interactions` (which runs with its owner's rights) writes
/// through that function instead, as [`PgStore::log`] does.
///
/// The query also reads the transaction's `now()`, the `created_at` of rows without one.
const DIRECT_ALLOWED: &str = "SELECT has_table_privilege('public.interactions', 'SELECT') \
    AND has_table_privilege('public.interactions', 'INSERT') \
    AND NOT row_security_active('public.interactions'), now()";

/// The session's staging table for the fallback: plain types (text for every string), so
/// that the binary tuples fit it whatever the real table's varchar lengths are; PostgreSQL
/// applies those when the rows are inserted. Created once per connection, emptied before
/// each use and at every commit; rows of a rolled-back batch go with the rollback.
const STAGING: &str = "pg_temp.assistant_db_staged_interactions";

/// Creates the staging table of [`STAGING`], or empties it; its columns are
/// `interactions`' ([`INTERACTIONS`]) with plain types.
static PREPARE_STAGING: LazyLock<String> = LazyLock::new(|| {
    let columns = INTERACTIONS
        .columns
        .iter()
        .map(|c| format!("\"{}\" {}", c.name, c.sql_type.plain_sql()))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "DO $$ BEGIN \
             IF to_regclass('{STAGING}') IS NULL THEN \
                 CREATE TEMPORARY TABLE assistant_db_staged_interactions ({columns}) \
                     ON COMMIT DELETE ROWS; \
             ELSE \
                 TRUNCATE {STAGING}; \
             END IF; \
         END $$"
    )
});

/// From the staging table into the real one, skipping ids stored meanwhile.
static INSERT_STAGED: LazyLock<String> = LazyLock::new(|| {
    let columns = INTERACTIONS.column_list();
    format!(
        "INSERT INTO public.interactions ({columns}) SELECT {columns} FROM {STAGING} \
         ON CONFLICT (id) DO NOTHING"
    )
});

/// The binary COPY signature, flags and (empty) header extension.
const HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";

/// Bytes handed to the connection per `CopyData` message.
const CHUNK: usize = 1 << 20;

impl PgStore {
    /// Writes interactions with `COPY`, in one transaction; rows whose id is already
    /// stored (or repeated earlier in `rows`) are skipped. The result is what
    /// [`log`](Self::log) would store and count for the same rows.
    pub async fn copy_interactions(&self, rows: &[Interaction]) -> Result<Written> {
        let mut tx = self.pool().begin().await?;
        let inserted = Self::copy_interactions_in(&mut tx, rows).await?;
        tx.commit().await?;
        Ok(Written {
            interactions: inserted,
            escalations: 0,
        })
    }

    /// Writes interactions with `COPY` and escalations (a JSON array, as
    /// `log_interactions` takes them) in one transaction: what [`log`](Self::log) does,
    /// faster for large batches. Existing ids are skipped. The rollups' fold is left to
    /// this store, as a staged batch's is: the logger's batches are acknowledged in order,
    /// so one that folded inside its statement held back the batch beside it.
    pub(super) async fn log_copy(
        &self,
        rows: &[Interaction],
        escalations: &str,
    ) -> Result<Written> {
        let mut tx = self.pool().begin().await?;
        let prepared = self.folds.prepare(self.pool(), &mut tx).await?;
        let interactions = Self::copy_interactions_in(&mut tx, rows).await?;
        let mut written = Written {
            interactions,
            escalations: 0,
        };
        if escalations.trim() != "[]" {
            let counts: Value = (&mut *tx)
                .fetch_one(
                    sqlx::query("SELECT public.log_interactions('[]'::jsonb, $1::text::jsonb)")
                        .bind(escalations),
                )
                .await?
                .try_get(0)?;
            written.escalations = decode::written(&counts)?.escalations;
        }
        let due = Folds::due(prepared, &mut tx).await?;
        tx.commit().await?;
        self.folds.committed(self.pool(), due);
        Ok(written)
    }

    /// [`copy_interactions`](Self::copy_interactions) on a connection the caller holds:
    /// inside the caller's transaction (as a savepoint), so that the caller decides when
    /// to commit; on a connection outside a transaction it commits its own. Returns how
    /// many rows were inserted.
    ///
    /// On failure nothing of `rows` is written; the caller's transaction stays usable.
    pub async fn copy_interactions_in(
        conn: &mut PgConnection,
        rows: &[Interaction],
    ) -> Result<u64> {
        let rows = first_of_each_id(rows);
        if rows.is_empty() {
            return Ok(0);
        }
        let mut tx = conn.begin().await?;
        // Executor methods (boxed futures) rather than `Query::fetch_all` (generic over the
        // executor), so that the future stays provably `Send` and can be spawned.
        let probe = (&mut *tx).fetch_one(DIRECT_ALLOWED).await?;
        let (direct, now): (bool, DateTime<Utc>) = (probe.try_get(0)?, probe.try_get(1)?);
        if !direct {
            let counts: Value = (&mut *tx)
                .fetch_one(
                    sqlx::query("SELECT public.log_interactions($1, '[]'::jsonb)")
                        .bind(Json(&rows)),
                )
                .await?
                .try_get(0)?;
            tx.commit().await?;
            return Ok(decode::written(&counts)?.interactions);
        }
        let ids: Vec<Uuid> = rows.iter().map(|row| row.id).collect();
        let stored = (&mut *tx)
            .fetch_all(
                sqlx::query("SELECT id FROM public.interactions WHERE id = ANY($1)").bind(ids),
            )
            .await?
            .iter()
            .map(|row| row.try_get::<Uuid, _>(0))
            .collect::<sqlx::Result<HashSet<Uuid>>>()?;
        let new: Vec<&Interaction> = rows
            .into_iter()
            .filter(|row| !stored.contains(&row.id))
            .collect();
        if new.is_empty() {
            tx.commit().await?;
            return Ok(0);
        }
        let data = encode(&new, now)?;

        // Straight into the table, in a savepoint so that a refusal leaves the fallback.
        let mut attempt = tx.begin().await?;
        match copy(&mut attempt, "public.interactions", &data).await {
            Ok(copied) => {
                attempt.commit().await?;
                tx.commit().await?;
                return Ok(copied);
            }
            Err(err) if fallback(&err) => attempt.rollback().await?,
            Err(err) => return Err(err.into()),
        }

        (&mut *tx).execute(PREPARE_STAGING.as_str()).await?;
        copy(&mut tx, STAGING, &data).await?;
        let inserted = (&mut *tx)
            .execute(sqlx::query(INSERT_STAGED.as_str()))
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(inserted)
    }
}

/// A batch of interactions copied inside an open transaction, waiting to be committed:
/// the bulk path of an import, which keeps a few batches in flight on separate
/// connections and commits them in input order.
pub(super) struct Staging {
    tx: sqlx::Transaction<'static, sqlx::Postgres>,
    inserted: u64,
    /// Where the batch's fold is left (migrations 015, 016), and the pool to run it on.
    folds: Arc<Folds>,
    prepared: Prepared,
    pool: sqlx::PgPool,
}

/// How long a staged batch waits for a row lock held by another writer. Should that
/// writer in turn wait for a later batch of ours (which waits for this one to commit),
/// nobody could see the cycle; the timeout turns that hang into an error.
const LOCK_TIMEOUT: &str = "SET LOCAL lock_timeout = '60s'";

impl Staging {
    /// Begins a transaction on a connection of `pool` and copies `rows` into it, leaving
    /// the rollups' fold to `folds` when the database allows.
    pub(super) async fn begin(
        pool: &sqlx::PgPool,
        folds: &Arc<Folds>,
        rows: &[Interaction],
    ) -> Result<Self> {
        let mut tx = pool.begin().await?;
        (&mut *tx).execute(LOCK_TIMEOUT).await?;
        let prepared = folds.prepare(pool, &mut tx).await?;
        let inserted = PgStore::copy_interactions_in(&mut tx, rows).await?;
        Ok(Staging {
            tx,
            inserted,
            folds: Arc::clone(folds),
            prepared,
            pool: pool.clone(),
        })
    }
}

#[async_trait::async_trait]
impl crate::store::Staged for Staging {
    async fn commit(mut self: Box<Self>) -> Result<u64> {
        let due = Folds::due(self.prepared, &mut self.tx).await?;
        self.tx.commit().await?;
        self.folds.committed(&self.pool, due);
        Ok(self.inserted)
    }

    async fn rollback(self: Box<Self>) {
        // A failed rollback leaves nothing behind either: the connection drops the
        // transaction when it is returned to the pool or closed.
        let _ = self.tx.rollback().await;
    }
}

/// The rows with ids not seen earlier in `rows`, in order (as `ON CONFLICT DO NOTHING`
/// keeps the first of a repeated id).
fn first_of_each_id(rows: &[Interaction]) -> Vec<&Interaction> {
    let mut seen = HashSet::with_capacity(rows.len());
    rows.iter().filter(|row| seen.insert(row.id)).collect()
}

/// True for the errors the staging path avoids: a unique violation (a concurrent writer
/// stored one of the ids) or COPY refused because row-level security applies.
fn fallback(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Database(db) => matches!(db.code().as_deref(), Some("23505" | "0A000")),
        _ => false,
    }
}

/// Sends `data` (a whole binary COPY stream) into `table`; returns the rows copied.
async fn copy(conn: &mut PgConnection, table: &str, data: &[u8]) -> sqlx::Result<u64> {
    let mut sink = conn
        .copy_in_raw(&format!(
            "COPY {table} ({}) FROM STDIN (FORMAT binary)",
            INTERACTIONS.column_list()
        ))
        .await?;
    for chunk in data.chunks(CHUNK) {
        if let Err(err) = sink.send(chunk).await {
            // The server may have refused the data already: its error is the one to report.
            return match sink.finish().await {
                Err(refusal @ sqlx::Error::Database(_)) => Err(refusal),
                _ => Err(err),
            };
        }
    }
    sink.finish().await
}

/// The rows as one binary COPY stream, header to trailer.
///
/// A row without `created_at` gets `now`, the writing transaction's `now()`, as
/// `log_interactions` gives it.
fn encode(rows: &[&Interaction], now: DateTime<Utc>) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(HEADER.len() + 2 + rows.len() * 1536);
    out.extend_from_slice(HEADER);
    for row in rows {
        tuple::write(&mut out, &INTERACTIONS, *row, now)
            .map_err(|e| Error::from(ValidationError::new(e.field, e.message)))?;
    }
    out.extend_from_slice(&(-1i16).to_be_bytes());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_has_header_tuples_and_trailer() {
        let row = Interaction::from_json(
            r#"{"id":"0190a4c6-0000-7000-8000-000000000001","assistant_mode":"banker",
                "user_query":"q","outcome":"resolved","citations":[]}"#,
        )
        .expect("valid");
        let data = encode(&[&row], Utc::now()).expect("encode");
        assert!(data.starts_with(b"PGCOPY\n\xff\r\n\0"));
        assert_eq!(&data[HEADER.len()..HEADER.len() + 2], &22i16.to_be_bytes());
        assert!(data.ends_with(&(-1i16).to_be_bytes()));
        // The uuid follows its length.
        let id = &data[HEADER.len() + 2..HEADER.len() + 2 + 4 + 16];
        assert_eq!(&id[..4], &16i32.to_be_bytes());
        assert_eq!(&id[4..], row.id.as_bytes());
        // `[]` as jsonb: version 1 then the text.
        assert!(data.windows(7).any(|w| w == [0, 0, 0, 3, 1, b'[', b']']));
    }
}

//! Versioned migrations under `database/migrations/`, embedded in the binary and applied
//! by sqlx's tracked, checksummed migrator (table `_sqlx_migrations`).
//!
//! `001_initial_schema.sql` is the spec's `schema.sql`, byte for byte. Later migrations
//! only add. Every file is idempotent, so SQL pasted into the Supabase SQL editor (which
//! records nothing) can still be followed by `migrate` over `DATABASE_URL`.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::migrate::{MigrateError, Migrator};
use sqlx::PgConnection;

use crate::error::{Error, Result};

/// The migrations compiled into this build.
pub static MIGRATOR: Migrator = sqlx::migrate!("../../database/migrations");

/// The spec's `database/schema.sql`, as compiled into this build.
pub const SCHEMA_SQL: &str = include_str!("../../../database/schema.sql");

/// One migration and where it stands in a database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MigrationState {
    /// Version number, from the file name (`001_…` is 1).
    pub version: i64,
    /// Description, from the file name.
    pub description: String,
    /// When it was applied; `None` while pending.
    pub applied_on: Option<DateTime<Utc>>,
    /// What is wrong with it, if anything (edited after it was applied, failed, unknown).
    pub problem: Option<String>,
}

impl MigrationState {
    /// True once the migration is applied.
    pub fn is_applied(&self) -> bool {
        self.applied_on.is_some()
    }
}

/// A row of `_sqlx_migrations`: version, description, installed_on, success, checksum.
type AppliedRow = (i64, String, DateTime<Utc>, bool, Vec<u8>);

/// Where each migration of `migrator` stands in the connected database.
pub async fn status_with(
    conn: &mut PgConnection,
    migrator: &Migrator,
) -> Result<Vec<MigrationState>> {
    let tracked: bool = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
        .fetch_one(&mut *conn)
        .await?;
    let applied: Vec<AppliedRow> = if tracked {
        sqlx::query_as(
            "SELECT version, description, installed_on, success, checksum \
             FROM _sqlx_migrations ORDER BY version",
        )
        .fetch_all(&mut *conn)
        .await?
    } else {
        Vec::new()
    };

    let mut states: Vec<MigrationState> = migrator
        .iter()
        .filter(|m| m.migration_type.is_up_migration())
        .map(|m| {
            let row = applied.iter().find(|row| row.0 == m.version);
            MigrationState {
                version: m.version,
                description: m.description.to_string(),
                applied_on: row.map(|row| row.2),
                problem: row.and_then(|(_, _, _, success, checksum)| {
                    if !success {
                        Some("failed part-way when it was applied; repair it by hand".into())
                    } else if checksum.as_slice() != &*m.checksum {
                        Some(edited_message(m.version, &m.description))
                    } else {
                        None
                    }
                }),
            }
        })
        .collect();
    for (version, description, on, _, _) in &applied {
        if !states.iter().any(|s| s.version == *version) {
            states.push(MigrationState {
                version: *version,
                description: description.clone(),
                applied_on: Some(*on),
                problem: Some(
                    "applied to the database but unknown to this build (a newer assistant-db?)"
                        .into(),
                ),
            });
        }
    }
    states.sort_by_key(|s| s.version);
    Ok(states)
}

/// Where each embedded migration stands in the connected database.
pub async fn status(conn: &mut PgConnection) -> Result<Vec<MigrationState>> {
    status_with(conn, &MIGRATOR).await
}

/// Applies the embedded migrations that are pending; returns the ones applied now.
pub async fn run(conn: &mut PgConnection) -> Result<Vec<MigrationState>> {
    run_with(conn, &MIGRATOR).await
}

/// Applies the pending migrations of `migrator`; returns the ones applied now.
///
/// Refuses, changing nothing, when an applied migration's file was edited since.
pub async fn run_with(conn: &mut PgConnection, migrator: &Migrator) -> Result<Vec<MigrationState>> {
    let before = status_with(conn, migrator).await?;
    if let Some(problem) = before.iter().find_map(|s| s.problem.as_ref()) {
        return Err(Error::Migration(problem.clone()));
    }
    migrator.run(&mut *conn).await.map_err(|e| match e {
        MigrateError::VersionMismatch(v) => Error::Migration(edited_message(v, "")),
        MigrateError::Execute(sqlx::Error::Database(db)) => Error::Migration(format!(
            "a migration failed and was rolled back: {}",
            db.message()
        )),
        other => Error::Migration(other.to_string()),
    })?;
    let after = status_with(conn, migrator).await?;
    Ok(after
        .into_iter()
        .filter(|s| {
            s.is_applied()
                && before
                    .iter()
                    .any(|b| b.version == s.version && !b.is_applied())
        })
        .collect())
}

fn edited_message(version: i64, description: &str) -> String {
    format!(
        "migration {version:03}{}{description} was edited after it was applied: its checksum \
         no longer matches the one recorded in _sqlx_migrations. An applied migration must \
         never change; restore the file and put the change in a new migration",
        if description.is_empty() { "" } else { " " }
    )
}

/// Every migration's SQL in order, ready to paste into the Supabase SQL editor.
pub fn editor_sql() -> String {
    let mut out = String::from(
        "-- assistant-db schema: paste into the Supabase SQL editor and run.\n\
         -- Every part is idempotent; `assistant-db migrate` may follow it safely.\n",
    );
    for m in MIGRATOR
        .iter()
        .filter(|m| m.migration_type.is_up_migration())
    {
        out.push_str(&format!(
            "\n-- ── migration {:03}: {} ──\n",
            m.version, m.description
        ));
        out.push_str(&m.sql);
        if !m.sql.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

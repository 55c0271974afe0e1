//! Query plans as PostgreSQL ran them, for tests that assert how much work a statement
//! does: `auto_explain` writes the plan of each statement of chosen sessions, with its
//! actual rows and buffers, as JSON into the throwaway server's log, and [`PlanLog`]
//! reads them back.
//!
//! A test sees the plans of the very statements a transport sends (a REST server's
//! included), with the parameters it sent, rather than of a query written again by hand.

use std::path::PathBuf;

use serde_json::Value;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Executor, PgPool};

/// The settings that make `auto_explain` log every statement's plan as JSON, with its
/// actual row counts and buffer use.
const SETTINGS: [(&str, &str); 5] = [
    ("auto_explain.log_min_duration", "0"),
    ("auto_explain.log_analyze", "on"),
    ("auto_explain.log_buffers", "on"),
    ("auto_explain.log_timing", "off"),
    ("auto_explain.log_format", "json"),
];

/// Makes every new session of `role` on `database` log its plans (for a server that
/// connects by itself, such as the REST server). Sessions opened before keep quiet.
pub async fn explain_sessions_of(pool: &PgPool, role: &str, database: &str) {
    let quote = |name: &str| format!("\"{}\"", name.replace('"', "\"\""));
    let mut sql = format!(
        "ALTER ROLE {} IN DATABASE {} SET session_preload_libraries = 'auto_explain';",
        quote(role),
        quote(database)
    );
    for (name, value) in SETTINGS {
        sql.push_str(&format!(
            "ALTER ROLE {} IN DATABASE {} SET {name} = '{value}';",
            quote(role),
            quote(database)
        ));
    }
    crate::db::exec(pool, &sql).await;
}

/// A pool on `options` whose sessions log their plans.
pub async fn explained_pool(options: PgConnectOptions) -> PgPool {
    PgPoolOptions::new()
        .max_connections(2)
        .after_connect(|conn, _| {
            Box::pin(async move {
                conn.execute("LOAD 'auto_explain'").await?;
                for (name, value) in SETTINGS {
                    conn.execute(format!("SET {name} = '{value}'").as_str())
                        .await?;
                }
                Ok(())
            })
        })
        .connect_with(options)
        .await
        .unwrap_or_else(|e| panic!("cannot connect with auto_explain loaded: {e}"))
}

/// The plans logged by the process's throwaway server from the moment it was made.
#[derive(Debug)]
pub struct PlanLog {
    path: PathBuf,
    from: u64,
}

impl Default for PlanLog {
    fn default() -> Self {
        Self::new()
    }
}

impl PlanLog {
    /// Plans logged from now on.
    pub fn new() -> Self {
        let path = crate::db::server().server().cluster().log_file();
        let from = std::fs::metadata(&path).map_or(0, |m| m.len());
        PlanLog { path, from }
    }

    /// Every plan logged since [`new`](Self::new), oldest first: `{"Query Text", "Plan"}`
    /// objects as `EXPLAIN (FORMAT JSON)` writes them. A plan still being written is not
    /// returned yet.
    pub fn plans(&self) -> Vec<Value> {
        let bytes = std::fs::read(&self.path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", self.path.display()));
        let text = String::from_utf8_lossy(bytes.get(self.from as usize..).unwrap_or_default());
        text.split("plan:")
            .skip(1)
            .filter_map(|rest| {
                serde_json::Deserializer::from_str(rest)
                    .into_iter::<Value>()
                    .next()
                    .and_then(Result::ok)
            })
            .collect()
    }
}

/// What one plan read: the rows its scans returned and removed by a filter, and the
/// buffers it touched, summed over its nodes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Work {
    /// Rows the scan nodes produced.
    pub rows: u64,
    /// Rows the scan nodes read and threw away (`Rows Removed by Filter`).
    pub removed: u64,
    /// Shared buffers hit and read.
    pub buffers: u64,
}

impl Work {
    /// The work of a logged plan (`{"Plan": …}`).
    pub fn of(plan: &Value) -> Work {
        let mut work = Work::default();
        if let Some(root) = plan.get("Plan") {
            add(root, &mut work);
            // Buffers are counted at the top node, which includes its children's.
            work.buffers = count(root, "Shared Hit Blocks") + count(root, "Shared Read Blocks");
        }
        work
    }

    /// Rows read, kept or not.
    pub fn rows_read(&self) -> u64 {
        self.rows + self.removed
    }
}

fn add(node: &Value, work: &mut Work) {
    let kind = node.get("Node Type").and_then(Value::as_str).unwrap_or("");
    if kind.contains("Scan") {
        work.rows += count(node, "Actual Rows");
        work.removed += count(node, "Rows Removed by Filter");
    }
    for child in node
        .get("Plans")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        add(child, work);
    }
}

fn count(node: &Value, key: &str) -> u64 {
    node.get(key).and_then(Value::as_u64).unwrap_or(0)
}

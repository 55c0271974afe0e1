//! Import benchmark: prints figures, it is not a timed test.
//!
//! Run with `cargo bench -p assistant-db-cli --bench import`; set `IMPORT_BENCH_ROWS`
//! (default 1,000,000) for a quicker run, e.g. `IMPORT_BENCH_ROWS=100000`,
//! `IMPORT_BENCH_ARGS` to pass extra arguments to `assistant-db import` (e.g.
//! `--batch-size 5000`), and `IMPORT_BENCH_RUNS` to time both loads several times
//! (alternating, each into an emptied table; the median and best are printed), which
//! a machine shared with other work needs.
//!
//! On a private, durable PostgreSQL (fsync on, like a real server) started here, with two
//! migrated databases, it:
//! 1. generates realistic interactions with [`assistant_db::demo::Generator`] (≈80-char
//!    queries, ≈600-char responses, 2–3 citations) over the last 30 days, and writes
//!    them once as NDJSON (the model's serde form) and once as CSV in PostgreSQL's COPY
//!    format, in a temporary directory that is deleted at the end;
//! 2. times `psql -c "\copy interactions(…) FROM 'file.csv' WITH (FORMAT csv, HEADER)"`
//!    into database A;
//! 3. times `assistant-db import interactions file.ndjson` into database B — the real
//!    command, run as a user runs it: the `assistant-db` binary Cargo builds beside this
//!    benchmark with the same (release) profile, so the figure includes reading,
//!    validating every record and writing, exactly as an operator sees it;
//! 4. checks both databases hold the same rows (a hash of every row), and times a second
//!    import of the same file, which must write nothing (idempotent by id);
//! 5. times `assistant-db metrics --json --mode customer --from … --to …` over the 30-day
//!    window (median of 5 runs), and the same through `Client::metrics` in-process.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use assistant_db::demo::{DemoConfig, Generator, DEFAULT_SEED};
use assistant_db::local::{LocalCluster, Tuning};
use assistant_db::metrics::{Bucket, MetricsFilter};
use assistant_db::model::AssistantMode;
use assistant_db::Client;
use assistant_db_testkit::EphemeralCluster;
use chrono::{Duration as Days, SecondsFormat, Timelike, Utc};
use serde_json::Value;
use sqlx::postgres::PgPoolOptions;
use sqlx::{ConnectOptions, Connection, PgConnection};

type Failure = Box<dyn std::error::Error>;

/// Rows generated when `IMPORT_BENCH_ROWS` is not set.
const DEFAULT_ROWS: usize = 1_000_000;
/// Runs of the metrics query; the median is reported.
const METRICS_RUNS: usize = 5;
/// Length of the generated window and of the metrics window.
const DAYS: u32 = 30;

/// Every column of `interactions`, in the spec's order (the list `verify` checks).
fn columns() -> Vec<&'static str> {
    assistant_db::verify::expected::TABLES[0]
        .columns
        .iter()
        .map(|c| c.name)
        .collect()
}

/// The row count: `IMPORT_BENCH_ROWS`, or the first numeric argument, or the default.
/// (`cargo bench` passes `--bench`, which is ignored.)
fn row_count() -> Result<usize, Failure> {
    if let Ok(text) = std::env::var("IMPORT_BENCH_ROWS") {
        let rows = text.replace(['_', ','], "").parse::<usize>().map_err(|e| {
            format!("IMPORT_BENCH_ROWS must be a positive number (got {text:?}: {e})")
        })?;
        return if rows > 0 {
            Ok(rows)
        } else {
            Err("IMPORT_BENCH_ROWS must be at least 1".into())
        };
    }
    Ok(std::env::args()
        .skip(1)
        .filter_map(|a| a.parse::<usize>().ok())
        .find(|&n| n > 0)
        .unwrap_or(DEFAULT_ROWS))
}

/// Timed runs of each load: `IMPORT_BENCH_RUNS`, default 1.
fn run_count() -> Result<usize, Failure> {
    match std::env::var("IMPORT_BENCH_RUNS") {
        Err(_) => Ok(1),
        Ok(text) => match text.parse::<usize>() {
            Ok(runs) if runs > 0 => Ok(runs),
            _ => Err(format!("IMPORT_BENCH_RUNS must be a positive number (got {text:?})").into()),
        },
    }
}

/// Sizes of the generated files and what the rows look like.
struct Generated {
    ndjson_bytes: u64,
    csv_bytes: u64,
    query_chars: u64,
    response_chars: u64,
    citations: u64,
}

/// Writes `rows` generated interactions as NDJSON and as COPY-format CSV.
fn generate(config: &DemoConfig, ndjson: &Path, csv: &Path) -> Result<Generated, Failure> {
    let mut json_out = BufWriter::with_capacity(1 << 20, File::create(ndjson)?);
    let mut csv_out = BufWriter::with_capacity(1 << 20, File::create(csv)?);
    csv_out.write_all(columns().join(",").as_bytes())?;
    csv_out.write_all(b"\n")?;
    let mut stats = Generated {
        ndjson_bytes: 0,
        csv_bytes: 0,
        query_chars: 0,
        response_chars: 0,
        citations: 0,
    };
    let mut line = String::new();
    for turn in Generator::new(config) {
        let interaction = turn.interaction;
        stats.query_chars += interaction.user_query.as_str().chars().count() as u64;
        stats.response_chars += interaction
            .response_text
            .as_ref()
            .map_or(0, |t| t.as_str().chars().count() as u64);
        stats.citations += interaction.citations.as_ref().map_or(0, |c| c.len() as u64);
        serde_json::to_writer(&mut json_out, &interaction)?;
        json_out.write_all(b"\n")?;
        let Value::Object(mut row) = serde_json::to_value(&interaction)? else {
            return Err("an interaction did not serialize as a JSON object".into());
        };
        line.clear();
        for (n, column) in columns().iter().enumerate() {
            if n > 0 {
                line.push(',');
            }
            csv_cell(&mut line, row.remove(*column).unwrap_or(Value::Null));
        }
        if let Some(extra) = row.keys().next() {
            return Err(format!("field `{extra}` has no column in the CSV").into());
        }
        line.push('\n');
        csv_out.write_all(line.as_bytes())?;
    }
    json_out.flush()?;
    csv_out.flush()?;
    stats.ndjson_bytes = std::fs::metadata(ndjson)?.len();
    stats.csv_bytes = std::fs::metadata(csv)?.len();
    Ok(stats)
}

/// One CSV cell as `COPY … (FORMAT csv)` reads it: unquoted empty is NULL, text is
/// quoted (so an empty string stays a string), JSONB columns hold JSON text.
fn csv_cell(line: &mut String, value: Value) {
    let quoted = |line: &mut String, text: &str| {
        line.push('"');
        line.push_str(&text.replace('"', "\"\""));
        line.push('"');
    };
    match value {
        Value::Null => {}
        Value::Bool(b) => line.push_str(if b { "true" } else { "false" }),
        Value::Number(n) => line.push_str(&n.to_string()),
        Value::String(s) => quoted(line, &s),
        json @ (Value::Array(_) | Value::Object(_)) => quoted(line, &json.to_string()),
    }
}

/// Creates `database` on the cluster and applies every migration.
async fn migrated(cluster: &LocalCluster, database: &str) -> Result<(), Failure> {
    cluster.ensure_database(database).await?;
    let mut conn = cluster.connect_options(database).connect().await?;
    assistant_db::migrate::run(&mut conn).await?;
    conn.close().await?;
    Ok(())
}

async fn connect(cluster: &LocalCluster, database: &str) -> Result<PgConnection, Failure> {
    Ok(cluster.connect_options(database).connect().await?)
}

/// Flushes dirty pages so that one measurement does not pay for the previous one's.
async fn checkpoint(cluster: &LocalCluster) -> Result<(), Failure> {
    let mut conn = connect(cluster, "postgres").await?;
    sqlx::raw_sql("CHECKPOINT").execute(&mut conn).await?;
    conn.close().await?;
    Ok(())
}

/// Empties the table for the next run.
async fn empty(cluster: &LocalCluster, database: &str) -> Result<(), Failure> {
    let mut conn = connect(cluster, database).await?;
    sqlx::raw_sql("TRUNCATE public.interactions CASCADE")
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    Ok(())
}

async fn count(cluster: &LocalCluster, database: &str) -> Result<i64, Failure> {
    let mut conn = connect(cluster, database).await?;
    let n = sqlx::query_scalar("SELECT count(*) FROM public.interactions")
        .fetch_one(&mut conn)
        .await?;
    conn.close().await?;
    Ok(n)
}

/// A hash of every row's full text form: equal in two databases when they hold the same
/// rows with the same values.
async fn fingerprint(cluster: &LocalCluster, database: &str) -> Result<i64, Failure> {
    let mut conn = connect(cluster, database).await?;
    sqlx::raw_sql("ANALYZE public.interactions")
        .execute(&mut conn)
        .await?;
    let hash: Option<i64> = sqlx::query_scalar(
        "SELECT sum(hashtext(i::text)::bigint)::bigint FROM public.interactions i",
    )
    .fetch_one(&mut conn)
    .await?;
    conn.close().await?;
    Ok(hash.unwrap_or(0))
}

/// Runs a command; its failure (with stderr) is an error.
fn run(command: &mut Command) -> Result<Output, Failure> {
    let out = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| format!("cannot run {command:?}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{command:?} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    Ok(out)
}

/// `assistant-db …` against `url`, with the environment cleared of other databases.
fn assistant_db(url: &str, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_assistant-db"));
    command
        .env_remove("DATABASE_URL")
        .env_remove("SUPABASE_URL")
        .env_remove("SUPABASE_KEY")
        .env_remove("ASSISTANT_DB_HOME")
        .env("RUST_LOG", "warn")
        .args(args)
        .args(["--database-url", url]);
    command
}

fn timed(command: &mut Command) -> Result<(Duration, Output), Failure> {
    let start = Instant::now();
    let out = run(command)?;
    Ok((start.elapsed(), out))
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn rate_line(label: &str, rows: usize, took: Duration) {
    println!(
        "{label:<46} {:>9.0} rows/s   {:>8.2} s",
        rows as f64 / took.as_secs_f64(),
        took.as_secs_f64()
    );
}

#[tokio::main]
async fn main() -> Result<(), Failure> {
    let rows = row_count()?;
    let runs = run_count()?;
    let extra: Vec<String> = std::env::var("IMPORT_BENCH_ARGS")
        .map(|a| a.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default();
    let total = Instant::now();
    let server = EphemeralCluster::start_with(Tuning::Durable)?;
    let cluster = server.cluster();
    let (db_copy, db_import) = ("bench_copy", "bench_import");
    migrated(cluster, db_copy).await?;
    migrated(cluster, db_import).await?;
    let (url_copy, url_import) = (cluster.url(db_copy), cluster.url(db_import));

    let dir = tempfile::Builder::new()
        .prefix("assistant-db-import-bench-")
        .tempdir()?;
    let ndjson = dir.path().join("interactions.ndjson");
    let csv = dir.path().join("interactions.csv");
    let end = Utc::now()
        .with_nanosecond(0)
        .ok_or("cannot truncate the clock to seconds")?;
    let config = DemoConfig {
        seed: DEFAULT_SEED,
        interactions: rows,
        start: end - Days::days(i64::from(DAYS)),
        days: DAYS,
    };

    println!(
        "assistant-db import benchmark: {rows} interactions, durable PostgreSQL (fsync on), {} CPUs",
        std::thread::available_parallelism().map_or(0, usize::from)
    );
    let start = Instant::now();
    let files = generate(&config, &ndjson, &csv)?;
    println!(
        "generated in {:.1} s: NDJSON {:.0} MB, CSV {:.0} MB; per row ≈{:.0}-char query, \
         ≈{:.0}-char response, {:.2} citations",
        start.elapsed().as_secs_f64(),
        files.ndjson_bytes as f64 / 1e6,
        files.csv_bytes as f64 / 1e6,
        files.query_chars as f64 / rows as f64,
        files.response_chars as f64 / rows as f64,
        files.citations as f64 / rows as f64,
    );
    let path = |p: &Path| p.to_string_lossy().replace('\'', "''");

    let copy_sql = format!(
        "\\copy public.interactions({}) FROM '{}' WITH (FORMAT csv, HEADER)",
        columns()
            .iter()
            .map(|c| format!("\"{c}\""))
            .collect::<Vec<_>>()
            .join(", "),
        path(&csv)
    );
    let ndjson_arg = ndjson.to_string_lossy().into_owned();
    let mut import_args = vec!["import", "interactions", ndjson_arg.as_str(), "--json"];
    import_args.extend(extra.iter().map(String::as_str));
    println!();
    println!(
        "psql: {}",
        copy_sql.replace(&path(&csv), "interactions.csv")
    );
    println!(
        "import: assistant-db import interactions interactions.ndjson {}",
        extra.join(" ")
    );

    // Alternate the two, each into an empty table, so that a change in the machine's
    // load (other processes) weighs on both alike.
    let (mut copies, mut imports) = (Vec::new(), Vec::new());
    let mut written = None;
    for run in 1..=runs {
        if run > 1 {
            empty(cluster, db_copy).await?;
            empty(cluster, db_import).await?;
        }
        // (a) psql \copy into database A.
        checkpoint(cluster).await?;
        let (copy_took, _) = timed(
            Command::new("psql")
                .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", &url_copy, "-c"])
                .arg(&copy_sql),
        )?;
        // (b) assistant-db import into database B.
        checkpoint(cluster).await?;
        let (import_took, out) = timed(&mut assistant_db(&url_import, &import_args))?;
        let summary: Value = serde_json::from_slice(&out.stdout)?;
        written = summary.get("written").and_then(Value::as_u64);
        if runs > 1 {
            println!("run {run} of {runs}:");
        }
        rate_line("psql \\copy (CSV)", rows, copy_took);
        rate_line("assistant-db import (NDJSON)", rows, import_took);
        println!(
            "{:<46} {:>9.2}× the rate of psql \\copy",
            "import / \\copy",
            copy_took.as_secs_f64() / import_took.as_secs_f64()
        );
        copies.push(copy_took);
        imports.push(import_took);
    }
    if runs > 1 {
        println!("over {runs} runs:");
        let best = |d: &[Duration]| d.iter().copied().min().unwrap_or_default();
        rate_line("psql \\copy (CSV), median", rows, median(copies.clone()));
        rate_line("psql \\copy (CSV), best", rows, best(&copies));
        rate_line(
            "assistant-db import (NDJSON), median",
            rows,
            median(imports.clone()),
        );
        rate_line("assistant-db import (NDJSON), best", rows, best(&imports));
        println!(
            "{:<46} {:>9.2}× (medians), {:.2}× (best runs)",
            "import / \\copy",
            median(copies.clone()).as_secs_f64() / median(imports.clone()).as_secs_f64(),
            best(&copies).as_secs_f64() / best(&imports).as_secs_f64()
        );
    }

    // Both databases must hold the same rows.
    let (n_copy, n_import) = (
        count(cluster, db_copy).await?,
        count(cluster, db_import).await?,
    );
    let same = fingerprint(cluster, db_copy).await? == fingerprint(cluster, db_import).await?;
    println!(
        "check: rows \\copy {n_copy}, import {n_import} (import reported written {}); \
         every value equal: {}",
        written.map_or("?".into(), |w| w.to_string()),
        if same { "yes" } else { "NO" }
    );
    if n_copy != rows as i64 || n_import != rows as i64 || !same {
        return Err("the two databases differ".into());
    }

    // A second import of the same file writes nothing.
    let (again_took, out) = timed(&mut assistant_db(&url_import, &import_args))?;
    let summary: Value = serde_json::from_slice(&out.stdout)?;
    let written_again = summary
        .get("written")
        .and_then(Value::as_u64)
        .unwrap_or(u64::MAX);
    rate_line("re-import, every row present", rows, again_took);
    println!("check: re-import wrote {written_again} rows");
    if written_again != 0 {
        return Err("the re-import wrote rows".into());
    }

    // (c) metrics over the 30-day window of one mode.
    let (from, to) = (config.start, config.end());
    let (from_arg, to_arg) = (
        from.to_rfc3339_opts(SecondsFormat::Secs, true),
        to.to_rfc3339_opts(SecondsFormat::Secs, true),
    );
    let metrics_args = [
        "metrics", "--json", "--mode", "customer", "--from", &from_arg, "--to", &to_arg,
    ];
    let mut cli = Vec::new();
    let mut matched = None;
    for _ in 0..METRICS_RUNS {
        let (took, out) = timed(&mut assistant_db(&url_import, &metrics_args))?;
        cli.push(took);
        let metrics: Value = serde_json::from_slice(&out.stdout)?;
        matched = metrics.get("total_interactions").and_then(Value::as_i64);
    }
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .connect_with(cluster.connect_options(db_import))
        .await?;
    let client = Client::from_pool(pool.clone());
    let filter = MetricsFilter {
        mode: Some(AssistantMode::Customer),
        from: Some(from),
        to: Some(to),
        intent: None,
        category: None,
        bucket: Bucket::Day,
        ..MetricsFilter::default()
    };
    let mut in_process = Vec::new();
    for _ in 0..METRICS_RUNS {
        let start = Instant::now();
        client.metrics(&filter).await?;
        in_process.push(start.elapsed());
    }
    pool.close().await;
    println!();
    println!(
        "metrics: assistant-db metrics --json --mode customer --from {from_arg} --to {to_arg} \
         ({} matching rows)",
        matched.map_or("?".into(), |n| n.to_string())
    );
    println!(
        "{:<46} {:>9.1} ms (median of {METRICS_RUNS})",
        "metrics, CLI (process start to JSON)",
        median(cli).as_secs_f64() * 1e3
    );
    println!(
        "{:<46} {:>9.1} ms (median of {METRICS_RUNS})",
        "metrics, Client::metrics in-process",
        median(in_process).as_secs_f64() * 1e3
    );

    dir.close()?;
    drop(server);
    println!();
    println!(
        "total benchmark time {:.1} s",
        total.elapsed().as_secs_f64()
    );
    Ok(())
}

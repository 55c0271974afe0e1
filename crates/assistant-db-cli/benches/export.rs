//! Export benchmark: prints figures, it is not a timed test.
//!
//! Run with `cargo bench -p assistant-db-cli --bench export`; set `EXPORT_BENCH_ROWS`
//! (default 1,000,000) for a quicker run, and `EXPORT_BENCH_RUNS` (default 3) for how
//! many times each export is timed (alternating; the median is reported).
//!
//! On a private, durable PostgreSQL started here, it:
//! 1. writes realistic interactions ([`assistant_db::demo::Generator`]: ≈80-char queries,
//!    ≈600-char responses, 2–3 citations, 30 days) through the library's bulk path;
//! 2. times `psql -c "\copy (SELECT * FROM interactions ORDER BY timestamp DESC, id DESC)
//!    TO 'file.csv' (FORMAT csv)"`, the same rows newest first, and the same with
//!    `to_jsonb(i)` (the JSON form of a row), and the same rows in binary (the form the
//!    export reads them in: PostgreSQL's own cost of sending them);
//! 3. times `assistant-db export interactions -o file.ndjson` and `-o file.csv` — the
//!    real command, the `assistant-db` binary built beside this benchmark — and checks
//!    that each file holds every row;
//! 4. reads the whole table page by page through `Client::interactions` (1,000 rows per
//!    page, the listing's keyset cursor), printing the first, middle and last page's time:
//!    with keyset paging each costs the same.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use assistant_db::demo::{DemoConfig, Generator, DEFAULT_SEED};
use assistant_db::local::{LocalCluster, Tuning};
use assistant_db::query::InteractionQuery;
use assistant_db::Client;
use assistant_db_testkit::EphemeralCluster;
use chrono::{Duration as Days, Timelike, Utc};
use nix::sys::resource::{getrusage, UsageWho};
use sqlx::postgres::PgPoolOptions;
use sqlx::{ConnectOptions, Connection};

type Failure = Box<dyn std::error::Error>;

/// Rows written when `EXPORT_BENCH_ROWS` is not set.
const DEFAULT_ROWS: usize = 1_000_000;
/// Rows per bulk write while filling the table.
const FILL_BATCH: usize = 10_000;
/// The goal: the export streams at least this fraction of `\copy`'s rate.
const GOAL: f64 = 0.5;

fn env_count(name: &str, default: usize) -> Result<usize, Failure> {
    match std::env::var(name) {
        Err(_) => Ok(default),
        Ok(text) => match text.replace(['_', ','], "").parse::<usize>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(format!("{name} must be a positive number (got {text:?})").into()),
        },
    }
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

/// CPU time (user and system) used so far by this process's finished children.
fn children_cpu() -> Result<Duration, Failure> {
    let usage = getrusage(UsageWho::RUSAGE_CHILDREN)?;
    let seconds = |t: nix::sys::time::TimeVal| {
        Duration::from_secs(t.tv_sec() as u64) + Duration::from_micros(t.tv_usec() as u64)
    };
    Ok(seconds(usage.user_time()) + seconds(usage.system_time()))
}

/// A run's wall-clock time and the CPU time its process used: when the CPU time is
/// well below the wall time, the process waited for the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Sample {
    wall: Duration,
    cpu: Duration,
}

fn timed(command: &mut Command) -> Result<Sample, Failure> {
    let cpu = children_cpu()?;
    let start = Instant::now();
    run(command)?;
    let wall = start.elapsed();
    Ok(Sample {
        wall,
        cpu: children_cpu()?.saturating_sub(cpu),
    })
}

/// Lines in `file`, which must hold `rows` records (plus `extra` lines: a CSV header).
fn check_lines(file: &Path, rows: usize, extra: usize) -> Result<(), Failure> {
    let bytes = std::fs::read(file)?;
    let lines = bytes.iter().filter(|&&b| b == b'\n').count();
    if lines < rows + extra {
        return Err(format!(
            "{} holds {lines} lines, fewer than the {rows} rows",
            file.display()
        )
        .into());
    }
    Ok(())
}

fn median(mut samples: Vec<Sample>) -> Sample {
    samples.sort();
    samples[samples.len() / 2]
}

fn rate_line(label: &str, rows: usize, took: Sample) {
    println!(
        "{label:<52} {:>9.0} rows/s   {:>7.2} s   (client CPU {:.2} s)",
        rows as f64 / took.wall.as_secs_f64(),
        took.wall.as_secs_f64(),
        took.cpu.as_secs_f64()
    );
}

/// Writes `rows` generated interactions through the library's bulk path.
async fn fill(client: &Client, rows: usize) -> Result<(), Failure> {
    let end = Utc::now()
        .with_nanosecond(0)
        .ok_or("cannot truncate the clock to seconds")?;
    let config = DemoConfig {
        seed: DEFAULT_SEED,
        interactions: rows,
        start: end - Days::days(30),
        days: 30,
    };
    let mut batch = Vec::with_capacity(FILL_BATCH);
    for turn in Generator::new(&config) {
        batch.push(turn.interaction);
        if batch.len() == FILL_BATCH {
            let rows = std::mem::replace(&mut batch, Vec::with_capacity(FILL_BATCH));
            client.stage_interactions(rows).await?.commit().await?;
        }
    }
    if !batch.is_empty() {
        client.stage_interactions(batch).await?.commit().await?;
    }
    Ok(())
}

async fn sql(cluster: &LocalCluster, database: &str, statement: &str) -> Result<(), Failure> {
    let mut conn = cluster.connect_options(database).connect().await?;
    sqlx::raw_sql(statement).execute(&mut conn).await?;
    conn.close().await?;
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Failure> {
    let rows = env_count("EXPORT_BENCH_ROWS", DEFAULT_ROWS)?;
    let runs = env_count("EXPORT_BENCH_RUNS", 3)?;
    let total = Instant::now();
    let server = EphemeralCluster::start_with(Tuning::Durable)?;
    let cluster = server.cluster();
    let database = "bench_export";
    cluster.ensure_database(database).await?;
    {
        let mut conn = cluster.connect_options(database).connect().await?;
        assistant_db::migrate::run(&mut conn).await?;
        conn.close().await?;
    }
    let url = cluster.url(database);
    let pool = PgPoolOptions::new()
        .max_connections(4)
        .connect_with(cluster.connect_options(database))
        .await?;
    let client = Client::from_pool(pool.clone());

    println!(
        "assistant-db export benchmark: {rows} interactions, durable PostgreSQL, {} CPUs",
        std::thread::available_parallelism().map_or(0, usize::from)
    );
    let start = Instant::now();
    fill(&client, rows).await?;
    sql(cluster, database, "VACUUM ANALYZE public.interactions").await?;
    sql(cluster, "postgres", "CHECKPOINT").await?;
    println!(
        "filled in {:.1} s (bulk COPY through the library), vacuumed and analyzed",
        start.elapsed().as_secs_f64()
    );

    let dir = tempfile::Builder::new()
        .prefix("assistant-db-export-bench-")
        .tempdir()?;
    let file = |name: &str| dir.path().join(name);
    let quoted = |p: &Path| p.to_string_lossy().replace('\'', "''");
    let order = "ORDER BY \"timestamp\" DESC, id DESC";
    let copy_csv = format!(
        "\\copy (SELECT * FROM public.interactions {order}) TO '{}' WITH (FORMAT csv, HEADER)",
        quoted(&file("copy.csv"))
    );
    let copy_json = format!(
        "\\copy (SELECT to_jsonb(i) FROM public.interactions i {order}) TO '{}'",
        quoted(&file("copy.json"))
    );
    let copy_binary = format!(
        "\\copy (SELECT * FROM public.interactions {order}) TO '{}' WITH (FORMAT binary)",
        quoted(&file("copy.bin"))
    );
    let psql = |statement: &str| {
        let mut command = Command::new("psql");
        command
            .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", &url, "-c"])
            .arg(statement);
        command
    };
    let export = |name: &str| {
        let path = file(name);
        let _ = std::fs::remove_file(&path);
        let mut command = Command::new(env!("CARGO_BIN_EXE_assistant-db"));
        command
            .env_remove("DATABASE_URL")
            .env_remove("SUPABASE_URL")
            .env_remove("SUPABASE_KEY")
            .env_remove("ASSISTANT_DB_HOME")
            .args(["export", "interactions", "-o"])
            .arg(&path)
            .args(["--database-url", &url]);
        command
    };
    println!();
    println!("psql: \\copy (SELECT * FROM public.interactions {order}) TO 'copy.csv' WITH (FORMAT csv, HEADER)");
    println!("psql: \\copy (SELECT to_jsonb(i) FROM public.interactions i {order}) TO 'copy.json'");
    println!("psql: \\copy (SELECT * FROM public.interactions {order}) TO 'copy.bin' WITH (FORMAT binary)");
    println!("export: assistant-db export interactions -o export.ndjson (and -o export.csv)");

    let (mut csv_copies, mut json_copies, mut binary_copies) = (Vec::new(), Vec::new(), Vec::new());
    let (mut ndjson_exports, mut csv_exports) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        csv_copies.push(timed(&mut psql(&copy_csv))?);
        json_copies.push(timed(&mut psql(&copy_json))?);
        binary_copies.push(timed(&mut psql(&copy_binary))?);
        ndjson_exports.push(timed(&mut export("export.ndjson"))?);
        csv_exports.push(timed(&mut export("export.csv"))?);
    }
    check_lines(&file("copy.csv"), rows, 1)?;
    check_lines(&file("export.ndjson"), rows, 0)?;
    check_lines(&file("export.csv"), rows, 1)?;
    let size = |name: &str| std::fs::metadata(file(name)).map_or(0, |m| m.len()) as f64 / 1e6;
    println!();
    println!("median of {runs} runs each:");
    let copy_csv = median(csv_copies);
    let copy_json = median(json_copies);
    let copy_binary = median(binary_copies);
    let ndjson = median(ndjson_exports);
    let csv = median(csv_exports);
    rate_line(
        &format!("psql \\copy … TO (CSV, {:.0} MB)", size("copy.csv")),
        rows,
        copy_csv,
    );
    rate_line(
        &format!(
            "psql \\copy (SELECT to_jsonb(i) …) TO ({:.0} MB)",
            size("copy.json")
        ),
        rows,
        copy_json,
    );
    rate_line(
        &format!("psql \\copy … TO (binary, {:.0} MB)", size("copy.bin")),
        rows,
        copy_binary,
    );
    rate_line(
        &format!(
            "assistant-db export -o …ndjson ({:.0} MB)",
            size("export.ndjson")
        ),
        rows,
        ndjson,
    );
    rate_line(
        &format!("assistant-db export -o …csv ({:.0} MB)", size("export.csv")),
        rows,
        csv,
    );
    let ratio = copy_csv.wall.as_secs_f64() / ndjson.wall.as_secs_f64();
    println!(
        "{:<52} {ratio:>9.2}× the rate of psql \\copy (CSV); goal at least {GOAL:.2}×: {}",
        "export NDJSON / \\copy CSV",
        if ratio >= GOAL { "met" } else { "NOT met" }
    );
    println!(
        "{:<52} {:>9.2}×",
        "export NDJSON / \\copy to_jsonb",
        copy_json.wall.as_secs_f64() / ndjson.wall.as_secs_f64()
    );
    println!(
        "{:<52} {:>9.2}×",
        "export CSV / \\copy CSV",
        copy_csv.wall.as_secs_f64() / csv.wall.as_secs_f64()
    );

    // Paging through everything, as `interactions list --after` and the dashboard do.
    println!();
    let mut query = InteractionQuery {
        limit: Some(1000),
        ..InteractionQuery::default()
    };
    let mut times = Vec::new();
    let start = Instant::now();
    loop {
        let page_start = Instant::now();
        let page = client.interactions(&query).await?;
        times.push(page_start.elapsed());
        match page.next {
            Some(next) => query.after = Some(next),
            None => break,
        }
    }
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "paged read, Client::interactions, 1000 rows a page: {} pages in {:.2} s; \
         page 1 {:.1} ms, page {} {:.1} ms, page {} {:.1} ms",
        times.len(),
        start.elapsed().as_secs_f64(),
        ms(times[0]),
        times.len() / 2 + 1,
        ms(times[times.len() / 2]),
        times.len(),
        ms(times[times.len() - 1]),
    );
    pool.close().await;
    dir.close()?;
    drop(server);
    println!();
    println!(
        "total benchmark time {:.1} s",
        total.elapsed().as_secs_f64()
    );
    Ok(())
}

//! Scale benchmark of the dashboard's metrics (migration 011's rollups): run with
//! `cargo bench -p assistant-db-cli --bench scale`.
//!
//! Against a private, durable PostgreSQL (fsync on) started here, it loads realistic
//! traffic over 90 days, both modes (`ASSISTANT_DB_BENCH_ROWS`, default 10,000,000), with
//! the rollups' triggers on, and prints in one run:
//! - the load's rate with the triggers, and the rate of the same inserts without them
//!   (1/10 of the rows, triggers disabled, then deleted again the same way);
//! - the logger's and `assistant-db import`'s rates with the rollups' triggers and
//!   without them (`ASSISTANT_DB_BENCH_WRITES` demo interactions each, default 100,000,
//!   over the last day, new ones for every timed run; seven rounds, which goes first
//!   alternating: the median of each, every round's ratio and their median), on the
//!   loaded table: what the rollups cost the writers that matter. Each run starts after
//!   a checkpoint, and autovacuum of the two tables waits until the rounds are over (the
//!   runs' own deletes would set it off);
//! - the rollups' size against the table's, in bytes per interaction;
//! - a 30-day window of one mode: through the client (`Client::metrics`, rollups), through
//!   `GET /api/metrics` on a real server, through the computation over raw rows
//!   (`assistant_db.interaction_metrics_raw`) and through the best hand-written single
//!   query for that window (counts per intent and two percentiles); medians of warm runs;
//! - the rollup metrics' latency against the window's length (1, 7, 30, 90 days);
//! - `rollups check` over the 30 days, and a full `rollups rebuild`.

use std::time::{Duration, Instant};

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use assistant_db::config::Secret;
use assistant_db::demo::{DemoConfig, Generator};
use assistant_db::local::{Tuning, DEFAULT_DATABASE};
use assistant_db::logger::{Logger, LoggerConfig};
use assistant_db::metrics::{Bucket, MetricsFilter};
use assistant_db::model::{AssistantMode, Interaction};
use assistant_db::rollups::HourRange;
use assistant_db::store::PgStore;
use assistant_db::Client;
use assistant_db_server::{Server, ServerConfig};
use assistant_db_testkit::EphemeralCluster;
use chrono::{DateTime, Duration as Span, DurationRound, Utc};
use sqlx::postgres::PgPoolOptions;
use sqlx::{ConnectOptions, Connection, PgPool};

type Failure = Box<dyn std::error::Error + Send + Sync>;

/// Rows per INSERT statement while loading.
const CHUNK: u64 = 50_000;
/// Warm runs whose median is reported.
const RUNS: usize = 5;
/// The token of the benchmark's server.
const TOKEN: &str = "scale-bench-token-0123456789";
/// Rounds of the write comparison (each: with the triggers and without, in turns first).
const WRITE_ROUNDS: usize = 7;
/// The rollups' triggers, on both tables.
const ROLLUP_TRIGGERS: [&str; 4] = [
    "rollups_inserted",
    "rollups_deleted",
    "rollups_updated",
    "rollups_truncated",
];

/// The realistic traffic of `count` interactions ending `end`, spread over 90 days,
/// starting at row `first`: one INSERT … SELECT of generated rows, as a writer's batch.
fn insert_sql(first: u64, count: u64, end: DateTime<Utc>) -> String {
    format!(
        "INSERT INTO public.interactions (id, \"timestamp\", assistant_mode, session_id, user_query, \
             intent_name, intent_category, step_1_intent_completed, step_2_routing_decision, \
             step_3_retrieval_performed, step_4_response_generated, step_5_confidence_score, \
             step_6_escalation_triggered, outcome, confidence_score, processing_time_ms) \
         SELECT gen_random_uuid(), \
                '{end}'::timestamptz - (g::double precision / {total} * interval '90 days') \
                    - (random() * interval '1 minute'), \
                CASE WHEN g % 3 = 0 THEN 'banker' ELSE 'customer' END, \
                'conv-' || (g / 4), 'How do I …?', \
                'intent_' || (hashint % 24), \
                (ARRAY['automatable', 'sensitive', 'human_only'])[1 + hashint % 24 % 3], \
                true, 'rag', hashint % 5 <> 0, true, c, hashint % 7 = 0, \
                CASE WHEN hashint % 7 = 0 THEN 'escalated' ELSE 'resolved' END, c, \
                (200 + 3000 * random() ^ 2)::int \
         FROM (SELECT g, abs(hashint4(g::int)) AS hashint, round(random()::numeric, 3)::float8 AS c \
               FROM generate_series({first}::bigint, {last}::bigint) AS g) AS s \
         ON CONFLICT (id) DO NOTHING",
        total = 10_000_000u64.max(first + count),
        last = first + count - 1,
    )
}

/// The rollup tables (migration 011), vacuumed after the load like the spec's tables, as
/// autovacuum keeps them between writes: the delta tables, emptied by every fold, would
/// otherwise be read at the size the load left them (at 10M rows that added 80 ms to
/// every metrics call).
const ROLLUP_TABLES: [&str; 11] = [
    "rollup_hours",
    "rollup_days",
    "rollup_times",
    "rollup_triggers",
    "rollup_times_by_mode",
    "rollup_triggers_by_mode",
    "rollup_sessions",
    "rollup_hours_delta",
    "rollup_times_delta",
    "rollup_triggers_delta",
    "rollup_sessions_delta",
];

/// Escalations for the escalated interactions loaded since `since`.
const ESCALATIONS: &str = "INSERT INTO public.escalations (interaction_id, trigger_type, escalation_reason) \
     SELECT i.id, (ARRAY['human_only', 'low_confidence', 'insufficient_evidence'])[1 + abs(hashtext(i.id::text)) % 3], \
            'routed to a banker' \
     FROM public.interactions AS i \
     WHERE i.outcome = 'escalated' AND i.created_at >= $1";

/// The best single query for a window of one mode: counts per intent and two
/// percentiles, nothing else.
const HAND_WRITTEN: &str = "SELECT i.intent_name, count(*), \
        count(*) FILTER (WHERE i.outcome = 'escalated'), \
        percentile_cont(ARRAY[0.5, 0.95]) WITHIN GROUP (ORDER BY i.processing_time_ms) \
     FROM public.interactions AS i \
     WHERE i.assistant_mode = $1 AND i.\"timestamp\" >= $2 AND i.\"timestamp\" <= $3 \
     GROUP BY GROUPING SETS ((i.intent_name), ())";

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// Loads `rows` interactions in chunks, with their escalations; returns the rate.
async fn load(pool: &PgPool, first: u64, rows: u64, end: DateTime<Utc>) -> Result<f64, Failure> {
    let started = Instant::now();
    let since: DateTime<Utc> = sqlx::query_scalar("SELECT now()").fetch_one(pool).await?;
    let mut done = 0;
    while done < rows {
        let count = CHUNK.min(rows - done);
        sqlx::query(&insert_sql(first + done, count, end))
            .execute(pool)
            .await?;
        done += count;
        if done % 1_000_000 == 0 {
            eprintln!("  {done} rows, {:.0} s", started.elapsed().as_secs_f64());
        }
    }
    sqlx::query(ESCALATIONS).bind(since).execute(pool).await?;
    Ok(rows as f64 / started.elapsed().as_secs_f64())
}

/// Median of `RUNS` warm runs of `f`, after one to warm up.
async fn timed<F, Fut, T>(mut f: F) -> Result<Duration, Failure>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, Failure>>,
{
    f().await?;
    let mut times = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let started = Instant::now();
        f().await?;
        times.push(started.elapsed());
    }
    Ok(median(times))
}

/// Turns the rollups' triggers on or off (the spec's own triggers stay as they are).
async fn set_rollup_triggers(pool: &PgPool, on: bool) -> Result<(), Failure> {
    for table in ["public.interactions", "public.escalations"] {
        for trigger in ROLLUP_TRIGGERS {
            let verb = if on { "ENABLE" } else { "DISABLE" };
            sqlx::query(&format!("ALTER TABLE {table} {verb} TRIGGER {trigger}"))
                .execute(pool)
                .await?;
        }
    }
    Ok(())
}

/// Holds off (or restores) autovacuum of the spec's two tables; vacuums them when restoring.
async fn set_table_autovacuum(pool: &PgPool, on: bool) -> Result<(), Failure> {
    for table in ["public.interactions", "public.escalations"] {
        let change = if on {
            format!("ALTER TABLE {table} RESET (autovacuum_enabled)")
        } else {
            format!("ALTER TABLE {table} SET (autovacuum_enabled = false)")
        };
        sqlx::query(&change).execute(pool).await?;
        if on {
            sqlx::query(&format!("VACUUM ANALYZE {table}"))
                .execute(pool)
                .await?;
        }
    }
    Ok(())
}

/// Writes out every dirty buffer, so that a timed run does not pay for what came before.
async fn checkpoint(pool: &PgPool) -> Result<(), Failure> {
    sqlx::query("CHECKPOINT").execute(pool).await?;
    Ok(())
}

/// Folds everything pending into the rollups, after a fold in progress (taking the fold's
/// lock as the triggers do): a timed run ends with it, so that each run pays for the
/// rollups of its own rows, the last of them too, and the next run for none of them; the
/// deletes between runs end with it too, untimed.
async fn fold_all(pool: &PgPool) -> Result<(), Failure> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock(2026, 11)")
        .execute(&mut *tx)
        .await?;
    sqlx::query("SELECT assistant_db.rollups_compact()")
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// The CPU time of a write run's processes: the server (its postmaster, every process it
/// runs now, and those it has reaped: the backends of connections already closed) and this
/// process with its reaped children (the logger runs here; the import is a child, reaped
/// before the run ends). A process that exits between the readings of its parent and of
/// itself is counted twice or not at all: the readings are taken while no connection opens
/// or closes, so only an autovacuum worker ending just then could be.
struct CpuClock {
    /// The server's postmaster.
    postmaster: i32,
    /// Clock ticks per second.
    ticks: f64,
}

impl CpuClock {
    /// The clock of the server that `pool` connects to (which must run on this machine).
    async fn of(pool: &PgPool) -> Result<CpuClock, Failure> {
        let backend: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
            .fetch_one(pool)
            .await?;
        let postmaster = procfs::process::Process::new(backend)?.stat()?.ppid;
        Ok(CpuClock {
            postmaster,
            ticks: procfs::ticks_per_second() as f64,
        })
    }

    /// CPU seconds used so far, user and system, by the server and by this benchmark.
    fn seconds(&self) -> Result<f64, Failure> {
        let own = |stat: &procfs::process::Stat| {
            (stat.utime + stat.stime) as f64 + (stat.cutime + stat.cstime) as f64
        };
        let mut ticks = 0.0;
        for process in procfs::process::all_processes()? {
            // A process may end while the list is read: it is the case the type's
            // documentation names.
            let Ok(stat) = process.and_then(|p| p.stat()) else {
                continue;
            };
            if stat.ppid == self.postmaster {
                ticks += own(&stat);
            }
        }
        ticks += own(&procfs::process::Process::new(self.postmaster)?.stat()?);
        ticks += own(&procfs::process::Process::myself()?.stat()?);
        Ok(ticks / self.ticks)
    }
}

/// A timed write run: its rate, and the CPU seconds it took per 1,000 rows.
#[derive(Clone, Copy)]
struct Run {
    /// Rows per second.
    rate: f64,
    /// CPU seconds (the server's and the benchmark's) per 1,000 rows.
    cpu: f64,
}

/// Times one write run of `rows` rows: `f` returns its rate.
async fn cpu_timed<Fut>(clock: &CpuClock, rows: usize, f: Fut) -> Result<Run, Failure>
where
    Fut: std::future::Future<Output = Result<f64, Failure>>,
{
    let before = clock.seconds()?;
    let rate = f.await?;
    let cpu = (clock.seconds()? - before) * 1000.0 / rows as f64;
    Ok(Run { rate, cpu })
}

/// Tasks logging at once, as the requests of a busy assistant do.
const LOGGING_TASKS: usize = 32;

/// Logs `rows` through a real logger (spool, batching, COPY) from `LOGGING_TASKS` tasks,
/// waits until all are stored and folded; returns the rate.
async fn logger_rate(
    pool: &PgPool,
    client: &Client,
    rows: &[Interaction],
    spool: &Path,
) -> Result<f64, Failure> {
    let logger = Logger::start(client.clone(), LoggerConfig::new(spool)).await?;
    let started = Instant::now();
    let share = rows.len().div_ceil(LOGGING_TASKS);
    let tasks: Vec<_> = rows
        .chunks(share.max(1))
        .map(|chunk| {
            let (logger, chunk) = (logger.clone(), chunk.to_vec());
            tokio::spawn(async move {
                for row in chunk {
                    logger.log(row).await?;
                }
                Ok::<_, assistant_db::Error>(())
            })
        })
        .collect();
    for task in tasks {
        task.await??;
    }
    logger.flush(Duration::from_secs(1800)).await?;
    fold_all(pool).await?;
    let rate = rows.len() as f64 / started.elapsed().as_secs_f64();
    logger.shutdown(Duration::from_secs(60)).await?;
    Ok(rate)
}

/// Imports the NDJSON file with the `assistant-db` binary built beside this benchmark,
/// then folds what is pending; returns the rate.
async fn import_rate(pool: &PgPool, url: &str, file: &Path, rows: usize) -> Result<f64, Failure> {
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_assistant-db"))
        .env_remove("DATABASE_URL")
        .env_remove("SUPABASE_URL")
        .env_remove("SUPABASE_KEY")
        .env_remove("ASSISTANT_DB_HOME")
        .env("RUST_LOG", "warn")
        .args(["import", "interactions"])
        .arg(file)
        .args(["--json", "--database-url", url])
        .output()?;
    if !out.status.success() {
        return Err(format!(
            "assistant-db import failed: {}",
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    fold_all(pool).await?;
    Ok(rows as f64 / started.elapsed().as_secs_f64())
}

/// Deletes what a write run added, and checks that it added every row.
async fn remove(pool: &PgPool, rows: &[Interaction]) -> Result<(), Failure> {
    let ids: Vec<uuid::Uuid> = rows.iter().map(|r| r.id).collect();
    let deleted = sqlx::query("DELETE FROM public.interactions WHERE id = ANY($1)")
        .bind(&ids)
        .execute(pool)
        .await?
        .rows_affected();
    if deleted != ids.len() as u64 {
        return Err(format!("a write run stored {deleted} of {} interactions", ids.len()).into());
    }
    Ok(())
}

/// The interactions of one timed write run, and the same as an NDJSON file for the import.
struct WriteSet {
    /// The interactions, in the generator's order.
    rows: Vec<Interaction>,
    /// The NDJSON file holding them.
    file: PathBuf,
}

/// The seed of the first timed write run's demo traffic; each later run takes the next.
const FIRST_SEED: u64 = 20_261_202;

/// Generates `count` demo interactions over the last day from `seed` (ids and sessions of
/// their own), and writes them to `dir`'s NDJSON file for the import.
fn write_set(dir: &Path, seed: u64, count: usize) -> Result<WriteSet, Failure> {
    let config = DemoConfig {
        seed,
        interactions: count,
        start: Utc::now() - Span::days(1),
        days: 1,
    };
    let rows: Vec<Interaction> = Generator::new(&config).map(|t| t.interaction).collect();
    let file = dir.join("interactions.ndjson");
    let mut out = BufWriter::new(std::fs::File::create(&file)?);
    for row in &rows {
        serde_json::to_writer(&mut out, row)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(WriteSet { rows, file })
}

/// The logger's and import's rates with the rollups' triggers and without them, on the
/// loaded table: each round logs `count` demo interactions over the last day, deletes them,
/// imports as many and deletes them, once with the triggers and once without.
async fn write_rates(
    pool: &PgPool,
    client: &Client,
    url: &str,
    count: usize,
) -> Result<(), Failure> {
    let dir = tempfile::tempdir()?;
    // Each timed run writes traffic of its own, generated untimed before it: new ids and
    // new sessions, as real traffic brings, rather than re-inserting, run after run, the
    // sessions the previous run's delete had just removed from the rollups (the ratios
    // came out the same either way: docs/SCALING.md).
    let mut seed = FIRST_SEED;
    let mut next_set = || {
        let set = write_set(dir.path(), seed, count);
        seed += 1;
        set
    };

    // Every timed run starts from the same state: the deletes between runs would set off
    // autovacuum of the whole loaded table (a fifth of it dead after about twenty runs)
    // in the middle of some run, so it waits until the rounds are over; and a checkpoint
    // before each run writes out what the previous run and its delete left dirty. What the
    // rollups themselves cost (their triggers, folds, and the vacuum of their own tables)
    // stays inside the timed runs: each ends once its rows are stored and folded, the
    // deltas of its last rows too (which would otherwise fall to the next run, with the
    // triggers or without, since the logger and the import fold beside their batches
    // whether the triggers are on or not); the deltas of a delete are folded before the
    // next run begins.
    let clock = CpuClock::of(pool).await?;
    set_table_autovacuum(pool, false).await?;
    let (mut logged, mut imported) = ([Vec::new(), Vec::new()], [Vec::new(), Vec::new()]);
    for round in 0..WRITE_ROUNDS {
        // Which goes first alternates, so that a drift of the machine's speed within a
        // round favours neither.
        let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
        for k in order {
            let on = k == 0;
            set_rollup_triggers(pool, on).await?;
            let spool = dir.path().join(format!("spool-{round}-{on}.db"));
            let set = next_set()?;
            checkpoint(pool).await?;
            let run = logger_rate(pool, client, &set.rows, &spool);
            logged[k].push(cpu_timed(&clock, set.rows.len(), run).await?);
            remove(pool, &set.rows).await?;
            fold_all(pool).await?;
            let set = next_set()?;
            checkpoint(pool).await?;
            let run = import_rate(pool, url, &set.file, set.rows.len());
            imported[k].push(cpu_timed(&clock, set.rows.len(), run).await?);
            remove(pool, &set.rows).await?;
            fold_all(pool).await?;
            set_rollup_triggers(pool, true).await?;
        }
    }
    set_table_autovacuum(pool, true).await?;
    let mid = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    println!("writes of {count} demo interactions into the loaded table (median of {WRITE_ROUNDS} rounds):");
    for (name, runs) in [("logger", &logged), ("import", &imported)] {
        for (what, of) in [
            ("rate", (|r: &Run| r.rate) as fn(&Run) -> f64),
            ("cpu", |r| r.cpu),
        ] {
            // Each round's pair, with and without, ran minutes apart: its ratio shows how
            // much the machine's speed moved between rounds.
            let mut ratios: Vec<f64> = runs[0]
                .iter()
                .zip(&runs[1])
                .map(|(with, without)| 100.0 * of(with) / of(without))
                .collect();
            let rounds: Vec<String> = ratios.iter().map(|r| format!("{r:.0} %")).collect();
            let mut with: Vec<f64> = runs[0].iter().map(of).collect();
            let mut without: Vec<f64> = runs[1].iter().map(of).collect();
            let (with, without) = (mid(&mut with), mid(&mut without));
            let head = if what == "rate" {
                format!("  {name:<7} {with:>7.0} rows/s with the rollups' triggers, {without:>7.0} without")
            } else {
                // The server's CPU and the benchmark's (the logger, the import's process).
                format!("          CPU per 1,000 rows: {with:.2} s with, {without:.2} s without")
            };
            println!(
                "{head} ({:.0} % of without; round by round {}, median {:.0} %)",
                100.0 * with / without,
                rounds.join(", "),
                mid(&mut ratios)
            );
        }
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Failure> {
    let rows: u64 = match std::env::var("ASSISTANT_DB_BENCH_ROWS") {
        Ok(text) => text.replace(['_', ','], "").parse()?,
        Err(_) => 10_000_000,
    };
    let writes: usize = match std::env::var("ASSISTANT_DB_BENCH_WRITES") {
        Ok(text) => text.replace(['_', ','], "").parse()?,
        Err(_) => 100_000,
    };
    let server = EphemeralCluster::start_with(Tuning::Durable)?;
    let cluster = server.cluster();
    cluster.ensure_database(DEFAULT_DATABASE).await?;
    let mut conn = cluster.connect_options(DEFAULT_DATABASE).connect().await?;
    assistant_db::migrate::run(&mut conn).await?;
    conn.close().await?;
    let pool = PgPoolOptions::new()
        .max_connections(8)
        .connect_with(cluster.connect_options(DEFAULT_DATABASE))
        .await?;
    let end = Utc::now().duration_trunc(Span::hours(1))?;

    println!("scale benchmark: {rows} interactions over 90 days, both modes");
    let with = load(&pool, 0, rows, end).await?;
    sqlx::query("VACUUM ANALYZE public.interactions")
        .execute(&pool)
        .await?;
    sqlx::query("VACUUM ANALYZE public.escalations")
        .execute(&pool)
        .await?;
    for table in ROLLUP_TABLES {
        sqlx::query(&format!("VACUUM ANALYZE assistant_db.{table}"))
            .execute(&pool)
            .await?;
    }

    // The same inserts without the triggers: a tenth of the rows, then gone again.
    let extra = (rows / 10).max(CHUNK);
    let mut conn = pool.acquire().await?;
    let before: DateTime<Utc> = sqlx::query_scalar("SELECT now()")
        .fetch_one(&mut *conn)
        .await?;
    sqlx::query("SET session_replication_role = replica")
        .execute(&mut *conn)
        .await?;
    let started = Instant::now();
    let mut done = 0;
    while done < extra {
        let count = CHUNK.min(extra - done);
        sqlx::query(&insert_sql(rows + done, count, end))
            .execute(&mut *conn)
            .await?;
        done += count;
    }
    let without = extra as f64 / started.elapsed().as_secs_f64();
    sqlx::query("DELETE FROM public.interactions WHERE created_at >= $1")
        .bind(before)
        .execute(&mut *conn)
        .await?;
    sqlx::query("RESET session_replication_role")
        .execute(&mut *conn)
        .await?;
    drop(conn);
    let check_all = PgStore::rollups_check(&pool, HourRange::default()).await?;
    println!(
        "writes: {with:.0} rows/s with the rollups' triggers, {without:.0} rows/s without \
         ({:.0} % of without)",
        100.0 * with / without
    );
    if !check_all.ok {
        println!("  WARNING: the rollups differ from the rows after the load: {check_all:?}");
    }

    let sizes: (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM public.interactions), \
                pg_total_relation_size('public.interactions') + pg_total_relation_size('public.escalations'), \
                (SELECT sum(pg_total_relation_size(c.oid))::bigint FROM pg_class AS c \
                 JOIN pg_namespace AS n ON n.oid = c.relnamespace \
                 WHERE n.nspname = 'assistant_db' AND c.relkind = 'r' AND c.relname LIKE 'rollup%')",
    )
    .fetch_one(&pool)
    .await?;
    println!(
        "size: {} interactions; tables {:.0} bytes per interaction, rollups {:.0} bytes per interaction",
        sizes.0,
        sizes.1 as f64 / sizes.0 as f64,
        sizes.2 as f64 / sizes.0 as f64
    );

    // A 30-day window of one mode, ending at the last whole hour.
    let window = |days: i64| MetricsFilter {
        mode: Some(AssistantMode::Customer),
        from: Some(end - Span::days(days)),
        to: Some(end),
        intent: None,
        category: None,
        bucket: Bucket::Day,
        tz: Default::default(),
    };
    let client = Client::from_pool(pool.clone());
    let f30 = window(30);
    let through_client = timed(|| async { Ok::<_, Failure>(client.metrics(&f30).await?) }).await?;
    // The same length ending at some minute, as `30d` does: an edge hour at each end is
    // read from the rows.
    let to = end - Span::minutes(17) - Span::seconds(23);
    let f30_minute = MetricsFilter {
        from: Some(to - Span::days(30)),
        to: Some(to),
        ..window(30)
    };
    let at_a_minute =
        timed(|| async { Ok::<_, Failure>(client.metrics(&f30_minute).await?) }).await?;

    let dir = tempfile::tempdir()?;
    let logger = Logger::start(
        client.clone(),
        LoggerConfig::new(dir.path().join("spool.db")),
    )
    .await?;
    let settings = ServerConfig {
        token: Some(Secret::new(TOKEN)),
        ..ServerConfig::new(std::net::SocketAddr::from(([127, 0, 0, 1], 0)))
    }
    .check()?;
    let web = Server::bind(settings, client.clone(), logger).await?;
    let base = format!("http://{}", web.local_addr());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(web.run(async {
        let _ = stopped.await;
    }));
    let http = reqwest::Client::new();
    let api = format!(
        "{base}/api/metrics?mode=customer&from={}&to={}",
        (end - Span::days(30)).to_rfc3339().replace('+', "%2B"),
        end.to_rfc3339().replace('+', "%2B")
    );
    let through_api = timed(|| async {
        let response = http.get(&api).bearer_auth(TOKEN).send().await?;
        if !response.status().is_success() {
            return Err(format!("GET /api/metrics: {}", response.status()).into());
        }
        Ok::<_, Failure>(response.bytes().await?)
    })
    .await?;
    let dashboard = format!(
        "{base}/?mode=customer&from={}&to={}",
        (end - Span::days(30)).format("%Y-%m-%d"),
        end.format("%Y-%m-%d")
    );
    let page = timed(|| async {
        let response = http.get(&dashboard).bearer_auth(TOKEN).send().await?;
        Ok::<_, Failure>(response.bytes().await?)
    })
    .await?;
    let _ = stop.send(());
    let _ = running.await;

    let raw = timed(|| async {
        let v: serde_json::Value =
            sqlx::query_scalar("SELECT assistant_db.interaction_metrics_raw('customer', $1, $2)")
                .bind(end - Span::days(30))
                .bind(end)
                .fetch_one(&pool)
                .await?;
        Ok::<_, Failure>(v)
    })
    .await?;
    let hand = timed(|| async {
        let rows = sqlx::query(HAND_WRITTEN)
            .bind("customer")
            .bind(end - Span::days(30))
            .bind(end)
            .fetch_all(&pool)
            .await?;
        Ok::<_, Failure>(rows.len())
    })
    .await?;
    println!("30-day window, customer mode (median of {RUNS} warm runs):");
    println!("  rollups through the client   {}", ms(through_client));
    println!(
        "  the same, ending at a minute {}  (partial hours at both ends)",
        ms(at_a_minute)
    );
    println!("  rollups through /api/metrics {}", ms(through_api));
    println!("  dashboard page (GET /)       {}", ms(page));
    println!(
        "  raw rows (migration 010)     {}  ({:.0}x the rollups)",
        ms(raw),
        raw.as_secs_f64() / through_client.as_secs_f64()
    );
    println!("  best hand-written query      {}", ms(hand));

    println!("rollup metrics against the window's length (customer mode, median of {RUNS}):");
    for days in [1, 7, 30, 90] {
        let f = window(days);
        let t = timed(|| async { Ok::<_, Failure>(client.metrics(&f).await?) }).await?;
        println!("  {days:>2} days  {}", ms(t));
    }

    write_rates(&pool, &client, &cluster.url(DEFAULT_DATABASE), writes).await?;

    let started = Instant::now();
    let check = PgStore::rollups_check(
        &pool,
        HourRange {
            from: Some(end - Span::days(30)),
            to: Some(end),
        },
    )
    .await?;
    println!(
        "rollups check, 30 days: {} ({})",
        ms(started.elapsed()),
        if check.ok { "equal" } else { "DIFFERENT" }
    );
    let started = Instant::now();
    let rebuilt = PgStore::rollups_rebuild(&pool, HourRange::default()).await?;
    println!(
        "rollups rebuild, everything: {rebuilt} interactions in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

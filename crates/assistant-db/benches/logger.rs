//! Logger benchmark: prints latency and throughput figures (run with
//! `cargo bench -p assistant-db --bench logger`).
//!
//! Everything runs against a private, durable PostgreSQL (fsync on) started here, with
//! the spool on the same disk:
//! - one disk sync on the spool's disk, as the yardstick: 8 kB rewritten and synced, as
//!   `pg_test_fsync` measures it (and, for contrast, appended to a growing file);
//! - `log_nowait` latency, from one task;
//! - `log` latency from 1 task (on a new spool, and once its WAL is reused), each call
//!   followed by one probe sync, and from 32 concurrent tasks (group commit);
//! - sustained end-to-end interactions/s into PostgreSQL through the logger;
//! - the spec's pattern: one synchronous INSERT per interaction, on the same server.
//!
//! Then the same comparison over the REST API, which is what the spec's Python wrapper
//! uses: a throwaway PostgreSQL behind `postrust` (PostgREST-compatible) on 127.0.0.1,
//! reached through a pass-through proxy that serves it under `/rest/v1` as a Supabase
//! project does. There the spec's pattern runs twice: as the spec wrote it (its Python
//! `SupabaseClient.insert_interaction`, supabase-py, in a virtualenv made on first run)
//! and as one REST insert per interaction from our Rust client; the logger drains over
//! the same proxy.
//!
//! Last, redaction's cost (`-- redaction` runs only this part): end-to-end throughput
//! through the logger on the durable server, with the library's redaction (every kind
//! masked, the default) and with it off, in alternating runs over the same records —
//! the demo generator's traffic with 5 % of queries carrying PII from the redaction
//! corpus. The database's guard is on in both, as deployed.

use std::time::{Duration, Instant};

use assistant_db::config::Secret;
use assistant_db::demo::{DemoConfig, Generator};
use assistant_db::local::{Tuning, DEFAULT_DATABASE};
use assistant_db::logger::{Logger, LoggerConfig};
use assistant_db::model::{AssistantMode, Interaction, Outcome, RequiredText};
use assistant_db::redact::{Policy, RedactionConfig, Redactor};
use assistant_db::store::RestStore;
use assistant_db::Client;
use assistant_db_testkit::EphemeralCluster;
use chrono::{TimeZone, Utc};
use sqlx::postgres::PgPoolOptions;
use sqlx::{ConnectOptions, Connection, PgPool};
use uuid::Uuid;

use assistant_db_testkit::rest;

mod spec_python;

type Failure = Box<dyn std::error::Error>;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn summary(label: &str, mut samples: Vec<Duration>) {
    samples.sort();
    println!(
        "{label:<44} p50 {:>9.1} µs   p99 {:>9.1} µs   (n = {})",
        percentile(&samples, 0.50).as_secs_f64() * 1e6,
        percentile(&samples, 0.99).as_secs_f64() * 1e6,
        samples.len()
    );
}

fn interaction(n: usize) -> Interaction {
    let mut i = Interaction::new(
        AssistantMode::Customer,
        &format!("How do I dispute a card charge from last week? (question {n})"),
        Outcome::Resolved,
    )
    .expect("valid");
    i.response_text = Some("x".repeat(600).try_into().expect("text"));
    i
}

/// One disk sync on the spool's disk, the yardstick for `log`: 8 kB rewritten at the
/// start of an existing file, then fdatasync — what `pg_test_fsync` measures.
struct SyncProbe {
    file: std::fs::File,
    path: std::path::PathBuf,
    block: Vec<u8>,
}

impl SyncProbe {
    fn new(dir: &std::path::Path) -> Result<Self, Failure> {
        use std::os::unix::fs::FileExt;
        let path = dir.join("sync-probe");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .open(&path)?;
        let block = vec![7u8; 8192];
        file.write_all_at(&block, 0)?;
        file.sync_all()?;
        Ok(SyncProbe { file, path, block })
    }

    fn once(&self) -> Result<Duration, Failure> {
        use std::os::unix::fs::FileExt;
        let start = Instant::now();
        self.file.write_all_at(&self.block, 0)?;
        self.file.sync_data()?;
        Ok(start.elapsed())
    }

    /// For contrast: 8 kB appended to a growing file and fsynced (the size changes too).
    fn appends(&self, n: u64) -> Result<Vec<Duration>, Failure> {
        use std::os::unix::fs::FileExt;
        let path = self.path.with_extension("append");
        let file = std::fs::File::create(&path)?;
        let mut samples = Vec::new();
        for i in 0..n {
            let start = Instant::now();
            file.write_all_at(&self.block, i * 8192)?;
            file.sync_all()?;
            samples.push(start.elapsed());
        }
        std::fs::remove_file(path)?;
        Ok(samples)
    }
}

impl Drop for SyncProbe {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[tokio::main]
async fn main() -> Result<(), Failure> {
    let only_redaction = std::env::args().skip(1).any(|a| a == "redaction");
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
    let client = Client::from_pool(pool.clone());
    let dir = tempfile::tempdir()?;
    if only_redaction {
        return redaction_comparison(&pool, dir.path()).await;
    }

    println!(
        "assistant-db logger benchmark (durable PostgreSQL, spool in {})",
        dir.path().display()
    );
    let probe = SyncProbe::new(dir.path())?;
    summary(
        "disk sync: 8 kB rewrite + fdatasync (quiet)",
        (0..500).map(|_| probe.once()).collect::<Result<_, _>>()?,
    );
    summary(
        "disk sync: 8 kB append + fsync (quiet)",
        probe.appends(500)?,
    );

    let config = LoggerConfig::new(dir.path().join("spool.db"));
    println!(
        "logger: batches of {}, {} in flight, flush interval {:?} (the defaults)",
        config.batch_size, config.deliveries, config.flush_interval
    );
    let logger = Logger::start(client.clone(), config).await?;

    // log from one task on the new spool (its writer has just made room in the WAL).
    log_latency(&logger, &probe, "new spool").await?;

    // log_nowait from one task.
    let mut samples = Vec::new();
    for n in 0..100_000 {
        let record = interaction(n);
        let start = Instant::now();
        logger.log_nowait(record)?;
        samples.push(start.elapsed());
        if n % 10_000 == 9_999 {
            // Let the spool writer keep up so the buffer never fills.
            logger.flush(Duration::from_secs(120)).await?;
        }
    }
    summary("log_nowait, 1 task", samples);
    logger.flush(Duration::from_secs(300)).await?;

    // log from one task again, now that commits reuse the WAL file: a running logger.
    log_latency(&logger, &probe, "running").await?;

    // log from 32 tasks at once: they share syncs.
    let tasks: Vec<_> = (0..32)
        .map(|t| {
            let logger = logger.clone();
            tokio::spawn(async move {
                let mut samples = Vec::new();
                for n in 0..300 {
                    let record = interaction(t * 1000 + n);
                    let start = Instant::now();
                    logger.log(record).await.map_err(|e| e.to_string())?;
                    samples.push(start.elapsed());
                }
                Ok::<_, String>(samples)
            })
        })
        .collect();
    let mut samples = Vec::new();
    for task in tasks {
        samples.extend(task.await??);
    }
    summary("log, 32 concurrent tasks (group commit)", samples);
    logger.flush(Duration::from_secs(300)).await?;

    // Sustained end-to-end: log 100,000 from 32, then from 256 tasks (an assistant
    // serving that many conversations at once), and wait until all are stored.
    let mut rates = Vec::new();
    for tasks in [32, 256] {
        let rate = end_to_end(&logger, 100_000, tasks).await?;
        println!(
            "{:<44} {rate:>9.0} interactions/s (logged, spooled and stored)",
            format!("end-to-end through the logger, {tasks} tasks")
        );
        rates.push((tasks, rate));
    }
    logger.shutdown(Duration::from_secs(60)).await?;

    // The spec's pattern: one synchronous INSERT per interaction, as a prepared
    // statement of the columns these records fill (the others keep their defaults).
    let n = 2_000;
    let start = Instant::now();
    for i in 0..n {
        let record = interaction(i);
        sqlx::query(
            "INSERT INTO interactions \
                 (id, \"timestamp\", assistant_mode, user_query, outcome, response_text) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(record.id)
        .bind(record.timestamp)
        .bind(record.assistant_mode.as_str())
        .bind(record.user_query.as_str())
        .bind(record.outcome.as_str())
        .bind(record.response_text.as_ref().map(|t| t.as_str()))
        .execute(&pool)
        .await?;
    }
    let spec_rate = n as f64 / start.elapsed().as_secs_f64();
    println!(
        "{:<44} {spec_rate:>9.0} interactions/s",
        "spec pattern: one INSERT per interaction"
    );
    for (tasks, rate) in rates {
        println!(
            "{:<44} {:>9.1}×",
            format!("logger ({tasks} tasks) / spec pattern"),
            rate / spec_rate
        );
    }
    redaction_comparison(&pool, dir.path()).await?;
    pool.close().await;

    rest_comparison(dir.path()).await
}

/// Records logged per run of the redaction comparison.
const REDACTION_RECORDS: usize = 40_000;
/// Runs of each setting, alternating, so that both see the same machine (after one
/// warm-up run that is not counted).
const REDACTION_RUNS: usize = 5;

/// The demo generator's interactions, every 20th query carrying a text with PII from the
/// redaction corpus.
fn traffic_with_pii(count: usize) -> Result<Vec<Interaction>, Failure> {
    let corpus = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/redaction/corpus.jsonl");
    let mut pii = Vec::new();
    for line in std::fs::read_to_string(corpus)?.lines() {
        let row: serde_json::Value = serde_json::from_str(line)?;
        if row["expect"].as_array().is_some_and(|e| !e.is_empty()) {
            pii.push(
                row["text"]
                    .as_str()
                    .ok_or("corpus row without text")?
                    .to_owned(),
            );
        }
    }
    let config = DemoConfig {
        seed: 13,
        interactions: count,
        start: Utc
            .with_ymd_and_hms(2025, 1, 1, 0, 0, 0)
            .single()
            .ok_or("start")?,
        days: 30,
    };
    let mut rows = Vec::with_capacity(count);
    for (i, turn) in Generator::new(&config).take(count).enumerate() {
        let mut row = turn.interaction;
        if i % 20 == 0 {
            let query = format!("{} {}", row.user_query.as_str(), pii[i % pii.len()]);
            row.user_query = RequiredText::parse(&query).map_err(|e| format!("{e:?}"))?;
        }
        rows.push(row);
    }
    Ok(rows)
}

/// Logger throughput end to end with the library's redaction on (mask) and off.
async fn redaction_comparison(pool: &PgPool, dir: &std::path::Path) -> Result<(), Failure> {
    let traffic = traffic_with_pii(REDACTION_RECORDS)?;
    let pii_rows = traffic.len().div_ceil(20);
    println!(
        "redaction: {} demo interactions per run, {pii_rows} with PII in the query, 32 tasks, \
         {REDACTION_RUNS} alternating runs each, guard on",
        traffic.len()
    );
    let settings = [
        ("off", RedactionConfig::new().with_all(Policy::Off)),
        ("mask", RedactionConfig::new()),
    ];
    // The engine alone over the same records, one thread: the CPU time redaction adds
    // to each record whatever else the machine is doing.
    let redactor = Redactor::new(&RedactionConfig::new())?;
    let mut copies = traffic.clone();
    let start = Instant::now();
    let mut redacted = 0;
    for row in &mut copies {
        redacted += redactor.redact_interaction(row).total();
    }
    let alone = start.elapsed();
    println!(
        "{:<44} {:>9.2} µs per interaction ({redacted} values redacted)",
        "  redaction alone, one thread",
        alone.as_secs_f64() * 1e6 / traffic.len() as f64
    );
    let mut rates: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    let mut ratios = Vec::new();
    for run in 0..=REDACTION_RUNS {
        for (k, (name, config)) in settings.iter().enumerate() {
            let client = Client::from_pool(pool.clone()).with_redactor(Redactor::new(config)?);
            let spool = dir.join(format!("redaction-{name}-{run}.db"));
            let logger = Logger::start(client, LoggerConfig::new(spool)).await?;
            let rate = logged_end_to_end(&logger, &traffic, 32).await?;
            let stats = logger.stats().await?;
            logger.shutdown(Duration::from_secs(60)).await?;
            if run == 0 {
                println!("  warm-up: redaction {name:<4} {rate:>9.0} interactions/s (not counted)");
                continue;
            }
            println!(
                "  run {run}: redaction {name:<4} {rate:>9.0} interactions/s   ({} values redacted)",
                stats.redactions.total()
            );
            rates[k].push(rate);
        }
        if run > 0 {
            ratios.push(rates[1][run - 1] / rates[0][run - 1]);
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let off = median(&mut rates[0]);
    let on = median(&mut rates[1]);
    let paired = median(&mut ratios);
    println!(
        "{:<44} {off:>9.0} interactions/s (median)",
        "end-to-end, redaction off"
    );
    println!(
        "{:<44} {on:>9.0} interactions/s (median)",
        "end-to-end, redaction on (mask)"
    );
    println!(
        "{:<44} {:>9.1} %   (median of each run's on / off: {:.1} %)",
        "  redaction on / off",
        100.0 * on / off,
        100.0 * paired
    );
    Ok(())
}

/// Logs copies of `traffic` (fresh ids) from `tasks` tasks, waits until all are stored;
/// returns the rate.
async fn logged_end_to_end(
    logger: &Logger,
    traffic: &[Interaction],
    tasks: usize,
) -> Result<f64, Failure> {
    let per_task = traffic.len() / tasks;
    let start = Instant::now();
    let handles: Vec<_> = traffic
        .chunks(per_task)
        .take(tasks)
        .map(|chunk| {
            let logger = logger.clone();
            let chunk = chunk.to_vec();
            tokio::spawn(async move {
                for mut row in chunk {
                    row.id = Uuid::now_v7();
                    logger.log(row).await.map_err(|e| e.to_string())?;
                }
                Ok::<_, String>(())
            })
        })
        .collect();
    for handle in handles {
        handle.await??;
    }
    logger.flush(Duration::from_secs(600)).await?;
    Ok((per_task * tasks) as f64 / start.elapsed().as_secs_f64())
}

/// `log` latency from one task, each call followed by one probe sync so that both see
/// the same disk (the drain writes batches to PostgreSQL, on the same disk, meanwhile).
async fn log_latency(logger: &Logger, probe: &SyncProbe, label: &str) -> Result<(), Failure> {
    let (mut logs, mut syncs) = (Vec::new(), Vec::new());
    for n in 0..2_000 {
        let record = interaction(n);
        let start = Instant::now();
        logger.log(record).await?;
        logs.push(start.elapsed());
        syncs.push(probe.once()?);
    }
    logs.sort();
    syncs.sort();
    let ratio = percentile(&logs, 0.99).as_secs_f64() / percentile(&syncs, 0.99).as_secs_f64();
    summary(&format!("log, 1 task, {label}"), logs);
    summary("  disk sync, between those calls", syncs);
    println!("{:<44} {ratio:>9.2}×", "  log p99 / disk sync p99");
    logger
        .flush(Duration::from_secs(300))
        .await
        .map_err(Into::into)
}

/// Logs `total` interactions from `tasks` tasks, waits until all are stored; returns
/// the rate.
async fn end_to_end(logger: &Logger, total: usize, tasks: usize) -> Result<f64, Failure> {
    let start = Instant::now();
    let handles: Vec<_> = (0..tasks)
        .map(|t| {
            let logger = logger.clone();
            tokio::spawn(async move {
                for n in 0..total / tasks {
                    logger
                        .log(interaction(t * 1_000_000 + n))
                        .await
                        .map_err(|e| e.to_string())?;
                }
                Ok::<_, String>(())
            })
        })
        .collect();
    for handle in handles {
        handle.await??;
    }
    logger.flush(Duration::from_secs(600)).await?;
    Ok((total / tasks * tasks) as f64 / start.elapsed().as_secs_f64())
}

/// The spec's pattern and the logger, both over the REST API.
async fn rest_comparison(dir: &std::path::Path) -> Result<(), Failure> {
    println!("over the REST API (postrust on 127.0.0.1, throwaway PostgreSQL):");
    let server = rest::RestServer::start().await;
    let key = rest::key(rest::Role::ServiceRole);
    // supabase-py only speaks to a project URL (`…/rest/v1/…`): the proxy plays the
    // project's gateway for it. The gateway runs on the provider's machines, not on the
    // client's, so the Rust client and the logger talk to the server directly, and the
    // one-insert loop also runs through the proxy to show what the hop costs.
    let proxy = spec_python::PrefixProxy::start(&server.url).await?;
    let client = server.client(rest::Role::ServiceRole);
    let via_proxy = Client::from_rest(RestStore::supabase(
        &proxy.url(),
        Secret::new(key.expose()),
    )?);

    let n = 1_000;
    let python_rate = spec_python::spec_python_rate(&proxy.url(), key.expose(), n).await?;
    println!(
        "{:<44} {python_rate:>9.0} interactions/s",
        "spec pattern as written (Python, supabase-py)"
    );
    let mut rust_rate = 0.0;
    for (label, client) in [("", &client), (", via the proxy", &via_proxy)] {
        let start = Instant::now();
        for i in 0..n {
            client.insert_interaction(&interaction(i)).await?;
        }
        let rate = n as f64 / start.elapsed().as_secs_f64();
        println!(
            "{:<44} {rate:>9.0} interactions/s",
            format!("one REST insert each, Rust client{label}")
        );
        if label.is_empty() {
            rust_rate = rate;
        }
    }

    let logger =
        Logger::start(client.clone(), LoggerConfig::new(dir.join("rest-spool.db"))).await?;
    for tasks in [32, 256] {
        let rate = end_to_end(&logger, 64_000, tasks).await?;
        println!(
            "{:<44} {rate:>9.0} interactions/s",
            format!("end-to-end through the logger, {tasks} tasks")
        );
        println!(
            "{:<44} {:>9.1}× / {:.1}×",
            "  … / spec as written / Rust REST insert",
            rate / python_rate,
            rate / rust_rate
        );
    }
    logger.shutdown(Duration::from_secs(60)).await?;
    Ok(())
}

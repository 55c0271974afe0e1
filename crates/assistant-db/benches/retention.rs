//! Retention benchmark: prints how long pruning 1M of 2M interactions takes, and what the
//! writers beside it saw meanwhile (run with `cargo bench -p assistant-db --bench retention`).
//!
//! Against a private, durable PostgreSQL (fsync on) started here:
//! - 2M interactions loaded with COPY in time order, as logs arrive: 1M between 530 and
//!   500 days old, 1M from the last 30 days; every fourth escalated, with its escalation;
//! - writers running for a few seconds on the quiet database, as the yardstick: the
//!   logger's `log` (spooled; one task, one call every 2 ms) and a direct insert through
//!   the client (`Client::log`, one task, every 5 ms);
//! - the same writers while `run_retention` deletes everything older than 400 days in
//!   batches of 1000 (the default): the run's time and rate, each batch's time, each
//!   writer call's latency, and the drain's delay (the database's `created_at` minus the
//!   interaction's `timestamp`) of what the logger wrote during the run.
//!
//! `ASSISTANT_DB_BENCH_ROWS` (default 2000000) changes the size, for a quick try.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use assistant_db::local::{Tuning, DEFAULT_DATABASE};
use assistant_db::logger::{Logger, LoggerConfig};
use assistant_db::model::{AssistantMode, Interaction, Outcome};
use assistant_db::retention::{RetentionPolicy, Via, DEFAULT_BATCH};
use assistant_db::Client;
use assistant_db_testkit::EphemeralCluster;
use sqlx::postgres::PgPoolOptions;
use sqlx::{ConnectOptions, Connection, PgPool};

type Failure = Box<dyn std::error::Error + Send + Sync>;

/// Rows loaded per COPY statement.
const CHUNK: u64 = 100_000;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn summary(label: &str, mut samples: Vec<Duration>) {
    samples.sort();
    println!(
        "{label:<48} p50 {:>8.2} ms   p99 {:>8.2} ms   max {:>8.2} ms   (n = {})",
        percentile(&samples, 0.50).as_secs_f64() * 1e3,
        percentile(&samples, 0.99).as_secs_f64() * 1e3,
        samples.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
        samples.len()
    );
}

/// Loads `rows` interactions: the first half 530 to 500 days old, the second half from
/// the last 30 days, each half in time order; every fourth escalated, with an escalation.
async fn load(pool: &PgPool, rows: u64) -> Result<(), Failure> {
    let half = rows / 2;
    let now = chrono::Utc::now();
    let span_ms = 30 * 86_400_000 / half.max(1) as i64;
    let mut conn = pool.acquire().await?;
    let mut n = 0;
    while n < rows {
        let mut text = String::with_capacity(CHUNK as usize * 120);
        for i in n..(n + CHUNK).min(rows) {
            let (base, k) = if i < half {
                (now - chrono::Duration::days(530), i)
            } else {
                (now - chrono::Duration::days(30), i - half)
            };
            let at = base + chrono::Duration::milliseconds(k as i64 * span_ms);
            let outcome = if i % 4 == 0 { "escalated" } else { "resolved" };
            text.push_str(&format!(
                "{}\tcustomer\tconv-{}\tHow do I dispute a card charge? (question {i})\t{outcome}\n",
                at.to_rfc3339(),
                i / 8
            ));
        }
        let mut copy = conn
            .copy_in_raw(
                "COPY public.interactions (\"timestamp\", assistant_mode, session_id, \
                 user_query, outcome) FROM STDIN",
            )
            .await?;
        copy.send(text.as_bytes()).await?;
        copy.finish().await?;
        n = (n + CHUNK).min(rows);
    }
    sqlx::query(
        "INSERT INTO public.escalations (interaction_id, trigger_type, escalation_reason) \
         SELECT id, 'human_only', 'asked for a person' FROM public.interactions \
         WHERE outcome = 'escalated'",
    )
    .execute(&mut *conn)
    .await?;
    for table in ["interactions", "escalations"] {
        sqlx::raw_sql(&format!("VACUUM ANALYZE public.{table}"))
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

fn interaction(label: &str, n: usize) -> Result<Interaction, Failure> {
    let mut i = Interaction::new(
        AssistantMode::Customer,
        &format!("{label}: how do I dispute a card charge? (question {n})"),
        Outcome::Resolved,
    )?;
    i.response_text = Some("x".repeat(600).try_into()?);
    Ok(i)
}

/// What the writers measured while they ran.
struct Writers {
    logger: Vec<Duration>,
    direct: Vec<Duration>,
}

/// Runs the two writers until `stop` is set; their interactions' queries start with
/// `label:` (the logger's) and `label direct:` (the direct inserts').
fn start_writers(
    logger: &Logger,
    client: &Client,
    label: &'static str,
    stop: &Arc<AtomicBool>,
) -> tokio::task::JoinHandle<Result<Writers, Failure>> {
    let spooled = {
        let (logger, stop) = (logger.clone(), stop.clone());
        tokio::spawn(async move {
            let mut samples = Vec::new();
            let mut tick = tokio::time::interval(Duration::from_millis(2));
            while !stop.load(Ordering::Acquire) {
                tick.tick().await;
                let record = interaction(label, samples.len())?;
                let start = Instant::now();
                logger.log(record).await?;
                samples.push(start.elapsed());
            }
            Ok::<_, Failure>(samples)
        })
    };
    let direct = {
        let (client, stop) = (client.clone(), stop.clone());
        tokio::spawn(async move {
            let mut samples = Vec::new();
            let mut tick = tokio::time::interval(Duration::from_millis(5));
            while !stop.load(Ordering::Acquire) {
                tick.tick().await;
                let record = interaction(&format!("{label} direct"), samples.len())?;
                let start = Instant::now();
                client.log(&[record], &[]).await?;
                samples.push(start.elapsed());
            }
            Ok::<_, Failure>(samples)
        })
    };
    tokio::spawn(async move {
        Ok(Writers {
            logger: spooled.await??,
            direct: direct.await??,
        })
    })
}

async fn count(pool: &PgPool, sql: &str) -> Result<i64, Failure> {
    Ok(sqlx::query_scalar(sql).fetch_one(pool).await?)
}

#[tokio::main]
async fn main() -> Result<(), Failure> {
    let rows: u64 = match std::env::var("ASSISTANT_DB_BENCH_ROWS") {
        Ok(text) => text
            .parse()
            .map_err(|_| format!("ASSISTANT_DB_BENCH_ROWS must be a whole number, not {text:?}"))?,
        Err(_) => 2_000_000,
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
    let client = Client::from_pool(pool.clone());
    let dir = tempfile::tempdir()?;

    println!("assistant-db retention benchmark (durable PostgreSQL, {rows} interactions)");
    let started = Instant::now();
    load(&pool, rows).await?;
    let old = count(
        &pool,
        "SELECT count(*) FROM public.interactions WHERE \"timestamp\" < now() - interval '400 days'",
    )
    .await?;
    let escalations = count(&pool, "SELECT count(*) FROM public.escalations").await?;
    println!(
        "loaded {rows} interactions ({old} older than 400 days) and {escalations} escalations in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let logger = Logger::start(
        client.clone(),
        LoggerConfig::new(dir.path().join("spool.db")),
    )
    .await?;

    // The yardstick: the same writers on the quiet database.
    let stop = Arc::new(AtomicBool::new(false));
    let quiet = start_writers(&logger, &client, "quiet", &stop);
    tokio::time::sleep(Duration::from_secs(10)).await;
    stop.store(true, Ordering::Release);
    let quiet = quiet.await??;
    logger.flush(Duration::from_secs(120)).await?;

    // Retention with the writers beside it.
    let stop = Arc::new(AtomicBool::new(false));
    let during = start_writers(&logger, &client, "during", &stop);
    let policy: RetentionPolicy = "400d".parse()?;
    let mut batches = Vec::new();
    let mut last = Instant::now();
    let started = Instant::now();
    let run = client
        .run_retention(&policy, DEFAULT_BATCH, Via::Cli, |_, _| {
            batches.push(last.elapsed());
            last = Instant::now();
        })
        .await;
    let took = started.elapsed();
    stop.store(true, Ordering::Release);
    let during = during.await??;
    let run = run?;
    logger.flush(Duration::from_secs(120)).await?;
    logger.shutdown(Duration::from_secs(60)).await?;

    println!(
        "pruned {} interactions and {} escalations in {:.1} s ({:.0} interactions/s, {} batches of {DEFAULT_BATCH})",
        run.interactions,
        run.escalations,
        took.as_secs_f64(),
        run.interactions as f64 / took.as_secs_f64(),
        run.batches
    );
    let sent = quiet.logger.len() + quiet.direct.len() + during.logger.len() + during.direct.len();
    summary("one batch (its own transaction), client side", batches);
    summary("logger log, quiet", quiet.logger);
    summary("logger log, during retention", during.logger);
    summary("direct insert (Client::log), quiet", quiet.direct);
    summary(
        "direct insert (Client::log), during retention",
        during.direct,
    );
    let delays: Vec<f64> = sqlx::query_scalar(
        "SELECT extract(epoch FROM created_at - \"timestamp\")::float8 FROM public.interactions \
         WHERE user_query LIKE 'during: %' ORDER BY 1",
    )
    .fetch_all(&pool)
    .await?;
    summary(
        "logger drain delay (logged to stored), during",
        delays
            .iter()
            .map(|s| Duration::from_secs_f64(s.max(0.0)))
            .collect(),
    );

    // What must hold, checked so that the figures describe a run that did its job.
    let left_old = count(
        &pool,
        "SELECT count(*) FROM public.interactions WHERE \"timestamp\" < now() - interval '400 days'",
    )
    .await?;
    let kept = count(
        &pool,
        "SELECT count(*) FROM public.interactions WHERE user_query NOT LIKE 'quiet%' \
         AND user_query NOT LIKE 'during%'",
    )
    .await?;
    let written = count(
        &pool,
        "SELECT count(*) FROM public.interactions WHERE user_query LIKE 'quiet%' \
         OR user_query LIKE 'during%'",
    )
    .await?;
    if left_old != 0 || kept != rows as i64 - old || written != sent as i64 {
        return Err(format!(
            "the run did not do its job: {left_old} old rows left, {kept} of {} young rows kept, \
             {written} of {sent} written rows stored",
            rows as i64 - old
        )
        .into());
    }
    println!("checked: no row older than 400 days left, every young row kept, all {sent} written rows stored");
    pool.close().await;
    Ok(())
}

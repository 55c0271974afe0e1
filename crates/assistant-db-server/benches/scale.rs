//! Scale benchmark of the dashboard's metrics (migration 011's rollups): run with
//! `cargo bench -p assistant-db-server --bench scale`.
//!
//! Against a private, durable PostgreSQL (fsync on) started here, it loads realistic
//! traffic over 90 days, both modes (`ASSISTANT_DB_BENCH_ROWS`, default 10,000,000), with
//! the rollups' triggers on, and prints in one run:
//! - the load's rate with the triggers, and the rate of the same inserts without them
//!   (1/10 of the rows, triggers disabled, then deleted again the same way): the cost of
//!   the rollups to every writer, since the logger, import and PostgREST all end in such
//!   an INSERT … SELECT … ON CONFLICT DO NOTHING;
//! - the rollups' size against the table's, in bytes per interaction;
//! - a 30-day window of one mode: through the client (`Client::metrics`, rollups), through
//!   `GET /api/metrics` on a real server, through the computation over raw rows
//!   (`assistant_db.interaction_metrics_raw`) and through the best hand-written single
//!   query for that window (counts per intent and two percentiles); medians of warm runs;
//! - the rollup metrics' latency against the window's length (1, 7, 30, 90 days);
//! - `rollups check` over the 30 days, and a full `rollups rebuild`.

use std::time::{Duration, Instant};

use assistant_db::config::Secret;
use assistant_db::local::{Tuning, DEFAULT_DATABASE};
use assistant_db::logger::{Logger, LoggerConfig};
use assistant_db::metrics::{Bucket, MetricsFilter};
use assistant_db::model::AssistantMode;
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
                (ARRAY['automatable', 'sensitive', 'human_only'])[1 + hashint % 3], \
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

#[tokio::main]
async fn main() -> Result<(), Failure> {
    let rows: u64 = match std::env::var("ASSISTANT_DB_BENCH_ROWS") {
        Ok(text) => text.parse()?,
        Err(_) => 10_000_000,
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
    for table in [
        "rollup_hours",
        "rollup_times",
        "rollup_sessions",
        "rollup_triggers",
    ] {
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
                pg_total_relation_size('assistant_db.rollup_hours') + pg_total_relation_size('assistant_db.rollup_times') \
                + pg_total_relation_size('assistant_db.rollup_sessions') + pg_total_relation_size('assistant_db.rollup_triggers')",
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

//! Text search benchmark: what the trigram indexes of migration 010 cost on writes, and
//! what they buy on searches (run with `cargo bench -p assistant-db --bench search`;
//! `SEARCH_BENCH_ROWS` sets the number of interactions, 1,000,000 by default).
//!
//! Two databases on one private, durable PostgreSQL (fsync on): one migrated as shipped,
//! one with the two trigram indexes dropped. The same demo traffic (realistic queries and
//! responses; one interaction in 10,000 also carries a unique reference such as
//! `REF7F3A2C`) is written into both by binary `COPY` in batches of 1,000 — the path of
//! the logger and of `import` — alternating batch by batch, so that the machine's load
//! weighs on both alike. Then the first page (50 rows, newest first) of a few searches
//! is timed in each, through the library as `interactions list --search` runs it, with
//! the plan PostgreSQL chose.

use std::time::{Duration, Instant};

use assistant_db::demo::{into_records, DemoConfig, Generator, DEFAULT_SEED};
use assistant_db::local::Tuning;
use assistant_db::model::Interaction;
use assistant_db::query::{InteractionFilter, InteractionQuery, TextSearch};
use assistant_db::Client;
use assistant_db_testkit::EphemeralCluster;
use chrono::{TimeDelta, Utc};
use sqlx::postgres::PgPoolOptions;
use sqlx::{ConnectOptions, Connection, PgPool};

type Failure = Box<dyn std::error::Error>;

/// Rows per `COPY`.
const BATCH: usize = 1000;
/// Days the demo traffic spans.
const DAYS: u32 = 90;
/// Timed runs of each search (the median is printed).
const RUNS: usize = 5;
/// One interaction in this many carries a unique reference.
const REFERENCE_EVERY: usize = 10_000;

fn row_count() -> Result<usize, Failure> {
    match std::env::var("SEARCH_BENCH_ROWS") {
        Ok(n) => Ok(n
            .parse()
            .map_err(|_| format!("SEARCH_BENCH_ROWS={n} is not a count"))?),
        Err(_) => Ok(1_000_000),
    }
}

/// The reference carried by the `n`th interaction, when it carries one.
fn reference(n: usize) -> Option<String> {
    (n % REFERENCE_EVERY == REFERENCE_EVERY / 2).then(|| format!("REF{:06X}", n * 7919 % 0xFF_FFFF))
}

async fn database(
    cluster: &assistant_db::local::LocalCluster,
    name: &str,
) -> Result<PgPool, Failure> {
    cluster.ensure_database(name).await?;
    let mut conn = cluster.connect_options(name).connect().await?;
    assistant_db::migrate::run(&mut conn).await?;
    conn.close().await?;
    Ok(PgPoolOptions::new()
        .max_connections(4)
        .connect_with(cluster.connect_options(name))
        .await?)
}

async fn size(pool: &PgPool, relation: &str) -> Result<i64, Failure> {
    Ok(
        sqlx::query_scalar("SELECT pg_total_relation_size($1::regclass)")
            .bind(relation)
            .fetch_one(pool)
            .await?,
    )
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

/// The first page of a search, timed, with the rows it found.
async fn first_page(client: &Client, words: &str) -> Result<(Duration, usize), Failure> {
    let query = InteractionQuery {
        filter: InteractionFilter {
            search: Some(TextSearch::parse(words, "q")?),
            ..InteractionFilter::default()
        },
        limit: Some(50),
        after: None,
    };
    let start = Instant::now();
    let page = client.interactions(&query).await?;
    Ok((start.elapsed(), page.items.len()))
}

/// The plan's nodes, outermost first, as `EXPLAIN` names them (with the index used).
async fn plan(pool: &PgPool, words: &str) -> Result<String, Failure> {
    let search = TextSearch::parse(words, "q")?;
    let mut sql =
        String::from("EXPLAIN (FORMAT JSON) SELECT i.id FROM public.interactions i WHERE true");
    let mut patterns = Vec::new();
    for (n, word) in search.words().iter().enumerate() {
        sql.push_str(&format!(
            " AND (i.user_query ILIKE ${0} OR i.response_text ILIKE ${0})",
            n + 1
        ));
        patterns.push(format!("%{}%", word.replace('*', "%")));
    }
    sql.push_str(" ORDER BY i.\"timestamp\" DESC, i.id DESC LIMIT 51");
    let mut query = sqlx::query_scalar::<_, serde_json::Value>(&sql).persistent(false);
    for p in &patterns {
        query = query.bind(p);
    }
    let plan = query.fetch_one(pool).await?;
    let mut nodes = Vec::new();
    let mut stack = vec![&plan[0]["Plan"]];
    while let Some(node) = stack.pop() {
        let mut name = node["Node Type"].as_str().unwrap_or("?").to_owned();
        if let Some(index) = node["Index Name"].as_str() {
            name.push_str(&format!(" ({index})"));
        }
        nodes.push(name);
        if let Some(children) = node["Plans"].as_array() {
            stack.extend(children.iter().rev());
        }
    }
    Ok(nodes.join(" > "))
}

#[tokio::main]
async fn main() -> Result<(), Failure> {
    let rows = row_count()?;
    let server = EphemeralCluster::start_with(Tuning::Durable)?;
    let cluster = server.cluster();
    let indexed = database(cluster, "bench_indexed").await?;
    let plain = database(cluster, "bench_plain").await?;
    sqlx::raw_sql(
        "DROP INDEX public.idx_interactions_user_query_trgm; \
         DROP INDEX public.idx_interactions_response_text_trgm;",
    )
    .execute(&plain)
    .await?;
    let with = Client::from_pool(indexed.clone());
    let without = Client::from_pool(plain.clone());
    println!(
        "assistant-db search benchmark: {rows} interactions, durable PostgreSQL (fsync on), {} CPUs",
        std::thread::available_parallelism().map_or(0, usize::from)
    );

    // Writes: the same batches into both, alternating.
    let end = Utc::now() - TimeDelta::hours(1);
    let config = DemoConfig {
        seed: DEFAULT_SEED,
        interactions: rows,
        start: end - TimeDelta::days(i64::from(DAYS)),
        days: DAYS,
    };
    let mut turns = Generator::new(&config);
    let (mut took_with, mut took_without) = (Duration::ZERO, Duration::ZERO);
    let (mut written, mut text_chars) = (0usize, 0usize);
    let mut references = Vec::new();
    loop {
        let batch: Vec<_> = turns.by_ref().take(BATCH).collect();
        if batch.is_empty() {
            break;
        }
        let (mut batch, _) = into_records(batch);
        for (k, i) in batch.iter_mut().enumerate() {
            if let Some(r) = reference(written + k) {
                let query = format!("{} {r}", i.user_query.as_str());
                i.user_query = query.as_str().try_into()?;
                references.push(r);
            }
            text_chars += i.user_query.as_str().chars().count()
                + i.response_text
                    .as_ref()
                    .map_or(0, |t| t.as_str().chars().count());
        }
        written += batch.len();
        for (client, took) in [(&with, &mut took_with), (&without, &mut took_without)] {
            let rows: Vec<Interaction> = batch.clone();
            let start = Instant::now();
            client.stage_interactions(rows).await?.commit().await?;
            *took += start.elapsed();
        }
        if written % 100_000 == 0 {
            println!("  … {written} written");
        }
    }
    for pool in [&indexed, &plain] {
        sqlx::query("ANALYZE public.interactions")
            .execute(pool)
            .await?;
    }
    let rate = |took: Duration| written as f64 / took.as_secs_f64();
    println!(
        "rows: {written}, {:.0} characters of query and response each on average",
        text_chars as f64 / written as f64
    );
    println!("writes by COPY, batches of {BATCH}:");
    println!(
        "  without the trigram indexes    {:>9.0} rows/s ({:.1} s)",
        rate(took_without),
        took_without.as_secs_f64()
    );
    println!(
        "  with the trigram indexes       {:>9.0} rows/s ({:.1} s): {:.2}× the time",
        rate(took_with),
        took_with.as_secs_f64(),
        took_with.as_secs_f64() / took_without.as_secs_f64()
    );
    let mb = |bytes: i64| bytes as f64 / 1e6;
    println!(
        "sizes: table with its spec indexes {:.0} MB; trigram indexes: user_query {:.0} MB, response_text {:.0} MB",
        mb(size(&plain, "public.interactions").await?),
        mb(size(&indexed, "public.idx_interactions_user_query_trgm").await?),
        mb(size(&indexed, "public.idx_interactions_response_text_trgm").await?),
    );

    // Searches: the first page of each, indexed and not.
    let rare = references
        .get(references.len() / 2)
        .cloned()
        .unwrap_or_else(|| "REF000000".into());
    let searches = [
        ("a common word", "card".to_owned()),
        ("a less common word", "dispute".to_owned()),
        ("two words", "card blocked".to_owned()),
        ("a unique reference", rare),
        ("nothing matches", "zqxjvw".to_owned()),
    ];
    println!("first page of a search (50 rows, newest first), median of {RUNS}:");
    for (label, words) in &searches {
        let mut indexed_runs = Vec::new();
        let mut found = 0;
        for _ in 0..RUNS {
            let (took, n) = first_page(&with, words).await?;
            indexed_runs.push(took);
            found = n;
        }
        // Without the index every search reads the table: fewer runs.
        let mut plain_runs = Vec::new();
        for _ in 0..RUNS.min(3) {
            plain_runs.push(first_page(&without, words).await?.0);
        }
        println!(
            "  {label:<20} {:<14} {:>3} rows   indexed {:>10}   without {:>10}",
            format!("\"{words}\""),
            found,
            ms(median(indexed_runs)),
            ms(median(plain_runs)),
        );
        println!("      plan: {}", plan(&indexed, words).await?);
    }
    Ok(())
}

//! Redaction benchmark: prints figures (run with `cargo bench -p assistant-db --bench
//! redact`, or `-- engine` / `-- guard` for one half).
//!
//! - engine: latency (p50, p99) and single-thread throughput of `Redactor::redact` on
//!   600-character texts in the corpus's style: texts full of PII, hard negatives
//!   without PII (numbers everywhere), and the assistant's ordinary answers (the demo
//!   generator's), with the `mask` and the `hash` policy;
//! - guard: the database-side guard's cost on bulk COPY of 100,000 realistic rows (the
//!   demo generator's traffic, clean and with 5 % of queries carrying PII), into a
//!   database with the guard's triggers and into one with them disabled, on a throwaway
//!   PostgreSQL (fsync off, so the trigger's share is the largest it can be); and, as a
//!   candidate for a later migration, into a third with the trigger given a `WHEN`
//!   clause holding the guard's own prefilter, so clean rows never call the function.

use std::fmt::Write as _;
use std::hint::black_box;
use std::time::{Duration, Instant};

use assistant_db::config::Secret;
use assistant_db::demo::{DemoConfig, Generator};
use assistant_db::redact::{Counts, Kind, Policy, RedactionConfig, Redactor};
use chrono::{TimeZone, Utc};
use sqlx::PgPool;

use assistant_db_testkit::db as common;

type Failure = Box<dyn std::error::Error>;

const TEXT_CHARS: usize = 600;
const TEXTS_PER_SET: usize = 200;
const ROUNDS: usize = 100;
const COPY_ROWS: usize = 100_000;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

/// The corpus's texts: (text, has PII).
fn corpus() -> Result<Vec<(String, bool)>, Failure> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/redaction/corpus.jsonl");
    let mut rows = Vec::new();
    for line in std::fs::read_to_string(path)?.lines() {
        let row: serde_json::Value = serde_json::from_str(line)?;
        let text = row["text"]
            .as_str()
            .ok_or("corpus row without text")?
            .to_owned();
        let pii = row["expect"].as_array().is_some_and(|e| !e.is_empty());
        rows.push((text, pii));
    }
    Ok(rows)
}

/// `count` texts of exactly `TEXT_CHARS` characters, each sentences from `pieces` taken
/// in turn from a different starting point.
fn texts_of(pieces: &[String], count: usize) -> Vec<String> {
    (0..count)
        .map(|i| {
            let mut text = String::new();
            let mut k = i * 7;
            while text.chars().count() < TEXT_CHARS {
                if !text.is_empty() {
                    text.push(' ');
                }
                text.push_str(&pieces[k % pieces.len()]);
                k += 1;
            }
            text.chars().take(TEXT_CHARS).collect()
        })
        .collect()
}

fn demo_answers(count: usize) -> Vec<String> {
    let config = DemoConfig {
        seed: 7,
        interactions: count,
        start: Utc
            .with_ymd_and_hms(2025, 1, 1, 0, 0, 0)
            .single()
            .unwrap_or_default(),
        days: 30,
    };
    Generator::new(&config)
        .filter_map(|turn| turn.interaction.response_text.map(|t| t.into_inner()))
        .collect()
}

fn engine(label: &str, redactor: &Redactor, texts: &[String]) {
    // Warm up: caches, the regex engines' lazy states.
    for text in texts {
        black_box(redactor.redact(text));
    }
    let mut samples = Vec::with_capacity(texts.len() * ROUNDS);
    let mut counts = Counts::default();
    let started = Instant::now();
    for _ in 0..ROUNDS {
        for text in texts {
            let t = Instant::now();
            let out = redactor.redact_counting(black_box(text), &mut counts);
            samples.push(t.elapsed());
            black_box(out);
        }
    }
    let wall = started.elapsed();
    samples.sort();
    let bytes: usize = texts.iter().map(String::len).sum::<usize>() * ROUNDS;
    println!(
        "{label:<40} p50 {:>6.2} µs  p99 {:>6.2} µs  {:>7.0} texts/s  {:>6.1} MB/s  {:>4.2} redactions/text",
        percentile(&samples, 0.50).as_secs_f64() * 1e6,
        percentile(&samples, 0.99).as_secs_f64() * 1e6,
        samples.len() as f64 / wall.as_secs_f64(),
        bytes as f64 / wall.as_secs_f64() / 1e6,
        counts.total() as f64 / samples.len() as f64,
    );
}

fn run_engine() -> Result<(), Failure> {
    let corpus = corpus()?;
    let with_pii: Vec<String> = corpus.iter().filter(|r| r.1).map(|r| r.0.clone()).collect();
    let without: Vec<String> = corpus
        .iter()
        .filter(|r| !r.1)
        .map(|r| r.0.clone())
        .collect();
    let sets = [
        ("corpus texts with PII", texts_of(&with_pii, TEXTS_PER_SET)),
        (
            "corpus hard negatives, no PII",
            texts_of(&without, TEXTS_PER_SET),
        ),
        (
            "assistant answers, no PII",
            texts_of(&demo_answers(2_000), TEXTS_PER_SET),
        ),
    ];
    let mask = Redactor::new(&RedactionConfig::new())?;
    let hash = Redactor::new(
        &RedactionConfig::new()
            .with_all(Policy::Hash)
            .with_policy(Kind::Cvv, Policy::Mask)
            .with_hash_key(Secret::new("benchmark key, at least thirty-two characters")),
    )?;
    println!(
        "engine: {TEXTS_PER_SET} texts of {TEXT_CHARS} characters per set, {ROUNDS} rounds, one thread"
    );
    for (name, texts) in &sets {
        engine(&format!("{name} (mask)"), &mask, texts);
        engine(&format!("{name} (hash)"), &hash, texts);
    }
    Ok(())
}

/// CSV for COPY of the interactions' main columns.
const COLUMNS: [&str; 11] = [
    "id",
    "timestamp",
    "assistant_mode",
    "session_id",
    "user_query",
    "intent_name",
    "intent_category",
    "classification_reason",
    "outcome",
    "escalation_reason",
    "response_text",
];

fn csv_rows(pii_every: Option<usize>, pii: &[String]) -> Result<String, Failure> {
    let config = DemoConfig {
        seed: 11,
        interactions: COPY_ROWS,
        start: Utc
            .with_ymd_and_hms(2025, 1, 1, 0, 0, 0)
            .single()
            .unwrap_or_default(),
        days: 30,
    };
    let mut out = String::new();
    for (i, turn) in Generator::new(&config).enumerate() {
        let mut row = serde_json::to_value(&turn.interaction)?;
        if let Some(every) = pii_every {
            if i % every == 0 {
                let query = row["user_query"].as_str().unwrap_or_default();
                row["user_query"] = format!("{query} {}", pii[i % pii.len()]).into();
            }
        }
        for (k, column) in COLUMNS.iter().enumerate() {
            if k > 0 {
                out.push(',');
            }
            match &row[*column] {
                serde_json::Value::Null => {}
                serde_json::Value::String(s) => {
                    let _ = write!(out, "\"{}\"", s.replace('"', "\"\""));
                }
                other => {
                    let _ = write!(out, "\"{}\"", other.to_string().replace('"', "\"\""));
                }
            }
        }
        out.push('\n');
    }
    Ok(out)
}

async fn copy_once(pool: &PgPool, csv: &str) -> Result<Duration, Failure> {
    sqlx::query("TRUNCATE public.interactions CASCADE")
        .execute(pool)
        .await?;
    let mut conn = pool.acquire().await?;
    let started = Instant::now();
    let mut copy = conn
        .copy_in_raw(&format!(
            "COPY public.interactions ({}) FROM STDIN (FORMAT csv)",
            COLUMNS.map(|c| format!("\"{c}\"")).join(", ")
        ))
        .await?;
    copy.send(csv.as_bytes()).await?;
    let rows = copy.finish().await?;
    let elapsed = started.elapsed();
    if rows as usize != COPY_ROWS {
        return Err(format!("COPY wrote {rows} rows, not {COPY_ROWS}").into());
    }
    Ok(elapsed)
}

/// The interactions' guard trigger with the guard's prefilter (one scan of the four
/// columns for `@` or a card/IBAN candidate) as its `WHEN` clause, in `pg_catalog` names
/// only, so that a clean row never enters the PL/pgSQL function.
const PREFILTERED_TRIGGER: &str = r"
CREATE OR REPLACE TRIGGER redaction_guard
    BEFORE INSERT OR UPDATE ON public.interactions
    FOR EACH ROW
    WHEN (pg_catalog.strpos(pg_catalog.concat_ws(E'\n', NEW.user_query, NEW.response_text,
              NEW.classification_reason, NEW.escalation_reason), '@') OPERATOR(pg_catalog.>) 0
          OR pg_catalog.concat_ws(E'\n', NEW.user_query, NEW.response_text,
              NEW.classification_reason, NEW.escalation_reason)
             OPERATOR(pg_catalog.~) '[A-Za-z]{2}[0-9]{2}( ?[A-Za-z0-9]){11}|[0-9]([ -]?[0-9]){12}')
    EXECUTE FUNCTION redaction.mask_interaction();
";

async fn run_guard() -> Result<(), Failure> {
    let corpus = corpus()?;
    let pii: Vec<String> = corpus.iter().filter(|r| r.1).map(|r| r.0.clone()).collect();
    let guarded = common::pool(common::migrated_options().await).await;
    let bare = common::pool(common::migrated_options().await).await;
    sqlx::query("ALTER TABLE public.interactions DISABLE TRIGGER redaction_guard")
        .execute(&bare)
        .await?;
    let prefiltered = common::pool(common::migrated_options().await).await;
    sqlx::raw_sql(PREFILTERED_TRIGGER)
        .execute(&prefiltered)
        .await?;
    println!("guard: COPY of {COPY_ROWS} demo interactions, median of 3 runs");
    for (label, csv) in [
        ("clean traffic", csv_rows(None, &pii)?),
        ("5 % of queries with PII", csv_rows(Some(20), &pii)?),
    ] {
        let mut times = [Vec::new(), Vec::new(), Vec::new()];
        for _ in 0..3 {
            for (k, pool) in [&bare, &guarded, &prefiltered].into_iter().enumerate() {
                times[k].push(copy_once(pool, &csv).await?);
            }
        }
        let median = |v: &mut Vec<Duration>| {
            v.sort();
            v[1]
        };
        let without = median(&mut times[0]);
        let with = median(&mut times[1]);
        let with_when = median(&mut times[2]);
        let masked_sql =
            "SELECT count(*) FROM public.interactions WHERE user_query LIKE '%[CARD%' \
             OR user_query LIKE '%[IBAN%' OR user_query LIKE '%[EMAIL]%'";
        let masked: i64 = sqlx::query_scalar(masked_sql).fetch_one(&guarded).await?;
        let masked_when: i64 = sqlx::query_scalar(masked_sql)
            .fetch_one(&prefiltered)
            .await?;
        if masked_when != masked {
            return Err(
                format!("the WHEN variant masked {masked_when} rows, the guard {masked}").into(),
            );
        }
        println!(
            "{label:<26} without guard {:>6.2} s ({:>6.0} rows/s)   with guard {:>6.2} s ({:>6.0} rows/s)   \
             {:>+5.0} %   {:>5.1} µs/row   {masked} rows masked",
            without.as_secs_f64(),
            COPY_ROWS as f64 / without.as_secs_f64(),
            with.as_secs_f64(),
            COPY_ROWS as f64 / with.as_secs_f64(),
            100.0 * (with.as_secs_f64() / without.as_secs_f64() - 1.0),
            (with.as_secs_f64() - without.as_secs_f64()) * 1e6 / COPY_ROWS as f64,
        );
        println!(
            "{:<26} with guard + WHEN prefilter {:>6.2} s ({:>6.0} rows/s)   {:>+5.0} %   {:>5.1} µs/row",
            "",
            with_when.as_secs_f64(),
            COPY_ROWS as f64 / with_when.as_secs_f64(),
            100.0 * (with_when.as_secs_f64() / without.as_secs_f64() - 1.0),
            (with_when.as_secs_f64() - without.as_secs_f64()) * 1e6 / COPY_ROWS as f64,
        );
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Failure> {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let all = args.is_empty();
    if all || args.iter().any(|a| a == "engine") {
        run_engine()?;
    }
    if all || args.iter().any(|a| a == "guard") {
        run_guard().await?;
    }
    Ok(())
}

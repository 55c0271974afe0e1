//! `assistant-db demo`: fills the database with realistic synthetic assistant traffic
//! (see [`assistant_db::demo`]), then prints the metrics.
//!
//! The records are seeded and their ids derived from the seed, so running the command
//! again with the same seed, count and window writes nothing new.

use std::process::ExitCode;

use anyhow::Context;
use assistant_db::demo::{
    into_records, knowledge_documents, DemoConfig, Generator, DEFAULT_DAYS, DEFAULT_INTERACTIONS,
    DEFAULT_SEED,
};
use assistant_db::metrics::{Metrics, MetricsFilter};
use assistant_db::query::Written;
use assistant_db::{Client, Config};
use chrono::{DateTime, Utc};

use super::metrics::{emit, parse_timestamp, render};

/// Interactions (with their escalations) written per atomic `log` call.
const BATCH: usize = 500;

/// Arguments of `demo`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Number of interactions to generate.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_INTERACTIONS)]
    count: usize,
    /// Seed of the generator: the same seed, count and window give the same records.
    #[arg(long, value_name = "S", default_value_t = DEFAULT_SEED)]
    seed: u64,
    /// Length of the time window, in days.
    #[arg(long, value_name = "D", default_value_t = DEFAULT_DAYS,
          value_parser = clap::value_parser!(u32).range(1..=3660))]
    days: u32,
    /// End of the window (RFC 3339), rounded down to the hour; default: now.
    #[arg(long, value_name = "RFC3339", value_parser = parse_timestamp)]
    end: Option<DateTime<Utc>>,
    /// Print `{ "written": …, "metrics": … }` as JSON.
    #[arg(long)]
    json: bool,
}

impl Args {
    fn demo_config(&self) -> DemoConfig {
        DemoConfig {
            seed: self.seed,
            interactions: self.count,
            ..DemoConfig::ending_at(self.end.unwrap_or_else(Utc::now), self.days)
        }
    }
}

/// What the command did, and the metrics afterwards (the `--json` object).
#[derive(Debug, serde::Serialize)]
struct Report {
    seed: u64,
    window: Window,
    generated: Generated,
    written: Written,
    knowledge_documents: usize,
    metrics: Metrics,
}

/// The generated time window.
#[derive(Debug, serde::Serialize)]
struct Window {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
}

/// What the generator produced, before writing.
#[derive(Debug, Default, serde::Serialize)]
struct Generated {
    interactions: u64,
    escalations: u64,
}

/// Runs the command.
pub async fn run(config: &Config, args: Args) -> anyhow::Result<ExitCode> {
    let demo = args.demo_config();
    let client = Client::connect(config).await?;
    let documents = knowledge_documents(demo.seed);
    client
        .upsert_knowledge_documents(&documents)
        .await
        .context("registering the knowledge documents")?;
    let (generated, written) = write_traffic(&client, &demo).await?;
    let metrics = client.metrics(&MetricsFilter::default()).await?;
    let report = Report {
        seed: demo.seed,
        window: Window {
            start: demo.start,
            end: demo.end(),
        },
        generated,
        written,
        knowledge_documents: documents.len(),
        metrics,
    };
    if args.json {
        emit(&format!("{}\n", serde_json::to_string_pretty(&report)?))?;
    } else {
        emit(&format!(
            "{}\nMetrics of all interactions\n\n{}",
            summary(&report),
            render(&report.metrics)
        ))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Generates the traffic and writes it in atomic batches; ids already present are skipped.
async fn write_traffic(client: &Client, demo: &DemoConfig) -> anyhow::Result<(Generated, Written)> {
    let mut generator = Generator::new(demo);
    let mut generated = Generated::default();
    let mut written = Written::default();
    loop {
        let (interactions, escalations) = into_records(generator.by_ref().take(BATCH));
        if interactions.is_empty() {
            break;
        }
        let batch = client
            .log(&interactions, &escalations)
            .await
            .with_context(|| {
                format!(
                    "writing interactions {}–{}",
                    generated.interactions + 1,
                    generated.interactions + interactions.len() as u64
                )
            })?;
        generated.interactions += interactions.len() as u64;
        generated.escalations += escalations.len() as u64;
        written.interactions += batch.interactions;
        written.escalations += batch.escalations;
        tracing::info!(done = generated.interactions, "demo batch written");
    }
    Ok((generated, written))
}

/// The two lines saying what was generated and written.
fn summary(report: &Report) -> String {
    let stamp = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let (generated, written) = (&report.generated, &report.written);
    let present = generated.interactions.saturating_sub(written.interactions);
    format!(
        "Generated {} interactions ({} escalated) from {} to {}, seed {}\n\
         Wrote {} interactions and {} escalations ({present} interactions already present); \
         registered {} knowledge documents\n",
        generated.interactions,
        generated.escalations,
        stamp(report.window.start),
        stamp(report.window.end),
        report.seed,
        written.interactions,
        written.escalations,
        report.knowledge_documents,
    )
}

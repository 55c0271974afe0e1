//! `assistant-db demo`: fills the database with realistic synthetic assistant traffic
//! (see [`assistant_db::demo`]), then prints the metrics.
//!
//! The records are seeded and their ids derived from the seed, so running the command
//! again with the same seed, count and window writes nothing new. They go through the
//! durable logger, as an assistant's would: spooled on disk, then drained in batches.

use std::process::ExitCode;

use anyhow::Context;
use assistant_db::demo::{
    log_traffic, DemoConfig, Generated, DEFAULT_DAYS, DEFAULT_INTERACTIONS, DEFAULT_SEED,
};
use assistant_db::logger::Logger;
use assistant_db::metrics::{Metrics, MetricsFilter};
use assistant_db::query::Written;
use assistant_db::{Client, Config};
use std::io::Write;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::metrics::{emit, parse_timestamp, render};

/// How long the demo waits for the database to take everything spooled.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(600);

/// Examples at the end of `demo --help`.
const EXAMPLES: &str = "Examples:
  assistant-db demo
  assistant-db demo --count 10000 --days 60 --seed 7
  assistant-db demo --json";

/// Arguments of `demo`.
#[derive(Debug, clap::Args)]
#[command(after_help = EXAMPLES)]
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
    /// Print each interaction's id as soon as the logger has it on disk (for crash tests).
    #[arg(long, hide = true)]
    echo_ids: bool,
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
    knowledge_documents: u64,
    metrics: Metrics,
}

/// The generated time window.
#[derive(Debug, serde::Serialize)]
struct Window {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
}

/// Runs the command.
pub async fn run(config: &Config, args: Args) -> anyhow::Result<ExitCode> {
    let demo = args.demo_config();
    let client = Client::connect(config).await?;
    let before = client.metrics(&MetricsFilter::default()).await?;
    let logger = Logger::start(client.clone(), config.logger_config())
        .await
        .context("starting the logger")?;
    let mut stdout = std::io::stdout();
    let generated = log_traffic(&client, &logger, &demo, |id, _| {
        if args.echo_ids {
            // The crash test reads each id as soon as it is on disk.
            writeln!(stdout, "{id}")
                .and_then(|()| stdout.flush())
                .map_err(|e| assistant_db::Error::Io {
                    context: "cannot print an id".into(),
                    source: e,
                })?;
        }
        Ok(())
    })
    .await
    .context("logging the demo traffic");
    let stopped = logger.shutdown(FLUSH_TIMEOUT).await;
    let generated = generated?;
    stopped.context("waiting for the database to take the spooled records")?;
    let metrics = client.metrics(&MetricsFilter::default()).await?;
    let written = Written {
        interactions: rows_added(before.total_interactions, metrics.total_interactions),
        escalations: rows_added(escalations(&before), escalations(&metrics)),
    };
    let report = Report {
        seed: demo.seed,
        window: Window {
            start: demo.start,
            end: demo.end(),
        },
        knowledge_documents: generated.knowledge_documents,
        generated,
        written,
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

fn escalations(metrics: &Metrics) -> i64 {
    metrics.escalations_by_trigger.iter().map(|t| t.count).sum()
}

fn rows_added(before: i64, after: i64) -> u64 {
    u64::try_from(after - before).unwrap_or(0)
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

//! `assistant-db metrics`: the dashboard metrics, computed by PostgreSQL, as a readable
//! report or as the SQL function's JSON object.
//!
//! Names from the data (intents, escalation triggers) are escaped in the report
//! ([`escape`]); the JSON is exact.

use std::fmt::Write as _;
use std::io::Write as _;
use std::process::ExitCode;

use assistant_db::metrics::{Bucket, Metrics, MetricsFilter};
use assistant_db::model::{AssistantMode, IntentCategory};
use assistant_db::when::{Moment, Zone};
use assistant_db::{Client, Config};
use chrono::{DateTime, Timelike, Utc};

use super::interactions::{parse_from, parse_to, parse_zone, window};
use crate::terminal::escape;

/// Intents listed in the report's intent table, unless `--all` is given.
const TOP_INTENTS: usize = 10;

/// Examples at the end of `metrics --help`.
const EXAMPLES: &str = "Examples:
  assistant-db metrics --from 7d
  assistant-db metrics --from 2026-11-01 --to 2026-11-30 --tz Europe/Paris --bucket week --all
  assistant-db metrics --mode banker --from today --json";

/// Arguments of `metrics`.
#[derive(Debug, clap::Args)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    /// Only this assistant mode: customer or banker.
    #[arg(long, value_name = "MODE")]
    mode: Option<AssistantMode>,
    /// Only interactions at or after this time: a date (2026-11-01, its start), today,
    /// yesterday, a span back from now (24h, 7d, 2w), now, or an RFC 3339 time.
    #[arg(long, value_name = "WHEN", value_parser = parse_from)]
    from: Option<Moment>,
    /// Only interactions at or before this time, in the same forms (a date: its end).
    #[arg(long, value_name = "WHEN", value_parser = parse_to)]
    to: Option<Moment>,
    /// The IANA time zone whose midnights start the dates, and the day and week buckets
    /// (default UTC).
    #[arg(long, value_name = "ZONE", value_parser = parse_zone)]
    tz: Option<Zone>,
    /// Only this intent name, e.g. balance_inquiry.
    #[arg(long, value_name = "NAME")]
    intent: Option<String>,
    /// Only this intent category: automatable, sensitive or human_only.
    #[arg(long, value_name = "CATEGORY")]
    category: Option<IntentCategory>,
    /// Width of the timeseries buckets: hour, day or week (days and weeks start at
    /// midnight in --tz).
    #[arg(long, value_name = "WIDTH", default_value_t = Bucket::Day)]
    bucket: Bucket,
    /// List every intent in the report, not only the 10 most frequent.
    #[arg(long)]
    all: bool,
    /// Print the metrics object as JSON, exactly as the SQL function returns it.
    #[arg(long)]
    json: bool,
}

impl Args {
    /// The filter the flags describe, dates resolved now; `--from` after `--to` is
    /// refused.
    fn filter(&self) -> anyhow::Result<MetricsFilter> {
        let tz = self.tz.unwrap_or_default();
        let window = window(self.from.as_ref(), self.to.as_ref(), tz)?;
        Ok(MetricsFilter {
            mode: self.mode,
            from: window.from,
            to: window.to,
            intent: self.intent.clone(),
            category: self.category,
            bucket: self.bucket,
            tz,
        })
    }
}

/// Runs the command.
pub async fn run(config: &Config, args: Args) -> anyhow::Result<ExitCode> {
    let filter = args.filter()?;
    let client = Client::connect(config).await?;
    let metrics = client.metrics(&filter).await?;
    if args.json {
        emit(&format!("{}\n", serde_json::to_string_pretty(&metrics)?))?;
    } else {
        let intents = if args.all { usize::MAX } else { TOP_INTENTS };
        emit(&format!(
            "Metrics of {}\n\n{}",
            describe(&filter),
            render_with(&metrics, filter.tz, intents)
        ))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes `text` to stdout; a reader that went away (`| head`) is not an error.
pub fn emit(text: &str) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

/// Parses an RFC 3339 timestamp such as `2025-05-01T00:00:00Z`, into UTC.
pub fn parse_timestamp(value: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(value)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("must be an RFC 3339 timestamp such as 2025-05-01T00:00:00Z ({e})"))
}

/// The filter in words: which interactions the metrics cover.
fn describe(filter: &MetricsFilter) -> String {
    let mut parts = Vec::new();
    if let Some(mode) = filter.mode {
        parts.push(format!("mode {mode}"));
    }
    if let Some(category) = filter.category {
        parts.push(format!("category {category}"));
    }
    if let Some(intent) = &filter.intent {
        parts.push(format!("intent {}", escape(intent)));
    }
    if let Some(from) = filter.from {
        parts.push(format!("from {}", rfc3339(from)));
    }
    if let Some(to) = filter.to {
        parts.push(format!("to {}", rfc3339(to)));
    }
    let scope = if parts.is_empty() {
        "all interactions".to_owned()
    } else {
        format!("interactions with {}", parts.join(", "))
    };
    format!("{scope} ({} buckets, {})", filter.bucket, filter.tz)
}

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

/// The metrics as a readable report (UTC buckets, the 10 most frequent intents).
pub fn render(metrics: &Metrics) -> String {
    render_with(metrics, Zone::UTC, TOP_INTENTS)
}

/// The metrics as a readable report: the KPIs, then small aligned tables; bucket times
/// on `zone`'s clock, at most `intents` intents listed.
pub fn render_with(metrics: &Metrics, zone: Zone, intents: usize) -> String {
    let mut out = String::new();
    overview(&mut out, metrics);
    section(&mut out, "By mode", &by_mode(metrics));
    let title = if intents >= metrics.by_intent.len() {
        "Intents"
    } else {
        "Top intents"
    };
    section(&mut out, title, &top_intents(metrics, intents));
    section(&mut out, "By category", &by_category(metrics));
    section(&mut out, "Escalations by trigger", &by_trigger(metrics));
    section(&mut out, "Pipeline steps reached", &pipeline(metrics));
    section(&mut out, "Timeseries", &timeseries(metrics, zone));
    out
}

/// The KPI lines.
fn overview(out: &mut String, m: &Metrics) {
    let pt = &m.processing_time_ms;
    let sessions = &m.sessions;
    let kpis = [
        ("Total interactions", m.total_interactions.to_string()),
        ("Resolved", m.resolved.to_string()),
        ("Escalated", m.escalated.to_string()),
        ("Resolution rate", percent(m.resolution_rate)),
        ("Escalation rate", percent(m.escalation_rate)),
        ("Avg confidence", score(m.avg_confidence)),
        (
            "Processing time",
            format!(
                "avg {}, p50 {}, p95 {}, p99 {}",
                millis(pt.avg),
                millis(pt.p50),
                millis(pt.p95),
                millis(pt.p99)
            ),
        ),
        (
            "Sessions",
            format!(
                "{}, containment {}",
                sessions.total,
                percent(ratio(sessions.contained, sessions.total))
            ),
        ),
    ];
    out.push_str("Overview\n");
    let width = kpis.iter().map(|(label, _)| label.len()).max().unwrap_or(0);
    for (label, value) in kpis {
        let _ = writeln!(out, "  {label:<width$}  {value}");
    }
}

/// A titled table, after a blank line.
fn section(out: &mut String, title: &str, table: &str) {
    let _ = write!(out, "\n{title}\n{table}");
}

fn by_mode(m: &Metrics) -> String {
    let rows = m
        .by_mode
        .iter()
        .map(|r| {
            vec![
                r.assistant_mode.to_string(),
                r.total.to_string(),
                r.resolved.to_string(),
                r.escalated.to_string(),
                percent(ratio(r.escalated, r.total)),
            ]
        })
        .collect();
    table(
        &["mode", "total", "resolved", "escalated", "escalation"],
        rows,
    )
}

fn top_intents(m: &Metrics, shown: usize) -> String {
    let rows = m
        .by_intent
        .iter()
        .take(shown)
        .map(|r| {
            vec![
                r.intent_name
                    .as_deref()
                    .map_or_else(|| "(none)".into(), |n| escape(n).into_owned()),
                r.total.to_string(),
                r.escalated.to_string(),
                percent(ratio(r.escalated, r.total)),
                score(r.avg_confidence),
            ]
        })
        .collect();
    let mut text = table(
        &["intent", "total", "escalated", "escalation", "avg conf"],
        rows,
    );
    let more = m.by_intent.len().saturating_sub(shown);
    if more > 0 {
        let _ = writeln!(text, "  … and {more} more (--all lists them)");
    }
    text
}

fn by_category(m: &Metrics) -> String {
    let rows = m
        .by_intent_category
        .iter()
        .map(|r| {
            vec![
                r.intent_category
                    .map_or_else(|| "(none)".into(), |c| c.to_string()),
                r.total.to_string(),
                r.resolved.to_string(),
                r.escalated.to_string(),
                percent(ratio(r.escalated, r.total)),
            ]
        })
        .collect();
    table(
        &["category", "total", "resolved", "escalated", "escalation"],
        rows,
    )
}

fn by_trigger(m: &Metrics) -> String {
    let all: i64 = m.escalations_by_trigger.iter().map(|r| r.count).sum();
    let rows = m
        .escalations_by_trigger
        .iter()
        .map(|r| {
            vec![
                escape(&r.trigger_type).into_owned(),
                r.count.to_string(),
                percent(ratio(r.count, all)),
            ]
        })
        .collect();
    table(&["trigger", "count", "share"], rows)
}

fn pipeline(m: &Metrics) -> String {
    let p = &m.pipeline;
    let steps = [
        ("1 intent completed", p.step_1_intent_completed),
        ("2 routing decision", p.step_2_routing_decision),
        ("3 retrieval performed", p.step_3_retrieval_performed),
        ("4 response generated", p.step_4_response_generated),
        ("5 confidence score", p.step_5_confidence_score),
        ("6 escalation triggered", p.step_6_escalation_triggered),
    ];
    let rows = steps
        .into_iter()
        .map(|(step, share)| vec![step.to_owned(), percent(share)])
        .collect();
    table(&["step", "share"], rows)
}

fn timeseries(m: &Metrics, zone: Zone) -> String {
    let hourly = m.timeseries.iter().any(|r| {
        let local = zone.local(r.bucket);
        local.hour() != 0 || local.minute() != 0
    });
    let format = if hourly { "%Y-%m-%d %H:%M" } else { "%Y-%m-%d" };
    let rows = m
        .timeseries
        .iter()
        .map(|r| {
            vec![
                zone.local(r.bucket).format(format).to_string(),
                r.total.to_string(),
                r.escalated.to_string(),
                percent(ratio(r.escalated, r.total)),
            ]
        })
        .collect();
    table(&["bucket", "total", "escalated", "escalation"], rows)
}

/// An aligned table: the first column left-aligned, the others right-aligned; `(none)`
/// when there are no rows.
fn table(header: &[&str], rows: Vec<Vec<String>>) -> String {
    if rows.is_empty() {
        return "  (none)\n".to_owned();
    }
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let header: Vec<String> = header.iter().map(|h| (*h).to_owned()).collect();
    let mut out = String::new();
    for row in std::iter::once(&header).chain(&rows) {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (cell, &width))| {
                if i == 0 {
                    format!("{cell:<width$}")
                } else {
                    format!("{cell:>width$}")
                }
            })
            .collect();
        let _ = writeln!(out, "  {}", cells.join("  ").trim_end());
    }
    out
}

/// `part / whole`; `None` when `whole` is zero.
fn ratio(part: i64, whole: i64) -> Option<f64> {
    (whole != 0).then(|| part as f64 / whole as f64)
}

/// A share as a percentage with one decimal, or `–` when unknown.
fn percent(share: Option<f64>) -> String {
    share.map_or_else(|| "–".into(), |s| format!("{:.1} %", s * 100.0))
}

/// A confidence score with three decimals, or `–` when unknown.
fn score(value: Option<f64>) -> String {
    value.map_or_else(|| "–".into(), |v| format!("{v:.3}"))
}

/// A duration in whole milliseconds, or `–` when unknown.
fn millis(value: Option<f64>) -> String {
    value.map_or_else(|| "–".into(), |v| format!("{v:.0} ms"))
}

#[cfg(test)]
mod tests {
    use assistant_db::metrics::{BucketCount, IntentCount};

    use super::*;

    fn empty() -> Metrics {
        serde_json::from_value(serde_json::json!({
            "total_interactions": 0, "resolved": 0, "escalated": 0,
            "resolution_rate": null, "escalation_rate": null, "avg_confidence": null,
            "processing_time_ms": {"avg": null, "p50": null, "p95": null, "p99": null},
            "by_mode": [], "by_intent": [], "by_intent_category": [],
            "escalations_by_trigger": [], "sessions": {"total": 0, "contained": 0},
            "pipeline": {
                "step_1_intent_completed": null, "step_2_routing_decision": null,
                "step_3_retrieval_performed": null, "step_4_response_generated": null,
                "step_5_confidence_score": null, "step_6_escalation_triggered": null
            },
            "timeseries": []
        }))
        .expect("metrics")
    }

    #[test]
    fn empty_metrics_show_dashes_and_no_rows() {
        let text = render(&empty());
        assert!(text.contains("  Resolution rate     –\n"), "{text}");
        assert!(text.contains("avg –, p50 –, p95 –, p99 –"), "{text}");
        assert!(text.contains("By mode\n  (none)\n"), "{text}");
        assert!(
            text.lines()
                .any(|l| l.starts_with("  1 intent completed") && l.ends_with(" –")),
            "{text}"
        );
    }

    #[test]
    fn tables_align_columns() {
        let text = table(
            &["mode", "total"],
            vec![
                vec!["customer".into(), "7".into()],
                vec!["banker".into(), "1234".into()],
            ],
        );
        assert_eq!(
            text,
            "  mode      total\n  customer      7\n  banker     1234\n"
        );
    }

    #[test]
    fn all_lists_every_intent_and_days_are_shown_in_the_zone() {
        let mut m = empty();
        m.total_interactions = 12;
        m.by_intent = (0..12)
            .map(|i| IntentCount {
                intent_name: Some(format!("intent_{i:02}")),
                total: 1,
                resolved: 1,
                escalated: 0,
                avg_confidence: None,
            })
            .collect();
        m.timeseries = vec![BucketCount {
            bucket: "2026-11-01T23:00:00Z".parse().expect("instant"),
            total: 12,
            resolved: 12,
            escalated: 0,
        }];
        let top = render(&m);
        assert!(top.contains("Top intents\n"), "{top}");
        assert!(
            top.contains("intent_09") && !top.contains("intent_10"),
            "{top}"
        );
        assert!(top.contains("… and 2 more (--all lists them)"), "{top}");
        assert!(top.contains("2026-11-01 23:00"), "{top}");
        let paris: Zone = "Europe/Paris".parse().expect("zone");
        let all = render_with(&m, paris, usize::MAX);
        assert!(
            all.contains("Intents\n") && all.contains("intent_11"),
            "{all}"
        );
        assert!(!all.contains("more"), "{all}");
        assert!(all.contains("  2026-11-02  "), "{all}");
    }

    #[test]
    fn dates_are_read_as_people_write_them() {
        use clap::Parser;
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            args: Args,
        }
        let cli = Cli::try_parse_from([
            "m",
            "--from",
            "2026-11-01",
            "--to",
            "2026-11-01",
            "--tz",
            "Asia/Tokyo",
        ])
        .expect("parses");
        let filter = cli.args.filter().expect("a window");
        assert_eq!(
            filter.from.map(|t| t.to_rfc3339()),
            Some("2026-10-31T15:00:00+00:00".into())
        );
        assert_eq!(
            filter.to.map(|t| t.to_rfc3339()),
            Some("2026-11-01T14:59:59.999999+00:00".into())
        );
        let cli = Cli::try_parse_from(["m", "--from", "2026-11-02", "--to", "2026-11-01"])
            .expect("parses");
        let err = cli.args.filter().expect_err("reversed");
        assert!(err.to_string().contains("--from"), "{err}");
        for bad in [
            vec!["m", "--from", "last tuesday"],
            vec!["m", "--tz", "Mars/Olympus"],
        ] {
            let err = Cli::try_parse_from(bad).err().expect("refused").to_string();
            assert!(err.contains("must be"), "{err}");
        }
    }
}

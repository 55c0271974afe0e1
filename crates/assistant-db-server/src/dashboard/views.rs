//! The dashboard's pages as HTML: the overview, an interaction's detail, a conversation's
//! turns and the knowledge documents.

use std::fmt::Write as _;

use assistant_db::metrics::{Bucket, Metrics};
use assistant_db::model::{AssistantMode, IntentCategory, Outcome};
use assistant_db::query::{DocumentPage, RecentEscalation, SessionTurns};
use assistant_db::query::{InteractionDetail, Page};
use assistant_db::row::{Float, InteractionRow, KnowledgeDocumentRow, Timestamp};
use assistant_db::when::{Moment, Zone};
use axum::response::Response;
use chrono::{SecondsFormat, TimeDelta};

use super::charts::{self, BarRow, Layout, Slot, ESCALATED, LATENCY, PIPELINE, RATE, RESOLVED};
use super::filter::{PageFilter, PRESETS, REFRESH_SECONDS};
use crate::html::{
    count, esc, millis, page, page_refreshing, percent, query_string, ratio, score, shorten,
    with_query,
};

/// Time zones offered in the dashboard's selector (any IANA name works in the URL).
const ZONES: [&str; 24] = [
    "UTC",
    "Europe/London",
    "Europe/Dublin",
    "Europe/Lisbon",
    "Europe/Paris",
    "Europe/Berlin",
    "Europe/Madrid",
    "Europe/Amsterdam",
    "Europe/Zurich",
    "Europe/Warsaw",
    "Europe/Athens",
    "Europe/Istanbul",
    "Asia/Dubai",
    "Asia/Kolkata",
    "Asia/Singapore",
    "Asia/Hong_Kong",
    "Asia/Tokyo",
    "Australia/Sydney",
    "Pacific/Auckland",
    "America/Sao_Paulo",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
];

/// Intents shown in the top-intents chart.
const TOP_INTENTS: usize = 8;
/// Characters of a query shown in a table.
const QUERY_CHARS: usize = 90;
/// Characters of an escalation reason shown in a table.
const REASON_CHARS: usize = 70;

/// Everything the overview shows.
#[derive(Debug)]
pub struct Dashboard<'a> {
    /// The filters in force.
    pub filter: &'a PageFilter,
    /// Problems with the URL's filters.
    pub notices: &'a [String],
    /// The metrics of the filtered interactions.
    pub metrics: &'a Metrics,
    /// The same metrics over the period of the same length just before, when the view
    /// has a start.
    pub previous: Option<&'a Metrics>,
    /// The latest escalations.
    pub escalations: &'a [RecentEscalation],
    /// The current page of the interactions table.
    pub page: &'a Page<InteractionRow>,
    /// Whether the API accepts writes (for the empty state's hint).
    pub writes_enabled: bool,
    /// Where clients reach the server (for the empty state's example).
    pub base_url: &'a str,
    /// Whether the browser is signed in with a session (and so can sign out).
    pub signed_in: bool,
}

/// An `<option>`, selected or not.
fn option(value: &str, label: &str, selected: bool) -> String {
    format!(
        r#"<option value="{value}"{}>{label}</option>"#,
        if selected { " selected" } else { "" }
    )
}

/// The filter form of the overview, the range presets and the active list filters.
fn filter_panel(filter: &PageFilter, m: &Metrics) -> String {
    let modes: String = std::iter::once(option("", "Both", filter.mode.is_none()))
        .chain(AssistantMode::ALL.iter().map(|m| {
            let label = match m {
                AssistantMode::Customer => "Customer",
                AssistantMode::Banker => "Banker",
            };
            option(m.as_str(), label, filter.mode == Some(*m))
        }))
        .collect();
    let buckets: String = Bucket::ALL
        .iter()
        .map(|b| {
            let label = match b {
                Bucket::Hour => "Hour",
                Bucket::Day => "Day",
                Bucket::Week => "Week",
            };
            option(b.as_str(), label, filter.bucket == *b)
        })
        .collect();
    let mut zones: Vec<&str> = ZONES.to_vec();
    if !zones.contains(&filter.tz.name()) && !filter.tz.is_utc() {
        zones.push(filter.tz.name());
    }
    let zones: String = zones
        .iter()
        .map(|z| {
            let selected = if *z == "UTC" {
                filter.tz.is_utc()
            } else {
                filter.tz.name() == *z
            };
            option(&esc(z), &esc(z), selected)
        })
        .collect();
    let outcomes: String = std::iter::once(option("", "All", filter.outcome.is_none()))
        .chain(Outcome::ALL.iter().map(|o| {
            let label = match o {
                Outcome::Resolved => "Resolved",
                Outcome::Escalated => "Escalated",
            };
            option(o.as_str(), label, filter.outcome == Some(*o))
        }))
        .collect();
    let categories: String = std::iter::once(option("", "All", filter.category.is_none()))
        .chain(
            IntentCategory::ALL
                .iter()
                .map(|c| option(c.as_str(), c.as_str(), filter.category == Some(*c))),
        )
        .collect();
    let text = |value: Option<String>| esc(&value.unwrap_or_default());
    let moment = |m: Option<&Moment>| text(m.map(ToString::to_string));
    let mut hidden = String::new();
    if let Some(trigger) = &filter.trigger {
        let _ = write!(
            hidden,
            r#"<input type="hidden" name="trigger" value="{}">"#,
            esc(trigger)
        );
    }
    if filter.refresh {
        hidden.push_str(r#"<input type="hidden" name="refresh" value="1">"#);
    }
    let reset = if filter.is_filtered() || filter.bucket != Bucket::Day || !filter.tz.is_utc() {
        r#"<a class="reset" href="/">Reset</a>"#
    } else {
        ""
    };
    let intents: String = m
        .by_intent
        .iter()
        .filter_map(|i| i.intent_name.as_deref())
        .map(|name| format!(r#"<option value="{}">"#, esc(name)))
        .collect();
    let mut presets = String::new();
    for (label, from, to) in PRESETS {
        let from_m = Moment::parse(from, "from").ok();
        let to_m = to.and_then(|t| Moment::parse(t, "to").ok());
        let current = filter.from == from_m && filter.to == to_m;
        let href = filter.href_with(|f| {
            f.from = from_m;
            f.to = to_m;
        });
        let _ = write!(
            presets,
            r#"<a href="{}"{}>{label}</a>"#,
            esc(&href),
            if current {
                r#" aria-current="true""#
            } else {
                ""
            }
        );
    }
    let all_time = filter.href_with(|f| {
        f.from = None;
        f.to = None;
    });
    let _ = write!(
        presets,
        r#"<a href="{}"{}>All time</a>"#,
        esc(&all_time),
        if filter.from.is_none() && filter.to.is_none() {
            r#" aria-current="true""#
        } else {
            ""
        }
    );
    format!(
        r#"<section class="filter-panel" aria-label="Filters"><form class="filters" id="filters" method="get" action="/">
<div class="filter-row">
<label>Assistant <select name="mode" id="filter-mode">{modes}</select></label>
<label>From <input name="from" id="filter-from" value="{from}" placeholder="2026-11-01, 7d, today" list="date-forms" autocomplete="off" spellcheck="false"></label>
<label>To <input name="to" id="filter-to" value="{to}" placeholder="2026-11-30, now" list="date-forms" autocomplete="off" spellcheck="false"></label>
<label>Time zone <select name="tz" id="filter-tz">{zones}</select></label>
<label>Per <select name="bucket" id="filter-bucket">{buckets}</select></label>
<label>Intent <input name="intent" id="filter-intent" value="{intent}" list="intent-names" autocomplete="off" spellcheck="false"></label>
<label>Category <select name="category" id="filter-category">{categories}</select></label>
</div>
<div class="filter-row">
<label class="grow">Search <input type="search" name="q" id="filter-q" value="{q}" placeholder="words in queries and responses" spellcheck="false"></label>
<label>Outcome <select name="outcome" id="filter-outcome">{outcomes}</select></label>
<label>Session <input name="session" id="filter-session" value="{session}" autocomplete="off" spellcheck="false"></label>
{hidden}<button type="submit">Apply</button>{reset}
</div>
</form>
<nav class="presets" aria-label="Date presets"><span>Show</span>{presets}</nav>
<datalist id="date-forms"><option value="24h"><option value="7d"><option value="30d"><option value="today"><option value="yesterday"><option value="now"></datalist>
<datalist id="intent-names">{intents}</datalist>
</section>"#,
        from = moment(filter.from.as_ref()),
        to = moment(filter.to.as_ref()),
        intent = text(filter.intent.clone()),
        q = text(filter.q.as_ref().map(ToString::to_string)),
        session = text(filter.session.clone()),
    )
}

/// The filters in force, each with a link that removes it.
fn active_filters(filter: &PageFilter) -> String {
    let mut chips = Vec::new();
    let mut chip = |name: &str, value: String, href: String| {
        chips.push(format!(
            r#"<a class="chip" href="{}" title="Remove this filter"><span>{}</span> {} <span aria-hidden="true">✕</span></a>"#,
            esc(&href),
            esc(name),
            esc(&shorten(&value, 60))
        ));
    };
    if let Some(intent) = &filter.intent {
        chip(
            "intent",
            intent.clone(),
            filter.href_with(|f| f.intent = None),
        );
    }
    if let Some(category) = filter.category {
        chip(
            "category",
            category.to_string(),
            filter.href_with(|f| f.category = None),
        );
    }
    if let Some(outcome) = filter.outcome {
        chip(
            "outcome",
            outcome.to_string(),
            filter.href_with(|f| f.outcome = None),
        );
    }
    if let Some(trigger) = &filter.trigger {
        chip(
            "trigger",
            trigger.clone(),
            filter.href_with(|f| f.trigger = None),
        );
    }
    if let Some(session) = &filter.session {
        chip(
            "session",
            session.clone(),
            filter.href_with(|f| f.session = None),
        );
    }
    if let Some(q) = &filter.q {
        chip("search", q.to_string(), filter.href_with(|f| f.q = None));
    }
    if chips.is_empty() {
        String::new()
    } else {
        format!(
            r#"<p class="chips" id="active-filters">{}</p>"#,
            chips.concat()
        )
    }
}

/// The top bar: the name, the pages, and for a signed-in browser the sign-out button.
fn top_bar(signed_in: bool) -> String {
    let sign_out = if signed_in {
        r#"<form class="signout" method="post" action="/logout"><button type="submit" id="sign-out">Sign out</button></form>"#
    } else {
        ""
    };
    format!(
        r#"<header class="topbar"><a class="brand" href="/"><span class="logo" aria-hidden="true"></span>assistant-db</a><nav class="pages"><a href="/">Dashboard</a><a href="/knowledge-documents" id="nav-documents">Knowledge documents</a></nav>{sign_out}</header>"#
    )
}

/// The page footer: where the machine-readable views are.
fn footer() -> &'static str {
    r#"<footer class="wrap footer">assistant-db · <a href="/knowledge-documents">knowledge documents</a> · <a href="/api/openapi.json">OpenAPI</a> · <a href="/healthz">health</a> · <a href="/metrics">Prometheus metrics</a></footer>"#
}

/// Which way a KPI is better, for the colour of its change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Better {
    /// Neither: volume.
    Neither,
    /// Up (resolution, containment, confidence).
    Up,
    /// Down (escalation, latency).
    Down,
}

/// How a KPI's change is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    /// Relative: `+12%`.
    Relative,
    /// In percentage points: `+2.1 pts`.
    Points,
    /// As a difference of scores: `+0.03`.
    Score,
}

/// One KPI: its value now and in the previous period.
struct Kpi<'a> {
    key: &'a str,
    label: &'a str,
    shown: String,
    value: Option<f64>,
    sub: String,
    previous: Option<f64>,
    previous_shown: String,
    better: Better,
    change: Change,
}

/// The comparison line of a tile: the change and the previous value, or why there is
/// none.
fn comparison(k: &Kpi<'_>, period: Option<&str>) -> String {
    let Some(period) = period else {
        return String::new();
    };
    let (Some(now), Some(before)) = (k.value, k.previous) else {
        return format!(
            r#"<span class="kpi-change none" title="{}">no figure to compare with</span>"#,
            esc(&format!("previous period: {period}"))
        );
    };
    let delta = now - before;
    let text = match k.change {
        Change::Relative if before == 0.0 => {
            if now == 0.0 {
                "no change".to_owned()
            } else {
                "new".to_owned()
            }
        }
        Change::Relative => format!("{:+.0}%", delta / before * 100.0),
        Change::Points => format!("{:+.1} pts", delta * 100.0),
        Change::Score => format!("{:+.2}", delta),
    };
    let flat =
        delta.abs() < 1e-12 || text.starts_with("+0%") || text == "+0.0 pts" || text == "+0.00";
    let arrow = if flat {
        "="
    } else if delta > 0.0 {
        "▲"
    } else {
        "▼"
    };
    let class = match (flat, k.better, delta > 0.0) {
        (true, _, _) | (_, Better::Neither, _) => "flat",
        (false, Better::Up, true) | (false, Better::Down, false) => "good",
        _ => "bad",
    };
    format!(
        r#"<span class="kpi-change {class}" title="{title}">{arrow} {text} <span class="was">was {was}</span></span>"#,
        title = esc(&format!("previous period: {period}")),
        text = esc(&text),
        was = esc(&k.previous_shown),
    )
}

/// One KPI tile; `data-value` and `data-previous` hold the raw numbers (for machines).
fn tile(k: &Kpi<'_>, period: Option<&str>) -> String {
    let raw = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
    format!(
        r#"<div class="kpi" data-kpi="{key}" data-value="{value}" data-previous="{previous}"><span class="kpi-label">{label}</span><span class="kpi-value">{shown}</span><span class="kpi-sub">{sub}</span>{change}</div>"#,
        key = k.key,
        value = raw(k.value),
        previous = raw(k.previous),
        label = esc(k.label),
        shown = esc(&k.shown),
        sub = esc(&k.sub),
        change = comparison(k, period),
    )
}

/// The six KPI tiles, each beside the previous period of the same length (`period`
/// names it) when there is one.
fn tiles(m: &Metrics, previous: Option<&Metrics>, period: Option<&str>) -> String {
    let containment = |m: &Metrics| ratio(m.sessions.contained, m.sessions.total);
    let before = |f: &dyn Fn(&Metrics) -> Option<f64>| previous.and_then(f);
    let total = |m: &Metrics| Some(m.total_interactions as f64);
    let resolution = |m: &Metrics| m.resolution_rate;
    let escalation = |m: &Metrics| m.escalation_rate;
    let confidence = |m: &Metrics| m.avg_confidence;
    let p95 = |m: &Metrics| m.processing_time_ms.p95;
    let kpis = [
        Kpi {
            key: "total_interactions",
            label: "Interactions",
            shown: count(m.total_interactions),
            value: total(m),
            sub: format!("in {} conversations", count(m.sessions.total)),
            previous: before(&total),
            previous_shown: previous
                .map(|p| count(p.total_interactions))
                .unwrap_or_default(),
            better: Better::Neither,
            change: Change::Relative,
        },
        Kpi {
            key: "resolution_rate",
            label: "Resolution rate",
            shown: percent(m.resolution_rate),
            value: m.resolution_rate,
            sub: format!("{} resolved", count(m.resolved)),
            previous: before(&resolution),
            previous_shown: percent(before(&resolution)),
            better: Better::Up,
            change: Change::Points,
        },
        Kpi {
            key: "escalation_rate",
            label: "Escalation rate",
            shown: percent(m.escalation_rate),
            value: m.escalation_rate,
            sub: format!("{} to a human", count(m.escalated)),
            previous: before(&escalation),
            previous_shown: percent(before(&escalation)),
            better: Better::Down,
            change: Change::Points,
        },
        Kpi {
            key: "containment",
            label: "Containment",
            shown: percent(containment(m)),
            value: containment(m),
            sub: format!("{} never escalated", count(m.sessions.contained)),
            previous: before(&containment),
            previous_shown: percent(before(&containment)),
            better: Better::Up,
            change: Change::Points,
        },
        Kpi {
            key: "avg_confidence",
            label: "Avg confidence",
            shown: score(m.avg_confidence),
            value: m.avg_confidence,
            sub: "final score, 0 to 1".to_owned(),
            previous: before(&confidence),
            previous_shown: score(before(&confidence)),
            better: Better::Up,
            change: Change::Score,
        },
        Kpi {
            key: "p95_latency_ms",
            label: "p95 latency",
            shown: millis(m.processing_time_ms.p95),
            value: m.processing_time_ms.p95,
            sub: format!("median {}", millis(m.processing_time_ms.p50)),
            previous: before(&p95),
            previous_shown: millis(before(&p95)),
            better: Better::Down,
            change: Change::Relative,
        },
    ];
    kpis.iter().map(|k| tile(k, period)).collect()
}

/// A chart card; `note` is HTML.
fn card(title: &str, extra_class: &str, note: &str, content: &str) -> String {
    let note = if note.is_empty() {
        String::new()
    } else {
        format!(r#"<p class="card-note">{note}</p>"#)
    };
    format!(
        r#"<article class="card {extra_class}"><h2>{}</h2>{note}{content}</article>"#,
        esc(title)
    )
}

/// A colour key.
fn legend(items: &[(&str, &str)]) -> String {
    let mut out = String::from(r#"<p class="card-note legend">"#);
    for (colour, label) in items {
        let _ = write!(
            out,
            r#"<span><svg viewBox="0 0 10 10" aria-hidden="true"><rect width="10" height="10" rx="2" fill="{colour}"/></svg>{}</span>"#,
            esc(label)
        );
    }
    out.push_str("</p>");
    out
}

/// Escalations per trigger type, then the escalation share of each assistant; each row
/// opens the matching interactions.
fn triggers_card(m: &Metrics, filter: &PageFilter) -> String {
    let all: i64 = m.escalations_by_trigger.iter().map(|t| t.count).sum();
    let max = m
        .escalations_by_trigger
        .iter()
        .map(|t| t.count)
        .max()
        .unwrap_or(0) as f64;
    let rows: Vec<BarRow> = m
        .escalations_by_trigger
        .iter()
        .map(|t| BarRow {
            label: t.trigger_type.clone(),
            segments: vec![(t.count as f64, ESCALATED)],
            value: format!("{} · {}", count(t.count), percent(ratio(t.count, all))),
            title: format!("{}: {} escalations", t.trigger_type, count(t.count)),
            href: Some(list_href(filter, |f| {
                f.trigger = Some(t.trigger_type.clone());
                f.outcome = None;
            })),
        })
        .collect();
    let mut content = if rows.is_empty() {
        charts::empty_chart("No escalations in this range")
    } else {
        charts::bar_list(&rows, max)
    };
    let modes: Vec<BarRow> = m
        .by_mode
        .iter()
        .map(|mode| {
            let share = ratio(mode.escalated, mode.total);
            BarRow {
                label: mode.assistant_mode.to_string(),
                segments: vec![
                    (mode.resolved as f64, RESOLVED),
                    (mode.escalated as f64, ESCALATED),
                ],
                value: format!("{} · {} esc.", count(mode.total), percent(share)),
                title: format!(
                    "{} assistant: {} interactions, {} escalated ({})",
                    mode.assistant_mode,
                    count(mode.total),
                    count(mode.escalated),
                    percent(share)
                ),
                href: Some(list_href(filter, |f| f.mode = Some(mode.assistant_mode))),
            }
        })
        .collect();
    if !modes.is_empty() {
        let max = m.by_mode.iter().map(|x| x.total).max().unwrap_or(0) as f64;
        content.push_str(r#"<h3>By assistant</h3>"#);
        content.push_str(&charts::bar_list(&modes, max));
    }
    card(
        "Escalations by trigger",
        "",
        &format!("{} escalations", count(all)),
        &content,
    )
}

/// The most frequent intents, split resolved / escalated; each opens its interactions.
fn intents_card(m: &Metrics, filter: &PageFilter) -> String {
    let max = m.by_intent.iter().map(|i| i.total).max().unwrap_or(0) as f64;
    let rows: Vec<BarRow> = m
        .by_intent
        .iter()
        .take(TOP_INTENTS)
        .map(|i| {
            let name = i
                .intent_name
                .clone()
                .unwrap_or_else(|| "(no intent)".into());
            let share = ratio(i.escalated, i.total);
            BarRow {
                title: format!(
                    "{name}: {} interactions, {} escalated ({}), avg confidence {}",
                    count(i.total),
                    count(i.escalated),
                    percent(share),
                    score(i.avg_confidence)
                ),
                label: name,
                segments: vec![
                    (i.resolved as f64, RESOLVED),
                    (i.escalated as f64, ESCALATED),
                ],
                value: format!("{} · {} esc.", count(i.total), percent(share)),
                href: i
                    .intent_name
                    .clone()
                    .map(|name| list_href(filter, |f| f.intent = Some(name))),
            }
        })
        .collect();
    let shown = if m.by_intent.len() > TOP_INTENTS {
        format!(
            "the {TOP_INTENTS} most frequent of {} · ",
            m.by_intent.len()
        )
    } else {
        String::new()
    };
    card(
        "Top intents",
        "",
        &format!("{shown}escalated share after the count"),
        &if rows.is_empty() {
            charts::empty_chart("No intents in this range")
        } else {
            charts::bar_list(&rows, max)
        },
    )
}

/// Mean and percentiles of the processing time, then how far the pipeline got.
fn latency_card(m: &Metrics) -> String {
    let p = &m.processing_time_ms;
    let percentiles = [
        ("mean", p.avg),
        ("p50", p.p50),
        ("p95", p.p95),
        ("p99", p.p99),
    ];
    let max = percentiles
        .iter()
        .filter_map(|(_, v)| *v)
        .fold(0.0, f64::max);
    let rows: Vec<BarRow> = percentiles
        .iter()
        .filter_map(|(label, value)| {
            value.map(|v| BarRow {
                label: (*label).to_owned(),
                segments: vec![(v, LATENCY)],
                value: millis(Some(v)),
                title: format!("{label} processing time: {}", millis(Some(v))),
                href: None,
            })
        })
        .collect();
    let mut content = if rows.is_empty() {
        charts::empty_chart("No processing times recorded in this range")
    } else {
        charts::bar_list(&rows, max)
    };
    let s = &m.pipeline;
    let steps: Vec<BarRow> = [
        ("1 intent", s.step_1_intent_completed),
        ("2 routing", s.step_2_routing_decision),
        ("3 retrieval", s.step_3_retrieval_performed),
        ("4 response", s.step_4_response_generated),
        ("5 confidence", s.step_5_confidence_score),
        ("6 escalation", s.step_6_escalation_triggered),
    ]
    .into_iter()
    .filter_map(|(label, share)| {
        share.map(|share| BarRow {
            label: label.to_owned(),
            segments: vec![(share, PIPELINE)],
            value: percent(Some(share)),
            title: format!("step {label}: reached by {}", percent(Some(share))),
            href: None,
        })
    })
    .collect();
    if !steps.is_empty() {
        content.push_str("<h3>Pipeline steps reached</h3>");
        content.push_str(&charts::bar_list(&steps, 1.0));
    }
    card(
        "Processing time",
        "",
        "end to end, per interaction",
        &content,
    )
}

/// The link to the view with one change, at the interactions list.
fn list_href(filter: &PageFilter, change: impl FnOnce(&mut PageFilter)) -> String {
    format!("{}#interactions", filter.href_with(change))
}

/// The link opening one bucket's interactions: the view narrowed to the part of the
/// bucket inside the period, with the next narrower buckets.
fn bucket_href(filter: &PageFilter, slot: &Slot) -> String {
    let last = slot.end - TimeDelta::microseconds(1);
    let from = filter.window.from.map_or(slot.start, |f| f.max(slot.start));
    let to = filter.window.to.map_or(last, |t| t.min(last));
    let instant = |at| Moment::Instant(filter.tz.local(at).fixed_offset());
    list_href(filter, |f| {
        f.from = Some(instant(from));
        f.to = Some(instant(to));
        f.bucket = f.bucket.narrower();
    })
}

/// The volume chart in both layouts, and what its hatching means.
fn volume_card(m: &Metrics, filter: &PageFilter) -> String {
    let end = filter.window.to.unwrap_or(filter.now);
    let slots = charts::slots(
        &m.timeseries,
        filter.bucket,
        filter.tz,
        filter.window.from,
        end,
    );
    let href = |slot: &Slot| bucket_href(filter, slot);
    let charts: String = Layout::BOTH
        .iter()
        .map(|layout| charts::volume(&slots, filter.bucket, filter.tz, *layout, &href))
        .collect();
    let mut notes = Vec::new();
    let unit = filter.bucket.as_str();
    if slots.first().is_some_and(|s| s.partial) {
        notes.push(format!("the first {unit} starts before the period"));
    }
    if slots.len() > 1 && slots.last().is_some_and(|s| s.partial) {
        if filter.window.to.is_none() {
            notes.push(format!("the last {unit} is still going on"));
        } else {
            notes.push(format!("the last {unit} ends after the period"));
        }
    }
    let partial = if notes.is_empty() {
        String::new()
    } else {
        format!(
            r#"<p class="card-note" id="partial-note">Hatched: {}; it counts only the interactions inside the period.</p>"#,
            esc(&notes.join(", and "))
        )
    };
    format!(
        r#"{}<div class="chart-box">{charts}</div>{partial}<p class="card-note">Empty {unit}s are drawn as zero; open a bar for its interactions.</p>"#,
        legend(&[
            (RESOLVED, "Resolved"),
            (ESCALATED, "Escalated"),
            (RATE, "Escalation rate (right axis)"),
        ]),
    )
}

/// The charts.
fn chart_cards(m: &Metrics, filter: &PageFilter) -> String {
    let confidence = card(
        "Confidence distribution",
        "",
        "interactions per final confidence score",
        &match m.confidence_bins() {
            Some(bins) => Layout::BOTH
                .iter()
                .map(|layout| charts::confidence(&bins, *layout))
                .collect(),
            None => charts::empty_chart("Not available from this database"),
        },
    );
    let zone = if filter.tz.is_utc() {
        String::new()
    } else {
        format!("{}s start at midnight in {}", filter.bucket, filter.tz)
    };
    format!(
        r#"<section class="charts" aria-label="Charts">{}{}{}{}{}</section>"#,
        card(
            "Volume and escalation rate",
            "span-2",
            &esc(&zone),
            &volume_card(m, filter)
        ),
        triggers_card(m, filter),
        intents_card(m, filter),
        confidence,
        latency_card(m),
    )
}

/// A stored timestamp as the tables show it: an instant to the minute on the zone's
/// clock, anything else (none, an infinity, a year `chrono` cannot hold) as PostgreSQL
/// wrote it.
fn when(at: Option<&Timestamp>, zone: Zone) -> String {
    match at {
        Some(Timestamp::At(at)) => format!(
            r#"<time datetime="{}">{}</time>"#,
            at.to_rfc3339_opts(SecondsFormat::Secs, true),
            zone.local(*at).format("%Y-%m-%d %H:%M")
        ),
        Some(other) => format!(r#"<span class="odd">{}</span>"#, esc(&other.to_string())),
        None => r#"<span class="muted">no time</span>"#.to_owned(),
    }
}

/// The zone's name for table headings: `UTC`, `Europe/Paris`.
fn zone_name(zone: Zone) -> &'static str {
    if zone.is_utc() {
        "UTC"
    } else {
        zone.name()
    }
}

/// A stored float: finite numbers through `format`, NaN and infinities by name.
fn float(value: Float, format: impl Fn(f64) -> String) -> String {
    if value.get().is_finite() {
        format(value.get())
    } else {
        value.to_string()
    }
}

/// A coloured label for a mode or outcome.
fn badge(text: &str) -> String {
    format!(r#"<span class="badge badge-{0}">{0}</span>"#, esc(text))
}

/// The link to an interaction's detail, keeping the dashboard's filters for the way back.
fn detail_href(id: uuid::Uuid, filter: &PageFilter) -> String {
    with_query(&format!("/interactions/{id}"), &filter.query())
}

/// `text` as one path segment, every byte but unreserved characters percent-encoded.
fn path_segment(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// The link to a conversation's turns, keeping the dashboard's filters for the way back.
fn session_href(session: &str, filter: &PageFilter) -> String {
    with_query(
        &format!("/sessions/{}", path_segment(session)),
        &filter.query(),
    )
}

/// The latest escalations.
fn escalations_table(rows: &[RecentEscalation], filter: &PageFilter) -> String {
    if rows.is_empty() {
        return charts::empty_chart("No escalations in this range");
    }
    let mut out = format!(
        r#"<div class="table-scroll"><table class="rows" id="escalations-table"><thead><tr><th>Time ({})</th><th>Assistant</th><th>Trigger</th><th class="hide-sm">Intent</th><th class="hide-sm">Reason</th></tr></thead><tbody>"#,
        esc(zone_name(filter.tz))
    );
    for row in rows {
        let href = esc(&detail_href(row.interaction_id, filter));
        let _ = write!(
            out,
            r#"<tr data-href="{href}"><td><a class="escalation-link" href="{href}">{}</a></td><td>{}</td><td><span class="trigger">{}</span></td><td class="hide-sm">{}</td><td class="hide-sm muted">{}</td></tr>"#,
            when(row.timestamp.as_ref(), filter.tz),
            badge(row.assistant_mode.as_str()),
            esc(row.trigger_type.as_deref().unwrap_or("–")),
            esc(row.intent_name.as_deref().unwrap_or("–")),
            esc(&shorten(
                row.escalation_reason.as_deref().unwrap_or(""),
                REASON_CHARS
            )),
        );
    }
    out.push_str("</tbody></table></div>");
    out
}

/// The interactions table with its pager.
fn interactions_table(page: &Page<InteractionRow>, filter: &PageFilter) -> String {
    if page.items.is_empty() {
        let reset = if filter.narrows_list_only() {
            " Widen the search or remove a filter above."
        } else {
            ""
        };
        return charts::empty_chart(&format!("No interactions match.{reset}"));
    }
    let mut out = format!(
        r#"<div class="table-scroll"><table class="rows" id="interactions-table"><thead><tr><th>Time ({})</th><th>Assistant</th><th class="hide-sm">Intent</th><th>Outcome</th><th class="num hide-sm">Conf.</th><th class="num hide-sm">Time</th><th class="hide-sm">Query</th></tr></thead><tbody>"#,
        esc(zone_name(filter.tz))
    );
    for i in &page.items {
        let href = esc(&detail_href(i.id, filter));
        let _ = write!(
            out,
            r#"<tr data-href="{href}" data-id="{id}"><td><a class="interaction-link" href="{href}">{when}</a></td><td>{mode}</td><td class="hide-sm">{intent}</td><td>{outcome}</td><td class="num hide-sm">{conf}</td><td class="num hide-sm">{ms}</td><td class="hide-sm query">{query}</td></tr>"#,
            id = i.id,
            when = when(i.timestamp.as_ref(), filter.tz),
            mode = badge(i.assistant_mode.as_str()),
            intent = esc(i.intent_name.as_deref().unwrap_or("–")),
            outcome = badge(i.outcome.as_str()),
            conf = i
                .confidence_score
                .map_or_else(|| score(None), |c| float(c, |v| score(Some(v)))),
            ms = millis(i.processing_time_ms.map(f64::from)),
            query = esc(&shorten(&i.user_query, QUERY_CHARS)),
        );
    }
    out.push_str("</tbody></table></div>");
    let base = filter.query();
    let mut pager = String::new();
    if filter.after.is_some() {
        let _ = write!(
            pager,
            r##"<a href="{}#interactions">← Newest</a>"##,
            esc(&with_query("/", &base))
        );
    }
    if let Some(next) = &page.next {
        let after = query_string(&[("after", next.to_string())]);
        let query = if base.is_empty() {
            after
        } else {
            format!("{base}&{after}")
        };
        let _ = write!(
            pager,
            r##"<a class="older" href="{}#interactions">Older →</a>"##,
            esc(&with_query("/", &query))
        );
    }
    if !pager.is_empty() {
        let _ = write!(out, r#"<nav class="pager">{pager}</nav>"#);
    }
    out
}

/// The interactions card: what the list shows, its download links and the table.
fn interactions_card(page: &Page<InteractionRow>, filter: &PageFilter) -> String {
    let scope = if filter.narrows_list_only() {
        "newest first · narrowed by the outcome, session, trigger or search filter, which the tiles and charts above do not apply"
    } else {
        "newest first · open one for its pipeline steps and citations"
    };
    format!(
        r#"<section class="card" id="interactions"><div class="card-head"><h2>Interactions</h2><p class="downloads">Download these: <a id="export-csv" href="{csv}" download>CSV</a> <a id="export-ndjson" href="{ndjson}" download>NDJSON</a></p></div><p class="card-note">{scope}</p>{table}</section>"#,
        csv = esc(&with_query(
            "/api/interactions/export",
            &filter.export_query("csv")
        )),
        ndjson = esc(&with_query(
            "/api/interactions/export",
            &filter.export_query("ndjson")
        )),
        scope = esc(scope),
        table = interactions_table(page, filter),
    )
}

/// What the page shows when no interaction passes the filters.
fn empty_state(filter: &PageFilter, writes_enabled: bool, base_url: &str) -> String {
    if filter.is_filtered() {
        return r#"<section class="card empty-state"><h2>No interactions match these filters</h2><p>Nothing was logged for this assistant in this date range. Widen the range, or <a href="/">reset the filters</a>.</p></section>"#.to_owned();
    }
    let token_hint = if writes_enabled {
        ""
    } else {
        " (start the server with <code>ASSISTANT_DB_API_TOKEN</code> set to enable writes)"
    };
    format!(
        r#"<section class="card empty-state"><h2>No interactions yet</h2>
<p>Nothing has been logged to this database. To see the dashboard at work:</p>
<ul>
<li>fill it with realistic demo traffic: <code>assistant-db demo</code>, or start the server with <code>assistant-db serve --demo</code>;</li>
<li>or log from your assistant through the API{token_hint}:
<pre>curl -X POST {base}/api/interactions \
  -H "Authorization: Bearer $ASSISTANT_DB_API_TOKEN" -H 'Content-Type: application/json' \
  -d '{{"assistant_mode":"customer","user_query":"What is my balance?","outcome":"resolved"}}'</pre></li>
</ul>
<p>The API is described at <a href="/api/openapi.json">/api/openapi.json</a>.</p></section>"#,
        base = esc(base_url.trim_end_matches('/')),
    )
}

/// The auto-refresh switch: a link that turns it on or off (no script needed).
fn refresh_switch(filter: &PageFilter) -> String {
    if filter.refresh {
        format!(
            r#"<a id="refresh-toggle" class="refresh on" href="{}" title="The page reloads every {REFRESH_SECONDS} s">Auto-refresh on · turn off</a>"#,
            esc(&filter.href_with(|f| f.refresh = false))
        )
    } else {
        format!(
            r#"<a id="refresh-toggle" class="refresh" href="{}" title="Reload the page every {REFRESH_SECONDS} s">Auto-refresh off · turn on</a>"#,
            esc(&filter.href_with(|f| f.refresh = true))
        )
    }
}

/// The overview page.
pub fn dashboard(d: &Dashboard<'_>) -> Response {
    let mut body = top_bar(d.signed_in);
    body.push_str(&filter_panel(d.filter, d.metrics));
    body.push_str(r#"<main class="wrap">"#);
    for notice in d.notices {
        let _ = write!(body, r#"<p class="notice">{}</p>"#, esc(notice));
    }
    let period = d.filter.describe_previous();
    let compared = match (&period, d.filter.previous_api_query()) {
        (Some(p), Some(query)) => format!(
            r#" · <span id="compared" data-metrics="{}">tiles compared with {}</span>"#,
            esc(&with_query("/api/metrics", &query)),
            esc(p)
        ),
        _ => String::new(),
    };
    let _ = write!(
        body,
        r#"<div class="scope"><h1>Assistant metrics</h1><p><span id="scope">{}</span>{compared} · <a id="metrics-json" href="{}">JSON</a> · {}</p></div>"#,
        esc(&d.filter.describe()),
        esc(&with_query("/api/metrics", &d.filter.api_query())),
        refresh_switch(d.filter),
    );
    body.push_str(&active_filters(d.filter));
    let _ = write!(
        body,
        r#"<section class="kpis" aria-label="Key figures">{}</section>"#,
        tiles(d.metrics, d.previous, period.as_deref())
    );
    if d.metrics.total_interactions == 0 {
        body.push_str(&empty_state(d.filter, d.writes_enabled, d.base_url));
    } else {
        body.push_str(&chart_cards(d.metrics, d.filter));
        let _ = write!(
            body,
            r#"<section class="card" id="escalations"><h2>Recent escalations</h2><p class="card-note">newest first · open one for its interaction</p>{}</section>"#,
            escalations_table(d.escalations, d.filter)
        );
        body.push_str(&interactions_card(d.page, d.filter));
    }
    body.push_str("</main>");
    body.push_str(footer());
    let refresh = d.filter.refresh.then_some(REFRESH_SECONDS);
    page_refreshing("Dashboard · assistant-db", &body, refresh)
}

/// One step of the pipeline, reached or not, with what it produced (`detail` is HTML).
fn step(number: u8, name: &str, done: bool, detail: &str) -> String {
    format!(
        r#"<li class="step {state}"><span class="step-mark" aria-hidden="true">{number}</span><div><strong>{name}</strong><span class="step-state">{word}</span>{detail}</div></li>"#,
        state = if done { "done" } else { "skipped" },
        word = if done { "done" } else { "not reached" },
        name = esc(name),
    )
}

/// A line of step detail, or nothing when the value is absent.
fn detail_line(label: &str, value: Option<&str>) -> String {
    value.map_or_else(String::new, |v| {
        format!(
            r#"<p class="step-detail"><span>{}</span> {}</p>"#,
            esc(label),
            esc(v)
        )
    })
}

/// The six pipeline steps of an interaction.
fn pipeline(i: &InteractionRow) -> String {
    let category = i.intent_category.map(|c| c.as_str());
    let chunks = i.retrieved_chunks_count.map(|c| count(i64::from(c)));
    let step5 = i
        .step_5_confidence_score
        .map(|c| float(c, |v| format!("{v:.3}")));
    let done = |flag: Option<bool>| flag.unwrap_or(false);
    [
        step(
            1,
            "Intent classification",
            done(i.step_1_intent_completed),
            &[
                detail_line("intent", i.intent_name.as_deref()),
                detail_line("category", category),
                detail_line("reason", i.classification_reason.as_deref()),
            ]
            .concat(),
        ),
        step(
            2,
            "Routing",
            i.step_2_routing_decision.is_some(),
            &detail_line("decision", i.step_2_routing_decision.as_deref()),
        ),
        step(
            3,
            "Knowledge retrieval",
            done(i.step_3_retrieval_performed),
            &detail_line("chunks retrieved", chunks.as_deref()),
        ),
        step(
            4,
            "Response generation",
            done(i.step_4_response_generated),
            "",
        ),
        step(
            5,
            "Confidence scoring",
            i.step_5_confidence_score.is_some(),
            &detail_line("score", step5.as_deref()),
        ),
        step(
            6,
            "Escalation",
            done(i.step_6_escalation_triggered),
            &detail_line("reason", i.escalation_reason.as_deref()),
        ),
    ]
    .concat()
}

/// A citation's URL as a link when it is a web address, else as text.
fn citation_url(url: &str) -> String {
    let lower = url.to_ascii_lowercase();
    if lower.starts_with("https://") || lower.starts_with("http://") {
        format!(
            r#" — <a href="{0}" rel="noopener noreferrer nofollow" target="_blank">{0}</a>"#,
            esc(url)
        )
    } else {
        format!(" — {}", esc(url))
    }
}

/// The citations section: the model's list of sources, or whatever JSON another writer
/// stored there, shown as it is.
fn citations(i: &InteractionRow) -> String {
    let Some(list) = i
        .citation_list()
        .or_else(|| i.citations.is_none().then(Vec::new))
    else {
        let raw = i
            .citations
            .as_ref()
            .map(|v| v.to_string())
            .unwrap_or_default();
        return format!(
            r#"<section class="card" id="citations"><h2>Citations</h2><p class="muted">Stored as JSON that is not a list of citations:</p><pre class="raw">{}</pre></section>"#,
            esc(&raw)
        );
    };
    let mut out = format!(
        r#"<section class="card" id="citations"><h2>Citations ({})</h2>"#,
        list.len()
    );
    if list.is_empty() {
        out.push_str(r#"<p class="muted">The response cites no source.</p>"#);
    } else {
        out.push_str(r#"<ol class="citations">"#);
        for c in list {
            let _ = write!(
                out,
                r#"<li><span class="cite-no">[{}]</span> {}{}</li>"#,
                c.number,
                esc(c.source.as_str()),
                c.url
                    .as_ref()
                    .map(|u| citation_url(u.as_str()))
                    .unwrap_or_default()
            );
        }
        out.push_str("</ol>");
    }
    out.push_str("</section>");
    out
}

/// The escalations section.
fn escalation_list(d: &InteractionDetail, zone: Zone) -> String {
    let mut out = format!(
        r#"<section class="card" id="escalation-list"><h2>Escalations ({})</h2>"#,
        d.escalations.len()
    );
    if d.escalations.is_empty() {
        let word = if d.interaction.outcome == Outcome::Escalated {
            "No escalation row was logged for this escalated interaction."
        } else {
            "The assistant handled this interaction on its own."
        };
        let _ = write!(out, r#"<p class="muted">{word}</p>"#);
    } else {
        let _ = write!(
            out,
            r#"<div class="table-scroll"><table class="rows"><thead><tr><th>Trigger</th><th>Reason</th><th class="hide-sm">Logged ({})</th></tr></thead><tbody>"#,
            esc(zone_name(zone))
        );
        for e in &d.escalations {
            let _ = write!(
                out,
                r#"<tr><td><span class="trigger">{}</span></td><td>{}</td><td class="hide-sm">{}</td></tr>"#,
                esc(&e.trigger_type),
                esc(&e.escalation_reason),
                when(e.created_at.as_ref(), zone)
            );
        }
        out.push_str("</tbody></table></div>");
    }
    out.push_str("</section>");
    out
}

/// The detail page of one interaction.
pub fn detail(d: &InteractionDetail, filter: &PageFilter, signed_in: bool) -> Response {
    let i = &d.interaction;
    let zone = filter.tz;
    let mut body = top_bar(signed_in);
    body.push_str(r#"<main class="wrap detail">"#);
    let _ = write!(
        body,
        r#"<p class="back"><a href="{}">← Dashboard</a></p><h1>Interaction <code id="interaction-id">{}</code></h1>"#,
        esc(&filter.href()),
        i.id
    );
    let facts = [
        Some(badge(i.assistant_mode.as_str())),
        Some(badge(i.outcome.as_str())),
        Some(when(i.timestamp.as_ref(), zone) + " " + &esc(zone_name(zone))),
        i.session_id.as_ref().map(|s| {
            format!(
                r#"<a id="session-link" href="{}">conversation <code>{}</code></a>"#,
                esc(&session_href(s, filter)),
                esc(&shorten(s, 40))
            )
        }),
        i.confidence_score.map(|c| {
            format!(
                "confidence <strong>{}</strong>",
                float(c, |v| format!("{v:.2}"))
            )
        }),
        i.processing_time_ms
            .map(|t| format!("<strong>{}</strong>", millis(Some(f64::from(t))))),
    ];
    let _ = write!(
        body,
        r#"<p class="facts">{}</p>"#,
        facts
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(r#"<span class="sep">·</span>"#)
    );
    let response = i.response_text.as_ref().map_or_else(
        || r#"<p class="muted">No response was generated.</p>"#.to_owned(),
        |r| format!(r#"<p class="text" id="response-text">{}</p>"#, esc(r)),
    );
    let _ = write!(
        body,
        r#"<div class="detail-grid"><section class="card"><h2>Query</h2><p class="text" id="user-query">{}</p><h2>Response</h2>{response}</section><section class="card"><h2>Pipeline</h2><ol class="steps" id="pipeline">{}</ol></section></div>"#,
        esc(&i.user_query),
        pipeline(i)
    );
    body.push_str(&citations(i));
    body.push_str(&escalation_list(d, zone));
    let _ = write!(
        body,
        r#"<p class="muted">Raw record: <a href="/api/interactions/{}">JSON</a></p></main>"#,
        i.id
    );
    body.push_str(footer());
    page(&format!("Interaction {} · assistant-db", i.id), &body)
}

/// The page of one conversation: every turn, oldest first, with the query, the
/// response and how it ended.
pub fn session(s: &SessionTurns, filter: &PageFilter, signed_in: bool) -> Response {
    let zone = filter.tz;
    let mut body = top_bar(signed_in);
    body.push_str(r#"<main class="wrap detail session">"#);
    let escalated = s
        .turns
        .iter()
        .filter(|t| t.outcome == Outcome::Escalated)
        .count();
    let _ = write!(
        body,
        r#"<p class="back"><a href="{}">← Dashboard</a></p><h1>Conversation <code id="session-id">{}</code></h1><p class="facts"><span id="turn-count">{} turns</span><span class="sep">·</span>{} escalated<span class="sep">·</span>oldest first, times in {}<span class="sep">·</span><a href="{}">these turns in the list</a><span class="sep">·</span><a href="/api/sessions/{}">JSON</a></p>"#,
        esc(&filter.href()),
        esc(&s.session_id),
        count(s.turns.len() as i64),
        count(escalated as i64),
        esc(zone_name(zone)),
        esc(&format!(
            "{}#interactions",
            filter.href_with(|f| f.session = Some(s.session_id.clone()))
        )),
        esc(&path_segment(&s.session_id)),
    );
    if s.truncated {
        let _ = write!(
            body,
            r#"<p class="notice">This conversation has more turns than a page shows; these are its latest {}.</p>"#,
            count(s.turns.len() as i64)
        );
    }
    body.push_str(r#"<ol class="turns" id="turns">"#);
    for (n, t) in s.turns.iter().enumerate() {
        let response = t.response_text.as_ref().map_or_else(
            || r#"<p class="muted">No response was generated.</p>"#.to_owned(),
            |r| format!(r#"<p class="text turn-response">{}</p>"#, esc(r)),
        );
        let escalation = t
            .escalation_reason
            .as_ref()
            .map(|r| {
                format!(
                    r#"<p class="step-detail"><span>escalated:</span> {}</p>"#,
                    esc(r)
                )
            })
            .unwrap_or_default();
        let _ = write!(
            body,
            r#"<li class="card turn" data-id="{id}"><div class="turn-head"><span class="turn-no">{no}</span>{when}{mode}{outcome}<span class="muted">{intent}</span><a class="turn-link" href="{href}">details →</a></div><h2>Query</h2><p class="text turn-query">{query}</p><h2>Response</h2>{response}{escalation}</li>"#,
            id = t.id,
            no = n + 1,
            when = when(t.timestamp.as_ref(), zone),
            mode = badge(t.assistant_mode.as_str()),
            outcome = badge(t.outcome.as_str()),
            intent = esc(t.intent_name.as_deref().unwrap_or("")),
            href = esc(&detail_href(t.id, filter)),
            query = esc(&t.user_query),
        );
    }
    body.push_str("</ol></main>");
    body.push_str(footer());
    page(
        &format!("Conversation {} · assistant-db", shorten(&s.session_id, 40)),
        &body,
    )
}

/// The knowledge documents page: the registry in id order, a page at a time.
pub fn knowledge_documents(
    docs: &DocumentPage,
    after: Option<uuid::Uuid>,
    zone: Zone,
    signed_in: bool,
) -> Response {
    let mut body = top_bar(signed_in);
    body.push_str(r#"<main class="wrap">"#);
    let _ = write!(
        body,
        r#"<div class="scope"><h1>Knowledge documents</h1><p>The documents the assistants retrieve from, as registered · <a href="/api/knowledge-documents">JSON</a></p></div>"#
    );
    if docs.items.is_empty() {
        let message = if after.is_some() {
            r#"No more documents. <a href="/knowledge-documents">Back to the first page</a>."#
        } else {
            "No knowledge document is registered. Ingestion registers them with <code>PUT /api/knowledge-documents</code> or <code>assistant-db log knowledge-document</code>."
        };
        let _ = write!(
            body,
            r#"<section class="card empty-state" id="documents"><p>{message}</p></section>"#
        );
    } else {
        let _ = write!(
            body,
            r#"<section class="card" id="documents"><div class="table-scroll"><table class="rows" id="documents-table"><thead><tr><th>Title</th><th class="hide-sm">File id</th><th>Type</th><th class="hide-sm">Collection</th><th>Ingested ({})</th></tr></thead><tbody>"#,
            esc(zone_name(zone))
        );
        for d in &docs.items {
            let _ = write!(
                body,
                r#"<tr data-id="{id}"><td>{title}</td><td class="hide-sm"><code>{file}</code></td><td>{kind}</td><td class="hide-sm">{collection}</td><td>{ingested}</td></tr>"#,
                id = d.id,
                title = document_title(d),
                file = esc(&d.openai_file_id),
                kind = d
                    .content_type
                    .map_or_else(|| "–".to_owned(), |c| badge(c.as_str())),
                collection = esc(d.topic_collection.as_deref().unwrap_or("–")),
                ingested = when(d.ingested_at.as_ref(), zone),
            );
        }
        body.push_str("</tbody></table></div>");
        let mut pager = String::new();
        if after.is_some() {
            pager.push_str(r#"<a href="/knowledge-documents">← First page</a>"#);
        }
        if let Some(next) = docs.next {
            let _ = write!(
                pager,
                r#"<a class="older" id="documents-next" href="/knowledge-documents?after={next}">Next →</a>"#
            );
        }
        if !pager.is_empty() {
            let _ = write!(body, r#"<nav class="pager">{pager}</nav>"#);
        }
        body.push_str("</section>");
    }
    body.push_str("</main>");
    body.push_str(footer());
    page("Knowledge documents · assistant-db", &body)
}

/// A document's title, linked to its source when that is a web address.
fn document_title(d: &KnowledgeDocumentRow) -> String {
    let title = esc(&shorten(&d.title, 120));
    match d.source_url.as_deref() {
        Some(url)
            if url.to_ascii_lowercase().starts_with("https://")
                || url.to_ascii_lowercase().starts_with("http://") =>
        {
            format!(
                r#"<a href="{}" rel="noopener noreferrer nofollow" target="_blank">{title}</a>"#,
                esc(url)
            )
        }
        _ => title,
    }
}

/// The body of a page that only says something (not found, unavailable).
pub fn message_page(title: &str, message: &str) -> String {
    format!(
        r#"{}<main class="wrap"><section class="card message"><h1>{}</h1><p>{}</p><p><a href="/">← Dashboard</a></p></section></main>"#,
        top_bar(false),
        esc(title),
        esc(message)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_web_urls_become_links() {
        assert!(citation_url("https://example.com/a?b=1&c=2")
            .contains(r#"href="https://example.com/a?b=1&amp;c=2""#));
        let js = citation_url("javascript:alert(1)");
        assert!(!js.contains("href"), "{js}");
    }

    #[test]
    fn pipeline_marks_steps_reached_and_escapes() {
        let mut i =
            assistant_db::model::Interaction::new(AssistantMode::Banker, "q", Outcome::Escalated)
                .expect("valid");
        i.step_1_intent_completed = true;
        i.intent_name = Some("wire_<cutoff>".try_into().expect("intent"));
        let html = pipeline(&InteractionRow::from(i));
        assert_eq!(html.matches(r#"class="step done""#).count(), 1, "{html}");
        assert_eq!(html.matches(r#"class="step skipped""#).count(), 5, "{html}");
        assert!(html.contains("wire_&lt;cutoff&gt;"), "{html}");
    }
}

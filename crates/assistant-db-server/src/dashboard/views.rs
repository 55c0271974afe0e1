//! The dashboard's pages as HTML: the overview and an interaction's detail.

use std::fmt::Write as _;

use assistant_db::metrics::{Bucket, Metrics};
use assistant_db::model::{AssistantMode, Outcome};
use assistant_db::query::RecentEscalation;
use assistant_db::query::{InteractionDetail, Page};
use assistant_db::row::{Float, InteractionRow, Timestamp};
use axum::response::Response;
use chrono::{NaiveDate, SecondsFormat};

use super::charts::{self, BarRow, ESCALATED, LATENCY, PIPELINE, RATE, RESOLVED};
use super::filter::PageFilter;
use crate::html::{
    count, esc, millis, page, percent, query_string, ratio, score, shorten, with_query,
};

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
    /// Interactions per tenth of confidence, when the transport can tell.
    pub histogram: Option<[i64; 10]>,
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

/// The filter form of the overview.
fn filter_form(filter: &PageFilter) -> String {
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
    let date = |d: Option<NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
    let reset = if filter.is_filtered() || filter.bucket != Bucket::Day {
        r#"<a class="reset" href="/">Reset</a>"#
    } else {
        ""
    };
    format!(
        r#"<form class="filters" method="get" action="/" aria-label="Filters">
<label>Assistant <select name="mode" id="filter-mode">{modes}</select></label>
<label>From <input type="date" name="from" id="filter-from" value="{from}"></label>
<label>To <input type="date" name="to" id="filter-to" value="{to}"></label>
<label>Per <select name="bucket" id="filter-bucket">{buckets}</select></label>
<button type="submit">Apply</button>{reset}
</form>"#,
        from = date(filter.from),
        to = date(filter.to),
    )
}

/// The top bar: the name, on the overview the filter form, and for a signed-in browser
/// the sign-out button.
fn top_bar(filter: Option<&PageFilter>, signed_in: bool) -> String {
    let sign_out = if signed_in {
        r#"<form class="signout" method="post" action="/logout"><button type="submit" id="sign-out">Sign out</button></form>"#
    } else {
        ""
    };
    format!(
        r#"<header class="topbar"><a class="brand" href="/"><span class="logo" aria-hidden="true"></span>assistant-db</a>{}{sign_out}</header>"#,
        filter.map(filter_form).unwrap_or_default()
    )
}

/// The page footer: where the machine-readable views are.
fn footer() -> &'static str {
    r#"<footer class="wrap footer">assistant-db · <a href="/api/openapi.json">OpenAPI</a> · <a href="/healthz">health</a> · <a href="/metrics">Prometheus metrics</a></footer>"#
}

/// One KPI tile; `value` is the raw number behind it (for machines: `data-value`).
fn tile(key: &str, label: &str, shown: &str, value: Option<f64>, sub: &str) -> String {
    format!(
        r#"<div class="kpi" data-kpi="{key}" data-value="{raw}"><span class="kpi-label">{label}</span><span class="kpi-value">{shown}</span><span class="kpi-sub">{sub}</span></div>"#,
        raw = value.map(|v| v.to_string()).unwrap_or_default(),
        label = esc(label),
        shown = esc(shown),
        sub = esc(sub),
    )
}

/// The six KPI tiles.
fn tiles(m: &Metrics) -> String {
    let sessions = &m.sessions;
    let containment = ratio(sessions.contained, sessions.total);
    let latency = &m.processing_time_ms;
    [
        tile(
            "total_interactions",
            "Interactions",
            &count(m.total_interactions),
            Some(m.total_interactions as f64),
            &format!("in {} conversations", count(sessions.total)),
        ),
        tile(
            "resolution_rate",
            "Resolution rate",
            &percent(m.resolution_rate),
            m.resolution_rate,
            &format!("{} resolved", count(m.resolved)),
        ),
        tile(
            "escalation_rate",
            "Escalation rate",
            &percent(m.escalation_rate),
            m.escalation_rate,
            &format!("{} to a human", count(m.escalated)),
        ),
        tile(
            "containment",
            "Containment",
            &percent(containment),
            containment,
            &format!("{} never escalated", count(sessions.contained)),
        ),
        tile(
            "avg_confidence",
            "Avg confidence",
            &score(m.avg_confidence),
            m.avg_confidence,
            "final score, 0 to 1",
        ),
        tile(
            "p95_latency_ms",
            "p95 latency",
            &millis(latency.p95),
            latency.p95,
            &format!("median {}", millis(latency.p50)),
        ),
    ]
    .concat()
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

/// Escalations per trigger type, then the escalation share of each assistant.
fn triggers_card(m: &Metrics) -> String {
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

/// The most frequent intents, split resolved / escalated.
fn intents_card(m: &Metrics) -> String {
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

/// The charts.
fn chart_cards(m: &Metrics, histogram: Option<[i64; 10]>, bucket: Bucket) -> String {
    let volume = format!(
        r#"{}<div class="chart-scroll">{}</div>"#,
        legend(&[
            (RESOLVED, "Resolved"),
            (ESCALATED, "Escalated"),
            (RATE, "Escalation rate (right axis)"),
        ]),
        charts::volume(&m.timeseries, bucket)
    );
    let confidence = card(
        "Confidence distribution",
        "",
        "interactions per final confidence score",
        &match histogram {
            Some(bins) => charts::confidence(&bins),
            None => charts::empty_chart("Not available over this database transport"),
        },
    );
    format!(
        r#"<section class="charts" aria-label="Charts">{}{}{}{}{}</section>"#,
        card("Volume and escalation rate", "span-2", "", &volume),
        triggers_card(m),
        intents_card(m),
        confidence,
        latency_card(m),
    )
}

/// A stored timestamp as the tables show it: an instant to the minute, anything else
/// (none, an infinity, a year `chrono` cannot hold) as PostgreSQL wrote it.
fn when(at: Option<&Timestamp>) -> String {
    match at {
        Some(Timestamp::At(at)) => format!(
            r#"<time datetime="{}">{}</time>"#,
            at.to_rfc3339_opts(SecondsFormat::Secs, true),
            at.format("%Y-%m-%d %H:%M")
        ),
        Some(other) => format!(r#"<span class="odd">{}</span>"#, esc(&other.to_string())),
        None => r#"<span class="muted">no time</span>"#.to_owned(),
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

/// The latest escalations.
fn escalations_table(rows: &[RecentEscalation], filter: &PageFilter) -> String {
    if rows.is_empty() {
        return charts::empty_chart("No escalations in this range");
    }
    let mut out = String::from(
        r#"<div class="table-scroll"><table class="rows" id="escalations-table"><thead><tr><th>Time (UTC)</th><th>Assistant</th><th>Trigger</th><th class="hide-sm">Intent</th><th class="hide-sm">Reason</th></tr></thead><tbody>"#,
    );
    for row in rows {
        let href = esc(&detail_href(row.interaction_id, filter));
        let _ = write!(
            out,
            r#"<tr data-href="{href}"><td><a class="escalation-link" href="{href}">{}</a></td><td>{}</td><td><span class="trigger">{}</span></td><td class="hide-sm">{}</td><td class="hide-sm muted">{}</td></tr>"#,
            when(row.timestamp.as_ref()),
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
        return charts::empty_chart("No interactions on this page");
    }
    let mut out = String::from(
        r#"<div class="table-scroll"><table class="rows" id="interactions-table"><thead><tr><th>Time (UTC)</th><th>Assistant</th><th class="hide-sm">Intent</th><th>Outcome</th><th class="num hide-sm">Conf.</th><th class="num hide-sm">Time</th><th class="hide-sm">Query</th></tr></thead><tbody>"#,
    );
    for i in &page.items {
        let href = esc(&detail_href(i.id, filter));
        let _ = write!(
            out,
            r#"<tr data-href="{href}" data-id="{id}"><td><a class="interaction-link" href="{href}">{when}</a></td><td>{mode}</td><td class="hide-sm">{intent}</td><td>{outcome}</td><td class="num hide-sm">{conf}</td><td class="num hide-sm">{ms}</td><td class="hide-sm query">{query}</td></tr>"#,
            id = i.id,
            when = when(i.timestamp.as_ref()),
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

/// The overview page.
pub fn dashboard(d: &Dashboard<'_>) -> Response {
    let mut body = top_bar(Some(d.filter), d.signed_in);
    body.push_str(r#"<main class="wrap">"#);
    for notice in d.notices {
        let _ = write!(body, r#"<p class="notice">{}</p>"#, esc(notice));
    }
    let _ = write!(
        body,
        r#"<div class="scope"><h1>Assistant metrics</h1><p>{} · <a id="metrics-json" href="{}">JSON</a></p></div>"#,
        esc(&d.filter.describe()),
        esc(&with_query("/api/metrics", &d.filter.api_query())),
    );
    let _ = write!(
        body,
        r#"<section class="kpis" aria-label="Key figures">{}</section>"#,
        tiles(d.metrics)
    );
    if d.metrics.total_interactions == 0 {
        body.push_str(&empty_state(d.filter, d.writes_enabled, d.base_url));
    } else {
        body.push_str(&chart_cards(d.metrics, d.histogram, d.filter.bucket));
        let _ = write!(
            body,
            r#"<section class="card" id="escalations"><h2>Recent escalations</h2><p class="card-note">newest first · open one for its interaction</p>{}</section>"#,
            escalations_table(d.escalations, d.filter)
        );
        let _ = write!(
            body,
            r#"<section class="card" id="interactions"><h2>Interactions</h2><p class="card-note">newest first · open one for its pipeline steps and citations</p>{}</section>"#,
            interactions_table(d.page, d.filter)
        );
    }
    body.push_str("</main>");
    body.push_str(footer());
    page("Dashboard · assistant-db", &body)
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
fn escalation_list(d: &InteractionDetail) -> String {
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
        out.push_str(r#"<div class="table-scroll"><table class="rows"><thead><tr><th>Trigger</th><th>Reason</th><th class="hide-sm">Logged (UTC)</th></tr></thead><tbody>"#);
        for e in &d.escalations {
            let _ = write!(
                out,
                r#"<tr><td><span class="trigger">{}</span></td><td>{}</td><td class="hide-sm">{}</td></tr>"#,
                esc(&e.trigger_type),
                esc(&e.escalation_reason),
                when(e.created_at.as_ref())
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
    let mut body = top_bar(None, signed_in);
    body.push_str(r#"<main class="wrap detail">"#);
    let _ = write!(
        body,
        r#"<p class="back"><a href="{}">← Dashboard</a></p><h1>Interaction <code id="interaction-id">{}</code></h1>"#,
        esc(&with_query("/", &filter.query())),
        i.id
    );
    let facts = [
        Some(badge(i.assistant_mode.as_str())),
        Some(badge(i.outcome.as_str())),
        Some(when(i.timestamp.as_ref()) + " UTC"),
        i.session_id
            .as_ref()
            .map(|s| format!("session <code>{}</code>", esc(s))),
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
    body.push_str(&escalation_list(d));
    let _ = write!(
        body,
        r#"<p class="muted">Raw record: <a href="/api/interactions/{}">JSON</a></p></main>"#,
        i.id
    );
    body.push_str(footer());
    page(&format!("Interaction {} · assistant-db", i.id), &body)
}

/// The body of a page that only says something (not found, unavailable).
pub fn message_page(title: &str, message: &str) -> String {
    format!(
        r#"{}<main class="wrap"><section class="card message"><h1>{}</h1><p>{}</p><p><a href="/">← Dashboard</a></p></section></main>"#,
        top_bar(None, false),
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

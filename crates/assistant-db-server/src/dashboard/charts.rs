//! Charts drawn on the server as inline SVG: no script, no CDN, nothing to download.
//!
//! Colours are SVG presentation attributes (allowed by the page's CSP, unlike inline
//! styles); sizes come from the `viewBox`, so a chart scales with its card. Each chart
//! comes in two [`Layout`]s, and the stylesheet shows the one that fits the screen, so
//! that labels stay readable on a phone.
//!
//! The volume chart tells time truthfully: every bucket of the period is drawn, empty
//! ones as zero ([`slots`]); a first or last bucket only part of which lies in the
//! period is hatched, so that it does not read as a drop; the rate axis never goes past
//! 100 %.

use std::fmt::Write as _;

use std::collections::{BTreeMap, BTreeSet};

use assistant_db::metrics::{Bucket, BucketCount};
use assistant_db::when::{self, Zone};
use chrono::{DateTime, TimeDelta, Utc};

use crate::html::{count, esc, percent, ratio};

/// Colour of resolved interactions.
pub const RESOLVED: &str = "#3b82f6";
/// Colour of escalated interactions.
pub const ESCALATED: &str = "#f97316";
/// Colour of the escalation-rate line.
pub const RATE: &str = "#9a3412";
/// Colour of the confidence histogram.
const CONFIDENCE: &str = "#6366f1";
/// Colour of latency bars.
pub const LATENCY: &str = "#0d9488";
/// Colour of pipeline-step bars.
pub const PIPELINE: &str = "#64748b";
const GRID: &str = "#e5e7eb";
const AXIS_TEXT: &str = "#6b7280";

/// How large a chart is drawn: the wide version for laptops, the narrow one for phones.
/// The page holds both and its stylesheet shows one, so that on a 390 px screen the
/// narrow one is drawn near its own size and its labels stay at least 11 px high.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// About 760 px wide.
    Wide,
    /// About 360 px wide, with fewer, larger labels.
    Narrow,
}

impl Layout {
    /// Both layouts, wide first.
    pub const BOTH: [Layout; 2] = [Layout::Wide, Layout::Narrow];

    /// The class that lets the stylesheet show one layout or the other.
    pub const fn class(self) -> &'static str {
        match self {
            Layout::Wide => "chart-wide",
            Layout::Narrow => "chart-narrow",
        }
    }

    const fn suffix(self) -> &'static str {
        match self {
            Layout::Wide => "wide",
            Layout::Narrow => "narrow",
        }
    }

    /// Font size, in the chart's own units.
    const fn font(self) -> f64 {
        match self {
            Layout::Wide => 11.0,
            Layout::Narrow => 13.0,
        }
    }
}

/// A round upper bound for an axis whose largest value is `max`, and its tick step
/// (about four ticks).
fn nice_axis(max: f64) -> (f64, f64) {
    if max <= 0.0 || !max.is_finite() {
        return (1.0, 0.25);
    }
    let raw = max / 4.0;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|&s| s >= raw)
        .unwrap_or(10.0 * magnitude);
    ((max / step).ceil() * step, step)
}

/// A tick label: whole numbers with separators, else up to two decimals.
fn tick(value: f64) -> String {
    if value.fract().abs() < 1e-9 {
        count(value.round() as i64)
    } else {
        format!("{value:.2}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_owned()
    }
}

/// A rate tick: whole percents, else one decimal.
fn rate_tick(rate: f64) -> String {
    let pct = rate * 100.0;
    if (pct - pct.round()).abs() < 1e-6 {
        format!("{pct:.0}%")
    } else {
        format!("{pct:.1}%")
    }
}

/// The top of the rate axis: `ticks` round steps (shared with the count axis's grid
/// lines) that reach `max_rate`, never above 100 % (a rate cannot exceed it).
fn rate_axis(max_rate: f64, ticks: usize) -> f64 {
    let ticks = ticks.max(1) as f64;
    [0.01, 0.02, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.5]
        .into_iter()
        .map(|step| step * ticks)
        .find(|&top| top >= max_rate && top <= 1.0 + 1e-9)
        .unwrap_or(1.0)
}

/// One bucket of the volume chart, empty or not.
#[derive(Debug, Clone, PartialEq)]
pub struct Slot {
    /// Where the bucket starts.
    pub start: DateTime<Utc>,
    /// Where the next bucket starts.
    pub end: DateTime<Utc>,
    /// Interactions in the bucket.
    pub total: i64,
    /// Of which resolved.
    pub resolved: i64,
    /// Of which escalated.
    pub escalated: i64,
    /// Only part of the bucket lies in the period shown: the first one starts before
    /// it, the last one ends after it (or is still going on).
    pub partial: bool,
}

/// The most buckets the volume chart fills in; a longer series is drawn as it comes.
pub const MAX_SLOTS: usize = 2000;

/// The volume chart's buckets: every bucket from the one holding `from` (or the first
/// one with data) to the one holding `end` (the period's end, or now), those without
/// interactions as zero, the first and last marked when only part of them lies in the
/// period. `end` is the last instant shown (inclusive).
pub fn slots(
    points: &[BucketCount],
    bucket: Bucket,
    zone: Zone,
    from: Option<DateTime<Utc>>,
    end: DateTime<Utc>,
) -> Vec<Slot> {
    let counted: BTreeMap<DateTime<Utc>, &BucketCount> =
        points.iter().map(|p| (p.bucket, p)).collect();
    let first = from
        .and_then(|f| bucket.start_of(f, zone))
        .or_else(|| counted.keys().next().copied());
    let last = bucket
        .start_of(end, zone)
        .into_iter()
        .chain(counted.keys().next_back().copied())
        .max();
    let mut starts: BTreeSet<DateTime<Utc>> = counted.keys().copied().collect();
    if let (Some(first), Some(last)) = (first, last) {
        let mut at = Some(first);
        let mut filled = BTreeSet::new();
        while let Some(start) = at.filter(|s| *s <= last) {
            if filled.len() == MAX_SLOTS {
                filled.clear();
                break;
            }
            filled.insert(start);
            at = bucket.next(start, zone).filter(|next| *next > start);
        }
        starts.extend(filled);
    }
    let past_end = end + TimeDelta::microseconds(1);
    let count = starts.len();
    starts
        .into_iter()
        .enumerate()
        .map(|(i, start)| {
            let next = bucket
                .next(start, zone)
                .unwrap_or(start + TimeDelta::hours(1));
            let point = counted.get(&start);
            let cut_before = i == 0 && from.is_some_and(|f| f > start);
            let cut_after = i + 1 == count && past_end < next;
            Slot {
                start,
                end: next,
                total: point.map_or(0, |p| p.total),
                resolved: point.map_or(0, |p| p.resolved),
                escalated: point.map_or(0, |p| p.escalated),
                partial: cut_before || cut_after,
            }
        })
        .collect()
}

/// The short label of a bucket's start, on the zone's clock.
fn bucket_label(at: DateTime<Utc>, bucket: Bucket, zone: Zone, layout: Layout) -> String {
    let local = zone.local(at);
    match (bucket, layout) {
        (Bucket::Hour, Layout::Wide) => local.format("%b %d %H:%M").to_string(),
        (Bucket::Hour, Layout::Narrow) => local.format("%d %H:%M").to_string(),
        (Bucket::Day | Bucket::Week, _) => local.format("%b %d").to_string(),
    }
}

/// The long label of a bucket, for tooltips.
fn bucket_title(at: DateTime<Utc>, bucket: Bucket, zone: Zone) -> String {
    let local = zone.local(at);
    match bucket {
        Bucket::Hour => format!("{} ({})", local.format("%a %b %d %Y, %H:%M"), zone),
        Bucket::Day => local.format("%a %b %d %Y").to_string(),
        Bucket::Week => format!("week of {}", local.format("%b %d %Y")),
    }
}

/// Stacked bars of resolved and escalated interactions per bucket, with the escalation
/// rate as a line on the right axis (0 to at most 100 %). Empty buckets are drawn as
/// zero and break the rate line; partial ones are hatched. `href` gives a bucket's link
/// (its interactions).
pub fn volume(
    slots: &[Slot],
    bucket: Bucket,
    zone: Zone,
    layout: Layout,
    href: &dyn Fn(&Slot) -> String,
) -> String {
    let (w, h, left, right, top, bottom, labels) = match layout {
        Layout::Wide => (760.0, 260.0, 52.0, 48.0, 14.0, 30.0, 8),
        Layout::Narrow => (360.0, 250.0, 44.0, 42.0, 14.0, 32.0, 4),
    };
    let font = layout.font();
    let id = layout.suffix();
    if slots.is_empty() {
        return empty_chart("No interactions with a timestamp in this range");
    }
    let plot_w = w - left - right;
    let plot_h = h - top - bottom;
    let max_total = slots.iter().map(|p| p.total).max().unwrap_or(0) as f64;
    let (y_max, y_step) = nice_axis(max_total);
    let rates: Vec<Option<f64>> = slots.iter().map(|p| ratio(p.escalated, p.total)).collect();
    let max_rate = rates.iter().flatten().copied().fold(0.0, f64::max);
    let ticks = (y_max / y_step).round().max(1.0) as usize;
    let rate_max = rate_axis(max_rate, ticks);
    let y = |v: f64| top + plot_h - v / y_max * plot_h;
    let y_rate = |r: f64| top + plot_h - r.min(rate_max) / rate_max * plot_h;
    let slot_w = plot_w / slots.len() as f64;
    let bar_w = (slot_w * 0.72).max(1.0);

    let mut svg = format!(
        r#"<svg class="chart volume {class}" viewBox="0 0 {w} {h}" role="img" aria-labelledby="volume-title-{id}"><title id="volume-title-{id}">Interactions per {bucket} (resolved and escalated) and escalation rate</title><defs><pattern id="hatch-{id}" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="white" fill-opacity="0.35"/><line x1="0" y1="0" x2="0" y2="6" stroke="white" stroke-width="2.5"/></pattern></defs>"#,
        class = layout.class(),
    );
    for i in 0..=ticks {
        let value = y_step * i as f64;
        let yy = y(value);
        let _ = write!(
            svg,
            r#"<line x1="{left}" x2="{x2}" y1="{yy:.1}" y2="{yy:.1}" stroke="{GRID}"/><text x="{lx}" y="{ty:.1}" text-anchor="end" fill="{AXIS_TEXT}" font-size="{font}">{label}</text><text x="{rx}" y="{ty:.1}" fill="{RATE}" font-size="{font}">{rate}</text>"#,
            x2 = w - right,
            lx = left - 5.0,
            rx = w - right + 5.0,
            ty = yy + font * 0.35,
            label = tick(value),
            rate = rate_tick(rate_max * i as f64 / ticks as f64),
        );
    }
    for (i, p) in slots.iter().enumerate() {
        let x = left + slot_w * i as f64 + (slot_w - bar_w) / 2.0;
        let base = y(0.0);
        let top_resolved = y(p.resolved as f64);
        let top_all = y((p.resolved + p.escalated) as f64);
        let hatch = if p.partial && p.total > 0 {
            format!(
                r#"<rect x="{x:.2}" y="{top_all:.2}" width="{bar_w:.2}" height="{hh:.2}" fill="url(#hatch-{id})"/>"#,
                hh = (base - top_all).max(0.0),
            )
        } else {
            String::new()
        };
        let partial = if p.partial { " partial" } else { "" };
        let note = if p.partial {
            " (only part of it is in the period)"
        } else {
            ""
        };
        let group = format!(
            r#"<g class="bucket{partial}" data-start="{start}" data-total="{total_raw}"><title>{title}{note}: {total} interactions, {escalated} escalated ({share})</title><rect x="{x:.2}" y="{top_resolved:.2}" width="{bar_w:.2}" height="{hr:.2}" fill="{RESOLVED}"/><rect x="{x:.2}" y="{top_all:.2}" width="{bar_w:.2}" height="{he:.2}" fill="{ESCALATED}"/>{hatch}<rect x="{sx:.2}" y="{top}" width="{slot_w:.2}" height="{plot_h}" fill="transparent"/></g>"#,
            start = when::stamp(p.start),
            total_raw = p.total,
            title = esc(&bucket_title(p.start, bucket, zone)),
            total = count(p.total),
            escalated = count(p.escalated),
            share = percent(rates[i]),
            hr = (base - top_resolved).max(0.0),
            he = (top_resolved - top_all).max(0.0),
            sx = left + slot_w * i as f64,
        );
        if p.total > 0 {
            let _ = write!(
                svg,
                r#"<a class="bucket-link" href="{}">{group}</a>"#,
                esc(&href(p))
            );
        } else {
            svg.push_str(&group);
        }
    }
    // The escalation-rate line, broken where a bucket has no interactions.
    let mut path = String::new();
    let mut pen_down = false;
    for (i, rate) in rates.iter().enumerate() {
        match rate {
            Some(r) => {
                let _ = write!(
                    path,
                    "{}{:.1},{:.1} ",
                    if pen_down { "L" } else { "M" },
                    left + slot_w * (i as f64 + 0.5),
                    y_rate(*r)
                );
                pen_down = true;
            }
            None => pen_down = false,
        }
    }
    let _ = write!(
        svg,
        r#"<path d="{}" fill="none" stroke="{RATE}" stroke-width="2" stroke-linejoin="round" pointer-events="none"/>"#,
        path.trim_end()
    );
    if slots.len() <= 62 {
        for (i, rate) in rates.iter().enumerate() {
            if let Some(r) = rate {
                let _ = write!(
                    svg,
                    r#"<circle cx="{:.1}" cy="{:.1}" r="2.5" fill="{RATE}" pointer-events="none"/>"#,
                    left + slot_w * (i as f64 + 0.5),
                    y_rate(*r)
                );
            }
        }
    }
    // A few labels on the time axis, evenly spaced.
    let every = slots.len().div_ceil(labels);
    for (i, p) in slots.iter().enumerate().step_by(every) {
        let _ = write!(
            svg,
            r#"<text x="{:.1}" y="{}" text-anchor="middle" fill="{AXIS_TEXT}" font-size="{font}">{}</text>"#,
            left + slot_w * (i as f64 + 0.5),
            h - 10.0,
            esc(&bucket_label(p.start, bucket, zone, layout))
        );
    }
    svg.push_str("</svg>");
    svg
}

/// Bars of the confidence distribution: ten bins from 0 to 1.
pub fn confidence(bins: &[i64; 10], layout: Layout) -> String {
    let (w, h, left, right, top, bottom, every) = match layout {
        Layout::Wide => (420.0, 220.0, 46.0, 10.0, 12.0, 28.0, 2),
        Layout::Narrow => (340.0, 230.0, 44.0, 10.0, 12.0, 30.0, 5),
    };
    let font = layout.font();
    let id = layout.suffix();
    let total: i64 = bins.iter().sum();
    if total == 0 {
        return empty_chart("No interaction in this range has a confidence score");
    }
    let plot_w = w - left - right;
    let plot_h = h - top - bottom;
    let (y_max, y_step) = nice_axis(bins.iter().copied().max().unwrap_or(0) as f64);
    let y = |v: f64| top + plot_h - v / y_max * plot_h;
    let slot = plot_w / bins.len() as f64;
    let mut svg = format!(
        r#"<svg class="chart {class}" viewBox="0 0 {w} {h}" role="img" aria-labelledby="confidence-title-{id}"><title id="confidence-title-{id}">Interactions per confidence score, in tenths</title>"#,
        class = layout.class(),
    );
    let ticks = (y_max / y_step).round() as usize;
    for i in 0..=ticks {
        let value = y_step * i as f64;
        let _ = write!(
            svg,
            r#"<line x1="{left}" x2="{x2}" y1="{yy:.1}" y2="{yy:.1}" stroke="{GRID}"/><text x="{lx}" y="{ty:.1}" text-anchor="end" fill="{AXIS_TEXT}" font-size="{font}">{label}</text>"#,
            x2 = w - right,
            yy = y(value),
            lx = left - 5.0,
            ty = y(value) + font * 0.35,
            label = tick(value),
        );
    }
    for (i, &n) in bins.iter().enumerate() {
        let x = left + slot * i as f64 + 1.5;
        let top = y(n as f64);
        let _ = write!(
            svg,
            r#"<g><title>confidence {lo:.1}–{hi:.1}: {n} interactions ({share})</title><rect x="{x:.2}" y="{top:.2}" width="{bw:.2}" height="{bh:.2}" fill="{CONFIDENCE}" rx="2"/></g>"#,
            lo = i as f64 / 10.0,
            hi = (i + 1) as f64 / 10.0,
            n = count(n),
            share = percent(ratio(n, total)),
            bw = slot - 3.0,
            bh = (y(0.0) - top).max(0.0),
        );
    }
    for i in (0..=10).step_by(every) {
        let _ = write!(
            svg,
            r#"<text x="{:.1}" y="{}" text-anchor="middle" fill="{AXIS_TEXT}" font-size="{font}">{:.1}</text>"#,
            left + slot * i as f64,
            h - 9.0,
            i as f64 / 10.0
        );
    }
    svg.push_str("</svg>");
    svg
}

/// One row of a horizontal bar list.
#[derive(Debug, Clone)]
pub struct BarRow {
    /// The row's label (plain text).
    pub label: String,
    /// Stacked segments: value and colour.
    pub segments: Vec<(f64, &'static str)>,
    /// The number shown after the bar (plain text).
    pub value: String,
    /// Tooltip of the row (plain text).
    pub title: String,
    /// Where the label links to (the matching interactions), if anywhere.
    pub href: Option<String>,
}

/// Labelled horizontal bars, scaled so that `max` fills the track.
pub fn bar_list(rows: &[BarRow], max: f64) -> String {
    let mut out = String::from(r#"<ul class="bars">"#);
    for row in rows {
        let mut svg = String::from(
            r#"<svg class="track" viewBox="0 0 100 10" preserveAspectRatio="none" aria-hidden="true">"#,
        );
        let mut x = 0.0;
        for &(value, colour) in &row.segments {
            let w = if max > 0.0 { value / max * 100.0 } else { 0.0 };
            let _ = write!(
                svg,
                r#"<rect x="{x:.3}" y="0" width="{w:.3}" height="10" fill="{colour}"/>"#
            );
            x += w;
        }
        svg.push_str("</svg>");
        let label = match &row.href {
            Some(href) => format!(
                r#"<a class="bar-label" href="{}">{}</a>"#,
                esc(href),
                esc(&row.label)
            ),
            None => format!(r#"<span class="bar-label">{}</span>"#, esc(&row.label)),
        };
        let _ = write!(
            out,
            r#"<li title="{title}">{label}{svg}<span class="bar-value">{value}</span></li>"#,
            title = esc(&row.title),
            value = esc(&row.value),
        );
    }
    out.push_str("</ul>");
    out
}

/// What a chart shows when there is nothing to draw.
pub fn empty_chart(message: &str) -> String {
    format!(r#"<p class="chart-empty">{}</p>"#, esc(message))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("instant")
            .with_timezone(&Utc)
    }

    fn point(bucket: &str, total: i64, escalated: i64) -> BucketCount {
        BucketCount {
            bucket: at(bucket),
            total,
            resolved: total - escalated,
            escalated,
        }
    }

    #[test]
    fn axes_end_on_round_numbers() {
        assert_eq!(nice_axis(87.0), (100.0, 25.0));
        assert_eq!(nice_axis(4.0), (4.0, 1.0));
        assert_eq!(nice_axis(1234.0), (1500.0, 500.0));
        assert_eq!(nice_axis(0.0), (1.0, 0.25));
        assert_eq!(tick(2500.0), "2,500");
        assert_eq!(tick(0.25), "0.25");
        assert_eq!(rate_tick(0.2), "20%");
        assert_eq!(rate_tick(0.0125), "1.2%");
        assert!((rate_axis(0.38, 3) - 0.45).abs() < 1e-9);
        assert!((rate_axis(0.0, 4) - 0.04).abs() < 1e-9);
        assert!((rate_axis(1.0, 4) - 1.0).abs() < 1e-9);
    }

    #[test]
    fn the_rate_axis_never_passes_100_percent() {
        for ticks in 1..=8 {
            for rate in [0.0, 0.31, 0.5, 0.61, 0.9, 0.99, 1.0] {
                let top = rate_axis(rate, ticks);
                assert!(
                    top <= 1.0 + 1e-9 && top >= rate,
                    "{rate} with {ticks} ticks: {top}"
                );
            }
        }
        // Three count ticks (0 to 6) and a bucket fully escalated used to reach 150 %.
        let slots = slots(
            &[
                point("2026-11-01T00:00:00Z", 3, 3),
                point("2026-11-02T00:00:00Z", 5, 0),
            ],
            Bucket::Day,
            Zone::UTC,
            None,
            at("2026-11-02T12:00:00Z"),
        );
        let svg = volume(&slots, Bucket::Day, Zone::UTC, Layout::Wide, &|_| {
            String::new()
        });
        assert!(svg.contains(">100%<"), "{svg}");
        assert!(!svg.contains(">150%<") && !svg.contains(">125%<"), "{svg}");
    }

    #[test]
    fn empty_buckets_are_drawn_as_zero_and_edges_marked_partial() {
        // 72 hours with interactions in three of them.
        let points = [
            point("2026-11-28T15:00:00Z", 5, 1),
            point("2026-11-29T16:00:00Z", 2, 0),
            point("2026-11-30T09:00:00Z", 1, 1),
        ];
        let from = at("2026-11-28T12:30:00Z");
        let end = at("2026-12-01T12:29:59.999999Z");
        let filled = slots(&points, Bucket::Hour, Zone::UTC, Some(from), end);
        assert_eq!(filled.len(), 73, "12:00 on the 28th to 12:00 on Dec 1");
        assert_eq!(filled[0].start, at("2026-11-28T12:00:00Z"));
        assert!(filled[0].partial && filled[72].partial);
        assert!(filled[1..72].iter().all(|s| !s.partial));
        assert_eq!(filled.iter().map(|s| s.total).sum::<i64>(), 8);
        assert_eq!(filled.iter().filter(|s| s.total == 0).count(), 70);
        let svg = volume(&filled, Bucket::Hour, Zone::UTC, Layout::Wide, &|s| {
            format!("/?from={}", when::stamp(s.start))
        });
        assert_eq!(svg.matches(r#"<g class="bucket"#).count(), 73);
        assert_eq!(svg.matches(r#"class="bucket-link""#).count(), 3);
        assert!(svg.contains("/?from=2026-11-28T15:00:00Z"), "{svg}");
        // Whole days in Paris: the day buckets start at 23:00 UTC.
        let paris: Zone = "Europe/Paris".parse().expect("zone");
        let days = slots(
            &[point("2026-11-01T23:00:00Z", 3, 0)],
            Bucket::Day,
            paris,
            Some(at("2026-10-31T23:00:00Z")),
            at("2026-11-03T22:59:59.999999Z"),
        );
        let starts: Vec<String> = days.iter().map(|s| when::stamp(s.start)).collect();
        assert_eq!(
            starts,
            [
                "2026-10-31T23:00:00Z",
                "2026-11-01T23:00:00Z",
                "2026-11-02T23:00:00Z"
            ]
        );
        assert!(days.iter().all(|s| !s.partial), "{days:?}");
        assert_eq!(days[1].total, 3);
    }

    #[test]
    fn volume_draws_one_group_per_bucket_in_both_layouts() {
        let points: Vec<BucketCount> = (0..3)
            .map(|d| BucketCount {
                bucket: DateTime::<Utc>::from_timestamp(1_746_057_600 + d * 86_400, 0)
                    .unwrap_or_default(),
                total: 10 + d,
                resolved: 8,
                escalated: 2 + d,
            })
            .collect();
        let end = at("2025-05-03T23:59:59.999999Z");
        let slots = slots(&points, Bucket::Day, Zone::UTC, None, end);
        for layout in Layout::BOTH {
            let svg = volume(&slots, Bucket::Day, Zone::UTC, layout, &|_| "/".into());
            assert_eq!(svg.matches(r#"<g class="bucket""#).count(), 3);
            assert!(svg.contains("May 01"), "{svg}");
            assert!(
                svg.contains("12 interactions, 4 escalated (33.3%)"),
                "{svg}"
            );
            assert!(svg.contains(layout.class()), "{svg}");
        }
        assert!(
            volume(&[], Bucket::Day, Zone::UTC, Layout::Wide, &|_| "/".into())
                .contains("chart-empty")
        );
    }

    #[test]
    fn bar_lists_scale_to_the_maximum_and_escape() {
        let rows = [BarRow {
            label: "<b>".into(),
            segments: vec![(5.0, RESOLVED), (5.0, ESCALATED)],
            value: "10".into(),
            title: "t".into(),
            href: Some("/?intent=<b>".into()),
        }];
        let html = bar_list(&rows, 20.0);
        assert!(
            html.contains(r#"x="25.000" y="0" width="25.000""#),
            "{html}"
        );
        assert!(html.contains("&lt;b&gt;"), "{html}");
        assert!(html.contains(r#"href="/?intent=&lt;b&gt;""#), "{html}");
    }
}

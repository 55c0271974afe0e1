//! Charts drawn on the server as inline SVG: no script, no CDN, nothing to download.
//!
//! Colours are SVG presentation attributes (allowed by the page's CSP, unlike inline
//! styles); sizes come from the `viewBox`, so a chart scales with its card.

use std::fmt::Write as _;

use assistant_db::metrics::{Bucket, BucketCount};
use chrono::{DateTime, Utc};

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
/// lines) that reach `max_rate`.
fn rate_axis(max_rate: f64, ticks: usize) -> f64 {
    let ticks = ticks.max(1) as f64;
    [0.01, 0.02, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.5]
        .into_iter()
        .map(|step| step * ticks)
        .find(|&top| top >= max_rate)
        .unwrap_or(ticks * 0.5)
}

/// The short label of a bucket's start.
fn bucket_label(at: DateTime<Utc>, bucket: Bucket) -> String {
    match bucket {
        Bucket::Hour => at.format("%b %d %H:00").to_string(),
        Bucket::Day | Bucket::Week => at.format("%b %d").to_string(),
    }
}

/// The long label of a bucket, for tooltips.
fn bucket_title(at: DateTime<Utc>, bucket: Bucket) -> String {
    match bucket {
        Bucket::Hour => at.format("%a %b %d %Y, %H:00 UTC").to_string(),
        Bucket::Day => at.format("%a %b %d %Y").to_string(),
        Bucket::Week => format!("week of {}", at.format("%b %d %Y")),
    }
}

/// Stacked bars of resolved and escalated interactions per bucket, with the escalation
/// rate as a line on the right axis.
pub fn volume(points: &[BucketCount], bucket: Bucket) -> String {
    const W: f64 = 760.0;
    const H: f64 = 260.0;
    const LEFT: f64 = 52.0;
    const RIGHT: f64 = 48.0;
    const TOP: f64 = 14.0;
    const BOTTOM: f64 = 30.0;
    if points.is_empty() {
        return empty_chart("No interactions with a timestamp in this range");
    }
    let plot_w = W - LEFT - RIGHT;
    let plot_h = H - TOP - BOTTOM;
    let max_total = points.iter().map(|p| p.total).max().unwrap_or(0) as f64;
    let (y_max, y_step) = nice_axis(max_total);
    let rates: Vec<Option<f64>> = points.iter().map(|p| ratio(p.escalated, p.total)).collect();
    let max_rate = rates.iter().flatten().copied().fold(0.0, f64::max);
    let ticks = (y_max / y_step).round().max(1.0) as usize;
    let rate_max = rate_axis(max_rate, ticks);
    let y = |v: f64| TOP + plot_h - v / y_max * plot_h;
    let y_rate = |r: f64| TOP + plot_h - r / rate_max * plot_h;
    let slot = plot_w / points.len() as f64;
    let bar_w = (slot * 0.72).max(1.0);

    let mut svg = format!(
        r#"<svg class="chart" viewBox="0 0 {W} {H}" role="img" aria-labelledby="volume-title"><title id="volume-title">Interactions per {bucket} (resolved and escalated) and escalation rate</title>"#
    );
    for i in 0..=ticks {
        let value = y_step * i as f64;
        let yy = y(value);
        let _ = write!(
            svg,
            r#"<line x1="{LEFT}" x2="{x2}" y1="{yy:.1}" y2="{yy:.1}" stroke="{GRID}"/><text x="{lx}" y="{ty:.1}" text-anchor="end" fill="{AXIS_TEXT}" font-size="11">{label}</text><text x="{rx}" y="{ty:.1}" fill="{RATE}" font-size="11">{rate}</text>"#,
            x2 = W - RIGHT,
            lx = LEFT - 6.0,
            rx = W - RIGHT + 6.0,
            ty = yy + 4.0,
            label = tick(value),
            rate = rate_tick(rate_max * i as f64 / ticks as f64),
        );
    }
    for (i, p) in points.iter().enumerate() {
        let x = LEFT + slot * i as f64 + (slot - bar_w) / 2.0;
        let base = y(0.0);
        let top_resolved = y(p.resolved as f64);
        let top_all = y((p.resolved + p.escalated) as f64);
        let _ = write!(
            svg,
            r#"<g class="bucket"><title>{title}: {total} interactions, {escalated} escalated ({share})</title><rect x="{x:.2}" y="{top_resolved:.2}" width="{bar_w:.2}" height="{hr:.2}" fill="{RESOLVED}"/><rect x="{x:.2}" y="{top_all:.2}" width="{bar_w:.2}" height="{he:.2}" fill="{ESCALATED}"/><rect x="{sx:.2}" y="{TOP}" width="{slot:.2}" height="{plot_h}" fill="transparent"/></g>"#,
            title = esc(&bucket_title(p.bucket, bucket)),
            total = count(p.total),
            escalated = count(p.escalated),
            share = percent(rates[i]),
            hr = (base - top_resolved).max(0.0),
            he = (top_resolved - top_all).max(0.0),
            sx = LEFT + slot * i as f64,
        );
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
                    LEFT + slot * (i as f64 + 0.5),
                    y_rate(*r)
                );
                pen_down = true;
            }
            None => pen_down = false,
        }
    }
    let _ = write!(
        svg,
        r#"<path d="{}" fill="none" stroke="{RATE}" stroke-width="2" stroke-linejoin="round"/>"#,
        path.trim_end()
    );
    if points.len() <= 62 {
        for (i, rate) in rates.iter().enumerate() {
            if let Some(r) = rate {
                let _ = write!(
                    svg,
                    r#"<circle cx="{:.1}" cy="{:.1}" r="2.5" fill="{RATE}"/>"#,
                    LEFT + slot * (i as f64 + 0.5),
                    y_rate(*r)
                );
            }
        }
    }
    // At most eight labels on the time axis, evenly spaced.
    let every = points.len().div_ceil(8);
    for (i, p) in points.iter().enumerate().step_by(every) {
        let _ = write!(
            svg,
            r#"<text x="{:.1}" y="{}" text-anchor="middle" fill="{AXIS_TEXT}" font-size="11">{}</text>"#,
            LEFT + slot * (i as f64 + 0.5),
            H - 10.0,
            esc(&bucket_label(p.bucket, bucket))
        );
    }
    svg.push_str("</svg>");
    svg
}

/// Bars of the confidence distribution: ten bins from 0 to 1.
pub fn confidence(bins: &[i64; 10]) -> String {
    const W: f64 = 420.0;
    const H: f64 = 220.0;
    const LEFT: f64 = 46.0;
    const RIGHT: f64 = 10.0;
    const TOP: f64 = 12.0;
    const BOTTOM: f64 = 28.0;
    let total: i64 = bins.iter().sum();
    if total == 0 {
        return empty_chart("No interaction in this range has a confidence score");
    }
    let plot_w = W - LEFT - RIGHT;
    let plot_h = H - TOP - BOTTOM;
    let (y_max, y_step) = nice_axis(bins.iter().copied().max().unwrap_or(0) as f64);
    let y = |v: f64| TOP + plot_h - v / y_max * plot_h;
    let slot = plot_w / bins.len() as f64;
    let mut svg = format!(
        r#"<svg class="chart" viewBox="0 0 {W} {H}" role="img" aria-labelledby="confidence-title"><title id="confidence-title">Interactions per confidence score, in tenths</title>"#
    );
    let ticks = (y_max / y_step).round() as usize;
    for i in 0..=ticks {
        let value = y_step * i as f64;
        let _ = write!(
            svg,
            r#"<line x1="{LEFT}" x2="{x2}" y1="{yy:.1}" y2="{yy:.1}" stroke="{GRID}"/><text x="{lx}" y="{ty:.1}" text-anchor="end" fill="{AXIS_TEXT}" font-size="11">{label}</text>"#,
            x2 = W - RIGHT,
            yy = y(value),
            lx = LEFT - 6.0,
            ty = y(value) + 4.0,
            label = tick(value),
        );
    }
    for (i, &n) in bins.iter().enumerate() {
        let x = LEFT + slot * i as f64 + 1.5;
        let top = y(n as f64);
        let _ = write!(
            svg,
            r#"<g><title>confidence {lo:.1}–{hi:.1}: {n} interactions ({share})</title><rect x="{x:.2}" y="{top:.2}" width="{w:.2}" height="{h:.2}" fill="{CONFIDENCE}" rx="2"/></g>"#,
            lo = i as f64 / 10.0,
            hi = (i + 1) as f64 / 10.0,
            n = count(n),
            share = percent(ratio(n, total)),
            w = slot - 3.0,
            h = (y(0.0) - top).max(0.0),
        );
    }
    for i in (0..=10).step_by(2) {
        let _ = write!(
            svg,
            r#"<text x="{:.1}" y="{}" text-anchor="middle" fill="{AXIS_TEXT}" font-size="11">{:.1}</text>"#,
            LEFT + slot * i as f64,
            H - 9.0,
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
        let _ = write!(
            out,
            r#"<li title="{title}"><span class="bar-label">{label}</span>{svg}<span class="bar-value">{value}</span></li>"#,
            title = esc(&row.title),
            label = esc(&row.label),
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
    fn volume_draws_one_group_per_bucket() {
        let points: Vec<BucketCount> = (0..3)
            .map(|d| BucketCount {
                bucket: DateTime::<Utc>::from_timestamp(1_746_057_600 + d * 86_400, 0)
                    .unwrap_or_default(),
                total: 10 + d,
                resolved: 8,
                escalated: 2 + d,
            })
            .collect();
        let svg = volume(&points, Bucket::Day);
        assert_eq!(svg.matches(r#"<g class="bucket">"#).count(), 3);
        assert!(svg.contains("May 01"), "{svg}");
        assert!(
            svg.contains("12 interactions, 4 escalated (33.3%)"),
            "{svg}"
        );
        assert!(volume(&[], Bucket::Day).contains("chart-empty"));
    }

    #[test]
    fn bar_lists_scale_to_the_maximum_and_escape() {
        let rows = [BarRow {
            label: "<b>".into(),
            segments: vec![(5.0, RESOLVED), (5.0, ESCALATED)],
            value: "10".into(),
            title: "t".into(),
        }];
        let html = bar_list(&rows, 20.0);
        assert!(
            html.contains(r#"x="25.000" y="0" width="25.000""#),
            "{html}"
        );
        assert!(html.contains("&lt;b&gt;"), "{html}");
    }
}

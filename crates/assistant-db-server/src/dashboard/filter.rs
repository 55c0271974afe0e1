//! The dashboard's filters as the URL gives them (`?mode=banker&from=7d&tz=Europe/Paris…`):
//! read leniently (a bad value is dropped with a notice for the page), and turned back
//! into the queries and links the page needs.
//!
//! Dates are read as the CLI and the API read them ([`assistant_db::when`]): `from=7d`
//! stays "the last 7 days" in a bookmark, resolved again at each visit. Assistant,
//! dates, intent and category narrow the whole page; outcome, session, search and
//! trigger narrow the interactions list (and its export) only, since the metrics do not
//! filter on them.

use assistant_db::metrics::{Bucket, MetricsFilter};
use assistant_db::model::{AssistantMode, IntentCategory, Outcome};
use assistant_db::query::{Cursor, InteractionFilter, InteractionQuery, TextSearch};
use assistant_db::when::{self, Moment, Window, Zone};
use chrono::{DateTime, TimeDelta, Utc};

use crate::html;
use crate::params::decode_query;

/// Rows in each of the dashboard's tables.
pub const TABLE_ROWS: u32 = 12;

/// Seconds between reloads when auto-refresh is on.
pub const REFRESH_SECONDS: u32 = 60;

/// The ranges offered as one-click presets: label, `from`, `to`.
pub const PRESETS: [(&str, &str, Option<&str>); 5] = [
    ("24 hours", "24h", None),
    ("7 days", "7d", None),
    ("30 days", "30d", None),
    ("Today", "today", Some("today")),
    ("Yesterday", "yesterday", Some("yesterday")),
];

/// The filters of the dashboard, as the URL gives them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageFilter {
    /// Only this assistant mode.
    pub mode: Option<AssistantMode>,
    /// The first time shown, as written.
    pub from: Option<Moment>,
    /// The last time shown, as written.
    pub to: Option<Moment>,
    /// Where days start, for day-form dates and the day and week buckets.
    pub tz: Zone,
    /// Width of the timeseries buckets.
    pub bucket: Bucket,
    /// Only this intent (the whole page).
    pub intent: Option<String>,
    /// Only this intent category (the whole page).
    pub category: Option<IntentCategory>,
    /// Only this outcome (the interactions list).
    pub outcome: Option<Outcome>,
    /// Only this conversation (the interactions list).
    pub session: Option<String>,
    /// Only interactions holding these words (the interactions list).
    pub q: Option<TextSearch>,
    /// Only interactions escalated with this trigger (the interactions list).
    pub trigger: Option<String>,
    /// Reload the page every [`REFRESH_SECONDS`].
    pub refresh: bool,
    /// Where the interactions table continues.
    pub after: Option<Cursor>,
    /// The instants `from` and `to` stand for, resolved when the URL was read.
    pub window: Window,
    /// When the URL was read; relative dates count back from it.
    pub now: DateTime<Utc>,
}

impl Default for PageFilter {
    fn default() -> Self {
        PageFilter::parse(Vec::new(), Utc::now()).0
    }
}

impl PageFilter {
    /// Reads a raw query string now; a parameter that is not text is dropped with a
    /// notice.
    pub fn from_query(query: Option<&str>) -> (Self, Vec<String>) {
        let (pairs, errors) = decode_query(query);
        let (filter, mut notices) = Self::parse(pairs, Utc::now());
        notices.extend(errors.into_iter().map(|e| {
            format!(
                "The “{}” parameter {}; it is ignored.",
                html::shorten(&e.field, 40),
                e.rule
            )
        }));
        (filter, notices)
    }

    /// Reads the URL's parameters at `now`; a bad value is dropped with a notice for
    /// the page.
    pub fn parse(pairs: Vec<(String, String)>, now: DateTime<Utc>) -> (Self, Vec<String>) {
        let mut filter = PageFilter {
            mode: None,
            from: None,
            to: None,
            tz: Zone::UTC,
            bucket: Bucket::default(),
            intent: None,
            category: None,
            outcome: None,
            session: None,
            q: None,
            trigger: None,
            refresh: false,
            after: None,
            window: Window::default(),
            now,
        };
        let mut notices = Vec::new();
        for (name, value) in pairs {
            let value = value.trim();
            if value.is_empty() {
                continue;
            }
            let shown = html::shorten(value, 40);
            match name.as_str() {
                "mode" => match AssistantMode::try_from(value.to_owned()) {
                    Ok(mode) => filter.mode = Some(mode),
                    Err(rule) => notices.push(format!("The assistant {rule}; showing both.")),
                },
                "from" | "to" => match Moment::parse(value, &name) {
                    Ok(m) if name == "from" => filter.from = Some(m),
                    Ok(m) => filter.to = Some(m),
                    Err(_) => notices.push(format!(
                        "“{shown}” is not a time the dashboard reads (a date such as \
                         2026-11-01, 7d, 24h, today or an RFC 3339 time); the {name} time \
                         is ignored."
                    )),
                },
                "tz" => match Zone::parse(value, "tz") {
                    Ok(tz) => filter.tz = tz,
                    Err(_) => notices.push(format!(
                        "“{shown}” is not a time zone name such as Europe/Paris; showing UTC."
                    )),
                },
                "bucket" => match value.parse::<Bucket>() {
                    Ok(bucket) => filter.bucket = bucket,
                    Err(e) => notices.push(format!("The bucket {}; showing days.", e.rule)),
                },
                "intent" => filter.intent = Some(value.to_owned()),
                "category" => match IntentCategory::try_from(value.to_owned()) {
                    Ok(c) => filter.category = Some(c),
                    Err(rule) => notices.push(format!("The category {rule}; showing all.")),
                },
                "outcome" => match Outcome::try_from(value.to_owned()) {
                    Ok(o) => filter.outcome = Some(o),
                    Err(rule) => notices.push(format!("The outcome {rule}; showing both.")),
                },
                "session" => filter.session = Some(value.to_owned()),
                "q" => match TextSearch::parse(value, "q") {
                    Ok(q) => filter.q = Some(q),
                    Err(e) => notices.push(format!("The search {}; it is ignored.", e.rule)),
                },
                "trigger" => filter.trigger = Some(value.to_owned()),
                "refresh" => filter.refresh = matches!(value, "1" | "on" | "true"),
                "after" => match value.parse::<Cursor>() {
                    Ok(cursor) => filter.after = Some(cursor),
                    Err(_) => notices.push(
                        "The page cursor is not valid; showing the newest interactions.".into(),
                    ),
                },
                _ => {}
            }
        }
        filter.resolve(&mut notices);
        (filter, notices)
    }

    /// Works out the window; dates in the wrong order are swapped with a notice.
    fn resolve(&mut self, notices: &mut Vec<String>) {
        let window =
            |f: &PageFilter| Window::resolve(f.from.as_ref(), f.to.as_ref(), f.tz, f.now, "");
        self.window = match window(self) {
            Ok(window) => window,
            Err(e) if e.field == "from" => {
                std::mem::swap(&mut self.from, &mut self.to);
                notices.push("The from time was after the to time; they were swapped.".into());
                window(self).unwrap_or_default()
            }
            Err(e) => {
                notices.push(format!("The {} time {}; it is ignored.", e.field, e.rule));
                self.from = None;
                self.to = None;
                Window::default()
            }
        };
    }

    /// The metrics filter this view shows.
    pub fn metrics(&self) -> MetricsFilter {
        MetricsFilter {
            mode: self.mode,
            from: self.window.from,
            to: self.window.to,
            intent: self.intent.clone(),
            category: self.category,
            bucket: self.bucket,
            tz: self.tz,
        }
    }

    /// The same metrics over the period of the same length just before, for the tiles'
    /// comparison; `None` when the view has no start.
    pub fn previous_metrics(&self) -> Option<MetricsFilter> {
        let before = self.window.previous(self.now)?;
        Some(MetricsFilter {
            from: before.from,
            to: before.to,
            ..self.metrics()
        })
    }

    /// The interactions the list (and its export) shows.
    pub fn interaction_filter(&self) -> InteractionFilter {
        InteractionFilter {
            mode: self.mode,
            outcome: self.outcome,
            intent: self.intent.clone(),
            category: self.category,
            session: self.session.clone(),
            from: self.window.from,
            to: self.window.to,
            search: self.q.clone(),
            trigger: self.trigger.clone(),
        }
    }

    /// The query of the interactions table.
    pub fn interactions(&self) -> InteractionQuery {
        InteractionQuery {
            filter: self.interaction_filter(),
            limit: Some(TABLE_ROWS),
            after: self.after.clone(),
        }
    }

    /// True when any filter narrows the view.
    pub fn is_filtered(&self) -> bool {
        self.mode.is_some()
            || self.from.is_some()
            || self.to.is_some()
            || self.intent.is_some()
            || self.category.is_some()
            || self.narrows_list_only()
    }

    /// True when a filter narrows the interactions list but not the metrics.
    pub fn narrows_list_only(&self) -> bool {
        self.outcome.is_some()
            || self.session.is_some()
            || self.q.is_some()
            || self.trigger.is_some()
    }

    /// This view's query string (without the table cursor), for links back to it.
    pub fn query(&self) -> String {
        let mut pairs = Vec::new();
        if let Some(mode) = self.mode {
            pairs.push(("mode", mode.to_string()));
        }
        if let Some(from) = &self.from {
            pairs.push(("from", from.to_string()));
        }
        if let Some(to) = &self.to {
            pairs.push(("to", to.to_string()));
        }
        if !self.tz.is_utc() {
            pairs.push(("tz", self.tz.name().to_owned()));
        }
        if self.bucket != Bucket::Day {
            pairs.push(("bucket", self.bucket.to_string()));
        }
        pairs.extend(self.list_pairs());
        if self.refresh {
            pairs.push(("refresh", "1".to_owned()));
        }
        html::query_string(&pairs)
    }

    /// The link to this view (`/?…`), without the table cursor.
    pub fn href(&self) -> String {
        html::with_query("/", &self.query())
    }

    /// The link to this view with one change made, back at the first page of the table.
    pub fn href_with(&self, change: impl FnOnce(&mut PageFilter)) -> String {
        let mut other = self.clone();
        other.after = None;
        change(&mut other);
        other.href()
    }

    /// The filters of the list as URL pairs (`intent` and `category` included).
    fn list_pairs(&self) -> Vec<(&'static str, String)> {
        let mut pairs = Vec::new();
        if let Some(intent) = &self.intent {
            pairs.push(("intent", intent.clone()));
        }
        if let Some(category) = self.category {
            pairs.push(("category", category.to_string()));
        }
        if let Some(outcome) = self.outcome {
            pairs.push(("outcome", outcome.to_string()));
        }
        if let Some(session) = &self.session {
            pairs.push(("session", session.clone()));
        }
        if let Some(q) = &self.q {
            pairs.push(("q", q.to_string()));
        }
        if let Some(trigger) = &self.trigger {
            pairs.push(("trigger", trigger.clone()));
        }
        pairs
    }

    /// The resolved window as API parameters: exact instants, so that the API answers
    /// for exactly the period this page shows.
    fn window_pairs(&self) -> Vec<(&'static str, String)> {
        let mut pairs = Vec::new();
        if let Some(mode) = self.mode {
            pairs.push(("mode", mode.to_string()));
        }
        if let Some(from) = self.window.from {
            pairs.push(("from", when::stamp(from)));
        }
        if let Some(to) = self.window.to {
            pairs.push(("to", when::stamp(to)));
        }
        if !self.tz.is_utc() {
            pairs.push(("tz", self.tz.name().to_owned()));
        }
        pairs
    }

    /// The `/api/metrics` query giving exactly the numbers of this view.
    pub fn api_query(&self) -> String {
        let mut pairs = self.window_pairs();
        if let Some(intent) = &self.intent {
            pairs.push(("intent", intent.clone()));
        }
        if let Some(category) = self.category {
            pairs.push(("category", category.to_string()));
        }
        pairs.push(("bucket", self.bucket.to_string()));
        html::query_string(&pairs)
    }

    /// The `/api/metrics` query of the previous period the tiles compare with.
    pub fn previous_api_query(&self) -> Option<String> {
        let before = self.window.previous(self.now)?;
        let previous = PageFilter {
            window: before,
            ..self.clone()
        };
        Some(previous.api_query())
    }

    /// The `/api/interactions/export` query downloading this view's interactions.
    pub fn export_query(&self, format: &str) -> String {
        let mut pairs = self.window_pairs();
        pairs.extend(self.list_pairs());
        pairs.push(("format", format.to_owned()));
        html::query_string(&pairs)
    }

    /// The view in words: `The banker assistant · last 7 days · per day (Europe/Paris)`.
    pub fn describe(&self) -> String {
        let mode = self.mode.map_or_else(
            || "Both assistants".to_owned(),
            |m| format!("The {m} assistant"),
        );
        let zone = if self.tz.is_utc() {
            "UTC".to_owned()
        } else {
            self.tz.name().to_owned()
        };
        format!(
            "{mode} · {} · per {} ({zone})",
            self.describe_range(),
            self.bucket
        )
    }

    /// The dates in words: `last 7 days`, `Nov 01 2026 – Nov 30 2026`, `all time`.
    pub fn describe_range(&self) -> String {
        match (&self.from, &self.to) {
            (None, None) => "all time".to_owned(),
            (Some(Moment::Today), Some(Moment::Today)) => "today".to_owned(),
            (Some(Moment::Yesterday), Some(Moment::Yesterday)) => "yesterday".to_owned(),
            (Some(from), None | Some(Moment::Now)) if from.is_relative() => {
                format!("last {}", ago_words(from))
            }
            _ => {
                let show = |at: Option<DateTime<Utc>>, bound: Option<&Moment>| match (at, bound) {
                    (Some(at), Some(Moment::Day(_))) => {
                        self.tz.local(at).format("%b %d %Y").to_string()
                    }
                    (Some(at), _) => self.tz.local(at).format("%b %d %Y %H:%M").to_string(),
                    (None, _) => String::new(),
                };
                match (self.window.from, self.window.to) {
                    (Some(_), None) => {
                        format!("since {}", show(self.window.from, self.from.as_ref()))
                    }
                    (None, Some(_)) => format!("until {}", show(self.window.to, self.to.as_ref())),
                    _ => format!(
                        "{} – {}",
                        show(self.window.from, self.from.as_ref()),
                        show(self.window.to, self.to.as_ref())
                    ),
                }
            }
        }
    }

    /// The period the comparison of the tiles covers, in words.
    pub fn describe_previous(&self) -> Option<String> {
        let before = self.window.previous(self.now)?;
        let (from, to) = (before.from?, before.to?);
        let format = if to - from >= TimeDelta::days(2) {
            "%b %d"
        } else {
            "%b %d %H:%M"
        };
        Some(format!(
            "{} – {}",
            self.tz.local(from).format(format),
            self.tz
                .local(to + TimeDelta::microseconds(1))
                .format(format)
        ))
    }
}

/// `7d` in words: `7 days`.
fn ago_words(m: &Moment) -> String {
    match m {
        Moment::Ago(n, unit) => {
            let unit = match unit {
                when::Unit::Hours => "hour",
                when::Unit::Days => "day",
                when::Unit::Weeks => "week",
            };
            if *n == 1 {
                unit.to_owned()
            } else {
                format!("{n} {unit}s")
            }
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-20T12:00:00Z")
            .expect("now")
            .with_timezone(&Utc)
    }

    fn parse(pairs: &[(&str, &str)]) -> (PageFilter, Vec<String>) {
        PageFilter::parse(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            now(),
        )
    }

    #[test]
    fn dates_cover_whole_days_and_round_trip_through_the_url() {
        let pairs = [
            ("mode", "banker"),
            ("from", "2025-05-01"),
            ("to", "2025-05-31"),
            ("bucket", "week"),
        ];
        let (filter, notices) = parse(&pairs);
        assert!(notices.is_empty(), "{notices:?}");
        assert_eq!(
            filter.api_query(),
            "mode=banker&from=2025-05-01T00%3A00%3A00Z&to=2025-05-31T23%3A59%3A59.999999Z&bucket=week"
        );
        assert_eq!(
            filter.query(),
            "mode=banker&from=2025-05-01&to=2025-05-31&bucket=week"
        );
        let again: Vec<(String, String)> = url::form_urlencoded::parse(filter.query().as_bytes())
            .into_owned()
            .collect();
        assert_eq!(PageFilter::parse(again, now()).0, filter);
        assert!(filter
            .describe()
            .starts_with("The banker assistant · May 01 2025 – May 31 2025"));
    }

    #[test]
    fn relative_dates_and_zones_stay_as_written() {
        let (filter, notices) = parse(&[
            ("from", "7d"),
            ("tz", "Europe/Paris"),
            ("intent", "card_dispute"),
            ("outcome", "escalated"),
            ("q", "blocked card"),
            ("trigger", "low_confidence"),
            ("refresh", "1"),
        ]);
        assert!(notices.is_empty(), "{notices:?}");
        assert_eq!(
            filter.query(),
            "from=7d&tz=Europe%2FParis&intent=card_dispute&outcome=escalated&q=blocked+card&trigger=low_confidence&refresh=1"
        );
        assert_eq!(filter.describe_range(), "last 7 days");
        assert_eq!(
            filter.window.from.map(when::stamp).as_deref(),
            Some("2026-11-13T12:00:00Z")
        );
        let metrics = filter.metrics();
        assert_eq!(metrics.intent.as_deref(), Some("card_dispute"));
        assert_eq!(metrics.tz.name(), "Europe/Paris");
        let previous = filter.previous_metrics().expect("a start");
        assert_eq!(
            previous.to.map(when::stamp).as_deref(),
            Some("2026-11-13T11:59:59.999999Z")
        );
        let list = filter.interaction_filter();
        assert_eq!(
            list.search.map(|q| q.to_string()).as_deref(),
            Some("blocked card")
        );
        assert_eq!(list.trigger.as_deref(), Some("low_confidence"));
        assert!(filter.narrows_list_only());
        assert!(
            filter.export_query("csv").ends_with("&format=csv"),
            "{}",
            filter.export_query("csv")
        );
        assert!(filter
            .export_query("csv")
            .contains("from=2026-11-13T12%3A00%3A00Z"));
        let day = filter.href_with(|f| f.intent = None);
        assert!(!day.contains("intent"), "{day}");
    }

    #[test]
    fn bad_values_are_dropped_with_a_notice() {
        let (filter, notices) = parse(&[
            ("mode", "robot"),
            ("from", "soonish"),
            ("bucket", "month"),
            ("after", "x"),
            ("to", ""),
            ("tz", "Mars/Olympus"),
            ("q", "ab"),
            ("outcome", "maybe"),
        ]);
        let fresh = PageFilter::parse(Vec::new(), now()).0;
        assert_eq!(filter, fresh);
        assert_eq!(notices.len(), 7, "{notices:?}");
        let (filter, notices) = parse(&[("from", "2025-06-01"), ("to", "2025-05-01")]);
        assert_eq!(
            filter.from,
            Some(Moment::Day(
                chrono::NaiveDate::from_ymd_opt(2025, 5, 1).expect("day")
            ))
        );
        assert_eq!(notices.len(), 1);
    }
}

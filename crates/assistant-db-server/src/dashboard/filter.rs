//! The dashboard's filters as the URL gives them (`?mode=banker&from=2025-05-01&to=…`):
//! read leniently (a bad value is dropped with a notice for the page), and turned back
//! into the queries and links the page needs.

use assistant_db::metrics::{Bucket, MetricsFilter};
use assistant_db::model::AssistantMode;
use assistant_db::query::{Cursor, InteractionFilter, InteractionQuery};
use chrono::{DateTime, NaiveDate, Utc};

use crate::html;
use crate::params::decode_query;

/// Rows in each of the dashboard's tables.
pub const TABLE_ROWS: u32 = 12;

/// The filters of the dashboard, as the URL gives them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageFilter {
    /// Only this assistant mode.
    pub mode: Option<AssistantMode>,
    /// First day shown (UTC).
    pub from: Option<NaiveDate>,
    /// Last day shown (UTC), inclusive.
    pub to: Option<NaiveDate>,
    /// Width of the timeseries buckets.
    pub bucket: Bucket,
    /// Where the interactions table continues.
    pub after: Option<Cursor>,
}

impl PageFilter {
    /// Reads a raw query string; a parameter that is not text is dropped with a notice.
    pub fn from_query(query: Option<&str>) -> (Self, Vec<String>) {
        let (pairs, errors) = decode_query(query);
        let (filter, mut notices) = Self::parse(pairs);
        notices.extend(errors.into_iter().map(|e| {
            format!(
                "The “{}” parameter {}; it is ignored.",
                html::shorten(&e.field, 40),
                e.rule
            )
        }));
        (filter, notices)
    }

    /// Reads the URL's parameters; a bad value is dropped with a notice for the page.
    pub fn parse(pairs: Vec<(String, String)>) -> (Self, Vec<String>) {
        let mut filter = PageFilter::default();
        let mut notices = Vec::new();
        for (name, value) in pairs {
            let value = value.trim();
            if value.is_empty() {
                continue;
            }
            match name.as_str() {
                "mode" => match AssistantMode::try_from(value.to_owned()) {
                    Ok(mode) => filter.mode = Some(mode),
                    Err(rule) => notices.push(format!("The assistant {rule}; showing both.")),
                },
                "from" | "to" => match NaiveDate::parse_from_str(value, "%Y-%m-%d") {
                    Ok(day) if name == "from" => filter.from = Some(day),
                    Ok(day) => filter.to = Some(day),
                    Err(_) => notices.push(format!(
                        "“{}” is not a date such as 2025-05-01; the {name} date is ignored.",
                        html::shorten(value, 40)
                    )),
                },
                "bucket" => match value.parse::<Bucket>() {
                    Ok(bucket) => filter.bucket = bucket,
                    Err(e) => notices.push(format!("The bucket {}; showing days.", e.rule)),
                },
                "after" => match value.parse::<Cursor>() {
                    Ok(cursor) => filter.after = Some(cursor),
                    Err(_) => notices.push(
                        "The page cursor is not valid; showing the newest interactions.".into(),
                    ),
                },
                _ => {}
            }
        }
        if let (Some(from), Some(to)) = (filter.from, filter.to) {
            if from > to {
                filter.from = Some(to);
                filter.to = Some(from);
                notices.push("The from date was after the to date; they were swapped.".into());
            }
        }
        (filter, notices)
    }

    /// The first instant shown.
    fn start(&self) -> Option<DateTime<Utc>> {
        self.from
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|t| t.and_utc())
    }

    /// The last instant shown (the end of the `to` day, to the microsecond).
    fn end(&self) -> Option<DateTime<Utc>> {
        self.to
            .and_then(|d| d.and_hms_micro_opt(23, 59, 59, 999_999))
            .map(|t| t.and_utc())
    }

    /// The metrics filter this view shows.
    pub fn metrics(&self) -> MetricsFilter {
        MetricsFilter {
            mode: self.mode,
            from: self.start(),
            to: self.end(),
            intent: None,
            category: None,
            bucket: self.bucket,
        }
    }

    /// The query of the interactions table.
    pub fn interactions(&self) -> InteractionQuery {
        InteractionQuery {
            filter: InteractionFilter {
                mode: self.mode,
                from: self.start(),
                to: self.end(),
                ..InteractionFilter::default()
            },
            limit: Some(TABLE_ROWS),
            after: self.after.clone(),
        }
    }

    /// True when any filter narrows the view.
    pub fn is_filtered(&self) -> bool {
        self.mode.is_some() || self.from.is_some() || self.to.is_some()
    }

    /// This view's query string (without the table cursor), for links back to it.
    pub fn query(&self) -> String {
        let mut pairs = Vec::new();
        if let Some(mode) = self.mode {
            pairs.push(("mode", mode.to_string()));
        }
        if let Some(from) = self.from {
            pairs.push(("from", from.to_string()));
        }
        if let Some(to) = self.to {
            pairs.push(("to", to.to_string()));
        }
        if self.bucket != Bucket::Day {
            pairs.push(("bucket", self.bucket.to_string()));
        }
        html::query_string(&pairs)
    }

    /// The `/api/metrics` query giving exactly the numbers of this view.
    pub fn api_query(&self) -> String {
        let stamp = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
        let mut pairs = Vec::new();
        if let Some(mode) = self.mode {
            pairs.push(("mode", mode.to_string()));
        }
        if let Some(from) = self.start() {
            pairs.push(("from", stamp(from)));
        }
        if let Some(to) = self.end() {
            pairs.push(("to", stamp(to)));
        }
        pairs.push(("bucket", self.bucket.to_string()));
        html::query_string(&pairs)
    }

    /// The view in words: `The banker assistant · May 01 2025 – May 31 2025 · per day`.
    pub fn describe(&self) -> String {
        let mode = self.mode.map_or_else(
            || "Both assistants".to_owned(),
            |m| format!("The {m} assistant"),
        );
        let day = |d: NaiveDate| d.format("%b %d %Y").to_string();
        let range = match (self.from, self.to) {
            (None, None) => "all time".to_owned(),
            (Some(from), None) => format!("since {}", day(from)),
            (None, Some(to)) => format!("until {}", day(to)),
            (Some(from), Some(to)) => format!("{} – {}", day(from), day(to)),
        };
        format!("{mode} · {range} · per {}", self.bucket)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(pairs: &[(&str, &str)]) -> (PageFilter, Vec<String>) {
        PageFilter::parse(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
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
        assert_eq!(PageFilter::parse(again).0, filter);
        assert!(filter
            .describe()
            .starts_with("The banker assistant · May 01 2025 – May 31 2025"));
    }

    #[test]
    fn bad_values_are_dropped_with_a_notice() {
        let (filter, notices) = parse(&[
            ("mode", "robot"),
            ("from", "yesterday"),
            ("bucket", "month"),
            ("after", "x"),
            ("to", ""),
        ]);
        assert_eq!(filter, PageFilter::default());
        assert_eq!(notices.len(), 4, "{notices:?}");
        let (filter, notices) = parse(&[("from", "2025-06-01"), ("to", "2025-05-01")]);
        assert_eq!(filter.from, NaiveDate::from_ymd_opt(2025, 5, 1));
        assert_eq!(notices.len(), 1);
    }
}

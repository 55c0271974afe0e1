//! Dashboard metrics, computed by PostgreSQL.
//!
//! The numbers come from one SQL function, `public.interaction_metrics` (migrations 002
//! and 005), which filters `interactions` and aggregates it in the database and returns
//! a single `jsonb` object. The REST transport calls the same function by RPC, so this
//! module only binds the filter and gives the object types. It never fetches rows to
//! count them in Rust. The structs' field names are the object's keys, so serializing a
//! [`Metrics`] gives back the function's object.
//!
//! Rows another writer stored outside the model's rules (a NaN confidence, a negative
//! time, no timestamp) count in every total and are left out of the aggregates they
//! would corrupt; [`Metrics::excluded`] says how many. Fields added after 002 are
//! `#[serde(default)]`, so an older database's object still reads.
//!
//! The public key may read metrics only while the database owner allows it
//! ([`PgStore::set_public_metrics`](crate::store::PgStore::set_public_metrics)); then only for whole-hour windows, with every group of
//! fewer than 10 rows suppressed ([`Metrics::suppressed`]).

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, Days, TimeDelta, Timelike, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::{AssistantMode, IntentCategory, Rule, ValidationError};
use crate::query::{Condition, Conditions};
use crate::when::Zone;

/// Name of the SQL function (in schema `public`) that computes the metrics.
pub const SQL_FUNCTION: &str = "interaction_metrics";

/// Width of a timeseries bucket; days and weeks start at midnight in the filter's time
/// zone ([`MetricsFilter::tz`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Bucket {
    /// One bucket per hour.
    Hour,
    /// One bucket per day (the default).
    #[default]
    Day,
    /// One bucket per ISO week, starting on Monday.
    Week,
}

impl Bucket {
    /// Every bucket width, from the narrowest.
    pub const ALL: [Self; 3] = [Self::Hour, Self::Day, Self::Week];

    /// The name the SQL function takes (`hour`, `day` or `week`).
    pub const fn as_str(&self) -> &'static str {
        match self {
            Self::Hour => "hour",
            Self::Day => "day",
            Self::Week => "week",
        }
    }
}

impl Bucket {
    /// The start of the bucket holding `at`, as `interaction_metrics` truncates it in
    /// `zone` (weeks start on Monday).
    pub fn start_of(self, at: DateTime<Utc>, zone: Zone) -> Option<DateTime<Utc>> {
        let local = zone.local(at);
        match self {
            // The offset in force at `at` is kept: minutes and seconds past the hour.
            Bucket::Hour => {
                let past = TimeDelta::seconds(i64::from(local.minute() * 60 + local.second()))
                    + TimeDelta::nanoseconds(i64::from(local.nanosecond()));
                at.checked_sub_signed(past)
            }
            Bucket::Day => zone.start_of(local.date_naive()),
            Bucket::Week => {
                let day = local.date_naive();
                let monday = day
                    .checked_sub_days(Days::new(u64::from(day.weekday().num_days_from_monday())))?;
                zone.start_of(monday)
            }
        }
    }

    /// The start of the bucket after the one starting at `start`.
    pub fn next(self, start: DateTime<Utc>, zone: Zone) -> Option<DateTime<Utc>> {
        match self {
            Bucket::Hour => start.checked_add_signed(TimeDelta::hours(1)),
            Bucket::Day => zone.start_of(zone.day_of(start).checked_add_days(Days::new(1))?),
            Bucket::Week => zone.start_of(zone.day_of(start).checked_add_days(Days::new(7))?),
        }
    }

    /// The next narrower width (a day's hours, a week's days); hours stay hours.
    pub const fn narrower(self) -> Bucket {
        match self {
            Bucket::Hour | Bucket::Day => Bucket::Hour,
            Bucket::Week => Bucket::Day,
        }
    }
}

impl FromStr for Bucket {
    type Err = ValidationError;

    fn from_str(value: &str) -> std::result::Result<Self, ValidationError> {
        Self::ALL
            .into_iter()
            .find(|b| b.as_str() == value)
            .ok_or_else(|| {
                Rule::NotOneOf {
                    allowed: Self::ALL.iter().map(Self::as_str).collect(),
                    got: value.to_owned(),
                }
                .at("bucket")
            })
    }
}

impl fmt::Display for Bucket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which interactions to aggregate; `None` means no filter on that column.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MetricsFilter {
    /// Only this `assistant_mode`.
    pub mode: Option<AssistantMode>,
    /// Only interactions at or after this instant (`timestamp >= from`).
    pub from: Option<DateTime<Utc>>,
    /// Only interactions at or before this instant (`timestamp <= to`).
    pub to: Option<DateTime<Utc>>,
    /// Only this `intent_name`.
    pub intent: Option<String>,
    /// Only this `intent_category`.
    pub category: Option<IntentCategory>,
    /// Width of the timeseries buckets.
    pub bucket: Bucket,
    /// The time zone whose midnights start the day and week buckets (UTC by default).
    pub tz: Zone,
}

impl MetricsFilter {
    /// The filter's rows as conditions on `interactions`, for a transport to render.
    pub(crate) fn conditions(&self) -> Vec<Condition<'_>> {
        Conditions::default()
            .eq(
                "assistant_mode",
                self.mode.as_ref().map(AssistantMode::as_str),
            )
            .eq("intent_name", self.intent.as_deref())
            .eq(
                "intent_category",
                self.category.as_ref().map(IntentCategory::as_str),
            )
            .window(self.from, self.to)
            .into()
    }
}

/// The dashboard metrics: exactly the object `public.interaction_metrics` returns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Number of interactions that pass the filter.
    pub total_interactions: i64,
    /// How many of them ended `resolved`.
    pub resolved: i64,
    /// How many of them ended `escalated`.
    pub escalated: i64,
    /// `resolved / total_interactions`; `None` when there are no interactions.
    pub resolution_rate: Option<f64>,
    /// `escalated / total_interactions`; `None` when there are no interactions.
    pub escalation_rate: Option<f64>,
    /// Mean `confidence_score`; `None` when no interaction has one.
    pub avg_confidence: Option<f64>,
    /// Mean and exact percentiles of `processing_time_ms`.
    pub processing_time_ms: Percentiles,
    /// Counts per `assistant_mode`, ordered by mode.
    pub by_mode: Vec<ModeCount>,
    /// Counts per `intent_name`, most frequent first, then by name (no intent last).
    pub by_intent: Vec<IntentCount>,
    /// Counts per `intent_category`, ordered by category (no category last).
    pub by_intent_category: Vec<CategoryCount>,
    /// Escalation rows of the filtered interactions per `trigger_type`, most frequent first.
    pub escalations_by_trigger: Vec<TriggerCount>,
    /// Conversations among the filtered interactions.
    pub sessions: Sessions,
    /// Share of interactions that reached each pipeline step.
    pub pipeline: Pipeline,
    /// Counts per time bucket, oldest first; interactions without a finite timestamp at
    /// most 5 minutes ahead are left out.
    pub timeseries: Vec<BucketCount>,
    /// Interactions per tenth of a valid `confidence_score`, from `[0, 0.1)` to
    /// `[0.9, 1.0]`; a bin is `None` when suppressed for the public key.
    #[serde(default)]
    pub confidence_histogram: Vec<Option<i64>>,
    /// How many matching interactions were left out of an aggregate their value would
    /// corrupt.
    #[serde(default)]
    pub excluded: Excluded,
    /// How many groups were left out because they held fewer than 10 rows (public key).
    #[serde(default)]
    pub suppressed: Suppressed,
}

impl Metrics {
    /// The confidence histogram's ten bins, when every one is there (none suppressed, and
    /// a database whose function reports them).
    pub fn confidence_bins(&self) -> Option<[i64; 10]> {
        let bins: Vec<i64> = self
            .confidence_histogram
            .iter()
            .copied()
            .collect::<Option<_>>()?;
        bins.try_into().ok()
    }
}

/// Interactions whose value breaks the model's rules, left out of one aggregate each
/// (they still count in every total). `None` when suppressed for the public key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Excluded {
    /// A `confidence_score` outside `[0, 1]`, NaN or infinite: left out of the averages
    /// and the histogram.
    pub confidence_score: Option<i64>,
    /// A negative `processing_time_ms`: left out of its mean and percentiles.
    pub processing_time_ms: Option<i64>,
    /// No `timestamp`, an infinite one, or one more than 5 minutes ahead: left out of the
    /// timeseries.
    pub timestamp: Option<i64>,
}

/// Groups of fewer than 10 rows left out of each breakdown, so that no answer to the
/// public key describes a handful of customers; all zero for the secret key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Suppressed {
    /// Modes left out of `by_mode`.
    pub by_mode: i64,
    /// Intents left out of `by_intent`.
    pub by_intent: i64,
    /// Categories left out of `by_intent_category`.
    pub by_intent_category: i64,
    /// Trigger types left out of `escalations_by_trigger`.
    pub escalations_by_trigger: i64,
    /// Buckets left out of `timeseries`.
    pub timeseries: i64,
    /// Histogram bins shown as `None`.
    pub confidence_histogram: i64,
    /// 1 when `sessions` (fewer than 10 conversations) reads 0 and 0.
    pub sessions: i64,
}

/// Mean and exact (`percentile_cont`) percentiles; all `None` when no value is known.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    /// Arithmetic mean.
    pub avg: Option<f64>,
    /// Median.
    pub p50: Option<f64>,
    /// 95th percentile.
    pub p95: Option<f64>,
    /// 99th percentile.
    pub p99: Option<f64>,
}

/// Interactions of one assistant mode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModeCount {
    /// The mode.
    pub assistant_mode: AssistantMode,
    /// Interactions in this mode.
    pub total: i64,
    /// Of which resolved.
    pub resolved: i64,
    /// Of which escalated.
    pub escalated: i64,
}

/// Interactions of one intent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IntentCount {
    /// The intent; `None` groups the interactions without one.
    pub intent_name: Option<String>,
    /// Interactions with this intent.
    pub total: i64,
    /// Of which resolved.
    pub resolved: i64,
    /// Of which escalated.
    pub escalated: i64,
    /// Mean `confidence_score` of the group; `None` when none has one.
    pub avg_confidence: Option<f64>,
}

/// Interactions of one intent category.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CategoryCount {
    /// The category; `None` groups the interactions without one.
    pub intent_category: Option<IntentCategory>,
    /// Interactions in this category.
    pub total: i64,
    /// Of which resolved.
    pub resolved: i64,
    /// Of which escalated.
    pub escalated: i64,
}

/// Escalation rows with one trigger type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TriggerCount {
    /// The `escalations.trigger_type`.
    pub trigger_type: String,
    /// Number of escalation rows.
    pub count: i64,
}

/// Conversations (non-null `session_id`) that begin in the window: their first
/// interaction (earliest timestamp, then smallest id) is among the filtered ones.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sessions {
    /// Sessions that begin in the window.
    pub total: i64,
    /// Those of them none of whose interactions escalated.
    pub contained: i64,
}

/// Share (0 to 1) of interactions that reached each pipeline step; `None` when there are
/// no interactions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pipeline {
    /// Share with `step_1_intent_completed` true.
    pub step_1_intent_completed: Option<f64>,
    /// Share with a `step_2_routing_decision`.
    pub step_2_routing_decision: Option<f64>,
    /// Share with `step_3_retrieval_performed` true.
    pub step_3_retrieval_performed: Option<f64>,
    /// Share with `step_4_response_generated` true.
    pub step_4_response_generated: Option<f64>,
    /// Share with a `step_5_confidence_score`.
    pub step_5_confidence_score: Option<f64>,
    /// Share with `step_6_escalation_triggered` true.
    pub step_6_escalation_triggered: Option<f64>,
}

/// Interactions in one time bucket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BucketCount {
    /// Start of the bucket: the instant, in UTC, of the midnight (or hour) in the
    /// filter's time zone that begins it.
    pub bucket: DateTime<Utc>,
    /// Interactions in the bucket.
    pub total: i64,
    /// Of which resolved.
    pub resolved: i64,
    /// Of which escalated.
    pub escalated: i64,
}

/// Reads the function's object; any other shape is reported as a database error.
pub(crate) fn decode(value: serde_json::Value) -> Result<Metrics> {
    serde_path_to_error::deserialize(value).map_err(|e| Error::Database {
        code: None,
        message: format!(
            "public.{SQL_FUNCTION} returned an unexpected shape at `{}`: {}",
            e.path(),
            e.inner()
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_names_round_trip() {
        for bucket in Bucket::ALL {
            assert_eq!(bucket.as_str().parse::<Bucket>(), Ok(bucket));
            assert_eq!(bucket.to_string(), bucket.as_str());
            assert_eq!(
                serde_json::to_value(bucket).expect("serializes"),
                serde_json::Value::String(bucket.as_str().into())
            );
        }
        assert_eq!(Bucket::default(), Bucket::Day);
        assert_eq!(MetricsFilter::default().bucket, Bucket::Day);
    }

    #[test]
    fn buckets_start_at_midnight_in_the_zone() {
        let at = |s: &str| {
            DateTime::parse_from_rfc3339(s)
                .expect("instant")
                .with_timezone(&Utc)
        };
        let paris: Zone = "Europe/Paris".parse().expect("zone");
        let kolkata: Zone = "Asia/Kolkata".parse().expect("zone");
        // Wednesday 2026-11-04, 00:30 in Paris.
        let t = at("2026-11-03T23:30:00Z");
        assert_eq!(
            Bucket::Day.start_of(t, paris),
            Some(at("2026-11-03T23:00:00Z"))
        );
        assert_eq!(
            Bucket::Day.start_of(t, Zone::UTC),
            Some(at("2026-11-03T00:00:00Z"))
        );
        assert_eq!(
            Bucket::Week.start_of(t, paris),
            Some(at("2026-11-01T23:00:00Z"))
        );
        assert_eq!(
            Bucket::Hour.start_of(t, paris),
            Some(at("2026-11-03T23:00:00Z"))
        );
        assert_eq!(
            Bucket::Hour.start_of(t, kolkata),
            Some(at("2026-11-03T23:30:00Z"))
        );
        assert_eq!(
            Bucket::Hour.start_of(at("2026-11-03T23:29:59Z"), kolkata),
            Some(at("2026-11-03T22:30:00Z"))
        );
        // The day summer time ends in Paris lasts 25 hours.
        let start = at("2026-10-24T22:00:00Z");
        assert_eq!(
            Bucket::Day.next(start, paris),
            Some(at("2026-10-25T23:00:00Z"))
        );
        assert_eq!(
            Bucket::Week.next(at("2026-10-18T22:00:00Z"), paris),
            Some(at("2026-10-25T23:00:00Z"))
        );
        assert_eq!(Bucket::Week.narrower(), Bucket::Day);
        assert_eq!(Bucket::Hour.narrower(), Bucket::Hour);
    }

    #[test]
    fn unknown_bucket_names_the_allowed_values() {
        let err = "month".parse::<Bucket>().expect_err("not a bucket");
        assert_eq!(err.field, "bucket");
        assert_eq!(
            err.rule,
            "must be one of 'hour', 'day', 'week' (got \"month\")"
        );
    }

    #[test]
    fn an_object_without_the_later_fields_still_reads() {
        let value = serde_json::json!({
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
        });
        let m = decode(value).expect("an object of migration 002");
        assert!(m.confidence_histogram.is_empty());
        assert_eq!(m.excluded, Excluded::default());
        assert_eq!(m.suppressed, Suppressed::default());
    }

    #[test]
    fn an_unexpected_shape_is_a_database_error() {
        let value = serde_json::json!({ "total_interactions": "many" });
        match decode(value) {
            Err(Error::Database {
                code: None,
                message,
            }) => {
                assert!(message.contains("unexpected shape"), "{message}");
                assert!(message.contains("`total_interactions`"), "{message}");
            }
            other => panic!("expected a database error, got {other:?}"),
        }
    }
}

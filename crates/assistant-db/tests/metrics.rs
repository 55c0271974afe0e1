//! `public.interaction_metrics` and `PgStore::metrics_in` against real PostgreSQL, checked
//! against an independent computation in Rust over the rows read back from the tables.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashSet};

use assistant_db::metrics::{Bucket, Metrics, MetricsFilter};
use assistant_db::model::{AssistantMode, IntentCategory};
use assistant_db::store::PgStore;
use assistant_db::Error;
use chrono::{DateTime, Datelike, Duration, DurationRound, TimeZone, Utc};
use serde_json::{json, Value};
use sqlx::{PgPool, Row};
use uuid::Uuid;

// ── deterministic data ────────────────────────────────────────────────────────────────

/// xorshift64*: a tiny seeded generator, so every run inserts the same rows.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    /// True with probability `percent` / 100.
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn pick<T: Clone>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize].clone()
    }
}

/// One `interactions` row, as generated and as read back.
#[derive(Debug, Clone)]
struct Interaction {
    id: Uuid,
    timestamp: Option<DateTime<Utc>>,
    mode: String,
    session: Option<String>,
    intent: Option<String>,
    category: Option<String>,
    outcome: String,
    confidence: Option<f64>,
    processing_ms: Option<i32>,
    step_1: Option<bool>,
    step_2: Option<String>,
    step_3: Option<bool>,
    step_4: Option<bool>,
    step_5: Option<f64>,
    step_6: Option<bool>,
}

/// One `escalations` row: the interaction it belongs to and its trigger.
#[derive(Debug, Clone)]
struct Escalation {
    interaction: Option<Uuid>,
    trigger: String,
}

const INTENTS: [Option<&str>; 6] = [
    Some("balance_inquiry"),
    Some("card_block"),
    Some("dispute_charge"),
    Some("loan_rates"),
    Some("wire_transfer"),
    None,
];
const CATEGORIES: [Option<&str>; 4] = [
    Some("automatable"),
    Some("sensitive"),
    Some("human_only"),
    None,
];
const TRIGGERS: [&str; 4] = [
    "human_only",
    "low_confidence",
    "insufficient_evidence",
    "policy_violation",
];

/// The "now" of the data set; timestamps spread over the 40 days before it.
fn end() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 3, 31, 12, 0, 0)
        .single()
        .expect("valid instant")
}

/// The 30-day window used by the windowed cases.
fn window() -> (DateTime<Utc>, DateTime<Utc>) {
    (end() - Duration::days(30), end())
}

fn generate() -> (Vec<Interaction>, Vec<Escalation>) {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut rows = Vec::new();
    let mut session_no = 0;
    while rows.len() < 420 {
        // Most rows belong to a conversation of 1 to 5 turns; some have no session at all.
        let session = if rng.chance(15) {
            None
        } else {
            session_no += 1;
            Some(format!("conv_{session_no:04}"))
        };
        let turns = if session.is_some() {
            1 + rng.below(5)
        } else {
            1
        };
        let mode = rng.pick(&["customer", "banker"]).to_owned();
        let mut at = end() - Duration::seconds(rng.below(40 * 86_400) as i64);
        for _ in 0..turns {
            at += Duration::seconds(30 + rng.below(900) as i64);
            let category = rng.pick(&CATEGORIES).map(str::to_owned);
            let escalated = rng.chance(if category.as_deref() == Some("human_only") {
                70
            } else {
                20
            });
            rows.push(Interaction {
                id: Uuid::from_u128(0x1000 + rows.len() as u128),
                timestamp: (!rng.chance(5)).then_some(at),
                mode: mode.clone(),
                session: session.clone(),
                intent: rng.pick(&INTENTS).map(str::to_owned),
                category,
                outcome: if escalated { "escalated" } else { "resolved" }.to_owned(),
                confidence: (!rng.chance(10)).then(|| rng.unit()),
                processing_ms: (!rng.chance(10)).then(|| 40 + rng.below(6_000) as i32),
                step_1: if rng.chance(5) {
                    None
                } else {
                    Some(rng.chance(90))
                },
                step_2: rng
                    .chance(80)
                    .then(|| rng.pick(&["automate", "caution", "escalate"]).to_owned()),
                step_3: Some(rng.chance(60)),
                step_4: Some(!escalated || rng.chance(30)),
                step_5: rng.chance(70).then(|| rng.unit()),
                step_6: if rng.chance(3) { None } else { Some(escalated) },
            });
        }
    }
    // Rows exactly on the window's edges (both inclusive) and just outside it.
    let (from, to) = window();
    for (i, at) in [
        from,
        to,
        from - Duration::milliseconds(1),
        to + Duration::milliseconds(1),
    ]
    .into_iter()
    .enumerate()
    {
        rows.push(Interaction {
            id: Uuid::from_u128(0x9000 + i as u128),
            timestamp: Some(at),
            mode: "customer".into(),
            session: Some("conv_edges".into()),
            intent: Some("card_block".into()),
            category: Some("sensitive".into()),
            outcome: if i % 2 == 0 { "escalated" } else { "resolved" }.into(),
            confidence: Some(0.25 * i as f64),
            processing_ms: Some(1_000 * (i as i32 + 1)),
            step_1: Some(true),
            step_2: Some("caution".into()),
            step_3: Some(true),
            step_4: Some(true),
            step_5: Some(0.5),
            step_6: Some(i % 2 == 0),
        });
    }

    let mut escalations = Vec::new();
    for row in &rows {
        let copies = match (row.outcome.as_str(), rng.below(10)) {
            ("escalated", 0) => 0,
            ("escalated", 1..=2) => 2,
            ("escalated", _) => 1,
            (_, 0) => 1, // an escalation row on a resolved interaction still counts
            _ => 0,
        };
        for _ in 0..copies {
            escalations.push(Escalation {
                interaction: Some(row.id),
                trigger: rng.pick(&TRIGGERS).to_owned(),
            });
        }
    }
    // Not attached to any interaction: never passes a filter.
    escalations.push(Escalation {
        interaction: None,
        trigger: "orphan".into(),
    });
    (rows, escalations)
}

async fn insert(pool: &PgPool, rows: &[Interaction], escalations: &[Escalation]) {
    fn col<T, U>(rows: &[T], f: impl Fn(&T) -> U) -> Vec<U> {
        rows.iter().map(f).collect()
    }
    sqlx::query(
        "INSERT INTO public.interactions (id, \"timestamp\", assistant_mode, session_id, \
             user_query, intent_name, intent_category, step_1_intent_completed, \
             step_2_routing_decision, step_3_retrieval_performed, step_4_response_generated, \
             step_5_confidence_score, step_6_escalation_triggered, outcome, confidence_score, \
             processing_time_ms) \
         SELECT id, ts, mode, session, 'How do I …?', intent, category, s1, s2, s3, s4, s5, s6, \
                outcome, confidence, ms \
         FROM UNNEST($1::uuid[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], \
                     $6::text[], $7::bool[], $8::text[], $9::bool[], $10::bool[], \
                     $11::float8[], $12::bool[], $13::text[], $14::float8[], $15::int4[]) \
              AS t(id, ts, mode, session, intent, category, s1, s2, s3, s4, s5, s6, outcome, \
                   confidence, ms)",
    )
    .bind(col(rows, |r| r.id))
    .bind(col(rows, |r| r.timestamp))
    .bind(col(rows, |r| r.mode.clone()))
    .bind(col(rows, |r| r.session.clone()))
    .bind(col(rows, |r| r.intent.clone()))
    .bind(col(rows, |r| r.category.clone()))
    .bind(col(rows, |r| r.step_1))
    .bind(col(rows, |r| r.step_2.clone()))
    .bind(col(rows, |r| r.step_3))
    .bind(col(rows, |r| r.step_4))
    .bind(col(rows, |r| r.step_5))
    .bind(col(rows, |r| r.step_6))
    .bind(col(rows, |r| r.outcome.clone()))
    .bind(col(rows, |r| r.confidence))
    .bind(col(rows, |r| r.processing_ms))
    .execute(pool)
    .await
    .expect("insert interactions");

    for e in escalations {
        sqlx::query(
            "INSERT INTO public.escalations (interaction_id, trigger_type, escalation_reason) \
             VALUES ($1, $2, 'generated for the metrics test')",
        )
        .bind(e.interaction)
        .bind(&e.trigger)
        .execute(pool)
        .await
        .expect("insert escalation");
    }
}

/// The rows as stored, read back with plain SELECTs.
async fn read_back(pool: &PgPool) -> (Vec<Interaction>, Vec<Escalation>) {
    let rows = sqlx::query(
        "SELECT id, \"timestamp\", assistant_mode, session_id, intent_name, intent_category, \
                outcome, confidence_score, processing_time_ms, step_1_intent_completed, \
                step_2_routing_decision, step_3_retrieval_performed, step_4_response_generated, \
                step_5_confidence_score, step_6_escalation_triggered \
         FROM public.interactions",
    )
    .fetch_all(pool)
    .await
    .expect("read interactions")
    .into_iter()
    .map(|r| Interaction {
        id: r.get("id"),
        timestamp: r.get("timestamp"),
        mode: r.get("assistant_mode"),
        session: r.get("session_id"),
        intent: r.get("intent_name"),
        category: r.get("intent_category"),
        outcome: r.get("outcome"),
        confidence: r.get("confidence_score"),
        processing_ms: r.get("processing_time_ms"),
        step_1: r.get("step_1_intent_completed"),
        step_2: r.get("step_2_routing_decision"),
        step_3: r.get("step_3_retrieval_performed"),
        step_4: r.get("step_4_response_generated"),
        step_5: r.get("step_5_confidence_score"),
        step_6: r.get("step_6_escalation_triggered"),
    })
    .collect();
    let escalations = sqlx::query("SELECT interaction_id, trigger_type FROM public.escalations")
        .fetch_all(pool)
        .await
        .expect("read escalations")
        .into_iter()
        .map(|r| Escalation {
            interaction: r.get("interaction_id"),
            trigger: r.get("trigger_type"),
        })
        .collect();
    (rows, escalations)
}

/// A fresh database holding the generated rows, and those rows as read back.
async fn seeded() -> (PgPool, Vec<Interaction>, Vec<Escalation>) {
    let pool = common::migrated_db().await;
    let (rows, escalations) = generate();
    insert(&pool, &rows, &escalations).await;
    let (stored, stored_escalations) = read_back(&pool).await;
    assert_eq!(stored.len(), rows.len());
    assert_eq!(stored_escalations.len(), escalations.len());
    (pool, stored, stored_escalations)
}

// ── the independent computation ───────────────────────────────────────────────────────

fn passes(row: &Interaction, filter: &MetricsFilter) -> bool {
    filter.mode.is_none_or(|m| row.mode == m.as_str())
        && filter
            .from
            .is_none_or(|from| row.timestamp.is_some_and(|t| t >= from))
        && filter
            .to
            .is_none_or(|to| row.timestamp.is_some_and(|t| t <= to))
        && filter
            .intent
            .as_deref()
            .is_none_or(|i| row.intent.as_deref() == Some(i))
        && filter
            .category
            .is_none_or(|c| row.category.as_deref() == Some(c.as_str()))
}

fn mean(values: impl IntoIterator<Item = f64>) -> Option<f64> {
    let values: Vec<f64> = values.into_iter().collect();
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

/// PostgreSQL's `percentile_cont`: linear interpolation between the closest ranks.
fn percentile_cont(sorted: &[f64], fraction: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let position = fraction * (sorted.len() - 1) as f64;
    let (lo, hi) = (position.floor() as usize, position.ceil() as usize);
    Some(sorted[lo] + (sorted[hi] - sorted[lo]) * (position - lo as f64))
}

/// A confidence the model accepts: finite, within `[0, 1]`.
fn valid_confidence(row: &Interaction) -> Option<f64> {
    row.confidence.filter(|c| (0.0..=1.0).contains(c))
}

fn share(rows: &[&Interaction], reached: impl Fn(&Interaction) -> bool) -> Option<f64> {
    (!rows.is_empty())
        .then(|| rows.iter().filter(|r| reached(r)).count() as f64 / rows.len() as f64)
}

fn truncate(t: DateTime<Utc>, bucket: Bucket) -> DateTime<Utc> {
    let day = t.duration_trunc(Duration::days(1)).expect("day");
    match bucket {
        Bucket::Hour => t.duration_trunc(Duration::hours(1)).expect("hour"),
        Bucket::Day => day,
        Bucket::Week => day - Duration::days(i64::from(day.weekday().num_days_from_monday())),
    }
}

/// `{total, resolved, escalated}` of a group.
fn counts(rows: &[&Interaction]) -> (usize, usize, usize) {
    let resolved = rows.iter().filter(|r| r.outcome == "resolved").count();
    let escalated = rows.iter().filter(|r| r.outcome == "escalated").count();
    (rows.len(), resolved, escalated)
}

/// Groups rows by a key, keys in `Ord` order.
fn group_by<'a, K: Ord>(
    rows: &[&'a Interaction],
    key: impl Fn(&Interaction) -> K,
) -> BTreeMap<K, Vec<&'a Interaction>> {
    let mut groups: BTreeMap<K, Vec<&Interaction>> = BTreeMap::new();
    for &row in rows {
        groups.entry(key(row)).or_default().push(row);
    }
    groups
}

/// `None` after every `Some` (SQL's `NULLS LAST`), where `Option`'s own order puts it first.
fn nulls_last<T: Ord>(a: &Option<T>, b: &Option<T>) -> std::cmp::Ordering {
    match (a, b) {
        (Some(a), Some(b)) => a.cmp(b),
        (a, b) => b.is_some().cmp(&a.is_some()),
    }
}

/// The function's object, computed in Rust from the rows.
fn expected(rows: &[Interaction], escalations: &[Escalation], filter: &MetricsFilter) -> Value {
    let f: Vec<&Interaction> = rows.iter().filter(|r| passes(r, filter)).collect();
    let (total, resolved, escalated) = counts(&f);
    let rate = |n: usize| (total > 0).then(|| n as f64 / total as f64);

    let mut times: Vec<f64> = f
        .iter()
        .filter_map(|r| r.processing_ms.filter(|ms| *ms >= 0).map(f64::from))
        .collect();
    times.sort_by(f64::total_cmp);

    let by_mode: Vec<Value> = group_by(&f, |r| r.mode.clone())
        .into_iter()
        .map(|(mode, g)| {
            let (total, resolved, escalated) = counts(&g);
            json!({"assistant_mode": mode, "total": total, "resolved": resolved, "escalated": escalated})
        })
        .collect();

    let mut intents: Vec<(Option<String>, Vec<&Interaction>)> =
        group_by(&f, |r| r.intent.clone()).into_iter().collect();
    intents.sort_by(|(a, ga), (b, gb)| gb.len().cmp(&ga.len()).then(nulls_last(a, b)));
    let by_intent: Vec<Value> = intents
        .into_iter()
        .map(|(intent, g)| {
            let (total, resolved, escalated) = counts(&g);
            json!({
                "intent_name": intent, "total": total, "resolved": resolved,
                "escalated": escalated,
                "avg_confidence": mean(g.iter().copied().filter_map(valid_confidence)),
            })
        })
        .collect();

    let mut categories: Vec<(Option<String>, Vec<&Interaction>)> =
        group_by(&f, |r| r.category.clone()).into_iter().collect();
    categories.sort_by(|(a, _), (b, _)| nulls_last(a, b));
    let by_category: Vec<Value> = categories
        .into_iter()
        .map(|(category, g)| {
            let (total, resolved, escalated) = counts(&g);
            json!({"intent_category": category, "total": total, "resolved": resolved, "escalated": escalated})
        })
        .collect();

    let ids: HashSet<Uuid> = f.iter().map(|r| r.id).collect();
    let mut triggers: BTreeMap<&str, usize> = BTreeMap::new();
    for e in escalations {
        if e.interaction.is_some_and(|id| ids.contains(&id)) {
            *triggers.entry(e.trigger.as_str()).or_default() += 1;
        }
    }
    let mut triggers: Vec<(&str, usize)> = triggers.into_iter().collect();
    triggers.sort_by(|(ta, a), (tb, b)| b.cmp(a).then(ta.cmp(tb)));
    let by_trigger: Vec<Value> = triggers
        .into_iter()
        .map(|(t, n)| json!({"trigger_type": t, "count": n}))
        .collect();

    // A session counts where its first interaction is (earliest timestamp, a missing one
    // last, then smallest id) when that one passes the filter; it is contained when none
    // of its interactions, in the window or not, escalated.
    let all: Vec<&Interaction> = rows.iter().collect();
    let named: Vec<Vec<&Interaction>> = group_by(&all, |r| r.session.clone())
        .into_iter()
        .filter(|(s, g)| {
            s.is_some()
                && g.iter()
                    .min_by_key(|r| (r.timestamp.is_none(), r.timestamp, r.id))
                    .is_some_and(|first| passes(first, filter))
        })
        .map(|(_, g)| g)
        .collect();
    let contained = named
        .iter()
        .filter(|g| g.iter().all(|r| r.outcome != "escalated"))
        .count();

    let timed: Vec<&Interaction> = f
        .iter()
        .copied()
        .filter(|r| r.timestamp.is_some())
        .collect();
    // Tenths of a valid confidence, as width_bucket numbers them; 1.0 joins the top one.
    let mut histogram = [0usize; 10];
    for c in f.iter().copied().filter_map(valid_confidence) {
        histogram[((10.0 * c).floor() as usize).min(9)] += 1;
    }
    let timeseries: Vec<Value> = group_by(&timed, |r| {
        truncate(r.timestamp.expect("timed"), filter.bucket)
    })
    .into_iter()
    .map(|(bucket, g)| {
        let (total, resolved, escalated) = counts(&g);
        json!({
            "bucket": bucket.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            "total": total, "resolved": resolved, "escalated": escalated,
        })
    })
    .collect();

    json!({
        "total_interactions": total,
        "resolved": resolved,
        "escalated": escalated,
        "resolution_rate": rate(resolved),
        "escalation_rate": rate(escalated),
        "avg_confidence": mean(f.iter().copied().filter_map(valid_confidence)),
        "processing_time_ms": {
            "avg": mean(times.iter().copied()),
            "p50": percentile_cont(&times, 0.5),
            "p95": percentile_cont(&times, 0.95),
            "p99": percentile_cont(&times, 0.99),
        },
        "by_mode": by_mode,
        "by_intent": by_intent,
        "by_intent_category": by_category,
        "escalations_by_trigger": by_trigger,
        "sessions": {"total": named.len(), "contained": contained},
        "pipeline": {
            "step_1_intent_completed": share(&f, |r| r.step_1 == Some(true)),
            "step_2_routing_decision": share(&f, |r| r.step_2.is_some()),
            "step_3_retrieval_performed": share(&f, |r| r.step_3 == Some(true)),
            "step_4_response_generated": share(&f, |r| r.step_4 == Some(true)),
            "step_5_confidence_score": share(&f, |r| r.step_5.is_some()),
            "step_6_escalation_triggered": share(&f, |r| r.step_6 == Some(true)),
        },
        "timeseries": timeseries,
        "confidence_histogram": histogram,
        "excluded": {
            "confidence_score": f.iter().filter(|r| r.confidence.is_some() && valid_confidence(r).is_none()).count(),
            "processing_time_ms": f.iter().filter(|r| r.processing_ms.is_some_and(|ms| ms < 0)).count(),
            "timestamp": f.len() - timed.len(),
        },
        "suppressed": {
            "by_mode": 0, "by_intent": 0, "by_intent_category": 0, "escalations_by_trigger": 0,
            "timeseries": 0, "confidence_histogram": 0, "sessions": 0,
        },
    })
}

// ── comparing ─────────────────────────────────────────────────────────────────────────

/// How far a percentile of processing time may be from `percentile_cont`'s: the
/// rollups' histogram buckets are 1.5 % wide, and a value stands for its bucket's middle.
const PERCENTILE_TOLERANCE: f64 = 0.0075;

/// Equal JSON, numbers within 1e-9 (relative to their size) and percentiles within
/// [`PERCENTILE_TOLERANCE`], object keys exactly equal.
fn assert_json_close(actual: &Value, expected: &Value, path: &str) {
    match (actual, expected) {
        (Value::Number(a), Value::Number(e)) => {
            let percentile = [".p50", ".p95", ".p99"].iter().any(|p| path.ends_with(p));
            if let (Some(a), Some(e), false) = (a.as_i64(), e.as_i64(), percentile) {
                assert_eq!(a, e, "at {path}");
            } else {
                let (a, e) = (a.as_f64().expect("f64"), e.as_f64().expect("f64"));
                let tolerance = if percentile {
                    PERCENTILE_TOLERANCE
                } else {
                    1e-9
                };
                assert!(
                    (a - e).abs() <= tolerance * e.abs().max(1.0),
                    "at {path}: {a} vs expected {e}"
                );
            }
        }
        (Value::Object(a), Value::Object(e)) => {
            let (ka, ke): (BTreeSet<&String>, BTreeSet<&String>) =
                (a.keys().collect(), e.keys().collect());
            assert_eq!(ka, ke, "keys at {path}");
            for (k, v) in e {
                assert_json_close(&a[k], v, &format!("{path}.{k}"));
            }
        }
        (Value::Array(a), Value::Array(e)) => {
            assert_eq!(
                a.len(),
                e.len(),
                "length at {path}: {actual} vs expected {expected}"
            );
            for (i, (a, e)) in a.iter().zip(e).enumerate() {
                assert_json_close(a, e, &format!("{path}[{i}]"));
            }
        }
        _ => assert_eq!(actual, expected, "at {path}"),
    }
}

/// The function's raw object, called with plain SQL.
async fn raw(pool: &PgPool, filter: &MetricsFilter) -> Value {
    sqlx::query_scalar("SELECT public.interaction_metrics($1, $2, $3, $4, $5, $6)")
        .bind(filter.mode.map(|m| m.as_str()))
        .bind(filter.from)
        .bind(filter.to)
        .bind(filter.intent.as_deref())
        .bind(filter.category.map(|c| c.as_str()))
        .bind(filter.bucket.as_str())
        .fetch_one(pool)
        .await
        .expect("interaction_metrics runs")
}

/// Checks both the raw object and `PgStore::metrics_in` against the independent computation.
async fn check(
    pool: &PgPool,
    rows: &[Interaction],
    escalations: &[Escalation],
    filter: &MetricsFilter,
) -> Metrics {
    let want = expected(rows, escalations, filter);
    assert_json_close(&raw(pool, filter).await, &want, "raw");
    let got = PgStore::metrics_in(pool, filter).await.expect("fetch");
    assert_json_close(
        &serde_json::to_value(&got).expect("serializes"),
        &want,
        "fetch",
    );
    got
}

// ── the cases ─────────────────────────────────────────────────────────────────────────

#[tokio::test]
async fn unfiltered_metrics_match_an_independent_computation() {
    let (pool, rows, escalations) = seeded().await;
    let m = check(&pool, &rows, &escalations, &MetricsFilter::default()).await;

    // The data exercises every group, including the NULL ones.
    assert_eq!(m.total_interactions as usize, rows.len());
    assert_eq!(m.resolved + m.escalated, m.total_interactions);
    assert_eq!(m.by_mode.len(), 2);
    assert_eq!(m.by_intent.len(), INTENTS.len());
    assert!(m.by_intent.iter().any(|i| i.intent_name.is_none()));
    assert_eq!(m.by_intent_category.len(), CATEGORIES.len());
    assert_eq!(
        m.by_intent_category.last().map(|c| c.intent_category),
        Some(None)
    );
    assert_eq!(
        m.escalations_by_trigger.len(),
        TRIGGERS.len(),
        "the orphan never counts"
    );
    assert!(m.sessions.total > 50 && m.sessions.contained > 0);
    assert!(m.sessions.contained < m.sessions.total);
    let timed = rows.iter().filter(|r| r.timestamp.is_some()).count() as i64;
    assert!(timed < m.total_interactions, "some rows have no timestamp");
    assert_eq!(m.timeseries.iter().map(|b| b.total).sum::<i64>(), timed);
    assert!(m.timeseries.len() > 35, "daily buckets over ~40 days");
    assert!(m.timeseries.windows(2).all(|w| w[0].bucket < w[1].bucket));
    let p = &m.processing_time_ms;
    assert!(p.p50 <= p.p95 && p.p95 <= p.p99);
}

#[tokio::test]
async fn the_function_object_has_exactly_the_documented_keys() {
    let (pool, _, _) = seeded().await;
    let object = raw(&pool, &MetricsFilter::default()).await;
    let keys = |v: &Value| -> Vec<String> {
        let mut keys: Vec<String> = v.as_object().expect("object").keys().cloned().collect();
        keys.sort();
        keys
    };
    let mut top = vec![
        "total_interactions",
        "resolved",
        "escalated",
        "resolution_rate",
        "escalation_rate",
        "avg_confidence",
        "processing_time_ms",
        "by_mode",
        "by_intent",
        "by_intent_category",
        "escalations_by_trigger",
        "sessions",
        "pipeline",
        "timeseries",
        "confidence_histogram",
        "excluded",
        "suppressed",
    ];
    top.sort();
    assert_eq!(keys(&object), top);
    assert_eq!(
        keys(&object["processing_time_ms"]),
        ["avg", "p50", "p95", "p99"]
    );
    assert_eq!(keys(&object["sessions"]), ["contained", "total"]);
    assert_eq!(
        keys(&object["by_mode"][0]),
        ["assistant_mode", "escalated", "resolved", "total"]
    );
    assert_eq!(
        keys(&object["by_intent"][0]),
        [
            "avg_confidence",
            "escalated",
            "intent_name",
            "resolved",
            "total"
        ]
    );
    assert_eq!(
        keys(&object["by_intent_category"][0]),
        ["escalated", "intent_category", "resolved", "total"]
    );
    assert_eq!(
        keys(&object["escalations_by_trigger"][0]),
        ["count", "trigger_type"]
    );
    assert_eq!(
        keys(&object["timeseries"][0]),
        ["bucket", "escalated", "resolved", "total"]
    );
    assert_eq!(keys(&object["pipeline"]).len(), 6);
    assert_eq!(
        keys(&object["excluded"]),
        ["confidence_score", "processing_time_ms", "timestamp"]
    );
    assert_eq!(keys(&object["suppressed"]).len(), 7);
    assert_eq!(
        object["confidence_histogram"].as_array().map(Vec::len),
        Some(10)
    );

    // The typed result serializes back to the same object (the CLI's `--json`).
    let fetched = PgStore::metrics_in(&pool, &MetricsFilter::default())
        .await
        .expect("fetch");
    assert_json_close(
        &serde_json::to_value(&fetched).expect("serializes"),
        &object,
        "json",
    );
    let bucket = object["timeseries"][0]["bucket"].as_str().expect("text");
    assert!(
        bucket.ends_with("T00:00:00Z"),
        "ISO-8601 UTC day bucket: {bucket}"
    );
}

#[tokio::test]
async fn customer_mode_in_a_thirty_day_window() {
    let (pool, rows, escalations) = seeded().await;
    let (from, to) = window();
    let filter = MetricsFilter {
        mode: Some(AssistantMode::Customer),
        from: Some(from),
        to: Some(to),
        ..MetricsFilter::default()
    };
    let m = check(&pool, &rows, &escalations, &filter).await;
    assert_eq!(m.by_mode.len(), 1);
    assert_eq!(m.by_mode[0].assistant_mode, AssistantMode::Customer);
    // Both edges are inside the window, the rows 1 ms outside are not.
    let edges = rows
        .iter()
        .filter(|r| r.session.as_deref() == Some("conv_edges"));
    let inside = edges
        .filter(|r| r.timestamp.is_some_and(|t| t >= from && t <= to))
        .count();
    assert_eq!(inside, 2);
    assert!(m
        .timeseries
        .iter()
        .all(|b| b.bucket >= truncate(from, Bucket::Day)));
    assert!(m.total_interactions < rows.len() as i64 / 2);

    // Only one edge: `to` alone and `from` alone.
    for filter in [
        MetricsFilter {
            to: Some(to),
            ..MetricsFilter::default()
        },
        MetricsFilter {
            from: Some(from),
            ..MetricsFilter::default()
        },
    ] {
        check(&pool, &rows, &escalations, &filter).await;
    }
}

#[tokio::test]
async fn intent_filter() {
    let (pool, rows, escalations) = seeded().await;
    let filter = MetricsFilter {
        intent: Some("card_block".into()),
        ..MetricsFilter::default()
    };
    let m = check(&pool, &rows, &escalations, &filter).await;
    assert_eq!(m.by_intent.len(), 1);
    assert_eq!(m.by_intent[0].intent_name.as_deref(), Some("card_block"));
    assert!(m.total_interactions > 20);

    // An intent nobody has: zeros, nulls and empty arrays.
    let none = MetricsFilter {
        intent: Some("no_such_intent".into()),
        ..MetricsFilter::default()
    };
    let m = check(&pool, &rows, &escalations, &none).await;
    assert_eq!(m.total_interactions, 0);
    assert!(m.by_intent.is_empty() && m.timeseries.is_empty());
}

#[tokio::test]
async fn category_filter() {
    let (pool, rows, escalations) = seeded().await;
    for category in IntentCategory::ALL {
        let filter = MetricsFilter {
            category: Some(category),
            ..MetricsFilter::default()
        };
        let m = check(&pool, &rows, &escalations, &filter).await;
        assert_eq!(m.by_intent_category.len(), 1);
        assert_eq!(m.by_intent_category[0].intent_category, Some(category));
    }
    // Every filter at once.
    let (from, to) = window();
    let all = MetricsFilter {
        mode: Some(AssistantMode::Banker),
        from: Some(from),
        to: Some(to),
        intent: Some("wire_transfer".into()),
        category: Some(IntentCategory::HumanOnly),
        bucket: Bucket::Week,
        ..MetricsFilter::default()
    };
    check(&pool, &rows, &escalations, &all).await;
}

#[tokio::test]
async fn hourly_and_weekly_timeseries() {
    let (pool, rows, escalations) = seeded().await;
    let (from, to) = window();
    for bucket in [Bucket::Hour, Bucket::Week] {
        for (from, to) in [(None, None), (Some(from), Some(to))] {
            let filter = MetricsFilter {
                from,
                to,
                bucket,
                ..MetricsFilter::default()
            };
            let m = check(&pool, &rows, &escalations, &filter).await;
            assert!(m
                .timeseries
                .iter()
                .all(|b| truncate(b.bucket, bucket) == b.bucket));
        }
    }
    let weekly = PgStore::metrics_in(
        &pool,
        &MetricsFilter {
            bucket: Bucket::Week,
            ..MetricsFilter::default()
        },
    )
    .await
    .expect("fetch");
    assert!(
        (6..=8).contains(&weekly.timeseries.len()),
        "{:?}",
        weekly.timeseries
    );
    assert!(weekly
        .timeseries
        .iter()
        .all(|b| b.bucket.weekday() == chrono::Weekday::Mon));
}

#[tokio::test]
async fn an_empty_database_gives_zeros_nulls_and_empty_arrays() {
    let pool = common::migrated_db().await;
    let m = PgStore::metrics_in(&pool, &MetricsFilter::default())
        .await
        .expect("fetch");
    assert_eq!(m.total_interactions, 0);
    assert_eq!((m.resolved, m.escalated), (0, 0));
    assert_eq!(
        (m.resolution_rate, m.escalation_rate, m.avg_confidence),
        (None, None, None)
    );
    let p = &m.processing_time_ms;
    assert_eq!((p.avg, p.p50, p.p95, p.p99), (None, None, None, None));
    assert!(m.by_mode.is_empty() && m.by_intent.is_empty() && m.by_intent_category.is_empty());
    assert!(m.escalations_by_trigger.is_empty() && m.timeseries.is_empty());
    assert_eq!((m.sessions.total, m.sessions.contained), (0, 0));
    assert_eq!(m.pipeline.step_1_intent_completed, None);
    assert_eq!(m.pipeline.step_6_escalation_triggered, None);

    // Arrays are `[]`, not null, in the function's own object.
    let object = raw(&pool, &MetricsFilter::default()).await;
    for key in [
        "by_mode",
        "by_intent",
        "by_intent_category",
        "escalations_by_trigger",
        "timeseries",
    ] {
        assert_eq!(object[key], json!([]), "{key}");
    }
    assert_json_close(
        &object,
        &expected(&[], &[], &MetricsFilter::default()),
        "empty",
    );
}

#[tokio::test]
async fn a_bad_bucket_is_rejected_by_the_function_and_by_the_parser() {
    let pool = common::migrated_db().await;
    for bad in ["month", "Day", ""] {
        let err: Error =
            sqlx::query_scalar::<_, Value>("SELECT public.interaction_metrics(p_bucket => $1)")
                .bind(bad)
                .fetch_one(&pool)
                .await
                .expect_err("bad bucket")
                .into();
        match err {
            Error::Database { code, message } => {
                assert_eq!(code.as_deref(), Some("22023"), "{message}");
                assert!(
                    message.contains("p_bucket must be one of 'hour', 'day', 'week'"),
                    "{message}"
                );
            }
            other => panic!("expected a database error, got {other:?}"),
        }
        assert!(bad.parse::<Bucket>().is_err());
    }
    let err: Error =
        sqlx::query_scalar::<_, Value>("SELECT public.interaction_metrics(p_bucket => NULL)")
            .fetch_one(&pool)
            .await
            .expect_err("null bucket")
            .into();
    assert!(err.to_string().contains("(got NULL)"), "{err}");

    let err = "fortnight".parse::<Bucket>().expect_err("not a bucket");
    assert_eq!(
        err.to_string(),
        "invalid `bucket`: must be one of 'hour', 'day', 'week' (got \"fortnight\")"
    );
}

#[tokio::test]
async fn fetch_runs_on_a_connection_or_in_a_transaction_and_defaults_apply() {
    let (pool, rows, escalations) = seeded().await;
    let mut tx = pool.begin().await.expect("begin");
    let in_tx = PgStore::metrics_in(&mut *tx, &MetricsFilter::default())
        .await
        .expect("fetch in a transaction");
    tx.rollback().await.expect("rollback");
    assert_eq!(
        in_tx,
        PgStore::metrics_in(&pool, &MetricsFilter::default())
            .await
            .expect("fetch")
    );

    // Calling with no arguments at all (as an RPC without a body would) uses the defaults.
    let defaults: Value = sqlx::query_scalar("SELECT public.interaction_metrics()")
        .fetch_one(&pool)
        .await
        .expect("defaults");
    assert_json_close(
        &defaults,
        &expected(&rows, &escalations, &MetricsFilter::default()),
        "defaults",
    );
    assert_eq!(assistant_db::metrics::SQL_FUNCTION, "interaction_metrics");
}

//! The rollups of migration 011 under concurrent writers: eight connections insert,
//! replay, update and delete interactions and escalations (rows of the odd kinds too) on
//! the same few hours. Afterwards the rollups equal a recomputation from the raw rows, and
//! the metrics they answer equal the computation over raw rows for many random windows
//! and filters: counts exactly, averages to floating point, percentiles within 1 %.

mod common;

use std::collections::BTreeSet;

use assistant_db::rollups::HourRange;
use assistant_db::store::PgStore;
use chrono::{DateTime, Duration, TimeZone, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;
use uuid::Uuid;

/// Connections writing at once.
const WRITERS: u64 = 8;
/// Operations per writer.
const STEPS: usize = 60;
/// Random windows and filters compared afterwards.
const WINDOWS: usize = 60;

/// The hours the traffic lands in: few, so that the writers meet on the same rollup rows.
fn base() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 2, 8, 0, 0)
        .single()
        .expect("a valid instant")
}

/// One generated interaction, as the JSON `jsonb_populate_recordset` takes.
fn interaction(rng: &mut StdRng, id: Uuid) -> Value {
    let timestamp = match rng.gen_range(0..100) {
        0 => Value::Null,
        1 => json!("infinity"),
        2 => json!("-infinity"),
        3 => json!("2026-11-05T10:00:00Z"),
        // Most rows in four hours, where the writers meet; some over three days, so that
        // windows hold whole days (answered by the day rows).
        4..=29 => json!((base() + Duration::seconds(rng.gen_range(0..3 * 86_400))).to_rfc3339()),
        _ => json!((base() + Duration::seconds(rng.gen_range(0..4 * 3600))).to_rfc3339()),
    };
    let confidence = match rng.gen_range(0..20) {
        0 => json!("NaN"),
        1 => json!(42.0),
        2 => Value::Null,
        _ => json!(rng.gen_range(0.0..=1.0)),
    };
    let time = match rng.gen_range(0..20) {
        0 => json!(-5),
        1 => Value::Null,
        _ => json!(rng.gen_range(0..6000)),
    };
    let mode = ["customer", "banker"][rng.gen_range(0..2)];
    let session = rng
        .gen_bool(0.8)
        .then(|| format!("s{}", rng.gen_range(0..30)));
    let intent = rng
        .gen_bool(0.9)
        .then(|| format!("intent_{}", rng.gen_range(0..5)));
    let category = [
        Some("automatable"),
        Some("sensitive"),
        Some("human_only"),
        None,
    ][rng.gen_range(0..4)];
    let outcome = ["resolved", "escalated"][rng.gen_range(0..2)];
    let routing = rng.gen_bool(0.7).then_some("rag");
    let step_5 = rng.gen_bool(0.5).then_some(0.5);
    json!({
        "id": id,
        "timestamp": timestamp,
        "assistant_mode": mode,
        "session_id": session,
        "user_query": "q",
        "intent_name": intent,
        "intent_category": category,
        "outcome": outcome,
        "confidence_score": confidence,
        "processing_time_ms": time,
        "step_1_intent_completed": rng.gen_bool(0.9),
        "step_2_routing_decision": routing,
        "step_5_confidence_score": step_5,
        "step_6_escalation_triggered": rng.gen_bool(0.3),
    })
}

/// Runs `op` again after a deadlock or serialization failure, saying so; returns the
/// retries (the test fails on any, after checking what the traffic left).
async fn retrying<F, Fut>(what: &str, mut op: F) -> u32
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), sqlx::Error>>,
{
    let mut retries = 0;
    loop {
        match op().await {
            Ok(()) => return retries,
            Err(sqlx::Error::Database(e))
                if matches!(e.code().as_deref(), Some("40P01" | "40001")) && retries < 20 =>
            {
                eprintln!("{what}: {e}; retried");
                retries += 1;
            }
            Err(e) => panic!("a writer's {what} failed: {e}"),
        }
    }
}

/// One writer: `STEPS` random operations, each its own transaction. Returns the
/// retries it needed.
async fn writer(pool: PgPool, w: u64) -> u32 {
    let mut rng = StdRng::seed_from_u64(0x5eed_0000 + w);
    let mut mine: Vec<Uuid> = Vec::new();
    let mut batches: Vec<Vec<Uuid>> = Vec::new();
    let mut next = 0u64;
    let mut retries = 0;
    for _ in 0..STEPS {
        let op = rng.gen_range(0..100);
        let some = |rng: &mut StdRng, ids: &[Uuid]| -> Vec<Uuid> {
            ids.iter().filter(|_| rng.gen_bool(0.2)).copied().collect()
        };
        if op < 35 || mine.is_empty() {
            // A batch, with escalations for some of its rows, in one transaction (as
            // log_interactions writes them).
            let ids: Vec<Uuid> = (0..rng.gen_range(1..20))
                .map(|_| {
                    next += 1;
                    Uuid::from_u128((u128::from(w) << 64) | u128::from(next))
                })
                .collect();
            let rows: Vec<Value> = ids.iter().map(|id| interaction(&mut rng, *id)).collect();
            let escalated: Vec<Uuid> = some(&mut rng, &ids);
            let trigger =
                ["human_only", "low_confidence", "insufficient_evidence"][rng.gen_range(0..3)];
            retries += retrying("batch", || {
                let (pool, rows, escalated) = (pool.clone(), json!(rows), escalated.clone());
                async move {
                    let mut tx = pool.begin().await?;
                    sqlx::query(
                        "INSERT INTO public.interactions SELECT * FROM \
                         jsonb_populate_recordset(NULL::public.interactions, $1) \
                         ON CONFLICT (id) DO NOTHING",
                    )
                    .bind(rows)
                    .execute(&mut *tx)
                    .await?;
                    sqlx::query(
                        "INSERT INTO public.escalations (interaction_id, trigger_type, escalation_reason) \
                         SELECT id, $2, 'r' FROM public.interactions WHERE id = ANY($1)",
                    )
                    .bind(&escalated)
                    .bind(trigger)
                    .execute(&mut *tx)
                    .await?;
                    tx.commit().await
                }
            })
            .await;
            mine.extend(&ids);
            batches.push(ids);
        } else if op < 45 {
            // A replay: the same ids, other values; ON CONFLICT DO NOTHING keeps the first.
            let ids = batches[rng.gen_range(0..batches.len())].clone();
            let rows: Vec<Value> = ids.iter().map(|id| interaction(&mut rng, *id)).collect();
            retries += retrying("replay", || {
                let (pool, rows) = (pool.clone(), json!(rows));
                async move {
                    sqlx::query(
                        "INSERT INTO public.interactions SELECT * FROM \
                         jsonb_populate_recordset(NULL::public.interactions, $1) \
                         ON CONFLICT (id) DO NOTHING",
                    )
                    .bind(rows)
                    .execute(&pool)
                    .await
                    .map(drop)
                }
            })
            .await;
        } else if op < 60 {
            // An update of counted columns, the timestamp moving to another hour.
            let ids = some(&mut rng, &mine);
            let mode = ["customer", "banker"][rng.gen_range(0..2)];
            let outcome = ["resolved", "escalated"][rng.gen_range(0..2)];
            let intent = format!("intent_{}", rng.gen_range(0..5));
            let confidence: f64 = rng.gen_range(0.0..=1.0);
            let minutes = rng.gen_range(-90..90);
            retries += retrying("update", || {
                let (pool, ids, intent) = (pool.clone(), ids.clone(), intent.clone());
                async move {
                    sqlx::query(
                        "UPDATE public.interactions SET assistant_mode = $2, outcome = $3, \
                         intent_name = $4, confidence_score = $5, session_id = 's7', \
                         \"timestamp\" = \"timestamp\" + make_interval(mins => $6), \
                         processing_time_ms = processing_time_ms + 1 WHERE id = ANY($1)",
                    )
                    .bind(&ids)
                    .bind(mode)
                    .bind(outcome)
                    .bind(intent)
                    .bind(confidence)
                    .bind(minutes)
                    .execute(&pool)
                    .await
                    .map(drop)
                }
            })
            .await;
        } else if op < 65 {
            // An update that changes nothing counted (as redaction does).
            let ids = some(&mut rng, &mine);
            retries += retrying("update of nothing counted", || {
                let (pool, ids) = (pool.clone(), ids.clone());
                async move {
                    sqlx::query("UPDATE public.interactions SET response_text = 'redacted' WHERE id = ANY($1)")
                        .bind(&ids)
                        .execute(&pool)
                        .await
                        .map(drop)
                }
            })
            .await;
        } else if op < 75 {
            // A delete, cascading to escalations.
            let ids = some(&mut rng, &mine);
            retries += retrying("delete", || {
                let (pool, ids) = (pool.clone(), ids.clone());
                async move {
                    sqlx::query("DELETE FROM public.interactions WHERE id = ANY($1)")
                        .bind(&ids)
                        .execute(&pool)
                        .await
                        .map(drop)
                }
            })
            .await;
        } else if op < 85 {
            // Escalations change: another trigger, another interaction, or go.
            let ids = some(&mut rng, &mine);
            let other = mine[rng.gen_range(0..mine.len())];
            let sql = match rng.gen_range(0..3) {
                0 => "UPDATE public.escalations SET trigger_type = 'retargeted' WHERE interaction_id = ANY($1)",
                1 => "UPDATE public.escalations SET interaction_id = \
                      (SELECT id FROM public.interactions WHERE id = $2) WHERE interaction_id = ANY($1)",
                _ => "DELETE FROM public.escalations WHERE interaction_id = ANY($1)",
            };
            retries += retrying("escalations change", || {
                let (pool, ids) = (pool.clone(), ids.clone());
                async move {
                    sqlx::query(sql)
                        .bind(&ids)
                        .bind(other)
                        .execute(&pool)
                        .await
                        .map(drop)
                }
            })
            .await;
        } else {
            // An erasure of one session: its escalations, then its interactions, in one
            // transaction (as erase_customer_data does).
            let session = format!("s{}", rng.gen_range(0..30));
            retries += retrying("erasure", || {
                let (pool, session) = (pool.clone(), session.clone());
                async move {
                    let mut tx = pool.begin().await?;
                    sqlx::query(
                        "DELETE FROM public.escalations WHERE interaction_id IN \
                         (SELECT id FROM public.interactions \
                          WHERE session_id = $1 AND id >= $2 AND id < $3)",
                    )
                    .bind(&session)
                    .bind(Uuid::from_u128(u128::from(w) << 64))
                    .bind(Uuid::from_u128(u128::from(w + 1) << 64))
                    .execute(&mut *tx)
                    .await?;
                    sqlx::query(
                        "DELETE FROM public.interactions WHERE session_id = $1 AND id >= $2 AND id < $3",
                    )
                    .bind(&session)
                    .bind(Uuid::from_u128(u128::from(w) << 64))
                    .bind(Uuid::from_u128(u128::from(w + 1) << 64))
                    .execute(&mut *tx)
                    .await?;
                    tx.commit().await
                }
            })
            .await;
        }
    }
    retries
}

/// The metrics object from the rollups and from the raw rows, for one window and filter.
async fn both(pool: &PgPool, args: &Value) -> (Value, Value) {
    let call = |function: &str| {
        format!(
            "SELECT {function}($1->>'mode', ($1->>'from')::timestamptz, ($1->>'to')::timestamptz, \
             $1->>'intent', $1->>'category', $1->>'bucket', $1->>'tz')"
        )
    };
    let rollups: Value = sqlx::query_scalar(&call("public.interaction_metrics_tz"))
        .bind(args)
        .fetch_one(pool)
        .await
        .unwrap_or_else(|e| panic!("metrics from the rollups for {args}: {e}"));
    let raw: Value = sqlx::query_scalar(&call("assistant_db.interaction_metrics_raw"))
        .bind(args)
        .fetch_one(pool)
        .await
        .unwrap_or_else(|e| panic!("metrics from the rows for {args}: {e}"));
    (rollups, raw)
}

/// Equal JSON: integers exactly, other numbers within 1e-9 relative, percentiles within 1 %.
fn assert_same(actual: &Value, expected: &Value, path: &str, args: &Value) {
    match (actual, expected) {
        (Value::Number(a), Value::Number(e)) => {
            let percentile = [".p50", ".p95", ".p99"].iter().any(|p| path.ends_with(p));
            match (a.as_i64(), e.as_i64()) {
                (Some(a), Some(e)) if !percentile => assert_eq!(a, e, "{path} for {args}"),
                _ => {
                    let (a, e) = (
                        a.as_f64().unwrap_or(f64::NAN),
                        e.as_f64().unwrap_or(f64::NAN),
                    );
                    let tolerance = if percentile { 0.01 } else { 1e-9 };
                    assert!(
                        (a - e).abs() <= tolerance * e.abs().max(1.0),
                        "{path} for {args}: {a} from the rollups, {e} from the rows"
                    );
                }
            }
        }
        (Value::Object(a), Value::Object(e)) => {
            let keys: BTreeSet<&String> = a.keys().chain(e.keys()).collect();
            for k in keys {
                assert_same(
                    a.get(k).unwrap_or(&Value::Null),
                    e.get(k).unwrap_or(&Value::Null),
                    &format!("{path}.{k}"),
                    args,
                );
            }
        }
        (Value::Array(a), Value::Array(e)) => {
            assert_eq!(
                a.len(),
                e.len(),
                "length of {path} for {args}: {actual} vs {expected}"
            );
            for (i, (a, e)) in a.iter().zip(e).enumerate() {
                assert_same(a, e, &format!("{path}[{i}]"), args);
            }
        }
        _ => assert_eq!(actual, expected, "{path} for {args}"),
    }
}

#[tokio::test]
async fn concurrent_writers_leave_the_rollups_exact() {
    let options = common::migrated_options().await;
    let pool = PgPoolOptions::new()
        .max_connections(WRITERS as u32 + 1)
        .connect_with(options)
        .await
        .expect("connect");
    // Folds while others write are what this test is about, and at 012's pace (one per
    // 64 units of 250 rows) this traffic would reach few or none: each unit here advances
    // the sequence by 16, so every fourth unit is due and folds race the writers.
    common::exec(
        &pool,
        "ALTER SEQUENCE assistant_db.rollup_writes INCREMENT BY 16 RESTART WITH 16",
    )
    .await;

    let writers: Vec<_> = (0..WRITERS)
        .map(|w| tokio::spawn(writer(pool.clone(), w)))
        .collect();
    let mut retries = 0;
    for w in writers {
        retries += w.await.expect("a writer panicked");
    }
    // Writers only append to the rollups' delta tables and fold them in when no one else
    // is folding, so they never wait for each other there: no deadlock, not even for the
    // erasures, which write several statements on different groups.
    eprintln!("{WRITERS} writers × {STEPS} operations; deadlocks retried: {retries}");
    assert_eq!(retries, 0, "the rollups made writers deadlock");

    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM public.interactions")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert!(stored > 100, "the traffic left only {stored} rows");
    // The writers folded while the others wrote, so what is compared below is folded
    // rollups plus pending deltas, not deltas alone.
    let (histograms, sessions): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM assistant_db.rollup_times), \
                (SELECT count(*) FROM assistant_db.rollup_sessions)",
    )
    .fetch_one(&pool)
    .await
    .expect("count the folded rollups");
    assert!(
        histograms > 0 && sessions > 0,
        "no fold ran during the traffic: {histograms} histograms, {sessions} sessions folded"
    );

    let check = PgStore::rollups_check(&pool, HourRange::default())
        .await
        .expect("rollups_check");
    assert!(check.ok, "the rollups drifted: {check:?}");

    // Random windows (partial hours at both ends, none, one side), filters, buckets and
    // zones (one whose offset is not whole hours).
    let mut rng = StdRng::seed_from_u64(7);
    for _ in 0..WINDOWS {
        let at = |rng: &mut StdRng| {
            let span = if rng.gen_bool(0.5) {
                5 * 3600
            } else {
                3 * 86_400
            };
            (base() + Duration::seconds(rng.gen_range(-3600..span))).to_rfc3339()
        };
        let (from, to) = (at(&mut rng), at(&mut rng));
        let (from, to) = if from <= to { (from, to) } else { (to, from) };
        let mode = [Some("customer"), Some("banker"), None][rng.gen_range(0..3)];
        let from = rng.gen_bool(0.85).then_some(from);
        let to = rng.gen_bool(0.85).then_some(to);
        let intent = rng
            .gen_bool(0.3)
            .then(|| format!("intent_{}", rng.gen_range(0..5)));
        let category = rng.gen_bool(0.2).then_some("sensitive");
        let bucket = ["hour", "day", "week"][rng.gen_range(0..3)];
        let tz = ["UTC", "Europe/Paris", "Asia/Kolkata"][rng.gen_range(0..3)];
        let args = json!({
            "mode": mode, "from": from, "to": to, "intent": intent, "category": category,
            "bucket": bucket, "tz": tz,
        });
        let (rollups, raw) = both(&pool, &args).await;
        assert_same(&rollups, &raw, "", &args);
    }
}

#[tokio::test]
async fn check_finds_what_bypassed_the_triggers_and_rebuild_repairs_it() {
    let pool = common::migrated_db().await;
    common::exec(
        &pool,
        "INSERT INTO public.interactions (\"timestamp\", assistant_mode, user_query, outcome, processing_time_ms) \
         SELECT '2026-11-02T08:00:00Z'::timestamptz + g * interval '5 minutes', 'customer', 'q', 'resolved', g \
         FROM generate_series(1, 50) AS g",
    )
    .await;
    let whole = HourRange::default();
    assert!(
        PgStore::rollups_check(&pool, whole)
            .await
            .expect("check")
            .ok
    );

    // A restore with triggers off (session_replication_role = replica) bypasses them.
    let mut tx = pool.begin().await.expect("begin");
    sqlx::query("SET LOCAL session_replication_role = replica")
        .execute(&mut *tx)
        .await
        .expect("replica");
    sqlx::query(
        "INSERT INTO public.interactions (\"timestamp\", assistant_mode, user_query, outcome) \
         VALUES ('2026-11-02T09:30:00Z', 'banker', 'q', 'escalated')",
    )
    .execute(&mut *tx)
    .await
    .expect("insert");
    tx.commit().await.expect("commit");

    let check = PgStore::rollups_check(&pool, whole).await.expect("check");
    assert!(!check.ok, "{check:?}");
    assert_eq!(check.groups_differing.hours, 1, "{check:?}");
    // Outside the range it is not seen.
    let elsewhere = HourRange {
        from: Some(base() + Duration::days(1)),
        to: None,
    };
    assert!(
        PgStore::rollups_check(&pool, elsewhere)
            .await
            .expect("check")
            .ok
    );

    let hour = HourRange {
        from: Some(base() + Duration::hours(1)),
        to: Some(base() + Duration::hours(2)),
    };
    let rebuilt = PgStore::rollups_rebuild(&pool, hour)
        .await
        .expect("rebuild");
    assert_eq!(
        rebuilt, 13,
        "the hour holds 12 rows written through the triggers and 1 without"
    );
    assert!(
        PgStore::rollups_check(&pool, whole)
            .await
            .expect("check")
            .ok
    );

    // TRUNCATE empties them.
    common::exec(&pool, "TRUNCATE public.interactions CASCADE").await;
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM assistant_db.rollup_hours")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(left, 0);
}

/// After an erasure of `session`: no trace of its id in the rollups, the rollups equal a
/// recomputation, and the metrics they answer.
async fn after_erasing(pool: &PgPool, session: &str) -> Value {
    let traces: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM assistant_db.rollup_sessions WHERE session_id = $1) \
              + (SELECT count(*) FROM assistant_db.rollup_sessions_delta WHERE session_id = $1)",
    )
    .bind(session)
    .fetch_one(pool)
    .await
    .expect("count");
    assert_eq!(traces, 0, "the erased session's id is still in the rollups");
    assert!(
        PgStore::rollups_check(pool, HourRange::default())
            .await
            .expect("check")
            .ok
    );
    sqlx::query_scalar("SELECT public.interaction_metrics()")
        .fetch_one(pool)
        .await
        .expect("metrics")
}

#[tokio::test]
async fn an_erased_session_leaves_no_trace_in_the_rollups() {
    let pool = common::migrated_db().await;
    common::exec(
        &pool,
        "INSERT INTO public.interactions (\"timestamp\", assistant_mode, session_id, user_query, outcome) \
         SELECT '2026-11-02T08:00:00Z'::timestamptz + g * interval '1 minute', 'customer', \
                'conv-' || (g % 3), 'q', 'escalated' FROM generate_series(1, 30) AS g; \
         INSERT INTO public.escalations (interaction_id, trigger_type, escalation_reason) \
         SELECT id, 'human_only', 'r' FROM public.interactions",
    )
    .await;
    let erased: Value = sqlx::query_scalar(
        "SELECT to_jsonb(public.erase_customer_data('session', 'conv-1', NULL, NULL, 'sql'))",
    )
    .fetch_one(&pool)
    .await
    .expect("erase");
    assert!(erased.to_string().contains("10"), "{erased}");
    let metrics = after_erasing(&pool, "conv-1").await;
    assert_eq!(metrics["total_interactions"], 20, "{metrics}");
    assert_eq!(metrics["sessions"]["total"], 2, "{metrics}");
    assert_eq!(
        metrics["escalations_by_trigger"][0]["count"], 20,
        "{metrics}"
    );
}

#[tokio::test]
async fn an_erasure_during_a_fold_waits_for_it_and_leaves_no_trace_while_writers_go_on() {
    let pool = common::migrated_db().await;
    common::exec(
        &pool,
        "INSERT INTO public.interactions (\"timestamp\", assistant_mode, session_id, user_query, outcome) \
         SELECT '2026-11-02T08:00:00Z'::timestamptz + g * interval '1 minute', 'customer', \
                'conv-' || (g % 3), 'q', 'resolved' FROM generate_series(1, 30) AS g",
    )
    .await;
    // Another transaction holds the fold's lock, as a fold in progress does.
    let mut folding = pool.begin().await.expect("begin");
    sqlx::query("SELECT pg_advisory_xact_lock(2026, 11)")
        .execute(&mut *folding)
        .await
        .expect("take the fold's lock");
    let erasure = tokio::spawn({
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, Value>(
                "SELECT public.erase_customer_data('session', 'conv-1', NULL, NULL, 'sql')",
            )
            .fetch_one(&pool)
            .await
        }
    });
    // The erasure waits for that lock (seen waiting in pg_locks) ...
    let mut waited = false;
    for _ in 0..200 {
        waited = sqlx::query_scalar(
            "SELECT EXISTS (SELECT FROM pg_locks WHERE locktype = 'advisory' AND NOT granted \
                                                   AND classid = 2026 AND objid = 11)",
        )
        .fetch_one(&pool)
        .await
        .expect("read pg_locks");
        if waited || erasure.is_finished() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(waited, "the erasure did not wait for the running fold");
    // ... while a writer does not: its insert completes with the lock still held.
    common::exec(
        &pool,
        "INSERT INTO public.interactions (\"timestamp\", assistant_mode, session_id, user_query, outcome) \
         VALUES ('2026-11-02T09:00:00Z', 'banker', 'conv-9', 'q', 'resolved')",
    )
    .await;
    assert!(!erasure.is_finished(), "the erasure ended before the fold");
    folding.commit().await.expect("end the fold");
    let erased = erasure
        .await
        .expect("the erasure's task")
        .expect("the erasure");
    assert_eq!(erased["interactions"], 10, "{erased}");
    let metrics = after_erasing(&pool, "conv-1").await;
    assert_eq!(metrics["total_interactions"], 21, "{metrics}");
    assert_eq!(metrics["sessions"]["total"], 3, "{metrics}");
}

/// Windows over two weeks of rows, compared with the raw computation: whole hours, partial
/// hours at both ends (a window ending at some minute, as `30d` does), and hourly buckets of
/// a zone half an hour off UTC over twelve days, where every one of its 288 hours is an
/// edge hour read from the rows (past 256 of them, migration 014 reads the span between
/// the first and the last instead of naming each hour).
#[tokio::test]
async fn edge_hours_few_and_many_answer_as_the_rows_do() {
    let pool = common::migrated_db().await;
    common::exec(
        &pool,
        "INSERT INTO public.interactions (\"timestamp\", assistant_mode, session_id, user_query, \
             intent_name, outcome, confidence_score, processing_time_ms) \
         SELECT '2026-11-01T00:00:00Z'::timestamptz + g * interval '7 minutes 13 seconds', \
                CASE WHEN g % 3 = 0 THEN 'banker' ELSE 'customer' END, 's' || (g / 4), 'q', \
                'intent_' || (g % 5), CASE WHEN g % 7 = 0 THEN 'escalated' ELSE 'resolved' END, \
                (g % 100) / 100.0, 50 + (g * 37) % 4000 \
         FROM generate_series(1, 2800) AS g",
    )
    .await;
    let windows = [
        ("2026-11-03T00:00:00Z", "2026-11-10T00:00:00Z", "day", "UTC"),
        ("2026-11-02T09:41:07Z", "2026-11-12T16:05:59Z", "day", "UTC"),
        (
            "2026-11-02T09:41:07Z",
            "2026-11-12T16:05:59Z",
            "week",
            "Europe/Paris",
        ),
        (
            "2026-11-02T00:00:00Z",
            "2026-11-14T00:00:00Z",
            "hour",
            "Asia/Kolkata",
        ),
        (
            "2026-11-02T09:41:07Z",
            "2026-11-14T16:05:59Z",
            "hour",
            "Asia/Kolkata",
        ),
        (
            "2026-11-02T09:41:07Z",
            "2026-11-06T16:05:59Z",
            "hour",
            "Asia/Kolkata",
        ),
    ];
    for (from, to, bucket, tz) in windows {
        for mode in [None, Some("customer")] {
            let args = json!({
                "mode": mode, "from": from, "to": to, "intent": null, "category": null,
                "bucket": bucket, "tz": tz,
            });
            let (rollups, raw) = both(&pool, &args).await;
            let total = raw["total_interactions"].as_i64().unwrap_or(0);
            assert!(total > 100, "the window holds only {total} rows: {args}");
            assert_same(&rollups, &raw, "", &args);
        }
    }
}

#[tokio::test]
async fn the_rule_after_a_write_refuses_what_it_does_not_know() {
    let pool = common::migrated_db().await;
    let err = sqlx::query("SELECT assistant_db.rollups_after_write(10, 'later')")
        .execute(&pool)
        .await
        .expect_err("an unknown sessions mode");
    let text = err.to_string();
    assert!(
        text.contains("none, try, wait") && text.contains("later"),
        "{text}"
    );
}

/// Rows waiting in the delta tables (of the hours, the histograms and the escalations).
async fn pending(pool: &PgPool) -> i64 {
    sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM assistant_db.rollup_hours_delta) \
              + (SELECT count(*) FROM assistant_db.rollup_times_delta) \
              + (SELECT count(*) FROM assistant_db.rollup_triggers_delta)",
    )
    .fetch_one(pool)
    .await
    .expect("count the pending deltas")
}

/// An INSERT of `rows` customer interactions a second apart from 2026-11-02 08:00 UTC
/// plus `first` seconds, three to a session (`conv-` and the number of the third).
fn seconds_apart(first: u32, rows: u32) -> String {
    format!(
        "INSERT INTO public.interactions (\"timestamp\", assistant_mode, session_id, user_query, \
             outcome, processing_time_ms) \
         SELECT '2026-11-02T08:00:00Z'::timestamptz + g * interval '1 second', 'customer', \
                'conv-' || (g / 3), 'q', 'resolved', g % 4000 \
         FROM generate_series({first}, {first} + {rows} - 1) AS g"
    )
}

/// The customer interactions the metrics count from 2026-11-02 to `to`.
async fn customer_total(pool: &PgPool, to: &str) -> Value {
    let v: Value = sqlx::query_scalar(
        "SELECT public.interaction_metrics('customer', '2026-11-02T00:00:00Z', $1::timestamptz)",
    )
    .bind(to)
    .fetch_one(pool)
    .await
    .expect("metrics");
    v["total_interactions"].clone()
}

#[tokio::test]
async fn small_writes_wait_for_a_fold_and_a_large_one_folds_at_once() {
    let pool = common::migrated_db().await;
    let insert = |rows: u32| seconds_apart(1, rows);
    // Unit 1 taken: a statement takes a unit per 250 rows (at least one), and the one
    // reaching unit 64 folds. Ten of 20 rows and one of 1,000 (a logger's and an import's
    // batches) take units 2 to 15: nothing is folded yet.
    common::exec(&pool, "SELECT setval('assistant_db.rollup_writes', 1)").await;
    for _ in 0..10 {
        common::exec(&pool, &insert(20)).await;
    }
    common::exec(&pool, &insert(1000)).await;
    assert!(
        pending(&pool).await > 0,
        "small statements were folded before 16,000 rows were written"
    );
    let total = || customer_total(&pool, "2026-11-03T00:00:00Z");
    assert_eq!(total().await, json!(1200));

    // 16,000 rows are 64 units: that statement folds what is pending, its own deltas too.
    common::exec(&pool, &insert(16_000)).await;
    assert_eq!(pending(&pool).await, 0, "the large statement did not fold");
    assert_eq!(total().await, json!(17_200));

    // Escalations weigh by their rows too: one small statement waits, one of 17,200 folds.
    common::exec(
        &pool,
        "INSERT INTO public.escalations (interaction_id, trigger_type, escalation_reason) \
         SELECT id, 'low_confidence', 'r' FROM public.interactions LIMIT 10",
    )
    .await;
    assert!(
        pending(&pool).await > 0,
        "ten escalations were folded at once"
    );
    common::exec(
        &pool,
        "INSERT INTO public.escalations (interaction_id, trigger_type, escalation_reason) \
         SELECT id, 'human_only', 'r' FROM public.interactions",
    )
    .await;
    assert_eq!(pending(&pool).await, 0, "17,200 escalations did not fold");
    assert!(
        PgStore::rollups_check(&pool, HourRange::default())
            .await
            .expect("check")
            .ok
    );
}

/// A statement that is due to fold and whose transaction set `assistant_db.fold` to
/// 'elsewhere' leaves its deltas pending (the metrics stay exact), saying so in
/// `assistant_db.fold_due`, until `assistant_db.rollups_fold()` folds them; an erasure in
/// such a transaction still folds the sessions it erased; without the setting the same
/// statement folds at once.
#[tokio::test]
async fn a_writer_that_folds_elsewhere_leaves_its_deltas_to_rollups_fold() {
    let pool = common::migrated_db().await;
    let insert = seconds_apart;
    let total = || customer_total(&pool, "2026-11-04T00:00:00Z");

    // 16,000 rows: due to fold whatever the turn (64 units); a small statement before it,
    // in the same transaction, is not.
    let due = "SELECT current_setting('assistant_db.fold_due', true)";
    let mut tx = pool.begin().await.expect("begin");
    for sql in [
        "SET LOCAL assistant_db.fold = 'elsewhere'".to_owned(),
        "SELECT setval('assistant_db.rollup_writes', 1)".to_owned(),
        insert(1, 10),
    ] {
        sqlx::query(&sql).execute(&mut *tx).await.expect("write");
    }
    let told: Option<String> = sqlx::query_scalar(due)
        .fetch_one(&mut *tx)
        .await
        .expect("read the turn");
    assert_ne!(
        told.as_deref(),
        Some("true"),
        "a statement of ten rows had the turn"
    );
    sqlx::query(&insert(11, 15_990))
        .execute(&mut *tx)
        .await
        .expect("write");
    let told: Option<String> = sqlx::query_scalar(due)
        .fetch_one(&mut *tx)
        .await
        .expect("read the turn");
    assert_eq!(
        told.as_deref(),
        Some("true"),
        "the due statement did not tell its writer"
    );
    tx.commit().await.expect("commit");
    assert!(
        pending(&pool).await > 0,
        "the statement folded although its transaction left it elsewhere"
    );
    assert_eq!(total().await, json!(16_000));

    let folded: bool = sqlx::query_scalar("SELECT assistant_db.rollups_fold()")
        .fetch_one(&pool)
        .await
        .expect("fold");
    assert!(folded, "no other fold runs, yet rollups_fold did not fold");
    assert_eq!(pending(&pool).await, 0, "rollups_fold left deltas pending");
    assert_eq!(total().await, json!(16_000));

    // An erasure leaves no session id behind, whatever the transaction asks of the fold.
    let mut tx = pool.begin().await.expect("begin");
    for sql in [
        "SET LOCAL assistant_db.fold = 'elsewhere'",
        "DELETE FROM public.interactions WHERE session_id = 'conv-7'",
    ] {
        sqlx::query(sql).execute(&mut *tx).await.expect("erase");
    }
    tx.commit().await.expect("commit");
    let traces: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM assistant_db.rollup_sessions WHERE session_id = 'conv-7') \
              + (SELECT count(*) FROM assistant_db.rollup_sessions_delta WHERE session_id = 'conv-7')",
    )
    .fetch_one(&pool)
    .await
    .expect("count the traces");
    assert_eq!(traces, 0, "the erased session's id stayed in the rollups");

    // Without the setting, the same statement folds at once.
    common::exec(&pool, &insert(20_001, 16_000)).await;
    assert_eq!(
        pending(&pool).await,
        0,
        "a writer's due statement did not fold"
    );
    assert_eq!(total().await, json!(31_997));
    assert!(
        PgStore::rollups_check(&pool, HourRange::default())
            .await
            .expect("check")
            .ok
    );
}

/// The import's staged batches leave their fold to the store, which folds on a connection
/// of its own once a batch that had the turn is committed: while a batch of 17,000 rows
/// (due to fold) waits to be committed, no fold holds the fold's lock; after its commit
/// the store's fold empties the deltas, and the rollups equal the rows.
#[tokio::test]
async fn staged_batches_leave_their_fold_to_the_store() {
    use assistant_db::store::Store;

    let pool = common::migrated_db().await;
    let store = PgStore::new(pool.clone(), "the test database");
    // A thousand demo interactions (generating them is slow in a debug build), seventeen
    // times under new ids, a minute apart.
    let config = assistant_db::demo::DemoConfig {
        seed: 15,
        interactions: 1_000,
        start: base(),
        days: 1,
    };
    let demo: Vec<assistant_db::model::Interaction> = assistant_db::demo::Generator::new(&config)
        .map(|turn| turn.interaction)
        .collect();
    let rows: Vec<assistant_db::model::Interaction> = (0..17)
        .flat_map(|k| {
            demo.iter().map(move |row| {
                let mut row = row.clone();
                row.id = Uuid::now_v7();
                row.timestamp += Duration::minutes(k);
                row
            })
        })
        .collect();
    let staged = store.stage_interactions(rows).await.expect("stage");

    let mut probe = pool.begin().await.expect("begin");
    let free: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock(2026, 11)")
        .fetch_one(&mut *probe)
        .await
        .expect("try the fold's lock");
    probe.rollback().await.expect("rollback");
    assert!(free, "the staged batch folded inside its own transaction");

    assert_eq!(staged.commit().await.expect("commit"), 17_000);
    idle_and_folded(
        &pool,
        &store,
        "the store is idle, yet the staged batch's deltas are pending",
    )
    .await;
}

/// Waits (two minutes at most) until no fold of `store` runs, then asserts that nothing
/// is pending (`lost` says what it means if something is) and that the rollups of the
/// days around `base()` equal the rows.
async fn idle_and_folded(pool: &PgPool, store: &PgStore, lost: &str) {
    use assistant_db::store::Store;

    tokio::time::timeout(std::time::Duration::from_secs(120), store.idle())
        .await
        .expect("the store's folds did not end within two minutes");
    assert_eq!(pending(pool).await, 0, "{lost}");
    let window = HourRange {
        from: Some(base() - Duration::days(1)),
        to: Some(base() + Duration::days(2)),
    };
    assert!(
        PgStore::rollups_check(pool, window)
            .await
            .expect("check")
            .ok
    );
}

/// A statement that writes no row takes no turn (migration 016): with unit 64 (due) next,
/// an INSERT of nothing leaves the sequence where it was, and the statement after it,
/// of twenty rows, takes that unit and folds.
#[tokio::test]
async fn a_statement_that_writes_nothing_takes_no_turn() {
    let pool = common::migrated_db().await;
    common::exec(&pool, &seconds_apart(1, 20)).await;
    common::exec(&pool, "SELECT setval('assistant_db.rollup_writes', 63)").await;
    common::exec(&pool, &format!("{} WHERE false", seconds_apart(100, 20))).await;
    let last: i64 = sqlx::query_scalar("SELECT last_value FROM assistant_db.rollup_writes")
        .fetch_one(&pool)
        .await
        .expect("read the sequence");
    assert_eq!(last, 63, "a statement of no row took a unit");
    assert!(
        pending(&pool).await > 0,
        "the first twenty rows were folded"
    );

    common::exec(&pool, &seconds_apart(1_000, 20)).await;
    assert_eq!(
        pending(&pool).await,
        0,
        "the statement taking unit 64 did not fold"
    );
    assert_eq!(
        customer_total(&pool, "2026-11-03T00:00:00Z").await,
        json!(40)
    );
}

/// Folds what is pending, then reads one session's stored state: its first turn (UTC
/// hour and minute) and whether it escalated.
async fn folded_session(pool: &PgPool, session: &str) -> Option<(String, bool)> {
    let folded: bool = sqlx::query_scalar("SELECT assistant_db.rollups_fold()")
        .fetch_one(pool)
        .await
        .expect("fold");
    assert!(folded, "another fold was running");
    sqlx::query_as(
        "SELECT to_char(first_at AT TIME ZONE 'UTC', 'HH24:MI'), escalated \
         FROM assistant_db.rollup_sessions WHERE session_id = $1",
    )
    .bind(session)
    .fetch_optional(pool)
    .await
    .expect("read the stored session")
}

/// A session the rollups already hold changes in later folds (migration 017 updates it
/// where it inserts a new one): a later escalated turn makes it escalated, an earlier
/// turn in another hour becomes its first, and deleting its rows takes it away; the
/// hours' session counts follow it each time.
#[tokio::test]
async fn a_stored_session_changes_with_the_turns_later_folds_bring() {
    let pool = common::migrated_db().await;
    let turn = |at: &str, outcome: &str| {
        format!(
            "INSERT INTO public.interactions (\"timestamp\", assistant_mode, session_id, user_query, outcome) \
             VALUES ('2026-11-02T{at}:00Z', 'customer', 'conv-moving', 'q', '{outcome}'), \
                    ('2026-11-02T{at}:30Z', 'customer', 'conv-still', 'q', 'resolved')"
        )
    };
    let window = json!({
        "mode": "customer", "from": "2026-11-02T00:00:00Z", "to": "2026-11-03T00:00:00Z",
        "intent": null, "category": null, "bucket": "hour", "tz": "UTC",
    });
    let exact = |step: &'static str| {
        let (pool, window) = (pool.clone(), window.clone());
        async move {
            let (rollups, raw) = both(&pool, &window).await;
            assert_same(&rollups, &raw, step, &window);
            assert!(
                PgStore::rollups_check(&pool, HourRange::default())
                    .await
                    .expect("check")
                    .ok,
                "{step}: the rollups differ from the rows"
            );
        }
    };

    common::exec(&pool, &turn("10:30", "resolved")).await;
    let stored = folded_session(&pool, "conv-moving").await;
    assert_eq!(stored, Some(("10:30".to_owned(), false)));
    exact("new").await;

    common::exec(&pool, &turn("11:10", "escalated")).await;
    let stored = folded_session(&pool, "conv-moving").await;
    assert_eq!(
        stored,
        Some(("10:30".to_owned(), true)),
        "a later turn escalated"
    );
    exact("escalated").await;

    common::exec(&pool, &turn("08:15", "resolved")).await;
    let stored = folded_session(&pool, "conv-moving").await;
    assert_eq!(
        stored,
        Some(("08:15".to_owned(), true)),
        "an earlier turn came"
    );
    exact("earlier").await;

    common::exec(
        &pool,
        "DELETE FROM public.interactions WHERE session_id = 'conv-moving'",
    )
    .await;
    assert_eq!(folded_session(&pool, "conv-moving").await, None);
    exact("deleted").await;
    let (rollups, _) = both(&pool, &window).await;
    assert_eq!(rollups["sessions"]["total"], 1, "{rollups}");
}

/// The logger's batches leave their fold to the store as staged batches do: a batch whose
/// statement has the turn does not fold inside its transaction (it commits while the
/// rollups' hours are locked, which a fold would wait for), and the store folds once it
/// has committed; only the turn matters, not how many rows this store wrote.
#[tokio::test]
async fn logged_batches_leave_their_fold_to_the_store() {
    let pool = common::migrated_db().await;
    let store = PgStore::new(pool.clone(), "the test database");

    // While another transaction holds the hours, a fold would wait for it; the batch
    // (its COPY takes two units, 64 and 65) has the turn.
    let mut hold = pool.begin().await.expect("begin");
    sqlx::query("LOCK TABLE assistant_db.rollup_hours IN SHARE ROW EXCLUSIVE MODE")
        .execute(&mut *hold)
        .await
        .expect("lock the hours");
    assert_eq!(
        log_with_the_turn(&pool, &store, &spooled(16, 500)).await,
        500
    );
    assert!(
        pending(&pool).await > 0,
        "the deltas were folded while the hours were locked"
    );
    hold.rollback().await.expect("release the hours");

    idle_and_folded(
        &pool,
        &store,
        "the store is idle, yet it did not fold after the batch that had the turn",
    )
    .await;
}

/// `interactions` demo interactions of `seed`, as the logger's spool holds them.
fn spooled(seed: u64, interactions: usize) -> Vec<String> {
    let config = assistant_db::demo::DemoConfig {
        seed,
        interactions,
        start: base(),
        days: 1,
    };
    assistant_db::demo::Generator::new(&config)
        .map(|turn| serde_json::to_string(&turn.interaction).expect("encode"))
        .collect()
}

/// Logs `texts` through `store` as one batch whose statement has the turn to fold (unit
/// 64 is next); returns how many interactions were new.
async fn log_with_the_turn(pool: &PgPool, store: &PgStore, texts: &[String]) -> u64 {
    use assistant_db::store::{EncodedEntry, Store};

    common::exec(pool, "SELECT setval('assistant_db.rollup_writes', 63)").await;
    let entries: Vec<EncodedEntry<'_>> = texts
        .iter()
        .map(|text| EncodedEntry {
            interaction: Some(text),
            escalation: None,
        })
        .collect();
    tokio::time::timeout(
        std::time::Duration::from_secs(30),
        store.log_encoded(&entries),
    )
    .await
    .expect("a logged batch with the turn waited 30 s: it folded inside its transaction")
    .expect("log a batch")
    .interactions
}

/// Waits (a minute at most) until a fold started by a store waits for a lock.
async fn a_fold_waits_for_a_lock(pool: &PgPool) {
    let started = std::time::Instant::now();
    loop {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_catalog.pg_stat_activity \
             WHERE wait_event_type = 'Lock' AND query LIKE '%rollups_fold%'",
        )
        .fetch_one(pool)
        .await
        .expect("read the activity");
        if waiting > 0 {
            return;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "the store did not start a fold after the batch that had the turn"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// A batch that has the turn while the store's own fold runs is not lost: that fold runs
/// once more when it ends. The store's first fold is held at the sessions (another
/// transaction holds them) after it has folded the hours; a second batch with the turn
/// commits meanwhile, its deltas written after the fold read the hours'. Once the store
/// is idle nothing is pending, and the rollups equal the rows.
#[tokio::test]
async fn a_turn_taken_while_the_store_folds_is_folded_after_that_fold() {
    let pool = common::migrated_db().await;
    let store = PgStore::new(pool.clone(), "the test database");
    let (first, second) = (spooled(17, 300), spooled(18, 300));

    let mut hold = pool.begin().await.expect("begin");
    sqlx::query("LOCK TABLE assistant_db.rollup_sessions IN SHARE MODE")
        .execute(&mut *hold)
        .await
        .expect("hold the sessions");
    assert_eq!(log_with_the_turn(&pool, &store, &first).await, 300);
    a_fold_waits_for_a_lock(&pool).await;
    assert_eq!(log_with_the_turn(&pool, &store, &second).await, 300);
    assert!(
        pending(&pool).await > 0,
        "the second batch's deltas were folded while the fold before was held"
    );
    hold.rollback().await.expect("release the sessions");

    idle_and_folded(
        &pool,
        &store,
        "the turn of the batch committed while the store folded was lost",
    )
    .await;
}

/// A fold held back by a lock on a rollup table gives up at its lock timeout and leaves
/// what is pending to the next turn: the store is idle within seconds, not when the lock
/// is released (an import would wait for that to exit). Its batches still leave their
/// folds to the store (a batch folding in its own statement would wait for the lock),
/// and once the lock is released the next turn folds everything.
#[tokio::test]
async fn a_fold_held_back_by_a_lock_leaves_what_is_pending_to_the_next_turn() {
    use assistant_db::store::Store;

    let pool = common::migrated_db().await;
    let store = PgStore::new(pool.clone(), "the test database");

    let mut hold = pool.begin().await.expect("begin");
    sqlx::query("LOCK TABLE assistant_db.rollup_sessions IN SHARE MODE")
        .execute(&mut *hold)
        .await
        .expect("hold the sessions");
    for seed in [19, 20] {
        assert_eq!(
            log_with_the_turn(&pool, &store, &spooled(seed, 300)).await,
            300
        );
        a_fold_waits_for_a_lock(&pool).await;
        tokio::time::timeout(std::time::Duration::from_secs(60), store.idle())
            .await
            .expect("the store's fold waited a minute for a lock: it has no lock timeout");
        assert!(
            pending(&pool).await > 0,
            "a fold held back by a lock folded the deltas"
        );
    }
    hold.rollback().await.expect("release the sessions");

    assert_eq!(
        log_with_the_turn(&pool, &store, &spooled(21, 300)).await,
        300
    );
    idle_and_folded(
        &pool,
        &store,
        "the turn after the lock was released did not fold what the held-back folds left",
    )
    .await;
}

/// What migration 011's `histogram_merge` computed, for comparison: the buckets of
/// either, ascending, with the sums of their counts, a bucket whose sum is zero left out.
const MERGE_BY_BUCKET: &str = "\
    SELECT coalesce(array_agg(x.b ORDER BY x.b), '{}') AS buckets, \
           coalesce(array_agg(x.n ORDER BY x.b), '{}') AS counts \
    FROM (SELECT u.b, sum(u.n)::bigint AS n \
          FROM (SELECT * FROM ROWS FROM (unnest($1::smallint[]), unnest($2::bigint[])) AS a(b, n) \
                UNION ALL \
                SELECT * FROM ROWS FROM (unnest($3::smallint[]), unnest($4::bigint[])) AS c(b, n)) AS u \
          GROUP BY u.b HAVING sum(u.n) <> 0) AS x";

/// Buckets and counts of a histogram as a test may pass them, odd ones too.
type Histogram = (Option<Vec<Option<i16>>>, Option<Vec<Option<i64>>>);

/// A random histogram: mostly as the fold writes them (buckets strictly ascending, as many
/// counts), sometimes out of order, with a bucket twice, a NULL, a count missing, or NULL.
fn histogram(rng: &mut StdRng) -> Histogram {
    let mut buckets: Vec<i16> = (0..rng.gen_range(0..40))
        .map(|_| rng.gen_range(0..300))
        .collect::<BTreeSet<i16>>()
        .into_iter()
        .collect();
    let mut counts: Vec<Option<i64>> = buckets
        .iter()
        .map(|_| Some(rng.gen_range(-3..20)))
        .collect();
    let buckets_of: Vec<Option<i16>> = match rng.gen_range(0..20) {
        0 if buckets.len() > 1 => {
            buckets.swap(0, 1);
            buckets.into_iter().map(Some).collect()
        }
        1 if !buckets.is_empty() => {
            let last = buckets[buckets.len() - 1];
            buckets.push(last);
            counts.push(Some(1));
            buckets.into_iter().map(Some).collect()
        }
        2 if !buckets.is_empty() => {
            let mut with_null: Vec<Option<i16>> = buckets.into_iter().map(Some).collect();
            with_null[0] = None;
            with_null
        }
        3 if !counts.is_empty() => {
            counts[0] = None;
            buckets.into_iter().map(Some).collect()
        }
        4 if !counts.is_empty() => {
            counts.pop();
            buckets.into_iter().map(Some).collect()
        }
        5 => return (None, None),
        _ => buckets.into_iter().map(Some).collect(),
    };
    (Some(buckets_of), Some(counts))
}

/// Migration 018's `histogram_merge` walks two sorted histograms and adds anything else
/// by bucket: for random pairs (a tenth of them one histogram and its negation, whose
/// sum is empty; some out of order, with duplicates, NULLs or counts missing), arrays of
/// other shapes, and the empty and NULL ones, it gives what 011's query gave.
#[tokio::test]
async fn histogram_merge_gives_what_adding_by_bucket_gives() {
    let pool = common::migrated_db().await;
    let mut rng = StdRng::seed_from_u64(18);
    let mut cases: Vec<(Histogram, Histogram)> = (0..1_500)
        .map(|k| {
            let p = histogram(&mut rng);
            let q = if k % 10 == 0 {
                let counts =
                    p.1.as_ref()
                        .map(|c| c.iter().map(|n| n.map(|n| -n)).collect());
                (p.0.clone(), counts)
            } else {
                histogram(&mut rng)
            };
            (p, q)
        })
        .collect();
    cases.push(((Some(vec![]), Some(vec![])), (Some(vec![]), Some(vec![]))));
    cases.push(((None, None), (Some(vec![Some(2)]), Some(vec![Some(5)]))));

    let mut walked = 0;
    for ((pb, pc), (qb, qc)) in &cases {
        let (same, merged, expected, sorted): (bool, String, String, bool) = sqlx::query_as(&format!(
            "WITH m AS (SELECT * FROM assistant_db.histogram_merge($1, $2, $3, $4)), \
                  e AS ({MERGE_BY_BUCKET}) \
             SELECT (m.buckets, m.counts) IS NOT DISTINCT FROM (e.buckets, e.counts), \
                    m::text, e::text, \
                    coalesce($1 = (SELECT array_agg(DISTINCT b ORDER BY b) FROM unnest($1) AS b), true) \
             FROM m, e"
        ))
        .bind(pb)
        .bind(pc)
        .bind(qb)
        .bind(qc)
        .fetch_one(&pool)
        .await
        .expect("merge two histograms");
        assert!(
            same,
            "histogram_merge({pb:?}, {pc:?}, {qb:?}, {qc:?}) gave {merged}, adding by bucket {expected}"
        );
        walked += usize::from(sorted);
    }
    assert!(walked > 1_000, "too few sorted histograms: {walked}");

    // Arrays the parameters above cannot be: two dimensions, subscripts not from 1.
    for (p, q) in [
        (
            "'{{1,2},{3,4}}'::smallint[], '{{1,1},{1,1}}'::bigint[]",
            "'{2}'::smallint[], '{5}'::bigint[]",
        ),
        (
            "'[0:1]={1,2}'::smallint[], '[0:1]={7,8}'::bigint[]",
            "'{2}'::smallint[], '{5}'::bigint[]",
        ),
        (
            "'{1,2}'::smallint[], '[2:3]={7,8}'::bigint[]",
            "'{2,3}'::smallint[], '{5,-8}'::bigint[]",
        ),
    ] {
        let args = format!("{p}, {q}");
        let (same, merged): (bool, String) = sqlx::query_as(&format!(
            "WITH m AS (SELECT * FROM assistant_db.histogram_merge({args})), \
                  e AS ({}) \
             SELECT (m.buckets, m.counts) IS NOT DISTINCT FROM (e.buckets, e.counts), m::text \
             FROM m, e",
            MERGE_BY_BUCKET
                .replace("$1::smallint[]", p.split(", ").next().expect("buckets"))
                .replace("$2::bigint[]", p.split(", ").nth(1).expect("counts"))
                .replace("$3::smallint[]", q.split(", ").next().expect("buckets"))
                .replace("$4::bigint[]", q.split(", ").nth(1).expect("counts"))
        ))
        .fetch_one(&pool)
        .await
        .expect("merge two odd histograms");
        assert!(same, "histogram_merge({args}) gave {merged}");
    }
}

/// The fold is never compiled by JIT (migration 018): its estimates swing with the delta
/// tables', and compiling cost a fold of 16,000 rows 50 ms or more where it ran in 180.
#[tokio::test]
async fn the_fold_runs_without_jit() {
    let pool = common::migrated_db().await;
    let config: Option<Vec<String>> = sqlx::query_scalar(
        "SELECT proconfig FROM pg_catalog.pg_proc \
         WHERE oid = 'assistant_db.rollups_compact(boolean)'::regprocedure",
    )
    .fetch_one(&pool)
    .await
    .expect("read the fold's settings");
    assert!(
        config.unwrap_or_default().iter().any(|s| s == "jit=off"),
        "rollups_compact may be compiled by JIT"
    );
}

//! `assistant-db rollups check|rebuild` against a real PostgreSQL: check exits 0 when the
//! rollups equal the rows and 1 when a write bypassed the triggers (in words naming the
//! repair, or as JSON counting the groups that differ); a range that leaves the bypassed
//! hour out does not see it; rebuild of that range repairs it; a half-open rebuild range
//! is refused naming the options.

mod common;

use common::{assert_args_ok, json_of, run_against, scratch_db, show, stderr, stdout, Schema};

/// Forty interactions over the morning of 2 November 2026, written through the triggers.
const ROWS: &str = "INSERT INTO public.interactions \
    (\"timestamp\", assistant_mode, session_id, user_query, outcome, processing_time_ms, confidence_score) \
    SELECT '2026-11-02T08:00:00Z'::timestamptz + g * interval '5 minutes', \
           CASE WHEN g % 2 = 0 THEN 'customer' ELSE 'banker' END, 'conv-' || (g / 3), 'q', \
           CASE WHEN g % 5 = 0 THEN 'escalated' ELSE 'resolved' END, 100 * g, 0.5 \
    FROM generate_series(1, 40) AS g";

/// One interaction at 13:30 written with the triggers off, as a restore of one table does.
const BYPASS: &str = "BEGIN; SET LOCAL session_replication_role = replica; \
    INSERT INTO public.interactions (\"timestamp\", assistant_mode, user_query, outcome) \
    VALUES ('2026-11-02T13:30:00Z', 'banker', 'q', 'escalated'); COMMIT;";

#[tokio::test]
async fn check_exits_1_on_a_bypassed_write_and_rebuild_repairs_it() {
    let db = scratch_db(Schema::Migrated).await;
    let pool = db.pool().await;
    let url = db.url.as_str();
    sqlx::raw_sql(ROWS).execute(&pool).await.expect("insert");

    let args = ["rollups", "check", "--json"];
    let ok = json_of(&assert_args_ok(&args, &run_against(url, &args)));
    assert_eq!(ok["ok"], true, "{ok}");

    sqlx::raw_sql(BYPASS).execute(&pool).await.expect("bypass");

    // In words: exit 1, what differs, and the command that repairs it.
    let out = run_against(url, &["rollups", "check"]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let text = stdout(&out);
    assert!(
        text.contains("differ from the raw rows") && text.contains("assistant-db rollups rebuild"),
        "{}",
        show(&out)
    );
    // As JSON: exit 1, the groups that differ counted.
    let out = run_against(url, &["rollups", "check", "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let drift = json_of(&stdout(&out));
    assert_eq!(drift["ok"], false, "{drift}");
    assert_eq!(drift["groups_differing"]["hours"], 1, "{drift}");
    assert_eq!(drift["groups_differing"]["times"], 0, "{drift}");

    // The morning's hours alone equal the rows: the bypassed hour is outside.
    let morning = [
        "rollups",
        "check",
        "--from",
        "2026-11-02T08:00:00Z",
        "--to",
        "2026-11-02T12:59:59Z",
        "--json",
    ];
    let out = run_against(url, &morning);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));

    // A rebuild needs both ends of a range (or neither).
    let out = run_against(
        url,
        &["rollups", "rebuild", "--from", "2026-11-02T13:00:00Z"],
    );
    assert!(!out.status.success(), "{}", show(&out));
    assert!(stderr(&out).contains("--from and --to"), "{}", show(&out));

    // Rebuilding the afternoon counts the 13 o'clock rows (the bypassed one included) and
    // repairs what check found.
    let rebuild = [
        "rollups",
        "rebuild",
        "--from",
        "2026-11-02T12:00:00Z",
        "--to",
        "2026-11-02T14:00:00Z",
        "--json",
    ];
    let rebuilt = json_of(&assert_args_ok(&rebuild, &run_against(url, &rebuild)));
    let afternoon: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM public.interactions \
         WHERE \"timestamp\" >= '2026-11-02T12:00:00Z' AND \"timestamp\" < '2026-11-02T15:00:00Z'",
    )
    .fetch_one(&pool)
    .await
    .expect("count");
    assert_eq!(rebuilt["interactions"], afternoon, "{rebuilt}");
    let args = ["rollups", "check"];
    let text = assert_args_ok(&args, &run_against(url, &args));
    assert!(text.contains("equal the raw rows"), "{text}");
    let metrics = json_of(&assert_args_ok(
        &["metrics", "--json"],
        &run_against(url, &["metrics", "--json"]),
    ));
    assert_eq!(metrics["total_interactions"], 41, "{metrics}");
}

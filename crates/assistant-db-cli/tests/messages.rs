//! What the command says when something is wrong: an unreachable or unmigrated database,
//! a record that is not JSON or breaks several rules, an id that is not a UUID, a flag
//! that does not apply; and what it does about it: `import --skip-invalid --rejects`,
//! `export -o` over an existing file, `migrate --status`, a stopped local database.

mod common;

use std::fs;

use common::{
    assert_args_ok, assert_ok, command, json_of, run, run_against, scratch_db, scratch_url, show,
    stderr, stdout, Home, Schema,
};

#[test]
fn a_refused_connection_fails_at_once_naming_the_address_without_the_password() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run(command(dir.path()).args([
        "interactions",
        "list",
        "--database-url",
        "postgres://u:hunter2@127.0.0.1:1/db",
    ]));
    assert!(!out.status.success(), "{}", show(&out));
    let err = stderr(&out);
    assert!(err.contains("connection refused at 127.0.0.1:1"), "{err}");
    assert!(!err.contains("timed out"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
}

#[tokio::test]
async fn an_unmigrated_database_says_to_run_migrate() {
    let url = scratch_url(Schema::Empty).await;
    for args in [
        &["interactions", "list"][..],
        &[
            "log",
            "interaction",
            r#"{"assistant_mode":"customer","user_query":"q","outcome":"resolved"}"#,
        ][..],
        &["metrics"][..],
    ] {
        let out = run_against(&url, args);
        assert!(!out.status.success(), "{args:?}: {}", show(&out));
        let err = stderr(&out);
        assert!(
            err.contains("does not have assistant-db's schema")
                && err.contains("run `assistant-db migrate`"),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn log_says_what_is_not_json_in_words_and_reports_every_bad_field() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run(command(dir.path()).args(["log", "interaction", "{not json"]));
    assert!(!out.status.success(), "{}", show(&out));
    let err = stderr(&out);
    assert!(
        err.contains(
            "the interaction was not written: not JSON: expected a string key in double \
             quotes at line 1 column 2"
        ),
        "{err}"
    );
    assert!(!err.contains("invalid `.`"), "{err}");

    let out = run(command(dir.path()).args([
        "log",
        "interaction",
        r#"{"assistant_mode":"robot","user_query":"q","outcome":"resolved","confidence_score":7,"colour":"red"}"#,
    ]));
    assert!(!out.status.success(), "{}", show(&out));
    let err = stderr(&out);
    assert!(err.contains("3 fields break a rule:"), "{err}");
    for expected in [
        "`assistant_mode` must be one of 'customer', 'banker' (got \"robot\")",
        "`colour` is not a column of interactions",
        "`confidence_score` must be between 0 and 1",
    ] {
        assert!(err.contains(expected), "{expected} missing from {err}");
    }
}

#[test]
fn show_says_an_id_is_not_a_uuid_in_words() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run(command(dir.path()).args(["interactions", "show", "not-a-uuid"]));
    assert!(!out.status.success(), "{}", show(&out));
    let err = stderr(&out);
    assert!(
        err.contains("`not-a-uuid` is not an interaction id (a UUID such as "),
        "{err}"
    );
    assert!(!err.contains("invalid character"), "{err}");
}

#[test]
fn schema_and_local_refuse_a_database_url_they_would_ignore() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (args, says) in [
        (
            &["schema"][..],
            "`schema` prints SQL and connects to no database",
        ),
        (
            &["local", "status"][..],
            "`local` manages the embedded PostgreSQL",
        ),
    ] {
        let out = run(command(dir.path())
            .args(args)
            .args(["--database-url", "postgres://u@db.example/x"]));
        assert!(!out.status.success(), "{args:?}: {}", show(&out));
        assert!(stdout(&out).is_empty(), "{args:?}: {}", show(&out));
        let err = stderr(&out);
        assert!(
            err.contains(says) && err.contains("--database-url"),
            "{err}"
        );
    }
    // Without the flag, `schema` prints the SQL.
    let sql = assert_ok(&run(command(dir.path()).arg("schema")));
    assert!(sql.contains("CREATE INDEX IF NOT EXISTS idx_interactions_timestamp_id"));
}

#[tokio::test]
async fn import_skip_invalid_succeeds_and_writes_the_bad_records_as_they_were() {
    let db = scratch_db(Schema::Migrated).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let good = |n: u32| {
        format!(
            r#"{{"assistant_mode":"customer","user_query":"question {n}","outcome":"resolved"}}"#
        )
    };
    let bad_fields =
        r#"{"assistant_mode":"robot","user_query":"q","outcome":"resolved","confidence_score":7}"#;
    let not_json = r#"{"assistant_mode": "customer", oops"#;
    let input = format!(
        "{}\n{bad_fields}\n{}\n{not_json}\r\n{}\n",
        good(1),
        good(2),
        good(3)
    );
    let file = dir.path().join("in.ndjson");
    fs::write(&file, &input).expect("input");
    let rejects = dir.path().join("rejects.ndjson");
    let file_arg = file.display().to_string();
    let rejects_arg = rejects.display().to_string();
    let args = [
        "import",
        "interactions",
        file_arg.as_str(),
        "--skip-invalid",
        "--rejects",
        rejects_arg.as_str(),
        "--json",
    ];
    let out = run(command(dir.path())
        .args(args)
        .args(["--database-url", &db.url]));
    let summary = json_of(&assert_args_ok(&args, &out));
    assert_eq!(
        (
            &summary["read"],
            &summary["written"],
            &summary["invalid"],
            &summary["rejects_written"]
        ),
        (
            &serde_json::json!(5),
            &serde_json::json!(3),
            &serde_json::json!(2),
            &serde_json::json!(2)
        ),
        "{summary}"
    );
    // Every rule of the record with two bad fields, with its line.
    let errors = summary["errors"].as_array().expect("errors");
    let on_line_2: Vec<&str> = errors
        .iter()
        .filter(|e| e["line"] == 2)
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert_eq!(
        on_line_2,
        ["assistant_mode", "confidence_score"],
        "{summary}"
    );
    let err = stderr(&out);
    assert!(err.contains("skipped 2 invalid records"), "{err}");
    // The bad lines, byte for byte.
    assert_eq!(
        fs::read_to_string(&rejects).expect("rejects"),
        format!("{bad_fields}\n{not_json}\n")
    );
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM public.interactions")
        .fetch_one(&db.pool().await)
        .await
        .expect("count");
    assert_eq!(count, 3);

    // A rejects file is never overwritten.
    let out = run(command(dir.path())
        .args(args)
        .args(["--database-url", &db.url]));
    assert!(!out.status.success(), "{}", show(&out));
    assert!(stderr(&out).contains("exists"), "{}", show(&out));

    // CSV: the rejects file starts with the input's header, and keeps a quoted cell's
    // line break.
    let csv = dir.path().join("in.csv");
    fs::write(
        &csv,
        "assistant_mode,user_query,outcome\r\ncustomer,fine,resolved\r\nrobot,\"two\nlines\",resolved\r\n",
    )
    .expect("csv");
    let csv_rejects = dir.path().join("rejects.csv");
    let (csv_arg, csv_rejects_arg) = (csv.display().to_string(), csv_rejects.display().to_string());
    let args = [
        "import",
        "interactions",
        csv_arg.as_str(),
        "--skip-invalid",
        "--rejects",
        csv_rejects_arg.as_str(),
    ];
    let out = run(command(dir.path())
        .args(args)
        .args(["--database-url", &db.url]));
    assert_args_ok(&args, &out);
    assert_eq!(
        fs::read_to_string(&csv_rejects).expect("rejects"),
        "assistant_mode,user_query,outcome\r\nrobot,\"two\nlines\",resolved\r\n"
    );

    // Without --skip-invalid a bad record still stops the import, with exit status 1.
    let out = run(command(dir.path())
        .args(["import", "interactions", file_arg.as_str()])
        .args(["--database-url", &db.url]));
    assert!(!out.status.success(), "{}", show(&out));
}

#[tokio::test]
async fn export_refuses_to_overwrite_a_file_unless_forced() {
    let url = scratch_url(Schema::Migrated).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let target = dir.path().join("out.ndjson");
    fs::write(&target, "precious\n").expect("existing file");
    let target_arg = target.display().to_string();
    let out = run(command(dir.path())
        .args(["export", "interactions", "-o", target_arg.as_str()])
        .args(["--database-url", &url]));
    assert!(!out.status.success(), "{}", show(&out));
    assert!(
        stderr(&out).contains("exists; pass --force to replace it"),
        "{}",
        show(&out)
    );
    assert_eq!(fs::read_to_string(&target).expect("kept"), "precious\n");

    let args = [
        "export",
        "interactions",
        "-o",
        target_arg.as_str(),
        "--force",
    ];
    let out = run(command(dir.path())
        .args(args)
        .args(["--database-url", &url]));
    assert_args_ok(&args, &out);
    assert_eq!(fs::read_to_string(&target).expect("replaced"), "");
}

#[tokio::test]
async fn migrate_status_lines_its_columns_up() {
    let url = scratch_url(Schema::Migrated).await;
    let text = assert_ok(&run_against(&url, &["migrate", "--status"]));
    let lines: Vec<&str> = text.lines().skip(1).collect();
    let state_at = lines[0].find("STATE").expect("a header");
    assert!(lines.len() > 6, "{text}");
    for line in &lines[1..] {
        assert_eq!(line.find("applied"), Some(state_at), "{text}");
    }
    let json = json_of(&assert_ok(&run_against(
        &url,
        &["migrate", "--status", "--json"],
    )));
    assert!(
        json.as_array()
            .expect("a list")
            .iter()
            .any(|m| m["description"] == "paging" && !m["applied_on"].is_null()),
        "{json}"
    );
}

#[test]
fn a_command_that_starts_a_stopped_local_database_says_so() {
    let home = Home::new();
    assert_ok(&run(&mut home.cmd(&["local", "start"])));
    let out = run(&mut home.cmd(&["interactions", "list"]));
    assert_ok(&out);
    assert!(
        !stderr(&out).contains("started the local PostgreSQL"),
        "it was running: {}",
        show(&out)
    );
    assert_ok(&run(&mut home.cmd(&["local", "stop"])));
    let out = run(&mut home.cmd(&["interactions", "list"]));
    assert_ok(&out);
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "started the local PostgreSQL in {}",
            home.home().display()
        )),
        "{err}"
    );
    assert!(
        !err.contains("INFO"),
        "a plain line, not a log record: {err}"
    );
}

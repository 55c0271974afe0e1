//! The `assistant-db` binary, run as a user would run it.

mod common;

use std::path::Path;

use common::{assert_ok, command, json_of, run, scratch_url, stderr, stdout, Home, Schema};

/// Live processes whose command line mentions `needle` (zombies excluded).
fn processes_mentioning(needle: &str) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        let zombie = stat
            .rsplit(')')
            .next()
            .and_then(|r| r.split_whitespace().next())
            == Some("Z");
        if !zombie
            && String::from_utf8_lossy(&cmdline)
                .replace('\0', " ")
                .contains(needle)
        {
            found.push(pid);
        }
    }
    found
}

#[test]
fn migrate_verify_and_stop_on_the_embedded_default() {
    let home = Home::new();
    let first = assert_ok(&run(&mut home.cmd(&["migrate"])));
    assert!(first.contains("001 initial schema"), "{first}");
    let second = assert_ok(&run(&mut home.cmd(&["migrate"])));
    assert!(second.contains("up to date"), "{second}");

    let verify = assert_ok(&run(&mut home.cmd(&["verify"])));
    assert!(
        verify.contains("✓ index idx_interactions_mode") && verify.contains("OK:"),
        "{verify}"
    );

    let status = assert_ok(&run(&mut home.cmd(&["local", "status", "--json"])));
    let status = json_of(&status);
    assert_eq!(status["state"], "running");
    let data_dir = status["data_dir"].as_str().expect("data_dir").to_owned();
    assert!(
        !processes_mentioning(&data_dir).is_empty(),
        "a server runs on {data_dir}"
    );

    let status = assert_ok(&run(&mut home.cmd(&["migrate", "--status"])));
    assert!(
        status.contains("001 initial schema") && !status.contains("pending"),
        "{status}"
    );

    assert_ok(&run(&mut home.cmd(&["local", "stop"])));
    assert_eq!(
        processes_mentioning(&data_dir),
        Vec::<u32>::new(),
        "PostgreSQL left behind"
    );
    let status = assert_ok(&run(&mut home.cmd(&["local", "status"])));
    assert!(status.starts_with("stopped"), "{status}");

    let refused = run(&mut home.cmd(&["local", "destroy"]));
    assert!(
        !refused.status.success(),
        "destroy without --yes must refuse"
    );
    assert!(
        home.home().join("pg/data/PG_VERSION").exists(),
        "nothing was deleted"
    );
    assert_ok(&run(&mut home.cmd(&["local", "destroy", "--yes"])));
    assert!(!home.home().join("pg").exists());
}

#[test]
fn two_commands_starting_at_once_start_one_server() {
    let home = Home::new();
    let children: Vec<_> = (0..2)
        .map(|_| home.cmd(&["local", "start"]).spawn().expect("spawn"))
        .collect();
    for child in children {
        let out = child.wait_with_output().expect("wait");
        assert!(out.status.success(), "a concurrent start failed");
    }
    let data_dir = home.home().join("pg/data");
    let postmasters: Vec<u32> = processes_mentioning(&format!("-D {}", data_dir.display()));
    assert_eq!(
        postmasters.len(),
        1,
        "exactly one postmaster: {postmasters:?}"
    );
    let verify = run(&mut home.cmd(&["verify"]));
    assert_ok(&verify);
}

#[tokio::test]
async fn database_url_migrate_twice_then_verify() {
    let url = scratch_url(Schema::Empty).await;
    let dir = tempfile::tempdir().expect("tempdir");
    for expected in ["001 initial schema", "up to date"] {
        let out = assert_ok(&run(command(dir.path())
            .args(["migrate"])
            .env("DATABASE_URL", &url)));
        assert!(out.contains(expected), "{out}");
    }
    let out = assert_ok(&run(command(dir.path())
        .args(["verify", "--json"])
        .env("DATABASE_URL", &url)));
    let report = json_of(&out);
    assert_eq!(report["passed"], true, "{out}");
}

#[tokio::test]
async fn verify_exits_non_zero_and_names_the_drift() {
    let url = scratch_url(Schema::Migrated).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut conn: sqlx::PgConnection = sqlx::Connection::connect(&url).await.expect("connect");
    sqlx::raw_sql("DROP INDEX idx_interactions_mode")
        .execute(&mut conn)
        .await
        .expect("drift");

    // The flag overrides a DATABASE_URL pointing elsewhere.
    let out = run(command(dir.path())
        .args(["verify", "--database-url", &url])
        .env("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none"));
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.contains("✗ index idx_interactions_mode: missing"),
        "{text}"
    );
    // Only the dropped index fails, however many checks later migrations add.
    let last = text.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("FAILED: ") && last.ends_with(" passed, 1 failed"),
        "{text}"
    );
}

#[test]
fn an_unreachable_database_fails_verify_without_leaking_the_password() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run(command(dir.path())
        .args(["verify"])
        .env("DATABASE_URL", "postgres://user:hunter2@127.0.0.1:1/none"));
    assert_eq!(out.status.code(), Some(1));
    let all = format!("{}{}", stdout(&out), stderr(&out));
    assert!(all.contains("✗ connection"), "{all}");
    assert!(!all.contains("hunter2"), "password leaked: {all}");
}

#[test]
fn schema_prints_the_spec_sql_for_the_editor() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spec_only = assert_ok(&run(command(dir.path()).args(["schema", "--spec-only"])));
    let schema = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../database/schema.sql"),
    )
    .expect("schema.sql");
    assert_eq!(spec_only, schema);
    let all = assert_ok(&run(command(dir.path()).args(["schema"])));
    assert!(
        all.contains(&schema) && all.contains("migration 001: initial schema"),
        "{all}"
    );
}

//! The README's `cron.schedule` call, run as written by a real pg_cron: the job calls the
//! retention procedure, which commits after every batch (pg_cron runs a single `CALL`
//! as its own top-level statement, where a procedure may commit).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use assistant_db_testkit::EphemeralCluster;
use sqlx::{ConnectOptions, Connection, PgConnection};

const DATABASE: &str = "assistant";

/// The `SELECT cron.schedule(...);` statement of the README, verbatim.
fn documented_schedule() -> String {
    let readme =
        std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../README.md"))
            .expect("README.md");
    let start = readme
        .find("SELECT cron.schedule(")
        .expect("the README documents a cron.schedule call");
    let end = readme[start..]
        .find(");")
        .map(|i| start + i + 2)
        .expect("the call ends with `);`");
    readme[start..end].to_owned()
}

#[tokio::test]
async fn the_documented_pg_cron_job_prunes_in_committed_batches() {
    let schedule = documented_schedule();
    assert!(
        schedule.contains("CALL public.run_retention("),
        "the documented job calls the procedure: {schedule}"
    );
    let server = EphemeralCluster::start()
        .unwrap_or_else(|e| panic!("this test needs PostgreSQL server binaries: {e}"));
    let cluster = server.cluster();
    cluster.ensure_database(DATABASE).await.expect("database");
    let mut admin = connect(&server, "postgres").await;
    let libdir: String =
        sqlx::query_scalar("SELECT setting FROM pg_catalog.pg_config WHERE name = 'PKGLIBDIR'")
            .fetch_one(&mut admin)
            .await
            .expect("the server's library directory");
    let library = PathBuf::from(libdir).join("pg_cron.so");
    assert!(
        library.is_file(),
        "this test needs pg_cron for the installed PostgreSQL ({} is missing): \
         apt-get install postgresql-<version>-cron (scripts/test installs it)",
        library.display()
    );
    // pg_cron's settings are unknown to the server until it loads the library, so they
    // go into the configuration file (ALTER SYSTEM refuses them).
    let settings = format!(
        "\nshared_preload_libraries = 'pg_cron'\ncron.database_name = '{DATABASE}'\n\
         # The server has no TCP listener: pg_cron connects over its Unix socket.\n\
         cron.host = '{}'\n",
        cluster.socket_dir().display()
    );
    std::fs::OpenOptions::new()
        .append(true)
        .open(cluster.data_dir().join("postgresql.conf"))
        .and_then(|mut conf| std::io::Write::write_all(&mut conf, settings.as_bytes()))
        .expect("configure pg_cron");
    admin.close().await.expect("close");
    cluster.stop().expect("stop");
    cluster.start().expect("start with pg_cron loaded");

    let mut conn = connect(&server, DATABASE).await;
    assistant_db::migrate::run(&mut conn)
        .await
        .expect("migrate");
    sqlx::raw_sql(
        "CREATE EXTENSION pg_cron;
         INSERT INTO interactions (assistant_mode, user_query, outcome, \"timestamp\")
         SELECT 'customer', 'old ' || g, 'resolved', now() - interval '900 days'
         FROM generate_series(1, 2500) AS g;
         INSERT INTO interactions (assistant_mode, user_query, outcome)
         SELECT 'customer', 'new ' || g, 'resolved' FROM generate_series(1, 10) AS g;",
    )
    .execute(&mut conn)
    .await
    .expect("seed");

    // The call exactly as documented; then the same job made to run at the next minute.
    let job: i64 = sqlx::query_scalar(&schedule)
        .fetch_one(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("the documented call fails: {e}\n{schedule}"));
    sqlx::query("SELECT cron.alter_job(job_id => $1, schedule => '* * * * *')")
        .bind(job)
        .execute(&mut conn)
        .await
        .expect("run it every minute");

    let deadline = Instant::now() + Duration::from_secs(150);
    let (status, message) = loop {
        let run: Option<(String, Option<String>)> = sqlx::query_as(
            "SELECT status, return_message FROM cron.job_run_details \
             WHERE jobid = $1 AND status IN ('succeeded', 'failed') ORDER BY runid LIMIT 1",
        )
        .bind(job)
        .fetch_optional(&mut conn)
        .await
        .expect("run details");
        if let Some(run) = run {
            break run;
        }
        assert!(
            Instant::now() < deadline,
            "pg_cron did not run the job within 150 s"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(status, "succeeded", "{message:?}");

    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM interactions")
        .fetch_one(&mut conn)
        .await
        .expect("count");
    assert_eq!(
        left, 10,
        "the 2500 old interactions are gone, the new ones stay"
    );
    let (via, interactions, batches, finished): (String, i64, i32, bool) = sqlx::query_as(
        "SELECT via, interactions, batches, finished_at IS NOT NULL \
         FROM assistant_db.retention_log ORDER BY id LIMIT 1",
    )
    .fetch_one(&mut conn)
    .await
    .expect("trail");
    assert_eq!(
        (via.as_str(), interactions, finished),
        ("pg_cron", 2500, true)
    );
    assert!(
        batches >= 3,
        "one committed transaction per 1000 rows: {batches}"
    );
    sqlx::query("SELECT cron.unschedule($1)")
        .bind(job)
        .execute(&mut conn)
        .await
        .expect("unschedule");
}

async fn connect(server: &EphemeralCluster, database: &str) -> PgConnection {
    server
        .cluster()
        .connect_options(database)
        .connect()
        .await
        .expect("connect")
}

//! `kill -9` in the middle of logging loses nothing that `log` acknowledged.

mod common;

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Duration;

use assistant_db::logger::{Logger, LoggerConfig};
use assistant_db::Client;
use common::{command, scratch_db, Schema};
use uuid::Uuid;

#[tokio::test]
async fn every_acknowledged_record_survives_kill_9_and_is_stored_once() {
    let db = scratch_db(Schema::Migrated).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let spool = dir.path().join("spool.db");

    // A child logs demo traffic through the logger, printing each id once `log` returned.
    let mut child = command(dir.path())
        .args([
            "demo",
            "--count",
            "200000",
            "--echo-ids",
            "--database-url",
            &db.url,
        ])
        .env("ASSISTANT_DB_SPOOL", &spool)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn the demo");
    let stdout = child.stdout.take().expect("stdout");
    let mut acknowledged = Vec::new();
    let mut lines = BufReader::new(stdout).lines();
    while acknowledged.len() < 5_000 {
        let line = lines
            .next()
            .expect("the demo ended before it was killed")
            .expect("read");
        acknowledged.push(Uuid::parse_str(line.trim()).expect("an id per line"));
    }
    child.kill().expect("kill -9"); // SIGKILL: no destructor, no flush.
    child.wait().expect("reap");
    // Lines the child printed before it died were acknowledged too.
    for line in lines.map_while(Result::ok) {
        if let Ok(id) = Uuid::parse_str(line.trim()) {
            acknowledged.push(id);
        }
    }

    // A new logger on the same spool drains what the dead one left.
    let pool = db.pool().await;
    let logger = Logger::start(Client::from_pool(pool.clone()), LoggerConfig::new(&spool))
        .await
        .expect("a new logger takes over the spool");
    logger.flush(Duration::from_secs(120)).await.expect("flush");
    logger
        .shutdown(Duration::from_secs(10))
        .await
        .expect("shutdown");

    let stored: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM interactions")
        .fetch_all(&pool)
        .await
        .expect("ids");
    let stored_set: HashSet<Uuid> = stored.iter().copied().collect();
    assert_eq!(
        stored_set.len(),
        stored.len(),
        "an interaction was stored twice"
    );
    let missing: Vec<&Uuid> = acknowledged
        .iter()
        .filter(|id| !stored_set.contains(id))
        .collect();
    assert!(
        missing.is_empty(),
        "{} acknowledged interactions were lost, e.g. {:?}",
        missing.len(),
        missing.first()
    );
    assert!(stored.len() >= acknowledged.len());
    assert!(
        stored.len() < 200_000,
        "the child was killed before it finished"
    );
}

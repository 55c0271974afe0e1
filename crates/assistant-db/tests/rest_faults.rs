//! The REST transport through a faulty network: a small proxy in front of a real
//! PostgREST-compatible server answers 503 or 429, or drops connections (before the
//! request reaches the server, or after the server has done it and before the answer
//! comes back). Retries must succeed and must not write any row twice.

mod common;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use assistant_db::metrics::MetricsFilter;
use assistant_db::model::{AssistantMode, Escalation, Interaction, KnowledgeDocument, Outcome};
use assistant_db::query::InteractionQuery;
use assistant_db::store::RestOptions;
use assistant_db::{Client, Error};
use common::rest::{fast_retries, key, RestServer, Role};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the proxy does with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    /// Forward it and the answer.
    Pass,
    /// Answer 503 without forwarding.
    Unavailable,
    /// Answer 429 without forwarding.
    TooMany,
    /// Close the connection without forwarding.
    DropBefore,
    /// Forward it, wait for the server's answer, close the connection without passing it
    /// on: the server did the work, the client cannot know.
    DropAfter,
}

/// A proxy on 127.0.0.1 applying planned faults, one per request (it forwards each
/// request with `Connection: close`, so every request comes on a new connection).
struct FaultProxy {
    url: String,
    plan: Arc<Mutex<VecDeque<Fault>>>,
    requests: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl FaultProxy {
    async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let plan = Arc::new(Mutex::new(VecDeque::new()));
        let requests = Arc::new(AtomicUsize::new(0));
        let task = tokio::spawn({
            let plan = plan.clone();
            let requests = requests.clone();
            async move {
                while let Ok((client, _)) = listener.accept().await {
                    let plan = plan.clone();
                    let requests = requests.clone();
                    tokio::spawn(async move {
                        let _ = serve(client, upstream, &plan, &requests).await;
                    });
                }
            }
        });
        FaultProxy {
            url,
            plan,
            requests,
            task,
        }
    }

    /// Faults for the next requests, in order; requests past them pass.
    fn inject(&self, faults: &[Fault]) {
        let mut plan = self.plan.lock().expect("lock");
        plan.clear();
        plan.extend(faults);
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    fn client(&self, options: RestOptions) -> Client {
        Client::from_rest(
            assistant_db::store::RestStore::new(&self.url, key(Role::ServiceRole), options)
                .expect("store"),
        )
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(
    mut client: TcpStream,
    upstream: SocketAddr,
    plan: &Mutex<VecDeque<Fault>>,
    requests: &AtomicUsize,
) -> std::io::Result<()> {
    let Some(request) = read_message(&mut client).await? else {
        return Ok(());
    };
    requests.fetch_add(1, Ordering::SeqCst);
    let fault = plan
        .lock()
        .expect("lock")
        .pop_front()
        .unwrap_or(Fault::Pass);
    let canned = |status: &str| {
        format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\
             connection: close\r\n\r\n{{}}"
        )
    };
    match fault {
        Fault::Unavailable => {
            client
                .write_all(canned("503 Service Unavailable").as_bytes())
                .await
        }
        Fault::TooMany => {
            client
                .write_all(canned("429 Too Many Requests").as_bytes())
                .await
        }
        Fault::DropBefore => Ok(()),
        Fault::DropAfter => {
            let mut server = TcpStream::connect(upstream).await?;
            server.write_all(&closing(&request)).await?;
            // The status line and headers mean the server has committed the work.
            read_message(&mut server).await?;
            Ok(())
        }
        Fault::Pass => {
            let mut server = TcpStream::connect(upstream).await?;
            server.write_all(&closing(&request)).await?;
            tokio::io::copy(&mut server, &mut client).await?;
            client.shutdown().await
        }
    }
}

/// Reads one HTTP message's head and its `content-length` body; `None` at end of stream.
async fn read_message(stream: &mut TcpStream) -> std::io::Result<Option<Vec<u8>>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + length {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Ok(Some(buf))
}

/// The request with `Connection: close`, so the server ends the connection after it.
fn closing(request: &[u8]) -> Vec<u8> {
    let head_end = request
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(request.len(), |at| at + 2);
    let head = String::from_utf8_lossy(&request[..head_end]);
    let mut out: String = head
        .split_inclusive("\r\n")
        .filter(|line| !line.to_ascii_lowercase().starts_with("connection:"))
        .collect();
    out.push_str("connection: close\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(&request[head_end..]);
    bytes
}

fn escalated(n: usize) -> (Interaction, Escalation) {
    let mut i = Interaction::new(
        AssistantMode::Banker,
        &format!("question {n}"),
        Outcome::Escalated,
    )
    .expect("valid");
    i.step_6_escalation_triggered = true;
    let e = Escalation::new(i.id, "low_confidence", "confidence 0.4").expect("valid");
    (i, e)
}

async fn counts(server: &RestServer) -> (i64, i64, i64) {
    sqlx::query_as(
        "SELECT (SELECT count(*) FROM interactions), (SELECT count(*) FROM escalations), \
                (SELECT count(*) FROM knowledge_documents)",
    )
    .fetch_one(&server.pool)
    .await
    .expect("count")
}

#[tokio::test]
async fn every_operation_rides_out_503s_429s_and_dropped_connections_without_duplicates() {
    use Fault::*;
    let server = RestServer::start().await;
    let proxy = FaultProxy::start(server.addr).await;
    let client = proxy.client(fast_retries());

    let rows: Vec<(Interaction, Escalation)> = (0..3).map(escalated).collect();
    let interactions: Vec<Interaction> = rows.iter().map(|r| r.0.clone()).collect();
    let escalations: Vec<Escalation> = rows.iter().map(|r| r.1.clone()).collect();
    proxy.inject(&[Unavailable, DropBefore, DropAfter, TooMany]);
    let before = proxy.requests();
    let written = client
        .log(&interactions, &escalations)
        .await
        .expect("logged in the end");
    assert_eq!(proxy.requests() - before, 5, "four faults, then success");
    // The dropped attempt had written everything; the retry found every id present.
    assert_eq!((written.interactions, written.escalations), (0, 0));
    assert_eq!(counts(&server).await, (3, 3, 0));

    proxy.inject(&[DropAfter, Unavailable]);
    let docs = [
        KnowledgeDocument::new("file-1", "Fees").expect("valid"),
        KnowledgeDocument::new("file-2", "Wires").expect("valid"),
    ];
    let upserted = client
        .upsert_knowledge_documents(&docs)
        .await
        .expect("upsert");
    assert_eq!(
        upserted.iter().map(|u| u.id).collect::<Vec<_>>(),
        [docs[0].id, docs[1].id]
    );
    assert_eq!(counts(&server).await, (3, 3, 2));

    proxy.inject(&[DropAfter]);
    let doc = KnowledgeDocument::new("file-3", "Cards").expect("valid");
    assert_eq!(
        client
            .insert_knowledge_document(&doc)
            .await
            .expect("insert"),
        doc.id
    );
    assert_eq!(counts(&server).await, (3, 3, 3));

    proxy.inject(&[Unavailable, TooMany]);
    let metrics = client
        .metrics(&MetricsFilter::default())
        .await
        .expect("metrics");
    assert_eq!((metrics.total_interactions, metrics.escalated), (3, 3));

    proxy.inject(&[DropBefore, DropAfter]);
    let page = client
        .interactions(&InteractionQuery::default())
        .await
        .expect("list");
    assert_eq!(page.items.len(), 3);

    proxy.inject(&[DropBefore]);
    let detail = client
        .interaction(interactions[0].id)
        .await
        .expect("read")
        .expect("found");
    assert_eq!(detail.escalations.len(), 1);

    // The delete happened on the dropped attempt; the retry finds nothing left to delete.
    proxy.inject(&[DropAfter]);
    let existed = client
        .delete_interaction(interactions[0].id)
        .await
        .expect("delete");
    assert!(
        !existed,
        "the answer of the attempt that deleted it was lost"
    );
    assert_eq!(counts(&server).await, (2, 2, 3));
}

#[tokio::test]
async fn a_batched_write_survives_faults_between_its_batches() {
    use Fault::*;
    let server = RestServer::start().await;
    let proxy = FaultProxy::start(server.addr).await;
    let client = proxy.client(RestOptions {
        batch_rows: 10,
        ..fast_retries()
    });
    let rows: Vec<(Interaction, Escalation)> = (0..35).map(escalated).collect();
    let interactions: Vec<Interaction> = rows.iter().map(|r| r.0.clone()).collect();
    let escalations: Vec<Escalation> = rows.iter().map(|r| r.1.clone()).collect();
    // Seven batches of five interactions with their escalations.
    proxy.inject(&[
        Pass,
        DropAfter,
        Pass,
        Unavailable,
        DropBefore,
        Pass,
        DropAfter,
        DropAfter,
        Pass,
        TooMany,
    ]);
    let written = client
        .log(&interactions, &escalations)
        .await
        .expect("logged in the end");
    assert_eq!(proxy.requests(), 7 + 6, "seven batches and six faults");
    // The rows of the two batches whose answers were lost were written, not counted.
    assert_eq!((written.interactions, written.escalations), (25, 25));
    assert_eq!(counts(&server).await, (35, 35, 0));
    let distinct: i64 =
        sqlx::query_scalar("SELECT count(DISTINCT (user_query, outcome)) FROM interactions")
            .fetch_one(&server.pool)
            .await
            .expect("count");
    assert_eq!(distinct, 35, "each interaction once");
}

#[tokio::test]
async fn faults_beyond_the_retry_budget_are_unavailable_and_write_nothing() {
    let server = RestServer::start().await;
    let proxy = FaultProxy::start(server.addr).await;
    let client = proxy.client(RestOptions {
        max_attempts: 3,
        ..fast_retries()
    });
    proxy.inject(&[Fault::Unavailable; 5]);
    let (interaction, _) = escalated(1);
    let err = client
        .insert_interaction(&interaction)
        .await
        .expect_err("three 503s");
    assert!(matches!(err, Error::Unavailable(_)), "{err:?}");
    assert!(err.is_retryable());
    assert!(
        err.to_string().contains("gave up after 3 attempts"),
        "{err}"
    );
    assert_eq!(proxy.requests(), 3);
    assert_eq!(counts(&server).await, (0, 0, 0));

    // A refusal by the database is never retried.
    proxy.inject(&[]);
    let before = proxy.requests();
    let dangling = Escalation::new(uuid::Uuid::now_v7(), "x", "y").expect("valid");
    let err = client
        .insert_escalation(&dangling)
        .await
        .expect_err("foreign key");
    assert!(matches!(err, Error::ForeignKey { .. }), "{err:?}");
    assert_eq!(proxy.requests() - before, 1, "sent once");
}

#[tokio::test]
async fn the_logger_over_a_faulty_network_stores_every_entry_exactly_once() {
    use assistant_db::logger::{Logger, LoggerConfig};
    use std::collections::HashSet;
    use std::time::Duration;
    use Fault::*;
    let server = RestServer::start().await;
    let proxy = FaultProxy::start(server.addr).await;
    // One try per request: every fault reaches the logger, which must retry the batch.
    let client = proxy.client(RestOptions {
        max_attempts: 1,
        ..fast_retries()
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let logger = Logger::start(
        client,
        LoggerConfig {
            batch_size: 50,
            deliveries: 3,
            flush_interval: Duration::from_millis(20),
            min_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(50),
            ..LoggerConfig::new(dir.path().join("spool.db"))
        },
    )
    .await
    .expect("logger");
    // Lost answers (the server stored the batch), refusals and dropped requests,
    // spread over the run.
    let faults: Vec<Fault> = (0..40)
        .map(|n| [DropAfter, Unavailable, Pass, DropBefore, TooMany, DropAfter][n % 6])
        .collect();
    proxy.inject(&faults);
    let (mut logged, mut with_escalation) = (Vec::new(), Vec::new());
    for n in 0..1_000 {
        if n % 4 == 0 {
            let (i, e) = escalated(n);
            logged.push(i.id);
            with_escalation.push(i.id);
            logger.log_escalated(i, e).await.expect("log");
        } else {
            let i = Interaction::new(
                AssistantMode::Customer,
                &format!("question {n}"),
                Outcome::Resolved,
            )
            .expect("valid");
            logged.push(i.id);
            logger.log(i).await.expect("log");
        }
    }
    logger.flush(Duration::from_secs(60)).await.expect("flush");
    let stats = logger.stats().await.expect("stats");
    assert!(
        proxy.requests() > faults.len(),
        "every planned fault was met"
    );
    // Batches in flight together may fail together and are retried together.
    assert!(
        stats.retried >= 5,
        "the faults reached the logger: {stats:?}"
    );
    assert_eq!((stats.dead, stats.depth), (0, 0), "{stats:?}");

    let once = |stored: Vec<uuid::Uuid>, expected: &[uuid::Uuid], what: &str| {
        let unique: HashSet<_> = stored.iter().collect();
        assert_eq!(unique.len(), stored.len(), "duplicate {what}");
        assert_eq!(unique, expected.iter().collect(), "{what} differ");
    };
    let stored = sqlx::query_scalar("SELECT id FROM interactions")
        .fetch_all(&server.pool)
        .await
        .expect("interactions");
    once(stored, &logged, "interactions");
    let stored = sqlx::query_scalar("SELECT interaction_id FROM escalations")
        .fetch_all(&server.pool)
        .await
        .expect("escalations");
    once(stored, &with_escalation, "escalations");
    logger
        .shutdown(Duration::from_secs(5))
        .await
        .expect("shutdown");
}

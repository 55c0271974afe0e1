//! Row-level security over the REST API, against a real PostgREST-compatible server:
//! the public key logs (and reads metrics only when allowed) but reads, changes and
//! deletes no row; the secret key does everything; bad keys are typed errors; no key ever
//! shows. The public key's limits in detail: `rest_trust.rs`.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use assistant_db::config::Secret;
use assistant_db::metrics::MetricsFilter;
use assistant_db::model::{AssistantMode, Escalation, Interaction, KnowledgeDocument, Outcome};
use assistant_db::query::{InteractionFilter, InteractionQuery};
use assistant_db::store::{KeyRole, Store};
use assistant_db::{Client, Error};
use common::rest::{fast_retries, key, sign_key, RestServer, Role, JWT_SECRET};
use futures_util::TryStreamExt;
use serde_json::json;
use uuid::Uuid;

fn interaction(query: &str, outcome: Outcome) -> Interaction {
    let mut i = Interaction::new(AssistantMode::Customer, query, outcome).expect("valid");
    i.session_id = Some("thread_1".try_into().expect("session"));
    i.intent_name = Some("balance".try_into().expect("intent"));
    i
}

/// Rows written with the secret key, as a backend would: two interactions (one
/// escalated), its escalation, and a knowledge document.
async fn seed(server: &RestServer) -> (Interaction, Escalation) {
    let secret = server.client(Role::ServiceRole);
    let resolved = interaction("What is my balance?", Outcome::Resolved);
    let escalated = interaction("Please close my account", Outcome::Escalated);
    let escalation = Escalation::new(escalated.id, "human_only", "account closure").expect("valid");
    secret
        .log(
            &[resolved, escalated.clone()],
            std::slice::from_ref(&escalation),
        )
        .await
        .expect("the secret key logs");
    secret
        .insert_knowledge_document(&KnowledgeDocument::new("file-1", "Fees").expect("valid"))
        .await
        .expect("the secret key registers documents");
    (escalated, escalation)
}

/// Counts rows and fingerprints their contents, through the direct pool.
async fn snapshot(server: &RestServer) -> (i64, i64, i64, String) {
    sqlx::query_as(
        "SELECT (SELECT count(*) FROM interactions), (SELECT count(*) FROM escalations), \
                (SELECT count(*) FROM knowledge_documents), \
                md5(coalesce((SELECT string_agg(i::text, '|' ORDER BY id) FROM interactions i), '') \
                    || coalesce((SELECT string_agg(e::text, '|' ORDER BY id) FROM escalations e), '') \
                    || coalesce((SELECT string_agg(d::text, '|' ORDER BY id) FROM knowledge_documents d), ''))",
    )
    .fetch_one(&server.pool)
    .await
    .expect("snapshot")
}

fn assert_needs_secret_key(result: Result<impl std::fmt::Debug, Error>, what: &str) {
    match result {
        Err(Error::PermissionDenied(message)) => assert!(
            message.contains("secret (service_role) key"),
            "{what}: the refusal must say which key is needed: {message}"
        ),
        other => panic!("{what}: expected a permission error, got {other:?}"),
    }
}

#[tokio::test]
async fn the_public_key_reads_no_row_and_changes_none() {
    let server = RestServer::start().await;
    let (escalated, _) = seed(&server).await;
    let before = snapshot(&server).await;
    let public = server.client(Role::Anon);

    // Through the client: every read and every change of rows is refused, typed.
    assert_needs_secret_key(
        public.interactions(&InteractionQuery::default()).await,
        "listing",
    );
    assert_needs_secret_key(public.interaction(escalated.id).await, "reading one");
    assert_needs_secret_key(
        public
            .export_interactions(InteractionFilter::default())
            .try_collect::<Vec<_>>()
            .await,
        "exporting interactions",
    );
    assert_needs_secret_key(
        public.export_escalations().try_collect::<Vec<_>>().await,
        "exporting escalations",
    );
    assert_needs_secret_key(
        public
            .export_knowledge_documents()
            .try_collect::<Vec<_>>()
            .await,
        "exporting documents",
    );
    assert_needs_secret_key(public.delete_interaction(escalated.id).await, "deleting");
    assert_needs_secret_key(
        public
            .insert_knowledge_document(&KnowledgeDocument::new("file-2", "x").expect("valid"))
            .await,
        "registering a document",
    );
    assert_needs_secret_key(
        public
            .upsert_knowledge_document(
                &KnowledgeDocument::new("file-1", "hijacked").expect("valid"),
            )
            .await,
        "upserting a document",
    );

    // Raw HTTP, as anyone holding the public key could send it.
    let http = reqwest::Client::new();
    let anon = key(Role::Anon);
    let send = |request: reqwest::RequestBuilder| {
        let anon = anon.expose().to_owned();
        async move {
            let response = request
                .header("apikey", &anon)
                .bearer_auth(&anon)
                .send()
                .await
                .expect("the server answers");
            let status = response.status();
            let body = response.text().await.expect("body");
            (status, body)
        }
    };
    for (table, column) in [
        ("interactions", "user_query"),
        ("escalations", "escalation_reason"),
        ("knowledge_documents", "title"),
    ] {
        let (status, body) = send(http.get(format!("{}/{table}?select=*", server.url))).await;
        let rows: Option<Vec<serde_json::Value>> = serde_json::from_str(&body).ok();
        assert!(
            !status.is_success() || rows.as_ref().is_some_and(Vec::is_empty),
            "GET {table} with the public key: {status} {body}"
        );
        assert!(!body.contains("account"), "{table} leaked a row: {body}");
        let by_id = format!("{}/{table}?id=eq.{}", server.url, escalated.id);
        let (status, body) = send(http.patch(&by_id).json(&json!({ column: "x" }))).await;
        assert!(!status.is_success(), "PATCH {table}: {status} {body}");
        assert!(body.contains("42501"), "PATCH {table}: {body}");
        let (status, body) = send(http.delete(format!("{}/{table}", server.url))).await;
        assert!(
            !status.is_success(),
            "DELETE all of {table}: {status} {body}"
        );
        let (status, body) = send(http.delete(&by_id)).await;
        assert!(
            !status.is_success(),
            "DELETE {table} by id: {status} {body}"
        );
    }
    let direct_rows = [
        (
            "interactions",
            json!({"assistant_mode": "customer", "user_query": "direct", "outcome": "resolved"}),
        ),
        (
            "escalations",
            json!({"interaction_id": escalated.id, "trigger_type": "x", "escalation_reason": "y"}),
        ),
        (
            "knowledge_documents",
            json!({"openai_file_id": "file-9", "title": "t"}),
        ),
    ];
    for (table, row) in direct_rows {
        let (status, body) = send(http.post(format!("{}/{table}", server.url)).json(&row)).await;
        assert!(
            !status.is_success(),
            "direct insert into {table}: {status} {body}"
        );
        assert!(body.contains("42501"), "direct insert into {table}: {body}");
    }
    let (status, body) = send(
        http.post(format!("{}/rpc/upsert_knowledge_documents", server.url))
            .json(&json!({"p_documents": [{"openai_file_id": "file-1", "title": "hijacked"}]})),
    )
    .await;
    assert!(
        !status.is_success(),
        "upsert with the public key: {status} {body}"
    );

    assert_eq!(
        snapshot(&server).await,
        before,
        "the public key changed nothing"
    );
}

#[tokio::test]
async fn the_public_key_logs_through_the_function_and_reads_metrics_only_when_allowed() {
    let server = RestServer::start().await;
    seed(&server).await;
    let public = server.client(Role::Anon);
    assert_eq!(
        server
            .store_with(key(Role::Anon), fast_retries())
            .key_role(),
        KeyRole::Public
    );
    public
        .test_connection()
        .await
        .expect("the public key connects");

    let mut logged = interaction("Why was I charged twice?", Outcome::Escalated);
    logged.intent_name = Some("dispute".try_into().expect("intent"));
    let escalation = Escalation::new(logged.id, "sensitive", "billing dispute").expect("valid");
    let (iid, eid) = public
        .log_escalated_interaction(&logged, &escalation)
        .await
        .expect("the public key logs");
    assert_eq!((iid, eid), (logged.id, escalation.id));
    // Logging again is a no-op: idempotent by id.
    let again = public
        .log(
            std::slice::from_ref(&logged),
            std::slice::from_ref(&escalation),
        )
        .await
        .expect("again");
    assert_eq!((again.interactions, again.escalations), (0, 0));
    // The function still validates for the public key: atomic, nothing written. It may
    // escalate only interactions of the same call or of the last hour (migration 005).
    let dangling = Escalation::new(Uuid::now_v7(), "x", "y").expect("valid");
    let other = interaction("orphan test", Outcome::Resolved);
    let err = public
        .log(std::slice::from_ref(&other), &[dangling])
        .await
        .expect_err("dangling escalation");
    assert!(
        matches!(&err, Error::Validation(v) if v.field == "escalations[0].interaction_id"),
        "{err:?}"
    );

    let stored: (i64, i64, bool) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM interactions), (SELECT count(*) FROM escalations), \
                EXISTS (SELECT 1 FROM interactions WHERE id = $1)",
    )
    .bind(other.id)
    .fetch_one(&server.pool)
    .await
    .expect("count");
    assert_eq!(stored, (3, 2, false));

    // Metrics for the public key are off until the database owner turns them on.
    match public.metrics(&MetricsFilter::default()).await {
        Err(Error::PermissionDenied(message)) => {
            assert!(message.contains("metrics are off"), "{message}")
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    let secret = server.client(Role::ServiceRole);
    let metrics = secret
        .metrics(&MetricsFilter::default())
        .await
        .expect("the secret key reads metrics");
    assert_eq!(
        (
            metrics.total_interactions,
            metrics.resolved,
            metrics.escalated
        ),
        (3, 1, 2)
    );
    let dispute = secret
        .metrics(&MetricsFilter {
            intent: Some("dispute".into()),
            ..MetricsFilter::default()
        })
        .await
        .expect("filtered");
    assert_eq!(dispute.total_interactions, 1);
    assert_eq!(
        dispute
            .escalations_by_trigger
            .first()
            .map(|t| t.trigger_type.as_str()),
        Some("sensitive")
    );
    // The same numbers as the direct transport.
    let direct = Client::from_pool(server.pool.clone());
    assert_eq!(
        direct
            .metrics(&MetricsFilter::default())
            .await
            .expect("direct"),
        metrics
    );
}

#[tokio::test]
async fn the_secret_key_reads_changes_and_deletes() {
    let server = RestServer::start().await;
    let (escalated, escalation) = seed(&server).await;
    let secret = server.client(Role::ServiceRole);
    assert_eq!(
        server
            .store_with(key(Role::ServiceRole), fast_retries())
            .key_role(),
        KeyRole::Secret
    );
    let page = secret
        .interactions(&InteractionQuery::default())
        .await
        .expect("list");
    assert_eq!(page.items.len(), 2);
    let detail = secret
        .interaction(escalated.id)
        .await
        .expect("read")
        .expect("found");
    let stored: Vec<Escalation> = detail
        .escalations
        .iter()
        .cloned()
        .map(|row| Escalation::try_from(row).expect("a valid row"))
        .collect();
    assert_eq!(
        stored,
        vec![Escalation {
            created_at: stored[0].created_at,
            ..escalation
        }]
    );
    let upserted = secret
        .upsert_knowledge_documents(&[
            KnowledgeDocument::new("file-1", "Fees, 2027").expect("valid"),
            KnowledgeDocument::new("file-2", "Wires").expect("valid"),
        ])
        .await
        .expect("upsert");
    assert_eq!(
        upserted.iter().map(|u| u.inserted).collect::<Vec<_>>(),
        [false, true]
    );
    assert!(secret
        .delete_interaction(escalated.id)
        .await
        .expect("delete"));
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM escalations")
        .fetch_one(&server.pool)
        .await
        .expect("count");
    assert_eq!(left, 0, "the escalation went with its interaction");
}

#[tokio::test]
async fn tampered_expired_and_foreign_keys_are_auth_errors() {
    let server = RestServer::start().await;
    let good = key(Role::ServiceRole);
    let mut tampered = good.expose().to_owned();
    // Flip a character of the signature.
    let last = tampered.pop().expect("non-empty");
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    let keys = [
        ("tampered", Secret::new(tampered)),
        ("expired", sign_key("service_role", -120, JWT_SECRET)),
        (
            "signed by another project",
            sign_key(
                "service_role",
                3600,
                "another-project-secret-0123456789abcdef",
            ),
        ),
        ("not a JWT", Secret::new("hello")),
    ];
    for (what, key) in keys {
        let client = server.client_with_key(key.clone());
        let results = [
            client.test_connection().await.map(|_| ()),
            client.metrics(&MetricsFilter::default()).await.map(|_| ()),
            client
                .insert_interaction(&interaction("q", Outcome::Resolved))
                .await
                .map(|_| ()),
            client
                .interactions(&InteractionQuery::default())
                .await
                .map(|_| ()),
        ];
        for result in results {
            match result {
                Err(e @ Error::Auth(_)) => {
                    assert!(!e.is_retryable(), "{what}: {e}");
                    assert!(e.to_string().contains("SUPABASE_KEY"), "{what}: {e}");
                    let shown = format!("{e} {e:?}");
                    assert!(
                        !shown.contains(key.expose()),
                        "{what}: the key leaked: {shown}"
                    );
                }
                other => panic!("{what}: expected an auth error, got {other:?}"),
            }
        }
    }
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM interactions")
        .fetch_one(&server.pool)
        .await
        .expect("count");
    assert_eq!(rows, 0, "a refused key wrote nothing");
}

/// A `MakeWriter` that keeps everything logged, to search it afterwards.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test]
async fn no_key_shows_in_errors_debug_output_or_logs() {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(captured.clone())
        .with_ansi(false)
        .finish();
    // The test runs on one thread, so this catches every line it causes.
    let _guard = tracing::subscriber::set_default(subscriber);

    let server = RestServer::start().await;
    let anon = key(Role::Anon);
    let secret = key(Role::ServiceRole);
    let expired = sign_key("anon", -60, JWT_SECRET);
    let mut shown = Vec::new();

    let public = server.client_with_key(anon.clone());
    let backend = server.client_with_key(secret.clone());
    let stale = server.client_with_key(expired.clone());
    shown.push(format!("{public:?} {backend:?} {stale:?}"));
    shown.push(format!(
        "{} {} {}",
        public.location(),
        backend.location(),
        stale.location()
    ));
    let i = interaction("Is my card blocked?", Outcome::Resolved);
    public.insert_interaction(&i).await.expect("log");
    backend.interaction(i.id).await.expect("read");
    let errors = [
        public
            .interaction(i.id)
            .await
            .map(|_| ())
            .expect_err("refused"),
        public
            .delete_interaction(i.id)
            .await
            .map(|_| ())
            .expect_err("refused"),
        stale.test_connection().await.expect_err("expired"),
        stale
            .metrics(&MetricsFilter::default())
            .await
            .map(|_| ())
            .expect_err("expired"),
    ];
    for e in &errors {
        shown.push(format!("{e} {e:?}"));
    }
    // A server that is down: retries log a warning each.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port");
    let down = Client::from_rest(
        assistant_db::store::RestStore::new(
            &format!("http://{addr}"),
            secret.clone(),
            common::rest::fast_retries(),
        )
        .expect("store"),
    );
    let e = down.test_connection().await.expect_err("down");
    shown.push(format!("{e} {e:?}"));

    let logs = String::from_utf8(captured.0.lock().expect("lock").clone()).expect("utf-8");
    assert!(
        logs.contains("REST request done"),
        "nothing was captured:\n{logs}"
    );
    assert!(logs.contains("retrying"), "no retry was logged:\n{logs}");
    let everything = format!("{}\n{logs}\n{}", shown.join("\n"), server.log());
    for (name, key) in [
        ("public", &anon),
        ("secret", &secret),
        ("expired", &expired),
    ] {
        // A JWT's signature alone is as secret as the whole key.
        let signature = key.expose().rsplit('.').next().expect("signature");
        assert!(
            !everything.contains(key.expose()) && !everything.contains(signature),
            "the {name} key shows up in:\n{everything}"
        );
    }
}

#[tokio::test]
async fn verify_over_rest_checks_what_the_api_shows_and_names_what_needs_database_url() {
    let server = RestServer::start().await;
    seed(&server).await;
    let before = snapshot(&server).await;
    for role in [Role::ServiceRole, Role::Anon] {
        let store = server.store_with(key(role), common::rest::fast_retries());
        let report = store.verify().await;
        assert!(report.passed(), "{role:?}:\n{report}");
        let text = report.to_string();
        assert!(text.contains("these need DATABASE_URL"), "{text}");
        assert!(text.contains("the nine indexes"), "{text}");
        for table in ["interactions", "escalations", "knowledge_documents"] {
            assert!(report.check(&format!("table {table}")).is_some(), "{text}");
        }
        let metrics_detail = if role == Role::Anon {
            "public metrics are off: refused to this key"
        } else {
            "2 interactions"
        };
        assert!(
            report
                .check("metrics through interaction_metrics")
                .is_some_and(|c| c.ok && c.detail.contains(metrics_detail)),
            "{text}"
        );
        if role == Role::Anon {
            for refused in [
                "✓ the public (anon) key cannot read the migration history",
                "✓ the public (anon) key cannot read the data-quality report",
            ] {
                assert!(text.contains(refused), "{text}");
            }
            assert!(
                text.contains("✓ the public (anon) key cannot delete interactions"),
                "{text}"
            );
            assert!(
                text.contains("rows hidden from the public (anon) key"),
                "{text}"
            );
        } else {
            assert!(
                report
                    .check("log, read back and delete an interaction with its escalation")
                    .is_some_and(|c| c.ok),
                "{text}"
            );
        }
        assert!(!text.contains(key(role).expose()));
    }
    assert_eq!(
        snapshot(&server).await,
        before,
        "verify left the rows as they were"
    );

    // Supabase's defaults without migration 004: RLS off, every table granted to anon.
    common::exec(
        &server.pool,
        "ALTER TABLE interactions DISABLE ROW LEVEL SECURITY; \
         ALTER TABLE escalations DISABLE ROW LEVEL SECURITY; \
         ALTER TABLE knowledge_documents DISABLE ROW LEVEL SECURITY; \
         GRANT ALL ON interactions, escalations, knowledge_documents TO anon; \
         GRANT EXECUTE ON FUNCTION upsert_knowledge_documents(jsonb) TO anon;",
    )
    .await;
    let report = server
        .store_with(key(Role::Anon), common::rest::fast_retries())
        .verify()
        .await;
    assert!(!report.passed(), "{report}");
    let text = report.to_string();
    assert!(
        text.contains("✗ table interactions: the public (anon) key can read rows"),
        "{text}"
    );
    assert!(
        text.contains("✗ the public (anon) key cannot delete interactions: allowed"),
        "{text}"
    );
    assert!(
        text.contains("✗ the public (anon) key cannot insert into interactions directly: allowed"),
        "{text}"
    );
    assert_eq!(snapshot(&server).await, before, "the probes wrote nothing");
}

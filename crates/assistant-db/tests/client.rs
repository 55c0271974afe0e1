//! The typed client against a real PostgreSQL: every operation and every typed error,
//! over both transports. Each case is one body, run once over the direct transport and
//! once over the REST API (a real PostgREST-compatible server, with the secret key);
//! counting and raw SQL go through a direct pool on the same database.

mod common;

use common::rest::{Db, RestServer, ServerOptions, Transport};

use assistant_db::model::{
    AssistantMode, Citation, Confidence, Escalation, IntentCategory, Interaction,
    KnowledgeDocument, NonNegativeInt, Outcome,
};
use assistant_db::query::{InteractionFilter, InteractionQuery};
use assistant_db::row::KnowledgeDocumentRow;
use assistant_db::store::KeyRole;
use assistant_db::{Client, Error};
use chrono::{Duration, TimeZone, Utc};
use futures_util::TryStreamExt;
use uuid::Uuid;

/// One `#[tokio::test]` per transport for each case: `direct::<case>` and `rest::<case>`.
macro_rules! on_both_transports {
    ($($case:ident),* $(,)?) => {
        mod direct {
            $(#[tokio::test]
            async fn $case() {
                super::$case(super::Transport::Direct).await
            })*
        }
        mod rest {
            $(#[tokio::test]
            async fn $case() {
                super::$case(super::Transport::Rest).await
            })*
        }
    };
}

on_both_transports!(
    insert_then_read_back_every_field,
    a_retry_with_the_same_id_writes_one_row,
    escalated_interaction_is_written_atomically_and_deleted_by_cascade,
    an_escalation_naming_another_interaction_is_refused_and_nothing_is_written,
    an_escalation_of_a_missing_interaction_is_a_foreign_key_error,
    check_violations_name_their_column,
    knowledge_documents_insert_refuses_duplicates_and_upsert_updates,
    listing_filters_and_pages_without_gaps_or_repeats,
    an_unmigrated_database_fails_test_connection_with_the_reason,
    a_server_that_is_down_is_a_retryable_unavailable_error,
);

async fn count(db: &Db, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(&db.pool)
        .await
        .expect("count")
}

/// A fully populated interaction.
fn rich_interaction() -> Interaction {
    let mut i = Interaction::new(
        AssistantMode::Banker,
        "What is the wire cut-off time?",
        Outcome::Resolved,
    )
    .expect("valid");
    i.timestamp = Utc
        .with_ymd_and_hms(2026, 11, 2, 9, 30, 0)
        .single()
        .expect("ts");
    i.session_id = Some("thread_abc".try_into().expect("session"));
    i.intent_name = Some("wire_cutoff".try_into().expect("intent"));
    i.intent_category = Some(IntentCategory::Automatable);
    i.classification_reason = Some("policy lookup".try_into().expect("reason"));
    i.step_1_intent_completed = true;
    i.step_2_routing_decision = Some("retrieval".try_into().expect("route"));
    i.step_3_retrieval_performed = true;
    i.step_4_response_generated = true;
    i.step_5_confidence_score = Some(Confidence::new(0.91).expect("c"));
    i.confidence_score = Some(Confidence::new(0.91).expect("c"));
    i.response_text = Some("Domestic wires: 5 pm ET [1].".try_into().expect("text"));
    i.citations = Some(vec![
        Citation::new(
            1,
            "Wire transfer policy",
            Some("https://bank.example/wires"),
        )
        .expect("cite"),
        Citation::new(2, "Holiday calendar", None).expect("cite"),
    ]);
    i.retrieved_chunks_count = Some(NonNegativeInt::new(4).expect("n"));
    i.processing_time_ms = Some(NonNegativeInt::new(812).expect("ms"));
    i
}

async fn insert_then_read_back_every_field(transport: Transport) {
    let db = Db::on(transport).await;
    let client = &db.client;
    client.test_connection().await.expect("connection");
    let written = rich_interaction();
    let id = client.insert_interaction(&written).await.expect("insert");
    assert_eq!(id, written.id);

    let detail = client.interaction(id).await.expect("read").expect("found");
    let read = Interaction::try_from(detail.interaction).expect("a valid row");
    assert!(read.created_at.is_some(), "created_at defaults to now()");
    assert_eq!(
        Interaction {
            created_at: None,
            ..read
        },
        written
    );
    assert!(detail.escalations.is_empty());
    assert_eq!(
        client.interaction(Uuid::now_v7()).await.expect("read"),
        None
    );
}

async fn a_retry_with_the_same_id_writes_one_row(transport: Transport) {
    let db = Db::on(transport).await;
    let client = &db.client;
    let interaction = rich_interaction();
    let escalation =
        Escalation::new(interaction.id, "low_confidence", "confidence 0.41 < 0.6").expect("valid");
    for _ in 0..3 {
        client
            .log_escalated_interaction(&interaction, &escalation)
            .await
            .expect("log");
        client
            .insert_interaction(&interaction)
            .await
            .expect("insert");
    }
    let written = client
        .log(
            std::slice::from_ref(&interaction),
            std::slice::from_ref(&escalation),
        )
        .await
        .expect("log");
    assert_eq!((written.interactions, written.escalations), (0, 0));
    let (i, e): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM interactions), (SELECT count(*) FROM escalations)",
    )
    .fetch_one(&db.pool)
    .await
    .expect("count");
    assert_eq!((i, e), (1, 1));
}

async fn escalated_interaction_is_written_atomically_and_deleted_by_cascade(transport: Transport) {
    let db = Db::on(transport).await;
    let client = &db.client;
    let mut interaction = Interaction::new(
        AssistantMode::Customer,
        "Close my account",
        Outcome::Escalated,
    )
    .expect("valid");
    interaction.step_6_escalation_triggered = true;
    let escalation = Escalation {
        interaction_id: None,
        ..Escalation::new(Uuid::nil(), "human_only", "account closure needs a banker")
            .expect("valid")
    };
    let (iid, eid) = client
        .log_escalated_interaction(&interaction, &escalation)
        .await
        .expect("log");
    let detail = client.interaction(iid).await.expect("read").expect("found");
    assert_eq!(detail.escalations.len(), 1);
    assert_eq!(detail.escalations[0].id, eid);
    assert_eq!(detail.escalations[0].interaction_id, Some(iid));

    assert!(client.delete_interaction(iid).await.expect("delete"));
    assert!(!client.delete_interaction(iid).await.expect("second delete"));
    let left = count(&db, "SELECT count(*) FROM escalations").await;
    assert_eq!(left, 0, "the escalation went with its interaction");
}

async fn an_escalation_naming_another_interaction_is_refused_and_nothing_is_written(
    transport: Transport,
) {
    let db = Db::on(transport).await;
    let client = &db.client;
    let interaction = rich_interaction();
    let escalation = Escalation::new(Uuid::now_v7(), "human_only", "x").expect("valid");
    let err = client
        .log_escalated_interaction(&interaction, &escalation)
        .await
        .expect_err("refused");
    assert!(
        matches!(&err, Error::Validation(v) if v.field == "interaction_id"),
        "{err:?}"
    );
    assert_eq!(
        client.interaction(interaction.id).await.expect("read"),
        None
    );
}

async fn an_escalation_of_a_missing_interaction_is_a_foreign_key_error(transport: Transport) {
    let db = Db::on(transport).await;
    let client = &db.client;
    let escalation =
        Escalation::new(Uuid::now_v7(), "low_confidence", "no such interaction").expect("valid");
    let err = client
        .insert_escalation(&escalation)
        .await
        .expect_err("refused");
    assert!(
        matches!(&err, Error::ForeignKey { constraint, .. } if constraint == "escalations_interaction_id_fkey"),
        "{err:?}"
    );
    // The batch is atomic: a good interaction in the same call is not written either.
    let good = rich_interaction();
    let err = client
        .log(std::slice::from_ref(&good), &[escalation])
        .await
        .expect_err("refused");
    assert!(matches!(err, Error::ForeignKey { .. }));
    assert_eq!(client.interaction(good.id).await.expect("read"), None);
}

/// Writes a row the model cannot build, as another client would: raw SQL on the direct
/// transport, a raw table insert with the secret key over REST; the error as it maps.
async fn refused_row(db: &Db, sql: &str, table: &str, row: serde_json::Value) -> Error {
    match &db.server {
        None => Error::from(
            sqlx::query(sql)
                .execute(&db.pool)
                .await
                .expect_err("refused"),
        ),
        Some(server) => {
            let response = reqwest::Client::new()
                .post(format!("{}/{table}", server.url))
                .bearer_auth(common::rest::key(common::rest::Role::ServiceRole).expose())
                .json(&row)
                .send()
                .await
                .expect("the server answers");
            let status = response.status();
            assert!(!status.is_success(), "{sql}: accepted over REST");
            let body = response.bytes().await.expect("body");
            assistant_db::store::rest::error_from_response(
                status,
                &body,
                "inserting",
                KeyRole::Secret,
            )
        }
    }
}

async fn check_violations_name_their_column(transport: Transport) {
    // The model cannot build these rows, so write them as another client would.
    let db = Db::on(transport).await;
    let cases = [
        ("INSERT INTO interactions (assistant_mode, user_query, outcome) VALUES ('robot', 'q', 'resolved')", "interactions", "assistant_mode",
         serde_json::json!({"assistant_mode": "robot", "user_query": "q", "outcome": "resolved"})),
        ("INSERT INTO interactions (assistant_mode, user_query, outcome, intent_category) VALUES ('banker', 'q', 'resolved', 'other')", "interactions", "intent_category",
         serde_json::json!({"assistant_mode": "banker", "user_query": "q", "outcome": "resolved", "intent_category": "other"})),
        ("INSERT INTO interactions (assistant_mode, user_query, outcome) VALUES ('banker', 'q', 'maybe')", "interactions", "outcome",
         serde_json::json!({"assistant_mode": "banker", "user_query": "q", "outcome": "maybe"})),
        ("INSERT INTO knowledge_documents (openai_file_id, title, content_type) VALUES ('f', 't', 'leaked')", "knowledge_documents", "content_type",
         serde_json::json!({"openai_file_id": "f", "title": "t", "content_type": "leaked"})),
    ];
    for (sql, table, column, row) in cases {
        let err = refused_row(&db, sql, table, row).await;
        match &err {
            Error::CheckViolation {
                table: t,
                column: c,
                ..
            } => {
                assert_eq!((t.as_str(), c.as_str()), (table, column), "{err}")
            }
            other => panic!("{sql}: expected a check violation, got {other:?}"),
        }
        assert!(err.to_string().contains(column), "{err}");
    }
    let err = refused_row(
        &db,
        "INSERT INTO interactions (assistant_mode, outcome) VALUES ('banker', 'resolved')",
        "interactions",
        serde_json::json!({"assistant_mode": "banker", "outcome": "resolved"}),
    )
    .await;
    assert!(
        matches!(&err, Error::NotNull { column, .. } if column == "user_query"),
        "{err:?}"
    );
}

async fn knowledge_documents_insert_refuses_duplicates_and_upsert_updates(transport: Transport) {
    let db = Db::on(transport).await;
    let client = &db.client;
    let mut doc = KnowledgeDocument::new("file-123", "Fee schedule").expect("valid");
    doc.metadata = Some(serde_json::json!({"pages": 12}).try_into().expect("jsonb"));
    let id = client
        .insert_knowledge_document(&doc)
        .await
        .expect("insert");
    assert_eq!(
        client
            .insert_knowledge_document(&doc)
            .await
            .expect("same id again is a no-op"),
        id
    );

    let other = KnowledgeDocument::new("file-123", "Another title").expect("valid");
    let err = client
        .insert_knowledge_document(&other)
        .await
        .expect_err("duplicate");
    assert!(
        matches!(&err, Error::Duplicate { constraint, .. } if constraint == "knowledge_documents_openai_file_id_key"),
        "{err:?}"
    );

    let upserted = client
        .upsert_knowledge_document(&other)
        .await
        .expect("upsert");
    assert_eq!(upserted, id, "the existing row keeps its id");
    let docs: Vec<KnowledgeDocumentRow> = client
        .export_knowledge_documents()
        .try_collect()
        .await
        .expect("export");
    let docs: Vec<KnowledgeDocument> = docs
        .into_iter()
        .map(|row| KnowledgeDocument::try_from(row).expect("a valid row"))
        .collect();
    assert_eq!(docs.len(), 1);
    assert_eq!(docs[0].title.as_str(), "Another title");
    assert_eq!(docs[0].metadata, None, "upsert replaces the metadata");
}

async fn listing_filters_and_pages_without_gaps_or_repeats(transport: Transport) {
    // Over REST the server returns at most 40 rows per response (see `Db::rest`), so
    // pages of 50 and exports of 1000 only come out whole if the client pages for them.
    let db = Db::on(transport).await;
    let client = &db.client;
    let start = Utc
        .with_ymd_and_hms(2026, 10, 1, 0, 0, 0)
        .single()
        .expect("ts");
    let mut all = Vec::new();
    for n in 0..130 {
        let mode = if n % 2 == 0 {
            AssistantMode::Customer
        } else {
            AssistantMode::Banker
        };
        let outcome = if n % 5 == 0 {
            Outcome::Escalated
        } else {
            Outcome::Resolved
        };
        let mut i = Interaction::new(mode, &format!("question {n}"), outcome).expect("valid");
        // Some share a timestamp, so the id must break ties.
        i.timestamp = start + Duration::hours(n / 2);
        i.intent_name = Some(
            if n % 3 == 0 { "balance" } else { "fees" }
                .try_into()
                .expect("intent"),
        );
        i.intent_category = Some(if n % 3 == 0 {
            IntentCategory::Automatable
        } else {
            IntentCategory::Sensitive
        });
        i.session_id = Some(format!("s{}", n / 10).try_into().expect("session"));
        all.push(i);
    }
    let written = client.insert_interactions(&all).await.expect("insert");
    assert_eq!(written.interactions, 130);

    let mut seen = Vec::new();
    let mut sizes = Vec::new();
    let mut query = InteractionQuery {
        limit: Some(50),
        ..Default::default()
    };
    loop {
        let page = client.interactions(&query).await.expect("page");
        assert!(page.items.len() <= 50);
        sizes.push(page.items.len());
        seen.extend(
            page.items
                .into_iter()
                .map(|row| Interaction::try_from(row).expect("a valid row")),
        );
        match page.next {
            Some(next) => query.after = Some(next),
            None => break,
        }
    }
    assert_eq!(sizes, [50, 50, 30], "every page but the last is full");
    let mut expected = all.clone();
    expected.sort_by_key(|i| std::cmp::Reverse((i.timestamp, i.id)));
    let ids = |v: &[Interaction]| v.iter().map(|i| i.id).collect::<Vec<_>>();
    assert_eq!(
        ids(&seen),
        ids(&expected),
        "newest first, every row exactly once"
    );

    // An export streams the same rows in the same order.
    let exported: Vec<Uuid> = client
        .export_interactions(InteractionFilter::default())
        .map_ok(|row| row.id)
        .try_collect()
        .await
        .expect("export");
    assert_eq!(
        exported,
        ids(&expected),
        "the export is the listing's order"
    );

    let count = |filter: InteractionFilter| {
        let client = client.clone();
        async move {
            client
                .export_interactions(filter)
                .try_collect::<Vec<_>>()
                .await
                .expect("export")
                .len()
        }
    };
    let f = InteractionFilter::default;
    assert_eq!(count(f()).await, 130);
    assert_eq!(
        count(InteractionFilter {
            mode: Some(AssistantMode::Banker),
            ..f()
        })
        .await,
        65
    );
    assert_eq!(
        count(InteractionFilter {
            outcome: Some(Outcome::Escalated),
            ..f()
        })
        .await,
        26
    );
    assert_eq!(
        count(InteractionFilter {
            intent: Some("balance".into()),
            ..f()
        })
        .await,
        44
    );
    assert_eq!(
        count(InteractionFilter {
            category: Some(IntentCategory::Sensitive),
            ..f()
        })
        .await,
        86
    );
    assert_eq!(
        count(InteractionFilter {
            session: Some("s3".into()),
            ..f()
        })
        .await,
        10
    );
    let window = InteractionFilter {
        from: Some(start + Duration::hours(10)),
        to: Some(start + Duration::hours(19)),
        ..f()
    };
    assert_eq!(count(window).await, 20, "from and to are inclusive");
}

async fn an_unmigrated_database_fails_test_connection_with_the_reason(transport: Transport) {
    let err = match transport {
        Transport::Direct => {
            let client = Client::from_pool(common::empty_db().await);
            let err = client.test_connection().await.expect_err("no tables");
            assert!(
                matches!(&err, Error::NotMigrated { code, .. } if code == "42P01"),
                "{err:?}"
            );
            err
        }
        Transport::Rest => {
            let server = RestServer::start_with(ServerOptions {
                unmigrated: true,
                ..ServerOptions::default()
            })
            .await;
            let client = server.client(common::rest::Role::ServiceRole);
            let err = client.test_connection().await.expect_err("no functions");
            // PostgREST finds no log_interactions function (PGRST202).
            assert!(
                matches!(&err, Error::NotMigrated { code, .. } if code == "PGRST202"),
                "{err:?}"
            );
            err
        }
    };
    assert!(!err.is_retryable());
    let text = err.to_string();
    assert!(
        text.starts_with("the database does not have assistant-db's schema")
            && text.contains("run `assistant-db migrate`"),
        "{text}"
    );
}

async fn a_server_that_is_down_is_a_retryable_unavailable_error(transport: Transport) {
    if transport == Transport::Rest {
        // A port nobody listens on any more.
        let addr = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port");
        let store = assistant_db::store::RestStore::new(
            &format!("http://{addr}"),
            common::rest::key(common::rest::Role::ServiceRole),
            common::rest::fast_retries(),
        )
        .expect("store");
        let err = Client::from_rest(store)
            .test_connection()
            .await
            .expect_err("down");
        assert!(matches!(err, Error::Unavailable(_)), "{err:?}");
        assert!(err.is_retryable());
        assert!(
            err.to_string().contains("gave up after 5 attempts"),
            "{err}"
        );
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let options = sqlx::postgres::PgConnectOptions::new()
        .socket(dir.path())
        .username("postgres");
    let pool = sqlx::postgres::PgPoolOptions::new()
        .acquire_timeout(std::time::Duration::from_secs(2))
        .connect_lazy_with(options);
    let err = Client::from_pool(pool)
        .test_connection()
        .await
        .expect_err("down");
    assert!(matches!(err, Error::Unavailable(_)), "{err:?}");
    assert!(err.is_retryable());
}

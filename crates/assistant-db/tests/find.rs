//! Finding things, over both transports, which must agree: text search over queries and
//! responses, the trigger filter, a conversation's turns and the knowledge documents a
//! page at a time; and metrics whose days start at midnight in a chosen time zone.

mod common;

use assistant_db::metrics::{Bucket, MetricsFilter};
use assistant_db::model::{AssistantMode, Escalation, Interaction, KnowledgeDocument, Outcome};
use assistant_db::query::{InteractionFilter, InteractionQuery, TextSearch};
use assistant_db::when::Zone;
use assistant_db::{Client, Error};
use chrono::{DateTime, Duration, Utc};
use common::rest::{RestServer, Role};
use uuid::Uuid;

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("test instant")
        .with_timezone(&Utc)
}

/// One interaction of the test conversation set.
fn turn(
    query: &str,
    response: Option<&str>,
    session: &str,
    minutes: i64,
    outcome: Outcome,
) -> Interaction {
    let mut i = Interaction::new(AssistantMode::Customer, query, outcome).expect("valid");
    i.response_text = response.map(|r| r.try_into().expect("response"));
    i.session_id = Some(session.try_into().expect("session"));
    i.timestamp = at("2026-11-20T10:00:00Z") + Duration::minutes(minutes);
    i
}

/// The rows every search test looks through, in time order, and the escalation of the
/// second.
fn rows() -> (Vec<Interaction>, Escalation) {
    let rows = vec![
        turn(
            "My card was blocked at the ATM",
            Some("I have unblocked your card."),
            "s-1",
            0,
            Outcome::Resolved,
        ),
        turn(
            "Dispute a charge with a 100% fee",
            Some("Disputes go to a banker."),
            "s-1",
            1,
            Outcome::Escalated,
        ),
        turn(
            "What is the wire cut-off?",
            None,
            "s-2",
            2,
            Outcome::Resolved,
        ),
        turn(
            "under_score and 50% off",
            Some("Literal characters."),
            "s-3",
            3,
            Outcome::Resolved,
        ),
        turn(
            "underXscore and 5000 off",
            None,
            "s-3",
            4,
            Outcome::Resolved,
        ),
        turn(
            "CARDHOLDER name change",
            Some("Name changes need ID."),
            "s-4",
            5,
            Outcome::Resolved,
        ),
    ];
    let escalation = Escalation::new(rows[1].id, "human_only", "disputes").expect("valid");
    (rows, escalation)
}

/// The ids (in the order of `rows`) a search returns, newest first.
async fn found(client: &Client, filter: InteractionFilter, rows: &[Interaction]) -> Vec<usize> {
    let page = client
        .interactions(&InteractionQuery {
            filter,
            limit: Some(100),
            after: None,
        })
        .await
        .expect("the search runs");
    page.items
        .iter()
        .map(|r| {
            rows.iter()
                .position(|i| i.id == r.id)
                .unwrap_or_else(|| panic!("an unknown row {}", r.id))
        })
        .collect()
}

fn search(words: &str) -> InteractionFilter {
    InteractionFilter {
        search: Some(TextSearch::parse(words, "q").expect("a valid search")),
        ..InteractionFilter::default()
    }
}

/// Every search case and what it finds (indexes into `rows`, newest first).
fn cases() -> Vec<(InteractionFilter, Vec<usize>)> {
    vec![
        // Ignoring case, inside words, in the query or in the response.
        (search("card"), vec![5, 0]),
        (search("CARD blocked"), vec![0]),
        (search("unblocked"), vec![0]),
        // Each word may be in the query or in the response.
        (search("dispute banker"), vec![1]),
        // `%` and `_` are ordinary characters; `*` matches any text.
        (search("50%"), vec![3]),
        (search("100%"), vec![1]),
        (search("under_score"), vec![3]),
        (search("wire*off"), vec![2]),
        (search("under*score"), vec![4, 3]),
        (search("nothing-like-this"), vec![]),
        // With other filters.
        (
            InteractionFilter {
                outcome: Some(Outcome::Resolved),
                ..search("card")
            },
            vec![5, 0],
        ),
        (
            InteractionFilter {
                session: Some("s-1".into()),
                ..search("dispute")
            },
            vec![1],
        ),
        (
            InteractionFilter {
                trigger: Some("human_only".into()),
                ..InteractionFilter::default()
            },
            vec![1],
        ),
        (
            InteractionFilter {
                trigger: Some("low_confidence".into()),
                ..InteractionFilter::default()
            },
            vec![],
        ),
    ]
}

#[tokio::test]
async fn search_and_trigger_find_the_same_rows_over_both_transports() {
    let server = RestServer::start().await;
    let direct = Client::from_pool(server.pool.clone());
    let rest = server.client(Role::ServiceRole);
    let (rows, escalation) = rows();
    direct
        .log(&rows, std::slice::from_ref(&escalation))
        .await
        .expect("logged");
    for (filter, expected) in cases() {
        let what = format!("{filter:?}");
        assert_eq!(
            found(&direct, filter.clone(), &rows).await,
            expected,
            "direct: {what}"
        );
        assert_eq!(found(&rest, filter, &rows).await, expected, "REST: {what}");
    }
    // A search pages like any listing, over both transports.
    for client in [&direct, &rest] {
        let first = client
            .interactions(&InteractionQuery {
                filter: search("card"),
                limit: Some(1),
                after: None,
            })
            .await
            .expect("page 1");
        assert_eq!(first.items.len(), 1);
        let next = client
            .interactions(&InteractionQuery {
                filter: search("card"),
                limit: Some(1),
                after: first.next.clone(),
            })
            .await
            .expect("page 2");
        assert_eq!(next.items.first().map(|r| r.id), Some(rows[0].id));
        assert_eq!(next.next, None);
    }
}

#[test]
fn a_search_names_the_rule_it_breaks() {
    for (text, rule) in [
        ("", "must hold a word"),
        ("ab cd", "at least 3 characters"),
        ("a**b", "at least 3 characters"),
        ("a b c d e f g h i", "at most 8 words"),
    ] {
        let err = TextSearch::parse(text, "q").expect_err(text);
        assert_eq!(err.field, "q");
        assert!(err.rule.contains(rule), "{text:?}: {}", err.rule);
    }
    let long = "x".repeat(201);
    assert!(TextSearch::parse(&long, "q")
        .expect_err("long")
        .rule
        .contains("at most 200 characters"));
    assert_eq!(
        TextSearch::parse("  card   blocked ", "q")
            .expect("valid")
            .to_string(),
        "card blocked"
    );
}

#[tokio::test]
async fn a_session_lists_every_turn_oldest_first_over_both_transports() {
    let server = RestServer::start().await;
    let direct = Client::from_pool(server.pool.clone());
    let rest = server.client(Role::ServiceRole);
    let (rows, escalation) = rows();
    direct
        .log(&rows, std::slice::from_ref(&escalation))
        .await
        .expect("logged");
    for client in [&direct, &rest] {
        let s1 = client.session("s-1").await.expect("a session");
        assert_eq!(s1.session_id, "s-1");
        let ids: Vec<Uuid> = s1.turns.iter().map(|t| t.id).collect();
        assert_eq!(ids, [rows[0].id, rows[1].id]);
        assert!(!s1.truncated);
        assert!(client
            .session("no-such-session")
            .await
            .expect("empty")
            .turns
            .is_empty());
    }
}

#[tokio::test]
async fn knowledge_documents_come_a_page_at_a_time_over_both_transports() {
    let server = RestServer::start().await;
    let direct = Client::from_pool(server.pool.clone());
    let rest = server.client(Role::ServiceRole);
    let documents: Vec<KnowledgeDocument> = (0..5)
        .map(|i| KnowledgeDocument::new(&format!("file-{i}"), &format!("Doc {i}")).expect("valid"))
        .collect();
    direct
        .upsert_knowledge_documents(&documents)
        .await
        .expect("registered");
    let mut expected: Vec<Uuid> = documents.iter().map(|d| d.id).collect();
    expected.sort();
    for client in [&direct, &rest] {
        let mut seen = Vec::new();
        let mut after = None;
        let mut pages = 0;
        loop {
            let page = client.knowledge_documents(after, 2).await.expect("a page");
            pages += 1;
            assert!(page.items.len() <= 2);
            seen.extend(page.items.iter().map(|d| d.id));
            match page.next {
                Some(next) => {
                    assert_eq!(Some(next), page.items.last().map(|d| d.id));
                    after = Some(next);
                }
                None => break,
            }
        }
        assert_eq!(seen, expected);
        assert_eq!(pages, 3);
        let err = client
            .knowledge_documents(None, 0)
            .await
            .expect_err("limit 0");
        assert!(
            matches!(err, Error::Validation(ref e) if e.field == "limit"),
            "{err:?}"
        );
    }
}

#[tokio::test]
async fn day_and_week_buckets_start_at_midnight_in_the_zone_over_both_transports() {
    let server = RestServer::start().await;
    let direct = Client::from_pool(server.pool.clone());
    let rest = server.client(Role::ServiceRole);
    // 23:30 on Sunday Nov 1 in Paris, then 00:30 on Monday Nov 2 there; both on Nov 1 in
    // UTC.
    let mut late =
        Interaction::new(AssistantMode::Customer, "late", Outcome::Resolved).expect("valid");
    late.timestamp = at("2026-11-01T22:30:00Z");
    let mut early =
        Interaction::new(AssistantMode::Customer, "early", Outcome::Escalated).expect("valid");
    early.timestamp = at("2026-11-01T23:30:00Z");
    direct.log(&[late, early], &[]).await.expect("logged");
    let paris: Zone = "Europe/Paris".parse().expect("zone");
    let series = |bucket, tz| MetricsFilter {
        bucket,
        tz,
        ..MetricsFilter::default()
    };
    for client in [&direct, &rest] {
        let points = |m: assistant_db::metrics::Metrics| -> Vec<(String, i64, i64)> {
            m.timeseries
                .iter()
                .map(|b| (assistant_db::when::stamp(b.bucket), b.total, b.escalated))
                .collect()
        };
        let utc = client
            .metrics(&series(Bucket::Day, Zone::UTC))
            .await
            .expect("utc");
        assert_eq!(points(utc), [("2026-11-01T00:00:00Z".to_owned(), 2, 1)]);
        let days = client
            .metrics(&series(Bucket::Day, paris))
            .await
            .expect("paris");
        assert_eq!(
            points(days),
            [
                ("2026-10-31T23:00:00Z".to_owned(), 1, 0),
                ("2026-11-01T23:00:00Z".to_owned(), 1, 1)
            ]
        );
        // Weeks start on Monday: Sunday night and Monday morning in Paris are two weeks.
        let weeks = client
            .metrics(&series(Bucket::Week, paris))
            .await
            .expect("weeks");
        assert_eq!(
            points(weeks),
            [
                ("2026-10-25T23:00:00Z".to_owned(), 1, 0),
                ("2026-11-01T23:00:00Z".to_owned(), 1, 1)
            ]
        );
        let utc_weeks = client
            .metrics(&series(Bucket::Week, Zone::UTC))
            .await
            .expect("weeks");
        assert_eq!(
            points(utc_weeks),
            [("2026-10-26T00:00:00Z".to_owned(), 2, 1)]
        );
        // Hours in a zone half an hour off UTC start at half past, UTC's clock.
        let kolkata: Zone = "Asia/Kolkata".parse().expect("zone");
        let hours = client
            .metrics(&series(Bucket::Hour, kolkata))
            .await
            .expect("hours");
        assert_eq!(
            points(hours),
            [
                ("2026-11-01T22:30:00Z".to_owned(), 1, 0),
                ("2026-11-01T23:30:00Z".to_owned(), 1, 1)
            ]
        );
    }
    // A call with the function's first six arguments answers in UTC, as before 010.
    let six: serde_json::Value = sqlx::query_scalar(
        "SELECT public.interaction_metrics(NULL, NULL, NULL, NULL, NULL, 'day')",
    )
    .fetch_one(&server.pool)
    .await
    .expect("six arguments");
    assert_eq!(six["timeseries"][0]["bucket"], "2026-11-01T00:00:00Z");
    // A zone PostgreSQL does not know is refused naming the parameter.
    let err = sqlx::query_scalar::<_, serde_json::Value>(
        "SELECT public.interaction_metrics_tz(p_tz => 'Mars/Olympus')",
    )
    .fetch_one(&server.pool)
    .await
    .expect_err("no such zone");
    let err = Error::from(err);
    assert!(
        matches!(&err, Error::Validation(e) if e.field == "tz" && e.rule.contains("IANA")),
        "{err:?}"
    );
}

/// The dashboard's recent escalations: newest first, those of interactions without a
/// timestamp last, at most `limit`, within the filter.
#[tokio::test]
async fn recent_escalations_come_newest_first_and_untimed_last() {
    let pool = common::migrated_db().await;
    sqlx::query(
        "INSERT INTO public.interactions (id, \"timestamp\", assistant_mode, user_query, outcome) \
         SELECT ('00000000-0000-0000-0000-00000000000' || n)::uuid, \
                CASE WHEN n = 1 THEN NULL ELSE '2026-11-02 08:00Z'::timestamptz + n * interval '1 hour' END, \
                CASE WHEN n = 5 THEN 'banker' ELSE 'customer' END, 'q', 'escalated' \
         FROM generate_series(1, 6) AS n",
    )
    .execute(&pool)
    .await
    .expect("interactions");
    sqlx::query(
        "INSERT INTO public.escalations (interaction_id, trigger_type, escalation_reason) \
         SELECT id, 'low_confidence', 'r' FROM public.interactions",
    )
    .execute(&pool)
    .await
    .expect("escalations");
    let client = Client::from_pool(pool);
    let order = |rows: Vec<assistant_db::query::RecentEscalation>| -> Vec<u128> {
        rows.iter().map(|r| r.interaction_id.as_u128()).collect()
    };
    let all = client
        .recent_escalations(&MetricsFilter::default(), 10)
        .await
        .expect("all");
    assert_eq!(order(all), [6, 5, 4, 3, 2, 1]);
    let customer = MetricsFilter {
        mode: Some(AssistantMode::Customer),
        ..MetricsFilter::default()
    };
    let two = client.recent_escalations(&customer, 2).await.expect("two");
    assert_eq!(order(two), [6, 4]);
    let windowed = MetricsFilter {
        from: Some("2026-11-02T10:00:00Z".parse().expect("instant")),
        ..customer
    };
    let rows = client
        .recent_escalations(&windowed, 10)
        .await
        .expect("window");
    assert_eq!(order(rows), [6, 4, 3, 2]);
}

//! `POST /api/interactions` and `/api/escalations` redact before the spool: a card number,
//! an IBAN, an e-mail address and a phone number come back masked (the database's guard
//! is off here, so the masking is the library's), negatives unchanged, the counts per kind
//! reach `/metrics`, and no answer repeats the card number.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::TestApp;

const PII: &str = "Card 4012 8888 8888 1881, IBAN GB82 WEST 1234 5698 7654 32, \
                   mail jane.doe@example.com, call +44 20 7946 0958";
const MASKED: &str = "Card [CARD ••••1881], IBAN [IBAN GB••…5432], mail [EMAIL], call [PHONE]";
const NEGATIVE: &str = "Order 4111 1111 1111 1112 is late; paid $1,250.00 on 2024-03-15; \
                        ref 0190a6b2-7c3e-7d4f-8a9b-1c2d3e4f5a6b";
/// The card's digits as they could leak, without the last four the mask keeps.
const LEAKS: [&str; 2] = ["401288888888", "4012 8888 8888"];

fn assert_no_card(text: &str, what: &str) {
    for leak in LEAKS {
        assert!(!text.contains(leak), "{what} holds the card number: {text}");
    }
}

#[tokio::test]
async fn posted_records_come_back_masked_and_counted() {
    let app = TestApp::spawn().await;
    sqlx::raw_sql(
        "ALTER TABLE public.interactions DISABLE TRIGGER redaction_guard; \
         ALTER TABLE public.escalations DISABLE TRIGGER redaction_guard;",
    )
    .execute(&app.pool)
    .await
    .expect("guard off");
    let dirty = "01900000-0000-7000-8000-0000000000a1";
    let clean = "01900000-0000-7000-8000-0000000000a2";
    let (status, body) = app
        .post(
            "/api/interactions",
            &json!([
                {"id": dirty, "assistant_mode": "customer", "user_query": PII,
                 "response_text": NEGATIVE, "outcome": "escalated",
                 "escalations": [{"trigger_type": "human_only", "escalation_reason": PII}]},
                {"id": clean, "assistant_mode": "banker", "user_query": NEGATIVE,
                 "response_text": NEGATIVE, "outcome": "resolved"},
            ]),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let (status, body) = app
        .post(
            "/api/escalations",
            &json!({"interaction_id": clean, "trigger_type": "low_confidence",
                    "escalation_reason": PII}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    app.settled().await;

    let rows: Vec<(String, String, Option<String>)> = sqlx::query_as(
        "SELECT id::text, user_query, response_text FROM public.interactions ORDER BY id",
    )
    .fetch_all(&app.pool)
    .await
    .expect("rows");
    assert_eq!(
        rows,
        [
            (
                dirty.to_owned(),
                MASKED.to_owned(),
                Some(NEGATIVE.to_owned())
            ),
            (
                clean.to_owned(),
                NEGATIVE.to_owned(),
                Some(NEGATIVE.to_owned())
            ),
        ]
    );
    let reasons: Vec<String> =
        sqlx::query_scalar("SELECT escalation_reason FROM public.escalations")
            .fetch_all(&app.pool)
            .await
            .expect("escalations");
    assert_eq!(reasons, [MASKED, MASKED]);

    let metrics = app.fetch_text("/metrics").await;
    for line in [
        r#"assistant_db_redactions_total{kind="card"} 3"#,
        r#"assistant_db_redactions_total{kind="iban"} 3"#,
        r#"assistant_db_redactions_total{kind="email"} 3"#,
        r#"assistant_db_redactions_total{kind="phone"} 3"#,
        r#"assistant_db_redactions_total{kind="ssn"} 0"#,
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "no {line} in\n{metrics}"
        );
    }
    let (status, detail) = app.get(&format!("/api/interactions/{dirty}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_no_card(&detail.to_string(), "the interaction read back");

    // A refused record's errors do not repeat its text.
    let (status, body) = app
        .post(
            "/api/interactions",
            &json!({"assistant_mode": "customer", "user_query": PII, "outcome": "resolved",
                    "confidence_score": 7}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_no_card(&body.to_string(), "the 422 answer");
}

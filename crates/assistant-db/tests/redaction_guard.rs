//! The database-side PII guard (migration `006_redaction_guard.sql`) on a real
//! PostgreSQL: rows written with plain SQL, COPY, UPDATE and the REST API come back with
//! card numbers, IBANs and e-mail addresses masked; hard negatives come back unchanged;
//! and the SQL agrees with the Rust engine, text for text, on the whole corpus.

mod common;

use std::path::Path;

use assistant_db::redact::detect::{card, iban};
use assistant_db::redact::{Kind, Policy, RedactionConfig, Redactor};
use common::rest::{key, RestServer, Role};
use serde_json::json;
use sqlx::PgPool;

/// The Rust engine restricted to what the guard covers.
fn guard_kinds_only() -> Redactor {
    let config = RedactionConfig::new()
        .with_all(Policy::Off)
        .with_policy(Kind::Card, Policy::Mask)
        .with_policy(Kind::Iban, Policy::Mask)
        .with_policy(Kind::Email, Policy::Mask);
    Redactor::new(&config).expect("config")
}

/// `redaction.mask_text` of each text, in order.
async fn masked(pool: &PgPool, texts: &[String]) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT redaction.mask_text(u.t) FROM unnest($1::text[]) WITH ORDINALITY AS u(t, n) \
         ORDER BY u.n",
    )
    .bind(texts)
    .fetch_all(pool)
    .await
    .expect("mask_text")
}

fn corpus_texts() -> Vec<(String, String, bool)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/redaction/corpus.jsonl");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    text.lines()
        .map(|line| {
            let row: serde_json::Value = serde_json::from_str(line).expect("corpus row");
            let id = row["id"].as_str().expect("id").to_owned();
            let text = row["text"].as_str().expect("text").to_owned();
            let negative = row["expect"].as_array().is_some_and(|e| e.is_empty());
            (id, text, negative)
        })
        .collect()
}

const STORED: &str = "SELECT user_query, response_text, classification_reason, escalation_reason \
                      FROM public.interactions WHERE id = $1";

type Columns = (String, Option<String>, Option<String>, Option<String>);

#[tokio::test]
async fn plain_sql_inserts_and_updates_come_back_masked() {
    let pool = common::migrated_db().await;
    let id: uuid::Uuid = sqlx::query_scalar(
        "INSERT INTO public.interactions (assistant_mode, user_query, outcome, response_text, \
         classification_reason, escalation_reason) VALUES ('customer', $1, 'escalated', $2, $3, $4) \
         RETURNING id",
    )
    .bind("my card 4111 1111 1111 1111 was charged twice")
    .bind("We will refund to GB82 WEST 1234 5698 7654 32 and write to jane.doe@example.com.")
    .bind("card number 5555-5555-5555-4444 shared")
    .bind("IBAN DE89370400440532013000, e-mail J.Doe+bank@Example.co.uk")
    .fetch_one(&pool)
    .await
    .expect("insert");
    let row: Columns = sqlx::query_as(STORED)
        .bind(id)
        .fetch_one(&pool)
        .await
        .expect("row");
    assert_eq!(row.0, "my card [CARD ••••1111] was charged twice");
    assert_eq!(
        row.1.as_deref(),
        Some("We will refund to [IBAN GB••…5432] and write to [EMAIL].")
    );
    assert_eq!(row.2.as_deref(), Some("card number [CARD ••••4444] shared"));
    assert_eq!(
        row.3.as_deref(),
        Some("IBAN [IBAN DE••…3000], e-mail [EMAIL]")
    );

    sqlx::query("UPDATE public.interactions SET user_query = $2 WHERE id = $1")
        .bind(id)
        .bind("new card 378282246310005")
        .execute(&pool)
        .await
        .expect("update");
    let query: String =
        sqlx::query_scalar("SELECT user_query FROM public.interactions WHERE id = $1")
            .bind(id)
            .fetch_one(&pool)
            .await
            .expect("row");
    assert_eq!(query, "new card [CARD ••••0005]");

    let reason: String = sqlx::query_scalar(
        "INSERT INTO public.escalations (interaction_id, trigger_type, escalation_reason) \
         VALUES ($1, 'human_only', 'call-back to x@example.org about 6011 1111 1111 1117') \
         RETURNING escalation_reason",
    )
    .bind(id)
    .fetch_one(&pool)
    .await
    .expect("escalation");
    assert_eq!(reason, "call-back to [EMAIL] about [CARD ••••1117]");
}

#[tokio::test]
async fn copy_is_guarded_too() {
    let pool = common::migrated_db().await;
    let mut conn = pool.acquire().await.expect("connection");
    let mut copy = conn
        .copy_in_raw(
            "COPY public.interactions (assistant_mode, user_query, outcome) FROM STDIN (FORMAT csv)",
        )
        .await
        .expect("copy");
    copy.send(b"customer,card 4012888888881881 please,resolved\n".as_slice())
        .await
        .expect("send");
    copy.finish().await.expect("finish");
    drop(conn);
    let stored: String = sqlx::query_scalar("SELECT user_query FROM public.interactions")
        .fetch_one(&pool)
        .await
        .expect("row");
    assert_eq!(stored, "card [CARD ••••1881] please");
}

#[tokio::test]
async fn hard_negatives_are_stored_unchanged() {
    let pool = common::migrated_db().await;
    let negatives = [
        "Order 4111 1111 1111 1112 is late (Luhn fails).",
        "Reference 1234567812345670 passes Luhn but no network starts with 1.",
        "Paid $1,250.00 on 2024-03-15 at 14:30, balance 4,111.11.",
        "Interaction 0190a6b2-7c3e-7d4f-8a9b-1c2d3e4f5a6b and 550e8400-e29b-41d4-a716-446655440000.",
        "Is GB83 WEST 1234 5698 7654 32 valid? The check digits are wrong.",
        "Call +44 20 7946 0958, SSN 123-45-6789, account 12345678, CVV 123.",
        "Already redacted: [CARD ••••1111] [IBAN GB••…5432] [EMAIL] [CARD #0a1b2c3d4e5f].",
        "@BankSupport on Twitter, user@localhost, price @ 5.",
    ];
    for text in negatives {
        let stored: String = sqlx::query_scalar(
            "INSERT INTO public.interactions (assistant_mode, user_query, outcome) \
             VALUES ('banker', $1, 'resolved') RETURNING user_query",
        )
        .bind(text)
        .fetch_one(&pool)
        .await
        .expect("insert");
        assert_eq!(stored, text);
    }
    let corpus_negatives: Vec<String> = corpus_texts()
        .into_iter()
        .filter(|(_, _, negative)| *negative)
        .map(|(_, text, _)| text)
        .collect();
    assert!(corpus_negatives.len() >= 100);
    let out = masked(&pool, &corpus_negatives).await;
    for (text, out) in corpus_negatives.iter().zip(&out) {
        assert_eq!(out, text);
    }
}

#[tokio::test]
async fn rust_and_sql_agree_on_the_corpus_and_edge_cases() {
    let pool = common::migrated_db().await;
    let redactor = guard_kinds_only();
    let mut texts: Vec<(String, String)> = corpus_texts()
        .into_iter()
        .map(|(id, text, _)| (id, text))
        .collect();
    for (i, edge) in [
        "4111 1111 1111 1111@x.com",
        "_4111 1111 1111 1111 5555 5555 5555 4444",
        "+4111 1111 1111 1111 5555 5555 5555 4444",
        "AB12 4111 1111 1111 1111",
        "GB82 WEST 1234 5698 7654 32 4111 1111 1111 1111",
        "BE68 5390 0754 7034 4111 1111 1111 1111",
        "x@y.com4111111111111111",
        "(4111-1111-1111-1111)",
        "4111111111111111111111",
        "ab GB82WEST12345698765432 xGB82WEST12345698765432",
        "GB82WEST12345698765432x@y.com",
        "josé.garcía@ejemplo.es, ivan@пример.рф",
        "4111 1111 1111 1111 2 and 5555 5555 5555 4444 4111111111111111",
        "[CARD ••••1111] [IBAN GB••…5432] [EMAIL] [CARD 4111 1111 1111 1111]",
        "é4111111111111111 ü GB82 WEST 1234 5698 7654 32…DE89370400440532013000…",
        "gb82 west 1234 5698 7654 32",
        "4111 1111 1111 1111-5555-5555-5555-4444",
        "12.4111 1111 1111 1111",
        "",
    ]
    .into_iter()
    .enumerate()
    {
        texts.push((format!("edge-{i}"), edge.to_owned()));
    }
    let inputs: Vec<String> = texts.iter().map(|(_, t)| t.clone()).collect();
    let sql = masked(&pool, &inputs).await;
    let mut changed = 0;
    let mut disagreements = Vec::new();
    for ((id, text), sql) in texts.iter().zip(&sql) {
        let rust = redactor.redact(text);
        if rust != text.as_str() {
            changed += 1;
        }
        if rust != sql.as_str() {
            disagreements.push(format!("{id}\n  rust: {rust}\n  sql:  {sql}"));
        }
    }
    println!(
        "{} texts, {changed} changed by the guard's kinds, {} disagreements",
        texts.len(),
        disagreements.len()
    );
    assert!(
        changed > 150,
        "only {changed} texts had a card, IBAN or e-mail"
    );
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
}

#[tokio::test]
async fn the_sql_tables_are_the_rust_tables() {
    let pool = common::migrated_db().await;
    let codes: Vec<String> = (b'A'..=b'Z')
        .flat_map(|a| (b'A'..=b'Z').map(move |b| String::from_utf8(vec![a, b]).expect("ascii")))
        .collect();
    let sql: Vec<Option<i32>> = sqlx::query_scalar(
        "SELECT redaction.iban_length(u.c) FROM unnest($1::text[]) WITH ORDINALITY AS u(c, n) \
         ORDER BY u.n",
    )
    .bind(&codes)
    .fetch_all(&pool)
    .await
    .expect("iban_length");
    for (code, sql) in codes.iter().zip(sql) {
        let rust = iban::country_length([code.as_bytes()[0], code.as_bytes()[1]]);
        assert_eq!(sql.map(|n| n as usize), rust, "{code}");
    }

    // Every 4-digit prefix at every length around the card range, padded to pass Luhn
    // half of the time and fail it the other half.
    let mut numbers = Vec::new();
    for prefix in 0..10_000u32 {
        for len in 12..=20usize {
            let mut digits = format!("{prefix:04}{}", "7".repeat(len - 4));
            if prefix % 2 == 0 {
                let last = (0..10)
                    .map(|d| format!("{}{d}", &digits[..len - 1]))
                    .find(|d| card::luhn_valid(d.as_bytes()))
                    .expect("some digit completes Luhn");
                digits = last;
            }
            numbers.push(digits);
        }
    }
    let sql: Vec<bool> = sqlx::query_scalar(
        "SELECT redaction.card_network_ok(u.d) AND redaction.luhn_ok(u.d) \
         FROM unnest($1::text[]) WITH ORDINALITY AS u(d, n) ORDER BY u.n",
    )
    .bind(&numbers)
    .fetch_all(&pool)
    .await
    .expect("card checks");
    let mut cards = 0;
    for (digits, sql) in numbers.iter().zip(sql) {
        let rust = card::is_card(digits.as_bytes());
        cards += usize::from(rust);
        assert_eq!(sql, rust, "{digits}");
    }
    assert!(cards > 1000, "only {cards} cards among the samples");
}

#[tokio::test]
async fn rows_written_through_the_rest_api_are_masked_with_either_key() {
    let server = RestServer::start().await;
    let http = reqwest::Client::new();
    let post = |path: &str, role: Role, body: serde_json::Value| {
        let key = key(role);
        http.post(format!("{}/{path}", server.url))
            .header("apikey", key.expose())
            .bearer_auth(key.expose())
            .json(&body)
            .send()
    };
    // The secret key may insert into the table directly, as the spec's wrapper does.
    let direct = post(
        "interactions",
        Role::ServiceRole,
        json!({"assistant_mode": "customer", "outcome": "resolved",
               "user_query": "direct insert, card 4111111111111111, mail a@b.com"}),
    )
    .await
    .expect("request");
    assert!(direct.status().is_success(), "{}", direct.status());
    // The public key may only log through the function.
    let logged = post(
        "rpc/log_interactions",
        Role::Anon,
        json!({"p_interactions": [{"assistant_mode": "customer", "outcome": "resolved",
               "user_query": "through the function, IBAN NL91ABNA0417164300"}]}),
    )
    .await
    .expect("request");
    assert!(logged.status().is_success(), "{}", logged.status());

    let mut stored: Vec<String> =
        sqlx::query_scalar("SELECT user_query FROM public.interactions ORDER BY user_query")
            .fetch_all(&server.pool)
            .await
            .expect("rows");
    stored.sort();
    assert_eq!(
        stored,
        [
            "direct insert, card [CARD ••••1111], mail [EMAIL]",
            "through the function, IBAN [IBAN NL••…4300]"
        ]
    );
}

#[tokio::test]
async fn the_migration_is_idempotent_and_its_functions_private() {
    let pool = common::migrated_db().await;
    let sql = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../database/migrations/006_redaction_guard.sql"),
    )
    .expect("migration file");
    for _ in 0..2 {
        common::exec(&pool, &sql).await;
    }
    let triggers: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_trigger WHERE tgname = 'redaction_guard' AND NOT tgisinternal",
    )
    .fetch_one(&pool)
    .await
    .expect("count");
    assert_eq!(triggers, 2, "one trigger per table");
    let stored: String = sqlx::query_scalar(
        "INSERT INTO public.interactions (assistant_mode, user_query, outcome) \
         VALUES ('customer', 'x 4111111111111111', 'resolved') RETURNING user_query",
    )
    .fetch_one(&pool)
    .await
    .expect("insert");
    assert_eq!(stored, "x [CARD ••••1111]");

    for role in ["anon", "authenticated", "service_role"] {
        let mut tx = pool.begin().await.expect("transaction");
        sqlx::query(&format!("SET LOCAL ROLE {role}"))
            .execute(&mut *tx)
            .await
            .expect("set role");
        let err = sqlx::query_scalar::<_, String>("SELECT redaction.mask_text('x')")
            .fetch_one(&mut *tx)
            .await
            .expect_err("the API roles may not call the guard's functions");
        assert!(
            err.to_string().contains("permission denied"),
            "{role}: {err}"
        );
    }

    // The e-mail pattern in the SQL is the engine's, character for character.
    let pattern = assistant_db::redact::detect::email_pattern().replace('\'', "''");
    assert!(
        sql.contains(&pattern),
        "the SQL's e-mail pattern differs from the engine's"
    );
}

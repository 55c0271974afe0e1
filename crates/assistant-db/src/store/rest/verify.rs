//! `verify` over Supabase's REST API: what the API can show, and what needs `DATABASE_URL`.
//!
//! PostgREST exposes rows and functions, not the catalog, so the column, index and
//! constraint checks cannot run over it. What it can show is checked for real: the key
//! is accepted and the migrations' functions are there, each table is reachable with the
//! secret key and hidden from the public key, the public key cannot change a row, read
//! the migration history or call the functions meant for the secret key, the functions
//! validate (naming the row, field and rule), metrics answer the secret key and answer
//! the public key only as the public-metrics setting says. Every probe either writes
//! nothing (it is refused, or refers to no row) or, with the secret key only, deletes
//! what it wrote.

use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

use super::{KeyRole, RestStore};
use crate::error::Error;
use crate::metrics::MetricsFilter;
use crate::model::{AssistantMode, Escalation, Interaction, Outcome};
use crate::store::Store;
use crate::verify::{Report, Section};

/// What only a direct connection can check, for the report.
const NEEDS_DATABASE_URL: [&str; 5] = [
    "columns: types, lengths, nullability and defaults",
    "the nine indexes",
    "constraints in the catalog: primary keys, CHECK enums, foreign key, unique key",
    "row-level security, grants, the functions' rights and search_path, role timeouts, in the catalog",
    "migration history (_sqlx_migrations)",
];

const TABLES: [&str; 3] = ["interactions", "escalations", "knowledge_documents"];

/// Runs the checks the REST API allows; never fails as a whole; a failing probe is a ✗.
pub async fn verify(store: &RestStore) -> Report {
    let mut report = Report {
        not_checked: NEEDS_DATABASE_URL
            .iter()
            .map(|&what| what.to_owned())
            .collect(),
        ..Report::default()
    };
    let role = store.key_role();
    match store.test_connection().await {
        Ok(()) => report.push(
            Section::Connection,
            "connection",
            true,
            format!(
                "{} answers, accepts the {} and has log_interactions",
                store.base_url().trim_end_matches('/'),
                role.describe()
            ),
        ),
        Err(e) => {
            report.push(Section::Connection, "connection", false, e.to_string());
            return report;
        }
    }
    for table in TABLES {
        let (ok, detail) = table_check(store, role, table).await;
        report.push(Section::Tables, format!("table {table}"), ok, detail);
    }
    if role == KeyRole::Secret {
        write_round_trip(store, &mut report).await;
    } else {
        public_key_refusals(store, role, &mut report).await;
    }
    function_checks(store, role, &mut report).await;
    report
}

/// Reads one row: the secret key must reach the table, any other key must see no row.
async fn table_check(store: &RestStore, role: KeyRole, table: &str) -> (bool, String) {
    let read = store
        .raw(
            Method::GET,
            table,
            vec![("select", "id".into()), ("limit", "1".into())],
            None,
            &format!("reading {table}"),
        )
        .await
        .and_then(|body| {
            serde_json::from_slice::<Vec<Value>>(&body).map_err(|e| Error::Database {
                code: None,
                message: format!("unexpected answer: {e}"),
            })
        });
    match (role, read) {
        (KeyRole::Secret, Ok(_)) => (true, "reachable with the secret key".into()),
        (_, Ok(rows)) if rows.is_empty() => {
            (true, format!("no row visible to the {}", role.describe()))
        }
        (_, Ok(_)) => (
            false,
            format!(
                "the {} can read rows: apply migration 004 (row-level security)",
                role.describe()
            ),
        ),
        (KeyRole::Secret, Err(e)) => (false, e.to_string()),
        (_, Err(Error::PermissionDenied(_))) => (
            true,
            format!(
                "rows hidden from the {} (permission denied)",
                role.describe()
            ),
        ),
        (_, Err(e)) => (false, e.to_string()),
    }
}

/// A request that a key without table privileges must see refused.
struct Probe {
    action: &'static str,
    method: Method,
    path: &'static str,
    query: Vec<(&'static str, String)>,
    body: Option<Value>,
}

/// With a key other than the secret one, every way of changing a row must be refused.
/// The probes match no row or break a CHECK, so nothing is written even if one is allowed.
async fn public_key_refusals(store: &RestStore, role: KeyRole, report: &mut Report) {
    let nobody = format!("eq.{}", Uuid::nil());
    let probes = [
        Probe {
            action: "delete interactions",
            method: Method::DELETE,
            path: "interactions",
            query: vec![("id", nobody.clone())],
            body: None,
        },
        Probe {
            action: "update interactions",
            method: Method::PATCH,
            path: "interactions",
            query: vec![("id", nobody)],
            body: Some(json!({ "user_query": "assistant-db verify" })),
        },
        Probe {
            action: "insert into interactions directly",
            method: Method::POST,
            path: "interactions",
            query: Vec::new(),
            body: Some(json!({
                "assistant_mode": "robot",
                "user_query": "assistant-db verify",
                "outcome": "resolved"
            })),
        },
        Probe {
            action: "register knowledge documents",
            method: Method::POST,
            path: "rpc/upsert_knowledge_documents",
            query: Vec::new(),
            body: Some(json!({ "p_documents": [] })),
        },
        Probe {
            action: "read the migration history",
            method: Method::GET,
            path: "_sqlx_migrations",
            query: vec![("select", "version".into()), ("limit", "1".into())],
            body: None,
        },
        Probe {
            action: "read the data-quality report",
            method: Method::POST,
            path: "rpc/data_quality_report",
            query: Vec::new(),
            body: Some(json!({})),
        },
    ];
    for Probe {
        action,
        method,
        path,
        query,
        body,
    } in probes
    {
        let result = store.raw(method, path, query, body.as_ref(), action).await;
        let (ok, detail) = match result {
            Err(Error::PermissionDenied(_)) => (true, "refused (permission denied)".to_owned()),
            // A table or function the API does not show to this key cannot be reached.
            Err(Error::NotMigrated { code, .. }) => (true, format!("not reachable ({code})")),
            // No table is closed with row-level security alone, but a table with no row
            // for this key shows nothing either.
            Ok(body) if method_is_read(action) && shows_no_row(&body) => {
                (true, "answers, with no row".to_owned())
            }
            Ok(_) | Err(Error::CheckViolation { .. }) => (
                false,
                "allowed: apply migration 004, which revokes table privileges from the public key"
                    .to_owned(),
            ),
            Err(e) => (false, format!("expected a refusal, got: {e}")),
        };
        report.push(
            Section::Security,
            format!("the {} cannot {action}", role.describe()),
            ok,
            detail,
        );
    }
}

/// Whether a probe only reads.
fn method_is_read(action: &str) -> bool {
    action.starts_with("read")
}

/// An answer holding no row: `[]`.
fn shows_no_row(body: &[u8]) -> bool {
    serde_json::from_slice::<Vec<Value>>(body).is_ok_and(|rows| rows.is_empty())
}

/// With the secret key: log an interaction with an escalation, read both back, delete
/// the interaction and see the escalation go with it.
async fn write_round_trip(store: &RestStore, report: &mut Report) {
    let result = async {
        let mut interaction = Interaction::new(
            AssistantMode::Customer,
            "assistant-db verify: a probe row, deleted at once",
            Outcome::Escalated,
        )?;
        interaction.step_6_escalation_triggered = true;
        let escalation = Escalation::new(interaction.id, "verify", "assistant-db verify probe")?;
        let written = store
            .log(
                std::slice::from_ref(&interaction),
                std::slice::from_ref(&escalation),
            )
            .await?;
        let detail = store.interaction(interaction.id).await?;
        let deleted = store.delete_interaction(interaction.id).await?;
        let left = store
            .raw(
                Method::GET,
                "escalations",
                vec![
                    ("select", "id".into()),
                    ("id", format!("eq.{}", escalation.id)),
                ],
                None,
                "reading escalations",
            )
            .await?;
        let left =
            serde_json::from_slice::<Vec<Value>>(&left).map_or(true, |rows| !rows.is_empty());
        let read_back = detail
            .as_ref()
            .is_some_and(|d| d.interaction.id == interaction.id && d.escalations.len() == 1);
        Ok::<_, Error>(match (written.interactions, read_back, deleted, left) {
            (1, true, true, false) => (
                true,
                "logged through log_interactions, read back with its escalation, deleted with it"
                    .to_owned(),
            ),
            _ => (
                false,
                format!(
                    "logged {} interaction(s), read back: {read_back}, deleted: {deleted}, \
                     escalation left behind: {left} (probe id {})",
                    written.interactions, interaction.id
                ),
            ),
        })
    }
    .await;
    let (ok, detail) = result.unwrap_or_else(|e| (false, e.to_string()));
    report.push(
        Section::Behaviour,
        "log, read back and delete an interaction with its escalation",
        ok,
        detail,
    );
}

/// The functions every key may call: validation inside `log_interactions` (refusals
/// write nothing and name the row, field and rule), and `interaction_metrics`, which the
/// public key may call only while the database owner allows it.
async fn function_checks(store: &RestStore, role: KeyRole, report: &mut Report) {
    let bad_mode = json!({
        "p_interactions": [{ "assistant_mode": "robot", "user_query": "assistant-db verify", "outcome": "resolved" }],
        "p_escalations": []
    });
    let (ok, detail) = match store
        .raw(
            Method::POST,
            "rpc/log_interactions",
            Vec::new(),
            Some(&bad_mode),
            "logging",
        )
        .await
    {
        Err(Error::Validation(v)) if v.field == "interactions[0].assistant_mode" => {
            (true, format!("refused: {}: {}", v.field, v.rule))
        }
        Ok(_) => (false, "accepted assistant_mode = 'robot'".to_owned()),
        Err(Error::CheckViolation { .. }) => (
            false,
            "refused by the CHECK constraint only, without naming the row: apply migration 005"
                .to_owned(),
        ),
        Err(e) => (false, format!("expected a validation error, got: {e}")),
    };
    report.push(
        Section::Behaviour,
        "log_interactions rejects assistant_mode 'robot'",
        ok,
        detail,
    );

    let dangling = json!({
        "p_interactions": [],
        "p_escalations": [{ "interaction_id": Uuid::nil(), "trigger_type": "verify", "escalation_reason": "assistant-db verify" }]
    });
    let result = store
        .raw(
            Method::POST,
            "rpc/log_interactions",
            Vec::new(),
            Some(&dangling),
            "logging",
        )
        .await;
    let (ok, detail) = match (role, result) {
        // The secret key may escalate any stored interaction: the foreign key decides.
        (KeyRole::Secret, Err(Error::ForeignKey { .. })) => (
            true,
            "refused an escalation whose interaction does not exist (23503)".to_owned(),
        ),
        // Any other key only those of the same call or of the last hour.
        (KeyRole::Public | KeyRole::Other, Err(Error::Validation(v)))
            if v.field == "escalations[0].interaction_id" =>
        {
            (true, format!("refused: {}: {}", v.field, v.rule))
        }
        (_, Ok(_)) => (false, "accepted a dangling escalation".to_owned()),
        (_, Err(e)) => (false, format!("expected a refusal, got: {e}")),
    };
    report.push(
        Section::Behaviour,
        "log_interactions rejects an escalation of a missing interaction",
        ok,
        detail,
    );

    let (ok, detail) = match (role, store.metrics(&MetricsFilter::default()).await) {
        (KeyRole::Secret, Ok(m)) => (
            true,
            format!(
                "interaction_metrics answers ({} interactions)",
                m.total_interactions
            ),
        ),
        (_, Ok(m)) => (
            true,
            format!(
                "public metrics are on: interaction_metrics answers ({} interactions, {} small \
                 groups suppressed)",
                m.total_interactions,
                m.suppressed.by_mode
                    + m.suppressed.by_intent
                    + m.suppressed.by_intent_category
                    + m.suppressed.escalations_by_trigger
                    + m.suppressed.timeseries
            ),
        ),
        (KeyRole::Public | KeyRole::Other, Err(Error::PermissionDenied(message)))
            if message.contains("metrics are off") =>
        {
            (
                true,
                "public metrics are off: refused to this key".to_owned(),
            )
        }
        (KeyRole::Public | KeyRole::Other, Err(Error::Validation(v))) if v.field == "window" => (
            true,
            "public metrics are on: refused a window of fewer than 10 interactions".to_owned(),
        ),
        (_, Err(e)) => (false, e.to_string()),
    };
    report.push(
        Section::Behaviour,
        "metrics through interaction_metrics",
        ok,
        detail,
    );
}

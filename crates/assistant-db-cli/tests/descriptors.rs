//! One descriptor per table feeds every column list: the CSV header `export` writes, the
//! binary COPY column list, and the OpenAPI document's request and row schemas each name
//! exactly the descriptor's columns, in its order where there is an order. Adding a column
//! to `assistant_db::table` is therefore the only change CSV, COPY and OpenAPI need.

mod common;

use assistant_db::table::{self, Table};
use common::{ok_against, scratch_db, Schema};
use serde_json::Value;

/// The descriptor's column names, in order.
fn names(table: &Table) -> Vec<&'static str> {
    table.columns.iter().map(|c| c.name).collect()
}

/// The property names of a component schema of the served document, sorted.
fn properties(spec: &Value, schema: &str) -> Vec<String> {
    let mut names: Vec<String> = spec["components"]["schemas"][schema]["properties"]
        .as_object()
        .unwrap_or_else(|| panic!("no schema {schema} in the document"))
        .keys()
        .cloned()
        .collect();
    names.sort();
    names
}

/// `columns` plus `extra`, sorted.
fn sorted(columns: &[&str], extra: &[&str]) -> Vec<String> {
    let mut all: Vec<String> = columns
        .iter()
        .chain(extra)
        .map(|s| (*s).to_owned())
        .collect();
    all.sort();
    all
}

#[tokio::test]
async fn csv_copy_and_openapi_carry_exactly_the_descriptors_columns() {
    let db = scratch_db(Schema::Migrated).await;
    let spec = serde_json::to_value(assistant_db_server::openapi::document().await.0)
        .expect("the document serializes");
    for (arg, table, write, read, write_extra) in [
        (
            "interactions",
            &table::INTERACTIONS,
            "InteractionWrite",
            "InteractionRow",
            &["escalations"][..],
        ),
        (
            "escalations",
            &table::ESCALATIONS,
            "Escalation",
            "EscalationRow",
            &[][..],
        ),
        (
            "knowledge-documents",
            &table::KNOWLEDGE_DOCUMENTS,
            "KnowledgeDocument",
            "KnowledgeDocumentRow",
            &[][..],
        ),
    ] {
        let columns = names(table);

        let csv = ok_against(&db.url, &["export", arg, "--format", "csv"]);
        let header = csv.lines().next().unwrap_or_default();
        assert_eq!(header, columns.join(","), "{arg}: the CSV header");

        let quoted: Vec<String> = columns.iter().map(|c| format!("\"{c}\"")).collect();
        assert_eq!(
            table.column_list(),
            quoted.join(", "),
            "{arg}: the COPY list"
        );

        assert_eq!(
            properties(&spec, write),
            sorted(&columns, write_extra),
            "{arg}: the request schema {write}"
        );
        assert_eq!(
            properties(&spec, read),
            sorted(&columns, &[]),
            "{arg}: the row schema {read}"
        );
    }
}

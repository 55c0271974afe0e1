//! The OpenAPI document of the API, generated from the handlers' annotations by utoipa
//! and served at `/api/openapi.json`.

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::error::FieldError;
use crate::routes::{
    escalations, health, interactions, knowledge_documents, metrics, prometheus, sessions,
};
use crate::schemas;

/// The API's OpenAPI description.
#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "assistant-db",
        description = "Log the AI banking assistant's interactions, escalations and knowledge \
            documents, and read them and their metrics back.\n\n\
            Writes need `Authorization: Bearer <ASSISTANT_DB_API_TOKEN>`; reads need it too \
            when other machines can reach the server. The server answers only requests \
            whose `Host` names it (421 otherwise). Interactions and \
            escalations are validated, then spooled durably and answered 202: a database \
            outage delays them, it does not fail the caller.",
    ),
    paths(
        metrics::metrics,
        interactions::list,
        interactions::get_one,
        interactions::post,
        escalations::post,
        knowledge_documents::put,
        sessions::erase,
        health::healthz,
        prometheus::prometheus,
    ),
    // Every table's read shape, even one no path returns yet, so the document describes
    // each table's rows.
    components(schemas(FieldError, schemas::KnowledgeDocumentRow)),
    modifiers(&BearerToken),
    tags(
        (name = "read", description = "Metrics and interactions, as stored"),
        (name = "write", description = "Validated writes, idempotent by id"),
        (name = "operations", description = "Health and Prometheus metrics"),
    ),
)]
pub struct ApiDoc;

/// Declares the `bearer` security scheme the paths refer to.
#[derive(Debug)]
struct BearerToken;

impl Modify for BearerToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("The server's ASSISTANT_DB_API_TOKEN"))
                    .build(),
            ),
        );
    }
}

/// `GET /api/openapi.json`.
pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use assistant_db::metrics::Metrics;
    use assistant_db::model::limits::MAX_TEXT_CHARS;
    use assistant_db::table::{self, Column, SqlType, Table};
    use serde_json::{json, Value};

    use super::*;

    fn spec() -> Value {
        serde_json::to_value(ApiDoc::openapi()).expect("serializes")
    }

    /// Every `$ref` under `value`, with the JSON path where it sits.
    fn references(value: &Value, at: &str, found: &mut Vec<(String, String)>) {
        match value {
            Value::Object(map) => {
                for (key, child) in map {
                    if key == "$ref" {
                        if let Some(target) = child.as_str() {
                            found.push((at.to_owned(), target.to_owned()));
                        }
                    } else {
                        references(child, &format!("{at}/{key}"), found);
                    }
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    references(child, &format!("{at}/{i}"), found);
                }
            }
            _ => {}
        }
    }

    #[test]
    fn every_reference_resolves() {
        let spec = spec();
        let mut found = Vec::new();
        references(&spec, "#", &mut found);
        assert!(found.len() > 10, "the document refers to its components");
        for (at, target) in found {
            let pointer = target
                .strip_prefix('#')
                .unwrap_or_else(|| panic!("{at}: {target} is not local"));
            assert!(
                spec.pointer(pointer).is_some(),
                "{at}: {target} does not resolve"
            );
        }
    }

    /// The JSON types a schema allows (`any` for a schema without a type).
    fn types(spec: &Value, schema: &Value) -> BTreeSet<String> {
        if let Some(target) = schema["$ref"].as_str() {
            let name = target.rsplit('/').next().unwrap_or_default();
            return types(spec, &spec["components"]["schemas"][name]);
        }
        if let Some(parts) = schema["anyOf"].as_array() {
            return parts.iter().flat_map(|p| types(spec, p)).collect();
        }
        match &schema["type"] {
            Value::String(ty) => [ty.clone()].into(),
            Value::Array(all) => all
                .iter()
                .filter_map(|t| t.as_str().map(Into::into))
                .collect(),
            _ => ["any".to_owned()].into(),
        }
    }

    fn set(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    /// The JSON types a column's value has in the document.
    fn json_types(column: &Column) -> &'static [&'static str] {
        match column.sql_type {
            SqlType::Uuid | SqlType::TimestampTz | SqlType::VarChar(_) | SqlType::Text => {
                &["string"]
            }
            SqlType::Boolean => &["boolean"],
            SqlType::Float8 => &["number"],
            SqlType::Integer => &["integer"],
            SqlType::Jsonb => &["any"],
        }
    }

    fn names(object: &Value) -> BTreeSet<String> {
        object
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// Compares the write shape `schema` of `table` with the descriptor, column by column.
    /// The columns in `bound` are the ones the endpoint ties to something else (a
    /// standalone escalation must name its interaction): only their presence is checked.
    fn check_write(spec: &Value, table: &Table, schema: &str, extra: &[&str], bound: &[&str]) {
        let object = &spec["components"]["schemas"][schema];
        let mut expected: BTreeSet<String> = table.columns.iter().map(|c| c.name.into()).collect();
        expected.extend(extra.iter().map(|s| (*s).to_owned()));
        assert_eq!(names(&object["properties"]), expected, "{schema}");
        assert_eq!(object["additionalProperties"], json!(false), "{schema}");
        let required: BTreeSet<String> = object["required"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(Into::into))
            .collect();
        for column in table.columns.iter().filter(|c| !bound.contains(&c.name)) {
            let at = format!("{schema}.{}", column.name);
            let property = &object["properties"][column.name];
            let mut allowed = set(json_types(column));
            if column.sql_type == SqlType::Jsonb && column.name == "citations" {
                allowed = set(&["array"]);
            }
            if !column.required() && column.sql_type != SqlType::Jsonb {
                allowed.insert("null".into());
            }
            let got = types(spec, property);
            if column.sql_type == SqlType::Jsonb && column.name != "citations" {
                assert!(
                    got.contains("object") && got.contains("null"),
                    "{at}: {got:?}"
                );
            } else if column.name == "citations" {
                assert_eq!(got, set(&["array", "null"]), "{at}");
            } else {
                assert_eq!(got, allowed, "{at}");
            }
            assert_eq!(required.contains(column.name), column.required(), "{at}");
            match (column.check, column.sql_type) {
                (Some(values), _) => {
                    let mut expected: Vec<Value> = values.iter().map(|v| json!(v)).collect();
                    if !column.required() {
                        expected.push(Value::Null);
                    }
                    assert_eq!(property["enum"], Value::Array(expected), "{at}");
                }
                (None, SqlType::VarChar(n)) => assert_eq!(property["maxLength"], json!(n), "{at}"),
                (None, SqlType::Text) => {
                    assert_eq!(property["maxLength"], json!(MAX_TEXT_CHARS), "{at}")
                }
                _ => assert!(property.get("maxLength").is_none(), "{at}"),
            }
            if column.required() && column.check.is_none() {
                assert_eq!(property["minLength"], json!(1), "{at}");
            }
            match column.sql_type {
                SqlType::Uuid => assert_eq!(property["format"], "uuid", "{at}"),
                SqlType::TimestampTz => assert_eq!(property["format"], "date-time", "{at}"),
                SqlType::Float8 => {
                    assert_eq!(
                        (property["minimum"].as_f64(), property["maximum"].as_f64()),
                        (Some(0.0), Some(1.0)),
                        "{at}"
                    )
                }
                SqlType::Integer => {
                    assert_eq!(
                        (&property["minimum"], &property["maximum"]),
                        (&json!(0), &json!(i32::MAX)),
                        "{at}"
                    )
                }
                _ => {}
            }
        }
    }

    /// Compares the read shape `schema` of `table` with the descriptor.
    fn check_read(spec: &Value, table: &Table, schema: &str, extra: &[&str]) {
        let object = &spec["components"]["schemas"][schema];
        let mut expected: BTreeSet<String> = table.columns.iter().map(|c| c.name.into()).collect();
        expected.extend(extra.iter().map(|s| (*s).to_owned()));
        assert_eq!(names(&object["properties"]), expected, "{schema}");
        let required: BTreeSet<String> = object["required"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(Into::into))
            .collect();
        assert_eq!(
            required, expected,
            "{schema}: every column is always present"
        );
        for column in table.columns {
            let at = format!("{schema}.{}", column.name);
            let property = &object["properties"][column.name];
            let got = types(spec, property);
            if column.sql_type == SqlType::Jsonb {
                assert_eq!(got, set(&["any"]), "{at}");
                continue;
            }
            let mut allowed = set(json_types(column));
            if column.sql_type == SqlType::Float8 {
                // NaN and the infinities arrive as strings.
                allowed.insert("string".into());
            }
            if column.nullable {
                allowed.insert("null".into());
            }
            assert_eq!(got, allowed, "{at}");
            match (column.check, column.sql_type) {
                (Some(values), _) => {
                    let mut expected: Vec<Value> = values.iter().map(|v| json!(v)).collect();
                    if column.nullable {
                        expected.push(Value::Null);
                    }
                    assert_eq!(property["enum"], Value::Array(expected), "{at}");
                }
                (None, SqlType::VarChar(n)) => assert_eq!(property["maxLength"], json!(n), "{at}"),
                _ => assert!(property.get("maxLength").is_none(), "{at}"),
            }
        }
    }

    /// The three tables' schemas are their descriptors: each column with its type,
    /// length, enum and nullability, and nothing else.
    #[test]
    fn table_schemas_are_the_descriptors() {
        let spec = spec();
        check_write(
            &spec,
            &table::INTERACTIONS,
            "InteractionWrite",
            &["escalations"],
            &[],
        );
        check_write(
            &spec,
            &table::ESCALATIONS,
            "Escalation",
            &[],
            &["interaction_id"],
        );
        check_write(
            &spec,
            &table::ESCALATIONS,
            "AttachedEscalation",
            &[],
            &["interaction_id"],
        );
        check_write(
            &spec,
            &table::KNOWLEDGE_DOCUMENTS,
            "KnowledgeDocument",
            &[],
            &[],
        );
        check_read(&spec, &table::INTERACTIONS, "InteractionRow", &[]);
        check_read(
            &spec,
            &table::INTERACTIONS,
            "InteractionDetail",
            &["escalations"],
        );
        check_read(&spec, &table::ESCALATIONS, "EscalationRow", &[]);
        check_read(
            &spec,
            &table::KNOWLEDGE_DOCUMENTS,
            "KnowledgeDocumentRow",
            &[],
        );
    }

    /// The property names of a component schema.
    fn properties(spec: &Value, name: &str) -> BTreeSet<String> {
        names(&spec["components"]["schemas"][name]["properties"])
    }

    /// The metrics schemas name exactly the fields the library's object serializes.
    #[test]
    fn metrics_schema_matches_the_real_json() {
        let spec = spec();
        let metrics: Metrics = serde_json::from_value(json!({
            "total_interactions": 2, "resolved": 1, "escalated": 1,
            "resolution_rate": 0.5, "escalation_rate": 0.5, "avg_confidence": 0.7,
            "processing_time_ms": {"avg": 1.0, "p50": 1.0, "p95": 1.0, "p99": 1.0},
            "by_mode": [{"assistant_mode": "banker", "total": 2, "resolved": 1, "escalated": 1}],
            "by_intent": [{"intent_name": "x", "total": 2, "resolved": 1, "escalated": 1,
                           "avg_confidence": 0.7}],
            "by_intent_category": [{"intent_category": "sensitive", "total": 2, "resolved": 1,
                                    "escalated": 1}],
            "escalations_by_trigger": [{"trigger_type": "human_only", "count": 1}],
            "sessions": {"total": 1, "contained": 0},
            "pipeline": {
                "step_1_intent_completed": 1.0, "step_2_routing_decision": 1.0,
                "step_3_retrieval_performed": 1.0, "step_4_response_generated": 1.0,
                "step_5_confidence_score": 1.0, "step_6_escalation_triggered": 0.5
            },
            "timeseries": [{"bucket": "2025-05-01T00:00:00Z", "total": 2, "resolved": 1,
                            "escalated": 1}],
            "confidence_histogram": [0, 0, 0, 0, 0, 0, 1, 1, 0, 0],
        }))
        .expect("metrics");
        let metrics = serde_json::to_value(&metrics).expect("json");
        assert_eq!(properties(&spec, "Metrics"), names(&metrics));
        for (schema, key) in [
            ("Percentiles", "processing_time_ms"),
            ("Sessions", "sessions"),
            ("Pipeline", "pipeline"),
            ("Excluded", "excluded"),
            ("Suppressed", "suppressed"),
        ] {
            assert_eq!(properties(&spec, schema), names(&metrics[key]), "{schema}");
        }
        for (schema, key) in [
            ("ModeCount", "by_mode"),
            ("IntentCount", "by_intent"),
            ("CategoryCount", "by_intent_category"),
            ("TriggerCount", "escalations_by_trigger"),
            ("BucketCount", "timeseries"),
        ] {
            assert_eq!(
                properties(&spec, schema),
                names(&metrics[key][0]),
                "{schema}"
            );
        }
        let histogram =
            &spec["components"]["schemas"]["Metrics"]["properties"]["confidence_histogram"];
        assert_eq!(
            types(&spec, &histogram["items"]),
            set(&["integer", "null"]),
            "a suppressed bin is null"
        );
    }

    #[test]
    fn every_route_is_documented_with_its_security() {
        let spec = spec();
        for (path, method) in [
            ("/api/metrics", "get"),
            ("/api/interactions", "get"),
            ("/api/interactions", "post"),
            ("/api/interactions/{id}", "get"),
            ("/api/escalations", "post"),
            ("/api/knowledge-documents", "put"),
            ("/api/sessions/{id}", "delete"),
            ("/healthz", "get"),
            ("/metrics", "get"),
        ] {
            assert!(spec["paths"][path][method].is_object(), "{method} {path}");
        }
        assert_eq!(
            spec["paths"]["/api/interactions"]["post"]["security"],
            json!([{"bearer": []}])
        );
        assert_eq!(
            spec["components"]["securitySchemes"]["bearer"]["scheme"],
            "bearer"
        );
    }
}

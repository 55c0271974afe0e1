//! The OpenAPI document of the API, generated from the handlers' annotations by utoipa
//! and served at `/api/openapi.json`.

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::error::FieldError;
use crate::routes::{
    escalations, export, health, interactions, knowledge_documents, metrics, prometheus,
};

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
        interactions::session,
        export::export,
        escalations::post,
        knowledge_documents::list,
        knowledge_documents::put,
        health::healthz,
        prometheus::prometheus,
    ),
    components(schemas(FieldError)),
    modifiers(&BearerToken),
    tags(
        (name = "read", description = "Metrics, interactions, sessions and knowledge documents, as stored"),
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
    use assistant_db::model::{
        AssistantMode, Citation, Escalation, Interaction, KnowledgeDocument, Outcome,
    };
    use serde_json::{json, Value};

    use super::*;

    fn spec() -> Value {
        serde_json::to_value(ApiDoc::openapi()).expect("serializes")
    }

    /// The property names of a component schema, following `allOf`.
    fn properties(spec: &Value, name: &str) -> BTreeSet<String> {
        let schema = &spec["components"]["schemas"][name];
        let mut names: BTreeSet<String> = schema["properties"]
            .as_object()
            .map(|p| p.keys().cloned().collect())
            .unwrap_or_default();
        for part in schema["allOf"].as_array().into_iter().flatten() {
            if let Some(reference) = part["$ref"].as_str() {
                let target = reference.rsplit('/').next().unwrap_or_default();
                names.extend(properties(spec, target));
            }
            if let Some(p) = part["properties"].as_object() {
                names.extend(p.keys().cloned());
            }
        }
        names
    }

    fn keys(value: &Value) -> BTreeSet<String> {
        value
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// The documented schemas name exactly the fields the real types serialize.
    #[test]
    fn schemas_match_the_real_json() {
        let spec = spec();
        let mut interaction =
            Interaction::new(AssistantMode::Customer, "q", Outcome::Resolved).expect("valid");
        interaction.citations = Some(vec![Citation::new(1, "Fees", None).expect("valid")]);
        let interaction = serde_json::to_value(&interaction).expect("json");
        assert_eq!(properties(&spec, "Interaction"), keys(&interaction));
        assert_eq!(
            properties(&spec, "Citation"),
            keys(&interaction["citations"][0])
        );
        let escalation =
            Escalation::new(uuid::Uuid::now_v7(), "human_only", "closure").expect("valid");
        assert_eq!(
            properties(&spec, "Escalation"),
            keys(&serde_json::to_value(&escalation).expect("json"))
        );
        let document = KnowledgeDocument::new("file-1", "Fees").expect("valid");
        assert_eq!(
            properties(&spec, "KnowledgeDocument"),
            keys(&serde_json::to_value(&document).expect("json"))
        );
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
                            "escalated": 1}]
        }))
        .expect("metrics");
        let metrics = serde_json::to_value(&metrics).expect("json");
        assert_eq!(properties(&spec, "Metrics"), keys(&metrics));
        for (schema, key) in [
            ("Percentiles", "processing_time_ms"),
            ("Sessions", "sessions"),
            ("Pipeline", "pipeline"),
        ] {
            assert_eq!(properties(&spec, schema), keys(&metrics[key]), "{schema}");
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
                keys(&metrics[key][0]),
                "{schema}"
            );
        }
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
            ("/api/knowledge-documents", "get"),
            ("/api/sessions/{id}", "get"),
            ("/api/interactions/export", "get"),
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

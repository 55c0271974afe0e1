//! Parsing write bodies: one record or an array of them, each read by the model's own
//! parser, every problem collected with the record's index and the field's JSON path.
//!
//! Nothing is written unless every record of a request is valid, so a caller fixes its
//! batch and sends it again whole.

use std::collections::HashMap;

use assistant_db::logger::EscalatedInteraction;
use assistant_db::model::{Escalation, Interaction, KnowledgeDocument, ValidationError};
use serde_json::Value;

use crate::error::{ApiError, FieldError};

/// Most records one request may carry.
pub const MAX_RECORDS: usize = 1000;

/// The key under which an interaction may carry its escalations.
const ESCALATIONS: &str = "escalations";

/// Every field error of a record, inside record `index`, under `prefix`.
fn from_validations(
    index: Option<usize>,
    prefix: &str,
    errors: Vec<ValidationError>,
) -> Vec<FieldError> {
    errors
        .into_iter()
        .map(|e| from_validation(index, prefix, e))
        .collect()
}

/// A field error from the model's parser, inside record `index`, under `prefix`.
fn from_validation(index: Option<usize>, prefix: &str, err: ValidationError) -> FieldError {
    let field = match (prefix, err.field.as_str()) {
        ("", field) => field.to_owned(),
        (prefix, ".") => prefix.to_owned(),
        (prefix, field) => format!("{prefix}.{field}"),
    };
    FieldError {
        index,
        field,
        rule: err.rule,
    }
}

/// Why a body was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyError {
    /// Not JSON at all (400).
    Syntax(String),
    /// JSON, but records break rules (422).
    Invalid(Vec<FieldError>),
}

impl From<BodyError> for ApiError {
    fn from(err: BodyError) -> Self {
        match err {
            BodyError::Syntax(message) => ApiError::Malformed(message),
            BodyError::Invalid(errors) => ApiError::InvalidRecords(errors),
        }
    }
}

/// The records of a body: an object is one record, an array is a batch.
fn records(body: &[u8]) -> Result<Vec<(Option<usize>, Value)>, BodyError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| BodyError::Syntax(format!("the body is not JSON: {e}")))?;
    let whole = |rule: &str| BodyError::Invalid(vec![FieldError::new(".", rule)]);
    match value {
        Value::Array(items) if items.is_empty() => Err(whole("must hold at least one record")),
        Value::Array(items) if items.len() > MAX_RECORDS => Err(whole(&format!(
            "must hold at most {MAX_RECORDS} records (got {}); split the batch",
            items.len()
        ))),
        Value::Array(items) => Ok(items
            .into_iter()
            .enumerate()
            .map(|(i, v)| (Some(i), v))
            .collect()),
        record @ Value::Object(_) => Ok(vec![(None, record)]),
        _ => Err(whole("must be a JSON object or an array of objects")),
    }
}

/// Parses every record with `parse`, or returns every error.
fn parse_all<T>(
    body: &[u8],
    mut parse: impl FnMut(Option<usize>, Value) -> Result<T, Vec<FieldError>>,
) -> Result<Vec<T>, BodyError> {
    let mut parsed = Vec::new();
    let mut errors = Vec::new();
    for (index, value) in records(body)? {
        match parse(index, value) {
            Ok(record) => parsed.push(record),
            Err(mut errs) => errors.append(&mut errs),
        }
    }
    if errors.is_empty() {
        Ok(parsed)
    } else {
        Err(BodyError::Invalid(errors))
    }
}

/// The body of `POST /api/interactions`: interactions, each optionally carrying
/// `"escalations": [...]`.
pub fn interactions(body: &[u8]) -> Result<Vec<EscalatedInteraction>, BodyError> {
    parse_all(body, |index, mut value| {
        let attached = value
            .as_object_mut()
            .and_then(|map| map.remove(ESCALATIONS));
        let interaction =
            Interaction::from_json_value_all(value).map_err(|e| from_validations(index, "", e));
        let mut errors = Vec::new();
        let mut escalations = Vec::new();
        match attached {
            None | Some(Value::Null) => {}
            Some(Value::Array(items)) => {
                for (j, item) in items.into_iter().enumerate() {
                    let prefix = format!("{ESCALATIONS}[{j}]");
                    match Escalation::from_json_value_all(item) {
                        Ok(e) => escalations.push((prefix, e)),
                        Err(e) => errors.extend(from_validations(index, &prefix, e)),
                    }
                }
            }
            Some(_) => errors.push(FieldError {
                index,
                field: ESCALATIONS.into(),
                rule: "must be an array of escalations".into(),
            }),
        }
        let interaction = match interaction {
            Ok(interaction) => interaction,
            Err(mut errs) => {
                errs.append(&mut errors);
                return Err(errs);
            }
        };
        let mut attached = Vec::new();
        for (prefix, escalation) in escalations {
            match escalation.interaction_id {
                Some(id) if id != interaction.id => errors.push(FieldError {
                    index,
                    field: format!("{prefix}.interaction_id"),
                    rule: format!(
                        "must be the id of the interaction it is sent with ({}), or left out",
                        interaction.id
                    ),
                }),
                _ => attached.push(Escalation {
                    interaction_id: Some(interaction.id),
                    ..escalation
                }),
            }
        }
        if errors.is_empty() {
            Ok(EscalatedInteraction {
                interaction,
                escalations: attached,
            })
        } else {
            Err(errors)
        }
    })
}

/// The body of `POST /api/escalations`: escalations of interactions logged before.
pub fn escalations(body: &[u8]) -> Result<Vec<Escalation>, BodyError> {
    parse_all(body, |index, value| {
        let escalation =
            Escalation::from_json_value_all(value).map_err(|e| from_validations(index, "", e))?;
        if escalation.interaction_id.is_none() {
            return Err(vec![FieldError {
                index,
                field: "interaction_id".into(),
                rule: "is required: the id of the escalated interaction".into(),
            }]);
        }
        Ok(escalation)
    })
}

/// The body of `PUT /api/knowledge-documents`; an `openai_file_id` may appear once.
pub fn knowledge_documents(body: &[u8]) -> Result<Vec<KnowledgeDocument>, BodyError> {
    let mut seen: HashMap<String, Option<usize>> = HashMap::new();
    parse_all(body, |index, value| {
        let document = KnowledgeDocument::from_json_value_all(value)
            .map_err(|e| from_validations(index, "", e))?;
        let key = document.openai_file_id.as_str().to_owned();
        if let Some(first) = seen.insert(key, index) {
            let at = first.map_or_else(String::new, |i| format!(" (also at index {i})"));
            return Err(vec![FieldError {
                index,
                field: "openai_file_id".into(),
                rule: format!("is given more than once in this request{at}"),
            }]);
        }
        Ok(document)
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn body(value: Value) -> Vec<u8> {
        serde_json::to_vec(&value).expect("json")
    }

    fn invalid<T: std::fmt::Debug>(result: Result<T, BodyError>) -> Vec<FieldError> {
        match result {
            Err(BodyError::Invalid(errors)) => errors,
            other => panic!("expected field errors, got {other:?}"),
        }
    }

    #[test]
    fn one_object_or_a_batch() {
        let one = json!({"assistant_mode": "customer", "user_query": "q", "outcome": "resolved"});
        assert_eq!(interactions(&body(one.clone())).expect("valid").len(), 1);
        assert_eq!(
            interactions(&body(json!([one.clone(), one])))
                .expect("valid")
                .len(),
            2
        );
        assert!(matches!(interactions(b"{"), Err(BodyError::Syntax(_))));
        assert_eq!(invalid(interactions(b"[]"))[0].field, ".");
        assert_eq!(invalid(interactions(b"42"))[0].field, ".");
    }

    #[test]
    fn errors_carry_index_and_path() {
        let errors = invalid(interactions(&body(json!([
            {"assistant_mode": "customer", "user_query": "q", "outcome": "resolved"},
            {"assistant_mode": "robot", "user_query": "q", "outcome": "resolved"},
            {"assistant_mode": "banker", "user_query": "q", "outcome": "escalated",
             "escalations": [{"trigger_type": "human_only"}]},
        ]))));
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert_eq!(
            (errors[0].index, errors[0].field.as_str()),
            (Some(1), "assistant_mode")
        );
        assert!(errors[0].rule.starts_with("must be one of"), "{errors:?}");
        assert_eq!(
            (
                errors[1].index,
                errors[1].field.as_str(),
                errors[1].rule.as_str()
            ),
            (Some(2), "escalations[0].escalation_reason", "is required")
        );
        let single = invalid(interactions(&body(json!({"assistant_mode": "customer"}))));
        assert_eq!(single[0].index, None);
        // Every bad field of a record, not only the first.
        let every = invalid(interactions(&body(json!({
            "assistant_mode": "robot", "user_query": " ", "outcome": "resolved",
            "confidence_score": 7,
        }))));
        let fields: Vec<&str> = every.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            ["assistant_mode", "confidence_score", "user_query"],
            "{every:?}"
        );
    }

    #[test]
    fn escalations_are_attached_to_their_interaction() {
        let parsed = interactions(&body(json!({
            "assistant_mode": "banker", "user_query": "q", "outcome": "escalated",
            "escalations": [
                {"trigger_type": "human_only", "escalation_reason": "closure"},
                {"trigger_type": "low_confidence", "escalation_reason": "0.3"},
            ],
        })))
        .expect("valid");
        let id = parsed[0].interaction.id;
        assert!(parsed[0]
            .escalations
            .iter()
            .all(|e| e.interaction_id == Some(id)));
        let errors = invalid(interactions(&body(json!({
            "assistant_mode": "banker", "user_query": "q", "outcome": "escalated",
            "escalations": [{"trigger_type": "t", "escalation_reason": "r",
                             "interaction_id": "0190b6a0-0000-7000-8000-000000000001"}],
        }))));
        assert_eq!(errors[0].field, "escalations[0].interaction_id");
    }

    #[test]
    fn standalone_escalations_name_their_interaction() {
        let errors = invalid(escalations(&body(
            json!({"trigger_type": "t", "escalation_reason": "r"}),
        )));
        assert_eq!(errors[0].field, "interaction_id");
    }

    #[test]
    fn a_file_id_appears_once_per_request() {
        let doc = json!({"openai_file_id": "file-1", "title": "Fees"});
        let errors = invalid(knowledge_documents(&body(json!([doc.clone(), doc]))));
        assert_eq!(
            (errors[0].index, errors[0].field.as_str()),
            (Some(1), "openai_file_id")
        );
        let errors = invalid(knowledge_documents(&body(json!({"openai_file_id": "f"}))));
        assert_eq!(errors[0].field, "title");
    }
}

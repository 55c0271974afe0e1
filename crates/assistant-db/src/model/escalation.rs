//! A row of `escalations`: an interaction handed to a human.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::{de, decode, RequiredText, RequiredVarChar, ValidationError};

/// One escalation; every field is valid for its column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Escalation {
    /// Primary key; a fresh UUIDv7 when not given.
    #[serde(default = "Uuid::now_v7", deserialize_with = "de::uuid_or_new")]
    pub id: Uuid,
    /// The escalated interaction.
    #[serde(default)]
    pub interaction_id: Option<Uuid>,
    /// What triggered it, such as `human_only`, `low_confidence`, `insufficient_evidence`.
    pub trigger_type: RequiredVarChar<50>,
    /// Why, in words.
    pub escalation_reason: RequiredText,
    /// When the row was written; the database's `NOW()` when not given.
    #[serde(default, deserialize_with = "de::optional_timestamp")]
    pub created_at: Option<DateTime<Utc>>,
}

impl Escalation {
    /// The table the record is a row of.
    pub const TABLE: &'static str = "escalations";

    /// An escalation of `interaction_id`; the id is fresh and `created_at` left to the database.
    pub fn new(
        interaction_id: Uuid,
        trigger_type: &str,
        escalation_reason: &str,
    ) -> Result<Self, ValidationError> {
        Ok(Self {
            id: Uuid::now_v7(),
            interaction_id: Some(interaction_id),
            trigger_type: RequiredVarChar::parse(trigger_type).map_err(|r| r.at("trigger_type"))?,
            escalation_reason: RequiredText::parse(escalation_reason)
                .map_err(|r| r.at("escalation_reason"))?,
            created_at: None,
        })
    }

    /// Parses the spec's dict, written as JSON; the error names the JSON path.
    pub fn from_json(json: &str) -> Result<Self, ValidationError> {
        decode::from_json(json, Self::TABLE)
    }

    /// Parses the spec's dict from a JSON value; the error names the JSON path.
    pub fn from_json_value(value: Value) -> Result<Self, ValidationError> {
        decode::from_json_value(value, Self::TABLE)
    }

    /// [`from_json`](Self::from_json), reporting every field that breaks a rule rather
    /// than the first (or the one error of text that is not JSON).
    pub fn from_json_all(json: &str) -> Result<Self, Vec<ValidationError>> {
        decode::from_json_all(json, Self::TABLE, Self::FILLERS)
    }

    /// [`from_json_value`](Self::from_json_value), reporting every field that breaks a
    /// rule rather than the first.
    pub fn from_json_value_all(value: Value) -> Result<Self, Vec<ValidationError>> {
        decode::from_json_value_all(value, Self::TABLE, Self::FILLERS)
    }

    /// Valid values of the required fields, for checking the other fields one by one.
    const FILLERS: decode::Fillers = &[("trigger_type", "?"), ("escalation_reason", "?")];
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn new_checks_each_field() {
        let interaction = Uuid::now_v7();
        let e =
            Escalation::new(interaction, "low_confidence", "score 0.3 below 0.6").expect("valid");
        assert_eq!(e.interaction_id, Some(interaction));
        assert_eq!(e.trigger_type.as_str(), "low_confidence");
        let err = Escalation::new(interaction, &"x".repeat(51), "r").expect_err("too long");
        assert_eq!(err.field, "trigger_type");
        assert_eq!(err.rule, "must be at most 50 characters (got 51)");
        let err = Escalation::new(interaction, "human_only", "").expect_err("empty");
        assert_eq!(err.field, "escalation_reason");
    }

    #[test]
    fn json_round_trip() {
        let e = Escalation::from_json_value(json!({
            "interaction_id": "0190b6a0-0000-7000-8000-000000000001",
            "trigger_type": "human_only",
            "escalation_reason": "Account closure needs a banker",
            "created_at": "2024-05-01T12:30:00Z",
        }))
        .expect("valid");
        let back = Escalation::from_json_value(serde_json::to_value(&e).expect("serializes"))
            .expect("valid");
        assert_eq!(back, e);
        let err = Escalation::from_json(r#"{"trigger_type":"x","escalation_reason":"y","foo":1}"#)
            .expect_err("unknown field");
        assert_eq!(err.field, "foo");
        assert_eq!(err.rule, "is not a column of escalations");
    }
}

//! A row of `interactions`: one query through the assistant's pipeline.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::{
    de, decode, AssistantMode, Citation, Confidence, IntentCategory, NonNegativeInt, Outcome,
    RequiredText, Text, ValidationError, VarChar,
};

/// One logged interaction; every field is valid for its column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Interaction {
    /// Primary key; a fresh UUIDv7 when not given.
    #[serde(default = "Uuid::now_v7", deserialize_with = "de::uuid_or_new")]
    pub id: Uuid,
    /// When the query arrived; now when not given.
    #[serde(default = "Utc::now", deserialize_with = "de::timestamp_or_now")]
    pub timestamp: DateTime<Utc>,
    /// Which assistant handled the query.
    pub assistant_mode: AssistantMode,
    /// The OpenAI conversation ID.
    #[serde(default)]
    pub session_id: Option<VarChar<255>>,
    /// What the user asked.
    pub user_query: RequiredText,
    /// The classified intent.
    #[serde(default)]
    pub intent_name: Option<VarChar<100>>,
    /// How the intent is routed.
    #[serde(default)]
    pub intent_category: Option<IntentCategory>,
    /// Why the classifier chose the intent.
    #[serde(default)]
    pub classification_reason: Option<Text>,
    /// Step 1: intent classification finished.
    #[serde(default, deserialize_with = "de::null_as_false")]
    pub step_1_intent_completed: bool,
    /// Step 2: the routing decision taken.
    #[serde(default)]
    pub step_2_routing_decision: Option<VarChar<50>>,
    /// Step 3: knowledge retrieval ran.
    #[serde(default, deserialize_with = "de::null_as_false")]
    pub step_3_retrieval_performed: bool,
    /// Step 4: a response was generated.
    #[serde(default, deserialize_with = "de::null_as_false")]
    pub step_4_response_generated: bool,
    /// Step 5: the confidence computed.
    #[serde(default)]
    pub step_5_confidence_score: Option<Confidence>,
    /// Step 6: escalation was triggered.
    #[serde(default, deserialize_with = "de::null_as_false")]
    pub step_6_escalation_triggered: bool,
    /// How the interaction ended.
    pub outcome: Outcome,
    /// The final confidence score.
    #[serde(default)]
    pub confidence_score: Option<Confidence>,
    /// Why the interaction was escalated.
    #[serde(default)]
    pub escalation_reason: Option<Text>,
    /// The answer given.
    #[serde(default)]
    pub response_text: Option<Text>,
    /// The sources the answer cites.
    #[serde(default, deserialize_with = "de::citations")]
    pub citations: Option<Vec<Citation>>,
    /// How many knowledge chunks were retrieved.
    #[serde(default)]
    pub retrieved_chunks_count: Option<NonNegativeInt>,
    /// End-to-end processing time in milliseconds.
    #[serde(default)]
    pub processing_time_ms: Option<NonNegativeInt>,
    /// When the row was written; the database's `NOW()` when not given.
    #[serde(default, deserialize_with = "de::optional_timestamp")]
    pub created_at: Option<DateTime<Utc>>,
}

impl Interaction {
    /// The table the record is a row of.
    pub const TABLE: &'static str = "interactions";

    /// An interaction with only the required columns set; the rest take their defaults.
    pub fn new(
        assistant_mode: AssistantMode,
        user_query: &str,
        outcome: Outcome,
    ) -> Result<Self, ValidationError> {
        Ok(Self {
            id: Uuid::now_v7(),
            timestamp: Utc::now(),
            assistant_mode,
            session_id: None,
            user_query: RequiredText::parse(user_query).map_err(|r| r.at("user_query"))?,
            intent_name: None,
            intent_category: None,
            classification_reason: None,
            step_1_intent_completed: false,
            step_2_routing_decision: None,
            step_3_retrieval_performed: false,
            step_4_response_generated: false,
            step_5_confidence_score: None,
            step_6_escalation_triggered: false,
            outcome,
            confidence_score: None,
            escalation_reason: None,
            response_text: None,
            citations: None,
            retrieved_chunks_count: None,
            processing_time_ms: None,
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
    const FILLERS: decode::Fillers = &[
        ("assistant_mode", "customer"),
        ("user_query", "?"),
        ("outcome", "resolved"),
    ];
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn new_sets_defaults_and_checks_the_query() {
        let i = Interaction::new(AssistantMode::Banker, "What is APR?", Outcome::Escalated)
            .expect("valid");
        assert_eq!(i.user_query.as_str(), "What is APR?");
        assert_eq!(i.id.get_version_num(), 7);
        assert!(!i.step_1_intent_completed);
        assert_eq!(i.citations, None);
        let err =
            Interaction::new(AssistantMode::Customer, "  ", Outcome::Resolved).expect_err("blank");
        assert_eq!(err.field, "user_query");
        assert_eq!(err.rule, "must not be empty or whitespace-only");
    }

    #[test]
    fn spec_example_parses() {
        let i = Interaction::from_json(
            r#"{"assistant_mode":"customer","user_query":"test query","outcome":"resolved","step_1_intent_completed":true}"#,
        )
        .expect("valid");
        assert_eq!(i.assistant_mode, AssistantMode::Customer);
        assert_eq!(i.outcome, Outcome::Resolved);
        assert!(i.step_1_intent_completed);
        assert!(!i.step_3_retrieval_performed);
    }

    #[test]
    fn null_flags_read_as_false() {
        let i = Interaction::from_json_value(json!({
            "assistant_mode": "banker", "user_query": "q", "outcome": "escalated",
            "step_3_retrieval_performed": null, "session_id": null,
        }))
        .expect("valid");
        assert!(!i.step_3_retrieval_performed);
        assert_eq!(i.session_id, None);
    }

    #[test]
    fn errors_name_the_json_path() {
        let err = Interaction::from_json_value(json!({
            "assistant_mode": "customer", "user_query": "q", "outcome": "resolved",
            "citations": [{"number": 1, "source": "a"}, {"number": 2}],
        }))
        .expect_err("missing source");
        assert_eq!(err.field, "citations[1].source");
        assert_eq!(err.rule, "is required");
        let err = Interaction::from_json(r#"{"assistant_mode":"customer","outcome":"resolved"}"#)
            .expect_err("missing query");
        assert_eq!(
            (err.field.as_str(), err.rule.as_str()),
            ("user_query", "is required")
        );
    }
}

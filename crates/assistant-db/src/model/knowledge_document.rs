//! A row of `knowledge_documents`: a file registered with the assistant's knowledge base.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::{
    de, decode, ContentType, Jsonb, RequiredText, RequiredVarChar, Text, ValidationError, VarChar,
};

/// One knowledge document; every field is valid for its column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KnowledgeDocument {
    /// Primary key; a fresh UUIDv7 when not given.
    #[serde(default = "Uuid::now_v7", deserialize_with = "de::uuid_or_new")]
    pub id: Uuid,
    /// The OpenAI file ID (unique).
    pub openai_file_id: RequiredVarChar<255>,
    /// The document's title.
    pub title: RequiredText,
    /// Where the document was published.
    #[serde(default)]
    pub source_url: Option<Text>,
    /// Public or synthetic material.
    #[serde(default)]
    pub content_type: Option<ContentType>,
    /// Which assistant or topic collection holds it.
    #[serde(default)]
    pub topic_collection: Option<VarChar<100>>,
    /// When it was ingested; the database's `NOW()` when not given.
    #[serde(default, deserialize_with = "de::optional_timestamp")]
    pub ingested_at: Option<DateTime<Utc>>,
    /// Any further metadata.
    #[serde(default)]
    pub metadata: Option<Jsonb>,
}

impl KnowledgeDocument {
    /// The table the record is a row of.
    pub const TABLE: &'static str = "knowledge_documents";

    /// A document with only the required columns set; the rest take their defaults.
    pub fn new(openai_file_id: &str, title: &str) -> Result<Self, ValidationError> {
        Ok(Self {
            id: Uuid::now_v7(),
            openai_file_id: RequiredVarChar::parse(openai_file_id)
                .map_err(|r| r.at("openai_file_id"))?,
            title: RequiredText::parse(title).map_err(|r| r.at("title"))?,
            source_url: None,
            content_type: None,
            topic_collection: None,
            ingested_at: None,
            metadata: None,
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
    const FILLERS: decode::Fillers = &[("openai_file_id", "?"), ("title", "?")];
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn new_checks_each_field() {
        let d = KnowledgeDocument::new("file-abc123", "Overdraft fees").expect("valid");
        assert_eq!(d.openai_file_id.as_str(), "file-abc123");
        assert_eq!(d.metadata, None);
        let err = KnowledgeDocument::new("", "t").expect_err("empty");
        assert_eq!(err.field, "openai_file_id");
        let err = KnowledgeDocument::new("f", "a\0").expect_err("nul");
        assert_eq!(err.field, "title");
        assert_eq!(err.rule, "must not contain NUL characters");
    }

    #[test]
    fn json_round_trip_with_metadata() {
        let d = KnowledgeDocument::from_json_value(json!({
            "openai_file_id": "file-1",
            "title": "Card limits",
            "source_url": "https://example.com/cards",
            "content_type": "synthetic",
            "topic_collection": "cards",
            "ingested_at": "2024-05-01T12:30:00.123456Z",
            "metadata": {"pages": 3, "tags": ["cards", "limits"]},
        }))
        .expect("valid");
        assert_eq!(d.content_type, Some(ContentType::Synthetic));
        let back = KnowledgeDocument::from_json(&serde_json::to_string(&d).expect("serializes"))
            .expect("valid");
        assert_eq!(back, d);
    }

    #[test]
    fn metadata_rejects_nul() {
        let err = KnowledgeDocument::from_json_value(json!({
            "openai_file_id": "f", "title": "t", "metadata": {"a": ["\u{0}"]},
        }))
        .expect_err("nul");
        assert_eq!(err.field, "metadata");
        assert!(err.rule.contains("`/a/0`"), "{}", err.rule);
    }
}

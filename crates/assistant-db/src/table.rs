//! One description per table of the spec: its name and its columns, each with its SQL
//! type, length, nullability, default and CHECK values, in the order the spec declares
//! them.
//!
//! Everything that lists a table's columns reads them from here — CSV headers and cells,
//! the binary `COPY` column list and tuples, `verify`'s expectations of the catalog, the
//! OpenAPI schemas of the HTTP API — so adding a column is one change here (and a field in
//! the model's record, whose serde order matches; a test checks both).

use std::fmt;
use std::str::FromStr;

use crate::model::{Rule, ValidationError};

/// A column's SQL type, as the spec declares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqlType {
    /// `UUID`.
    Uuid,
    /// `TIMESTAMP WITH TIME ZONE`.
    TimestampTz,
    /// `VARCHAR(n)`.
    VarChar(u32),
    /// `TEXT`.
    Text,
    /// `BOOLEAN`.
    Boolean,
    /// `FLOAT` (double precision).
    Float8,
    /// `INTEGER`.
    Integer,
    /// `JSONB`.
    Jsonb,
}

impl SqlType {
    /// The type as `information_schema.columns.data_type` names it.
    pub const fn catalog_name(self) -> &'static str {
        match self {
            SqlType::Uuid => "uuid",
            SqlType::TimestampTz => "timestamp with time zone",
            SqlType::VarChar(_) => "character varying",
            SqlType::Text => "text",
            SqlType::Boolean => "boolean",
            SqlType::Float8 => "double precision",
            SqlType::Integer => "integer",
            SqlType::Jsonb => "jsonb",
        }
    }

    /// The `VARCHAR` length, for the types that have one.
    pub const fn max_length(self) -> Option<u32> {
        match self {
            SqlType::VarChar(n) => Some(n),
            _ => None,
        }
    }

    /// The type with lengths dropped (`VARCHAR(n)` as `text`), for a staging table that
    /// takes any row and leaves the checks to the real table.
    pub const fn plain_sql(self) -> &'static str {
        match self {
            SqlType::Uuid => "uuid",
            SqlType::TimestampTz => "timestamptz",
            SqlType::VarChar(_) | SqlType::Text => "text",
            SqlType::Boolean => "boolean",
            SqlType::Float8 => "float8",
            SqlType::Integer => "integer",
            SqlType::Jsonb => "jsonb",
        }
    }
}

/// A column's default, as the spec declares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnDefault {
    /// `DEFAULT gen_random_uuid()`.
    NewUuid,
    /// `DEFAULT NOW()`.
    Now,
    /// `DEFAULT FALSE`.
    False,
}

impl ColumnDefault {
    /// The default as `information_schema.columns.column_default` prints it.
    pub const fn catalog_text(self) -> &'static str {
        match self {
            ColumnDefault::NewUuid => "gen_random_uuid()",
            ColumnDefault::Now => "now()",
            ColumnDefault::False => "false",
        }
    }
}

/// A column of a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    /// The column name (and the model's serde field name).
    pub name: &'static str,
    /// Its SQL type.
    pub sql_type: SqlType,
    /// Whether NULL is allowed.
    pub nullable: bool,
    /// Its default, if any.
    pub default: Option<ColumnDefault>,
    /// The values a CHECK constraint allows, if one guards the column.
    pub check: Option<&'static [&'static str]>,
}

impl Column {
    /// True when every record must give the column: NOT NULL without a default.
    pub const fn required(&self) -> bool {
        !self.nullable && self.default.is_none()
    }
}

/// A table of the spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Table {
    /// The table name, in schema `public`.
    pub name: &'static str,
    /// Its columns, in the spec's order.
    pub columns: &'static [Column],
}

impl Table {
    /// The column list, each name quoted, for SQL (`"id", "timestamp", …`).
    pub fn column_list(&self) -> String {
        self.columns
            .iter()
            .map(|c| format!("\"{}\"", c.name))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The column called `name`.
    pub fn column(&self, name: &str) -> Option<&'static Column> {
        self.columns.iter().find(|c| c.name == name)
    }
}

const fn col(name: &'static str, sql_type: SqlType) -> Column {
    Column {
        name,
        sql_type,
        nullable: true,
        default: None,
        check: None,
    }
}

const fn not_null(column: Column) -> Column {
    Column {
        nullable: false,
        ..column
    }
}

const fn default(column: Column, default: ColumnDefault) -> Column {
    Column {
        default: Some(default),
        ..column
    }
}

const fn check(column: Column, allowed: &'static [&'static str]) -> Column {
    Column {
        check: Some(allowed),
        ..column
    }
}

use SqlType::{Boolean, Float8, Integer, Jsonb, Text, TimestampTz, Uuid, VarChar};

/// `interactions`: one query through the assistant's pipeline.
pub const INTERACTIONS: Table = Table {
    name: "interactions",
    columns: &[
        not_null(default(col("id", Uuid), ColumnDefault::NewUuid)),
        default(col("timestamp", TimestampTz), ColumnDefault::Now),
        not_null(check(
            col("assistant_mode", VarChar(10)),
            &["customer", "banker"],
        )),
        col("session_id", VarChar(255)),
        not_null(col("user_query", Text)),
        col("intent_name", VarChar(100)),
        check(
            col("intent_category", VarChar(20)),
            &["automatable", "sensitive", "human_only"],
        ),
        col("classification_reason", Text),
        default(
            col("step_1_intent_completed", Boolean),
            ColumnDefault::False,
        ),
        col("step_2_routing_decision", VarChar(50)),
        default(
            col("step_3_retrieval_performed", Boolean),
            ColumnDefault::False,
        ),
        default(
            col("step_4_response_generated", Boolean),
            ColumnDefault::False,
        ),
        col("step_5_confidence_score", Float8),
        default(
            col("step_6_escalation_triggered", Boolean),
            ColumnDefault::False,
        ),
        not_null(check(
            col("outcome", VarChar(20)),
            &["resolved", "escalated"],
        )),
        col("confidence_score", Float8),
        col("escalation_reason", Text),
        col("response_text", Text),
        col("citations", Jsonb),
        col("retrieved_chunks_count", Integer),
        col("processing_time_ms", Integer),
        default(col("created_at", TimestampTz), ColumnDefault::Now),
    ],
};

/// `escalations`: an interaction handed to a human.
pub const ESCALATIONS: Table = Table {
    name: "escalations",
    columns: &[
        not_null(default(col("id", Uuid), ColumnDefault::NewUuid)),
        col("interaction_id", Uuid),
        not_null(col("trigger_type", VarChar(50))),
        not_null(col("escalation_reason", Text)),
        default(col("created_at", TimestampTz), ColumnDefault::Now),
    ],
};

/// `knowledge_documents`: a file registered with the assistant's knowledge base.
pub const KNOWLEDGE_DOCUMENTS: Table = Table {
    name: "knowledge_documents",
    columns: &[
        not_null(default(col("id", Uuid), ColumnDefault::NewUuid)),
        not_null(col("openai_file_id", VarChar(255))),
        not_null(col("title", Text)),
        col("source_url", Text),
        check(col("content_type", VarChar(20)), &["public", "synthetic"]),
        col("topic_collection", VarChar(100)),
        default(col("ingested_at", TimestampTz), ColumnDefault::Now),
        col("metadata", Jsonb),
    ],
};

/// The spec's three tables, in the order the spec creates them.
pub const ALL: [&Table; 3] = [&INTERACTIONS, &ESCALATIONS, &KNOWLEDGE_DOCUMENTS];

/// One of the spec's tables, by name: `interactions`, `escalations`,
/// `knowledge_documents` (on the command line also `knowledge-documents`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Name {
    /// `interactions`.
    Interactions,
    /// `escalations`.
    Escalations,
    /// `knowledge_documents`.
    KnowledgeDocuments,
}

impl Name {
    /// Every table, in the spec's order.
    pub const ALL: [Name; 3] = [
        Name::Interactions,
        Name::Escalations,
        Name::KnowledgeDocuments,
    ];

    /// The table's description.
    pub const fn table(self) -> &'static Table {
        match self {
            Name::Interactions => &INTERACTIONS,
            Name::Escalations => &ESCALATIONS,
            Name::KnowledgeDocuments => &KNOWLEDGE_DOCUMENTS,
        }
    }

    /// The table's SQL name.
    pub const fn as_str(self) -> &'static str {
        self.table().name
    }

    /// The name on the command line: dashes for underscores.
    pub const fn cli_name(self) -> &'static str {
        match self {
            Name::Interactions => "interactions",
            Name::Escalations => "escalations",
            Name::KnowledgeDocuments => "knowledge-documents",
        }
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Name {
    type Err = ValidationError;

    fn from_str(text: &str) -> Result<Self, ValidationError> {
        Name::ALL
            .into_iter()
            .find(|n| n.as_str() == text || n.cli_name() == text)
            .ok_or_else(|| {
                Rule::NotOneOf {
                    allowed: Name::ALL.iter().map(|n| n.cli_name()).collect(),
                    got: text.to_owned(),
                }
                .at("table")
            })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::model::{
        AssistantMode, ContentType, Escalation, IntentCategory, Interaction, KnowledgeDocument,
        Outcome,
    };

    /// The keys of a record's JSON object, in the order serde writes them.
    fn keys(value: serde_json::Value) -> Vec<String> {
        match value {
            serde_json::Value::Object(map) => map.keys().cloned().collect(),
            other => panic!("not an object: {other}"),
        }
    }

    #[test]
    fn the_model_writes_exactly_the_columns_of_each_table() {
        let i = Interaction::new(AssistantMode::Customer, "q", Outcome::Resolved).expect("valid");
        let e = Escalation::new(i.id, "human_only", "r").expect("valid");
        let d = KnowledgeDocument::new("file-1", "Fees").expect("valid");
        for (table, value) in [
            (&INTERACTIONS, serde_json::to_value(&i)),
            (&ESCALATIONS, serde_json::to_value(&e)),
            (&KNOWLEDGE_DOCUMENTS, serde_json::to_value(&d)),
        ] {
            let names: BTreeSet<String> = table.columns.iter().map(|c| c.name.into()).collect();
            let fields: BTreeSet<String> = keys(value.expect("json")).into_iter().collect();
            assert_eq!(fields, names, "{}", table.name);
        }
    }

    #[test]
    fn check_values_are_the_model_enums() {
        let values = |table: &Table, column: &str| {
            table
                .column(column)
                .and_then(|c| c.check)
                .expect("a check")
                .to_vec()
        };
        assert_eq!(
            values(&INTERACTIONS, "assistant_mode"),
            AssistantMode::ALL.map(|v| v.as_str())
        );
        assert_eq!(
            values(&INTERACTIONS, "intent_category"),
            IntentCategory::ALL.map(|v| v.as_str())
        );
        assert_eq!(
            values(&INTERACTIONS, "outcome"),
            Outcome::ALL.map(|v| v.as_str())
        );
        assert_eq!(
            values(&KNOWLEDGE_DOCUMENTS, "content_type"),
            ContentType::ALL.map(|v| v.as_str())
        );
    }

    #[test]
    fn names_read_both_spellings() {
        assert_eq!(
            "knowledge-documents".parse::<Name>(),
            Ok(Name::KnowledgeDocuments)
        );
        assert_eq!(
            "knowledge_documents".parse::<Name>(),
            Ok(Name::KnowledgeDocuments)
        );
        let err = "users".parse::<Name>().expect_err("no such table");
        assert_eq!(err.field, "table");
        assert_eq!(
            INTERACTIONS.column_list().split(", ").count(),
            INTERACTIONS.columns.len()
        );
        assert!(INTERACTIONS
            .column("user_query")
            .is_some_and(Column::required));
        assert!(!INTERACTIONS
            .column("timestamp")
            .is_some_and(Column::required));
    }
}

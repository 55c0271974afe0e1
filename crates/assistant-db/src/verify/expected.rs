//! The spec's schema as data: what `verify` expects to find in the catalog.

/// A column as the spec declares it.
#[derive(Debug, Clone, Copy)]
pub struct ColumnSpec {
    /// Column name.
    pub name: &'static str,
    /// `information_schema.columns.data_type`.
    pub data_type: &'static str,
    /// `character_maximum_length`, for VARCHAR columns.
    pub max_length: Option<i32>,
    /// Whether NULL is allowed.
    pub nullable: bool,
    /// `column_default` as PostgreSQL prints it.
    pub default: Option<&'static str>,
}

/// A table as the spec declares it.
#[derive(Debug, Clone, Copy)]
pub struct TableSpec {
    /// Table name (schema `public`).
    pub name: &'static str,
    /// Its columns, in order.
    pub columns: &'static [ColumnSpec],
}

/// An index as the spec declares it.
#[derive(Debug, Clone, Copy)]
pub struct IndexSpec {
    /// Index name.
    pub name: &'static str,
    /// Table it indexes.
    pub table: &'static str,
    /// The one column it covers (all of the spec's indexes are single-column b-trees).
    pub column: &'static str,
}

/// A CHECK constraint that limits a column to a set of values.
#[derive(Debug, Clone, Copy)]
pub struct CheckSpec {
    /// Table it belongs to.
    pub table: &'static str,
    /// Column it guards.
    pub column: &'static str,
    /// The allowed values.
    pub allowed: &'static [&'static str],
    /// A value it must reject, used to prove it works.
    pub rejected: &'static str,
}

const fn col(
    name: &'static str,
    data_type: &'static str,
    max_length: Option<i32>,
    nullable: bool,
    default: Option<&'static str>,
) -> ColumnSpec {
    ColumnSpec {
        name,
        data_type,
        max_length,
        nullable,
        default,
    }
}

const UUID: &str = "uuid";
const TSTZ: &str = "timestamp with time zone";
const VARCHAR: &str = "character varying";
const TEXT: &str = "text";
const BOOL: &str = "boolean";
const FLOAT: &str = "double precision";
const INT: &str = "integer";
const JSONB: &str = "jsonb";
const NEW_UUID: Option<&str> = Some("gen_random_uuid()");
const NOW: Option<&str> = Some("now()");
const FALSE: Option<&str> = Some("false");

/// The three tables of the spec.
pub const TABLES: &[TableSpec] = &[
    TableSpec {
        name: "interactions",
        columns: &[
            col("id", UUID, None, false, NEW_UUID),
            col("timestamp", TSTZ, None, true, NOW),
            col("assistant_mode", VARCHAR, Some(10), false, None),
            col("session_id", VARCHAR, Some(255), true, None),
            col("user_query", TEXT, None, false, None),
            col("intent_name", VARCHAR, Some(100), true, None),
            col("intent_category", VARCHAR, Some(20), true, None),
            col("classification_reason", TEXT, None, true, None),
            col("step_1_intent_completed", BOOL, None, true, FALSE),
            col("step_2_routing_decision", VARCHAR, Some(50), true, None),
            col("step_3_retrieval_performed", BOOL, None, true, FALSE),
            col("step_4_response_generated", BOOL, None, true, FALSE),
            col("step_5_confidence_score", FLOAT, None, true, None),
            col("step_6_escalation_triggered", BOOL, None, true, FALSE),
            col("outcome", VARCHAR, Some(20), false, None),
            col("confidence_score", FLOAT, None, true, None),
            col("escalation_reason", TEXT, None, true, None),
            col("response_text", TEXT, None, true, None),
            col("citations", JSONB, None, true, None),
            col("retrieved_chunks_count", INT, None, true, None),
            col("processing_time_ms", INT, None, true, None),
            col("created_at", TSTZ, None, true, NOW),
        ],
    },
    TableSpec {
        name: "escalations",
        columns: &[
            col("id", UUID, None, false, NEW_UUID),
            col("interaction_id", UUID, None, true, None),
            col("trigger_type", VARCHAR, Some(50), false, None),
            col("escalation_reason", TEXT, None, false, None),
            col("created_at", TSTZ, None, true, NOW),
        ],
    },
    TableSpec {
        name: "knowledge_documents",
        columns: &[
            col("id", UUID, None, false, NEW_UUID),
            col("openai_file_id", VARCHAR, Some(255), false, None),
            col("title", TEXT, None, false, None),
            col("source_url", TEXT, None, true, None),
            col("content_type", VARCHAR, Some(20), true, None),
            col("topic_collection", VARCHAR, Some(100), true, None),
            col("ingested_at", TSTZ, None, true, NOW),
            col("metadata", JSONB, None, true, None),
        ],
    },
];

/// The nine indexes of the spec.
pub const INDEXES: &[IndexSpec] = &[
    IndexSpec {
        name: "idx_interactions_timestamp",
        table: "interactions",
        column: "timestamp",
    },
    IndexSpec {
        name: "idx_interactions_mode",
        table: "interactions",
        column: "assistant_mode",
    },
    IndexSpec {
        name: "idx_interactions_intent",
        table: "interactions",
        column: "intent_name",
    },
    IndexSpec {
        name: "idx_interactions_outcome",
        table: "interactions",
        column: "outcome",
    },
    IndexSpec {
        name: "idx_interactions_session",
        table: "interactions",
        column: "session_id",
    },
    IndexSpec {
        name: "idx_escalations_interaction",
        table: "escalations",
        column: "interaction_id",
    },
    IndexSpec {
        name: "idx_escalations_trigger",
        table: "escalations",
        column: "trigger_type",
    },
    IndexSpec {
        name: "idx_knowledge_documents_file_id",
        table: "knowledge_documents",
        column: "openai_file_id",
    },
    IndexSpec {
        name: "idx_knowledge_documents_type",
        table: "knowledge_documents",
        column: "content_type",
    },
];

/// The four CHECK enums of the spec.
pub const CHECKS: &[CheckSpec] = &[
    CheckSpec {
        table: "interactions",
        column: "assistant_mode",
        allowed: &["customer", "banker"],
        rejected: "robot",
    },
    CheckSpec {
        table: "interactions",
        column: "intent_category",
        allowed: &["automatable", "sensitive", "human_only"],
        rejected: "unknown",
    },
    CheckSpec {
        table: "interactions",
        column: "outcome",
        allowed: &["resolved", "escalated"],
        rejected: "pending",
    },
    CheckSpec {
        table: "knowledge_documents",
        column: "content_type",
        allowed: &["public", "synthetic"],
        rejected: "secret",
    },
];

/// The foreign key: `escalations.interaction_id → interactions.id ON DELETE CASCADE`.
pub const FOREIGN_KEY: (&str, &str, &str, &str) =
    ("escalations", "interaction_id", "interactions", "id");

/// The UNIQUE constraint: `knowledge_documents.openai_file_id`.
pub const UNIQUE: (&str, &str) = ("knowledge_documents", "openai_file_id");

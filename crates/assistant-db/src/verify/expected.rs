//! The spec's schema as data: what `verify` expects to find in the catalog, read from the
//! tables' descriptions ([`crate::table`]) and the spec's indexes and constraints.

use std::sync::LazyLock;

use crate::table::Column;

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
#[derive(Debug, Clone)]
pub struct TableSpec {
    /// Table name (schema `public`).
    pub name: &'static str,
    /// Its columns, in order.
    pub columns: Vec<ColumnSpec>,
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

/// The spec's three tables, from their descriptions ([`crate::table`]).
pub static TABLES: LazyLock<Vec<TableSpec>> = LazyLock::new(|| {
    crate::table::ALL
        .iter()
        .map(|table| TableSpec {
            name: table.name,
            columns: table.columns.iter().map(column_spec).collect(),
        })
        .collect()
});

/// What the catalog shows of a described column.
fn column_spec(column: &Column) -> ColumnSpec {
    ColumnSpec {
        name: column.name,
        data_type: column.sql_type.catalog_name(),
        max_length: column
            .sql_type
            .max_length()
            .and_then(|n| i32::try_from(n).ok()),
        nullable: column.nullable,
        default: column.default.map(|d| d.catalog_text()),
    }
}

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

/// The four CHECK enums of the spec: the described columns with a CHECK, each with a value
/// it must reject (short enough for the column, so that the CHECK refuses it, not the
/// length).
pub static CHECKS: LazyLock<Vec<CheckSpec>> = LazyLock::new(|| {
    crate::table::ALL
        .iter()
        .flat_map(|table| {
            table.columns.iter().filter_map(|column| {
                Some(CheckSpec {
                    table: table.name,
                    column: column.name,
                    allowed: column.check?,
                    rejected: REJECTED
                        .iter()
                        .find(|(name, _)| *name == column.name)
                        .map_or("x", |(_, value)| value),
                })
            })
        })
        .collect()
});

/// The value each CHECK's test writes; any column not listed gets `x`.
const REJECTED: &[(&str, &str)] = &[
    ("assistant_mode", "robot"),
    ("intent_category", "unknown"),
    ("outcome", "pending"),
    ("content_type", "secret"),
];

/// The foreign key: `escalations.interaction_id → interactions.id ON DELETE CASCADE`.
pub const FOREIGN_KEY: (&str, &str, &str, &str) =
    ("escalations", "interaction_id", "interactions", "id");

/// The UNIQUE constraint: `knowledge_documents.openai_file_id`.
pub const UNIQUE: (&str, &str) = ("knowledge_documents", "openai_file_id");

//! The JSON shapes of the API for the OpenAPI document, and its query parameters.
//!
//! The three tables' shapes are built from their descriptions in
//! [`assistant_db::table`], so a column added there appears here with no further change.
//! Each table has two shapes, because writers enforce the model and readers tolerate the
//! schema:
//!
//! * the **write** shape (request bodies) is what the model accepts: `VARCHAR` lengths,
//!   the text limit of [`limits`], CHECK values as enums, required = `NOT NULL` without
//!   a default (and not blank), confidences in `[0, 1]`, counts within `0..=i32::MAX`,
//!   and no field the model does not know;
//! * the **read** shape (`…Row`, responses) is what a stored row may hold
//!   ([`assistant_db::row`]): every nullable column nullable, NaN and infinite floats as
//!   strings, infinite and far-away timestamps as PostgreSQL writes them, any JSON in the
//!   JSONB columns, text of any length.
//!
//! The metrics object keeps hand-written mirror types (the library does not depend on
//! utoipa); a unit test of the document checks their fields against the real JSON.

use std::borrow::Cow;

use assistant_db::metrics::Bucket;
use assistant_db::model::limits::{
    MAX_CITATIONS, MAX_CITATIONS_JSON_BYTES, MAX_METADATA_JSON_BYTES, MAX_TEXT_CHARS,
};
use assistant_db::model::Confidence;
use assistant_db::query::MAX_PAGE_SIZE;
use assistant_db::table::{self, Column, ColumnDefault, SqlType, Table};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{
    AdditionalProperties, AnyOfBuilder, ArrayBuilder, KnownFormat, ObjectBuilder, OneOfBuilder,
    Schema, SchemaFormat, SchemaType, Type,
};
use utoipa::openapi::{Ref, RefOr, Required};
use utoipa::{IntoParams, PartialSchema, ToSchema};

use crate::ingest::MAX_RECORDS;

/// A string without the NUL character, which PostgreSQL `text` cannot hold.
pub const NO_NUL: &str = r"^[^\x00]*$";

/// A string without NUL that is not empty or whitespace-only: the model's rule for
/// required text. The class is exactly what Rust's `str::trim` removes (Unicode
/// `White_Space`), so the document and the model draw the same line.
pub const NOT_BLANK: &str = concat!(
    r"^[^\x00]*",
    r"[^\x00\x09-\x0d\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]",
    r"[^\x00]*$"
);

/// An RFC 3339 timestamp as `chrono` reads it (`T` or `t`, `Z`, `z` or an offset).
const RFC3339: &str = r"[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[Tt]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,9})?([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])";

/// PostgreSQL's ISO text for an instant `chrono` cannot hold: a year past 9999 or BC.
const POSTGRES_TIMESTAMP: &str = r"[0-9]{4,6}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,6})?[+-][0-9]{2}(:[0-9]{2}){0,2}( BC)?";

/// A UUID in its hyphenated form.
const UUID: &str = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}";

/// The `next` cursor of a page, and the `after` parameter: a row's timestamp (or `null`
/// for a row without one) and its id.
pub fn cursor_pattern() -> String {
    format!("^(null|infinity|-infinity|{RFC3339}|{POSTGRES_TIMESTAMP})_{UUID}$")
}

/// What a column holds, in words, for the document's readers.
fn about(table: &str, column: &str) -> Option<&'static str> {
    Some(match (table, column) {
        (_, "id") => "Primary key.",
        ("interactions", "timestamp") => "When the query arrived.",
        ("interactions", "assistant_mode") => "Which assistant handled the query.",
        ("interactions", "session_id") => "The OpenAI conversation id.",
        ("interactions", "user_query") => "What the user asked.",
        ("interactions", "intent_name") => "The classified intent.",
        ("interactions", "intent_category") => "How the intent is routed.",
        ("interactions", "classification_reason") => "Why the classifier chose the intent.",
        ("interactions", "step_1_intent_completed") => "Step 1: intent classification finished.",
        ("interactions", "step_2_routing_decision") => "Step 2: the routing decision taken.",
        ("interactions", "step_3_retrieval_performed") => "Step 3: knowledge retrieval ran.",
        ("interactions", "step_4_response_generated") => "Step 4: a response was generated.",
        ("interactions", "step_5_confidence_score") => "Step 5: the confidence computed.",
        ("interactions", "step_6_escalation_triggered") => "Step 6: escalation was triggered.",
        ("interactions", "outcome") => "How the interaction ended.",
        ("interactions", "confidence_score") => "The final confidence score.",
        ("interactions", "escalation_reason") => "Why the interaction was escalated.",
        ("interactions", "response_text") => "The answer given.",
        ("interactions", "citations") => "The sources the answer cites.",
        ("interactions", "retrieved_chunks_count") => "How many knowledge chunks were retrieved.",
        ("interactions", "processing_time_ms") => "End-to-end processing time in milliseconds.",
        ("escalations", "interaction_id") => "The escalated interaction.",
        ("escalations", "trigger_type") => "What triggered it, e.g. `human_only`.",
        ("escalations", "escalation_reason") => "Why, in words.",
        ("knowledge_documents", "openai_file_id") => "The OpenAI file id (unique).",
        ("knowledge_documents", "title") => "The document's title.",
        ("knowledge_documents", "source_url") => "Where the document was published.",
        ("knowledge_documents", "content_type") => "Public or synthetic material.",
        ("knowledge_documents", "topic_collection") => {
            "Which assistant or topic collection holds it."
        }
        ("knowledge_documents", "ingested_at") => "When it was ingested.",
        ("knowledge_documents", "metadata") => "Any further metadata.",
        (_, "created_at") => "When the row was written.",
        _ => return None,
    })
}

/// A schema of one JSON type.
fn typed(ty: Type) -> ObjectBuilder {
    ObjectBuilder::new().schema_type(ty)
}

/// `ty`, or `ty` and null.
fn nullable_type(ty: Type, nullable: bool) -> SchemaType {
    if nullable {
        SchemaType::from_iter([ty, Type::Null])
    } else {
        SchemaType::new(ty)
    }
}

/// A schema of one JSON type, or null.
fn or_null(builder: ObjectBuilder, ty: Type, nullable: bool) -> ObjectBuilder {
    builder.schema_type(nullable_type(ty, nullable))
}

/// `anyOf` the given schemas, plus null when `nullable`.
fn any_of(schemas: Vec<Schema>, nullable: bool, description: Option<String>) -> Schema {
    let mut builder = AnyOfBuilder::new().description(description);
    for schema in schemas {
        builder = builder.item(schema);
    }
    if nullable {
        builder = builder.item(typed(Type::Null));
    }
    builder.build().into()
}

/// A string enum with `values`, plus null when `nullable`.
fn string_enum(values: &[&str], nullable: bool) -> ObjectBuilder {
    let mut all: Vec<Value> = values.iter().map(|v| Value::from(*v)).collect();
    if nullable {
        all.push(Value::Null);
    }
    or_null(ObjectBuilder::new(), Type::String, nullable).enum_values(Some(all))
}

/// A string column's write schema: its length limit, CHECK values and blank rule.
fn write_text(column: &Column, max: usize, nullable: bool) -> ObjectBuilder {
    if let Some(values) = column.check {
        return string_enum(values, nullable);
    }
    let builder = or_null(ObjectBuilder::new(), Type::String, nullable).max_length(Some(max));
    if column.required() {
        builder.min_length(Some(1)).pattern(Some(NOT_BLANK))
    } else {
        builder.pattern(Some(NO_NUL))
    }
}

/// What the model does with a column left out or sent as null.
fn default_note(column: &Column) -> Option<&'static str> {
    column.default.map(|default| match default {
        ColumnDefault::NewUuid => "Left out or null: a new UUID.",
        ColumnDefault::Now => "Left out or null: now.",
        ColumnDefault::False => "Left out or null: false.",
    })
}

/// `about` and the default's note, as one description.
fn described(table: &Table, column: &Column, extra: Option<&str>) -> Option<String> {
    let parts: Vec<&str> = [about(table.name, column.name), default_note(column), extra]
        .into_iter()
        .flatten()
        .collect();
    (!parts.is_empty()).then(|| parts.join(" "))
}

/// A column's schema in a request body: what the model accepts for it.
pub fn write_column(table: &Table, column: &Column) -> RefOr<Schema> {
    // Every column the model may leave out also takes null for "left out".
    let nullable = !column.required();
    let description = described(table, column, None);
    let builder = match column.sql_type {
        SqlType::Uuid => or_null(ObjectBuilder::new(), Type::String, nullable)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid))),
        SqlType::TimestampTz => or_null(ObjectBuilder::new(), Type::String, nullable)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime))),
        SqlType::VarChar(n) => write_text(column, n as usize, nullable),
        SqlType::Text => write_text(column, MAX_TEXT_CHARS, nullable),
        SqlType::Boolean => or_null(ObjectBuilder::new(), Type::Boolean, nullable),
        // Every FLOAT column of the model is a confidence.
        SqlType::Float8 => or_null(ObjectBuilder::new(), Type::Number, nullable)
            .minimum(Some(Confidence::MIN))
            .maximum(Some(Confidence::MAX)),
        SqlType::Integer => or_null(ObjectBuilder::new(), Type::Integer, nullable)
            .minimum(Some(0))
            .maximum(Some(i32::MAX)),
        SqlType::Jsonb if column.name == "citations" => {
            let note = format!("At most {MAX_CITATIONS_JSON_BYTES} bytes as JSON.");
            return ArrayBuilder::new()
                .schema_type(nullable_type(Type::Array, nullable))
                .items(reference::<Citation>())
                .max_items(Some(MAX_CITATIONS))
                .description(described(table, column, Some(&note)))
                .into();
        }
        SqlType::Jsonb => {
            let note = format!("Any JSON of at most {MAX_METADATA_JSON_BYTES} bytes.");
            let mut reference = Ref::from_schema_name(JsonValue::name());
            reference.description = described(table, column, Some(&note)).unwrap_or_default();
            return RefOr::Ref(reference);
        }
    };
    builder.description(description).into()
}

/// A column's schema in a stored row: anything the schema lets a writer store.
pub fn read_column(table: &Table, column: &Column) -> RefOr<Schema> {
    let nullable = column.nullable;
    let description = about(table.name, column.name).map(str::to_owned);
    let builder = match column.sql_type {
        SqlType::Uuid => or_null(ObjectBuilder::new(), Type::String, nullable)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid))),
        SqlType::TimestampTz => return stored_timestamp(nullable, description).into(),
        SqlType::VarChar(n) => match column.check {
            Some(values) => string_enum(values, nullable),
            None => {
                or_null(ObjectBuilder::new(), Type::String, nullable).max_length(Some(n as usize))
            }
        },
        SqlType::Text => or_null(ObjectBuilder::new(), Type::String, nullable),
        SqlType::Boolean => or_null(ObjectBuilder::new(), Type::Boolean, nullable),
        SqlType::Float8 => {
            return any_of(
                vec![
                    typed(Type::Number).into(),
                    string_enum(&["NaN", "Infinity", "-Infinity"], false).into(),
                ],
                nullable,
                description.map(|d| format!("{d} NaN and the infinities as strings.")),
            )
            .into()
        }
        SqlType::Integer => or_null(ObjectBuilder::new(), Type::Integer, nullable)
            .minimum(Some(i32::MIN))
            .maximum(Some(i32::MAX)),
        // Any JSON at all, null included.
        SqlType::Jsonb => ObjectBuilder::new().schema_type(SchemaType::AnyValue),
    };
    builder.description(description).into()
}

/// A stored `timestamptz`: RFC 3339, an infinity, or PostgreSQL's text for far years.
fn stored_timestamp(nullable: bool, description: Option<String>) -> Schema {
    any_of(
        vec![
            typed(Type::String)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
                .into(),
            string_enum(&["infinity", "-infinity"], false).into(),
            typed(Type::String)
                .pattern(Some(format!("^{POSTGRES_TIMESTAMP}$")))
                .into(),
        ],
        nullable,
        description.map(|d| {
            format!("{d} RFC 3339; `infinity`/`-infinity`; PostgreSQL's text for years past 9999 or BC.")
        }),
    )
}

/// The write shape of `table`: its columns as the model accepts them, and nothing else.
fn write_object(table: &Table, skip: &[&str]) -> ObjectBuilder {
    let mut object =
        typed(Type::Object).additional_properties(Some(AdditionalProperties::FreeForm(false)));
    for column in table.columns.iter().filter(|c| !skip.contains(&c.name)) {
        object = object.property(column.name, write_column(table, column));
        if column.required() {
            object = object.required(column.name);
        }
    }
    object
}

/// The read shape of `table`: every column, always present.
fn read_object(table: &Table) -> ObjectBuilder {
    let mut object =
        typed(Type::Object).additional_properties(Some(AdditionalProperties::FreeForm(false)));
    for column in table.columns {
        object = object
            .property(column.name, read_column(table, column))
            .required(column.name);
    }
    object
}

/// A reference to a component schema.
fn reference<T: ToSchema>() -> RefOr<Schema> {
    RefOr::Ref(Ref::from_schema_name(T::name()))
}

/// One record, or an array of 1 to [`MAX_RECORDS`] of them.
fn one_or_many<T: ToSchema>(description: &str) -> Schema {
    OneOfBuilder::new()
        .description(Some(description))
        .item(reference::<T>())
        .item(
            ArrayBuilder::new()
                .items(reference::<T>())
                .min_items(Some(1))
                .max_items(Some(MAX_RECORDS)),
        )
        .build()
        .into()
}

/// Defines marker types whose schemas are built by a function, with the components
/// they refer to.
macro_rules! components {
    ($($(#[$doc:meta])* $name:ident = $build:expr, refs [$($dep:ty),*];)+) => {$(
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name;

        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                $build.into()
            }
        }

        impl ToSchema for $name {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed(stringify!($name))
            }

            #[allow(unused_variables)]
            fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
                $(
                    schemas.push((<$dep>::name().into_owned(), <$dep>::schema()));
                    <$dep>::schemas(schemas);
                )*
            }
        }
    )+};
}

components! {
    /// Any JSON value without a NUL character in a string or key (PostgreSQL `jsonb`
    /// cannot hold one).
    JsonValue = any_of(
        vec![
            typed(Type::Null).into(),
            typed(Type::Boolean).into(),
            typed(Type::Number).into(),
            typed(Type::String).pattern(Some(NO_NUL)).into(),
            ArrayBuilder::new().items(reference::<JsonValue>()).into(),
            typed(Type::Object)
                .property_names(Some(typed(Type::String).pattern(Some(NO_NUL))))
                .additional_properties(Some(reference::<JsonValue>()))
                .into(),
        ],
        false,
        Some("Any JSON without a NUL character (\\u0000) in a string or key.".into()),
    ), refs [];

    /// A numbered source an answer cites: one entry of `interactions.citations`.
    Citation = typed(Type::Object)
        .additional_properties(Some(AdditionalProperties::FreeForm(false)))
        .property(
            "number",
            typed(Type::Integer)
                .minimum(Some(1))
                .maximum(Some(u32::MAX))
                .description(Some("The marker used in the response text, from 1.")),
        )
        .required("number")
        .property(
            "source",
            typed(Type::String)
                .min_length(Some(1))
                .max_length(Some(MAX_TEXT_CHARS))
                .pattern(Some(NOT_BLANK))
                .description(Some("The cited document's name.")),
        )
        .required("source")
        .property(
            "url",
            or_null(ObjectBuilder::new(), Type::String, true)
                .max_length(Some(MAX_TEXT_CHARS))
                .pattern(Some(NO_NUL))
                .description(Some("Where the source can be read, if public.")),
        ), refs [];

    /// An escalation logged on its own: `interaction_id` names an interaction logged
    /// before.
    Escalation = write_object(&table::ESCALATIONS, &[])
        .required("interaction_id")
        .property(
            "interaction_id",
            typed(Type::String)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)))
                .description(Some("The escalated interaction, logged before (or in the same batch).")),
        ), refs [];

    /// An escalation sent inside its interaction, which fills in `interaction_id`.
    AttachedEscalation = write_object(&table::ESCALATIONS, &[])
        .property(
            "interaction_id",
            typed(Type::Null).description(Some(
                "Left out: the interaction it is sent with. (The server also accepts that \
                 interaction's own id here, and refuses any other.)",
            )),
        ), refs [];

    /// An interaction to log, optionally with its escalations (written together with it).
    InteractionWrite = write_object(&table::INTERACTIONS, &[])
        .description(Some(
            "An interaction as the model accepts it. Send an `id` to make retries harmless.",
        ))
        .property(
            "escalations",
            ArrayBuilder::new()
                .schema_type(nullable_type(Type::Array, true))
                .items(reference::<AttachedEscalation>())
                .description(Some("Escalations of this interaction, written together with it.")),
        ), refs [AttachedEscalation, Citation, JsonValue];

    /// A knowledge document to register or update, keyed by `openai_file_id`.
    KnowledgeDocument = write_object(&table::KNOWLEDGE_DOCUMENTS, &[]), refs [JsonValue];

    /// One interaction or an array of up to 1000.
    InteractionBody = one_or_many::<InteractionWrite>(
        "One interaction or an array of 1 to 1000 (each `id` at most once)."
    ), refs [InteractionWrite];

    /// One escalation or an array of up to 1000.
    EscalationBody = one_or_many::<Escalation>(
        "One escalation or an array of 1 to 1000."
    ), refs [Escalation];

    /// One knowledge document or an array of up to 1000.
    KnowledgeDocumentBody = one_or_many::<KnowledgeDocument>(
        "One knowledge document or an array of 1 to 1000, each `openai_file_id` at most once."
    ), refs [KnowledgeDocument];

    /// A stored row of `interactions`, as any writer may have stored it.
    InteractionRow = read_object(&table::INTERACTIONS), refs [];

    /// A stored row of `escalations`, as any writer may have stored it.
    EscalationRow = read_object(&table::ESCALATIONS), refs [];

    /// A stored row of `knowledge_documents`, as any writer may have stored it.
    KnowledgeDocumentRow = read_object(&table::KNOWLEDGE_DOCUMENTS), refs [];

    /// An interaction with its escalations, oldest first.
    InteractionDetail = read_object(&table::INTERACTIONS)
        .property(
            "escalations",
            ArrayBuilder::new()
                .items(reference::<EscalationRow>())
                .description(Some("Its escalations, oldest first.")),
        )
        .required("escalations"), refs [EscalationRow];

    /// A page of interactions, newest first.
    InteractionPage = typed(Type::Object)
        .additional_properties(Some(AdditionalProperties::FreeForm(false)))
        .property(
            "items",
            ArrayBuilder::new()
                .items(reference::<InteractionRow>())
                .max_items(Some(MAX_PAGE_SIZE as usize))
                .description(Some("The rows, newest first.")),
        )
        .required("items")
        .property(
            "next",
            or_null(ObjectBuilder::new(), Type::String, true)
                .pattern(Some(cursor_pattern()))
                .description(Some("Pass as `after` for the next page; null on the last page.")),
        )
        .required("next"), refs [InteractionRow];
}

/// The CHECK values of `table.column`, which the descriptor holds.
fn check_values(table: &Table, column: &str) -> &'static [&'static str] {
    table.column(column).and_then(|c| c.check).unwrap_or(&[])
}

/// The `VARCHAR` length of `table.column`.
pub fn column_max_length(table: &Table, column: &str) -> Option<usize> {
    table
        .column(column)
        .and_then(|c| c.sql_type.max_length())
        .map(|n| n as usize)
}

/// `assistant_mode`'s values, for the metrics object.
fn assistant_mode() -> ObjectBuilder {
    string_enum(check_values(&table::INTERACTIONS, "assistant_mode"), false)
}

/// `intent_category`'s values or null, for the metrics object.
fn intent_category_or_null() -> ObjectBuilder {
    string_enum(check_values(&table::INTERACTIONS, "intent_category"), true)
}

/// The dashboard metrics: the object `assistant-db metrics --json` prints.
#[derive(Serialize, ToSchema)]
pub struct Metrics {
    /// Interactions that pass the filter.
    total_interactions: i64,
    /// Of which resolved.
    resolved: i64,
    /// Of which escalated.
    escalated: i64,
    /// `resolved / total_interactions`; null without interactions.
    resolution_rate: Option<f64>,
    /// `escalated / total_interactions`; null without interactions.
    escalation_rate: Option<f64>,
    /// Mean `confidence_score`; null when none has one.
    avg_confidence: Option<f64>,
    /// Mean and exact percentiles of `processing_time_ms`.
    processing_time_ms: Percentiles,
    /// Counts per assistant mode.
    by_mode: Vec<ModeCount>,
    /// Counts per intent, most frequent first.
    by_intent: Vec<IntentCount>,
    /// Counts per intent category.
    by_intent_category: Vec<CategoryCount>,
    /// Escalation rows per trigger type, most frequent first.
    escalations_by_trigger: Vec<TriggerCount>,
    /// Conversations among the interactions.
    sessions: Sessions,
    /// Share of interactions that reached each pipeline step.
    pipeline: Pipeline,
    /// Counts per time bucket, oldest first.
    timeseries: Vec<BucketCount>,
    /// Interactions per tenth of a valid confidence, from `[0, 0.1)` to `[0.9, 1.0]`; a
    /// bin is null when suppressed for the public key.
    confidence_histogram: Vec<Option<i64>>,
    /// Matching interactions left out of an aggregate their value would corrupt.
    excluded: Excluded,
    /// Groups of fewer than 10 rows left out for the public key.
    suppressed: Suppressed,
}

/// Interactions left out of one aggregate each (they still count in every total); null
/// when suppressed for the public key.
#[derive(Serialize, ToSchema)]
pub struct Excluded {
    /// A confidence outside [0, 1], NaN or infinite.
    confidence_score: Option<i64>,
    /// A negative processing time.
    processing_time_ms: Option<i64>,
    /// No timestamp, an infinite one, or one more than 5 minutes ahead.
    timestamp: Option<i64>,
}

/// Groups of fewer than 10 rows left out of each breakdown (public key only).
#[derive(Serialize, ToSchema)]
pub struct Suppressed {
    /// Modes left out.
    by_mode: i64,
    /// Intents left out.
    by_intent: i64,
    /// Categories left out.
    by_intent_category: i64,
    /// Trigger types left out.
    escalations_by_trigger: i64,
    /// Buckets left out.
    timeseries: i64,
    /// Histogram bins shown as null.
    confidence_histogram: i64,
    /// 1 when the session counts are suppressed.
    sessions: i64,
}

/// Mean and percentiles; null when no value is known.
#[derive(Serialize, ToSchema)]
pub struct Percentiles {
    /// Mean.
    avg: Option<f64>,
    /// Median.
    p50: Option<f64>,
    /// 95th percentile.
    p95: Option<f64>,
    /// 99th percentile.
    p99: Option<f64>,
}

/// Interactions of one mode.
#[derive(Serialize, ToSchema)]
pub struct ModeCount {
    /// The mode.
    #[schema(schema_with = assistant_mode)]
    assistant_mode: String,
    /// Interactions.
    total: i64,
    /// Of which resolved.
    resolved: i64,
    /// Of which escalated.
    escalated: i64,
}

/// Interactions of one intent.
#[derive(Serialize, ToSchema)]
pub struct IntentCount {
    /// The intent; null groups those without one.
    intent_name: Option<String>,
    /// Interactions.
    total: i64,
    /// Of which resolved.
    resolved: i64,
    /// Of which escalated.
    escalated: i64,
    /// Mean confidence of the group.
    avg_confidence: Option<f64>,
}

/// Interactions of one intent category.
#[derive(Serialize, ToSchema)]
pub struct CategoryCount {
    /// The category; null groups those without one.
    #[schema(schema_with = intent_category_or_null)]
    intent_category: Option<String>,
    /// Interactions.
    total: i64,
    /// Of which resolved.
    resolved: i64,
    /// Of which escalated.
    escalated: i64,
}

/// Escalation rows with one trigger type.
#[derive(Serialize, ToSchema)]
pub struct TriggerCount {
    /// The trigger type.
    trigger_type: String,
    /// Escalation rows.
    count: i64,
}

/// Conversations (`session_id`) that begin in the window: their first interaction is
/// among the filtered ones.
#[derive(Serialize, ToSchema)]
pub struct Sessions {
    /// Sessions that begin in the window.
    total: i64,
    /// Those of them none of whose turns was escalated.
    contained: i64,
}

/// Share (0 to 1) of interactions that reached each pipeline step.
#[derive(Serialize, ToSchema)]
pub struct Pipeline {
    /// Intent classification completed.
    step_1_intent_completed: Option<f64>,
    /// A routing decision was taken.
    step_2_routing_decision: Option<f64>,
    /// Retrieval ran.
    step_3_retrieval_performed: Option<f64>,
    /// A response was generated.
    step_4_response_generated: Option<f64>,
    /// A confidence score was computed.
    step_5_confidence_score: Option<f64>,
    /// Escalation was triggered.
    step_6_escalation_triggered: Option<f64>,
}

/// Interactions in one time bucket.
#[derive(Serialize, ToSchema)]
pub struct BucketCount {
    /// Start of the bucket, in UTC.
    bucket: DateTime<Utc>,
    /// Interactions.
    total: i64,
    /// Of which resolved.
    resolved: i64,
    /// Of which escalated.
    escalated: i64,
}

/// An optional query parameter.
fn query(name: &str, description: &str, schema: impl Into<RefOr<Schema>>) -> Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Query)
        .required(Required::False)
        .description(Some(description))
        .schema(Some(schema))
        .build()
}

/// An enum parameter filtering on a column with a CHECK constraint.
fn check_parameter(name: &str, column: &str, what: &str) -> Parameter {
    query(
        name,
        what,
        string_enum(check_values(&table::INTERACTIONS, column), false),
    )
}

/// A text parameter filtering on a `VARCHAR` column: at most its length.
fn text_parameter(name: &str, column: &str, what: &str) -> Parameter {
    query(
        name,
        what,
        typed(Type::String)
            .max_length(column_max_length(&table::INTERACTIONS, column))
            .pattern(Some(NO_NUL)),
    )
}

/// `from` or `to`.
fn instant_parameter(name: &str, what: &str) -> Parameter {
    query(
        name,
        &format!(
            "{what} (RFC 3339; encode `+` as `%2B`, though a space where an offset's `+` \
             belongs is read as `+`). `from` must not be after `to`."
        ),
        typed(Type::String).format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime))),
    )
}

/// Query parameters of `GET /api/metrics` (all optional).
#[derive(Debug)]
pub struct MetricsParams;

impl IntoParams for MetricsParams {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![
            check_parameter("mode", "assistant_mode", "Only this assistant mode."),
            instant_parameter("from", "Only interactions at or after this instant"),
            instant_parameter("to", "Only interactions at or before this instant"),
            text_parameter("intent", "intent_name", "Only this `intent_name`."),
            check_parameter("category", "intent_category", "Only this intent category."),
            query(
                "bucket",
                "Width of the timeseries buckets (default `day`), truncated in UTC.",
                string_enum(&Bucket::ALL.map(|b| b.as_str()), false),
            ),
        ]
    }
}

/// Query parameters of `GET /api/interactions` (all optional).
#[derive(Debug)]
pub struct ListParams;

impl IntoParams for ListParams {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![
            check_parameter("mode", "assistant_mode", "Only this assistant mode."),
            check_parameter("outcome", "outcome", "Only this outcome."),
            text_parameter("intent", "intent_name", "Only this `intent_name`."),
            check_parameter("category", "intent_category", "Only this intent category."),
            text_parameter("session", "session_id", "Only this `session_id`."),
            instant_parameter("from", "Only at or after this instant"),
            instant_parameter("to", "Only at or before this instant"),
            query(
                "limit",
                "Rows per page (default 50).",
                typed(Type::Integer)
                    .minimum(Some(1))
                    .maximum(Some(MAX_PAGE_SIZE)),
            ),
            query(
                "after",
                "The `next` cursor of the previous page.",
                typed(Type::String).pattern(Some(cursor_pattern())),
            ),
        ]
    }
}

/// The `{id}` path parameter: a UUID in its hyphenated form.
pub fn id_parameter(what: &str) -> Parameter {
    ParameterBuilder::new()
        .name("id")
        .parameter_in(ParameterIn::Path)
        .required(Required::True)
        .description(Some(what))
        .schema(Some(
            typed(Type::String).format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid))),
        ))
        .build()
}

/// The `{id}` path parameter of `GET /api/interactions/{id}`.
#[derive(Debug)]
pub struct InteractionId;

impl IntoParams for InteractionId {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![id_parameter("The interaction's id.")]
    }
}

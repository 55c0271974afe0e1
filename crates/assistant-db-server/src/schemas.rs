//! The JSON shapes of the library's records and metrics, described for the OpenAPI
//! document. These types are never built: they exist only so that utoipa can describe
//! the JSON that the library's own types read and write (the library does not depend on
//! utoipa). A unit test of the OpenAPI document checks that their property names match the
//! real types' JSON, so the document cannot drift silently.
#![allow(dead_code)]

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// Which assistant handled the query.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AssistantMode {
    /// The customer-facing assistant.
    Customer,
    /// The assistant for bank staff.
    Banker,
}

/// How the classifier routed the intent.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum IntentCategory {
    /// The assistant may answer on its own.
    Automatable,
    /// Answered with extra care.
    Sensitive,
    /// Always handed to a human.
    HumanOnly,
}

/// How the interaction ended.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The assistant answered.
    Resolved,
    /// Handed to a human.
    Escalated,
}

/// Where a knowledge document came from.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ContentType {
    /// Published material.
    Public,
    /// Generated material.
    Synthetic,
}

/// Width of a timeseries bucket (truncated in UTC).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Bucket {
    /// One bucket per hour.
    Hour,
    /// One bucket per day.
    Day,
    /// One bucket per ISO week (from Monday).
    Week,
}

/// A numbered source the response cites.
#[derive(Serialize, ToSchema)]
pub struct Citation {
    /// The marker used in the response text, from 1.
    #[schema(minimum = 1)]
    number: u32,
    /// The cited document's name (not empty).
    source: String,
    /// Where the source can be read, if public.
    url: Option<String>,
}

/// A row of `interactions`: one query through the assistant's pipeline. Column names
/// are the spec's; a missing `id` or `timestamp` is generated (send an `id` to make
/// retries idempotent).
#[derive(Serialize, ToSchema)]
pub struct Interaction {
    /// Primary key (UUID); a fresh UUIDv7 when not given.
    id: Option<Uuid>,
    /// When the query arrived; now when not given.
    timestamp: Option<DateTime<Utc>>,
    /// Which assistant handled the query.
    assistant_mode: AssistantMode,
    /// The OpenAI conversation id (at most 255 characters).
    #[schema(max_length = 255)]
    session_id: Option<String>,
    /// What the user asked (not empty).
    user_query: String,
    /// The classified intent (at most 100 characters).
    #[schema(max_length = 100)]
    intent_name: Option<String>,
    /// How the intent is routed.
    intent_category: Option<IntentCategory>,
    /// Why the classifier chose the intent.
    classification_reason: Option<String>,
    /// Step 1: intent classification finished (default false).
    step_1_intent_completed: Option<bool>,
    /// Step 2: the routing decision taken (at most 50 characters).
    #[schema(max_length = 50)]
    step_2_routing_decision: Option<String>,
    /// Step 3: knowledge retrieval ran (default false).
    step_3_retrieval_performed: Option<bool>,
    /// Step 4: a response was generated (default false).
    step_4_response_generated: Option<bool>,
    /// Step 5: the confidence computed, 0 to 1.
    #[schema(minimum = 0, maximum = 1)]
    step_5_confidence_score: Option<f64>,
    /// Step 6: escalation was triggered (default false).
    step_6_escalation_triggered: Option<bool>,
    /// How the interaction ended.
    outcome: Outcome,
    /// The final confidence score, 0 to 1.
    #[schema(minimum = 0, maximum = 1)]
    confidence_score: Option<f64>,
    /// Why the interaction was escalated.
    escalation_reason: Option<String>,
    /// The answer given.
    response_text: Option<String>,
    /// The sources the answer cites.
    citations: Option<Vec<Citation>>,
    /// How many knowledge chunks were retrieved (at least 0).
    #[schema(minimum = 0)]
    retrieved_chunks_count: Option<i32>,
    /// End-to-end processing time in milliseconds (at least 0).
    #[schema(minimum = 0)]
    processing_time_ms: Option<i32>,
    /// When the row was written; the database's clock when not given.
    created_at: Option<DateTime<Utc>>,
}

/// A row of `escalations`: an interaction handed to a human.
#[derive(Serialize, ToSchema)]
pub struct Escalation {
    /// Primary key (UUID); a fresh UUIDv7 when not given.
    id: Option<Uuid>,
    /// The escalated interaction: required by `POST /api/escalations`, filled in for
    /// escalations sent inside an interaction.
    interaction_id: Option<Uuid>,
    /// What triggered it, e.g. `human_only`, `low_confidence` (at most 50 characters).
    #[schema(max_length = 50)]
    trigger_type: String,
    /// Why, in words (not empty).
    escalation_reason: String,
    /// When the row was written; the database's clock when not given.
    created_at: Option<DateTime<Utc>>,
}

/// An interaction to log, optionally with its escalations (written together with it).
#[derive(Serialize, ToSchema)]
pub struct InteractionWrite {
    #[serde(flatten)]
    interaction: Interaction,
    /// Escalations of this interaction; their `interaction_id` may be left out.
    escalations: Option<Vec<Escalation>>,
}

/// One interaction or an array of up to 1000.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum InteractionBody {
    /// A single interaction.
    One(Box<InteractionWrite>),
    /// A batch.
    Many(Vec<InteractionWrite>),
}

/// One escalation or an array of up to 1000.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum EscalationBody {
    /// A single escalation.
    One(Escalation),
    /// A batch.
    Many(Vec<Escalation>),
}

/// A row of `knowledge_documents`, keyed by `openai_file_id`.
#[derive(Serialize, ToSchema)]
pub struct KnowledgeDocument {
    /// Primary key (UUID) for a new row; an existing row keeps its id.
    id: Option<Uuid>,
    /// The OpenAI file id (unique, at most 255 characters).
    #[schema(max_length = 255)]
    openai_file_id: String,
    /// The document's title (not empty).
    title: String,
    /// Where the document was published.
    source_url: Option<String>,
    /// Public or synthetic material.
    content_type: Option<ContentType>,
    /// Which assistant or topic collection holds it (at most 100 characters).
    #[schema(max_length = 100)]
    topic_collection: Option<String>,
    /// When it was ingested; the database's clock when not given.
    ingested_at: Option<DateTime<Utc>>,
    /// Any further metadata (any JSON without NUL characters).
    metadata: Option<serde_json::Value>,
}

/// One knowledge document or an array of up to 1000.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum KnowledgeDocumentBody {
    /// A single document.
    One(KnowledgeDocument),
    /// A batch.
    Many(Vec<KnowledgeDocument>),
}

/// An interaction with its escalations, oldest first.
#[derive(Serialize, ToSchema)]
pub struct InteractionDetail {
    #[serde(flatten)]
    interaction: Interaction,
    /// Its escalations.
    escalations: Vec<Escalation>,
}

/// A page of interactions, newest first.
#[derive(Serialize, ToSchema)]
pub struct InteractionPage {
    /// The rows.
    items: Vec<Interaction>,
    /// Pass as `after` for the next page; null on the last page.
    next: Option<String>,
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
    /// Interactions per tenth of a valid confidence; a bin is null when suppressed.
    confidence_histogram: Vec<Option<i64>>,
    /// Matching interactions left out of an aggregate their value would corrupt.
    excluded: Excluded,
    /// Groups of fewer than 10 rows left out for the public key.
    suppressed: Suppressed,
}

/// Interactions left out of one aggregate each (they still count in every total).
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
    assistant_mode: AssistantMode,
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
    intent_category: Option<IntentCategory>,
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

/// Conversations (distinct `session_id`).
#[derive(Serialize, ToSchema)]
pub struct Sessions {
    /// Distinct sessions.
    total: i64,
    /// Sessions none of whose turns was escalated.
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

/// Query parameters of `GET /api/metrics` (all optional).
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MetricsParams {
    /// Only this assistant mode.
    #[param(value_type = Option<AssistantMode>)]
    pub mode: Option<String>,
    /// Only interactions at or after this time: an RFC 3339 instant (encode `+` as
    /// `%2B`), a day (`2025-05-01`, its start in `tz`), `today`, `yesterday`, a span back
    /// from now (`24h`, `7d`, `2w`) or `now`.
    pub from: Option<String>,
    /// Only interactions at or before this time, in the same forms (a day: its end).
    pub to: Option<String>,
    /// Only this `intent_name`.
    pub intent: Option<String>,
    /// Only this intent category.
    #[param(value_type = Option<IntentCategory>)]
    pub category: Option<String>,
    /// Width of the timeseries buckets (default `day`).
    #[param(value_type = Option<Bucket>)]
    pub bucket: Option<String>,
    /// IANA time zone whose midnights start days and weeks, of the buckets and of
    /// day-form bounds (default `UTC`).
    pub tz: Option<String>,
}

/// Query parameters of `GET /api/interactions` (all optional).
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Only this assistant mode.
    #[param(value_type = Option<AssistantMode>)]
    pub mode: Option<String>,
    /// Only this outcome.
    #[param(value_type = Option<Outcome>)]
    pub outcome: Option<String>,
    /// Only this `intent_name`.
    pub intent: Option<String>,
    /// Only this intent category.
    #[param(value_type = Option<IntentCategory>)]
    pub category: Option<String>,
    /// Only this `session_id`.
    pub session: Option<String>,
    /// Only interactions whose query or response holds every word, ignoring case (`*`
    /// matches any text; one word of at least 3 characters).
    pub q: Option<String>,
    /// Only interactions with an escalation of this `trigger_type`.
    pub trigger: Option<String>,
    /// Only at or after this time: an RFC 3339 instant, a day (`2025-05-01`, its start in
    /// `tz`), `today`, `yesterday`, `24h`, `7d`, `2w` or `now`.
    pub from: Option<String>,
    /// Only at or before this time, in the same forms (a day: its end).
    pub to: Option<String>,
    /// IANA time zone of day-form bounds (default `UTC`).
    pub tz: Option<String>,
    /// Rows per page, 1 to 1000 (default 50).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// The `next` cursor of the previous page.
    pub after: Option<String>,
}

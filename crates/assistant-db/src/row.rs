//! Rows as the database holds them: what readers get back.
//!
//! The records of [`crate::model`] are what *we* write, and cannot hold a value the model
//! refuses. Other programs write into the same tables (the spec's Python wrapper, the SQL
//! editor) and may store anything the spec's schema allows: a NULL or infinite timestamp,
//! a NaN confidence, a negative time, a blank query, citations of any JSON shape, an
//! escalation without an interaction. A reader must show such a row, never fail on it, so
//! the types here mirror the schema — its column types, NOT NULL and CHECK constraints —
//! and nothing more. Serialized, a row is the same JSON object as PostgreSQL's
//! `to_jsonb(row)`: non-finite floats as `"NaN"`/`"Infinity"`, infinite timestamps as
//! `"infinity"`/`"-infinity"`.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use uuid::Uuid;

use crate::model::{
    AssistantMode, Citation, ContentType, Escalation, IntentCategory, Interaction,
    KnowledgeDocument, Outcome, ValidationError,
};

/// A stored `timestamptz`: an instant, or one of PostgreSQL's infinities.
///
/// Instants outside what `chrono` holds (before 262143 BC, after AD 262142, or in
/// PostgreSQL's BC notation) keep PostgreSQL's own text, which it reads back exactly.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Timestamp {
    /// `-infinity`: before every instant.
    NegInfinity,
    /// An instant.
    At(DateTime<Utc>),
    /// `infinity`: after every instant.
    Infinity,
    /// An instant in PostgreSQL's text that `chrono` cannot hold.
    Other(String),
}

impl Timestamp {
    /// The instant, when it is a finite one `chrono` holds.
    pub fn instant(&self) -> Option<DateTime<Utc>> {
        match self {
            Timestamp::At(t) => Some(*t),
            _ => None,
        }
    }

    /// Reads PostgreSQL's or RFC 3339 text; `None` for text neither of them is.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "infinity" => Some(Timestamp::Infinity),
            "-infinity" => Some(Timestamp::NegInfinity),
            _ => match DateTime::parse_from_rfc3339(text) {
                Ok(t) => Some(Timestamp::At(t.with_timezone(&Utc))),
                Err(_) if looks_like_postgres_timestamp(text) => {
                    Some(Timestamp::Other(text.to_owned()))
                }
                Err(_) => None,
            },
        }
    }
}

/// PostgreSQL's ISO output for the years `chrono` cannot parse: AD 10000 to 294276
/// (`200000-01-01T00:00:00+00:00`) and 4714 BC to 1 BC (`0044-03-15T00:00:00+00:00 BC`).
/// Every field is checked against its range and the calendar, so that such text can be
/// handed back to PostgreSQL as a cursor and be read, not refused.
fn looks_like_postgres_timestamp(text: &str) -> bool {
    postgres_text_form(text).is_some()
}

/// The fields of [`looks_like_postgres_timestamp`]'s form, `None` when one is out of range.
fn postgres_text_form(text: &str) -> Option<()> {
    let (body, bc) = match text.strip_suffix(" BC") {
        Some(body) => (body, true),
        None => (text, false),
    };
    let (date, time) = body.split_once('T')?;
    let mut date = date.split('-');
    let (year, month, day) = (date.next()?, date.next()?, date.next()?);
    if date.next().is_some() {
        return None;
    }
    let year_number = digits(year, 4, 6)?;
    let astronomical = if bc {
        if !(1..=4714).contains(&year_number) {
            return None;
        }
        1 - i64::from(year_number)
    } else {
        // Four-digit years are RFC 3339, which chrono reads: this form is for the rest.
        if !(10_000..=294_276).contains(&year_number) {
            return None;
        }
        i64::from(year_number)
    };
    let month = digits(month, 2, 2)?;
    let day = digits(day, 2, 2)?;
    // The Gregorian calendar repeats every 400 years: a year chrono holds with the same
    // remainder has the same days.
    chrono::NaiveDate::from_ymd_opt(2000 + astronomical.rem_euclid(400) as i32, month, day)?;
    let split = time.find(['+', '-'])?;
    let (clock, offset) = time.split_at(split);
    let (clock, fraction) = match clock.split_once('.') {
        Some((clock, fraction)) => (clock, Some(fraction)),
        None => (clock, None),
    };
    if let Some(fraction) = fraction {
        digits(fraction, 1, 6)?;
    }
    let clock = clock_fields(clock, 3)?;
    if clock[0] > 23 || clock[1] > 59 || clock[2] > 59 {
        return None;
    }
    // The zone's offset: `+HH`, `+HH:MM` or `+HH:MM:SS`, at most 15:59:59.
    let offset = (1..=3).find_map(|count| clock_fields(&offset[1..], count))?;
    (offset[0] <= 15 && offset[1] <= 59 && offset[2] <= 59).then_some(())
}

/// `count` two-digit fields separated by `:` (missing trailing ones read as 0).
fn clock_fields(text: &str, count: usize) -> Option<[u32; 3]> {
    let mut fields = [0; 3];
    let mut parts = text.split(':');
    for field in fields.iter_mut().take(count) {
        *field = digits(parts.next()?, 2, 2)?;
    }
    parts.next().is_none().then_some(fields)
}

/// The number `text` writes with `min..=max` ASCII digits and nothing else.
fn digits(text: &str, min: usize, max: usize) -> Option<u32> {
    ((min..=max).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit()))
        .then(|| text.parse().ok())
        .flatten()
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Timestamp::NegInfinity => f.write_str("-infinity"),
            Timestamp::At(t) => f.write_str(&t.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
            Timestamp::Infinity => f.write_str("infinity"),
            Timestamp::Other(text) => f.write_str(text),
        }
    }
}

impl From<DateTime<Utc>> for Timestamp {
    fn from(t: DateTime<Utc>) -> Self {
        Timestamp::At(t)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Timestamp::parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format!("{text:?} is not a timestamp PostgreSQL writes"))
        })
    }
}

/// A stored `FLOAT` (double precision), NaN and the infinities included.
///
/// JSON has no NaN or infinity, so those are written as PostgreSQL's `to_jsonb` writes
/// them: the strings `"NaN"`, `"Infinity"` and `"-Infinity"`.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Float(pub f64);

impl Float {
    /// The number.
    pub const fn get(self) -> f64 {
        self.0
    }

    /// True for a finite number within `[0, 1]`, the model's rule for confidences.
    pub fn is_confidence(self) -> bool {
        (0.0..=1.0).contains(&self.0)
    }
}

impl fmt::Display for Float {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            v if v.is_nan() => f.write_str("NaN"),
            v if v == f64::INFINITY => f.write_str("Infinity"),
            v if v == f64::NEG_INFINITY => f.write_str("-Infinity"),
            v => v.fmt(f),
        }
    }
}

impl Serialize for Float {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.0.is_finite() {
            serializer.serialize_f64(self.0)
        } else {
            serializer.collect_str(self)
        }
    }
}

impl<'de> Deserialize<'de> for Float {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr {
            Number(f64),
            Text(String),
        }
        match Repr::deserialize(deserializer)? {
            Repr::Number(n) => Ok(Float(n)),
            Repr::Text(text) => match text.as_str() {
                "NaN" => Ok(Float(f64::NAN)),
                "Infinity" => Ok(Float(f64::INFINITY)),
                "-Infinity" => Ok(Float(f64::NEG_INFINITY)),
                _ => f64::from_str(&text)
                    .map(Float)
                    .map_err(|_| serde::de::Error::custom(format!("{text:?} is not a number"))),
            },
        }
    }
}

/// A stored row of `interactions`, as the schema allows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InteractionRow {
    /// Primary key.
    pub id: Uuid,
    /// When the query arrived; NULL when a writer left it out and set no default.
    pub timestamp: Option<Timestamp>,
    /// Which assistant handled the query (a CHECK constraint holds it to the two modes).
    pub assistant_mode: AssistantMode,
    /// The conversation id.
    pub session_id: Option<String>,
    /// What the user asked; may be blank when another writer stored it so.
    pub user_query: String,
    /// The classified intent.
    pub intent_name: Option<String>,
    /// How the intent is routed.
    pub intent_category: Option<IntentCategory>,
    /// Why the classifier chose the intent.
    pub classification_reason: Option<String>,
    /// Step 1: intent classification finished.
    pub step_1_intent_completed: Option<bool>,
    /// Step 2: the routing decision taken.
    pub step_2_routing_decision: Option<String>,
    /// Step 3: knowledge retrieval ran.
    pub step_3_retrieval_performed: Option<bool>,
    /// Step 4: a response was generated.
    pub step_4_response_generated: Option<bool>,
    /// Step 5: the confidence computed.
    pub step_5_confidence_score: Option<Float>,
    /// Step 6: escalation was triggered.
    pub step_6_escalation_triggered: Option<bool>,
    /// How the interaction ended.
    pub outcome: Outcome,
    /// The final confidence score.
    pub confidence_score: Option<Float>,
    /// Why the interaction was escalated.
    pub escalation_reason: Option<String>,
    /// The answer given.
    pub response_text: Option<String>,
    /// The sources the answer cites: any JSON; see [`citation_list`](Self::citation_list).
    pub citations: Option<Value>,
    /// How many knowledge chunks were retrieved.
    pub retrieved_chunks_count: Option<i32>,
    /// End-to-end processing time in milliseconds.
    pub processing_time_ms: Option<i32>,
    /// When the row was written.
    pub created_at: Option<Timestamp>,
}

impl InteractionRow {
    /// The citations, when they are the model's array of citation objects.
    pub fn citation_list(&self) -> Option<Vec<Citation>> {
        serde_json::from_value(self.citations.clone()?).ok()
    }
}

/// A stored row of `escalations`, as the schema allows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EscalationRow {
    /// Primary key.
    pub id: Uuid,
    /// The escalated interaction; NULL is allowed by the schema.
    pub interaction_id: Option<Uuid>,
    /// What triggered it; any text of at most 50 characters.
    pub trigger_type: String,
    /// Why, in words.
    pub escalation_reason: String,
    /// When the row was written.
    pub created_at: Option<Timestamp>,
}

/// A stored row of `knowledge_documents`, as the schema allows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KnowledgeDocumentRow {
    /// Primary key.
    pub id: Uuid,
    /// The OpenAI file ID (unique).
    pub openai_file_id: String,
    /// The document's title.
    pub title: String,
    /// Where the document was published.
    pub source_url: Option<String>,
    /// Public or synthetic material.
    pub content_type: Option<ContentType>,
    /// Which assistant or topic collection holds it.
    pub topic_collection: Option<String>,
    /// When it was ingested.
    pub ingested_at: Option<Timestamp>,
    /// Any further metadata.
    pub metadata: Option<Value>,
}

/// A record as the row it becomes once stored (`created_at` left unset stays `None`:
/// the database fills it in).
impl From<Interaction> for InteractionRow {
    fn from(i: Interaction) -> Self {
        let confidence = |c: Option<crate::model::Confidence>| c.map(|c| Float(c.get()));
        let int = |n: Option<crate::model::NonNegativeInt>| n.map(|n| n.get());
        let text = |t: Option<crate::model::Text>| t.map(|t| t.into_inner());
        InteractionRow {
            id: i.id,
            timestamp: Some(Timestamp::At(i.timestamp)),
            assistant_mode: i.assistant_mode,
            session_id: i.session_id.map(|v| v.into_inner()),
            user_query: i.user_query.into_inner(),
            intent_name: i.intent_name.map(|v| v.into_inner()),
            intent_category: i.intent_category,
            classification_reason: text(i.classification_reason),
            step_1_intent_completed: Some(i.step_1_intent_completed),
            step_2_routing_decision: i.step_2_routing_decision.map(|v| v.into_inner()),
            step_3_retrieval_performed: Some(i.step_3_retrieval_performed),
            step_4_response_generated: Some(i.step_4_response_generated),
            step_5_confidence_score: confidence(i.step_5_confidence_score),
            step_6_escalation_triggered: Some(i.step_6_escalation_triggered),
            outcome: i.outcome,
            confidence_score: confidence(i.confidence_score),
            escalation_reason: text(i.escalation_reason),
            response_text: text(i.response_text),
            citations: i
                .citations
                .map(|list| serde_json::to_value(list).unwrap_or(Value::Null)),
            retrieved_chunks_count: int(i.retrieved_chunks_count),
            processing_time_ms: int(i.processing_time_ms),
            created_at: i.created_at.map(Timestamp::At),
        }
    }
}

/// A stored row as the model's record, when it keeps every rule of the model.
impl TryFrom<InteractionRow> for Interaction {
    type Error = ValidationError;

    fn try_from(row: InteractionRow) -> Result<Self, ValidationError> {
        Interaction::from_json_value(to_json(&row)?)
    }
}

/// A record as the row it becomes once stored.
impl From<Escalation> for EscalationRow {
    fn from(e: Escalation) -> Self {
        EscalationRow {
            id: e.id,
            interaction_id: e.interaction_id,
            trigger_type: e.trigger_type.into_inner(),
            escalation_reason: e.escalation_reason.into_inner(),
            created_at: e.created_at.map(Timestamp::At),
        }
    }
}

/// A stored row as the model's record, when it keeps every rule of the model.
impl TryFrom<EscalationRow> for Escalation {
    type Error = ValidationError;

    fn try_from(row: EscalationRow) -> Result<Self, ValidationError> {
        Escalation::from_json_value(to_json(&row)?)
    }
}

/// A stored row as the model's record, when it keeps every rule of the model.
impl TryFrom<KnowledgeDocumentRow> for KnowledgeDocument {
    type Error = ValidationError;

    fn try_from(row: KnowledgeDocumentRow) -> Result<Self, ValidationError> {
        KnowledgeDocument::from_json_value(to_json(&row)?)
    }
}

/// A row as its JSON object, for the model's parser.
fn to_json<T: Serialize>(row: &T) -> Result<Value, ValidationError> {
    serde_json::to_value(row).map_err(|e| ValidationError::new(".", e.to_string()))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn timestamps_read_every_form_postgresql_writes() {
        for (text, expected) in [
            ("infinity", Timestamp::Infinity),
            ("-infinity", Timestamp::NegInfinity),
            (
                "2999-01-01T00:00:00+00:00",
                Timestamp::At("2999-01-01T00:00:00Z".parse().expect("instant")),
            ),
            (
                "200000-01-01T00:00:00+00:00",
                Timestamp::Other("200000-01-01T00:00:00+00:00".into()),
            ),
            (
                "0044-03-15T00:00:00+00:00 BC",
                Timestamp::Other("0044-03-15T00:00:00+00:00 BC".into()),
            ),
        ] {
            let parsed: Timestamp = serde_json::from_value(json!(text)).expect(text);
            assert_eq!(parsed, expected, "{text}");
        }
        assert_eq!(Timestamp::parse("yesterday"), None);
        // PostgreSQL's form, with every field in its range and the calendar's.
        for good in [
            "294276-12-31T23:59:59.999999+00:00",
            "10000-02-29T00:00:00+05:30",
            "4713-01-01T00:00:00-00:01:15 BC",
            "0001-02-29T12:00:00+00 BC",
        ] {
            assert!(
                matches!(Timestamp::parse(good), Some(Timestamp::Other(_))),
                "{good}"
            );
        }
        for bad in [
            "9488-12-22T22:13:04+66:59:45",
            "45063-04-14T08:53:31+72",
            "10001-02-29T00:00:00+00:00",
            "10000-13-01T00:00:00+00:00",
            "10000-04-31T00:00:00+00:00",
            "10000-01-01T24:00:00+00:00",
            "10000-01-01T00:00:00.1234567+00:00",
            "10000-01-01T00:00:00+16:00",
            "294277-01-01T00:00:00+00:00",
            "4715-01-01T00:00:00+00:00 BC",
            "0002-02-29T00:00:00+00:00 BC",
            "2024-01-01T00:00:00+00:00:00",
        ] {
            assert_eq!(Timestamp::parse(bad), None, "{bad}");
        }
        assert_eq!(Timestamp::parse("1' OR '1'='1T00:00:00"), None);
        assert_eq!(
            serde_json::to_value(Timestamp::At(
                "2024-05-01T12:30:00.5Z".parse().expect("instant")
            ))
            .expect("json"),
            json!("2024-05-01T12:30:00.500Z")
        );
        assert_eq!(Timestamp::Infinity.to_string(), "infinity");
    }

    #[test]
    fn floats_keep_nan_and_infinities() {
        for (json, shown) in [
            (json!("NaN"), "NaN"),
            (json!("Infinity"), "Infinity"),
            (json!("-Infinity"), "-Infinity"),
            (json!(42.0), "42"),
            (json!(0.25), "0.25"),
        ] {
            let f: Float = serde_json::from_value(json.clone()).expect("float");
            assert_eq!(f.to_string(), shown);
            assert_eq!(serde_json::to_value(f).expect("json"), json);
        }
        assert!(Float(1.0).is_confidence());
        assert!(!Float(f64::NAN).is_confidence());
        assert!(!Float(42.0).is_confidence());
    }

    #[test]
    fn a_row_the_model_refuses_still_reads() {
        let row: InteractionRow = serde_json::from_value(json!({
            "id": "0190b6a0-0000-7000-8000-000000000001",
            "timestamp": null,
            "assistant_mode": "customer",
            "session_id": "",
            "user_query": " ",
            "intent_name": null,
            "intent_category": null,
            "classification_reason": null,
            "step_1_intent_completed": null,
            "step_2_routing_decision": null,
            "step_3_retrieval_performed": false,
            "step_4_response_generated": false,
            "step_5_confidence_score": "Infinity",
            "step_6_escalation_triggered": false,
            "outcome": "resolved",
            "confidence_score": "NaN",
            "escalation_reason": null,
            "response_text": null,
            "citations": {"not": "a list"},
            "retrieved_chunks_count": -1,
            "processing_time_ms": -5,
            "created_at": "infinity",
        }))
        .expect("tolerant");
        assert_eq!(row.user_query, " ");
        assert!(row.confidence_score.is_some_and(|c| c.0.is_nan()));
        assert_eq!(row.citation_list(), None);
        assert_eq!(row.created_at, Some(Timestamp::Infinity));
        let back = serde_json::to_value(&row).expect("json");
        assert_eq!(back["confidence_score"], json!("NaN"));
        assert_eq!(back["citations"], json!({"not": "a list"}));
    }
}

//! Exporting interactions over PostgreSQL: one query, its rows streamed as the server
//! sends them.
//!
//! Paging an export costs a round trip and an index descent per page; one query costs
//! neither, and the server's own flow control (the socket's buffers) bounds memory. The
//! query runs in a task of its own that reads and decodes rows ahead of the consumer,
//! [`AHEAD`] chunks at most, so that the database's sending, the decoding and the
//! consumer's writing overlap. When the consumer stops reading, the task stops at its
//! next chunk.
//!
//! The columns travel in PostgreSQL's binary form, not as `to_jsonb(i)`: building each
//! row's JSON text cost the server twice what sending its columns does, and was what
//! bounded an export's rate (the client then parsed that text back). The rows decoded
//! here are the same values the JSON path gives ([`crate::row`]), so what is written from
//! them is the same bytes; `tests/export_paths.rs` compares the two on odd rows. The one
//! value binary cannot give as the JSON path does is a timestamp outside the years 1 to
//! 9999, which PostgreSQL writes in a notation of its own: for those rows the query sends
//! that text beside the instant.

use chrono::DateTime;
use futures_util::stream::{self, BoxStream, StreamExt, TryStreamExt};
use serde_json::Value;
use sqlx::postgres::{PgRow, PgTypeInfo, PgValueFormat, PgValueRef};
use sqlx::types::Json;
use sqlx::{Decode, PgPool, Postgres, QueryBuilder, Row, Type};
use tokio::sync::mpsc;
use uuid::Uuid;

use super::push_conditions;
use crate::error::{Error, Result};
use crate::query::InteractionFilter;
use crate::row::{Float, InteractionRow, Timestamp};

/// Rows decoded per message to the consumer.
const CHUNK: usize = 512;
/// Chunks decoded ahead of the consumer.
const AHEAD: usize = 8;
/// Seconds from the Unix epoch to PostgreSQL's (2000-01-01 00:00:00 UTC).
const PG_EPOCH_UNIX: i64 = 946_684_800;

/// The query's select list: the table's columns in its order, each timestamp followed
/// by its `to_jsonb` text when it lies outside the years 1 to 9999 in the session's time
/// zone (the years RFC 3339 writes, hence those the JSON path reads as an instant). The
/// bounds are read in the session's zone, as `to_jsonb` writes, so the two agree.
const COLUMNS: &str = "i.id, i.\"timestamp\", \
     CASE WHEN i.\"timestamp\" < '0001-01-01' OR i.\"timestamp\" >= '10000-01-01' \
     THEN to_jsonb(i.\"timestamp\") #>> '{}' END, \
     i.assistant_mode, i.session_id, i.user_query, i.intent_name, i.intent_category, \
     i.classification_reason, i.step_1_intent_completed, i.step_2_routing_decision, \
     i.step_3_retrieval_performed, i.step_4_response_generated, i.step_5_confidence_score, \
     i.step_6_escalation_triggered, i.outcome, i.confidence_score, i.escalation_reason, \
     i.response_text, i.citations, i.retrieved_chunks_count, i.processing_time_ms, \
     i.created_at, \
     CASE WHEN i.created_at < '0001-01-01' OR i.created_at >= '10000-01-01' \
     THEN to_jsonb(i.created_at) #>> '{}' END";

/// Every interaction matching `filter`, newest first.
pub(super) fn interactions(
    pool: PgPool,
    filter: InteractionFilter,
) -> BoxStream<'static, Result<InteractionRow>> {
    let (sender, receiver) = mpsc::channel(AHEAD);
    tokio::spawn(read_ahead(pool, filter, sender));
    stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|chunk| (chunk, receiver))
    })
    .map_ok(|rows: Vec<InteractionRow>| stream::iter(rows.into_iter().map(Ok)))
    .try_flatten()
    .boxed()
}

/// Runs the query and sends its rows in chunks, then the error that stopped it, if any.
async fn read_ahead(
    pool: PgPool,
    filter: InteractionFilter,
    sender: mpsc::Sender<Result<Vec<InteractionRow>>>,
) {
    let mut sql = QueryBuilder::<Postgres>::new("SELECT ");
    sql.push(COLUMNS)
        .push(" FROM public.interactions i WHERE true");
    push_conditions(&mut sql, &filter.conditions());
    sql.push(" ORDER BY i.\"timestamp\" DESC, i.id DESC");
    let mut rows = sql.build().fetch(&pool);
    let mut chunk = Vec::with_capacity(CHUNK);
    loop {
        let row = match rows.try_next().await {
            Ok(Some(row)) => decode(&row),
            Ok(None) => break,
            Err(e) => Err(e.into()),
        };
        match row {
            Ok(row) => chunk.push(row),
            Err(e) => {
                let _ = sender.send(Err(e)).await;
                return;
            }
        }
        if chunk.len() == CHUNK {
            let full = std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK));
            if sender.send(Ok(full)).await.is_err() {
                return; // Nobody reads any more.
            }
        }
    }
    if !chunk.is_empty() {
        let _ = sender.send(Ok(chunk)).await;
    }
}

/// The row of [`COLUMNS`]; an error names the row and the column, as the JSON path's
/// does.
fn decode(row: &PgRow) -> Result<InteractionRow> {
    let id: Uuid = row.try_get(0).map_err(|e| unreadable("?", "id", &e))?;
    let shown = id.to_string();
    let at = |index: usize, name: &'static str| -> Result<Option<Timestamp>> {
        let instant: Option<Micros> = row
            .try_get(index)
            .map_err(|e| unreadable(&shown, name, &e))?;
        let text: Option<String> = row
            .try_get(index + 1)
            .map_err(|e| unreadable(&shown, name, &e))?;
        match (instant, text) {
            (None, _) => Ok(None),
            (Some(_), Some(text)) => Timestamp::parse(&text)
                .map(Some)
                .ok_or_else(|| unreadable(&shown, name, &format!("{text:?} is not a timestamp"))),
            (Some(Micros(micros)), None) => micros
                .checked_add(PG_EPOCH_UNIX * 1_000_000)
                .and_then(DateTime::from_timestamp_micros)
                .map(|t| Some(Timestamp::At(t)))
                .ok_or_else(|| unreadable(&shown, name, &"the instant is out of range")),
        }
    };
    let text = |index: usize, name: &'static str| -> Result<Option<String>> {
        row.try_get(index).map_err(|e| unreadable(&shown, name, &e))
    };
    let flag = |index: usize, name: &'static str| -> Result<Option<bool>> {
        row.try_get(index).map_err(|e| unreadable(&shown, name, &e))
    };
    let float = |index: usize, name: &'static str| -> Result<Option<Float>> {
        row.try_get::<Option<f64>, _>(index)
            .map(|v| v.map(Float))
            .map_err(|e| unreadable(&shown, name, &e))
    };
    let int = |index: usize, name: &'static str| -> Result<Option<i32>> {
        row.try_get(index).map_err(|e| unreadable(&shown, name, &e))
    };
    let required = |index: usize, name: &'static str| -> Result<String> {
        text(index, name)?.ok_or_else(|| unreadable(&shown, name, &"it is NULL"))
    };
    let citations: Option<Json<Value>> = row
        .try_get(19)
        .map_err(|e| unreadable(&shown, "citations", &e))?;
    Ok(InteractionRow {
        id,
        timestamp: at(1, "timestamp")?,
        assistant_mode: parsed(&shown, required(3, "assistant_mode")?, "assistant_mode")?,
        session_id: text(4, "session_id")?,
        user_query: required(5, "user_query")?,
        intent_name: text(6, "intent_name")?,
        intent_category: text(7, "intent_category")?
            .map(|c| parsed(&shown, c, "intent_category"))
            .transpose()?,
        classification_reason: text(8, "classification_reason")?,
        step_1_intent_completed: flag(9, "step_1_intent_completed")?,
        step_2_routing_decision: text(10, "step_2_routing_decision")?,
        step_3_retrieval_performed: flag(11, "step_3_retrieval_performed")?,
        step_4_response_generated: flag(12, "step_4_response_generated")?,
        step_5_confidence_score: float(13, "step_5_confidence_score")?,
        step_6_escalation_triggered: flag(14, "step_6_escalation_triggered")?,
        outcome: parsed(&shown, required(15, "outcome")?, "outcome")?,
        confidence_score: float(16, "confidence_score")?,
        escalation_reason: text(17, "escalation_reason")?,
        response_text: text(18, "response_text")?,
        citations: citations.map(|Json(value)| value),
        retrieved_chunks_count: int(20, "retrieved_chunks_count")?,
        processing_time_ms: int(21, "processing_time_ms")?,
        created_at: at(22, "created_at")?,
    })
}

/// A column's text as the type it names (one of the model's enums).
fn parsed<T>(id: &str, value: String, column: &str) -> Result<T>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    value.parse().map_err(|e| unreadable(id, column, &e))
}

/// The error of a stored row that cannot be read, worded as the JSON path words it.
fn unreadable(id: &str, column: &str, why: &dyn std::fmt::Display) -> Error {
    Error::Database {
        code: None,
        message: format!(
            "stored row {id} cannot be read at `{column}`: {why} (does `assistant-db verify` pass?)"
        ),
    }
}

/// A `timestamptz` as PostgreSQL sends it: microseconds since 2000-01-01 UTC, the
/// infinities as the extreme values. (sqlx's chrono types refuse the infinities.)
struct Micros(i64);

impl Type<Postgres> for Micros {
    fn type_info() -> PgTypeInfo {
        PgTypeInfo::with_name("timestamptz")
    }
}

impl<'r> Decode<'r, Postgres> for Micros {
    fn decode(value: PgValueRef<'r>) -> std::result::Result<Self, sqlx::error::BoxDynError> {
        if value.format() != PgValueFormat::Binary {
            return Err("a timestamp came as text, not in binary".into());
        }
        let bytes: [u8; 8] = value
            .as_bytes()?
            .try_into()
            .map_err(|_| "a timestamp is not 8 bytes")?;
        Ok(Micros(i64::from_be_bytes(bytes)))
    }
}

//! The direct transport: PostgreSQL over sqlx (`DATABASE_URL`, or the embedded default).

use serde::de::DeserializeOwned;
use serde_json::Value;
use sqlx::types::Json;
use sqlx::{PgPool, Postgres, QueryBuilder};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::metrics::{self, Metrics, MetricsFilter};
use crate::model::{Escalation, Interaction, KnowledgeDocument, ValidationError};
use crate::query::{
    Cursor, InteractionDetail, InteractionFilter, InteractionQuery, Page, Upserted, Written,
};

/// The spec's operations over a PostgreSQL connection pool.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// A store over an open pool (the schema must be migrated).
    pub fn new(pool: PgPool) -> Self {
        PgStore { pool }
    }

    /// The pool, for callers that need plain SQL.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Reads one row of `interactions`, as the spec's wrapper does.
    pub async fn test_connection(&self) -> Result<()> {
        sqlx::query("SELECT id FROM public.interactions LIMIT 1")
            .fetch_optional(&self.pool)
            .await?;
        Ok(())
    }

    /// Writes interactions, then escalations, in one statement; existing ids are skipped.
    pub async fn log(
        &self,
        interactions: &[Interaction],
        escalations: &[Escalation],
    ) -> Result<Written> {
        let counts: Value = sqlx::query_scalar("SELECT public.log_interactions($1, $2)")
            .bind(Json(interactions))
            .bind(Json(escalations))
            .fetch_one(&self.pool)
            .await?;
        written(&counts)
    }

    /// [`log`](Self::log) for rows already encoded as two JSON arrays (the logger's
    /// spool holds them so), sparing a decode and re-encode.
    pub async fn log_json(&self, interactions: &str, escalations: &str) -> Result<Written> {
        let counts: Value =
            sqlx::query_scalar("SELECT public.log_interactions($1::text::jsonb, $2::text::jsonb)")
                .bind(interactions)
                .bind(escalations)
                .fetch_one(&self.pool)
                .await?;
        written(&counts)
    }

    /// Inserts a knowledge document; an existing `openai_file_id` is a [`Error::Duplicate`].
    pub async fn insert_knowledge_document(&self, document: &KnowledgeDocument) -> Result<Uuid> {
        sqlx::query(
            "INSERT INTO public.knowledge_documents (id, openai_file_id, title, source_url, \
                 content_type, topic_collection, ingested_at, metadata) \
             SELECT r.id, r.openai_file_id, r.title, r.source_url, r.content_type, \
                    r.topic_collection, coalesce(r.ingested_at, now()), r.metadata \
             FROM jsonb_populate_record(NULL::public.knowledge_documents, $1) AS r \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(Json(document))
        .execute(&self.pool)
        .await?;
        Ok(document.id)
    }

    /// Inserts or updates documents keyed by `openai_file_id`; returns each stored row's id.
    pub async fn upsert_knowledge_documents(
        &self,
        documents: &[KnowledgeDocument],
    ) -> Result<Vec<Upserted>> {
        let rows: Vec<(Uuid, bool)> =
            sqlx::query_as("SELECT id, inserted FROM public.upsert_knowledge_documents($1)")
                .bind(Json(documents))
                .fetch_all(&self.pool)
                .await?;
        Ok(rows
            .into_iter()
            .map(|(id, inserted)| Upserted { id, inserted })
            .collect())
    }

    /// One page of interactions matching the query, newest first.
    pub async fn interactions(&self, query: &InteractionQuery) -> Result<Page<Interaction>> {
        let limit = query.page_size()?;
        let mut sql = QueryBuilder::<Postgres>::new(
            "SELECT to_jsonb(i) FROM public.interactions i WHERE true",
        );
        push_filter(&mut sql, &query.filter);
        if let Some(after) = &query.after {
            push_after(&mut sql, after);
        }
        sql.push(" ORDER BY i.\"timestamp\" DESC, i.id DESC LIMIT ")
            .push_bind(i64::from(limit) + 1);
        let rows: Vec<Value> = sql.build_query_scalar().fetch_all(&self.pool).await?;
        let mut items = rows
            .into_iter()
            .map(decode_row::<Interaction>)
            .collect::<Result<Vec<_>>>()?;
        let next = if items.len() > limit as usize {
            items.truncate(limit as usize);
            items.last().map(Cursor::of)
        } else {
            None
        };
        Ok(Page { items, next })
    }

    /// Up to `limit` escalations with an id greater than `after`, in id order.
    pub async fn escalations_after(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<Escalation>> {
        self.rows_after("SELECT to_jsonb(r) FROM public.escalations r", after, limit)
            .await
    }

    /// Up to `limit` knowledge documents with an id greater than `after`, in id order.
    pub async fn knowledge_documents_after(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<KnowledgeDocument>> {
        self.rows_after(
            "SELECT to_jsonb(r) FROM public.knowledge_documents r",
            after,
            limit,
        )
        .await
    }

    async fn rows_after<T: DeserializeOwned>(
        &self,
        select: &str,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<T>> {
        let sql = format!("{select} WHERE $1::uuid IS NULL OR r.id > $1 ORDER BY r.id LIMIT $2");
        let rows: Vec<Value> = sqlx::query_scalar(&sql)
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter().map(decode_row).collect()
    }

    /// One interaction with its escalations, or `None` when no row has this id.
    pub async fn interaction(&self, id: Uuid) -> Result<Option<InteractionDetail>> {
        let row: Option<(Value, Value)> = sqlx::query_as(
            "SELECT to_jsonb(i), coalesce((SELECT jsonb_agg(to_jsonb(e) ORDER BY e.created_at, e.id) \
                                          FROM public.escalations e WHERE e.interaction_id = i.id), '[]') \
             FROM public.interactions i WHERE i.id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        let Some((interaction, escalations)) = row else {
            return Ok(None);
        };
        let escalations = match escalations {
            Value::Array(rows) => rows
                .into_iter()
                .map(decode_row)
                .collect::<Result<Vec<_>>>()?,
            _ => Vec::new(),
        };
        Ok(Some(InteractionDetail {
            interaction: decode_row(interaction)?,
            escalations,
        }))
    }

    /// Deletes an interaction (its escalations go with it); true if it existed.
    pub async fn delete_interaction(&self, id: Uuid) -> Result<bool> {
        let done = sqlx::query("DELETE FROM public.interactions WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Dashboard metrics, computed by PostgreSQL.
    pub async fn metrics(&self, filter: &MetricsFilter) -> Result<Metrics> {
        metrics::fetch(&self.pool, filter).await
    }
}

fn push_filter<'a>(sql: &mut QueryBuilder<'a, Postgres>, filter: &'a InteractionFilter) {
    if let Some(mode) = &filter.mode {
        sql.push(" AND i.assistant_mode = ")
            .push_bind(mode.as_str());
    }
    if let Some(outcome) = &filter.outcome {
        sql.push(" AND i.outcome = ").push_bind(outcome.as_str());
    }
    if let Some(intent) = &filter.intent {
        sql.push(" AND i.intent_name = ").push_bind(intent.as_str());
    }
    if let Some(category) = &filter.category {
        sql.push(" AND i.intent_category = ")
            .push_bind(category.as_str());
    }
    if let Some(session) = &filter.session {
        sql.push(" AND i.session_id = ").push_bind(session.as_str());
    }
    if let Some(from) = filter.from {
        sql.push(" AND i.\"timestamp\" >= ").push_bind(from);
    }
    if let Some(to) = filter.to {
        sql.push(" AND i.\"timestamp\" <= ").push_bind(to);
    }
}

/// Rows after `cursor` in `ORDER BY timestamp DESC, id DESC` (NULL timestamps first).
fn push_after(sql: &mut QueryBuilder<'_, Postgres>, cursor: &Cursor) {
    match cursor.timestamp {
        Some(ts) => {
            sql.push(" AND (i.\"timestamp\" < ")
                .push_bind(ts)
                .push(" OR (i.\"timestamp\" = ")
                .push_bind(ts)
                .push(" AND i.id < ")
                .push_bind(cursor.id)
                .push("))");
        }
        None => {
            sql.push(" AND (i.\"timestamp\" IS NOT NULL OR i.id < ")
                .push_bind(cursor.id)
                .push(")");
        }
    }
}

fn written(counts: &Value) -> Result<Written> {
    Ok(Written {
        interactions: count(counts, "interactions")?,
        escalations: count(counts, "escalations")?,
    })
}

fn count(counts: &Value, key: &str) -> Result<u64> {
    counts
        .get(key)
        .and_then(Value::as_u64)
        .ok_or_else(|| Error::Database {
            code: None,
            message: format!("log_interactions returned {counts} without a count of {key}"),
        })
}

/// Parses a row read as `to_jsonb(row)`; a stored value our types refuse names its row.
pub(crate) fn decode_row<T: DeserializeOwned>(row: Value) -> Result<T> {
    let id = row
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or("?")
        .to_owned();
    serde_path_to_error::deserialize(row).map_err(|e| {
        let field = e.path().to_string();
        Error::Validation(ValidationError::new(
            field,
            format!(
                "stored row {id} holds a value this version refuses: {}",
                e.into_inner()
            ),
        ))
    })
}

//! The direct transport: PostgreSQL over sqlx (`DATABASE_URL`, or the embedded default).
//!
//! Rows are read as `to_jsonb(row)`, the same JSON objects PostgREST answers with, so
//! both transports decode them with one set of row types. Interactions of the logger and
//! of an import travel by binary `COPY` ([`copy`]); an export is one streamed query whose
//! columns are read in binary, not as `to_jsonb` ([`export`]), for speed.

mod copy;
mod export;
mod fold;
mod texts;
mod tuple;
mod verify;

use async_trait::async_trait;
use futures_util::stream::BoxStream;
use serde_json::Value;
use sqlx::types::Json;
use sqlx::{PgPool, Postgres, QueryBuilder};
use uuid::Uuid;

use super::{decode, EncodedEntry, Staged, Store, StoredTexts, TextTable, TextWindow};
use crate::error::{Error, Result};
use crate::metrics::{self, Metrics, MetricsFilter};
use crate::model::{Escalation, Interaction, KnowledgeDocument};
use crate::query::{
    Condition, Cursor, InteractionDetail, InteractionFilter, InteractionQuery, Page,
    RecentEscalation, Upserted, Written,
};
use crate::retention::{
    AuditEntry, AuditQuery, DbErasure, ErasureTarget, RetentionPolicy, RetentionPreview,
    RetentionRun, RetentionStep, SpoolCounts, Via,
};
use crate::rollups::{HourRange, RollupCheck};
use crate::row::{EscalationRow, InteractionRow, KnowledgeDocumentRow};
use crate::verify::data::DataReport;
use crate::verify::Report;

/// The spec's operations over a PostgreSQL connection pool.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
    location: String,
    /// The rollups' folds this store runs beside its staged and logged batches.
    folds: std::sync::Arc<fold::Folds>,
}

impl PgStore {
    /// A store over an open pool (the schema must be migrated); `location` names it in
    /// messages, secrets redacted.
    pub fn new(pool: PgPool, location: impl Into<String>) -> Self {
        PgStore {
            pool,
            location: location.into(),
            folds: Default::default(),
        }
    }

    /// The pool, for the test and benchmark harnesses that prepare a database.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Dashboard metrics computed on any connection, or inside a transaction the caller
    /// holds.
    pub async fn metrics_in<'e>(
        executor: impl sqlx::PgExecutor<'e>,
        filter: &MetricsFilter,
    ) -> Result<Metrics> {
        // Migration 010's function: interaction_metrics with a time zone.
        let query =
            sqlx::query_scalar("SELECT public.interaction_metrics_tz($1, $2, $3, $4, $5, $6, $7)")
                .bind(filter.mode.as_ref().map(|m| m.as_str()))
                .bind(filter.from)
                .bind(filter.to)
                .bind(filter.intent.as_deref())
                .bind(filter.category.as_ref().map(|c| c.as_str()))
                .bind(filter.bucket.as_str())
                .bind(filter.tz.name());
        let value: Value = query.fetch_one(executor).await?;
        metrics::decode(value)
    }

    /// Whether the public key (and signed-in users) may read metrics: the
    /// `public_metrics` setting of migration 005, off unless turned on.
    pub async fn public_metrics_enabled<'e>(executor: impl sqlx::PgExecutor<'e>) -> Result<bool> {
        Ok(
            sqlx::query_scalar("SELECT assistant_db.public_metrics_enabled()")
                .fetch_one(executor)
                .await?,
        )
    }

    /// Recomputes the rollups of `range` from the raw rows and compares, in one snapshot
    /// per table (migration 011).
    pub async fn rollups_check<'e>(
        executor: impl sqlx::PgExecutor<'e>,
        range: HourRange,
    ) -> Result<RollupCheck> {
        let answer: Value = sqlx::query_scalar("SELECT public.rollups_check($1, $2)")
            .bind(range.from)
            .bind(range.to)
            .fetch_one(executor)
            .await?;
        decode::answer(answer, "rollups_check")
    }

    /// Replaces the rollups of `range` by what the raw rows give, holding writers (not
    /// readers) until the caller's transaction ends; returns the interactions read.
    pub async fn rollups_rebuild<'e>(
        executor: impl sqlx::PgExecutor<'e>,
        range: HourRange,
    ) -> Result<u64> {
        let rows: i64 = sqlx::query_scalar("SELECT public.rollups_rebuild($1, $2)")
            .bind(range.from)
            .bind(range.to)
            .fetch_one(executor)
            .await?;
        Ok(u64::try_from(rows).unwrap_or(0))
    }

    /// Lets the public key read metrics (whole-hour windows, groups of at least 10 rows), or
    /// stops it; returns the new setting. Needs a direct connection as the database owner:
    /// the setting lives in schema `assistant_db`, which the REST API does not expose.
    pub async fn set_public_metrics<'e>(
        executor: impl sqlx::PgExecutor<'e>,
        enabled: bool,
    ) -> Result<bool> {
        Ok(
            sqlx::query_scalar("SELECT assistant_db.set_public_metrics($1)")
                .bind(enabled)
                .fetch_one(executor)
                .await?,
        )
    }
}

#[async_trait]
impl Store for PgStore {
    fn location(&self) -> String {
        self.location.clone()
    }

    /// Reads one row of `interactions`, as the spec's wrapper does.
    async fn test_connection(&self) -> Result<()> {
        sqlx::query("SELECT id FROM public.interactions LIMIT 1")
            .fetch_optional(&self.pool)
            .await?;
        Ok(())
    }

    async fn log(
        &self,
        interactions: &[Interaction],
        escalations: &[Escalation],
    ) -> Result<Written> {
        let counts: Value = sqlx::query_scalar("SELECT public.log_interactions($1, $2)")
            .bind(Json(interactions))
            .bind(Json(escalations))
            .fetch_one(&self.pool)
            .await?;
        decode::written(&counts)
    }

    /// In one transaction: interactions by binary `COPY` (the spooled JSON is parsed
    /// back into checked records first), escalations through `log_interactions`.
    async fn log_encoded(&self, entries: &[EncodedEntry<'_>]) -> Result<Written> {
        let interactions = entries
            .iter()
            .filter_map(|e| e.interaction)
            .map(|json| Interaction::from_json(json).map_err(Error::from))
            .collect::<Result<Vec<_>>>()?;
        let escalations = entries
            .iter()
            .filter_map(|e| e.escalation)
            .collect::<Vec<_>>()
            .join(",");
        self.log_copy(&interactions, &format!("[{escalations}]"))
            .await
    }

    async fn insert_knowledge_document(&self, document: &KnowledgeDocument) -> Result<Uuid> {
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

    async fn upsert_knowledge_documents(
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

    async fn stage_interactions(&self, rows: Vec<Interaction>) -> Result<Box<dyn Staged>> {
        Ok(Box::new(
            copy::Staging::begin(&self.pool, &self.folds, &rows).await?,
        ))
    }

    async fn idle(&self) {
        self.folds.idle().await;
    }

    async fn interactions(&self, query: &InteractionQuery) -> Result<Page<InteractionRow>> {
        let limit = query.page_size()?;
        let mut sql = QueryBuilder::<Postgres>::new(
            "SELECT to_jsonb(i) FROM public.interactions i WHERE true",
        );
        push_conditions(&mut sql, &query.filter.conditions());
        if let Some(after) = &query.after {
            push_after(&mut sql, after);
        }
        sql.push(" ORDER BY i.\"timestamp\" DESC, i.id DESC LIMIT ")
            .push_bind(i64::from(limit) + 1);
        // A search is planned for its own words each time (an unnamed statement): a
        // plan cached for other words could scan the wrong index.
        let persistent = query.filter.search.is_none();
        let rows: Vec<Value> = sql
            .build_query_scalar()
            .persistent(persistent)
            .fetch_all(&self.pool)
            .await
            .map_err(|e| match query.after {
                Some(_) => Cursor::refused(e.into()),
                None => e.into(),
            })?;
        let rows = rows
            .into_iter()
            .map(decode::row)
            .collect::<Result<Vec<_>>>()?;
        Ok(Page::from_rows(rows, limit as usize))
    }

    /// One query, streamed: no page costs a round trip or a descent of the index.
    fn export_interactions(
        &self,
        filter: InteractionFilter,
    ) -> BoxStream<'_, Result<InteractionRow>> {
        export::interactions(self.pool.clone(), filter)
    }

    /// One statement, so one snapshot of the interaction and its escalations.
    async fn interaction(&self, id: Uuid) -> Result<Option<InteractionDetail>> {
        let row: Option<(Value, Value)> = sqlx::query_as(
            "SELECT to_jsonb(i), coalesce((SELECT jsonb_agg(to_jsonb(e) ORDER BY e.created_at, e.id) \
                                          FROM public.escalations e WHERE e.interaction_id = i.id), '[]') \
             FROM public.interactions i WHERE i.id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|(interaction, escalations)| decode::detail(interaction, escalations))
            .transpose()
    }

    async fn escalations_after(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<EscalationRow>> {
        self.rows_after("public.escalations", after, limit).await
    }

    async fn knowledge_documents_after(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<KnowledgeDocumentRow>> {
        self.rows_after("public.knowledge_documents", after, limit)
            .await
    }

    async fn delete_interaction(&self, id: Uuid) -> Result<bool> {
        let done = sqlx::query("DELETE FROM public.interactions WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn metrics(&self, filter: &MetricsFilter) -> Result<Metrics> {
        Self::metrics_in(&self.pool, filter).await
    }

    async fn recent_escalations(
        &self,
        filter: &MetricsFilter,
        limit: u32,
    ) -> Result<Vec<RecentEscalation>> {
        // Newest first, rows without a timestamp last. The two parts are asked apart: in
        // one `ORDER BY "timestamp" DESC NULLS LAST` PostgreSQL cannot walk the timestamp
        // index (it holds NULLs first in that direction), so it would join and sort every
        // escalation of the window to return ten.
        const ROW: &str = "SELECT jsonb_build_object('interaction_id', i.id, 'timestamp', \
                i.\"timestamp\", 'assistant_mode', i.assistant_mode, 'intent_name', \
                i.intent_name, 'trigger_type', e.trigger_type, 'escalation_reason', \
                e.escalation_reason) AS row, i.\"timestamp\" AS at, e.created_at, e.id \
             FROM public.escalations e JOIN public.interactions i ON i.id = e.interaction_id \
             WHERE ";
        let conditions = filter.conditions();
        let mut sql = QueryBuilder::<Postgres>::new("SELECT t.row FROM ((");
        sql.push(ROW).push("i.\"timestamp\" IS NOT NULL");
        push_conditions(&mut sql, &conditions);
        sql.push(" ORDER BY i.\"timestamp\" DESC, e.created_at DESC, e.id DESC LIMIT ")
            .push_bind(i64::from(limit))
            .push(") UNION ALL (");
        sql.push(ROW).push("i.\"timestamp\" IS NULL");
        push_conditions(&mut sql, &conditions);
        sql.push(" ORDER BY e.created_at DESC, e.id DESC LIMIT ")
            .push_bind(i64::from(limit))
            .push(")) AS t ORDER BY t.at DESC NULLS LAST, t.created_at DESC, t.id DESC LIMIT ")
            .push_bind(i64::from(limit));
        let rows: Vec<Value> = sql.build_query_scalar().fetch_all(&self.pool).await?;
        rows.into_iter().map(decode::row).collect()
    }

    async fn verify(&self) -> Report {
        let mut conn = match self.pool.acquire().await {
            Ok(conn) => conn,
            Err(e) => return Report::unreachable(&e.into()),
        };
        verify::verify(&mut conn)
            .await
            .unwrap_or_else(|e| Report::unreachable(&e))
    }

    async fn data_quality(&self) -> Result<DataReport> {
        let value: Value = sqlx::query_scalar("SELECT public.data_quality_report()")
            .fetch_one(&self.pool)
            .await?;
        DataReport::from_value(value)
    }

    async fn count_texts(&self, table: TextTable, window: &TextWindow) -> Result<Option<u64>> {
        self.count_window(table, window).await.map(Some)
    }

    async fn texts_after(
        &self,
        table: TextTable,
        window: &TextWindow,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<StoredTexts>> {
        self.texts_page(table, window, after, limit).await
    }

    async fn rewrite_texts(&self, table: TextTable, rows: &[StoredTexts]) -> Result<u64> {
        self.rewrite(table, rows).await
    }

    async fn retention_preview(&self, policy: &RetentionPolicy) -> Result<RetentionPreview> {
        let answer: Value = sqlx::query_scalar("SELECT public.retention_preview($1::interval)")
            .bind(policy.interval())
            .fetch_one(&self.pool)
            .await?;
        decode::answer(answer, "retention_preview")
    }

    async fn retention_start(&self, policy: &RetentionPolicy, via: Via) -> Result<RetentionRun> {
        let answer: Value = sqlx::query_scalar("SELECT public.retention_start($1::interval, $2)")
            .bind(policy.interval())
            .bind(via.as_str())
            .fetch_one(&self.pool)
            .await?;
        decode::answer(answer, "retention_start")
    }

    async fn retention_step(&self, run: i64, batch: u32) -> Result<RetentionStep> {
        let answer: Value = sqlx::query_scalar("SELECT public.retention_step($1, $2)")
            .bind(run)
            .bind(i32::try_from(batch).unwrap_or(i32::MAX))
            .fetch_one(&self.pool)
            .await?;
        decode::answer(answer, "retention_step")
    }

    async fn erase(
        &self,
        target: &ErasureTarget,
        spool: Option<SpoolCounts>,
        via: Via,
    ) -> Result<DbErasure> {
        let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        let answer: Value =
            sqlx::query_scalar("SELECT public.erase_customer_data($1, $2, $3, $4, $5)")
                .bind(target.kind())
                .bind(target.id())
                .bind(spool.map(|s| count(s.entries)))
                .bind(spool.map(|s| count(s.dead_letters)))
                .bind(via.as_str())
                .fetch_one(&self.pool)
                .await?;
        decode::answer(answer, "erase_customer_data")
    }

    async fn retention_log(&self, query: &AuditQuery) -> Result<Vec<AuditEntry>> {
        let (session, interaction) = query.ids();
        let answer: Value = sqlx::query_scalar("SELECT public.retention_log($1, $2, $3)")
            .bind(i32::try_from(query.page_size()).unwrap_or(i32::MAX))
            .bind(session)
            .bind(interaction)
            .fetch_one(&self.pool)
            .await?;
        decode::answer(answer, "retention_log")
    }
}

impl PgStore {
    /// Up to `limit` rows of `table` with an id greater than `after`, in id order.
    async fn rows_after<T: serde::de::DeserializeOwned>(
        &self,
        table: &'static str,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<T>> {
        let sql = format!(
            "SELECT to_jsonb(r) FROM {table} r WHERE $1::uuid IS NULL OR r.id > $1 \
             ORDER BY r.id LIMIT $2"
        );
        let rows: Vec<Value> = sqlx::query_scalar(&sql)
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter().map(decode::row).collect()
    }
}

/// Appends each condition as `AND i.<column> …` (alias `i` is `interactions`).
fn push_conditions(sql: &mut QueryBuilder<'_, Postgres>, conditions: &[Condition<'_>]) {
    for condition in conditions {
        match *condition {
            Condition::Eq(column, value) => {
                sql.push(format_args!(" AND i.\"{column}\" = "))
                    .push_bind(value.to_owned());
            }
            Condition::AtOrAfter(column, at) => {
                sql.push(format_args!(" AND i.\"{column}\" >= "))
                    .push_bind(at);
            }
            Condition::AtOrBefore(column, at) => {
                sql.push(format_args!(" AND i.\"{column}\" <= "))
                    .push_bind(at);
            }
            // Written on the columns themselves, so that their trigram indexes apply.
            Condition::Contains(search) => {
                for pattern in search.like_patterns() {
                    sql.push(" AND (i.user_query ILIKE ")
                        .push_bind(pattern.clone())
                        .push(" OR i.response_text ILIKE ")
                        .push_bind(pattern)
                        .push(")");
                }
            }
            Condition::EscalatedBy(trigger) => {
                sql.push(
                    " AND EXISTS (SELECT 1 FROM public.escalations e \
                     WHERE e.interaction_id = i.id AND e.trigger_type = ",
                )
                .push_bind(trigger.to_owned())
                .push(")");
            }
        }
    }
}

/// Rows after `cursor` in `ORDER BY timestamp DESC, id DESC` (NULL timestamps first).
///
/// The cursor's timestamp travels as PostgreSQL's own text and is read back by it, so
/// infinities and years beyond what `chrono` holds page like any other instant.
fn push_after(sql: &mut QueryBuilder<'_, Postgres>, cursor: &Cursor) {
    match &cursor.timestamp {
        Some(ts) => {
            sql.push(" AND (i.\"timestamp\", i.id) < (")
                .push_bind(ts.to_string())
                .push("::timestamptz, ")
                .push_bind(cursor.id)
                .push(")");
        }
        None => {
            sql.push(" AND (i.\"timestamp\" IS NOT NULL OR i.id < ")
                .push_bind(cursor.id)
                .push(")");
        }
    }
}

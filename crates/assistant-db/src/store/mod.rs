//! Transports: the one contract ([`Store`]) every way of reaching the database keeps.
//!
//! A [`Client`](crate::Client) holds one store and never knows which: direct PostgreSQL
//! ([`PgStore`]) or Supabase's REST API ([`RestStore`]). Writes and metrics go through SQL
//! functions created by the migrations (`log_interactions`, `upsert_knowledge_documents`,
//! `interaction_metrics`), so every transport inserts and aggregates in exactly the same
//! way, inside PostgreSQL. What both transports need besides — decoding rows, the next
//! page's cursor, the counts a write returns, the listing's filter as conditions — is
//! written once, here and in [`crate::query`]; what differs (SQL or HTTP, COPY or JSON,
//! SQLSTATEs or PostgREST's error bodies) stays in each transport's module. Nothing
//! outside this module talks SQL or PostgREST.

mod decode;
mod postgres;
pub mod rest;
mod texts;

use std::fmt;

use async_trait::async_trait;
use futures_util::stream::{self, BoxStream, StreamExt, TryStreamExt};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::metrics::{Metrics, MetricsFilter};
use crate::model::{Escalation, Interaction, KnowledgeDocument};
use crate::query::{
    InteractionDetail, InteractionFilter, InteractionQuery, Page, RecentEscalation, Upserted,
    Written, MAX_PAGE_SIZE,
};
use crate::retention::{
    AuditEntry, AuditQuery, DbErasure, ErasureTarget, RetentionPolicy, RetentionPreview,
    RetentionRun, RetentionStep, SpoolCounts, Via,
};
use crate::row::{EscalationRow, InteractionRow, KnowledgeDocumentRow};
use crate::verify::data::DataReport;
use crate::verify::Report;

pub use postgres::PgStore;
pub use rest::{KeyRole, RestOptions, RestStore};
pub use texts::{StoredTexts, TextTable, TextWindow};

/// One entry of the logger's spool, as the spec's JSON dicts: an interaction, its
/// escalation, or both. Written together, atomically.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EncodedEntry<'a> {
    /// The interaction, as its JSON object.
    pub interaction: Option<&'a str>,
    /// The escalation, as its JSON object.
    pub escalation: Option<&'a str>,
}

/// The spec's operations on the assistant's tables, whichever transport carries them.
///
/// Every write is idempotent by id (a row whose id is stored is skipped) and atomic per
/// call unless a method says otherwise; every read returns rows as the schema allows them
/// ([`crate::row`]), whoever wrote them.
#[async_trait]
pub trait Store: fmt::Debug + Send + Sync {
    /// Where the store points, secrets redacted.
    fn location(&self) -> String;

    /// Checks that the database answers and has the schema (over REST: that the API
    /// answers, accepts the key and has the migrations' functions).
    async fn test_connection(&self) -> Result<()>;

    /// Writes interactions, then escalations; existing ids are skipped.
    async fn log(
        &self,
        interactions: &[Interaction],
        escalations: &[Escalation],
    ) -> Result<Written>;

    /// Writes the logger's spooled entries, in order: an entry's escalation travels with
    /// its interaction, an escalation of an earlier entry is written with or after it.
    async fn log_encoded(&self, entries: &[EncodedEntry<'_>]) -> Result<Written>;

    /// Registers a knowledge document; an `openai_file_id` already registered is an
    /// [`Error::Duplicate`](crate::Error::Duplicate), the same id again a no-op.
    async fn insert_knowledge_document(&self, document: &KnowledgeDocument) -> Result<Uuid>;

    /// Registers or updates documents keyed by `openai_file_id`, in the order given.
    async fn upsert_knowledge_documents(
        &self,
        documents: &[KnowledgeDocument],
    ) -> Result<Vec<Upserted>>;

    /// Starts writing interactions without committing: the bulk path of an import, which
    /// keeps several batches in flight and commits them in input order.
    async fn stage_interactions(&self, rows: Vec<Interaction>) -> Result<Box<dyn Staged>>;

    /// Waits until the work this store runs beside its writes has ended (over PostgreSQL:
    /// the rollups' folds after the batches that had the turn), so that a program can
    /// exit without cutting it off. A store that runs nothing beside its writes returns
    /// at once.
    async fn idle(&self) {}

    /// One page of interactions matching the query, newest first.
    async fn interactions(&self, query: &InteractionQuery) -> Result<Page<InteractionRow>>;

    /// Every interaction matching `filter`, newest first, as a stream: by default page
    /// after page of [`interactions`](Self::interactions) (each page costs the same
    /// wherever it starts, see migration 009); a transport that can send them all in one
    /// go does.
    fn export_interactions(
        &self,
        filter: InteractionFilter,
    ) -> BoxStream<'_, Result<InteractionRow>> {
        page_by_page(self, filter)
    }

    /// One interaction with its escalations, or `None` when no row has this id.
    async fn interaction(&self, id: Uuid) -> Result<Option<InteractionDetail>>;

    /// Up to `limit` escalations with an id greater than `after`, in id order.
    async fn escalations_after(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<EscalationRow>>;

    /// Up to `limit` knowledge documents with an id greater than `after`, in id order.
    async fn knowledge_documents_after(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<KnowledgeDocumentRow>>;

    /// Deletes an interaction (its escalations go with it); true if it existed.
    async fn delete_interaction(&self, id: Uuid) -> Result<bool>;

    /// Dashboard metrics, computed by `interaction_metrics()`.
    async fn metrics(&self, filter: &MetricsFilter) -> Result<Metrics>;

    /// The latest `limit` escalations of interactions passing `filter`, newest first.
    async fn recent_escalations(
        &self,
        filter: &MetricsFilter,
        limit: u32,
    ) -> Result<Vec<RecentEscalation>>;

    /// The validation checklist, as far as this transport can see.
    async fn verify(&self) -> Report;

    /// How many stored rows break each rule of the model (`data_quality_report()`).
    async fn data_quality(&self) -> Result<DataReport>;

    /// How many rows of `table` lie in `window`; `None` when the transport cannot count
    /// them without fetching them.
    async fn count_texts(&self, table: TextTable, window: &TextWindow) -> Result<Option<u64>>;

    /// Up to `limit` rows of `table` in `window` with an id greater than `after`, in id
    /// order: their ids and free text.
    async fn texts_after(
        &self,
        table: TextTable,
        window: &TextWindow,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<StoredTexts>>;

    /// Sets the free-text columns of the given rows (a `None` column is left as it is)
    /// and nothing else; how many of the rows were found. Writers' triggers fire as for
    /// any update.
    async fn rewrite_texts(&self, table: TextTable, rows: &[StoredTexts]) -> Result<u64>;

    /// What a retention run with this policy would delete now (`retention_preview`).
    async fn retention_preview(&self, policy: &RetentionPolicy) -> Result<RetentionPreview>;

    /// Opens a retention run, fixing its cutoff and recording it in the trail
    /// (`retention_start`).
    async fn retention_start(&self, policy: &RetentionPolicy, via: Via) -> Result<RetentionRun>;

    /// Deletes one batch of a run in its own transaction (`retention_step`).
    async fn retention_step(&self, run: i64, batch: u32) -> Result<RetentionStep>;

    /// Deletes a session's or an interaction's rows and records the erasure with the
    /// spool counts given (`erase_customer_data`).
    async fn erase(
        &self,
        target: &ErasureTarget,
        spool: Option<SpoolCounts>,
        via: Via,
    ) -> Result<DbErasure>;

    /// Entries of the retention and erasure trail, newest first (`retention_log`).
    async fn retention_log(&self, query: &AuditQuery) -> Result<Vec<AuditEntry>>;
}

/// Every interaction matching `filter`, newest first, fetched [`MAX_PAGE_SIZE`] rows at
/// a time through [`Store::interactions`].
fn page_by_page<S: Store + ?Sized>(
    store: &S,
    filter: InteractionFilter,
) -> BoxStream<'_, Result<InteractionRow>> {
    let first = InteractionQuery {
        filter,
        limit: Some(MAX_PAGE_SIZE),
        after: None,
    };
    stream::try_unfold(Some(first), move |query| async move {
        let Some(query) = query else { return Ok(None) };
        let page = store.interactions(&query).await?;
        let next = page.next.map(|after| InteractionQuery {
            after: Some(after),
            ..query
        });
        Ok::<_, Error>(Some((stream::iter(page.items.into_iter().map(Ok)), next)))
    })
    .try_flatten()
    .boxed()
}

/// A write begun by [`Store::stage_interactions`], waiting to be committed.
#[async_trait]
pub trait Staged: Send {
    /// Commits the write; how many rows were new.
    async fn commit(self: Box<Self>) -> Result<u64>;

    /// Abandons the write; nothing of it is stored.
    async fn rollback(self: Box<Self>);
}

//! The typed client: the spec's `SupabaseClient`, over whichever transport is configured.
//!
//! Unlike the spec's wrapper, every operation returns a typed [`Error`] instead of
//! `None`, writes are idempotent by client-generated id, and metrics are computed by
//! PostgreSQL rather than by fetching rows.
//!
//! Over Supabase's REST API the key decides what is allowed: the public (anon) key may
//! log and read metrics, nothing else (row-level security, migration 004); every other
//! operation then fails with [`Error::PermissionDenied`] saying it needs the secret
//! (service_role) key.
//!
//! Every write of interactions and escalations redacts their free text first, with the
//! client's [`Redactor`] (from [`Config`], else every kind masked): the one place that
//! decides, for the client's callers and for the [`Logger`](crate::logger::Logger) built
//! on it. Only [`Client::log_encoded`], the logger's delivery of records it redacted
//! before spooling them, sends text as given.

use std::borrow::Cow;
use std::sync::{Arc, LazyLock};

use futures_util::stream::{self, BoxStream, StreamExt, TryStreamExt};
use tokio::sync::OnceCell;
use uuid::Uuid;

use crate::config::{Config, Target};
use crate::connect::{connect, Prepare};
use crate::error::{Error, Result};
use crate::metrics::{Metrics, MetricsFilter};
use crate::model::{Escalation, Interaction, KnowledgeDocument, ValidationError};
use crate::query::{
    Cursor, DocumentPage, InteractionDetail, InteractionFilter, InteractionQuery, Page,
    RecentEscalation, SessionTurns, Upserted, Written, MAX_PAGE_SIZE, MAX_SESSION_TURNS,
};
use crate::redact::backfill::{self, BackfillOptions, BackfillProgress, BackfillReport};
use crate::redact::{Counts, RedactionConfig, Redactor, SharedCounts};
use crate::retention::{
    AuditEntry, AuditQuery, DbErasure, ErasureTarget, RetentionPolicy, RetentionPreview,
    RetentionRun, RetentionStep, RetentionSummary, SpoolCounts, Via, MAX_BATCH,
};
use crate::row::{EscalationRow, InteractionRow, KnowledgeDocumentRow};
use crate::store::{EncodedEntry, PgStore, RestOptions, RestStore, Staged, Store};
use crate::verify::data::DataReport;
use crate::verify::Report;

/// Rows fetched per round trip when exporting.
const EXPORT_PAGE: u32 = MAX_PAGE_SIZE;

/// The assistant's database client; cheap to clone (clones share one store and its
/// connection pool, one redactor and its counts).
#[derive(Debug, Clone)]
pub struct Client {
    store: Arc<dyn Store>,
    redaction: Arc<Redaction>,
}

/// The redactor a client's writes go through, and what it redacted.
#[derive(Debug)]
struct Redaction {
    redactor: Arc<Redactor>,
    counts: SharedCounts,
}

static SHARED: OnceCell<Client> = OnceCell::const_new();

/// The default engine, every kind masked, built once per process.
static MASK_ALL: LazyLock<Arc<Redactor>> = LazyLock::new(|| {
    Arc::new(Redactor::new(&RedactionConfig::new()).expect("the default settings are valid"))
});

impl Client {
    /// Connects as the environment and `.env` say, starting the embedded default if
    /// nothing is configured.
    pub async fn from_env() -> Result<Self> {
        Self::connect(&Config::from_env()?).await
    }

    /// Connects as `config` says: `DATABASE_URL` directly, else Supabase's REST API
    /// (`SUPABASE_URL` + `SUPABASE_KEY`), else the embedded default, migrated on connect.
    ///
    /// Writes redact free text as `config.redaction` says.
    pub async fn connect(config: &Config) -> Result<Self> {
        // A wrong redaction setting fails before anything is connected or written.
        let redactor = config.redactor()?;
        let client = if let Target::Rest { rest_url, key, .. } = config.target()? {
            Self::rest(&rest_url, key)?
        } else {
            let db = connect(config, Prepare::MigrateLocal).await?;
            Self::new(PgStore::new(db.pool, db.location))
        };
        Ok(client.with_redactor(redactor))
    }

    /// A client over any store; its writes mask every kind of PII
    /// ([`with_redactor`](Self::with_redactor) to choose).
    pub fn new(store: impl Store + 'static) -> Self {
        Client {
            store: Arc::new(store),
            redaction: Arc::new(Redaction {
                redactor: Arc::clone(&MASK_ALL),
                counts: SharedCounts::default(),
            }),
        }
    }

    /// This client with its writes redacted by `redactor` (its counts start at zero).
    pub fn with_redactor(self, redactor: Redactor) -> Self {
        Client {
            store: self.store,
            redaction: Arc::new(Redaction {
                redactor: Arc::new(redactor),
                counts: SharedCounts::default(),
            }),
        }
    }

    /// The engine every write of this client goes through.
    pub fn redactor(&self) -> &Redactor {
        &self.redaction.redactor
    }

    /// Values redacted by this client's writes (all its clones') that the database
    /// acknowledged, per kind.
    pub fn redactions(&self) -> Counts {
        self.redaction.counts.get()
    }

    /// A client over an existing pool on a migrated database.
    pub fn from_pool(pool: sqlx::PgPool) -> Self {
        Self::new(PgStore::new(pool, "PostgreSQL (given pool)"))
    }

    /// A client over the REST API at `rest_url` (`https://<project>.supabase.co/rest/v1`,
    /// or a plain PostgREST's root), with the default timeouts and retries.
    ///
    /// Nothing is sent yet; [`test_connection`](Self::test_connection) checks the URL and
    /// the key.
    pub fn rest(rest_url: &str, key: crate::config::Secret) -> Result<Self> {
        Ok(Self::new(RestStore::new(
            rest_url,
            key,
            RestOptions::default(),
        )?))
    }

    /// A client over a configured REST store.
    pub fn from_rest(store: RestStore) -> Self {
        Self::new(store)
    }

    /// The process-wide client, connected from the environment on first use (the spec's
    /// `get_db_client()`). Its pool belongs to the Tokio runtime that first called this.
    pub async fn shared() -> Result<&'static Client> {
        SHARED.get_or_try_init(Self::from_env).await
    }

    /// Where this client points, secrets redacted.
    pub fn location(&self) -> String {
        self.store.location()
    }

    /// Checks that the database answers and the schema is there (over REST: that the API
    /// answers, accepts the key and has the migrations' functions).
    pub async fn test_connection(&self) -> Result<()> {
        self.store.test_connection().await
    }

    /// Waits until the work the store runs beside its writes has ended (the rollups'
    /// folds after the batches that had the turn): a program that has written its last
    /// batch calls it before it exits.
    pub async fn idle(&self) {
        self.store.idle().await;
    }

    /// Writes one interaction, its free text redacted; returns its id. Writing the same
    /// id again is a no-op.
    pub async fn insert_interaction(&self, interaction: &Interaction) -> Result<Uuid> {
        self.log(std::slice::from_ref(interaction), &[]).await?;
        Ok(interaction.id)
    }

    /// Writes many interactions in one atomic statement, their free text redacted;
    /// existing ids are skipped.
    pub async fn insert_interactions(&self, interactions: &[Interaction]) -> Result<Written> {
        self.log(interactions, &[]).await
    }

    /// Writes one escalation, its reason redacted; returns its id. Its interaction must
    /// exist.
    pub async fn insert_escalation(&self, escalation: &Escalation) -> Result<Uuid> {
        self.log(&[], std::slice::from_ref(escalation)).await?;
        Ok(escalation.id)
    }

    /// Writes many escalations in one atomic statement, their reasons redacted; existing
    /// ids are skipped.
    pub async fn insert_escalations(&self, escalations: &[Escalation]) -> Result<Written> {
        self.log(&[], escalations).await
    }

    /// Writes interactions and their escalations together, their free text redacted:
    /// all or nothing.
    pub async fn log(
        &self,
        interactions: &[Interaction],
        escalations: &[Escalation],
    ) -> Result<Written> {
        let redactor = self.redactor();
        let mut counts = Counts::default();
        let interactions = redacted(interactions, &mut counts, |row, counts| {
            redactor.redacted_interaction(row, counts)
        });
        let escalations = redacted(escalations, &mut counts, |row, counts| {
            redactor.redacted_escalation(row, counts)
        });
        let written = self.store.log(&interactions, &escalations).await?;
        self.redaction.counts.add(&counts);
        Ok(written)
    }

    /// Writes the logger's spooled entries (see [`Store::log_encoded`]) as they are:
    /// the [`Logger`](crate::logger::Logger) redacted them before it spooled them, so
    /// this is the one write that does not redact again.
    pub async fn log_encoded(&self, entries: &[EncodedEntry<'_>]) -> Result<Written> {
        self.store.log_encoded(entries).await
    }

    /// Writes an escalated interaction and its escalation atomically; returns both ids.
    ///
    /// The escalation's `interaction_id` is set to the interaction's id; a different one
    /// already set is refused.
    pub async fn log_escalated_interaction(
        &self,
        interaction: &Interaction,
        escalation: &Escalation,
    ) -> Result<(Uuid, Uuid)> {
        let escalation = attach(interaction, escalation)?;
        self.log(
            std::slice::from_ref(interaction),
            std::slice::from_ref(&escalation),
        )
        .await?;
        Ok((interaction.id, escalation.id))
    }

    /// Registers a knowledge document; an `openai_file_id` already registered is an
    /// [`Error::Duplicate`] (use [`upsert_knowledge_document`](Self::upsert_knowledge_document)
    /// for ingestion re-runs).
    pub async fn insert_knowledge_document(&self, document: &KnowledgeDocument) -> Result<Uuid> {
        self.store.insert_knowledge_document(document).await
    }

    /// Registers or updates a document by `openai_file_id`; returns the stored row's id.
    pub async fn upsert_knowledge_document(&self, document: &KnowledgeDocument) -> Result<Uuid> {
        let rows = self
            .upsert_knowledge_documents(std::slice::from_ref(document))
            .await?;
        rows.into_iter()
            .next()
            .map(|row| row.id)
            .ok_or_else(|| Error::Database {
                code: None,
                message: "upsert_knowledge_documents returned no id".into(),
            })
    }

    /// Registers or updates many documents by `openai_file_id`, atomically.
    pub async fn upsert_knowledge_documents(
        &self,
        documents: &[KnowledgeDocument],
    ) -> Result<Vec<Upserted>> {
        self.store.upsert_knowledge_documents(documents).await
    }

    /// Begins a write of interactions, their free text redacted, that [`Staged::commit`]
    /// finishes (the bulk path).
    pub async fn stage_interactions(&self, mut rows: Vec<Interaction>) -> Result<Box<dyn Staged>> {
        let mut counts = Counts::default();
        if !self.redactor().is_off() {
            for row in &mut rows {
                counts += self.redactor().redact_interaction(row);
            }
        }
        let staged = self.store.stage_interactions(rows).await?;
        Ok(Box::new(CountedStaging {
            staged,
            counts,
            redaction: Arc::clone(&self.redaction),
        }))
    }

    /// Redacts the free text already stored in interactions and escalations (rows
    /// written before redaction was on, or by writers that bypass the library), in
    /// batches by id, calling `progress` after each; see [`backfill`].
    ///
    /// Over REST it needs the secret key (rows are read and updated through the tables).
    pub async fn redact_stored(
        &self,
        options: &BackfillOptions,
        progress: impl FnMut(&BackfillProgress) + Send,
    ) -> Result<BackfillReport> {
        backfill::run(&*self.store, self.redactor(), options, progress).await
    }

    /// One page of interactions, newest first; pass `next` back as `after` to continue.
    pub async fn interactions(&self, query: &InteractionQuery) -> Result<Page<InteractionRow>> {
        self.store.interactions(query).await
    }

    /// One interaction with its escalations; `None` when there is no such row.
    pub async fn interaction(&self, id: Uuid) -> Result<Option<InteractionDetail>> {
        self.store.interaction(id).await
    }

    /// Every turn of the conversation `session_id`, oldest first; an empty list when no
    /// interaction has it. A session of more than [`MAX_SESSION_TURNS`] turns gives its
    /// latest ones, marked `truncated`.
    pub async fn session(&self, session_id: &str) -> Result<SessionTurns> {
        let filter = InteractionFilter {
            session: Some(session_id.to_owned()),
            ..InteractionFilter::default()
        };
        let mut rows = self.export_interactions(filter);
        let mut turns = Vec::new();
        let mut truncated = false;
        while let Some(row) = rows.try_next().await? {
            if turns.len() == MAX_SESSION_TURNS {
                truncated = true;
                break;
            }
            turns.push(row);
        }
        turns.reverse();
        Ok(SessionTurns {
            session_id: session_id.to_owned(),
            turns,
            truncated,
        })
    }

    /// Up to `limit` knowledge documents (1 to [`MAX_PAGE_SIZE`]) with an id greater than
    /// `after`, in id order, and the id to pass as `after` for the next page.
    pub async fn knowledge_documents(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<DocumentPage> {
        if !(1..=MAX_PAGE_SIZE).contains(&limit) {
            return Err(ValidationError::new(
                "limit",
                format!("must be between 1 and {MAX_PAGE_SIZE} (got {limit})"),
            )
            .into());
        }
        // One row more than the page tells whether another page follows.
        let mut items = self
            .store
            .knowledge_documents_after(after, limit + 1)
            .await?;
        let next = if items.len() > limit as usize {
            items.truncate(limit as usize);
            items.last().map(|d| d.id)
        } else {
            None
        };
        Ok(DocumentPage { items, next })
    }

    /// Deletes an interaction and, by cascade, its escalations; true if it existed.
    pub async fn delete_interaction(&self, id: Uuid) -> Result<bool> {
        self.store.delete_interaction(id).await
    }

    /// Dashboard metrics, computed by PostgreSQL.
    pub async fn metrics(&self, filter: &MetricsFilter) -> Result<Metrics> {
        self.store.metrics(filter).await
    }

    /// The latest escalations of interactions passing `filter`, newest first.
    pub async fn recent_escalations(
        &self,
        filter: &MetricsFilter,
        limit: u32,
    ) -> Result<Vec<RecentEscalation>> {
        self.store.recent_escalations(filter, limit).await
    }

    /// The validation checklist, as far as the transport can see.
    pub async fn verify(&self) -> Report {
        self.store.verify().await
    }

    /// How many stored rows break each rule of the model; see [`DataReport::passed`].
    pub async fn data_quality(&self) -> Result<DataReport> {
        self.store.data_quality().await
    }

    /// What a retention run with `policy` would delete now; deletes nothing.
    pub async fn retention_preview(&self, policy: &RetentionPolicy) -> Result<RetentionPreview> {
        self.store.retention_preview(policy).await
    }

    /// Opens a retention run (see [`run_retention`](Self::run_retention), which also
    /// drives it).
    pub async fn retention_start(
        &self,
        policy: &RetentionPolicy,
        via: Via,
    ) -> Result<RetentionRun> {
        self.store.retention_start(policy, via).await
    }

    /// Deletes one batch of an open run, in its own transaction.
    pub async fn retention_step(&self, run: i64, batch: u32) -> Result<RetentionStep> {
        self.store.retention_step(run, batch).await
    }

    /// Deletes every interaction older than `policy` (with its escalations), `batch`
    /// rows per transaction, so that writers are never held for more than one short
    /// batch; calls `progress` after each batch with the run and the totals so far.
    ///
    /// Interrupted (an error, a killed process), it has deleted whole batches only, and
    /// the trail shows the run unfinished with its counts: running it again finishes
    /// the job. Rows other transactions held locked are left for the next run.
    pub async fn run_retention(
        &self,
        policy: &RetentionPolicy,
        batch: u32,
        via: Via,
        mut progress: impl FnMut(&RetentionRun, &RetentionStep),
    ) -> Result<RetentionSummary> {
        if !(1..=MAX_BATCH).contains(&batch) {
            return Err(ValidationError::new(
                "batch",
                format!("must be between 1 and {MAX_BATCH} (got {batch})"),
            )
            .into());
        }
        let started_at = chrono::Utc::now();
        let run = self.store.retention_start(policy, via).await?;
        let mut total = RetentionStep::default();
        let mut batches = 0;
        while !total.done {
            let step = self.store.retention_step(run.run, batch).await?;
            batches += 1;
            total = RetentionStep {
                interactions: total.interactions + step.interactions,
                escalations: total.escalations + step.escalations,
                done: step.done,
            };
            progress(&run, &total);
        }
        Ok(RetentionSummary {
            run: run.run,
            policy: policy.to_string(),
            cutoff: run.cutoff,
            interactions: total.interactions,
            escalations: total.escalations,
            batches,
            started_at,
            finished_at: chrono::Utc::now(),
        })
    }

    /// Deletes the interactions of a session (or one interaction) and their escalations
    /// in the database, and records the erasure in the trail with `spool`, what the caller
    /// removed from this host's spools first. See [`crate::logger::erase`] for the whole
    /// erasure, spools included.
    pub async fn erase(
        &self,
        target: &ErasureTarget,
        spool: Option<SpoolCounts>,
        via: Via,
    ) -> Result<DbErasure> {
        self.store.erase(target, spool, via).await
    }

    /// Entries of the retention and erasure trail, newest first.
    pub async fn retention_log(&self, query: &AuditQuery) -> Result<Vec<AuditEntry>> {
        if !(1..=1000).contains(&query.page_size()) {
            return Err(ValidationError::new(
                "limit",
                format!("must be between 1 and 1000 (got {})", query.page_size()),
            )
            .into());
        }
        self.store.retention_log(query).await
    }

    /// Every matching interaction, newest first, streamed: over PostgreSQL as one query
    /// whose rows arrive as they are read, over REST a page at a time.
    pub fn export_interactions(
        &self,
        filter: InteractionFilter,
    ) -> BoxStream<'_, Result<InteractionRow>> {
        self.store.export_interactions(filter)
    }

    /// Every matching interaction, newest first, fetched a page at a time. The stream
    /// holds its own clone of the client, so it may outlive this borrow (a response
    /// body streamed by a server).
    pub fn export_interactions_owned(
        &self,
        filter: InteractionFilter,
    ) -> BoxStream<'static, Result<InteractionRow>> {
        let first = InteractionQuery {
            filter,
            limit: Some(EXPORT_PAGE),
            after: None,
        };
        let client = self.clone();
        stream::try_unfold(Some(first), move |query| {
            let client = client.clone();
            async move {
                let Some(query) = query else { return Ok(None) };
                let page = client.interactions(&query).await?;
                let next = page.next.map(|after: Cursor| InteractionQuery {
                    after: Some(after),
                    ..query
                });
                Ok::<_, Error>(Some((stream::iter(page.items.into_iter().map(Ok)), next)))
            }
        })
        .try_flatten()
        .boxed()
    }

    /// Every escalation, in id order, fetched a page at a time.
    pub fn export_escalations(&self) -> BoxStream<'_, Result<EscalationRow>> {
        paged(
            move |after| async move { self.store.escalations_after(after, EXPORT_PAGE).await },
            |e: &EscalationRow| e.id,
        )
    }

    /// Every knowledge document, in id order, fetched a page at a time.
    pub fn export_knowledge_documents(&self) -> BoxStream<'_, Result<KnowledgeDocumentRow>> {
        paged(
            move |after| async move {
                self.store
                    .knowledge_documents_after(after, EXPORT_PAGE)
                    .await
            },
            |d: &KnowledgeDocumentRow| d.id,
        )
    }
}

/// Streams rows from a fetcher of "up to N rows after this id", until a short page.
fn paged<'a, T, F, Fut>(fetch: F, id_of: fn(&T) -> Uuid) -> BoxStream<'a, Result<T>>
where
    T: Send + 'a,
    F: Fn(Option<Uuid>) -> Fut + Send + 'a,
    Fut: std::future::Future<Output = Result<Vec<T>>> + Send + 'a,
{
    stream::try_unfold((Some(None), fetch), move |(after, fetch)| async move {
        let Some(after) = after else { return Ok(None) };
        let rows = fetch(after).await?;
        let next = if rows.len() < EXPORT_PAGE as usize {
            None
        } else {
            rows.last().map(|row| Some(id_of(row)))
        };
        Ok::<_, Error>(Some((
            stream::iter(rows.into_iter().map(Ok)),
            (next, fetch),
        )))
    })
    .try_flatten()
    .boxed()
}

/// `rows` with `redact` applied; borrowed when no row changed, so clean batches are
/// never copied.
fn redacted<'a, T: Clone>(
    rows: &'a [T],
    counts: &mut Counts,
    redact: impl Fn(&T, &mut Counts) -> Option<T>,
) -> Cow<'a, [T]> {
    let mut copy: Option<Vec<T>> = None;
    for (i, row) in rows.iter().enumerate() {
        match (redact(row, counts), &mut copy) {
            (Some(changed), Some(copy)) => copy.push(changed),
            (Some(changed), None) => {
                let mut rows_so_far = Vec::with_capacity(rows.len());
                rows_so_far.extend_from_slice(&rows[..i]);
                rows_so_far.push(changed);
                copy = Some(rows_so_far);
            }
            (None, Some(copy)) => copy.push(row.clone()),
            (None, None) => {}
        }
    }
    copy.map_or(Cow::Borrowed(rows), Cow::Owned)
}

/// A staged write that counts its redactions once it is committed.
struct CountedStaging {
    staged: Box<dyn Staged>,
    counts: Counts,
    redaction: Arc<Redaction>,
}

#[async_trait::async_trait]
impl Staged for CountedStaging {
    async fn commit(self: Box<Self>) -> Result<u64> {
        let inserted = self.staged.commit().await?;
        self.redaction.counts.add(&self.counts);
        Ok(inserted)
    }

    async fn rollback(self: Box<Self>) {
        self.staged.rollback().await;
    }
}

/// The escalation, pointed at `interaction`.
fn attach(interaction: &Interaction, escalation: &Escalation) -> Result<Escalation> {
    match escalation.interaction_id {
        Some(id) if id != interaction.id => Err(ValidationError::new(
            "interaction_id",
            format!(
                "must be the id of the interaction logged with it ({})",
                interaction.id
            ),
        )
        .into()),
        _ => Ok(Escalation {
            interaction_id: Some(interaction.id),
            ..escalation.clone()
        }),
    }
}

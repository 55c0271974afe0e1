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

use futures_util::stream::{self, BoxStream, StreamExt, TryStreamExt};
use tokio::sync::OnceCell;
use uuid::Uuid;

use crate::config::{Config, Target};
use crate::connect::{connect, Prepare};
use crate::error::{Error, Result};
use crate::metrics::{Metrics, MetricsFilter};
use crate::model::{Escalation, Interaction, KnowledgeDocument, ValidationError};
use crate::query::Upserted;
use crate::query::{
    Cursor, InteractionDetail, InteractionFilter, InteractionQuery, Page, Written, MAX_PAGE_SIZE,
};
use crate::store::{Backend, PgStore, RestOptions, RestStore};

/// Rows fetched per round trip when exporting.
const EXPORT_PAGE: u32 = MAX_PAGE_SIZE;

/// The assistant's database client; cheap to clone (it shares one connection pool).
#[derive(Debug, Clone)]
pub struct Client {
    backend: Backend,
    location: String,
}

/// Runs `$body` with `$store` bound to whichever transport the client holds.
macro_rules! on_store {
    ($client:expr, $store:ident => $body:expr) => {
        match &$client.backend {
            Backend::Postgres($store) => $body,
            Backend::Rest($store) => $body,
        }
    };
}

static SHARED: OnceCell<Client> = OnceCell::const_new();

impl Client {
    /// Connects as the environment and `.env` say, starting the embedded default if
    /// nothing is configured.
    pub async fn from_env() -> Result<Self> {
        Self::connect(&Config::from_env()?).await
    }

    /// Connects as `config` says: `DATABASE_URL` directly, else Supabase's REST API
    /// (`SUPABASE_URL` + `SUPABASE_KEY`), else the embedded default, migrated on connect.
    pub async fn connect(config: &Config) -> Result<Self> {
        if let Target::Rest { rest_url, key, .. } = config.target()? {
            return Self::rest(&rest_url, key);
        }
        let db = connect(config, Prepare::MigrateLocal).await?;
        Ok(Client {
            backend: Backend::Postgres(PgStore::new(db.pool)),
            location: db.location,
        })
    }

    /// A client over an existing pool on a migrated database.
    pub fn from_pool(pool: sqlx::PgPool) -> Self {
        Client {
            backend: Backend::Postgres(PgStore::new(pool)),
            location: "PostgreSQL (given pool)".into(),
        }
    }

    /// A client over the REST API at `rest_url` (`https://<project>.supabase.co/rest/v1`,
    /// or a plain PostgREST's root), with the default timeouts and retries.
    ///
    /// Nothing is sent yet; [`test_connection`](Self::test_connection) checks the URL and
    /// the key.
    pub fn rest(rest_url: &str, key: crate::config::Secret) -> Result<Self> {
        Ok(Self::from_rest(RestStore::new(
            rest_url,
            key,
            RestOptions::default(),
        )?))
    }

    /// A client over a configured REST store.
    pub fn from_rest(store: RestStore) -> Self {
        Client {
            location: store.location(),
            backend: Backend::Rest(store),
        }
    }

    /// The process-wide client, connected from the environment on first use (the spec's
    /// `get_db_client()`). Its pool belongs to the Tokio runtime that first called this.
    pub async fn shared() -> Result<&'static Client> {
        SHARED.get_or_try_init(Self::from_env).await
    }

    /// Where this client points, secrets redacted.
    pub fn location(&self) -> &str {
        &self.location
    }

    /// The direct PostgreSQL store, for plain SQL; `None` over the REST transport.
    pub fn postgres(&self) -> Option<&PgStore> {
        match &self.backend {
            Backend::Postgres(store) => Some(store),
            Backend::Rest(_) => None,
        }
    }

    /// The transport, for code in this crate that treats the two differently.
    pub(crate) fn backend(&self) -> &Backend {
        &self.backend
    }

    /// The REST store; `None` over the direct transport.
    pub fn rest_store(&self) -> Option<&RestStore> {
        match &self.backend {
            Backend::Postgres(_) => None,
            Backend::Rest(store) => Some(store),
        }
    }

    /// Checks that the database answers and the schema is there (over REST: that the API
    /// answers, accepts the key and has the migrations' functions).
    pub async fn test_connection(&self) -> Result<()> {
        on_store!(self, s => s.test_connection().await)
    }

    /// Writes one interaction; returns its id. Writing the same id again is a no-op.
    pub async fn insert_interaction(&self, interaction: &Interaction) -> Result<Uuid> {
        on_store!(self, s => s.log(std::slice::from_ref(interaction), &[]).await)?;
        Ok(interaction.id)
    }

    /// Writes many interactions in one atomic statement; existing ids are skipped.
    pub async fn insert_interactions(&self, interactions: &[Interaction]) -> Result<Written> {
        on_store!(self, s => s.log(interactions, &[]).await)
    }

    /// Writes one escalation; returns its id. Its interaction must exist.
    pub async fn insert_escalation(&self, escalation: &Escalation) -> Result<Uuid> {
        on_store!(self, s => s.log(&[], std::slice::from_ref(escalation)).await)?;
        Ok(escalation.id)
    }

    /// Writes many escalations in one atomic statement; existing ids are skipped.
    pub async fn insert_escalations(&self, escalations: &[Escalation]) -> Result<Written> {
        on_store!(self, s => s.log(&[], escalations).await)
    }

    /// Writes interactions and their escalations together: all or nothing.
    pub async fn log(
        &self,
        interactions: &[Interaction],
        escalations: &[Escalation],
    ) -> Result<Written> {
        on_store!(self, s => s.log(interactions, escalations).await)
    }

    /// Writes rows already encoded as two JSON arrays of the spec's dicts (interactions,
    /// escalations) in one atomic statement; existing ids are skipped.
    pub async fn log_json(&self, interactions: &str, escalations: &str) -> Result<Written> {
        if let Some(store) = self.postgres() {
            return store.log_json(interactions, escalations).await;
        }
        let decode = |what: &str, text: &str| {
            serde_json::from_str::<serde_json::Value>(text).map_err(|e| {
                Error::from(ValidationError::new(
                    what,
                    format!("must be a JSON array: {e}"),
                ))
            })
        };
        let interactions: Vec<Interaction> = match decode("interactions", interactions)? {
            serde_json::Value::Array(rows) => rows
                .into_iter()
                .map(Interaction::from_json_value)
                .collect::<std::result::Result<_, _>>()?,
            _ => return Err(ValidationError::new("interactions", "must be a JSON array").into()),
        };
        let escalations: Vec<Escalation> = match decode("escalations", escalations)? {
            serde_json::Value::Array(rows) => rows
                .into_iter()
                .map(Escalation::from_json_value)
                .collect::<std::result::Result<_, _>>()?,
            _ => return Err(ValidationError::new("escalations", "must be a JSON array").into()),
        };
        self.log(&interactions, &escalations).await
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
        on_store!(self, s => s.log(
                std::slice::from_ref(interaction),
                std::slice::from_ref(&escalation),
            ).await)?;
        Ok((interaction.id, escalation.id))
    }

    /// Registers a knowledge document; an `openai_file_id` already registered is an
    /// [`Error::Duplicate`] (use [`upsert_knowledge_document`](Self::upsert_knowledge_document)
    /// for ingestion re-runs).
    pub async fn insert_knowledge_document(&self, document: &KnowledgeDocument) -> Result<Uuid> {
        on_store!(self, s => s.insert_knowledge_document(document).await)
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
        on_store!(self, s => s.upsert_knowledge_documents(documents).await)
    }

    /// One page of interactions, newest first; pass `next` back as `after` to continue.
    pub async fn interactions(&self, query: &InteractionQuery) -> Result<Page<Interaction>> {
        on_store!(self, s => s.interactions(query).await)
    }

    /// One interaction with its escalations; `None` when there is no such row.
    pub async fn interaction(&self, id: Uuid) -> Result<Option<InteractionDetail>> {
        on_store!(self, s => s.interaction(id).await)
    }

    /// Deletes an interaction and, by cascade, its escalations; true if it existed.
    pub async fn delete_interaction(&self, id: Uuid) -> Result<bool> {
        on_store!(self, s => s.delete_interaction(id).await)
    }

    /// Dashboard metrics, computed by PostgreSQL.
    pub async fn metrics(&self, filter: &MetricsFilter) -> Result<Metrics> {
        on_store!(self, s => s.metrics(filter).await)
    }

    /// Every matching interaction, newest first, fetched a page at a time.
    pub fn export_interactions(
        &self,
        filter: InteractionFilter,
    ) -> BoxStream<'_, Result<Interaction>> {
        let first = InteractionQuery {
            filter,
            limit: Some(EXPORT_PAGE),
            after: None,
        };
        stream::try_unfold(Some(first), move |query| async move {
            let Some(query) = query else { return Ok(None) };
            let page = self.interactions(&query).await?;
            let next = page.next.map(|after: Cursor| InteractionQuery {
                after: Some(after),
                ..query
            });
            Ok::<_, Error>(Some((stream::iter(page.items.into_iter().map(Ok)), next)))
        })
        .try_flatten()
        .boxed()
    }

    /// Every escalation, in id order, fetched a page at a time.
    pub fn export_escalations(&self) -> BoxStream<'_, Result<Escalation>> {
        paged(
            move |after| async move {
                on_store!(self, s => s.escalations_after(after, EXPORT_PAGE).await)
            },
            |e: &Escalation| e.id,
        )
    }

    /// Every knowledge document, in id order, fetched a page at a time.
    pub fn export_knowledge_documents(&self) -> BoxStream<'_, Result<KnowledgeDocument>> {
        paged(
            move |after| async move {
                on_store!(self, s => s.knowledge_documents_after(after, EXPORT_PAGE).await)
            },
            |d: &KnowledgeDocument| d.id,
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

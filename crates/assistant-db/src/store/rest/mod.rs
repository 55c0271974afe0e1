//! The REST transport: Supabase's API (PostgREST) over HTTP(S), with reqwest and rustls.
//!
//! Requests go to `{SUPABASE_URL}/rest/v1/…`, or to the root of a plain PostgREST. Writes
//! and metrics call the same SQL functions as the direct transport, by RPC
//! (`POST /rpc/log_interactions`, `/rpc/upsert_knowledge_documents`,
//! `/rpc/interaction_metrics`); reads are table queries whose JSON rows are exactly the
//! `to_jsonb(row)` the direct transport decodes, so both give the same values.
//!
//! What a network in between calls for, each in its module:
//! - timeouts, retries with backoff and `Retry-After` ([`http`]); connections are pooled
//!   and reused, responses may be gzip-compressed, redirects are never followed (they
//!   would carry the key elsewhere);
//! - large writes go in batches ([`batch`]); listings never trust one response to hold
//!   every row they asked for (PostgREST caps responses at `db-max-rows`) and ask again
//!   until the page is full or the server has no more;
//! - PostgREST's error bodies become the same [`Error`] variants as PostgreSQL's errors
//!   over the direct transport ([`errors`]);
//! - the key travels only in two sensitive headers ([`key`]).

mod batch;
mod errors;
mod http;
mod key;
mod options;
mod params;
mod texts;
mod verify;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::header::HeaderMap;
use reqwest::{Method, Url};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use self::batch::Batch;
use self::http::{to_bytes, Call};
use self::key::auth_headers;
use super::{decode, EncodedEntry, Staged, Store, StoredTexts, TextTable, TextWindow};
use crate::error::{Error, Result};
use crate::metrics::{self, Metrics, MetricsFilter};
use crate::model::limits::{MAX_CALL_BYTES, MAX_CALL_ROWS};
use crate::model::{Escalation, Interaction, KnowledgeDocument, Outcome};
use crate::query::{
    Cursor, InteractionDetail, InteractionFilter, InteractionQuery, Page, RecentEscalation,
    Upserted, Written,
};
use crate::retention::{
    AuditEntry, AuditQuery, DbErasure, ErasureTarget, RetentionPolicy, RetentionPreview,
    RetentionRun, RetentionStep, SpoolCounts, Via,
};
use crate::row::{EscalationRow, InteractionRow, KnowledgeDocumentRow};
use crate::secret::Secret;
use crate::verify::data::DataReport;
use crate::verify::Report;

pub use self::errors::error_from_response;
pub use self::key::KeyRole;
pub use self::options::RestOptions;

/// The spec's operations over Supabase's REST API (PostgREST); cheap to clone (clones
/// share one connection pool).
#[derive(Clone)]
pub struct RestStore {
    inner: Arc<Inner>,
}

/// What clones of a store share.
struct Inner {
    http: reqwest::Client,
    /// The API's base URL, ending in `/`.
    base: Url,
    /// `apikey` and `Authorization`, marked sensitive.
    auth: HeaderMap,
    role: KeyRole,
    options: RestOptions,
}

impl fmt::Debug for RestStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RestStore")
            .field("base_url", &self.inner.base.as_str())
            .field("key", &"***")
            .field("role", &self.inner.role)
            .field("options", &self.inner.options)
            .finish()
    }
}

impl RestStore {
    /// A store on a Supabase project: requests go to `{project_url}/rest/v1/`.
    pub fn supabase(project_url: &str, key: Secret) -> Result<Self> {
        let project = project_url.trim().trim_end_matches('/');
        Self::new(&format!("{project}/rest/v1"), key, RestOptions::default())
    }

    /// A store on the REST API at `rest_url` (a plain PostgREST's root, or a Supabase
    /// project's `/rest/v1`).
    pub fn new(rest_url: &str, key: Secret, options: RestOptions) -> Result<Self> {
        let mut base = Url::parse(rest_url.trim()).map_err(|e| {
            Error::Config(format!(
                "the REST URL `{}` is not a valid URL ({e})",
                rest_url.trim()
            ))
        })?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(Error::Config(format!(
                "the REST URL must start with https:// (or http:// for a local server), not {}://",
                base.scheme()
            )));
        }
        if base.password().is_some() || !base.username().is_empty() {
            return Err(Error::Config(
                "the REST URL must not carry credentials; put the key in SUPABASE_KEY".into(),
            ));
        }
        base.set_query(None);
        base.set_fragment(None);
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let auth = auth_headers(&key)?;
        let http = reqwest::Client::builder()
            .timeout(options.timeout)
            .connect_timeout(options.connect_timeout)
            .pool_idle_timeout(Duration::from_secs(60))
            .tcp_keepalive(Duration::from_secs(30))
            .redirect(reqwest::redirect::Policy::none())
            .gzip(true)
            .user_agent(concat!("assistant-db/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Config(format!("cannot set up the HTTP client: {e}")))?;
        Ok(RestStore {
            inner: Arc::new(Inner {
                http,
                base,
                auth,
                role: KeyRole::of(&key),
                options: RestOptions {
                    max_attempts: options.max_attempts.max(1),
                    batch_rows: options.batch_rows.clamp(1, MAX_CALL_ROWS),
                    batch_bytes: options.batch_bytes.min(MAX_CALL_BYTES),
                    ..options
                },
            }),
        })
    }

    /// The API's base URL (it holds no secret).
    pub fn base_url(&self) -> &str {
        self.inner.base.as_str()
    }

    /// Which key this store holds.
    pub fn key_role(&self) -> KeyRole {
        self.inner.role
    }
}

#[async_trait]
impl Store for RestStore {
    /// Where this store points, for messages.
    fn location(&self) -> String {
        format!(
            "REST API at {} ({})",
            self.inner.base.as_str().trim_end_matches('/'),
            self.inner.role.describe()
        )
    }

    /// Proves that the API answers, accepts the key and has the migrations' functions,
    /// by logging an empty batch: it writes nothing and both keys may do it.
    async fn test_connection(&self) -> Result<()> {
        self.log_batch(&Batch::default(), "testing the connection")
            .await
            .map(|_| ())
    }

    /// A call of at most [`RestOptions::batch_rows`] rows is one atomic request; a larger
    /// one is sent in batches, each atomic (see [`batch`]).
    async fn log(
        &self,
        interactions: &[Interaction],
        escalations: &[Escalation],
    ) -> Result<Written> {
        let batches = batch::of_records(&self.inner.options, interactions, escalations)?;
        self.log_batches(&batches).await
    }

    /// The spooled JSON is sent as it is, without a decode and re-encode; the server
    /// checks it as it checks every row.
    async fn log_encoded(&self, entries: &[EncodedEntry<'_>]) -> Result<Written> {
        self.log_batches(&batch::of_entries(&self.inner.options, entries))
            .await
    }

    /// Secret key only.
    async fn insert_knowledge_document(&self, document: &KnowledgeDocument) -> Result<Uuid> {
        // Columns left out take their defaults (`ingested_at`), as over the direct transport.
        let mut row = serde_json::to_value(document).map_err(|e| Error::Database {
            code: None,
            message: format!("cannot encode the record as JSON: {e}"),
        })?;
        if let Value::Object(fields) = &mut row {
            fields.retain(|_, value| !value.is_null());
        }
        let call = Call::new(
            Method::POST,
            "knowledge_documents",
            "registering a knowledge document",
        )
        .query(vec![("on_conflict", "id".into())])
        .body(to_bytes(&row)?)
        .prefer("resolution=ignore-duplicates,return=minimal");
        self.send(&call).await?;
        Ok(document.id)
    }

    /// Secret key only; in batches of [`RestOptions::batch_rows`].
    async fn upsert_knowledge_documents(
        &self,
        documents: &[KnowledgeDocument],
    ) -> Result<Vec<Upserted>> {
        #[derive(Serialize)]
        struct Args<'a> {
            p_documents: &'a [KnowledgeDocument],
        }
        let mut upserted = Vec::with_capacity(documents.len());
        for chunk in documents.chunks(self.inner.options.batch_rows) {
            let call = Call::new(
                Method::POST,
                "rpc/upsert_knowledge_documents",
                "registering knowledge documents",
            )
            .body(to_bytes(&Args { p_documents: chunk })?);
            let rows: Vec<Upserted> = self.json(&call).await?;
            upserted.extend(rows);
        }
        Ok(upserted)
    }

    /// Over REST nothing can be held open between requests: the rows are sent at commit,
    /// as one `log` call.
    async fn stage_interactions(&self, rows: Vec<Interaction>) -> Result<Box<dyn Staged>> {
        Ok(Box::new(Staging {
            store: self.clone(),
            rows,
        }))
    }

    /// Secret key only.
    async fn interactions(&self, query: &InteractionQuery) -> Result<Page<InteractionRow>> {
        let limit = query.page_size()? as usize;
        // One row more than the page tells whether another page follows.
        let wanted = limit + 1;
        let mut rows: Vec<InteractionRow> = Vec::with_capacity(wanted);
        let mut after = query.after.clone();
        while rows.len() < wanted {
            let mut params = params::conditions(&query.filter.conditions());
            params.push(("order", "timestamp.desc,id.desc".into()));
            params.push(("limit", (wanted - rows.len()).to_string()));
            if let Some(cursor) = &after {
                params.extend(params::after(cursor));
            }
            let page: Vec<InteractionRow> = self
                .rows("interactions", params, "reading interactions")
                .await
                .map_err(|e| match after {
                    Some(_) => Cursor::refused(e),
                    None => e,
                })?;
            // A short response may be the server's row cap, not the end: only an empty
            // one says there is nothing more.
            let Some(last) = page.last() else { break };
            after = Some(Cursor::of(last));
            rows.extend(page);
        }
        Ok(Page::from_rows(rows, limit))
    }

    /// Secret key only. One request, so one snapshot.
    async fn interaction(&self, id: Uuid) -> Result<Option<InteractionDetail>> {
        let call = Call::new(Method::GET, "interactions", "reading an interaction").query(vec![
            ("select", "*,escalations(*)".into()),
            ("escalations.order", "created_at.asc,id.asc".into()),
            ("id", format!("eq.{id}")),
        ]);
        let rows: Vec<Value> = self.json(&call).await?;
        let Some(mut row) = rows.into_iter().next() else {
            return Ok(None);
        };
        let escalations = row
            .as_object_mut()
            .and_then(|r| r.remove("escalations"))
            .unwrap_or(Value::Null);
        decode::detail(row, escalations).map(Some)
    }

    /// Secret key only.
    async fn escalations_after(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<EscalationRow>> {
        self.rows_after("escalations", after, limit, |e: &EscalationRow| e.id)
            .await
    }

    /// Secret key only.
    async fn knowledge_documents_after(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<KnowledgeDocumentRow>> {
        self.rows_after(
            "knowledge_documents",
            after,
            limit,
            |d: &KnowledgeDocumentRow| d.id,
        )
        .await
    }

    /// Secret key only. When a retry follows a lost response, the row is gone and this
    /// says false.
    async fn delete_interaction(&self, id: Uuid) -> Result<bool> {
        let call = Call::new(Method::DELETE, "interactions", "deleting an interaction")
            .query(vec![("id", format!("eq.{id}")), ("select", "id".into())])
            .prefer("return=representation");
        let deleted: Vec<Value> = self.json(&call).await?;
        Ok(!deleted.is_empty())
    }

    async fn metrics(&self, filter: &MetricsFilter) -> Result<Metrics> {
        let mut args = Map::new();
        // Absent arguments take their NULL defaults; an explicit null is not sent, since
        // not every PostgREST implementation passes it through as NULL.
        let mut arg = |name: &str, value: Option<String>| {
            if let Some(value) = value {
                args.insert(name.to_owned(), Value::String(value));
            }
        };
        arg("p_mode", filter.mode.map(|m| m.as_str().to_owned()));
        arg("p_from", filter.from.map(params::timestamp));
        arg("p_to", filter.to.map(params::timestamp));
        arg("p_intent", filter.intent.clone());
        arg("p_category", filter.category.map(|c| c.as_str().to_owned()));
        arg("p_bucket", Some(filter.bucket.as_str().to_owned()));
        arg("p_tz", Some(filter.tz.name().to_owned()));
        let call = Call::new(
            Method::POST,
            "rpc/interaction_metrics_tz",
            "reading metrics",
        )
        .body(to_bytes(&Value::Object(args))?);
        metrics::decode(self.json(&call).await?)
    }

    /// Escalated interactions stand in for escalation rows, whose join the API does not
    /// order by the interaction's time.
    async fn recent_escalations(
        &self,
        filter: &MetricsFilter,
        limit: u32,
    ) -> Result<Vec<RecentEscalation>> {
        let query = InteractionQuery {
            filter: InteractionFilter {
                mode: filter.mode,
                outcome: Some(Outcome::Escalated),
                intent: filter.intent.clone(),
                category: filter.category,
                from: filter.from,
                to: filter.to,
                ..InteractionFilter::default()
            },
            limit: Some(limit),
            after: None,
        };
        let page = self.interactions(&query).await?;
        Ok(page
            .items
            .into_iter()
            .map(|i| RecentEscalation {
                interaction_id: i.id,
                timestamp: i.timestamp,
                assistant_mode: i.assistant_mode,
                intent_name: i.intent_name,
                trigger_type: None,
                escalation_reason: i.escalation_reason,
            })
            .collect())
    }

    async fn verify(&self) -> Report {
        verify::verify(self).await
    }

    async fn data_quality(&self) -> Result<DataReport> {
        let body = self
            .raw(
                Method::POST,
                "rpc/data_quality_report",
                Vec::new(),
                Some(&serde_json::json!({})),
                "reading the data-quality report",
            )
            .await?;
        let value: Value = serde_json::from_slice(&body).map_err(|e| Error::Database {
            code: None,
            message: format!("data_quality_report answered something other than JSON ({e})"),
        })?;
        DataReport::from_value(value)
    }

    /// Secret key only.
    async fn count_texts(&self, table: TextTable, window: &TextWindow) -> Result<Option<u64>> {
        self.count_window(table, window).await
    }

    /// Secret key only.
    async fn texts_after(
        &self,
        table: TextTable,
        window: &TextWindow,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<StoredTexts>> {
        self.texts_page(table, window, after, limit).await
    }

    /// Secret key only.
    async fn rewrite_texts(&self, table: TextTable, rows: &[StoredTexts]) -> Result<u64> {
        self.rewrite(table, rows).await
    }

    /// Secret key only.
    async fn retention_preview(&self, policy: &RetentionPolicy) -> Result<RetentionPreview> {
        let args = serde_json::json!({ "p_older_than": policy.interval() });
        self.rpc("retention_preview", &args, "previewing retention")
            .await
    }

    /// Secret key only.
    async fn retention_start(&self, policy: &RetentionPolicy, via: Via) -> Result<RetentionRun> {
        let args = serde_json::json!({ "p_older_than": policy.interval(), "p_via": via.as_str() });
        self.rpc("retention_start", &args, "starting a retention run")
            .await
    }

    /// Secret key only. A retry after a lost answer deletes the next batch instead, which
    /// the trail counts; the run's end is still found by a short batch.
    async fn retention_step(&self, run: i64, batch: u32) -> Result<RetentionStep> {
        let args = serde_json::json!({ "p_run": run, "p_batch": batch });
        self.rpc(
            "retention_step",
            &args,
            "deleting a batch of old interactions",
        )
        .await
    }

    /// Secret key only. A retry after a lost answer finds nothing more to delete and
    /// says so; the trail holds both calls.
    async fn erase(
        &self,
        target: &ErasureTarget,
        spool: Option<SpoolCounts>,
        via: Via,
    ) -> Result<DbErasure> {
        let mut args = serde_json::json!({
            "p_target": target.kind(),
            "p_id": target.id(),
            "p_via": via.as_str(),
        });
        if let (Some(spool), Value::Object(fields)) = (spool, &mut args) {
            fields.insert("p_spool_entries".into(), spool.entries.into());
            fields.insert("p_spool_dead_letters".into(), spool.dead_letters.into());
        }
        self.rpc("erase_customer_data", &args, "erasing customer data")
            .await
    }

    /// Secret key only.
    async fn retention_log(&self, query: &AuditQuery) -> Result<Vec<AuditEntry>> {
        let mut args = Map::new();
        args.insert("p_limit".into(), query.page_size().into());
        // Absent arguments take their NULL defaults (see `metrics`).
        let (session, interaction) = query.ids();
        if let Some(session) = session {
            args.insert("p_session_id".into(), session.into());
        }
        if let Some(interaction) = interaction {
            args.insert("p_interaction_id".into(), interaction.into());
        }
        self.rpc(
            "retention_log",
            &Value::Object(args),
            "reading the retention log",
        )
        .await
    }
}

/// Rows waiting for [`Staged::commit`], which sends them in one `log` call.
struct Staging {
    store: RestStore,
    rows: Vec<Interaction>,
}

#[async_trait]
impl Staged for Staging {
    async fn commit(self: Box<Self>) -> Result<u64> {
        Ok(self.store.log(&self.rows, &[]).await?.interactions)
    }

    async fn rollback(self: Box<Self>) {}
}

impl RestStore {
    /// Calls `rpc/<function>` with `args` and decodes its JSON answer.
    async fn rpc<T: DeserializeOwned>(
        &self,
        function: &str,
        args: &Value,
        what: &str,
    ) -> Result<T> {
        let path = format!("rpc/{function}");
        let call = Call::new(Method::POST, &path, what).body(to_bytes(args)?);
        decode::answer(self.json(&call).await?, function)
    }

    /// Sends one request as given, with retries and error mapping; the response body.
    /// For `verify`'s probes, which send what the typed operations never would.
    pub(crate) async fn raw(
        &self,
        method: Method,
        path: &str,
        query: Vec<(&'static str, String)>,
        body: Option<&Value>,
        what: &str,
    ) -> Result<Vec<u8>> {
        let mut call = Call::new(method, path, what).query(query);
        if let Some(body) = body {
            call = call.body(to_bytes(body)?);
        }
        self.send(&call).await
    }

    /// Up to `limit` rows of `table` after the id `after`, in id order, however few rows
    /// each response holds.
    async fn rows_after<T: DeserializeOwned>(
        &self,
        table: &'static str,
        after: Option<Uuid>,
        limit: u32,
        id_of: fn(&T) -> Uuid,
    ) -> Result<Vec<T>> {
        let limit = limit as usize;
        let what = format!("reading {}", table.replace('_', " "));
        let mut rows: Vec<T> = Vec::new();
        let mut after = after;
        while rows.len() < limit {
            let mut params = vec![
                ("order", "id.asc".to_owned()),
                ("limit", (limit - rows.len()).to_string()),
            ];
            if let Some(id) = after {
                params.push(("id", format!("gt.{id}")));
            }
            let page: Vec<T> = self.rows(table, params, &what).await?;
            let Some(last) = page.last() else { break };
            after = Some(id_of(last));
            rows.extend(page);
        }
        Ok(rows)
    }

    /// Every column of the rows of `table` the parameters select, decoded; the
    /// parameters may name their own `select` (to embed what a filter needs).
    async fn rows<T: DeserializeOwned>(
        &self,
        table: &'static str,
        mut params: Vec<(&'static str, String)>,
        what: &str,
    ) -> Result<Vec<T>> {
        if !params.iter().any(|(name, _)| *name == "select") {
            params.insert(0, ("select", "*".into()));
        }
        let call = Call::new(Method::GET, table, what).query(params);
        let rows: Vec<Value> = self.json(&call).await?;
        rows.into_iter().map(decode::row).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_never_shows() {
        let key = "sb_secret_hunter2hunter2";
        let store = RestStore::new(
            "https://x.supabase.co/rest/v1",
            Secret::new(key),
            RestOptions::default(),
        )
        .expect("store");
        let shown = format!("{store:?} {}", store.location());
        assert!(!shown.contains("hunter2"), "{shown}");
        assert_eq!(store.base_url(), "https://x.supabase.co/rest/v1/");
        let project =
            RestStore::supabase("https://x.supabase.co/", Secret::new(key)).expect("store");
        assert_eq!(project.base_url(), "https://x.supabase.co/rest/v1/");
        assert_eq!(project.key_role(), KeyRole::Secret);
        let err = RestStore::new(
            "https://x.supabase.co",
            Secret::new("bad\nkey hunter2"),
            RestOptions::default(),
        )
        .expect_err("refused");
        assert!(!format!("{err} {err:?}").contains("hunter2"));
        let err = RestStore::new("ftp://x", Secret::new(key), RestOptions::default())
            .expect_err("scheme");
        assert!(matches!(err, Error::Config(_)));
    }
}

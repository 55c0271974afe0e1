//! The REST transport: Supabase's API (PostgREST) over HTTP(S), with reqwest and rustls.
//!
//! Requests go to `{SUPABASE_URL}/rest/v1/…`, or to the root of a plain PostgREST. Writes
//! and metrics call the same SQL functions as the direct transport, by RPC
//! (`POST /rpc/log_interactions`, `/rpc/upsert_knowledge_documents`,
//! `/rpc/interaction_metrics`); reads are table queries whose JSON rows are exactly the
//! `to_jsonb(row)` the direct transport decodes, so both give the same values.
//!
//! What a network in between calls for:
//! - a timeout per request and per connection attempt; connections are pooled and reused,
//!   responses may be gzip-compressed, redirects are never followed (they would carry the
//!   key elsewhere);
//! - a request that failed for a reason that may pass (connection refused or dropped,
//!   timeout, HTTP 5xx or 429, serialization failure) is sent again after a jittered,
//!   exponentially growing pause, honouring `Retry-After`. Writes are safe to repeat:
//!   every row carries its client-generated id and the functions skip ids they hold;
//! - large writes go in batches; listings never trust one response to hold every row they
//!   asked for (PostgREST caps responses at `db-max-rows`) and ask again until the page is
//!   full or the server has no more;
//! - PostgREST's error bodies (`{code, message, details, hint}`) become the same
//!   [`Error`] variants as PostgreSQL's errors over the direct transport.
//!
//! The key travels only in the `apikey` and `Authorization` headers, marked sensitive. It
//! is never logged, never part of an error and never shown by `Debug`.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use chrono::{DateTime, SecondsFormat, Utc};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use reqwest::{Method, StatusCode, Url};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::postgres::decode_row;
use crate::config::Secret;
use crate::error::{column_of_check, refusal_of, Error, Result};
use crate::metrics::{self, Metrics, MetricsFilter};
use crate::model::limits::{jsonb_text_len, MAX_CALL_BYTES, MAX_CALL_ROWS};
use crate::model::{Escalation, Interaction, KnowledgeDocument};
use crate::query::{
    Cursor, InteractionDetail, InteractionFilter, InteractionQuery, Page, Upserted, Written,
};

/// How the REST transport talks to the API: timeouts, retries and batch sizes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestOptions {
    /// Longest wait for one whole request, response body included.
    pub timeout: Duration,
    /// Longest wait for a connection to open.
    pub connect_timeout: Duration,
    /// Tries per request, the first included (at least 1).
    pub max_attempts: u32,
    /// Pause before the first retry; each further retry may wait up to twice as long.
    pub initial_backoff: Duration,
    /// Longest pause between two tries, `Retry-After` included.
    pub max_backoff: Duration,
    /// Most rows per write request; at most [`MAX_CALL_ROWS`], what one call of the
    /// public key may carry.
    pub batch_rows: usize,
    /// Most bytes of JSON rows per write request, counted as the server counts them
    /// (PostgreSQL's text form of the two arrays); at most [`MAX_CALL_BYTES`], what one
    /// call of the public key may carry. One row of the model always fits.
    pub batch_bytes: usize,
}

impl Default for RestOptions {
    fn default() -> Self {
        RestOptions {
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            max_attempts: 5,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(5),
            batch_rows: 500,
            batch_bytes: 1 << 20,
        }
    }
}

/// Which of Supabase's keys a client holds, read from the key itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyRole {
    /// The public key (`anon` JWT or `sb_publishable_…`): may log and read metrics only.
    Public,
    /// The secret key (`service_role` JWT or `sb_secret_…`): full access, for backends.
    Secret,
    /// Any other key, e.g. a signed-in user's token or one that is not a JWT.
    Other,
}

impl KeyRole {
    /// Reads the role from a Supabase key: its `sb_` prefix, or the `role` claim of the
    /// JWT (decoded, not verified: only the server can verify it).
    pub fn of(key: &Secret) -> Self {
        let key = key.expose();
        if key.starts_with("sb_publishable_") {
            return KeyRole::Public;
        }
        if key.starts_with("sb_secret_") {
            return KeyRole::Secret;
        }
        let claims = key
            .split('.')
            .nth(1)
            .and_then(|payload| JWT_PAYLOAD.decode(payload).ok())
            .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok());
        match claims
            .as_ref()
            .and_then(|c| c.get("role"))
            .and_then(Value::as_str)
        {
            Some("anon") => KeyRole::Public,
            Some("service_role") => KeyRole::Secret,
            _ => KeyRole::Other,
        }
    }

    /// How the key is named in messages.
    pub fn describe(self) -> &'static str {
        match self {
            KeyRole::Public => "public (anon) key",
            KeyRole::Secret => "secret (service_role) key",
            KeyRole::Other => "API key",
        }
    }
}

/// Base64url as JWTs use it, with or without padding.
const JWT_PAYLOAD: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    base64::engine::GeneralPurposeConfig::new()
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
);

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

    /// Where this store points, for messages.
    pub fn location(&self) -> String {
        format!(
            "REST API at {} ({})",
            self.inner.base.as_str().trim_end_matches('/'),
            self.inner.role.describe()
        )
    }

    /// Proves that the API answers, accepts the key and has the migrations' functions,
    /// by logging an empty batch: it writes nothing and both keys may do it.
    pub async fn test_connection(&self) -> Result<()> {
        self.log_batch(&Batch::default(), "testing the connection")
            .await
            .map(|_| ())
    }

    /// Writes interactions, then escalations, through `log_interactions`; existing ids are
    /// skipped. Both keys may log.
    ///
    /// A call of at most [`RestOptions::batch_rows`] rows is one atomic request. A larger
    /// one is sent in batches, each atomic, every escalation with its interaction; after a
    /// failure part-way, repeating the call completes it without duplicates.
    pub async fn log(
        &self,
        interactions: &[Interaction],
        escalations: &[Escalation],
    ) -> Result<Written> {
        let batches = self.batches(interactions, escalations)?;
        self.log_batches(&batches).await
    }

    /// [`log`](Self::log) for entries already encoded as the spec's JSON dicts (the
    /// logger's spool holds them so): each entry an interaction, its escalation, or
    /// both, in the order given. They are sent as they are, without a decode and
    /// re-encode; the server checks them as it checks every row. An entry's escalation
    /// travels with its interaction, and an escalation of an earlier entry is sent with
    /// or after that entry.
    pub async fn log_encoded(&self, entries: &[(Option<&str>, Option<&str>)]) -> Result<Written> {
        let mut batches = Vec::new();
        for &(interaction, escalation) in entries {
            let rows = usize::from(interaction.is_some()) + usize::from(escalation.is_some());
            let interaction = interaction.map(|row| (row, cost(row)));
            let escalation = escalation.map(|row| (row, cost(row)));
            let bytes = interaction.map_or(0, |(_, c)| c) + escalation.map_or(0, |(_, c)| c);
            let batch = self.batch_with_room(&mut batches, rows, bytes);
            if let Some((row, cost)) = interaction {
                batch.add_interaction(row.to_owned(), cost);
            }
            if let Some((row, cost)) = escalation {
                batch.add_escalation(row.to_owned(), cost);
            }
        }
        self.log_batches(&batches).await
    }

    /// Sends batches one after the other (each one atomic) and adds up what they wrote.
    async fn log_batches(&self, batches: &[Batch]) -> Result<Written> {
        let mut total = Written::default();
        for batch in batches {
            let written = self.log_batch(batch, "logging interactions").await?;
            total.interactions += written.interactions;
            total.escalations += written.escalations;
        }
        Ok(total)
    }

    /// Inserts a knowledge document (secret key only); an `openai_file_id` that is already
    /// registered is an [`Error::Duplicate`], the same id again is a no-op.
    pub async fn insert_knowledge_document(&self, document: &KnowledgeDocument) -> Result<Uuid> {
        // Columns left out take their defaults (`ingested_at`), as over the direct transport.
        let mut row = to_value(document)?;
        if let Value::Object(fields) = &mut row {
            fields.retain(|_, value| !value.is_null());
        }
        self.send(&Call {
            method: Method::POST,
            path: "knowledge_documents",
            query: vec![("on_conflict", "id".into())],
            body: Some(to_bytes(&row)?),
            prefer: Some("resolution=ignore-duplicates,return=minimal"),
            what: "registering a knowledge document",
        })
        .await?;
        Ok(document.id)
    }

    /// Inserts or updates documents keyed by `openai_file_id` through
    /// `upsert_knowledge_documents` (secret key only), in batches.
    pub async fn upsert_knowledge_documents(
        &self,
        documents: &[KnowledgeDocument],
    ) -> Result<Vec<Upserted>> {
        let mut upserted = Vec::with_capacity(documents.len());
        for chunk in documents.chunks(self.inner.options.batch_rows) {
            #[derive(Serialize)]
            struct Args<'a> {
                p_documents: &'a [KnowledgeDocument],
            }
            let body = Args { p_documents: chunk };
            let rows: Vec<Upserted> = self
                .json(&Call {
                    method: Method::POST,
                    path: "rpc/upsert_knowledge_documents",
                    query: Vec::new(),
                    body: Some(to_bytes(&body)?),
                    prefer: None,
                    what: "registering knowledge documents",
                })
                .await?;
            upserted.extend(rows);
        }
        Ok(upserted)
    }

    /// One page of interactions matching the query, newest first (secret key only).
    pub async fn interactions(&self, query: &InteractionQuery) -> Result<Page<Interaction>> {
        let limit = query.page_size()? as usize;
        // One row more than the page tells whether another page follows.
        let wanted = limit + 1;
        let mut items: Vec<Interaction> = Vec::with_capacity(wanted);
        let mut after = query.after;
        while items.len() < wanted {
            let mut params = filter_params(&query.filter);
            params.push(("order", "timestamp.desc,id.desc".into()));
            params.push(("limit", (wanted - items.len()).to_string()));
            if let Some(cursor) = &after {
                params.push(("or", after_filter(cursor)));
            }
            let rows: Vec<Interaction> = self
                .rows("interactions", params, "reading interactions")
                .await?;
            // A short response may be the server's row cap, not the end: only an empty
            // one says there is nothing more.
            let Some(last) = rows.last() else { break };
            after = Some(Cursor::of(last));
            items.extend(rows);
        }
        let next = if items.len() > limit {
            items.truncate(limit);
            items.last().map(Cursor::of)
        } else {
            None
        };
        Ok(Page { items, next })
    }

    /// Up to `limit` escalations with an id greater than `after`, in id order (secret key
    /// only).
    pub async fn escalations_after(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<Escalation>> {
        self.rows_after("escalations", after, limit, |e: &Escalation| e.id)
            .await
    }

    /// Up to `limit` knowledge documents with an id greater than `after`, in id order
    /// (secret key only).
    pub async fn knowledge_documents_after(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<KnowledgeDocument>> {
        self.rows_after(
            "knowledge_documents",
            after,
            limit,
            |d: &KnowledgeDocument| d.id,
        )
        .await
    }

    /// One interaction with its escalations, or `None` when no row has this id (secret
    /// key only). One request, so one snapshot.
    pub async fn interaction(&self, id: Uuid) -> Result<Option<InteractionDetail>> {
        let rows: Vec<Value> = self
            .json(&Call {
                method: Method::GET,
                path: "interactions",
                query: vec![
                    ("select", "*,escalations(*)".into()),
                    ("escalations.order", "created_at.asc,id.asc".into()),
                    ("id", format!("eq.{id}")),
                ],
                body: None,
                prefer: None,
                what: "reading an interaction",
            })
            .await?;
        let Some(mut row) = rows.into_iter().next() else {
            return Ok(None);
        };
        let escalations = match row.as_object_mut().and_then(|r| r.remove("escalations")) {
            Some(Value::Array(rows)) => rows
                .into_iter()
                .map(decode_row)
                .collect::<Result<Vec<_>>>()?,
            _ => Vec::new(),
        };
        Ok(Some(InteractionDetail {
            interaction: decode_row(row)?,
            escalations,
        }))
    }

    /// Deletes an interaction (its escalations go with it); true if it existed (secret key
    /// only). When a retry follows a lost response, the row is gone and this says false.
    pub async fn delete_interaction(&self, id: Uuid) -> Result<bool> {
        let deleted: Vec<Value> = self
            .json(&Call {
                method: Method::DELETE,
                path: "interactions",
                query: vec![("id", format!("eq.{id}")), ("select", "id".into())],
                body: None,
                prefer: Some("return=representation"),
                what: "deleting an interaction",
            })
            .await?;
        Ok(!deleted.is_empty())
    }

    /// Dashboard metrics, computed by `interaction_metrics`; both keys may read them.
    pub async fn metrics(&self, filter: &MetricsFilter) -> Result<Metrics> {
        // Absent arguments take their NULL defaults; an explicit null is not sent, since
        // not every PostgREST implementation passes it through as NULL.
        let mut args = Map::new();
        let mut arg = |name: &str, value: Option<String>| {
            if let Some(value) = value {
                args.insert(name.to_owned(), Value::String(value));
            }
        };
        arg("p_mode", filter.mode.map(|m| m.as_str().to_owned()));
        arg("p_from", filter.from.map(timestamp));
        arg("p_to", filter.to.map(timestamp));
        arg("p_intent", filter.intent.clone());
        arg("p_category", filter.category.map(|c| c.as_str().to_owned()));
        arg("p_bucket", Some(filter.bucket.as_str().to_owned()));
        let value: Value = self
            .json(&Call {
                method: Method::POST,
                path: "rpc/interaction_metrics",
                query: Vec::new(),
                body: Some(to_bytes(&Value::Object(args))?),
                prefer: None,
                what: "reading metrics",
            })
            .await?;
        metrics::decode(value)
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
        let body = body.map(to_bytes).transpose()?;
        self.send(&Call {
            method,
            path,
            query,
            body,
            prefer: None,
            what,
        })
        .await
    }

    /// Sends one request body of rows to `log_interactions`.
    async fn log_batch(&self, batch: &Batch, what: &str) -> Result<Written> {
        let mut body = String::with_capacity(batch.bytes + 48);
        body.push_str("{\"p_interactions\":[");
        body.push_str(&batch.interactions.join(","));
        body.push_str("],\"p_escalations\":[");
        body.push_str(&batch.escalations.join(","));
        body.push_str("]}");
        let counts: Value = self
            .json(&Call {
                method: Method::POST,
                path: "rpc/log_interactions",
                query: Vec::new(),
                body: Some(body.into_bytes()),
                prefer: None,
                what,
            })
            .await?;
        let count = |key: &str| {
            counts
                .get(key)
                .and_then(Value::as_u64)
                .ok_or_else(|| Error::Database {
                    code: None,
                    message: format!("log_interactions answered {counts} without a count of {key}"),
                })
        };
        Ok(Written {
            interactions: count("interactions")?,
            escalations: count("escalations")?,
        })
    }

    /// Splits a write into request bodies: each escalation travels with its interaction
    /// (the foreign key is checked inside one call), the others with the last batch.
    fn batches(
        &self,
        interactions: &[Interaction],
        escalations: &[Escalation],
    ) -> Result<Vec<Batch>> {
        let in_call: HashSet<Uuid> = interactions.iter().map(|i| i.id).collect();
        let mut attached: HashMap<Uuid, Vec<(String, usize)>> = HashMap::new();
        let mut others = Vec::new();
        for escalation in escalations {
            let row = to_string(escalation)?;
            let row_cost = cost(&row);
            match escalation.interaction_id.filter(|id| in_call.contains(id)) {
                Some(id) => attached.entry(id).or_default().push((row, row_cost)),
                None => others.push((row, row_cost)),
            }
        }
        let mut batches: Vec<Batch> = Vec::new();
        for interaction in interactions {
            let row = to_string(interaction)?;
            let row_cost = cost(&row);
            let escalations = attached.remove(&interaction.id).unwrap_or_default();
            let rows = 1 + escalations.len();
            let bytes = row_cost + escalations.iter().map(|(_, c)| c).sum::<usize>();
            let batch = self.batch_with_room(&mut batches, rows, bytes);
            batch.add_interaction(row, row_cost);
            for (escalation, cost) in escalations {
                batch.add_escalation(escalation, cost);
            }
        }
        for (row, cost) in others {
            self.batch_with_room(&mut batches, 1, cost)
                .add_escalation(row, cost);
        }
        Ok(batches)
    }

    /// The last batch if `rows` rows of `bytes` more fit in it, else a new one.
    fn batch_with_room<'b>(
        &self,
        batches: &'b mut Vec<Batch>,
        rows: usize,
        bytes: usize,
    ) -> &'b mut Batch {
        let fits = batches.last().is_some_and(|b| {
            b.rows + rows <= self.inner.options.batch_rows
                && Batch::BRACKETS + b.bytes + bytes <= self.inner.options.batch_bytes
        });
        if !fits {
            batches.push(Batch::default());
        }
        let last = batches.len() - 1;
        &mut batches[last]
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

    /// Every column of the rows of `table` the parameters select, decoded.
    async fn rows<T: DeserializeOwned>(
        &self,
        table: &'static str,
        mut params: Vec<(&'static str, String)>,
        what: &str,
    ) -> Result<Vec<T>> {
        params.insert(0, ("select", "*".into()));
        let rows: Vec<Value> = self
            .json(&Call {
                method: Method::GET,
                path: table,
                query: params,
                body: None,
                prefer: None,
                what,
            })
            .await?;
        rows.into_iter().map(decode_row).collect()
    }

    /// Sends `call` and parses its JSON answer.
    async fn json<T: DeserializeOwned>(&self, call: &Call<'_>) -> Result<T> {
        let body = self.send(call).await?;
        serde_json::from_slice(&body).map_err(|e| Error::Database {
            code: None,
            message: format!(
                "{}: the REST API answered something other than the expected JSON ({e})",
                call.what
            ),
        })
    }

    /// Sends `call`, retrying what may pass; the successful response's body.
    async fn send(&self, call: &Call<'_>) -> Result<Vec<u8>> {
        let url = self.url(call)?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut request = self
                .inner
                .http
                .request(call.method.clone(), url.clone())
                .headers(self.inner.auth.clone())
                .header(ACCEPT, "application/json");
            if let Some(prefer) = call.prefer {
                request = request.header("Prefer", prefer);
            }
            if let Some(body) = &call.body {
                request = request
                    .header(CONTENT_TYPE, "application/json")
                    .body(body.clone());
            }
            let (error, retry_after) = match request.send().await {
                Ok(response) => {
                    let status = response.status();
                    let retry_after = retry_after(response.headers());
                    match response.bytes().await {
                        Ok(body) if status.is_success() => {
                            tracing::debug!(method = %call.method, path = call.path, status = status.as_u16(), attempt, "REST request done");
                            return Ok(body.to_vec());
                        }
                        Ok(body) => (
                            error_from_response(status, &body, call.what, self.inner.role),
                            retry_after,
                        ),
                        Err(e) => (transport_error(e, call.what), None),
                    }
                }
                Err(e) => (transport_error(e, call.what), None),
            };
            if !error.is_retryable() {
                return Err(error);
            }
            if attempt >= self.inner.options.max_attempts {
                return Err(match error {
                    Error::Unavailable(message) => {
                        Error::Unavailable(format!("{message} (gave up after {attempt} attempts)"))
                    }
                    other => other,
                });
            }
            let pause = self.backoff(attempt, retry_after);
            tracing::warn!(method = %call.method, path = call.path, attempt, pause_ms = pause.as_millis() as u64, error = %error, "REST request failed; retrying");
            tokio::time::sleep(pause).await;
        }
    }

    /// The request URL: the base, the path, and the parameters percent-encoded.
    fn url(&self, call: &Call<'_>) -> Result<Url> {
        let mut url = self.inner.base.join(call.path).map_err(|e| {
            Error::Config(format!("cannot form a request URL for {}: {e}", call.path))
        })?;
        if !call.query.is_empty() {
            let query: Vec<String> = call
                .query
                .iter()
                .map(|(name, value)| format!("{}={}", encode(name), encode(value)))
                .collect();
            url.set_query(Some(&query.join("&")));
        }
        Ok(url)
    }

    /// Full jitter: a random pause up to `initial · 2^(attempt-1)`, capped; at least what
    /// the server asked for with `Retry-After`, within the same cap.
    fn backoff(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        use rand::Rng as _;
        let ceiling = self
            .inner
            .options
            .initial_backoff
            .saturating_mul(1u32 << (attempt - 1).min(16))
            .min(self.inner.options.max_backoff);
        let jittered = Duration::from_micros(
            rand::thread_rng().gen_range(0..=ceiling.as_micros().min(u64::MAX as u128) as u64),
        );
        match retry_after {
            Some(asked) => jittered.max(asked.min(self.inner.options.max_backoff)),
            None => jittered,
        }
    }
}

/// One HTTP request to the API.
struct Call<'a> {
    method: Method,
    /// Path under the base URL: a table, or `rpc/<function>`.
    path: &'a str,
    query: Vec<(&'static str, String)>,
    body: Option<Vec<u8>>,
    prefer: Option<&'static str>,
    /// What the caller was doing, for error messages ("reading interactions").
    what: &'a str,
}

/// Rows for one `log_interactions` request, already encoded.
#[derive(Debug, Default)]
struct Batch {
    interactions: Vec<String>,
    escalations: Vec<String>,
    rows: usize,
    /// The rows' [`cost`]s: with [`Batch::BRACKETS`], at least what the server counts.
    bytes: usize,
}

impl Batch {
    /// The two arrays' brackets, as the server counts the call's size.
    const BRACKETS: usize = 4;

    fn add_interaction(&mut self, row: String, cost: usize) {
        self.rows += 1;
        self.bytes += cost;
        self.interactions.push(row);
    }

    fn add_escalation(&mut self, row: String, cost: usize) {
        self.rows += 1;
        self.bytes += cost;
        self.escalations.push(row);
    }
}

/// What one row adds to a call's size as `log_interactions` measures it: PostgreSQL's text
/// form of the row, and the `, ` that separates it from the next.
fn cost(row: &str) -> usize {
    jsonb_text_len(row) + 2
}

fn auth_headers(key: &Secret) -> Result<HeaderMap> {
    let bad = || {
        Error::Config(
            "SUPABASE_KEY holds characters that cannot be sent in an HTTP header".to_owned(),
        )
    };
    let mut apikey = HeaderValue::from_str(key.expose()).map_err(|_| bad())?;
    apikey.set_sensitive(true);
    let mut bearer =
        HeaderValue::from_str(&format!("Bearer {}", key.expose())).map_err(|_| bad())?;
    bearer.set_sensitive(true);
    let mut headers = HeaderMap::new();
    headers.insert(HeaderName::from_static("apikey"), apikey);
    headers.insert(AUTHORIZATION, bearer);
    Ok(headers)
}

/// PostgREST filters for the listing's filter.
fn filter_params(filter: &InteractionFilter) -> Vec<(&'static str, String)> {
    let mut params = Vec::new();
    if let Some(mode) = &filter.mode {
        params.push(("assistant_mode", format!("eq.{}", mode.as_str())));
    }
    if let Some(outcome) = &filter.outcome {
        params.push(("outcome", format!("eq.{}", outcome.as_str())));
    }
    if let Some(intent) = &filter.intent {
        params.push(("intent_name", format!("eq.{intent}")));
    }
    if let Some(category) = &filter.category {
        params.push(("intent_category", format!("eq.{}", category.as_str())));
    }
    if let Some(session) = &filter.session {
        params.push(("session_id", format!("eq.{session}")));
    }
    if let Some(from) = filter.from {
        params.push(("timestamp", format!("gte.{}", timestamp(from))));
    }
    if let Some(to) = filter.to {
        params.push(("timestamp", format!("lte.{}", timestamp(to))));
    }
    params
}

/// Rows after `cursor` in `ORDER BY timestamp DESC, id DESC` (NULL timestamps first), as
/// the direct transport's keyset condition.
fn after_filter(cursor: &Cursor) -> String {
    match cursor.timestamp {
        Some(ts) => {
            let ts = timestamp(ts);
            format!(
                "(timestamp.lt.\"{ts}\",and(timestamp.eq.\"{ts}\",id.lt.{}))",
                cursor.id
            )
        }
        None => format!("(timestamp.not.is.null,id.lt.{})", cursor.id),
    }
}

/// A timestamp as PostgreSQL reads it back exactly (microseconds, UTC).
fn timestamp(ts: DateTime<Utc>) -> String {
    ts.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Percent-encodes everything but unreserved characters and PostgREST's punctuation.
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric()
            || matches!(
                byte,
                b'-' | b'.' | b'_' | b'~' | b',' | b'(' | b')' | b':' | b'*'
            )
        {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn to_value<T: Serialize>(record: &T) -> Result<Value> {
    serde_json::to_value(record).map_err(encode_error)
}

fn to_string<T: Serialize>(record: &T) -> Result<String> {
    serde_json::to_string(record).map_err(encode_error)
}

fn to_bytes<T: Serialize>(body: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(body).map_err(encode_error)
}

fn encode_error(e: serde_json::Error) -> Error {
    Error::Database {
        code: None,
        message: format!("cannot encode the record as JSON: {e}"),
    }
}

/// `Retry-After` in seconds, when the server sent one.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// A request that got no HTTP answer: always worth another try.
fn transport_error(error: reqwest::Error, what: &str) -> Error {
    // The URL may carry filter values; the key is never in it, but keep errors lean.
    let error = error.without_url();
    let mut text = if error.is_timeout() {
        "no answer from the REST API in time".to_owned()
    } else if error.is_connect() {
        "cannot connect to the REST API".to_owned()
    } else {
        "the REST API connection failed".to_owned()
    };
    let mut source: Option<&dyn std::error::Error> = Some(&error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    Error::Unavailable(format!("{what}: {text}"))
}

/// Maps an error response of PostgREST (or of Supabase's gateway in front of it) to the
/// crate's [`Error`], by SQLSTATE or PostgREST code first, then by HTTP status.
///
/// `what` says what was being done ("reading interactions"); `role` which key was used,
/// so that a refusal can say which key the operation needs.
pub fn error_from_response(status: StatusCode, body: &[u8], what: &str, role: KeyRole) -> Error {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let field = |name: &str| {
        parsed
            .as_ref()
            .and_then(|v| v.get(name))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let code = field("code");
    let message = field("message")
        .or_else(|| field("msg"))
        .or_else(|| field("error"))
        .unwrap_or_else(|| {
            format!(
                "HTTP {} {}",
                status.as_u16(),
                status.canonical_reason().unwrap_or("")
            )
            .trim_end()
            .to_owned()
        });
    let details = field("details");
    let hint = field("hint");
    let names = quoted(&message);
    let name = |i: usize| names.get(i).copied().unwrap_or_default().to_owned();
    // A refusal of the migrations' functions names the row, field and rule in DETAIL.
    if code.as_deref() == Some("22023") {
        if let Some(refusal) = details.as_deref().and_then(refusal_of) {
            return Error::Validation(refusal);
        }
    }
    match code.as_deref() {
        Some("23514") => {
            let (table, constraint) = if names.len() >= 2 {
                (name(0), name(1))
            } else {
                (String::new(), name(0))
            };
            Error::CheckViolation {
                column: column_of_check(&table, &constraint),
                table,
                constraint,
            }
        }
        Some("23503") => Error::ForeignKey {
            constraint: name(1),
            detail: details.unwrap_or(message),
        },
        Some("23505") => Error::Duplicate {
            constraint: name(0),
            detail: details.unwrap_or(message),
        },
        Some("23502") => Error::NotNull {
            column: name(0),
            table: name(1),
        },
        // The migrations' functions refuse with their own words, which say what to do.
        Some(c @ "42501") if message.starts_with("interaction_metrics:") => {
            Error::PermissionDenied(with_hint(what, &message, hint.as_deref(), c))
        }
        Some("42501") => Error::PermissionDenied(refusal(what, role, &message)),
        Some(c @ ("PGRST301" | "PGRST302" | "PGRST303")) => Error::Auth(format!(
            "{what}: the REST API refused the {} ({message}, {c}); check SUPABASE_KEY",
            role.describe()
        )),
        None if status == StatusCode::UNAUTHORIZED => Error::Auth(format!(
            "{what}: the REST API refused the {} ({message}); check SUPABASE_KEY",
            role.describe()
        )),
        None if status == StatusCode::FORBIDDEN => {
            Error::PermissionDenied(refusal(what, role, &message))
        }
        Some(c) if is_unavailable(c) => {
            Error::Unavailable(format!("{what}: {message} ({c}, HTTP {})", status.as_u16()))
        }
        Some(c @ ("40001" | "40P01")) => Error::Database {
            code: Some(c.to_owned()),
            message,
        },
        Some(c) if status.is_server_error() && !is_deterministic(c) => {
            Error::Unavailable(format!("{what}: {message} ({c}, HTTP {})", status.as_u16()))
        }
        None if status.is_server_error()
            || status == StatusCode::TOO_MANY_REQUESTS
            || status == StatusCode::REQUEST_TIMEOUT =>
        {
            Error::Unavailable(format!("{what}: the REST API answered {message}"))
        }
        Some(c) => Error::Database {
            code: Some(c.to_owned()),
            message: with_hint(what, &message, hint.as_deref(), c),
        },
        None => Error::Database {
            code: None,
            message: format!(
                "{what}: the REST API answered HTTP {}: {message}",
                status.as_u16()
            ),
        },
    }
}

/// Says which key an operation needs, after the server refused it.
fn refusal(what: &str, role: KeyRole, message: &str) -> String {
    match role {
        KeyRole::Public => format!(
            "{what} needs the secret (service_role) key; the public (anon) key may only log \
             interactions and read metrics ({message})"
        ),
        KeyRole::Secret => format!(
            "{what} was refused to the secret (service_role) key ({message}); are the \
             migrations, 004 with its grants included, applied?"
        ),
        KeyRole::Other => format!(
            "{what} was refused to this key ({message}); it needs the secret (service_role) key"
        ),
    }
}

/// Codes that say the database cannot be reached or is not ready: worth another try.
fn is_unavailable(code: &str) -> bool {
    code.starts_with("08")
        || code.starts_with("53")
        || matches!(code, "57P01" | "57P02" | "57P03")
        || matches!(code, "PGRST000" | "PGRST001" | "PGRST002" | "PGRST003")
}

/// SQLSTATE classes a retry cannot change: data, integrity, syntax or access, raised; and
/// a statement timeout, which the same call would only run into again (a retry at once
/// would only add load to a server already short of time).
fn is_deterministic(code: &str) -> bool {
    code == "57014"
        || ["22", "23", "42", "P0", "PGRST1", "PGRST2"]
            .iter()
            .any(|class| code.starts_with(class))
}

/// The server's message, with its hint, and ours when the schema looks unmigrated.
fn with_hint(what: &str, message: &str, hint: Option<&str>, code: &str) -> String {
    let mut text = format!("{what}: {message}");
    if let Some(hint) = hint.filter(|h| !h.is_empty()) {
        text.push_str(&format!(" (hint: {hint})"));
    }
    if matches!(code, "PGRST202" | "PGRST205" | "42P01" | "42883") {
        text.push_str(
            "; are the migrations applied? Run `assistant-db migrate` with DATABASE_URL, or \
             paste `assistant-db schema` into the SQL editor",
        );
    }
    text
}

/// The `"…"`-quoted names in a PostgreSQL message, in order.
fn quoted(message: &str) -> Vec<&str> {
    message.split('"').skip(1).step_by(2).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(status: u16, body: &str) -> Error {
        error_from_response(
            StatusCode::from_u16(status).expect("status"),
            body.as_bytes(),
            "doing it",
            KeyRole::Public,
        )
    }

    #[test]
    fn postgrest_error_bodies_map_to_the_typed_errors() {
        let e = error(
            400,
            r#"{"code":"23514","details":"Failing row contains (…)","hint":null,"message":"new row for relation \"interactions\" violates check constraint \"interactions_assistant_mode_check\""}"#,
        );
        assert!(
            matches!(&e, Error::CheckViolation { table, column, constraint }
                if table == "interactions" && column == "assistant_mode"
                    && constraint == "interactions_assistant_mode_check"),
            "{e:?}"
        );
        let e = error(
            409,
            r#"{"code":"23503","details":"Key (interaction_id)=(x) is not present in table \"interactions\".","hint":null,"message":"insert or update on table \"escalations\" violates foreign key constraint \"escalations_interaction_id_fkey\""}"#,
        );
        assert!(
            matches!(&e, Error::ForeignKey { constraint, detail }
                if constraint == "escalations_interaction_id_fkey" && detail.starts_with("Key (interaction_id)")),
            "{e:?}"
        );
        let e = error(
            409,
            r#"{"code":"23505","details":"Key (openai_file_id)=(f1) already exists.","hint":null,"message":"duplicate key value violates unique constraint \"knowledge_documents_openai_file_id_key\""}"#,
        );
        assert!(
            matches!(&e, Error::Duplicate { constraint, .. } if constraint == "knowledge_documents_openai_file_id_key"),
            "{e:?}"
        );
        let e = error(
            400,
            r#"{"code":"23502","details":null,"hint":null,"message":"null value in column \"user_query\" of relation \"interactions\" violates not-null constraint"}"#,
        );
        assert!(
            matches!(&e, Error::NotNull { table, column } if table == "interactions" && column == "user_query"),
            "{e:?}"
        );
    }

    #[test]
    fn refusals_of_the_functions_are_validation_and_permission_errors() {
        let e = error(
            400,
            r#"{"code":"22023","details":"{\"rule\": \"must be between 0 and 1 (got 42)\", \"field\": \"confidence_score\", \"index\": 3, \"table\": \"interactions\"}","hint":null,"message":"interactions[3].confidence_score: must be between 0 and 1 (got 42)"}"#,
        );
        match &e {
            Error::Validation(v) => {
                assert_eq!(v.field, "interactions[3].confidence_score");
                assert_eq!(v.rule, "must be between 0 and 1 (got 42)");
            }
            other => panic!("expected a validation error, got {other:?}"),
        }
        assert!(!e.is_retryable());
        // Other 22023s (a bad bucket) stay database errors.
        assert!(matches!(
            error(
                400,
                r#"{"code":"22023","details":null,"hint":"Omit p_bucket.","message":"bad bucket"}"#
            ),
            Error::Database { .. }
        ));
        let e = error(
            401,
            r#"{"code":"42501","details":null,"hint":"The database owner turns them on with SELECT assistant_db.set_public_metrics(true).","message":"interaction_metrics: metrics are off for this key; it may only log"}"#,
        );
        match &e {
            Error::PermissionDenied(message) => {
                assert!(message.contains("metrics are off"), "{message}");
                assert!(message.contains("set_public_metrics(true)"), "{message}");
                assert!(!message.contains("needs the secret"), "{message}");
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
        // A statement timeout is not retried at once: it would only run into it again.
        let e = error(
            500,
            r#"{"code":"57014","details":null,"hint":null,"message":"canceling statement due to statement timeout"}"#,
        );
        assert!(
            matches!(&e, Error::Database { code: Some(c), .. } if c == "57014"),
            "{e:?}"
        );
        assert!(!e.is_retryable());
    }

    #[test]
    fn refusals_and_bad_keys_are_typed_and_say_which_key_is_needed() {
        let e = error(
            401,
            r#"{"code":"42501","details":null,"hint":null,"message":"permission denied for table interactions"}"#,
        );
        match &e {
            Error::PermissionDenied(message) => {
                assert!(message.contains("secret (service_role) key"), "{message}");
                assert!(message.contains("doing it"), "{message}");
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
        for body in [
            r#"{"code":"PGRST301","details":null,"hint":null,"message":"JWT cryptographic operation failed"}"#,
            r#"{"code":"PGRST303","details":null,"hint":null,"message":"JWT expired"}"#,
            r#"{"message":"Invalid API key","hint":"Double check your Supabase `anon` or `service_role` API key."}"#,
            "",
        ] {
            assert!(matches!(error(401, body), Error::Auth(_)), "{body}");
        }
        assert!(matches!(error(403, "<html>"), Error::PermissionDenied(_)));
    }

    #[test]
    fn what_may_pass_is_retryable_and_what_cannot_is_not() {
        for (status, body) in [
            (503, ""),
            (502, "<html>bad gateway</html>"),
            (429, r#"{"message":"rate limited"}"#),
            (
                503,
                r#"{"code":"PGRST001","details":null,"hint":null,"message":"Database client error"}"#,
            ),
            (
                500,
                r#"{"code":"XX000","details":null,"hint":null,"message":"internal"}"#,
            ),
            (
                409,
                r#"{"code":"40001","details":null,"hint":null,"message":"could not serialize access"}"#,
            ),
        ] {
            assert!(error(status, body).is_retryable(), "{status} {body}");
        }
        for (status, body) in [
            (
                400,
                r#"{"code":"22023","details":null,"hint":"Omit p_bucket.","message":"bad bucket"}"#,
            ),
            (
                500,
                r#"{"code":"42883","details":null,"hint":null,"message":"function x does not exist"}"#,
            ),
            (
                404,
                r#"{"code":"PGRST202","details":null,"hint":null,"message":"Could not find the function"}"#,
            ),
            (404, ""),
        ] {
            let e = error(status, body);
            assert!(!e.is_retryable(), "{status} {body}: {e:?}");
        }
        match error(
            404,
            r#"{"code":"PGRST202","details":null,"hint":null,"message":"Could not find the function public.log_interactions"}"#,
        ) {
            Error::Database {
                code: Some(c),
                message,
            } => {
                assert_eq!(c, "PGRST202");
                assert!(message.contains("migrations"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn key_roles_are_read_from_supabase_keys() {
        let jwt = |claims: &str| {
            let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
            Secret::new(format!("{}.{}.sig", b64(r#"{"alg":"HS256"}"#), b64(claims)))
        };
        assert_eq!(KeyRole::of(&jwt(r#"{"role":"anon"}"#)), KeyRole::Public);
        assert_eq!(
            KeyRole::of(&jwt(r#"{"role":"service_role","exp":1}"#)),
            KeyRole::Secret
        );
        assert_eq!(
            KeyRole::of(&jwt(r#"{"role":"authenticated"}"#)),
            KeyRole::Other
        );
        assert_eq!(
            KeyRole::of(&Secret::new("sb_publishable_abc")),
            KeyRole::Public
        );
        assert_eq!(KeyRole::of(&Secret::new("sb_secret_abc")), KeyRole::Secret);
        assert_eq!(KeyRole::of(&Secret::new("not a jwt")), KeyRole::Other);
    }

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

    #[test]
    fn writes_are_batched_with_each_escalation_beside_its_interaction() {
        use crate::model::{AssistantMode, Outcome};
        let store = RestStore::new(
            "http://127.0.0.1:1",
            Secret::new("k"),
            RestOptions {
                batch_rows: 10,
                ..RestOptions::default()
            },
        )
        .expect("store");
        let interactions: Vec<Interaction> = (0..35)
            .map(|n| {
                Interaction::new(
                    AssistantMode::Customer,
                    &format!("q{n}"),
                    Outcome::Escalated,
                )
                .expect("valid")
            })
            .collect();
        let mut escalations: Vec<Escalation> = interactions
            .iter()
            .rev()
            .map(|i| Escalation::new(i.id, "t", "r").expect("valid"))
            .collect();
        let elsewhere =
            Escalation::new(Uuid::now_v7(), "t", "an earlier interaction").expect("valid");
        escalations.push(elsewhere.clone());
        let batches = store.batches(&interactions, &escalations).expect("batches");
        assert_eq!(
            batches.len(),
            8,
            "seven of five pairs, and the stray escalation"
        );
        for (batch, pairs) in batches.iter().zip(interactions.chunks(5)) {
            assert_eq!(batch.rows, 10);
            for (i, e) in pairs.iter().zip(&batch.escalations) {
                assert!(batch
                    .interactions
                    .iter()
                    .any(|row| row.contains(&i.id.to_string())));
                let e: Escalation = serde_json::from_str(e).expect("row");
                assert!(pairs.iter().any(|i| Some(i.id) == e.interaction_id));
            }
        }
        assert_eq!(batches[7].escalations.len(), 1);
        assert!(batches[7].escalations[0].contains(&elsewhere.id.to_string()));
        assert!(store.batches(&[], &[]).expect("empty").is_empty());
    }

    #[test]
    fn batches_never_exceed_what_one_call_of_the_public_key_may_carry() {
        use crate::model::{AssistantMode, Outcome};
        let store = RestStore::new(
            "http://127.0.0.1:1",
            Secret::new("k"),
            RestOptions {
                batch_rows: 5_000,
                batch_bytes: 64 << 20,
                ..RestOptions::default()
            },
        )
        .expect("store");
        assert_eq!(store.inner.options.batch_rows, MAX_CALL_ROWS);
        assert_eq!(store.inner.options.batch_bytes, MAX_CALL_BYTES);
        // Rows whose JSON grows when PostgreSQL prints it: many separators, exponents.
        let interactions: Vec<Interaction> = (0..40)
            .map(|n| {
                let mut i = Interaction::new(
                    AssistantMode::Customer,
                    &"\u{1}".repeat(20_000 + n),
                    Outcome::Resolved,
                )
                .expect("valid");
                i.confidence_score = Some(crate::model::Confidence::new(5e-324).expect("valid"));
                i
            })
            .collect();
        let batches = store.batches(&interactions, &[]).expect("batches");
        assert!(batches.len() > 1);
        for batch in &batches {
            let printed: usize = [&batch.interactions, &batch.escalations]
                .iter()
                .map(|rows| {
                    let text = format!("[{}]", rows.join(","));
                    jsonb_text_len(&text)
                })
                .sum();
            assert!(printed <= MAX_CALL_BYTES, "{printed}");
            assert!(
                printed <= Batch::BRACKETS + batch.bytes,
                "{printed} > {}",
                batch.bytes
            );
        }
    }

    #[test]
    fn cursors_and_filters_become_postgrest_parameters() {
        let id = Uuid::nil();
        let ts: DateTime<Utc> = "2026-10-01T10:00:00.123456Z".parse().expect("ts");
        assert_eq!(
            after_filter(&Cursor { timestamp: Some(ts), id }),
            format!("(timestamp.lt.\"2026-10-01T10:00:00.123456Z\",and(timestamp.eq.\"2026-10-01T10:00:00.123456Z\",id.lt.{id}))")
        );
        assert_eq!(
            after_filter(&Cursor {
                timestamp: None,
                id
            }),
            format!("(timestamp.not.is.null,id.lt.{id})")
        );
        assert_eq!(
            encode("eq.a b+c&d=\"é\""),
            "eq.a%20b%2Bc%26d%3D%22%C3%A9%22"
        );
    }
}

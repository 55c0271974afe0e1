//! The JSON API: metrics and interactions to read; interactions, escalations and
//! knowledge documents to write; health and Prometheus metrics for operators.
//!
//! Every error answers `{"error": "...", "errors": [{"index", "field", "rule"}]}`, the
//! `errors` list only when fields are at fault (422, or 400 for a body that is not JSON).

use std::str::FromStr;
use std::time::Duration;

use assistant_db::logger::{Entry, Logger};
use assistant_db::metrics::{Bucket, Metrics, MetricsFilter};
use assistant_db::model::{AssistantMode, Escalation, IntentCategory, Outcome, Rule};
use assistant_db::query::{
    Cursor, InteractionDetail, InteractionFilter, InteractionQuery, Page, MAX_PAGE_SIZE,
};
use assistant_db::row::InteractionRow;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use futures_util::future::try_join_all;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::auth::{Denied, TOKEN_VAR};
use super::dashboard;
use super::ingest::{self, BodyError, EscalatedInteraction, FieldError};
use super::openapi::schemas;
use super::AppState;

/// How long a health check waits for the database.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(2);
/// Seconds a client is asked to wait before retrying when the database is away.
const RETRY_AFTER_SECONDS: &str = "5";
/// Largest error body `explain_status` reads to turn into JSON.
const MAX_EXPLAINED_BODY: usize = 64 * 1024;

/// An API failure, answered as JSON with the status that says what the caller can do.
#[derive(Debug)]
pub enum ApiError {
    /// The body is not JSON (400).
    Malformed(String),
    /// Fields break rules (422); nothing was written.
    Invalid(Vec<FieldError>),
    /// No such resource (404).
    NotFound(String),
    /// The request lacks the right token (401) or writes are disabled (403).
    Denied(Denied),
    /// The write conflicts with stored rows (409).
    Conflict(String),
    /// The database or the spool cannot take the request now; retry later (503).
    Unavailable(String),
    /// Anything else (500).
    Internal(String),
}

/// The JSON body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong, in words.
    pub error: String,
    /// The fields at fault, for 400 and 422 responses.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldError>>,
}

impl From<Denied> for ApiError {
    fn from(denied: Denied) -> Self {
        ApiError::Denied(denied)
    }
}

impl From<BodyError> for ApiError {
    fn from(err: BodyError) -> Self {
        match err {
            BodyError::Syntax(message) => ApiError::Malformed(message),
            BodyError::Invalid(errors) => ApiError::Invalid(errors),
        }
    }
}

impl From<assistant_db::Error> for ApiError {
    fn from(err: assistant_db::Error) -> Self {
        use assistant_db::Error as E;
        match err {
            E::Validation(e) => ApiError::Invalid(vec![FieldError::new(e.field, e.rule)]),
            E::CheckViolation {
                column, constraint, ..
            } => ApiError::Invalid(vec![FieldError::new(
                column,
                format!("is refused by the database's check constraint `{constraint}`"),
            )]),
            E::NotNull { column, .. } => {
                ApiError::Invalid(vec![FieldError::new(column, "is required")])
            }
            e @ (E::ForeignKey { .. } | E::Duplicate { .. }) => ApiError::Conflict(e.to_string()),
            e @ (E::Unavailable(_) | E::SpoolFull(_)) => ApiError::Unavailable(e.to_string()),
            other => ApiError::Internal(summary(&other)),
        }
    }
}

/// An error in words that cannot carry customer text: database messages may quote
/// values, so only their SQLSTATE is kept.
pub fn summary(err: &assistant_db::Error) -> String {
    use assistant_db::Error as E;
    match err {
        E::Database { code, .. } => format!(
            "database error {}",
            code.as_deref().unwrap_or("without SQLSTATE")
        ),
        E::Config(_) | E::Migration(_) | E::Local(_) | E::Io { .. } => err.to_string(),
        _ => "unexpected error".to_owned(),
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, error, errors) = match self {
            ApiError::Malformed(message) => (
                StatusCode::BAD_REQUEST,
                message.clone(),
                Some(vec![FieldError::new(".", message)]),
            ),
            ApiError::Invalid(errors) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                match errors.len() {
                    1 => "1 field is invalid; nothing was written".to_owned(),
                    n => format!("{n} fields are invalid; nothing was written"),
                },
                Some(errors),
            ),
            ApiError::NotFound(message) => (StatusCode::NOT_FOUND, message, None),
            ApiError::Denied(Denied::WritesDisabled) => (
                StatusCode::FORBIDDEN,
                format!(
                    "writes are disabled: start the server with {TOKEN_VAR} set and send \
                     it as `Authorization: Bearer <token>`"
                ),
                None,
            ),
            ApiError::Denied(Denied::Missing) => (
                StatusCode::UNAUTHORIZED,
                "this endpoint needs the server's token as `Authorization: Bearer <token>`"
                    .to_owned(),
                None,
            ),
            ApiError::Denied(Denied::Wrong) => (
                StatusCode::UNAUTHORIZED,
                "the bearer token is not the server's token".to_owned(),
                None,
            ),
            ApiError::Conflict(message) => (StatusCode::CONFLICT, message, None),
            ApiError::Unavailable(message) => {
                tracing::warn!(error = %message, "answering 503");
                (StatusCode::SERVICE_UNAVAILABLE, message, None)
            }
            ApiError::Internal(message) => {
                tracing::error!(error = %message, "answering 500");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("internal error: {message}"),
                    None,
                )
            }
        };
        let mut response = (status, Json(ErrorBody { error, errors })).into_response();
        let headers = response.headers_mut();
        match status {
            StatusCode::UNAUTHORIZED => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"assistant-db\""),
                );
            }
            StatusCode::SERVICE_UNAVAILABLE => {
                headers.insert(
                    header::RETRY_AFTER,
                    HeaderValue::from_static(RETRY_AFTER_SECONDS),
                );
            }
            _ => {}
        }
        response
    }
}

/// The query string's parameters, taken one at a time; a name left over, given twice or
/// with a bad value becomes a field error.
#[derive(Debug)]
pub struct Params {
    pairs: Vec<(String, String)>,
    errors: Vec<FieldError>,
}

impl Params {
    /// Wraps the decoded `name=value` pairs.
    pub fn new(pairs: Vec<(String, String)>) -> Self {
        Params {
            pairs,
            errors: Vec::new(),
        }
    }

    /// Takes `name`'s value; an empty value counts as absent.
    pub fn text(&mut self, name: &str) -> Option<String> {
        let (mine, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut self.pairs)
            .into_iter()
            .partition(|(key, _)| key == name);
        self.pairs = rest;
        if mine.len() > 1 {
            self.errors
                .push(FieldError::new(name, "is given more than once"));
            return None;
        }
        mine.into_iter()
            .next()
            .map(|(_, value)| value)
            .filter(|value| !value.is_empty())
    }

    /// Takes `name`'s value and parses it, recording the rule it breaks.
    pub fn parse<T>(
        &mut self,
        name: &str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        let text = self.text(name)?;
        match parse(&text) {
            Ok(value) => Some(value),
            Err(rule) => {
                self.errors.push(FieldError::new(name, rule));
                None
            }
        }
    }

    /// Records a field error found while combining parameters.
    pub fn reject(&mut self, name: &str, rule: impl Into<String>) {
        self.errors.push(FieldError::new(name, rule));
    }

    /// Fails with every error so far, and with every parameter nobody took.
    pub fn finish(mut self) -> Result<(), ApiError> {
        for (name, _) in std::mem::take(&mut self.pairs) {
            if !self.errors.iter().any(|e| e.field == name) {
                self.errors
                    .push(FieldError::new(name, "is not a parameter of this endpoint"));
            }
        }
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Invalid(self.errors))
        }
    }
}

/// Parses an RFC 3339 timestamp into UTC. A `+` of an offset that arrived as a space
/// (an unencoded `+` in a query string) is read as `+`.
pub fn timestamp(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(&text.trim().replace(' ', "+"))
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("must be an RFC 3339 timestamp such as 2025-05-01T00:00:00Z ({e})"))
}

/// Parses a value of one of the schema's CHECK enums.
fn check_enum<T: TryFrom<String, Error = Rule>>(text: &str) -> Result<T, String> {
    T::try_from(text.to_owned()).map_err(|rule| rule.to_string())
}

/// `from` and `to`, checked to be in order.
fn window(params: &mut Params) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
    let from = params.parse("from", timestamp);
    let to = params.parse("to", timestamp);
    if let (Some(from), Some(to)) = (from, to) {
        if from > to {
            params.reject("from", "must not be after `to`");
        }
    }
    (from, to)
}

/// The metrics filter a query string describes.
pub fn metrics_filter(mut params: Params) -> Result<MetricsFilter, ApiError> {
    let mode = params.parse("mode", check_enum::<AssistantMode>);
    let (from, to) = window(&mut params);
    let intent = params.text("intent");
    let category = params.parse("category", check_enum::<IntentCategory>);
    let bucket = params
        .parse("bucket", |s| Bucket::from_str(s).map_err(|e| e.rule))
        .unwrap_or_default();
    params.finish()?;
    Ok(MetricsFilter {
        mode,
        from,
        to,
        intent,
        category,
        bucket,
    })
}

/// The dashboard metrics, computed by PostgreSQL: the same object as
/// `assistant-db metrics --json`.
#[utoipa::path(
    get,
    path = "/api/metrics",
    tag = "read",
    params(schemas::MetricsParams),
    responses(
        (status = 200, description = "The metrics of the matching interactions", body = schemas::Metrics),
        (status = 422, description = "A parameter is invalid", body = ErrorBody),
    ),
    security((), ("bearer" = [])),
)]
pub async fn metrics(
    State(state): State<AppState>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<Metrics>, ApiError> {
    let filter = metrics_filter(Params::new(pairs))?;
    Ok(Json(state.client().metrics(&filter).await?))
}

/// The interaction query a query string describes.
pub fn interaction_query(mut params: Params) -> Result<InteractionQuery, ApiError> {
    let mode = params.parse("mode", check_enum::<AssistantMode>);
    let outcome = params.parse("outcome", check_enum::<Outcome>);
    let intent = params.text("intent");
    let category = params.parse("category", check_enum::<IntentCategory>);
    let session = params.text("session");
    let (from, to) = window(&mut params);
    let limit = params.parse("limit", |s| match s.parse::<u32>() {
        Ok(n) if (1..=MAX_PAGE_SIZE).contains(&n) => Ok(n),
        _ => Err(format!(
            "must be a whole number between 1 and {MAX_PAGE_SIZE} (got {s:?})"
        )),
    });
    let after = params.parse("after", |s| Cursor::from_str(s).map_err(|e| e.rule));
    params.finish()?;
    Ok(InteractionQuery {
        filter: InteractionFilter {
            mode,
            outcome,
            intent,
            category,
            session,
            from,
            to,
        },
        limit,
        after,
    })
}

/// One page of interactions, newest first; pass `next` back as `after` for the next page
/// (keyset pagination: pages stay consistent while rows are added).
#[utoipa::path(
    get,
    path = "/api/interactions",
    tag = "read",
    params(schemas::ListParams),
    responses(
        (status = 200, description = "A page of interactions", body = schemas::InteractionPage),
        (status = 422, description = "A parameter is invalid", body = ErrorBody),
    ),
    security((), ("bearer" = [])),
)]
pub async fn list_interactions(
    State(state): State<AppState>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<Page<InteractionRow>>, ApiError> {
    let query = interaction_query(Params::new(pairs))?;
    Ok(Json(state.client().interactions(&query).await?))
}

/// Parses an id from the path.
pub fn parse_id(text: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(text).map_err(|_| {
        ApiError::Invalid(vec![FieldError::new(
            "id",
            format!("must be a UUID (got {text:?})"),
        )])
    })
}

/// One interaction with every field, its citations and its escalations.
#[utoipa::path(
    get,
    path = "/api/interactions/{id}",
    tag = "read",
    params(("id" = Uuid, Path, description = "The interaction's id")),
    responses(
        (status = 200, description = "The interaction and its escalations", body = schemas::InteractionDetail),
        (status = 404, description = "No interaction has this id", body = ErrorBody),
        (status = 422, description = "The id is not a UUID", body = ErrorBody),
    ),
    security((), ("bearer" = [])),
)]
pub async fn get_interaction(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<InteractionDetail>, ApiError> {
    let id = parse_id(&id)?;
    state
        .client()
        .interaction(id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::NotFound(format!("no interaction has id {id}")))
}

/// What a write accepted: the ids, in the order of the request, to retry with or to
/// read back.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct Accepted {
    /// Ids of the interactions (given or generated).
    pub interactions: Vec<Uuid>,
    /// Ids of the escalations (given or generated).
    pub escalations: Vec<Uuid>,
}

/// Spools interactions with their escalations.
///
/// An entry holds an interaction and at most one escalation, so further escalations
/// are spooled only after every interaction is: the spool is first in, first out, so
/// the drain never writes an escalation before its interaction.
async fn spool(logger: &Logger, items: Vec<EscalatedInteraction>) -> assistant_db::Result<()> {
    let mut later = Vec::new();
    let first: Vec<Entry> = items
        .into_iter()
        .map(|item| {
            let mut escalations = item.escalations.into_iter();
            let escalation = escalations.next();
            later.extend(escalations);
            Entry {
                interaction: Some(item.interaction),
                escalation,
            }
        })
        .collect();
    // Concurrent appends share one disk sync (the spool's group commit).
    try_join_all(first.into_iter().map(|entry| logger.log_entry(entry))).await?;
    spool_escalations(logger, later).await
}

/// Spools standalone escalations.
async fn spool_escalations(
    logger: &Logger,
    escalations: Vec<Escalation>,
) -> assistant_db::Result<()> {
    try_join_all(escalations.into_iter().map(|e| logger.log_escalation(e))).await?;
    Ok(())
}

/// Logs interactions: one object or an array of up to 1000, each optionally carrying
/// `"escalations": [...]` that are written together with it.
///
/// Records are validated first (nothing is written unless all are valid), then spooled
/// durably and written to the database in the background: `202` means "on disk, will be
/// stored", even while the database is down. Give every record an `id` to make retries
/// safe: an id already stored is skipped.
#[utoipa::path(
    post,
    path = "/api/interactions",
    tag = "write",
    request_body(content = schemas::InteractionBody, description = "One interaction or an array of them"),
    responses(
        (status = 202, description = "Spooled; will be written to the database", body = Accepted),
        (status = 400, description = "The body is not JSON", body = ErrorBody),
        (status = 401, description = "Missing or wrong bearer token", body = ErrorBody),
        (status = 403, description = "Writes are disabled (no token configured)", body = ErrorBody),
        (status = 413, description = "The body is larger than the limit", body = ErrorBody),
        (status = 422, description = "Fields are invalid; nothing was written", body = ErrorBody),
        (status = 503, description = "The spool is full; part of the batch may be spooled, so resend it whole (ids make that safe)", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn post_interactions(
    State(state): State<AppState>,
    body: Bytes,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    let items = ingest::interactions(&body)?;
    let mut accepted = Accepted::default();
    for item in &items {
        accepted.interactions.push(item.interaction.id);
        accepted
            .escalations
            .extend(item.escalations.iter().map(|e| e.id));
    }
    spool(state.logger(), items).await?;
    Ok((StatusCode::ACCEPTED, Json(accepted)))
}

/// Logs escalations of interactions logged before: one object or an array. Each needs
/// `interaction_id`; one naming an interaction that never arrives is refused by the
/// database later and kept in the spool's dead letters (`assistant-db spool`).
#[utoipa::path(
    post,
    path = "/api/escalations",
    tag = "write",
    request_body(content = schemas::EscalationBody, description = "One escalation or an array of them"),
    responses(
        (status = 202, description = "Spooled; will be written to the database", body = Accepted),
        (status = 400, description = "The body is not JSON", body = ErrorBody),
        (status = 401, description = "Missing or wrong bearer token", body = ErrorBody),
        (status = 403, description = "Writes are disabled (no token configured)", body = ErrorBody),
        (status = 422, description = "Fields are invalid; nothing was written", body = ErrorBody),
        (status = 503, description = "The spool is full; retry later", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn post_escalations(
    State(state): State<AppState>,
    body: Bytes,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    let escalations = ingest::escalations(&body)?;
    let accepted = Accepted {
        interactions: Vec::new(),
        escalations: escalations.iter().map(|e| e.id).collect(),
    };
    spool_escalations(state.logger(), escalations).await?;
    Ok((StatusCode::ACCEPTED, Json(accepted)))
}

/// One knowledge document written by an upsert.
#[derive(Debug, Serialize, ToSchema)]
pub struct DocumentWritten {
    /// Position in the request's array; absent for a single object.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<usize>,
    /// The stored row's id (an existing row keeps its id).
    pub id: Uuid,
    /// The key the row was matched on.
    pub openai_file_id: String,
    /// True if the row is new, false if an existing one was updated.
    pub inserted: bool,
}

/// What `PUT /api/knowledge-documents` wrote.
#[derive(Debug, Serialize, ToSchema)]
pub struct DocumentsWritten {
    /// One entry per document, in the order of the request.
    pub documents: Vec<DocumentWritten>,
}

/// Registers or updates knowledge documents by `openai_file_id`: one object or an array,
/// atomically. Unlike interactions these are written at once (the logger carries
/// interactions and escalations only), so a database outage answers `503`; the upsert
/// is idempotent, so retry.
#[utoipa::path(
    put,
    path = "/api/knowledge-documents",
    tag = "write",
    request_body(content = schemas::KnowledgeDocumentBody, description = "One document or an array of them"),
    responses(
        (status = 200, description = "Written", body = DocumentsWritten),
        (status = 400, description = "The body is not JSON", body = ErrorBody),
        (status = 401, description = "Missing or wrong bearer token", body = ErrorBody),
        (status = 403, description = "Writes are disabled (no token configured)", body = ErrorBody),
        (status = 422, description = "Fields are invalid; nothing was written", body = ErrorBody),
        (status = 503, description = "The database is unavailable; retry later", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn put_knowledge_documents(
    State(state): State<AppState>,
    body: Bytes,
) -> Result<Json<DocumentsWritten>, ApiError> {
    let batch = body.trim_ascii_start().starts_with(b"[");
    let documents = ingest::knowledge_documents(&body)?;
    let rows = state
        .client()
        .upsert_knowledge_documents(&documents)
        .await?;
    if rows.len() != documents.len() {
        return Err(ApiError::Internal(format!(
            "the upsert returned {} rows for {} documents",
            rows.len(),
            documents.len()
        )));
    }
    // The upsert returns its rows in the order of its input.
    let documents = documents
        .iter()
        .zip(rows)
        .enumerate()
        .map(|(i, (document, row))| DocumentWritten {
            index: batch.then_some(i),
            id: row.id,
            openai_file_id: document.openai_file_id.as_str().to_owned(),
            inserted: row.inserted,
        })
        .collect();
    Ok(Json(DocumentsWritten { documents }))
}

/// The health report.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok` when the database answers, `unavailable` when it does not (writes are still
    /// accepted into the spool).
    pub status: &'static str,
    /// Whether the database answered within two seconds.
    pub database_reachable: bool,
    /// Entries waiting in the spool for the database.
    pub spool_depth: Option<u64>,
    /// Age of the oldest waiting entry, in milliseconds.
    pub spool_oldest_age_ms: Option<u64>,
}

/// Liveness and readiness: is the database reachable, how much waits in the spool.
/// Open to everyone (no customer data), for load balancers and probes.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "operations",
    responses(
        (status = 200, description = "The database answers", body = Health),
        (status = 503, description = "The database does not answer", body = Health),
    ),
    security(()),
)]
pub async fn healthz(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    let reachable = matches!(
        tokio::time::timeout(HEALTH_TIMEOUT, state.client().test_connection()).await,
        Ok(Ok(()))
    );
    let stats = state.logger().stats().await.ok();
    let status = if reachable {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(Health {
            status: if reachable { "ok" } else { "unavailable" },
            database_reachable: reachable,
            spool_depth: stats.as_ref().map(|s| s.depth),
            spool_oldest_age_ms: stats.and_then(|s| s.oldest_age_ms),
        }),
    )
}

/// Prometheus metrics: requests and latencies per route, the logger's counters.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    responses((status = 200, description = "Prometheus text exposition format", body = String, content_type = "text/plain")),
    security((), ("bearer" = [])),
)]
pub async fn prometheus(State(state): State<AppState>) -> Response {
    let stats = state.logger().stats().await.ok();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.telemetry().render(stats.as_ref()),
    )
        .into_response()
}

/// Any path nobody serves: JSON under `/api/`, a page elsewhere.
pub async fn not_found(uri: Uri) -> Response {
    if uri.path().starts_with("/api/") {
        ApiError::NotFound(format!("no endpoint at {}", uri.path())).into_response()
    } else {
        dashboard::not_found_page("There is no page at this address.")
    }
}

/// Turns error responses made by layers (body too large, method not allowed, a query
/// string that does not decode) into the API's JSON error shape; pages stay pages.
pub async fn explain_status(response: Response) -> Response {
    let status = response.status();
    let typed = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/json") || t.starts_with("text/html"));
    if !(status.is_client_error() || status.is_server_error()) || typed {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = match axum::body::to_bytes(body, MAX_EXPLAINED_BODY).await {
        Ok(bytes) if !bytes.is_empty() => String::from_utf8_lossy(&bytes).trim().to_owned(),
        _ => status.canonical_reason().unwrap_or("error").to_owned(),
    };
    let error = if status == StatusCode::PAYLOAD_TOO_LARGE {
        format!("the body is larger than this server accepts ({text})")
    } else {
        text
    };
    let mut response = (
        status,
        Json(ErrorBody {
            error,
            errors: None,
        }),
    )
        .into_response();
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            response.headers_mut().insert(name, value.clone());
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Params {
        Params::new(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }

    fn fields(err: ApiError) -> Vec<(String, String)> {
        match err {
            ApiError::Invalid(errors) => errors.into_iter().map(|e| (e.field, e.rule)).collect(),
            other => panic!("expected field errors, got {other:?}"),
        }
    }

    #[test]
    fn metrics_parameters_are_parsed_and_checked() {
        let filter = metrics_filter(params(&[
            ("mode", "banker"),
            ("from", "2025-05-01T00:00:00 02:00"),
            ("bucket", "week"),
            ("intent", ""),
        ]))
        .expect("valid");
        assert_eq!(filter.mode, Some(AssistantMode::Banker));
        assert_eq!(filter.bucket, Bucket::Week);
        assert_eq!(
            filter.from.map(|t| t.to_rfc3339()),
            Some("2025-04-30T22:00:00+00:00".into())
        );
        assert_eq!(filter.intent, None);

        let errors = fields(
            metrics_filter(params(&[
                ("mode", "robot"),
                ("bucket", "month"),
                ("colour", "red"),
            ]))
            .expect_err("invalid"),
        );
        let names: Vec<&str> = errors.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(names, ["mode", "bucket", "colour"], "{errors:?}");
        assert!(errors[0]
            .1
            .starts_with("must be one of 'customer', 'banker'"));
    }

    #[test]
    fn windows_must_be_in_order() {
        let errors = fields(
            metrics_filter(params(&[
                ("from", "2025-05-02T00:00:00Z"),
                ("to", "2025-05-01T00:00:00Z"),
            ]))
            .expect_err("reversed"),
        );
        assert_eq!(errors[0].0, "from");
    }

    #[test]
    fn list_parameters_check_limit_and_cursor() {
        let errors = fields(
            interaction_query(params(&[
                ("limit", "0"),
                ("after", "nope"),
                ("mode", "x"),
                ("mode", "y"),
            ]))
            .expect_err("invalid"),
        );
        let names: Vec<&str> = errors.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(names, ["mode", "limit", "after"], "{errors:?}");
        let query =
            interaction_query(params(&[("limit", "10"), ("outcome", "escalated")])).expect("valid");
        assert_eq!(query.limit, Some(10));
        assert_eq!(query.filter.outcome, Some(Outcome::Escalated));
    }

    #[test]
    fn database_messages_stay_out_of_errors() {
        let err = ApiError::from(assistant_db::Error::Database {
            code: Some("22P02".into()),
            message: "invalid input syntax: \"my secret query\"".into(),
        });
        match err {
            ApiError::Internal(message) => assert_eq!(message, "database error 22P02"),
            other => panic!("{other:?}"),
        }
    }
}

//! The dashboard: server-rendered HTML with inline SVG charts, one small stylesheet and
//! one small script, all embedded in the binary. Filters live in the URL
//! (`/?mode=banker&from=7d&tz=Europe/Paris&q=card`), so a view can be bookmarked and
//! shared, and the pages work without JavaScript: the overview, an interaction's detail,
//! a conversation's turns (`/sessions/{id}`) and the knowledge documents.

pub mod charts;
pub mod filter;
pub mod views;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;

use self::filter::{PageFilter, TABLE_ROWS};
use crate::auth::Principal;
use crate::error::{summary, ApiError};
use crate::html;
use crate::params::{decode_query, session_id, PathId};
use crate::state::AppState;
use uuid::Uuid;

/// Documents on one page of the knowledge documents.
const DOCUMENT_ROWS: u32 = 50;

/// The stylesheet, embedded.
const CSS: &str = include_str!("../../assets/dashboard.css");
/// The script, embedded.
const JS: &str = include_str!("../../assets/dashboard.js");

/// True when the request came from a browser session, which can sign out.
fn signed_in(principal: Option<Extension<Principal>>) -> bool {
    matches!(principal, Some(Extension(Principal::Session)))
}

/// `GET /`: the dashboard.
pub async fn index(
    State(state): State<AppState>,
    principal: Option<Extension<Principal>>,
    RawQuery(query): RawQuery,
) -> Response {
    let (filter, notices) = PageFilter::from_query(query.as_deref());
    let metrics_filter = filter.metrics();
    let previous_filter = filter.previous_metrics();
    let table_query = filter.interactions();
    let client = state.client();
    let previous = async {
        match &previous_filter {
            Some(f) => client.metrics(f).await.map(Some),
            None => Ok(None),
        }
    };
    let loaded = tokio::try_join!(
        client.metrics(&metrics_filter),
        previous,
        client.recent_escalations(&metrics_filter, TABLE_ROWS),
        client.interactions(&table_query),
    );
    match loaded {
        Ok((metrics, previous, escalations, page)) => views::dashboard(&views::Dashboard {
            filter: &filter,
            notices: &notices,
            metrics: &metrics,
            previous: previous.as_ref(),
            escalations: &escalations,
            page: &page,
            writes_enabled: state.auth().access().writes_enabled(),
            base_url: state.base_url(),
            signed_in: signed_in(principal),
        }),
        Err(e) => database_error_page(&e),
    }
}

/// `GET /interactions/{id}`: one interaction in full.
pub async fn detail(
    State(state): State<AppState>,
    principal: Option<Extension<Principal>>,
    id: Result<PathId, ApiError>,
    RawQuery(query): RawQuery,
) -> Response {
    let (filter, _) = PageFilter::from_query(query.as_deref());
    let Ok(PathId(id)) = id else {
        return not_found_page("That is not an interaction id.");
    };
    match state.client().interaction(id).await {
        Ok(Some(detail)) => views::detail(&detail, &filter, signed_in(principal)),
        Ok(None) => not_found_page(&format!("No interaction has id {id}.")),
        Err(e) => database_error_page(&e),
    }
}

/// `GET /sessions/{id}`: every turn of one conversation, oldest first.
pub async fn session(
    State(state): State<AppState>,
    principal: Option<Extension<Principal>>,
    id: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
) -> Response {
    let (filter, _) = PageFilter::from_query(query.as_deref());
    let Ok(id) = session_id(id) else {
        return not_found_page("That is not a session id.");
    };
    match state.client().session(&id).await {
        Ok(turns) if turns.turns.is_empty() => not_found_page(&format!(
            "No interaction has session id “{}”.",
            html::shorten(&id, 80)
        )),
        Ok(turns) => views::session(&turns, &filter, signed_in(principal)),
        Err(e) => database_error_page(&e),
    }
}

/// `GET /knowledge-documents`: the registered documents, a page at a time.
pub async fn knowledge_documents(
    State(state): State<AppState>,
    principal: Option<Extension<Principal>>,
    RawQuery(query): RawQuery,
) -> Response {
    let (filter, _) = PageFilter::from_query(query.as_deref());
    let (pairs, _) = decode_query(query.as_deref());
    let after = pairs
        .iter()
        .find(|(name, _)| name == "after")
        .and_then(|(_, value)| Uuid::parse_str(value.trim()).ok());
    match state
        .client()
        .knowledge_documents(after, DOCUMENT_ROWS)
        .await
    {
        Ok(docs) => views::knowledge_documents(&docs, after, filter.tz, signed_in(principal)),
        Err(e) => database_error_page(&e),
    }
}

/// `GET /assets/{file}`: the embedded stylesheet and script.
pub async fn asset(Path(file): Path<String>) -> Response {
    let (content_type, body) = match file.as_str() {
        "dashboard.css" => ("text/css; charset=utf-8", CSS),
        "dashboard.js" => ("text/javascript; charset=utf-8", JS),
        _ => return not_found_page("There is no such file."),
    };
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

/// A page saying what was not found, with status 404.
pub fn not_found_page(message: &str) -> Response {
    let body = views::message_page("Not found", message);
    (
        StatusCode::NOT_FOUND,
        html::page("Not found · assistant-db", &body),
    )
        .into_response()
}

/// A page saying the database could not answer, with status 503 (or 500).
fn database_error_page(err: &assistant_db::Error) -> Response {
    let (status, message) = if err.is_retryable() {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "The database is not answering right now ({err}). Writes sent to the API \
                 are kept in the spool meanwhile. Reload in a moment."
            ),
        )
    } else {
        tracing::error!(error = %summary(err), "the dashboard cannot read");
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("The dashboard cannot read the database: {}.", summary(err)),
        )
    };
    let body = views::message_page("Database unavailable", &message);
    (status, html::page("Unavailable · assistant-db", &body)).into_response()
}

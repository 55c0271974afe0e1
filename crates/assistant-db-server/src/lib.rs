//! The HTTP API and the metrics dashboard of `assistant-db serve`, in one axum router.
//!
//! Reads go straight to the database through the [`Client`]. Writes are parsed with the
//! model's own parsers ([`ingest`]), then handed to the [`Logger`]'s durable spool and
//! answered `202 Accepted`: a database outage delays them instead of failing the
//! caller, and client-generated ids make a retried request harmless.
//!
//! Each concern has its module: who may call what ([`auth`]), the JSON API ([`api`]) and
//! its OpenAPI document ([`openapi`]), request counters for Prometheus ([`telemetry`]),
//! and the server-rendered dashboard ([`dashboard`]). Request and response bodies are
//! never logged: they hold customer text.

pub mod api;
pub mod auth;
pub mod dashboard;
pub mod ingest;
pub mod openapi;
pub mod telemetry;

use std::future::Future;
use std::sync::Arc;

use assistant_db::logger::Logger;
use assistant_db::Client;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::{header, HeaderValue};
use axum::middleware;
use axum::routing::{get, post, put};
use axum::Router;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use self::auth::Access;
use self::telemetry::Telemetry;

/// Largest request body accepted by default, in bytes (4 MiB).
pub const DEFAULT_MAX_BODY_BYTES: usize = 4 << 20;

/// Everything a request handler may use; cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    client: Client,
    logger: Logger,
    access: Access,
    telemetry: Telemetry,
}

impl AppState {
    /// State over a connected client and a running logger, with the given access rules.
    pub fn new(client: Client, logger: Logger, access: Access) -> Self {
        AppState {
            inner: Arc::new(Inner {
                client,
                logger,
                access,
                telemetry: Telemetry::default(),
            }),
        }
    }

    /// The database client (reads).
    pub fn client(&self) -> &Client {
        &self.inner.client
    }

    /// The logger (writes of interactions and escalations).
    pub fn logger(&self) -> &Logger {
        &self.inner.logger
    }

    /// Who may call what.
    pub fn access(&self) -> &Access {
        &self.inner.access
    }

    /// Request counters and latency histograms.
    pub fn telemetry(&self) -> &Telemetry {
        &self.inner.telemetry
    }
}

/// The whole application: pages, API, health and metrics, with access control, a body
/// size limit, request telemetry and body-free tracing.
pub fn router(state: AppState, max_body_bytes: usize) -> Router {
    Router::new()
        .route("/", get(dashboard::index))
        .route("/interactions/{id}", get(dashboard::detail))
        .route("/assets/{file}", get(dashboard::asset))
        .route("/login", get(auth::login_form).post(auth::login))
        .route("/api/metrics", get(api::metrics))
        .route(
            "/api/interactions",
            get(api::list_interactions).post(api::post_interactions),
        )
        .route("/api/interactions/{id}", get(api::get_interaction))
        .route("/api/escalations", post(api::post_escalations))
        .route(
            "/api/knowledge-documents",
            put(api::put_knowledge_documents),
        )
        .route("/api/openapi.json", get(openapi::document))
        .route("/healthz", get(api::healthz))
        .route("/metrics", get(api::prometheus))
        .fallback(api::not_found)
        .layer(middleware::from_fn_with_state(state.clone(), auth::guard))
        .layer(DefaultBodyLimit::disable())
        .layer(RequestBodyLimitLayer::new(max_body_bytes))
        .layer(middleware::map_response(api::explain_status))
        .layer(middleware::from_fn(security_headers))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            telemetry::record,
        ))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(span)
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .with_state(state)
}

/// Serves `router` on `listener` until `shutdown` completes, then lets requests in
/// flight finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}

/// The tracing span of a request: method and route template only. The query string
/// and the body stay out of traces (they may hold customer text or filters on it).
fn span(request: &Request) -> tracing::Span {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str);
    tracing::info_span!("request", method = %request.method(), route)
}

/// Headers every response carries: no sniffing, no referrer, not framed, not cached.
async fn security_headers(request: Request, next: middleware::Next) -> axum::response::Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let fixed = [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ];
    for (name, value) in fixed {
        headers.insert(name, HeaderValue::from_static(value));
    }
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

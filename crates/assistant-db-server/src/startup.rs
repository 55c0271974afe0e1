//! Putting the server together: the router with its middleware, and a [`Server`] that
//! binds, then serves until told to stop.

use std::future::Future;
use std::net::SocketAddr;

use assistant_db::logger::Logger;
use assistant_db::Client;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::middleware;
use axum::routing::{delete, get, post, put};
use axum::Router;
use tokio::net::TcpListener;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::auth::session::NoRandomness;
use crate::auth::{self, Auth};
use crate::body::BodyLimits;
use crate::config::{HostNames, Settings};
use crate::dashboard;
use crate::listen::{self, Limits};
use crate::middleware::{errors, headers, host};
use crate::openapi;
use crate::routes::{
    escalations, fallback, health, interactions, knowledge_documents, metrics, prometheus, sessions,
};
use crate::state::AppState;
use crate::telemetry;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// The address cannot be listened on (in use, not ours, no permission).
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The system cannot give the randomness sessions need.
    #[error(transparent)]
    Random(#[from] NoRandomness),
}

/// The whole application: pages, API, health and metrics, behind the `Host` check and
/// the access rules, with body limits, request telemetry and body-free tracing.
pub fn router(state: AppState) -> Router {
    // Listed innermost first: a request meets the last layer first.
    Router::new()
        .route("/", get(dashboard::index))
        .route("/interactions/{id}", get(dashboard::detail))
        .route("/assets/{file}", get(dashboard::asset))
        .route("/login", get(auth::login_form).post(auth::login))
        .route("/logout", post(auth::logout))
        .route("/api/metrics", get(metrics::metrics))
        .route(
            "/api/interactions",
            get(interactions::list).post(interactions::post),
        )
        .route("/api/interactions/{id}", get(interactions::get_one))
        .route("/api/escalations", post(escalations::post))
        .route("/api/knowledge-documents", put(knowledge_documents::put))
        .route("/api/sessions/{id}", delete(sessions::erase))
        .route("/api/openapi.json", get(openapi::document))
        .route("/healthz", get(health::healthz))
        .route("/metrics", get(prometheus::prometheus))
        .fallback(fallback::not_found)
        .layer(middleware::from_fn_with_state(state.clone(), auth::guard))
        .layer(DefaultBodyLimit::disable())
        .layer(RequestBodyLimitLayer::new(body_limits(&state).max_bytes))
        .layer(middleware::map_response(errors::explain_status))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            host::check_host,
        ))
        .layer(middleware::from_fn(headers::security_headers))
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

fn body_limits(state: &AppState) -> BodyLimits {
    axum::extract::FromRef::from_ref(state)
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

/// The URL of a server bound to `addr`, as a client on this machine reaches it: a
/// wildcard address (`0.0.0.0`, `::`) is reached at the loopback address.
fn bound_url(addr: SocketAddr, tls: bool) -> String {
    let scheme = if tls { "https" } else { "http" };
    let mut addr = addr;
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr.ip() {
            std::net::IpAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            std::net::IpAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    format!("{scheme}://{addr}")
}

/// A server bound to its address, ready to run.
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    local: SocketAddr,
    router: Router,
    limits: Limits,
}

impl Server {
    /// Listens on the settings' address and builds the application over `client` and
    /// `logger`.
    pub async fn bind(
        settings: Settings,
        client: Client,
        logger: Logger,
    ) -> Result<Self, ServeError> {
        let addr = settings.addr();
        let bind_error = |source| ServeError::Bind { addr, source };
        let listener = TcpListener::bind(addr).await.map_err(bind_error)?;
        let local = listener.local_addr().map_err(bind_error)?;
        let base_url = match settings.public_urls().first() {
            Some(public) => public.to_string(),
            None => bound_url(local, settings.tls().is_some()),
        };
        let state = AppState::new(
            client,
            logger,
            Auth::new(&settings)?,
            HostNames::new(local, settings.public_urls()),
            BodyLimits {
                max_bytes: settings.max_body_bytes(),
                timeout: settings.body_timeout(),
            },
            base_url,
        );
        Ok(Server {
            listener,
            local,
            router: router(state),
            limits: Limits {
                header_timeout: settings.header_timeout(),
                max_connections: settings.max_connections(),
                tls: settings.tls().cloned(),
            },
        })
    }

    /// The address the server listens on (with the real port when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The base URL of the server at its bound address: `http://127.0.0.1:8080`.
    pub fn url(&self) -> String {
        bound_url(self.local, self.limits.tls.is_some())
    }

    /// Serves until `shutdown` completes, then lets requests in flight finish.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        listen::serve(self.listener, self.router, self.limits, shutdown).await;
    }
}

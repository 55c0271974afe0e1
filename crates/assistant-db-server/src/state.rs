//! What request handlers share: the database client, the logger, the access rules, the
//! names the server answers to, the body limits and the request counters.
//!
//! Middleware and handlers that need only one part take it through axum's `FromRef`
//! (`State<Arc<Auth>>`, `State<Arc<Telemetry>>`, …), so their modules do not depend on
//! this one.

use std::sync::Arc;

use assistant_db::logger::Logger;
use assistant_db::Client;
use axum::extract::FromRef;

use crate::auth::Auth;
use crate::body::BodyLimits;
use crate::config::HostNames;
use crate::telemetry::Telemetry;

/// Everything a request handler may use; cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    client: Client,
    logger: Logger,
    auth: Arc<Auth>,
    hosts: Arc<HostNames>,
    body: BodyLimits,
    telemetry: Arc<Telemetry>,
    base_url: String,
}

impl AppState {
    /// State over a connected client and a running logger, with these rules; `base_url`
    /// is where clients reach the server (`http://127.0.0.1:8080`), for examples shown.
    pub fn new(
        client: Client,
        logger: Logger,
        auth: Auth,
        hosts: HostNames,
        body: BodyLimits,
        base_url: String,
    ) -> Self {
        AppState {
            inner: Arc::new(Inner {
                client,
                logger,
                auth: Arc::new(auth),
                hosts: Arc::new(hosts),
                body,
                telemetry: Arc::default(),
                base_url,
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
    pub fn auth(&self) -> &Auth {
        &self.inner.auth
    }

    /// Where clients reach the server, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// Request counters and latency histograms.
    pub fn telemetry(&self) -> &Telemetry {
        &self.inner.telemetry
    }
}

impl FromRef<AppState> for Arc<Auth> {
    fn from_ref(state: &AppState) -> Self {
        Arc::clone(&state.inner.auth)
    }
}

impl FromRef<AppState> for Arc<HostNames> {
    fn from_ref(state: &AppState) -> Self {
        Arc::clone(&state.inner.hosts)
    }
}

impl FromRef<AppState> for Arc<Telemetry> {
    fn from_ref(state: &AppState) -> Self {
        Arc::clone(&state.inner.telemetry)
    }
}

impl FromRef<AppState> for BodyLimits {
    fn from_ref(state: &AppState) -> Self {
        state.inner.body
    }
}

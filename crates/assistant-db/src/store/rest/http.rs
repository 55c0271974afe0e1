//! One request to the API: the URL, the headers, and retries of what may pass.
//!
//! A request that failed for a reason that may pass (connection refused or dropped,
//! timeout, HTTP 5xx or 429, serialization failure) is sent again after a jittered,
//! exponentially growing pause, at least as long as the server's `Retry-After`. Writes
//! are safe to repeat: every row carries its client-generated id and the functions skip
//! ids they hold.

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use reqwest::header::{HeaderMap, ACCEPT, CONTENT_TYPE};
use reqwest::{Method, Url};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::errors::error_from_response;
use super::params::encode;
use super::RestStore;
use crate::error::{Error, Result};

/// One HTTP request to the API.
pub(super) struct Call<'a> {
    pub(super) method: Method,
    /// Path under the base URL: a table, or `rpc/<function>`.
    pub(super) path: &'a str,
    pub(super) query: Vec<(&'static str, String)>,
    pub(super) body: Option<Vec<u8>>,
    pub(super) prefer: Option<&'static str>,
    /// What the caller was doing, for error messages ("reading interactions").
    pub(super) what: &'a str,
}

impl<'a> Call<'a> {
    /// A call with no parameters, body or preferences.
    pub(super) fn new(method: Method, path: &'a str, what: &'a str) -> Self {
        Call {
            method,
            path,
            query: Vec::new(),
            body: None,
            prefer: None,
            what,
        }
    }

    /// The call with these query parameters.
    pub(super) fn query(mut self, query: Vec<(&'static str, String)>) -> Self {
        self.query = query;
        self
    }

    /// The call with this JSON body.
    pub(super) fn body(mut self, body: Vec<u8>) -> Self {
        self.body = Some(body);
        self
    }

    /// The call with this `Prefer` header.
    pub(super) fn prefer(mut self, prefer: &'static str) -> Self {
        self.prefer = Some(prefer);
        self
    }
}

impl RestStore {
    /// Sends `call` and parses its JSON answer.
    pub(super) async fn json<T: DeserializeOwned>(&self, call: &Call<'_>) -> Result<T> {
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
    pub(super) async fn send(&self, call: &Call<'_>) -> Result<Vec<u8>> {
        self.send_full(call).await.map(|(_, body)| body)
    }

    /// [`send`](Self::send), with the successful response's headers.
    pub(super) async fn send_full(&self, call: &Call<'_>) -> Result<(HeaderMap, Vec<u8>)> {
        let options = &self.inner.options;
        let url = self.url(call)?;
        let mut pauses = ExponentialBuilder::new()
            .with_min_delay(options.initial_backoff)
            .with_max_delay(options.max_backoff)
            .with_max_times(options.max_attempts.saturating_sub(1) as usize)
            .with_jitter()
            .build();
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
                    let headers = response.headers().clone();
                    match response.bytes().await {
                        Ok(body) if status.is_success() => {
                            tracing::debug!(method = %call.method, path = call.path, status = status.as_u16(), attempt, "REST request done");
                            return Ok((headers, body.to_vec()));
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
            let Some(pause) = pauses.next() else {
                return Err(match error {
                    Error::Unavailable(message) => {
                        Error::Unavailable(format!("{message} (gave up after {attempt} attempts)"))
                    }
                    other => other,
                });
            };
            // The server's `Retry-After` is a floor; `max_backoff` caps both.
            let pause = retry_after
                .map_or(pause, |asked| pause.max(asked))
                .min(options.max_backoff);
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
}

/// A record or request body as JSON bytes.
pub(super) fn to_bytes<T: Serialize + ?Sized>(body: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(body).map_err(encode_error)
}

/// A record as a JSON string.
pub(super) fn to_string<T: Serialize + ?Sized>(record: &T) -> Result<String> {
    serde_json::to_string(record).map_err(encode_error)
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

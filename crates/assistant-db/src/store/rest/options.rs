//! How the REST transport talks to the API: timeouts, retries and batch sizes.

use std::time::Duration;

#[allow(unused_imports)] // named in the docs
use crate::model::limits::{MAX_CALL_BYTES, MAX_CALL_ROWS};

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

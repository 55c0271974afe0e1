//! Reading a request body whole, within a size limit and a time limit.
//!
//! The time limit covers the whole body, not the gap between two packets: a client
//! that trickles one byte a second would pass any per-packet timeout and hold its
//! connection for as long as the size limit lets it.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{FromRef, FromRequest, Request};
use http_body_util::LengthLimitError;

use crate::error::ApiError;

/// The limits every request body is read under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyLimits {
    /// Largest body, in bytes.
    pub max_bytes: usize,
    /// Longest time the whole body may take to arrive.
    pub timeout: Duration,
}

/// A request body read whole under the state's [`BodyLimits`]: 413 when too large,
/// 408 when too slow.
#[derive(Debug, Clone)]
pub struct RequestBody(pub Bytes);

impl<S> FromRequest<S> for RequestBody
where
    S: Send + Sync,
    BodyLimits: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let limits = BodyLimits::from_ref(state);
        let read = axum::body::to_bytes(request.into_body(), limits.max_bytes);
        match tokio::time::timeout(limits.timeout, read).await {
            Ok(Ok(bytes)) => Ok(RequestBody(bytes)),
            Ok(Err(e)) if is_too_large(&e) => Err(ApiError::TooLarge(limits.max_bytes)),
            Ok(Err(e)) => Err(ApiError::Malformed(format!("the body cannot be read: {e}"))),
            Err(_) => Err(ApiError::BodyTimeout(limits.timeout)),
        }
    }
}

/// True when reading failed because the body passed its size limit.
fn is_too_large(err: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = source {
        if e.is::<LengthLimitError>() {
            return true;
        }
        source = e.source();
    }
    false
}

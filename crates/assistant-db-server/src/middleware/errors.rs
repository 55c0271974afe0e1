//! JSON bodies for error responses made outside the handlers (body too large, method
//! not allowed, a path segment that does not decode), so every API error has one shape.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::error::ErrorBody;

/// Largest error body read to turn into JSON.
const MAX_EXPLAINED_BODY: usize = 64 * 1024;

/// Turns error responses made by layers into the API's JSON error shape; pages and
/// responses that already are JSON stay as they are.
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

//! The answer for paths nobody serves: JSON under `/api/`, a page elsewhere.

use axum::http::Uri;
use axum::response::{IntoResponse, Response};

use crate::dashboard;
use crate::error::ApiError;

/// Any path nobody serves.
pub async fn not_found(uri: Uri) -> Response {
    if uri.path().starts_with("/api/") {
        ApiError::NotFound(format!("no endpoint at {}", uri.path())).into_response()
    } else {
        dashboard::not_found_page("There is no page at this address.")
    }
}

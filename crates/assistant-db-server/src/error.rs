//! The one error type of every handler and middleware, answered as JSON with the status
//! that tells the caller what to do next.
//!
//! Every error answers `{"error": "...", "errors": [{"index", "field", "rule"}]}`, the
//! `errors` list only when fields are at fault. Messages say what was attempted: a read
//! never claims that "nothing was written", and a database's own message never reaches
//! the caller (it may quote customer text), only its SQLSTATE.

use std::time::Duration;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use crate::config::TOKEN_VAR;

/// Seconds a client is asked to wait before retrying when the database is away.
const RETRY_AFTER_SECONDS: &str = "5";

/// One broken rule: which record (in a batch), which field or parameter, and what it
/// must satisfy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    /// Position of the record in the request's array; absent for a single object and
    /// for parameters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<usize>,
    /// The field, as a JSON path inside the record (`citations[0].number`), the name of
    /// a query or path parameter, or `.` for the record (or body) as a whole.
    pub field: String,
    /// The rule the value breaks, in words.
    pub rule: String,
}

impl FieldError {
    /// An error about `field`, outside any batch.
    pub fn new(field: impl Into<String>, rule: impl Into<String>) -> Self {
        FieldError {
            index: None,
            field: field.into(),
            rule: rule.into(),
        }
    }
}

/// Why a request lacks the right to do what it asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    /// A write, and no token is configured: writes are disabled.
    WritesDisabled,
    /// The request carries no token (or no valid session, for a read).
    Missing,
    /// The request carries a token that is not the configured one.
    Wrong,
}

/// An API failure.
#[derive(Debug)]
pub enum ApiError {
    /// The body is not JSON, or not readable (400).
    Malformed(String),
    /// Query or path parameters break rules (422); this was a read or nothing started.
    InvalidParameters(Vec<FieldError>),
    /// Records in the body break rules (422); nothing was written.
    InvalidRecords(Vec<FieldError>),
    /// No such resource (404).
    NotFound(String),
    /// The request lacks the right token (401) or writes are disabled (403).
    Denied(Denied),
    /// The write conflicts with stored rows (409).
    Conflict(String),
    /// The body is larger than the limit, in bytes (413).
    TooLarge(usize),
    /// The body did not arrive within the time allowed (408).
    BodyTimeout(Duration),
    /// The database or the spool cannot take the request now; retry later (503).
    Unavailable(String),
    /// Anything else (500); the message holds no customer text.
    Internal(String),
}

/// The JSON body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong, in words.
    pub error: String,
    /// The fields or parameters at fault, for 400 and 422 responses.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldError>>,
}

impl From<Denied> for ApiError {
    fn from(denied: Denied) -> Self {
        ApiError::Denied(denied)
    }
}

impl ApiError {
    /// A failed read of `what` (`"the metrics"`), in words that fit a read.
    pub fn reading(what: &'static str) -> impl FnOnce(assistant_db::Error) -> ApiError {
        move |err| {
            use assistant_db::Error as E;
            match err {
                E::Validation(e) => {
                    ApiError::InvalidParameters(vec![FieldError::new(e.field, e.rule)])
                }
                e @ E::Unavailable(_) => {
                    ApiError::Unavailable(format!("cannot read {what}: {e}; retry later"))
                }
                other => ApiError::Internal(format!("cannot read {what}: {}", summary(&other))),
            }
        }
    }

    /// A failed write of `what` (`"the knowledge documents"`), in words that fit a write.
    pub fn writing(what: &'static str) -> impl FnOnce(assistant_db::Error) -> ApiError {
        move |err| {
            use assistant_db::Error as E;
            match err {
                E::Validation(e) => {
                    ApiError::InvalidRecords(vec![FieldError::new(e.field, e.rule)])
                }
                E::CheckViolation {
                    column, constraint, ..
                } => ApiError::InvalidRecords(vec![FieldError::new(
                    column,
                    format!("is refused by the database's check constraint `{constraint}`"),
                )]),
                E::NotNull { column, .. } => {
                    ApiError::InvalidRecords(vec![FieldError::new(column, "is required")])
                }
                // The constraint's detail may quote stored values: name the constraint only.
                E::ForeignKey { constraint, .. } | E::Duplicate { constraint, .. } => {
                    ApiError::Conflict(format!(
                        "cannot write {what}: they conflict with stored rows (constraint \
                         `{constraint}`); nothing was written"
                    ))
                }
                e @ (E::Unavailable(_) | E::SpoolFull(_)) => {
                    ApiError::Unavailable(format!("cannot write {what}: {e}; retry later"))
                }
                other => ApiError::Internal(format!("cannot write {what}: {}", summary(&other))),
            }
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
        E::Config(_) | E::Migration(_) | E::Local(_) | E::Io { .. } | E::NotMigrated { .. } => {
            err.to_string()
        }
        _ => "unexpected error".to_owned(),
    }
}

/// `n` things, with the noun in the singular or plural.
fn count(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one} is")
    } else {
        format!("{n} {many} are")
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
            ApiError::InvalidParameters(errors) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("{} invalid", count(errors.len(), "parameter", "parameters")),
                Some(errors),
            ),
            ApiError::InvalidRecords(errors) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                format!(
                    "{} invalid; nothing was written",
                    count(errors.len(), "field", "fields")
                ),
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
            ApiError::TooLarge(limit) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the body is larger than this server accepts ({limit} bytes)"),
                None,
            ),
            ApiError::BodyTimeout(limit) => (
                StatusCode::REQUEST_TIMEOUT,
                format!(
                    "the body did not arrive in time (the limit is {limit:?}); nothing was read"
                ),
                None,
            ),
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
            // The rest of the body is still on its way: the connection cannot be reused.
            StatusCode::REQUEST_TIMEOUT | StatusCode::PAYLOAD_TOO_LARGE => {
                headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            _ => {}
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body(err: ApiError) -> (StatusCode, serde_json::Value) {
        let response = err.into_response();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .expect("body");
        (status, serde_json::from_slice(&bytes).expect("json"))
    }

    #[test]
    fn database_messages_stay_out_of_errors() {
        let err = ApiError::reading("the interactions")(assistant_db::Error::Database {
            code: Some("22P02".into()),
            message: "invalid input syntax: \"my secret query\"".into(),
        });
        match err {
            ApiError::Internal(message) => {
                assert_eq!(
                    message,
                    "cannot read the interactions: database error 22P02"
                );
            }
            other => panic!("{other:?}"),
        }
        let err = ApiError::writing("the documents")(assistant_db::Error::Duplicate {
            constraint: "knowledge_documents_openai_file_id_key".into(),
            detail: "Key (openai_file_id)=(my secret) already exists.".into(),
        });
        match err {
            ApiError::Conflict(message) => assert!(!message.contains("secret"), "{message}"),
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn only_writes_say_nothing_was_written() {
        let (status, read) = body(ApiError::InvalidParameters(vec![FieldError::new(
            "limit", "x",
        )]))
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(read["error"], "1 parameter is invalid");
        let (_, write) = body(ApiError::InvalidRecords(vec![
            FieldError::new("a", "x"),
            FieldError::new("b", "y"),
        ]))
        .await;
        assert_eq!(write["error"], "2 fields are invalid; nothing was written");
    }
}

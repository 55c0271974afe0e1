//! The library's one error type, shared by every transport and command.

use crate::model::ValidationError;

/// Result with the library's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in assistant-db, by what the caller can do about it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A record or argument broke a rule; nothing was written.
    #[error(transparent)]
    Validation(#[from] ValidationError),

    /// The configuration is missing or inconsistent.
    #[error("configuration: {0}")]
    Config(String),

    /// The database rejected a value through a CHECK constraint.
    #[error("`{column}` violates check constraint `{constraint}` of table `{table}`")]
    CheckViolation {
        /// Table the row was written to.
        table: String,
        /// Column the constraint guards, when it can be named.
        column: String,
        /// Name of the violated constraint.
        constraint: String,
    },

    /// A foreign key points at a row that does not exist.
    #[error("foreign key `{constraint}` violated: {detail}")]
    ForeignKey {
        /// Name of the violated constraint.
        constraint: String,
        /// PostgreSQL's detail line.
        detail: String,
    },

    /// A unique key already holds the value.
    #[error("duplicate value for unique constraint `{constraint}`: {detail}")]
    Duplicate {
        /// Name of the violated constraint.
        constraint: String,
        /// PostgreSQL's detail line.
        detail: String,
    },

    /// A required column was left empty.
    #[error("`{column}` of table `{table}` must not be null")]
    NotNull {
        /// Table the row was written to.
        table: String,
        /// The column left null.
        column: String,
    },

    /// The key or role in use may not do this (SQLSTATE 42501); the message says which
    /// key the operation needs.
    #[error("permission denied: {0}")]
    PermissionDenied(String),

    /// The API refused the key itself: unknown, tampered with or expired.
    #[error("authentication failed: {0}")]
    Auth(String),

    /// The database cannot be reached right now; the same call may succeed later.
    #[error("database unavailable: {0}")]
    Unavailable(String),

    /// Any other error reported by the database.
    #[error("database error{}: {message}", .code.as_deref().map(|c| format!(" {c}")).unwrap_or_default())]
    Database {
        /// SQLSTATE code, when the server sent one.
        code: Option<String>,
        /// The server's message.
        message: String,
    },

    /// The logger's local spool could not be read or written (a full disk, an I/O
    /// error); what it had accepted before stays on disk.
    #[error("spool: {0}")]
    Spool(String),

    /// The logger's spool reached its configured limit; nothing was written.
    #[error("spool full: {0}")]
    SpoolFull(String),

    /// A migration could not be applied, or an applied one no longer matches its file.
    #[error("migration: {0}")]
    Migration(String),

    /// The embedded local PostgreSQL could not be set up, started or stopped.
    #[error("local PostgreSQL: {0}")]
    Local(String),

    /// A filesystem operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// True when retrying the same operation later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Error::Unavailable(_))
            || matches!(self, Error::Database { code: Some(c), .. } if c == "40001" || c == "40P01")
    }

    /// Wraps an I/O error with what was being attempted.
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }
}

impl From<sqlx::Error> for Error {
    fn from(err: sqlx::Error) -> Self {
        match err {
            sqlx::Error::Database(db) => from_database_error(db.as_ref()),
            sqlx::Error::Io(e) => Error::Unavailable(e.to_string()),
            sqlx::Error::Tls(e) => Error::Unavailable(format!("TLS: {e}")),
            sqlx::Error::PoolTimedOut => {
                Error::Unavailable("timed out waiting for a database connection".into())
            }
            sqlx::Error::PoolClosed => Error::Unavailable("the connection pool is closed".into()),
            sqlx::Error::WorkerCrashed => {
                Error::Unavailable("the connection worker crashed".into())
            }
            sqlx::Error::Configuration(e) => Error::Config(e.to_string()),
            sqlx::Error::Migrate(e) => Error::Migration(e.to_string()),
            other => Error::Database {
                code: None,
                message: other.to_string(),
            },
        }
    }
}

/// Maps a PostgreSQL error to the typed variants, by SQLSTATE.
fn from_database_error(db: &dyn sqlx::error::DatabaseError) -> Error {
    let pg = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>();
    let code = db.code().map(|c| c.into_owned());
    let table = pg.and_then(|e| e.table()).unwrap_or_default().to_owned();
    let constraint = db.constraint().unwrap_or_default().to_owned();
    let detail = pg
        .and_then(|e| e.detail())
        .unwrap_or_else(|| db.message())
        .to_owned();
    match code.as_deref() {
        Some("22023") => match pg.and_then(|e| e.detail()).and_then(refusal_of) {
            Some(refusal) => Error::Validation(refusal),
            None => Error::Database {
                code,
                message: db.message().to_owned(),
            },
        },
        Some("23514") => Error::CheckViolation {
            column: column_of_check(&table, &constraint),
            table,
            constraint,
        },
        Some("23503") => Error::ForeignKey { constraint, detail },
        Some("23505") => Error::Duplicate { constraint, detail },
        Some("23502") => Error::NotNull {
            table,
            column: pg.and_then(|e| e.column()).unwrap_or_default().to_owned(),
        },
        Some("42501") => {
            Error::PermissionDenied(with_hint(db.message(), pg.and_then(|e| e.hint())))
        }
        // Connection failures, admin shutdown, too many connections, cannot connect now.
        Some(c) if c.starts_with("08") || c == "57P01" || c == "57P03" || c == "53300" => {
            Error::Unavailable(db.message().to_owned())
        }
        _ => Error::Database {
            code,
            message: db.message().to_owned(),
        },
    }
}

/// The validation error in the DETAIL of a refusal by the migrations' functions
/// (`log_interactions`, `interaction_metrics`): a JSON object with `field` and `rule`,
/// and `table` and `index` when a row is at fault. The field becomes the row's JSON path,
/// `interactions[3].confidence_score`. Any other DETAIL is not such a refusal.
pub(crate) fn refusal_of(detail: &str) -> Option<ValidationError> {
    #[derive(serde::Deserialize)]
    struct Refusal {
        table: Option<String>,
        index: Option<u64>,
        field: String,
        rule: String,
    }
    let refusal: Refusal = serde_json::from_str(detail).ok()?;
    let field = match (refusal.table, refusal.index) {
        (Some(table), Some(index)) if refusal.field.is_empty() => format!("{table}[{index}]"),
        (Some(table), Some(index)) => format!("{table}[{index}].{}", refusal.field),
        _ => refusal.field,
    };
    Some(ValidationError::new(field, refusal.rule))
}

/// A server message with its hint, which says what to do, written as the REST transport
/// writes it (`… (hint: …)`).
fn with_hint(message: &str, hint: Option<&str>) -> String {
    match hint.filter(|h| !h.is_empty()) {
        Some(hint) => format!("{message} (hint: {hint})"),
        None => message.to_owned(),
    }
}

/// PostgreSQL names an inline CHECK `<table>_<column>_check`; recover the column.
pub(crate) fn column_of_check(table: &str, constraint: &str) -> String {
    constraint
        .strip_prefix(table)
        .and_then(|rest| rest.strip_prefix('_'))
        .and_then(|rest| rest.strip_suffix("_check"))
        .unwrap_or(constraint)
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_of_the_functions_become_validation_errors() {
        let row = refusal_of(
            r#"{"rule": "must be between 0 and 1 (got 42)", "field": "confidence_score", "index": 3, "table": "interactions"}"#,
        )
        .expect("a refusal");
        assert_eq!(row.field, "interactions[3].confidence_score");
        assert_eq!(row.rule, "must be between 0 and 1 (got 42)");
        let whole_row = refusal_of(
            r#"{"rule": "must be a JSON object (got string)", "field": "", "index": 0, "table": "escalations"}"#,
        )
        .expect("a refusal");
        assert_eq!(whole_row.field, "escalations[0]");
        let argument = refusal_of(
            r#"{"rule": "must hold at least 10 interactions with this key", "field": "window", "index": null, "table": null}"#,
        )
        .expect("a refusal");
        assert_eq!(argument.field, "window");
        assert_eq!(refusal_of("Failing row contains (…)"), None);
        assert_eq!(refusal_of(r#"{"field": 1}"#), None);
    }

    #[test]
    fn check_constraint_names_give_the_column() {
        assert_eq!(
            column_of_check("interactions", "interactions_assistant_mode_check"),
            "assistant_mode"
        );
        assert_eq!(
            column_of_check(
                "knowledge_documents",
                "knowledge_documents_content_type_check"
            ),
            "content_type"
        );
        assert_eq!(column_of_check("interactions", "custom"), "custom");
    }
}

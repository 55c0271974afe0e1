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

    /// The database lacks a table or function of assistant-db's schema: the migrations
    /// are not applied, or not all of them. Retrying cannot help until they are.
    #[error(
        "the database does not have assistant-db's schema ({message}, {code}): run \
         `assistant-db migrate` (over the REST API only: paste the output of \
         `assistant-db schema` into the Supabase SQL editor)"
    )]
    NotMigrated {
        /// SQLSTATE (`42P01`, `42883`) or PostgREST code (`PGRST202`, `PGRST205`).
        code: String,
        /// What the server said was missing.
        message: String,
    },

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
        match self {
            Error::Unavailable(_) => true,
            Error::Database { code: Some(c), .. } => is_serialization_failure(c),
            _ => false,
        }
    }

    /// Wraps an I/O error with what was being attempted.
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }
}

/// What the database said about a failed statement, whichever transport carried it:
/// PostgreSQL's error fields over the direct transport, PostgREST's error body over REST.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct DbFailure {
    /// SQLSTATE.
    pub code: String,
    /// The primary message.
    pub message: String,
    /// The DETAIL line.
    pub detail: Option<String>,
    /// The table the error is about, when known.
    pub table: Option<String>,
    /// The constraint the error is about, when known.
    pub constraint: Option<String>,
    /// The column the error is about, when known.
    pub column: Option<String>,
    /// The HINT line: what to do about it.
    pub hint: Option<String>,
}

impl From<DbFailure> for Error {
    /// The one table from SQLSTATE to the typed variants, for both transports.
    fn from(f: DbFailure) -> Self {
        let table = f.table.unwrap_or_default();
        let constraint = f.constraint.unwrap_or_default();
        match f.code.as_str() {
            "23514" => Error::CheckViolation {
                column: column_of_check(&table, &constraint),
                table,
                constraint,
            },
            "23503" => Error::ForeignKey {
                constraint,
                detail: f.detail.unwrap_or(f.message),
            },
            "23505" => Error::Duplicate {
                constraint,
                detail: f.detail.unwrap_or(f.message),
            },
            "23502" => Error::NotNull {
                table,
                column: f.column.unwrap_or_default(),
            },
            "42501" => Error::PermissionDenied(with_hint(&f.message, f.hint.as_deref())),
            VALIDATION => match f.detail.as_deref().and_then(refusal_of) {
                Some(refusal) => Error::Validation(refusal),
                None => Error::Database {
                    code: Some(f.code),
                    message: f.message,
                },
            },
            code if is_unavailable(code) => Error::Unavailable(format!("{} ({code})", f.message)),
            code if is_missing_object(code, &f.message) => Error::NotMigrated {
                code: f.code,
                message: f.message,
            },
            _ => Error::Database {
                code: Some(f.code),
                message: f.message,
            },
        }
    }
}

/// The SQLSTATE the migrations' write functions raise for a value the model refuses,
/// with a DETAIL naming the field and the rule (`invalid_parameter_value`).
const VALIDATION: &str = "22023";

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

/// A server message with its hint, which says what to do (`… (hint: …)`).
pub(crate) fn with_hint(message: &str, hint: Option<&str>) -> String {
    match hint.filter(|h| !h.is_empty()) {
        Some(hint) => format!("{message} (hint: {hint})"),
        None => message.to_owned(),
    }
}

/// SQLSTATEs that say the database cannot be reached or is not ready: connection
/// exceptions, insufficient resources, operator intervention (shutdowns, cannot connect
/// now). Worth another try later.
pub(crate) fn is_unavailable(code: &str) -> bool {
    code.starts_with("08") || code.starts_with("53") || matches!(code, "57P01" | "57P02" | "57P03")
}

/// A table or function that does not exist (`42P01`, or `42883` about a function, not an
/// operator): what a database without the migrations answers.
pub(crate) fn is_missing_object(code: &str, message: &str) -> bool {
    code == "42P01" || (code == "42883" && message.starts_with("function "))
}

/// A serialization failure or deadlock: the transaction may succeed when run again.
pub(crate) fn is_serialization_failure(code: &str) -> bool {
    matches!(code, "40001" | "40P01")
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

/// Maps a PostgreSQL error through the one SQLSTATE table.
fn from_database_error(db: &dyn sqlx::error::DatabaseError) -> Error {
    let pg = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>();
    let Some(code) = db.code().map(|c| c.into_owned()) else {
        return Error::Database {
            code: None,
            message: db.message().to_owned(),
        };
    };
    Error::from(DbFailure {
        code,
        message: db.message().to_owned(),
        detail: pg.and_then(|e| e.detail()).map(str::to_owned),
        table: pg.and_then(|e| e.table()).map(str::to_owned),
        constraint: db.constraint().map(str::to_owned),
        column: pg.and_then(|e| e.column()).map(str::to_owned),
        hint: pg.and_then(|e| e.hint()).map(str::to_owned),
    })
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
    fn one_table_maps_sqlstates_for_both_transports() {
        let failure = |code: &str, detail: Option<&str>| {
            Error::from(DbFailure {
                code: code.into(),
                message: "m".into(),
                detail: detail.map(str::to_owned),
                ..DbFailure::default()
            })
        };
        for code in ["08006", "53300", "53100", "57P01", "57P02", "57P03"] {
            assert!(failure(code, None).is_retryable(), "{code}");
        }
        for code in ["40001", "40P01"] {
            assert!(failure(code, None).is_retryable(), "{code}");
        }
        for code in ["22P02", "42883", "23514", "XX000"] {
            assert!(!failure(code, None).is_retryable(), "{code}");
        }
        let missing = |code: &str, message: &str| {
            Error::from(DbFailure {
                code: code.into(),
                message: message.into(),
                ..DbFailure::default()
            })
        };
        let err = missing(
            "42883",
            "function public.log_interactions(jsonb, jsonb) does not exist",
        );
        assert!(matches!(&err, Error::NotMigrated { code, .. } if code == "42883"));
        assert!(
            err.to_string().contains("run `assistant-db migrate`"),
            "{err}"
        );
        assert!(matches!(
            missing("42P01", "relation \"public.interactions\" does not exist"),
            Error::NotMigrated { .. }
        ));
        // An operator that does not exist is a bug, not a missing migration.
        assert!(matches!(
            missing("42883", "operator does not exist: text = integer"),
            Error::Database { .. }
        ));
        match failure(
            "22023",
            Some(
                r#"{"table":"interactions","index":3,"field":"confidence_score","rule":"must be between 0 and 1 (got 42)"}"#,
            ),
        ) {
            Error::Validation(e) => {
                assert_eq!(e.field, "interactions[3].confidence_score");
                assert_eq!(e.rule, "must be between 0 and 1 (got 42)");
            }
            other => panic!("expected a validation error, got {other:?}"),
        }
        assert!(matches!(
            failure("22023", Some("not json")),
            Error::Database { code: Some(c), .. } if c == "22023"
        ));
    }

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

//! The library's `Error` as the Python exception of its variant.
//!
//! The classes live in `assistant_db/errors.py` (one per variant, with docstrings and
//! typed attributes an IDE shows); this module instantiates them with the variant's
//! fields. Every exception carries `field` and `rule` where the variant names them, and
//! `retryable` as `Error::is_retryable` says.

use assistant_db::model::ValidationError;
use assistant_db::Error;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyType};

/// The Python module that defines the exception classes.
const MODULE: &str = "assistant_db.errors";

/// An invalid argument or record as the Python `ValidationError`.
pub fn invalid(py: Python<'_>, error: ValidationError) -> PyErr {
    to_py(py, Error::Validation(error))
}

/// The Python exception for `error`.
pub fn to_py(py: Python<'_>, error: Error) -> PyErr {
    build(py, &error).unwrap_or_else(|import_failure| import_failure)
}

fn build(py: Python<'_>, error: &Error) -> PyResult<PyErr> {
    let kwargs = PyDict::new(py);
    kwargs.set_item("retryable", error.is_retryable())?;
    let class = match error {
        Error::Validation(e) => {
            kwargs.set_item("field", &e.field)?;
            kwargs.set_item("rule", &e.rule)?;
            "ValidationError"
        }
        Error::Config(_) => "ConfigError",
        Error::CheckViolation {
            table,
            column,
            constraint,
        } => {
            kwargs.set_item("field", column)?;
            kwargs.set_item("rule", format!("violates check constraint {constraint}"))?;
            kwargs.set_item("table", table)?;
            kwargs.set_item("constraint", constraint)?;
            "CheckViolationError"
        }
        Error::ForeignKey { constraint, detail } => {
            kwargs.set_item("field", key_column(detail))?;
            kwargs.set_item("rule", "must name an existing row")?;
            kwargs.set_item("constraint", constraint)?;
            kwargs.set_item("detail", detail)?;
            "ForeignKeyError"
        }
        Error::Duplicate { constraint, detail } => {
            kwargs.set_item("field", key_column(detail))?;
            kwargs.set_item("rule", "must be unique")?;
            kwargs.set_item("constraint", constraint)?;
            kwargs.set_item("detail", detail)?;
            "DuplicateError"
        }
        Error::NotNull { table, column } => {
            kwargs.set_item("field", column)?;
            kwargs.set_item("rule", "must not be null")?;
            kwargs.set_item("table", table)?;
            "NotNullError"
        }
        Error::PermissionDenied(_) => "PermissionDeniedError",
        Error::Auth(_) => "AuthError",
        Error::Unavailable(_) => "UnavailableError",
        Error::Database { code, .. } => {
            kwargs.set_item("code", code)?;
            "DatabaseError"
        }
        Error::Spool(_) => "SpoolError",
        Error::SpoolFull(_) => "SpoolFullError",
        Error::Migration(_) => "MigrationError",
        Error::Local(_) => "LocalDatabaseError",
        Error::Io { context, .. } => {
            kwargs.set_item("context", context)?;
            "FilesystemError"
        }
        _ => "AssistantDbError",
    };
    let class = class_named(py, class)?;
    let exception = class.call((error.to_string(),), Some(&kwargs))?;
    Ok(PyErr::from_value(exception))
}

/// The exception class `name` of [`MODULE`], looked up once per name.
fn class_named<'py>(py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyType>> {
    static MODULE_OBJECT: PyOnceLock<Py<PyModule>> = PyOnceLock::new();
    let module = MODULE_OBJECT.get_or_try_init(py, || py.import(MODULE).map(Bound::unbind))?;
    module
        .bind(py)
        .getattr(name)?
        .cast_into()
        .map_err(PyErr::from)
}

/// The column of PostgreSQL's `Key (column)=(value) …` detail line, if it has one.
fn key_column(detail: &str) -> Option<&str> {
    let rest = detail.strip_prefix("Key (")?;
    rest.split_once(")=").map(|(column, _)| column)
}

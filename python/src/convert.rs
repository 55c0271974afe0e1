//! Python values in and out: records as JSON for the model's parser, filter values,
//! and results as plain Python objects.
//!
//! Records go through the same JSON the HTTP API and the spooled logger use, so the
//! model's parser (`Interaction::from_json_value` and its kin) is the one place that
//! decides what is valid, and its errors name the JSON path (`citations[1].source`). A
//! Python value JSON cannot hold (a NaN, a set, a naive datetime) is refused here with
//! the same kind of error, naming the path.

use assistant_db::model::{Rule, ValidationError};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple, PyType};
use serde::Serialize;
use serde_json::{Map, Number, Value};

use crate::errors::invalid;

static DATETIME: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static DATE: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static UUID: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static ENUM: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static MAPPING: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static DATACLASSES: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

/// A record given as a dict (any mapping) or a dataclass instance, as its JSON object.
///
/// Anything else is a `TypeError`: the caller passed the wrong kind of argument, which is
/// not a rule of any field.
pub fn record(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Map<String, Value>> {
    let py = obj.py();
    let is_record = obj.is_instance_of::<PyDict>()
        || obj.is_instance(MAPPING.import(py, "collections.abc", "Mapping")?)?
        || is_dataclass_instance(obj)?;
    if !is_record {
        return Err(PyTypeError::new_err(format!(
            "{what} must be a dict of the spec's columns or a dataclass instance, not {}",
            type_name(obj)
        )));
    }
    match to_json(obj, &mut String::new()) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(PyTypeError::new_err(format!(
            "{what} must be a dict of the spec's columns"
        ))),
        Err(Failure::Invalid(e)) => Err(invalid(py, e)),
        Err(Failure::Python(e)) => Err(e),
    }
}

/// A list (any iterable) of records.
pub fn records(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Vec<Map<String, Value>>> {
    if obj.is_instance_of::<PyString>() || obj.is_instance_of::<PyDict>() {
        return Err(PyTypeError::new_err(format!(
            "{what} must be a list of records, not {}",
            type_name(obj)
        )));
    }
    obj.try_iter()?.map(|item| record(&item?, what)).collect()
}

/// Why a value could not become JSON.
pub enum Failure {
    /// The value breaks a rule; the error names its path.
    Invalid(ValidationError),
    /// Python raised while the value was read.
    Python(PyErr),
}

impl From<PyErr> for Failure {
    fn from(e: PyErr) -> Self {
        Failure::Python(e)
    }
}

/// A Python value as JSON; `path` is where it sits in the record (`citations[1].number`).
pub fn to_json(obj: &Bound<'_, PyAny>, path: &mut String) -> Result<Value, Failure> {
    let py = obj.py();
    if obj.is_none() {
        return Ok(Value::Null);
    }
    // Exact types first: they are almost every value, and cheap to test.
    if obj.is_exact_instance_of::<PyString>() {
        return Ok(Value::String(obj.extract::<String>()?));
    }
    if obj.is_instance_of::<PyBool>() {
        return Ok(Value::Bool(obj.extract::<bool>()?));
    }
    if obj.is_instance_of::<PyInt>() {
        if let Ok(n) = obj.extract::<i64>() {
            return Ok(Value::Number(n.into()));
        }
        if let Ok(n) = obj.extract::<u64>() {
            return Ok(Value::Number(n.into()));
        }
        return Err(Failure::Invalid(ValidationError::new(
            field(path),
            "must be a whole number within 64 bits",
        )));
    }
    if obj.is_instance_of::<PyFloat>() {
        let n = obj.extract::<f64>()?;
        return Number::from_f64(n).map(Value::Number).ok_or_else(|| {
            Failure::Invalid(Rule::NotFinite { got: n.to_string() }.at(field(path)))
        });
    }
    if obj.is_instance_of::<PyString>() {
        return Ok(Value::String(obj.extract::<String>()?));
    }
    if let Ok(dict) = obj.cast::<PyDict>() {
        return object(dict.iter().map(Ok), path);
    }
    if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
        return array(obj, path);
    }
    if obj.is_instance(DATETIME.import(py, "datetime", "datetime")?)? {
        if obj.call_method0("utcoffset")?.is_none() {
            return Err(Failure::Invalid(ValidationError::new(
                field(path),
                "must be a timezone-aware datetime (got a naive one; add tzinfo=timezone.utc)",
            )));
        }
        return Ok(Value::String(
            obj.call_method0("isoformat")?.extract::<String>()?,
        ));
    }
    if obj.is_instance(DATE.import(py, "datetime", "date")?)? {
        return Ok(Value::String(
            obj.call_method0("isoformat")?.extract::<String>()?,
        ));
    }
    if obj.is_instance(UUID.import(py, "uuid", "UUID")?)? {
        return Ok(Value::String(obj.str()?.extract::<String>()?));
    }
    if obj.is_instance(ENUM.import(py, "enum", "Enum")?)? {
        return to_json(&obj.getattr("value")?, path);
    }
    if is_dataclass_instance(obj)? {
        let dataclasses = dataclasses(py)?;
        let mut pairs = Vec::new();
        for f in dataclasses.call_method1("fields", (obj,))?.try_iter()? {
            let name = f?.getattr("name")?;
            let value = obj.getattr(name.cast::<PyString>().map_err(PyErr::from)?)?;
            pairs.push(Ok((name, value)));
        }
        return object(pairs.into_iter(), path);
    }
    if obj.is_instance(MAPPING.import(py, "collections.abc", "Mapping")?)? {
        let mut pairs = Vec::new();
        for item in obj.call_method0("items")?.try_iter()? {
            let item = item?;
            pairs.push(Ok((item.get_item(0)?, item.get_item(1)?)));
        }
        return object(pairs.into_iter(), path);
    }
    Err(Failure::Invalid(ValidationError::new(
        field(path),
        format!(
            "must be a JSON value: str, int, float, bool, None, a list, a dict, \
             a timezone-aware datetime or a UUID (got {})",
            type_name(obj)
        ),
    )))
}

fn object<'py>(
    pairs: impl Iterator<Item = PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)>>,
    path: &mut String,
) -> Result<Value, Failure> {
    let mut map = Map::new();
    for pair in pairs {
        let (key, value) = pair?;
        let Ok(key) = key.cast::<PyString>() else {
            return Err(Failure::Invalid(ValidationError::new(
                field(path),
                format!("must have str keys (got a {} key)", type_name(&key)),
            )));
        };
        let key = key.extract::<String>()?;
        let len = path.len();
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(&key);
        let value = to_json(&value, path)?;
        path.truncate(len);
        map.insert(key, value);
    }
    Ok(Value::Object(map))
}

fn array(obj: &Bound<'_, PyAny>, path: &mut String) -> Result<Value, Failure> {
    let mut items = Vec::new();
    for (i, item) in obj.try_iter()?.enumerate() {
        let len = path.len();
        path.push_str(&format!("[{i}]"));
        items.push(to_json(&item?, path)?);
        path.truncate(len);
    }
    Ok(Value::Array(items))
}

/// The field a value at `path` is reported under; `.` for the record itself.
fn field(path: &str) -> String {
    if path.is_empty() {
        ".".to_owned()
    } else {
        path.to_owned()
    }
}

fn dataclasses(py: Python<'_>) -> PyResult<&Bound<'_, PyModule>> {
    DATACLASSES
        .get_or_try_init(py, || py.import("dataclasses").map(Bound::unbind))
        .map(|m| m.bind(py))
}

/// True for an instance (not the class) of a dataclass.
fn is_dataclass_instance(obj: &Bound<'_, PyAny>) -> PyResult<bool> {
    if obj.is_instance_of::<PyType>() || !obj.hasattr("__dataclass_fields__")? {
        return Ok(false);
    }
    dataclasses(obj.py())?
        .call_method1("is_dataclass", (obj,))?
        .extract()
}

/// The name of a value's type, for messages.
pub fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .and_then(|n| n.extract::<String>())
        .unwrap_or_else(|_| "object".to_owned())
}

/// An instant given as an ISO 8601 string, a `datetime` or a `date`, for a filter.
///
/// Filters read times as PostgreSQL reads the spec's filter strings in a UTC session: a
/// time without an offset is UTC, a date alone is its midnight in UTC.
pub fn instant(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<DateTime<Utc>> {
    let py = obj.py();
    let text = if obj.is_instance_of::<PyString>() {
        obj.extract::<String>()?
    } else if obj.is_instance(DATE.import(py, "datetime", "date")?)? {
        // `datetime` is a `date` too; both print ISO 8601.
        obj.call_method0("isoformat")?.extract::<String>()?
    } else {
        return Err(invalid(
            py,
            ValidationError::new(
                name,
                format!(
                    "must be an ISO 8601 string, a datetime or a date (got {})",
                    type_name(obj)
                ),
            ),
        ));
    };
    parse_instant(&text).ok_or_else(|| {
        invalid(
            py,
            ValidationError::new(
                name,
                format!(
                    "must be an ISO 8601 timestamp such as 2024-05-01T12:30:00Z, or a date such \
                     as 2024-05-01 (got {text:?})"
                ),
            ),
        )
    })
}

/// RFC 3339, an ISO 8601 time without an offset (UTC), or a date (its midnight, UTC).
pub fn parse_instant(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(text, format) {
            return Some(t.and_utc());
        }
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
}

/// A text argument, or `None`.
pub fn optional_text(obj: Option<&Bound<'_, PyAny>>, name: &str) -> PyResult<Option<String>> {
    match obj {
        None => Ok(None),
        Some(obj) if obj.is_none() => Ok(None),
        Some(obj) if obj.is_instance_of::<PyString>() => Ok(Some(obj.extract()?)),
        Some(obj) => Err(invalid(
            obj.py(),
            ValidationError::new(name, format!("must be a str (got {})", type_name(obj))),
        )),
    }
}

/// A Rust value as plain Python objects (dicts, lists, str, int, float, bool, None), the
/// same shapes its JSON has.
pub fn to_python<T: Serialize>(py: Python<'_>, value: &T) -> PyResult<Py<PyAny>> {
    pythonize::pythonize(py, value)
        .map(Bound::unbind)
        .map_err(PyErr::from)
}

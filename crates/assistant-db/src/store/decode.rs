//! Reading what the database answers, the same way over both transports: rows as
//! `to_jsonb(row)` objects (PostgREST's JSON rows are the same objects), and the counts
//! object of `log_interactions`.

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::query::{InteractionDetail, Written};

/// Parses a row read as a JSON object. The row types take whatever the schema allows,
/// so a failure means the table itself is not the spec's (a column changed type).
pub(crate) fn row<T: DeserializeOwned>(row: Value) -> Result<T> {
    let id = row
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or("?")
        .to_owned();
    serde_path_to_error::deserialize(row).map_err(|e| Error::Database {
        code: None,
        message: format!(
            "stored row {id} cannot be read at `{}`: {} (does `assistant-db verify` pass?)",
            e.path(),
            e.inner()
        ),
    })
}

/// Parses a JSON array of rows; anything but an array reads as no rows.
pub(crate) fn rows<T: DeserializeOwned>(rows: Value) -> Result<Vec<T>> {
    match rows {
        Value::Array(rows) => rows.into_iter().map(row).collect(),
        _ => Ok(Vec::new()),
    }
}

/// An interaction row and the JSON array of its escalation rows.
pub(crate) fn detail(interaction: Value, escalations: Value) -> Result<InteractionDetail> {
    Ok(InteractionDetail {
        interaction: row(interaction)?,
        escalations: rows(escalations)?,
    })
}

/// The JSON a function of ours returned, as `T`; `what` names the function.
pub(crate) fn answer<T: DeserializeOwned>(value: Value, what: &str) -> Result<T> {
    serde_path_to_error::deserialize(value).map_err(|e| Error::Database {
        code: None,
        message: format!(
            "{what} answered something unexpected at `{}`: {} (are the migrations applied?)",
            e.path(),
            e.inner()
        ),
    })
}

/// The object `log_interactions` returns: `{"interactions": n, "escalations": m}`.
pub(crate) fn written(counts: &Value) -> Result<Written> {
    let count = |key: &str| {
        counts
            .get(key)
            .and_then(Value::as_u64)
            .ok_or_else(|| Error::Database {
                code: None,
                message: format!("log_interactions returned {counts} without a count of {key}"),
            })
    };
    Ok(Written {
        interactions: count("interactions")?,
        escalations: count("escalations")?,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn counts_are_read_or_refused_with_the_object_shown() {
        assert_eq!(
            written(&json!({"interactions": 2, "escalations": 1})).expect("counts"),
            Written {
                interactions: 2,
                escalations: 1
            }
        );
        let err = written(&json!({"interactions": 2})).expect_err("missing");
        assert!(err.to_string().contains("count of escalations"), "{err}");
    }
}

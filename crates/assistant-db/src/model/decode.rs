//! Reading a record from JSON, with errors that name the JSON path of the bad value.

use serde::de::DeserializeOwned;
use serde_json::error::Category;
use serde_json::Value;

use super::de::ObjectOnly;
use super::ValidationError;

/// Parses a record of `table` from JSON text.
pub(crate) fn from_json<T: DeserializeOwned>(
    json: &str,
    table: &str,
) -> Result<T, ValidationError> {
    let mut de = serde_json::Deserializer::from_str(json);
    let record: ObjectOnly<T> =
        serde_path_to_error::deserialize(&mut de).map_err(|e| to_error(&e, table))?;
    // Trailing characters after the object are an error too.
    de.end()
        .map_err(|e| ValidationError::new(".", e.to_string()))?;
    Ok(record.0)
}

/// Parses a record of `table` from a JSON value.
pub(crate) fn from_json_value<T: DeserializeOwned>(
    value: Value,
    table: &str,
) -> Result<T, ValidationError> {
    serde_path_to_error::deserialize(value)
        .map(|record: ObjectOnly<T>| record.0)
        .map_err(|e| to_error(&e, table))
}

/// Turns serde's error into the field (as a JSON path) and the rule it broke.
fn to_error(err: &serde_path_to_error::Error<serde_json::Error>, table: &str) -> ValidationError {
    // serde_path_to_error writes `?` for a key it never read (e.g. at end of input).
    let path = match err.path().to_string() {
        p if p == "?" => ".".to_owned(),
        p => p.strip_suffix(".?").map(str::to_owned).unwrap_or(p),
    };
    let inner = err.inner();
    let message = inner.to_string();
    // Syntax errors keep "at line X column Y": it locates the problem better than the path.
    let message = match inner.classify() {
        Category::Data => strip_location(&message),
        _ => &message,
    };
    // The field named in the message: missing fields are reported at their parent's
    // path, unknown and duplicate keys usually at their own.
    let field = |name: &str| {
        if path == "." {
            name.to_owned()
        } else if path == name || path.ends_with(&format!(".{name}")) {
            path.clone()
        } else {
            format!("{path}.{name}")
        }
    };
    if let Some(name) = quoted_name(message, "missing field `") {
        return ValidationError::new(field(name), "is required");
    }
    if let Some(name) = quoted_name(message, "duplicate field `") {
        return ValidationError::new(field(name), "is given more than once");
    }
    if let Some(name) = quoted_name(message, "unknown field `") {
        let field = field(name);
        let rule = if field == name {
            format!("is not a column of {table}")
        } else {
            "is not a known field".to_owned()
        };
        return ValidationError::new(field, rule);
    }
    ValidationError::new(path, message)
}

/// The name in "prefix`name`, …", as serde writes field names.
fn quoted_name<'a>(message: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = message.strip_prefix(prefix)?;
    rest.find('`').map(|end| &rest[..end])
}

/// Drops serde_json's " at line X column Y" suffix.
fn strip_location(message: &str) -> &str {
    let Some(at) = message.rfind(" at line ") else {
        return message;
    };
    let is_location = message[at + " at line ".len()..]
        .split_once(" column ")
        .is_some_and(|(line, column)| {
            [line, column]
                .iter()
                .all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        });
    if is_location {
        &message[..at]
    } else {
        message
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_only_a_real_location() {
        assert_eq!(strip_location("bad at line 1 column 20"), "bad");
        assert_eq!(strip_location("bad at line one"), "bad at line one");
        assert_eq!(strip_location("plain"), "plain");
    }

    #[test]
    fn reads_quoted_names() {
        assert_eq!(
            quoted_name(
                "unknown field `foo`, expected one of `a`",
                "unknown field `"
            ),
            Some("foo")
        );
        assert_eq!(quoted_name("missing field `x`", "unknown field `"), None);
    }
}

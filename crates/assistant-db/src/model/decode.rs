//! Reading a record from JSON, with errors that name the JSON path of the bad value.
//!
//! serde stops at the first bad value. To report every bad field of a record at once
//! ([`from_json_all`]), the record is read again field by field: each field alone, beside
//! valid stand-ins for the required fields, so that one field's error cannot hide
//! another's. Text that is not JSON has one error, said in words with its place.

use serde::de::DeserializeOwned;
use serde_json::error::Category;
use serde_json::{Map, Value};

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

/// Valid values for a record's required fields, standing in for them while another field
/// is checked alone.
pub(crate) type Fillers = &'static [(&'static str, &'static str)];

/// Parses a record of `table` from JSON text; on failure, every field that breaks a rule
/// (in the order of the required fields, then of the keys' names), or the one syntax error.
pub(crate) fn from_json_all<T: DeserializeOwned>(
    json: &str,
    table: &str,
    fillers: Fillers,
) -> Result<T, Vec<ValidationError>> {
    from_json(json, table).map_err(|first| match serde_json::from_str(json) {
        Ok(value) => every_error::<T>(value, table, fillers, first),
        Err(_) => vec![first],
    })
}

/// [`from_json_all`] for a JSON value.
pub(crate) fn from_json_value_all<T: DeserializeOwned>(
    value: Value,
    table: &str,
    fillers: Fillers,
) -> Result<T, Vec<ValidationError>> {
    // The value is needed again only when it breaks a rule; that is the rarer case, and
    // one clone of a record is cheaper than parsing it twice.
    match from_json_value(value.clone(), table) {
        Ok(record) => Ok(record),
        Err(first) => Err(every_error::<T>(value, table, fillers, first)),
    }
}

/// Every rule the JSON object `value` breaks as a record of `table`; `first` is the error
/// the whole record's parse gave.
fn every_error<T: DeserializeOwned>(
    value: Value,
    table: &str,
    fillers: Fillers,
    first: ValidationError,
) -> Vec<ValidationError> {
    let Value::Object(fields) = value else {
        return vec![first];
    };
    let mut errors: Vec<ValidationError> = fillers
        .iter()
        .filter(|(name, _)| !fields.contains_key(*name))
        .map(|(name, _)| ValidationError::new(*name, "is required"))
        .collect();
    for (name, field) in fields {
        let mut alone: Map<String, Value> = fillers
            .iter()
            .map(|(name, filler)| ((*name).to_owned(), Value::String((*filler).to_owned())))
            .collect();
        alone.insert(name, field);
        if let Err(e) = from_json_value::<T>(Value::Object(alone), table) {
            errors.push(e);
        }
    }
    // A key given twice is seen in the text only: the value kept the last one.
    if !errors.contains(&first) && (errors.is_empty() || first.rule == "is given more than once") {
        errors.insert(0, first);
    }
    errors
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
    let message = match inner.classify() {
        Category::Data => strip_location(&message),
        // Not JSON: the problem in words and its place in the text, under the field
        // whose value it is in when serde got that far.
        Category::Syntax | Category::Eof => {
            let problem = format!(
                "{} at line {} column {}",
                in_words(strip_location(&message)),
                inner.line(),
                inner.column()
            );
            return if path == "." {
                ValidationError::new(".", format!("not JSON: {problem}"))
            } else {
                ValidationError::new(path, format!("has a value that is not JSON: {problem}"))
            };
        }
        Category::Io => &message,
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

/// serde_json's description of a syntax error, as a person would put it.
fn in_words(message: &str) -> &str {
    match message {
        "key must be a string" => "expected a string key in double quotes",
        "EOF while parsing a value" => "expected a JSON value, found the end of the text",
        "EOF while parsing an object" => "the text ends inside an object (a missing `}`?)",
        "EOF while parsing a list" => "the text ends inside a list (a missing `]`?)",
        "EOF while parsing a string" => "the text ends inside a string (a missing `\"`?)",
        "expected value" => "expected a JSON value (an object, a string in double quotes, a number, true, false or null)",
        "expected ident" => "expected true, false or null",
        "expected `:`" => "expected `:` after a key",
        "expected `,` or `}`" => "expected `,` or `}` after a value in an object",
        "expected `,` or `]`" => "expected `,` or `]` after a value in a list",
        "trailing comma" => "a comma before a closing `}` or `]`",
        "trailing characters" => "more text after the JSON value",
        "invalid escape" => "an invalid escape sequence in a string",
        "recursion limit exceeded" => "nested too deeply",
        other => other,
    }
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

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Row {
        name: String,
        #[serde(default)]
        count: Option<u8>,
        #[serde(default)]
        flag: Option<bool>,
    }

    const FILLERS: Fillers = &[("name", "n")];

    #[test]
    fn every_bad_field_is_reported() {
        let errors = from_json_all::<Row>(
            r#"{"count": 300, "flag": "yes", "extra": 1}"#,
            "rows",
            FILLERS,
        )
        .expect_err("bad");
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["name", "count", "extra", "flag"], "{errors:?}");
        assert_eq!(errors[0].rule, "is required");
        assert_eq!(errors[2].rule, "is not a column of rows");
        let one =
            from_json_all::<Row>(r#"{"name": "a", "name": "b", "count": 1}"#, "rows", FILLERS)
                .expect_err("duplicate");
        assert_eq!(one.len(), 1, "{one:?}");
        assert_eq!(one[0].rule, "is given more than once");
        let value = serde_json::json!({"name": 7, "count": -1});
        let errors = from_json_value_all::<Row>(value, "rows", FILLERS).expect_err("bad");
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(from_json_all::<Row>(r#"{"name": "a", "count": 1}"#, "rows", FILLERS).is_ok());
    }

    #[test]
    fn text_that_is_not_json_is_said_in_words_with_its_place() {
        let errors = from_json_all::<Row>("{not json", "rows", FILLERS).expect_err("syntax");
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, ".");
        assert_eq!(
            errors[0].rule,
            "not JSON: expected a string key in double quotes at line 1 column 2"
        );
        let errors = from_json_all::<Row>(r#"{"name": "a""#, "rows", FILLERS).expect_err("eof");
        assert!(
            errors[0]
                .rule
                .starts_with("not JSON: the text ends inside an object"),
            "{errors:?}"
        );
    }

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

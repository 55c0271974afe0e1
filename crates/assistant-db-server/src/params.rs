//! Query-string and path parameters, read strictly: a value that is not UTF-8 text or
//! holds a NUL character is refused here, naming the parameter, instead of reaching the
//! database (which refuses NUL with an error no caller could act on).

use assistant_db::model::Rule;
use assistant_db::table::Table;
use axum::extract::path::ErrorKind;
use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use chrono::{DateTime, Utc};
use percent_encoding::percent_decode;
use uuid::Uuid;

use crate::error::{ApiError, FieldError};

/// The rule a value holding a NUL character breaks.
const NO_NUL: &str = "must not contain a NUL character (%00)";
/// The rule a value that is not UTF-8 breaks.
const UTF8: &str = "must be UTF-8 text (a percent-encoded byte sequence here is not)";

/// Decodes a query string into `name=value` pairs (`+` is a space), and the parameters
/// whose name or value is not text.
pub fn decode_query(query: Option<&str>) -> (Vec<(String, String)>, Vec<FieldError>) {
    let mut pairs = Vec::new();
    let mut errors = Vec::new();
    for piece in query.unwrap_or_default().split('&') {
        if piece.is_empty() {
            continue;
        }
        let (name, value) = piece.split_once('=').unwrap_or((piece, ""));
        let name = match text(name) {
            Ok(name) => name,
            Err(rule) => {
                let shown = String::from_utf8_lossy(&decode(name)).replace('\0', "\\0");
                errors.push(FieldError::new(shown, format!("(the name) {rule}")));
                continue;
            }
        };
        match text(value) {
            Ok(value) => pairs.push((name, value)),
            Err(rule) => errors.push(FieldError::new(name, rule)),
        }
    }
    (pairs, errors)
}

/// One query-string component, `+` read as a space, percent-decoded to bytes.
fn decode(component: &str) -> Vec<u8> {
    let spaced = component.replace('+', " ");
    percent_decode(spaced.as_bytes()).collect()
}

/// One component as text, or the rule it breaks.
fn text(component: &str) -> Result<String, &'static str> {
    let text = String::from_utf8(decode(component)).map_err(|_| UTF8)?;
    if text.contains('\0') {
        return Err(NO_NUL);
    }
    Ok(text)
}

/// The query string's parameters, taken one at a time; a name left over, given twice or
/// with a bad value becomes a field error.
#[derive(Debug)]
pub struct Params {
    pairs: Vec<(String, String)>,
    errors: Vec<FieldError>,
}

impl Params {
    /// Wraps decoded `name=value` pairs.
    pub fn new(pairs: Vec<(String, String)>) -> Self {
        Params {
            pairs,
            errors: Vec::new(),
        }
    }

    /// The parameters of a raw query string; parameters that are not text are errors
    /// already.
    pub fn from_query(query: Option<&str>) -> Self {
        let (pairs, errors) = decode_query(query);
        Params { pairs, errors }
    }

    /// Takes `name`'s value; an empty value counts as absent.
    pub fn text(&mut self, name: &str) -> Option<String> {
        let (mine, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut self.pairs)
            .into_iter()
            .partition(|(key, _)| key == name);
        self.pairs = rest;
        if mine.len() > 1 {
            self.errors
                .push(FieldError::new(name, "is given more than once"));
            return None;
        }
        mine.into_iter()
            .next()
            .map(|(_, value)| value)
            .filter(|value| !value.is_empty())
    }

    /// Takes `name`'s value and parses it, recording the rule it breaks.
    pub fn parse<T>(
        &mut self,
        name: &str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        let text = self.text(name)?;
        match parse(&text) {
            Ok(value) => Some(value),
            Err(rule) => {
                self.errors.push(FieldError::new(name, rule));
                None
            }
        }
    }

    /// `from` and `to`, checked to be in order.
    pub fn window(&mut self) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
        let from = self.parse("from", timestamp);
        let to = self.parse("to", timestamp);
        if let (Some(from), Some(to)) = (from, to) {
            if from > to {
                self.reject("from", "must not be after `to`");
            }
        }
        (from, to)
    }

    /// Records a field error found while combining parameters.
    pub fn reject(&mut self, name: &str, rule: impl Into<String>) {
        self.errors.push(FieldError::new(name, rule));
    }

    /// Fails with every error so far, and with every parameter nobody took.
    pub fn finish(mut self) -> Result<(), ApiError> {
        for (name, _) in std::mem::take(&mut self.pairs) {
            if !self.errors.iter().any(|e| e.field == name) {
                self.errors
                    .push(FieldError::new(name, "is not a parameter of this endpoint"));
            }
        }
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::InvalidParameters(self.errors))
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Params::from_query(parts.uri.query()))
    }
}

/// Parses an RFC 3339 timestamp into UTC. A `+` of an offset that arrived as a space
/// (an unencoded `+` in a query string) is read as `+`.
pub fn timestamp(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(&text.trim().replace(' ', "+"))
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("must be an RFC 3339 timestamp such as 2025-05-01T00:00:00Z ({e})"))
}

/// Parses a value of one of the schema's CHECK enums.
pub fn check_enum<T: TryFrom<String, Error = Rule>>(text: &str) -> Result<T, String> {
    T::try_from(text.to_owned()).map_err(|rule| rule.to_string())
}

/// Reads a filter on `table.column`: text no longer than the column holds (a longer
/// value could match nothing, so it is a mistake worth naming).
pub fn column_text(table: &Table, column: &str) -> impl FnOnce(&str) -> Result<String, String> {
    let max = table
        .column(column)
        .and_then(|c| c.sql_type.max_length())
        .map(|n| n as usize);
    let column = column.to_owned();
    move |text: &str| match max {
        Some(max) if text.chars().count() > max => Err(format!(
            "must be at most {max} characters, as `{column}` holds (got {})",
            text.chars().count()
        )),
        _ => Ok(text.to_owned()),
    }
}

/// The `{id}` of a path, a UUID; anything else is a 422 naming `id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathId(pub Uuid);

impl<S: Send + Sync> FromRequestParts<S> for PathId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Path::<String>::from_request_parts(parts, state).await {
            Ok(Path(text)) => parse_id(&text).map(PathId),
            // axum refuses a segment that does not decode to UTF-8 before we see it.
            Err(PathRejection::FailedToDeserializePathParams(e)) => {
                let field = match e.kind() {
                    ErrorKind::InvalidUtf8InPathParam { key } => key.clone(),
                    _ => "id".to_owned(),
                };
                Err(ApiError::InvalidParameters(vec![FieldError::new(
                    field, UTF8,
                )]))
            }
            Err(other) => Err(ApiError::Internal(format!(
                "the path cannot be read: {}",
                other.body_text()
            ))),
        }
    }
}

/// The length of a hyphenated UUID, `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`.
const HYPHENATED_LEN: usize = 36;

/// Parses an id from the path.
pub fn parse_id(text: &str) -> Result<Uuid, ApiError> {
    let rule = if text.contains('\0') {
        NO_NUL.to_owned()
    } else {
        // Only the hyphenated form, the one the document states (`format: uuid`).
        match Uuid::try_parse(text) {
            Ok(id) if text.len() == HYPHENATED_LEN => return Ok(id),
            _ => format!(
                "must be a UUID in its hyphenated form (got {:?})",
                shorten(text)
            ),
        }
    };
    Err(ApiError::InvalidParameters(vec![FieldError::new(
        "id", rule,
    )]))
}

/// At most 64 characters of `text`, for echoing a bad value back.
fn shorten(text: &str) -> String {
    text.chars().take(64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_that_are_not_text_are_refused_by_name() {
        let (pairs, errors) = decode_query(Some(
            "intent=%00&session=%FF&mode=banker&q=a+b%2Bc&%FF=1&&x",
        ));
        assert_eq!(
            pairs,
            [
                ("mode".to_owned(), "banker".to_owned()),
                ("q".to_owned(), "a b+c".to_owned()),
                ("x".to_owned(), String::new()),
            ]
        );
        let named: Vec<(&str, &str)> = errors
            .iter()
            .map(|e| (e.field.as_str(), e.rule.as_str()))
            .collect();
        assert_eq!(
            named,
            [
                ("intent", NO_NUL),
                ("session", UTF8),
                (
                    "\u{fffd}",
                    "(the name) must be UTF-8 text (a percent-encoded byte sequence here is not)"
                )
            ]
        );
    }

    #[test]
    fn a_bad_parameter_fails_the_request_once() {
        let mut params = Params::from_query(Some("intent=%00"));
        assert_eq!(params.text("intent"), None);
        match params.finish() {
            Err(ApiError::InvalidParameters(errors)) => {
                assert_eq!(errors, [FieldError::new("intent", NO_NUL)]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn column_filters_are_no_longer_than_the_column() {
        let table = &assistant_db::table::INTERACTIONS;
        assert_eq!(
            column_text(table, "intent_name")(&"x".repeat(100)),
            Ok("x".repeat(100))
        );
        let rule = column_text(table, "intent_name")(&"é".repeat(101)).expect_err("too long");
        assert!(rule.contains("at most 100 characters"), "{rule}");
    }

    #[test]
    fn ids_are_uuids_without_nul() {
        assert!(parse_id("01900000-0000-7000-8000-000000000001").is_ok());
        for bad in [
            "nope",
            "\0",
            "01900000-0000-7000-8000-00000000000\0",
            "0190000000007000800000000000000a",
            "{01900000-0000-7000-8000-000000000001}",
        ] {
            match parse_id(bad) {
                Err(ApiError::InvalidParameters(errors)) => assert_eq!(errors[0].field, "id"),
                other => panic!("{bad:?}: {other:?}"),
            }
        }
    }
}

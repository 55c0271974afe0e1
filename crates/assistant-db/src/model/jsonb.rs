//! Free-form JSON for a `JSONB` column.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::limits::{jsonb_text_len, MAX_METADATA_JSON_BYTES};
use super::Rule;

/// Any JSON value PostgreSQL `jsonb` accepts (no `\u0000` in any string or object key)
/// that takes at most [`MAX_METADATA_JSON_BYTES`] as PostgreSQL prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Value", into = "Value")]
pub struct Jsonb(Value);

impl Jsonb {
    /// Parses `value`, or names the rule it breaks.
    pub fn parse(value: Value) -> Result<Self, Rule> {
        if let Some(pointer) = find_nul(&value, String::new()) {
            return Err(Rule::NulInJson { pointer });
        }
        let got = json_len(&value);
        if got > MAX_METADATA_JSON_BYTES {
            return Err(Rule::TooLarge {
                max: MAX_METADATA_JSON_BYTES,
                got,
            });
        }
        Ok(Self(value))
    }

    /// The JSON value.
    pub fn as_value(&self) -> &Value {
        &self.0
    }

    /// Gives the JSON value back.
    pub fn into_inner(self) -> Value {
        self.0
    }
}

/// The bytes PostgreSQL's text form of `value` takes (`Display` writes compact JSON).
pub(crate) fn json_len(value: &Value) -> usize {
    jsonb_text_len(&value.to_string())
}

/// The JSON pointer of the first string or key holding a NUL, if any.
fn find_nul(value: &Value, pointer: String) -> Option<String> {
    match value {
        Value::String(s) if s.contains('\0') => Some(pointer),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| find_nul(item, format!("{pointer}/{i}"))),
        Value::Object(map) => map.iter().find_map(|(key, item)| {
            let token = key.replace('~', "~0").replace('/', "~1");
            let here = format!("{pointer}/{}", token.replace('\0', "\\u0000"));
            if key.contains('\0') {
                Some(here)
            } else {
                find_nul(item, here)
            }
        }),
        _ => None,
    }
}

impl TryFrom<Value> for Jsonb {
    type Error = Rule;
    fn try_from(value: Value) -> Result<Self, Rule> {
        Self::parse(value)
    }
}

impl From<Jsonb> for Value {
    fn from(value: Jsonb) -> Value {
        value.0
    }
}

impl AsRef<Value> for Jsonb {
    fn as_ref(&self) -> &Value {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn pointer_of(value: Value) -> Option<String> {
        match Jsonb::parse(value) {
            Err(Rule::NulInJson { pointer }) => Some(pointer),
            _ => None,
        }
    }

    #[test]
    fn accepts_any_json_without_nul() {
        let value = json!({"a": [1, 2.5, null, true, {"b": "c"}], "": "empty key"});
        let doc = Jsonb::parse(value.clone()).expect("valid");
        assert_eq!(doc.as_value(), &value);
        assert_eq!(doc.into_inner(), value);
        assert!(Jsonb::parse(json!("top-level string")).is_ok());
    }

    #[test]
    fn rejects_nul_anywhere_and_points_at_it() {
        assert_eq!(pointer_of(json!("a\u{0}")), Some(String::new()));
        assert_eq!(
            pointer_of(json!({"tags": ["ok", "b\u{0}d"]})),
            Some("/tags/1".into())
        );
        assert_eq!(
            pointer_of(json!({"a/b": {"k\u{0}": 1}})),
            Some("/a~1b/k\\u0000".into())
        );
    }

    #[test]
    fn size_is_limited_as_postgresql_prints_it() {
        // {"k": "…"}: 9 bytes around the string.
        let fits = json!({ "k": "x".repeat(MAX_METADATA_JSON_BYTES - 9) });
        assert_eq!(json_len(&fits), MAX_METADATA_JSON_BYTES);
        assert!(Jsonb::parse(fits).is_ok());
        let over = json!({ "k": "x".repeat(MAX_METADATA_JSON_BYTES - 8) });
        assert_eq!(
            Jsonb::parse(over).map_err(|r| r.to_string()),
            Err(format!(
                "must be at most {MAX_METADATA_JSON_BYTES} bytes of JSON (got {})",
                MAX_METADATA_JSON_BYTES + 1
            ))
        );
    }

    #[test]
    fn serde_reports_the_rule() {
        let err = serde_json::from_str::<Jsonb>(r#"{"x": "\u0000"}"#).expect_err("nul");
        assert!(err
            .to_string()
            .starts_with("must not contain NUL characters (found at JSON pointer `/x`)"));
    }
}

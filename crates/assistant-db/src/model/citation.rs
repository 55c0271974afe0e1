//! One entry of the `interactions.citations` JSONB array.

use std::num::NonZeroU32;

use serde::{Deserialize, Serialize};

use super::{de, RequiredText, Rule, Text, ValidationError};

/// A numbered source the response cites: `{"number": 1, "source": "...", "url": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Citation {
    /// The marker used in the response text, from 1.
    #[serde(deserialize_with = "de::citation_number")]
    pub number: NonZeroU32,
    /// The cited document's name.
    pub source: RequiredText,
    /// Where the source can be read, if public.
    #[serde(default)]
    pub url: Option<Text>,
}

impl Citation {
    /// Builds a citation, naming the field that breaks a rule.
    pub fn new(number: u32, source: &str, url: Option<&str>) -> Result<Self, ValidationError> {
        let number = NonZeroU32::new(number).ok_or_else(|| {
            Rule::OutOfRange {
                expected: "at least 1".into(),
                got: number.to_string(),
            }
            .at("number")
        })?;
        Ok(Self {
            number,
            source: RequiredText::parse(source).map_err(|r| r.at("source"))?,
            url: url.map(Text::parse).transpose().map_err(|r| r.at("url"))?,
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn new_checks_every_field() {
        let c = Citation::new(1, "Fee schedule", Some("https://example.com/fees")).expect("valid");
        assert_eq!(c.number.get(), 1);
        assert_eq!(c.source.as_str(), "Fee schedule");
        assert_eq!(
            Citation::new(0, "x", None).map_err(|e| e.field),
            Err("number".into())
        );
        assert_eq!(
            Citation::new(1, " ", None).map_err(|e| e.field),
            Err("source".into())
        );
        assert_eq!(
            Citation::new(1, "x", Some("\0")).map_err(|e| e.field),
            Err("url".into())
        );
    }

    #[test]
    fn json_shape_matches_the_schema_comment() {
        let value = json!({"number": 2, "source": "Guide", "url": null});
        let c: Citation = serde_json::from_value(value.clone()).expect("valid");
        assert_eq!(c, Citation::new(2, "Guide", None).expect("valid"));
        assert_eq!(serde_json::to_value(&c).expect("serializes"), value);
        let c: Citation =
            serde_json::from_value(json!({"number": 3, "source": "Guide"})).expect("url optional");
        assert_eq!(c.url, None);
    }

    #[test]
    fn json_rejects_bad_numbers_and_extra_fields() {
        let err = serde_json::from_value::<Citation>(json!({"number": 0, "source": "x"}))
            .expect_err("zero");
        assert!(err.to_string().starts_with("must be at least 1 (got 0)"));
        assert!(serde_json::from_value::<Citation>(json!({"number": -1, "source": "x"})).is_err());
        assert!(
            serde_json::from_value::<Citation>(json!({"number": 1, "source": "x", "page": 4}))
                .is_err()
        );
    }
}

//! Serde field helpers shared by the records: column defaults for `null`, and timestamps.
//!
//! A JSON `null` in a column that has a default (`id`, `timestamp`, the step flags)
//! means "use the default", the same as leaving the key out.

use std::fmt;
use std::marker::PhantomData;
use std::num::NonZeroU32;

use chrono::{DateTime, Utc};
use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;
use uuid::Uuid;

use super::limits::{jsonb_text_len, MAX_CITATIONS, MAX_CITATIONS_JSON_BYTES};
use super::{Citation, Rule};

/// A `BOOLEAN DEFAULT FALSE` column: `null` reads as `false`.
pub(crate) fn null_as_false<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(Option::<bool>::deserialize(d)?.unwrap_or(false))
}

/// A generated key: `null` reads as a fresh UUIDv7.
pub(crate) fn uuid_or_new<'de, D: Deserializer<'de>>(d: D) -> Result<Uuid, D::Error> {
    Ok(Option::<Uuid>::deserialize(d)?.unwrap_or_else(Uuid::now_v7))
}

/// A `DEFAULT NOW()` timestamp that the record always carries: `null` reads as now.
pub(crate) fn timestamp_or_now<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
    Ok(Option::<Rfc3339>::deserialize(d)?.map_or_else(Utc::now, |t| t.0))
}

/// An optional timestamp, parsed as RFC 3339.
pub(crate) fn optional_timestamp<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<DateTime<Utc>>, D::Error> {
    Ok(Option::<Rfc3339>::deserialize(d)?.map(|t| t.0))
}

/// A citation number: a whole number from 1.
pub(crate) fn citation_number<'de, D: Deserializer<'de>>(d: D) -> Result<NonZeroU32, D::Error> {
    let n = u32::deserialize(d)?;
    NonZeroU32::new(n).ok_or_else(|| {
        de::Error::custom(Rule::OutOfRange {
            expected: "at least 1".into(),
            got: n.to_string(),
        })
    })
}

/// The `citations` array: objects only, like every record; at most [`MAX_CITATIONS`]
/// of them in at most [`MAX_CITATIONS_JSON_BYTES`].
pub(crate) fn citations<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Vec<Citation>>, D::Error> {
    let Some(list) = Option::<Vec<ObjectOnly<Citation>>>::deserialize(d)? else {
        return Ok(None);
    };
    let list: Vec<Citation> = list.into_iter().map(|c| c.0).collect();
    citation_limits(&list).map_err(de::Error::custom)?;
    Ok(Some(list))
}

/// The list-wide rules of `citations`: how many, and how large as JSON.
pub(crate) fn citation_limits(list: &[Citation]) -> Result<(), Rule> {
    if list.len() > MAX_CITATIONS {
        return Err(Rule::TooMany {
            max: MAX_CITATIONS,
            what: "citations",
            got: list.len(),
        });
    }
    let got = serde_json::to_string(list).map_or(usize::MAX, |json| jsonb_text_len(&json));
    if got > MAX_CITATIONS_JSON_BYTES {
        return Err(Rule::TooLarge {
            max: MAX_CITATIONS_JSON_BYTES,
            got,
        });
    }
    Ok(())
}

/// A `T` read only from a JSON object; derived structs would also take a positional array.
pub(crate) struct ObjectOnly<T>(pub(crate) T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for ObjectOnly<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(ObjectVisitor(PhantomData))
    }
}

struct ObjectVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectVisitor<T> {
    type Value = ObjectOnly<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<ObjectOnly<T>, A::Error> {
        T::deserialize(de::value::MapAccessDeserializer::new(map)).map(ObjectOnly)
    }
}

/// Parses `text` as an RFC 3339 timestamp, in UTC.
pub(crate) fn parse_timestamp(text: &str) -> Result<DateTime<Utc>, Rule> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| Rule::InvalidTimestamp {
            reason: e.to_string(),
        })
}

/// A timestamp read from an RFC 3339 string, with a rule-shaped error.
struct Rfc3339(DateTime<Utc>);

impl<'de> Deserialize<'de> for Rfc3339 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(Rfc3339Visitor)
    }
}

struct Rfc3339Visitor;

impl Visitor<'_> for Rfc3339Visitor {
    type Value = Rfc3339;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an RFC 3339 timestamp such as 2024-05-01T12:30:00Z")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Rfc3339, E> {
        parse_timestamp(text).map(Rfc3339).map_err(E::custom)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[derive(Debug, Deserialize)]
    struct Row {
        #[serde(default, deserialize_with = "null_as_false")]
        flag: bool,
        #[serde(default = "Uuid::now_v7", deserialize_with = "uuid_or_new")]
        id: Uuid,
        #[serde(default = "Utc::now", deserialize_with = "timestamp_or_now")]
        at: DateTime<Utc>,
        #[serde(default, deserialize_with = "optional_timestamp")]
        maybe: Option<DateTime<Utc>>,
    }

    fn row(value: serde_json::Value) -> Result<Row, String> {
        serde_json::from_value(value).map_err(|e| e.to_string())
    }

    #[test]
    fn null_and_missing_mean_the_default() {
        let before = Utc::now();
        for value in [
            json!({}),
            json!({"flag": null, "id": null, "at": null, "maybe": null}),
        ] {
            let r = row(value).expect("defaults");
            assert!(!r.flag);
            assert_eq!(r.id.get_version_num(), 7);
            assert!(r.at >= before);
            assert_eq!(r.maybe, None);
        }
    }

    #[test]
    fn timestamps_are_rfc3339_in_utc() {
        let r = row(json!({"at": "2024-05-01T14:30:00+02:00", "maybe": "2024-05-01T12:30:00Z"}))
            .expect("valid");
        assert_eq!(Some(r.at), r.maybe);
        let err = row(json!({"at": "yesterday"})).expect_err("invalid");
        assert!(err.starts_with("must be an RFC 3339 timestamp"), "{err}");
        let err = row(json!({"maybe": "2024-05-01T12:30:00"})).expect_err("no offset");
        assert!(err.starts_with("must be an RFC 3339 timestamp"), "{err}");
        let err = row(json!({"maybe": 1_714_566_600})).expect_err("not a string");
        assert!(err.contains("expected an RFC 3339 timestamp"), "{err}");
    }

    #[test]
    fn flags_reject_other_types() {
        assert!(row(json!({"flag": "yes"})).is_err());
        assert!(row(json!({"flag": true})).expect("valid").flag);
    }
}

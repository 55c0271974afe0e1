//! Query-string parameters in PostgREST's grammar: filters, the keyset cursor, and the
//! percent-encoding that carries them.

use chrono::{DateTime, SecondsFormat, Utc};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::query::{Condition, Cursor};
use crate::row::Timestamp;

/// Bytes left as they are in a parameter: unreserved characters and the punctuation of
/// PostgREST's grammar (`eq.`, `or=(…,…)`, `select=*`); everything else is encoded.
const KEEP: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b',')
    .remove(b'(')
    .remove(b')')
    .remove(b':')
    .remove(b'*');

/// Percent-encodes a parameter's name or value.
pub(super) fn encode(text: &str) -> String {
    utf8_percent_encode(text, KEEP).to_string()
}

/// PostgREST filters for a listing's conditions.
pub(super) fn conditions(conditions: &[Condition<'_>]) -> Vec<(&'static str, String)> {
    conditions
        .iter()
        .map(|condition| match *condition {
            Condition::Eq(column, value) => (column, format!("eq.{value}")),
            Condition::AtOrAfter(column, at) => (column, format!("gte.{}", timestamp(at))),
            Condition::AtOrBefore(column, at) => (column, format!("lte.{}", timestamp(at))),
        })
        .collect()
}

/// Rows after `cursor` in `ORDER BY timestamp DESC, id DESC` (NULL timestamps first), as
/// the direct transport's keyset condition.
///
/// PostgREST has no row comparison, and `or=(timestamp.lt.T,and(timestamp.eq.T,id.lt.I))`
/// alone gives PostgreSQL nothing to start an index scan at: it would read from the
/// newest row and filter, so each page would cost more than the one before. The same
/// condition written as `timestamp <= T AND (timestamp < T OR id < I)` bounds the scan of
/// the `(timestamp, id)` index (migration 009) at the cursor; the OR then only drops the
/// rows of the cursor's own instant that were shown already.
pub(super) fn after(cursor: &Cursor) -> Vec<(&'static str, String)> {
    match &cursor.timestamp {
        Some(ts) => {
            let ts = cursor_timestamp(ts);
            vec![
                ("timestamp", format!("lte.\"{ts}\"")),
                ("or", format!("(timestamp.lt.\"{ts}\",id.lt.{})", cursor.id)),
            ]
        }
        None => vec![("or", format!("(timestamp.not.is.null,id.lt.{})", cursor.id))],
    }
}

/// A cursor's timestamp as PostgreSQL reads it back exactly.
fn cursor_timestamp(ts: &Timestamp) -> String {
    match ts {
        Timestamp::At(at) => timestamp(*at),
        other => other.to_string(),
    }
}

/// An instant as PostgreSQL reads it back exactly (microseconds, UTC).
pub(super) fn timestamp(ts: DateTime<Utc>) -> String {
    ts.to_rfc3339_opts(SecondsFormat::Micros, true)
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;

    #[test]
    fn cursors_and_filters_become_postgrest_parameters() {
        let id = Uuid::nil();
        let ts: DateTime<Utc> = "2026-10-01T10:00:00.123456Z".parse().expect("ts");
        let at = "\"2026-10-01T10:00:00.123456Z\"";
        assert_eq!(
            after(&Cursor {
                timestamp: Some(Timestamp::At(ts)),
                id
            }),
            vec![
                ("timestamp", format!("lte.{at}")),
                ("or", format!("(timestamp.lt.{at},id.lt.{id})"))
            ]
        );
        assert_eq!(
            after(&Cursor {
                timestamp: None,
                id
            }),
            vec![("or", format!("(timestamp.not.is.null,id.lt.{id})"))]
        );
        assert_eq!(
            after(&Cursor {
                timestamp: Some(Timestamp::Infinity),
                id
            }),
            vec![
                ("timestamp", "lte.\"infinity\"".to_owned()),
                ("or", format!("(timestamp.lt.\"infinity\",id.lt.{id})"))
            ]
        );
        assert_eq!(
            encode("eq.a b+c&d=\"é\""),
            "eq.a%20b%2Bc%26d%3D%22%C3%A9%22"
        );
        assert_eq!(
            conditions(&[
                Condition::Eq("intent_name", "a,b"),
                Condition::AtOrAfter("timestamp", ts)
            ]),
            vec![
                ("intent_name", "eq.a,b".to_owned()),
                ("timestamp", "gte.2026-10-01T10:00:00.123456Z".to_owned())
            ]
        );
    }
}

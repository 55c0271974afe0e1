//! Size limits the model shares with the database's validating functions (migration 005).
//!
//! The same numbers are written in `database/migrations/005_trust_boundaries.sql`; the
//! tests `trust_boundary` and `rest_trust` break each limit on both sides and compare
//! the refusals. JSON sizes are measured as PostgreSQL prints a `jsonb`
//! value (`octet_length(value::text)`), which [`jsonb_text_len`] computes from the
//! compact JSON serde writes, so that a client can tell in advance what the server will
//! count.

/// Most characters of a `TEXT` column's value (queries, reasons, responses, titles, URLs).
///
/// 32,768 rather than more so that one interaction of the model, every text at its
/// limit, still fits one call of the public key ([`MAX_CALL_BYTES`]).
pub const MAX_TEXT_CHARS: usize = 32_768;

/// Most entries of an interaction's `citations`.
pub const MAX_CITATIONS: usize = 100;

/// Most bytes of an interaction's `citations`, as JSON.
pub const MAX_CITATIONS_JSON_BYTES: usize = 65_536;

/// Most bytes of a knowledge document's `metadata`, as JSON.
pub const MAX_METADATA_JSON_BYTES: usize = 65_536;

/// Most rows (interactions and escalations together) one `log_interactions` call of the
/// public key may carry.
pub const MAX_CALL_ROWS: usize = 1_000;

/// Most bytes of JSON (both arrays together) one `log_interactions` call of the public
/// key may carry.
pub const MAX_CALL_BYTES: usize = 1 << 20;

/// How many bytes PostgreSQL's text form of `json` as `jsonb` takes: an upper bound, and
/// exact for compact JSON as serde_json writes it.
///
/// PostgreSQL prints `jsonb` with a space after every `,` and `:`, and writes numbers
/// without exponents (`1e-7` becomes `0.0000001`). It may print less than this bound
/// (escapes such as `\u00e9` it writes as the character, whitespace it drops); never
/// more.
pub fn jsonb_text_len(json: &str) -> usize {
    let bytes = json.as_bytes();
    let mut len = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                // A string, escapes and all, as written.
                let start = i;
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i = (i + 1).min(bytes.len());
                len = len.saturating_add(i - start);
                continue;
            }
            b',' | b':' => len = len.saturating_add(2),
            b' ' | b'\t' | b'\n' | b'\r' => {}
            b'-' | b'0'..=b'9' => {
                let start = i;
                while i < bytes.len()
                    && matches!(bytes[i], b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
                {
                    i += 1;
                }
                len = len.saturating_add(numeric_text_len(&json[start..i]));
                continue;
            }
            _ => len = len.saturating_add(1),
        }
        i += 1;
    }
    len
}

/// The length of PostgreSQL's `numeric` output for a JSON number: no exponent, as many
/// decimals as the number has after its point less its exponent, and no sign on zero.
fn numeric_text_len(number: &str) -> usize {
    let (mantissa, exponent) = match number.find(['e', 'E']) {
        Some(at) => (&number[..at], number[at + 1..].parse::<i64>().unwrap_or(0)),
        None => (number, 0),
    };
    let unsigned = mantissa.trim_start_matches('-');
    let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let digits = || whole.bytes().chain(fraction.bytes());
    let leading_zeros = digits().take_while(|&b| b == b'0').count() as i64;
    let zero = digits().all(|b| b == b'0');
    let negative = mantissa.starts_with('-') && !zero;
    // Where the point falls among all the digits, counted from the first one.
    let point = whole.len() as i64 + exponent;
    let whole_digits = if point > leading_zeros {
        point - leading_zeros
    } else {
        1
    };
    let scale = (fraction.len() as i64 - exponent).max(0);
    let len = i64::from(negative) + whole_digits + if scale > 0 { 1 + scale } else { 0 };
    usize::try_from(len).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_json_gains_a_space_after_each_separator() {
        assert_eq!(
            jsonb_text_len(r#"{"a":1,"b":[1,2]}"#),
            r#"{"a": 1, "b": [1, 2]}"#.len()
        );
        assert_eq!(jsonb_text_len("[]"), 2);
        assert_eq!(jsonb_text_len("null"), 4);
        // Separators inside strings are text, escapes stay as written.
        assert_eq!(
            jsonb_text_len(r#"{"k":"a,b:c \" \\ \u0001"}"#),
            r#"{"k": "a,b:c \" \\ \u0001"}"#.len()
        );
        // Whitespace outside strings is dropped, then the separators' spaces added.
        assert_eq!(jsonb_text_len("[ 1 ,\n 2 ]"), "[1, 2]".len());
    }

    #[test]
    fn numbers_are_counted_as_postgresql_prints_them() {
        for (json, printed) in [
            ("0", "0"),
            ("-12.50", "-12.50"),
            ("1.0", "1.0"),
            ("1e2", "100"),
            ("1.25e2", "125"),
            ("1.5e-7", "0.00000015"),
            ("-2E+3", "-2000"),
            ("0.5e1", "5"),
            ("0.05e-1", "0.005"),
            ("-0.0", "0.0"),
            ("-0", "0"),
            ("007", "7"),
        ] {
            assert_eq!(numeric_text_len(json), printed.len(), "{json}");
        }
        // The smallest double: 323 zeros after the point, then a 5.
        assert_eq!(numeric_text_len("5e-324"), 2 + 324);
    }

    #[test]
    fn one_maximal_row_fits_one_call() {
        // Four free texts at the limit, every character escaped as \u00XX (6 bytes),
        // the citations at theirs, and the VARCHARs likewise: still under one call.
        let texts = 4 * MAX_TEXT_CHARS * 6;
        let varchars = (255 + 100 + 50 + 20 + 20 + 10) * 6;
        let numbers_keys_timestamps = 4096;
        assert!(
            texts + varchars + MAX_CITATIONS_JSON_BYTES + numbers_keys_timestamps < MAX_CALL_BYTES,
            "a row of the model must always fit one call"
        );
    }
}

//! Payment card numbers: the Luhn check and the networks' prefixes and lengths.
//!
//! The table is deliberately the issuers' published ranges, not "any 13–19 digits":
//! about one random number in ten passes Luhn, so the prefix is what keeps order and
//! reference numbers out. The SQL guard (`redaction.card_network_ok`) holds the same
//! table; a test keeps the two in step.

/// One network's range: numbers whose first `width` digits lie in `low..=high`, with a
/// length in `lengths` (bit `n` set = `n` digits allowed).
struct Range {
    width: usize,
    low: u32,
    high: u32,
    lengths: u32,
}

const fn lengths(min: u32, max: u32) -> u32 {
    ((1 << (max + 1)) - 1) & !((1 << min) - 1)
}

const fn one(length: u32) -> u32 {
    1 << length
}

/// Issuer ranges (ISO/IEC 7812 IINs as the networks publish them).
#[rustfmt::skip]
const RANGES: &[Range] = &[
    // Visa.
    Range { width: 1, low: 4, high: 4, lengths: one(13) | one(16) | one(19) },
    // Mastercard, the 2-series and the 5-series.
    Range { width: 4, low: 2221, high: 2720, lengths: one(16) },
    Range { width: 2, low: 51, high: 55, lengths: one(16) },
    // Mir.
    Range { width: 4, low: 2200, high: 2204, lengths: lengths(16, 19) },
    // American Express.
    Range { width: 2, low: 34, high: 34, lengths: one(15) },
    Range { width: 2, low: 37, high: 37, lengths: one(15) },
    // Diners Club.
    Range { width: 3, low: 300, high: 305, lengths: lengths(14, 19) },
    Range { width: 4, low: 3095, high: 3095, lengths: lengths(14, 19) },
    Range { width: 2, low: 36, high: 36, lengths: lengths(14, 19) },
    Range { width: 2, low: 38, high: 39, lengths: lengths(14, 19) },
    // JCB.
    Range { width: 4, low: 3528, high: 3589, lengths: lengths(16, 19) },
    // Maestro (50, 56–58) and the 6-series: Discover, UnionPay, RuPay, Maestro, Troy.
    Range { width: 2, low: 50, high: 50, lengths: lengths(13, 19) },
    Range { width: 2, low: 56, high: 58, lengths: lengths(13, 19) },
    Range { width: 1, low: 6, high: 6, lengths: lengths(13, 19) },
    // UnionPay and RuPay 8-series.
    Range { width: 2, low: 81, high: 82, lengths: lengths(16, 19) },
];

/// True when `digits` (ASCII digits only) has a known network's prefix and length.
pub fn network_accepts(digits: &[u8]) -> bool {
    let len = digits.len();
    if !(13..=19).contains(&len) {
        return false;
    }
    RANGES.iter().any(|range| {
        range.lengths & (1 << len) != 0 && {
            let prefix = digits[..range.width]
                .iter()
                .fold(0u32, |n, d| n * 10 + u32::from(d - b'0'));
            (range.low..=range.high).contains(&prefix)
        }
    })
}

/// The Luhn (mod 10) check over ASCII digits; false for anything else or nothing.
pub fn luhn_valid(digits: &[u8]) -> bool {
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            let d = u32::from(d - b'0');
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 {
                    doubled - 9
                } else {
                    doubled
                }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// True when `digits` is a card number: a known network's prefix and length, Luhn-valid.
pub fn is_card(digits: &[u8]) -> bool {
    network_accepts(digits) && luhn_valid(digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_test_numbers_are_cards() {
        for pan in [
            "4111111111111111",
            "4012888888881881",
            "4222222222222",
            "5555555555554444",
            "5105105105105100",
            "2223003122003222",
            "378282246310005",
            "371449635398431",
            "6011111111111117",
            "6011000990139424",
            "30569309025904",
            "38520000023237",
            "3530111333300000",
            "3566002020360505",
            "6200000000000005",
            "6759649826438453",
        ] {
            assert!(is_card(pan.as_bytes()), "{pan}");
        }
    }

    #[test]
    fn luhn_failures_and_unknown_prefixes_are_not_cards() {
        // One digit changed: Luhn fails.
        assert!(!is_card(b"4111111111111112"));
        // Luhn-valid, but no network starts with 1, 7 or 9.
        assert!(luhn_valid(b"1234567812345670"));
        assert!(!is_card(b"1234567812345670"));
        assert!(luhn_valid(b"7992739871300008"));
        assert!(!is_card(b"7992739871300008"));
        // Visa never has 14 or 15 digits; Amex always 15.
        assert!(!network_accepts(b"41111111111111"));
        assert!(!network_accepts(b"3782822463100050"));
        // Too short, too long, not digits.
        assert!(!is_card(b"411111111111"));
        assert!(!is_card(b"41111111111111111111"));
        assert!(!luhn_valid(b""));
        assert!(!luhn_valid(b"4111-1111"));
    }
}

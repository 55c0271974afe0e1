//! Telephone numbers by their shape: international (`+CC …`, `00 CC …`), North American
//! (`(212) 555-0123`, `212-555-0123`), and national numbers with a trunk `0`
//! (`020 7946 0958`, `06 12 34 56 78`, `030/1234567`).
//!
//! `phonenumber` (libphonenumber's metadata) was measured at about 10 µs to parse and
//! validate one number, the whole budget of a 600-character text, so the engine checks
//! shapes and ITU country codes instead; a bare run of digits is a phone number only
//! after a context word such as "call" or "mobile".

/// ITU-T E.164 country calling codes in use (1 to 3 digits).
const COUNTRY_CODES: &[u16] = &[
    1, 7, 20, 27, 30, 31, 32, 33, 34, 36, 39, 40, 41, 43, 44, 45, 46, 47, 48, 49, 51, 52, 53, 54,
    55, 56, 57, 58, 60, 61, 62, 63, 64, 65, 66, 81, 82, 84, 86, 90, 91, 92, 93, 94, 95, 98, 211,
    212, 213, 216, 218, 220, 221, 222, 223, 224, 225, 226, 227, 228, 229, 230, 231, 232, 233, 234,
    235, 236, 237, 238, 239, 240, 241, 242, 243, 244, 245, 246, 248, 249, 250, 251, 252, 253, 254,
    255, 256, 257, 258, 260, 261, 262, 263, 264, 265, 266, 267, 268, 269, 290, 291, 297, 298, 299,
    350, 351, 352, 353, 354, 355, 356, 357, 358, 359, 370, 371, 372, 373, 374, 375, 376, 377, 378,
    380, 381, 382, 383, 385, 386, 387, 389, 420, 421, 423, 500, 501, 502, 503, 504, 505, 506, 507,
    508, 509, 590, 591, 592, 593, 594, 595, 596, 597, 598, 599, 670, 672, 673, 674, 675, 676, 677,
    678, 679, 680, 681, 682, 683, 685, 686, 687, 688, 689, 690, 691, 692, 850, 852, 853, 855, 856,
    880, 886, 960, 961, 962, 963, 964, 965, 966, 967, 968, 970, 971, 972, 973, 974, 975, 976, 977,
    992, 993, 994, 995, 996, 998,
];

/// The length of the country calling code `digits` starts with, if any.
pub fn country_code_len(digits: &[u8]) -> Option<usize> {
    if digits.first() == Some(&b'0') {
        return None;
    }
    let mut code = 0u16;
    for (i, d) in digits.iter().take(3).enumerate() {
        if !d.is_ascii_digit() {
            return None;
        }
        code = code * 10 + u16::from(d - b'0');
        if COUNTRY_CODES.binary_search(&code).is_ok() {
            return Some(i + 1);
        }
    }
    None
}

/// The digit groups of a number and what separates them, as written.
#[derive(Debug, Clone, Copy)]
pub struct Shape<'a> {
    /// Each group of digits.
    pub groups: &'a [&'a str],
    /// The text between group `i` and group `i + 1`.
    pub separators: &'a [&'a str],
    /// `+` or `(` written right before the first group, if any.
    pub lead: Option<u8>,
}

impl Shape<'_> {
    fn digit_count(&self) -> usize {
        self.groups.iter().map(|g| g.len()).sum()
    }

    fn digits(&self) -> Vec<u8> {
        self.groups.iter().flat_map(|g| g.bytes()).collect()
    }
}

/// True when the shape is a telephone number without needing a context word.
pub fn is_phone_shape(shape: &Shape<'_>) -> bool {
    let n = shape.digit_count();
    if shape.lead == Some(b'+') {
        return (8..=15).contains(&n) && country_code_len(&shape.digits()).is_some();
    }
    let groups = shape.groups;
    let Some(first) = groups.first() else {
        return false;
    };
    if first.starts_with("00") {
        return international_prefix(shape);
    }
    if is_north_american(shape) {
        return true;
    }
    first.starts_with('0') && is_trunk_national(shape)
}

/// `00 44 20 7946 0958`, `0044 20 7946 0958`: the international prefix, a country code
/// ending its group, then 7–13 digits in at least one more group.
fn international_prefix(shape: &Shape<'_>) -> bool {
    let groups = shape.groups;
    if groups.len() < 2 || shape.lead.is_some() {
        return false;
    }
    let digits = shape.digits();
    let rest = &digits[2..];
    let Some(code_len) = country_code_len(rest) else {
        return false;
    };
    let first = groups[0].len();
    let code_ends_group = first == 2 + code_len || (first == 2 && groups[1].len() == code_len);
    code_ends_group && (7..=13).contains(&(rest.len() - code_len))
}

/// `(212) 555-0123`, `212-555-0123`, `212.555.0123`, `1 800 555 0199`: area code and
/// exchange each start with 2–9.
fn is_north_american(shape: &Shape<'_>) -> bool {
    let mut groups = shape.groups;
    if groups.len() == 4 && groups[0] == "1" {
        groups = &groups[1..];
    }
    let lens: Vec<usize> = groups.iter().map(|g| g.len()).collect();
    lens == [3, 3, 4]
        && matches!(groups[0].as_bytes()[0], b'2'..=b'9')
        && matches!(groups[1].as_bytes()[0], b'2'..=b'9')
}

/// A national number with a trunk 0 (UK, France, Germany, Italy, the Netherlands, …):
/// 10–12 digits in two or more groups of two or more, one separator used throughout
/// (a parenthesised first group aside), `/` only between two groups, and a last group of
/// three or more unless the number is written in pairs as in France.
fn is_trunk_national(shape: &Shape<'_>) -> bool {
    let groups = shape.groups;
    let n = shape.digit_count();
    if !(10..=12).contains(&n) || groups.len() < 2 || groups.iter().any(|g| g.len() < 2) {
        return false;
    }
    let in_pairs = groups[1..].iter().all(|g| g.len() == 2);
    if groups[groups.len() - 1].len() < 3 && !in_pairs {
        return false;
    }
    let mut separators = shape.separators;
    if shape.lead == Some(b'(') {
        match separators.first() {
            Some(s) if s.starts_with(')') => separators = &separators[1..],
            _ => return false,
        }
    } else if shape.lead.is_some() {
        return false;
    }
    let Some(first) = separators.first() else {
        return true;
    };
    if separators.iter().any(|s| s != first) || first.contains(['(', ')']) {
        return false;
    }
    !first.contains('/') || groups.len() == 2
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape_of(text: &str) -> bool {
        let (lead, body) = match text.as_bytes()[0] {
            c @ (b'+' | b'(') => (Some(c), &text[1..]),
            _ => (None, text),
        };
        let mut groups = Vec::new();
        let mut separators = Vec::new();
        let mut rest = body;
        while !rest.is_empty() {
            let digits = rest
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len());
            groups.push(&rest[..digits]);
            rest = &rest[digits..];
            let sep = rest
                .find(|c: char| c.is_ascii_digit())
                .unwrap_or(rest.len());
            if sep > 0 && !rest[sep..].is_empty() {
                separators.push(&rest[..sep]);
            }
            rest = &rest[sep..];
        }
        is_phone_shape(&Shape {
            groups: &groups,
            separators: &separators,
            lead,
        })
    }

    #[test]
    fn phones_in_many_forms() {
        for phone in [
            "+44 20 7946 0958",
            "+442079460958",
            "+44 (0)20 7946 0958",
            "+1 212 555 0123",
            "+1-212-555-0123",
            "+49 30 12345678",
            "+33 6 12 34 56 78",
            "+353 1 234 5678",
            "0044 20 7946 0958",
            "00 33 6 12 34 56 78",
            "(212) 555-0123",
            "212-555-0123",
            "212.555.0123",
            "1-800-555-0199",
            "020 7946 0958",
            "07700 900123",
            "0161 496 0000",
            "06 12 34 56 78",
            "01.23.45.67.89",
            "030/1234567",
            "(020) 7946 0958",
        ] {
            assert!(shape_of(phone), "{phone}");
        }
    }

    #[test]
    fn phone_like_numbers_that_are_not_phones() {
        for other in [
            "+0 123 456 789",
            "+12345",
            "2024-03-15",
            "15/03/2024",
            "01/02/2024 10",
            "01.02.2024 1030",
            "123-45-6789",
            "123-456-7890",
            "20-00-00",
            "4839201847",
            "0012 3456 7890",
            "1 250 000",
            "192.168.1.10",
            "0 7946 0958 1",
            "0417 1643 00",
        ] {
            assert!(!shape_of(other), "{other}");
        }
    }

    #[test]
    fn country_codes() {
        assert_eq!(country_code_len(b"14155550123"), Some(1));
        assert_eq!(country_code_len(b"442079460958"), Some(2));
        assert_eq!(country_code_len(b"353123456"), Some(3));
        assert_eq!(country_code_len(b"0123"), None);
        assert_eq!(country_code_len(b"2"), None);
        assert!(COUNTRY_CODES.windows(2).all(|w| w[0] < w[1]));
    }
}

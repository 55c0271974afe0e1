//! IBANs: each country's length (the SWIFT IBAN registry, plus the countries that issue
//! IBANs outside it) and the ISO 13616 mod-97 check.
//!
//! Written here rather than taken from `iban_validate` so that the SQL guard
//! (`redaction.iban_length`) can hold exactly the same table and rule; the crate, which
//! also checks each country's BBAN layout, cross-checks the test corpus instead.

/// Country code and IBAN length, sorted by code.
#[rustfmt::skip]
const LENGTHS: &[([u8; 2], usize)] = &[
    (*b"AD", 24), (*b"AE", 23), (*b"AL", 28), (*b"AO", 25), (*b"AT", 20), (*b"AZ", 28),
    (*b"BA", 20), (*b"BE", 16), (*b"BF", 28), (*b"BG", 22), (*b"BH", 22), (*b"BI", 27),
    (*b"BJ", 28), (*b"BR", 29), (*b"BY", 28), (*b"CF", 27), (*b"CG", 27), (*b"CH", 21),
    (*b"CI", 28), (*b"CM", 27), (*b"CR", 22), (*b"CV", 25), (*b"CY", 28), (*b"CZ", 24),
    (*b"DE", 22), (*b"DJ", 27), (*b"DK", 18), (*b"DO", 28), (*b"DZ", 26), (*b"EE", 20),
    (*b"EG", 29), (*b"ES", 24), (*b"FI", 18), (*b"FK", 18), (*b"FO", 18), (*b"FR", 27),
    (*b"GA", 27), (*b"GB", 22), (*b"GE", 22), (*b"GI", 23), (*b"GL", 18), (*b"GQ", 27),
    (*b"GR", 27), (*b"GT", 28), (*b"GW", 25), (*b"HN", 28), (*b"HR", 21), (*b"HU", 28),
    (*b"IE", 22), (*b"IL", 23), (*b"IQ", 23), (*b"IR", 26), (*b"IS", 26), (*b"IT", 27),
    (*b"JO", 30), (*b"KM", 27), (*b"KW", 30), (*b"KZ", 20), (*b"LB", 28), (*b"LC", 32),
    (*b"LI", 21), (*b"LT", 20), (*b"LU", 20), (*b"LV", 21), (*b"LY", 25), (*b"MA", 28),
    (*b"MC", 27), (*b"MD", 24), (*b"ME", 22), (*b"MG", 27), (*b"MK", 19), (*b"ML", 28),
    (*b"MN", 20), (*b"MR", 27), (*b"MT", 31), (*b"MU", 30), (*b"MZ", 25), (*b"NE", 28),
    (*b"NI", 28), (*b"NL", 18), (*b"NO", 15), (*b"OM", 23), (*b"PK", 24), (*b"PL", 28),
    (*b"PS", 29), (*b"PT", 25), (*b"QA", 29), (*b"RO", 24), (*b"RS", 22), (*b"RU", 33),
    (*b"SA", 24), (*b"SC", 31), (*b"SD", 18), (*b"SE", 24), (*b"SI", 19), (*b"SK", 24),
    (*b"SM", 27), (*b"SN", 28), (*b"SO", 23), (*b"ST", 25), (*b"SV", 28), (*b"TD", 27),
    (*b"TG", 28), (*b"TL", 23), (*b"TN", 24), (*b"TR", 26), (*b"UA", 29), (*b"VA", 22),
    (*b"VG", 24), (*b"XK", 20), (*b"YE", 30),
];

/// The IBAN length of country `code` (two upper-case ASCII letters), if it issues IBANs.
pub fn country_length(code: [u8; 2]) -> Option<usize> {
    LENGTHS
        .binary_search_by_key(&code, |(c, _)| *c)
        .ok()
        .map(|i| LENGTHS[i].1)
}

/// Every country code with its IBAN length, sorted by code.
pub fn country_lengths() -> impl Iterator<Item = (&'static str, usize)> {
    LENGTHS.iter().map(|(code, len)| {
        // The table holds ASCII letters only.
        (std::str::from_utf8(code).unwrap_or("??"), *len)
    })
}

/// The mod-97 check over an IBAN in electronic form (upper-case letters and digits, no
/// spaces): the first four characters moved to the end, letters as 10–35, remainder 1.
pub fn mod97_valid(electronic: &[u8]) -> bool {
    if electronic.len() < 5 {
        return false;
    }
    let (head, tail) = electronic.split_at(4);
    let mut remainder: u32 = 0;
    for &c in tail.iter().chain(head) {
        remainder = match c {
            b'0'..=b'9' => (remainder * 10 + u32::from(c - b'0')) % 97,
            b'A'..=b'Z' => (remainder * 100 + u32::from(c - b'A') + 10) % 97,
            _ => return false,
        };
    }
    remainder == 1
}

/// An IBAN found at the start of a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// Byte length of the IBAN as written, spaces included.
    pub len: usize,
    /// The IBAN in electronic form: upper case, no spaces.
    pub electronic: String,
}

/// Reads an IBAN at the start of `text`: two letters, two digits, then letters and digits
/// with single spaces between them, exactly as many as the country's length, and no
/// letter or digit right after. Lower case is accepted.
pub fn at_start(text: &[u8]) -> Option<Found> {
    let code = [
        text.first()?.to_ascii_uppercase(),
        text.get(1)?.to_ascii_uppercase(),
    ];
    let wanted = country_length(code)?;
    let mut electronic = String::with_capacity(wanted);
    let mut i = 0;
    while electronic.len() < wanted {
        let mut c = *text.get(i)?;
        if c == b' ' && electronic.len() >= 4 {
            i += 1;
            c = *text.get(i)?;
        }
        if !c.is_ascii_alphanumeric() {
            return None;
        }
        electronic.push(char::from(c.to_ascii_uppercase()));
        i += 1;
    }
    if text.get(i).is_some_and(u8::is_ascii_alphanumeric) {
        return None;
    }
    let bytes = electronic.as_bytes();
    if !bytes[2..4].iter().all(u8::is_ascii_digit) || !mod97_valid(bytes) {
        return None;
    }
    Some(Found { len: i, electronic })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_examples_are_found_in_print_and_electronic_form() {
        for iban in [
            "GB82 WEST 1234 5698 7654 32",
            "GB82WEST12345698765432",
            "DE89 3704 0044 0532 0130 00",
            "FR14 2004 1010 0505 0001 3M02 606",
            "NL91 ABNA 0417 1643 00",
            "BE68 5390 0754 7034",
            "NO93 8601 1117 947",
            "MT84 MALT 0110 0001 2345 MTLC AST0 01S",
            "gb82 west 1234 5698 7654 32",
        ] {
            let found = at_start(iban.as_bytes()).unwrap_or_else(|| panic!("{iban}"));
            assert_eq!(found.len, iban.len(), "{iban}");
            assert_eq!(found.electronic, iban.replace(' ', "").to_uppercase());
        }
    }

    #[test]
    fn the_iban_ends_at_its_country_length() {
        let text = b"GB82 WEST 1234 5698 7654 32 4111 1111 1111 1111";
        assert_eq!(at_start(text).map(|f| f.len), Some(27));
        // Glued to more letters or digits, it is not an IBAN.
        assert_eq!(at_start(b"GB82WEST123456987654321"), None);
        assert_eq!(at_start(b"GB82 WEST 1234 5698 7654 32X"), None);
    }

    #[test]
    fn bad_checks_unknown_countries_and_short_ones_are_refused() {
        assert_eq!(at_start(b"GB83 WEST 1234 5698 7654 32"), None);
        assert_eq!(at_start(b"XX82 WEST 1234 5698 7654 32"), None);
        assert_eq!(at_start(b"GB82 WEST 1234 5698"), None);
        assert_eq!(at_start(b"GB82  WEST 1234 5698 7654 32"), None);
        assert_eq!(at_start(b"GBX2 WEST 1234 5698 7654 32"), None);
        assert!(!mod97_valid(b"GB82"));
        assert!(!mod97_valid(b"GB82-WEST"));
    }

    #[test]
    fn the_table_is_sorted_and_plausible() {
        assert!(LENGTHS.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(LENGTHS.iter().all(|(_, len)| (15..=34).contains(len)));
        assert_eq!(country_length(*b"GB"), Some(22));
        assert_eq!(country_length(*b"RU"), Some(33));
        assert_eq!(country_length(*b"US"), None);
    }
}

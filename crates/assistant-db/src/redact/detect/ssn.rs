//! US Social Security numbers and ABA routing numbers: their validity rules.

/// True when nine ASCII digits are a possible SSN: area 001–899 except 666, group 01–99,
/// serial 0001–9999 (the Social Security Administration's rules; 9xx are ITINs).
pub fn is_ssn(digits: &[u8]) -> bool {
    if digits.len() != 9 || !digits.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let area = &digits[..3];
    let group = &digits[3..5];
    let serial = &digits[5..];
    area != b"000" && area != b"666" && area[0] != b'9' && group != b"00" && serial != b"0000"
}

/// True when nine ASCII digits pass the ABA routing-number checksum
/// (3·d1 + 7·d2 + d3 + 3·d4 + … ≡ 0 mod 10).
pub fn is_aba_routing(digits: &[u8]) -> bool {
    if digits.len() != 9 || !digits.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .zip([3, 7, 1].iter().cycle())
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    sum.is_multiple_of(10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssn_rules() {
        assert!(is_ssn(b"123456789"));
        assert!(is_ssn(b"078051120"));
        assert!(is_ssn(b"899990001"));
        for bad in [
            "000456789",
            "666456789",
            "900456789",
            "987654321",
            "123006789",
            "123450000",
            "12345678",
            "12345678a",
        ] {
            assert!(!is_ssn(bad.as_bytes()), "{bad}");
        }
    }

    #[test]
    fn aba_checksum() {
        assert!(is_aba_routing(b"021000021"));
        assert!(is_aba_routing(b"011000015"));
        assert!(!is_aba_routing(b"021000022"));
        assert!(!is_aba_routing(b"02100002"));
    }
}

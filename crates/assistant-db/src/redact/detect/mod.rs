//! The detectors: what each kind looks like, and the checks that confirm a candidate.
//!
//! Candidates are found by two regular expressions, one pass each: e-mail addresses
//! first, then one combined pattern for IBAN candidates and runs of digits (plus the
//! engine's own tokens, so that a second pass leaves them alone). Each candidate is then
//! confirmed by code: Luhn and network prefix, country length and mod-97, context
//! words, phone and SSN shapes.

pub mod card;
pub mod context;
pub mod iban;
pub mod numeric;
pub mod phone;
pub mod ssn;

/// Letters outside ASCII that e-mail addresses may hold (Latin-1, Latin Extended A/B,
/// Greek, Cyrillic), as escapes both Rust's `regex` and PostgreSQL's regular expressions
/// read the same way.
const NON_ASCII_LETTERS: &str =
    r"\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u024F\u0370-\u03FF\u0400-\u04FF";

/// An e-mail address: a local part that does not start with a dot or an apostrophe, `@`,
/// dot-separated domain labels, and a top-level domain that starts with a letter. The
/// SQL guard uses this very text (`redaction.mask_text`).
pub fn email_pattern() -> String {
    let l = NON_ASCII_LETTERS;
    let label = format!("[A-Za-z0-9{l}](?:[A-Za-z0-9{l}-]*[A-Za-z0-9{l}])?");
    format!(
        "[A-Za-z0-9_%+{l}-][A-Za-z0-9._%+'!#$&*/=?^`{{|}}~{l}-]*@(?:{label}\\.)+[A-Za-z{l}][A-Za-z0-9{l}-]*[A-Za-z0-9{l}]"
    )
}

/// An IBAN candidate: two letters at a word start, two digits, then 11–32 letters or
/// digits with single spaces between them; [`iban::at_start`] decides.
pub const IBAN_CANDIDATE: &str = r"(?i-u:\b[a-z]{2}[0-9]{2}(?: ?[a-z0-9]){11,32})";

/// A run of digits with short separators, opened by `+`, `(` or a word boundary;
/// [`numeric::classify`] decides.
pub const DIGIT_RUN: &str = r"(?-u:(?:\+|\(|\b)[0-9](?:[ \-./()]{0,3}[0-9])*)";

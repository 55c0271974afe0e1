//! Runs of digits ("chunks") and what they are: card numbers first, then the kinds a
//! context word announces, then the kinds recognisable by shape alone.
//!
//! A chunk is digits with short separators (space, `-`, `.`, `/`, parentheses) between
//! them, so a card, a phone number or an SSN arrives as one chunk however it is grouped.
//! Inside a chunk, a card number is a run of whole groups joined by single spaces or
//! dashes; the longest valid run from each group wins, so "4111 1111 1111 1111 2" and
//! two cards written one after the other are both read right. Whatever is left of the
//! chunk is then classified as a whole.

use std::ops::Range;

use super::card;
use super::context::{self, Context};
use super::phone::{self, Shape};
use super::ssn;
use crate::redact::Kind;

/// A number found in a chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// Byte range in the text.
    pub range: Range<usize>,
    /// What it is.
    pub kind: Kind,
}

/// Classifies the chunk `chunk` of `text`, pushing what it finds onto `out`. `groups` is
/// scratch space, reused between calls.
pub fn classify(
    text: &str,
    chunk: Range<usize>,
    groups: &mut Vec<Range<usize>>,
    out: &mut Vec<Hit>,
) {
    let bytes = text.as_bytes();
    let lead = match bytes[chunk.start] {
        c @ (b'+' | b'(') => Some(c),
        _ => None,
    };
    groups.clear();
    let mut digits = 0;
    let mut i = chunk.start;
    while i < chunk.end {
        if bytes[i].is_ascii_digit() {
            let start = i;
            while i < chunk.end && bytes[i].is_ascii_digit() {
                i += 1;
            }
            digits += i - start;
            groups.push(start..i);
        } else {
            i += 1;
        }
    }
    // Nothing shorter than a security code is worth a look.
    if digits < 3 {
        return;
    }
    let mut rest_start = 0;
    let mut a = 0;
    while a < groups.len() {
        // A card number never follows a `+`: that is a phone number's country code.
        let card_end = if a == 0 && lead == Some(b'+') {
            None
        } else {
            longest_card(bytes, groups, a)
        };
        match card_end {
            Some(b) => {
                if rest_start < a {
                    rest(text, &chunk, lead, groups, rest_start..a, out);
                }
                out.push(Hit {
                    range: groups[a].start..groups[b].end,
                    kind: Kind::Card,
                });
                a = b + 1;
                rest_start = a;
            }
            None => a += 1,
        }
    }
    if rest_start < groups.len() {
        rest(text, &chunk, lead, groups, rest_start..groups.len(), out);
    }
}

/// The last group of the longest card number starting at group `a`.
fn longest_card(bytes: &[u8], groups: &[Range<usize>], a: usize) -> Option<usize> {
    let mut digits = [0u8; 19];
    let mut n = 0;
    let mut best = None;
    for b in a..groups.len() {
        if b > a {
            let separator = &bytes[groups[b - 1].end..groups[b].start];
            if separator != b" " && separator != b"-" {
                break;
            }
        }
        let group = &bytes[groups[b].clone()];
        if n + group.len() > digits.len() {
            break;
        }
        digits[n..n + group.len()].copy_from_slice(group);
        n += group.len();
        if n >= 13 && card::is_card(&digits[..n]) {
            best = Some(b);
        }
    }
    best
}

/// Classifies groups `range` of a chunk, as one number, after the cards are taken out.
fn rest(
    text: &str,
    chunk: &Range<usize>,
    lead: Option<u8>,
    groups: &[Range<usize>],
    range: Range<usize>,
    out: &mut Vec<Hit>,
) {
    let at_chunk_start = range.start == 0;
    let groups = &groups[range];
    // A `(` belongs to the number only when it closes right after the first group, as in
    // "(212) 555-0123"; otherwise it opens the sentence's own parenthesis.
    let lead = match lead {
        Some(b'+') if at_chunk_start => lead,
        Some(b'(')
            if at_chunk_start && groups.len() > 1 && text.as_bytes()[groups[0].end] == b')' =>
        {
            lead
        }
        _ => None,
    };
    let start = if lead.is_some() {
        chunk.start
    } else {
        groups[0].start
    };
    let end = groups[groups.len() - 1].end;
    let n: usize = groups.iter().map(|g| g.len()).sum();
    if let Some(kind) = by_context(text, chunk, at_chunk_start, groups, n) {
        out.push(Hit {
            range: start..end,
            kind,
        });
        return;
    }
    if !(7..=15).contains(&n) {
        return;
    }
    let bytes = text.as_bytes();
    let strs: Vec<&str> = groups.iter().map(|g| &text[g.clone()]).collect();
    let separators: Vec<&str> = groups
        .windows(2)
        .map(|w| &text[w[0].end..w[1].start])
        .collect();
    if is_ssn_shape(&strs, &separators, bytes, groups) {
        out.push(Hit {
            range: start..end,
            kind: Kind::Ssn,
        });
        return;
    }
    let shape = Shape {
        groups: &strs,
        separators: &separators,
        lead,
    };
    if phone::is_phone_shape(&shape) {
        out.push(Hit {
            range: start..end,
            kind: Kind::Phone,
        });
    }
}

/// The kind a context word right before the chunk announces, if the number fits it.
fn by_context(
    text: &str,
    chunk: &Range<usize>,
    at_chunk_start: bool,
    groups: &[Range<usize>],
    n: usize,
) -> Option<Kind> {
    if !at_chunk_start {
        return None;
    }
    let digits = || -> Vec<u8> {
        groups
            .iter()
            .flat_map(|g| text.as_bytes()[g.clone()].iter().copied())
            .collect()
    };
    match context::before(&text[..chunk.start])? {
        Context::Cvv if groups.len() == 1 && (3..=4).contains(&n) => Some(Kind::Cvv),
        Context::Routing if n == 9 => Some(Kind::Account),
        Context::SortCode if n == 6 => Some(Kind::Account),
        Context::Account if (6..=17).contains(&n) => Some(Kind::Account),
        Context::Ssn if n == 9 && ssn::is_ssn(&digits()) => Some(Kind::Ssn),
        Context::Phone if (7..=15).contains(&n) => Some(Kind::Phone),
        _ => None,
    }
}

/// `123-45-6789` or `123 45 6789` with a valid area, group and serial.
fn is_ssn_shape(strs: &[&str], separators: &[&str], bytes: &[u8], groups: &[Range<usize>]) -> bool {
    if strs.iter().map(|s| s.len()).ne([3, 2, 4]) {
        return false;
    }
    if separators[0] != separators[1] || !matches!(separators[0], "-" | " ") {
        return false;
    }
    let digits: Vec<u8> = groups
        .iter()
        .flat_map(|g| bytes[g.clone()].iter().copied())
        .collect();
    ssn::is_ssn(&digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every hit in `text`, taking the whole text as one chunk after `prefix`.
    fn hits(prefix: &str, chunk: &str) -> Vec<(Kind, String)> {
        let text = format!("{prefix}{chunk}");
        let mut groups = Vec::new();
        let mut out = Vec::new();
        classify(&text, prefix.len()..text.len(), &mut groups, &mut out);
        out.into_iter()
            .map(|hit| (hit.kind, text[hit.range].to_owned()))
            .collect()
    }

    fn one(kind: Kind, value: &str) -> Vec<(Kind, String)> {
        vec![(kind, value.to_owned())]
    }

    #[test]
    fn cards_in_any_grouping() {
        for pan in [
            "4111111111111111",
            "4111 1111 1111 1111",
            "4111-1111-1111-1111",
            "3782 822463 10005",
            "3056 930902 5904",
            "6200 0000 0000 0000 042",
        ] {
            assert_eq!(hits("card ", pan), one(Kind::Card, pan), "{pan}");
        }
    }

    #[test]
    fn a_card_is_cut_out_of_a_longer_chunk() {
        assert_eq!(
            hits("", "4111 1111 1111 1111 2"),
            one(Kind::Card, "4111 1111 1111 1111")
        );
        assert_eq!(
            hits("", "4111 1111 1111 1111 5555 5555 5555 4444"),
            vec![
                (Kind::Card, "4111 1111 1111 1111".to_owned()),
                (Kind::Card, "5555 5555 5555 4444".to_owned())
            ]
        );
        assert_eq!(
            hits("", "+44 20 7946 0958 4111 1111 1111 1111"),
            vec![
                (Kind::Phone, "+44 20 7946 0958".to_owned()),
                (Kind::Card, "4111 1111 1111 1111".to_owned())
            ]
        );
    }

    #[test]
    fn no_card_across_other_separators_or_after_a_plus() {
        assert_eq!(hits("", "4111.1111.1111.1111"), vec![]);
        assert_eq!(hits("", "4111  1111  1111  1111"), vec![]);
        assert_eq!(hits("", "4111 1111 1111 1112"), vec![]);
        // Luhn-valid and a Visa length, but written as a phone number.
        assert_eq!(
            hits("", "+4915112345678").first().map(|h| h.0),
            Some(Kind::Phone)
        );
    }

    #[test]
    fn context_kinds() {
        assert_eq!(
            hits("account number: ", "12345678"),
            one(Kind::Account, "12345678")
        );
        assert_eq!(
            hits("routing ", "021000021"),
            one(Kind::Account, "021000021")
        );
        assert_eq!(
            hits("sort code ", "20-00-00"),
            one(Kind::Account, "20-00-00")
        );
        assert_eq!(hits("CVV: ", "123"), one(Kind::Cvv, "123"));
        assert_eq!(hits("security code ", "1234"), one(Kind::Cvv, "1234"));
        assert_eq!(hits("SSN ", "123456789"), one(Kind::Ssn, "123456789"));
        assert_eq!(
            hits("call me on ", "07700900123"),
            one(Kind::Phone, "07700900123")
        );
    }

    #[test]
    fn context_words_need_numbers_that_fit() {
        assert_eq!(hits("account ending ", "1234"), vec![]);
        assert_eq!(hits("account ", "1234"), vec![]);
        assert_eq!(hits("CVV ", "12345"), vec![]);
        assert_eq!(hits("SSN ", "000456789"), vec![]);
        assert_eq!(hits("order ", "12345678"), vec![]);
    }

    #[test]
    fn shapes_without_context() {
        assert_eq!(hits("", "123-45-6789"), one(Kind::Ssn, "123-45-6789"));
        assert_eq!(hits("", "666-45-6789"), vec![]);
        assert_eq!(
            hits("", "(212) 555-0123"),
            one(Kind::Phone, "(212) 555-0123")
        );
        assert_eq!(hits("", "2024-03-15"), vec![]);
        assert_eq!(hits("", "4839201847"), vec![]);
        assert_eq!(hits("", "12"), vec![]);
    }
}

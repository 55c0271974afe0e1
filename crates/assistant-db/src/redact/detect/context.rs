//! Context words: the few words before a number that say what it is ("account number
//! is …", "CVV: …", "call me on …").
//!
//! The engine reads words backwards from the number, skipping filler words ("number",
//! "is", "my", …) and punctuation, and stops at the first other word: so "account
//! balance 1,250" is not an account number, and "account number: 12345678" is. A `]`
//! also stops it, so that a token written by an earlier pass ("[ACCOUNT]") never
//! becomes the context of the next number, which keeps redaction idempotent.

/// What the context words say the following number is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    /// "account", "acct", "acc".
    Account,
    /// "routing", "ABA".
    Routing,
    /// "sort code", "BSB".
    SortCode,
    /// "CVV", "CVC", "CSC", "security code", "card verification".
    Cvv,
    /// "SSN", "social security".
    Ssn,
    /// "phone", "call", "mobile", "text me", ….
    Phone,
}

/// How far back (in bytes) context words are looked for.
const WINDOW: usize = 48;

/// Words that may stand between a context word and its number.
const FILLERS: &[&str] = &[
    "a", "about", "am", "are", "at", "be", "code", "for", "is", "it", "me", "my", "no", "nr",
    "num", "number", "numbers", "of", "on", "our", "s", "the", "their", "this", "to", "us", "was",
    "will", "with", "you", "your",
];

fn single(word: &str) -> Option<Context> {
    Some(match word {
        "account" | "acct" | "acc" | "accnt" => Context::Account,
        "routing" | "aba" => Context::Routing,
        "bsb" | "sortcode" => Context::SortCode,
        "cvv" | "cvv2" | "cvc" | "cvc2" | "csc" => Context::Cvv,
        "ssn" => Context::Ssn,
        "phone" | "telephone" | "tel" | "mobile" | "cell" | "cellphone" | "call" | "ring"
        | "text" | "sms" | "whatsapp" | "fax" | "landline" | "reach" | "contact" => Context::Phone,
        _ => return None,
    })
}

fn pair(before: &str, word: &str) -> Option<Context> {
    Some(match (before, word) {
        ("sort", "code") => Context::SortCode,
        ("security", "code") | ("card", "verification") => Context::Cvv,
        ("social", "security") => Context::Ssn,
        _ => return None,
    })
}

/// The context of a number that starts right after `before`.
pub fn before(before: &str) -> Option<Context> {
    let bytes = before.as_bytes();
    let floor = bytes.len().saturating_sub(WINDOW);
    let mut words = Words {
        bytes,
        pos: bytes.len(),
        floor,
    };
    let mut current = words.next()?;
    loop {
        let previous = words.next();
        let mut lower = [0u8; 16];
        let word = lowercase(current, &mut lower)?;
        if let Some(previous) = previous {
            let mut lower_previous = [0u8; 16];
            if let Some(prev) = lowercase(previous, &mut lower_previous) {
                if let Some(context) = pair(prev, word) {
                    return Some(context);
                }
            }
        }
        if let Some(context) = single(word) {
            return Some(context);
        }
        if !FILLERS.contains(&word) {
            return None;
        }
        current = previous?;
    }
}

/// `word` in lower case, in `buffer`; `None` for words too long to be context words.
fn lowercase<'b>(word: &[u8], buffer: &'b mut [u8; 16]) -> Option<&'b str> {
    let out = buffer.get_mut(..word.len())?;
    out.copy_from_slice(word);
    out.make_ascii_lowercase();
    std::str::from_utf8(out).ok()
}

/// ASCII words read backwards, stopping at `]` or at the window's floor.
struct Words<'a> {
    bytes: &'a [u8],
    pos: usize,
    floor: usize,
}

impl<'a> Iterator for Words<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        while self.pos > self.floor && !self.bytes[self.pos - 1].is_ascii_alphanumeric() {
            if self.bytes[self.pos - 1] == b']' {
                self.floor = self.pos;
                return None;
            }
            self.pos -= 1;
        }
        let end = self.pos;
        while self.pos > self.floor && self.bytes[self.pos - 1].is_ascii_alphanumeric() {
            self.pos -= 1;
        }
        // A word cut by the window's floor may be the tail of a longer one: drop it.
        if end == self.pos || (self.pos == self.floor && self.floor > 0) {
            return None;
        }
        Some(&self.bytes[self.pos..end])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_words_with_fillers_between() {
        assert_eq!(before("my account number is "), Some(Context::Account));
        assert_eq!(before("Acct #: "), Some(Context::Account));
        assert_eq!(before("account no. "), Some(Context::Account));
        assert_eq!(before("routing number "), Some(Context::Routing));
        assert_eq!(before("the sort code is "), Some(Context::SortCode));
        assert_eq!(before("CVV "), Some(Context::Cvv));
        assert_eq!(before("security code: "), Some(Context::Cvv));
        assert_eq!(before("my SSN is "), Some(Context::Ssn));
        assert_eq!(before("social security number "), Some(Context::Ssn));
        assert_eq!(before("please call me on "), Some(Context::Phone));
        assert_eq!(before("Tel: "), Some(Context::Phone));
    }

    #[test]
    fn other_words_break_the_context() {
        assert_eq!(before("account balance "), None);
        assert_eq!(before("order number "), None);
        assert_eq!(before("the code "), None);
        assert_eq!(before("account ending in "), None);
        assert_eq!(before(""), None);
        assert_eq!(before("   "), None);
    }

    #[test]
    fn a_token_stops_the_search() {
        assert_eq!(before("account [ACCOUNT], "), None);
        assert_eq!(before("[ACCOUNT] "), None);
        assert_eq!(before("Account:\n"), Some(Context::Account));
    }

    #[test]
    fn only_the_last_few_words_count() {
        let far = format!("account {} ", "is ".repeat(20));
        assert_eq!(before(&far), None);
        let near = format!("account {}", "is ".repeat(13));
        assert_eq!(before(&near), Some(Context::Account));
        // One filler more and the window cuts "account" to "ount": not read as a word.
        let cut = format!("account {}", "is ".repeat(14));
        assert_eq!(before(&cut), None);
    }
}

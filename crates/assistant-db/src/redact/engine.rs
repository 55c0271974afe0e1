//! The engine: finds every value of every kind in a text, then writes each one as its
//! kind's policy says.
//!
//! Order of precedence: e-mail addresses, then IBANs and runs of digits (cards first
//! within a run), then user rules in what is left, so a user rule can never split a card
//! number. Tokens the engine wrote earlier are recognised and left alone, which makes
//! redaction idempotent.

use std::borrow::Cow;
use std::fmt::{self, Write as _};
use std::ops::Range;

use hmac::{Hmac, Mac};
use regex::Regex;
use sha2::Sha256;

use super::config::{ConfigError, Policy, RedactionConfig};
use super::detect::{self, iban, numeric};
use super::{Counts, Kind};
use crate::model::{Escalation, Interaction};

/// Hex digits of the HMAC kept in a hash token: 48 bits, enough to count repeats
/// without collisions in any realistic log, and short enough to read.
const HASH_HEX_LEN: usize = 12;

/// One value found in a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding<'r> {
    /// What it is.
    pub kind: Kind,
    /// Where it is, in bytes.
    pub range: Range<usize>,
    /// The user rule's name, for [`Kind::Rule`].
    pub rule: Option<&'r str>,
}

/// The redaction engine; build it once, share it (it is cheap to clone and `Sync`).
#[derive(Clone)]
pub struct Redactor {
    config: RedactionConfig,
    /// Every built-in kind is `off` and there is no user rule: nothing is ever changed,
    /// so nothing is searched.
    off: bool,
    mac: Option<Hmac<Sha256>>,
    email: Regex,
    main: Regex,
    rules: Option<UserRules>,
}

/// The user rules as one regular expression, one capture group per rule.
#[derive(Clone)]
struct UserRules {
    regex: Regex,
    /// Capture group index and name of each rule.
    slots: Vec<(usize, String)>,
}

impl Redactor {
    /// Builds the engine, or says which setting or rule is wrong.
    pub fn new(config: &RedactionConfig) -> Result<Self, ConfigError> {
        config.check()?;
        let mac = match config.hash_key() {
            Some(key)
                if Kind::BUILT_IN
                    .iter()
                    .any(|k| config.policy(*k) == Policy::Hash) =>
            {
                Some(
                    Hmac::<Sha256>::new_from_slice(key.expose().as_bytes())
                        .map_err(|_| ConfigError::WeakHashKey { length: 0 })?,
                )
            }
            _ => None,
        };
        let email = Regex::new(&detect::email_pattern()).expect("the e-mail pattern compiles");
        let mut labels: Vec<String> = Kind::BUILT_IN
            .iter()
            .map(|k| k.label().to_owned())
            .collect();
        labels.extend(config.rules().iter().map(|r| r.name.clone()));
        // The engine's own tokens, exactly as it writes them: a user who types
        // "[CARD 4111 1111 1111 1111]" still has the number found.
        let token = format!(
            r"\[(?:CARD ••••[0-9]{{4}}|IBAN [A-Z]{{2}}••…[A-Z0-9]{{4}}|(?:{}) #[0-9a-f]{{{HASH_HEX_LEN}}}|(?:{}))\]",
            labels[..Kind::BUILT_IN.len() - 1].join("|"),
            labels.join("|"),
        );
        let main = Regex::new(&format!(
            "{token}|{}|{}",
            detect::IBAN_CANDIDATE,
            detect::DIGIT_RUN
        ))
        .expect("the built-in patterns compile");
        let rules = user_rules(config)?;
        let off = rules.is_none()
            && Kind::BUILT_IN
                .iter()
                .all(|k| config.policy(*k) == Policy::Off);
        Ok(Redactor {
            config: config.clone(),
            off,
            mac,
            email,
            main,
            rules,
        })
    }

    /// The settings this engine was built from.
    pub fn config(&self) -> &RedactionConfig {
        &self.config
    }

    /// True when this engine never changes a text: every kind `off`, no user rule.
    pub fn is_off(&self) -> bool {
        self.off
    }

    /// `text` with every value redacted as its policy says; borrowed when nothing changed.
    pub fn redact<'t>(&self, text: &'t str) -> Cow<'t, str> {
        let mut counts = Counts::default();
        self.redact_counting(text, &mut counts)
    }

    /// Like [`redact`](Self::redact), adding what was redacted to `counts`.
    pub fn redact_counting<'t>(&self, text: &'t str, counts: &mut Counts) -> Cow<'t, str> {
        if self.off {
            return Cow::Borrowed(text);
        }
        let findings = self.find(text);
        let mut changed = findings
            .iter()
            .filter(|f| self.config.policy(f.kind) != Policy::Off)
            .peekable();
        if changed.peek().is_none() {
            return Cow::Borrowed(text);
        }
        let mut out = String::with_capacity(text.len() + 16);
        let mut at = 0;
        for finding in changed {
            out.push_str(&text[at..finding.range.start]);
            self.write_token(&mut out, finding, &text[finding.range.clone()]);
            counts.record(finding.kind);
            at = finding.range.end;
        }
        out.push_str(&text[at..]);
        Cow::Owned(out)
    }

    /// Every value found in `text`, in order, whatever its kind's policy.
    pub fn find(&self, text: &str) -> Vec<Finding<'_>> {
        let mut found: Vec<Finding<'_>> = Vec::new();
        let mut emails: Vec<Range<usize>> = Vec::new();
        if text.as_bytes().contains(&b'@') {
            emails.extend(self.email.find_iter(text).map(|m| m.range()));
        }
        let mut tokens = Vec::new();
        let mut scratch = Scratch::default();
        let mut gap_start = 0;
        for email in &emails {
            self.scan(
                text,
                gap_start..email.start,
                &mut found,
                &mut tokens,
                &mut scratch,
            );
            gap_start = email.end;
        }
        self.scan(
            text,
            gap_start..text.len(),
            &mut found,
            &mut tokens,
            &mut scratch,
        );
        found.extend(emails.into_iter().map(|range| Finding {
            kind: Kind::Email,
            range,
            rule: None,
        }));
        found.sort_by_key(|f| f.range.start);
        if let Some(rules) = &self.rules {
            let mut taken: Vec<Range<usize>> = found.iter().map(|f| f.range.clone()).collect();
            taken.extend(tokens);
            taken.sort_by_key(|r| r.start);
            let mut extra = Vec::new();
            let mut gap_start = 0;
            for range in taken.iter().chain([&(text.len()..text.len())]) {
                if gap_start < range.start {
                    rules.scan(text, gap_start..range.start, &mut extra);
                }
                gap_start = gap_start.max(range.end);
            }
            if !extra.is_empty() {
                found.extend(extra);
                found.sort_by_key(|f| f.range.start);
            }
        }
        found
    }

    /// Redacts the free-text fields of an interaction in place: `user_query`,
    /// `classification_reason`, `escalation_reason`, `response_text`.
    pub fn redact_interaction(&self, row: &mut Interaction) -> Counts {
        let mut counts = Counts::default();
        self.redact_field(&mut row.user_query, &mut counts);
        for field in [
            &mut row.classification_reason,
            &mut row.escalation_reason,
            &mut row.response_text,
        ]
        .into_iter()
        .flatten()
        {
            self.redact_field(field, &mut counts);
        }
        counts
    }

    /// Redacts an escalation's `escalation_reason` in place.
    pub fn redact_escalation(&self, row: &mut Escalation) -> Counts {
        let mut counts = Counts::default();
        self.redact_field(&mut row.escalation_reason, &mut counts);
        counts
    }

    /// A redacted copy of an interaction, adding what was redacted to `counts`; `None`
    /// when nothing in it is redacted, so a clean record is never copied.
    pub fn redacted_interaction(
        &self,
        row: &Interaction,
        counts: &mut Counts,
    ) -> Option<Interaction> {
        let mut found = Counts::default();
        let query = self.redact_counting(row.user_query.as_ref(), &mut found);
        let classification = self.redact_optional(&row.classification_reason, &mut found);
        let escalation = self.redact_optional(&row.escalation_reason, &mut found);
        let response = self.redact_optional(&row.response_text, &mut found);
        if found.is_empty() {
            return None;
        }
        *counts += found;
        let mut copy = row.clone();
        replace(&mut copy.user_query, query);
        for (field, redacted) in [
            (&mut copy.classification_reason, classification),
            (&mut copy.escalation_reason, escalation),
            (&mut copy.response_text, response),
        ] {
            if let (Some(field), Some(redacted)) = (field, redacted) {
                replace(field, redacted);
            }
        }
        Some(copy)
    }

    /// A redacted copy of an escalation, adding what was redacted to `counts`; `None`
    /// when nothing in it is redacted.
    pub fn redacted_escalation(&self, row: &Escalation, counts: &mut Counts) -> Option<Escalation> {
        let mut found = Counts::default();
        let reason = self.redact_counting(row.escalation_reason.as_ref(), &mut found);
        if found.is_empty() {
            return None;
        }
        *counts += found;
        let mut copy = row.clone();
        replace(&mut copy.escalation_reason, reason);
        Some(copy)
    }

    fn redact_optional<'t>(
        &self,
        field: &'t Option<crate::model::Text>,
        counts: &mut Counts,
    ) -> Option<Cow<'t, str>> {
        field
            .as_ref()
            .map(|text| self.redact_counting(text.as_ref(), counts))
    }

    fn redact_field<T>(&self, field: &mut T, counts: &mut Counts)
    where
        T: AsRef<str> + TryFrom<String>,
    {
        let redacted = match self.redact_counting(field.as_ref(), counts) {
            Cow::Borrowed(_) => return,
            Cow::Owned(text) => text,
        };
        replace(field, Cow::Owned(redacted));
    }

    /// IBANs, runs of digits and earlier tokens in `gap` of `text`.
    fn scan<'r>(
        &'r self,
        text: &str,
        gap: Range<usize>,
        found: &mut Vec<Finding<'r>>,
        tokens: &mut Vec<Range<usize>>,
        scratch: &mut Scratch,
    ) {
        // The gap is searched on its own, so that its edges count as the text's edges:
        // the same as the SQL guard, which sees `[EMAIL]` there.
        let hay = &text[gap.clone()];
        let bytes = hay.as_bytes();
        let mut pos = 0;
        while let Some(m) = self.main.find_at(hay, pos) {
            let first = bytes[m.start()];
            if first == b'[' {
                tokens.push(gap.start + m.start()..gap.start + m.end());
                pos = m.end();
            } else if first.is_ascii_alphabetic() {
                match iban::at_start(&bytes[m.start()..]) {
                    Some(iban) => {
                        found.push(Finding {
                            kind: Kind::Iban,
                            range: gap.start + m.start()..gap.start + m.start() + iban.len,
                            rule: None,
                        });
                        pos = m.start() + iban.len;
                    }
                    // Digits inside the candidate may still start a number.
                    None => pos = m.start() + 2,
                }
            } else {
                scratch.hits.clear();
                numeric::classify(hay, m.range(), &mut scratch.groups, &mut scratch.hits);
                found.extend(scratch.hits.drain(..).map(|hit| Finding {
                    kind: hit.kind,
                    range: gap.start + hit.range.start..gap.start + hit.range.end,
                    rule: None,
                }));
                pos = m.end();
            }
        }
    }

    fn write_token(&self, out: &mut String, finding: &Finding<'_>, value: &str) {
        let kind = finding.kind;
        if let (Kind::Rule, Some(name)) = (kind, finding.rule) {
            let _ = write!(out, "[{name}]");
            return;
        }
        if self.config.policy(kind) == Policy::Hash {
            if let Some(mac) = &self.mac {
                let mut mac = mac.clone();
                mac.update(kind.name().as_bytes());
                mac.update(b":");
                mac.update(normalized(kind, value).as_bytes());
                let digest = mac.finalize().into_bytes();
                let _ = write!(out, "[{} #", kind.label());
                for byte in &digest[..HASH_HEX_LEN / 2] {
                    let _ = write!(out, "{byte:02x}");
                }
                out.push(']');
                return;
            }
        }
        match kind {
            Kind::Card => {
                let digits: Vec<u8> = value.bytes().filter(u8::is_ascii_digit).collect();
                let last = &digits[digits.len().saturating_sub(4)..];
                out.push_str("[CARD ••••");
                out.push_str(std::str::from_utf8(last).unwrap_or(""));
                out.push(']');
            }
            Kind::Iban => {
                let electronic = normalized(Kind::Iban, value);
                let (country, last) = (
                    electronic.get(..2).unwrap_or(""),
                    electronic
                        .get(electronic.len().saturating_sub(4)..)
                        .unwrap_or(""),
                );
                let _ = write!(out, "[IBAN {country}••…{last}]");
            }
            _ => {
                let _ = write!(out, "[{}]", kind.label());
            }
        }
    }
}

/// Puts a redacted text in a field; a borrowed one is the field's own text, unchanged.
fn replace<T: TryFrom<String>>(field: &mut T, redacted: Cow<'_, str>) {
    let Cow::Owned(redacted) = redacted else {
        return;
    };
    // Tokens are never blank and hold no NUL, so the field's rules still hold; should
    // that ever fail, the whole field is replaced rather than kept in clear.
    if let Ok(value) = T::try_from(redacted).or_else(|_| T::try_from("[REDACTED]".to_owned())) {
        *field = value;
    }
}

/// Scratch space reused across the runs of digits of one text.
#[derive(Default)]
struct Scratch {
    groups: Vec<Range<usize>>,
    hits: Vec<numeric::Hit>,
}

impl UserRules {
    fn scan<'r>(&'r self, text: &str, gap: Range<usize>, out: &mut Vec<Finding<'r>>) {
        let hay = &text[gap.clone()];
        for caps in self.regex.captures_iter(hay) {
            let Some(whole) = caps.get(0) else { continue };
            if whole.is_empty() {
                continue;
            }
            let name = self
                .slots
                .iter()
                .find(|(group, _)| caps.get(*group).is_some())
                .map(|(_, name)| name.as_str());
            out.push(Finding {
                kind: Kind::Rule,
                range: gap.start + whole.start()..gap.start + whole.end(),
                rule: name,
            });
        }
    }
}

/// Compiles the user rules into one alternation, each rule in its own group.
fn user_rules(config: &RedactionConfig) -> Result<Option<UserRules>, ConfigError> {
    if config.rules().is_empty() {
        return Ok(None);
    }
    let mut alternation = Vec::new();
    let mut slots = Vec::new();
    let mut next_group = 1;
    for rule in config.rules() {
        let bad = |problem: String| ConfigError::BadRule {
            name: rule.name.clone(),
            problem,
        };
        let alone = Regex::new(&rule.pattern)
            .map_err(|e| bad(format!("the pattern does not compile: {e}")))?;
        if alone.is_match("") {
            return Err(bad("the pattern matches the empty string".into()));
        }
        slots.push((next_group, rule.name.clone()));
        next_group += alone.captures_len();
        alternation.push(format!("({})", rule.pattern));
    }
    let regex = Regex::new(&alternation.join("|")).map_err(|e| ConfigError::BadRule {
        name: slots
            .iter()
            .map(|s| s.1.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        problem: format!("the rules do not compile together: {e}"),
    })?;
    Ok(Some(UserRules { regex, slots }))
}

/// The form of a value that is hashed, so that one value written two ways gives one
/// token: digits only, an IBAN's electronic form, an address in lower case, a phone
/// number's international digits.
fn normalized(kind: Kind, value: &str) -> String {
    let digits = |s: &str| -> String { s.chars().filter(char::is_ascii_digit).collect() };
    match kind {
        Kind::Iban => value
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_uppercase())
            .collect(),
        Kind::Email => value.to_lowercase(),
        Kind::Phone => {
            let all = digits(&value.replacen("(0)", "", 1));
            if value.starts_with('+') {
                format!("+{all}")
            } else if let Some(rest) = all.strip_prefix("00") {
                format!("+{rest}")
            } else {
                all
            }
        }
        _ => digits(value),
    }
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let policies: Vec<String> = Kind::BUILT_IN
            .iter()
            .map(|k| format!("{k}={}", self.config.policy(*k)))
            .collect();
        let rules: Vec<&str> = self
            .config
            .rules()
            .iter()
            .map(|r| r.name.as_str())
            .collect();
        f.debug_struct("Redactor")
            .field("policies", &policies)
            .field("hash_key", &self.mac.as_ref().map(|_| "***"))
            .field("rules", &rules)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AssistantMode, Outcome};
    use crate::secret::Secret;

    const KEY: &str = "an example key of at least thirty-two characters";

    fn masked() -> Redactor {
        Redactor::new(&RedactionConfig::new()).expect("default config")
    }

    fn hashing() -> Redactor {
        let config = RedactionConfig::new()
            .with_all(Policy::Hash)
            .with_policy(Kind::Cvv, Policy::Mask)
            .with_hash_key(Secret::new(KEY));
        Redactor::new(&config).expect("hash config")
    }

    #[test]
    fn each_kind_gets_its_token() {
        let r = masked();
        let text = "Card 4111 1111 1111 1111, IBAN GB82 WEST 1234 5698 7654 32, \
                    mail jane.doe@example.co.uk, call +44 20 7946 0958, SSN 123-45-6789, \
                    account number 12345678, CVV 123.";
        assert_eq!(
            r.redact(text),
            "Card [CARD ••••1111], IBAN [IBAN GB••…5432], mail [EMAIL], call [PHONE], \
             SSN [SSN], account number [ACCOUNT], CVV [CVV]."
        );
    }

    #[test]
    fn clean_text_is_borrowed_and_counts_nothing() {
        let r = masked();
        let mut counts = Counts::default();
        let text = "Your transfer of $1,250.00 on 2024-03-15 at 14:30 is ref ORD-2024-118834.";
        assert!(matches!(
            r.redact_counting(text, &mut counts),
            Cow::Borrowed(_)
        ));
        assert!(counts.is_empty());
    }

    #[test]
    fn counts_follow_what_was_redacted() {
        let config = RedactionConfig::new().with_policy(Kind::Email, Policy::Off);
        let r = Redactor::new(&config).expect("config");
        let mut counts = Counts::default();
        let out = r.redact_counting(
            "4111111111111111 and 5555 5555 5555 4444 from a@b.com",
            &mut counts,
        );
        assert_eq!(out, "[CARD ••••1111] and [CARD ••••4444] from a@b.com");
        assert_eq!(counts.get(Kind::Card), 2);
        assert_eq!(counts.get(Kind::Email), 0);
        assert_eq!(r.find("a@b.com").len(), 1, "off still finds");
    }

    #[test]
    fn hash_tokens_are_stable_keyed_and_digit_free() {
        let r = hashing();
        let a = r.redact("card 4111 1111 1111 1111");
        let b = r.redact("card 4111-1111-1111-1111");
        assert_eq!(a, b, "one card, one token");
        let token = a.strip_prefix("card ").expect("prefix");
        assert!(
            token.starts_with("[CARD #") && token.ends_with(']'),
            "{token}"
        );
        assert_eq!(token.len(), "[CARD #".len() + HASH_HEX_LEN + 1);
        assert!(!token.contains("1111"), "{token}");
        assert_ne!(r.redact("card 5555 5555 5555 4444"), a);

        let other_key = RedactionConfig::new()
            .with_policy(Kind::Card, Policy::Hash)
            .with_hash_key(Secret::new("another key, also thirty-two characters long"));
        let other = Redactor::new(&other_key).expect("config");
        assert_ne!(
            other.redact("card 4111 1111 1111 1111"),
            a,
            "the key matters"
        );

        assert_eq!(
            r.redact("Jane.Doe@Example.com"),
            r.redact("jane.doe@example.com")
        );
        assert_eq!(r.redact("+44 20 7946 0958"), r.redact("0044 20 7946 0958"));
    }

    #[test]
    fn redaction_is_idempotent() {
        for r in [masked(), hashing()] {
            let text = "4111111111111111 GB82WEST12345698765432 x@y.org (212) 555-0123 \
                        acct 12345678, 87654321 cvv 123 [CARD 5555 5555 5555 4444]";
            let once = r.redact(text).into_owned();
            let twice = r.redact(&once);
            assert_eq!(twice, once);
            assert!(matches!(twice, Cow::Borrowed(_)));
            assert!(!once.contains("5555 5555"), "{once}");
        }
    }

    #[test]
    fn user_rules_mask_what_is_left() {
        let config = RedactionConfig::new()
            .with_rule("EMPLOYEE_ID", r"EMP-[0-9]{6}")
            .with_rule("DIGITS", r"[0-9]{4}");
        let r = Redactor::new(&config).expect("config");
        let out = r.redact("EMP-123456 sent 4111 1111 1111 1111 and 7777");
        assert_eq!(out, "[EMPLOYEE_ID] sent [CARD ••••1111] and [DIGITS]");
        assert_eq!(r.redact(&out), out, "a rule never matches inside a token");
        let finding = r.find("EMP-123456").pop().expect("found");
        assert_eq!(finding.rule, Some("EMPLOYEE_ID"));

        let err = Redactor::new(&RedactionConfig::new().with_rule("X", "(")).expect_err("bad");
        assert!(err.to_string().contains("`X`"), "{err}");
        let err =
            Redactor::new(&RedactionConfig::new().with_rule("EMPTY", "a*")).expect_err("empty");
        assert!(err.to_string().contains("empty string"), "{err}");
    }

    #[test]
    fn never_blank_never_nul() {
        let r = masked();
        for text in ["4111111111111111", "a@b.co", " +44 20 7946 0958 "] {
            let out = r.redact(text);
            assert!(!out.trim().is_empty() && !out.contains('\0'), "{out:?}");
            assert_ne!(out, text);
        }
    }

    #[test]
    fn records_are_redacted_field_by_field() {
        let r = masked();
        let mut row = Interaction::new(
            AssistantMode::Customer,
            "my card 4111 1111 1111 1111 was charged twice",
            Outcome::Escalated,
        )
        .expect("valid");
        row.response_text = Some(
            "We will write to jane@example.com."
                .try_into()
                .expect("text"),
        );
        row.escalation_reason = Some(
            "Customer gave IBAN DE89370400440532013000"
                .try_into()
                .expect("text"),
        );
        row.classification_reason = Some("dispute".try_into().expect("text"));
        let counts = r.redact_interaction(&mut row);
        assert_eq!(
            row.user_query.as_str(),
            "my card [CARD ••••1111] was charged twice"
        );
        assert_eq!(
            row.response_text.as_ref().map(|t| t.as_str()),
            Some("We will write to [EMAIL].")
        );
        assert_eq!(
            row.escalation_reason.as_ref().map(|t| t.as_str()),
            Some("Customer gave IBAN [IBAN DE••…3000]")
        );
        assert_eq!(
            row.classification_reason.as_ref().map(|t| t.as_str()),
            Some("dispute")
        );
        assert_eq!(counts.total(), 3);

        let mut escalation =
            Escalation::new(row.id, "human_only", "call back on 020 7946 0958").expect("valid");
        let counts = r.redact_escalation(&mut escalation);
        assert_eq!(
            escalation.escalation_reason.as_str(),
            "call back on [PHONE]"
        );
        assert_eq!(counts.get(Kind::Phone), 1);
    }

    #[test]
    fn copies_are_made_only_of_records_that_change() {
        let r = masked();
        let mut counts = Counts::default();
        let clean = Interaction::new(AssistantMode::Banker, "Wire cut-off?", Outcome::Resolved)
            .expect("valid");
        assert_eq!(r.redacted_interaction(&clean, &mut counts), None);
        let mut dirty = clean.clone();
        dirty.response_text = Some("Send it to a@b.com".try_into().expect("text"));
        let copy = r
            .redacted_interaction(&dirty, &mut counts)
            .expect("changed");
        assert_eq!(copy.user_query, dirty.user_query);
        assert_eq!(
            copy.response_text.as_ref().map(|t| t.as_str()),
            Some("Send it to [EMAIL]")
        );
        assert_eq!(counts.get(Kind::Email), 1);
        let mut in_place = dirty.clone();
        r.redact_interaction(&mut in_place);
        assert_eq!(in_place, copy, "the copy is what in-place redaction gives");

        let escalation =
            Escalation::new(clean.id, "human_only", "card 4111111111111111").expect("valid");
        let copy = r
            .redacted_escalation(&escalation, &mut counts)
            .expect("changed");
        assert_eq!(copy.escalation_reason.as_str(), "card [CARD ••••1111]");
        assert_eq!(r.redacted_escalation(&copy, &mut counts), None);
        assert_eq!(counts.total(), 2);

        let off = Redactor::new(&RedactionConfig::new().with_all(Policy::Off)).expect("off");
        assert!(off.is_off() && !r.is_off());
        assert_eq!(off.redacted_interaction(&dirty, &mut counts), None);
        assert!(!Redactor::new(
            &RedactionConfig::new()
                .with_all(Policy::Off)
                .with_rule("X", "x+")
        )
        .expect("rule")
        .is_off());
    }

    #[test]
    fn the_key_never_prints() {
        let shown = format!("{:?}", hashing());
        assert!(!shown.contains(KEY), "{shown}");
        assert!(shown.contains("card=hash"), "{shown}");
    }
}

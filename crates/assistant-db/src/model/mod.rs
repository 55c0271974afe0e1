//! Typed records for the `interactions`, `escalations` and `knowledge_documents` tables.
//!
//! Every field type is valid by construction ("parse, don't validate"): a value that
//! breaks a column's type or CHECK constraint cannot be built, so a record that exists
//! can be written. Serde names equal the SQL column names, so the JSON a user writes is
//! the spec's dict. The only error is [`ValidationError`], naming the field and the rule.

mod citation;
mod de;
mod decode;
mod enums;
mod escalation;
mod interaction;
mod jsonb;
mod knowledge_document;
pub mod limits;
mod numbers;
mod text;

pub use citation::Citation;
pub use enums::{AssistantMode, ContentType, IntentCategory, Outcome};
pub use escalation::Escalation;
pub use interaction::Interaction;
pub use jsonb::Jsonb;
pub use knowledge_document::KnowledgeDocument;
pub use numbers::{Confidence, NonNegativeInt};
pub use text::{NonEmpty, RequiredText, RequiredVarChar, Text, TextType, VarChar};

/// A field of a record broke a rule; nothing was built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid `{field}`: {rule}")]
pub struct ValidationError {
    /// The column name, or the JSON path for nested values (`citations[0].number`).
    pub field: String,
    /// What the value must satisfy, in words.
    pub rule: String,
}

impl ValidationError {
    /// Builds an error for `field` breaking `rule`.
    pub fn new(field: impl Into<String>, rule: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            rule: rule.into(),
        }
    }
}

/// The rule a single value broke, before it is known which field the value was for.
///
/// Field types return this from `parse`; record constructors attach the field with
/// [`Rule::at`], and serde reports its text at the field's JSON path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Rule {
    /// PostgreSQL `text` cannot hold the NUL character.
    #[error("must not contain NUL characters")]
    ContainsNul,
    /// PostgreSQL `jsonb` cannot hold `\u0000` in a string or key.
    #[error("must not contain NUL characters (found at JSON pointer `{pointer}`)")]
    NulInJson {
        /// Where the NUL is, as an RFC 6901 JSON pointer (a NUL in a key shown as `\u0000`).
        pointer: String,
    },
    /// Longer than the column's `VARCHAR(max)`.
    #[error("must be at most {max} characters (got {got})")]
    TooLong {
        /// The column's limit, in characters.
        max: usize,
        /// The value's length, in characters.
        got: usize,
    },
    /// Empty or only whitespace where a value is required.
    #[error("must not be empty or whitespace-only")]
    Empty,
    /// NaN or an infinity.
    #[error("must be a finite number (got {got})")]
    NotFinite {
        /// The value, as written by Rust.
        got: String,
    },
    /// A number outside the allowed range.
    #[error("must be {expected} (got {got})")]
    OutOfRange {
        /// The allowed range in words, such as `between 0 and 1`.
        expected: String,
        /// The value, as written by Rust.
        got: String,
    },
    /// Not one of a CHECK constraint's values.
    #[error("must be one of {} (got {got:?})", quoted(allowed))]
    NotOneOf {
        /// The values the constraint allows.
        allowed: Vec<&'static str>,
        /// The value given.
        got: String,
    },
    /// Not an RFC 3339 timestamp.
    #[error("must be an RFC 3339 timestamp such as 2024-05-01T12:30:00Z ({reason})")]
    InvalidTimestamp {
        /// Why the text did not parse.
        reason: String,
    },
    /// A list with more entries than allowed.
    #[error("must hold at most {max} {what} (got {got})")]
    TooMany {
        /// The most entries allowed.
        max: usize,
        /// What the entries are, in the plural (`citations`).
        what: &'static str,
        /// How many there are.
        got: usize,
    },
    /// A JSON value larger than allowed, measured as PostgreSQL prints it.
    #[error("must be at most {max} bytes of JSON (got {got})")]
    TooLarge {
        /// The most bytes allowed.
        max: usize,
        /// The value's size in bytes.
        got: usize,
    },
}

impl Rule {
    /// Attaches the field the value was for.
    pub fn at(self, field: impl Into<String>) -> ValidationError {
        ValidationError::new(field, self.to_string())
    }
}

/// `'a', 'b'`, as the SQL CHECK constraint writes them.
fn quoted(values: &[&str]) -> String {
    values
        .iter()
        .map(|v| format!("'{v}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_field_and_rule() {
        let err = Rule::TooLong { max: 100, got: 101 }.at("intent_name");
        assert_eq!(err.field, "intent_name");
        assert_eq!(err.rule, "must be at most 100 characters (got 101)");
        assert_eq!(
            err.to_string(),
            "invalid `intent_name`: must be at most 100 characters (got 101)"
        );
    }

    #[test]
    fn not_one_of_lists_the_allowed_values() {
        let rule = Rule::NotOneOf {
            allowed: vec!["customer", "banker"],
            got: "robot".into(),
        };
        assert_eq!(
            rule.to_string(),
            "must be one of 'customer', 'banker' (got \"robot\")"
        );
    }
}

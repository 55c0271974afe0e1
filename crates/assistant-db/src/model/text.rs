//! Validated strings for `TEXT` and `VARCHAR(N)` columns.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::limits::MAX_TEXT_CHARS;
use super::Rule;

/// A string for a `TEXT` column: no NUL character (PostgreSQL `text` cannot hold one) and
/// at most [`MAX_TEXT_CHARS`] characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Text(String);

/// A string PostgreSQL `VARCHAR(N)` accepts: at most `N` characters, no NUL.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct VarChar<const N: usize>(String);

/// A [`Text`] or [`VarChar`] that is also not empty or whitespace-only.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NonEmpty<T>(T);

/// Text for a `TEXT NOT NULL` column that must say something.
pub type RequiredText = NonEmpty<Text>;

/// Text for a `VARCHAR(N) NOT NULL` column that must say something.
pub type RequiredVarChar<const N: usize> = NonEmpty<VarChar<N>>;

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::Text {}
    impl<const N: usize> Sealed for super::VarChar<N> {}
}

/// The validated string types [`NonEmpty`] can wrap.
pub trait TextType: Sized + sealed::Sealed {
    /// Parses `value`, or names the rule it breaks.
    fn parse_text(value: String) -> Result<Self, Rule>;
    /// The string.
    fn text(&self) -> &str;
    /// Gives the string back.
    fn into_text(self) -> String;
}

fn reject_nul(value: &str) -> Result<(), Rule> {
    if value.contains('\0') {
        Err(Rule::ContainsNul)
    } else {
        Ok(())
    }
}

/// PostgreSQL counts lengths in characters, not bytes.
fn reject_longer_than(value: &str, max: usize) -> Result<(), Rule> {
    // Bytes bound characters from above: most values never need counting.
    if value.len() <= max {
        return Ok(());
    }
    match value.chars().count() {
        got if got > max => Err(Rule::TooLong { max, got }),
        _ => Ok(()),
    }
}

impl TextType for Text {
    fn parse_text(value: String) -> Result<Self, Rule> {
        reject_nul(&value)?;
        reject_longer_than(&value, MAX_TEXT_CHARS)?;
        Ok(Self(value))
    }
    fn text(&self) -> &str {
        &self.0
    }
    fn into_text(self) -> String {
        self.0
    }
}

impl<const N: usize> TextType for VarChar<N> {
    fn parse_text(value: String) -> Result<Self, Rule> {
        reject_nul(&value)?;
        reject_longer_than(&value, N)?;
        Ok(Self(value))
    }
    fn text(&self) -> &str {
        &self.0
    }
    fn into_text(self) -> String {
        self.0
    }
}

impl<T: TextType> TextType for NonEmpty<T> {
    fn parse_text(value: String) -> Result<Self, Rule> {
        let inner = T::parse_text(value)?;
        if inner.text().trim().is_empty() {
            return Err(Rule::Empty);
        }
        Ok(Self(inner))
    }
    fn text(&self) -> &str {
        self.0.text()
    }
    fn into_text(self) -> String {
        self.0.into_text()
    }
}

impl<T: TextType> sealed::Sealed for NonEmpty<T> {}

/// The common API of the string types, written once.
macro_rules! text_api {
    ($([$($generics:tt)*] $ty:ty),+ $(,)?) => {$(
        impl<$($generics)*> $ty {
            /// Parses `value`, or names the rule it breaks.
            pub fn parse(value: impl Into<String>) -> Result<Self, Rule> {
                <Self as TextType>::parse_text(value.into())
            }

            /// The string.
            pub fn as_str(&self) -> &str {
                self.text()
            }

            /// Gives the string back.
            pub fn into_inner(self) -> String {
                self.into_text()
            }
        }

        impl<$($generics)*> TryFrom<String> for $ty {
            type Error = Rule;
            fn try_from(value: String) -> Result<Self, Rule> {
                Self::parse(value)
            }
        }

        impl<$($generics)*> TryFrom<&str> for $ty {
            type Error = Rule;
            fn try_from(value: &str) -> Result<Self, Rule> {
                Self::parse(value)
            }
        }

        impl<$($generics)*> From<$ty> for String {
            fn from(value: $ty) -> String {
                value.into_inner()
            }
        }

        impl<$($generics)*> AsRef<str> for $ty {
            fn as_ref(&self) -> &str {
                self.as_str()
            }
        }

        impl<$($generics)*> fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    )+};
}

text_api!([] Text, [const N: usize] VarChar<N>, [T: TextType] NonEmpty<T>);

impl<T: TextType> Serialize for NonEmpty<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de, T: TextType> Deserialize<'de> for NonEmpty<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = String::deserialize(deserializer)?;
        Self::parse(value).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_rejects_only_nul() {
        assert_eq!(Text::parse("").map(Text::into_inner), Ok(String::new()));
        assert_eq!(Text::parse("a\0b"), Err(Rule::ContainsNul));
        let text = Text::parse("héllo").expect("valid text");
        assert_eq!(text.as_str(), "héllo");
        assert_eq!(text.to_string(), "héllo");
        assert_eq!(AsRef::<str>::as_ref(&text), "héllo");
    }

    #[test]
    fn text_is_limited_in_characters() {
        let at_limit = "é".repeat(MAX_TEXT_CHARS);
        assert!(Text::parse(at_limit.clone()).is_ok());
        assert_eq!(
            Text::parse(format!("{at_limit}x")),
            Err(Rule::TooLong {
                max: MAX_TEXT_CHARS,
                got: MAX_TEXT_CHARS + 1
            })
        );
        assert_eq!(
            RequiredText::parse("x".repeat(MAX_TEXT_CHARS + 2)).map_err(|r| r.to_string()),
            Err("must be at most 32768 characters (got 32770)".into())
        );
    }

    #[test]
    fn varchar_counts_characters_not_bytes() {
        assert!(VarChar::<3>::parse("ééé").is_ok());
        assert_eq!(
            VarChar::<3>::parse("éééé"),
            Err(Rule::TooLong { max: 3, got: 4 })
        );
        assert_eq!(VarChar::<3>::parse("a\0"), Err(Rule::ContainsNul));
        assert!(VarChar::<3>::parse("").is_ok());
    }

    #[test]
    fn required_rejects_blank() {
        assert_eq!(RequiredText::parse(""), Err(Rule::Empty));
        assert_eq!(RequiredText::parse(" \t\n"), Err(Rule::Empty));
        assert_eq!(RequiredText::parse("x\0"), Err(Rule::ContainsNul));
        assert_eq!(
            RequiredVarChar::<2>::parse("abc"),
            Err(Rule::TooLong { max: 2, got: 3 })
        );
        let ok = RequiredVarChar::<2>::parse(" a").expect("valid");
        assert_eq!(ok.as_str(), " a");
    }

    #[test]
    fn serde_is_a_plain_string_and_reports_the_rule() {
        let v: RequiredVarChar<5> = serde_json::from_str("\"abc\"").expect("valid");
        assert_eq!(serde_json::to_string(&v).expect("serializes"), "\"abc\"");
        let err = serde_json::from_str::<VarChar<2>>("\"abc\"").expect_err("too long");
        assert!(err
            .to_string()
            .starts_with("must be at most 2 characters (got 3)"));
        let err = serde_json::from_str::<RequiredText>("\"  \"").expect_err("blank");
        assert!(err.to_string().starts_with("must not be empty"));
        let err = serde_json::from_str::<Text>("\"a\\u0000\"").expect_err("nul");
        assert!(err.to_string().starts_with("must not contain NUL"));
    }
}

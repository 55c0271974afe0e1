//! One enum per CHECK constraint of the schema.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::{Rule, ValidationError};

/// Defines an enum whose values are exactly a CHECK constraint's strings.
///
/// JSON is read through `TryFrom<String>` so that a wrong value, or a value that is not a
/// string at all, gets the same "must be one of" rule as `FromStr`.
macro_rules! check_enum {
    (
        $(#[$meta:meta])*
        $name:ident for $field:literal {
            $($(#[$vmeta:meta])* $variant:ident = $sql:literal,)+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case", try_from = "String")]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            /// Every value, in the order the CHECK constraint lists them.
            pub const ALL: [Self; [$($sql),+].len()] = [$(Self::$variant),+];

            /// The value as stored in the column.
            pub const fn as_str(&self) -> &'static str {
                match self {
                    $(Self::$variant => $sql,)+
                }
            }
        }

        impl FromStr for $name {
            type Err = ValidationError;

            fn from_str(value: &str) -> Result<Self, ValidationError> {
                Self::try_from(value.to_owned()).map_err(|rule| rule.at($field))
            }
        }

        impl TryFrom<String> for $name {
            type Error = Rule;
            fn try_from(value: String) -> Result<Self, Rule> {
                Self::ALL
                    .into_iter()
                    .find(|v| v.as_str() == value)
                    .ok_or_else(|| Rule::NotOneOf {
                        allowed: Self::ALL.iter().map(Self::as_str).collect(),
                        got: value,
                    })
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

check_enum! {
    /// Which assistant handled the query (`interactions.assistant_mode`).
    AssistantMode for "assistant_mode" {
        /// The customer-facing assistant.
        Customer = "customer",
        /// The assistant for bank staff.
        Banker = "banker",
    }
}

check_enum! {
    /// How the classifier routed the intent (`interactions.intent_category`).
    IntentCategory for "intent_category" {
        /// The assistant may answer on its own.
        Automatable = "automatable",
        /// Answered with extra care.
        Sensitive = "sensitive",
        /// Always handed to a human.
        HumanOnly = "human_only",
    }
}

check_enum! {
    /// How the interaction ended (`interactions.outcome`).
    Outcome for "outcome" {
        /// The assistant answered.
        Resolved = "resolved",
        /// Handed to a human.
        Escalated = "escalated",
    }
}

check_enum! {
    /// Where a knowledge document came from (`knowledge_documents.content_type`).
    ContentType for "content_type" {
        /// Published material.
        Public = "public",
        /// Generated material.
        Synthetic = "synthetic",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// serde's snake_case names, `as_str`, `FromStr` and `Display` all agree.
    fn agree<T>(all: &[T])
    where
        T: Copy + PartialEq + fmt::Debug + fmt::Display + FromStr + Serialize,
        T: for<'de> Deserialize<'de>,
        <T as FromStr>::Err: fmt::Debug,
    {
        for &v in all {
            let json = serde_json::to_value(v).expect("serializes");
            assert_eq!(json, serde_json::Value::String(v.to_string()));
            assert_eq!(serde_json::from_value::<T>(json).expect("parses"), v);
            assert_eq!(v.to_string().parse::<T>().expect("parses"), v);
        }
    }

    #[test]
    fn names_agree_with_the_schema() {
        agree(&AssistantMode::ALL);
        agree(&IntentCategory::ALL);
        agree(&Outcome::ALL);
        agree(&ContentType::ALL);
        let names: Vec<_> = IntentCategory::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(names, ["automatable", "sensitive", "human_only"]);
        assert_eq!(Outcome::ALL.len(), 2);
    }

    #[test]
    fn from_str_names_field_and_allowed_values() {
        let err = "robot".parse::<AssistantMode>().expect_err("unknown");
        assert_eq!(err.field, "assistant_mode");
        assert_eq!(
            err.rule,
            "must be one of 'customer', 'banker' (got \"robot\")"
        );
        let err = "Resolved".parse::<Outcome>().expect_err("case-sensitive");
        assert_eq!(err.field, "outcome");
        let err = "x".parse::<ContentType>().expect_err("unknown");
        assert_eq!(err.field, "content_type");
        let err = "x".parse::<IntentCategory>().expect_err("unknown");
        assert!(err.rule.contains("'human_only'"));
    }

    #[test]
    fn json_must_be_one_of_the_strings() {
        let err = serde_json::from_str::<AssistantMode>("\"robot\"").expect_err("unknown");
        assert!(err
            .to_string()
            .starts_with("must be one of 'customer', 'banker' (got \"robot\")"));
        let err = serde_json::from_str::<Outcome>("1").expect_err("not a string");
        assert!(err
            .to_string()
            .starts_with("invalid type: integer `1`, expected a string"));
    }
}

//! Validated numbers for `FLOAT` scores and `INTEGER` counts.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::Rule;

/// A confidence score: a finite number within `[0, 1]`.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(try_from = "f64", into = "f64")]
pub struct Confidence(f64);

// NaN is rejected by construction, so equality is total.
impl Eq for Confidence {}

impl Confidence {
    /// The lowest score.
    pub const MIN: f64 = 0.0;
    /// The highest score.
    pub const MAX: f64 = 1.0;

    /// Parses `value`, or names the rule it breaks.
    pub fn new(value: f64) -> Result<Self, Rule> {
        if !value.is_finite() {
            return Err(Rule::NotFinite {
                got: value.to_string(),
            });
        }
        if !(Self::MIN..=Self::MAX).contains(&value) {
            return Err(Rule::OutOfRange {
                expected: "between 0 and 1".into(),
                got: value.to_string(),
            });
        }
        Ok(Self(value))
    }

    /// The score.
    pub const fn get(self) -> f64 {
        self.0
    }
}

impl TryFrom<f64> for Confidence {
    type Error = Rule;
    fn try_from(value: f64) -> Result<Self, Rule> {
        Self::new(value)
    }
}

impl From<Confidence> for f64 {
    fn from(value: Confidence) -> f64 {
        value.0
    }
}

impl fmt::Display for Confidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A count or duration for an `INTEGER` column: within `0..=i32::MAX`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[serde(try_from = "i64", into = "i32")]
pub struct NonNegativeInt(i32);

impl NonNegativeInt {
    /// Zero.
    pub const ZERO: Self = Self(0);

    /// Parses `value`, or names the rule it breaks.
    pub fn new(value: i64) -> Result<Self, Rule> {
        if value < 0 {
            return Err(Rule::OutOfRange {
                expected: "at least 0".into(),
                got: value.to_string(),
            });
        }
        i32::try_from(value)
            .map(Self)
            .map_err(|_| Rule::OutOfRange {
                expected: format!("at most {}", i32::MAX),
                got: value.to_string(),
            })
    }

    /// The number.
    pub const fn get(self) -> i32 {
        self.0
    }
}

impl TryFrom<i64> for NonNegativeInt {
    type Error = Rule;
    fn try_from(value: i64) -> Result<Self, Rule> {
        Self::new(value)
    }
}

impl TryFrom<i32> for NonNegativeInt {
    type Error = Rule;
    fn try_from(value: i32) -> Result<Self, Rule> {
        Self::new(value.into())
    }
}

impl From<NonNegativeInt> for i32 {
    fn from(value: NonNegativeInt) -> i32 {
        value.0
    }
}

impl fmt::Display for NonNegativeInt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confidence_is_finite_and_within_unit_interval() {
        assert_eq!(Confidence::new(0.0).map(Confidence::get), Ok(0.0));
        assert_eq!(Confidence::new(1.0).map(Confidence::get), Ok(1.0));
        assert_eq!(
            Confidence::new(1.5).map_err(|r| r.to_string()),
            Err("must be between 0 and 1 (got 1.5)".into())
        );
        assert!(Confidence::new(-0.1).is_err());
        assert_eq!(
            Confidence::new(f64::NAN).map_err(|r| r.to_string()),
            Err("must be a finite number (got NaN)".into())
        );
        assert!(Confidence::new(f64::INFINITY).is_err());
        assert!(Confidence::new(f64::NEG_INFINITY).is_err());
    }

    #[test]
    fn confidence_serde() {
        let c: Confidence = serde_json::from_str("0.75").expect("valid");
        assert_eq!(c.get(), 0.75);
        assert_eq!(serde_json::to_string(&c).expect("serializes"), "0.75");
        let c: Confidence = serde_json::from_str("1").expect("integers are numbers");
        assert_eq!(c.get(), 1.0);
        let err = serde_json::from_str::<Confidence>("2").expect_err("out of range");
        assert!(err.to_string().starts_with("must be between 0 and 1"));
    }

    #[test]
    fn non_negative_int_fits_postgres_integer() {
        assert_eq!(NonNegativeInt::new(0), Ok(NonNegativeInt::ZERO));
        assert_eq!(
            NonNegativeInt::new(i32::MAX.into()).map(NonNegativeInt::get),
            Ok(i32::MAX)
        );
        assert_eq!(
            NonNegativeInt::new(-1).map_err(|r| r.to_string()),
            Err("must be at least 0 (got -1)".into())
        );
        assert_eq!(
            NonNegativeInt::new(2_147_483_648).map_err(|r| r.to_string()),
            Err("must be at most 2147483647 (got 2147483648)".into())
        );
        assert!(NonNegativeInt::try_from(-5_i32).is_err());
    }

    #[test]
    fn non_negative_int_serde() {
        let n: NonNegativeInt = serde_json::from_str("42").expect("valid");
        assert_eq!(serde_json::to_string(&n).expect("serializes"), "42");
        let err = serde_json::from_str::<NonNegativeInt>("-3").expect_err("negative");
        assert!(err.to_string().starts_with("must be at least 0"));
        assert!(serde_json::from_str::<NonNegativeInt>("4.5").is_err());
    }
}

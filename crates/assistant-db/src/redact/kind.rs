//! What the engine recognises, and how many of each it redacted.

use std::fmt;
use std::iter::Sum;
use std::ops::{Add, AddAssign};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::ser::{Serialize, SerializeMap, Serializer};

/// A kind of personal or payment data the engine recognises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Kind {
    /// A payment card number (PAN): 13–19 digits, a known network prefix, Luhn-valid.
    Card,
    /// An IBAN: a known country's length and a valid mod-97 check.
    Iban,
    /// An e-mail address.
    Email,
    /// A telephone number, international or national.
    Phone,
    /// A US Social Security number that respects the area/group/serial rules.
    Ssn,
    /// A bank account, routing or sort-code number written next to its context word.
    Account,
    /// A card security code (CVV, CVC) written next to its context word.
    Cvv,
    /// A match of a user rule from the configuration.
    Rule,
}

impl Kind {
    /// Every kind, in the order counts and reports list them.
    pub const ALL: [Kind; 8] = [
        Kind::Card,
        Kind::Iban,
        Kind::Email,
        Kind::Phone,
        Kind::Ssn,
        Kind::Account,
        Kind::Cvv,
        Kind::Rule,
    ];

    /// The built-in kinds, each with its own policy.
    pub const BUILT_IN: [Kind; 7] = [
        Kind::Card,
        Kind::Iban,
        Kind::Email,
        Kind::Phone,
        Kind::Ssn,
        Kind::Account,
        Kind::Cvv,
    ];

    /// The lower-case name used in corpora, metrics and configuration (`card`, `iban`, …).
    pub const fn name(self) -> &'static str {
        match self {
            Kind::Card => "card",
            Kind::Iban => "iban",
            Kind::Email => "email",
            Kind::Phone => "phone",
            Kind::Ssn => "ssn",
            Kind::Account => "account",
            Kind::Cvv => "cvv",
            Kind::Rule => "rule",
        }
    }

    /// The word that opens this kind's token, such as `CARD` in `[CARD ••••1234]`.
    pub const fn label(self) -> &'static str {
        match self {
            Kind::Card => "CARD",
            Kind::Iban => "IBAN",
            Kind::Email => "EMAIL",
            Kind::Phone => "PHONE",
            Kind::Ssn => "SSN",
            Kind::Account => "ACCOUNT",
            Kind::Cvv => "CVV",
            Kind::Rule => "RULE",
        }
    }

    /// The kind named `name` (as [`Kind::name`] spells it, any case).
    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL
            .into_iter()
            .find(|kind| kind.name().eq_ignore_ascii_case(name))
    }

    const fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How many values of each kind were redacted; add them up across records and calls.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts([u64; Kind::ALL.len()]);

impl Counts {
    /// How many of `kind` were redacted.
    pub fn get(&self, kind: Kind) -> u64 {
        self.0[kind.index()]
    }

    /// Adds one redaction of `kind`.
    pub fn record(&mut self, kind: Kind) {
        self.0[kind.index()] += 1;
    }

    /// All redactions, every kind together.
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }

    /// True when nothing was redacted.
    pub fn is_empty(&self) -> bool {
        self.total() == 0
    }

    /// Each kind with its count, in [`Kind::ALL`] order, zeros included.
    pub fn iter(&self) -> impl Iterator<Item = (Kind, u64)> + '_ {
        Kind::ALL.into_iter().map(|kind| (kind, self.get(kind)))
    }
}

/// As a JSON object of every kind's name and count, zeros included:
/// `{"card": 2, "iban": 0, …}`.
impl Serialize for Counts {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(Kind::ALL.len()))?;
        for (kind, n) in self.iter() {
            map.serialize_entry(kind.name(), &n)?;
        }
        map.end()
    }
}

/// [`Counts`] that many threads add to at once, such as a client's or a logger's.
#[derive(Debug, Default)]
pub struct SharedCounts([AtomicU64; Kind::ALL.len()]);

impl SharedCounts {
    /// Adds `counts`.
    pub fn add(&self, counts: &Counts) {
        for (slot, n) in self.0.iter().zip(counts.0) {
            if n > 0 {
                slot.fetch_add(n, Ordering::Relaxed);
            }
        }
    }

    /// The counts so far.
    pub fn get(&self) -> Counts {
        Counts(std::array::from_fn(|i| self.0[i].load(Ordering::Relaxed)))
    }
}

impl AddAssign for Counts {
    fn add_assign(&mut self, other: Counts) {
        for (mine, theirs) in self.0.iter_mut().zip(other.0) {
            *mine += theirs;
        }
    }
}

impl Add for Counts {
    type Output = Counts;
    fn add(mut self, other: Counts) -> Counts {
        self += other;
        self
    }
}

impl Sum for Counts {
    fn sum<I: Iterator<Item = Counts>>(iter: I) -> Counts {
        iter.fold(Counts::default(), Add::add)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for kind in Kind::ALL {
            assert_eq!(Kind::from_name(kind.name()), Some(kind));
            assert_eq!(Kind::from_name(&kind.label().to_lowercase()), Some(kind));
        }
        assert_eq!(Kind::from_name("passport"), None);
    }

    #[test]
    fn counts_add_up() {
        let mut a = Counts::default();
        a.record(Kind::Card);
        a.record(Kind::Card);
        let mut b = Counts::default();
        b.record(Kind::Email);
        b.record(Kind::Card);
        let sum: Counts = [a, b].into_iter().sum();
        assert_eq!(sum.get(Kind::Card), 3);
        assert_eq!(sum.get(Kind::Email), 1);
        assert_eq!(sum.get(Kind::Iban), 0);
        assert_eq!(sum.total(), 4);
        assert!(!sum.is_empty());
        assert!(Counts::default().is_empty());
        assert_eq!(sum.iter().count(), Kind::ALL.len());

        let shared = SharedCounts::default();
        shared.add(&sum);
        shared.add(&a);
        assert_eq!(shared.get().get(Kind::Card), 5);
        assert_eq!(shared.get().total(), 6);
    }

    #[test]
    fn counts_serialize_as_every_kind_by_name() {
        let mut counts = Counts::default();
        counts.record(Kind::Iban);
        let json = serde_json::to_value(counts).expect("json");
        assert_eq!(
            json,
            serde_json::json!({"card": 0, "iban": 1, "email": 0, "phone": 0, "ssn": 0,
                               "account": 0, "cvv": 0, "rule": 0})
        );
    }
}

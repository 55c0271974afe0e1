//! Dates and times as people write them, read the same way by the CLI, the HTTP API and
//! the dashboard.
//!
//! A bound of a time window ([`Moment`]) is one of:
//! - an RFC 3339 instant: `2026-11-01T09:30:00Z`, `2026-11-01T10:30:00+01:00`;
//! - a calendar day, `2026-11-01`: the whole day in the chosen time zone, from its first
//!   instant to its last (as `from`, the day's start; as `to`, its end);
//! - `today` or `yesterday`, the same in the chosen zone;
//! - a span back from now: `24h`, `7d`, `2w` (hours, days, weeks of fixed length);
//! - `now`.
//!
//! The zone ([`Zone`]) is an IANA name such as `Europe/Paris` (default `UTC`); it decides
//! where a day starts, and so the day and week buckets of the metrics. Days are aligned
//! to the zone's clock, daylight saving time included: a day may last 23 or 25 hours.

use std::fmt;
use std::str::FromStr;

use chrono::{
    DateTime, Days, FixedOffset, NaiveDate, NaiveDateTime, Offset, TimeDelta, TimeZone, Utc,
};
use serde::{Deserialize, Serialize};

use crate::model::ValidationError;

pub use chrono_tz::Tz;

/// The longest span back from now that a relative bound may name: 100 years.
const MAX_AGO_HOURS: i64 = 100 * 366 * 24;

/// An IANA time zone; `UTC` unless chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Zone(Tz);

impl Zone {
    /// Coordinated Universal Time.
    pub const UTC: Zone = Zone(Tz::UTC);

    /// Reads an IANA name (`Europe/Paris`, `UTC`); `field` names the setting in an error.
    pub fn parse(name: &str, field: &str) -> Result<Self, ValidationError> {
        let name = name.trim();
        name.parse::<Tz>().map(Zone).map_err(|_| {
            ValidationError::new(
                field,
                format!(
                    "must be an IANA time zone name such as Europe/Paris or UTC (got {:?})",
                    shorten(name)
                ),
            )
        })
    }

    /// The zone's IANA name.
    pub fn name(&self) -> &'static str {
        self.0.name()
    }

    /// True for UTC (and its aliases, such as `Etc/UTC`).
    pub fn is_utc(&self) -> bool {
        matches!(
            self.0.name(),
            "UTC"
                | "Etc/UTC"
                | "Etc/UCT"
                | "Etc/Universal"
                | "Etc/Zulu"
                | "UCT"
                | "Universal"
                | "Zulu"
        )
    }

    /// The zone as `chrono_tz` knows it.
    pub fn tz(&self) -> Tz {
        self.0
    }

    /// An instant on this zone's clock.
    pub fn local(&self, at: DateTime<Utc>) -> DateTime<Tz> {
        at.with_timezone(&self.0)
    }

    /// The day `at` falls on, on this zone's clock.
    pub fn day_of(&self, at: DateTime<Utc>) -> NaiveDate {
        self.local(at).date_naive()
    }

    /// The first instant of `day` on this zone's clock. Where the clock jumps over
    /// midnight (a daylight-saving change at 00:00), the day starts at the jump.
    pub fn start_of(&self, day: NaiveDate) -> Option<DateTime<Utc>> {
        self.first_instant_at(day.and_hms_opt(0, 0, 0)?)
    }

    /// The last instant (to the microsecond) of `day` on this zone's clock.
    pub fn end_of(&self, day: NaiveDate) -> Option<DateTime<Utc>> {
        let next = self.start_of(day.checked_add_days(Days::new(1))?)?;
        next.checked_sub_signed(TimeDelta::microseconds(1))
    }

    /// The first instant whose local time is `local`, or, when the clock skips it, the
    /// instant of the skip (read with the offset in force just before).
    fn first_instant_at(&self, local: NaiveDateTime) -> Option<DateTime<Utc>> {
        if let Some(at) = self.0.from_local_datetime(&local).earliest() {
            return Some(at.with_timezone(&Utc));
        }
        let before = local.checked_sub_signed(TimeDelta::hours(12))?;
        let offset: FixedOffset = self
            .0
            .from_local_datetime(&before)
            .earliest()?
            .offset()
            .fix();
        offset
            .from_local_datetime(&local)
            .single()
            .map(|at| at.with_timezone(&Utc))
    }
}

impl Default for Zone {
    fn default() -> Self {
        Zone::UTC
    }
}

impl FromStr for Zone {
    type Err = ValidationError;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Zone::parse(name, "tz")
    }
}

impl fmt::Display for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for Zone {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Zone {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        Zone::parse(&name, "tz").map_err(|e| serde::de::Error::custom(e.rule))
    }
}

/// Which end of a window a [`Moment`] bounds: a day as `from` is its start, as `to` its
/// end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    /// The window's start (`from`, inclusive).
    From,
    /// The window's end (`to`, inclusive).
    To,
}

impl Bound {
    /// The parameter's name: `from` or `to`.
    pub const fn name(self) -> &'static str {
        match self {
            Bound::From => "from",
            Bound::To => "to",
        }
    }
}

/// A unit of a span back from now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Unit {
    /// `h`: 60 minutes.
    Hours,
    /// `d`: 24 hours.
    Days,
    /// `w`: 7 × 24 hours.
    Weeks,
}

impl Unit {
    const fn hours(self) -> i64 {
        match self {
            Unit::Hours => 1,
            Unit::Days => 24,
            Unit::Weeks => 24 * 7,
        }
    }

    const fn suffix(self) -> char {
        match self {
            Unit::Hours => 'h',
            Unit::Days => 'd',
            Unit::Weeks => 'w',
        }
    }
}

/// One bound of a time window as a person writes it; see the [module](self) for the
/// forms. It becomes an instant with [`resolve`](Self::resolve), given the zone and the
/// time now, so that a relative form stays relative in a bookmarked link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Moment {
    /// An RFC 3339 instant, with the offset it was written with.
    Instant(DateTime<FixedOffset>),
    /// A calendar day in the chosen zone.
    Day(NaiveDate),
    /// The current day in the chosen zone.
    Today,
    /// The day before the current one in the chosen zone.
    Yesterday,
    /// This long before now.
    Ago(u32, Unit),
    /// The current instant.
    Now,
}

/// The rule every form of [`Moment`] is checked against, for error messages.
pub const FORMS: &str = "must be a date such as 2026-11-01, an RFC 3339 time such as \
                         2026-11-01T09:30:00Z, a span back from now such as 24h, 7d or 2w, \
                         or today, yesterday or now";

impl Moment {
    /// Reads a bound; `field` names it in an error (`from`, `to`, `--from`).
    pub fn parse(text: &str, field: &str) -> Result<Self, ValidationError> {
        let text = text.trim();
        let bad = || ValidationError::new(field, format!("{FORMS} (got {:?})", shorten(text)));
        match text.to_ascii_lowercase().as_str() {
            "now" => return Ok(Moment::Now),
            "today" => return Ok(Moment::Today),
            "yesterday" => return Ok(Moment::Yesterday),
            _ => {}
        }
        if let Some(unit) = text.chars().last().and_then(|c| match c {
            'h' | 'H' => Some(Unit::Hours),
            'd' | 'D' => Some(Unit::Days),
            'w' | 'W' => Some(Unit::Weeks),
            _ => None,
        }) {
            let digits = &text[..text.len() - 1];
            if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                let amount: u32 = digits.parse().map_err(|_| bad())?;
                if i64::from(amount) * unit.hours() > MAX_AGO_HOURS {
                    return Err(ValidationError::new(
                        field,
                        format!("must reach back at most 100 years (got {text})"),
                    ));
                }
                return Ok(Moment::Ago(amount, unit));
            }
        }
        if text.len() == 10 {
            if let Ok(day) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
                return Ok(Moment::Day(day));
            }
        }
        // A `+` of an offset that arrived as a space (an unencoded `+` in a URL).
        DateTime::parse_from_rfc3339(&text.replace(' ', "+"))
            .map(Moment::Instant)
            .map_err(|_| bad())
    }

    /// The instant this bound stands for, as `bound`, in `zone`, at `now`; `None` when
    /// it lies beyond the years a timestamp can hold.
    pub fn resolve(&self, bound: Bound, zone: Zone, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let day = |day: NaiveDate| match bound {
            Bound::From => zone.start_of(day),
            Bound::To => zone.end_of(day),
        };
        match *self {
            Moment::Instant(at) => Some(at.with_timezone(&Utc)),
            Moment::Day(d) => day(d),
            Moment::Today => day(zone.day_of(now)),
            Moment::Yesterday => day(zone.day_of(now).pred_opt()?),
            Moment::Ago(amount, unit) => {
                now.checked_sub_signed(TimeDelta::hours(i64::from(amount) * unit.hours()))
            }
            Moment::Now => Some(now),
        }
    }

    /// True when the instant depends on the time now (`7d`, `today`, `now`).
    pub fn is_relative(&self) -> bool {
        !matches!(self, Moment::Instant(_) | Moment::Day(_))
    }
}

impl fmt::Display for Moment {
    /// The text [`Moment::parse`] reads back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Moment::Instant(at) => {
                f.write_str(&at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
            }
            Moment::Day(day) => write!(f, "{day}"),
            Moment::Today => f.write_str("today"),
            Moment::Yesterday => f.write_str("yesterday"),
            Moment::Ago(amount, unit) => write!(f, "{amount}{}", unit.suffix()),
            Moment::Now => f.write_str("now"),
        }
    }
}

impl FromStr for Moment {
    type Err = ValidationError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Moment::parse(text, "time")
    }
}

/// A time window: both bounds inclusive, either may be open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Window {
    /// The first instant, if bounded.
    pub from: Option<DateTime<Utc>>,
    /// The last instant, if bounded.
    pub to: Option<DateTime<Utc>>,
}

impl Window {
    /// The window two written bounds describe in `zone` at `now`; a bound out of range
    /// or `from` after `to` is an error naming the field. `field_prefix` is put before
    /// the field names (`--` for command-line flags).
    pub fn resolve(
        from: Option<&Moment>,
        to: Option<&Moment>,
        zone: Zone,
        now: DateTime<Utc>,
        field_prefix: &str,
    ) -> Result<Window, ValidationError> {
        let one = |moment: Option<&Moment>, bound: Bound| {
            moment
                .map(|m| {
                    m.resolve(bound, zone, now).ok_or_else(|| {
                        ValidationError::new(
                            format!("{field_prefix}{}", bound.name()),
                            format!("is beyond the years a timestamp can hold (got {m})"),
                        )
                    })
                })
                .transpose()
        };
        let window = Window {
            from: one(from, Bound::From)?,
            to: one(to, Bound::To)?,
        };
        if let (Some(start), Some(end)) = (window.from, window.to) {
            if start > end {
                return Err(ValidationError::new(
                    format!("{field_prefix}from"),
                    format!(
                        "must not be after {field_prefix}to (from is {}, to is {})",
                        stamp(start),
                        stamp(end)
                    ),
                ));
            }
        }
        Ok(window)
    }

    /// The window of the same length just before this one (it ends one microsecond
    /// before this one starts), for comparing a period with the previous one; `None`
    /// when the window has no start. An open end counts as `now`.
    pub fn previous(&self, now: DateTime<Utc>) -> Option<Window> {
        let from = self.from?;
        let to = self.to.unwrap_or(now).max(from);
        let length = to - from;
        let prev_to = from.checked_sub_signed(TimeDelta::microseconds(1))?;
        let prev_from = prev_to.checked_sub_signed(length)?;
        Some(Window {
            from: Some(prev_from),
            to: Some(prev_to),
        })
    }
}

/// An instant in RFC 3339, UTC, as short as exact.
pub fn stamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

/// At most 64 characters of `text`, for echoing a bad value back.
fn shorten(text: &str) -> String {
    text.chars().take(64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("test instant")
            .with_timezone(&Utc)
    }

    fn resolve(text: &str, bound: Bound, zone: &str, now: &str) -> DateTime<Utc> {
        Moment::parse(text, "from")
            .expect("parses")
            .resolve(bound, zone.parse().expect("zone"), at(now))
            .expect("in range")
    }

    #[test]
    fn a_day_is_whole_in_the_chosen_zone() {
        let now = "2026-11-20T12:00:00Z";
        assert_eq!(
            resolve("2026-11-01", Bound::From, "UTC", now),
            at("2026-11-01T00:00:00Z")
        );
        assert_eq!(
            resolve("2026-11-01", Bound::To, "UTC", now),
            at("2026-11-01T23:59:59.999999Z")
        );
        assert_eq!(
            resolve("2026-11-01", Bound::From, "Europe/Paris", now),
            at("2026-10-31T23:00:00Z")
        );
        assert_eq!(
            resolve("2026-11-01", Bound::To, "Europe/Paris", now),
            at("2026-11-01T22:59:59.999999Z")
        );
        // The day daylight saving time ends in Paris lasts 25 hours.
        let start = resolve("2026-10-25", Bound::From, "Europe/Paris", now);
        let end = resolve("2026-10-25", Bound::To, "Europe/Paris", now);
        assert_eq!(start, at("2026-10-24T22:00:00Z"));
        assert_eq!(
            end - start + TimeDelta::microseconds(1),
            TimeDelta::hours(25)
        );
        // Where the clock jumped over midnight (São Paulo, 2018-11-04 00:00 → 01:00), the
        // day starts at the jump.
        assert_eq!(
            resolve("2018-11-04", Bound::From, "America/Sao_Paulo", now),
            at("2018-11-04T03:00:00Z")
        );
        assert_eq!(
            resolve("2018-11-03", Bound::To, "America/Sao_Paulo", now),
            at("2018-11-04T02:59:59.999999Z")
        );
        // Half-hour zones.
        assert_eq!(
            resolve("2026-11-01", Bound::From, "Asia/Kolkata", now),
            at("2026-10-31T18:30:00Z")
        );
    }

    #[test]
    fn relative_forms_count_back_from_now() {
        let now = "2026-11-20T12:34:56Z";
        assert_eq!(
            resolve("24h", Bound::From, "UTC", now),
            at("2026-11-19T12:34:56Z")
        );
        assert_eq!(
            resolve("7d", Bound::From, "Europe/Paris", now),
            at("2026-11-13T12:34:56Z")
        );
        assert_eq!(
            resolve("2w", Bound::To, "UTC", now),
            at("2026-11-06T12:34:56Z")
        );
        assert_eq!(resolve("now", Bound::To, "UTC", now), at(now));
        assert_eq!(
            resolve("today", Bound::From, "Europe/Paris", now),
            at("2026-11-19T23:00:00Z")
        );
        assert_eq!(
            resolve("yesterday", Bound::To, "Europe/Paris", now),
            at("2026-11-19T22:59:59.999999Z")
        );
        // Just after midnight in Tokyo it is already the next day there.
        assert_eq!(
            resolve("today", Bound::From, "Asia/Tokyo", "2026-11-20T15:30:00Z"),
            at("2026-11-20T15:00:00Z")
        );
    }

    #[test]
    fn instants_keep_their_offset_and_round_trip() {
        let m = Moment::parse("2026-11-01T10:30:00+01:00", "from").expect("instant");
        assert_eq!(
            m.resolve(Bound::From, Zone::UTC, at("2026-11-20T00:00:00Z")),
            Some(at("2026-11-01T09:30:00Z"))
        );
        // An unencoded `+` in a URL arrives as a space.
        assert_eq!(Moment::parse("2026-11-01T10:30:00 01:00", "from"), Ok(m));
        for text in [
            "2026-11-01T10:30:00+01:00",
            "2026-11-01",
            "7d",
            "24h",
            "2w",
            "today",
            "yesterday",
            "now",
        ] {
            let m = Moment::parse(text, "from").expect(text);
            assert_eq!(m.to_string(), text);
            assert_eq!(Moment::parse(&m.to_string(), "from"), Ok(m));
        }
        assert!(Moment::parse("7d", "from").expect("7d").is_relative());
        assert!(!Moment::parse("2026-11-01", "from")
            .expect("day")
            .is_relative());
    }

    #[test]
    fn bad_forms_name_the_field_and_every_form() {
        for bad in [
            "",
            "yesterday-ish",
            "7x",
            "d",
            "-7d",
            "2026-13-01",
            "2026-11-01T25:00:00Z",
            "1.5d",
        ] {
            let err = Moment::parse(bad, "--from").expect_err(bad);
            assert_eq!(err.field, "--from");
            assert!(
                err.rule.starts_with("must be a date such as 2026-11-01"),
                "{err:?}"
            );
        }
        let err = Moment::parse("999999w", "to").expect_err("too far");
        assert_eq!(err.field, "to");
        assert!(err.rule.contains("100 years"), "{err:?}");
    }

    #[test]
    fn zones_are_iana_names() {
        assert_eq!(
            Zone::parse("Europe/Paris", "tz").map(|z| z.name()),
            Ok("Europe/Paris")
        );
        assert!(Zone::parse("UTC", "tz").expect("utc").is_utc());
        assert!(Zone::parse("Etc/UTC", "tz").expect("utc").is_utc());
        assert!(!Zone::parse("Europe/London", "tz").expect("london").is_utc());
        let err = Zone::parse("Mars/Olympus", "--tz").expect_err("no such zone");
        assert_eq!(err.field, "--tz");
        assert!(err.rule.contains("IANA time zone"), "{err:?}");
        assert_eq!(Zone::default(), Zone::UTC);
    }

    #[test]
    fn windows_are_checked_and_have_a_previous_period() {
        let now = at("2026-11-20T12:00:00Z");
        let from = Moment::parse("2026-11-10", "from").expect("day");
        let to = Moment::parse("2026-11-01", "to").expect("day");
        let err =
            Window::resolve(Some(&from), Some(&to), Zone::UTC, now, "--").expect_err("reversed");
        assert_eq!(err.field, "--from");
        let week = Window::resolve(
            Some(&Moment::parse("2026-11-09", "from").expect("day")),
            Some(&Moment::parse("2026-11-15", "to").expect("day")),
            Zone::UTC,
            now,
            "",
        )
        .expect("window");
        let before = week.previous(now).expect("previous");
        assert_eq!(before.from, Some(at("2026-11-02T00:00:00Z")));
        assert_eq!(before.to, Some(at("2026-11-08T23:59:59.999999Z")));
        let last_day = Window::resolve(
            Some(&Moment::Ago(24, Unit::Hours)),
            None,
            Zone::UTC,
            now,
            "",
        )
        .expect("window");
        let before = last_day.previous(now).expect("previous");
        assert_eq!(before.to, Some(at("2026-11-19T11:59:59.999999Z")));
        assert_eq!(before.from, Some(at("2026-11-18T11:59:59.999999Z")));
        assert_eq!(Window::default().previous(now), None);
    }
}

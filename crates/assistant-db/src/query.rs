//! Filters, keyset pagination and result shapes for reading interactions back.
//!
//! Both transports render the same filter ([`InteractionFilter::conditions`]) and page the
//! same way ([`Page::from_rows`]): one row more than the page size tells whether another
//! page follows, and the cursor is the last row's `(timestamp, id)`.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::Error;
use crate::model::{AssistantMode, IntentCategory, Outcome, ValidationError};
use crate::row::{EscalationRow, InteractionRow, KnowledgeDocumentRow, Timestamp};

/// The most rows one page may hold.
pub const MAX_PAGE_SIZE: u32 = 1000;
/// Rows per page when the caller does not say.
pub const DEFAULT_PAGE_SIZE: u32 = 50;
/// The longest text search, in characters.
pub const MAX_SEARCH_CHARS: usize = 200;
/// The most words a text search may hold.
pub const MAX_SEARCH_WORDS: usize = 8;
/// The shortest run of characters the search index can look up: its pieces are three
/// characters long (trigrams).
pub const MIN_INDEXED_CHARS: usize = 3;

/// Which interactions to read; every filter is optional and they combine with AND.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InteractionFilter {
    /// `assistant_mode` equals.
    pub mode: Option<AssistantMode>,
    /// `outcome` equals.
    pub outcome: Option<Outcome>,
    /// `intent_name` equals.
    pub intent: Option<String>,
    /// `intent_category` equals.
    pub category: Option<IntentCategory>,
    /// `session_id` equals.
    pub session: Option<String>,
    /// `timestamp` at or after.
    pub from: Option<DateTime<Utc>>,
    /// `timestamp` at or before.
    pub to: Option<DateTime<Utc>>,
    /// Words in `user_query` or `response_text`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search: Option<TextSearch>,
    /// An escalation of the interaction has this `trigger_type`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger: Option<String>,
}

impl InteractionFilter {
    /// The filter as equality and range conditions on columns, for a transport to render.
    pub(crate) fn conditions(&self) -> Vec<Condition<'_>> {
        Conditions::default()
            .eq(
                "assistant_mode",
                self.mode.as_ref().map(AssistantMode::as_str),
            )
            .eq("outcome", self.outcome.as_ref().map(Outcome::as_str))
            .eq("intent_name", self.intent.as_deref())
            .eq(
                "intent_category",
                self.category.as_ref().map(IntentCategory::as_str),
            )
            .eq("session_id", self.session.as_deref())
            .window(self.from, self.to)
            .search(self.search.as_ref())
            .trigger(self.trigger.as_deref())
            .into()
    }
}

/// A text search over interactions: every word must appear, ignoring case, in the
/// user's query or in the response (not necessarily the same one for each word). A `*`
/// inside a word matches any run of characters; every other character, `%` and `_`
/// included, stands for itself.
///
/// The words are looked up in trigram indexes (migration 010), which find a word by its
/// three-character pieces: so at least one word must hold three characters besides `*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextSearch {
    words: Vec<String>,
}

impl TextSearch {
    /// Reads the words of `text`; `field` names the parameter in an error.
    pub fn parse(text: &str, field: &str) -> Result<Self, ValidationError> {
        let bad = |rule: String| ValidationError::new(field, rule);
        if text.contains('\0') {
            return Err(bad("must not contain a NUL character".into()));
        }
        let chars = text.chars().count();
        if chars > MAX_SEARCH_CHARS {
            return Err(bad(format!(
                "must be at most {MAX_SEARCH_CHARS} characters (got {chars})"
            )));
        }
        let words: Vec<String> = text.split_whitespace().map(str::to_owned).collect();
        if words.is_empty() {
            return Err(bad("must hold a word to search for".into()));
        }
        if words.len() > MAX_SEARCH_WORDS {
            return Err(bad(format!(
                "must hold at most {MAX_SEARCH_WORDS} words (got {})",
                words.len()
            )));
        }
        let indexed = words.iter().any(|w| {
            w.split('*')
                .any(|run| run.chars().count() >= MIN_INDEXED_CHARS)
        });
        if !indexed {
            return Err(bad(format!(
                "must hold a word of at least {MIN_INDEXED_CHARS} characters (besides `*`), \
                 which the search index can look up"
            )));
        }
        Ok(TextSearch { words })
    }

    /// The words, in the order given.
    pub fn words(&self) -> &[String] {
        &self.words
    }

    /// Each word as an `ILIKE` pattern: `%word%`, with `*` as `%` and `%`, `_` and `\`
    /// escaped.
    pub(crate) fn like_patterns(&self) -> impl Iterator<Item = String> + '_ {
        self.words
            .iter()
            .map(|w| format!("%{}%", like_escape(w, '%')))
    }

    /// Each word as PostgREST writes a `like` pattern, whose wildcard is `*`: `*word*`,
    /// with `%`, `_` and `\` escaped for `LIKE`.
    pub(crate) fn rest_patterns(&self) -> impl Iterator<Item = String> + '_ {
        self.words
            .iter()
            .map(|w| format!("*{}*", like_escape(w, '*')))
    }
}

/// `word` for a `LIKE` pattern: `%`, `_` and `\` escaped with `\`, `*` written as `star`.
fn like_escape(word: &str, star: char) -> String {
    let mut out = String::with_capacity(word.len() + 2);
    for c in word.chars() {
        match c {
            '%' | '_' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '*' => out.push(star),
            c => out.push(c),
        }
    }
    out
}

impl fmt::Display for TextSearch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.words.join(" "))
    }
}

impl FromStr for TextSearch {
    type Err = ValidationError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        TextSearch::parse(text, "q")
    }
}

impl Serialize for TextSearch {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for TextSearch {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        TextSearch::parse(&text, "q").map_err(|e| serde::de::Error::custom(e.rule))
    }
}

/// Builds a filter's conditions, leaving out what is not set.
#[derive(Debug, Default)]
pub(crate) struct Conditions<'a>(Vec<Condition<'a>>);

impl<'a> Conditions<'a> {
    /// Adds `column = value` when there is a value.
    pub(crate) fn eq(mut self, column: &'static str, value: Option<&'a str>) -> Self {
        if let Some(value) = value {
            self.0.push(Condition::Eq(column, value));
        }
        self
    }

    /// Adds `timestamp >= from` and `timestamp <= to` for the bounds that are set.
    pub(crate) fn window(mut self, from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>) -> Self {
        if let Some(from) = from {
            self.0.push(Condition::AtOrAfter("timestamp", from));
        }
        if let Some(to) = to {
            self.0.push(Condition::AtOrBefore("timestamp", to));
        }
        self
    }

    /// Adds a text search when there is one.
    pub(crate) fn search(mut self, search: Option<&'a TextSearch>) -> Self {
        if let Some(search) = search {
            self.0.push(Condition::Contains(search));
        }
        self
    }

    /// Adds "has an escalation with this trigger type" when there is one.
    pub(crate) fn trigger(mut self, trigger: Option<&'a str>) -> Self {
        if let Some(trigger) = trigger {
            self.0.push(Condition::EscalatedBy(trigger));
        }
        self
    }
}

impl<'a> From<Conditions<'a>> for Vec<Condition<'a>> {
    fn from(conditions: Conditions<'a>) -> Self {
        conditions.0
    }
}

/// One condition of a filter on `interactions`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Condition<'a> {
    /// `column = value`.
    Eq(&'static str, &'a str),
    /// `column >= instant`.
    AtOrAfter(&'static str, DateTime<Utc>),
    /// `column <= instant`.
    AtOrBefore(&'static str, DateTime<Utc>),
    /// Every word in `user_query` or `response_text`, ignoring case.
    Contains(&'a TextSearch),
    /// An escalation of the interaction has this `trigger_type`.
    EscalatedBy(&'a str),
}

/// One page of a listing, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InteractionQuery {
    /// Which rows.
    #[serde(flatten)]
    pub filter: InteractionFilter,
    /// Rows per page, 1 to [`MAX_PAGE_SIZE`]; [`DEFAULT_PAGE_SIZE`] when `None`.
    pub limit: Option<u32>,
    /// Continue after this position (from the previous page's `next`).
    pub after: Option<Cursor>,
}

impl InteractionQuery {
    /// The page size, checked against its bounds.
    pub fn page_size(&self) -> Result<u32, ValidationError> {
        match self.limit {
            None => Ok(DEFAULT_PAGE_SIZE),
            Some(n) if (1..=MAX_PAGE_SIZE).contains(&n) => Ok(n),
            Some(n) => Err(ValidationError::new(
                "limit",
                format!("must be between 1 and {MAX_PAGE_SIZE} (got {n})"),
            )),
        }
    }
}

/// A position in the newest-first order: the last row's `timestamp` and `id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    /// The row's timestamp (`None` for rows written without one).
    pub timestamp: Option<Timestamp>,
    /// The row's id, which breaks ties.
    pub id: Uuid,
}

impl Cursor {
    /// The position of `row`.
    pub fn of(row: &InteractionRow) -> Self {
        Cursor {
            timestamp: row.timestamp.clone(),
            id: row.id,
        }
    }
}

impl Cursor {
    /// `err` as the reader should see it: a timestamp the database refused to read in a
    /// cursor that passed [`Timestamp::parse`] (the range's very edges, where an offset
    /// crosses PostgreSQL's limits) is the caller's bad `after`, not a failure.
    pub(crate) fn refused(err: Error) -> Error {
        match &err {
            Error::Database {
                code: Some(code), ..
            } if matches!(code.as_str(), "22007" | "22008" | "22009") => Error::Validation(
                ValidationError::new("after", "holds a timestamp outside what PostgreSQL reads"),
            ),
            _ => err,
        }
    }
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.timestamp {
            Some(ts) => write!(f, "{ts}_{}", self.id),
            None => write!(f, "null_{}", self.id),
        }
    }
}

impl FromStr for Cursor {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || {
            ValidationError::new(
                "after",
                "must be a cursor from a previous page (`<timestamp>_<id>`)",
            )
        };
        let (ts, id) = s.rsplit_once('_').ok_or_else(bad)?;
        let id = Uuid::parse_str(id).map_err(|_| bad())?;
        let timestamp = match ts {
            "null" => None,
            ts => Some(Timestamp::parse(ts).ok_or_else(bad)?),
        };
        Ok(Cursor { timestamp, id })
    }
}

impl Serialize for Cursor {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Cursor {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A page of interactions and where the next one starts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    /// The rows, newest first.
    pub items: Vec<T>,
    /// Pass as `after` for the next page; `None` on the last page.
    pub next: Option<Cursor>,
}

impl Page<InteractionRow> {
    /// The page of at most `limit` rows from `rows`, which holds up to one row more: that
    /// row is not shown, it only says that another page follows.
    pub(crate) fn from_rows(mut rows: Vec<InteractionRow>, limit: usize) -> Self {
        let next = if rows.len() > limit {
            rows.truncate(limit);
            rows.last().map(Cursor::of)
        } else {
            None
        };
        Page { items: rows, next }
    }
}

/// A page of knowledge documents, in id order, and where the next one starts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocumentPage {
    /// The documents, in id order.
    pub items: Vec<KnowledgeDocumentRow>,
    /// Pass as `after` for the next page; `None` on the last page.
    pub next: Option<Uuid>,
}

/// The most turns a session view holds.
pub const MAX_SESSION_TURNS: usize = 5000;

/// Every turn of one conversation (`session_id`), oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionTurns {
    /// The session's id.
    pub session_id: String,
    /// Its interactions, oldest first (turns without a timestamp last).
    pub turns: Vec<InteractionRow>,
    /// True when the session holds more than [`MAX_SESSION_TURNS`] turns: then `turns`
    /// holds the latest ones.
    pub truncated: bool,
}

/// One interaction with its escalations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InteractionDetail {
    /// The interaction.
    #[serde(flatten)]
    pub interaction: InteractionRow,
    /// Its escalations, oldest first.
    pub escalations: Vec<EscalationRow>,
}

/// One recent escalation with what a dashboard shows of its interaction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecentEscalation {
    /// The interaction's id.
    pub interaction_id: Uuid,
    /// When the interaction happened.
    pub timestamp: Option<Timestamp>,
    /// Which assistant.
    pub assistant_mode: AssistantMode,
    /// The classified intent.
    pub intent_name: Option<String>,
    /// What triggered the escalation; `None` when only the interaction is known.
    pub trigger_type: Option<String>,
    /// Why.
    pub escalation_reason: Option<String>,
}

/// How many rows one write inserted; rows whose id already existed are skipped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Written {
    /// Interactions inserted.
    pub interactions: u64,
    /// Escalations inserted.
    pub escalations: u64,
}

/// One knowledge document written by an upsert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Upserted {
    /// The stored row's id (an existing row keeps its id).
    pub id: Uuid,
    /// True if the row is new, false if an existing one was updated.
    pub inserted: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_through_text() {
        let cursor = Cursor {
            timestamp: Some(Timestamp::At(
                "2026-11-26T03:24:52.123456Z".parse().expect("ts"),
            )),
            id: Uuid::now_v7(),
        };
        assert_eq!(cursor.to_string().parse::<Cursor>().expect("parse"), cursor);
        for ts in [
            Timestamp::Infinity,
            Timestamp::NegInfinity,
            Timestamp::Other("200000-01-01T00:00:00+00:00".into()),
        ] {
            let cursor = Cursor {
                timestamp: Some(ts),
                id: Uuid::now_v7(),
            };
            assert_eq!(cursor.to_string().parse::<Cursor>().expect("parse"), cursor);
        }
        let cursor = Cursor {
            timestamp: Some(Timestamp::At(
                "2026-11-26T03:24:52.123456Z".parse().expect("ts"),
            )),
            id: Uuid::now_v7(),
        };
        assert_eq!(cursor.to_string().parse::<Cursor>().expect("parse"), cursor);
        let null = Cursor {
            timestamp: None,
            id: Uuid::now_v7(),
        };
        assert_eq!(null.to_string().parse::<Cursor>().expect("parse"), null);
        assert_eq!(
            "nonsense".parse::<Cursor>().expect_err("bad").field,
            "after"
        );
    }

    #[test]
    fn page_size_is_bounded() {
        let mut q = InteractionQuery::default();
        assert_eq!(q.page_size(), Ok(DEFAULT_PAGE_SIZE));
        q.limit = Some(0);
        assert!(q.page_size().is_err());
        q.limit = Some(MAX_PAGE_SIZE + 1);
        assert_eq!(q.page_size().expect_err("too big").field, "limit");
    }
}

//! Realistic synthetic assistant traffic, seeded and deterministic.
//!
//! [`Generator`] plays the assistant's pipeline (intent classification → routing →
//! retrieval → response → confidence → escalation) over a time window and yields one
//! [`DemoTurn`] per interaction: the row for `interactions` and, when the turn was handed
//! to a human, its row for `escalations`. [`knowledge_documents`] gives the documents the
//! responses cite, for `knowledge_documents`.
//!
//! The shape of the traffic:
//!
//! - about 70 % of conversations come from the `customer` assistant, the rest from the
//!   `banker` assistant, each with its own intents and query templates (≈80 characters);
//! - intents are `automatable` (balance, branch hours, wire cut-off…), `sensitive`
//!   (disputes, loan eligibility, fraud…) or `human_only` (account closure, complaints,
//!   legal requests…), each routed its own way;
//! - automatable and sensitive intents retrieve knowledge chunks, answer in ≈600
//!   characters with 2–3 numbered citations, and get a confidence drawn from a beta-like
//!   distribution (high for automatable, lower for sensitive); a confidence below
//!   [`CONFIDENCE_THRESHOLD`] escalates as `low_confidence`, fewer than
//!   [`MIN_CHUNKS`] retrieved chunks as `insufficient_evidence`;
//! - human-only intents are always escalated (`human_only`) with a hand-off message;
//! - conversations have 1–5 turns sharing a `thread_…` session id and end at an
//!   escalation; they start at times following a daily rhythm (customers in the evening,
//!   bankers in business hours on weekdays);
//! - processing times are log-normal (mostly 200–4000 ms) with a long tail.
//!
//! Everything, ids included, is drawn from one seeded random generator: the same
//! [`DemoConfig`] gives the same records, so writing them twice writes nothing new.
//! Ids are UUIDv7 built from the record's own time and seeded random bits.

mod catalog;
mod generator;

use chrono::{DateTime, Duration, Utc};
use futures_util::{stream, StreamExt, TryStreamExt};
use serde::Serialize;
use uuid::Uuid;

use crate::error::Result;
use crate::logger::Logger;
use crate::model::{Escalation, Interaction};
use crate::Client;

use generator::start_of_hour;
pub use generator::{knowledge_documents, Generator};

/// Seed used when none is given.
pub const DEFAULT_SEED: u64 = 42;
/// Number of interactions generated when not told otherwise.
pub const DEFAULT_INTERACTIONS: usize = 2000;
/// Length of the default window, in days.
pub const DEFAULT_DAYS: u32 = 30;
/// A response whose confidence is below this is escalated as `low_confidence`.
pub const CONFIDENCE_THRESHOLD: f64 = 0.6;
/// A retrieval with fewer chunks than this is escalated as `insufficient_evidence`.
pub const MIN_CHUNKS: u32 = 2;

/// What to generate: how much, over which window, from which seed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoConfig {
    /// Seed of the random generator: the same configuration gives the same records.
    pub seed: u64,
    /// Number of interactions to generate.
    pub interactions: usize,
    /// Start of the time window.
    pub start: DateTime<Utc>,
    /// Length of the window in days (0 is read as 1).
    pub days: u32,
}

impl DemoConfig {
    /// The default amount and seed over `days` days ending at the start of `end`'s hour,
    /// so that runs within the same hour generate the same records.
    pub fn ending_at(end: DateTime<Utc>, days: u32) -> Self {
        let end = start_of_hour(end);
        DemoConfig {
            seed: DEFAULT_SEED,
            interactions: DEFAULT_INTERACTIONS,
            start: end - Duration::days(i64::from(days.max(1))),
            days,
        }
    }

    /// End of the time window (exclusive).
    pub fn end(&self) -> DateTime<Utc> {
        self.start + Duration::days(i64::from(self.days.max(1)))
    }
}

impl Default for DemoConfig {
    /// [`DEFAULT_INTERACTIONS`] interactions over the [`DEFAULT_DAYS`] days ending now.
    fn default() -> Self {
        Self::ending_at(Utc::now(), DEFAULT_DAYS)
    }
}

/// One generated interaction and, when it was handed to a human, its escalation.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoTurn {
    /// The row for `interactions`.
    pub interaction: Interaction,
    /// The row for `escalations`, pointing at the interaction; `Some` exactly when the
    /// interaction's outcome is `escalated`.
    pub escalation: Option<Escalation>,
}

/// Splits turns into the interactions and escalations to write together.
pub fn into_records(
    turns: impl IntoIterator<Item = DemoTurn>,
) -> (Vec<Interaction>, Vec<Escalation>) {
    let mut interactions = Vec::new();
    let mut escalations = Vec::new();
    for turn in turns {
        interactions.push(turn.interaction);
        escalations.extend(turn.escalation);
    }
    (interactions, escalations)
}

/// Records handed to the logger at once: they share its disk syncs.
const IN_FLIGHT: usize = 64;

/// How much traffic [`log_traffic`] generated and logged.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Generated {
    /// Interactions logged.
    pub interactions: u64,
    /// Of which escalated, each with its escalation.
    pub escalations: u64,
    /// Knowledge documents registered (upserted by `openai_file_id`).
    pub knowledge_documents: u64,
}

/// Registers the demo's knowledge documents, then logs `config`'s traffic through
/// `logger`, as an assistant would; `each` hears every interaction's id (and whether it
/// was escalated) once it is on disk. Returns when everything is spooled, not stored:
/// flush the logger to wait for the database.
pub async fn log_traffic(
    client: &Client,
    logger: &Logger,
    config: &DemoConfig,
    mut each: impl FnMut(Uuid, bool) -> Result<()>,
) -> Result<Generated> {
    let documents = knowledge_documents(config.seed);
    client.upsert_knowledge_documents(&documents).await?;
    let mut generated = Generated {
        knowledge_documents: documents.len() as u64,
        ..Generated::default()
    };
    let mut logged = stream::iter(Generator::new(config))
        .map(|turn| async move {
            let id = turn.interaction.id;
            let escalated = turn.escalation.is_some();
            match turn.escalation {
                Some(escalation) => logger.log_escalated(turn.interaction, escalation).await,
                None => logger.log(turn.interaction).await,
            }
            .map(|()| (id, escalated))
        })
        .buffer_unordered(IN_FLIGHT);
    while let Some((id, escalated)) = logged.try_next().await? {
        generated.interactions += 1;
        generated.escalations += u64::from(escalated);
        each(id, escalated)?;
    }
    Ok(generated)
}

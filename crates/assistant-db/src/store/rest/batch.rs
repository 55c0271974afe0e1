//! Writes split into request bodies for `log_interactions`, each one atomic.
//!
//! A write of at most [`RestOptions::batch_rows`](super::RestOptions::batch_rows) rows
//! and `batch_bytes` bytes is one request; a larger one is several, each escalation
//! beside its interaction (the foreign key is checked inside one call). After a failure
//! part-way, repeating the write completes it without duplicates.

use std::collections::{HashMap, HashSet};

use reqwest::Method;
use serde_json::Value;
use uuid::Uuid;

use super::http::{to_string, Call};
use super::{RestOptions, RestStore};
use crate::error::Result;
use crate::model::limits::jsonb_text_len;
use crate::model::{Escalation, Interaction};
use crate::query::Written;
use crate::store::{decode, EncodedEntry};

/// Rows for one `log_interactions` request, already encoded.
#[derive(Debug, Default)]
pub(super) struct Batch {
    pub(super) interactions: Vec<String>,
    pub(super) escalations: Vec<String>,
    pub(super) rows: usize,
    /// The rows' [`cost`]s: with [`Batch::BRACKETS`], at least what the server counts.
    pub(super) bytes: usize,
}

impl Batch {
    /// The two arrays' brackets, as the server counts the call's size.
    const BRACKETS: usize = 4;

    fn add_interaction(&mut self, row: String, cost: usize) {
        self.rows += 1;
        self.bytes += cost;
        self.interactions.push(row);
    }

    fn add_escalation(&mut self, row: String, cost: usize) {
        self.rows += 1;
        self.bytes += cost;
        self.escalations.push(row);
    }

    /// The request body: `{"p_interactions": [...], "p_escalations": [...]}`.
    fn body(&self) -> Vec<u8> {
        let mut body = String::with_capacity(self.bytes + 48);
        body.push_str("{\"p_interactions\":[");
        body.push_str(&self.interactions.join(","));
        body.push_str("],\"p_escalations\":[");
        body.push_str(&self.escalations.join(","));
        body.push_str("]}");
        body.into_bytes()
    }
}

/// Splits typed records into batches: each escalation travels with its interaction, the
/// others (escalations of interactions written earlier) with the last batch.
pub(super) fn of_records(
    options: &RestOptions,
    interactions: &[Interaction],
    escalations: &[Escalation],
) -> Result<Vec<Batch>> {
    let in_call: HashSet<Uuid> = interactions.iter().map(|i| i.id).collect();
    let mut attached: HashMap<Uuid, Vec<(String, usize)>> = HashMap::new();
    let mut others = Vec::new();
    for escalation in escalations {
        let row = to_string(escalation)?;
        let row_cost = cost(&row);
        match escalation.interaction_id.filter(|id| in_call.contains(id)) {
            Some(id) => attached.entry(id).or_default().push((row, row_cost)),
            None => others.push((row, row_cost)),
        }
    }
    let mut batches: Vec<Batch> = Vec::new();
    for interaction in interactions {
        let row = to_string(interaction)?;
        let row_cost = cost(&row);
        let escalations = attached.remove(&interaction.id).unwrap_or_default();
        let rows = 1 + escalations.len();
        let bytes = row_cost + escalations.iter().map(|(_, c)| c).sum::<usize>();
        let batch = with_room(options, &mut batches, rows, bytes);
        batch.add_interaction(row, row_cost);
        for (escalation, cost) in escalations {
            batch.add_escalation(escalation, cost);
        }
    }
    for (row, cost) in others {
        with_room(options, &mut batches, 1, cost).add_escalation(row, cost);
    }
    Ok(batches)
}

/// Splits spooled entries into batches, in order: an entry's escalation travels with its
/// interaction, and an escalation of an earlier entry is sent with or after that entry.
pub(super) fn of_entries(options: &RestOptions, entries: &[EncodedEntry<'_>]) -> Vec<Batch> {
    let mut batches = Vec::new();
    for entry in entries {
        let rows =
            usize::from(entry.interaction.is_some()) + usize::from(entry.escalation.is_some());
        let interaction = entry.interaction.map(|row| (row, cost(row)));
        let escalation = entry.escalation.map(|row| (row, cost(row)));
        let bytes = interaction.map_or(0, |(_, c)| c) + escalation.map_or(0, |(_, c)| c);
        let batch = with_room(options, &mut batches, rows, bytes);
        if let Some((row, cost)) = interaction {
            batch.add_interaction(row.to_owned(), cost);
        }
        if let Some((row, cost)) = escalation {
            batch.add_escalation(row.to_owned(), cost);
        }
    }
    batches
}

/// The last batch if `rows` rows of `bytes` more fit in it, else a new one.
fn with_room<'b>(
    options: &RestOptions,
    batches: &'b mut Vec<Batch>,
    rows: usize,
    bytes: usize,
) -> &'b mut Batch {
    let fits = batches.last().is_some_and(|b| {
        b.rows + rows <= options.batch_rows
            && Batch::BRACKETS + b.bytes + bytes <= options.batch_bytes
    });
    if !fits {
        batches.push(Batch::default());
    }
    let last = batches.len() - 1;
    &mut batches[last]
}

/// What one row adds to a call's size as `log_interactions` measures it: PostgreSQL's text
/// form of the row, and the `, ` that separates it from the next.
fn cost(row: &str) -> usize {
    jsonb_text_len(row) + 2
}

impl RestStore {
    /// Sends batches one after the other (each one atomic) and adds up what they wrote.
    pub(super) async fn log_batches(&self, batches: &[Batch]) -> Result<Written> {
        let mut total = Written::default();
        for batch in batches {
            let written = self.log_batch(batch, "logging interactions").await?;
            total.interactions += written.interactions;
            total.escalations += written.escalations;
        }
        Ok(total)
    }

    /// Sends one request body of rows to `log_interactions`.
    pub(super) async fn log_batch(&self, batch: &Batch, what: &str) -> Result<Written> {
        let call = Call::new(Method::POST, "rpc/log_interactions", what).body(batch.body());
        let counts: Value = self.json(&call).await?;
        decode::written(&counts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::limits::{MAX_CALL_BYTES, MAX_CALL_ROWS};

    #[test]
    fn writes_are_batched_with_each_escalation_beside_its_interaction() {
        use crate::model::{AssistantMode, Outcome};
        let options = RestOptions {
            batch_rows: 10,
            ..RestOptions::default()
        };
        let interactions: Vec<Interaction> = (0..35)
            .map(|n| {
                Interaction::new(
                    AssistantMode::Customer,
                    &format!("q{n}"),
                    Outcome::Escalated,
                )
                .expect("valid")
            })
            .collect();
        let mut escalations: Vec<Escalation> = interactions
            .iter()
            .rev()
            .map(|i| Escalation::new(i.id, "t", "r").expect("valid"))
            .collect();
        let elsewhere =
            Escalation::new(Uuid::now_v7(), "t", "an earlier interaction").expect("valid");
        escalations.push(elsewhere.clone());
        let batches = of_records(&options, &interactions, &escalations).expect("batches");
        assert_eq!(
            batches.len(),
            8,
            "seven of five pairs, and the stray escalation"
        );
        for (batch, pairs) in batches.iter().zip(interactions.chunks(5)) {
            assert_eq!(batch.rows, 10);
            for (i, e) in pairs.iter().zip(&batch.escalations) {
                assert!(batch
                    .interactions
                    .iter()
                    .any(|row| row.contains(&i.id.to_string())));
                let e: Escalation = serde_json::from_str(e).expect("row");
                assert!(pairs.iter().any(|i| Some(i.id) == e.interaction_id));
            }
        }
        assert_eq!(batches[7].escalations.len(), 1);
        assert!(batches[7].escalations[0].contains(&elsewhere.id.to_string()));
        assert!(of_records(&options, &[], &[]).expect("empty").is_empty());
    }

    #[test]
    fn batches_never_exceed_what_one_call_of_the_public_key_may_carry() {
        use crate::model::{AssistantMode, Outcome};
        let store = RestStore::new(
            "http://127.0.0.1:1",
            crate::secret::Secret::new("k"),
            RestOptions {
                batch_rows: 5_000,
                batch_bytes: 64 << 20,
                ..RestOptions::default()
            },
        )
        .expect("store");
        let options = &store.inner.options;
        assert_eq!(options.batch_rows, MAX_CALL_ROWS);
        assert_eq!(options.batch_bytes, MAX_CALL_BYTES);
        // Rows whose JSON grows when PostgreSQL prints it: many separators, exponents.
        let interactions: Vec<Interaction> = (0..40)
            .map(|n| {
                let mut i = Interaction::new(
                    AssistantMode::Customer,
                    &"\u{1}".repeat(20_000 + n),
                    Outcome::Resolved,
                )
                .expect("valid");
                i.confidence_score = Some(crate::model::Confidence::new(5e-324).expect("valid"));
                i
            })
            .collect();
        let batches = of_records(options, &interactions, &[]).expect("batches");
        assert!(batches.len() > 1);
        for batch in &batches {
            let printed: usize = [&batch.interactions, &batch.escalations]
                .iter()
                .map(|rows| {
                    let text = format!("[{}]", rows.join(","));
                    jsonb_text_len(&text)
                })
                .sum();
            assert!(printed <= MAX_CALL_BYTES, "{printed}");
            assert!(
                printed <= Batch::BRACKETS + batch.bytes,
                "{printed} > {}",
                batch.bytes
            );
        }
    }
}

//! `serve --demo`: gives a newcomer something to look at. Writes the demo generator's
//! traffic (the same as `assistant-db demo` with its defaults) when the database has no
//! interactions yet; a database that already has some is left as it is, so running
//! `serve --demo` again does not pile up overlapping windows of fake traffic.

use anyhow::Context;
use assistant_db::demo::{into_records, knowledge_documents, DemoConfig, Generator};
use assistant_db::query::InteractionQuery;
use assistant_db::Client;

/// Interactions (with their escalations) written per atomic call.
const BATCH: usize = 500;

/// What `fill_if_empty` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filled {
    /// The database already had interactions; nothing was written.
    AlreadyHadData,
    /// Demo traffic was written.
    Wrote {
        /// Interactions written.
        interactions: u64,
        /// Escalations written.
        escalations: u64,
    },
}

/// Writes the default demo traffic and its knowledge documents, unless the database
/// already holds interactions.
pub async fn fill_if_empty(client: &Client) -> anyhow::Result<Filled> {
    let probe = InteractionQuery {
        limit: Some(1),
        ..InteractionQuery::default()
    };
    let existing = client
        .interactions(&probe)
        .await
        .context("cannot look for existing interactions")?;
    if !existing.items.is_empty() {
        return Ok(Filled::AlreadyHadData);
    }
    let demo = DemoConfig::default();
    client
        .upsert_knowledge_documents(&knowledge_documents(demo.seed))
        .await
        .context("cannot register the demo knowledge documents")?;
    let mut generator = Generator::new(&demo);
    let (mut interactions, mut escalations) = (0, 0);
    loop {
        let (batch, escalated) = into_records(generator.by_ref().take(BATCH));
        if batch.is_empty() {
            break;
        }
        let written = client
            .log(&batch, &escalated)
            .await
            .context("cannot write the demo traffic")?;
        interactions += written.interactions;
        escalations += written.escalations;
    }
    Ok(Filled::Wrote {
        interactions,
        escalations,
    })
}

//! Exporting interactions over PostgreSQL: one query, its rows streamed as the server
//! sends them.
//!
//! Paging an export costs a round trip and an index descent per page; one query costs
//! neither, and the server's own flow control (the socket's buffers) bounds memory. The
//! query runs in a task of its own that reads and decodes rows ahead of the consumer,
//! [`AHEAD`] chunks at most, so that the database's sending, the decoding and the
//! consumer's writing overlap. When the consumer stops reading, the task stops at its
//! next chunk.

use futures_util::stream::{self, BoxStream, StreamExt, TryStreamExt};
use sqlx::{PgPool, Postgres, QueryBuilder};
use tokio::sync::mpsc;

use super::push_conditions;
use crate::error::{Error, Result};
use crate::query::InteractionFilter;
use crate::row::InteractionRow;
use crate::store::decode;

/// Rows decoded per message to the consumer.
const CHUNK: usize = 512;
/// Chunks decoded ahead of the consumer.
const AHEAD: usize = 8;

/// Every interaction matching `filter`, newest first.
pub(super) fn interactions(
    pool: PgPool,
    filter: InteractionFilter,
) -> BoxStream<'static, Result<InteractionRow>> {
    let (sender, receiver) = mpsc::channel(AHEAD);
    tokio::spawn(read_ahead(pool, filter, sender));
    stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|chunk| (chunk, receiver))
    })
    .map_ok(|rows: Vec<InteractionRow>| stream::iter(rows.into_iter().map(Ok)))
    .try_flatten()
    .boxed()
}

/// Runs the query and sends its rows in chunks, then the error that stopped it, if any.
async fn read_ahead(
    pool: PgPool,
    filter: InteractionFilter,
    sender: mpsc::Sender<Result<Vec<InteractionRow>>>,
) {
    let mut sql = QueryBuilder::<Postgres>::new(
        "SELECT to_jsonb(i)::text FROM public.interactions i WHERE true",
    );
    push_conditions(&mut sql, &filter.conditions());
    sql.push(" ORDER BY i.\"timestamp\" DESC, i.id DESC");
    let mut rows = sql.build_query_scalar::<String>().fetch(&pool);
    let mut chunk = Vec::with_capacity(CHUNK);
    loop {
        let row = match rows.try_next().await {
            Ok(Some(text)) => row(&text),
            Ok(None) => break,
            Err(e) => Err(e.into()),
        };
        match row {
            Ok(row) => chunk.push(row),
            Err(e) => {
                let _ = sender.send(Err(e)).await;
                return;
            }
        }
        if chunk.len() == CHUNK {
            let full = std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK));
            if sender.send(Ok(full)).await.is_err() {
                return; // Nobody reads any more.
            }
        }
    }
    if !chunk.is_empty() {
        let _ = sender.send(Ok(chunk)).await;
    }
}

/// A row from its `to_jsonb` text: straight into the row type, or, when that fails, the
/// way every reader decodes, for an error naming the row and the field.
fn row(text: &str) -> Result<InteractionRow> {
    serde_json::from_str(text).or_else(|_| {
        let value = serde_json::from_str(text).map_err(|e| Error::Database {
            code: None,
            message: format!("a stored row is not JSON: {e}"),
        })?;
        decode::row(value)
    })
}

//! Free text read in id order and rewritten by id, for the redaction backfill, through
//! the tables (the secret key's rights): one `PATCH` per row, a few at once.

use futures_util::future::try_join_all;
use reqwest::header::HeaderMap;
use reqwest::Method;
use serde_json::Value;
use uuid::Uuid;

use super::http::{to_bytes, Call};
use super::{params, RestStore};
use crate::error::Result;
use crate::store::{StoredTexts, TextTable, TextWindow};

/// Row updates in flight at once.
const PATCHES_IN_FLIGHT: usize = 8;

impl RestStore {
    /// The window's row count from `Content-Range` (`Prefer: count=exact`), asking for no
    /// rows; `None` if the server does not say.
    pub(super) async fn count_window(
        &self,
        table: TextTable,
        window: &TextWindow,
    ) -> Result<Option<u64>> {
        let what = format!("counting {}", table.name());
        let mut query = params::conditions(&window.conditions(table));
        query.insert(0, ("select", "id".into()));
        query.push(("limit", "0".into()));
        let call = Call::new(Method::GET, table.name(), &what)
            .query(query)
            .prefer("count=exact");
        let (headers, _) = self.send_full(&call).await?;
        Ok(total_of(&headers))
    }

    /// Up to `limit` rows after `after`, in id order, however few rows each response holds.
    pub(super) async fn texts_page(
        &self,
        table: TextTable,
        window: &TextWindow,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<StoredTexts>> {
        let what = format!("reading the text of {}", table.name());
        let select = std::iter::once("id")
            .chain(table.columns().iter().copied())
            .collect::<Vec<_>>()
            .join(",");
        let limit = limit as usize;
        let mut rows: Vec<StoredTexts> = Vec::new();
        let mut after = after;
        while rows.len() < limit {
            let mut query = params::conditions(&window.conditions(table));
            query.insert(0, ("select", select.clone()));
            query.push(("order", "id.asc".into()));
            query.push(("limit", (limit - rows.len()).to_string()));
            if let Some(id) = after {
                query.push(("id", format!("gt.{id}")));
            }
            let call = Call::new(Method::GET, table.name(), &what).query(query);
            let page: Vec<Value> = self.json(&call).await?;
            // A short response may be the server's row cap: only an empty one ends it.
            if page.is_empty() {
                break;
            }
            for row in &page {
                let row = StoredTexts::from_json(table, row)?;
                after = Some(row.id);
                rows.push(row);
            }
        }
        Ok(rows)
    }

    /// A `PATCH` of each row's changed columns by id, a few at once; how many rows were
    /// found.
    pub(super) async fn rewrite(&self, table: TextTable, rows: &[StoredTexts]) -> Result<u64> {
        let what = format!("rewriting the text of {}", table.name());
        let mut found = 0;
        for chunk in rows.chunks(PATCHES_IN_FLIGHT) {
            let mut patches = Vec::with_capacity(chunk.len());
            for row in chunk {
                patches.push(self.patch(table, row, &what));
            }
            found += try_join_all(patches).await?.into_iter().sum::<u64>();
        }
        Ok(found)
    }

    /// One row's changed columns, by id; 1 if the row was found.
    async fn patch(&self, table: TextTable, row: &StoredTexts, what: &str) -> Result<u64> {
        let call = Call::new(Method::PATCH, table.name(), what)
            .query(vec![
                ("id", format!("eq.{}", row.id)),
                ("select", "id".into()),
            ])
            .body(to_bytes(&row.changes(table))?)
            .prefer("return=representation");
        let updated: Vec<Value> = self.json(&call).await?;
        Ok(updated.len() as u64)
    }
}

/// The total after the `/` of `Content-Range: 0-24/3573`, `*/3573`.
fn total_of(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(reqwest::header::CONTENT_RANGE)?
        .to_str()
        .ok()?
        .rsplit_once('/')?
        .1
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use reqwest::header::{HeaderValue, CONTENT_RANGE};

    use super::*;

    #[test]
    fn totals_are_read_from_content_range() {
        let mut headers = HeaderMap::new();
        assert_eq!(total_of(&headers), None);
        for (value, total) in [
            ("*/3573", Some(3573)),
            ("0-24/25", Some(25)),
            ("0-24/*", None),
        ] {
            headers.insert(CONTENT_RANGE, HeaderValue::from_static(value));
            assert_eq!(total_of(&headers), total, "{value}");
        }
    }
}

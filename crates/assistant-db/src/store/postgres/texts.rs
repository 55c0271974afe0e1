//! Free text read in id order and rewritten by id, for the redaction backfill.

use sqlx::{Postgres, QueryBuilder, Row};
use uuid::Uuid;

use super::{push_conditions, PgStore};
use crate::error::Result;
use crate::store::{StoredTexts, TextTable, TextWindow};

impl PgStore {
    /// `SELECT count(*)` of the window.
    pub(super) async fn count_window(&self, table: TextTable, window: &TextWindow) -> Result<u64> {
        let mut sql = QueryBuilder::<Postgres>::new(format!(
            "SELECT count(*) FROM public.{} i WHERE true",
            table.name()
        ));
        push_conditions(&mut sql, &window.conditions(table));
        let n: i64 = sql.build_query_scalar().fetch_one(self.pool()).await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// One page of ids and texts, in id order (the primary key's index).
    pub(super) async fn texts_page(
        &self,
        table: TextTable,
        window: &TextWindow,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<StoredTexts>> {
        let columns: Vec<String> = table
            .columns()
            .iter()
            .map(|c| format!("i.\"{c}\""))
            .collect();
        let mut sql = QueryBuilder::<Postgres>::new(format!(
            "SELECT i.id, {} FROM public.{} i WHERE true",
            columns.join(", "),
            table.name()
        ));
        push_conditions(&mut sql, &window.conditions(table));
        if let Some(after) = after {
            sql.push(" AND i.id > ").push_bind(after);
        }
        sql.push(" ORDER BY i.id LIMIT ")
            .push_bind(i64::from(limit));
        let rows = sql.build().fetch_all(self.pool()).await?;
        rows.iter()
            .map(|row| -> Result<StoredTexts> {
                let texts = (1..=table.columns().len())
                    .map(|i| row.try_get::<Option<String>, _>(i))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(StoredTexts {
                    id: row.try_get(0)?,
                    texts,
                })
            })
            .collect()
    }

    /// One `UPDATE … FROM unnest(…)`: atomic, and the columns not given keep their text.
    pub(super) async fn rewrite(&self, table: TextTable, rows: &[StoredTexts]) -> Result<u64> {
        if rows.is_empty() {
            return Ok(0);
        }
        let columns = table.columns();
        let set: Vec<String> = columns
            .iter()
            .enumerate()
            .map(|(i, c)| format!("\"{c}\" = coalesce(u.c{i}, t.\"{c}\")"))
            .collect();
        let arrays: Vec<String> = (0..columns.len())
            .map(|i| format!("${}::text[]", i + 2))
            .collect();
        let names: Vec<String> = (0..columns.len()).map(|i| format!("c{i}")).collect();
        let sql = format!(
            "UPDATE public.{table} AS t SET {set} \
             FROM unnest($1::uuid[], {arrays}) AS u(id, {names}) WHERE t.id = u.id",
            table = table.name(),
            set = set.join(", "),
            arrays = arrays.join(", "),
            names = names.join(", "),
        );
        let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
        let mut query = sqlx::query(&sql).bind(ids);
        for i in 0..columns.len() {
            let texts: Vec<Option<String>> = rows
                .iter()
                .map(|r| r.texts.get(i).cloned().flatten())
                .collect();
            query = query.bind(texts);
        }
        Ok(query.execute(self.pool()).await?.rows_affected())
    }
}

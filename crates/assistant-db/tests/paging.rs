//! Keyset paging costs the same on every page, over both transports: the plans PostgreSQL
//! ran for the transports' own statements (logged by `auto_explain`, parameters and all)
//! read about one page of rows wherever the page starts — the first page, a page deep in
//! the table, the last one — and the pages hold every row exactly once, NULL and
//! infinite timestamps included.

mod common;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use assistant_db::query::{InteractionQuery, Page};
use assistant_db::row::InteractionRow;
use assistant_db::Client;
use assistant_db_testkit::plans::{explained_pool, PlanLog, Work};
use common::rest::{RestServer, Role, ServerOptions};
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

/// Rows in the table: enough that reading from the newest row to a deep cursor would
/// show as thousands of rows.
const ROWS: usize = 20_000;
/// Rows per page.
const PAGE: u32 = 1000;

/// Fills the table with `ROWS` interactions, two per timestamp (so ids break ties), plus
/// rows with a NULL timestamp and, with `infinities`, infinite ones; their ids in
/// listing order. (The REST test server cannot answer rows with infinite timestamps.)
async fn fill(pool: &PgPool, infinities: bool) -> Vec<Uuid> {
    let infinite = if infinities {
        "INSERT INTO public.interactions (id, \"timestamp\", assistant_mode, user_query, outcome) \
         VALUES (gen_random_uuid(), 'infinity', 'banker', 'the end of time', 'resolved'), \
                (gen_random_uuid(), '-infinity', 'banker', 'before time', 'resolved');"
    } else {
        ""
    };
    common::exec(
        pool,
        &format!(
            "INSERT INTO public.interactions (id, \"timestamp\", assistant_mode, user_query, outcome) \
             SELECT gen_random_uuid(), timestamptz '2026-01-01 00:00:00+00' + (n / 2) * interval '1 minute', \
                    'customer', 'question ' || n, 'resolved' \
             FROM generate_series(1, {ROWS}) AS n; \
             INSERT INTO public.interactions (id, \"timestamp\", assistant_mode, user_query, outcome) \
             VALUES (gen_random_uuid(), NULL, 'banker', 'no time', 'resolved'), \
                    (gen_random_uuid(), NULL, 'banker', 'no time either', 'resolved'); \
             {infinite} \
             ANALYZE public.interactions;"
        ),
    )
    .await;
    sqlx::query_scalar("SELECT id FROM public.interactions ORDER BY \"timestamp\" DESC, id DESC")
        .fetch_all(pool)
        .await
        .expect("ids")
}

/// Every page of the listing, in order.
async fn every_page(client: &Client) -> Vec<Page<InteractionRow>> {
    let mut pages = Vec::new();
    let mut query = InteractionQuery {
        limit: Some(PAGE),
        ..InteractionQuery::default()
    };
    loop {
        let page = client.interactions(&query).await.expect("a page");
        let next = page.next.clone();
        pages.push(page);
        match next {
            Some(after) => query.after = Some(after),
            None => return pages,
        }
    }
}

/// Waits (at most half a minute) until the log holds at least `n` plans that `wanted`
/// picks, and returns them in order (a transport may send one more statement than it
/// returns pages: the REST transport asks once more after a short last page).
fn plans(log: &PlanLog, n: usize, wanted: impl Fn(&str) -> bool) -> Vec<Work> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let found: Vec<Work> = log
            .plans()
            .iter()
            .filter(|plan| {
                plan.get("Query Text")
                    .and_then(Value::as_str)
                    .is_some_and(&wanted)
            })
            .map(Work::of)
            .collect();
        if found.len() >= n || Instant::now() > deadline {
            assert!(
                (n..=n + 1).contains(&found.len()),
                "{} plans of the listing's statements in the log for {n} pages",
                found.len()
            );
            return found;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Every row exactly once, in the listing's order, and each page's statement read about
/// one page of rows: never the rows before its cursor.
fn assert_constant_work(pages: &[Page<InteractionRow>], expected: &[Uuid], work: &[Work]) {
    let seen: Vec<Uuid> = pages
        .iter()
        .flat_map(|p| p.items.iter().map(|r| r.id))
        .collect();
    assert_eq!(seen.len(), expected.len(), "every row once");
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), seen.len());
    assert_eq!(seen, expected, "newest first, NULL timestamps first");
    let page_rows = u64::from(PAGE) + 1;
    for (n, w) in work.iter().enumerate() {
        // A page reads its rows and the one that tells whether another follows; a page
        // that starts at a cursor may also skip the rows of the cursor's own instant
        // shown before (two per timestamp here) and the NULL-timestamp rows it passes.
        assert!(
            w.rows_read() <= page_rows + 4,
            "page {n} read {} rows for a page of {PAGE}: {work:?}",
            w.rows_read()
        );
    }
    let buffers: Vec<u64> = work.iter().map(|w| w.buffers).collect();
    let first = buffers[0];
    let deep = buffers[buffers.len() / 2];
    let last = buffers[buffers.len() - 1];
    assert!(
        deep <= first * 2 + 8 && last <= first * 2 + 8,
        "a deep page touches about as many buffers as the first: {buffers:?}"
    );
}

#[tokio::test]
async fn direct_pages_cost_the_same_wherever_they_start() {
    let options = common::migrated_options().await;
    let owner = common::pool(options.clone()).await;
    let expected = fill(&owner, true).await;
    let log = PlanLog::new();
    let client = Client::from_pool(explained_pool(options).await);
    let pages = every_page(&client).await;
    let work = plans(&log, pages.len(), |sql| {
        sql.contains("to_jsonb(i)") && sql.contains("ORDER BY")
    });
    assert_constant_work(&pages, &expected, &work);
}

#[tokio::test]
async fn rest_pages_cost_the_same_wherever_they_start() {
    let server = RestServer::start_with(ServerOptions {
        explain: true,
        ..ServerOptions::default()
    })
    .await;
    let expected = fill(&server.pool, false).await;
    let log = PlanLog::new();
    let client = server.client(Role::ServiceRole);
    let pages = every_page(&client).await;
    // The REST server's statements name the table in full; the other test's don't.
    let work = plans(&log, pages.len(), |sql| {
        sql.contains("FROM \"public\".\"interactions\"") && sql.contains("ORDER BY")
    });
    assert_constant_work(&pages, &expected, &work);
}

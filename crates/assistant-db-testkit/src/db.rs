//! A fresh database on the process's throwaway PostgreSQL, for each test.

use crate::ScratchServer;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;

/// The throwaway server; a test that needs PostgreSQL fails loudly when it cannot start.
pub fn server() -> &'static ScratchServer {
    ScratchServer::shared().unwrap_or_else(|e| {
        panic!("these tests need PostgreSQL server binaries and could not start them: {e}")
    })
}

/// Connection options of a new database with every migration applied.
pub async fn migrated_options() -> PgConnectOptions {
    server()
        .migrated_database()
        .await
        .unwrap_or_else(|e| panic!("cannot create a migrated test database: {e}"))
}

/// Connection options of a new, empty database.
pub async fn empty_options() -> PgConnectOptions {
    server()
        .empty_database()
        .await
        .unwrap_or_else(|e| panic!("cannot create an empty test database: {e}"))
}

/// A pool on a new database with every migration applied.
pub async fn migrated_db() -> PgPool {
    pool(migrated_options().await).await
}

/// A pool on a new, empty database.
pub async fn empty_db() -> PgPool {
    pool(empty_options().await).await
}

/// A small pool on the given database.
pub async fn pool(options: PgConnectOptions) -> PgPool {
    PgPoolOptions::new()
        .max_connections(4)
        .connect_with(options)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to the test database: {e}"))
}

/// Runs raw SQL (several statements allowed).
pub async fn exec(pool: &PgPool, sql: &str) {
    sqlx::raw_sql(sql)
        .execute(pool)
        .await
        .unwrap_or_else(|e| panic!("SQL failed: {e}\n{sql}"));
}

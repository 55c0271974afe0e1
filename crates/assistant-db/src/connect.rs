//! Opening a connection pool on whatever the configuration names, the embedded local
//! PostgreSQL included.

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;

use crate::config::{Config, Target};
use crate::error::{Error, Result};
use crate::local::{LocalCluster, DEFAULT_DATABASE};

/// Whether to apply pending migrations when connecting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prepare {
    /// Connect only (for `migrate` itself, and for `verify`).
    AsIs,
    /// Apply pending migrations to the embedded local database on connect.
    MigrateLocal,
}

/// An open pool and a printable description of where it points.
#[derive(Debug, Clone)]
pub struct Database {
    /// The connection pool.
    pub pool: PgPool,
    /// Where the pool points, secrets redacted.
    pub location: String,
}

/// Opens a pool on the configured database, starting the embedded one when none is set.
pub async fn connect(config: &Config, prepare: Prepare) -> Result<Database> {
    match config.target()? {
        Target::Postgres(url) => {
            let options: PgConnectOptions = url
                .expose()
                .parse()
                .map_err(|e| Error::Config(format!("DATABASE_URL {url} is not usable: {e}")))?;
            let pool = pool_options().connect_with(options).await?;
            Ok(Database {
                pool,
                location: url.redacted(),
            })
        }
        // A pool needs PostgreSQL itself; the REST transport is `Client::connect`'s.
        Target::Rest { url, .. } => Err(Error::Config(format!(
            "SUPABASE_URL={url} selects the REST API, which serves logging, reading, metrics \
             and a partial verify; this needs a direct PostgreSQL connection: set \
             DATABASE_URL to the project's connection string (Project Settings → Database)"
        ))),
        Target::Local(home) => {
            let cluster = LocalCluster::new(home)?;
            let started = tokio::task::spawn_blocking({
                let cluster = cluster.clone();
                move || cluster.start()
            })
            .await
            .map_err(|e| Error::Local(format!("the start task failed: {e}")))??;
            if started.initialized {
                tracing::info!(home = %cluster.home().display(), "created the local PostgreSQL cluster");
            }
            cluster.ensure_database(DEFAULT_DATABASE).await?;
            let pool = pool_options()
                .connect_with(cluster.connect_options(DEFAULT_DATABASE))
                .await?;
            if prepare == Prepare::MigrateLocal {
                let mut conn = pool.acquire().await?;
                crate::migrate::run(&mut conn).await?;
            }
            Ok(Database {
                pool,
                location: format!("local PostgreSQL in {}", cluster.home().display()),
            })
        }
    }
}

fn pool_options() -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(10)
        .acquire_timeout(Duration::from_secs(15))
}

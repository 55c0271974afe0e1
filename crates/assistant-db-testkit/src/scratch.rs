//! Fresh databases on demand, each a copy of a migrated template: one server per
//! process, one database per test.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection};
use tokio::sync::OnceCell;

use assistant_db::{Error, Result};

use crate::EphemeralCluster;

const TEMPLATE: &str = "assistant_template";

/// A throwaway server shared by one process, handing out fresh databases.
#[derive(Debug)]
pub struct ScratchServer {
    server: EphemeralCluster,
    template: OnceCell<()>,
    counter: AtomicU32,
}

static SHARED: OnceLock<std::result::Result<ScratchServer, String>> = OnceLock::new();

impl ScratchServer {
    /// The process-wide server, started on first use.
    ///
    /// Fails with the reason when PostgreSQL cannot be started, so a test that needs it
    /// fails loudly instead of being skipped.
    pub fn shared() -> Result<&'static ScratchServer> {
        SHARED
            .get_or_init(|| {
                EphemeralCluster::start()
                    .map(|server| ScratchServer {
                        server,
                        template: OnceCell::new(),
                        counter: AtomicU32::new(0),
                    })
                    .map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(|e| Error::Local(format!("cannot start a throwaway PostgreSQL: {e}")))
    }

    /// The throwaway server itself.
    pub fn server(&self) -> &EphemeralCluster {
        &self.server
    }

    /// A new, empty database (no tables at all).
    pub async fn empty_database(&self) -> Result<PgConnectOptions> {
        self.create_database(None).await
    }

    /// A new database with every migration applied.
    pub async fn migrated_database(&self) -> Result<PgConnectOptions> {
        self.template
            .get_or_try_init(|| async {
                self.create_named(TEMPLATE, None).await?;
                let mut conn = self.options(TEMPLATE).connect().await?;
                assistant_db::migrate::run(&mut conn).await?;
                conn.close().await?;
                Ok::<(), Error>(())
            })
            .await?;
        self.create_database(Some(TEMPLATE)).await
    }

    fn options(&self, database: &str) -> PgConnectOptions {
        self.server.cluster().connect_options(database)
    }

    async fn create_database(&self, template: Option<&str>) -> Result<PgConnectOptions> {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let name = format!("scratch_{}_{n}", std::process::id());
        self.create_named(&name, template).await?;
        Ok(self.options(&name))
    }

    async fn create_named(&self, name: &str, template: Option<&str>) -> Result<()> {
        let mut conn = self.options("postgres").connect().await?;
        let sql = match template {
            Some(t) => format!(
                "CREATE DATABASE {} TEMPLATE {}",
                quote_ident(name),
                quote_ident(t)
            ),
            None => format!("CREATE DATABASE {}", quote_ident(name)),
        };
        sqlx::raw_sql(&sql).execute(&mut conn).await?;
        conn.close().await?;
        Ok(())
    }
}

/// `name` as a quoted SQL identifier.
fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

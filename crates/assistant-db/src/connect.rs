//! Opening a connection pool on whatever the configuration names, the embedded local
//! PostgreSQL included.
//!
//! Every pool opened here keeps SQL text out of users' terminals: sqlx logs each
//! statement at `info` and a slow one (with its text) at `warn`, which the default log
//! filter (`warn`) would print; here they are `trace` and `debug`. A URL parameter sqlx
//! does not know is dropped with a warning naming it, because sqlx's own warning would
//! print its value, and `sslpassword` or `api_token` are secrets.
//!
//! A configured server is connected to once before the pool is made: the pool would
//! retry a refused connection until its acquire timeout (15 s) and then only say that it
//! timed out, where one attempt says at once what is wrong and where ("connection refused
//! at 127.0.0.1:1").

use std::io::ErrorKind;
use std::time::Duration;

use log::LevelFilter;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgPool};

use crate::config::{redact_url, Config, DatabaseUrl, Target};
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
            tracing::debug!(url = %url, "connecting");
            let options = connect_options(&url)?;
            first_connection(&options).await?;
            let pool = pool_options().connect_lazy_with(options);
            Ok(Database {
                pool,
                location: url.redacted(),
            })
        }
        // A pool needs PostgreSQL itself; the REST transport is `Client::connect`'s.
        Target::Rest { url, .. } => Err(Error::Config(format!(
            "SUPABASE_URL={} selects the REST API, which serves logging, reading, metrics \
             and a partial verify; this needs a direct PostgreSQL connection: set \
             DATABASE_URL to the project's connection string (Project Settings → Database)",
            redact_url(&url)
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
            if !started.already_running {
                // Someone may have stopped it on purpose (`local stop`): say that it runs again.
                tracing::info!(
                    target: NOTICE,
                    "started the local PostgreSQL in {} (`assistant-db local stop` stops it)",
                    cluster.home().display()
                );
            }
            cluster.ensure_database(DEFAULT_DATABASE).await?;
            // The cluster's options already keep statements out of the log.
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

/// The tracing target of what a command tells its user on stderr whatever the log level
/// (the command line shows these events as plain lines): that the local PostgreSQL was
/// started, for one.
pub const NOTICE: &str = "assistant_db::notice";

/// How long the first connection to a configured server may take.
const FIRST_CONNECTION: Duration = Duration::from_secs(10);

/// Connects once, and says where and why when that fails.
async fn first_connection(options: &PgConnectOptions) -> Result<()> {
    let at = address(options);
    let conn = match tokio::time::timeout(FIRST_CONNECTION, options.connect()).await {
        Ok(Ok(conn)) => conn,
        Ok(Err(sqlx::Error::Io(e))) => {
            return Err(Error::Unavailable(match e.kind() {
                ErrorKind::ConnectionRefused => format!(
                    "connection refused at {at}: no PostgreSQL listens there (is it running, \
                     and is the port right?)"
                ),
                _ => format!("cannot reach {at}: {e}"),
            }))
        }
        Ok(Err(sqlx::Error::Tls(e))) => {
            return Err(Error::Unavailable(format!("TLS with {at} failed: {e}")))
        }
        Ok(Err(e)) => return Err(e.into()),
        Err(_) => {
            return Err(Error::Unavailable(format!(
                "no answer from {at} within {} s (a firewall, or the wrong host?)",
                FIRST_CONNECTION.as_secs()
            )))
        }
    };
    // A close that fails leaves nothing behind that matters: the server ends the session.
    let _ = conn.close().await;
    Ok(())
}

/// Where `options` point: `host:port`, or the Unix socket's directory and port.
fn address(options: &PgConnectOptions) -> String {
    match options.get_socket() {
        Some(dir) => format!(
            "the socket in {} (port {})",
            dir.display(),
            options.get_port()
        ),
        None => {
            let host = options.get_host();
            if host.contains(':') {
                format!("[{host}]:{}", options.get_port())
            } else {
                format!("{host}:{}", options.get_port())
            }
        }
    }
}

fn pool_options() -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(10)
        .acquire_timeout(Duration::from_secs(15))
}

/// The URL parameters sqlx 0.8 understands (`sqlx_postgres::options::parse`).
const KNOWN_PARAMETERS: [&str; 19] = [
    "sslmode",
    "ssl-mode",
    "sslrootcert",
    "ssl-root-cert",
    "ssl-ca",
    "sslcert",
    "ssl-cert",
    "sslkey",
    "ssl-key",
    "statement-cache-capacity",
    "host",
    "hostaddr",
    "port",
    "dbname",
    "user",
    "password",
    "application_name",
    "options",
    // `options[NAME]=VALUE`, checked by prefix below.
    "options[",
];

/// Connection options for `url`: its parameters that sqlx knows, and quiet statement logs.
pub fn connect_options(url: &DatabaseUrl) -> Result<PgConnectOptions> {
    let mut kept = url.url().clone();
    let known = |name: &str| KNOWN_PARAMETERS.contains(&name) || name.starts_with("options[");
    let pairs: Vec<(String, String)> = kept
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if pairs.iter().any(|(name, _)| !known(name)) {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in &pairs {
            if known(name) {
                query.append_pair(name, value);
            } else {
                tracing::warn!(
                    parameter = %name,
                    "ignoring a DATABASE_URL parameter the PostgreSQL driver does not support"
                );
            }
        }
        let query = query.finish();
        kept.set_query((!query.is_empty()).then_some(query.as_str()));
    }
    let options: PgConnectOptions = kept
        .as_str()
        .parse()
        .map_err(|e| Error::Config(format!("DATABASE_URL {url} is not usable: {e}")))?;
    Ok(quiet(options))
}

/// `options` with sqlx's statement logs lowered below the default filter: every statement
/// at `trace`, a slow one (over a second) at `debug`.
pub fn quiet(options: PgConnectOptions) -> PgConnectOptions {
    options
        .log_statements(LevelFilter::Trace)
        .log_slow_statements(LevelFilter::Debug, Duration::from_secs(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_parameters_are_dropped_and_known_ones_kept() {
        let url = DatabaseUrl::parse(
            "postgres://u:pw@db.example:6543/app?sslmode=disable&sslpassword=s1&api_token=t2\
             &application_name=mine&options[search_path]=x",
        )
        .expect("url");
        let options = connect_options(&url).expect("options");
        assert_eq!(options.get_port(), 6543);
        assert_eq!(options.get_application_name(), Some("mine"));
        assert_eq!(options.get_options(), Some("-c search_path=x"));
        let shown = format!("{options:?}");
        for secret in ["s1", "t2"] {
            assert!(!shown.contains(secret), "{secret} was passed on: {shown}");
        }
    }
}

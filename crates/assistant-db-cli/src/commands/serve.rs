//! `assistant-db serve`: the metrics dashboard and the HTTP API (see
//! [`assistant_db_server`]). Parses flags, checks the setup before touching the
//! database, then hands over to the library's server.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};
use assistant_db::config::{Secret, Target};
use assistant_db::demo::{log_traffic, DemoConfig};
use assistant_db::logger::Logger;
use assistant_db::query::InteractionQuery;
use assistant_db::retention::{RetentionPolicy, Via, DEFAULT_BATCH};
use assistant_db::{Client, Config};
use assistant_db_server::config::{
    PublicUrl, TlsFiles, DEFAULT_BODY_TIMEOUT, DEFAULT_HEADER_TIMEOUT, DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MAX_CONNECTIONS, TOKEN_VAR,
};
use assistant_db_server::{Server, ServerConfig};

/// How long shutdown waits for the spool to drain before leaving the rest on disk.
const DRAIN_ON_SHUTDOWN: Duration = Duration::from_secs(10);
/// How long `--demo` waits for the database to take the demo traffic.
const DEMO_FLUSH: Duration = Duration::from_secs(600);
/// How often retention runs when `ASSISTANT_DB_RETENTION` sets a policy.
const RETENTION_EVERY: Duration = Duration::from_secs(24 * 60 * 60);
/// How soon a failed retention run is tried again.
const RETENTION_RETRY: Duration = Duration::from_secs(60 * 60);

/// Arguments of `serve`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Address to listen on. Any address but loopback needs ASSISTANT_DB_API_TOKEN and
    /// either TLS (--tls-cert, --tls-key) or --behind-tls-proxy.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:8080")]
    addr: String,
    /// First fill the embedded default database with demo traffic (when it has none).
    #[arg(long)]
    demo: bool,
    /// A name the server is reached by, besides localhost and its own addresses
    /// (scheme://host[:port]); repeat for several. Requests naming any other host are
    /// refused.
    #[arg(long = "public-url", value_name = "URL")]
    public_urls: Vec<PublicUrl>,
    /// Serve HTTPS with this certificate chain (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// A proxy in front terminates TLS: allow plain HTTP off loopback, mark cookies
    /// Secure, and require the token for reads.
    #[arg(long, conflicts_with = "tls_cert")]
    behind_tls_proxy: bool,
    /// Largest request body accepted, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_BODY_BYTES)]
    max_body_bytes: usize,
    /// Seconds a client has to send a request's headers (also the idle time after
    /// which a kept-alive connection is closed).
    #[arg(long, value_name = "SECONDS", default_value_t = DEFAULT_HEADER_TIMEOUT.as_secs(),
          value_parser = clap::value_parser!(u64).range(1..))]
    header_timeout: u64,
    /// Seconds a client has to send a whole request body.
    #[arg(long, value_name = "SECONDS", default_value_t = DEFAULT_BODY_TIMEOUT.as_secs(),
          value_parser = clap::value_parser!(u64).range(1..))]
    body_timeout: u64,
    /// Connections served at once; further clients wait until one closes.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_CONNECTIONS)]
    max_connections: usize,
}

/// Runs the command until Ctrl-C or SIGTERM.
pub async fn run(config: &Config, args: Args) -> anyhow::Result<ExitCode> {
    let addr = resolve(&args.addr).await?;
    let tls = match (args.tls_cert, args.tls_key) {
        (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
        _ => None,
    };
    // Refuse a bad setup (token, TLS, names) before touching the database.
    let settings = ServerConfig {
        token: std::env::var(TOKEN_VAR).ok().map(Secret::new),
        public_urls: args.public_urls,
        tls,
        behind_tls_proxy: args.behind_tls_proxy,
        max_body_bytes: args.max_body_bytes,
        header_timeout: Duration::from_secs(args.header_timeout),
        body_timeout: Duration::from_secs(args.body_timeout),
        max_connections: args.max_connections,
        ..ServerConfig::new(addr)
    }
    .check()?;
    if args.demo && !matches!(config.target()?, Target::Local(_)) {
        bail!(
            "--demo fills the embedded default database, but a database is configured \
             (DATABASE_URL or SUPABASE_URL); to put demo traffic there on purpose, run \
             `assistant-db demo` first, then `assistant-db serve`"
        );
    }
    let client = Client::connect(config)
        .await
        .context("cannot connect to the database")?;
    let logger = Logger::start(client.clone(), config.logger_config())
        .await
        .with_context(|| {
            format!(
                "cannot start the logger on the spool {}",
                config.spool_path().display()
            )
        })?;
    if args.demo {
        say(&fill_if_empty(&client, &logger).await?);
    }
    let writes = if settings.writes_enabled() {
        "enabled (Authorization: Bearer $ASSISTANT_DB_API_TOKEN)".to_owned()
    } else {
        format!("disabled (set {TOKEN_VAR} to enable them)")
    };
    let reads = if settings.reads_need_token() {
        "need the token (browsers sign in at /login)"
    } else {
        "open to this machine"
    };
    let location = client.location().to_owned();
    let retention = match config.retention {
        Some(policy) => {
            tokio::spawn(retention_daily(client.clone(), policy));
            format!("interactions older than {policy} are deleted at start and daily")
        }
        None => "off (set ASSISTANT_DB_RETENTION, e.g. 400d, to delete old interactions daily)"
            .to_owned(),
    };
    let server = Server::bind(settings, client, logger.clone()).await?;
    let url = server.url();
    say(&format!(
        "Dashboard: {url}/\n\
         API:       {url}/api/ (OpenAPI: /api/openapi.json)\n\
         Database:  {location}\n\
         Reads:     {reads}\n\
         Writes:    {writes}\n\
         Retention: {retention}\n\
         Stop with Ctrl-C."
    ));
    server.run(shutdown_signal()).await;
    if let Err(e) = logger.shutdown(DRAIN_ON_SHUTDOWN).await {
        eprintln!("warning: {e}; the rest stays in the spool and is written on the next start");
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs retention now and then once a day (an hour after a failure), saying what it
/// deleted (counts only). A run that fails has deleted whole batches; the next finishes.
async fn retention_daily(client: Client, policy: RetentionPolicy) {
    loop {
        let pause = match client
            .run_retention(&policy, DEFAULT_BATCH, Via::Serve, |_, _| {})
            .await
        {
            Ok(summary) => {
                say(&format!(
                    "Retention: deleted {} interactions and {} escalations older than {policy} \
                     (retention log entry {}).",
                    summary.interactions, summary.escalations, summary.run
                ));
                RETENTION_EVERY
            }
            Err(e) => {
                tracing::error!(error = %e, "retention failed; trying again in an hour");
                RETENTION_RETRY
            }
        };
        tokio::time::sleep(pause).await;
    }
}

/// The socket address `text` names: an `IP:port`, or a `host:port` resolved once.
async fn resolve(text: &str) -> anyhow::Result<SocketAddr> {
    if let Ok(addr) = text.parse() {
        return Ok(addr);
    }
    tokio::net::lookup_host(text)
        .await
        .with_context(|| format!("--addr {text:?} is not HOST:PORT"))?
        .next()
        .with_context(|| format!("--addr {text:?} resolves to no address"))
}

/// Prints a line to stdout at once (a test or a supervisor may be waiting for it); a
/// closed stdout does not stop the server.
fn say(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{text}").and_then(|()| stdout.flush());
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}

/// `--demo`: logs the demo generator's default traffic (the same as `assistant-db demo`)
/// through the server's logger when the database has no interactions yet; a database
/// that has some is left as it is, so running `serve --demo` again does not pile up
/// overlapping windows of fake traffic. Says what it did.
async fn fill_if_empty(client: &Client, logger: &Logger) -> anyhow::Result<String> {
    let probe = InteractionQuery {
        limit: Some(1),
        ..InteractionQuery::default()
    };
    let existing = client
        .interactions(&probe)
        .await
        .context("cannot look for existing interactions")?;
    if !existing.items.is_empty() {
        return Ok("The database already has interactions; not adding demo traffic.".into());
    }
    let generated = log_traffic(client, logger, &DemoConfig::default(), |_, _| Ok(()))
        .await
        .context("cannot log the demo traffic")?;
    logger
        .flush(DEMO_FLUSH)
        .await
        .context("waiting for the database to take the demo traffic")?;
    Ok(format!(
        "Wrote {} demo interactions ({} escalations).",
        generated.interactions, generated.escalations
    ))
}

//! `assistant-db serve`: the metrics dashboard and the HTTP API (see [`assistant_db_server`]).

use std::io::Write as _;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};
use assistant_db::config::Target;
use assistant_db::logger::{Logger, LoggerConfig};
use assistant_db::{Client, Config};

use assistant_db_server::auth::{Access, TOKEN_VAR};
use assistant_db_server::{router, serve, AppState, DEFAULT_MAX_BODY_BYTES};

use super::serve_demo::{fill_if_empty, Filled};

/// How long shutdown waits for the spool to drain before leaving the rest on disk.
const DRAIN_ON_SHUTDOWN: Duration = Duration::from_secs(10);

/// Arguments of `serve`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Address to listen on. Any address but loopback needs ASSISTANT_DB_API_TOKEN.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:8080")]
    addr: String,
    /// First fill the embedded default database with demo traffic (when it has none).
    #[arg(long)]
    demo: bool,
    /// Largest request body accepted, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_BODY_BYTES)]
    max_body_bytes: usize,
}

/// Runs the command until Ctrl-C or SIGTERM.
pub async fn run(config: &Config, args: Args) -> anyhow::Result<ExitCode> {
    let addr = resolve(&args.addr).await?;
    let token = std::env::var(TOKEN_VAR).ok();
    // Refuse a bad access setup before touching the database.
    let access = Access::for_bind(addr, token)?;
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
    if args.demo {
        match fill_if_empty(&client).await? {
            Filled::AlreadyHadData => {
                say("The database already has interactions; not adding demo traffic.")
            }
            Filled::Wrote {
                interactions,
                escalations,
            } => say(&format!(
                "Wrote {interactions} demo interactions ({escalations} escalations)."
            )),
        }
    }
    let logger = Logger::start(client.clone(), LoggerConfig::new(config.spool_path()))
        .await
        .with_context(|| {
            format!(
                "cannot start the logger on the spool {}",
                config.spool_path().display()
            )
        })?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let local = listener
        .local_addr()
        .context("cannot read the bound address")?;
    let writes = if access.writes_enabled() {
        "enabled (Authorization: Bearer $ASSISTANT_DB_API_TOKEN)".to_owned()
    } else {
        format!("disabled (set {TOKEN_VAR} to enable them)")
    };
    say(&format!(
        "Dashboard: http://{local}/\n\
         API:       http://{local}/api/ (OpenAPI: /api/openapi.json)\n\
         Database:  {}\n\
         Writes:    {writes}\n\
         Stop with Ctrl-C.",
        client.location()
    ));
    let app = router(
        AppState::new(client, logger.clone(), access),
        args.max_body_bytes,
    );
    let served = serve(listener, app, shutdown_signal()).await;
    let drained = logger.shutdown(DRAIN_ON_SHUTDOWN).await;
    served.context("the server failed")?;
    if let Err(e) = drained {
        eprintln!("warning: {e}; the rest stays in the spool and is written on the next start");
    }
    Ok(ExitCode::SUCCESS)
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

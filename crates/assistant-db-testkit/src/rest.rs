//! A real PostgREST-compatible server in front of a fresh migrated database.
//!
//! PostgREST itself is a Haskell program that cannot be installed here; `postrust`
//! (crates.io `postrust-server`) serves the same API and is started here, one server per
//! test, on its own migrated database of the process's throwaway PostgreSQL. It connects
//! as an `authenticator` login role that may become `anon`, `authenticated` or
//! `service_role`, exactly as Supabase's PostgREST does, and keys are HS256 JWTs whose
//! `role` claim names one of them, as Supabase's keys are.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use assistant_db::config::Secret;
use assistant_db::store::{RestOptions, RestStore};
use assistant_db::Client;
use sqlx::postgres::PgConnectOptions;
use sqlx::PgPool;
use tokio::sync::OnceCell;

/// The HS256 secret the test servers verify keys with (PostgREST wants ≥ 32 characters).
pub const JWT_SECRET: &str = "assistant-db-test-jwt-secret-0123456789abcdef";

/// The command that installs the server, printed when it is missing.
const INSTALL: &str = "cargo install postrust-server --version 3.1.0";

/// The role a key carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Supabase's public key.
    Anon,
    /// Supabase's secret key.
    ServiceRole,
}

impl Role {
    fn claim(self) -> &'static str {
        match self {
            Role::Anon => "anon",
            Role::ServiceRole => "service_role",
        }
    }
}

/// Signs a key carrying `role` that expires `valid_for` from now (negative: already
/// expired), with `secret`.
pub fn sign_key(role: &str, valid_for: i64, secret: &str) -> Secret {
    #[derive(serde::Serialize)]
    struct Claims<'a> {
        role: &'a str,
        iss: &'a str,
        iat: i64,
        exp: i64,
    }
    let now = chrono::Utc::now().timestamp();
    let token = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &Claims {
            role,
            iss: "supabase",
            iat: now,
            exp: now + valid_for,
        },
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap_or_else(|e| panic!("cannot sign a test key: {e}"));
    Secret::new(token)
}

/// A valid key for `role`, good for an hour.
pub fn key(role: Role) -> Secret {
    sign_key(role.claim(), 3600, JWT_SECRET)
}

/// Options of a test server.
#[derive(Debug, Clone, Copy, Default)]
pub struct ServerOptions {
    /// `PGRST_DB_MAX_ROWS`: the most rows one response may hold (Supabase caps at 1000).
    pub max_rows: Option<u32>,
    /// Start on an empty database instead of a migrated one.
    pub unmigrated: bool,
    /// `PGRST_ROLE_SETTINGS`, e.g. `{"anon": {"statement_timeout": 3000}}`: postrust applies
    /// a role's statement_timeout only from here, where PostgREST reads the role's own
    /// settings (`ALTER ROLE anon SET statement_timeout`).
    pub role_settings: Option<&'static str>,
    /// Log the plan of every statement the server runs, with its actual rows and buffers,
    /// as JSON into the PostgreSQL server's log (`auto_explain`, loaded in the server's
    /// sessions on this database only); see [`crate::plans`].
    pub explain: bool,
}

/// A running `postrust` on its own database; stopped when dropped.
#[derive(Debug)]
pub struct RestServer {
    child: Child,
    watchdog: Child,
    /// The API's base URL, e.g. `http://127.0.0.1:41234`.
    pub url: String,
    /// The address the server listens on.
    pub addr: SocketAddr,
    /// A direct pool on the same database, as its owner (for raw SQL and counting).
    pub pool: PgPool,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl RestServer {
    /// A server on a new migrated database.
    pub async fn start() -> Self {
        Self::start_with(ServerOptions::default()).await
    }

    /// A server with the given options.
    pub async fn start_with(options: ServerOptions) -> Self {
        let db = if options.unmigrated {
            crate::db::empty_options().await
        } else {
            crate::db::migrated_options().await
        };
        let pool = crate::db::pool(db.clone()).await;
        ensure_authenticator(&pool).await;
        if options.explain {
            let database = db.get_database().expect("a test database has a name");
            crate::plans::explain_sessions_of(&pool, "authenticator", database).await;
        }
        let binary = postrust_binary();
        let dir = tempfile::tempdir().expect("a temporary directory for the server's log");
        let log = dir.path().join("postrust.log");
        // The port is free when chosen; another process may take it before the server
        // binds it, so a server that exits at once is started again on another port.
        for _ in 0..5 {
            let addr = free_port();
            let mut child = spawn(&binary, &db, addr, options, &log, dir.path());
            match wait_until_ready(&mut child, addr, &log).await {
                Ready::Yes => {
                    let watchdog = spawn_watchdog(child.id());
                    return RestServer {
                        child,
                        watchdog,
                        url: format!("http://{addr}"),
                        addr,
                        pool,
                        log,
                        _dir: dir,
                    };
                }
                Ready::Exited => continue,
            }
        }
        panic!(
            "postrust exited at start five times; its log:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        )
    }

    /// A store over this server holding `key`, with the given options.
    pub fn store_with(&self, key: Secret, options: RestOptions) -> RestStore {
        RestStore::new(&self.url, key, options)
            .unwrap_or_else(|e| panic!("cannot make a REST store: {e}"))
    }

    /// A client over this server holding a valid key for `role`.
    pub fn client(&self, role: Role) -> Client {
        self.client_with_key(key(role))
    }

    /// A client over this server holding `key`.
    pub fn client_with_key(&self, key: Secret) -> Client {
        Client::from_rest(self.store_with(key, fast_retries()))
    }

    /// What the server logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for RestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = self.watchdog.kill();
        let _ = self.watchdog.wait();
    }
}

/// Retries tuned for tests: the same policy, shorter pauses.
pub fn fast_retries() -> RestOptions {
    RestOptions {
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(100),
        timeout: Duration::from_secs(20),
        ..RestOptions::default()
    }
}

/// The role PostgREST logs in as; cluster-wide, so created once per process.
async fn ensure_authenticator(pool: &PgPool) {
    static DONE: OnceCell<()> = OnceCell::const_new();
    DONE.get_or_init(|| async {
        // The three API roles come from migration 004; an unmigrated database of the
        // same cluster may be served before any database was migrated.
        crate::db::exec(
            pool,
            "DO $$ DECLARE r text; BEGIN \
               FOREACH r IN ARRAY ARRAY['anon', 'authenticated', 'service_role', 'authenticator'] LOOP \
                 IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN \
                   BEGIN \
                     EXECUTE format('CREATE ROLE %I NOLOGIN NOINHERIT', r); \
                   EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; \
                   END; \
                 END IF; \
               END LOOP; \
             END $$; \
             ALTER ROLE authenticator LOGIN NOINHERIT; \
             ALTER ROLE service_role BYPASSRLS; \
             GRANT anon, authenticated, service_role TO authenticator;",
        )
        .await;
    })
    .await;
}

/// `postrust`: `$POSTRUST`, else on `PATH`, else in Cargo's bin directory.
fn postrust_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("POSTRUST") {
        return PathBuf::from(path);
    }
    let cargo_bin = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .map(|home| home.join("bin"));
    std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .chain(cargo_bin)
        .map(|dir| dir.join("postrust"))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            panic!(
                "the REST tests need `postrust`, a PostgREST-compatible server; install it with \
                 `{INSTALL}` (about 7 minutes), or set POSTRUST to its path"
            )
        })
}

fn free_port() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap_or_else(|e| panic!("cannot find a free port: {e}"))
}

/// `postgres://authenticator@localhost:<port>/<db>?host=<socket dir>`, as sqlx reads it.
fn database_url(db: &PgConnectOptions) -> String {
    let socket = db
        .get_socket()
        .expect("the throwaway cluster listens on a Unix socket");
    let database = db.get_database().expect("a test database has a name");
    let host: String =
        url::form_urlencoded::byte_serialize(socket.as_os_str().as_encoded_bytes()).collect();
    format!(
        "postgres://authenticator@localhost:{}/{database}?host={host}",
        db.get_port()
    )
}

fn spawn(
    binary: &Path,
    db: &PgConnectOptions,
    addr: SocketAddr,
    options: ServerOptions,
    log: &Path,
    dir: &Path,
) -> Child {
    let out = std::fs::File::create(log).expect("the server's log file");
    let err = out.try_clone().expect("the server's log file");
    let mut command = Command::new(binary);
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("PGRST_COMPAT_MODE", "true")
        .env("PGRST_DB_ANON_ROLE", "anon")
        .env("PGRST_DB_SCHEMAS", "public")
        .env("PGRST_DB_POOL", "4")
        .env("PGRST_JWT_SECRET", JWT_SECRET)
        .env("PGRST_SERVER_HOST", addr.ip().to_string())
        .env("PGRST_SERVER_PORT", addr.port().to_string())
        .env("PGRST_LOG_LEVEL", "info")
        .env("DATABASE_URL", database_url(db))
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err);
    if let Some(max_rows) = options.max_rows {
        command.env("PGRST_DB_MAX_ROWS", max_rows.to_string());
    }
    if let Some(settings) = options.role_settings {
        command.env("PGRST_ROLE_SETTINGS", settings);
    }
    command.spawn().unwrap_or_else(|e| {
        panic!(
            "cannot start {}: {e}; install it with `{INSTALL}`",
            binary.display()
        )
    })
}

enum Ready {
    Yes,
    Exited,
}

/// Polls the server until it answers HTTP; panics with its log if it never does.
async fn wait_until_ready(child: &mut Child, addr: SocketAddr, log: &Path) -> Ready {
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(Some(_status)) = child.try_wait() {
            return Ready::Exited;
        }
        if http
            .get(format!("http://{addr}/"))
            .timeout(Duration::from_secs(2))
            .send()
            .await
            .is_ok()
        {
            return Ready::Yes;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!(
                "postrust did not answer on {addr} within a minute; its log:\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Stops the server when this test process is gone, even if it was killed.
fn spawn_watchdog(server: u32) -> Child {
    const SCRIPT: &str = r#"
        while kill -0 "$1" 2>/dev/null; do sleep 1; done
        kill "$2" 2>/dev/null
    "#;
    Command::new("/bin/sh")
        .arg("-c")
        .arg(SCRIPT)
        .arg("assistant-db-postrust-watchdog")
        .arg(std::process::id().to_string())
        .arg(server.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start the server's watchdog: {e}"))
}

/// Which transport a test runs over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// PostgreSQL over sqlx.
    Direct,
    /// The REST API (postrust) with the secret key.
    Rest,
}

/// A client on a fresh migrated database over one transport, and a direct pool on the
/// same database for raw SQL.
#[derive(Debug)]
pub struct Db {
    /// The transport the client uses.
    pub transport: Transport,
    /// The client under test.
    pub client: Client,
    /// A direct pool on the same database.
    pub pool: PgPool,
    /// The REST server, over the REST transport.
    pub server: Option<RestServer>,
}

impl Db {
    /// The direct transport on a new migrated database.
    pub async fn direct() -> Self {
        let pool = crate::db::migrated_db().await;
        Db {
            transport: Transport::Direct,
            client: Client::from_pool(pool.clone()),
            pool,
            server: None,
        }
    }

    /// The REST transport with the secret key, on a new migrated database behind a server
    /// that caps responses at 40 rows (Supabase caps at 1000), so that every listing must
    /// page through short responses.
    pub async fn rest() -> Self {
        let server = RestServer::start_with(ServerOptions {
            max_rows: Some(40),
            ..ServerOptions::default()
        })
        .await;
        Db {
            transport: Transport::Rest,
            client: server.client(Role::ServiceRole),
            pool: server.pool.clone(),
            server: Some(server),
        }
    }

    /// A new database over `transport`.
    pub async fn on(transport: Transport) -> Self {
        match transport {
            Transport::Direct => Self::direct().await,
            Transport::Rest => Self::rest().await,
        }
    }
}

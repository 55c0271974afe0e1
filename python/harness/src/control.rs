//! What the Python tests ask the harness for, one JSON line per request on a loopback
//! socket (its address is `ASSISTANT_DB_TEST_CONTROL` in the tests' environment):
//!
//! - `{"op": "database"}`: a new migrated database, as
//!   `{"database_url": "postgres://…"}`;
//! - `{"op": "rest"}`: a postrust server in front of a new migrated database, as
//!   `{"url", "project_url", "service_key", "anon_key", "database_url"}`: `url` serves
//!   the API at its root (`SUPABASE_REST_URL`), `project_url` under `/rest/v1` as a
//!   Supabase project does (`SUPABASE_URL`, through a pass-through proxy), and
//!   `database_url` is the database's owner URL, for checks beside the API;
//! - `{"op": "stop"}`, `{"op": "start"}`: stops or starts the PostgreSQL server behind
//!   every database handed out (a restart while a test logs).
//!
//! Every answer is one JSON line; a failure is `{"error": "..."}`.

use std::net::SocketAddr;
use std::sync::Arc;

use assistant_db_testkit::db;
use assistant_db_testkit::rest::{key, RestServer, Role};

use crate::PrefixProxy;
use serde_json::{json, Value};
use sqlx::postgres::PgConnectOptions;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Mutex;
use tokio::task::JoinHandle;

/// The running service; servers it started stop when it is dropped.
#[derive(Debug)]
pub struct Control {
    /// The address the tests connect to.
    pub addr: SocketAddr,
    task: JoinHandle<()>,
    servers: Arc<Mutex<Vec<Served>>>,
}

/// A REST server handed out, and the proxy in front of it; both stop when dropped.
#[derive(Debug)]
struct Served {
    _proxy: PrefixProxy,
    _server: RestServer,
}

impl Control {
    /// Listens on 127.0.0.1 on a free port.
    pub async fn start() -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let servers = Arc::new(Mutex::new(Vec::new()));
        let task = tokio::spawn(accept(listener, Arc::clone(&servers)));
        Ok(Control {
            addr,
            task,
            servers,
        })
    }

    /// Stops serving and every REST server started for the tests.
    pub async fn stop(self) {
        self.task.abort();
        self.servers.lock().await.clear();
    }
}

async fn accept(listener: TcpListener, servers: Arc<Mutex<Vec<Served>>>) {
    while let Ok((stream, _)) = listener.accept().await {
        tokio::spawn(serve(stream, Arc::clone(&servers)));
    }
}

async fn serve(stream: TcpStream, servers: Arc<Mutex<Vec<Served>>>) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let answer = match serde_json::from_str::<Value>(&line) {
            Ok(request) => {
                // Migrating a database is a future the compiler cannot prove `Send`, so
                // each request is driven on a blocking thread rather than spawned.
                let handle = tokio::runtime::Handle::current();
                let servers = Arc::clone(&servers);
                tokio::task::spawn_blocking(move || handle.block_on(answer(&request, &servers)))
                    .await
                    .unwrap_or_else(|e| Err(format!("the request failed: {e}")))
                    .unwrap_or_else(|error| json!({ "error": error }))
            }
            Err(e) => json!({ "error": format!("not a JSON request: {e}") }),
        };
        let mut text = answer.to_string();
        text.push('\n');
        if write.write_all(text.as_bytes()).await.is_err() {
            return;
        }
    }
}

async fn answer(request: &Value, servers: &Mutex<Vec<Served>>) -> Result<Value, String> {
    match request.get("op").and_then(Value::as_str) {
        Some("database") => {
            let options = db::migrated_options().await;
            Ok(json!({ "database_url": url_of(&options)? }))
        }
        Some("rest") => {
            let server = RestServer::start().await;
            let proxy = PrefixProxy::start(&server.url)
                .await
                .map_err(|e| format!("cannot start the /rest/v1 proxy: {e}"))?;
            let options = server.pool.connect_options();
            let answer = json!({
                "url": server.url,
                "project_url": proxy.url(),
                "service_key": key(Role::ServiceRole).expose(),
                "anon_key": key(Role::Anon).expose(),
                "database_url": url_of(&options)?,
            });
            servers.lock().await.push(Served {
                _proxy: proxy,
                _server: server,
            });
            Ok(answer)
        }
        Some(op @ ("stop" | "start")) => {
            let stop = op == "stop";
            tokio::task::spawn_blocking(move || {
                let cluster = db::server().server().cluster();
                if stop {
                    cluster.stop().map(|_| ())
                } else {
                    cluster.start().map(|_| ())
                }
            })
            .await
            .map_err(|e| format!("the {op} task failed: {e}"))?
            .map_err(|e| format!("cannot {op} PostgreSQL: {e}"))?;
            Ok(json!({ "ok": true }))
        }
        _ => Err(format!(
            "unknown request {request}; expected op database, rest, stop or start"
        )),
    }
}

/// `postgres://<user>@localhost:<port>/<database>?host=<socket directory>`.
fn url_of(options: &PgConnectOptions) -> Result<String, String> {
    let socket = options
        .get_socket()
        .ok_or("the throwaway cluster should listen on a Unix socket")?;
    let database = options
        .get_database()
        .ok_or("a test database should have a name")?;
    let mut url = url::Url::parse(&format!("postgres://localhost:{}/", options.get_port()))
        .map_err(|e| e.to_string())?;
    url.set_username(options.get_username())
        .map_err(|()| "cannot set the user name")?;
    url.set_path(database);
    url.query_pairs_mut()
        .append_pair("host", &socket.display().to_string());
    Ok(url.to_string())
}

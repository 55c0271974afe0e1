//! The test application: a server on 127.0.0.1 over its own database and spool, and the
//! requests the tests send it, from a real HTTP client or a raw socket.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use assistant_db::config::Secret;
use assistant_db::logger::{Logger, LoggerConfig};
use assistant_db::Client;
use assistant_db_server::{Server, ServerConfig};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use sqlx::PgPool;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;

/// A token long enough for the server.
pub const TOKEN: &str = "test-token-0123456789abcdef";
/// How long a spooled write may take to reach the database.
const SETTLE: Duration = Duration::from_secs(60);
/// How long a raw exchange may take before the test gives up on it.
pub const RAW_WAIT: Duration = Duration::from_secs(30);

/// A running server with its database and spool; stopped when dropped.
pub struct TestApp {
    /// The address it listens on.
    pub addr: SocketAddr,
    /// `http://127.0.0.1:PORT` (or `https://localhost:PORT` over TLS).
    pub base: String,
    /// A connection pool on its database, for looking behind the API.
    pub pool: PgPool,
    /// The client the helpers use (no redirects followed).
    pub http: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    _spool: tempfile::TempDir,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The defaults of the tests: loopback, with the test token.
pub fn loopback() -> ServerConfig {
    ServerConfig {
        token: Some(Secret::new(TOKEN)),
        ..ServerConfig::new(SocketAddr::from(([127, 0, 0, 1], 0)))
    }
}

/// An HTTP client that follows no redirects.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

impl TestApp {
    /// A server on loopback with the test token, over a fresh migrated database.
    pub async fn spawn() -> TestApp {
        Self::spawn_with(loopback()).await
    }

    /// A server with `config`, over a fresh migrated database.
    pub async fn spawn_with(config: ServerConfig) -> TestApp {
        let pool = assistant_db_testkit::db::migrated_db().await;
        Self::spawn_on(pool, config, http()).await
    }

    /// A server with `config` over `pool`'s database, called through `http`.
    pub async fn spawn_on(pool: PgPool, config: ServerConfig, http: reqwest::Client) -> TestApp {
        let settings = config.check().expect("the test setup is valid");
        let tls = settings.tls().is_some();
        let spool = tempfile::tempdir().expect("tempdir");
        let logger_config = LoggerConfig {
            flush_interval: Duration::from_millis(20),
            ..LoggerConfig::new(spool.path().join("spool.db"))
        };
        let client = Client::from_pool(pool.clone());
        let logger = Logger::start(client.clone(), logger_config)
            .await
            .expect("the logger starts");
        let server = Server::bind(settings, client, logger)
            .await
            .expect("the server binds");
        let addr = server.local_addr();
        let base = if tls {
            format!("https://localhost:{}", addr.port())
        } else {
            format!("http://127.0.0.1:{}", addr.port())
        };
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(server.run(async {
            let _ = stopped.await;
        }));
        TestApp {
            addr,
            base,
            pool,
            http,
            stop: Some(stop),
            _spool: spool,
        }
    }

    /// The URL of `path` on the server.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// GET `path` without a token, the response as it comes.
    pub async fn fetch(&self, path: &str) -> reqwest::Response {
        self.http.get(self.url(path)).send().await.expect("request")
    }

    /// GET `path` without a token, the body as text.
    pub async fn fetch_text(&self, path: &str) -> String {
        self.fetch(path).await.text().await.expect("body")
    }

    /// GET `path`, returning status and JSON body.
    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        json(self.fetch(path).await).await
    }

    /// Sends `body` with `method` to `path` with the test token.
    pub async fn send(&self, method: Method, path: &str, body: &Value) -> (StatusCode, Value) {
        let response = self
            .http
            .request(method, self.url(path))
            .bearer_auth(TOKEN)
            .json(body)
            .send()
            .await
            .expect("request");
        json(response).await
    }

    /// POSTs `body` to `path` with the test token.
    pub async fn post(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        self.send(Method::POST, path, body).await
    }

    /// Waits until the spool has handed everything to the database.
    pub async fn settled(&self) {
        let deadline = Instant::now() + SETTLE;
        loop {
            let (status, health) = self.get("/healthz").await;
            if status == StatusCode::OK && health["spool_depth"] == 0 {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the spool did not drain: {status} {health}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Sends `request` as raw bytes on a new connection and reads until the server
    /// closes it; fails the test if that takes longer than [`RAW_WAIT`].
    pub async fn raw(&self, request: &str) -> String {
        let mut stream = TcpStream::connect(self.addr).await.expect("connect");
        stream.write_all(request.as_bytes()).await.expect("write");
        read_until_closed(&mut stream).await
    }
}

/// Status and JSON body of a response (`null` when the body is not JSON).
pub async fn json(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// The `(index, field, rule)` of each error of a 4xx body.
pub fn field_errors(body: &Value) -> Vec<(Option<u64>, String, String)> {
    body["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("no errors in {body}"))
        .iter()
        .map(|e| {
            (
                e["index"].as_u64(),
                e["field"].as_str().unwrap_or_default().to_owned(),
                e["rule"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// An interaction record as the assistant would send it.
pub fn interaction(id: &str, mode: &str, timestamp: &str) -> Value {
    serde_json::json!({
        "id": id,
        "timestamp": timestamp,
        "assistant_mode": mode,
        "session_id": "thread_test",
        "user_query": "What is the wire cut-off time?",
        "intent_name": "wire_cutoff",
        "intent_category": "automatable",
        "step_1_intent_completed": true,
        "outcome": "resolved",
        "confidence_score": 0.9,
        "processing_time_ms": 800,
    })
}

/// The `Set-Cookie` header of a response, whole.
pub fn set_cookie(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("set-cookie")
        .and_then(|c| c.to_str().ok())
        .unwrap_or_else(|| panic!("no Set-Cookie in {:?}", response.headers()))
        .to_owned()
}

/// The `name=value` part of a `Set-Cookie` header, to send back as `Cookie`.
pub fn cookie_pair(set_cookie: &str) -> String {
    set_cookie
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_owned()
}

/// Signs in with `token` at `/login`, the response as it comes.
pub async fn sign_in(app: &TestApp, token: &str) -> reqwest::Response {
    app.http
        .post(app.url("/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={token}"))
        .send()
        .await
        .expect("request")
}

/// Everything the server sends on `stream` until it closes the connection (a reset
/// counts as closing); fails the test if that takes longer than [`RAW_WAIT`].
pub async fn read_until_closed(stream: &mut TcpStream) -> String {
    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    let deadline = Instant::now() + RAW_WAIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buffer)).await {
            Ok(Ok(0) | Err(_)) => break,
            Ok(Ok(n)) => answer.extend_from_slice(&buffer[..n]),
            Err(_) => panic!(
                "the server did not close the connection within {RAW_WAIT:?}; it sent {:?}",
                String::from_utf8_lossy(&answer)
            ),
        }
    }
    String::from_utf8_lossy(&answer).into_owned()
}

//! The spec's own Python pattern as a benchmark baseline: its `SupabaseClient` wrapper
//! (supabase-py) making one synchronous REST insert per interaction, run from
//! `spec_pattern/insert_loop.py` in a virtualenv kept in the target directory.
//!
//! supabase-py sends requests to `{SUPABASE_URL}/rest/v1/…`, while a plain
//! PostgREST-compatible server serves its API at the root, so [`PrefixProxy`] stands in
//! for a Supabase project: it forwards `/rest/v1/x` to `{upstream}/x`. A Rust client
//! made with `RestStore::supabase(&proxy.url(), key)` pays the same hop.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;

use http_body_util::{Either, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderMap, HeaderName, CONNECTION, HOST};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode, Uri};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

type Failure = Box<dyn std::error::Error>;

/// A failure of the baseline, whose `Debug` is its message as written, so that a
/// `main` returning it prints pip's or Python's output line by line.
struct BaselineError(String);

impl std::fmt::Debug for BaselineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::fmt::Display for BaselineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BaselineError {}

fn fail(message: String) -> Failure {
    Box::new(BaselineError(message))
}

/// The prefix a Supabase project serves its REST API under.
const PREFIX: &str = "/rest/v1";

/// Headers that belong to one connection and are never forwarded (RFC 9110 §7.6.1).
const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
];

/// A local stand-in for a Supabase project URL in front of a root-served REST API;
/// stopped when dropped.
#[derive(Debug)]
pub struct PrefixProxy {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl PrefixProxy {
    /// Listens on 127.0.0.1 and forwards `{url}/rest/v1/x` to `{upstream}/x`.
    pub async fn start(upstream: &str) -> Result<Self, Failure> {
        let upstream_uri: Uri = upstream.trim().parse().map_err(|e| {
            fail(format!(
                "the upstream URL `{upstream}` is not a valid URL ({e})"
            ))
        })?;
        if upstream_uri.scheme_str() != Some("http") {
            return Err(fail(format!(
                "the upstream URL `{upstream}` must start with http://"
            )));
        }
        let authority = upstream_uri
            .authority()
            .ok_or_else(|| fail(format!("the upstream URL `{upstream}` has no host")))?
            .clone();
        // No Nagle delay on either side: a request's head and body may go in two writes.
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let forward = Arc::new(Forward {
            http: HttpClient::builder(TokioExecutor::new()).build(connector),
            authority,
            base_path: upstream_uri.path().trim_end_matches('/').to_owned(),
        });
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| fail(format!("the proxy cannot listen on 127.0.0.1: {e}")))?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(serve(listener, forward));
        Ok(PrefixProxy { addr, task })
    }

    /// The Supabase-style project URL, e.g. `http://127.0.0.1:41234`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for PrefixProxy {
    fn drop(&mut self) {
        // Dropping the accept loop drops its JoinSet, which aborts every connection.
        self.task.abort();
    }
}

/// Where and how requests are forwarded.
struct Forward {
    /// A pooled HTTP/1.1 client: one upstream connection per client connection in use.
    http: HttpClient<HttpConnector, Incoming>,
    authority: hyper::http::uri::Authority,
    /// The upstream URL's path without its trailing `/` (usually empty).
    base_path: String,
}

type ProxyBody = Either<Incoming, Full<Bytes>>;

impl Forward {
    async fn handle(&self, request: Request<Incoming>) -> Result<Response<ProxyBody>, Infallible> {
        Ok(self
            .forward(request)
            .await
            .unwrap_or_else(|(status, message)| plain(status, message)))
    }

    async fn forward(
        &self,
        request: Request<Incoming>,
    ) -> Result<Response<ProxyBody>, (StatusCode, String)> {
        let (mut parts, body) = request.into_parts();
        let path = parts.uri.path();
        let rest = match path.strip_prefix(PREFIX) {
            Some(rest) if rest.is_empty() || rest.starts_with('/') => rest,
            _ => {
                return Err((
                    StatusCode::NOT_FOUND,
                    format!("this proxy serves only {PREFIX}/…, not {path}"),
                ))
            }
        };
        let rest = if rest.is_empty() { "/" } else { rest };
        let path_and_query = match parts.uri.query() {
            Some(query) => format!("{}{rest}?{query}", self.base_path),
            None => format!("{}{rest}", self.base_path),
        };
        parts.uri = Uri::builder()
            .scheme("http")
            .authority(self.authority.clone())
            .path_and_query(path_and_query)
            .build()
            .map_err(|e| {
                (
                    StatusCode::BAD_REQUEST,
                    format!("cannot rewrite the URL: {e}"),
                )
            })?;
        strip_hop_by_hop(&mut parts.headers);
        // The client sets Host from the upstream URL.
        parts.headers.remove(HOST);

        let response = self
            .http
            .request(Request::from_parts(parts, body))
            .await
            .map_err(|e| {
                (
                    StatusCode::BAD_GATEWAY,
                    format!("upstream request failed: {e}"),
                )
            })?;
        let (mut parts, body) = response.into_parts();
        strip_hop_by_hop(&mut parts.headers);
        Ok(Response::from_parts(parts, Either::Left(body)))
    }
}

/// Removes the hop-by-hop headers, and those the `Connection` header names.
fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(CONNECTION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in HOP_BY_HOP {
        headers.remove(name);
    }
}

fn plain(status: StatusCode, message: String) -> Response<ProxyBody> {
    let mut response = Response::new(Either::Right(Full::new(Bytes::from(message))));
    *response.status_mut() = status;
    response
}

/// Accepts connections until aborted; each is served with keep-alive.
async fn serve(listener: TcpListener, forward: Arc<Forward>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _)) => stream,
                    Err(_) => {
                        // Out of file descriptors or similar: wait, then go on.
                        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let forward = Arc::clone(&forward);
                connections.spawn(async move {
                    let service = service_fn(move |request| {
                        let forward = Arc::clone(&forward);
                        async move { forward.handle(request).await }
                    });
                    // A connection that fails only ends itself.
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// The result line `insert_loop.py` prints.
#[derive(serde::Deserialize)]
struct LoopResult {
    inserted: usize,
    seconds: f64,
    per_second: f64,
}

/// Runs the spec's Python pattern (`n` sequential supabase-py inserts after one warm-up)
/// against `project_url`; returns its interactions per second.
pub async fn spec_python_rate(project_url: &str, key: &str, n: usize) -> Result<f64, Failure> {
    let scripts = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("benches")
        .join("spec_pattern");
    let venv = target_dir().join("spec-pattern-venv");
    let python = {
        let (scripts, venv) = (scripts.clone(), venv.clone());
        tokio::task::spawn_blocking(move || ensure_venv(&scripts, &venv))
            .await?
            .map_err(fail)?
    };

    let mut command = Command::new(&python);
    command
        .arg(scripts.join("insert_loop.py"))
        .arg(n.to_string())
        .current_dir(&scripts)
        .env("SUPABASE_URL", project_url)
        .env("SUPABASE_KEY", key)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PYTHONUNBUFFERED", "1");
    let output = tokio::task::spawn_blocking(move || run(command))
        .await?
        .map_err(|e| {
            fail(format!(
                "cannot run {} insert_loop.py: {e}",
                python.display()
            ))
        })?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mut stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    if !key.is_empty() {
        stderr = stderr.replace(key, "***");
    }
    if !output.status.success() {
        return Err(fail(format!(
            "the spec's Python pattern (insert_loop.py {n}) failed ({}):\n{}",
            output.status,
            tail(&stderr, 40)
        )));
    }
    let line = stdout
        .lines()
        .rev()
        .find(|line| line.trim_start().starts_with('{'))
        .ok_or_else(|| {
            fail(format!(
                "insert_loop.py printed no result line; stdout:\n{}\nstderr:\n{}",
                tail(&stdout, 20),
                tail(&stderr, 20)
            ))
        })?;
    let result: LoopResult = serde_json::from_str(line).map_err(|e| {
        fail(format!(
            "insert_loop.py printed an unreadable result `{line}`: {e}"
        ))
    })?;
    if result.inserted != n || !(result.seconds > 0.0 && result.per_second.is_finite()) {
        return Err(fail(format!(
            "insert_loop.py reported an unexpected result `{line}`"
        )));
    }
    Ok(result.per_second)
}

/// The workspace's target directory: `CARGO_TARGET_DIR` if set, else `<workspace>/target`.
fn target_dir() -> PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if Path::new(&dir).is_absolute() => PathBuf::from(dir),
        Some(dir) => workspace.join(dir),
        None => workspace.join("target"),
    }
}

/// Makes the virtualenv at `venv` with `requirements.txt` installed, unless a marker
/// shows it already holds exactly those requirements; returns its Python.
fn ensure_venv(scripts: &Path, venv: &Path) -> Result<PathBuf, String> {
    let requirements = scripts.join("requirements.txt");
    let wanted = std::fs::read_to_string(&requirements)
        .map_err(|e| format!("cannot read {}: {e}", requirements.display()))?;
    let python = venv.join("bin").join("python");
    let marker = venv.join(".installed-requirements");
    if python.is_file() && std::fs::read_to_string(&marker).ok().as_deref() == Some(&*wanted) {
        return Ok(python);
    }

    if !python.is_file() {
        let interpreter = std::env::var_os("PYTHON").unwrap_or_else(|| "python3".into());
        let mut command = Command::new(&interpreter);
        command.arg("-m").arg("venv").arg(venv);
        let what = format!(
            "creating the virtualenv {} with `{} -m venv`",
            venv.display(),
            interpreter.to_string_lossy()
        );
        checked(command, &what)?;
    }
    let mut command = Command::new(&python);
    command
        .args([
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--quiet",
        ])
        .arg("-r")
        .arg(&requirements);
    checked(
        command,
        &format!(
            "installing {} into {}",
            requirements.display(),
            venv.display()
        ),
    )?;
    std::fs::write(&marker, &wanted)
        .map_err(|e| format!("cannot write {}: {e}", marker.display()))?;
    Ok(python)
}

/// Runs `command` with its output captured and no input.
fn run(mut command: Command) -> std::io::Result<Output> {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
}

/// Runs `command`; an error names `what` failed, with the end of its output.
fn checked(command: Command, what: &str) -> Result<(), String> {
    let output = run(command).map_err(|e| format!("{what} failed to start: {e}"))?;
    if output.status.success() {
        return Ok(());
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    Err(format!(
        "{what} failed ({}):\n{}\n{}",
        output.status,
        tail(&stdout, 20),
        tail(&stderr, 40)
    ))
}

/// The last `lines` lines of `text`.
fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

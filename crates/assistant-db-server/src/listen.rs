//! The accept loop: HTTP/1.1 over TCP or TLS, with limits that keep slow or greedy
//! clients from holding the server.
//!
//! - At most `max_connections` connections are served at once. The loop stops
//!   accepting while they are all busy, so further clients wait in the kernel's listen
//!   queue (they are not refused) and are served as connections close.
//! - A client has `header_timeout` to send a request's headers, counted from the
//!   connection's start or the previous response; an idle kept-alive connection is
//!   closed after the same time, so it cannot hold its place forever.
//! - Over TLS, the handshake must finish within the same time, and a client speaking
//!   plain HTTP to the TLS port is told so in one plain-text line and disconnected.
//!
//! Every request carries a [`Connection`] extension: who connected, to which address,
//! and whether over TLS.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_rustls::{rustls, TlsAcceptor};
use tower::ServiceExt;

/// How long shutdown waits for requests in flight before leaving them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// Pause after a failed `accept` (e.g. out of file descriptors) before the next try.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);
/// The first byte of a TLS handshake record.
const TLS_HANDSHAKE: u8 = 0x16;

/// What the server knows of the connection a request came on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Connection {
    /// The client's address.
    pub peer: SocketAddr,
    /// The server's address the client reached.
    pub local: SocketAddr,
    /// True over TLS.
    pub tls: bool,
}

/// The limits and transport of the accept loop.
#[derive(Clone)]
pub struct Limits {
    /// Time allowed for a request's headers (and a TLS handshake).
    pub header_timeout: Duration,
    /// Connections served at once.
    pub max_connections: usize,
    /// Serve HTTPS with this setup.
    pub tls: Option<Arc<rustls::ServerConfig>>,
}

impl std::fmt::Debug for Limits {
    /// The TLS setup holds the private key: only whether there is one is shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limits")
            .field("header_timeout", &self.header_timeout)
            .field("max_connections", &self.max_connections)
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

/// Serves `router` on `listener` until `shutdown` completes, then lets requests in
/// flight finish (for up to ten seconds).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let tls = limits.tls.clone().map(TlsAcceptor::from);
    let graceful = GracefulShutdown::new();
    let mut shutdown = pin!(shutdown);
    loop {
        let slot = tokio::select! {
            biased;
            () = &mut shutdown => break,
            slot = Arc::clone(&slots).acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
        };
        let (stream, peer) = tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
        };
        let Ok(local) = stream.local_addr() else {
            continue;
        };
        let connection = Connection {
            peer,
            local,
            tls: tls.is_some(),
        };
        let router = router.clone();
        let watcher = graceful.watcher();
        let tls = tls.clone();
        let header_timeout = limits.header_timeout;
        tokio::spawn(async move {
            // The slot is given back when the connection ends, however it ends.
            let _slot = slot;
            match tls {
                None => serve_connection(stream, connection, router, header_timeout, watcher).await,
                Some(acceptor) => {
                    if let Some(stream) = handshake(stream, &acceptor, header_timeout).await {
                        serve_connection(stream, connection, router, header_timeout, watcher).await;
                    }
                }
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still running after {SHUTDOWN_GRACE:?} were left");
    }
}

/// The TLS session of `stream`, or `None` when the client speaks plain HTTP, fails the
/// handshake or takes too long.
async fn handshake(
    stream: TcpStream,
    acceptor: &TlsAcceptor,
    limit: Duration,
) -> Option<tokio_rustls::server::TlsStream<TcpStream>> {
    let mut first = [0u8; 1];
    match tokio::time::timeout(limit, stream.peek(&mut first)).await {
        Ok(Ok(1)) if first[0] == TLS_HANDSHAKE => {}
        Ok(Ok(1)) => {
            refuse_plain_http(stream).await;
            return None;
        }
        _ => return None,
    }
    match tokio::time::timeout(limit, acceptor.accept(stream)).await {
        Ok(Ok(stream)) => Some(stream),
        Ok(Err(e)) => {
            tracing::debug!(error = %e, "TLS handshake failed");
            None
        }
        Err(_) => None,
    }
}

/// Tells a plain-HTTP client that this port speaks HTTPS, and hangs up.
async fn refuse_plain_http(mut stream: TcpStream) {
    const BODY: &str = "This server speaks HTTPS only: use an https:// address.\n";
    let response = format!(
        "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{BODY}",
        BODY.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// Serves HTTP/1.1 requests on one connection until it closes.
async fn serve_connection<I>(
    io: I,
    connection: Connection,
    router: Router,
    header_timeout: Duration,
    watcher: Watcher,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
        let mut request = request.map(axum::body::Body::new);
        request.extensions_mut().insert(connection);
        router.clone().oneshot(request)
    });
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    let served = watcher.watch(http.serve_connection(TokioIo::new(io), service));
    if let Err(e) = served.await {
        // Timeouts and clients that hang up end up here; they are not the server's fault.
        tracing::debug!(error = %e, "connection ended with an error");
    }
}

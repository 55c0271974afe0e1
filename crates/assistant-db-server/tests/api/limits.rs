//! Slow and greedy clients: headers and bodies sent too slowly are cut off, an idle
//! kept-alive connection is closed, and connections beyond the cap wait in the listen
//! queue while the server goes on serving the others.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use assistant_db_server::ServerConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{loopback, read_until_closed, TestApp, RAW_WAIT, TOKEN};

/// The pause between two bytes of a slow client: far below any per-packet timeout.
const DRIP: Duration = Duration::from_millis(200);

/// Sends `bytes` one at a time, `DRIP` apart, until all are sent or the server hangs
/// up; `done` is set only when every byte went out.
async fn drip(mut writer: tokio::net::tcp::OwnedWriteHalf, bytes: Vec<u8>, done: Arc<AtomicBool>) {
    for byte in bytes {
        if writer.write_all(&[byte]).await.is_err() {
            return;
        }
        tokio::time::sleep(DRIP).await;
    }
    done.store(true, Ordering::SeqCst);
}

/// Reads one response (head and `Content-Length` body) from a kept-alive connection.
async fn read_response(stream: &mut TcpStream) -> String {
    let mut data = Vec::new();
    let mut byte = [0u8; 1];
    let read = async {
        while !data.ends_with(b"\r\n\r\n") {
            if stream.read(&mut byte).await.expect("read") == 0 {
                panic!("closed mid-response: {:?}", String::from_utf8_lossy(&data));
            }
            data.push(byte[0]);
        }
        let head = String::from_utf8_lossy(&data).to_ascii_lowercase();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        let mut body = vec![0u8; length];
        stream.read_exact(&mut body).await.expect("body");
        data.extend_from_slice(&body);
    };
    tokio::time::timeout(RAW_WAIT, read)
        .await
        .expect("a response in time");
    String::from_utf8_lossy(&data).into_owned()
}

const HEALTH: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n";

#[tokio::test]
async fn headers_sent_byte_by_byte_are_cut_off_and_idle_connections_closed() {
    let app = TestApp::spawn_with(ServerConfig {
        header_timeout: Duration::from_secs(1),
        ..loopback()
    })
    .await;
    let stream = TcpStream::connect(app.addr).await.expect("connect");
    let (mut reader, writer) = stream.into_split();
    let done = Arc::new(AtomicBool::new(false));
    // Forty bytes at 200 ms each: eight seconds of headers against a one-second limit.
    let request = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: yes\r\n\r\n".to_vec();
    let sender = tokio::spawn(drip(writer, request, Arc::clone(&done)));
    let mut answer = Vec::new();
    tokio::time::timeout(RAW_WAIT, async {
        let mut buffer = [0u8; 1024];
        while let Ok(n @ 1..) = reader.read(&mut buffer).await {
            answer.extend_from_slice(&buffer[..n]);
        }
    })
    .await
    .expect("the server hangs up");
    assert!(
        !done.load(Ordering::SeqCst),
        "the connection stayed open until the slow headers were complete"
    );
    let answer = String::from_utf8_lossy(&answer);
    assert!(!answer.contains(" 200 "), "{answer}");
    sender.abort();

    // A kept-alive connection that goes quiet is closed after the same time.
    let mut idle = TcpStream::connect(app.addr).await.expect("connect");
    idle.write_all(HEALTH).await.expect("write");
    assert!(read_response(&mut idle).await.starts_with("HTTP/1.1 200 "));
    let rest = read_until_closed(&mut idle).await;
    assert_eq!(rest, "", "nothing more, then the server hangs up");
}

#[tokio::test]
async fn a_body_sent_slowly_is_cut_off() {
    let app = TestApp::spawn_with(ServerConfig {
        body_timeout: Duration::from_secs(1),
        ..loopback()
    })
    .await;
    let stream = TcpStream::connect(app.addr).await.expect("connect");
    let (mut reader, mut writer) = stream.into_split();
    let head = format!(
        "POST /api/interactions HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
    );
    writer.write_all(head.as_bytes()).await.expect("head");
    // The body then trickles in, a byte every 200 ms: each gap is short, the whole is not.
    let done = Arc::new(AtomicBool::new(false));
    let sender = tokio::spawn(drip(writer, vec![b' '; 100], Arc::clone(&done)));
    let mut answer = Vec::new();
    tokio::time::timeout(RAW_WAIT, async {
        let mut buffer = [0u8; 1024];
        while let Ok(n @ 1..) = reader.read(&mut buffer).await {
            answer.extend_from_slice(&buffer[..n]);
        }
    })
    .await
    .expect("the server answers and hangs up");
    assert!(!done.load(Ordering::SeqCst), "the whole slow body was read");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408 "), "{answer}");
    assert!(
        answer.contains("did not arrive in time (the limit is 1s)"),
        "{answer}"
    );
    sender.abort();
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM interactions")
        .fetch_one(&app.pool)
        .await
        .expect("count");
    assert_eq!(stored, 0);
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_while_the_others_are_served() {
    let app = TestApp::spawn_with(ServerConfig {
        max_connections: 2,
        ..loopback()
    })
    .await;
    // Two kept-alive connections take both places.
    let mut first = TcpStream::connect(app.addr).await.expect("connect");
    let mut second = TcpStream::connect(app.addr).await.expect("connect");
    for stream in [&mut first, &mut second] {
        stream.write_all(HEALTH).await.expect("write");
        assert!(read_response(stream).await.starts_with("HTTP/1.1 200 "));
    }
    // A third client connects (the kernel queues it) but is not served yet.
    let mut third = TcpStream::connect(app.addr)
        .await
        .expect("the listen queue takes it");
    third.write_all(HEALTH).await.expect("write");
    let mut byte = [0u8; 1];
    let early = tokio::time::timeout(Duration::from_secs(1), third.read(&mut byte)).await;
    assert!(
        early.is_err(),
        "the third connection was served beyond the cap"
    );
    // The connections in place are still served.
    first.write_all(HEALTH).await.expect("write");
    assert!(read_response(&mut first).await.starts_with("HTTP/1.1 200 "));
    // When one closes, the waiting client is served.
    drop(first);
    assert!(read_response(&mut third).await.starts_with("HTTP/1.1 200 "));
    second.write_all(HEALTH).await.expect("write");
    assert!(read_response(&mut second)
        .await
        .starts_with("HTTP/1.1 200 "));
}

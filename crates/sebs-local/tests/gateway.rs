//! The gateway's connections: a client that sends half a header and waits (slowloris) or sits
//! idle is disconnected after its timeout, a slow invocation is not, and connections beyond the
//! limit are refused politely.

mod common;

use std::time::{Duration, Instant};

use common::{ECHO, package, spec};
use sebs_local::{LocalPlatform, PlatformConfig};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn platform(header: u64, idle: u64, max: Option<usize>) -> LocalPlatform {
    LocalPlatform::with_config(PlatformConfig {
        header_read_timeout: Duration::from_millis(header),
        idle_timeout: Duration::from_millis(idle),
        max_connections: max,
        ..PlatformConfig::default()
    })
    .await
    .unwrap()
}

/// Read until the server closes the connection (or 10 s pass); returns what was read and when
/// the connection was closed.
async fn read_to_close(stream: &mut TcpStream) -> (String, Option<Duration>) {
    let started = Instant::now();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => {
                return (
                    String::from_utf8_lossy(&out).into(),
                    Some(started.elapsed()),
                );
            }
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
            Err(_) => return (String::from_utf8_lossy(&out).into(), None),
        }
    }
}

fn request(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nhost: localhost\r\n\r\n")
}

#[tokio::test]
async fn a_slowloris_client_is_disconnected_after_the_header_timeout() {
    let platform = platform(500, 60_000, None).await;
    let mut slow = TcpStream::connect(platform.addr()).await.unwrap();
    slow.write_all(b"GET /function/f HTTP/1.1\r\nhost: loc")
        .await
        .unwrap();
    let (answer, closed) = read_to_close(&mut slow).await;
    let closed = closed.expect("the server closes a connection whose header never completes");
    assert!(
        closed >= Duration::from_millis(400) && closed < Duration::from_secs(3),
        "closed after {closed:?}"
    );
    assert!(!answer.contains("200"), "{answer}");
    // The gateway still serves others.
    let mut other = TcpStream::connect(platform.addr()).await.unwrap();
    other
        .write_all(request("/function/missing").as_bytes())
        .await
        .unwrap();
    let mut buf = [0u8; 64];
    let n = other.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 404"));
    platform.shutdown().await;
}

#[tokio::test]
async fn idle_connections_are_closed_but_slow_invocations_are_not() {
    let tmp = tempfile::tempdir().unwrap();
    let platform = platform(400, 700, None).await;
    platform
        .deploy(spec(
            "f",
            package(tmp.path(), ECHO),
            Duration::from_secs(10),
        ))
        .await;
    // An invocation longer than both timeouts completes on its connection.
    let mut client = TcpStream::connect(platform.addr()).await.unwrap();
    let body = json!({"sleep": 1.5}).to_string();
    let post = format!(
        "POST /2015-03-31/functions/f/invocations HTTP/1.1\r\nhost: localhost\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    client.write_all(post.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 64 * 1024];
    let n = tokio::time::timeout(Duration::from_secs(10), client.read(&mut buf))
        .await
        .expect("an answer")
        .unwrap();
    assert!(
        String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&buf[..n])
    );
    // Then, idle, it is closed after the idle timeout.
    let idle = Instant::now();
    let (_, closed) = read_to_close(&mut client).await;
    assert!(closed.is_some(), "an idle connection is closed");
    let after = idle.elapsed();
    assert!(
        after >= Duration::from_millis(600) && after < Duration::from_secs(3),
        "closed after {after:?} idle"
    );
    platform.shutdown().await;
}

#[tokio::test]
async fn connections_over_the_limit_get_503_with_retry_after() {
    let platform = platform(60_000, 60_000, Some(2)).await;
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut c = TcpStream::connect(platform.addr()).await.unwrap();
        c.write_all(request("/function/missing").as_bytes())
            .await
            .unwrap();
        let mut buf = [0u8; 64];
        let n = c.read(&mut buf).await.unwrap();
        assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 404"));
        held.push(c);
    }
    let mut third = TcpStream::connect(platform.addr()).await.unwrap();
    third
        .write_all(request("/function/missing").as_bytes())
        .await
        .unwrap();
    let (answer, closed) = read_to_close(&mut third).await;
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("retry-after: 1"),
        "{answer}"
    );
    assert!(answer.contains("maximum of 2 connections"), "{answer}");
    assert!(closed.is_some(), "the refused connection is closed");
    // A connection that closes frees its place.
    drop(held.pop());
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut next = TcpStream::connect(platform.addr()).await.unwrap();
    next.write_all(request("/function/missing").as_bytes())
        .await
        .unwrap();
    let mut buf = [0u8; 64];
    let n = next.read(&mut buf).await.unwrap();
    assert!(
        String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 404"),
        "{}",
        String::from_utf8_lossy(&buf[..n])
    );
    platform.shutdown().await;
}

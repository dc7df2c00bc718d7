//! What the object storage server logs when it refuses a request without a signature: one WARN
//! line that says what was refused and what to do (a test binary of its own: it installs the
//! process's tracing subscriber).

use std::io::Write;
use std::sync::{Arc, Mutex};

use sebs_storage::{EmbeddedOptions, EmbeddedStorage, Services};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Log lines written by the subscriber, shared with the test.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unsigned_request_is_refused_with_one_warning() {
    let captured = Captured::default();
    let writer = captured.clone();
    // What the CLI installs (warn for other crates), with timestamps.
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("warn,sebs_storage=info"))
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .init();
    let dir = tempfile::tempdir().unwrap();
    let storage = EmbeddedStorage::start(
        Services {
            object: true,
            nosql: false,
        },
        &EmbeddedOptions::under(dir.path()),
    )
    .await
    .unwrap();
    let address = storage.config().object_endpoint().unwrap().unwrap().address;
    let mut client = tokio::net::TcpStream::connect(&address).await.unwrap();
    client
        .write_all(b"GET /bucket/some/key HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    client.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
    assert!(answer.contains("<Code>AccessDenied</Code>"), "{answer}");
    storage.shutdown().await;

    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line, not {}:\n{log}", lines.len());
    let line = lines[0];
    assert!(line.contains(" WARN "), "{line}");
    assert!(!line.contains("ERROR"), "{line}");
    assert!(
        line.contains("GET /bucket/some/key") && line.contains("signed"),
        "says what was refused and why: {line}"
    );
    // The subscriber's timestamp (RFC 3339) leads the line.
    assert!(
        line.as_bytes()[..4].iter().all(u8::is_ascii_digit),
        "{line}"
    );
}

//! The driver's UDP echo server of invocation-overhead and network-ping-pong: it echoes every
//! datagram and records `(id, server_rcv, server_send)`, the id being the exchange number the
//! function puts in the datagram (so the rows join with the function's even after a loss).

use std::path::Path;

use anyhow::{Context, Result};
use sebs_platforms::Trigger;
use tokio::net::UdpSocket;
use tokio::sync::oneshot;

use crate::epoch_now;

/// One exchange as the driver saw it: `(id, server_rcv, server_send)`, epoch seconds.
pub type ServerRow = (u64, f64, f64);

/// One exchange as the function saw it: `(id, client_send, client_rcv)`, epoch seconds.
pub type ClientRow = (u64, f64, f64);

/// A running echo server.
pub struct EchoServer {
    port: u16,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Vec<ServerRow>>,
}

/// The address functions reach this machine at, and the one to bind: `SEBS_DRIVER_ADDRESS`
/// (a public address, for functions on a cloud; sebs then listens on every interface), else
/// 127.0.0.1 for both.
pub fn driver_address() -> (&'static str, String) {
    match std::env::var("SEBS_DRIVER_ADDRESS") {
        Ok(address) if !address.trim().is_empty() => ("0.0.0.0", address.trim().to_owned()),
        _ => ("127.0.0.1", "127.0.0.1".to_owned()),
    }
}

impl EchoServer {
    /// Bind `port` (0: an ephemeral port) on [`driver_address`] and start echoing.
    pub async fn bind(port: u16) -> Result<EchoServer> {
        let (host, _) = driver_address();
        let socket = UdpSocket::bind((host, port))
            .await
            .with_context(|| format!("failed to bind the driver's UDP server on {host}:{port}"))?;
        let port = socket.local_addr()?.port();
        let (stop, mut stopped) = oneshot::channel();
        let task = tokio::spawn(async move {
            let mut rows = Vec::new();
            let mut buf = [0u8; 1024];
            loop {
                tokio::select! {
                    received = socket.recv_from(&mut buf) => {
                        let Ok((n, from)) = received else { continue };
                        let server_rcv = epoch_now();
                        let server_send = epoch_now();
                        if socket.send_to(&buf[..n], from).await.is_err() {
                            continue;
                        }
                        // Exchange 0 is the function's warm-up; `stop` ends a clock synchronisation.
                        if let Some(id) = std::str::from_utf8(&buf[..n])
                            .ok()
                            .and_then(|s| s.trim().parse::<u64>().ok())
                            .filter(|id| *id > 0)
                        {
                            rows.push((id, server_rcv, server_send));
                        }
                    }
                    _ = &mut stopped => break,
                }
            }
            rows
        });
        Ok(EchoServer { port, stop, task })
    }

    /// The port the function sends to.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stop the server (after the invocation returned) and take its rows.
    pub async fn finish(self) -> Vec<ServerRow> {
        let _ = self.stop.send(());
        self.task.await.unwrap_or_default()
    }
}

/// The function's rows from its response (`result.result.measurements`).
pub fn client_rows(output: &serde_json::Value) -> Vec<ClientRow> {
    output["result"]["measurements"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|row| {
            let row = row.as_array()?;
            Some((
                row.first()?.as_u64()?,
                row.get(1)?.as_f64()?,
                row.get(2)?.as_f64()?,
            ))
        })
        .collect()
}

/// Write rows as CSV with `header` (e.g. `id,server_rcv,server_send`), times with 6 decimals.
pub fn write_rows(path: &Path, header: &[&str], rows: &[(u64, f64, f64)]) -> Result<()> {
    sebs_report::csv::write_csv(
        path,
        header,
        rows.iter()
            .map(|(id, a, b)| [id.to_string(), format!("{a:.6}"), format!("{b:.6}")]),
    )
}

/// The driver's and the function's rows of request `request_id` as SeBS writes them:
/// `server-<id>.csv` and `results-<id>.csv` in `dir`.
pub fn write_request_rows(
    dir: &Path,
    request_id: &str,
    server: &[ServerRow],
    client: &[ClientRow],
) -> Result<()> {
    write_rows(
        &dir.join(format!("server-{request_id}.csv")),
        &["id", "server_rcv", "server_send"],
        server,
    )?;
    write_rows(
        &dir.join(format!("results-{request_id}.csv")),
        &["id", "client_send", "client_rcv"],
        client,
    )
}

/// Read a CSV written by `write_rows` (or by a function): `id,<a>,<b>` after a header line.
pub fn read_rows(path: &Path) -> Result<Vec<(u64, f64, f64)>> {
    let table = sebs_report::csv::read_csv(path)?;
    let mut rows = Vec::with_capacity(table.records.len());
    for record in &table.records {
        let fields: Vec<&str> = record.fields.iter().map(|f| f.trim()).collect();
        if fields.iter().all(|f| f.is_empty()) {
            continue;
        }
        let parsed = (|| -> Option<(u64, f64, f64)> {
            // Tolerate SeBS's pandas index column: the last three fields are the row.
            let k = fields.len().checked_sub(3)?;
            Some((
                fields[k].parse::<f64>().ok()? as u64,
                fields[k + 1].parse().ok()?,
                fields[k + 2].parse().ok()?,
            ))
        })();
        rows.push(parsed.with_context(|| {
            format!(
                "{} line {}: expected `id,<time>,<time>`, got `{}`",
                path.display(),
                record.line,
                record.fields.join(",")
            )
        })?);
    }
    Ok(rows)
}

/// One joined exchange: `(id, client_send, server_rcv, server_send, client_rcv)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Exchange {
    /// Exchange number.
    pub id: u64,
    /// The function sent the datagram (function clock).
    pub client_send: f64,
    /// The driver received it (driver clock).
    pub server_rcv: f64,
    /// The driver echoed it (driver clock).
    pub server_send: f64,
    /// The function received the echo (function clock).
    pub client_rcv: f64,
}

impl Exchange {
    /// Network round-trip time without the driver's turnaround (SeBS's formula):
    /// `(server_rcv − client_send) + (client_rcv − server_send)`.
    pub fn rtt(&self) -> f64 {
        (self.server_rcv - self.client_send) + (self.client_rcv - self.server_send)
    }

    /// The function's clock minus the driver's, estimated from this exchange (SeBS's formula):
    /// `((client_send − server_rcv) + (client_rcv − server_send)) / 2`.
    pub fn clock_drift(&self) -> f64 {
        ((self.client_send - self.server_rcv) + (self.client_rcv - self.server_send)) / 2.0
    }
}

/// Join the driver's and the function's rows on `id` (rows without a partner are dropped: a
/// datagram or its echo was lost).
pub fn join(server: &[ServerRow], client: &[ClientRow]) -> Vec<Exchange> {
    let by_id: std::collections::HashMap<u64, (f64, f64)> =
        server.iter().map(|(id, r, s)| (*id, (*r, *s))).collect();
    let mut out: Vec<Exchange> = client
        .iter()
        .filter_map(|(id, client_send, client_rcv)| {
            let (server_rcv, server_send) = by_id.get(id)?;
            Some(Exchange {
                id: *id,
                client_send: *client_send,
                server_rcv: *server_rcv,
                server_send: *server_send,
                client_rcv: *client_rcv,
            })
        })
        .collect();
    out.sort_by_key(|e| e.id);
    out
}

/// Invoke the function through `trigger` against a fresh echo server: the event gets
/// `server-address`, `server-port` and `repetitions`. Returns the result, the driver's rows, and
/// the epoch time just before the request was sent.
pub async fn invoke_with_server(
    trigger: &dyn Trigger,
    mut input: serde_json::Value,
    repetitions: u64,
) -> Result<(sebs_core::result::ExecutionResult, Vec<ServerRow>, f64)> {
    let server = EchoServer::bind(0).await?;
    input["server-address"] = driver_address().1.into();
    input["server-port"] = server.port().into();
    input["repetitions"] = repetitions.into();
    let start = epoch_now();
    let result = trigger.invoke(&input).await;
    Ok((result, server.finish().await, start))
}

/// `kind: first line of the message` of a failed invocation, for journals.
pub fn error_line(error: &sebs_core::result::InvocationError) -> String {
    format!(
        "{}: {}",
        error.kind,
        error.message.lines().next().unwrap_or("")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rtt_and_clock_drift_on_a_fixed_dataset() {
        // The function's clock runs 0.5 s ahead of the driver's; 10 ms there, 30 ms back, 5 ms
        // turnaround.
        let server = [(1, 100.010, 100.015), (2, 200.000, 200.001), (3, 7.0, 7.0)];
        let client = [(1, 100.5, 100.545), (2, 200.49, 200.511), (4, 1.0, 2.0)];
        let joined = join(&server, &client);
        assert_eq!(joined.len(), 2, "only ids present on both sides");
        let e = joined[0];
        assert!((e.rtt() - 0.040).abs() < 1e-9, "{}", e.rtt());
        // ((100.5 − 100.010) + (100.545 − 100.015)) / 2 = (0.490 + 0.530) / 2 = 0.510
        assert!(
            (e.clock_drift() - 0.510).abs() < 1e-9,
            "{}",
            e.clock_drift()
        );
        let e = joined[1];
        // (200.000 − 200.49) + (200.511 − 200.001) = −0.49 + 0.51 = 0.02
        assert!((e.rtt() - 0.020).abs() < 1e-9);
        // ((200.49 − 200.000) + (200.511 − 200.001)) / 2 = (0.49 + 0.51) / 2 = 0.5
        assert!((e.clock_drift() - 0.5).abs() < 1e-9);
    }

    #[test]
    fn csv_round_trip_and_sebs_index_column() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("server.csv");
        write_rows(
            &path,
            &["id", "server_rcv", "server_send"],
            &[(1, 1.5, 2.25), (2, 3.0, 4.0)],
        )
        .unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "id,server_rcv,server_send\n1,1.500000,2.250000\n2,3.000000,4.000000\n"
        );
        assert_eq!(
            read_rows(&path).unwrap(),
            vec![(1, 1.5, 2.25), (2, 3.0, 4.0)]
        );
        std::fs::write(&path, ",id,server_rcv,server_send\n0,1,1.5,2.5\n").unwrap();
        assert_eq!(read_rows(&path).unwrap(), vec![(1, 1.5, 2.5)]);
        std::fs::write(&path, "id,a,b\n1,x,2\n").unwrap();
        assert!(read_rows(&path).unwrap_err().to_string().contains("line 2"));
    }

    #[tokio::test]
    async fn echo_server_echoes_and_records_ids() {
        let server = EchoServer::bind(0).await.unwrap();
        let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let mut buf = [0u8; 64];
        for msg in ["0", "1", "2", "stop"] {
            client
                .send_to(msg.as_bytes(), ("127.0.0.1", server.port()))
                .await
                .unwrap();
            let (n, _) = client.recv_from(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], msg.as_bytes());
        }
        let rows = server.finish().await;
        assert_eq!(rows.iter().map(|r| r.0).collect::<Vec<_>>(), vec![1, 2]);
        assert!(rows.iter().all(|(_, r, s)| r <= s));
    }
}

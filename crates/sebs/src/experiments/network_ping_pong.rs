//! network-ping-pong (SeBS contract §7.3): `invocations` concurrent invocations of
//! `020.network-benchmark`, each with a driver UDP echo server of its own, each doing
//! `repetitions` round trips; the process step reports the RTT distribution and draws its
//! histogram.

use std::fmt::Write as _;

use anyhow::{Context, Result, bail};
use sebs_core::stats::{Summary, percentile};
use serde::{Deserialize, Serialize};

use super::progress::Progress;
use super::udp::{self, ClientRow, ServerRow};
use super::{Deployed, EXIT_INTERRUPTED, Journal, histogram};
use crate::cli::{ExperimentInvokeArgs, ExperimentProcessArgs};
use crate::settings::load_config;

/// The benchmark the experiment drives.
const BENCHMARK: &str = "020.network-benchmark";
/// Rounds of retries for failed invocations before giving up.
const MAX_ROUNDS: u32 = 5;

/// One journal line: one invocation.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    /// Request id.
    pub request_id: String,
    /// Whether the invocation failed (it is retried; its rows are not used).
    pub failure: bool,
    /// Whether it was a cold start.
    pub is_cold: bool,
    /// The driver's rows `(id, server_rcv, server_send)`.
    pub server: Vec<ServerRow>,
    /// The function's rows `(id, client_send, client_rcv)`.
    pub client: Vec<ClientRow>,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// `sebs experiment invoke network-ping-pong`.
pub async fn run(args: &ExperimentInvokeArgs) -> Result<i32> {
    let config = load_config(args.common.config.as_deref())?;
    let settings = config
        .experiments
        .network_ping_pong
        .clone()
        .unwrap_or_default();
    let invocations = settings.invocations.unwrap_or(50);
    let repetitions = settings.repetitions.unwrap_or(1000);
    if invocations == 0 || repetitions == 0 {
        bail!("experiments.network-ping-pong: `invocations` and `repetitions` must be at least 1");
    }
    let dir = args.common.output_dir.join("network-ping-pong");
    let journal_path = dir.join("journal.jsonl");
    Journal::check(&journal_path, args.resume)?;
    let deployed = Deployed::start(
        &args.common,
        &args.local,
        &args.storage_configuration,
        BENCHMARK,
        "test",
    )
    .await?;
    let (mut journal, mut records) = Journal::start::<Record>(&journal_path, args.resume)?;
    let name = deployed.base_name.clone();
    deployed
        .deploy(&name, deployed.prepared.benchmark.config.memory, None)
        .await?;
    let url = deployed.platform.function_url(&name);
    let input = deployed.prepared.generated.input.clone();
    let succeeded = |records: &[Record]| records.iter().filter(|r| !r.failure).count() as u64;
    let progress = Progress::new(
        "network-ping-pong invocations",
        invocations,
        succeeded(&records),
    );
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let mut interrupted = false;
    let mut rounds = 0;
    'rounds: while succeeded(&records) < invocations {
        rounds += 1;
        if rounds > MAX_ROUNDS {
            progress.finish();
            let last = records
                .iter()
                .rev()
                .find_map(|r| r.error.clone())
                .unwrap_or_default();
            bail!(
                "network-ping-pong: {} of {invocations} invocations succeeded after {MAX_ROUNDS} rounds; last error: {last}",
                succeeded(&records)
            );
        }
        // All missing invocations at once, each against its own echo server; each is journaled
        // as soon as it completes.
        let mut calls = tokio::task::JoinSet::new();
        for _ in 0..invocations - succeeded(&records) {
            let (url, input) = (url.clone(), input.clone());
            calls.spawn(async move { udp::invoke_with_server(&url, input, repetitions).await });
        }
        loop {
            let next = tokio::select! {
                n = calls.join_next() => n,
                _ = &mut ctrl_c => { interrupted = true; calls.abort_all(); break 'rounds; }
            };
            let Some(joined) = next else { break };
            let (result, server, _) = joined.context("an invocation task panicked")??;
            let client = udp::client_rows(&result.output["result"]);
            let error = match &result.error {
                Some(e) => Some(format!(
                    "{}: {}",
                    e.kind,
                    e.message.lines().next().unwrap_or("")
                )),
                None if udp::join(&server, &client).is_empty() => {
                    Some("no UDP round trip completed between the driver and the function".into())
                }
                None => None,
            };
            let record = Record {
                request_id: result.request_id,
                failure: error.is_some(),
                is_cold: result.stats.cold_start,
                server,
                client,
                error,
            };
            journal.append(std::slice::from_ref(&record))?;
            records.push(record);
            let failed = records.iter().filter(|r| r.failure).count();
            progress.update(succeeded(&records), &format!("{failed} failed"));
        }
    }
    progress.finish();
    deployed.shutdown().await;
    for r in records.iter().filter(|r| !r.failure) {
        udp::write_rows(
            &dir.join(format!("server-{}.csv", r.request_id)),
            "id,server_rcv,server_send",
            &r.server,
        )?;
        udp::write_rows(
            &dir.join(format!("results-{}.csv", r.request_id)),
            "id,client_send,client_rcv",
            &r.client,
        )?;
    }
    if interrupted {
        tracing::warn!(
            "interrupted: completed invocations are in {}; continue with the same command and --resume",
            journal_path.display()
        );
        return Ok(EXIT_INTERRUPTED);
    }
    println!("results: {}", dir.display());
    Ok(0)
}

/// RTT statistics (seconds).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RttSummary {
    /// Round trips.
    pub rows: usize,
    /// Mean.
    pub mean: f64,
    /// Sample standard deviation.
    pub std: f64,
    /// Coefficient of variation (%).
    pub cv_percent: f64,
    /// Percentiles 50, 75, 95, 99 and 99.9 (linear interpolation).
    pub p50: f64,
    /// 75th percentile.
    pub p75: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p99_9: f64,
}

/// Summarise RTTs.
pub fn summarise(rtts: &[f64]) -> Option<RttSummary> {
    let s = Summary::of(rtts)?;
    let p = |q: f64| percentile(rtts, q).unwrap_or(f64::NAN);
    Some(RttSummary {
        rows: rtts.len(),
        mean: s.mean,
        std: s.std,
        cv_percent: s.cv,
        p50: p(50.0),
        p75: p(75.0),
        p95: p(95.0),
        p99: p(99.0),
        p99_9: p(99.9),
    })
}

/// `sebs experiment process network-ping-pong`: RTT per round trip in `result-processed.csv`,
/// statistics on stdout and in `result-processed.json`, and `histogram.png`.
pub fn process(args: &ExperimentProcessArgs) -> Result<i32> {
    let dir = args.output_dir.join("network-ping-pong");
    let mut servers: Vec<_> = std::fs::read_dir(&dir)
        .with_context(|| {
            format!(
                "failed to read {}; pass the --output-dir of the network-ping-pong run",
                dir.display()
            )
        })?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let n = p.file_name().unwrap_or_default().to_string_lossy();
            n.starts_with("server-") && n.ends_with(".csv")
        })
        .collect();
    servers.sort();
    if servers.is_empty() {
        bail!(
            "no server-<request id>.csv in {}; run `sebs experiment invoke network-ping-pong` first",
            dir.display()
        );
    }
    let mut csv = String::from("request_id,id,client_send,server_rcv,server_send,client_rcv,rtt\n");
    let mut rtts = Vec::new();
    for server_path in &servers {
        let name = server_path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy();
        let request_id = &name["server-".len()..name.len() - ".csv".len()];
        let client_path = dir.join(format!("results-{request_id}.csv"));
        if !client_path.is_file() {
            tracing::warn!(
                "{}: no {} (the function's rows); skipped",
                server_path.display(),
                client_path.display()
            );
            continue;
        }
        let exchanges = udp::join(
            &udp::read_rows(server_path)?,
            &udp::read_rows(&client_path)?,
        );
        for e in exchanges {
            let rtt = e.rtt();
            let _ = writeln!(
                csv,
                "{request_id},{},{:.6},{:.6},{:.6},{:.6},{:.9}",
                e.id, e.client_send, e.server_rcv, e.server_send, e.client_rcv, rtt
            );
            rtts.push(rtt);
        }
    }
    let Some(summary) = summarise(&rtts) else {
        bail!(
            "no round trip joins the driver's and the functions' rows in {}",
            dir.display()
        );
    };
    sebs_core::fsutil::write_atomic(&dir.join("result-processed.csv"), csv.as_bytes())
        .with_context(|| {
            format!(
                "failed to write {}",
                dir.join("result-processed.csv").display()
            )
        })?;
    super::write_json(&dir.join("result-processed.json"), &summary)?;
    // Bins span min..P99.9 so a few stragglers do not squash the histogram; larger RTTs are
    // counted in the last bin.
    let low = rtts.iter().copied().fold(f64::INFINITY, f64::min);
    let bins = (rtts.len() as f64).sqrt().ceil().clamp(10.0, 200.0) as usize;
    histogram::write(&dir.join("histogram.png"), &rtts, low, summary.p99_9, bins)?;
    let ms = |s: f64| s * 1000.0;
    println!(
        "rows {}: mean {:.3} ms, std {:.3} ms, CV {:.1}%",
        summary.rows,
        ms(summary.mean),
        ms(summary.std),
        summary.cv_percent
    );
    println!(
        "P50 {:.3} ms, P75 {:.3} ms, P95 {:.3} ms, P99 {:.3} ms, P99.9 {:.3} ms",
        ms(summary.p50),
        ms(summary.p75),
        ms(summary.p95),
        ms(summary.p99),
        ms(summary.p99_9)
    );
    println!("{}", dir.join("histogram.png").display());
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_of_a_fixed_dataset() {
        let rtts: Vec<f64> = (1..=100).map(|i| i as f64 / 1000.0).collect();
        let s = summarise(&rtts).unwrap();
        assert_eq!(s.rows, 100);
        assert!((s.mean - 0.0505).abs() < 1e-12);
        assert!((s.p50 - 0.0505).abs() < 1e-12);
        assert!((s.p75 - 0.07525).abs() < 1e-12);
        assert!((s.p99_9 - 0.099901).abs() < 1e-9);
        assert!(summarise(&[]).is_none());
    }

    #[test]
    fn record_survives_the_journal() {
        let r = Record {
            request_id: "a".into(),
            failure: false,
            is_cold: true,
            server: vec![(1, 1.0, 1.5)],
            client: vec![(1, 0.5, 2.0)],
            error: None,
        };
        let line = serde_json::to_string(&r).unwrap();
        let back: Record = serde_json::from_str(&line).unwrap();
        assert_eq!(back.server, r.server);
        assert_eq!(back.client, r.client);
        assert!(!line.contains("error"));
    }
}

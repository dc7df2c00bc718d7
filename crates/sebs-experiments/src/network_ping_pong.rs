//! network-ping-pong (SeBS contract §7.3): `invocations` concurrent invocations of
//! `020.network-benchmark`, each with a driver UDP echo server of its own, each doing
//! `repetitions` round trips; the process step reports the RTT distribution and draws its
//! histogram.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use async_trait::async_trait;
use sebs_core::config::UserConfig;
use sebs_core::result::ExecutionResult;
use sebs_core::stats::{Summary, percentile};
use sebs_platforms::{Session, Trigger};
use serde::{Deserialize, Serialize};
use tokio::task::JoinSet;

use crate::process::ProcessContext;
use crate::runner::{Deployed, Experiment, Plan, at_least_one};
use crate::udp::{self, ClientRow, ServerRow};
use crate::{Processed, Status};

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

type Invocation = Result<(ExecutionResult, Vec<ServerRow>, f64)>;

/// The network-ping-pong experiment: rounds of concurrent invocations, each against its own
/// echo server, until the requested number succeeded.
pub struct NetworkPingPong {
    invocations: u64,
    repetitions: u64,
    trigger: Option<Arc<dyn Trigger>>,
    /// The round in flight: each invocation is journaled as soon as it completes, so a round
    /// spans several batches.
    round: JoinSet<Invocation>,
    rounds: u32,
}

impl Plan for NetworkPingPong {
    fn plan(config: &UserConfig) -> Result<NetworkPingPong> {
        let settings = config
            .experiments
            .network_ping_pong
            .clone()
            .unwrap_or_default();
        let invocations = settings.invocations.unwrap_or(50);
        let repetitions = settings.repetitions.unwrap_or(1000);
        at_least_one(
            "experiments.network-ping-pong",
            [("invocations", invocations), ("repetitions", repetitions)],
        )?;
        Ok(NetworkPingPong {
            invocations,
            repetitions,
            trigger: None,
            round: JoinSet::new(),
            rounds: 0,
        })
    }
}

fn succeeded(records: &[Record]) -> u64 {
    records.iter().filter(|r| !r.failure).count() as u64
}

/// The journal line of a completed invocation.
fn record(result: ExecutionResult, server: Vec<ServerRow>) -> Record {
    let client = udp::client_rows(&result.output["result"]);
    let error = match &result.error {
        Some(e) => Some(udp::error_line(e)),
        None if udp::join(&server, &client).is_empty() => {
            Some("no UDP round trip completed between the driver and the function".into())
        }
        None => None,
    };
    Record {
        request_id: result.request_id,
        failure: error.is_some(),
        is_cold: result.stats.cold_start,
        server,
        client,
        error,
    }
}

#[async_trait]
impl Experiment for NetworkPingPong {
    type Record = Record;

    fn name(&self) -> &'static str {
        "network-ping-pong"
    }

    fn benchmark(&self) -> (String, String) {
        (BENCHMARK.into(), "test".into())
    }

    async fn deploy(&mut self, session: &Session, _done: &[Record]) -> Result<()> {
        let function = Deployed::http(
            session,
            session.default_function_name(),
            session.benchmark.config.memory,
        )
        .await?;
        self.trigger = Some(function.trigger);
        Ok(())
    }

    async fn next_batch(
        &mut self,
        session: &Session,
        done: &[Record],
    ) -> Result<Option<Vec<Record>>> {
        if self.round.is_empty() {
            let missing = self.invocations.saturating_sub(succeeded(done));
            if missing == 0 {
                return Ok(None);
            }
            self.rounds += 1;
            if self.rounds > MAX_ROUNDS {
                let last = done
                    .iter()
                    .rev()
                    .find_map(|r| r.error.clone())
                    .unwrap_or_default();
                bail!(
                    "network-ping-pong: {} of {} invocations succeeded after {MAX_ROUNDS} rounds; last error: {last}",
                    succeeded(done),
                    self.invocations
                );
            }
            // All missing invocations at once, each against its own echo server.
            let trigger = self
                .trigger
                .clone()
                .context("the function is not deployed")?;
            for _ in 0..missing {
                let (trigger, input) = (trigger.clone(), session.generated.input.clone());
                let repetitions = self.repetitions;
                self.round.spawn(async move {
                    udp::invoke_with_server(trigger.as_ref(), input, repetitions).await
                });
            }
        }
        let Some(joined) = self.round.join_next().await else {
            return Ok(Some(Vec::new()));
        };
        let (result, server, _) = joined.context("an invocation task panicked")??;
        Ok(Some(vec![record(result, server)]))
    }

    fn status(&self, done: &[Record]) -> Status {
        let failed = done.iter().filter(|r| r.failure).count();
        Status {
            phase: "network-ping-pong invocations".into(),
            done: succeeded(done),
            total: self.invocations,
            note: format!("{failed} failed"),
        }
    }

    /// `server-<id>.csv` and `results-<id>.csv` of every successful invocation.
    async fn write_results(
        &mut self,
        _session: &Session,
        dir: &Path,
        done: &[Record],
    ) -> Result<PathBuf> {
        // Invocations still in flight (Ctrl-C) are not waited for.
        self.round.abort_all();
        for r in done.iter().filter(|r| !r.failure) {
            udp::write_request_rows(dir, &r.request_id, &r.server, &r.client)?;
        }
        Ok(dir.to_owned())
    }
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
/// statistics in the summary and in `result-processed.json`, and `histogram.png`.
pub async fn process(ctx: &ProcessContext) -> Result<Processed> {
    let dir = ctx.output_dir.join("network-ping-pong");
    let servers = sebs_report::result_files(&dir, "network-ping-pong", |n| {
        n.starts_with("server-") && n.ends_with(".csv")
    })?;
    if servers.is_empty() {
        bail!(
            "no server-<request id>.csv in {}; run `sebs experiment invoke network-ping-pong` first",
            dir.display()
        );
    }
    let mut rows: Vec<[String; 7]> = Vec::new();
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
            rows.push([
                request_id.to_owned(),
                e.id.to_string(),
                format!("{:.6}", e.client_send),
                format!("{:.6}", e.server_rcv),
                format!("{:.6}", e.server_send),
                format!("{:.6}", e.client_rcv),
                format!("{rtt:.9}"),
            ]);
            rtts.push(rtt);
        }
    }
    let Some(summary) = summarise(&rtts) else {
        bail!(
            "no round trip joins the driver's and the functions' rows in {}",
            dir.display()
        );
    };
    sebs_report::csv::write_csv(
        &dir.join("result-processed.csv"),
        &[
            "request_id",
            "id",
            "client_send",
            "server_rcv",
            "server_send",
            "client_rcv",
            "rtt",
        ],
        rows,
    )?;
    sebs_report::write_json(&dir.join("result-processed.json"), &summary)?;
    let histogram = dir.join("histogram.png");
    draw_histogram(&histogram, &rtts, &summary)?;
    let text = summary_text(&summary, &histogram);
    Ok(Processed {
        path: histogram,
        summary: text,
        exit_code: 0,
    })
}

/// The RTT histogram (ms). Bins span min..P99.9 so a few stragglers do not squash it; larger
/// RTTs are counted in the last bin.
fn draw_histogram(path: &Path, rtts: &[f64], summary: &RttSummary) -> Result<()> {
    let ms: Vec<f64> = rtts.iter().map(|s| s * 1000.0).collect();
    let low = ms.iter().copied().fold(f64::INFINITY, f64::min);
    let bins = (ms.len() as f64).sqrt().ceil().clamp(10.0, 200.0) as usize;
    sebs_report::histogram_png(path, &ms, low, summary.p99_9 * 1000.0, bins, "RTT (ms)")
}

/// What `process` prints: the statistics in ms and the histogram's path.
fn summary_text(summary: &RttSummary, histogram: &Path) -> String {
    let ms = |s: f64| s * 1000.0;
    let mut text = String::new();
    let _ = writeln!(
        text,
        "rows {}: mean {:.3} ms, std {:.3} ms, CV {:.1}%",
        summary.rows,
        ms(summary.mean),
        ms(summary.std),
        summary.cv_percent
    );
    let _ = writeln!(
        text,
        "P50 {:.3} ms, P75 {:.3} ms, P95 {:.3} ms, P99 {:.3} ms, P99.9 {:.3} ms",
        ms(summary.p50),
        ms(summary.p75),
        ms(summary.p95),
        ms(summary.p99),
        ms(summary.p99_9)
    );
    let _ = writeln!(text, "{}", histogram.display());
    text
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

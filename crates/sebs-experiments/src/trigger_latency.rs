//! trigger-latency (a sebs experiment): the time from the driver sending an invocation (an HTTP
//! request, an invoke call, an object upload, a queue message) to the function's entry, per
//! trigger kind, sequentially and in a concurrent burst (where queue batching shows).
//!
//! Each invocation of `030.clock-synchronization` synchronises its clock with a driver UDP
//! echo server (invocation-overhead's method), so the function's entry time
//! (`income-timestamp`, function clock) is corrected by the measured offset:
//! `latency = income − send − clock_drift_mean`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use async_trait::async_trait;
use sebs_core::config::UserConfig;
use sebs_core::result::ExecutionResult;
use sebs_core::stats::{mean, percentile};
use sebs_platforms::{Session, Trigger, TriggerKind};
use serde::{Deserialize, Serialize};
use tokio::task::JoinSet;

use crate::process::ProcessContext;
use crate::runner::{Experiment, Plan};
use crate::udp;
use crate::{Processed, Status};

/// The benchmark the experiment drives.
const BENCHMARK: &str = "030.clock-synchronization";
/// The journal's file under the results directory.
const RESULTS: &str = "results.json";

/// One journal line: one invocation.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Record {
    /// Trigger kind (`http`, `library`, `storage`, `queue`).
    pub trigger: String,
    /// `sequential` or `burst`.
    pub phase: String,
    /// The function's request id (shared by the records of one queue batch).
    pub request_id: String,
    /// Whether the invocation failed (kept as data).
    pub failure: bool,
    /// Cold start.
    pub is_cold: bool,
    /// The driver started sending (epoch s, driver clock).
    pub send: f64,
    /// The function's entry (`income-timestamp`, epoch s, function clock).
    pub income: f64,
    /// Function clock minus driver clock, mean of the invocation's exchanges (s).
    pub clock_drift_mean: f64,
    /// `income − send − clock_drift_mean` (s).
    pub latency: f64,
    /// Round trip seen by the driver (s).
    pub client_time: f64,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The plan: kinds, counts, and the position in it.
pub struct TriggerLatency {
    kinds: Vec<TriggerKind>,
    repetitions: u64,
    burst: u64,
    sync_repetitions: u64,
    triggers: Vec<Arc<dyn Trigger>>,
}

fn parse_kind(name: &str) -> Result<TriggerKind> {
    TriggerKind::ALL
        .into_iter()
        .find(|k| k.as_str() == name)
        .with_context(|| {
            format!(
                "experiments.trigger-latency.triggers: unknown trigger `{name}`; use http, library, storage or queue"
            )
        })
}

impl Plan for TriggerLatency {
    fn plan(config: &UserConfig) -> Result<TriggerLatency> {
        let settings = config
            .experiments
            .trigger_latency
            .clone()
            .unwrap_or_default();
        let kinds = match &settings.triggers {
            Some(names) if names.is_empty() => {
                bail!("experiments.trigger-latency.triggers is empty; name at least one trigger")
            }
            Some(names) => names.iter().map(|n| parse_kind(n)).collect::<Result<_>>()?,
            None => TriggerKind::ALL.to_vec(),
        };
        let repetitions = settings.repetitions.unwrap_or(10);
        if repetitions == 0 {
            bail!("experiments.trigger-latency.repetitions must be at least 1");
        }
        Ok(TriggerLatency {
            kinds,
            repetitions,
            burst: settings.burst.unwrap_or(10),
            sync_repetitions: settings.sync_repetitions.unwrap_or(5).max(1),
            triggers: Vec::new(),
        })
    }
}

impl TriggerLatency {
    fn per_kind(&self) -> u64 {
        self.repetitions + self.burst
    }

    fn total(&self) -> u64 {
        self.per_kind() * self.kinds.len() as u64
    }
}

/// The journal line of one invocation sent at `send`.
fn record(
    kind: TriggerKind,
    phase: &str,
    result: ExecutionResult,
    server: Vec<udp::ServerRow>,
    send: f64,
) -> Record {
    let client = udp::client_rows(&result.output["result"]);
    let exchanges = udp::join(&server, &client);
    let drifts: Vec<f64> = exchanges.iter().map(udp::Exchange::clock_drift).collect();
    let income = result.output["result"]["result"]["timestamp"].as_f64();
    let error = match (&result.error, income, mean(&drifts)) {
        (Some(e), _, _) => Some(udp::error_line(e)),
        (None, None, _) => {
            Some("the function returned no `result.timestamp` (income-timestamp)".into())
        }
        (None, _, None) => {
            Some("no UDP round trip completed between the driver and the function".into())
        }
        _ => None,
    };
    let drift = mean(&drifts).unwrap_or(0.0);
    let income = income.unwrap_or(0.0);
    Record {
        trigger: kind.as_str().into(),
        phase: phase.into(),
        request_id: result.request_id.clone(),
        failure: error.is_some(),
        is_cold: result.stats.cold_start,
        send,
        income,
        clock_drift_mean: drift,
        latency: if error.is_some() {
            0.0
        } else {
            income - send - drift
        },
        client_time: result.times.client as f64 / 1e6,
        error,
    }
}

#[async_trait]
impl Experiment for TriggerLatency {
    type Record = Record;

    fn name(&self) -> &'static str {
        "trigger-latency"
    }

    fn benchmark(&self) -> (String, String) {
        (BENCHMARK.into(), "test".into())
    }

    async fn deploy(&mut self, session: &Session, _done: &[Record]) -> Result<()> {
        let name = session.default_function_name();
        session
            .deploy(&name, session.benchmark.config.memory)
            .await?;
        self.triggers.clear();
        for kind in &self.kinds {
            self.triggers.push(session.trigger(&name, *kind).await.with_context(|| {
                format!("trigger-latency: the platform has no `{}` trigger; drop it from experiments.trigger-latency.triggers", kind.as_str())
            })?);
        }
        Ok(())
    }

    async fn next_batch(
        &mut self,
        session: &Session,
        done: &[Record],
    ) -> Result<Option<Vec<Record>>> {
        let n = done.len() as u64;
        if n >= self.total() {
            return Ok(None);
        }
        let index = (n / self.per_kind()) as usize;
        let within = n % self.per_kind();
        let (kind, trigger) = (self.kinds[index], self.triggers[index].clone());
        let input = session.generated.input.clone();
        if within < self.repetitions {
            let (result, server, send) =
                udp::invoke_with_server(trigger.as_ref(), input, self.sync_repetitions).await?;
            return Ok(Some(vec![record(kind, "sequential", result, server, send)]));
        }
        let mut burst = JoinSet::new();
        for _ in 0..self.burst {
            let (trigger, input, reps) = (trigger.clone(), input.clone(), self.sync_repetitions);
            burst
                .spawn(async move { udp::invoke_with_server(trigger.as_ref(), input, reps).await });
        }
        let mut out = Vec::new();
        while let Some(joined) = burst.join_next().await {
            let (result, server, send) = joined.context("an invocation task panicked")??;
            out.push(record(kind, "burst", result, server, send));
        }
        Ok(Some(out))
    }

    fn status(&self, done: &[Record]) -> Status {
        let failed = done.iter().filter(|r| r.failure).count();
        Status {
            phase: "trigger-latency invocations".into(),
            done: done.len() as u64,
            total: self.total(),
            note: format!("{failed} failed"),
        }
    }

    async fn write_results(
        &mut self,
        _session: &Session,
        dir: &Path,
        done: &[Record],
    ) -> Result<PathBuf> {
        let path = dir.join(RESULTS);
        sebs_report::write_json(&path, &done)?;
        Ok(path)
    }
}

/// Latency statistics of one trigger kind and phase (ms).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct KindSummary {
    /// Trigger kind.
    pub trigger: String,
    /// `sequential`, `burst` or `all`.
    pub phase: String,
    /// Successful invocations.
    pub samples: usize,
    /// Failed invocations.
    pub failures: usize,
    /// Mean latency (ms).
    pub mean_ms: f64,
    /// Percentiles (ms).
    pub p50_ms: f64,
    /// 95th percentile (ms).
    pub p95_ms: f64,
    /// 99th percentile (ms).
    pub p99_ms: f64,
    /// Smallest (ms).
    pub min_ms: f64,
    /// Largest (ms).
    pub max_ms: f64,
    /// Invocations of the function per distinct function request (queue batches > 1).
    pub mean_batch: f64,
}

fn summarise(trigger: &str, phase: &str, records: &[&Record]) -> KindSummary {
    let ok: Vec<f64> = records
        .iter()
        .filter(|r| !r.failure)
        .map(|r| r.latency * 1e3)
        .collect();
    let p = |q: f64| percentile(&ok, q).unwrap_or(f64::NAN);
    let mut batches: BTreeMap<&str, usize> = BTreeMap::new();
    for r in records.iter().filter(|r| !r.failure) {
        *batches.entry(r.request_id.as_str()).or_default() += 1;
    }
    KindSummary {
        trigger: trigger.into(),
        phase: phase.into(),
        samples: ok.len(),
        failures: records.len() - ok.len(),
        mean_ms: mean(&ok).unwrap_or(f64::NAN),
        p50_ms: p(50.0),
        p95_ms: p(95.0),
        p99_ms: p(99.0),
        min_ms: ok.iter().copied().fold(f64::NAN, f64::min),
        max_ms: ok.iter().copied().fold(f64::NAN, f64::max),
        mean_batch: if batches.is_empty() {
            f64::NAN
        } else {
            ok.len() as f64 / batches.len() as f64
        },
    }
}

/// Per kind (in the order of the records) and phase, plus `all`.
pub fn summaries(records: &[Record]) -> Vec<KindSummary> {
    let mut kinds: Vec<&str> = Vec::new();
    for r in records {
        if !kinds.contains(&r.trigger.as_str()) {
            kinds.push(&r.trigger);
        }
    }
    let mut out = Vec::new();
    for kind in kinds {
        for phase in ["sequential", "burst", "all"] {
            let group: Vec<&Record> = records
                .iter()
                .filter(|r| r.trigger == kind && (phase == "all" || r.phase == phase))
                .collect();
            if !group.is_empty() {
                out.push(summarise(kind, phase, &group));
            }
        }
    }
    out
}

/// `sebs experiment process trigger-latency`: `latencies.csv` (one row per invocation),
/// `summary.csv` and `summary.json` (per trigger and phase).
pub async fn process(ctx: &ProcessContext) -> Result<Processed> {
    let dir = ctx.output_dir.join("trigger-latency");
    let path = dir.join(RESULTS);
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "no {}; run `sebs experiment invoke trigger-latency` first",
            path.display()
        )
    })?;
    let records: Vec<Record> = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a trigger-latency journal", path.display()))?;
    if records.is_empty() {
        bail!("{} holds no invocations", path.display());
    }
    write_latencies(&dir, &records)?;
    let summary = summaries(&records);
    sebs_report::write_json(&dir.join("summary.json"), &summary)?;
    let g = |x: f64| format!("{x:.3}");
    sebs_report::csv::write_csv(
        &dir.join("summary.csv"),
        &[
            "trigger",
            "phase",
            "samples",
            "failures",
            "mean_ms",
            "p50_ms",
            "p95_ms",
            "p99_ms",
            "min_ms",
            "max_ms",
            "mean_batch",
        ],
        summary
            .iter()
            .map(|s| {
                vec![
                    s.trigger.clone(),
                    s.phase.clone(),
                    s.samples.to_string(),
                    s.failures.to_string(),
                    g(s.mean_ms),
                    g(s.p50_ms),
                    g(s.p95_ms),
                    g(s.p99_ms),
                    g(s.min_ms),
                    g(s.max_ms),
                    g(s.mean_batch),
                ]
            })
            .collect::<Vec<_>>(),
    )?;
    let text = summary_text(&summary, &dir);
    Ok(Processed {
        path: dir.join("summary.csv"),
        summary: text,
        exit_code: 0,
    })
}

/// `latencies.csv`: one row per invocation.
fn write_latencies(dir: &Path, records: &[Record]) -> Result<()> {
    let f = |x: f64| format!("{x:.6}");
    let rows: Vec<Vec<String>> = records
        .iter()
        .map(|r| {
            vec![
                r.trigger.clone(),
                r.phase.clone(),
                r.request_id.clone(),
                r.failure.to_string(),
                r.is_cold.to_string(),
                f(r.send),
                f(r.income),
                format!("{:.9}", r.clock_drift_mean),
                format!("{:.9}", r.latency),
                f(r.client_time),
                r.error.clone().unwrap_or_default(),
            ]
        })
        .collect();
    sebs_report::csv::write_csv(
        &dir.join("latencies.csv"),
        &[
            "trigger",
            "phase",
            "request_id",
            "failure",
            "is_cold",
            "send",
            "income",
            "clock_drift_mean",
            "latency",
            "client_time",
            "error",
        ],
        rows,
    )?;
    Ok(())
}

/// The printed table and the files written.
fn summary_text(summary: &[KindSummary], dir: &Path) -> String {
    let mut text =
        String::from("trigger    phase        n  fail   mean ms    p50 ms    p95 ms  batch\n");
    for s in summary {
        let _ = writeln!(
            text,
            "{:<10} {:<10} {:>4} {:>5} {:>9.3} {:>9.3} {:>9.3} {:>6.2}",
            s.trigger, s.phase, s.samples, s.failures, s.mean_ms, s.p50_ms, s.p95_ms, s.mean_batch
        );
    }
    let _ = writeln!(
        text,
        "wrote {}, {} and {}",
        dir.join("latencies.csv").display(),
        dir.join("summary.csv").display(),
        dir.join("summary.json").display()
    );
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(trigger: &str, phase: &str, id: &str, latency: f64, failure: bool) -> Record {
        Record {
            trigger: trigger.into(),
            phase: phase.into(),
            request_id: id.into(),
            failure,
            is_cold: false,
            send: 100.0,
            income: 100.0 + latency,
            clock_drift_mean: 0.0,
            latency,
            client_time: 0.01,
            error: None,
        }
    }

    #[test]
    fn summaries_per_kind_and_phase_with_batches() {
        let records = vec![
            r("http", "sequential", "a", 0.001, false),
            r("http", "sequential", "b", 0.003, false),
            r("queue", "burst", "q1", 0.010, false),
            r("queue", "burst", "q1", 0.020, false),
            r("queue", "burst", "q2", 0.030, false),
            r("queue", "burst", "q3", 0.0, true),
        ];
        let s = summaries(&records);
        let http = &s[0];
        assert_eq!(
            (http.trigger.as_str(), http.phase.as_str(), http.samples),
            ("http", "sequential", 2)
        );
        assert!((http.mean_ms - 2.0).abs() < 1e-9 && (http.p50_ms - 2.0).abs() < 1e-9);
        assert_eq!(s[1].phase, "all");
        let queue = s
            .iter()
            .find(|k| k.trigger == "queue" && k.phase == "burst")
            .unwrap();
        assert_eq!((queue.samples, queue.failures), (3, 1));
        assert!((queue.mean_batch - 1.5).abs() < 1e-9);
        assert!((queue.max_ms - 30.0).abs() < 1e-9 && (queue.min_ms - 10.0).abs() < 1e-9);
    }

    #[test]
    fn latency_removes_the_clock_offset() {
        let result = ExecutionResult {
            output: serde_json::json!({"result": {"result": {"timestamp": 10.5, "measurements": [[1, 10.0, 10.2]]}}}),
            ..Default::default()
        };
        // Driver rows: received at 9.05, echoed at 9.06: the function's clock is ~1 s ahead.
        let rec = record(
            TriggerKind::Queue,
            "sequential",
            result,
            vec![(1, 9.05, 9.06)],
            9.4,
        );
        assert!(!rec.failure, "{rec:?}");
        assert!((rec.clock_drift_mean - 1.045).abs() < 1e-9, "{rec:?}");
        assert!((rec.latency - (10.5 - 9.4 - 1.045)).abs() < 1e-9, "{rec:?}");
    }
}

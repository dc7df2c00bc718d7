//! eviction-model (SeBS contract §7.4): for every idle time T, a function is invoked, left idle
//! for T, and invoked again; a cold second invocation means the platform evicted the instance.
//! The process step estimates the eviction threshold from the fraction of evictions per T — on the
//! local platform it must match the configured keep-alive, so the experiment checks the platform
//! and the platform checks the experiment.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use async_trait::async_trait;
use sebs_core::config::UserConfig;
use sebs_platforms::{Session, Trigger};
use sebs_report::{result_files, write_json};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

use crate::process::ProcessContext;
use crate::runner::{Deployed, Experiment, Plan};
use crate::{Processed, Status};

/// Idle times probed when the config names none (SeBS's candidates, seconds).
const DEFAULT_TIMES: [f64; 8] = [1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0, 120.0];

/// One probe: two invocations separated by an idle time.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Probe {
    /// Idle time (s).
    pub time: f64,
    /// Which function copy.
    pub invocation: u64,
    /// Repetition number.
    pub repetition: u64,
    /// First invocation was cold.
    pub first: bool,
    /// `[begin, end]` of the first invocation as seen by the driver (epoch s).
    pub first_times: [f64; 2],
    /// Second invocation was cold (the instance had been evicted).
    pub second: bool,
    /// `[begin, end]` of the second invocation.
    pub second_times: [f64; 2],
    /// Request ids of the two invocations.
    pub request_ids: [String; 2],
    /// Why a probe failed, if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

fn epoch(d: chrono::DateTime<chrono::Local>) -> f64 {
    d.timestamp_micros() as f64 / 1e6
}

/// A function probed with one idle time.
struct Probed {
    copy: u64,
    time: f64,
    name: String,
    trigger: Arc<dyn Trigger>,
}

/// The eviction-model experiment: one function per (idle time, copy), probed once per
/// repetition, all probes of a repetition at once.
pub struct EvictionModel {
    benchmark: String,
    copies: u64,
    repetitions: u64,
    times: Vec<f64>,
    sleep: f64,
    client_port: u16,
    functions: Vec<Probed>,
    deployment: Value,
    input: Value,
    /// The driver's TCP server the functions connect to.
    server: Option<tokio::task::JoinHandle<()>>,
    /// A batch ran: `sleep` seconds pass before the next step.
    sleep_pending: bool,
}

impl Plan for EvictionModel {
    fn plan(config: &UserConfig) -> Result<EvictionModel> {
        let em = config
            .experiments
            .eviction_model
            .clone()
            .unwrap_or_default();
        let times: Vec<f64> = em.times.clone().unwrap_or_else(|| DEFAULT_TIMES.to_vec());
        if times.iter().any(|t| !t.is_finite() || *t < 0.0) {
            bail!("experiments.eviction-model.times: idle times must be non-negative seconds");
        }
        let sleep = em.sleep.unwrap_or(0.0);
        if !sleep.is_finite() || sleep < 0.0 {
            bail!("experiments.eviction-model.sleep: must be non-negative seconds");
        }
        Ok(EvictionModel {
            benchmark: em
                .benchmark
                .clone()
                .unwrap_or_else(|| "040.server-reply".into()),
            copies: em.invocations.unwrap_or(1).max(1),
            repetitions: em.repetitions.unwrap_or(5).max(1),
            times,
            sleep,
            client_port: em.client_port.unwrap_or(0),
            functions: Vec::new(),
            deployment: Value::Null,
            input: Value::Null,
            server: None,
            sleep_pending: false,
        })
    }
}

impl Drop for EvictionModel {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}

#[async_trait]
impl Experiment for EvictionModel {
    type Record = Probe;

    fn name(&self) -> &'static str {
        "eviction-model"
    }

    fn benchmark(&self) -> (String, String) {
        (self.benchmark.clone(), "test".into())
    }

    async fn deploy(&mut self, session: &Session, _done: &[Probe]) -> Result<()> {
        // The driver's TCP server: every connection gets "accepted".
        let listener = tokio::net::TcpListener::bind((
            crate::udp::driver_address().0,
            self.client_port,
        ))
        .await
        .context(
            "failed to start the driver's TCP server (experiments.eviction-model.client-port)",
        )?;
        let port = listener.local_addr()?.port();
        self.server = Some(tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let _ = conn.write_all(b"accepted").await;
                });
            }
        }));
        self.input = session.generated.input.clone();
        self.input["ip-address"] = json!(crate::udp::driver_address().1);
        self.input["port"] = json!(port);
        let memory = session.benchmark.config.memory;
        let base = session.default_function_name();
        for (j, &time) in self.times.iter().enumerate() {
            for copy in 0..self.copies {
                let function =
                    Deployed::http(session, format!("{base}-{j}-{copy}"), memory).await?;
                self.deployment = function.deployment;
                self.functions.push(Probed {
                    copy,
                    time,
                    name: function.name,
                    trigger: function.trigger,
                });
            }
        }
        Ok(())
    }

    async fn next_batch(
        &mut self,
        session: &Session,
        done: &[Probe],
    ) -> Result<Option<Vec<Probe>>> {
        if std::mem::take(&mut self.sleep_pending) && self.sleep > 0.0 {
            tokio::time::sleep(Duration::from_secs_f64(self.sleep)).await;
        }
        for repetition in 0..self.repetitions {
            let pending: Vec<&Probed> = self
                .functions
                .iter()
                .filter(|f| {
                    !done.iter().any(|p| {
                        p.repetition == repetition && p.invocation == f.copy && p.time == f.time
                    })
                })
                .collect();
            if pending.is_empty() {
                continue;
            }
            // A new repetition starts from cold instances, as SeBS's fresh processes do.
            let names: Vec<String> = pending.iter().map(|f| f.name.clone()).collect();
            session.enforce_cold_start(&names).await?;
            let probes: Vec<_> = pending
                .iter()
                .map(|f| {
                    let (trigger, input) = (f.trigger.clone(), self.input.clone());
                    let (time, copy) = (f.time, f.copy);
                    tokio::spawn(async move {
                        probe(trigger.as_ref(), &input, time, copy, repetition).await
                    })
                })
                .collect();
            let mut results = Vec::with_capacity(probes.len());
            for handle in probes {
                if let Ok(p) = handle.await {
                    results.push(p);
                }
            }
            self.sleep_pending = true;
            return Ok(Some(results));
        }
        Ok(None)
    }

    fn status(&self, done: &[Probe]) -> Status {
        let failed = done.iter().filter(|p| p.error.is_some()).count();
        Status {
            phase: "eviction-model probes".into(),
            done: done.len() as u64,
            total: self.repetitions * self.copies * self.times.len() as u64,
            note: format!("{failed} failed"),
        }
    }

    /// `results_<copies>_<repetitions>_<sleep>.json` in SeBS's layout:
    /// `{ "<time>": [ [probe per copy] per repetition ] }`.
    async fn write_results(
        &mut self,
        session: &Session,
        dir: &Path,
        done: &[Probe],
    ) -> Result<PathBuf> {
        if let Some(server) = self.server.take() {
            server.abort();
        }
        let path = dir.join(format!(
            "results_{}_{}_{}.json",
            self.copies,
            self.repetitions,
            format_time(self.sleep)
        ));
        if self.functions.is_empty() {
            // Nothing was deployed: nothing ran.
            return Ok(path);
        }
        let mut by_time: BTreeMap<String, Vec<Vec<&Probe>>> = BTreeMap::new();
        for t in &self.times {
            let reps = (0..self.repetitions)
                .map(|r| {
                    done.iter()
                        .filter(|p| p.time == *t && p.repetition == r)
                        .collect()
                })
                .collect();
            by_time.insert(format_time(*t), reps);
        }
        write_json(
            &path,
            &json!({"results": by_time, "config": session.result_config(self.deployment.clone()), "times": self.times}),
        )?;
        Ok(path)
    }
}

fn format_time(t: f64) -> String {
    if t.fract() == 0.0 {
        format!("{}", t as u64)
    } else {
        format!("{t}")
    }
}

async fn probe(
    trigger: &dyn Trigger,
    input: &Value,
    time: f64,
    invocation: u64,
    repetition: u64,
) -> Probe {
    let first = trigger.invoke(input).await;
    let first_end = chrono::Local::now();
    let first_begin = first_end - chrono::Duration::microseconds(first.times.client as i64);
    // Idle from the end of the first invocation.
    tokio::time::sleep(Duration::from_secs_f64(time)).await;
    let second_begin = chrono::Local::now();
    let second = trigger.invoke(input).await;
    let second_end = chrono::Local::now();
    let error = first
        .error
        .as_ref()
        .or(second.error.as_ref())
        .map(crate::udp::error_line);
    Probe {
        time,
        invocation,
        repetition,
        first: first.stats.cold_start,
        first_times: [epoch(first_begin), epoch(first_end)],
        second: second.stats.cold_start,
        second_times: [epoch(second_begin), epoch(second_end)],
        request_ids: [first.request_id, second.request_id],
        error,
    }
}

/// Per idle time: how many second invocations found the instance evicted.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Row {
    /// Idle time (s).
    pub time: f64,
    /// Probes without errors.
    pub samples: usize,
    /// Second invocation cold.
    pub evicted: usize,
    /// Fraction evicted.
    pub evicted_fraction: f64,
}

/// Eviction threshold: the shortest idle time at which at least half the probes were evicted.
pub fn estimate(rows: &[Row]) -> Option<f64> {
    rows.iter()
        .filter(|r| r.samples > 0)
        .find(|r| r.evicted_fraction >= 0.5)
        .map(|r| r.time)
}

/// Fractions per idle time from probes.
pub fn rows(times: &[f64], probes: &[Probe]) -> Vec<Row> {
    times
        .iter()
        .map(|t| {
            let ok: Vec<&Probe> = probes
                .iter()
                .filter(|p| p.time == *t && p.error.is_none())
                .collect();
            let evicted = ok.iter().filter(|p| p.second).count();
            Row {
                time: *t,
                samples: ok.len(),
                evicted,
                evicted_fraction: if ok.is_empty() {
                    0.0
                } else {
                    evicted as f64 / ok.len() as f64
                },
            }
        })
        .collect()
}

/// `sebs experiment process eviction-model`: `result.csv`, and `result-processed.json` with the
/// threshold estimate checked against the platform's configured keep-alive; exit status 3 when
/// they disagree.
pub async fn process(ctx: &ProcessContext) -> Result<Processed> {
    let dir = ctx.output_dir.join("eviction-model");
    let file = result_files(&dir, "eviction-model", |n| {
        n.starts_with("results_") && n.ends_with(".json")
    })?
    .into_iter()
    .max()
    .with_context(|| {
        format!(
            "no eviction-model results in {}; run the experiment first",
            dir.display()
        )
    })?;
    let text = std::fs::read_to_string(&file)
        .with_context(|| format!("failed to read {}", file.display()))?;
    let doc: Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", file.display()))?;
    let times: Vec<f64> =
        serde_json::from_value(doc["times"].clone()).context("results lack `times`")?;
    let mut probes = Vec::new();
    for reps in doc["results"]
        .as_object()
        .into_iter()
        .flat_map(|m| m.values())
    {
        for rep in reps.as_array().into_iter().flatten() {
            for p in rep.as_array().into_iter().flatten() {
                probes.push(serde_json::from_value::<Probe>(p.clone())?);
            }
        }
    }
    let rows = rows(&times, &probes);
    let csv = dir.join("result.csv");
    sebs_report::csv::write_csv(
        &csv,
        &["time", "samples", "evicted", "evicted_fraction"],
        rows.iter().map(|r| {
            [
                r.time.to_string(),
                r.samples.to_string(),
                r.evicted.to_string(),
                r.evicted_fraction.to_string(),
            ]
        }),
    )?;
    let threshold = estimate(&rows);
    let keep_alive = doc["config"]["deployment"]["resources"]["keep-alive"].as_f64();
    let step = times
        .windows(2)
        .map(|w| (w[1] - w[0]).abs())
        .fold(0.0, f64::max);
    let consistent = match (threshold, keep_alive) {
        (Some(t), Some(k)) => Some((t - k).abs() <= step + 1e-9),
        _ => None,
    };
    write_json(
        &dir.join("result-processed.json"),
        &json!({"rows": rows, "threshold_s": threshold, "configured_keep_alive_s": keep_alive, "probe_step_s": step, "consistent_with_platform": consistent}),
    )?;
    let mut summary = String::new();
    for r in &rows {
        let _ = writeln!(
            summary,
            "idle {:>8} s: {}/{} evicted ({:.0}%)",
            format_time(r.time),
            r.evicted,
            r.samples,
            r.evicted_fraction * 100.0
        );
    }
    let verdict = verdict(threshold, keep_alive, consistent, &times);
    summary.push_str(&verdict);
    summary.push('\n');
    let exit_code = if consistent == Some(false) { 3 } else { 0 };
    if exit_code == 0 {
        let _ = writeln!(summary, "{}", csv.display());
    }
    Ok(Processed {
        path: csv,
        summary,
        exit_code,
    })
}

/// The line that compares the estimate with the platform's keep-alive.
fn verdict(
    threshold: Option<f64>,
    keep_alive: Option<f64>,
    consistent: Option<bool>,
    times: &[f64],
) -> String {
    match (threshold, keep_alive, consistent) {
        (Some(t), Some(k), Some(true)) => format!(
            "estimated eviction after {} s of idleness; the platform's keep-alive is {} s: consistent (within one probe step)",
            format_time(t),
            format_time(k)
        ),
        (Some(t), Some(k), _) => format!(
            "estimated eviction after {} s of idleness; the platform's keep-alive is {} s: INCONSISTENT",
            format_time(t),
            format_time(k)
        ),
        (Some(t), None, _) => format!("estimated eviction after {} s of idleness", format_time(t)),
        (None, _, _) => format!(
            "no eviction observed up to {} s of idleness",
            times.iter().copied().fold(0.0, f64::max)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(time: f64, second: bool) -> Probe {
        Probe {
            time,
            invocation: 0,
            repetition: 0,
            first: true,
            first_times: [0.0, 0.0],
            second,
            second_times: [0.0, 0.0],
            request_ids: [String::new(), String::new()],
            error: None,
        }
    }

    #[test]
    fn threshold_is_the_first_time_with_most_evictions() {
        let probes = vec![
            probe(1.0, false),
            probe(1.0, false),
            probe(2.0, false),
            probe(2.0, true),
            probe(3.0, true),
            probe(3.0, true),
        ];
        let rows = rows(&[1.0, 2.0, 3.0], &probes);
        assert_eq!(rows[1].evicted_fraction, 0.5);
        assert_eq!(estimate(&rows), Some(2.0));
        assert_eq!(estimate(&rows[..1]), None);
    }
}

//! eviction-model (SeBS contract §7.4): for every idle time T, a function is invoked, left idle
//! for T, and invoked again; a cold second invocation means the platform evicted the instance.
//! The process step estimates the eviction threshold from the fraction of evictions per T — on the
//! local platform it must match the configured keep-alive, so the experiment checks the platform
//! and the platform checks the experiment.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

use super::progress::Progress;
use super::{Deployed, EXIT_INTERRUPTED, Journal, result_files, write_json};
use crate::cli::{ExperimentInvokeArgs, ExperimentProcessArgs};
use crate::settings::load_config;
use crate::trigger::{self, Via};

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

/// `sebs experiment invoke eviction-model`.
pub async fn run(args: &ExperimentInvokeArgs) -> Result<i32> {
    let config = load_config(args.common.config.as_deref())?;
    let em = config
        .experiments
        .eviction_model
        .clone()
        .unwrap_or_default();
    let copies = em.invocations.unwrap_or(1).max(1);
    let repetitions = em.repetitions.unwrap_or(5).max(1);
    let times: Vec<f64> = em.times.clone().unwrap_or_else(|| DEFAULT_TIMES.to_vec());
    if times.iter().any(|t| !t.is_finite() || *t < 0.0) {
        bail!("experiments.eviction-model.times: idle times must be non-negative seconds");
    }
    let sleep = em.sleep.unwrap_or(0.0);
    let dir = args.common.output_dir.join("eviction-model");
    let journal_path = dir.join("journal.jsonl");
    Journal::check(&journal_path, args.resume)?;
    let benchmark = em
        .benchmark
        .clone()
        .unwrap_or_else(|| "040.server-reply".into());
    let deployed = Deployed::start(
        &args.common,
        &args.local,
        &args.storage_configuration,
        &benchmark,
        "test",
    )
    .await?;
    let (mut journal, done) = Journal::start::<Probe>(&journal_path, args.resume)?;

    // The driver's TCP server: every connection gets "accepted".
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", em.client_port.unwrap_or(0)))
        .await
        .context(
            "failed to start the driver's TCP server (experiments.eviction-model.client-port)",
        )?;
    let port = listener.local_addr()?.port();
    let server = tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            tokio::spawn(async move {
                let _ = conn.write_all(b"accepted").await;
            });
        }
    });
    let mut input = deployed.prepared.generated.input.clone();
    input["ip-address"] = json!("127.0.0.1");
    input["port"] = json!(port);

    let memory = deployed.prepared.benchmark.config.memory;
    let mut functions = BTreeMap::new();
    let mut deployment = Value::Null;
    for (j, t) in times.iter().enumerate() {
        for c in 0..copies {
            let name = format!("{}-{j}-{c}", deployed.base_name);
            deployment = deployed.deploy(&name, memory, None).await?;
            functions.insert(
                (j, c),
                (name.clone(), deployed.platform.function_url(&name), *t),
            );
        }
    }
    let total = repetitions * copies * times.len() as u64;
    let mut completed: Vec<Probe> = done;
    let progress = Progress::new("eviction-model probes", total, completed.len() as u64);
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let mut interrupted = false;
    for repetition in 0..repetitions {
        let pending: Vec<_> = functions
            .iter()
            .filter(|((_, c), (_, _, t))| {
                !completed
                    .iter()
                    .any(|p| p.repetition == repetition && p.invocation == *c && p.time == *t)
            })
            .map(|((_, c), (name, url, t))| (*c, name.clone(), url.clone(), *t))
            .collect();
        if pending.is_empty() {
            continue;
        }
        // A new repetition starts from cold instances, as SeBS's fresh processes do.
        for (_, name, _, _) in &pending {
            deployed.platform.enforce_cold_start(name)?;
        }
        let probes: Vec<_> = pending
            .into_iter()
            .map(|(copy, _, url, time)| {
                let input = input.clone();
                tokio::spawn(async move { probe(&url, &input, time, copy, repetition).await })
            })
            .collect();
        let results = tokio::select! {
            r = futures_join(probes) => r,
            _ = &mut ctrl_c => { interrupted = true; Vec::new() }
        };
        if interrupted {
            break;
        }
        journal.append(&results)?;
        completed.extend(results);
        let failed = completed.iter().filter(|p| p.error.is_some()).count();
        progress.update(completed.len() as u64, &format!("{failed} failed"));
        if sleep > 0.0 {
            tokio::time::sleep(Duration::from_secs_f64(sleep)).await;
        }
    }
    progress.finish();
    server.abort();

    // SeBS's layout: { "<time>": [ [probe per copy] per repetition ] }.
    let mut by_time: BTreeMap<String, Vec<Vec<&Probe>>> = BTreeMap::new();
    for t in &times {
        let mut reps = Vec::new();
        for r in 0..repetitions {
            reps.push(
                completed
                    .iter()
                    .filter(|p| p.time == *t && p.repetition == r)
                    .collect(),
            );
        }
        by_time.insert(format_time(*t), reps);
    }
    let path = dir.join(format!(
        "results_{copies}_{repetitions}_{}.json",
        format_time(sleep)
    ));
    write_json(
        &path,
        &json!({"results": by_time, "config": deployed.result_config(deployment), "times": times}),
    )?;
    deployed.shutdown().await;
    if interrupted {
        tracing::warn!(
            "interrupted: completed probes are in {}; continue with --resume",
            journal_path.display()
        );
        return Ok(EXIT_INTERRUPTED);
    }
    println!("results: {}", path.display());
    Ok(0)
}

async fn futures_join(handles: Vec<tokio::task::JoinHandle<Probe>>) -> Vec<Probe> {
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        if let Ok(p) = h.await {
            out.push(p);
        }
    }
    out
}

fn format_time(t: f64) -> String {
    if t.fract() == 0.0 {
        format!("{}", t as u64)
    } else {
        format!("{t}")
    }
}

async fn probe(url: &str, input: &Value, time: f64, invocation: u64, repetition: u64) -> Probe {
    let first = trigger::invoke(url, Via::Http, input).await;
    let first_end = chrono::Local::now();
    let first_begin = first_end - chrono::Duration::microseconds(first.times.client as i64);
    // Idle from the end of the first invocation.
    tokio::time::sleep(Duration::from_secs_f64(time)).await;
    let second_begin = chrono::Local::now();
    let second = trigger::invoke(url, Via::Http, input).await;
    let second_end = chrono::Local::now();
    let error = first
        .error
        .as_ref()
        .or(second.error.as_ref())
        .map(|e| format!("{}: {}", e.kind, e.message.lines().next().unwrap_or("")));
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
/// threshold estimate checked against the platform's configured keep-alive.
pub fn process(args: &ExperimentProcessArgs) -> Result<i32> {
    let dir = args.output_dir.join("eviction-model");
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
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&file)?)
        .with_context(|| format!("{} is not JSON", file.display()))?;
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
    let mut csv = String::from("time,samples,evicted,evicted_fraction\n");
    for r in &rows {
        csv.push_str(&format!(
            "{},{},{},{}\n",
            r.time, r.samples, r.evicted, r.evicted_fraction
        ));
    }
    sebs_core::fsutil::write_atomic(&dir.join("result.csv"), csv.as_bytes())?;
    let threshold = estimate(&rows);
    let keep_alive = doc["config"]["deployment"]["resources"]["keep-alive"].as_f64();
    let mut steps: Vec<f64> = times.windows(2).map(|w| (w[1] - w[0]).abs()).collect();
    steps.sort_by(f64::total_cmp);
    let step = steps.last().copied().unwrap_or(0.0);
    let consistent = match (threshold, keep_alive) {
        (Some(t), Some(k)) => Some((t - k).abs() <= step + 1e-9),
        _ => None,
    };
    write_json(
        &dir.join("result-processed.json"),
        &json!({"rows": rows, "threshold_s": threshold, "configured_keep_alive_s": keep_alive, "probe_step_s": step, "consistent_with_platform": consistent}),
    )?;
    for r in &rows {
        println!(
            "idle {:>8} s: {}/{} evicted ({:.0}%)",
            format_time(r.time),
            r.evicted,
            r.samples,
            r.evicted_fraction * 100.0
        );
    }
    match (threshold, keep_alive, consistent) {
        (Some(t), Some(k), Some(true)) => println!(
            "estimated eviction after {} s of idleness; the platform's keep-alive is {} s: consistent (within one probe step)",
            format_time(t),
            format_time(k)
        ),
        (Some(t), Some(k), _) => {
            println!(
                "estimated eviction after {} s of idleness; the platform's keep-alive is {} s: INCONSISTENT",
                format_time(t),
                format_time(k)
            );
            return Ok(3);
        }
        (Some(t), None, _) => println!("estimated eviction after {} s of idleness", format_time(t)),
        (None, _, _) => println!(
            "no eviction observed up to {} s of idleness",
            times.iter().copied().fold(0.0, f64::max)
        ),
    }
    println!("{}", dir.join("result.csv").display());
    Ok(0)
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

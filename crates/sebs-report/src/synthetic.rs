//! Synthetic results directories in the formats `sebs` writes, drawn from seeded distributions:
//! for tests (of the report, the comparison and the browser rendering) and for trying `sebs
//! report` without running anything. Nothing here is a measurement.

use std::path::Path;

use anyhow::Result;
use sebs_core::result::{ExecutionResult, ExperimentResult, InvocationError};
use serde_json::{Value, json};

use crate::csv::write_csv;
use crate::files::write_json;
use crate::significance::SplitMix64;

/// Draws from simple distributions.
struct Draw(SplitMix64);

impl Draw {
    fn uniform(&mut self) -> f64 {
        (self.0.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A standard normal draw (Box–Muller).
    fn normal(&mut self) -> f64 {
        let u = self.uniform().max(f64::MIN_POSITIVE);
        let v = self.uniform();
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }

    /// A log-normal draw with median `median` and log-scale spread `sigma`.
    fn lognormal(&mut self, median: f64, sigma: f64) -> f64 {
        median * (sigma * self.normal()).exp()
    }
}

/// The shape of a synthetic `benchmark invoke` run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BenchmarkShape {
    /// Invocations.
    pub invocations: usize,
    /// Seed of the draws.
    pub seed: u64,
    /// Factor on every time (1.1: a 10% slowdown).
    pub scale: f64,
    /// Median warm function time (µs).
    pub function_us: f64,
    /// Every how many invocations one fails (0: none).
    pub fail_every: usize,
    /// Billed memory (MB); billing and provider times are filled when set.
    pub memory_mb: Option<u64>,
    /// Every invocation a cold start (otherwise only the first).
    pub all_cold: bool,
}

impl Default for BenchmarkShape {
    fn default() -> Self {
        BenchmarkShape {
            invocations: 200,
            seed: 1,
            scale: 1.0,
            function_us: 8_000.0,
            fail_every: 0,
            memory_mb: Some(256),
            all_cold: false,
        }
    }
}

/// Timestamp `seconds` after 2026-12-01 10:00:00, as `client_begin` is written.
fn timestamp(seconds: f64) -> String {
    let whole = seconds.floor() as u64;
    let micros = ((seconds - whole as f64) * 1e6).round().min(999_999.0) as u64;
    let (h, m, s) = (10 + whole / 3600, (whole / 60) % 60, whole % 60);
    format!("2026-12-01 {h:02}:{m:02}:{s:02}.{micros:06}")
}

/// The invocations of one function: a cold start first, then warm ones, one every 50 ms.
fn invocations(shape: &BenchmarkShape, draw: &mut Draw, start: f64) -> Vec<ExecutionResult> {
    (0..shape.invocations)
        .map(|i| {
            let cold = i == 0 || shape.all_cold;
            let mut r = ExecutionResult {
                request_id: format!("req-{:08x}-{i:06}", shape.seed),
                ..Default::default()
            };
            let begin = start + i as f64 * 0.05;
            r.times.client_begin = timestamp(begin);
            if shape.fail_every > 0 && i % shape.fail_every == shape.fail_every - 1 {
                r.stats.failure = true;
                r.times.client = 2_000;
                r.output = json!("Task timed out");
                r.error = Some(InvocationError {
                    kind: "Timeout".into(),
                    message: "the function did not answer within 10 s".into(),
                    traceback: vec![],
                });
                return r;
            }
            let function = draw.lognormal(shape.function_us, 0.15) * shape.scale;
            let download = function * 0.25;
            let upload = function * 0.1;
            let provider = function + draw.lognormal(400.0, 0.3) * shape.scale;
            let init = if cold {
                draw.lognormal(180_000.0, 0.1)
            } else {
                0.0
            };
            let client = provider + init + draw.lognormal(900.0, 0.25) * shape.scale;
            r.stats.cold_start = cold;
            r.times.benchmark = function.round() as u64;
            r.times.client = client.round() as u64;
            r.times.client_end = timestamp(begin + client / 1e6);
            r.output = json!({"is_cold": cold, "result": {"measurement": {
                "compute_time": (function - download - upload).round(),
                "download_time": download.round(), "upload_time": upload.round()}}});
            if let Some(memory) = shape.memory_mb {
                r.provider_times.execution = provider.round() as u64;
                r.provider_times.initialization = init.round() as u64;
                let billed = (provider / 1000.0).ceil() as u64;
                r.billing.billed_time = Some(billed);
                r.billing.memory = Some(memory);
                r.billing.gb_seconds = billed as f64 / 1000.0 * memory as f64 / 1024.0;
            }
            r
        })
        .collect()
}

fn config(experiment: Value) -> Value {
    json!({
        "experiments": {"runtime": {"language": "python", "version": "3.11"},
                        "architecture": "x64", "experiments": experiment},
        "deployment": {"name": "local", "region": "", "credentials": {},
                       "resources": {"keep-alive": 2.0}},
    })
}

/// A result file of `shape` for function `function`.
fn experiment(function: &str, shape: &BenchmarkShape, start: f64) -> ExperimentResult {
    let mut draw = Draw(SplitMix64::new(shape.seed));
    let mut e = ExperimentResult::default();
    for r in invocations(shape, &mut draw, start) {
        e.add(function, r);
    }
    e.begin_time = 1_796_119_200.0 + start;
    e.end_time = e.begin_time + shape.invocations as f64 * 0.05;
    e.config = config(json!({}));
    e
}

/// `dir/results.json` as `sebs benchmark invoke` then `process` write it.
pub fn benchmark_run(dir: &Path, shape: &BenchmarkShape) -> Result<()> {
    let e = experiment("sebs-local-110.dynamic-html-python-3.11", shape, 0.0);
    write_json(&dir.join("results.json"), &e)
}

/// perf-cost's processed files for 128, 256 and 512 MB, cold and warm: time shrinks and cost
/// grows with memory.
pub fn perf_cost_run(dir: &Path) -> Result<()> {
    for (i, memory) in [128u64, 256, 512].into_iter().enumerate() {
        for (j, kind) in ["cold", "warm"].into_iter().enumerate() {
            let shape = BenchmarkShape {
                invocations: if kind == "cold" { 10 } else { 60 },
                seed: 10 + (i * 2 + j) as u64,
                function_us: 40_000.0 * 128.0 / memory as f64 + 5_000.0,
                memory_mb: Some(memory),
                all_cold: kind == "cold",
                ..BenchmarkShape::default()
            };
            let mut e = experiment("sebs-local-110.dynamic-html-python-3.11", &shape, i as f64);
            e.config = config(json!({"perf-cost": {"memory-sizes": [128, 256, 512]}}));
            let name = format!("{kind}_results_{memory}-processed.json");
            write_json(&dir.join(name), &e)?;
        }
    }
    Ok(())
}

/// eviction-model's files: every probe evicted from 2.5 s of idle time, keep-alive 2 s.
pub fn eviction_run(dir: &Path) -> Result<()> {
    let times = [0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5];
    let rows: Vec<Value> = times
        .iter()
        .map(|&t| {
            let evicted = if t > 2.0 { 4 } else { u64::from(t == 2.0) };
            json!({"time": t, "samples": 4, "evicted": evicted, "evicted_fraction": evicted as f64 / 4.0})
        })
        .collect();
    write_json(
        &dir.join("results_4_1_3.5.json"),
        &json!({"results": {}, "begin_time": 1_796_119_200.0, "end_time": 1_796_119_215.0,
                "config": config(json!({"eviction-model": {"times": times}}))}),
    )?;
    write_json(
        &dir.join("result-processed.json"),
        &json!({"rows": rows, "threshold_s": 2.5, "configured_keep_alive_s": 2.0,
                "probe_step_s": 0.5, "consistent_with_platform": true}),
    )
}

/// network-ping-pong's processed round trips: 0.2 ms with a tail.
pub fn ping_pong_run(dir: &Path) -> Result<()> {
    let mut draw = Draw(SplitMix64::new(5));
    let rows: Vec<[String; 7]> = (0..1000)
        .map(|i| {
            let rtt = draw.lognormal(0.000_2, 0.2) + if i % 40 == 0 { 0.000_3 } else { 0.0 };
            let send = 1_796_119_200.0 + f64::from(i) * 0.001;
            [
                "req-1".into(),
                i.to_string(),
                format!("{send:.6}"),
                format!("{:.6}", send + rtt / 2.0),
                format!("{:.6}", send + rtt / 2.0),
                format!("{:.6}", send + rtt),
                format!("{rtt:.9}"),
            ]
        })
        .collect();
    write_csv(
        &dir.join("server-req-1.csv"),
        &["id", "server_rcv", "server_send"],
        [["0", "0", "0"]],
    )?;
    write_csv(
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
    )
}

/// invocation-overhead's processed payload sweep (`dir` is `<output-dir>/invocation-overhead`):
/// 1 KiB to 1 MiB, five warm and five cold samples each; time grows with size.
pub fn overhead_run(dir: &Path) -> Result<()> {
    let dir = dir.join("payload");
    let mut draw = Draw(SplitMix64::new(6));
    let mut rows = Vec::new();
    for size in [1024u64, 263_168, 525_312, 787_456, 1_049_600] {
        for cold in [false, true] {
            for rep in 0..5 {
                let base = if cold { 0.150 } else { 0.002 };
                let t = base + size as f64 / 2.0e8 + draw.lognormal(0.000_5, 0.3);
                rows.push([
                    size.to_string(),
                    rep.to_string(),
                    cold.to_string(),
                    "0.000100".into(),
                    "0".into(),
                    "0".into(),
                    format!("req-{size}-{cold}-{rep}"),
                    "0.0".into(),
                    "0.0".into(),
                    format!("{t:.9}"),
                ]);
            }
        }
    }
    write_csv(&dir.join("result.csv"), &["size"], [["0"]])?;
    write_csv(
        &dir.join("result-processed.csv"),
        &[
            "payload_size",
            "repetition",
            "is_cold",
            "connection_time",
            "start_timestamp",
            "finish_timestamp",
            "request_id",
            "clock_drift_mean",
            "clock_drift_std",
            "invocation_time",
        ],
        rows,
    )
}

/// `benchmark regression`'s files: two passing tests and one that failed validation.
pub fn regression_run(dir: &Path) -> Result<()> {
    for (k, (benchmark, passed)) in [
        ("110.dynamic-html", true),
        ("120.uploader", true),
        ("210.thumbnailer", false),
    ]
    .into_iter()
    .enumerate()
    {
        let shape = BenchmarkShape {
            invocations: 3,
            seed: 20 + k as u64,
            memory_mb: None,
            ..BenchmarkShape::default()
        };
        let mut draw = Draw(SplitMix64::new(shape.seed));
        let mut invocations = invocations(&shape, &mut draw, k as f64 * 10.0);
        if !passed {
            invocations[2].validation = Some(sebs_core::result::Validation {
                passed: false,
                message: Some("the thumbnail is 0 bytes".into()),
            });
        }
        let test = format!("{benchmark}-python");
        write_json(
            &dir.join(format!("regression_local_{benchmark}_python_x64.json")),
            &json!({"test": test, "benchmark": benchmark, "language": "python",
                    "language_version": "3.11", "architecture": "x64", "deployment": "local",
                    "size": "test", "trigger": "http", "passed": passed,
                    "reason": (!passed).then_some("invocation 3: validation: the thumbnail is 0 bytes"),
                    "seconds": 4.5 + k as f64, "input": {}, "invocations": invocations}),
        )?;
    }
    Ok(())
}

/// Every kind of results directory under `dir`, as `--output-dir` of each command would hold
/// them: `invoke/`, `regression/`, `perf-cost/`, `invocation-overhead/payload/`,
/// `network-ping-pong/` and `eviction-model/`.
pub fn all_runs(dir: &Path) -> Result<()> {
    let sub = |name: &str| -> Result<std::path::PathBuf> {
        let path = dir.join(name);
        std::fs::create_dir_all(&path)?;
        Ok(path)
    };
    benchmark_run(
        &sub("invoke")?,
        &BenchmarkShape {
            fail_every: 97,
            ..BenchmarkShape::default()
        },
    )?;
    regression_run(&sub("regression")?)?;
    perf_cost_run(&sub("perf-cost")?)?;
    overhead_run(&sub("invocation-overhead")?)?;
    ping_pong_run(&sub("network-ping-pong")?)?;
    eviction_run(&sub("eviction-model")?)
}

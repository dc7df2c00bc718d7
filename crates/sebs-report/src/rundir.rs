//! Results directories as `sebs` writes them, recognised by their files and read into one
//! model ([`Run`]): `benchmark invoke` (`experiments.json`, `results.json` after `process`),
//! `benchmark regression` (`regression_*.json`) and the four experiments' directories. A
//! directory holding none of these is searched one level down (two for invocation-overhead's
//! `<type>/` sweeps), so `--output-dir` of several experiments reports them all.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use serde_json::Value;

use crate::csv::{Table, read_csv};
use crate::dataset::{Group, RawInvocation, group_of, read_result_file};

/// What produced a results directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RunKind {
    /// `sebs benchmark invoke`.
    Benchmark,
    /// `sebs benchmark regression`.
    Regression,
    /// `sebs experiment invoke perf-cost`.
    PerfCost,
    /// `sebs experiment invoke invocation-overhead`.
    InvocationOverhead,
    /// `sebs experiment invoke network-ping-pong`.
    NetworkPingPong,
    /// `sebs experiment invoke eviction-model`.
    EvictionModel,
    /// `sebs experiment invoke scaling`.
    Scaling,
}

impl RunKind {
    /// The command that writes it, for titles and messages.
    pub fn title(self) -> &'static str {
        match self {
            RunKind::Benchmark => "benchmark invoke",
            RunKind::Regression => "benchmark regression",
            RunKind::PerfCost => "perf-cost",
            RunKind::InvocationOverhead => "invocation-overhead",
            RunKind::NetworkPingPong => "network-ping-pong",
            RunKind::EvictionModel => "eviction-model",
            RunKind::Scaling => "scaling",
        }
    }
}

/// One processed invocation-overhead sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OverheadRow {
    /// Payload or code package size (bytes).
    pub size: f64,
    /// Whether the invocation was cold.
    pub cold: bool,
    /// Request arrival minus send time, clock drift removed (s).
    pub invocation_time: f64,
}

/// One idle time probed by eviction-model.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct EvictionRow {
    /// Idle time (s).
    pub time: f64,
    /// Probes.
    pub samples: u64,
    /// Probes whose second invocation was cold.
    pub evicted: u64,
    /// `evicted / samples`.
    pub evicted_fraction: f64,
}

/// eviction-model's processed results.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Eviction {
    /// One row per idle time, sorted by time.
    pub rows: Vec<EvictionRow>,
    /// The estimated eviction threshold (s).
    pub threshold: Option<f64>,
    /// The platform's configured keep-alive (s), known on the local platform.
    pub keep_alive: Option<f64>,
}

/// scaling's processed series: the columns of `timeseries.csv` (one row per second) and of
/// `load-latency.csv` (one row per level of offered load) by name; empty cells are `None`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScalingSeries {
    /// `timeseries.csv`.
    pub seconds: std::collections::BTreeMap<String, Vec<Option<f64>>>,
    /// `load-latency.csv`.
    pub levels: std::collections::BTreeMap<String, Vec<Option<f64>>>,
}

/// A regression test's outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct RegressionTest {
    /// `<benchmark>-<language>`.
    pub test: String,
    /// Whether it passed.
    pub passed: bool,
    /// Why it failed.
    pub reason: Option<String>,
    /// Wall time of the whole test (s).
    pub seconds: f64,
}

/// A results directory, read.
#[derive(Debug, Clone)]
pub struct Run {
    /// What produced it.
    pub kind: RunKind,
    /// The directory (or the result file given).
    pub path: PathBuf,
    /// The files read, sorted.
    pub files: Vec<PathBuf>,
    /// Invocations by function and configuration.
    pub groups: Vec<Group>,
    /// The `config` block of the first result file (Null when there is none).
    pub config: Value,
    /// First start and last end of the result files (epoch seconds).
    pub span: Option<(f64, f64)>,
    /// invocation-overhead: the sweep (`payload` or `code`) and its processed samples.
    pub overhead: Option<(String, Vec<OverheadRow>)>,
    /// network-ping-pong: round-trip times (s).
    pub rtts: Vec<f64>,
    /// eviction-model: the eviction curve.
    pub eviction: Option<Eviction>,
    /// scaling: the per-second series and latency against offered load.
    pub scaling: Option<ScalingSeries>,
    /// benchmark regression: the tests.
    pub tests: Vec<RegressionTest>,
    /// What the reader of the report should know (e.g. results that were not processed).
    pub notes: Vec<String>,
}

impl Run {
    fn new(kind: RunKind, path: &Path) -> Run {
        Run {
            kind,
            path: path.to_owned(),
            files: Vec::new(),
            groups: Vec::new(),
            config: Value::Null,
            span: None,
            overhead: None,
            rtts: Vec::new(),
            eviction: None,
            scaling: None,
            tests: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// A short title: `perf-cost: out/perf-cost`.
    pub fn title(&self) -> String {
        format!("{}: {}", self.kind.title(), self.path.display())
    }

    fn add_span(&mut self, begin: f64, end: f64) {
        if begin <= 0.0 || end < begin {
            return;
        }
        self.span = Some(match self.span {
            None => (begin, end),
            Some((b, e)) => (b.min(begin), e.max(end)),
        });
    }
}

/// Names of the files of `dir` (not directories), sorted.
fn file_names(dir: &Path) -> Result<Vec<String>> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .with_context(|| format!("failed to read {}", dir.display()))?
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    Ok(names)
}

/// Read every run under `path`: a result file, a results directory, or a directory of them.
/// Errors say which commands write what is expected.
pub fn load_runs(path: &Path) -> Result<Vec<Run>> {
    if path.is_file() {
        let mut run = Run::new(RunKind::Benchmark, path);
        add_result_file(&mut run, path, "", None)?;
        return Ok(vec![run]);
    }
    if !path.is_dir() {
        bail!(
            "{} does not exist; pass the --output-dir of a `sebs benchmark invoke`, `benchmark regression` or `experiment invoke` run",
            path.display()
        );
    }
    if let Some(run) = load_dir(path)? {
        return Ok(vec![run]);
    }
    let mut runs = Vec::new();
    let mut subdirs: Vec<PathBuf> = std::fs::read_dir(path)
        .with_context(|| format!("failed to read {}", path.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    subdirs.sort();
    for sub in subdirs {
        if let Some(run) = load_dir(&sub)? {
            runs.push(run);
            continue;
        }
        // invocation-overhead keeps each sweep in `<type>/`.
        if sub.file_name().is_some_and(|n| n == "invocation-overhead") {
            for sweep in ["payload", "code"] {
                if let Some(run) = load_dir(&sub.join(sweep)).ok().flatten() {
                    runs.push(run);
                }
            }
        }
    }
    if runs.is_empty() {
        bail!(
            "no sebs results in {}: expected experiments.json or results.json (`sebs benchmark invoke`), regression_*.json (`sebs benchmark regression`) or an experiment's directory (`sebs experiment invoke` then `sebs experiment process`)",
            path.display()
        );
    }
    Ok(runs)
}

/// The run in `dir` itself, if its files say what wrote it.
fn load_dir(dir: &Path) -> Result<Option<Run>> {
    if !dir.is_dir() {
        return Ok(None);
    }
    let names = file_names(dir)?;
    let has = |name: &str| names.iter().any(|n| n == name);
    let any = |f: &dyn Fn(&str) -> bool| names.iter().any(|n| f(n));
    let kind = if has("scaling.json") {
        RunKind::Scaling
    } else if has("results.json") || has("experiments.json") {
        RunKind::Benchmark
    } else if any(&|n| n.starts_with("regression_") && n.ends_with(".json")) {
        RunKind::Regression
    } else if any(&|n| n.contains("_results_") && n.ends_with(".json")) {
        RunKind::PerfCost
    } else if any(&|n| n.starts_with("results_") && n.ends_with(".json")) {
        RunKind::EvictionModel
    } else if dir
        .parent()
        .and_then(Path::file_name)
        .is_some_and(|n| n == "invocation-overhead")
        && (has("result.csv") || has("result-processed.csv"))
    {
        RunKind::InvocationOverhead
    } else if any(&|n| n.starts_with("server-") && n.ends_with(".csv")) {
        RunKind::NetworkPingPong
    } else {
        return Ok(None);
    };
    let mut run = Run::new(kind, dir);
    match kind {
        RunKind::Benchmark => {
            // results.json is experiments.json with provider metrics filled in.
            let name = if has("results.json") {
                "results.json"
            } else {
                run.notes.push("experiments.json has no provider times or billing yet: run `sebs benchmark process` for them".into());
                "experiments.json"
            };
            add_result_file(&mut run, &dir.join(name), "", None)?;
        }
        RunKind::Regression => load_regression(&mut run, dir, &names)?,
        RunKind::PerfCost => load_perf_cost(&mut run, dir, &names)?,
        RunKind::EvictionModel => load_eviction(&mut run, dir, &names)?,
        RunKind::InvocationOverhead => load_overhead(&mut run, dir, &names)?,
        RunKind::NetworkPingPong => load_ping_pong(&mut run, dir, &names)?,
        RunKind::Scaling => load_scaling(&mut run, dir, &names)?,
    }
    Ok(Some(run))
}

fn add_result_file(
    run: &mut Run,
    path: &Path,
    configuration: &str,
    memory: Option<u64>,
) -> Result<()> {
    let file = read_result_file(path, configuration, memory)?;
    if run.config.is_null() {
        run.config = file.config;
    }
    run.add_span(file.begin_time, file.end_time);
    run.groups.extend(file.groups);
    run.files.push(path.to_owned());
    Ok(())
}

/// A regression test's file: the outcome and its invocations.
#[derive(Deserialize)]
struct RegressionFile {
    test: String,
    #[serde(default)]
    language: String,
    passed: bool,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    seconds: f64,
    #[serde(default)]
    invocations: Vec<RawInvocation>,
}

fn load_regression(run: &mut Run, dir: &Path, names: &[String]) -> Result<()> {
    for name in names
        .iter()
        .filter(|n| n.starts_with("regression_") && n.ends_with(".json"))
    {
        let path = dir.join(name);
        let file = std::fs::File::open(&path)
            .with_context(|| format!("failed to read {}", path.display()))?;
        let test: RegressionFile = serde_json::from_reader(std::io::BufReader::new(file))
            .map_err(|e| {
                anyhow::anyhow!(
                    "{} is not a regression test's result ({e}); expected a file written by `sebs benchmark regression`",
                    path.display()
                )
            })?;
        run.tests.push(RegressionTest {
            test: test.test.clone(),
            passed: test.passed,
            reason: test.reason,
            seconds: test.seconds,
        });
        if !test.invocations.is_empty() {
            run.groups
                .push(group_of(&test.test, &test.language, test.invocations));
        }
        run.files.push(path);
    }
    Ok(())
}

/// `cold_results_128.json` or `warm_results_256-processed.json` → (`cold`, 128).
fn perf_cost_name(name: &str) -> Option<(&str, u64)> {
    let stem = name.strip_suffix(".json")?;
    let stem = stem.strip_suffix("-processed").unwrap_or(stem);
    let (kind, memory) = stem.split_once("_results_")?;
    Some((kind, memory.parse().ok()?))
}

fn load_perf_cost(run: &mut Run, dir: &Path, names: &[String]) -> Result<()> {
    let mut configs: Vec<(u64, &str, &String)> = Vec::new();
    let mut unprocessed = 0;
    for name in names {
        let Some((kind, memory)) = perf_cost_name(name) else {
            continue;
        };
        let processed = name.ends_with("-processed.json");
        let twin = if processed {
            None
        } else {
            Some(name.replace(".json", "-processed.json"))
        };
        // Prefer the processed file of a configuration (provider times and billing).
        if twin.as_ref().is_some_and(|t| names.contains(t)) {
            continue;
        }
        unprocessed += usize::from(!processed);
        configs.push((memory, kind, name));
    }
    // Memory first, then the types in the experiment's order.
    let order = |kind: &str| {
        ["cold", "warm", "burst", "sequential"]
            .iter()
            .position(|k| *k == kind)
            .unwrap_or(4)
    };
    configs.sort_by_key(|(memory, kind, _)| (*memory, order(kind)));
    for (memory, kind, name) in configs {
        add_result_file(
            run,
            &dir.join(name),
            &format!("{kind}, {memory} MB"),
            Some(memory),
        )?;
    }
    if unprocessed > 0 {
        run.notes.push(format!("{unprocessed} configuration(s) not processed: run `sebs experiment process perf-cost` for provider times and billing"));
    }
    Ok(())
}

fn load_eviction(run: &mut Run, dir: &Path, names: &[String]) -> Result<()> {
    run.files.extend(
        names
            .iter()
            .filter(|n| n.starts_with("results_") && n.ends_with(".json"))
            .map(|n| dir.join(n)),
    );
    let processed = dir.join("result-processed.json");
    if !processed.is_file() {
        run.notes.push(
            "not processed: run `sebs experiment process eviction-model` for the eviction curve"
                .into(),
        );
        return Ok(());
    }
    let text = std::fs::read_to_string(&processed)
        .with_context(|| format!("failed to read {}", processed.display()))?;
    let doc: Value = serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not valid JSON; run `sebs experiment process eviction-model` again",
            processed.display()
        )
    })?;
    let mut rows: Vec<EvictionRow> =
        serde_json::from_value(doc["rows"].clone()).with_context(|| {
            format!(
                "{} has no valid `rows`; run `sebs experiment process eviction-model` again",
                processed.display()
            )
        })?;
    rows.sort_by(|a, b| a.time.total_cmp(&b.time));
    run.eviction = Some(Eviction {
        rows,
        threshold: doc["threshold_s"].as_f64(),
        keep_alive: doc["configured_keep_alive_s"].as_f64(),
    });
    // The raw file's config block describes the run.
    if let Some(first) = run.files.first()
        && let Ok(raw) = std::fs::read_to_string(first)
        && let Ok(doc) = serde_json::from_str::<Value>(&raw)
    {
        run.config = doc["config"].clone();
        if let (Some(b), Some(e)) = (doc["begin_time"].as_f64(), doc["end_time"].as_f64()) {
            run.add_span(b, e);
        }
    }
    run.files.push(processed);
    Ok(())
}

/// The column `name` of `table`, as numbers; errors name the file and the row.
fn numbers(table: &Table, path: &Path, name: &str) -> Result<Vec<f64>> {
    let Some(i) = table.column(name) else {
        bail!(
            "{} has no `{name}` column; run `sebs experiment process` again to rewrite it",
            path.display()
        );
    };
    table
        .records
        .iter()
        .map(|r| {
            let field = r.fields.get(i).map(String::as_str).unwrap_or("");
            field.trim().parse::<f64>().map_err(|_| {
                anyhow::anyhow!(
                    "{} line {}: `{field}` in column `{name}` is not a number",
                    path.display(),
                    r.line
                )
            })
        })
        .collect()
}

fn load_overhead(run: &mut Run, dir: &Path, names: &[String]) -> Result<()> {
    let sweep = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if !names.iter().any(|n| n == "result-processed.csv") {
        run.notes.push(format!("the {sweep} sweep is not processed: run `sebs experiment process invocation-overhead` for invocation times"));
        run.files.push(dir.join("result.csv"));
        run.overhead = Some((sweep, Vec::new()));
        return Ok(());
    }
    let path = dir.join("result-processed.csv");
    let table = read_csv(&path)?;
    let sizes = numbers(&table, &path, "payload_size")?;
    let times = numbers(&table, &path, "invocation_time")?;
    let Some(cold_column) = table.column("is_cold") else {
        bail!(
            "{} has no `is_cold` column; run `sebs experiment process invocation-overhead` again",
            path.display()
        );
    };
    let rows = table
        .records
        .iter()
        .zip(sizes.iter().zip(&times))
        .map(|(r, (&size, &invocation_time))| OverheadRow {
            size,
            cold: r
                .fields
                .get(cold_column)
                .is_some_and(|v| matches!(v.trim(), "True" | "true" | "1")),
            invocation_time,
        })
        .collect();
    run.overhead = Some((sweep, rows));
    run.files.push(path);
    Ok(())
}

fn load_ping_pong(run: &mut Run, dir: &Path, names: &[String]) -> Result<()> {
    if !names.iter().any(|n| n == "result-processed.csv") {
        run.notes.push(
            "not processed: run `sebs experiment process network-ping-pong` for round-trip times"
                .into(),
        );
        return Ok(());
    }
    let path = dir.join("result-processed.csv");
    let table = read_csv(&path)?;
    run.rtts = numbers(&table, &path, "rtt")?;
    run.files.push(path);
    Ok(())
}

/// Every column of a CSV file as optional numbers (an empty cell: not measured).
fn columns(path: &Path) -> Result<std::collections::BTreeMap<String, Vec<Option<f64>>>> {
    let table = read_csv(path)?;
    let mut out = std::collections::BTreeMap::new();
    for (i, name) in table.header.iter().enumerate() {
        let values = table
            .records
            .iter()
            .map(|r| {
                let field = r.fields.get(i).map_or("", |f| f.trim());
                if field.is_empty() {
                    return Ok(None);
                }
                field.parse::<f64>().map(Some).map_err(|_| {
                    anyhow::anyhow!(
                        "{} line {}: `{field}` in column `{name}` is not a number; run `sebs experiment process scaling` again",
                        path.display(),
                        r.line
                    )
                })
            })
            .collect::<Result<Vec<_>>>()?;
        out.insert(name.clone(), values);
    }
    Ok(out)
}

/// The headline figures of scaling's `summary.json`, for the report's notes.
fn scaling_notes(doc: &Value) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(counts) = doc["requests"].as_object() {
        let total: u64 = counts.values().filter_map(Value::as_u64).sum();
        let parts: Vec<String> = counts
            .iter()
            .filter(|(_, n)| n.as_u64().unwrap_or(0) > 0)
            .map(|(k, n)| format!("{n} {k}"))
            .collect();
        out.push(format!(
            "{total} requests ({}); {} cold starts; {} distinct instances",
            parts.join(", "),
            doc["cold_starts"],
            doc["instances_seen"]
        ));
    }
    if let Some(p99) = doc["driver_lag_ms"]["p99"].as_f64() {
        out.push(format!(
            "driver lag p99 {p99:.3} ms (max {:.3} ms): how late requests left, included in response times",
            doc["driver_lag_ms"]["max"].as_f64().unwrap_or(0.0)
        ));
    }
    for step in doc["time_to_scale"].as_array().into_iter().flatten() {
        let when = step["seconds"]
            .as_f64()
            .map_or("not reached".to_owned(), |s| format!("{s:.2} s"));
        out.push(format!(
            "time to scale to {} req/s (step at {} s): {when}",
            step["target_rps"], step["at"]
        ));
    }
    out
}

fn load_scaling(run: &mut Run, dir: &Path, names: &[String]) -> Result<()> {
    let raw = dir.join("scaling.json");
    run.files.push(raw.clone());
    if let Ok(text) = std::fs::read_to_string(&raw)
        && let Ok(doc) = serde_json::from_str::<Value>(&text)
    {
        run.config = doc["config"].clone();
        if let (Some(b), Some(e)) = (doc["begin_time"].as_f64(), doc["end_time"].as_f64()) {
            run.add_span(b, e);
        }
    }
    if !names.iter().any(|n| n == "timeseries.csv") {
        run.notes.push(
            "not processed: run `sebs experiment process scaling` for the time series".into(),
        );
        return Ok(());
    }
    let seconds = dir.join("timeseries.csv");
    let mut series = ScalingSeries {
        seconds: columns(&seconds)?,
        ..ScalingSeries::default()
    };
    run.files.push(seconds);
    let summary = dir.join("summary.json");
    if let Ok(text) = std::fs::read_to_string(&summary)
        && let Ok(doc) = serde_json::from_str::<Value>(&text)
    {
        run.notes.extend(scaling_notes(&doc));
    }
    let levels = dir.join("load-latency.csv");
    if levels.is_file() {
        series.levels = columns(&levels)?;
        run.files.push(levels);
    }
    run.scaling = Some(series);
    Ok(())
}

#[cfg(test)]
mod tests;

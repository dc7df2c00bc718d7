//! perf-cost (SeBS contract §7.1): for each memory size and each type (`cold`, `warm`, `burst`,
//! `sequential`), batches of concurrent invocations until the requested number of samples; cold
//! starts enforced before each cold and burst batch; a warm-up batch discarded first; cold/warm
//! mismatches counted as incorrect and failures counted.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use sebs_core::config::PerfCostConfig;
use sebs_core::result::{ExecutionResult, ExperimentResult};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::progress::Progress;
use super::{
    Deployed, EXIT_INTERRUPTED, Journal, client_statistics, epoch_now, result_files, write_json,
};
use crate::cli::{ExperimentInvokeArgs, ExperimentProcessArgs};
use crate::settings::load_config;
use crate::trigger::{self, Via};

/// The four invocation patterns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Every sample a cold start.
    Cold,
    /// Every sample warm.
    Warm,
    /// Concurrent batches after enforcing cold starts: cold and warm mixed.
    Burst,
    /// One invocation at a time.
    Sequential,
}

impl Kind {
    fn parse(s: &str) -> Result<Kind> {
        Ok(match s {
            "cold" => Kind::Cold,
            "warm" => Kind::Warm,
            "burst" => Kind::Burst,
            "sequential" => Kind::Sequential,
            other => bail!(
                "experiments.perf-cost.experiments: unknown type `{other}`; expected cold, warm, burst or sequential"
            ),
        })
    }

    fn as_str(self) -> &'static str {
        match self {
            Kind::Cold => "cold",
            Kind::Warm => "warm",
            Kind::Burst => "burst",
            Kind::Sequential => "sequential",
        }
    }
}

/// What became of an invocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// A sample.
    Kept,
    /// Cold when warm was wanted, or the reverse.
    Incorrect,
    /// Failed.
    Failed,
    /// Valid, beyond the requested count.
    Surplus,
}

/// One journal line.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    /// Experiment type.
    #[serde(rename = "type")]
    pub kind: Kind,
    /// Memory size (MB).
    pub memory: u64,
    /// Batch number within the configuration.
    pub batch: u64,
    /// What became of it.
    pub status: Status,
    /// The invocation.
    pub result: ExecutionResult,
}

/// Resolved settings.
struct Plan {
    benchmark: String,
    size: String,
    kinds: Vec<Kind>,
    repetitions: u64,
    concurrency: u64,
    memories: Vec<u64>,
}

fn plan(config: &PerfCostConfig, default_memory: Option<u64>) -> Result<Plan> {
    let benchmark = config
        .benchmark
        .clone()
        .context("experiments.perf-cost.benchmark is missing; set it in the config (see configs/perf-cost.json)")?;
    let kinds = config
        .experiments
        .clone()
        .unwrap_or_else(|| vec!["cold".into(), "warm".into()])
        .iter()
        .map(|k| Kind::parse(k))
        .collect::<Result<Vec<_>>>()?;
    let repetitions = config.repetitions.unwrap_or(50);
    let concurrency = config.concurrent_invocations.unwrap_or(10);
    if repetitions == 0 || concurrency == 0 {
        bail!(
            "experiments.perf-cost: `repetitions` and `concurrent-invocations` must be at least 1"
        );
    }
    let memories = match &config.memory_sizes {
        Some(m) if !m.is_empty() => m.clone(),
        _ => default_memory.into_iter().collect(),
    };
    Ok(Plan {
        benchmark,
        size: config.input_size.clone().unwrap_or_else(|| "test".into()),
        kinds,
        repetitions,
        concurrency,
        memories,
    })
}

/// Results file name: `<type>_results_<memory>.json`.
fn results_name(kind: Kind, memory: u64) -> String {
    format!("{}_results_{memory}.json", kind.as_str())
}

/// `sebs experiment invoke perf-cost`.
pub async fn run(args: &ExperimentInvokeArgs) -> Result<i32> {
    let config = load_config(args.common.config.as_deref())?;
    let pc = config.experiments.perf_cost.clone().unwrap_or_default();
    let mut plan = plan(&pc, None)?;
    let dir = args.common.output_dir.join("perf-cost");
    let journal_path = dir.join("journal.jsonl");
    // Refuse to overwrite before doing any work.
    Journal::check(&journal_path, args.resume)?;
    let deployed = Deployed::start(
        &args.common,
        &args.local,
        &args.storage_configuration,
        &plan.benchmark,
        &plan.size,
    )
    .await?;
    if plan.memories.is_empty() {
        plan.memories
            .push(deployed.prepared.benchmark.config.memory);
    }
    let (mut journal, records) = Journal::start::<Record>(&journal_path, args.resume)?;
    let mut by_config: BTreeMap<(Kind, u64), Vec<Record>> = BTreeMap::new();
    for r in records {
        by_config.entry((r.kind, r.memory)).or_default().push(r);
    }
    let input = deployed.prepared.generated.input.clone();
    let mut interrupted = false;
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);

    'memories: for &memory in &plan.memories {
        let name = format!("{}-{memory}", deployed.base_name);
        let deployment = deployed.deploy(&name, memory, None).await?;
        let url = deployed.platform.function_url(&name);
        for &kind in &plan.kinds {
            let done = by_config.entry((kind, memory)).or_default();
            let kept = |records: &[Record]| {
                records.iter().filter(|r| r.status == Status::Kept).count() as u64
            };
            let mut batch = done.iter().map(|r| r.batch + 1).max().unwrap_or(0);
            let label = format!("{} {memory} MB", kind.as_str());
            if kept(done) < plan.repetitions {
                let progress = Progress::new(&label, plan.repetitions, kept(done));
                let n = if kind == Kind::Sequential {
                    1
                } else {
                    plan.concurrency
                };
                // Warm-up: discarded (SeBS discards the first batch; sequential adds one call).
                if matches!(kind, Kind::Cold | Kind::Burst) {
                    deployed.platform.enforce_cold_start(&name)?;
                }
                let _ = run_batch(&url, &input, if kind == Kind::Sequential { 2 } else { n }).await;
                while kept(done) < plan.repetitions {
                    if matches!(kind, Kind::Cold | Kind::Burst) {
                        deployed.platform.enforce_cold_start(&name)?;
                    }
                    let results = tokio::select! {
                        r = run_batch(&url, &input, n) => r,
                        _ = &mut ctrl_c => { interrupted = true; progress.finish(); break 'memories; }
                    };
                    let mut missing = plan.repetitions - kept(done);
                    let lines: Vec<Record> = results
                        .into_iter()
                        .map(|result| {
                            let status = classify(kind, &result);
                            let status = if status == Status::Kept {
                                if missing == 0 {
                                    Status::Surplus
                                } else {
                                    missing -= 1;
                                    Status::Kept
                                }
                            } else {
                                status
                            };
                            Record {
                                kind,
                                memory,
                                batch,
                                status,
                                result,
                            }
                        })
                        .collect();
                    journal.append(&lines)?;
                    done.extend(lines);
                    batch += 1;
                    let failures = done.iter().filter(|r| r.status == Status::Failed).count();
                    let incorrect = done
                        .iter()
                        .filter(|r| r.status == Status::Incorrect)
                        .count();
                    progress.update(
                        kept(done),
                        &format!("{failures} failed, {incorrect} incorrect"),
                    );
                    if batch > 20 * plan.repetitions.div_ceil(n) + 20 {
                        progress.finish();
                        bail!(
                            "{label}: {} of {} samples after {batch} batches ({failures} failed, {incorrect} incorrect); the function keeps failing or the platform cannot give {} invocations",
                            kept(done),
                            plan.repetitions,
                            kind.as_str()
                        );
                    }
                }
                progress.finish();
            }
            let path = dir.join(results_name(kind, memory));
            let result = results_file(&deployed, &name, deployment.clone(), done);
            write_json(&path, &result)?;
            let kept_samples: Vec<&ExecutionResult> = done
                .iter()
                .filter(|r| r.status == Status::Kept)
                .map(|r| &r.result)
                .collect();
            let (_, text) = client_statistics(&kept_samples);
            println!("{label} (client time): {text}");
        }
    }
    deployed.shutdown().await;
    if interrupted {
        tracing::warn!(
            "interrupted: completed samples are in {}; continue with the same command and --resume",
            journal_path.display()
        );
        return Ok(EXIT_INTERRUPTED);
    }
    println!("results: {}", dir.display());
    Ok(0)
}

fn classify(kind: Kind, result: &ExecutionResult) -> Status {
    if result.stats.failure {
        return Status::Failed;
    }
    match (kind, result.stats.cold_start) {
        (Kind::Cold, false) | (Kind::Warm, true) => Status::Incorrect,
        _ => Status::Kept,
    }
}

async fn run_batch(url: &str, input: &Value, n: u64) -> Vec<ExecutionResult> {
    let calls: Vec<_> = (0..n)
        .map(|_| {
            let url = url.to_owned();
            let input = input.clone();
            tokio::spawn(async move { trigger::invoke(&url, Via::Http, &input).await })
        })
        .collect();
    let mut results = Vec::with_capacity(calls.len());
    for call in calls {
        if let Ok(result) = call.await {
            results.push(result);
        }
    }
    results
}

/// SeBS's result file: the kept samples plus `statistics`.
fn results_file(deployed: &Deployed, name: &str, deployment: Value, records: &[Record]) -> Value {
    let mut experiment = ExperimentResult {
        config: deployed.result_config(deployment),
        ..Default::default()
    };
    let kept: Vec<&Record> = records
        .iter()
        .filter(|r| r.status == Status::Kept)
        .collect();
    for r in &kept {
        experiment.add(name, r.result.clone());
    }
    let times: Vec<&str> = kept
        .iter()
        .map(|r| r.result.times.client_begin.as_str())
        .collect();
    experiment.begin_time = epoch_now();
    experiment.end_time = experiment.begin_time;
    let ids = |status: Status| -> Vec<String> {
        records
            .iter()
            .filter(|r| r.status == status)
            .map(|r| r.result.request_id.clone())
            .collect()
    };
    let mut value = serde_json::to_value(&experiment).unwrap_or(Value::Null);
    value["statistics"] = json!({
        "samples_generated": kept.len(),
        "failures": ids(Status::Failed),
        "failures_count": ids(Status::Failed).len(),
        "incorrect": ids(Status::Incorrect),
        "incorrect_count": ids(Status::Incorrect).len(),
        "cold_count": kept.iter().filter(|r| r.result.stats.cold_start).count(),
        "first_sample": times.iter().min(),
        "last_sample": times.iter().max(),
    });
    value
}

/// `sebs experiment process perf-cost`: `*-processed.json` with provider metrics, then
/// `result.csv` with SeBS's columns.
pub fn process(args: &ExperimentProcessArgs) -> Result<i32> {
    let dir = args.output_dir.join("perf-cost");
    let files = result_files(&dir, "perf-cost", |n| {
        n.ends_with(".json") && n.contains("_results") && !n.contains("-processed")
    })?;
    if files.is_empty() {
        bail!(
            "no perf-cost results in {}; run `sebs experiment invoke perf-cost` first",
            dir.display()
        );
    }
    let mut rows = vec![
        "memory,type,is_cold,exec_time,connection_time,client_time,provider_time,mem_used"
            .to_owned(),
    ];
    for file in files {
        let processed_path = processed_name(&file);
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("failed to read {}", file.display()))?;
        let raw: Value = serde_json::from_str(&text)
            .with_context(|| format!("{} is not JSON", file.display()))?;
        let statistics = raw.get("statistics").cloned();
        let mut experiment: ExperimentResult = ExperimentResult::load(&file)?;
        if !processed_path.exists() {
            let log = crate::process::metrics_log_of(&experiment, &args.cache);
            let reports = crate::process::read_reports(&log)?;
            let (filled, missing) = crate::process::fill(&mut experiment, &reports);
            if missing > 0 {
                tracing::warn!(
                    "{}: {missing} invocation(s) without a platform record",
                    file.display()
                );
            }
            tracing::info!(
                "{}: provider metrics for {filled} invocations",
                file.display()
            );
            // Drop the functions' payloads to keep processed files small (as SeBS does).
            for inv in experiment
                .invocations
                .values_mut()
                .flat_map(|m| m.values_mut())
            {
                if let Some(result) = inv.output.get_mut("result").and_then(Value::as_object_mut) {
                    result.remove("result");
                    result.remove("output");
                }
            }
            let mut value = serde_json::to_value(&experiment)?;
            if let Some(stats) = statistics {
                value["statistics"] = stats;
            }
            write_json(&processed_path, &value)?;
        } else {
            experiment = ExperimentResult::load(&processed_path)?;
        }
        let (kind, memory) = parse_name(&file)?;
        for inv in experiment.ordered().into_iter().map(|(_, r)| r) {
            rows.push(format!(
                "{memory},{kind},{},{},{},{},{},{}",
                inv.stats.cold_start,
                inv.times.benchmark,
                inv.times.http_startup,
                inv.times.client,
                inv.provider_times.execution,
                inv.stats
                    .memory_used
                    .map(|m| m.to_string())
                    .unwrap_or_default()
            ));
        }
    }
    let csv = dir.join("result.csv");
    sebs_core::fsutil::write_atomic(&csv, (rows.join("\n") + "\n").as_bytes())?;
    println!("{}", csv.display());
    Ok(0)
}

fn processed_name(file: &Path) -> PathBuf {
    let stem = file.file_stem().unwrap_or_default().to_string_lossy();
    file.with_file_name(format!("{stem}-processed.json"))
}

/// `cold_results_128.json` → (`cold`, 128).
fn parse_name(file: &Path) -> Result<(String, String)> {
    let stem = file
        .file_stem()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    let (kind, memory) = stem.split_once("_results").with_context(|| {
        format!(
            "{} is not named <type>_results_<memory>.json",
            file.display()
        )
    })?;
    Ok((kind.to_owned(), memory.trim_start_matches('_').to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification_follows_sebs() {
        let mut r = ExecutionResult::default();
        r.stats.cold_start = true;
        assert_eq!(classify(Kind::Cold, &r), Status::Kept);
        assert_eq!(classify(Kind::Warm, &r), Status::Incorrect);
        assert_eq!(classify(Kind::Burst, &r), Status::Kept);
        r.stats.cold_start = false;
        assert_eq!(classify(Kind::Cold, &r), Status::Incorrect);
        r.stats.failure = true;
        assert_eq!(classify(Kind::Sequential, &r), Status::Failed);
    }

    #[test]
    fn names() {
        assert_eq!(results_name(Kind::Cold, 128), "cold_results_128.json");
        assert_eq!(
            parse_name(Path::new("/x/warm_results_256.json")).unwrap(),
            ("warm".into(), "256".into())
        );
        assert_eq!(
            processed_name(Path::new("/x/warm_results_256.json")),
            PathBuf::from("/x/warm_results_256-processed.json")
        );
    }
}

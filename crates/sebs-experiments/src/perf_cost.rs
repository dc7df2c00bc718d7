//! perf-cost (SeBS contract §7.1): for each memory size and each type (`cold`, `warm`, `burst`,
//! `sequential`), batches of concurrent invocations until the requested number of samples; cold
//! starts enforced before each cold and burst batch; a warm-up batch discarded first; cold/warm
//! mismatches counted as incorrect and failures counted.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use async_trait::async_trait;
use sebs_core::config::UserConfig;
use sebs_core::result::{ExecutionResult, ExperimentResult};
use sebs_platforms::{Session, Trigger};
use sebs_report::{client_statistics, result_files, write_json};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::process::{ProcessContext, fill_provider_metrics};
use crate::runner::{Deployed, Experiment, Plan, at_least_one};
use crate::{Processed, Status, epoch_now};

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

    /// The name in configs and result file names.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Cold => "cold",
            Kind::Warm => "warm",
            Kind::Burst => "burst",
            Kind::Sequential => "sequential",
        }
    }

    /// Whether cold starts are enforced before each batch.
    fn enforces_cold(self) -> bool {
        matches!(self, Kind::Cold | Kind::Burst)
    }
}

/// What became of an invocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SampleStatus {
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
    pub status: SampleStatus,
    /// The invocation.
    pub result: ExecutionResult,
}

/// The perf-cost experiment: its plan and, once deployed, one function per memory size.
pub struct PerfCost {
    benchmark: String,
    size: String,
    kinds: Vec<Kind>,
    repetitions: u64,
    concurrency: u64,
    memories: Vec<u64>,
    /// The function of each memory size.
    functions: BTreeMap<u64, Deployed>,
    /// Configurations whose warm-up batch ran in this process (a resumed run warms up again).
    warmed: BTreeSet<(Kind, u64)>,
}

impl Plan for PerfCost {
    fn plan(config: &UserConfig) -> Result<PerfCost> {
        let config = config.experiments.perf_cost.clone().unwrap_or_default();
        let benchmark = config.benchmark.clone().context(
            "experiments.perf-cost.benchmark is missing; set it in the config (see configs/perf-cost.json)",
        )?;
        let kinds = config
            .experiments
            .clone()
            .unwrap_or_else(|| vec!["cold".into(), "warm".into()])
            .iter()
            .map(|k| Kind::parse(k))
            .collect::<Result<Vec<_>>>()?;
        let repetitions = config.repetitions.unwrap_or(50);
        let concurrency = config.concurrent_invocations.unwrap_or(10);
        at_least_one(
            "experiments.perf-cost",
            [
                ("repetitions", repetitions),
                ("concurrent-invocations", concurrency),
            ],
        )?;
        Ok(PerfCost {
            benchmark,
            size: config.input_size.clone().unwrap_or_else(|| "test".into()),
            kinds,
            repetitions,
            concurrency,
            // Empty: the benchmark's memory, known once it is prepared.
            memories: config.memory_sizes.clone().unwrap_or_default(),
            functions: BTreeMap::new(),
            warmed: BTreeSet::new(),
        })
    }
}

/// Results file name: `<type>_results_<memory>.json`.
fn results_name(kind: Kind, memory: u64) -> String {
    format!("{}_results_{memory}.json", kind.as_str())
}

fn label(kind: Kind, memory: u64) -> String {
    format!("{} {memory} MB", kind.as_str())
}

fn kept(records: &[&Record]) -> u64 {
    records
        .iter()
        .filter(|r| r.status == SampleStatus::Kept)
        .count() as u64
}

fn count(records: &[&Record], status: SampleStatus) -> usize {
    records.iter().filter(|r| r.status == status).count()
}

impl PerfCost {
    /// The configurations in the order they run: memory sizes, then types.
    fn configurations(&self) -> impl Iterator<Item = (u64, Kind)> + '_ {
        self.memories
            .iter()
            .flat_map(|&m| self.kinds.iter().map(move |&k| (m, k)))
    }

    fn records_of(done: &[Record], memory: u64, kind: Kind) -> Vec<&Record> {
        done.iter()
            .filter(|r| r.memory == memory && r.kind == kind)
            .collect()
    }

    /// The first configuration still short of samples.
    fn current(&self, done: &[Record]) -> Option<(u64, Kind)> {
        self.configurations()
            .find(|&(m, k)| kept(&Self::records_of(done, m, k)) < self.repetitions)
    }

    /// Invocations per batch.
    fn batch_size(&self, kind: Kind) -> u64 {
        if kind == Kind::Sequential {
            1
        } else {
            self.concurrency
        }
    }

    async fn enforce_cold(&self, session: &Session, function: &Deployed) -> Result<()> {
        // Through the session: a workflow's name stands for all of its functions.
        session
            .enforce_cold_start(std::slice::from_ref(&function.name))
            .await
    }
}

#[async_trait]
impl Experiment for PerfCost {
    type Record = Record;

    fn name(&self) -> &'static str {
        "perf-cost"
    }

    fn benchmark(&self) -> (String, String) {
        (self.benchmark.clone(), self.size.clone())
    }

    async fn deploy(&mut self, session: &Session, _done: &[Record]) -> Result<()> {
        if self.memories.is_empty() {
            self.memories.push(session.benchmark.config.memory);
        }
        let base = session.default_function_name();
        for &memory in &self.memories {
            let function = Deployed::http(session, format!("{base}-{memory}"), memory).await?;
            self.functions.insert(memory, function);
        }
        Ok(())
    }

    async fn next_batch(
        &mut self,
        session: &Session,
        done: &[Record],
    ) -> Result<Option<Vec<Record>>> {
        let Some((memory, kind)) = self.current(done) else {
            return Ok(None);
        };
        let mine = Self::records_of(done, memory, kind);
        let batch = mine.iter().map(|r| r.batch + 1).max().unwrap_or(0);
        let n = self.batch_size(kind);
        if batch > 20 * self.repetitions.div_ceil(n) + 20 {
            bail!(
                "{}: {} of {} samples after {batch} batches ({} failed, {} incorrect); the function keeps failing or the platform cannot give {} invocations",
                label(kind, memory),
                kept(&mine),
                self.repetitions,
                count(&mine, SampleStatus::Failed),
                count(&mine, SampleStatus::Incorrect),
                kind.as_str()
            );
        }
        let function = &self.functions[&memory];
        // Warm-up: discarded (SeBS discards the first batch; sequential adds one call).
        if !self.warmed.contains(&(kind, memory)) {
            if kind.enforces_cold() {
                self.enforce_cold(session, function).await?;
            }
            let warm_up = if kind == Kind::Sequential { 2 } else { n };
            run_batch(&function.trigger, &session.generated.input, warm_up).await;
        }
        if kind.enforces_cold() {
            self.enforce_cold(session, function).await?;
        }
        let results = run_batch(&function.trigger, &session.generated.input, n).await;
        self.warmed.insert((kind, memory));
        let mut missing = self.repetitions - kept(&mine);
        let records = results
            .into_iter()
            .map(|result| {
                let status = match classify(kind, &result) {
                    SampleStatus::Kept if missing == 0 => SampleStatus::Surplus,
                    SampleStatus::Kept => {
                        missing -= 1;
                        SampleStatus::Kept
                    }
                    other => other,
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
        Ok(Some(records))
    }

    fn status(&self, done: &[Record]) -> Status {
        let (memory, kind) = self
            .current(done)
            .or_else(|| self.configurations().last())
            .unwrap_or((0, Kind::Cold));
        let mine = Self::records_of(done, memory, kind);
        Status {
            phase: label(kind, memory),
            done: kept(&mine).min(self.repetitions),
            total: self.repetitions,
            note: format!(
                "{} failed, {} incorrect",
                count(&mine, SampleStatus::Failed),
                count(&mine, SampleStatus::Incorrect)
            ),
        }
    }

    /// `<type>_results_<memory>.json` of every configuration with all its samples.
    async fn write_results(
        &mut self,
        session: &Session,
        dir: &Path,
        done: &[Record],
    ) -> Result<PathBuf> {
        let complete: Vec<(u64, Kind)> = self
            .configurations()
            .filter(|&(m, k)| kept(&Self::records_of(done, m, k)) >= self.repetitions)
            .collect();
        for (memory, kind) in complete {
            let function = &self.functions[&memory];
            let result = results_file(
                session,
                &function.name,
                function.deployment.clone(),
                &Self::records_of(done, memory, kind),
            );
            write_json(&dir.join(results_name(kind, memory)), &result)?;
        }
        Ok(dir.to_owned())
    }

    /// Client-time statistics of every complete configuration.
    fn summary(&self, done: &[Record]) -> String {
        let mut text = String::new();
        for (memory, kind) in self.configurations() {
            let mine = Self::records_of(done, memory, kind);
            if kept(&mine) < self.repetitions {
                continue;
            }
            let samples: Vec<&ExecutionResult> = mine
                .iter()
                .filter(|r| r.status == SampleStatus::Kept)
                .map(|r| &r.result)
                .collect();
            let (_, stats) = client_statistics(&samples);
            text.push_str(&format!("{} (client time): {stats}\n", label(kind, memory)));
        }
        text
    }
}

fn classify(kind: Kind, result: &ExecutionResult) -> SampleStatus {
    if result.stats.failure {
        return SampleStatus::Failed;
    }
    match (kind, result.stats.cold_start) {
        (Kind::Cold, false) | (Kind::Warm, true) => SampleStatus::Incorrect,
        _ => SampleStatus::Kept,
    }
}

/// `n` concurrent invocations; their results in the order they were started.
async fn run_batch(trigger: &Arc<dyn Trigger>, input: &Value, n: u64) -> Vec<ExecutionResult> {
    let calls: Vec<_> = (0..n)
        .map(|_| {
            let trigger = trigger.clone();
            let input = input.clone();
            tokio::spawn(async move { trigger.invoke(&input).await })
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
fn results_file(session: &Session, name: &str, deployment: Value, records: &[&Record]) -> Value {
    let mut experiment = ExperimentResult {
        config: session.result_config(deployment),
        ..Default::default()
    };
    let kept: Vec<&Record> = records
        .iter()
        .copied()
        .filter(|r| r.status == SampleStatus::Kept)
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
    let ids = |status: SampleStatus| -> Vec<String> {
        records
            .iter()
            .filter(|r| r.status == status)
            .map(|r| r.result.request_id.clone())
            .collect()
    };
    let mut value = serde_json::to_value(&experiment).unwrap_or(Value::Null);
    value["statistics"] = json!({
        "samples_generated": kept.len(),
        "failures": ids(SampleStatus::Failed),
        "failures_count": ids(SampleStatus::Failed).len(),
        "incorrect": ids(SampleStatus::Incorrect),
        "incorrect_count": ids(SampleStatus::Incorrect).len(),
        "cold_count": kept.iter().filter(|r| r.result.stats.cold_start).count(),
        "first_sample": times.iter().min(),
        "last_sample": times.iter().max(),
    });
    value
}

/// The columns of `result.csv` (SeBS's).
const CSV_HEADER: [&str; 8] = [
    "memory",
    "type",
    "is_cold",
    "exec_time",
    "connection_time",
    "client_time",
    "provider_time",
    "mem_used",
];

/// `sebs experiment process perf-cost`: `*-processed.json` with provider metrics (from the
/// platform that ran the experiment), then `result.csv` with SeBS's columns.
pub async fn process(ctx: &ProcessContext) -> Result<Processed> {
    let dir = ctx.output_dir.join("perf-cost");
    let files = result_files(&dir, "perf-cost", |n| {
        n.ends_with(".json") && n.contains("_results") && !n.contains("-processed")
    })?;
    if files.is_empty() {
        bail!(
            "no perf-cost results in {}; run `sebs experiment invoke perf-cost` first",
            dir.display()
        );
    }
    let mut rows: Vec<[String; 8]> = Vec::new();
    for file in files {
        let experiment = processed(&file, ctx).await?;
        let (kind, memory) = parse_name(&file)?;
        for inv in experiment.ordered().into_iter().map(|(_, r)| r) {
            rows.push([
                memory.clone(),
                kind.clone(),
                inv.stats.cold_start.to_string(),
                inv.times.benchmark.to_string(),
                inv.times.http_startup.to_string(),
                inv.times.client.to_string(),
                inv.provider_times.execution.to_string(),
                inv.stats
                    .memory_used
                    .map(|m| m.to_string())
                    .unwrap_or_default(),
            ]);
        }
    }
    let csv = dir.join("result.csv");
    sebs_report::csv::write_csv(&csv, &CSV_HEADER, rows)?;
    Ok(Processed {
        summary: format!("{}\n", csv.display()),
        path: csv,
        exit_code: 0,
    })
}

/// The processed version of a result file: read if it exists, else written now with provider
/// metrics and without the functions' payloads (as SeBS does), its `statistics` kept.
async fn processed(file: &Path, ctx: &ProcessContext) -> Result<ExperimentResult> {
    let processed_path = processed_name(file);
    if processed_path.exists() {
        return ExperimentResult::load(&processed_path);
    }
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("failed to read {}", file.display()))?;
    let raw: Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", file.display()))?;
    let mut experiment = ExperimentResult::load(file)?;
    let (filled, missing) = fill_provider_metrics(&mut experiment, ctx).await?;
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
    sebs_report::strip_payloads(&mut experiment);
    let mut value = serde_json::to_value(&experiment)?;
    if let Some(stats) = raw.get("statistics") {
        value["statistics"] = stats.clone();
    }
    write_json(&processed_path, &value)?;
    Ok(experiment)
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
        assert_eq!(classify(Kind::Cold, &r), SampleStatus::Kept);
        assert_eq!(classify(Kind::Warm, &r), SampleStatus::Incorrect);
        assert_eq!(classify(Kind::Burst, &r), SampleStatus::Kept);
        r.stats.cold_start = false;
        assert_eq!(classify(Kind::Cold, &r), SampleStatus::Incorrect);
        r.stats.failure = true;
        assert_eq!(classify(Kind::Sequential, &r), SampleStatus::Failed);
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

    #[test]
    fn plan_reads_the_config_and_names_bad_keys() {
        let mut config = UserConfig::default();
        assert!(
            PerfCost::plan(&config)
                .err()
                .unwrap()
                .to_string()
                .contains("experiments.perf-cost.benchmark")
        );
        config.experiments.perf_cost = Some(
            serde_json::from_value(
                json!({"benchmark": "010.sleep", "experiments": ["burst", "sequential"]}),
            )
            .unwrap(),
        );
        let plan = PerfCost::plan(&config).unwrap();
        assert_eq!(plan.kinds, [Kind::Burst, Kind::Sequential]);
        assert_eq!((plan.repetitions, plan.concurrency), (50, 10));
        assert_eq!(plan.benchmark(), ("010.sleep".into(), "test".into()));
        config.experiments.perf_cost = Some(
            serde_json::from_value(json!({"benchmark": "x", "experiments": ["hot"]})).unwrap(),
        );
        assert!(
            PerfCost::plan(&config)
                .err()
                .unwrap()
                .to_string()
                .contains("unknown type `hot`")
        );
    }
}

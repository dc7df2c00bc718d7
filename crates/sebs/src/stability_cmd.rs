//! `sebs stability run SUITE.json --every 1h --for 14d` and `sebs stability status`: a suite
//! (benchmarks, sizes, platforms, repetitions, cold/warm, memory) run once per slot through the
//! perf-cost experiment's library entry point, each slot's results recorded in the store; the
//! slots and their state live in the store (`sebs_store::schedule`), so a restarted runner
//! resumes without running a slot twice.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use sebs_experiments::{ExperimentKind, RunRequest};
use sebs_platforms::RunOptions;
use sebs_store::schedule::{RunnerOptions, SlotOutput, parse_duration, run_study};
use sebs_store::{RunTags, Store};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::db_cmd::open_store;

/// `sebs stability ...`
#[derive(Debug, Subcommand)]
pub enum StabilityCommand {
    /// Run a suite every interval for a period, recording each slot in the store; resumable
    /// (run the same command again after a crash or reboot).
    #[command(
        after_help = "Docs: docs/stability.md\n\nExit status: 0 all slots reached (missed and failed slots are recorded, see `sebs stability status`), 1 error, 2 invalid arguments, 130 stopped by Ctrl-C (rerun to resume)."
    )]
    Run(StabilityRunArgs),
    /// The studies in the store and their slots: done, failed, missed, interrupted, to come.
    #[command(after_help = "Docs: docs/stability.md")]
    Status(StabilityStatusArgs),
    /// Analyse a study: per series medians and tails with bands, change points, time-of-day
    /// effects and tail outliers; a summary on stdout and an HTML page.
    #[command(after_help = "Docs: docs/stability.md, docs/stability-analysis.md")]
    Report(crate::stability_report::StabilityReportArgs),
}

fn duration(text: &str) -> Result<Duration, String> {
    parse_duration(text).map_err(|e| e.to_string())
}

/// `sebs stability run`.
#[derive(Debug, Args)]
pub struct StabilityRunArgs {
    /// The suite (JSON: name, benchmarks, sizes, platforms, repetitions, modes, memory).
    pub suite: PathBuf,
    /// Time between slots, e.g. `30m`, `1h`.
    #[arg(long, value_parser = duration)]
    pub every: Duration,
    /// Length of the study, e.g. `14d` (slots: ⌈for / every⌉).
    #[arg(long = "for", value_parser = duration)]
    pub length: Duration,
    /// How late a slot may still start (default: half the interval); later it is recorded missed.
    #[arg(long, value_parser = duration)]
    pub grace: Option<Duration>,
    /// Where each slot's results directories go (`<dir>/slot-<k>/...`).
    #[arg(long, value_name = "DIR", default_value = "stability")]
    pub output_dir: PathBuf,
    /// Cache directory for code packages and deployments (shared by all slots).
    #[arg(long, value_name = "DIR", default_value = "cache")]
    pub cache: PathBuf,
    /// Benchmark catalogue directory (default ./benchmarks, else the one sebs was built with).
    #[arg(long, value_name = "DIR")]
    pub benchmarks_dir: Option<PathBuf>,
}

/// `sebs stability status`.
#[derive(Debug, Args)]
pub struct StabilityStatusArgs {
    /// Only this study (its suite's `name`).
    #[arg(long)]
    pub study: Option<String>,
}

/// A platform of a suite: a deployment name, optionally with its SeBS config file (relative to
/// the suite file).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SuitePlatform {
    /// `"local"`.
    Name(String),
    /// `{"name": "aws", "config": "aws.json"}`.
    Configured {
        /// `deployment.name`.
        name: String,
        /// The SeBS config (its deployment section, runtime, credentials).
        config: Option<PathBuf>,
    },
}

impl SuitePlatform {
    fn name(&self) -> &str {
        match self {
            SuitePlatform::Name(name) | SuitePlatform::Configured { name, .. } => name,
        }
    }

    fn config(&self) -> Option<&Path> {
        match self {
            SuitePlatform::Name(_) => None,
            SuitePlatform::Configured { config, .. } => config.as_deref(),
        }
    }
}

/// A stability suite.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Suite {
    /// The study's name in the store.
    pub name: String,
    /// Benchmarks (`110.dynamic-html`).
    pub benchmarks: Vec<String>,
    /// Input sizes.
    #[serde(default = "default_sizes")]
    pub sizes: Vec<String>,
    /// Platforms.
    pub platforms: Vec<SuitePlatform>,
    /// Samples per benchmark, size, platform, mode and memory in each slot.
    #[serde(default = "default_repetitions")]
    pub repetitions: u64,
    /// `cold` and/or `warm`.
    #[serde(default = "default_modes")]
    pub modes: Vec<String>,
    /// Memory sizes (MB); the benchmark's own when empty.
    #[serde(default)]
    pub memory: Vec<u64>,
}

fn default_sizes() -> Vec<String> {
    vec!["test".into()]
}

fn default_repetitions() -> u64 {
    10
}

fn default_modes() -> Vec<String> {
    vec!["warm".into()]
}

impl Suite {
    /// Read and check a suite file; platform config paths become relative to the suite's folder.
    pub fn load(path: &Path) -> Result<Suite> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("failed to read the suite {}", path.display()))?;
        let mut suite: Suite = serde_json::from_str(&text).with_context(|| {
            format!(
                "{} is not a stability suite: expected {{\"name\", \"benchmarks\": [...], \"sizes\": [...], \"platforms\": [\"local\" or {{\"name\", \"config\"}}], \"repetitions\", \"modes\": [\"cold\", \"warm\"], \"memory\": [MB]}} (see docs/stability.md)",
                path.display()
            )
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        for platform in &mut suite.platforms {
            if let SuitePlatform::Configured {
                config: Some(config),
                ..
            } = platform
                && config.is_relative()
            {
                *config = base.join(&*config);
            }
        }
        suite.check(path)?;
        Ok(suite)
    }

    fn check(&self, path: &Path) -> Result<()> {
        let file = path.display();
        if self.name.is_empty()
            || !self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            bail!(
                "{file}: `name` must be letters, digits, `-`, `_` or `.` (it names the study and its folder)"
            );
        }
        for (key, empty) in [
            ("benchmarks", self.benchmarks.is_empty()),
            ("sizes", self.sizes.is_empty()),
            ("platforms", self.platforms.is_empty()),
            ("modes", self.modes.is_empty()),
        ] {
            if empty {
                bail!("{file}: `{key}` is empty; list at least one");
            }
        }
        if self.repetitions == 0 {
            bail!("{file}: `repetitions` must be at least 1");
        }
        if let Some(mode) = self
            .modes
            .iter()
            .find(|m| !["cold", "warm"].contains(&m.as_str()))
        {
            bail!("{file}: unknown mode `{mode}` in `modes`: use `cold` and/or `warm`");
        }
        for platform in &self.platforms {
            if let Some(config) = platform.config()
                && !config.is_file()
            {
                bail!(
                    "{file}: platform `{}`: config {} does not exist",
                    platform.name(),
                    config.display()
                );
            }
        }
        Ok(())
    }
}

/// The SeBS config of one run of a slot: the platform's config file with a perf-cost section
/// for this benchmark, size, modes and memory (one invocation at a time).
fn run_config(
    suite: &Suite,
    platform: &SuitePlatform,
    benchmark: &str,
    size: &str,
) -> Result<Value> {
    let mut config: Value = match platform.config() {
        Some(path) => serde_json::from_str(
            &std::fs::read_to_string(path)
                .with_context(|| format!("failed to read {}", path.display()))?,
        )
        .with_context(|| format!("{} is not JSON", path.display()))?,
        None => json!({}),
    };
    if !config.is_object() {
        bail!(
            "the platform config of `{}` is not a JSON object",
            platform.name()
        );
    }
    let mut perf_cost = json!({
        "benchmark": benchmark,
        "experiments": suite.modes,
        "input-size": size,
        "repetitions": suite.repetitions,
        "concurrent-invocations": 1,
    });
    if !suite.memory.is_empty() {
        perf_cost["memory-sizes"] = json!(suite.memory);
    }
    config["experiments"]["perf-cost"] = perf_cost;
    config["deployment"]["name"] = json!(platform.name());
    Ok(config)
}

/// Folder-safe form of a benchmark, size or platform name.
fn folder(parts: &[&str]) -> String {
    parts
        .iter()
        .map(|p| {
            p.replace(
                |c: char| !(c.is_ascii_alphanumeric() || "-_.".contains(c)),
                "_",
            )
        })
        .collect::<Vec<_>>()
        .join("-")
}

/// One slot: every benchmark × size × platform through perf-cost; a failed run is logged and
/// the others still run (what completed is recorded; the slot fails only when nothing did).
async fn run_slot(suite: &Suite, args: &StabilityRunArgs, slot: i64) -> Result<SlotOutput> {
    let slot_dir = args
        .output_dir
        .join(&suite.name)
        .join(format!("slot-{slot:05}"));
    let mut output = Vec::new();
    let mut errors = Vec::new();
    for platform in &suite.platforms {
        for benchmark in &suite.benchmarks {
            for size in &suite.sizes {
                let dir = slot_dir.join(folder(&[platform.name(), benchmark, size]));
                match run_one(suite, args, platform, benchmark, size, &dir).await {
                    Ok(()) => output.push((
                        dir,
                        RunTags {
                            benchmark: Some(benchmark.clone()),
                            settings: json!({"size": size}),
                            slot: None,
                        },
                    )),
                    Err(e) => {
                        tracing::warn!(
                            "slot {slot}: {benchmark} ({size}) on {}: {e:#}",
                            platform.name()
                        );
                        errors.push(format!(
                            "{benchmark} ({size}) on {}: {e:#}",
                            platform.name()
                        ));
                    }
                }
            }
        }
    }
    if output.is_empty() {
        bail!("every run of the slot failed: {}", errors.join("; "));
    }
    Ok(output)
}

async fn run_one(
    suite: &Suite,
    args: &StabilityRunArgs,
    platform: &SuitePlatform,
    benchmark: &str,
    size: &str,
    dir: &Path,
) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("failed to create {}", dir.display()))?;
    let config_path = dir.join("config.json");
    let config = run_config(suite, platform, benchmark, size)?;
    std::fs::write(&config_path, serde_json::to_string_pretty(&config)?)
        .with_context(|| format!("failed to write {}", config_path.display()))?;
    let outcome = sebs_experiments::invoke(
        ExperimentKind::PerfCost,
        &RunRequest {
            options: RunOptions {
                config: Some(config_path),
                output_dir: dir.to_owned(),
                cache_dir: args.cache.clone(),
                benchmarks_dir: args.benchmarks_dir.clone(),
                ..RunOptions::default()
            },
            ..RunRequest::default()
        },
    )
    .await?;
    if let Some(stop) = outcome.interrupted {
        bail!("{}", stop.describe());
    }
    Ok(())
}

/// Run a `stability` command.
pub async fn run(command: StabilityCommand) -> Result<i32> {
    match command {
        StabilityCommand::Run(args) => run_suite(&args).await,
        StabilityCommand::Status(args) => {
            let mut store = open_store(None)?;
            print!(
                "{}",
                tokio::task::block_in_place(|| status(&mut store, args.study.as_deref()))?
            );
            Ok(0)
        }
        StabilityCommand::Report(args) => {
            tokio::task::block_in_place(|| crate::stability_report::report(&args))
        }
    }
}

async fn run_suite(args: &StabilityRunArgs) -> Result<i32> {
    let suite = Suite::load(&args.suite)?;
    if args.every > args.length {
        bail!(
            "--every {:?} is longer than --for {:?}: the study would have one slot; shorten --every",
            args.every,
            args.length
        );
    }
    let mut store = open_store(None)?;
    let suite_json = serde_json::to_value(&suite)?;
    let study = tokio::task::block_in_place(|| {
        store.begin_study(&suite.name, &suite_json, args.every, args.length)
    })?;
    println!(
        "study `{}` in {}: {} slots every {:?} from {}",
        study.name,
        store.describe(),
        study.slots,
        args.every,
        timestamp(study.start_s)
    );
    let options = RunnerOptions {
        grace: args.grace.unwrap_or(args.every / 2),
        max_sleep: Duration::from_secs(60),
    };
    let stop = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let outcome = run_study(
        &mut store,
        &study,
        &options,
        |k| run_slot(&suite, args, k),
        stop,
    )
    .await?;
    print!(
        "{}",
        tokio::task::block_in_place(|| status(&mut store, Some(&suite.name)))?
    );
    Ok(if outcome.stopped { 130 } else { 0 })
}

fn timestamp(epoch: f64) -> String {
    chrono::DateTime::from_timestamp(epoch as i64, 0)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_default()
}

/// The studies and their slot counts by status, the next slot due and the latest problems.
fn status(store: &mut Store, only: Option<&str>) -> Result<String> {
    let mut out = String::new();
    let studies: Vec<_> = store
        .studies()?
        .into_iter()
        .filter(|s| only.is_none_or(|name| s.name == name))
        .collect();
    if studies.is_empty() {
        bail!(
            "no study{} in {}: start one with `sebs stability run SUITE.json --every 1h --for 14d`",
            only.map(|n| format!(" `{n}`")).unwrap_or_default(),
            store.describe()
        );
    }
    for study in studies {
        let slots = store.slots(study.id)?;
        let count = |status: &str| slots.iter().filter(|s| s.status == status).count();
        let reached = slots.len() as i64;
        let next = (reached < study.slots).then(|| timestamp(study.due(reached)));
        out.push_str(&format!(
            "{}: {} slots every {}s from {}; done {}, failed {}, missed {}, interrupted {}, running {}, to come {}{}\n",
            study.name,
            study.slots,
            study.every_s,
            timestamp(study.start_s),
            count("done"),
            count("failed"),
            count("missed"),
            count("interrupted"),
            count("running"),
            study.slots - reached,
            next.map(|t| format!("; next at {t}")).unwrap_or_default(),
        ));
        for slot in slots.iter().filter(|s| !s.note.is_empty()).rev().take(5) {
            out.push_str(&format!(
                "  slot {} {}: {}\n",
                slot.slot, slot.status, slot.note
            ));
        }
    }
    Ok(out)
}

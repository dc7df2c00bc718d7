//! Set-up shared by the experiment tests: settings over the repository's catalogue and the
//! shared package cache, a fake platform whose metrics a later process step can read, and
//! readers for the files experiments write.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use sebs_experiments::process::ProcessContext;
use sebs_experiments::{Outcome, Plan, RunRequest, runner};
use sebs_platforms::fake::{FakePlatform, FakeScript};
use sebs_platforms::{RunOptions, Settings};
use serde_json::{Value, json};

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The package cache every test suite of the workspace shares (packages are built once).
pub fn shared_cache() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("shared-cache")
}

/// A test's directory: its config, its output directory and the fake's metrics log.
pub struct Run {
    /// Keeps the directory alive.
    pub tmp: tempfile::TempDir,
    /// `--output-dir`.
    pub out: PathBuf,
    /// The `experiments` sections of the config.
    experiments: Value,
}

impl Run {
    /// A run whose config has `experiments` (e.g. `{"perf-cost": {...}}`).
    pub fn new(experiments: Value) -> Run {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        Run {
            tmp,
            out,
            experiments,
        }
    }

    /// Replace the experiments sections (e.g. more repetitions for a resumed run).
    pub fn set_experiments(&mut self, experiments: Value) {
        self.experiments = experiments;
    }

    /// The settings `sebs experiment invoke --config ... --output-dir OUT --cache SHARED` gets.
    pub fn settings(&self) -> Settings {
        self.try_settings().unwrap()
    }

    /// Like [`Run::settings`], with the error of a config that does not load.
    pub fn try_settings(&self) -> anyhow::Result<Settings> {
        let mut config = json!({"experiments": {"runtime": {"language": "python"}}});
        for (k, v) in self.experiments.as_object().unwrap() {
            config["experiments"][k] = v.clone();
        }
        let path = self.tmp.path().join("config.json");
        std::fs::write(&path, config.to_string()).unwrap();
        Settings::resolve(&RunOptions {
            config: Some(path),
            output_dir: self.out.clone(),
            cache_dir: shared_cache(),
            benchmarks_dir: Some(repo().join("benchmarks")),
            ..RunOptions::default()
        })
    }

    /// A fake platform following `script` that logs provider metrics in this run's directory
    /// (the deployment record names the log, so `process` reads it back).
    pub fn fake(&self, script: FakeScript) -> FakePlatform {
        FakePlatform::new(script, Some(self.tmp.path().join("fake-metrics.jsonl")))
    }

    /// Plan `E` from the config and run it on `fake` (a clone: the test keeps its handle).
    pub async fn run<E: Plan>(&self, fake: &FakePlatform, resume: bool) -> anyhow::Result<Outcome> {
        let settings = self.settings();
        let experiment = E::plan(&settings.config)?;
        let request = RunRequest {
            resume,
            ..RunRequest::default()
        };
        runner::run_on(experiment, settings, Box::new(fake.clone()), &request).await
    }

    /// Run an experiment already planned (e.g. with test-only settings) on `fake`.
    pub async fn run_planned<E: sebs_experiments::Experiment>(
        &self,
        experiment: E,
        fake: &FakePlatform,
        resume: bool,
    ) -> anyhow::Result<Outcome> {
        let request = RunRequest {
            resume,
            ..RunRequest::default()
        };
        runner::run_on(
            experiment,
            self.settings(),
            Box::new(fake.clone()),
            &request,
        )
        .await
    }

    /// What `sebs experiment process --output-dir OUT` works with.
    pub fn process_context(&self) -> ProcessContext {
        ProcessContext::new(&self.out, &shared_cache(), None).unwrap()
    }
}

/// The default script with a keep-alive.
pub fn script(keep_alive: Duration) -> FakeScript {
    FakeScript {
        keep_alive,
        ..FakeScript::default()
    }
}

/// A JSON file.
pub fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The lines of a journal, parsed.
pub fn journal(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The request ids of a SeBS result file's invocations, sorted.
pub fn sample_ids(path: &Path) -> Vec<String> {
    let doc = read_json(path);
    let mut ids: Vec<String> = doc["_invocations"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|m| m.as_object().unwrap().values())
        .map(|s| s["request_id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

/// `fake-000003`, ... for the given invocation numbers.
pub fn ids(numbers: &[u64]) -> Vec<String> {
    numbers.iter().map(|n| format!("fake-{n:06}")).collect()
}

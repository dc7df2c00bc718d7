//! The one runner every experiment shares: it loads the config once, locks the results
//! directory, refuses to overwrite an earlier run or to resume one with other settings, prepares
//! the benchmark on the platform, resumes the journal, drives the experiment batch by batch
//! until done or Ctrl-C/SIGTERM with progress, writes the results and shuts down.
//! An [`Experiment`] holds only its own logic.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Result, bail};
use async_trait::async_trait;
use sebs_core::config::UserConfig;
use sebs_platforms::{
    Platform, PrepareRequest, RunOptions, Session, Settings, Trigger, TriggerKind,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::fingerprint;
use crate::journal::Journal;
use crate::lock::DirLock;
use crate::progress::Progress;
use crate::signal::{Stop, StopSignals};

/// Where an experiment stands, for the progress display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// The phase (a bar of its own on a terminal), e.g. `cold 256 MB`.
    pub phase: String,
    /// Units done in this phase.
    pub done: u64,
    /// Units this phase needs.
    pub total: u64,
    /// A short note, e.g. `2 failed, 1 incorrect`.
    pub note: String,
}

/// An experiment: a plan from the config, batches of invocations journaled as they complete,
/// and result files.
///
/// The runner calls [`Experiment::deploy`] once, then [`Experiment::next_batch`] until it returns
/// `None`, appending every returned record to the journal before asking for the next batch; a
/// resumed run starts from the journaled records, so resuming needs nothing of the experiment
/// but to look at `done`. A batch interrupted by Ctrl-C or SIGTERM is dropped whole: its
/// invocations are not journaled and are run again on `--resume`.
#[async_trait]
pub trait Experiment: Send + Sync {
    /// One journal line.
    type Record: Serialize + DeserializeOwned + Clone + Send + Sync;

    /// The experiment's name (`perf-cost`), as in configs.
    fn name(&self) -> &'static str;

    /// Where results go, under `--output-dir`.
    fn results_dir(&self, output_dir: &Path) -> PathBuf {
        output_dir.join(self.name())
    }

    /// The benchmark and input size to prepare.
    fn benchmark(&self) -> (String, String);

    /// Create the functions the experiment needs (and anything else, like driver servers).
    async fn deploy(&mut self, session: &Session, done: &[Self::Record]) -> Result<()>;

    /// Run the next batch and return its records; `None` once the plan is complete.
    async fn next_batch(
        &mut self,
        session: &Session,
        done: &[Self::Record],
    ) -> Result<Option<Vec<Self::Record>>>;

    /// Progress after `done`.
    fn status(&self, done: &[Self::Record]) -> Status;

    /// Write the result files from the records; called once at the end, also after Ctrl-C or
    /// SIGTERM (with what was completed). Returns the main result file or directory to print.
    async fn write_results(
        &mut self,
        session: &Session,
        dir: &Path,
        done: &[Self::Record],
    ) -> Result<PathBuf>;

    /// What to print on stdout at the end (statistics of the samples), if anything.
    fn summary(&self, _done: &[Self::Record]) -> String {
        String::new()
    }
}

/// An experiment that can be planned from a SeBS config.
pub trait Plan: Experiment + Sized {
    /// The plan from `experiments.<name>` of the config; errors name the key to fix.
    fn plan(config: &UserConfig) -> Result<Self>;
}

/// Refuse a count of zero in an experiment's config section: both counts must be at least 1
/// (`<section>: `<a>` and `<b>` must be at least 1`).
pub(crate) fn at_least_one(section: &str, [(a, m), (b, n)]: [(&str, u64); 2]) -> Result<()> {
    if m == 0 || n == 0 {
        bail!("{section}: `{a}` and `{b}` must be at least 1");
    }
    Ok(())
}

/// A function an experiment deployed: its name, its HTTP trigger and its deployment record
/// (`config.deployment` of the result files).
pub struct Deployed {
    /// Function name.
    pub name: String,
    /// Its HTTP trigger.
    pub trigger: Arc<dyn Trigger>,
    /// Its deployment record.
    pub deployment: Value,
}

impl Deployed {
    /// Create or update the function `name` with `memory_mb` MB and get its HTTP trigger.
    pub async fn http(session: &Session, name: String, memory_mb: u64) -> Result<Deployed> {
        let deployment = session.deploy(&name, memory_mb).await?;
        let trigger = session.trigger(&name, TriggerKind::Http).await?;
        Ok(Deployed {
            name,
            trigger,
            deployment,
        })
    }
}

/// What to run.
#[derive(Debug, Clone, Default)]
pub struct RunRequest {
    /// The common options (config, output and cache directories, language, local flags).
    pub options: RunOptions,
    /// Continue an interrupted run in the same output directory.
    pub resume: bool,
    /// With `resume`: continue even when the settings differ from the journal's (the samples of
    /// both settings are then mixed; the changed keys are recorded in `journal.meta.json`).
    pub force: bool,
    /// `--storage-configuration` files.
    pub storage_configuration: Vec<PathBuf>,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Ctrl-C or SIGTERM stopped it (completed samples are journaled; `--resume` continues).
    pub interrupted: Option<Stop>,
    /// The main result file or directory.
    pub results: PathBuf,
    /// The journal.
    pub journal: PathBuf,
    /// Text for stdout: the experiment's summary of its samples.
    pub summary: String,
}

impl Outcome {
    /// The process exit status: 0, 130 when stopped by Ctrl-C, 143 when stopped by SIGTERM.
    pub fn exit_code(&self) -> i32 {
        self.interrupted.map_or(0, Stop::exit_code)
    }
}

/// Plan experiment `E` from the config and run it on the platform the settings select.
pub async fn run<E: Plan>(request: &RunRequest) -> Result<Outcome> {
    let settings = Settings::resolve(&request.options)?;
    let experiment = E::plan(&settings.config)?;
    let platform = sebs_platforms::factory::create(&settings)?;
    run_on(experiment, settings, platform, request).await
}

/// Run `experiment` on `platform` (the tests' fake, or one the caller created).
pub async fn run_on<E: Experiment>(
    mut experiment: E,
    settings: Settings,
    platform: Box<dyn Platform>,
    request: &RunRequest,
) -> Result<Outcome> {
    let dir = experiment.results_dir(&settings.output_dir);
    let journal_path = dir.join("journal.jsonl");
    // One run per results directory, and no overwriting: both checked before any work.
    let _lock = DirLock::acquire(&dir, "--output-dir")?;
    Journal::check(&journal_path, request.resume)?;
    let (benchmark, size) = experiment.benchmark();
    let mut settings_fingerprint = settings.fingerprint(experiment.name());
    settings_fingerprint.insert("benchmark".into(), benchmark.clone().into());
    settings_fingerprint.insert("input-size".into(), size.clone().into());
    fingerprint::check_and_record(
        &journal_path,
        &settings_fingerprint,
        request.resume,
        request.force,
    )?;
    let session = Session::start_on(
        settings,
        platform,
        &PrepareRequest {
            benchmark: &benchmark,
            size: &size,
            storage_configuration: &request.storage_configuration,
            shared_storage: None,
        },
    )
    .await?;
    let (mut journal, mut records) = Journal::start::<E::Record>(&journal_path, request.resume)?;
    let driven = drive(&mut experiment, &session, &mut journal, &mut records).await;
    // Results of what completed are written even when the run failed half-way or was stopped.
    let written = experiment.write_results(&session, &dir, &records).await;
    session.shutdown().await;
    let interrupted = driven?;
    let results = written?;
    let summary = experiment.summary(&records);
    if let Some(stop) = interrupted {
        tracing::warn!(
            "{}: completed samples are in {}; continue with the same command and --resume",
            stop.describe(),
            journal_path.display()
        );
    }
    Ok(Outcome {
        interrupted,
        results,
        journal: journal_path,
        summary,
    })
}

/// Deploy, then batches until done or Ctrl-C/SIGTERM; returns what stopped it early, if anything.
async fn drive<E: Experiment>(
    experiment: &mut E,
    session: &Session,
    journal: &mut Journal,
    records: &mut Vec<E::Record>,
) -> Result<Option<Stop>> {
    let mut signals = StopSignals::new()?;
    tokio::select! {
        deployed = experiment.deploy(session, records) => deployed?,
        stop = signals.recv() => return Ok(Some(stop)),
    }
    let mut progress: Option<(String, Progress)> = None;
    loop {
        let status = experiment.status(records);
        match &progress {
            Some((phase, bar)) if *phase == status.phase => bar.update(status.done, &status.note),
            _ => {
                if let Some((_, bar)) = &progress {
                    bar.finish();
                }
                let bar = Progress::new(&status.phase, status.total, status.done);
                progress = Some((status.phase.clone(), bar));
            }
        }
        let batch = tokio::select! {
            batch = experiment.next_batch(session, records) => batch,
            stop = signals.recv() => {
                if let Some((_, bar)) = &progress { bar.finish(); }
                return Ok(Some(stop));
            }
        };
        let Some(batch) = batch.inspect_err(|_| {
            if let Some((_, bar)) = &progress {
                bar.finish();
            }
        })?
        else {
            break;
        };
        journal.append(&batch)?;
        records.extend(batch);
    }
    if let Some((_, bar)) = &progress {
        bar.finish();
    }
    Ok(None)
}

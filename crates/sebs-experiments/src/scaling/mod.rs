//! scaling: an open-loop load (constant, Poisson, step, ramp, burst, sinusoid, or a replayed
//! Azure Functions trace) on a benchmark, with the platform's instance count sampled over time.
//! Processing turns the requests into per-second series (offered and achieved throughput,
//! latency, cold starts, live and inferred instances, throttles), latency against offered
//! load, time to scale and the keep-alive seen from outside.
//!
//! Requests are journaled as they complete; the schedule is cut into windows, and `--resume`
//! restarts at the first window not completed (a new attempt: the records of the attempt that
//! completed a window are the ones kept).

mod analysis;
pub mod driver;
pub mod load;
pub mod trace;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use async_trait::async_trait;
use sebs_core::config::{LoadConfig, ScalingConfig, UserConfig};
use sebs_platforms::{Session, Trigger, TriggerKind};
use sebs_report::write_json;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::mpsc::{UnboundedReceiver, error::TryRecvError};
use tokio::time::Instant;

pub use analysis::{Analysis, Second, analyse};
pub use driver::{Pacer, Request, RequestStatus};
use load::{Schedule, Spacing};

use crate::process::ProcessContext;
use crate::runner::{Experiment, Plan};
use crate::{Processed, Status};

/// A sample of the platform's own instance count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// The attempt that took it.
    pub attempt: u32,
    /// Seconds of schedule.
    pub t: f64,
    /// Function index.
    pub function: u32,
    /// Instances alive.
    pub live: u64,
    /// Instances running an invocation.
    pub busy: u64,
    /// Requests waiting for an instance.
    pub queued: u64,
}

/// A journal line: a completed request or an instance sample.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "record", rename_all = "lowercase")]
pub enum Record {
    /// A request.
    Request(Request),
    /// An instance sample.
    Instances(Sample),
}

/// The scaling experiment.
pub struct Scaling {
    settings: ScalingConfig,
    benchmark: String,
    size: String,
    memory: u64,
    trigger: TriggerKind,
    schedule: Schedule,
    window: f64,
    sample_interval: f64,
    cooldown: f64,
    max_in_flight: u64,
    /// Keep connections between requests.
    reuse: bool,
    pacer: Pacer,
    names: Vec<String>,
    triggers: Vec<Arc<dyn Trigger>>,
    deployment: Value,
    run: Option<Running>,
    finished: bool,
    begin_time: f64,
    /// Wall-clock time (epoch s) of schedule time 0, as the latest attempt ran it.
    origin_epoch: f64,
}

/// A run in progress.
struct Running {
    results: UnboundedReceiver<Request>,
    stop: Arc<AtomicBool>,
    attempt: u32,
    origin: Instant,
    origin_t: f64,
    next_tick: Instant,
    drained_at: Option<f64>,
}

impl Running {
    fn schedule_time(&self, at: Instant) -> f64 {
        self.origin_t + at.saturating_duration_since(self.origin).as_secs_f64()
    }
}

impl Drop for Scaling {
    fn drop(&mut self) {
        if let Some(run) = &self.run {
            run.stop.store(true, Ordering::Relaxed);
        }
    }
}

fn positive(name: &str, value: Option<f64>, default: f64) -> Result<f64> {
    let v = value.unwrap_or(default);
    if !(v > 0.0 && v.is_finite()) {
        bail!("experiments.scaling.{name} must be a positive number of seconds (got {v})");
    }
    Ok(v)
}

impl Plan for Scaling {
    fn plan(config: &UserConfig) -> Result<Scaling> {
        let s = config.experiments.scaling.clone().unwrap_or_default();
        let benchmark = s.benchmark.clone().unwrap_or_else(|| "010.sleep".into());
        let load = s.load.clone().unwrap_or(LoadConfig::Constant {
            rate: 10.0,
            duration: 10.0,
        });
        let seed = s.seed.unwrap_or(1);
        let schedule = match &load {
            LoadConfig::Trace {
                path,
                functions,
                start_minute,
                minutes,
                minute_seconds,
                rate_scale,
                iat,
            } => {
                let random = match iat.as_deref().unwrap_or("equidistant") {
                    "equidistant" => false,
                    "random" => true,
                    other => bail!(
                        "experiments.scaling.load.iat: `{other}` is not known; use \"equidistant\" or \"random\""
                    ),
                };
                let replay = trace::Replay {
                    functions: *functions,
                    start: start_minute.unwrap_or(1).max(1) as usize - 1,
                    minutes: minutes.map(|m| m as usize),
                    minute_seconds: minute_seconds.unwrap_or(60.0),
                    rate_scale: rate_scale.unwrap_or(1.0),
                    random,
                    seed,
                };
                trace::schedule(&trace::read(path)?, &replay)?
            }
            other => load::schedule(
                other,
                Spacing::parse(s.arrivals.as_deref())?,
                seed,
                &benchmark,
            )?,
        };
        let trigger = match s.trigger.as_deref().unwrap_or("http") {
            "http" => TriggerKind::Http,
            "library" => TriggerKind::Library,
            other => bail!(
                "experiments.scaling.trigger: `{other}` is not a trigger; use \"http\" or \"library\""
            ),
        };
        let reuse = match s.connections.as_deref().unwrap_or("reuse") {
            "reuse" => true,
            "per-request" => false,
            other => bail!(
                "experiments.scaling.connections: `{other}` is not known; use \"reuse\" or \"per-request\""
            ),
        };
        let cooldown = s.cooldown.unwrap_or(0.0);
        if !(cooldown >= 0.0 && cooldown.is_finite()) {
            bail!("experiments.scaling.cooldown must be a non-negative number of seconds");
        }
        Ok(Scaling {
            benchmark,
            size: s.input_size.clone().unwrap_or_else(|| "test".into()),
            memory: s.memory.unwrap_or(256),
            trigger,
            schedule,
            window: positive("window", s.window, 10.0)?,
            sample_interval: positive("sample-interval", s.sample_interval, 1.0)?,
            cooldown,
            max_in_flight: s.max_in_flight.unwrap_or(10_000).max(1),
            reuse,
            pacer: Pacer::Thread,
            names: Vec::new(),
            triggers: Vec::new(),
            deployment: Value::Null,
            run: None,
            finished: false,
            begin_time: 0.0,
            origin_epoch: 0.0,
            settings: ScalingConfig {
                load: Some(load),
                ..s
            },
        })
    }
}

impl Scaling {
    /// Pace on tokio's clock instead of a thread of its own (tests under a paused clock).
    pub fn with_pacer(mut self, pacer: Pacer) -> Scaling {
        self.pacer = pacer;
        self
    }

    /// The schedule this run follows.
    pub fn schedule(&self) -> &Schedule {
        &self.schedule
    }

    fn windows(&self) -> u32 {
        (self.schedule.duration / self.window).ceil().max(1.0) as u32
    }

    /// Requests due in each window.
    fn expected(&self) -> Vec<u64> {
        let mut counts = vec![0; self.windows() as usize];
        for a in &self.schedule.arrivals {
            let w = ((a.t / self.window) as usize).min(counts.len() - 1);
            counts[w] += 1;
        }
        counts
    }

    /// Start sending from the first window no attempt completed.
    fn begin(&mut self, session: &Session, done: &[Record]) -> Result<()> {
        let complete = complete_windows(done, &self.expected());
        let first = complete
            .iter()
            .position(|c| c.is_none())
            .unwrap_or(complete.len());
        let attempt = done.iter().map(record_attempt).max().unwrap_or(0) + 1;
        if first == complete.len() {
            self.finished = true;
            return Ok(());
        }
        let origin_t = first as f64 * self.window;
        let arrivals: Vec<_> = self
            .schedule
            .arrivals
            .iter()
            .enumerate()
            .filter(|(_, a)| (a.t / self.window) as usize >= first)
            .map(|(i, a)| (i as u64, *a))
            .collect();
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let stop = Arc::new(AtomicBool::new(false));
        let origin = Instant::now() + Duration::from_millis(20);
        let mut payload = session.generated.input.clone();
        if let (Some(map), Some(extra)) = (payload.as_object_mut(), &self.settings.payload) {
            map.extend(extra.clone());
        }
        let triggers = self.triggers.clone();
        let dispatcher = driver::Dispatcher {
            // Every function gets the same input: one shared copy.
            payloads: std::iter::repeat_n(Arc::new(payload), triggers.len()).collect(),
            triggers,
            results: tx,
            in_flight: Arc::new(AtomicU64::new(0)),
            max_in_flight: self.max_in_flight,
            attempt,
            window: self.window,
            origin,
            origin_t,
        };
        driver::raise_open_files_limit();
        driver::start(self.pacer, arrivals, dispatcher, stop.clone())
            .context("failed to start the driver's pacing thread")?;
        if self.begin_time == 0.0 {
            self.begin_time = crate::epoch_now();
        }
        let ahead = origin
            .saturating_duration_since(Instant::now())
            .as_secs_f64();
        self.origin_epoch = crate::epoch_now() + ahead - origin_t;
        self.run = Some(Running {
            results: rx,
            stop,
            attempt,
            origin,
            origin_t,
            next_tick: origin,
            drained_at: None,
        });
        Ok(())
    }
}

fn record_attempt(record: &Record) -> u32 {
    match record {
        Record::Request(r) => r.attempt,
        Record::Instances(s) => s.attempt,
    }
}

/// For each window, the attempt whose requests cover it entirely (the latest such), if any.
fn complete_windows(done: &[Record], expected: &[u64]) -> Vec<Option<u32>> {
    let mut counts: BTreeMap<(u32, u32), u64> = BTreeMap::new();
    for record in done {
        if let Record::Request(r) = record {
            *counts.entry((r.window, r.attempt)).or_default() += 1;
        }
    }
    expected
        .iter()
        .enumerate()
        .map(|(w, &n)| {
            if n == 0 {
                return Some(0);
            }
            counts
                .iter()
                .filter(|((window, _), count)| *window as usize == w && **count == n)
                .map(|((_, attempt), _)| *attempt)
                .max()
        })
        .collect()
}

/// The records a run's results keep: per window, the requests of the attempt that completed it
/// (else of the latest attempt that sent any), and the instance samples taken while that
/// attempt covered the window.
pub fn select(done: &[Record], expected: &[u64], window: f64) -> (Vec<Request>, Vec<Sample>) {
    let complete = complete_windows(done, expected);
    let mut latest: BTreeMap<u32, u32> = BTreeMap::new();
    for record in done {
        if let Record::Request(r) = record {
            let entry = latest.entry(r.window).or_default();
            *entry = (*entry).max(r.attempt);
        }
    }
    let chosen = |w: u32| {
        complete
            .get(w as usize)
            .copied()
            .flatten()
            .filter(|a| *a > 0)
            .or_else(|| latest.get(&w).copied())
    };
    let mut requests: Vec<Request> = done
        .iter()
        .filter_map(|r| match r {
            Record::Request(r) if chosen(r.window) == Some(r.attempt) => Some(r.clone()),
            _ => None,
        })
        .collect();
    requests.sort_by_key(|r| r.index);
    let last_window = expected.len().saturating_sub(1) as u32;
    let mut samples: Vec<Sample> = done
        .iter()
        .filter_map(|r| match r {
            Record::Instances(s) => {
                let w = ((s.t / window) as u32).min(last_window);
                // Samples of the cooldown belong to the attempt that ran the last window.
                let owner = chosen(w).or_else(|| latest.values().max().copied());
                (owner.is_none() || owner == Some(s.attempt)).then(|| s.clone())
            }
            _ => None,
        })
        .collect();
    samples.sort_by(|a, b| a.t.total_cmp(&b.t).then(a.function.cmp(&b.function)));
    (requests, samples)
}

#[async_trait]
impl Experiment for Scaling {
    type Record = Record;

    fn name(&self) -> &'static str {
        "scaling"
    }

    fn benchmark(&self) -> (String, String) {
        (self.benchmark.clone(), self.size.clone())
    }

    async fn deploy(&mut self, session: &Session, _done: &[Record]) -> Result<()> {
        let base = session.default_function_name();
        let count = self.schedule.functions.len();
        for i in 0..count {
            let name = if count == 1 {
                base.clone()
            } else {
                session
                    .platform
                    .format_function_name(&format!("{base}-{i}"))
            };
            let deployment = session.deploy(&name, self.memory).await?;
            if self.deployment.is_null() {
                self.deployment = deployment;
            }
            let trigger = session.trigger(&name, self.trigger).await?;
            let trigger = match self.reuse {
                true => trigger.reusing_connections().unwrap_or(trigger),
                false => trigger,
            };
            self.triggers.push(trigger);
            self.names.push(name);
        }
        Ok(())
    }

    async fn next_batch(
        &mut self,
        session: &Session,
        done: &[Record],
    ) -> Result<Option<Vec<Record>>> {
        if self.run.is_none() && !self.finished {
            self.begin(session, done)?;
        }
        let Some(run) = self.run.as_mut().filter(|_| !self.finished) else {
            return Ok(None);
        };
        tokio::time::sleep_until(run.next_tick).await;
        run.next_tick += Duration::from_secs_f64(self.sample_interval);
        let now = run.schedule_time(Instant::now());
        let mut batch = Vec::new();
        for (i, name) in self.names.iter().enumerate() {
            match session.platform.instances_now(name).await {
                Ok(Some(count)) => batch.push(Record::Instances(Sample {
                    attempt: run.attempt,
                    t: now,
                    function: i as u32,
                    live: count.live,
                    busy: count.busy,
                    queued: count.queued,
                })),
                Ok(None) => {}
                Err(e) => tracing::debug!("no instance count of {name}: {e:#}"),
            }
        }
        loop {
            match run.results.try_recv() {
                Ok(request) => batch.push(Record::Request(request)),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    run.drained_at.get_or_insert(now);
                    break;
                }
            }
        }
        if run.drained_at.is_some_and(|d| now >= d + self.cooldown) {
            self.finished = true;
        }
        Ok(Some(batch))
    }

    fn status(&self, done: &[Record]) -> Status {
        let mut by_status: BTreeMap<RequestStatus, u64> = BTreeMap::new();
        for record in done {
            if let Record::Request(r) = record {
                *by_status.entry(r.status).or_default() += 1;
            }
        }
        let total = self.schedule.arrivals.len() as u64;
        let note = [
            RequestStatus::Failed,
            RequestStatus::Throttled,
            RequestStatus::Timeout,
            RequestStatus::Dropped,
        ]
        .iter()
        .filter_map(|s| by_status.get(s).map(|n| format!("{n} {}", s.as_str())))
        .collect::<Vec<_>>()
        .join(", ");
        Status {
            phase: format!("scaling {}", self.shape_name()),
            done: by_status.values().sum::<u64>().min(total),
            total,
            note,
        }
    }

    async fn write_results(
        &mut self,
        session: &Session,
        dir: &Path,
        done: &[Record],
    ) -> Result<PathBuf> {
        if let Some(run) = &self.run {
            run.stop.store(true, Ordering::Relaxed);
        }
        let (requests, samples) = select(done, &self.expected(), self.window);
        let path = dir.join("scaling.json");
        let doc = json!({
            "experiment": "scaling",
            "config": session.result_config(self.deployment.clone()),
            "scaling": self.settings,
            "functions": self.names,
            "labels": self.schedule.functions,
            "duration": self.schedule.duration,
            "window": self.window,
            "steps": self.schedule.steps,
            "scheduled": self.schedule.arrivals.len(),
            "begin_time": self.begin_time,
            "origin_epoch": self.origin_epoch,
            "end_time": crate::epoch_now(),
            "requests": requests,
            "instances": samples,
        });
        write_json(&path, &doc)?;
        Ok(path)
    }

    fn summary(&self, done: &[Record]) -> String {
        let (requests, samples) = select(done, &self.expected(), self.window);
        let analysis = analyse(
            &requests,
            &samples,
            &self.schedule.steps,
            self.names.len(),
            &[],
        );
        analysis.text()
    }
}

impl Scaling {
    fn shape_name(&self) -> &'static str {
        match self.settings.load {
            Some(LoadConfig::Constant { .. }) | None => "constant",
            Some(LoadConfig::Poisson { .. }) => "poisson",
            Some(LoadConfig::Step { .. }) => "step",
            Some(LoadConfig::Ramp { .. }) => "ramp",
            Some(LoadConfig::Burst { .. }) => "burst",
            Some(LoadConfig::Sinusoid { .. }) => "sinusoid",
            Some(LoadConfig::Trace { .. }) => "trace",
        }
    }
}

/// The results file a run wrote, read back.
#[derive(Debug, Deserialize)]
struct Results {
    #[serde(default)]
    config: Value,
    #[serde(default)]
    begin_time: f64,
    #[serde(default)]
    end_time: f64,
    #[serde(default)]
    origin_epoch: f64,
    #[serde(default)]
    steps: Vec<(f64, f64)>,
    #[serde(default)]
    functions: Vec<String>,
    requests: Vec<Request>,
    #[serde(default)]
    instances: Vec<Sample>,
}

/// `sebs experiment process scaling`: the per-second series (`timeseries.csv`), latency against
/// offered load (`load-latency.csv`) and the summary (`summary.json`).
pub async fn process(ctx: &ProcessContext) -> Result<Processed> {
    let dir = ctx.output_dir.join("scaling");
    let path = dir.join("scaling.json");
    let text = tokio::fs::read(&path).await.with_context(|| {
        format!(
            "cannot read {}: run `sebs experiment invoke scaling` with the same --output-dir first",
            path.display()
        )
    })?;
    let results: Results = serde_json::from_slice(&text)
        .with_context(|| format!("{} is not a scaling results file", path.display()))?;
    let history = provider_history(ctx, &results).await;
    let analysis = analyse(
        &results.requests,
        &results.instances,
        &results.steps,
        results.functions.len(),
        &history,
    );
    let series = dir.join("timeseries.csv");
    tokio::fs::write(&series, analysis.series_csv()).await?;
    let levels = dir.join("load-latency.csv");
    tokio::fs::write(&levels, analysis.levels_csv()).await?;
    let summary = dir.join("summary.json");
    write_json(&summary, &analysis.summary_json())?;
    let text = format!(
        "{}\nwrote {}\nwrote {}\nwrote {}\n",
        analysis.text(),
        series.display(),
        levels.display(),
        summary.display()
    );
    Ok(Processed {
        path: series,
        summary: text,
        exit_code: 0,
    })
}

/// The provider's own concurrency history of the run's functions, in seconds of schedule and
/// summed over functions; empty where the platform keeps none or cannot be asked (said once).
async fn provider_history(ctx: &ProcessContext, results: &Results) -> Vec<(f64, f64, f64)> {
    let record = &results.config["deployment"];
    let name = record["name"].as_str().unwrap_or("local");
    let platform =
        match sebs_platforms::factory::create_named(name, &ctx.deployment, &ctx.cache_dir) {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!("no provider concurrency history: {e:#}");
                return Vec::new();
            }
        };
    let points = platform
        .concurrency_history(
            record,
            &results.functions,
            results.begin_time,
            results.end_time.max(results.begin_time),
        )
        .await;
    platform.shutdown().await;
    let points = match points {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!("the {name} platform's concurrency history could not be read: {e:#}");
            return Vec::new();
        }
    };
    let mut summed: BTreeMap<u64, (f64, f64, f64)> = BTreeMap::new();
    for p in points {
        let t = p.time - results.origin_epoch;
        let entry = summed.entry(t.to_bits()).or_insert((t, p.period, 0.0));
        entry.2 += p.instances;
    }
    summed.into_values().collect()
}

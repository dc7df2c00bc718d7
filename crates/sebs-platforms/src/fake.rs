//! A deterministic fake platform for tests, in the spirit of hyperfine's `MockExecutor`: cold and
//! warm starts, latencies, keep-alive eviction and failures follow a script, so experiments and
//! processing can be tested with exact numbers.
//!
//! Time is tokio's clock: under `#[tokio::test(start_paused = true)]` an experiment's idle
//! periods and the fake's invocation times pass instantly and exactly.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use async_trait::async_trait;
use sebs_core::config::Architecture;
use sebs_core::result::{ExecutionResult, InvocationError, ProviderMetrics};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::platform::{
    FunctionConfig, InstanceCount, PackageTarget, Platform, Resource, Trigger, TriggerKind,
    deployment_record,
};

/// What the fake does. Times are exact: every cold invocation takes `cold_client_us` at the
/// client and `cold_benchmark_us` in the function, every warm one the warm values.
#[derive(Debug, Clone)]
pub struct FakeScript {
    /// Client time of a cold invocation (µs).
    pub cold_client_us: u64,
    /// Client time of a warm invocation (µs).
    pub warm_client_us: u64,
    /// Function time of a cold invocation (µs).
    pub cold_benchmark_us: u64,
    /// Function time of a warm invocation (µs).
    pub warm_benchmark_us: u64,
    /// Provider-measured initialization of a cold start (µs).
    pub init_us: u64,
    /// Provider execution time minus function time (µs): the runtime's own share.
    pub provider_overhead_us: u64,
    /// Peak memory an invocation reports (MB).
    pub memory_used_mb: u64,
    /// How long an idle instance is kept; older idle instances are evicted.
    pub keep_alive: Duration,
    /// How long an invocation occupies its instance (tokio time); concurrent invocations each
    /// need an instance of their own.
    pub busy: Duration,
    /// Every n-th invocation (counted from 1 over the platform) fails, if set.
    pub fail_every: Option<u64>,
}

impl Default for FakeScript {
    fn default() -> Self {
        FakeScript {
            cold_client_us: 100_000,
            warm_client_us: 10_000,
            cold_benchmark_us: 50_000,
            warm_benchmark_us: 5_000,
            init_us: 40_000,
            provider_overhead_us: 500,
            memory_used_mb: 64,
            keep_alive: Duration::from_secs(60),
            busy: Duration::from_millis(1),
            fail_every: None,
        }
    }
}

#[derive(Debug)]
struct Instance {
    /// Stable for the instance's life (what the function reports as `container_id`).
    id: u64,
    busy: bool,
    idle_since: Instant,
}

#[derive(Debug, Default)]
struct State {
    functions: BTreeMap<String, FunctionConfig>,
    instances: BTreeMap<String, Vec<Instance>>,
    /// Instances started so far (their ids count from 1).
    started: u64,
    invocations: u64,
    metrics: HashMap<String, ProviderMetrics>,
}

/// One line of the fake's metrics log.
#[derive(Debug, Serialize, Deserialize)]
struct MetricsLine {
    request_id: String,
    #[serde(flatten)]
    metrics: ProviderMetrics,
}

struct FakeInner {
    script: FakeScript,
    state: Arc<Mutex<State>>,
    metrics_log: Option<PathBuf>,
    started: Instant,
}

impl FakeInner {
    fn invoke_sync_start(&self, function: &str) -> Result<(u64, bool, u64, u64), String> {
        let mut state = self.state.lock().expect("lock");
        let Some(config) = state.functions.get(function) else {
            return Err(format!("function {function} does not exist"));
        };
        let memory = config.memory_mb;
        state.invocations += 1;
        let n = state.invocations;
        let now = Instant::now();
        let keep_alive = self.script.keep_alive;
        let next_id = state.started + 1;
        let instances = state.instances.entry(function.to_owned()).or_default();
        instances.retain(|i| i.busy || now.duration_since(i.idle_since) <= keep_alive);
        // The most recently used idle instance serves the call, as real platforms prefer.
        let warm = instances
            .iter_mut()
            .filter(|i| !i.busy)
            .max_by_key(|i| (i.idle_since, i.id));
        let (id, cold) = match warm {
            Some(instance) => {
                instance.busy = true;
                (instance.id, false)
            }
            None => {
                instances.push(Instance {
                    id: next_id,
                    busy: true,
                    idle_since: now,
                });
                (next_id, true)
            }
        };
        if cold {
            state.started = next_id;
        }
        Ok((n, cold, memory, id))
    }

    fn invoke_sync_end(&self, function: &str, id: u64) {
        let mut state = self.state.lock().expect("lock");
        if let Some(instance) = state
            .instances
            .get_mut(function)
            .and_then(|list| list.iter_mut().find(|i| i.id == id))
        {
            instance.busy = false;
            instance.idle_since = Instant::now();
        }
    }

    /// Live (busy, or idle within the keep-alive) and busy instances of `function` now.
    fn count(&self, function: &str) -> (u64, u64) {
        let state = self.state.lock().expect("lock");
        let now = Instant::now();
        let Some(list) = state.instances.get(function) else {
            return (0, 0);
        };
        let live = list
            .iter()
            .filter(|i| i.busy || now.duration_since(i.idle_since) <= self.script.keep_alive)
            .count() as u64;
        (live, list.iter().filter(|i| i.busy).count() as u64)
    }

    fn record(&self, request_id: &str, metrics: ProviderMetrics) {
        if let Some(path) = &self.metrics_log {
            let line = MetricsLine {
                request_id: request_id.to_owned(),
                metrics: metrics.clone(),
            };
            let appended = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .and_then(|mut f| {
                    let mut text = serde_json::to_vec(&line).map_err(std::io::Error::other)?;
                    text.push(b'\n');
                    f.write_all(&text)
                });
            if let Err(e) = appended {
                tracing::warn!("fake platform: cannot append to {}: {e}", path.display());
            }
        }
        self.state
            .lock()
            .expect("lock")
            .metrics
            .insert(request_id.to_owned(), metrics);
    }

    /// A wall-clock-like timestamp on tokio's clock, so results are reproducible.
    fn timestamp(&self) -> String {
        let us = Instant::now().duration_since(self.started).as_micros() as u64;
        format!(
            "2026-01-01 00:{:02}:{:02}.{:06}",
            us / 60_000_000 % 60,
            us / 1_000_000 % 60,
            us % 1_000_000
        )
    }

    async fn invoke(&self, function: &str, input: &Value) -> ExecutionResult {
        let mut result = ExecutionResult::default();
        result.times.client_begin = self.timestamp();
        let (n, cold, memory, instance) = match self.invoke_sync_start(function) {
            Ok(started) => started,
            Err(message) => {
                result.stats.failure = true;
                result.error = Some(InvocationError {
                    kind: "ResourceNotFound".into(),
                    message,
                    traceback: vec![],
                });
                return result;
            }
        };
        tokio::time::sleep(self.script.busy).await;
        self.invoke_sync_end(function, instance);
        let s = &self.script;
        let request_id = format!("fake-{n:06}");
        result.request_id = request_id.clone();
        result.times.client_end = self.timestamp();
        result.stats.cold_start = cold;
        let (client, benchmark) = if cold {
            (s.cold_client_us, s.cold_benchmark_us)
        } else {
            (s.warm_client_us, s.warm_benchmark_us)
        };
        result.times.client = client;
        let execution_us = benchmark + s.provider_overhead_us;
        self.record(
            &request_id,
            ProviderMetrics {
                execution_us,
                initialization_us: cold.then_some(s.init_us),
                billed_ms: execution_us.div_ceil(1000).max(1),
                memory_mb: memory,
                max_memory_used_mb: Some(s.memory_used_mb),
            },
        );
        if s.fail_every.is_some_and(|k| k > 0 && n.is_multiple_of(k)) {
            result.stats.failure = true;
            result.error = Some(InvocationError {
                kind: "FakeError".into(),
                message: format!("scripted failure of invocation {n}"),
                traceback: vec![],
            });
            return result;
        }
        result.times.benchmark = benchmark;
        result.output = json!({
            "begin": 0.0,
            "end": benchmark as f64 / 1e6,
            "is_cold": cold,
            "container_id": format!("fake-instance-{instance}"),
            "request_id": request_id,
            "result": {"output": input.clone()},
        });
        result
    }

    fn read_log(path: &std::path::Path) -> Result<HashMap<String, ProviderMetrics>> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("failed to read the fake metrics log {}", path.display()))?;
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let line: MetricsLine = serde_json::from_str(l)
                    .with_context(|| format!("bad line in {}", path.display()))?;
                Ok((line.request_id, line.metrics))
            })
            .collect()
    }
}

struct FakeTrigger {
    platform: Arc<FakeInner>,
    function: String,
    kind: TriggerKind,
}

#[async_trait]
impl Trigger for FakeTrigger {
    fn kind(&self) -> TriggerKind {
        self.kind
    }

    fn url(&self) -> Option<String> {
        None
    }

    async fn invoke(&self, input: &Value) -> ExecutionResult {
        self.platform.invoke(&self.function, input).await
    }
}

/// The fake platform (deployment name `fake`). Clones share one platform, so a test can keep a
/// handle while the seam owns a `Box<dyn Platform>`.
#[derive(Clone)]
pub struct FakePlatform(Arc<FakeInner>);

impl FakePlatform {
    /// A fake following `script`; with `metrics_log`, provider metrics are also appended there
    /// (so a later process step, with another fake, can read them).
    pub fn new(script: FakeScript, metrics_log: Option<PathBuf>) -> FakePlatform {
        FakePlatform(Arc::new(FakeInner {
            script,
            state: Arc::default(),
            metrics_log,
            started: Instant::now(),
        }))
    }

    /// Invocations served so far.
    pub fn invocations(&self) -> u64 {
        self.0.state.lock().expect("lock").invocations
    }
}

#[async_trait]
impl Platform for FakePlatform {
    fn name(&self) -> &str {
        "fake"
    }

    fn resources_id(&self) -> &str {
        "fake"
    }

    fn package_target(&self, architecture: Architecture) -> PackageTarget {
        // The fake runs nothing; the local layout keeps its packages in the cache next to the
        // local platform's.
        PackageTarget::local(architecture)
    }

    async fn create_or_update(&self, function: &FunctionConfig) -> Result<Value> {
        let mut state = self.0.state.lock().expect("lock");
        let changed = state
            .functions
            .get(&function.name)
            .is_none_or(|old| old.code_hash != function.code_hash);
        if changed {
            state.instances.remove(&function.name);
        }
        state
            .functions
            .insert(function.name.clone(), function.clone());
        Ok(deployment_record(
            "fake",
            json!({
                "keep-alive": self.0.script.keep_alive.as_secs_f64(),
                "metrics-log": self.0.metrics_log,
            }),
        ))
    }

    async fn trigger(&self, function: &str, kind: TriggerKind) -> Result<Arc<dyn Trigger>> {
        if !self
            .0
            .state
            .lock()
            .expect("lock")
            .functions
            .contains_key(function)
        {
            bail!("function {function} is not deployed on the fake platform");
        }
        Ok(Arc::new(FakeTrigger {
            platform: self.0.clone(),
            function: function.to_owned(),
            kind,
        }))
    }

    async fn instances_now(&self, function: &str) -> Result<Option<InstanceCount>> {
        let (live, busy) = self.0.count(function);
        Ok(Some(InstanceCount {
            live,
            busy,
            queued: 0,
        }))
    }

    async fn enforce_cold_start(&self, functions: &[String]) -> Result<()> {
        let mut state = self.0.state.lock().expect("lock");
        for name in functions {
            if let Some(list) = state.instances.get_mut(name) {
                list.retain(|i| i.busy);
            }
        }
        Ok(())
    }

    async fn provider_metrics(
        &self,
        deployment: &Value,
        request_ids: &[String],
    ) -> Result<HashMap<String, ProviderMetrics>> {
        let all = match deployment["resources"]["metrics-log"].as_str() {
            Some(path) => FakeInner::read_log(std::path::Path::new(path))?,
            None => self.0.state.lock().expect("lock").metrics.clone(),
        };
        Ok(request_ids
            .iter()
            .filter_map(|id| all.get(id).map(|m| (id.clone(), m.clone())))
            .collect())
    }

    async fn resources(&self) -> Result<Vec<Resource>> {
        Ok(self
            .0
            .state
            .lock()
            .expect("lock")
            .functions
            .keys()
            .map(|name| Resource::function(name))
            .collect())
    }

    async fn remove(&self, functions: &[String]) -> Result<()> {
        let mut state = self.0.state.lock().expect("lock");
        for name in functions {
            state.functions.remove(name);
            state.instances.remove(name);
        }
        Ok(())
    }

    async fn shutdown(self: Box<Self>) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    fn function(name: &str) -> FunctionConfig {
        FunctionConfig {
            name: name.into(),
            benchmark: "000.fake".into(),
            language: sebs_core::config::Language::Python,
            language_version: "3.11".into(),
            interpreter: PathBuf::from("/bin/false"),
            architecture: sebs_core::config::Architecture::X64,
            code_dir: PathBuf::from("/nonexistent"),
            code_hash: "h1".into(),
            code_size: 0,
            memory_mb: 256,
            timeout_s: 10,
            env: BTreeMap::new(),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn cold_then_warm_then_evicted() {
        let fake = FakePlatform::new(
            FakeScript {
                keep_alive: Duration::from_secs(5),
                ..FakeScript::default()
            },
            None,
        );
        fake.create_or_update(&function("f")).await.unwrap();
        let t = fake.trigger("f", TriggerKind::Http).await.unwrap();
        let a = t.invoke(&json!({})).await;
        let b = t.invoke(&json!({})).await;
        tokio::time::sleep(Duration::from_secs(6)).await;
        let c = t.invoke(&json!({})).await;
        assert_eq!(
            [a.stats.cold_start, b.stats.cold_start, c.stats.cold_start],
            [true, false, true]
        );
        assert_eq!((a.times.client, b.times.client), (100_000, 10_000));
        let ids: Vec<String> = [&a, &b, &c].iter().map(|r| r.request_id.clone()).collect();
        let m = fake.provider_metrics(&json!({}), &ids).await.unwrap();
        assert_eq!(m["fake-000001"].initialization_us, Some(40_000));
        assert_eq!(m["fake-000002"].execution_us, 5_500);
        assert_eq!(m["fake-000002"].billed_ms, 6);
        assert_eq!(m["fake-000002"].memory_mb, 256);
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_calls_each_start_cold_and_failures_follow_the_script() {
        let fake = FakePlatform::new(
            FakeScript {
                fail_every: Some(3),
                ..FakeScript::default()
            },
            None,
        );
        fake.create_or_update(&function("f")).await.unwrap();
        let t = fake.trigger("f", TriggerKind::Library).await.unwrap();
        let input = json!({"x": 1});
        let (a, b, c) = tokio::join!(t.invoke(&input), t.invoke(&input), t.invoke(&input));
        assert!(a.stats.cold_start && b.stats.cold_start && c.stats.cold_start);
        assert!(!a.stats.failure && !b.stats.failure && c.stats.failure);
        assert_eq!(c.error.unwrap().kind, "FakeError");
        fake.enforce_cold_start(&["f".into()]).await.unwrap();
        assert!(t.invoke(&input).await.stats.cold_start);
    }
}

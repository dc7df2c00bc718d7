//! Dispatching an invocation: a slot in the function's pool, a warm or a new instance, the
//! call itself (with busy polling while CPUs are idle), and the platform's report.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;

use crate::channel::Spin;
use crate::error::PlatformError;
use crate::instance::Instance;
use crate::invocation::Invocation;
use crate::launch::start_instance;
use crate::metrics::Report;
use crate::pool::{Rejected, Slot};
use crate::state::{FunctionState, Shared};

/// Run one invocation of `name`: take a warm instance or start one (within the concurrency
/// limit, else queue or throttle), call it, record the platform's report and give the instance
/// back to the pool. The hot path of every trigger.
pub(crate) async fn invoke(
    shared: &Arc<Shared>,
    name: &str,
    payload: Bytes,
) -> Result<Invocation, PlatformError> {
    let function = shared
        .functions
        .lock()
        .expect("lock")
        .get(name)
        .cloned()
        .ok_or_else(|| PlatformError::NotFound(name.to_owned()))?;
    let timeout = function.spec.timeout;
    let (instance, cold) = take_instance(shared, &function, name).await?;
    if !cold {
        instance.cgroup.reset_peak();
    }
    let request_id = uuid::Uuid::new_v4().to_string();
    let now = SystemTime::now();
    let dispatched = Instant::now();
    let deadline_ms = (now + timeout)
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let outcome = {
        let _running = InFlight::enter(&shared.in_flight);
        let poll = shared.busy_poll();
        // Time an instance spends polling would count against its CPU share.
        let instance_poll = if shared.config.cpu_share { None } else { poll };
        let poll = poll.map(|budget| Spin {
            budget,
            in_flight: &shared.in_flight,
            max_in_flight: shared.cpus / 2,
            // With one client nobody else can need the async worker meanwhile, and going
            // through the runtime during the spin costs that client latency.
            shared: shared.open_connections.load(Ordering::Relaxed) > 1,
        });
        instance
            .call(
                &request_id,
                payload,
                deadline_ms,
                timeout,
                (poll, instance_poll),
            )
            .await
    };
    let finished = Instant::now();

    // Lambda's Duration excludes the init phase; Init Duration is reported on cold starts.
    let init = if cold { instance.init_duration() } else { None };
    let started = match init {
        Some(init) => (instance.spawned + init).max(dispatched),
        None => dispatched,
    };
    let duration_ms = finished.saturating_duration_since(started).as_secs_f64() * 1000.0;
    let peak = instance.memory_peak();
    let report = Report {
        request_id: request_id.clone(),
        function: name.to_owned(),
        instance_id: instance.id.clone(),
        timestamp: epoch_seconds(now),
        duration_ms,
        billed_duration_ms: Report::billed(duration_ms),
        memory_size_mb: function.spec.memory_mb,
        max_memory_used_mb: peak.map(|b| b.div_ceil(1024 * 1024)),
        init_duration_ms: init.map(|d| d.as_secs_f64() * 1000.0),
        status: outcome.status().to_owned(),
        cold_start_mode: cold.then(|| instance.mode.as_str().to_owned()),
    };
    let healthy = outcome.keeps_instance();
    let current = shared
        .functions
        .lock()
        .expect("lock")
        .get(name)
        .is_some_and(|f| Arc::ptr_eq(f, &function));
    let instance_id = instance.id.clone();
    function.pool.release(instance, healthy && current);
    shared.metrics.record(report.clone());
    Ok(Invocation {
        request_id,
        instance_id,
        cold,
        outcome,
        report,
    })
}

/// A warm instance of `function`, or a new one started within its concurrency limit (`true`:
/// cold); queued or throttled beyond it.
async fn take_instance(
    shared: &Arc<Shared>,
    function: &Arc<FunctionState>,
    name: &str,
) -> Result<(Arc<Instance>, bool), PlatformError> {
    let slot = function
        .pool
        .acquire(function.spec.timeout)
        .await
        .map_err(|r| match r {
            Rejected::Throttled => PlatformError::Throttled(name.to_owned()),
            Rejected::QueueTimeout => PlatformError::QueueTimeout(name.to_owned()),
        })?;
    match slot {
        Slot::Warm(instance) => Ok((instance, false)),
        Slot::Cold => match start_instance(shared, function).await {
            Ok(instance) => Ok((instance, true)),
            Err(e) => {
                function.pool.release_slot();
                Err(PlatformError::Spawn {
                    function: name.to_owned(),
                    message: e.to_string(),
                })
            }
        },
    }
}

/// Counts an invocation as in flight for as long as it lives.
struct InFlight<'a>(&'a AtomicUsize);

impl<'a> InFlight<'a> {
    fn enter(counter: &'a AtomicUsize) -> InFlight<'a> {
        counter.fetch_add(1, Ordering::AcqRel);
        InFlight(counter)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Shared {
    /// The busy-poll budget for an invocation starting now: none once in-flight invocations
    /// occupy more than half of the CPUs (polling would then take CPU time from functions).
    fn busy_poll(&self) -> Option<Duration> {
        let budget = self.config.busy_poll;
        let running = self.in_flight.load(Ordering::Acquire);
        (!budget.is_zero() && running * 2 <= self.cpus).then_some(budget)
    }
}

fn epoch_seconds(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

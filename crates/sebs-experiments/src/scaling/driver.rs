//! The open-loop driver: requests leave at the times the schedule says, whether or not earlier
//! ones have completed. Each request records when it was due and when it actually started, so
//! the driver's own lag is measured and reported, never hidden in the latencies (no
//! coordinated omission).
//!
//! Pacing runs on a thread of its own with 1 ns timer slack: tokio's timers have millisecond
//! resolution, too coarse for thousands of requests per second. The tests' pacer uses tokio's
//! clock instead, so runs on the fake platform are exact under a paused clock.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use sebs_core::result::ExecutionResult;
use sebs_platforms::Trigger;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::mpsc::UnboundedSender;
use tokio::time::Instant;

use super::load::Arrival;

/// What became of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RequestStatus {
    /// The function answered.
    Ok,
    /// The function or the transport failed.
    Failed,
    /// The platform refused it (HTTP 429, `TooManyRequestsException`).
    Throttled,
    /// No answer in time.
    Timeout,
    /// Never sent: `max-in-flight` requests were outstanding.
    Dropped,
}

impl RequestStatus {
    /// Every status, in table order.
    pub const ALL: [RequestStatus; 5] = [
        RequestStatus::Ok,
        RequestStatus::Failed,
        RequestStatus::Throttled,
        RequestStatus::Timeout,
        RequestStatus::Dropped,
    ];

    /// The name in files.
    pub fn as_str(self) -> &'static str {
        match self {
            RequestStatus::Ok => "ok",
            RequestStatus::Failed => "failed",
            RequestStatus::Throttled => "throttled",
            RequestStatus::Timeout => "timeout",
            RequestStatus::Dropped => "dropped",
        }
    }
}

/// One request of a run (a journal line).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Request {
    /// Which attempt of the run sent it (1, then +1 per `--resume`).
    pub attempt: u32,
    /// Position in the schedule.
    pub index: u64,
    /// Checkpoint window.
    pub window: u32,
    /// Function (index into the run's functions).
    pub function: u32,
    /// When it was due, in seconds of schedule.
    pub intended: f64,
    /// How late it started (µs): the driver's lag.
    pub lag_us: u64,
    /// From start to answer at the driver (µs).
    pub latency_us: u64,
    /// What became of it.
    pub status: RequestStatus,
    /// Whether the instance started for it.
    pub cold: bool,
    /// The instance that served it, as the function reports it (`container_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// The error, for a failed, throttled or timed-out request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The platform's request id.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub request_id: String,
    /// The function's own time (µs).
    #[serde(default)]
    pub benchmark_us: u64,
}

impl Request {
    /// Seconds of schedule at which the request completed (due + lag + latency).
    pub fn end(&self) -> f64 {
        self.intended + (self.lag_us + self.latency_us) as f64 / 1e6
    }

    /// Seconds of schedule at which it started.
    pub fn start(&self) -> f64 {
        self.intended + self.lag_us as f64 / 1e6
    }

    /// Response time from when it was due (µs): lag plus latency.
    pub fn response_us(&self) -> u64 {
        self.lag_us + self.latency_us
    }
}

/// The status of an invocation's result, and the error text to keep.
pub fn classify(result: &ExecutionResult) -> (RequestStatus, Option<String>) {
    let Some(error) = &result.error else {
        if result.stats.failure {
            return (RequestStatus::Failed, Some("failed".into()));
        }
        return (RequestStatus::Ok, None);
    };
    let text: String = format!("{}: {}", error.kind, error.message)
        .chars()
        .take(300)
        .collect();
    let kind = error.kind.as_str();
    let status =
        if kind == "HTTP429" || kind.contains("TooManyRequests") || kind.contains("Throttl") {
            RequestStatus::Throttled
        } else if kind.contains("Timeout")
            || kind.contains("TimedOut")
            || error.message.contains("timed out")
        {
            RequestStatus::Timeout
        } else {
            RequestStatus::Failed
        };
    (status, Some(text))
}

/// What a pacer needs to send one request.
#[derive(Clone)]
pub struct Dispatcher {
    /// The trigger of each function.
    pub triggers: Vec<Arc<dyn Trigger>>,
    /// The payload of each function.
    pub payloads: Vec<Arc<Value>>,
    /// Completed requests go here.
    pub results: UnboundedSender<Request>,
    /// Requests sent and not yet answered.
    pub in_flight: Arc<AtomicU64>,
    /// Above this many outstanding requests new ones are dropped.
    pub max_in_flight: u64,
    /// The run's attempt.
    pub attempt: u32,
    /// Seconds of schedule per window.
    pub window: f64,
    /// The instant schedule time `origin_t` falls on.
    pub origin: Instant,
    /// The schedule time at `origin` (the start of the first window of this attempt).
    pub origin_t: f64,
}

impl Dispatcher {
    /// When `arrival` is due.
    pub fn due(&self, arrival: &Arrival) -> Instant {
        self.origin + Duration::from_secs_f64((arrival.t - self.origin_t).max(0.0))
    }

    fn blank(&self, index: u64, arrival: &Arrival) -> Request {
        Request {
            attempt: self.attempt,
            index,
            window: (arrival.t / self.window) as u32,
            function: arrival.function,
            intended: arrival.t,
            lag_us: 0,
            latency_us: 0,
            status: RequestStatus::Dropped,
            cold: false,
            instance: None,
            error: None,
            request_id: String::new(),
            benchmark_us: 0,
        }
    }

    /// Send request `index` now, on `runtime` (or record it dropped when too many are out).
    pub fn dispatch(&self, runtime: &tokio::runtime::Handle, index: u64, arrival: Arrival) {
        let due = self.due(&arrival);
        let mut request = self.blank(index, &arrival);
        if self.in_flight.load(Ordering::Relaxed) >= self.max_in_flight {
            request.lag_us = Instant::now().saturating_duration_since(due).as_micros() as u64;
            request.error = Some(format!(
                "dropped by the driver: {} requests outstanding (experiments.scaling.max-in-flight)",
                self.max_in_flight
            ));
            let _ = self.results.send(request);
            return;
        }
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        let trigger = self.triggers[arrival.function as usize].clone();
        let payload = self.payloads[arrival.function as usize].clone();
        let results = self.results.clone();
        let in_flight = self.in_flight.clone();
        runtime.spawn(async move {
            let started = Instant::now();
            request.lag_us = started.saturating_duration_since(due).as_micros() as u64;
            let result = trigger.invoke(&payload).await;
            request.latency_us = started.elapsed().as_micros() as u64;
            in_flight.fetch_sub(1, Ordering::Relaxed);
            fill(&mut request, &result);
            let _ = results.send(request);
        });
    }
}

fn fill(request: &mut Request, result: &ExecutionResult) {
    let (status, error) = classify(result);
    request.status = status;
    request.error = error;
    request.cold = result.stats.cold_start;
    request.request_id = result.request_id.clone();
    request.benchmark_us = result.times.benchmark;
    request.instance = result.output["container_id"].as_str().map(str::to_owned);
}

/// How the pacer waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pacer {
    /// A thread of its own with fine timer slack (real runs).
    Thread,
    /// A tokio task on tokio's clock (tests under a paused clock).
    Tokio,
}

/// Send `arrivals` (with their schedule indices) at their times; returns when all are sent or
/// `stop` is set. The dispatcher (and with it the results channel) is dropped at the end, so
/// the channel closes once every request has completed.
pub fn start(
    pacer: Pacer,
    arrivals: Vec<(u64, Arrival)>,
    dispatcher: Dispatcher,
    stop: Arc<AtomicBool>,
) -> std::io::Result<()> {
    match pacer {
        Pacer::Tokio => {
            tokio::spawn(async move {
                let handle = tokio::runtime::Handle::current();
                for (index, arrival) in arrivals {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    tokio::time::sleep_until(dispatcher.due(&arrival)).await;
                    dispatcher.dispatch(&handle, index, arrival);
                }
            });
        }
        Pacer::Thread => {
            // Requests run on a runtime of their own: work of an in-process platform (the local
            // one's gateway) on the caller's runtime must not delay when requests leave.
            let driver = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("sebs-driver")
                .enable_all()
                .build()?;
            std::thread::Builder::new()
                .name("sebs-pacer".into())
                .spawn(move || pace_on_thread(driver, arrivals, dispatcher, stop))?;
        }
    }
    Ok(())
}

/// The pacing thread: send every arrival at its time on `driver`, then wait for the requests
/// in flight (or a stop) and drop the runtime here, outside any async context.
fn pace_on_thread(
    driver: tokio::runtime::Runtime,
    arrivals: Vec<(u64, Arrival)>,
    dispatcher: Dispatcher,
    stop: Arc<AtomicBool>,
) {
    fine_timer_slack();
    let handle = driver.handle().clone();
    for (index, arrival) in arrivals {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let due = dispatcher.due(&arrival).into_std();
        loop {
            let now = std::time::Instant::now();
            if now >= due {
                break;
            }
            std::thread::sleep(due - now);
        }
        dispatcher.dispatch(&handle, index, arrival);
    }
    let in_flight = dispatcher.in_flight.clone();
    drop(dispatcher);
    while in_flight.load(Ordering::Relaxed) > 0 && !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(5));
    }
    // After a stop, requests still out are abandoned with the run.
    driver.shutdown_background();
}

/// Every request in flight holds a socket (two, on the local platform): raise the soft limit on
/// open files to the hard one, as load generators do.
pub fn raise_open_files_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit read and write the struct passed; RLIMIT_NOFILE is valid.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < limit.rlim_max
        {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}

/// Linux rounds a sleeping thread's wake-up up by its timer slack (50 µs by default); the pacer
/// asks for the finest.
fn fine_timer_slack() {
    // SAFETY: PR_SET_TIMERSLACK takes an integer argument and affects only the calling thread.
    unsafe {
        libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong, 0, 0, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sebs_core::result::InvocationError;

    fn failed(kind: &str, message: &str) -> ExecutionResult {
        let mut r = ExecutionResult::default();
        r.stats.failure = true;
        r.error = Some(InvocationError {
            kind: kind.into(),
            message: message.into(),
            traceback: vec![],
        });
        r
    }

    #[test]
    fn throttles_timeouts_and_failures_are_told_apart() {
        assert_eq!(classify(&ExecutionResult::default()).0, RequestStatus::Ok);
        assert_eq!(
            classify(&failed("HTTP429", "Rate Exceeded")).0,
            RequestStatus::Throttled
        );
        assert_eq!(
            classify(&failed("TooManyRequestsException", "Rate exceeded")).0,
            RequestStatus::Throttled
        );
        assert_eq!(
            classify(&failed("Transport", "the request timed out after 3 s")).0,
            RequestStatus::Timeout
        );
        let (status, error) = classify(&failed("ZeroDivisionError", "division by zero"));
        assert_eq!(status, RequestStatus::Failed);
        assert_eq!(error.unwrap(), "ZeroDivisionError: division by zero");
    }
}

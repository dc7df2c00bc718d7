//! Provider metrics: one record per invocation with the fields of AWS Lambda's `REPORT` line.
//!
//! Records are kept in memory (for in-process queries and the Invoke API's `LogType: Tail`) and
//! appended to a JSON-lines log when one is configured, the local counterpart of CloudWatch Logs,
//! so `sebs benchmark process` can fill provider times and billing after the platform is gone.

use std::collections::VecDeque;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use sebs_core::result::ProviderMetrics;
use serde::{Deserialize, Serialize};

/// How many records are kept in memory.
const KEEP: usize = 10_000;

/// One invocation as the platform measured it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Request id.
    pub request_id: String,
    /// Function name.
    pub function: String,
    /// The instance that served it.
    pub instance_id: String,
    /// When the invocation was dispatched (epoch seconds).
    pub timestamp: f64,
    /// Execution time in ms (dispatch, or the end of init, to the reply).
    pub duration_ms: f64,
    /// Duration rounded up to the next millisecond, as Lambda bills.
    pub billed_duration_ms: u64,
    /// Configured memory in MB.
    pub memory_size_mb: u64,
    /// Peak memory of the instance during the invocation, in MB.
    pub max_memory_used_mb: Option<u64>,
    /// Time to start the instance and import the handler, on cold starts (ms).
    pub init_duration_ms: Option<f64>,
    /// `success`, `error` (the handler raised), `timeout`, `crash`, `oom`, `init_error`.
    pub status: String,
    /// How the instance was started: `exec` or `fork`; absent for warm invocations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cold_start_mode: Option<String>,
}

impl Report {
    /// Billed duration: rounded up to 1 ms, at least 1 ms.
    pub fn billed(duration_ms: f64) -> u64 {
        (duration_ms.ceil() as u64).max(1)
    }

    /// The record as Lambda prints it.
    pub fn report_line(&self) -> String {
        let mut line = format!(
            "REPORT RequestId: {}\tDuration: {:.2} ms\tBilled Duration: {} ms\tMemory Size: {} MB\tMax Memory Used: {} MB\t",
            self.request_id,
            self.duration_ms,
            self.billed_duration_ms,
            self.memory_size_mb,
            self.max_memory_used_mb.unwrap_or(0)
        );
        if let Some(init) = self.init_duration_ms {
            line.push_str(&format!("Init Duration: {init:.2} ms\t"));
        }
        line
    }

    /// GB-seconds billed.
    pub fn gb_seconds(&self) -> f64 {
        self.billed_duration_ms as f64 / 1000.0 * self.memory_size_mb as f64 / 1024.0
    }
}

/// The log writer: records are encoded by the invoking thread into a shared buffer, which a
/// thread of its own swaps out and appends to the file every [`FLUSH_EVERY`]. Nothing is
/// allocated for one thread and freed by another (the allocator's locks would then be shared
/// with the hot path), and recording wakes nobody.
#[derive(Debug)]
struct LogWriter {
    path: PathBuf,
    pending: std::sync::Arc<Mutex<Vec<u8>>>,
    closed: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

/// Where records go.
#[derive(Debug)]
pub struct Metrics {
    recent: Mutex<VecDeque<Report>>,
    log: Option<LogWriter>,
}

/// How often the writer appends pending records to the log.
const FLUSH_EVERY: std::time::Duration = std::time::Duration::from_millis(10);

impl Metrics {
    /// Keep records in memory and, if `log` is set, append them to that JSON-lines file.
    pub fn new(log: Option<&Path>) -> std::io::Result<Metrics> {
        let log = match log {
            Some(path) => Some(LogWriter::start(path)?),
            None => None,
        };
        Ok(Metrics {
            recent: Mutex::new(VecDeque::new()),
            log,
        })
    }

    /// The log file, if any.
    pub fn log_path(&self) -> Option<&Path> {
        self.log.as_ref().map(|l| l.path.as_path())
    }

    /// Record one invocation.
    pub fn record(&self, report: Report) {
        if let Some(log) = &self.log
            && !log.closed.load(std::sync::atomic::Ordering::Acquire)
        {
            let mut pending = log.pending.lock().expect("lock");
            serde_json::to_writer(&mut *pending, &report).expect("report serializes");
            pending.push(b'\n');
        }
        let mut recent = self.recent.lock().expect("lock");
        if recent.len() == KEEP {
            recent.pop_front();
        }
        recent.push_back(report);
    }

    /// Write out every pending record and stop the writer (later records stay in memory only).
    pub fn close(&self) {
        if let Some(log) = &self.log
            && let Some(thread) = log.thread.lock().expect("lock").take()
        {
            log.closed.store(true, std::sync::atomic::Ordering::Release);
            thread.thread().unpark();
            let _ = thread.join();
        }
    }

    /// The record of `request_id`, if still in memory.
    pub fn get(&self, request_id: &str) -> Option<Report> {
        self.recent
            .lock()
            .expect("lock")
            .iter()
            .rev()
            .find(|r| r.request_id == request_id)
            .cloned()
    }
}

impl LogWriter {
    fn start(path: &Path) -> std::io::Result<LogWriter> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        let pending = std::sync::Arc::new(Mutex::new(Vec::<u8>::with_capacity(64 * 1024)));
        let closed = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (theirs, done) = (pending.clone(), closed.clone());
        let shown = path.to_owned();
        let thread = std::thread::Builder::new()
            .name("sebs-metrics".into())
            .spawn(move || {
                let mut batch = Vec::with_capacity(64 * 1024);
                loop {
                    std::thread::park_timeout(FLUSH_EVERY);
                    let last = done.load(std::sync::atomic::Ordering::Acquire);
                    std::mem::swap(&mut *theirs.lock().expect("lock"), &mut batch);
                    // One write per batch with O_APPEND: lines never interleave.
                    if !batch.is_empty()
                        && let Err(e) = file.write_all(&batch)
                    {
                        tracing::warn!("cannot append to the metrics log {}: {e}", shown.display());
                    }
                    batch.clear();
                    if last {
                        return;
                    }
                }
            })?;
        Ok(LogWriter {
            path: path.to_owned(),
            pending,
            closed,
            thread: Mutex::new(Some(thread)),
        })
    }
}

/// The record in the form every platform reports: execution and init times in microseconds
/// (rounded to the nearest), billing and memory as recorded.
impl From<&Report> for ProviderMetrics {
    fn from(report: &Report) -> ProviderMetrics {
        ProviderMetrics {
            execution_us: (report.duration_ms * 1000.0).round() as u64,
            initialization_us: report
                .init_duration_ms
                .map(|ms| (ms * 1000.0).round() as u64),
            billed_ms: report.billed_duration_ms,
            memory_mb: report.memory_size_mb,
            max_memory_used_mb: report.max_memory_used_mb,
        }
    }
}

/// Read a JSON-lines metrics log (skipping lines that do not parse, e.g. a torn last line).
pub fn read_log(path: &Path) -> std::io::Result<Vec<Report>> {
    let text = std::fs::read_to_string(path)?;
    Ok(text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> Report {
        Report {
            request_id: "r".into(),
            function: "f".into(),
            instance_id: "i".into(),
            timestamp: 1.0,
            duration_ms: 1.234,
            billed_duration_ms: Report::billed(1.234),
            memory_size_mb: 128,
            max_memory_used_mb: Some(40),
            init_duration_ms: Some(80.5),
            status: "success".into(),
            cold_start_mode: Some("exec".into()),
        }
    }

    #[test]
    fn billing_rounds_up_to_a_millisecond() {
        assert_eq!(Report::billed(1.234), 2);
        assert_eq!(Report::billed(2.0), 2);
        assert_eq!(Report::billed(0.01), 1);
        assert!((report().gb_seconds() - 0.002 * 0.125).abs() < 1e-12);
    }

    #[test]
    fn report_line_has_lambda_fields() {
        let line = report().report_line();
        assert_eq!(
            line,
            "REPORT RequestId: r\tDuration: 1.23 ms\tBilled Duration: 2 ms\tMemory Size: 128 MB\tMax Memory Used: 40 MB\tInit Duration: 80.50 ms\t"
        );
    }

    #[test]
    fn provider_metrics_in_microseconds() {
        let cold = ProviderMetrics::from(&report());
        assert_eq!(
            cold,
            ProviderMetrics {
                execution_us: 1234,
                initialization_us: Some(80_500),
                billed_ms: 2,
                memory_mb: 128,
                max_memory_used_mb: Some(40),
            }
        );
        assert_eq!(cold.gb_seconds(), report().gb_seconds());
        let warm = Report {
            duration_ms: 0.0006,
            billed_duration_ms: Report::billed(0.0006),
            max_memory_used_mb: None,
            init_duration_ms: None,
            cold_start_mode: None,
            ..report()
        };
        assert_eq!(
            ProviderMetrics::from(&warm),
            ProviderMetrics {
                execution_us: 1,
                initialization_us: None,
                billed_ms: 1,
                memory_mb: 128,
                max_memory_used_mb: None,
            }
        );
    }

    #[test]
    fn log_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m/f.jsonl");
        let metrics = Metrics::new(Some(&path)).unwrap();
        metrics.record(report());
        assert_eq!(metrics.get("r"), Some(report()));
        metrics.close();
        assert_eq!(read_log(&path).unwrap(), vec![report()]);
    }
}

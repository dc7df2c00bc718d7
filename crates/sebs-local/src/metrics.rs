//! Provider metrics: one record per invocation with the fields of AWS Lambda's `REPORT` line.
//!
//! Records are kept in memory (for in-process queries and the Invoke API's `LogType: Tail`) and
//! appended to a JSON-lines log when one is configured, the local counterpart of CloudWatch Logs,
//! so `sebs benchmark process` can fill provider times and billing after the platform is gone.

use std::collections::VecDeque;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

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

/// Records waiting for the writer, and whether the log is closed.
#[derive(Debug, Default)]
struct Pending {
    records: Vec<Report>,
    closed: bool,
}

/// Pending records and the condition variable that announces closing.
type Queue = std::sync::Arc<(Mutex<Pending>, std::sync::Condvar)>;

/// Where records go.
#[derive(Debug)]
pub struct Metrics {
    recent: Mutex<VecDeque<Report>>,
    log: Option<(PathBuf, Queue)>,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
}

/// How often the writer appends pending records to the log.
const FLUSH_EVERY: std::time::Duration = std::time::Duration::from_millis(100);

impl Metrics {
    /// Keep records in memory and, if `log` is set, append them to that JSON-lines file.
    pub fn new(log: Option<&Path>) -> std::io::Result<Metrics> {
        let mut writer = None;
        let log = match log {
            Some(path) => {
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir)?;
                }
                let mut file = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)?;
                // A thread of its own appends records in batches, every FLUSH_EVERY: recording
                // an invocation costs a push onto a vector, no write and no wake-up.
                let shared = std::sync::Arc::new((
                    Mutex::new(Pending::default()),
                    std::sync::Condvar::new(),
                ));
                let theirs = shared.clone();
                let shown = path.to_owned();
                writer = Some(
                    std::thread::Builder::new()
                        .name("sebs-metrics".into())
                        .spawn(move || {
                            let (lock, closed) = &*theirs;
                            loop {
                                let (batch, done) = {
                                    let guard = lock.lock().expect("lock");
                                    let (mut guard, _) = closed
                                        .wait_timeout_while(guard, FLUSH_EVERY, |p| !p.closed)
                                        .expect("lock");
                                    (std::mem::take(&mut guard.records), guard.closed)
                                };
                                if !batch.is_empty() {
                                    let mut bytes = Vec::new();
                                    for r in &batch {
                                        serde_json::to_writer(&mut bytes, r)
                                            .expect("report serializes");
                                        bytes.push(b'\n');
                                    }
                                    // One write per batch with O_APPEND: lines never interleave.
                                    if let Err(e) = file.write_all(&bytes) {
                                        tracing::warn!(
                                            "cannot append to the metrics log {}: {e}",
                                            shown.display()
                                        );
                                    }
                                }
                                if done {
                                    return;
                                }
                            }
                        })?,
                );
                Some((path.to_owned(), shared))
            }
            None => None,
        };
        Ok(Metrics {
            recent: Mutex::new(VecDeque::new()),
            log,
            writer: Mutex::new(writer),
        })
    }

    /// The log file, if any.
    pub fn log_path(&self) -> Option<&Path> {
        self.log.as_ref().map(|(p, _)| p.as_path())
    }

    /// Record one invocation.
    pub fn record(&self, report: Report) {
        if let Some((_, shared)) = &self.log {
            let mut pending = shared.0.lock().expect("lock");
            if !pending.closed {
                pending.records.push(report.clone());
            }
        }
        let mut recent = self.recent.lock().expect("lock");
        if recent.len() == KEEP {
            recent.pop_front();
        }
        recent.push_back(report);
    }

    /// Write out every pending record and stop the writer (later records stay in memory only).
    pub fn close(&self) {
        if let Some((_, shared)) = &self.log {
            shared.0.lock().expect("lock").closed = true;
            shared.1.notify_all();
        }
        if let Some(writer) = self.writer.lock().expect("lock").take() {
            let _ = writer.join();
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

//! `REPORT` records sebs has already seen (library invocations return them in the log tail),
//! kept as JSON lines in the backend's state directory so processing needs no CloudWatch
//! query for them — and works against emulators that have no logs.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;

use sebs_core::result::ProviderMetrics;
use serde::{Deserialize, Serialize};

use crate::report::Report;

#[derive(Serialize, Deserialize)]
struct Line {
    request_id: String,
    #[serde(flatten)]
    metrics: ProviderMetrics,
}

/// An append-only file of REPORT records.
pub struct ReportStore {
    path: PathBuf,
    lock: Mutex<()>,
}

impl ReportStore {
    /// The store at `path` (created on first write).
    pub fn new(path: PathBuf) -> ReportStore {
        ReportStore {
            path,
            lock: Mutex::new(()),
        }
    }

    /// Append one record; a failure to write is logged, not fatal (CloudWatch has the same
    /// record).
    pub fn record(&self, report: &Report) {
        let _guard = self.lock.lock().expect("report store lock");
        let line = Line {
            request_id: report.request_id.clone(),
            metrics: report.metrics.clone(),
        };
        let result = (|| -> std::io::Result<()> {
            if let Some(dir) = self.path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)?;
            let mut text = serde_json::to_string(&line)?;
            text.push('\n');
            file.write_all(text.as_bytes())
        })();
        if let Err(e) = result {
            tracing::warn!("could not record a REPORT in {}: {e}", self.path.display());
        }
    }

    /// The records of `ids` found in the store.
    pub fn lookup(&self, ids: &[String]) -> HashMap<String, ProviderMetrics> {
        let wanted: std::collections::HashSet<&str> = ids.iter().map(String::as_str).collect();
        let Ok(text) = std::fs::read_to_string(&self.path) else {
            return HashMap::new();
        };
        text.lines()
            .filter_map(|l| serde_json::from_str::<Line>(l).ok())
            .filter(|l| wanted.contains(l.request_id.as_str()))
            .map(|l| (l.request_id, l.metrics))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_found_by_id() {
        let dir = tempfile::tempdir().unwrap();
        let store = ReportStore::new(dir.path().join("aws/reports.jsonl"));
        let r = crate::report::parse_report(
            "REPORT RequestId: a\tDuration: 2.5 ms\tBilled Duration: 3 ms\tMemory Size: 128 MB\tMax Memory Used: 30 MB",
        )
        .unwrap();
        store.record(&r);
        let found = store.lookup(&["a".into(), "b".into()]);
        assert_eq!(found.len(), 1);
        assert_eq!(found["a"].execution_us, 2500);
    }
}

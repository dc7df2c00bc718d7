//! Lambda's `REPORT` log line: what the platform measured for one invocation.
//!
//! ```text
//! REPORT RequestId: 8f5a…\tDuration: 102.25 ms\tBilled Duration: 103 ms\tMemory Size: 128 MB\tMax Memory Used: 70 MB\tInit Duration: 241.09 ms
//! ```
//!
//! Fields are tab-separated `Name: value unit` pairs; `Init Duration` appears on cold starts
//! only, and X-Ray adds fields after it, which are ignored.

use sebs_core::result::ProviderMetrics;

/// One parsed `REPORT` line.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// The invocation's request id.
    pub request_id: String,
    /// What it reports, in sebs's units.
    pub metrics: ProviderMetrics,
}

/// Parse a `REPORT` line; `None` if `line` is not one or lacks the fields every REPORT has
/// (request id, duration, billed duration, memory size).
pub fn parse_report(line: &str) -> Option<Report> {
    let rest = line.trim_start().strip_prefix("REPORT ")?;
    let mut request_id = None;
    let mut duration_ms = None;
    let mut billed_ms = None;
    let mut memory_mb = None;
    let mut max_memory_mb = None;
    let mut init_ms = None;
    for field in rest.split('\t') {
        let Some((name, value)) = field.split_once(':') else {
            continue;
        };
        let value = value.trim();
        let number = || value.split_whitespace().next()?.parse::<f64>().ok();
        match name.trim() {
            "RequestId" => request_id = Some(value.to_owned()),
            "Duration" => duration_ms = number(),
            "Billed Duration" => billed_ms = number(),
            "Memory Size" => memory_mb = number(),
            "Max Memory Used" => max_memory_mb = number(),
            "Init Duration" => init_ms = number(),
            _ => {}
        }
    }
    let request_id = request_id.filter(|id| !id.is_empty())?;
    Some(Report {
        request_id,
        metrics: ProviderMetrics {
            execution_us: (duration_ms? * 1000.0).round() as u64,
            initialization_us: init_ms.map(|ms| (ms * 1000.0).round() as u64),
            billed_ms: billed_ms?.round() as u64,
            memory_mb: memory_mb?.round() as u64,
            max_memory_used_mb: max_memory_mb.map(|mb| mb.round() as u64),
        },
    })
}

/// Every `REPORT` line of a log text (an Invoke's base64-decoded `LogResult`, or CloudWatch
/// events joined).
pub fn reports_in(log: &str) -> Vec<Report> {
    log.lines().filter_map(parse_report).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warm_report_line() {
        let line = "REPORT RequestId: 3604209a-e9a3-11e6-939a-754dd98c7be3\tDuration: 12.34 ms\tBilled Duration: 13 ms\tMemory Size: 128 MB\tMax Memory Used: 18 MB\t";
        let r = parse_report(line).unwrap();
        assert_eq!(r.request_id, "3604209a-e9a3-11e6-939a-754dd98c7be3");
        assert_eq!(
            r.metrics,
            ProviderMetrics {
                execution_us: 12_340,
                initialization_us: None,
                billed_ms: 13,
                memory_mb: 128,
                max_memory_used_mb: Some(18),
            }
        );
    }

    #[test]
    fn cold_report_line_with_xray_fields() {
        let line = "REPORT RequestId: f7d3b1c2-8a5e-4b6f-9c1d-2e3f4a5b6c7d\tDuration: 1021.47 ms\tBilled Duration: 1022 ms\tMemory Size: 1024 MB\tMax Memory Used: 88 MB\tInit Duration: 241.09 ms\t\nXRAY TraceId: 1-5e1b4151-5ac6c58f5b5daa6532e4f2e8\tSegmentId: 6b2b3a6e7c2d1e0f\tSampled: true\t";
        let reports = reports_in(line);
        assert_eq!(reports.len(), 1);
        let m = &reports[0].metrics;
        assert_eq!(m.execution_us, 1_021_470);
        assert_eq!(m.initialization_us, Some(241_090));
        assert_eq!(m.billed_ms, 1022);
        assert_eq!(m.memory_mb, 1024);
        assert_eq!(m.max_memory_used_mb, Some(88));
        assert!((m.gb_seconds() - 1.022).abs() < 1e-9);
    }

    #[test]
    fn a_tail_log_with_start_end_and_output() {
        let log = "START RequestId: abc Version: $LATEST\nhello from the function\nEND RequestId: abc\nREPORT RequestId: abc\tDuration: 1.00 ms\tBilled Duration: 1 ms\tMemory Size: 256 MB\tMax Memory Used: 40 MB\t\n";
        let reports = reports_in(log);
        assert_eq!(reports.len(), 1);
        assert_eq!(reports[0].request_id, "abc");
        assert_eq!(reports[0].metrics.execution_us, 1000);
    }

    #[test]
    fn not_reports() {
        assert!(parse_report("START RequestId: abc Version: $LATEST").is_none());
        assert!(parse_report("REPORT RequestId: abc\tDuration: x ms").is_none());
        assert!(
            parse_report("REPORT Duration: 1 ms\tBilled Duration: 1 ms\tMemory Size: 1 MB")
                .is_none()
        );
    }
}

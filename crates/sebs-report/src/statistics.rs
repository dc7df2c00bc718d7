//! Statistics tables: SeBS's `benchmark statistics` over one result file, and `experiment
//! statistics` (client-time confidence intervals) over an experiment's processed results.

use std::fmt::Write;
use std::path::Path;

use anyhow::Result;
use sebs_core::result::{ExecutionResult, ExperimentResult};
use sebs_core::stats::{Interval, Summary, median_interval, t_interval};
use serde_json::{Value, json};

use crate::OutputFormat;
use crate::files::result_files;
use crate::summary::format_us;

/// A metric of SeBS's `benchmark statistics`: (name, cold only, extractor in µs).
type Metric = (&'static str, bool, fn(&ExecutionResult) -> Option<f64>);

/// The metrics of SeBS's `benchmark statistics`, in its order.
const METRICS: [Metric; 7] = [
    ("init", true, |r| {
        Some(r.provider_times.initialization as f64)
    }),
    ("provider_exec", false, |r| {
        Some(r.provider_times.execution as f64)
    }),
    ("function_exec", false, |r| Some(r.times.benchmark as f64)),
    ("compute", false, |r| r.measurement("compute_time")),
    ("upload", false, |r| r.measurement("upload_time")),
    ("download", false, |r| r.measurement("download_time")),
    ("client_exec", false, |r| Some(r.times.client as f64)),
];

/// Render a report: the text as is, or the JSON pretty-printed with a final newline.
fn render(format: OutputFormat, text: String, report: Value) -> Result<String> {
    Ok(match format {
        OutputFormat::Text => text,
        OutputFormat::Json => serde_json::to_string_pretty(&report)? + "\n",
    })
}

/// `benchmark statistics FILE`: per function, the mean, median, standard deviation and CV of
/// each metric over successful cold and warm invocations (metrics a platform does not report,
/// all zero or absent, are left out). Returns the text to print as is.
pub fn benchmark_statistics(file: &Path, format: OutputFormat) -> Result<String> {
    let experiment = ExperimentResult::load(file)?;
    let mut report = serde_json::Map::new();
    let mut text = String::new();
    for (function, invocations) in &experiment.invocations {
        let ok: Vec<&ExecutionResult> = invocations.values().filter(|r| !r.stats.failure).collect();
        let failures = invocations.len() - ok.len();
        let _ = writeln!(
            text,
            "{function}: {} invocations, {failures} failed",
            invocations.len()
        );
        let mut groups = serde_json::Map::new();
        for (label, cold) in [("cold", true), ("warm", false)] {
            let group: Vec<&ExecutionResult> = ok
                .iter()
                .copied()
                .filter(|r| r.stats.cold_start == cold)
                .collect();
            let _ = writeln!(text, "  {label} ({} samples)", group.len());
            if group.is_empty() {
                continue;
            }
            groups.insert(label.into(), metric_table(&group, cold, &mut text));
        }
        report.insert(
            function.clone(),
            json!({"invocations": invocations.len(), "failures": failures, "groups": groups}),
        );
    }
    render(format, text, Value::Object(report))
}

/// The metric table of one group: appended to `text`, returned as JSON.
fn metric_table(group: &[&ExecutionResult], cold: bool, text: &mut String) -> Value {
    let _ = writeln!(
        text,
        "    {:<14} {:>12} {:>12} {:>12} {:>8}",
        "metric", "mean", "median", "std", "cv"
    );
    let mut metrics = serde_json::Map::new();
    for (name, cold_only, get) in METRICS {
        if cold_only && !cold {
            continue;
        }
        let values: Vec<f64> = group.iter().filter_map(|r| get(r)).collect();
        // Skip metrics a platform does not report at all (all zero or absent).
        if values.iter().all(|v| *v == 0.0) {
            continue;
        }
        let Some(s) = Summary::of(&values) else {
            continue;
        };
        let _ = writeln!(
            text,
            "    {:<14} {:>12} {:>12} {:>12} {:>7.1}%",
            name,
            format_us(s.mean),
            format_us(s.median),
            format_us(s.std),
            s.cv
        );
        metrics.insert(
            name.into(),
            json!({"n": s.n, "mean_us": s.mean, "median_us": s.median, "std_us": s.std, "cv_percent": s.cv}),
        );
    }
    Value::Object(metrics)
}

/// Client-time statistics (ms) with Student-t and non-parametric (median) confidence intervals
/// at 95% and 99%, as a JSON report and as text (one summary line, then one line per interval
/// that exists for this many samples).
pub fn client_statistics(samples: &[&ExecutionResult]) -> (Value, String) {
    let ms: Vec<f64> = samples
        .iter()
        .map(|r| r.times.client as f64 / 1000.0)
        .collect();
    let Some(s) = Summary::of(&ms) else {
        return (json!({"n": 0}), "no samples\n".into());
    };
    let mut text = format!(
        "n={} mean {:.3} ms, median {:.3} ms, std {:.3} ms, CV {:.1}%\n",
        s.n, s.mean, s.median, s.std, s.cv
    );
    let mut report = json!({"n": s.n, "mean_ms": s.mean, "median_ms": s.median, "std_ms": s.std, "cv_percent": s.cv});
    // (report key, text label, the centre it is around, the interval).
    type Method = (
        &'static str,
        &'static str,
        &'static str,
        fn(&[f64], f64) -> Option<Interval>,
    );
    const METHODS: [Method; 2] = [
        ("t_interval", "Student-t", "mean", t_interval),
        (
            "median_interval",
            "non-parametric",
            "median",
            median_interval,
        ),
    ];
    for level in [0.95, 0.99] {
        let key = format!("{}", (level * 100.0) as u32);
        for (name, label, centre, interval) in METHODS {
            if let Some(ci) = interval(&ms, level) {
                let _ = writeln!(
                    text,
                    "  {label} CI {key}%: [{:.3}, {:.3}] ms (±{:.2}% of the {centre})",
                    ci.low, ci.high, ci.half_width_percent
                );
                report[format!("{name}_{key}")] = json!(ci);
            }
        }
    }
    (report, text)
}

/// `experiment statistics DIR`: for each `*processed*.json` of `dir` (sorted), the client-time
/// statistics of its successful invocations, plus function and provider execution times where
/// measured. Returns the text to print as is.
pub fn experiment_statistics(dir: &Path, format: OutputFormat) -> Result<String> {
    let files = result_files(dir, "experiment", |n| {
        n.ends_with(".json") && n.contains("processed")
    })?;
    if files.is_empty() {
        anyhow::bail!(
            "no processed results in {}; run `sebs experiment process` first",
            dir.display()
        );
    }
    let mut report = serde_json::Map::new();
    let mut text = String::new();
    for file in files {
        let name = file
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let experiment = ExperimentResult::load(&file)?;
        let ok: Vec<&ExecutionResult> = experiment
            .invocations
            .values()
            .flat_map(|m| m.values())
            .filter(|r| !r.stats.failure)
            .collect();
        let (stats, lines) = client_statistics(&ok);
        let _ = writeln!(text, "{name}: {lines}");
        let provider: Vec<f64> = ok
            .iter()
            .map(|r| r.provider_times.execution as f64 / 1000.0)
            .collect();
        let function: Vec<f64> = ok
            .iter()
            .map(|r| r.times.benchmark as f64 / 1000.0)
            .collect();
        let mut entry = json!({"client": stats});
        for (label, values) in [("function_exec", function), ("provider_exec", provider)] {
            if let Some(s) = Summary::of(&values).filter(|s| s.max > 0.0) {
                let _ = writeln!(
                    text,
                    "  {label}: mean {:.3} ms, median {:.3} ms, std {:.3} ms, CV {:.1}%",
                    s.mean, s.median, s.std, s.cv
                );
                entry[label] = json!({"mean_ms": s.mean, "median_ms": s.median, "std_ms": s.std, "cv_percent": s.cv});
            }
        }
        report.insert(name, entry);
    }
    render(format, text, Value::Object(report))
}

#[cfg(test)]
mod tests;

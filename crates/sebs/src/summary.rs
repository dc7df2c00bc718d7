//! Human-readable summaries and `sebs benchmark statistics`.

use std::fmt::Write;

use anyhow::Result;
use sebs_core::result::{ExecutionResult, ExperimentResult};
use sebs_core::stats::{Summary, median, percentile};
use serde_json::{Value, json};

use crate::cli::{OutputFormat, StatisticsArgs};

/// Format microseconds with an automatic unit: `812.0 µs`, `12.35 ms`, `1.204 s`.
pub fn format_us(us: f64) -> String {
    if us < 1_000.0 {
        format!("{us:.1} µs")
    } else if us < 1_000_000.0 {
        format!("{:.2} ms", us / 1_000.0)
    } else {
        format!("{:.3} s", us / 1_000_000.0)
    }
}

fn fmt_opt(v: Option<f64>) -> String {
    v.map(format_us).unwrap_or_else(|| "-".into())
}

/// The table printed after `benchmark invoke`.
pub fn invocation_summary(title: &str, experiment: &ExperimentResult) -> String {
    let all = experiment.ordered();
    let failures = all.iter().filter(|(_, r)| r.stats.failure).count();
    let invalid = all
        .iter()
        .filter(|(_, r)| r.validation.as_ref().is_some_and(|v| !v.passed))
        .count();
    let ok: Vec<&ExecutionResult> = all
        .iter()
        .map(|(_, r)| *r)
        .filter(|r| !r.stats.failure)
        .collect();
    let cold: Vec<&ExecutionResult> = ok.iter().copied().filter(|r| r.stats.cold_start).collect();
    let warm: Vec<&ExecutionResult> = ok.iter().copied().filter(|r| !r.stats.cold_start).collect();
    let mut out = String::new();
    let _ = writeln!(out, "{title}");
    let _ = write!(
        out,
        "  invocations: {}   failures: {}   cold: {}   warm: {}",
        all.len(),
        failures,
        cold.len(),
        warm.len()
    );
    if all.iter().any(|(_, r)| r.validation.is_some()) {
        let _ = write!(out, "   invalid: {invalid}");
    }
    out.push_str("\n\n");
    let _ = writeln!(
        out,
        "  {:<6} {:>4}  {:>12} {:>12}  {:>13} {:>13}",
        "", "n", "client p50", "client p95", "function p50", "function p95"
    );
    for (label, group) in [("cold", &cold), ("warm", &warm)] {
        let client: Vec<f64> = group.iter().map(|r| r.times.client as f64).collect();
        let function: Vec<f64> = group.iter().map(|r| r.times.benchmark as f64).collect();
        let _ = writeln!(
            out,
            "  {:<6} {:>4}  {:>12} {:>12}  {:>13} {:>13}",
            label,
            group.len(),
            fmt_opt(median(&client)),
            fmt_opt(percentile(&client, 95.0)),
            fmt_opt(median(&function)),
            fmt_opt(percentile(&function, 95.0)),
        );
    }
    let failed: Vec<_> = all.iter().filter(|(_, r)| !r.succeeded()).collect();
    if !failed.is_empty() {
        out.push_str("\n  failures:\n");
        for (_, r) in failed.iter().take(10) {
            let reason = match (&r.error, &r.validation) {
                (Some(e), _) => format!("{}: {}", e.kind, e.message.lines().next().unwrap_or("")),
                (None, Some(v)) => format!("validation: {}", v.message.as_deref().unwrap_or("")),
                _ => String::new(),
            };
            let _ = writeln!(
                out,
                "    {}  {reason}",
                if r.request_id.is_empty() {
                    "-"
                } else {
                    &r.request_id
                }
            );
        }
    }
    out.push('\n');
    out
}

/// The metrics of SeBS's `benchmark statistics`, in its order: (name, cold only, extractor in µs).
type Metric = (&'static str, bool, fn(&ExecutionResult) -> Option<f64>);
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

/// `sebs benchmark statistics FILE`.
pub fn statistics(args: &StatisticsArgs) -> Result<i32> {
    let experiment = ExperimentResult::load(&args.file)?;
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
            groups.insert(label.into(), Value::Object(metrics));
        }
        report.insert(
            function.clone(),
            json!({"invocations": invocations.len(), "failures": failures, "groups": groups}),
        );
    }
    match args.output_format {
        OutputFormat::Text => print!("{text}"),
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&Value::Object(report))?),
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_are_chosen_automatically() {
        assert_eq!(format_us(812.0), "812.0 µs");
        assert_eq!(format_us(12_345.0), "12.35 ms");
        assert_eq!(format_us(1_204_000.0), "1.204 s");
    }
}

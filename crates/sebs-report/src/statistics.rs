//! Statistics tables: SeBS's `benchmark statistics` over one result file, and `experiment
//! statistics` (client-time confidence intervals) over an experiment's processed results. Both
//! read result files by streaming ([`crate::dataset`]) and render one model as text, JSON, CSV
//! or Markdown.

use std::fmt::Write;
use std::path::Path;

use anyhow::Result;
use sebs_core::result::ExecutionResult;
use sebs_core::stats::{Interval, Summary, median_interval, t_interval};
use serde_json::{Value, json};

use crate::dataset::{Metric, Sample, read_result_file};
use crate::export::{Align, ExportFormat, markdown_table};
use crate::files::result_files;
use crate::summary::format_us;

/// A metric of SeBS's `benchmark statistics`: (name, cold only, the sample's value).
type BenchmarkMetric = (&'static str, bool, Metric);

/// The metrics of SeBS's `benchmark statistics`, in its order.
const METRICS: [BenchmarkMetric; 7] = [
    ("init", true, Metric::Init),
    ("provider_exec", false, Metric::Provider),
    ("function_exec", false, Metric::Benchmark),
    ("compute", false, Metric::Compute),
    ("upload", false, Metric::Upload),
    ("download", false, Metric::Download),
    ("client_exec", false, Metric::Client),
];

/// One function's statistics: cold and warm groups of successful invocations.
struct FunctionStatistics {
    function: String,
    invocations: usize,
    failures: usize,
    /// (`cold` or `warm`, samples, (metric, summary in µs) for each reported metric).
    groups: Vec<GroupStatistics>,
}

/// `cold` or `warm`, its samples, and (metric, summary in µs) for each reported metric.
type GroupStatistics = (&'static str, usize, Vec<(&'static str, Summary)>);

/// The statistics of one group: metrics a platform does not report (all zero or absent) are
/// left out.
fn group_metrics(group: &[&Sample], cold: bool) -> Vec<(&'static str, Summary)> {
    METRICS
        .iter()
        .filter(|(_, cold_only, _)| cold || !cold_only)
        .filter_map(|&(name, _, metric)| {
            let values = metric.values(group.iter().copied());
            if values.iter().all(|v| *v == 0.0) {
                return None;
            }
            Summary::of(&values).map(|s| (name, s))
        })
        .collect()
}

/// `benchmark statistics FILE`: per function, the mean, median, standard deviation and CV of
/// each metric over successful cold and warm invocations (metrics a platform does not report,
/// all zero or absent, are left out). Returns the text to print as is.
pub fn benchmark_statistics(file: &Path, format: impl Into<ExportFormat>) -> Result<String> {
    let result = read_result_file(file, "", None)?;
    let functions: Vec<FunctionStatistics> = result
        .groups
        .iter()
        .map(|g| {
            let ok: Vec<&Sample> = g.samples.iter().filter(|s| !s.failed).collect();
            let groups = [("cold", true), ("warm", false)]
                .into_iter()
                .map(|(label, cold)| {
                    let group: Vec<&Sample> =
                        ok.iter().copied().filter(|s| s.cold == cold).collect();
                    (label, group.len(), group_metrics(&group, cold))
                })
                .collect();
            FunctionStatistics {
                function: g.function.clone(),
                invocations: g.samples.len(),
                failures: g.samples.len() - ok.len(),
                groups,
            }
        })
        .collect();
    Ok(match format.into() {
        ExportFormat::Text => {
            let mut text = benchmark_text(&functions);
            text.push_str(&cost_text(&result));
            text
        }
        ExportFormat::Json => pretty(&benchmark_json(&functions))?,
        ExportFormat::Csv | ExportFormat::Markdown if functions.is_empty() => String::new(),
        ExportFormat::Csv => {
            let rows = benchmark_rows(&functions, |x| format!("{x}"), |x| format!("{x}"));
            crate::csv::to_csv(&BENCHMARK_COLUMNS.map(|(name, _)| name), rows)
        }
        ExportFormat::Markdown => {
            let rows = benchmark_rows(&functions, format_us, |x| format!("{x:.1}%"));
            let mut header = BENCHMARK_COLUMNS;
            for (name, _) in &mut header[7..10] {
                *name = name.trim_end_matches("_us");
            }
            markdown_table(&header, &rows)
        }
    })
}

/// The columns of `benchmark statistics --output-format csv` (and Markdown, without `_us`).
const BENCHMARK_COLUMNS: [(&str, Align); 11] = [
    ("function", Align::Left),
    ("invocations", Align::Right),
    ("failures", Align::Right),
    ("group", Align::Left),
    ("samples", Align::Right),
    ("metric", Align::Left),
    ("n", Align::Right),
    ("mean_us", Align::Right),
    ("median_us", Align::Right),
    ("std_us", Align::Right),
    ("cv_percent", Align::Right),
];

fn benchmark_rows(
    functions: &[FunctionStatistics],
    time: impl Fn(f64) -> String,
    percent: impl Fn(f64) -> String,
) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for f in functions {
        for (label, samples, metrics) in &f.groups {
            for (name, s) in metrics {
                rows.push(vec![
                    f.function.clone(),
                    f.invocations.to_string(),
                    f.failures.to_string(),
                    (*label).to_owned(),
                    samples.to_string(),
                    (*name).to_owned(),
                    s.n.to_string(),
                    time(s.mean),
                    time(s.median),
                    time(s.std),
                    percent(s.cv),
                ]);
            }
        }
    }
    rows
}

/// The cost line of processed results whose backend recorded its prices
/// (`config.deployment.resources.pricing`): mean cost per invocation and per million.
fn cost_text(result: &crate::dataset::ResultFile) -> String {
    let Some(pricing) = crate::table::Pricing::recorded(&result.config) else {
        return String::new();
    };
    let billed: Vec<f64> = result
        .groups
        .iter()
        .flat_map(|g| g.samples.iter())
        .filter(|s| s.gb_seconds > 0.0)
        .map(|s| s.gb_seconds)
        .collect();
    if billed.is_empty() {
        return String::new();
    }
    let mean = billed.iter().sum::<f64>() / billed.len() as f64;
    let per_invocation = mean * pricing.per_gb_second + pricing.per_request;
    let date = result.config["deployment"]["resources"]["pricing"]["date"]
        .as_str()
        .unwrap_or("?");
    format!(
        "cost: ${per_invocation:.9} per invocation, ${:.2} per million ({} billed invocations, mean {mean:.6} GB-s; prices of {date})\n",
        per_invocation * 1e6,
        billed.len()
    )
}

fn benchmark_text(functions: &[FunctionStatistics]) -> String {
    let mut text = String::new();
    for f in functions {
        let _ = writeln!(
            text,
            "{}: {} invocations, {} failed",
            f.function, f.invocations, f.failures
        );
        for (label, samples, metrics) in &f.groups {
            let _ = writeln!(text, "  {label} ({samples} samples)");
            if *samples == 0 {
                continue;
            }
            let _ = writeln!(
                text,
                "    {:<14} {:>12} {:>12} {:>12} {:>8}",
                "metric", "mean", "median", "std", "cv"
            );
            for (name, s) in metrics {
                let _ = writeln!(
                    text,
                    "    {:<14} {:>12} {:>12} {:>12} {:>7.1}%",
                    name,
                    format_us(s.mean),
                    format_us(s.median),
                    format_us(s.std),
                    s.cv
                );
            }
        }
    }
    text
}

fn benchmark_json(functions: &[FunctionStatistics]) -> Value {
    let mut report = serde_json::Map::new();
    for f in functions {
        let mut groups = serde_json::Map::new();
        for (label, samples, metrics) in &f.groups {
            if *samples == 0 {
                continue;
            }
            let metrics: serde_json::Map<String, Value> = metrics
                .iter()
                .map(|(name, s)| {
                    let entry = json!({"n": s.n, "mean_us": s.mean, "median_us": s.median, "std_us": s.std, "cv_percent": s.cv});
                    ((*name).to_owned(), entry)
                })
                .collect();
            groups.insert((*label).into(), Value::Object(metrics));
        }
        report.insert(
            f.function.clone(),
            json!({"invocations": f.invocations, "failures": f.failures, "groups": groups}),
        );
    }
    Value::Object(report)
}

/// JSON pretty-printed with a final newline.
fn pretty(value: &Value) -> Result<String> {
    Ok(serde_json::to_string_pretty(value)? + "\n")
}

/// (report key, text label, the centre it is around, the interval).
type Method = (
    &'static str,
    &'static str,
    &'static str,
    fn(&[f64], f64) -> Option<Interval>,
);

/// The confidence intervals reported: Student-t around the mean, Le Boudec's around the median.
const METHODS: [Method; 2] = [
    ("t_interval", "Student-t", "mean", t_interval),
    (
        "median_interval",
        "non-parametric",
        "median",
        median_interval,
    ),
];

/// Client-time statistics (ms) with Student-t and non-parametric (median) confidence intervals
/// at 95% and 99%, as a JSON report and as text (one summary line, then one line per interval
/// that exists for this many samples).
pub fn client_statistics(samples: &[&ExecutionResult]) -> (Value, String) {
    let ms: Vec<f64> = samples
        .iter()
        .map(|r| r.times.client as f64 / 1000.0)
        .collect();
    interval_statistics(&ms)
}

/// [`client_statistics`] of times in ms.
fn interval_statistics(ms: &[f64]) -> (Value, String) {
    let Some(s) = Summary::of(ms) else {
        return (json!({"n": 0}), "no samples\n".into());
    };
    let mut text = format!(
        "n={} mean {:.3} ms, median {:.3} ms, std {:.3} ms, CV {:.1}%\n",
        s.n, s.mean, s.median, s.std, s.cv
    );
    let mut report = json!({"n": s.n, "mean_ms": s.mean, "median_ms": s.median, "std_ms": s.std, "cv_percent": s.cv});
    for level in [0.95, 0.99] {
        let key = format!("{}", (level * 100.0) as u32);
        for (name, label, centre, interval) in METHODS {
            if let Some(ci) = interval(ms, level) {
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

/// One file of `experiment statistics`: client times with intervals, function and provider
/// times where measured (all in ms).
struct FileStatistics {
    name: String,
    client: Vec<f64>,
    /// (`function_exec` or `provider_exec`, summary).
    others: Vec<(&'static str, Summary)>,
}

/// `experiment statistics DIR`: for each `*processed*.json` of `dir` (sorted), the client-time
/// statistics of its successful invocations, plus function and provider execution times where
/// measured. Returns the text to print as is.
pub fn experiment_statistics(dir: &Path, format: impl Into<ExportFormat>) -> Result<String> {
    let files = result_files(dir, "experiment", |n| {
        n.ends_with(".json") && n.contains("processed")
    })?;
    if files.is_empty() {
        anyhow::bail!(
            "no processed results in {}; run `sebs experiment process` first",
            dir.display()
        );
    }
    let mut stats = Vec::new();
    for file in files {
        let name = file
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let result = read_result_file(&file, "", None)?;
        let ok: Vec<&Sample> = result
            .groups
            .iter()
            .flat_map(|g| &g.samples)
            .filter(|s| !s.failed)
            .collect();
        let ms = |metric: Metric| -> Vec<f64> {
            metric
                .values(ok.iter().copied())
                .iter()
                .map(|us| us / 1000.0)
                .collect()
        };
        let others = [
            ("function_exec", Metric::Benchmark),
            ("provider_exec", Metric::Provider),
        ]
        .into_iter()
        .filter_map(|(label, metric)| {
            Summary::of(&ms(metric))
                .filter(|s| s.max > 0.0)
                .map(|s| (label, s))
        })
        .collect();
        stats.push(FileStatistics {
            name,
            client: ms(Metric::Client),
            others,
        });
    }
    let format = format.into();
    if matches!(format, ExportFormat::Text | ExportFormat::Json) {
        let mut report = serde_json::Map::new();
        let mut text = String::new();
        for f in &stats {
            let (client, lines) = interval_statistics(&f.client);
            let _ = writeln!(text, "{}: {lines}", f.name);
            let mut entry = json!({"client": client});
            for (label, s) in &f.others {
                let _ = writeln!(
                    text,
                    "  {label}: mean {:.3} ms, median {:.3} ms, std {:.3} ms, CV {:.1}%",
                    s.mean, s.median, s.std, s.cv
                );
                entry[*label] = json!({"mean_ms": s.mean, "median_ms": s.median, "std_ms": s.std, "cv_percent": s.cv});
            }
            report.insert(f.name.clone(), entry);
        }
        return match format {
            ExportFormat::Json => pretty(&Value::Object(report)),
            _ => Ok(text),
        };
    }
    let rows = experiment_rows(&stats);
    Ok(match format {
        ExportFormat::Csv => crate::csv::to_csv(&EXPERIMENT_COLUMNS.map(|(n, _)| n), rows),
        _ => markdown_table(&EXPERIMENT_COLUMNS, &rows),
    })
}

/// The columns of `experiment statistics --output-format csv|markdown`: one row per file and
/// metric; the intervals are at 95% (empty where undefined for this many samples).
const EXPERIMENT_COLUMNS: [(&str, Align); 12] = [
    ("file", Align::Left),
    ("metric", Align::Left),
    ("n", Align::Right),
    ("mean_ms", Align::Right),
    ("median_ms", Align::Right),
    ("std_ms", Align::Right),
    ("cv_percent", Align::Right),
    ("p95_ms", Align::Right),
    ("t95_low_ms", Align::Right),
    ("t95_high_ms", Align::Right),
    ("median95_low_ms", Align::Right),
    ("median95_high_ms", Align::Right),
];

fn experiment_rows(stats: &[FileStatistics]) -> Vec<Vec<String>> {
    let bound = |ci: Option<Interval>, low: bool| {
        ci.map(|ci| format!("{:.6}", if low { ci.low } else { ci.high }))
            .unwrap_or_default()
    };
    let mut rows = Vec::new();
    for f in stats {
        let client = Summary::of(&f.client).map(|s| ("client", s));
        for (metric, s) in client.into_iter().chain(f.others.iter().copied()) {
            let (t, m) = if metric == "client" {
                (
                    t_interval(&f.client, 0.95),
                    median_interval(&f.client, 0.95),
                )
            } else {
                (None, None)
            };
            rows.push(vec![
                f.name.clone(),
                metric.to_owned(),
                s.n.to_string(),
                format!("{:.6}", s.mean),
                format!("{:.6}", s.median),
                format!("{:.6}", s.std),
                format!("{:.3}", s.cv),
                format!("{:.6}", s.p95),
                bound(t, true),
                bound(t, false),
                bound(m, true),
                bound(m, false),
            ]);
        }
    }
    rows
}

#[cfg(test)]
mod tests;

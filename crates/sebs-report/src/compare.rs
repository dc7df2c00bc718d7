//! `sebs compare A B`: for every function and configuration in both runs, the ratio of B's
//! median to A's with a bootstrap confidence interval and a Mann–Whitney U test, and a verdict.
//!
//! The verdict: a change is significant when the Mann–Whitney p-value is below `alpha` and the
//! ratio's confidence interval (at level `1 − alpha`) excludes 1. A significant change whose
//! ratio exceeds `1 + threshold` is a regression, one below `1 − threshold` an improvement;
//! every other case is "no change" (within noise, or smaller than the threshold).

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use serde::Serialize;

use crate::dataset::Metric;
use crate::export::{Align, markdown_table, text_table};
use crate::rundir::load_runs;
use crate::significance::{MannWhitney, RatioInterval, bootstrap_median_ratio, mann_whitney};
use crate::summary::format_us;

/// What `sebs compare` is asked for.
#[derive(Debug, Clone)]
pub struct CompareRequest {
    /// The baseline results (a directory or a result file).
    pub baseline: PathBuf,
    /// The results compared with it.
    pub candidate: PathBuf,
    /// The time compared.
    pub metric: Metric,
    /// Significance level of the test, e.g. 0.05.
    pub alpha: f64,
    /// The relative change (0.05 for 5%) below which a change does not count.
    pub threshold: f64,
    /// Bootstrap resamples.
    pub resamples: usize,
    /// Seed of the bootstrap.
    pub seed: u64,
}

/// The verdict on one comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Significantly slower beyond the threshold.
    Regression,
    /// Significantly faster beyond the threshold.
    Improvement,
    /// Neither.
    NoChange,
}

impl Verdict {
    /// `regression`, `improvement`, `no change`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Regression => "regression",
            Verdict::Improvement => "improvement",
            Verdict::NoChange => "no change",
        }
    }
}

/// One function and configuration, in both runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// `function` or `function (configuration)`.
    pub label: String,
    /// Samples of A and of B (successful invocations with the metric measured).
    pub n: (usize, usize),
    /// Medians of A and of B (µs).
    pub medians: (f64, f64),
    /// B's median over A's, with its bootstrap interval.
    pub ratio: RatioInterval,
    /// The Mann–Whitney U test.
    pub test: MannWhitney,
    /// The verdict.
    pub verdict: Verdict,
}

/// The verdict of a ratio interval and a p-value (see the module's documentation).
pub fn verdict(ratio: &RatioInterval, p_value: f64, alpha: f64, threshold: f64) -> Verdict {
    if p_value >= alpha {
        Verdict::NoChange
    } else if ratio.low > 1.0 && ratio.ratio > 1.0 + threshold {
        Verdict::Regression
    } else if ratio.high < 1.0 && ratio.ratio < 1.0 - threshold {
        Verdict::Improvement
    } else {
        Verdict::NoChange
    }
}

/// Values of the metric for each group of the runs under `path`, keyed by the group's label
/// (and the run's kind when the path holds several runs).
fn samples(path: &Path, metric: Metric) -> Result<Vec<(String, Vec<f64>)>> {
    let runs = load_runs(path)?;
    let several = runs.len() > 1;
    let mut out = Vec::new();
    for run in &runs {
        for group in &run.groups {
            let values = metric.values(group.ok());
            let label = if several {
                format!("{}: {}", run.kind.title(), group.label())
            } else {
                group.label()
            };
            out.push((label, values));
        }
    }
    Ok(out)
}

/// Compare every function and configuration present in both runs.
pub fn compare(request: &CompareRequest) -> Result<Vec<Comparison>> {
    let a = samples(&request.baseline, request.metric)?;
    let b = samples(&request.candidate, request.metric)?;
    let mut out = Vec::new();
    for (label, a_values) in &a {
        let Some((_, b_values)) = b.iter().find(|(l, _)| l == label) else {
            continue;
        };
        if a_values.is_empty() || b_values.is_empty() {
            continue;
        }
        let (Some(ratio), Some(test)) = (
            bootstrap_median_ratio(
                a_values,
                b_values,
                request.resamples,
                1.0 - request.alpha,
                request.seed,
            ),
            mann_whitney(a_values, b_values),
        ) else {
            continue;
        };
        let median =
            |v: &[f64]| crate::significance::median_in_place(&mut v.to_vec()).unwrap_or(0.0);
        out.push(Comparison {
            label: label.clone(),
            n: (a_values.len(), b_values.len()),
            medians: (median(a_values), median(b_values)),
            verdict: verdict(&ratio, test.p_value, request.alpha, request.threshold),
            ratio,
            test,
        });
    }
    if out.is_empty() {
        bail!(
            "{} and {} have no function and configuration in common with successful invocations measuring {} time; compare results of the same benchmark (and experiment)",
            request.baseline.display(),
            request.candidate.display(),
            request.metric.as_str()
        );
    }
    Ok(out)
}

/// The columns of the comparison table.
const COLUMNS: [(&str, Align); 8] = [
    ("function / configuration", Align::Left),
    ("n A", Align::Right),
    ("n B", Align::Right),
    ("median A", Align::Right),
    ("median B", Align::Right),
    ("B/A (CI)", Align::Right),
    ("p (Mann–Whitney)", Align::Right),
    ("verdict", Align::Left),
];

fn rows(comparisons: &[Comparison]) -> Vec<Vec<String>> {
    comparisons
        .iter()
        .map(|c| {
            vec![
                c.label.clone(),
                c.n.0.to_string(),
                c.n.1.to_string(),
                format_us(c.medians.0),
                format_us(c.medians.1),
                format!(
                    "{:.3} [{:.3}, {:.3}]",
                    c.ratio.ratio, c.ratio.low, c.ratio.high
                ),
                format!("{:.2e}", c.test.p_value),
                c.verdict.as_str().to_owned(),
            ]
        })
        .collect()
}

/// The comparison as an aligned text table.
pub fn to_text(comparisons: &[Comparison]) -> String {
    text_table(&COLUMNS, &rows(comparisons), 0)
}

/// The comparison as a Markdown table.
pub fn to_markdown(comparisons: &[Comparison]) -> String {
    markdown_table(&COLUMNS, &rows(comparisons))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synthetic::{BenchmarkShape, benchmark_run};

    fn request(a: &Path, b: &Path) -> CompareRequest {
        CompareRequest {
            baseline: a.to_owned(),
            candidate: b.to_owned(),
            metric: Metric::Client,
            alpha: 0.05,
            threshold: 0.05,
            resamples: 1000,
            seed: 1,
        }
    }

    fn run(dir: &Path, name: &str, seed: u64, scale: f64) -> PathBuf {
        let path = dir.join(name);
        std::fs::create_dir_all(&path).unwrap();
        let shape = BenchmarkShape {
            invocations: 300,
            seed,
            scale,
            ..BenchmarkShape::default()
        };
        benchmark_run(&path, &shape).unwrap();
        path
    }

    #[test]
    fn a_ten_percent_slowdown_is_a_regression() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (run(dir.path(), "a", 1, 1.0), run(dir.path(), "b", 2, 1.1));
        let c = compare(&request(&a, &b)).unwrap();
        assert_eq!(c.len(), 1);
        let c = &c[0];
        assert_eq!(c.verdict, Verdict::Regression, "{c:?}");
        assert!(
            c.ratio.low > 1.0
                && c.ratio.ratio > 1.05
                && c.ratio.high < 1.2
                && c.test.p_value < 1e-6,
            "{c:?}"
        );
        // And the other way round, an improvement.
        let back = compare(&request(&b, &a)).unwrap();
        assert_eq!(back[0].verdict, Verdict::Improvement, "{back:?}");
    }

    #[test]
    fn runs_from_one_distribution_are_not_flagged() {
        let dir = tempfile::tempdir().unwrap();
        for seed in 3..6 {
            let a = run(dir.path(), &format!("a{seed}"), seed, 1.0);
            let b = run(dir.path(), &format!("b{seed}"), seed + 100, 1.0);
            let c = compare(&request(&a, &b)).unwrap();
            assert_eq!(c[0].verdict, Verdict::NoChange, "{c:?}");
        }
    }

    #[test]
    fn verdicts_need_significance_and_the_threshold() {
        let ratio = |low, high| RatioInterval {
            ratio: (low + high) / 2.0,
            low,
            high,
            level: 0.95,
        };
        assert_eq!(
            verdict(&ratio(1.08, 1.12), 0.001, 0.05, 0.05),
            Verdict::Regression
        );
        assert_eq!(
            verdict(&ratio(1.08, 1.12), 0.2, 0.05, 0.05),
            Verdict::NoChange
        );
        // The interval includes 1, or the change is below the threshold.
        assert_eq!(
            verdict(&ratio(0.98, 1.12), 0.001, 0.05, 0.05),
            Verdict::NoChange
        );
        assert_eq!(
            verdict(&ratio(1.02, 1.06), 0.001, 0.05, 0.05),
            Verdict::NoChange
        );
        assert_eq!(
            verdict(&ratio(1.03, 1.12), 0.001, 0.05, 0.05),
            Verdict::Regression
        );
        assert_eq!(
            verdict(&ratio(0.85, 0.9), 0.001, 0.05, 0.05),
            Verdict::Improvement
        );
    }

    #[test]
    fn tables_and_errors() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (run(dir.path(), "a", 1, 1.0), run(dir.path(), "b", 2, 1.1));
        let c = compare(&request(&a, &b)).unwrap();
        let text = to_text(&c);
        assert!(text.starts_with("function / configuration"), "{text}");
        assert!(text.contains("regression"), "{text}");
        let markdown = to_markdown(&c);
        assert!(
            markdown.contains("| ---: |") && markdown.contains("| regression |"),
            "{markdown}"
        );
        // Nothing in common.
        let other = dir.path().join("other");
        crate::synthetic::eviction_run(&other).unwrap();
        let err = compare(&request(&a, &other)).unwrap_err().to_string();
        assert!(
            err.contains("no function and configuration in common"),
            "{err}"
        );
    }
}

//! `sebs report` and `sebs compare`, and the export formats of the statistics commands.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use sebs_report::ExportFormat;
use sebs_report::compare::{CompareRequest, Verdict};
use sebs_report::dataset::Metric;
use sebs_report::html::ReportRequest;
use sebs_report::table::Pricing;

/// Exit status of `sebs compare --fail-on-regression` when a regression is significant.
pub const EXIT_REGRESSION: i32 = 4;

/// `--output-format` (alias `--format`) of the statistics commands, with the help of each.
pub fn export_formats() -> impl TypedValueParser<Value = ExportFormat> {
    PossibleValuesParser::new(ExportFormat::ALL.iter().map(|f| {
        PossibleValue::new(f.as_str()).help(match f {
            ExportFormat::Text => "Tables for people",
            ExportFormat::Json => "JSON for programs",
            ExportFormat::Csv => "One CSV table, a row per statistic",
            ExportFormat::Markdown => "A Markdown table",
        })
    }))
    .map(|chosen| {
        *ExportFormat::ALL
            .iter()
            .find(|f| f.as_str() == chosen)
            .expect("the parser accepts only these names")
    })
}

/// `sebs report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// A results directory (the --output-dir of `benchmark invoke`, `benchmark regression` or
    /// an experiment), a directory of several, or one result file; or stability series (a
    /// series JSON file or a directory of them: docs/stability-analysis.md).
    pub dir: PathBuf,
    /// The HTML file to write.
    #[arg(short, long, value_name = "FILE", default_value = "report.html")]
    pub output: PathBuf,
    /// Also write every chart as SVG and PNG (twice the size) into DIR, for papers.
    #[arg(long, value_name = "DIR")]
    pub plots: Option<PathBuf>,
    /// USD per GB-second of billed time (default: AWS Lambda x86, us-east-1).
    #[arg(long, value_name = "USD", default_value_t = Pricing::default().per_gb_second)]
    pub price_gb_second: f64,
    /// USD per million requests (default: AWS Lambda).
    #[arg(long, value_name = "USD", default_value_t = Pricing::default().per_request * 1e6)]
    pub price_million_requests: f64,
}

/// The metrics `sebs compare` can compare.
fn metrics() -> impl TypedValueParser<Value = Metric> {
    const CHOICES: [Metric; 3] = [Metric::Client, Metric::Provider, Metric::Benchmark];
    PossibleValuesParser::new(CHOICES.iter().map(|m| {
        PossibleValue::new(m.as_str()).help(match m {
            Metric::Client => "Client time: request sent to response received",
            Metric::Provider => "The provider's execution time (processed results)",
            _ => "Function time measured inside the function",
        })
    }))
    .map(|chosen| {
        *CHOICES
            .iter()
            .find(|m| m.as_str() == chosen)
            .expect("the parser accepts only these names")
    })
}

/// A percentage: `5%` or `5` is 0.05.
fn parse_percent(s: &str) -> Result<f64, String> {
    let number = s.trim().trim_end_matches('%');
    match number.parse::<f64>() {
        Ok(p) if (0.0..1000.0).contains(&p) => Ok(p / 100.0),
        _ => Err(format!("`{s}` is not a percentage such as 5%")),
    }
}

/// `sebs compare`.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The baseline: a results directory or a result file.
    pub a: PathBuf,
    /// The results compared with it.
    pub b: PathBuf,
    /// The time compared.
    #[arg(long, value_parser = metrics(), default_value = "client")]
    pub metric: Metric,
    /// Exit with status 4 when some function is significantly slower by more than this
    /// percentage (e.g. 5%); it is also the threshold of the verdicts (default 5%).
    #[arg(long, value_name = "PERCENT", value_parser = parse_percent)]
    pub fail_on_regression: Option<f64>,
    /// Significance level of the Mann–Whitney U test (and 1 − the interval's level).
    #[arg(long, default_value_t = 0.05)]
    pub alpha: f64,
    /// Bootstrap resamples of the median ratio's interval.
    #[arg(long, default_value_t = 2000)]
    pub resamples: usize,
    /// Print a Markdown table instead of the terminal table.
    #[arg(long)]
    pub markdown: bool,
}

/// `sebs report DIR`: write the page, print where.
pub fn report(args: &ReportArgs) -> Result<i32> {
    let outcome = sebs_report::html::report(&ReportRequest {
        input: args.dir.clone(),
        output: args.output.clone(),
        plots: args.plots.clone(),
        pricing: Pricing {
            per_gb_second: args.price_gb_second,
            per_request: args.price_million_requests / 1e6,
        },
        generated: chrono::Local::now().format("%Y-%m-%d %H:%M").to_string(),
    })?;
    println!(
        "{} ({} run(s), {} chart(s))",
        outcome.output.display(),
        outcome.runs,
        outcome.charts
    );
    if let Some(dir) = &args.plots {
        println!("{}: {} files", dir.display(), outcome.plot_files.len());
    }
    Ok(0)
}

/// `sebs benchmark traces`: write the OTLP JSON files, print one line per trace.
pub fn traces(args: &crate::cli::TracesArgs) -> Result<i32> {
    let export = sebs_report::trace::export(&args.input, args.output.as_deref())?;
    for (trace, file) in export.traces.iter().zip(&export.files) {
        let (start, end) = trace.bounds();
        println!(
            "{}\t{} span(s)\t{:.2} ms\t{}",
            file.display(),
            trace.spans.len(),
            (end - start) * 1000.0,
            trace.functions().join(" -> ")
        );
    }
    Ok(0)
}

/// `sebs compare A B`: print the table; the exit status says whether a regression fails it.
pub fn compare(args: &CompareArgs) -> Result<i32> {
    if !(args.alpha > 0.0 && args.alpha < 0.5) {
        anyhow::bail!(
            "--alpha {} is not a significance level between 0 and 0.5, e.g. 0.05",
            args.alpha
        );
    }
    let comparisons = sebs_report::compare::compare(&CompareRequest {
        baseline: args.a.clone(),
        candidate: args.b.clone(),
        metric: args.metric,
        alpha: args.alpha,
        threshold: args.fail_on_regression.unwrap_or(0.05),
        resamples: args.resamples.max(100),
        seed: 1,
    })?;
    if args.markdown {
        print!("{}", sebs_report::compare::to_markdown(&comparisons));
    } else {
        print!("{}", sebs_report::compare::to_text(&comparisons));
    }
    let regressions: Vec<&str> = comparisons
        .iter()
        .filter(|c| c.verdict == Verdict::Regression)
        .map(|c| c.label.as_str())
        .collect();
    match args.fail_on_regression {
        Some(threshold) if !regressions.is_empty() => {
            tracing::warn!(
                "significant slowdown beyond {}% in {}",
                threshold * 100.0,
                regressions.join(", ")
            );
            Ok(EXIT_REGRESSION)
        }
        _ => Ok(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_parse_with_or_without_the_sign() {
        assert_eq!(parse_percent("5%"), Ok(0.05));
        assert_eq!(parse_percent("12.5"), Ok(0.125));
        assert!(
            parse_percent("five")
                .unwrap_err()
                .contains("a percentage such as 5%")
        );
        assert!(parse_percent("-3%").is_err());
    }
}

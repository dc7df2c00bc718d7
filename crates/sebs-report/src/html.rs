//! `sebs report`: one self-contained HTML page for any results directory: no scripts, no
//! external resources, every chart inline SVG; the same charts optionally exported as SVG and
//! PNG files.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde_json::Value;

use crate::chart::Chart;
use crate::chart::build::charts;
use crate::dataset::FAILURES_KEPT;
use crate::rundir::{Run, load_runs};
use crate::summary::format_us;
use crate::table::{GroupStats, Percentiles, Pricing};

/// What `sebs report` is asked for.
#[derive(Debug, Clone)]
pub struct ReportRequest {
    /// A results directory, a directory of them, or one result file.
    pub input: PathBuf,
    /// The HTML file to write.
    pub output: PathBuf,
    /// Where to write every chart as SVG and PNG, if anywhere.
    pub plots: Option<PathBuf>,
    /// Prices for the cost column and the trade-off chart.
    pub pricing: Pricing,
    /// When the report is generated (shown on the page).
    pub generated: String,
}

/// What `sebs report` wrote.
#[derive(Debug, Clone)]
pub struct ReportOutcome {
    /// The HTML file.
    pub output: PathBuf,
    /// Runs reported.
    pub runs: usize,
    /// Charts drawn.
    pub charts: usize,
    /// Chart files written under `--plots`.
    pub plot_files: Vec<PathBuf>,
}

/// Read the runs, draw their charts, write the page (and the chart files). Stability series
/// (`sebs_stability::is_series_input`) get the stability view instead, analysed with the
/// default parameters (docs/stability-analysis.md).
pub fn report(request: &ReportRequest) -> Result<ReportOutcome> {
    if sebs_stability::is_series_input(&request.input) {
        return crate::stability::stability_report(
            &request.input,
            &request.output,
            request.plots.as_deref(),
            &sebs_stability::Params::default(),
            &request.generated,
        );
    }
    let runs = load_runs(&request.input)?;
    let mut all_charts = Vec::new();
    let mut page = page_head(request, &runs);
    for (i, run) in runs.iter().enumerate() {
        let prefix = format!("{}-{}", i + 1, run.kind.title().replace(' ', "-"));
        // A run whose backend recorded its prices (region, architecture) is costed with them.
        let pricing = Pricing::recorded(&run.config).unwrap_or(request.pricing);
        let charts = charts(run, &prefix, &pricing);
        run_section(&mut page, i, run, &charts, &pricing)?;
        all_charts.extend(charts);
    }
    page.push_str("</main>\n</body>\n</html>\n");
    sebs_core::fsutil::write_atomic(&request.output, page.as_bytes()).with_context(|| {
        format!(
            "failed to write {}; choose another file with -o",
            request.output.display()
        )
    })?;
    let mut plot_files = Vec::new();
    if let Some(dir) = &request.plots {
        std::fs::create_dir_all(dir).with_context(|| {
            format!(
                "failed to create {}; choose another directory with --plots",
                dir.display()
            )
        })?;
        for chart in &all_charts {
            chart.export(dir)?;
            plot_files.push(dir.join(format!("{}.svg", chart.id)));
            plot_files.push(dir.join(format!("{}.png", chart.id)));
        }
    }
    Ok(ReportOutcome {
        output: request.output.clone(),
        runs: runs.len(),
        charts: all_charts.len(),
        plot_files,
    })
}

/// Text for HTML: `&`, `<`, `>` and quotes escaped.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

pub(crate) const STYLE: &str = "
body { font-family: 'DejaVu Sans', 'Helvetica Neue', Arial, sans-serif; margin: 0; color: #1d1d1f; background: #fafafa; }
header { background: #1f3a5f; color: white; padding: 18px 32px; }
header h1 { margin: 0 0 4px 0; font-size: 24px; }
header p { margin: 2px 0; font-size: 14px; opacity: 0.9; }
header a { color: #cfe3ff; }
nav ul { margin: 8px 0 0 0; padding-left: 18px; font-size: 14px; }
main { padding: 8px 32px 40px 32px; max-width: 1400px; }
section.run { background: white; border: 1px solid #ddd; border-radius: 6px; padding: 8px 24px 20px 24px; margin: 20px 0; }
h2 { font-size: 20px; border-bottom: 2px solid #1f3a5f; padding-bottom: 4px; }
h3 { font-size: 16px; margin: 18px 0 6px 0; }
table { border-collapse: collapse; font-size: 13px; margin: 6px 0 12px 0; }
th, td { border: 1px solid #d0d0d0; padding: 3px 8px; }
th { background: #eef2f7; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.meta th { text-align: left; }
.scroll { overflow-x: auto; }
figure.chart { margin: 14px 0 24px 0; max-width: 900px; }
figure.chart svg { width: 100%; height: auto; border: 1px solid #e4e4e4; background: white; }
figure.trace { margin: 14px 0 24px 0; max-width: 960px; }
figure.trace svg { width: 100%; height: auto; border: 1px solid #e4e4e4; background: white; }
figcaption { font-size: 13px; color: #444; margin-top: 4px; }
p.note { background: #fff6d6; border-left: 4px solid #e6a700; padding: 6px 10px; font-size: 14px; }
.fail { color: #b00020; font-weight: bold; }
.pass { color: #1b7f3b; font-weight: bold; }
pre { background: #f4f4f4; padding: 10px; font-size: 12px; overflow-x: auto; }
";

fn page_head(request: &ReportRequest, runs: &[Run]) -> String {
    let mut page = String::new();
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>sebs report: {}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<header>\n<h1>sebs report</h1>\n<p>{} run(s) from <code>{}</code>; generated {} by sebs {} on {}.</p>\n<nav><ul>\n",
        esc(&request.input.display().to_string()),
        runs.len(),
        esc(&request.input.display().to_string()),
        esc(&request.generated),
        env!("CARGO_PKG_VERSION"),
        esc(&machine()),
    );
    for (i, run) in runs.iter().enumerate() {
        let _ = writeln!(
            page,
            "<li><a href=\"#run-{}\">{}</a></li>",
            i + 1,
            esc(&run.title())
        );
    }
    page.push_str("</ul></nav>\n</header>\n<main>\n");
    page
}

/// The machine the report is generated on: host name, OS, architecture and CPUs.
fn machine() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "unknown host".into());
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!(
        "{host} ({} {}, {cpus} CPUs)",
        std::env::consts::OS,
        std::env::consts::ARCH
    )
}

/// `epoch` seconds as a UTC date and time.
fn date(epoch: f64) -> String {
    chrono::DateTime::from_timestamp(epoch.floor() as i64, 0)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| format!("{epoch}"))
}

fn run_section(
    page: &mut String,
    i: usize,
    run: &Run,
    charts: &[Chart],
    pricing: &Pricing,
) -> Result<()> {
    let _ = writeln!(
        page,
        "<section class=\"run\" id=\"run-{}\" data-kind=\"{}\">\n<h2>{}</h2>",
        i + 1,
        esc(run.kind.title()),
        esc(&run.title())
    );
    meta_table(page, run);
    for note in &run.notes {
        let _ = writeln!(page, "<p class=\"note\">{}</p>", esc(note));
    }
    if !run.tests.is_empty() {
        tests_table(page, run);
    }
    if !run.groups.is_empty() {
        summary_table(page, run, pricing);
    }
    for chart in charts {
        let svg = chart.svg()?;
        let _ = writeln!(
            page,
            "<figure class=\"chart\" id=\"{}\">\n<h3>{}</h3>\n{svg}\n<figcaption>{}</figcaption>\n</figure>",
            esc(&chart.id),
            esc(&chart.title),
            esc(&chart.caption)
        );
    }
    traces_section(page, run)?;
    crate::workflows::section(page, &run.files)?;
    failures(page, run);
    if !run.config.is_null() {
        let config = serde_json::to_string_pretty(&run.config).unwrap_or_default();
        let _ = writeln!(
            page,
            "<details><summary>Configuration</summary>\n<pre>{}</pre>\n</details>",
            esc(&config)
        );
    }
    page.push_str("</section>\n");
    Ok(())
}

/// Traces drawn per run; the rest are counted (all of them go to OTLP files with
/// `sebs benchmark traces`).
pub const TRACES_DRAWN: usize = 10;

/// The per-request timelines of the run's profiled invocations (docs/profiling.md).
fn traces_section(page: &mut String, run: &Run) -> Result<()> {
    let traces = crate::trace::traces_in_files(&run.files)?;
    if traces.is_empty() {
        return Ok(());
    }
    let _ = writeln!(
        page,
        "<h3>Traces</h3>\n<p class=\"note\">{} traced request(s) from profiled invocations{}; \
         <code>sebs benchmark traces</code> writes them as OpenTelemetry OTLP JSON.</p>",
        traces.len(),
        if traces.len() > TRACES_DRAWN {
            format!(", the first {TRACES_DRAWN} drawn")
        } else {
            String::new()
        }
    );
    for (i, trace) in traces.iter().take(TRACES_DRAWN).enumerate() {
        let (start, end) = trace.bounds();
        let _ = writeln!(
            page,
            "<figure class=\"trace\" id=\"trace-{id}\">\n{}\n<figcaption>trace {id}: {} span(s), \
             functions {}, {} ms</figcaption>\n<details{}><summary>Spans</summary>{}</details>\n</figure>",
            crate::trace::timeline::svg(trace),
            trace.spans.len(),
            esc(&trace.functions().join(" → ")),
            format_ms(end - start),
            if i == 0 { " open" } else { "" },
            crate::trace::timeline::table(trace),
            id = esc(&trace.trace_id),
        );
    }
    Ok(())
}

fn format_ms(seconds: f64) -> String {
    format!("{:.2}", seconds * 1000.0)
}

fn meta_table(page: &mut String, run: &Run) {
    let config = &run.config;
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        v => v.to_string(),
    };
    let runtime = &config["experiments"]["runtime"];
    let mut rows: Vec<(&str, String)> = vec![
        ("platform", text(&config["deployment"]["name"])),
        (
            "runtime",
            format!(
                "{} {}",
                text(&runtime["language"]),
                text(&runtime["version"])
            )
            .trim()
            .to_owned(),
        ),
        ("architecture", text(&config["experiments"]["architecture"])),
    ];
    if let Some(keep_alive) = config["deployment"]["resources"].get("keep-alive") {
        rows.push(("keep-alive (s)", text(keep_alive)));
    }
    if let Some((begin, end)) = run.span {
        rows.push((
            "run",
            format!("{} to {} ({:.1} s)", date(begin), date(end), end - begin),
        ));
    }
    let files: Vec<String> = run
        .files
        .iter()
        .map(|f| {
            f.file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    rows.push(("files", files.join(", ")));
    page.push_str("<table class=\"meta\">\n");
    for (name, value) in rows.into_iter().filter(|(_, v)| !v.is_empty()) {
        let _ = writeln!(page, "<tr><th>{name}</th><td>{}</td></tr>", esc(&value));
    }
    page.push_str("</table>\n");
}

fn tests_table(page: &mut String, run: &Run) {
    let passed = run.tests.iter().filter(|t| t.passed).count();
    let _ = writeln!(
        page,
        "<h3>Tests: {passed} of {} passed</h3>\n<table class=\"tests\">\n<tr><th>test</th><th>result</th><th>seconds</th><th>reason</th></tr>",
        run.tests.len()
    );
    for t in &run.tests {
        let (class, word) = if t.passed {
            ("pass", "passed")
        } else {
            ("fail", "FAILED")
        };
        let _ = writeln!(
            page,
            "<tr><td>{}</td><td class=\"{class}\">{word}</td><td class=\"num\">{:.1}</td><td>{}</td></tr>",
            esc(&t.test),
            t.seconds,
            esc(t.reason.as_deref().unwrap_or(""))
        );
    }
    page.push_str("</table>\n");
}

fn cells(p: Option<Percentiles>) -> String {
    match p {
        Some(p) => [p.p50, p.p95, p.p99]
            .iter()
            .map(|v| format!("<td class=\"num\">{}</td>", format_us(*v)))
            .collect(),
        None => "<td class=\"num\">-</td>".repeat(3),
    }
}

fn summary_table(page: &mut String, run: &Run, pricing: &Pricing) {
    page.push_str("<h3>Summary</h3>\n<div class=\"scroll\"><table class=\"summary\">\n<tr><th rowspan=\"2\">function / configuration</th><th rowspan=\"2\">n</th><th rowspan=\"2\">failures</th><th rowspan=\"2\">cold</th><th rowspan=\"2\">warm</th><th colspan=\"3\">client time</th><th colspan=\"3\">provider time</th><th colspan=\"3\">function time</th><th rowspan=\"2\">mean client, 95% CI (Student-t)</th><th rowspan=\"2\">median client, 95% CI (Le Boudec)</th><th rowspan=\"2\">USD per 1M invocations</th></tr>\n<tr>");
    page.push_str(&"<th>p50</th><th>p95</th><th>p99</th>".repeat(3));
    page.push_str("</tr>\n");
    for group in &run.groups {
        let s = GroupStats::of(group, pricing);
        let interval =
            |centre: Option<f64>, ci: Option<sebs_core::stats::Interval>| match (centre, ci) {
                (Some(c), Some(ci)) => format!(
                    "{} [{} – {}]",
                    format_us(c),
                    format_us(ci.low),
                    format_us(ci.high)
                ),
                _ => "-".into(),
            };
        let mean = s.client.map(|p| p.mean);
        let median = s.client.map(|p| p.p50);
        let _ = writeln!(
            page,
            "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>{}{}{}<td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            esc(&group.label()),
            s.n,
            s.failures,
            s.cold,
            s.warm,
            cells(s.client),
            cells(s.provider),
            cells(s.benchmark),
            interval(mean, s.t_interval),
            interval(median, s.median_interval),
            s.cost_per_million.map_or("-".into(), |c| format!("{c:.2}")),
        );
    }
    let _ = writeln!(
        page,
        "</table></div>\n<p class=\"caption\">Times of successful invocations. Cost at USD {} per GB-second and USD {} per million requests where billing is known (after <code>process</code>).</p>",
        pricing.per_gb_second,
        pricing.per_request * 1e6
    );
}

fn failures(page: &mut String, run: &Run) {
    let total: usize = run
        .groups
        .iter()
        .flat_map(|g| g.failure_kinds.values())
        .map(|(n, _)| n)
        .sum();
    if total == 0 {
        return;
    }
    let _ = writeln!(
        page,
        "<h3>Failures ({total})</h3>\n<table class=\"failures\">\n<tr><th>function / configuration</th><th>cause</th><th>count</th><th>first message</th></tr>"
    );
    for g in &run.groups {
        for (kind, (count, message)) in &g.failure_kinds {
            let _ = writeln!(
                page,
                "<tr><td>{}</td><td>{}</td><td class=\"num\">{count}</td><td>{}</td></tr>",
                esc(&g.label()),
                esc(kind),
                esc(message)
            );
        }
    }
    page.push_str("</table>\n<details><summary>Failed invocations</summary>\n<table>\n<tr><th>request id</th><th>cause</th><th>message</th></tr>\n");
    for f in run.groups.iter().flat_map(|g| &g.failures) {
        let _ = writeln!(
            page,
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&f.request_id),
            esc(&f.kind),
            esc(&f.message)
        );
    }
    let _ = writeln!(
        page,
        "</table>\n<p>(at most {FAILURES_KEPT} per function and configuration)</p>\n</details>"
    );
}

/// Where `report` writes by default: `report.html` in the current directory.
pub fn default_output() -> &'static Path {
    Path::new("report.html")
}

#[cfg(test)]
mod tests;

//! `sebs stability report`: a study's series read from the store, analysed by `sebs_stability`,
//! printed as a summary and written as a self-contained HTML page (and JSON with `--json`).

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;
use sebs_report::html::esc;
use sebs_stability::{Metric, Params, Penalty, SeriesAnalysis, analyse};

use crate::db_cmd::open_store;

/// `sebs stability report`.
#[derive(Debug, Args)]
pub struct StabilityReportArgs {
    /// The study (its suite's `name`); may be left out when the store holds one.
    #[arg(long)]
    pub study: Option<String>,
    /// The HTML page to write.
    #[arg(short, long, value_name = "FILE", default_value = "stability.html")]
    pub output: PathBuf,
    /// Also write the analyses as JSON.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// The time analysed: client, function or provider.
    #[arg(long, default_value = "client")]
    pub metric: Metric,
    /// Change-point penalty: `mbic` (3 ln n), `bic` (2 ln n) or a number ≥ 0 (larger finds
    /// fewer change points).
    #[arg(long, default_value = "mbic")]
    pub penalty: Penalty,
    /// Fewest slots between two change points.
    #[arg(long, default_value_t = 3)]
    pub min_segment: usize,
    /// Count cold starts in the per-slot statistics and the detection.
    #[arg(long)]
    pub include_cold: bool,
}

/// Read, analyse, print and write.
pub fn report(args: &StabilityReportArgs) -> Result<i32> {
    let mut store = open_store(None)?;
    let studies = store.studies()?;
    let study = match &args.study {
        Some(name) => studies
            .into_iter()
            .find(|s| &s.name == name)
            .with_context(|| {
                format!(
                    "no study `{name}` in {}: `sebs stability status` lists them",
                    store.describe()
                )
            })?,
        None if studies.len() == 1 => studies.into_iter().next().unwrap_or_else(|| unreachable!()),
        None if studies.is_empty() => bail!(
            "no study in {}: start one with `sebs stability run SUITE.json --every 1h --for 14d`",
            store.describe()
        ),
        None => bail!(
            "the store holds {} studies: name one with --study ({})",
            studies.len(),
            studies
                .iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let params = Params {
        metric: args.metric,
        penalty: args.penalty,
        min_segment: args.min_segment,
        include_cold: args.include_cold,
        ..Params::default()
    };
    let analyses = store
        .study_series(&study)?
        .iter()
        .map(|s| analyse(s, &params).with_context(|| format!("failed to analyse {}", s.key)))
        .collect::<Result<Vec<_>>>()?;
    print!("{}", summary(&analyses));
    std::fs::write(&args.output, html(&study.name, &analyses))
        .with_context(|| format!("failed to write {}", args.output.display()))?;
    println!("report: {}", args.output.display());
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&analyses)?)
            .with_context(|| format!("failed to write {}", path.display()))?;
    }
    Ok(0)
}

fn ms(us: f64) -> String {
    format!("{:.2} ms", us / 1000.0)
}

fn change_line(a: &SeriesAnalysis) -> Vec<String> {
    a.change_points
        .iter()
        .map(|c| {
            format!(
                "slot {}: {} → {} ({:+.1}%)",
                c.slot_index,
                ms(c.before_median_us),
                ms(c.after_median_us),
                c.relative_shift * 100.0
            )
        })
        .collect()
}

/// One paragraph per series.
fn summary(analyses: &[SeriesAnalysis]) -> String {
    let mut out = String::new();
    for a in analyses {
        let _ = writeln!(
            out,
            "{}: {} slots, {} invocations ({} failed, {} cold)",
            a.key,
            a.slots.len(),
            a.invocations,
            a.failures,
            a.cold
        );
        let changes = change_line(a);
        if changes.is_empty() {
            let _ = writeln!(
                out,
                "  no change point (penalty {:.2})",
                a.detection.penalty
            );
        }
        for change in changes {
            let _ = writeln!(out, "  change point at {change}");
        }
        if let Some(tail) = &a.tail {
            let _ = writeln!(
                out,
                "  {} outliers beyond p{} ({}), {} of them cold starts, {} unattributed",
                tail.outliers,
                tail.quantile * 100.0,
                ms(tail.threshold_us),
                tail.cold,
                tail.unattributed
            );
        }
        for note in &a.notes {
            let _ = writeln!(out, "  note: {note}");
        }
    }
    out
}

/// A page of tables: per series its change points, its slots with bands, its listed outliers.
fn html(study: &str, analyses: &[SeriesAnalysis]) -> String {
    let mut page = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Stability: {0}</title><style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse;margin:0.5em 0 1.5em}}td,th{{border:1px solid #ccc;padding:2px 8px;text-align:right}}</style></head><body><h1>Stability study {0}</h1>",
        esc(study)
    );
    for a in analyses {
        let _ = write!(
            page,
            "<h2>{}</h2><p>{} slots, {} invocations, {} failed, {} cold; metric {}, penalty {:.2}, σ {:.4}.</p>",
            esc(&a.key.to_string()),
            a.slots.len(),
            a.invocations,
            a.failures,
            a.cold,
            a.params.metric.as_str(),
            a.detection.penalty,
            a.detection.sigma
        );
        let changes = change_line(a);
        page.push_str(&format!(
            "<p>Change points: {}</p>",
            if changes.is_empty() {
                "none".to_owned()
            } else {
                esc(&changes.join("; "))
            }
        ));
        page.push_str("<table><tr><th>slot</th><th>start (UTC)</th><th>samples</th><th>median</th><th>band</th><th>p99</th></tr>");
        for s in &a.slots {
            let (median, band) = match &s.median {
                Some(m) => (
                    ms(m.value),
                    format!(
                        "{} – {}",
                        m.low.map_or("–".into(), ms),
                        m.high.map_or("–".into(), ms)
                    ),
                ),
                None => ("–".into(), String::new()),
            };
            let p99 = s.p99.as_ref().map_or("–".into(), |p| ms(p.value));
            let _ = write!(
                page,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{median}</td><td>{band}</td><td>{p99}</td></tr>",
                s.index,
                s.start.format("%Y-%m-%d %H:%M:%S"),
                s.samples
            );
        }
        page.push_str("</table>");
        if let Some(tail) = a.tail.as_ref().filter(|t| !t.listed.is_empty()) {
            page.push_str("<table><tr><th>invocation</th><th>slot</th><th>time</th><th>attributed to</th></tr>");
            for o in &tail.listed {
                let causes: Vec<String> = o.causes.iter().map(|c| c.to_string()).collect();
                let _ = write!(
                    page,
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    esc(&o.request_id),
                    o.slot_index,
                    ms(o.value_us as f64),
                    esc(&causes.join(", "))
                );
            }
            page.push_str("</table>");
        }
    }
    page.push_str("</body></html>\n");
    page
}

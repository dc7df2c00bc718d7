//! The stability view: for each analysed series (`sebs_stability::SeriesAnalysis`), the median
//! and p99 over slots with their bands and change points, the change-point table, hour-of-day
//! and day-of-week effects, and the tail outliers with their attribution; as HTML sections for
//! a report page, as a page of its own, and as text (docs/stability-analysis.md).

mod tables;
pub mod text;

use std::fmt::Write;
use std::path::Path;

use anyhow::{Context, Result};
use sebs_stability::{Params, SeriesAnalysis};

use crate::chart::{BandPoint, Chart, ChartData};
use crate::html::{ReportOutcome, STYLE, esc};

pub use text::stability_text;

/// The chart of one analysis (`id` is its HTML id and file stem).
pub fn stability_chart(analysis: &SeriesAnalysis, id: &str) -> Chart {
    let ms = |v: f64| v / 1000.0;
    let triple = |e: &sebs_stability::quantile::Estimate| {
        (
            ms(e.value),
            ms(e.low.unwrap_or(e.value)),
            ms(e.high.unwrap_or(e.value)),
        )
    };
    let points = analysis
        .slots
        .iter()
        .filter_map(|s| {
            Some(BandPoint {
                x: s.index as f64,
                median: triple(s.median.as_ref()?),
                p99: triple(s.p99.as_ref()?),
            })
        })
        .collect();
    let changes = analysis
        .change_points
        .iter()
        .map(|c| c.slot_index as f64)
        .collect();
    Chart {
        id: id.to_owned(),
        title: format!("{} time over slots", analysis.params.metric.as_str()),
        caption: format!(
            "Per slot: median and 99th percentile of {} invocations, each with its {:.0}% distribution-free confidence band (order statistics; a side the slot's sample cannot bound is drawn at the estimate). Dashed: change points of the slot medians (PELT).",
            if analysis.params.include_cold {
                "successful"
            } else {
                "successful warm"
            },
            analysis.params.level * 100.0
        ),
        data: ChartData::Stability(points, changes),
    }
}

/// The charts of `analyses`, ids `stability-1`, `stability-2`, … in order.
pub fn stability_charts(analyses: &[SeriesAnalysis]) -> Vec<Chart> {
    analyses
        .iter()
        .enumerate()
        .map(|(i, a)| stability_chart(a, &format!("stability-{}", i + 1)))
        .collect()
}

/// One `<section>` per analysis, for a report page (the page's style sheet applies).
pub fn stability_html(analyses: &[SeriesAnalysis]) -> Result<String> {
    let mut out = String::new();
    for (i, (a, chart)) in analyses.iter().zip(stability_charts(analyses)).enumerate() {
        let _ = writeln!(
            out,
            "<section class=\"run stability\" id=\"stability-series-{}\">\n<h2>Stability: {}</h2>",
            i + 1,
            esc(&a.key.to_string())
        );
        tables::meta(&mut out, a);
        for note in &a.notes {
            let _ = writeln!(out, "<p class=\"note\">{}</p>", esc(note));
        }
        let _ = writeln!(
            out,
            "<figure class=\"chart\" id=\"{}\">\n<h3>{}</h3>\n{}\n<figcaption>{}</figcaption>\n</figure>",
            esc(&chart.id),
            esc(&chart.title),
            chart.svg()?,
            esc(&chart.caption)
        );
        tables::change_points(&mut out, a);
        tables::effect(&mut out, &a.hour_of_day);
        tables::effect(&mut out, &a.day_of_week);
        tables::tail(&mut out, a);
        tables::slots(&mut out, a);
        out.push_str("</section>\n");
    }
    Ok(out)
}

/// A whole, self-contained HTML page of `analyses` (`source` names where they came from).
pub fn stability_page(
    analyses: &[SeriesAnalysis],
    source: &str,
    generated: &str,
) -> Result<String> {
    let mut page = String::new();
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>sebs stability report: {src}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<header>\n<h1>sebs stability report</h1>\n<p>{} series from <code>{src}</code>; generated {} by sebs {}.</p>\n<nav><ul>\n",
        analyses.len(),
        esc(generated),
        env!("CARGO_PKG_VERSION"),
        src = esc(source),
    );
    for (i, a) in analyses.iter().enumerate() {
        let _ = writeln!(
            page,
            "<li><a href=\"#stability-series-{}\">{}</a></li>",
            i + 1,
            esc(&a.key.to_string())
        );
    }
    page.push_str("</ul></nav>\n</header>\n<main>\n");
    page.push_str(&stability_html(analyses)?);
    page.push_str("</main>\n</body>\n</html>\n");
    Ok(page)
}

/// Analyse the series in `input` (a series JSON file, an array of them, or a directory of such
/// files) with `params`, write the page to `output` and, with `plots`, every chart as SVG and
/// PNG there.
pub fn stability_report(
    input: &Path,
    output: &Path,
    plots: Option<&Path>,
    params: &Params,
    generated: &str,
) -> Result<ReportOutcome> {
    let analyses = sebs_stability::analyse_json(input, params)?;
    let page = stability_page(&analyses, &input.display().to_string(), generated)?;
    sebs_core::fsutil::write_atomic(output, page.as_bytes()).with_context(|| {
        format!(
            "failed to write {}; choose another file with -o",
            output.display()
        )
    })?;
    let charts = stability_charts(&analyses);
    let mut plot_files = Vec::new();
    if let Some(dir) = plots {
        std::fs::create_dir_all(dir).with_context(|| {
            format!(
                "failed to create {}; choose another directory with --plots",
                dir.display()
            )
        })?;
        for chart in &charts {
            chart.export(dir)?;
            plot_files.push(dir.join(format!("{}.svg", chart.id)));
            plot_files.push(dir.join(format!("{}.png", chart.id)));
        }
    }
    Ok(ReportOutcome {
        output: output.to_path_buf(),
        runs: analyses.len(),
        charts: charts.len(),
        plot_files,
    })
}

#[cfg(test)]
mod tests;

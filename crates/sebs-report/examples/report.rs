//! Write synthetic results of every kind and their report, to look at how the report comes
//! out: `cargo run -p sebs-report --example report -- DIR` (writes `DIR/results/`,
//! `DIR/report.html` and `DIR/plots/`). The data are synthetic, not measurements.

fn main() -> anyhow::Result<()> {
    let dir = std::path::PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "report-demo".into()),
    );
    let results = dir.join("results");
    sebs_report::synthetic::all_runs(&results)?;
    let outcome = sebs_report::html::report(&sebs_report::html::ReportRequest {
        input: results,
        output: dir.join("report.html"),
        plots: Some(dir.join("plots")),
        pricing: sebs_report::table::Pricing::default(),
        generated: "(example)".into(),
    })?;
    println!(
        "{} ({} runs, {} charts)",
        outcome.output.display(),
        outcome.runs,
        outcome.charts
    );
    Ok(())
}

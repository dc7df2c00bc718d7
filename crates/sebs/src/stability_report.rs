//! `sebs stability report`: a study's series read from the store, analysed by `sebs_stability`,
//! printed as text and written as a self-contained HTML page by `sebs_report`'s stability view
//! (and as JSON with `--json`, which `sebs report` also draws).

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;
use sebs_report::stability::{stability_page, stability_text};
use sebs_stability::{Metric, Params, Penalty, analyse};

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
    print!("{}", stability_text(&analyses));
    let source = format!("study {} in {}", study.name, store.describe());
    let generated = chrono::Local::now().format("%Y-%m-%d %H:%M").to_string();
    std::fs::write(
        &args.output,
        stability_page(&analyses, &source, &generated)?,
    )
    .with_context(|| {
        format!(
            "failed to write {}; choose another file with -o",
            args.output.display()
        )
    })?;
    println!("report: {}", args.output.display());
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&analyses)?)
            .with_context(|| format!("failed to write {}", path.display()))?;
    }
    Ok(0)
}

//! Stability analysis of scheduled `sebs` runs (docs/stability-analysis.md).
//!
//! The input is a [`Series`]: the slots (scheduled runs) of one benchmark on one platform in one
//! configuration, each with its invocations. The analysis reports per-slot medians and tails
//! with confidence bands, hour-of-day and day-of-week effects, change points of the per-slot
//! medians (PELT with a penalty the user sets) and tail outliers with what they are attributed
//! to. It needs no platform and no database: the results store builds series, the report draws
//! the analyses.
//!
//! Entry points for other crates:
//!
//! - build a [`Series`] per benchmark × platform × configuration (its JSON form is in
//!   docs/stability-analysis.md) and call [`analyse`] with [`Params`] (`Params::default()` is
//!   what the docs describe; `Metric` and `Penalty` parse from `--metric` / `--penalty` text);
//! - or write series JSON files and call [`analyse_json`] on a file or directory;
//! - render with `sebs_report::stability`: `stability_html` (sections for a page),
//!   `stability_page`, `stability_text`, or `stability_report` (file in, page and plots out);
//!   `sebs report` itself recognises series files ([`is_series_input`]).
#![warn(missing_docs, rust_2018_idioms)]

pub mod analysis;
pub mod daily;
pub mod effects;
pub mod outliers;
pub mod params;
pub mod pelt;
pub mod quantile;
pub mod rank;
pub mod series;

pub use analysis::{ChangePoint, Detection, Segment, SeriesAnalysis, SlotStats, analyse};
pub use params::{Metric, Params, Penalty};
pub use series::{Observation, Series, SeriesKey, Slot, is_series_input, load};

/// Read `path` (a series JSON file, an array of series, or a directory of such files; see
/// [`series::load`]) and analyse each series with `params`. Files that hold analyses (the JSON
/// of [`SeriesAnalysis`] values, recognised by their `detection`) are taken as they are.
pub fn analyse_json(
    path: &std::path::Path,
    params: &Params,
) -> anyhow::Result<Vec<SeriesAnalysis>> {
    use anyhow::Context;
    use serde::Deserialize;
    let mut all = Vec::new();
    for file in series::input_files(path)? {
        let value = series::read_json(&file)?;
        let first = value.as_array().and_then(|a| a.first()).unwrap_or(&value);
        if first.get("detection").is_some() {
            let analyses = if value.is_array() {
                Vec::<SeriesAnalysis>::deserialize(&value)
            } else {
                SeriesAnalysis::deserialize(&value).map(|a| vec![a])
            };
            all.extend(analyses.with_context(|| {
                format!(
                    "{} holds neither series nor analyses that this sebs reads",
                    file.display()
                )
            })?);
            continue;
        }
        for s in series::series_in(&value, &file)? {
            all.push(
                analyse(&s, params)
                    .with_context(|| format!("failed to analyse series {}", s.key))?,
            );
        }
    }
    series::unique_keys(all.iter().map(|a| &a.key), path)?;
    Ok(all)
}

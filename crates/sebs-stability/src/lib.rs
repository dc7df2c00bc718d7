//! Stability analysis of scheduled `sebs` runs (docs/stability-analysis.md).
//!
//! The input is a [`Series`]: the slots (scheduled runs) of one benchmark on one platform in one
//! configuration, each with its invocations. The analysis reports per-slot medians and tails
//! with confidence bands, hour-of-day and day-of-week effects, change points of the per-slot
//! medians (PELT with a penalty the user sets) and tail outliers with what they are attributed
//! to. It needs no platform and no database: the results store builds series, the report draws
//! the analyses.
#![warn(missing_docs, rust_2018_idioms)]

pub mod analysis;
pub mod effects;
pub mod outliers;
pub mod params;
pub mod pelt;
pub mod quantile;
pub mod rank;
pub mod series;

pub use analysis::{ChangePoint, Detection, Segment, SeriesAnalysis, SlotStats, analyse};
pub use params::{Metric, Params, Penalty};
pub use series::{Observation, Series, SeriesKey, Slot, load};

/// Read the series in `path` (a series JSON file, an array of series, or a directory of such
/// files; see [`series::load`]) and analyse each with `params`.
pub fn analyse_json(
    path: &std::path::Path,
    params: &Params,
) -> anyhow::Result<Vec<SeriesAnalysis>> {
    use anyhow::Context;
    load(path)?
        .iter()
        .map(|s| analyse(s, params).with_context(|| format!("failed to analyse series {}", s.key)))
        .collect()
}

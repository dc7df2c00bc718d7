//! [`analyse`]: one series in, one [`SeriesAnalysis`] out.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::daily::{DailyCycle, cycle};
use crate::effects::{EffectTable, Period, table};
use crate::outliers::{Tail, tail};
use crate::params::Params;
use crate::pelt::{noise_sigma, pelt};
use crate::quantile::{Estimate, estimate, sorted};
use crate::rank::hodges_lehmann;
use crate::series::{Series, SeriesKey, Slot};

/// The noise floor of per-slot log medians (0.01%): keeps the detector defined on constant
/// series, where any shift at all is then a change.
pub const SIGMA_FLOOR: f64 = 1e-4;

/// One slot's statistics (µs) over the invocations counted (successful, warm unless
/// `include_cold`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlotStats {
    /// The slot.
    pub index: u64,
    /// When it started.
    pub start: DateTime<Utc>,
    /// All invocations.
    pub invocations: usize,
    /// Failed invocations.
    pub failures: usize,
    /// Cold starts (successful).
    pub cold: usize,
    /// Invocations counted in the statistics.
    pub samples: usize,
    /// Median with its band.
    pub median: Option<Estimate>,
    /// 95th percentile with its band.
    pub p95: Option<Estimate>,
    /// 99th percentile with its band.
    pub p99: Option<Estimate>,
}

/// A shift of the per-slot medians.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangePoint {
    /// The first slot after the change.
    pub slot_index: u64,
    /// When that slot started.
    pub at: DateTime<Utc>,
    /// Median of the slot medians of the segment before (µs).
    pub before_median_us: f64,
    /// Median of the slot medians of the segment after (µs).
    pub after_median_us: f64,
    /// Relative shift, after against before (0.25: 25% slower): the Hodges–Lehmann shift of
    /// the log slot medians (with the daily cycle taken out, if one was), exponentiated, minus
    /// one.
    pub relative_shift: f64,
    /// Lower confidence bound of the relative shift (`None`: segments too short).
    pub shift_low: Option<f64>,
    /// Upper confidence bound.
    pub shift_high: Option<f64>,
}

/// Slots between change points.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    /// First slot.
    pub first_slot: u64,
    /// Last slot.
    pub last_slot: u64,
    /// Slots with statistics.
    pub slots: usize,
    /// Median of their medians (µs).
    pub median_us: f64,
}

/// How the change points were searched for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Detection {
    /// Slots in the detector's sequence (those with a median).
    pub slots: usize,
    /// Penalty applied per change point.
    pub penalty: f64,
    /// Noise σ of the log slot medians (robust, from first differences).
    pub sigma: f64,
    /// Minimum segment length (slots).
    pub min_segment: usize,
    /// The daily cycle taken out of the sequence first, if one was found (`Params::daily_adjustment`).
    pub daily: Option<DailyCycle>,
}

/// Everything found in one series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesAnalysis {
    /// What was measured.
    pub key: SeriesKey,
    /// The parameters used.
    pub params: Params,
    /// Invocations, failures and cold starts over all slots.
    pub invocations: usize,
    /// Failed invocations.
    pub failures: usize,
    /// Successful cold starts.
    pub cold: usize,
    /// Per-slot statistics, in slot order.
    pub slots: Vec<SlotStats>,
    /// The detector's settings.
    pub detection: Detection,
    /// Change points, in slot order.
    pub change_points: Vec<ChangePoint>,
    /// Segments between change points.
    pub segments: Vec<Segment>,
    /// Hour-of-day effect.
    pub hour_of_day: EffectTable,
    /// Day-of-week effect.
    pub day_of_week: EffectTable,
    /// Tail outliers (`None`: no successful invocation).
    pub tail: Option<Tail>,
    /// What limits the analysis (too few slots, no samples), in words.
    pub notes: Vec<String>,
}

fn slot_stats(slot: &Slot, params: &Params) -> SlotStats {
    let ok = slot.invocations.iter().filter(|o| o.success);
    let values: Vec<f64> = ok
        .clone()
        .filter(|o| params.include_cold || !o.cold)
        .filter_map(|o| params.metric.of(o).map(|v| v as f64))
        .collect();
    let values = sorted(values);
    let at = |q| estimate(&values, q, params.level);
    SlotStats {
        index: slot.index,
        start: slot.start,
        invocations: slot.invocations.len(),
        failures: slot.invocations.iter().filter(|o| !o.success).count(),
        cold: ok.filter(|o| o.cold).count(),
        samples: values.len(),
        median: at(0.5),
        p95: at(0.95),
        p99: at(0.99),
    }
}

/// Analyse one series (docs/stability-analysis.md describes every method).
pub fn analyse(series: &Series, params: &Params) -> anyhow::Result<SeriesAnalysis> {
    params.validate()?;
    series.validate()?;
    let slots: Vec<SlotStats> = series.slots.iter().map(|s| slot_stats(s, params)).collect();
    // The detector's sequence: log medians of the slots that have one.
    let used: Vec<&SlotStats> = slots.iter().filter(|s| s.median.is_some()).collect();
    let ys: Vec<f64> = used
        .iter()
        .map(|s| s.median.map_or(0.0, |m| m.value.max(1.0).ln()))
        .collect();
    // The detector's input: the sequence with a significant daily cycle taken out.
    let starts: Vec<DateTime<Utc>> = used.iter().map(|s| s.start).collect();
    let daily = if params.daily_adjustment {
        cycle(&starts, &ys)
    } else {
        None
    };
    let zs = daily
        .as_ref()
        .map_or_else(|| ys.clone(), |c| c.adjust(&starts, &ys));
    let sigma = noise_sigma(&zs, SIGMA_FLOOR);
    let penalty = params.penalty.value(zs.len());
    let cuts = pelt(&zs, sigma, penalty, params.min_segment);
    let mut bounds = vec![0];
    bounds.extend(&cuts);
    bounds.push(ys.len());
    let segments: Vec<Segment> = bounds
        .windows(2)
        .filter(|w| w[1] > w[0])
        .map(|w| Segment {
            first_slot: used[w[0]].index,
            last_slot: used[w[1] - 1].index,
            slots: w[1] - w[0],
            median_us: median_exp(&ys[w[0]..w[1]]),
        })
        .collect();
    let change_points = bounds
        .windows(3)
        .map(|w| {
            let (before, after) = (&ys[w[0]..w[1]], &ys[w[1]..w[2]]);
            let shift = hodges_lehmann(&zs[w[0]..w[1]], &zs[w[1]..w[2]], params.level);
            ChangePoint {
                slot_index: used[w[1]].index,
                at: used[w[1]].start,
                before_median_us: median_exp(before),
                after_median_us: median_exp(after),
                relative_shift: shift.map_or(0.0, |s| s.estimate.exp() - 1.0),
                shift_low: shift.and_then(|s| s.low).map(|v| v.exp() - 1.0),
                shift_high: shift.and_then(|s| s.high).map(|v| v.exp() - 1.0),
            }
        })
        .collect();
    let residuals = residuals(&used, &ys, &bounds);
    let notes = notes(series, &slots, ys.len(), params);
    Ok(SeriesAnalysis {
        key: series.key.clone(),
        params: *params,
        invocations: slots.iter().map(|s| s.invocations).sum(),
        failures: slots.iter().map(|s| s.failures).sum(),
        cold: slots.iter().map(|s| s.cold).sum(),
        detection: Detection {
            slots: ys.len(),
            penalty,
            sigma,
            min_segment: params.min_segment,
            daily,
        },
        change_points,
        segments,
        hour_of_day: table(Period::Hour, &residuals, params.level),
        day_of_week: table(Period::Weekday, &residuals, params.level),
        tail: tail(series, params),
        slots,
        notes,
    })
}

/// The median (µs) of slot medians given as logs.
fn median_exp(ys: &[f64]) -> f64 {
    let us: Vec<f64> = ys.iter().map(|y| y.exp()).collect();
    sebs_core::stats::median(&us).unwrap_or(f64::NAN)
}

/// Each used slot's log median minus its segment's median log median.
fn residuals(used: &[&SlotStats], ys: &[f64], bounds: &[usize]) -> Vec<(DateTime<Utc>, f64)> {
    let mut out = Vec::with_capacity(ys.len());
    for w in bounds.windows(2) {
        let centre = sebs_core::stats::median(&ys[w[0]..w[1]]).unwrap_or(0.0);
        for i in w[0]..w[1] {
            out.push((used[i].start, ys[i] - centre));
        }
    }
    out
}

fn notes(series: &Series, slots: &[SlotStats], used: usize, params: &Params) -> Vec<String> {
    let mut notes = Vec::new();
    let empty = slots.len() - used;
    if empty > 0 {
        notes.push(format!(
            "{empty} of {} slot(s) have no successful {}invocation with a {} time; they are left out of bands, change points and effects",
            slots.len(),
            if params.include_cold { "" } else { "warm " },
            params.metric.as_str()
        ));
    }
    if used < 2 * params.min_segment {
        notes.push(format!(
            "{used} slot(s) with statistics: change points need at least {} (twice the minimum segment of {})",
            2 * params.min_segment,
            params.min_segment
        ));
    }
    if series.slots.is_empty() {
        notes.push("the series has no slots".into());
    }
    notes
}

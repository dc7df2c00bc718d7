//! Tail outliers: invocations beyond the series' tail quantile (p99 by default), each
//! attributed to what the data can show (docs/stability-analysis.md, "Outlier attribution"):
//!
//! - **cold start**: the invocation was a cold start;
//! - **instance**: its instance has significantly more outliers than the series' rate;
//! - **time window**: its slot has significantly more outliers than the series' rate;
//! - **payload**: it carried a large payload (top decile of the series' payload sizes) and
//!   large payloads have significantly more outliers.
//!
//! "Significantly" is a one-sided binomial test at 1% with a Bonferroni correction over the
//! instances (slots) tested, and needs at least two outliers in the group.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use statrs::distribution::{Binomial, DiscreteCDF};

use crate::params::Params;
use crate::series::{Observation, Series};

/// The family-wise significance level of the concentration tests.
pub const ALPHA: f64 = 0.01;

/// What an outlier is attributed to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "cause")]
pub enum Cause {
    /// The invocation was a cold start.
    ColdStart,
    /// Its instance collects outliers.
    Instance {
        /// The instance.
        instance: String,
    },
    /// Its slot (scheduled run) collects outliers.
    TimeWindow {
        /// The slot.
        slot_index: u64,
    },
    /// Large payloads collect outliers.
    Payload {
        /// The invocation's payload size.
        bytes: u64,
    },
}

impl std::fmt::Display for Cause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Cause::ColdStart => write!(f, "cold start"),
            Cause::Instance { instance } => write!(f, "instance {instance}"),
            Cause::TimeWindow { slot_index } => write!(f, "slot {slot_index}"),
            Cause::Payload { bytes } => write!(f, "payload {bytes} B"),
        }
    }
}

/// One outlying invocation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outlier {
    /// Request id.
    pub request_id: String,
    /// Its slot.
    pub slot_index: u64,
    /// When it started.
    pub at: DateTime<Utc>,
    /// Its time (µs, the analysed metric).
    pub value_us: u64,
    /// Whether it was a cold start.
    pub cold: bool,
    /// Its instance, if known.
    pub instance: Option<String>,
    /// Its payload size, if known.
    pub payload_bytes: Option<u64>,
    /// What it is attributed to; empty when nothing is.
    pub causes: Vec<Cause>,
}

/// A group (instance, slot, large payloads) with more outliers than the series' rate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Concentration {
    /// What the group is: `instance X`, `slot N`, `payload ≥ B bytes`.
    pub group: String,
    /// Outliers in the group.
    pub outliers: usize,
    /// Invocations in the group.
    pub invocations: usize,
    /// One-sided binomial p-value (uncorrected) at the series' outlier rate.
    pub p_value: f64,
}

/// The tail of a series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tail {
    /// The quantile that defines the tail (e.g. 0.99).
    pub quantile: f64,
    /// The series' quantile (µs): outliers are strictly above it.
    pub threshold_us: f64,
    /// Successful invocations with the metric (cold starts included).
    pub invocations: usize,
    /// Outliers.
    pub outliers: usize,
    /// Outliers that were cold starts.
    pub cold: usize,
    /// Outliers with no cause.
    pub unattributed: usize,
    /// Groups with significantly many outliers (instances, slots, large payloads).
    pub concentrations: Vec<Concentration>,
    /// The outliers, largest first, at most `Params::max_outliers`.
    pub listed: Vec<Outlier>,
}

/// `P(B ≥ k)` for B ~ Binomial(n, p).
fn upper_tail(k: usize, n: usize, p: f64) -> f64 {
    if k == 0 {
        return 1.0;
    }
    Binomial::new(p.clamp(0.0, 1.0), n as u64)
        .map(|b| 1.0 - b.cdf(k as u64 - 1))
        .unwrap_or(1.0)
}

/// Per group: (outliers, invocations).
type Counts<K> = BTreeMap<K, (usize, usize)>;

/// The groups of `counts` with significantly many outliers at `rate` (Bonferroni over all
/// groups), with their p-values.
fn significant<K: Clone + Ord>(counts: &Counts<K>, rate: f64) -> Vec<(K, usize, usize, f64)> {
    let tests = counts.len().max(1) as f64;
    counts
        .iter()
        .filter(|(_, (k, _))| *k >= 2)
        .map(|(key, &(k, n))| (key.clone(), k, n, upper_tail(k, n, rate)))
        .filter(|(_, _, _, p)| *p < ALPHA / tests)
        .collect()
}

/// An invocation with its slot and analysed value.
struct Point<'a> {
    slot: u64,
    value: u64,
    obs: &'a Observation,
}

/// Find and attribute the series' tail outliers.
pub fn tail(series: &Series, params: &Params) -> Option<Tail> {
    let points: Vec<Point<'_>> = series
        .slots
        .iter()
        .flat_map(|s| s.invocations.iter().map(move |o| (s.index, o)))
        .filter(|(_, o)| o.success)
        .filter_map(|(slot, obs)| {
            let value = params.metric.of(obs)?;
            Some(Point { slot, value, obs })
        })
        .collect();
    let values: Vec<f64> = points.iter().map(|p| p.value as f64).collect();
    let threshold = sebs_core::stats::percentile(&values, params.tail_quantile * 100.0)?;
    let is_out = |p: &Point<'_>| p.value as f64 > threshold;
    let total_out = points.iter().filter(|p| is_out(p)).count();
    let rate = total_out as f64 / points.len() as f64;
    let mut by_instance: Counts<String> = BTreeMap::new();
    let mut by_slot: Counts<u64> = BTreeMap::new();
    for p in &points {
        let out = usize::from(is_out(p));
        if let Some(i) = &p.obs.instance {
            let e = by_instance.entry(i.clone()).or_default();
            *e = (e.0 + out, e.1 + 1);
        }
        let e = by_slot.entry(p.slot).or_default();
        *e = (e.0 + out, e.1 + 1);
    }
    let instances = significant(&by_instance, rate);
    let slots = significant(&by_slot, rate);
    let payload = large_payloads(&points, &is_out, rate);
    let mut concentrations: Vec<Concentration> = Vec::new();
    for (i, k, n, p) in &instances {
        concentrations.push(concentration(format!("instance {i}"), *k, *n, *p));
    }
    for (s, k, n, p) in &slots {
        concentrations.push(concentration(format!("slot {s}"), *k, *n, *p));
    }
    if let Some((min, k, n, p)) = payload {
        concentrations.push(concentration(format!("payload ≥ {min} B"), k, n, p));
    }
    let mut listed: Vec<Outlier> = points
        .iter()
        .filter(|p| is_out(p))
        .map(|p| {
            let mut causes = Vec::new();
            if p.obs.cold {
                causes.push(Cause::ColdStart);
            }
            if let Some(i) = &p.obs.instance
                && instances.iter().any(|c| &c.0 == i)
            {
                causes.push(Cause::Instance {
                    instance: i.clone(),
                });
            }
            if slots.iter().any(|c| c.0 == p.slot) {
                causes.push(Cause::TimeWindow { slot_index: p.slot });
            }
            if let (Some(b), Some((min, ..))) = (p.obs.payload_bytes, payload)
                && b >= min
            {
                causes.push(Cause::Payload { bytes: b });
            }
            Outlier {
                request_id: p.obs.request_id.clone(),
                slot_index: p.slot,
                at: p.obs.at,
                value_us: p.value,
                cold: p.obs.cold,
                instance: p.obs.instance.clone(),
                payload_bytes: p.obs.payload_bytes,
                causes,
            }
        })
        .collect();
    let cold = listed.iter().filter(|o| o.cold).count();
    let unattributed = listed.iter().filter(|o| o.causes.is_empty()).count();
    listed.sort_by(|a, b| b.value_us.cmp(&a.value_us).then(a.at.cmp(&b.at)));
    listed.truncate(params.max_outliers);
    Some(Tail {
        quantile: params.tail_quantile,
        threshold_us: threshold,
        invocations: points.len(),
        outliers: total_out,
        cold,
        unattributed,
        concentrations,
        listed,
    })
}

fn concentration(group: String, outliers: usize, invocations: usize, p: f64) -> Concentration {
    Concentration {
        group,
        outliers,
        invocations,
        p_value: p,
    }
}

/// Large payloads (the top decile of sizes, above the smallest size) when they collect outliers:
/// (smallest large size, outliers, invocations, p-value). `None` where payload sizes are unknown
/// for most invocations or all equal.
fn large_payloads(
    points: &[Point<'_>],
    is_out: &dyn Fn(&Point<'_>) -> bool,
    rate: f64,
) -> Option<(u64, usize, usize, f64)> {
    let sizes: Vec<f64> = points
        .iter()
        .filter_map(|p| p.obs.payload_bytes.map(|b| b as f64))
        .collect();
    if sizes.len() * 2 < points.len() {
        return None;
    }
    let smallest = sizes.iter().copied().fold(f64::INFINITY, f64::min);
    let cut = sebs_core::stats::percentile(&sizes, 90.0)?;
    // The smallest observed size in the top decile that is above the smallest size at all
    // (when nine in ten payloads have the smallest size, the larger ones are the group).
    let min = points
        .iter()
        .filter_map(|p| p.obs.payload_bytes)
        .filter(|&b| b as f64 > smallest && b as f64 >= cut)
        .min()?;
    let group: Vec<&Point<'_>> = points
        .iter()
        .filter(|p| p.obs.payload_bytes.is_some_and(|b| b >= min))
        .collect();
    let k = group.iter().filter(|p| is_out(p)).count();
    let p = upper_tail(k, group.len(), rate);
    (k >= 2 && p < ALPHA).then_some((min, k, group.len(), p))
}

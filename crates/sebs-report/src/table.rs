//! The report's summary table: per function and configuration, counts, percentiles of client,
//! provider and function time, confidence intervals of the client time, and the cost per
//! million invocations where billing is known.

use sebs_core::stats::{Interval, median_interval, t_interval};
use serde::Serialize;

use crate::dataset::{Group, Metric, Sample};

/// Prices that turn billing into cost.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Pricing {
    /// USD per GB-second of billed duration.
    pub per_gb_second: f64,
    /// USD per request.
    pub per_request: f64,
}

impl Default for Pricing {
    /// AWS Lambda's x86 list prices in us-east-1 (the first pricing tier): $0.0000166667 per
    /// GB-second and $0.20 per million requests.
    fn default() -> Self {
        Pricing {
            per_gb_second: 0.000_016_666_7,
            per_request: 0.20 / 1e6,
        }
    }
}

impl Pricing {
    /// The prices a backend recorded in a run's deployment record
    /// (`config.deployment.resources.pricing`, e.g. AWS's for the region and architecture).
    pub fn recorded(config: &serde_json::Value) -> Option<Pricing> {
        let p = &config["deployment"]["resources"]["pricing"];
        Some(Pricing {
            per_gb_second: p["gb-second"].as_f64()?,
            per_request: p["request"].as_f64()?,
        })
    }
}

/// Percentiles of one metric (µs), over a group's successful invocations.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Percentiles {
    /// Samples.
    pub n: usize,
    /// Mean.
    pub mean: f64,
    /// Median.
    pub p50: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
}

/// The `p`-th percentile (0–100) of sorted values, linear interpolation (as
/// `sebs_core::stats::percentile`).
pub fn percentile_sorted(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p.clamp(0.0, 100.0) / 100.0) * (sorted.len() - 1) as f64;
    let (lo, hi) = (rank.floor() as usize, rank.ceil() as usize);
    Some(sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo as f64))
}

impl Percentiles {
    /// Percentiles of `values` (sorted here); `None` when empty.
    pub fn of(mut values: Vec<f64>) -> Option<Percentiles> {
        values.sort_by(f64::total_cmp);
        Some(Percentiles {
            n: values.len(),
            mean: values.iter().sum::<f64>() / values.len().max(1) as f64,
            p50: percentile_sorted(&values, 50.0)?,
            p95: percentile_sorted(&values, 95.0)?,
            p99: percentile_sorted(&values, 99.0)?,
        })
    }
}

/// One row of the summary table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupStats {
    /// Function name.
    pub function: String,
    /// Configuration (empty for a plain run).
    pub configuration: String,
    /// Invocations.
    pub n: usize,
    /// Failed invocations (and outputs that failed validation).
    pub failures: usize,
    /// Successful cold starts.
    pub cold: usize,
    /// Successful warm invocations.
    pub warm: usize,
    /// Client time.
    pub client: Option<Percentiles>,
    /// Provider execution time (where the platform reports it).
    pub provider: Option<Percentiles>,
    /// Function time (where the wrapper reports it).
    pub benchmark: Option<Percentiles>,
    /// Student-t 95% interval of the mean client time.
    pub t_interval: Option<Interval>,
    /// Le Boudec's 95% interval of the median client time.
    pub median_interval: Option<Interval>,
    /// Mean billed GB-seconds per invocation, where billing is known.
    pub gb_seconds: Option<f64>,
    /// USD per million invocations at the report's prices, where billing is known.
    pub cost_per_million: Option<f64>,
}

impl GroupStats {
    /// The statistics of `group` (successful invocations only) at `pricing`.
    pub fn of(group: &Group, pricing: &Pricing) -> GroupStats {
        let ok: Vec<&Sample> = group.ok().collect();
        let reported = |metric: Metric| {
            let values = metric.values(ok.iter().copied());
            if values.iter().all(|v| *v == 0.0) {
                None
            } else {
                Percentiles::of(values)
            }
        };
        let client = Metric::Client.values(ok.iter().copied());
        let billed: Vec<f64> = ok
            .iter()
            .map(|s| s.gb_seconds)
            .filter(|g| !g.is_nan())
            .collect();
        let gb_seconds =
            (!billed.is_empty()).then(|| billed.iter().sum::<f64>() / billed.len() as f64);
        GroupStats {
            function: group.function.clone(),
            configuration: group.configuration.clone(),
            n: group.samples.len(),
            failures: group.samples.len() - ok.len(),
            cold: ok.iter().filter(|s| s.cold).count(),
            warm: ok.iter().filter(|s| !s.cold).count(),
            client: Percentiles::of(client.clone()),
            provider: reported(Metric::Provider),
            benchmark: reported(Metric::Benchmark),
            t_interval: t_interval(&client, 0.95),
            median_interval: median_interval(&client, 0.95),
            gb_seconds,
            cost_per_million: gb_seconds
                .map(|g| (g * pricing.per_gb_second + pricing.per_request) * 1e6),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::Group;

    fn sample(client: u32, cold: bool, gb_seconds: f64) -> Sample {
        Sample {
            begin: 0.0,
            client,
            benchmark: client / 2,
            provider: 0,
            init: 0,
            compute: f64::NAN,
            download: f64::NAN,
            upload: f64::NAN,
            gb_seconds,
            memory_mb: 0,
            cold,
            failed: false,
            invalid: false,
        }
    }

    #[test]
    fn percentiles_of_one_to_ten() {
        let p = Percentiles::of((1..=10).rev().map(f64::from).collect()).unwrap();
        // Ranks 0.5·9 = 4.5, 0.95·9 = 8.55, 0.99·9 = 8.91 of 1..10.
        assert_eq!((p.n, p.mean, p.p50), (10, 5.5, 5.5));
        assert!(
            (p.p95 - 9.55).abs() < 1e-12 && (p.p99 - 9.91).abs() < 1e-12,
            "{p:?}"
        );
        assert!(Percentiles::of(Vec::new()).is_none());
    }

    #[test]
    fn recorded_prices_are_read_from_the_deployment_record() {
        let config = serde_json::json!({"deployment": {"resources": {"pricing": {"gb-second": 0.0000133334, "request": 0.0000002}}}});
        let p = Pricing::recorded(&config).unwrap();
        assert_eq!(p.per_gb_second, 0.0000133334);
        assert_eq!(p.per_request, 0.0000002);
        assert_eq!(Pricing::recorded(&serde_json::json!({})), None);
    }

    #[test]
    fn group_statistics_count_and_price() {
        let mut group = Group {
            function: "f".into(),
            ..Group::default()
        };
        group.samples = (1..=10).map(|i| sample(i * 1000, i == 1, 0.25)).collect();
        let mut failed = sample(1, false, f64::NAN);
        failed.failed = true;
        group.samples.push(failed);
        let stats = GroupStats::of(&group, &Pricing::default());
        assert_eq!(
            (stats.n, stats.failures, stats.cold, stats.warm),
            (11, 1, 1, 10 - 1)
        );
        assert_eq!(stats.client.unwrap().p50, 5500.0);
        assert_eq!(stats.benchmark.unwrap().p50, 2750.0);
        assert!(stats.provider.is_none(), "no provider time was measured");
        // 0.25 GB-s at $0.0000166667 plus $0.0000002 per request: $4.3667 per million.
        assert_eq!(stats.gb_seconds, Some(0.25));
        assert!(
            (stats.cost_per_million.unwrap() - 4.366_675).abs() < 1e-9,
            "{stats:?}"
        );
        let ci = stats.t_interval.unwrap();
        assert!(
            (ci.low - 3334.148).abs() < 0.01 && (ci.high - 7665.852).abs() < 0.01,
            "{ci:?}"
        );
        assert_eq!(
            (
                stats.median_interval.unwrap().low,
                stats.median_interval.unwrap().high
            ),
            (1000.0, 10_000.0)
        );
        // Without billing there is no cost.
        group
            .samples
            .iter_mut()
            .for_each(|s| s.gb_seconds = f64::NAN);
        assert_eq!(
            GroupStats::of(&group, &Pricing::default()).cost_per_million,
            None
        );
    }
}

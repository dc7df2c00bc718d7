//! Descriptive statistics over samples: pure functions with unit tests.
//!
//! Percentiles use linear interpolation between closest ranks (numpy's default), so
//! `percentile(x, 50)` equals the median.

/// Arithmetic mean; `None` for no samples.
pub fn mean(xs: &[f64]) -> Option<f64> {
    if xs.is_empty() {
        None
    } else {
        Some(xs.iter().sum::<f64>() / xs.len() as f64)
    }
}

/// Sample standard deviation (n − 1); `None` for fewer than two samples.
pub fn std_dev(xs: &[f64]) -> Option<f64> {
    if xs.len() < 2 {
        return None;
    }
    let m = mean(xs)?;
    let var = xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (xs.len() - 1) as f64;
    Some(var.sqrt())
}

/// Coefficient of variation in percent (std / mean × 100).
pub fn cv_percent(xs: &[f64]) -> Option<f64> {
    let m = mean(xs)?;
    if m == 0.0 {
        return None;
    }
    Some(std_dev(xs)? / m * 100.0)
}

/// The `p`-th percentile (0–100), linear interpolation.
pub fn percentile(xs: &[f64], p: f64) -> Option<f64> {
    if xs.is_empty() {
        return None;
    }
    let mut sorted = xs.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = (p.clamp(0.0, 100.0) / 100.0) * (sorted.len() - 1) as f64;
    let lo = rank.floor() as usize;
    let hi = rank.ceil() as usize;
    Some(sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo as f64))
}

/// The median.
pub fn median(xs: &[f64]) -> Option<f64> {
    percentile(xs, 50.0)
}

/// Summary of one sample set.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Summary {
    /// Number of samples.
    pub n: usize,
    /// Mean.
    pub mean: f64,
    /// Median.
    pub median: f64,
    /// Sample standard deviation (0 for n < 2).
    pub std: f64,
    /// Coefficient of variation in percent (0 when undefined).
    pub cv: f64,
    /// Minimum.
    pub min: f64,
    /// Maximum.
    pub max: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
}

impl Summary {
    /// Summarize `xs`; `None` when empty.
    pub fn of(xs: &[f64]) -> Option<Summary> {
        Some(Summary {
            n: xs.len(),
            mean: mean(xs)?,
            median: median(xs)?,
            std: std_dev(xs).unwrap_or(0.0),
            cv: cv_percent(xs).unwrap_or(0.0),
            min: xs.iter().copied().fold(f64::INFINITY, f64::min),
            max: xs.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            p95: percentile(xs, 95.0)?,
            p99: percentile(xs, 99.0)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const XS: [f64; 8] = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0];

    #[test]
    fn mean_std_cv() {
        assert_eq!(mean(&XS), Some(5.0));
        // Sample variance = 32 / 7.
        assert!((std_dev(&XS).unwrap() - (32.0f64 / 7.0).sqrt()).abs() < 1e-12);
        assert!((cv_percent(&XS).unwrap() - (32.0f64 / 7.0).sqrt() / 5.0 * 100.0).abs() < 1e-9);
        assert_eq!(std_dev(&[1.0]), None);
        assert_eq!(mean(&[]), None);
    }

    #[test]
    fn percentiles_interpolate() {
        assert_eq!(median(&XS), Some(4.5));
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(percentile(&[1.0, 2.0, 3.0, 4.0, 5.0], 95.0), Some(4.8));
        assert_eq!(percentile(&XS, 0.0), Some(2.0));
        assert_eq!(percentile(&XS, 100.0), Some(9.0));
    }

    #[test]
    fn summary() {
        let s = Summary::of(&XS).unwrap();
        assert_eq!((s.n, s.min, s.max), (8, 2.0, 9.0));
        assert!(Summary::of(&[]).is_none());
    }
}

/// A confidence interval around a point estimate.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Interval {
    /// Confidence level, e.g. 0.95.
    pub level: f64,
    /// Lower bound.
    pub low: f64,
    /// Upper bound.
    pub high: f64,
    /// Half the width as a percentage of the point estimate (mean or median).
    pub half_width_percent: f64,
}

/// Student-t confidence interval of the mean: `mean ± t(1 − α/2, n − 1) · s / √n`.
/// `None` for fewer than two samples.
pub fn t_interval(xs: &[f64], level: f64) -> Option<Interval> {
    use statrs::distribution::{ContinuousCDF, StudentsT};
    let n = xs.len();
    let m = mean(xs)?;
    let s = std_dev(xs)?;
    let t = StudentsT::new(0.0, 1.0, (n - 1) as f64)
        .ok()?
        .inverse_cdf(1.0 - (1.0 - level) / 2.0);
    let half = t * s / (n as f64).sqrt();
    Some(Interval {
        level,
        low: m - half,
        high: m + half,
        half_width_percent: if m != 0.0 { half / m * 100.0 } else { 0.0 },
    })
}

/// Le Boudec's non-parametric confidence interval of the median (Performance Evaluation of
/// Computer and Communication Systems, §2.2.1): with `z` the normal quantile, the bounds are the
/// order statistics of ranks `⌊(n − z√n)/2⌋` and `⌈1 + (n + z√n)/2⌉` (1-based). Defined for
/// n > 5 (the ranks must fall inside the sample); `None` otherwise.
pub fn median_interval(xs: &[f64], level: f64) -> Option<Interval> {
    use statrs::distribution::{ContinuousCDF, Normal};
    let n = xs.len();
    if n <= 5 {
        return None;
    }
    let z = Normal::new(0.0, 1.0)
        .ok()?
        .inverse_cdf(1.0 - (1.0 - level) / 2.0);
    let nf = n as f64;
    let lower_rank = ((nf - z * nf.sqrt()) / 2.0).floor() as usize;
    let upper_rank = (1.0 + (nf + z * nf.sqrt()) / 2.0).ceil() as usize;
    if lower_rank < 1 || upper_rank > n {
        return None;
    }
    let mut sorted = xs.to_vec();
    sorted.sort_by(f64::total_cmp);
    let med = median(xs)?;
    let (low, high) = (sorted[lower_rank - 1], sorted[upper_rank - 1]);
    Some(Interval {
        level,
        low,
        high,
        half_width_percent: if med != 0.0 {
            (high - low) / 2.0 / med * 100.0
        } else {
            0.0
        },
    })
}

#[cfg(test)]
mod interval_tests {
    use super::*;

    #[test]
    fn t_interval_matches_hand_computation() {
        // n = 10, mean 5.5, s = sqrt(55/6) = 3.02765; t(0.975, 9) = 2.262157.
        let xs: Vec<f64> = (1..=10).map(f64::from).collect();
        let ci = t_interval(&xs, 0.95).unwrap();
        let half = 2.262157 * (55.0f64 / 6.0).sqrt() / 10f64.sqrt();
        assert!((ci.low - (5.5 - half)).abs() < 1e-5, "{ci:?}");
        assert!((ci.high - (5.5 + half)).abs() < 1e-5, "{ci:?}");
        assert!((ci.half_width_percent - half / 5.5 * 100.0).abs() < 1e-4);
        // t(0.995, 9) = 3.249836.
        let ci99 = t_interval(&xs, 0.99).unwrap();
        assert!((ci99.high - 5.5 - 3.249836 * (55.0f64 / 6.0).sqrt() / 10f64.sqrt()).abs() < 1e-5);
        assert!(t_interval(&[1.0], 0.95).is_none());
    }

    #[test]
    fn median_interval_matches_le_boudec_ranks() {
        // n = 100, z(0.975) = 1.959964: ranks floor((100 − 19.6)/2) = 40 and ceil(1 + 119.6/2) = 61.
        let xs: Vec<f64> = (1..=100).rev().map(f64::from).collect();
        let ci = median_interval(&xs, 0.95).unwrap();
        assert_eq!((ci.low, ci.high), (40.0, 61.0));
        assert!((ci.half_width_percent - 10.5 / 50.5 * 100.0).abs() < 1e-9);
        // z(0.995) = 2.575829: ranks floor((100 − 25.76)/2) = 37, ceil(1 + 125.76/2) = 64.
        let ci99 = median_interval(&xs, 0.99).unwrap();
        assert_eq!((ci99.low, ci99.high), (37.0, 64.0));
        // n = 30: z√n = 10.735; ranks floor(9.63) = 9 and ceil(21.37) = 22.
        let ys: Vec<f64> = (1..=30).map(|i| f64::from(i) * 2.0).collect();
        let ci30 = median_interval(&ys, 0.95).unwrap();
        assert_eq!((ci30.low, ci30.high), (18.0, 44.0));
        assert!(median_interval(&[1.0, 2.0, 3.0], 0.95).is_none());
    }
}

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

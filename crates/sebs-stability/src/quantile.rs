//! Distribution-free confidence intervals of quantiles from order statistics.
//!
//! For `n` independent samples the number below the true `q`-quantile is Binomial(n, q), so the
//! order statistics of ranks `l` and `u` (1-based) bound it with probability
//! `P(l ≤ B < u)`. The ranks are chosen with at most `α/2` on each side; where no rank inside
//! the sample achieves that (too few samples for the quantile and level), that side of the
//! interval is unbounded (`None`). For the median this gives the ranks of Le Boudec's
//! interval (`sebs_core::stats::median_interval`).

use serde::{Deserialize, Serialize};
use statrs::distribution::{Binomial, DiscreteCDF};

/// A point estimate with its confidence bounds; a bound is `None` where the sample is too small
/// to give one at the level asked for.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    /// The estimate (sample quantile, linear interpolation as `sebs_core::stats::percentile`).
    pub value: f64,
    /// Lower confidence bound.
    pub low: Option<f64>,
    /// Upper confidence bound.
    pub high: Option<f64>,
}

/// The 1-based ranks `(l, u)` of the order statistics bounding the `q`-quantile of `n` samples at
/// confidence `level`; `None` for a side that no rank in `1..=n` achieves.
pub fn ranks(n: usize, q: f64, level: f64) -> (Option<usize>, Option<usize>) {
    if n == 0 {
        return (None, None);
    }
    let Ok(b) = Binomial::new(q, n as u64) else {
        return (None, None);
    };
    let tail = (1.0 - level) / 2.0;
    // The CDF is monotone: binary searches for the first rank failing each side's condition.
    // Lower: the largest l with P(B ≤ l − 1) ≤ α/2.
    let low =
        first(1, n, |l| b.cdf(l as u64 - 1) > tail).map_or(Some(n), |l| (l > 1).then_some(l - 1));
    // Upper: the smallest u with P(B ≥ u) = 1 − P(B ≤ u − 1) ≤ α/2.
    let high = first(1, n, |u| 1.0 - b.cdf(u as u64 - 1) <= tail);
    (low, high)
}

/// The smallest `k` in `lo..=hi` with `pred(k)`, for a `pred` that is false then true.
fn first(lo: usize, hi: usize, pred: impl Fn(usize) -> bool) -> Option<usize> {
    let end = hi + 1;
    let (mut a, mut b) = (lo, end);
    while a < b {
        let mid = a + (b - a) / 2;
        if pred(mid) {
            b = mid;
        } else {
            a = mid + 1;
        }
    }
    (a < end).then_some(a)
}

/// The `q`-quantile of `sorted` (ascending) with its order-statistic confidence bounds.
pub fn estimate(sorted: &[f64], q: f64, level: f64) -> Option<Estimate> {
    let value = sebs_core::stats::percentile(sorted, q * 100.0)?;
    let (l, u) = ranks(sorted.len(), q, level);
    Some(Estimate {
        value,
        low: l.map(|r| sorted[r - 1]),
        high: u.map(|r| sorted[r - 1]),
    })
}

/// `xs` sorted ascending (NaN-free input expected; `total_cmp` orders any).
pub fn sorted(mut xs: Vec<f64>) -> Vec<f64> {
    xs.sort_by(f64::total_cmp);
    xs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_ranks_match_le_boudec() {
        // Binomial(100, 0.5): P(B ≤ 39) = 0.0176 ≤ 0.025 < P(B ≤ 40) = 0.0284, so l = 40;
        // P(B ≥ 61) = 0.0176 ≤ 0.025 < P(B ≥ 60) = 0.0284, so u = 61.
        assert_eq!(ranks(100, 0.5, 0.95), (Some(40), Some(61)));
        let xs: Vec<f64> = (1..=100).map(f64::from).collect();
        let e = estimate(&xs, 0.5, 0.95).unwrap();
        assert_eq!((e.value, e.low, e.high), (50.5, Some(40.0), Some(61.0)));
        let core = sebs_core::stats::median_interval(&xs, 0.95).unwrap();
        assert_eq!((core.low, core.high), (40.0, 61.0));
    }

    #[test]
    fn small_samples_leave_a_side_unbounded() {
        // n = 5, median: P(B ≤ 0) = 1/32 = 0.03125 > 0.025, so neither side has a rank.
        assert_eq!(ranks(5, 0.5, 0.95), (None, None));
        // n = 6: P(B ≤ 0) = 1/64 = 0.0156 ≤ 0.025 < P(B ≤ 1) = 7/64, so l = 1, u = 6.
        assert_eq!(ranks(6, 0.5, 0.95), (Some(1), Some(6)));
        // p99 of 100 samples: P(B ≥ 100) = 0.99^100 = 0.366 > 0.025, so no upper bound; the
        // lower rank is the largest meeting its defining inequality.
        let (l, u) = ranks(100, 0.99, 0.95);
        assert_eq!(u, None);
        let b = Binomial::new(0.99, 100).unwrap();
        let l = l.unwrap();
        assert!(b.cdf(l as u64 - 1) <= 0.025 && b.cdf(l as u64) > 0.025);
        assert!(ranks(0, 0.5, 0.95) == (None, None));
    }

    #[test]
    fn binary_search_ranks_equal_a_linear_scan() {
        for n in [1usize, 2, 5, 6, 7, 20, 59, 100, 367, 368, 1000] {
            for q in [0.5, 0.9, 0.95, 0.99] {
                let b = Binomial::new(q, n as u64).unwrap();
                let low = (1..=n).take_while(|&l| b.cdf(l as u64 - 1) <= 0.025).last();
                let high = (1..=n).find(|&u| 1.0 - b.cdf(u as u64 - 1) <= 0.025);
                assert_eq!(ranks(n, q, 0.95), (low, high), "n {n}, q {q}");
            }
        }
        // n = 368 is the first sample with an upper 95% bound for the p99 (0.99^368 < 0.025).
        assert_eq!(ranks(367, 0.99, 0.95).1, None);
        assert_eq!(ranks(368, 0.99, 0.95).1, Some(368));
    }

    #[test]
    fn p99_of_a_large_sample_is_bounded_on_both_sides() {
        // n = 2000, q = 0.99: mean 1980, sd √19.8 = 4.45; both ranks exist and bracket 1980.
        let (l, u) = ranks(2000, 0.99, 0.95);
        let (l, u) = (l.unwrap(), u.unwrap());
        assert!(l < 1980 && u > 1980 && u <= 2000, "{l} {u}");
        let b = Binomial::new(0.99, 2000).unwrap();
        assert!(b.cdf(l as u64 - 1) <= 0.025 && b.cdf(l as u64) > 0.025);
        assert!(1.0 - b.cdf(u as u64 - 1) <= 0.025 && 1.0 - b.cdf(u as u64 - 2) > 0.025);
    }
}

//! Rank-based statistics: the Hodges–Lehmann shift between two samples with its
//! distribution-free (Moses) confidence interval, and the Kruskal–Wallis test of equal
//! distributions across groups.

use serde::{Deserialize, Serialize};
use statrs::distribution::{ChiSquared, ContinuousCDF, Normal};

/// A shift of `after` against `before` with its confidence bounds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Shift {
    /// Median of all pairwise differences `after[j] − before[i]`.
    pub estimate: f64,
    /// Lower bound (`None`: too few values for the level).
    pub low: Option<f64>,
    /// Upper bound.
    pub high: Option<f64>,
}

/// The Hodges–Lehmann estimate of the location shift from `before` to `after`, with Moses'
/// interval: the order statistics of the `n₁n₂` pairwise differences of ranks `k` and
/// `n₁n₂ + 1 − k`, `k = ⌊n₁n₂/2 − z·√(n₁n₂(n₁+n₂+1)/12)⌋` (Mann–Whitney's normal
/// approximation). `None` when either sample is empty.
pub fn hodges_lehmann(before: &[f64], after: &[f64], level: f64) -> Option<Shift> {
    if before.is_empty() || after.is_empty() {
        return None;
    }
    let mut diffs: Vec<f64> = after
        .iter()
        .flat_map(|a| before.iter().map(move |b| a - b))
        .collect();
    diffs.sort_by(f64::total_cmp);
    let estimate = sebs_core::stats::percentile(&diffs, 50.0)?;
    let (n1, n2) = (before.len() as f64, after.len() as f64);
    let z = Normal::new(0.0, 1.0)
        .ok()?
        .inverse_cdf(1.0 - (1.0 - level) / 2.0);
    let k = (n1 * n2 / 2.0 - z * (n1 * n2 * (n1 + n2 + 1.0) / 12.0).sqrt()).floor();
    let (low, high) = if k >= 1.0 {
        let k = k as usize;
        (Some(diffs[k - 1]), Some(diffs[diffs.len() - k]))
    } else {
        (None, None)
    };
    Some(Shift {
        estimate,
        low,
        high,
    })
}

/// The Kruskal–Wallis test's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct KruskalWallis {
    /// The statistic H, corrected for ties.
    pub h: f64,
    /// Degrees of freedom: groups with values − 1.
    pub df: usize,
    /// P-value from the χ² approximation with `df` degrees of freedom.
    pub p_value: f64,
}

/// Mid-ranks (1-based, ties share their mean rank) of `xs`, and `Σ (t³ − t)` over tie groups.
fn mid_ranks(xs: &[f64]) -> (Vec<f64>, f64) {
    let mut order: Vec<usize> = (0..xs.len()).collect();
    order.sort_by(|&a, &b| xs[a].total_cmp(&xs[b]));
    let mut ranks = vec![0.0; xs.len()];
    let mut ties = 0.0;
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && xs[order[j + 1]] == xs[order[i]] {
            j += 1;
        }
        let rank = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            ranks[k] = rank;
        }
        let t = (j - i + 1) as f64;
        ties += t * t * t - t;
        i = j + 1;
    }
    (ranks, ties)
}

/// Kruskal–Wallis H over `groups` (empty groups are ignored). `None` with fewer than two
/// non-empty groups, no more values than groups, or all values equal.
pub fn kruskal_wallis(groups: &[Vec<f64>]) -> Option<KruskalWallis> {
    let groups: Vec<&Vec<f64>> = groups.iter().filter(|g| !g.is_empty()).collect();
    let all: Vec<f64> = groups.iter().flat_map(|g| g.iter().copied()).collect();
    let n = all.len() as f64;
    if groups.len() < 2 || all.len() <= groups.len() {
        return None;
    }
    let (ranks, ties) = mid_ranks(&all);
    let correction = 1.0 - ties / (n * n * n - n);
    if correction <= 0.0 {
        return None;
    }
    let mut offset = 0;
    let mut sum = 0.0;
    for g in &groups {
        let r: f64 = ranks[offset..offset + g.len()].iter().sum();
        sum += r * r / g.len() as f64;
        offset += g.len();
    }
    let h = (12.0 / (n * (n + 1.0)) * sum - 3.0 * (n + 1.0)) / correction;
    let df = groups.len() - 1;
    let p_value = 1.0 - ChiSquared::new(df as f64).ok()?.cdf(h.max(0.0));
    Some(KruskalWallis { h, df, p_value })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hodges_lehmann_by_hand() {
        // Differences of [10, 11, 12] − [1, 2, 3]: 7, 8, 8, 9, 9, 9, 10, 10, 11; median 9.
        let s = hodges_lehmann(&[1.0, 2.0, 3.0], &[10.0, 11.0, 12.0], 0.95).unwrap();
        assert_eq!(s.estimate, 9.0);
        // k = ⌊4.5 − 1.96·√(9·7/12)⌋ = ⌊0.009⌋ = 0: too few for a 95% interval.
        assert_eq!((s.low, s.high), (None, None));
        // n₁ = n₂ = 10: k = ⌊50 − 1.959964·√(100·21/12)⌋ = ⌊24.07⌋ = 24; differences of
        // (i + 5) − j for i, j in 1..=10 are 5 + (i − j): bounds are the 24th and 77th.
        let before: Vec<f64> = (1..=10).map(f64::from).collect();
        let after: Vec<f64> = (1..=10).map(|i| f64::from(i) + 5.0).collect();
        let s = hodges_lehmann(&before, &after, 0.95).unwrap();
        assert_eq!(s.estimate, 5.0);
        // i − j counts: −9:1, −8:2, −7:3, −6:4, −5:5, −4:6 (cumulative 21), −3:7 (28):
        // the 24th is −3 → 2; symmetric, the 77th is +3 → 8.
        assert_eq!((s.low, s.high), (Some(2.0), Some(8.0)));
        assert!(hodges_lehmann(&[], &[1.0], 0.95).is_none());
    }

    #[test]
    fn kruskal_wallis_by_hand() {
        // Ranks: group a = 1, 2, 3; group b = 4, 5, 6. H = 12/(6·7)·(36/3 + 225/3) − 21
        // = 0.285714·87 − 21 = 3.857143; χ²(1) upper tail of 3.857143 is 0.049535.
        let kw = kruskal_wallis(&[vec![1.0, 2.0, 3.0], vec![4.0, 5.0, 6.0]]).unwrap();
        assert!((kw.h - 27.0 / 7.0).abs() < 1e-12, "{kw:?}");
        assert_eq!(kw.df, 1);
        assert!((kw.p_value - 0.049535).abs() < 1e-5, "{kw:?}");
        // Ties: [1, 1] vs [1, 2]: mid-ranks 2, 2 | 2, 4; sum R²/n = 8 + 18 = 26;
        // H = 12/20·26 − 15 = 0.6; ties Σ(t³ − t) = 24, correction 1 − 24/60 = 0.6: H = 1.
        let kw = kruskal_wallis(&[vec![1.0, 1.0], vec![1.0, 2.0]]).unwrap();
        assert!((kw.h - 1.0).abs() < 1e-12, "{kw:?}");
        assert!(kruskal_wallis(&[vec![1.0], vec![]]).is_none());
        assert!(kruskal_wallis(&[vec![1.0, 1.0], vec![1.0]]).is_none());
    }
}

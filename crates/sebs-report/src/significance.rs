//! Comparing two samples: the ratio of their medians with a percentile-bootstrap confidence
//! interval, and the Mann–Whitney U test (exact for small samples without ties, the normal
//! approximation with tie and continuity corrections otherwise).
//!
//! Pure functions over `&[f64]`; the bootstrap draws from a seeded SplitMix64 generator, so a
//! comparison is reproducible.

use statrs::distribution::{ContinuousCDF, Normal};

/// SplitMix64 (Steele, Lea and Flood, 2014): a small, fast, seedable generator; statistically
/// good enough for resampling indices.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator started from `seed`.
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform index in `0..n` (`n > 0`), by Lemire's multiply-shift (bias below 2⁻³²
    /// for the sample sizes used here).
    pub fn index(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }
}

/// The median of `xs` (linear interpolation, as `sebs_core::stats::median`), reordering `xs`;
/// `None` when empty.
pub fn median_in_place(xs: &mut [f64]) -> Option<f64> {
    let n = xs.len();
    if n == 0 {
        return None;
    }
    let (left, mid, _) = xs.select_nth_unstable_by(n / 2, f64::total_cmp);
    let upper = *mid;
    if n % 2 == 1 {
        return Some(upper);
    }
    let lower = left.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    Some((lower + upper) / 2.0)
}

/// A confidence interval of a ratio.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct RatioInterval {
    /// The point estimate: median of B / median of A.
    pub ratio: f64,
    /// Lower bound.
    pub low: f64,
    /// Upper bound.
    pub high: f64,
    /// Confidence level, e.g. 0.95.
    pub level: f64,
}

/// The ratio `median(b) / median(a)` with a percentile-bootstrap confidence interval at `level`:
/// `resamples` times, both samples are resampled with replacement (independently) and the ratio
/// of the resamples' medians taken; the bounds are the `(1 − level)/2` and `(1 + level)/2`
/// quantiles of those ratios. `None` when a sample is empty or a median is not positive.
pub fn bootstrap_median_ratio(
    a: &[f64],
    b: &[f64],
    resamples: usize,
    level: f64,
    seed: u64,
) -> Option<RatioInterval> {
    let ratio = median_in_place(&mut b.to_vec())? / median_in_place(&mut a.to_vec())?;
    if !ratio.is_finite() || ratio <= 0.0 {
        return None;
    }
    let mut rng = SplitMix64::new(seed);
    let (mut buf_a, mut buf_b) = (vec![0.0; a.len()], vec![0.0; b.len()]);
    let mut ratios = Vec::with_capacity(resamples.max(1));
    for _ in 0..resamples.max(1) {
        for x in buf_a.iter_mut() {
            *x = a[rng.index(a.len())];
        }
        for x in buf_b.iter_mut() {
            *x = b[rng.index(b.len())];
        }
        let (ma, mb) = (median_in_place(&mut buf_a)?, median_in_place(&mut buf_b)?);
        ratios.push(if ma > 0.0 { mb / ma } else { f64::INFINITY });
    }
    ratios.sort_by(f64::total_cmp);
    let quantile = |q: f64| {
        let rank = q * (ratios.len() - 1) as f64;
        let (lo, hi) = (rank.floor() as usize, rank.ceil() as usize);
        ratios[lo] + (ratios[hi] - ratios[lo]) * (rank - lo as f64)
    };
    Some(RatioInterval {
        ratio,
        low: quantile((1.0 - level) / 2.0),
        high: quantile((1.0 + level) / 2.0),
        level,
    })
}

/// The outcome of a Mann–Whitney U test of samples A and B.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct MannWhitney {
    /// U of A: the pairs (a, b) with a > b, ties counting one half.
    pub u_a: f64,
    /// U of B: `n_a · n_b − u_a`.
    pub u_b: f64,
    /// The two-sided p-value of "both samples come from one distribution".
    pub p_value: f64,
    /// Whether the p-value is exact (small samples without ties) or the normal approximation.
    pub exact: bool,
}

/// Largest `n_a · n_b` for which the exact distribution of U is used (when there are no ties).
const EXACT_LIMIT: usize = 400;

/// The Mann–Whitney U test (Wilcoxon rank-sum test) of `a` against `b`, two-sided; `None` when a
/// sample is empty. Ranks of tied values are averaged. Without ties and with `n_a · n_b ≤ 400`
/// the p-value is exact; otherwise it is the normal approximation with the tie correction of
/// the variance and a continuity correction of ½.
pub fn mann_whitney(a: &[f64], b: &[f64]) -> Option<MannWhitney> {
    let (na, nb) = (a.len(), b.len());
    if na == 0 || nb == 0 {
        return None;
    }
    let mut all: Vec<(f64, bool)> = a
        .iter()
        .map(|&x| (x, true))
        .chain(b.iter().map(|&x| (x, false)))
        .collect();
    all.sort_by(|x, y| x.0.total_cmp(&y.0));
    let n = all.len();
    // Sum of A's ranks (1-based, ties averaged) and Σ(t³ − t) over groups of ties.
    let (mut rank_sum_a, mut ties) = (0.0, 0.0);
    let mut i = 0;
    while i < n {
        let mut j = i + 1;
        while j < n && all[j].0 == all[i].0 {
            j += 1;
        }
        let t = (j - i) as f64;
        let rank = (i + j + 1) as f64 / 2.0;
        rank_sum_a += rank * all[i..j].iter().filter(|(_, in_a)| *in_a).count() as f64;
        ties += t * t * t - t;
        i = j;
    }
    let (fa, fb) = (na as f64, nb as f64);
    let u_a = rank_sum_a - fa * (fa + 1.0) / 2.0;
    let u_b = fa * fb - u_a;
    let (p_value, exact) = if ties == 0.0 && na * nb <= EXACT_LIMIT {
        (exact_p_value(na, nb, u_a.min(u_b) as usize), true)
    } else {
        let nf = n as f64;
        let variance = fa * fb / 12.0 * ((nf + 1.0) - ties / (nf * (nf - 1.0)));
        let p = if variance > 0.0 {
            let z = ((u_a - fa * fb / 2.0).abs() - 0.5).max(0.0) / variance.sqrt();
            let normal = Normal::new(0.0, 1.0).expect("the standard normal distribution");
            2.0 * (1.0 - normal.cdf(z))
        } else {
            1.0
        };
        (p.min(1.0), false)
    };
    Some(MannWhitney {
        u_a,
        u_b,
        p_value,
        exact,
    })
}

/// `counts[u]`: in how many of the `C(m + n, m)` orderings of `m` values of A and `n` values
/// of B (all distinct) U equals `u`. The recurrence puts the largest value last: it is from A
/// (beating all `n` B values) or from B (beating none).
fn u_distribution(m: usize, n: usize) -> Vec<u64> {
    // table[j][i] is the distribution for i values of A and j values of B.
    let mut table: Vec<Vec<Vec<u64>>> = vec![vec![Vec::new(); m + 1]; n + 1];
    for row in table.iter_mut() {
        row[0] = vec![1];
    }
    for cell in table[0].iter_mut().skip(1) {
        *cell = vec![1];
    }
    for j in 1..=n {
        for i in 1..=m {
            let mut counts = vec![0u64; i * j + 1];
            for (u, c) in table[j][i - 1].iter().enumerate() {
                counts[u + j] += c;
            }
            for (u, c) in table[j - 1][i].iter().enumerate() {
                counts[u] += c;
            }
            table[j][i] = counts;
        }
    }
    std::mem::take(&mut table[n][m])
}

/// The exact two-sided p-value of the smaller U being `u` or less: `2 · P(U ≤ u)`, at most 1.
fn exact_p_value(m: usize, n: usize, u: usize) -> f64 {
    let counts = u_distribution(m, n);
    let total: u64 = counts.iter().sum();
    let tail: u64 = counts.iter().take(u + 1).sum();
    (2.0 * tail as f64 / total as f64).min(1.0)
}

#[cfg(test)]
mod tests;

//! Change points of a sequence by PELT (Killick, Fearnhead and Eckley 2012, "Optimal detection
//! of changepoints with a linear computational cost"): the exact minimiser of
//! `Σ cost(segment) + β · (number of change points)` over all segmentations whose segments have
//! at least `min_segment` values, found with pruning.
//!
//! The cost of a segment is the Gaussian change-in-mean cost with known variance:
//! `Σ (x − mean)² / σ²`, i.e. twice the negative log-likelihood up to a constant, so `β` is on
//! the scale of information criteria (`2 ln n` is BIC for a change in mean).

/// Prefix sums for O(1) segment costs.
struct Sums {
    s1: Vec<f64>,
    s2: Vec<f64>,
}

impl Sums {
    fn new(xs: &[f64]) -> Sums {
        let mut s1 = vec![0.0; xs.len() + 1];
        let mut s2 = vec![0.0; xs.len() + 1];
        for (i, x) in xs.iter().enumerate() {
            s1[i + 1] = s1[i] + x;
            s2[i + 1] = s2[i] + x * x;
        }
        Sums { s1, s2 }
    }

    /// Sum of squared deviations from the mean of `xs[a..b]`.
    fn cost(&self, a: usize, b: usize) -> f64 {
        let n = (b - a) as f64;
        let s = self.s1[b] - self.s1[a];
        ((self.s2[b] - self.s2[a]) - s * s / n).max(0.0)
    }
}

/// The change points of `xs`: the positions where a new segment starts (each in
/// `min_segment..=xs.len() − min_segment`), ascending. `sigma` is the noise standard deviation
/// (> 0), `penalty` the cost of one change point, `min_segment` ≥ 1.
pub fn pelt(xs: &[f64], sigma: f64, penalty: f64, min_segment: usize) -> Vec<usize> {
    let n = xs.len();
    let m = min_segment.max(1);
    if n < 2 * m {
        return Vec::new();
    }
    let sums = Sums::new(xs);
    let scale = 1.0 / (sigma * sigma);
    let cost = |a: usize, b: usize| sums.cost(a, b) * scale;
    // best[t]: the least penalised cost of xs[..t]; last[t]: where its final segment starts.
    let mut best = vec![f64::INFINITY; n + 1];
    let mut last = vec![0usize; n + 1];
    best[0] = -penalty;
    let mut candidates: Vec<usize> = vec![0];
    for t in m..=n {
        let mut chosen = (f64::INFINITY, 0);
        for &s in candidates.iter().filter(|&&s| s + m <= t) {
            let v = best[s] + cost(s, t) + penalty;
            if v < chosen.0 {
                chosen = (v, s);
            }
        }
        (best[t], last[t]) = chosen;
        // Pruning, lagged for the minimum segment: a start s whose cost to u = t + 1 − m
        // already exceeds best[u] loses, at every later end T ≥ u + m, to the path through u
        // (the cost is superadditive: C(s, T) ≥ C(s, u) + C(u, T), so K = 0).
        let u = t + 1 - m;
        if u >= m {
            let f = best[u];
            candidates.retain(|&s| s + m > u || best[s] + cost(s, u) <= f);
        }
        if t + m <= n {
            candidates.push(t);
        }
    }
    let mut points = Vec::new();
    let mut t = n;
    while t > 0 {
        let s = last[t];
        if s > 0 {
            points.push(s);
        }
        t = s;
    }
    points.reverse();
    points
}

/// The noise standard deviation of a sequence with level shifts: the median absolute
/// absolute first difference, scaled to a Gaussian σ (`median |Δx| / 0.6745 / √2`). Steps
/// affect few differences, so they barely move it. `floor` keeps it positive for constant
/// sequences.
pub fn noise_sigma(xs: &[f64], floor: f64) -> f64 {
    if xs.len() < 3 {
        return floor;
    }
    let abs: Vec<f64> = xs.windows(2).map(|w| (w[1] - w[0]).abs()).collect();
    let mad = sebs_core::stats::median(&abs).unwrap_or(0.0);
    (mad / 0.674_489_750_196_081_7 / std::f64::consts::SQRT_2).max(floor)
}

#[cfg(test)]
mod tests;

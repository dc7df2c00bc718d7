//! Coverage of the per-slot bands on seeded samples with known quantiles: the order-statistic
//! intervals must cover the true median and p95 at least about as often as their level says.

mod common;

use common::Rng;
use sebs_stability::quantile::{estimate, sorted};

/// Log-normal samples around 50 ms (log σ 0.2); quantile q of it is 50 ms · exp(0.2 z_q).
fn coverage(n: usize, q: f64, z: f64, trials: u64) -> f64 {
    let truth = 50_000.0 * (0.2 * z).exp();
    let mut rng = Rng::new(42 + n as u64);
    let covered = (0..trials)
        .filter(|_| {
            let xs = sorted(
                (0..n)
                    .map(|_| 50_000.0 * (0.2 * rng.normal()).exp())
                    .collect(),
            );
            let e = estimate(&xs, q, 0.95).unwrap();
            e.low.is_some_and(|l| l <= truth) && e.high.is_some_and(|h| truth <= h)
        })
        .count();
    covered as f64 / trials as f64
}

#[test]
fn median_and_p95_bands_cover_the_truth_at_their_level() {
    // Order-statistic intervals are conservative: coverage at least the level (less the
    // sampling error of 2000 trials, ±1%), and not much more.
    let median = coverage(30, 0.5, 0.0, 2000);
    let p95 = coverage(200, 0.95, 1.644_853_626_951_472_2, 2000);
    eprintln!("coverage at 95%: median (n = 30) {median:.3}, p95 (n = 200) {p95:.3}");
    assert!((0.94..=0.99).contains(&median), "median coverage {median}");
    assert!((0.94..=0.99).contains(&p95), "p95 coverage {p95}");
}

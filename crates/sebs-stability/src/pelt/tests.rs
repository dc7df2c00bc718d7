use super::*;

/// Exhaustive optimal partitioning (every segmentation) for checking PELT on short sequences.
fn brute_force(xs: &[f64], sigma: f64, penalty: f64, m: usize) -> (f64, Vec<usize>) {
    let sums = Sums::new(xs);
    let n = xs.len();
    let mut best = (f64::INFINITY, Vec::new());
    // Every subset of interior positions as change points.
    for mask in 0u32..(1 << (n - 1)) {
        let mut cuts: Vec<usize> = (1..n).filter(|i| mask & (1 << (i - 1)) != 0).collect();
        let mut bounds = vec![0];
        bounds.append(&mut cuts.clone());
        bounds.push(n);
        if bounds.windows(2).any(|w| w[1] - w[0] < m) {
            continue;
        }
        let cost: f64 = bounds
            .windows(2)
            .map(|w| sums.cost(w[0], w[1]) / (sigma * sigma))
            .sum::<f64>()
            + penalty * (bounds.len() - 2) as f64;
        if cost < best.0 - 1e-12 {
            cuts.sort();
            best = (cost, cuts);
        }
    }
    best
}

#[test]
fn a_clean_step_is_found_where_it_is() {
    let xs = [0.0, 0.0, 0.0, 0.0, 10.0, 10.0, 10.0, 10.0];
    assert_eq!(pelt(&xs, 1.0, 1.0, 2), vec![4]);
    // Two steps.
    let ys = [1.0, 1.0, 1.0, 5.0, 5.0, 5.0, 2.0, 2.0, 2.0];
    assert_eq!(pelt(&ys, 1.0, 1.0, 3), vec![3, 6]);
    // The minimum segment length forbids a cut at 7 (2 values after it): the best allowed
    // cuts at 6 (cost 6 + 2 penalties = 8, against 12.86 + 1 for the cut at 3 alone).
    let zs = [1.0, 1.0, 1.0, 5.0, 5.0, 5.0, 5.0, 2.0, 2.0];
    assert_eq!(pelt(&zs, 1.0, 1.0, 3), vec![3, 6]);
    assert_eq!(pelt(&zs, 1.0, 1.0, 2), vec![3, 7]);
}

#[test]
fn the_penalty_decides_small_shifts() {
    // A shift of 1 between two halves of 4: cost saved = 8·(0.5)² = 2 (σ = 1).
    let xs = [0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0];
    assert_eq!(pelt(&xs, 1.0, 1.9, 2), vec![4]);
    assert!(pelt(&xs, 1.0, 2.1, 2).is_empty());
    // Twice the noise σ halves the shift in σ units: the saving is 0.5.
    assert!(pelt(&xs, 2.0, 0.6, 2).is_empty());
    assert_eq!(pelt(&xs, 2.0, 0.4, 2), vec![4]);
}

#[test]
fn too_short_sequences_have_no_change_points() {
    assert!(pelt(&[], 1.0, 1.0, 2).is_empty());
    assert!(pelt(&[0.0, 9.0, 9.0], 1.0, 0.0, 2).is_empty());
}

#[test]
fn pelt_equals_exhaustive_search() {
    // Deterministic pseudo-random sequences with steps (a linear congruential generator).
    let mut state = 12345u64;
    let mut next = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 33) as f64) / (1u64 << 31) as f64
    };
    for case in 0..60 {
        let n = 6 + case % 9;
        let xs: Vec<f64> = (0..n)
            .map(|i| next() + if i >= n / 2 { (case % 4) as f64 } else { 0.0 })
            .collect();
        let (penalty, m) = (0.5 + (case % 5) as f64, 1 + case % 3);
        let (cost, expected) = brute_force(&xs, 0.4, penalty, m);
        let found = pelt(&xs, 0.4, penalty, m);
        assert_eq!(found, expected, "case {case}: {xs:?} (optimum {cost})");
    }
}

#[test]
fn noise_sigma_ignores_a_step() {
    // Alternating ±1 around a level: |differences| 2 (and 52 once) → σ = 2 / 0.6745 / √2.
    let xs: Vec<f64> = (0..20)
        .map(|i| if i % 2 == 0 { 1.0 } else { -1.0 } + if i >= 10 { 50.0 } else { 0.0 })
        .collect();
    let s = noise_sigma(&xs, 1e-6);
    assert!(
        (s - 2.0 / 0.674_489_750_196_081_7 / 2f64.sqrt()).abs() < 1e-9,
        "{s}"
    );
    assert_eq!(noise_sigma(&[3.0; 10], 0.01), 0.01);
}

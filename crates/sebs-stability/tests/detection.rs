//! Change-point detection on seeded synthetic series: a known step is found within one slot,
//! stationary series give (almost) none. The false-positive counts asserted here are the ones
//! docs/stability-analysis.md reports.

mod common;

use common::{Rng, Shape, series};
use sebs_stability::{Params, Penalty, analyse};

#[test]
fn a_known_step_is_found_within_one_slot() {
    let mut placement = Rng::new(7);
    let (mut spurious, mut covered) = (0, 0);
    for seed in 0..100u64 {
        let at = 10 + (placement.next_u64() % 148) as usize;
        // 30 invocations per slot with log σ 0.2: slot medians have σ ≈ 0.046, so a 25% step
        // (ln 1.25 = 0.223) is about 4.9 σ.
        let shape = Shape {
            per_slot: 30,
            step: Some((at, 1.25)),
            ..Shape::default()
        };
        let a = analyse(&series(seed, shape), &Params::default()).unwrap();
        let near: Vec<_> = a
            .change_points
            .iter()
            .filter(|cp| cp.slot_index.abs_diff(at as u64) <= 1)
            .collect();
        assert_eq!(
            near.len(),
            1,
            "seed {seed}, step at {at}: {:?}",
            a.change_points
        );
        spurious += a.change_points.len() - 1;
        let cp = near[0];
        // The estimate is close to 25% and its interval is bounded on both sides around it.
        assert!(
            (cp.relative_shift - 0.25).abs() < 0.06,
            "seed {seed}: {cp:?}"
        );
        let (low, high) = (cp.shift_low.unwrap(), cp.shift_high.unwrap());
        covered += usize::from(low <= 0.25 && 0.25 <= high);
        assert!(
            low < cp.relative_shift && cp.relative_shift < high,
            "seed {seed}: {cp:?}"
        );
        assert!(
            cp.after_median_us > cp.before_median_us * 1.15,
            "seed {seed}: {cp:?}"
        );
    }
    // The shift intervals (95%) cover the true 25% at about their level; observed: 97 of 100.
    eprintln!("shift intervals covering the true step: {covered} of 100; {spurious} spurious");
    assert!(covered >= 85, "{covered} of 100");
    // Elsewhere in these series the stationary false-positive rate applies (about 1% per
    // series with MBIC); observed: 3 spurious change points in 100 series.
    assert!(
        spurious <= 3,
        "{spurious} spurious change points in 100 series"
    );
}

fn false_positives(penalty: Penalty, seeds: u64) -> usize {
    (0..seeds)
        .filter(|&seed| {
            let params = Params {
                penalty,
                ..Params::default()
            };
            !analyse(&series(1000 + seed, Shape::default()), &params)
                .unwrap()
                .change_points
                .is_empty()
        })
        .count()
}

#[test]
fn stationary_series_rarely_yield_change_points() {
    let mbic = false_positives(Penalty::Mbic, 200);
    let bic = false_positives(Penalty::Bic, 200);
    let low = false_positives(Penalty::Value(4.0), 200);
    eprintln!("false positives in 200 stationary series: MBIC {mbic}, BIC {bic}, 4.0 {low}");
    // Observed: MBIC 2 (1%), BIC 18 (9%), 4.0 186 (93%) of 200.
    assert!(mbic <= 2, "MBIC: {mbic} of 200");
    assert!(bic <= 20, "BIC: {bic} of 200");
    assert!(
        low > 150,
        "a penalty of 4 should find spurious changes in most: {low}"
    );
}

/// Steps on a daily cycle: (series with the step found within one slot, spurious change
/// points in all), over 50 seeds.
fn cycle_and_step(daily_adjustment: bool) -> (usize, usize) {
    let mut placement = Rng::new(11);
    let (mut found, mut spurious) = (0, 0);
    for seed in 0..50u64 {
        let at = 30 + (placement.next_u64() % 108) as usize;
        let shape = Shape {
            per_slot: 30,
            step: Some((at, 1.25)),
            daily: 0.05,
            ..Shape::default()
        };
        let params = Params {
            daily_adjustment,
            ..Params::default()
        };
        let a = analyse(&series(500 + seed, shape), &params).unwrap();
        let near = a
            .change_points
            .iter()
            .filter(|cp| cp.slot_index.abs_diff(at as u64) <= 1)
            .count();
        found += usize::from(near == 1);
        spurious += a.change_points.len() - near;
    }
    (found, spurious)
}

#[test]
fn a_daily_cycle_is_not_cut_into_change_points() {
    // ±5% over the day (about 1 noise σ of the slot medians) and a 25% step.
    let (found, spurious) = cycle_and_step(true);
    let (found_raw, spurious_raw) = cycle_and_step(false);
    eprintln!(
        "daily cycle + step, 50 series: adjusted {found} found, {spurious} spurious; \
         unadjusted {found_raw} found, {spurious_raw} spurious"
    );
    assert_eq!(found, 50);
    assert!(spurious <= 3, "{spurious}");
    // Without the adjustment the cycle becomes level shifts (observed: 47 in 50 series, and
    // one step missed; with it: all found, 1 spurious).
    assert!(spurious_raw > 30, "{spurious_raw}");
}

use super::*;

fn close(a: f64, b: f64, tolerance: f64) -> bool {
    (a - b).abs() <= tolerance
}

#[test]
fn the_generator_is_seeded_and_indices_stay_in_range() {
    // SplitMix64's first outputs from seed 0 (the reference implementation's values).
    let mut rng = SplitMix64::new(0);
    assert_eq!(rng.next_u64(), 0xE220_A839_7B1D_CDAF);
    assert_eq!(rng.next_u64(), 0x6E78_9E6A_A1B9_65F4);
    let mut rng = SplitMix64::new(7);
    let mut seen = [0usize; 5];
    for _ in 0..5000 {
        seen[rng.index(5)] += 1;
    }
    // Each index about 1000 times (a binomial's standard deviation is 28).
    assert!(seen.iter().all(|&c| (850..1150).contains(&c)), "{seen:?}");
}

#[test]
fn medians_in_place_interpolate_like_the_core_median() {
    assert_eq!(median_in_place(&mut []), None);
    assert_eq!(median_in_place(&mut [3.0, 1.0, 2.0]), Some(2.0));
    assert_eq!(
        median_in_place(&mut [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]),
        Some(4.5)
    );
    assert_eq!(median_in_place(&mut [10.0, 1.0]), Some(5.5));
}

#[test]
fn bootstrap_of_constant_samples_is_exact() {
    let a = vec![10.0; 50];
    let b = vec![11.0; 40];
    let ci = bootstrap_median_ratio(&a, &b, 200, 0.95, 1).unwrap();
    assert!(close(ci.ratio, 1.1, 1e-12), "{ci:?}");
    assert!(
        close(ci.low, 1.1, 1e-12) && close(ci.high, 1.1, 1e-12),
        "{ci:?}"
    );
    assert!(bootstrap_median_ratio(&[], &b, 10, 0.95, 1).is_none());
    assert!(bootstrap_median_ratio(&[0.0], &b, 10, 0.95, 1).is_none());
}

#[test]
fn bootstrap_matches_the_hand_computed_resampling_distribution() {
    // A is constant 1; B holds six 1s and five 3s. A resample of B has median 1 when at least
    // 6 of its 11 draws are 1s: P = Σ_{k=6..11} C(11,k)(6/11)^k(5/11)^(11−k) = 0.621369;
    // otherwise its median is 3. So the ratios are 1 (62%) and 3 (38%): the 2.5% quantile is
    // 1 and the 97.5% quantile 3.
    let a = vec![1.0; 9];
    let mut b = vec![1.0; 6];
    b.extend([3.0; 5]);
    let ci = bootstrap_median_ratio(&a, &b, 4000, 0.95, 42).unwrap();
    assert_eq!((ci.ratio, ci.low, ci.high), (1.0, 1.0, 3.0));
    // At the 50% level the bounds are the 25% and 75% quantiles: 1 and 3 again, and at 20%
    // (quantiles 40% and 60%) both are 1, since 62% of the ratios are 1.
    let narrow = bootstrap_median_ratio(&a, &b, 4000, 0.2, 42).unwrap();
    assert_eq!((narrow.low, narrow.high), (1.0, 1.0));
    // The same seed gives the same interval; the count of 1s follows the binomial sum above.
    let again = bootstrap_median_ratio(&a, &b, 4000, 0.2, 42).unwrap();
    assert_eq!(narrow, again);
    let mut rng = SplitMix64::new(9);
    let ones = (0..4000)
        .filter(|_| {
            let mut draw: Vec<f64> = (0..11).map(|_| b[rng.index(11)]).collect();
            median_in_place(&mut draw) == Some(1.0)
        })
        .count();
    // 4000 · 0.621369 = 2485, standard deviation 31.
    assert!((2390..2580).contains(&ones), "{ones}");
}

#[test]
fn bootstrap_of_a_ten_percent_shift_brackets_it() {
    // Deterministic spread: a lattice of values from 90 to 110, and the same times 1.1.
    let a: Vec<f64> = (0..400)
        .map(|i| 90.0 + f64::from(i * 37 % 400) / 20.0)
        .collect();
    let b: Vec<f64> = a.iter().map(|x| x * 1.1).collect();
    let ci = bootstrap_median_ratio(&a, &b, 1000, 0.95, 3).unwrap();
    assert!(close(ci.ratio, 1.1, 1e-12), "{ci:?}");
    assert!(ci.low < 1.1 && ci.high > 1.1, "{ci:?}");
    assert!(ci.low > 1.05 && ci.high < 1.15, "{ci:?}");
}

#[test]
fn u_statistic_on_hand_computed_samples() {
    // Every A value is below every B value: U_A = 0, U_B = 9.
    let t = mann_whitney(&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0]).unwrap();
    assert_eq!((t.u_a, t.u_b), (0.0, 9.0));
    // Exact: one ordering of C(6,3) = 20 has U = 0, so p = 2/20.
    assert!(t.exact);
    assert!(close(t.p_value, 0.1, 1e-12), "{t:?}");
    // A = {1, 5}, B = {2, 3, 4}: pairs with a > b are (5,2), (5,3), (5,4): U_A = 3.
    let t = mann_whitney(&[1.0, 5.0], &[2.0, 3.0, 4.0]).unwrap();
    assert_eq!((t.u_a, t.u_b), (3.0, 3.0));
    assert_eq!(t.p_value, 1.0);
    assert!(mann_whitney(&[], &[1.0]).is_none());
}

#[test]
fn the_exact_distribution_has_the_known_counts() {
    // m = n = 2: orderings AABB, ABAB, ABBA, BAAB, BABA, BBAA have U_A = 0, 1, 2, 2, 3, 4.
    assert_eq!(u_distribution(2, 2), [1, 1, 2, 1, 1]);
    let counts = u_distribution(10, 10);
    assert_eq!(counts.len(), 101);
    assert_eq!(counts.iter().sum::<u64>(), 184_756); // C(20, 10)
    // Symmetric around m·n/2.
    assert!(counts.iter().eq(counts.iter().rev()));
}

#[test]
fn exact_p_values_agree_with_the_critical_value_table() {
    // The table of critical values of U (two-sided, α = 0.05): 2 for n1 = n2 = 5, 23 for
    // n1 = n2 = 10, 127 for n1 = n2 = 20. The critical value is the largest U whose p-value is
    // at most α.
    assert!(exact_p_value(20, 20, 127) <= 0.05);
    assert!(exact_p_value(20, 20, 128) > 0.05);
    assert!(exact_p_value(5, 5, 2) <= 0.05);
    assert!(exact_p_value(5, 5, 3) > 0.05);
    assert!(exact_p_value(10, 10, 23) <= 0.05);
    assert!(exact_p_value(10, 10, 24) > 0.05);
    // U = 23 at n1 = n2 = 10 through the test itself: A has 23 pairs above B.
    let b: Vec<f64> = (0..10).map(|i| f64::from(i) * 10.0).collect();
    // Each a beats the B values below it: 0+0+0+0+0+1+3+5+6+8 = 23.
    let a: Vec<f64> = [0, 0, 0, 0, 0, 1, 3, 5, 6, 8]
        .iter()
        .enumerate()
        .map(|(i, &k)| f64::from(k) * 10.0 - 5.0 + i as f64 * 0.01)
        .collect();
    let t = mann_whitney(&a, &b).unwrap();
    assert_eq!(t.u_a, 23.0);
    assert!(t.exact && t.p_value <= 0.05, "{t:?}");
    // 21 · 20 pairs: beyond the exact limit, the normal approximation.
    let big: Vec<f64> = (0..21).map(f64::from).collect();
    let shifted: Vec<f64> = big[..20].iter().map(|x| x + 0.5).collect();
    assert!(!mann_whitney(&big, &shifted).unwrap().exact);
}

#[test]
fn normal_approximation_with_ties_matches_hand_computation() {
    // Evens 2..60 against odds 21..79 (no ties, 900 pairs): U_A = 210; z = (|210 − 450| − ½)
    // / √(900·61/12) = 3.5393, p = erfc(z/√2) = 0.00039881.
    let a: Vec<f64> = (1..=30).map(|i| f64::from(2 * i)).collect();
    let b: Vec<f64> = (10..40).map(|i| f64::from(2 * i + 1)).collect();
    let t = mann_whitney(&a, &b).unwrap();
    assert!(!t.exact);
    assert_eq!(t.u_a, 210.0);
    assert!(close(t.p_value, 0.000_398_810_19, 1e-9), "{t:?}");
    // Ties: A = {1, 2, 2, 3}, B = {2, 3, 3, 4}. U_A = 0 (for 1) + ½ + ½ (each 2 ties B's 2)
    // + 1 + ½ + ½ (3 beats 2, ties both 3s) = 3; the tie groups (2: three, 3: three) give
    // Σ(t³ − t) = 48, variance = 16/12 · (9 − 48/56) = 10.857, z = (5 − ½)/3.2950 = 1.3657,
    // p = 0.17203.
    let t = mann_whitney(&[1.0, 2.0, 2.0, 3.0], &[2.0, 3.0, 3.0, 4.0]).unwrap();
    assert_eq!(t.u_a, 3.0);
    assert!(!t.exact);
    assert!(close(t.p_value, 0.172_033_708_9, 1e-9), "{t:?}");
    // Identical constant samples: no evidence of a difference.
    let t = mann_whitney(&[5.0; 30], &[5.0; 30]).unwrap();
    assert_eq!(t.p_value, 1.0);
}

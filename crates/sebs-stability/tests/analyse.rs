//! `analyse` on hand-made series with exact expectations, and loading series files.

use chrono::{Duration, TimeZone, Utc};
use sebs_stability::outliers::Cause;
use sebs_stability::{
    Observation, Params, Penalty, Series, SeriesKey, Slot, analyse, analyse_json,
};

fn obs(slot: u64, j: usize, us: u64) -> Observation {
    let origin = Utc.with_ymd_and_hms(2026, 11, 30, 0, 0, 0).unwrap();
    Observation {
        request_id: format!("s{slot}-r{j}"),
        at: origin + Duration::hours(slot as i64) + Duration::seconds(j as i64),
        client_us: us,
        function_us: Some(us / 2),
        provider_us: None,
        cold: false,
        instance: None,
        payload_bytes: None,
        success: true,
        error: None,
    }
}

fn slot(index: u64, invocations: Vec<Observation>) -> Slot {
    Slot {
        index,
        start: Utc.with_ymd_and_hms(2026, 11, 30, 0, 0, 0).unwrap() + Duration::hours(index as i64),
        invocations,
    }
}

fn key(name: &str) -> SeriesKey {
    SeriesKey {
        benchmark: name.into(),
        platform: "local".into(),
        configuration: "python-3.11".into(),
    }
}

#[test]
fn slot_statistics_count_warm_successes_with_order_statistic_bands() {
    // Seven warm times 10..70 ms, one cold 500 ms, one failure.
    let mut inv: Vec<Observation> = (1..=7).map(|j| obs(0, j, j as u64 * 10_000)).collect();
    let mut cold = obs(0, 8, 500_000);
    cold.cold = true;
    let mut failed = obs(0, 9, 1_000);
    failed.success = false;
    failed.error = Some("timeout".into());
    inv.extend([cold, failed]);
    let series = Series {
        key: key("a"),
        slots: vec![slot(0, inv)],
    };
    let a = analyse(&series, &Params::default()).unwrap();
    let s = &a.slots[0];
    assert_eq!((s.invocations, s.failures, s.cold, s.samples), (9, 1, 1, 7));
    let m = s.median.unwrap();
    // n = 7: P(B ≤ 0) = 1/128 ≤ 0.025 < P(B ≤ 1) = 8/128, so ranks 1 and 7.
    assert_eq!(
        (m.value, m.low, m.high),
        (40_000.0, Some(10_000.0), Some(70_000.0))
    );
    // p99 by interpolation: rank 0.99·6 = 5.94 → 60 + 0.94·10 ms. Binomial(7, 0.99):
    // P(B ≤ 5) = 0.0020 ≤ 0.025 < P(B ≤ 6) = 0.068, so the lower bound is the 6th value;
    // P(B ≥ 7) = 0.932: no upper bound from 7 samples.
    let p99 = s.p99.unwrap();
    assert!((p99.value - 69_400.0).abs() < 1e-6, "{p99:?}");
    assert_eq!((p99.low, p99.high), (Some(60_000.0), None));
    assert_eq!((a.invocations, a.failures, a.cold), (9, 1, 1));
    // With cold starts counted, the cold one is the eighth sample.
    let with_cold = Params {
        include_cold: true,
        ..Params::default()
    };
    let b = analyse(&series, &with_cold).unwrap();
    assert_eq!(b.slots[0].samples, 8);
    assert_eq!(b.slots[0].median.unwrap().value, 45_000.0);
    // One slot: no change-point search possible, said in a note.
    assert!(
        a.notes
            .iter()
            .any(|n| n.contains("change points need at least 6")),
        "{:?}",
        a.notes
    );
}

#[test]
fn a_doubling_is_one_change_point_of_plus_100_percent() {
    let slots = (0..8u64)
        .map(|i| {
            let level = if i < 4 { 100_000 } else { 200_000 };
            slot(i, (0..5).map(|j| obs(i, j, level)).collect())
        })
        .collect();
    let series = Series {
        key: key("b"),
        slots,
    };
    let a = analyse(&series, &Params::default()).unwrap();
    assert_eq!(a.change_points.len(), 1, "{:?}", a.change_points);
    let cp = &a.change_points[0];
    assert_eq!(cp.slot_index, 4);
    assert_eq!(cp.at, Utc.with_ymd_and_hms(2026, 11, 30, 4, 0, 0).unwrap());
    assert!((cp.before_median_us - 100_000.0).abs() < 1e-6);
    assert!((cp.after_median_us - 200_000.0).abs() < 1e-6);
    assert!((cp.relative_shift - 1.0).abs() < 1e-12, "{cp:?}");
    // Four slots a side: k = ⌊8 − 1.96·√(16·9/12)⌋ = ⌊1.21⌋ = 1; every difference is ln 2.
    assert!((cp.shift_low.unwrap() - 1.0).abs() < 1e-12);
    assert_eq!(a.segments.len(), 2);
    assert_eq!((a.segments[1].first_slot, a.segments[1].last_slot), (4, 7));
    // Constant segments: σ is the floor; penalty 3 ln 8.
    assert_eq!(a.detection.sigma, sebs_stability::analysis::SIGMA_FLOOR);
    assert!((a.detection.penalty - 3.0 * 8f64.ln()).abs() < 1e-12);
    // Relative to their segments every slot is at 1.0: no hour effect.
    assert!(a.hour_of_day.groups.iter().all(|g| g.ratio == 1.0));
    // An infinite-like penalty finds nothing.
    let strict = Params {
        penalty: Penalty::Value(1e12),
        ..Params::default()
    };
    assert!(analyse(&series, &strict).unwrap().change_points.is_empty());
}

/// 10 slots × 100 invocations at 10 ms + j µs; outliers placed by hand.
fn tail_series() -> Series {
    let slots = (0..10u64)
        .map(|i| {
            let inv = (0..100usize)
                .map(|j| {
                    let mut o = obs(i, j, 10_000 + j as u64);
                    o.instance = Some(format!("i{}", j % 5));
                    o.payload_bytes = Some(if j % 10 == 0 { 1_000_000 } else { 1_000 });
                    o
                })
                .collect();
            slot(i, inv)
        })
        .collect();
    let mut series = Series {
        key: key("c"),
        slots,
    };
    // Slot 3: five invocations on instance i1 slow (j = 1, 6, 11, 16, 21).
    for j in [1, 6, 11, 16, 21] {
        series.slots[3].invocations[j].client_us = 90_000;
    }
    // Instance i2 slow in slots 5..9 (j = 2): five more, one a slot each.
    for i in 5..10 {
        series.slots[i].invocations[2].client_us = 80_000;
    }
    // One cold start, slow, in slot 0 (j = 3, instance i3).
    series.slots[0].invocations[3].client_us = 70_000;
    series.slots[0].invocations[3].cold = true;
    series
}

#[test]
fn tail_outliers_are_attributed_by_the_documented_rules() {
    // 1000 invocations, 11 slow ones: the 98th percentile interpolates at rank 979.02 (0-based)
    // among the ten largest ordinary times (10 099 µs, ranks 979 to 988), so the threshold is
    // 10 099 µs and exactly the 11 slow ones are beyond. (A p99 threshold would fall among the
    // slow ones: beyond p99 there is about 1% of any sample.)
    let params = Params {
        tail_quantile: 0.98,
        ..Params::default()
    };
    let a = analyse(&tail_series(), &params).unwrap();
    let t = a.tail.unwrap();
    assert_eq!(t.invocations, 1000);
    assert_eq!(t.threshold_us, 10_099.0);
    assert_eq!(t.outliers, 11);
    assert_eq!(t.cold, 1);
    let causes = |id: &str| {
        t.listed
            .iter()
            .find(|o| o.request_id == id)
            .unwrap()
            .causes
            .clone()
    };
    // Slot 3's five: 5 of 100 at rate 1.1% is p = 0.0051, above 0.01/10 slots: not a window.
    // Instance i1 has 5 of 200: p = 0.071 uncorrected: not an instance either.
    // Instance i2: 5 of 200, same: unattributed. The cold one is a cold start.
    assert_eq!(causes("s0-r3"), vec![Cause::ColdStart]);
    assert!(causes("s3-r1").is_empty());
    assert_eq!(t.unattributed, 10);
    // Listed largest first.
    assert_eq!(t.listed[0].value_us, 90_000);
    assert_eq!(t.listed.last().unwrap().value_us, 70_000);
}

#[test]
fn concentrated_outliers_name_their_instance_slot_and_payload() {
    let mut series = tail_series();
    // Fifteen more slow invocations in slot 3 on instance i1 (j = 26, 31, …, 96): slot 3 then
    // has 20 outliers of 100, instance i1 20 of 200.
    for j in (26..=96).step_by(5) {
        series.slots[3].invocations[j].client_us = 95_000;
    }
    // Large payloads (j % 10 == 0) slow in slots 0..10 on instance i0 — 10 of 100 large ones.
    for i in 0..10 {
        series.slots[i].invocations[50].client_us = 60_000;
    }
    // 36 slow of 1000: the 96th percentile (rank 959.04) is among the ordinary 10 099 µs.
    let params = Params {
        tail_quantile: 0.96,
        ..Params::default()
    };
    let a = analyse(&series, &params).unwrap();
    let t = a.tail.unwrap();
    assert_eq!((t.outliers, t.threshold_us), (36, 10_099.0));
    // At rate 3.6%: slot 3 has 20 of 100 (p < 1e-9), instance i1 20 of 200 (p = 4.3e-5, under
    // 0.01/5 instances), large payloads 10 of 100 (p = 0.0033 < 0.01); instance i0 has only
    // the 10 large-payload ones of 200 (p = 0.19): not attributed.
    let find = |id: &str| {
        t.listed
            .iter()
            .find(|o| o.request_id == id)
            .unwrap()
            .causes
            .clone()
    };
    let s3 = find("s3-r26");
    assert!(s3.contains(&Cause::TimeWindow { slot_index: 3 }), "{s3:?}");
    assert!(
        s3.contains(&Cause::Instance {
            instance: "i1".into()
        }),
        "{s3:?}"
    );
    assert_eq!(find("s4-r50"), vec![Cause::Payload { bytes: 1_000_000 }]);
    let groups: Vec<&str> = t.concentrations.iter().map(|c| c.group.as_str()).collect();
    assert!(
        groups.contains(&"slot 3") && groups.contains(&"instance i1"),
        "{groups:?}"
    );
    assert!(groups.contains(&"payload ≥ 1000000 B"), "{groups:?}");
    // The limit on listed outliers keeps the largest.
    let few = Params {
        max_outliers: 3,
        ..params
    };
    let t = analyse(&series, &few).unwrap().tail.unwrap();
    assert_eq!((t.outliers, t.listed.len()), (36, 3));
    assert!(t.listed.iter().all(|o| o.value_us == 95_000));
}

#[test]
fn series_files_load_and_bad_ones_say_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let series = tail_series();
    let file = dir.path().join("c.json");
    std::fs::write(&file, serde_json::to_string(&series).unwrap()).unwrap();
    let analyses = analyse_json(&file, &Params::default()).unwrap();
    assert_eq!(analyses.len(), 1);
    // The analysis round-trips through JSON.
    let text = serde_json::to_string(&analyses[0]).unwrap();
    let back: sebs_stability::SeriesAnalysis = serde_json::from_str(&text).unwrap();
    // (Floats may differ in the last digit: serde_json parses without exact round trips.)
    let a = &analyses[0];
    assert_eq!(
        (&back.key, &back.params, back.slots.len()),
        (&a.key, &a.params, a.slots.len())
    );
    assert_eq!(
        back.tail.as_ref().unwrap().listed,
        a.tail.as_ref().unwrap().listed
    );
    assert_eq!(back.slots[3].p99, a.slots[3].p99);
    // A second file with the same key in the directory is refused.
    std::fs::write(
        dir.path().join("d.json"),
        serde_json::to_string(&vec![&series]).unwrap(),
    )
    .unwrap();
    let err = format!("{:#}", sebs_stability::load(dir.path()).unwrap_err());
    assert!(err.contains("appears twice"), "{err}");
    // Slots out of order.
    let mut bad = tail_series();
    bad.slots.swap(1, 2);
    std::fs::write(
        dir.path().join("d.json"),
        serde_json::to_string(&bad).unwrap(),
    )
    .unwrap();
    let err = format!(
        "{:#}",
        sebs_stability::load(&dir.path().join("d.json")).unwrap_err()
    );
    assert!(err.contains("strictly increasing `index`"), "{err}");
    std::fs::write(dir.path().join("d.json"), "{\"slots\": []}").unwrap();
    let err = format!(
        "{:#}",
        sebs_stability::load(&dir.path().join("d.json")).unwrap_err()
    );
    assert!(err.contains("is not a stability series"), "{err}");
    let empty = tempfile::tempdir().unwrap();
    let err = format!("{:#}", sebs_stability::load(empty.path()).unwrap_err());
    assert!(err.contains("holds no *.json series file"), "{err}");
}

#[test]
fn a_metric_nobody_measured_leaves_notes_not_panics() {
    let slots = (0..8u64)
        .map(|i| {
            let inv = (0..5)
                .map(|j| {
                    let mut o = obs(i, j, 10_000);
                    o.function_us = None;
                    o
                })
                .collect();
            slot(i, inv)
        })
        .collect();
    let series = Series {
        key: key("d"),
        slots,
    };
    let params = Params {
        metric: sebs_stability::Metric::Provider,
        ..Params::default()
    };
    let a = analyse(&series, &params).unwrap();
    assert!(a.slots.iter().all(|s| s.median.is_none() && s.samples == 0));
    assert!(a.change_points.is_empty() && a.segments.is_empty());
    assert!(a.tail.is_none());
    assert!(a.hour_of_day.groups.is_empty() && a.hour_of_day.test.is_none());
    assert_eq!(
        a.notes[0],
        "8 of 8 slot(s) have no successful warm invocation with a provider time; they are left out of bands, change points and effects"
    );
    // Parameters out of range are refused with the range.
    let bad = Params {
        level: 1.5,
        ..Params::default()
    };
    let err = analyse(&series, &bad).unwrap_err().to_string();
    assert!(err.contains("use a value in (0.5, 1)"), "{err}");
    assert_eq!(
        "2.5".parse::<sebs_stability::Penalty>(),
        Ok(sebs_stability::Penalty::Value(2.5))
    );
    assert!("-1".parse::<sebs_stability::Penalty>().is_err());
    assert_eq!("mbic".parse(), Ok(sebs_stability::Penalty::Mbic));
}

#[test]
fn analyses_written_as_json_are_read_back_as_they_are() {
    let dir = tempfile::tempdir().unwrap();
    let params = Params {
        tail_quantile: 0.98,
        ..Params::default()
    };
    let a = analyse(&tail_series(), &params).unwrap();
    let file = dir.path().join("analyses.json");
    std::fs::write(&file, serde_json::to_string_pretty(&vec![&a]).unwrap()).unwrap();
    assert!(sebs_stability::is_series_input(&file));
    // Other parameters do not re-analyse: the file's analysis comes back.
    let back = analyse_json(&file, &Params::default()).unwrap();
    assert_eq!(back.len(), 1);
    assert_eq!(back[0].params, params);
    assert_eq!(back[0].tail.as_ref().unwrap().outliers, 11);
    // Next to the series it came from, the key appears twice.
    std::fs::write(
        dir.path().join("series.json"),
        serde_json::to_string(&tail_series()).unwrap(),
    )
    .unwrap();
    let err = format!("{:#}", analyse_json(dir.path(), &params).unwrap_err());
    assert!(err.contains("appears twice"), "{err}");
}

use super::*;
use crate::rundir::load_runs;
use crate::synthetic;

fn ids(charts: &[Chart]) -> Vec<String> {
    charts.iter().map(|c| c.id.clone()).collect()
}

#[test]
fn each_kind_of_run_gets_its_charts() {
    let dir = tempfile::tempdir().unwrap();
    synthetic::all_runs(dir.path()).unwrap();
    let runs = load_runs(dir.path()).unwrap();
    let charts: Vec<Vec<String>> = runs
        .iter()
        .enumerate()
        .map(|(i, r)| ids(&charts(r, &format!("r{i}"), &Pricing::default())))
        .collect();
    assert_eq!(charts[0], ["r0-eviction"]);
    assert_eq!(charts[1], ["r1-overhead"]);
    assert_eq!(charts[2], ["r2-cdf", "r2-breakdown", "r2-timeline"]);
    assert_eq!(charts[3], ["r3-ping-pong"]);
    assert_eq!(
        charts[4],
        [
            "r4-cdf",
            "r4-memory-boxes",
            "r4-tradeoff",
            "r4-breakdown",
            "r4-timeline"
        ]
    );
    // Three tests of three invocations: too few for a distribution, enough for a breakdown.
    assert_eq!(charts[5], ["r5-breakdown"]);
}

#[test]
fn components_add_up_to_the_client_time() {
    let s = Sample {
        begin: 0.0,
        client: 10_000,
        benchmark: 6_000,
        provider: 7_000,
        init: 1_000,
        compute: f64::NAN,
        download: 2_000.0,
        upload: 500.0,
        gb_seconds: f64::NAN,
        memory_mb: 0,
        cold: true,
        failed: false,
        invalid: false,
    };
    // compute 3500, download 2000, upload 500, init 1000, provider overhead 1000, network 2000.
    assert_eq!(
        components(&s),
        [3500.0, 2000.0, 500.0, 1000.0, 1000.0, 2000.0]
    );
    assert_eq!(components(&s).iter().sum::<f64>(), 10_000.0);
    // Without provider times, everything outside the function is client and network.
    let local = Sample {
        provider: 0,
        init: 0,
        ..s
    };
    assert_eq!(
        components(&local),
        [3500.0, 2000.0, 500.0, 0.0, 0.0, 4000.0]
    );
}

#[test]
fn perf_cost_tradeoff_and_boxes_follow_memory() {
    let dir = tempfile::tempdir().unwrap();
    synthetic::perf_cost_run(dir.path()).unwrap();
    let run = load_runs(dir.path()).unwrap().remove(0);
    let points = tradeoff(&run.groups, &Pricing::default());
    let memories: Vec<u64> = points.iter().map(|p| p.memory_mb).collect();
    assert_eq!(memories, [128, 256, 512]);
    // More memory: faster (synthetic function time 45, 25, 15 ms) and billed per GB-s.
    assert!(
        points.windows(2).all(|w| w[1].median_ms < w[0].median_ms),
        "{points:?}"
    );
    assert!(points.iter().all(|p| p.cost_per_million.is_some()));
    let boxes = memory_boxes(&run.groups);
    assert_eq!(boxes.len(), 3);
    assert!(boxes.iter().all(|(_, c, w)| c.is_some() && w.is_some()));
    let (_, cold, warm) = boxes[0];
    assert!(cold.unwrap().median > warm.unwrap().median);
    let labels: Vec<String> = subsets(&run.groups).into_iter().map(|s| s.0).collect();
    assert_eq!(labels[..2], ["cold, 128 MB", "warm, 128 MB"]);
}

#[test]
fn large_runs_get_a_binned_timeline_and_quantile_cdfs() {
    let samples = (0..12_000)
        .map(|i| Sample {
            begin: f64::from(i) * 0.01,
            client: 1000 + (i % 100) as u32,
            benchmark: 500,
            provider: 0,
            init: 0,
            compute: f64::NAN,
            download: f64::NAN,
            upload: f64::NAN,
            gb_seconds: f64::NAN,
            memory_mb: 0,
            cold: false,
            failed: false,
            invalid: false,
        })
        .collect();
    let group = Group {
        samples,
        ..Group::default()
    };
    let Some(ChartData::TimelineBinned(bins)) = timeline(std::slice::from_ref(&group)) else {
        panic!("a binned timeline");
    };
    assert_eq!(bins.len(), TIME_BINS);
    let series = cdf_series(&subsets(std::slice::from_ref(&group)));
    assert_eq!(series[0].points.len(), CDF_POINTS + 1);
    assert_eq!(series[0].points[0], (1.0, 0.0));
    assert_eq!(series[0].points[CDF_POINTS], (1.099, 1.0));
}

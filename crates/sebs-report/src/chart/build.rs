//! Which charts a run gets, chosen by its data, and their data.

use std::collections::BTreeMap;

use super::{BoxStat, Chart, ChartData, Series, TradeoffPoint};
use crate::dataset::{Group, Metric, Sample};
use crate::rundir::{Run, RunKind};
use crate::table::{GroupStats, Pricing, percentile_sorted};

/// Series in one CDF and bars in one breakdown, at most (the first ones).
const MAX_SERIES: usize = 8;
/// Bars in one breakdown, at most.
const MAX_BARS: usize = 16;
/// Points a timeline draws one by one; larger runs are binned.
const MAX_POINTS: usize = 5000;
/// Bins of a binned timeline.
const TIME_BINS: usize = 300;
/// Points of a CDF line, at most (quantiles of larger samples).
const CDF_POINTS: usize = 1000;

/// The charts of `run`; `prefix` starts every chart id (e.g. `3-perf-cost`).
pub fn charts(run: &Run, prefix: &str, pricing: &Pricing) -> Vec<Chart> {
    let mut charts = Vec::new();
    let chart = |name: &str, title: String, caption: &str, data| Chart {
        id: format!("{prefix}-{name}"),
        title,
        caption: caption.to_owned(),
        data,
    };
    let subsets = subsets(&run.groups);
    let ok_samples: usize = subsets.iter().map(|s| s.1.len()).sum();
    if ok_samples >= 10 {
        charts.push(chart("cdf", format!("Client time CDF — {}", run.kind.title()),
            "The fraction of successful invocations that completed within each client time; cold starts (thicker lines) sit to the right of warm invocations. A logarithmic axis is used when times span more than a factor of ten.",
            ChartData::Cdf(cdf_series(&subsets))));
    }
    if run.kind == RunKind::PerfCost {
        charts.push(chart("memory-boxes", "Client time per memory size".into(),
            "Boxes span the quartiles with the median in black; whiskers reach the 5th and 95th percentiles. Cold starts (orange) and warm invocations (blue) of every configuration with that memory.",
            ChartData::Boxes(memory_boxes(&run.groups))));
        let points = tradeoff(&run.groups, pricing);
        if points.len() >= 2 {
            charts.push(chart("tradeoff", "Performance–cost trade-off".into(),
                "Left: median client and function time of warm invocations against memory. Right: the cost of a million warm invocations at the report's prices (billed GB-seconds plus the request fee).",
                ChartData::Tradeoff(points)));
        }
    }
    if !subsets.is_empty() {
        let (components, bars) = breakdown(&subsets);
        charts.push(chart("breakdown", "Where the time goes".into(),
            "The mean of each part of an invocation: client and network (client time beyond the provider's), provider overhead (provider time beyond the function's), cold-start initialisation, and inside the function its storage download, upload and compute. The stack adds up to the mean client time.",
            ChartData::Breakdown(components, bars)));
    }
    if ok_samples >= 10
        && let Some(data) = timeline(&run.groups)
    {
        charts.push(chart("timeline", "Client time over the run".into(),
            "Every invocation at the time it started (larger runs: per time bin the median and 99th percentile, and the maximum as points). Drift shows as a slope, outliers as isolated points.",
            data));
    }
    if let Some((sweep, rows)) = &run.overhead
        && !rows.is_empty()
    {
        charts.push(chart("overhead", format!("Invocation overhead against {sweep} size"),
            "The time from sending the request to the function starting, clock drift removed: medians with bars over the interquartile range, warm and cold.",
            ChartData::Overhead(sweep.clone(), overhead_rows(rows))));
    }
    if let Some(eviction) = &run.eviction {
        let rows = eviction
            .rows
            .iter()
            .map(|r| (r.time, r.evicted_fraction, r.samples))
            .collect();
        charts.push(chart("eviction", "Eviction curve".into(),
            "The probability that an invocation after the given idle time is a cold start (the instance was evicted). Dashed: the platform's configured keep-alive and the estimated threshold.",
            ChartData::Eviction(rows, eviction.keep_alive, eviction.threshold)));
    }
    if let Some(scaling) = &run.scaling {
        for (name, title, caption, data) in scaling_charts(scaling) {
            charts.push(chart(name, title.into(), caption, data));
        }
    }
    if run.rtts.len() >= 2 {
        charts.push(chart("ping-pong", "UDP round-trip times".into(),
            "Round trips between the driver and the function instances, from the minimum to the 99.9th percentile (larger ones counted in the last bin).",
            rtt_histogram(&run.rtts)));
    }
    charts
}

/// The line of column `y` against column `x` (rows where both are present).
fn column_line(
    table: &BTreeMap<String, Vec<Option<f64>>>,
    x: &str,
    y: &str,
    label: &str,
    dashed: bool,
) -> Option<Series> {
    let (xs, ys) = (table.get(x)?, table.get(y)?);
    let points: Vec<(f64, f64)> = xs
        .iter()
        .zip(ys)
        .filter_map(|(x, y)| Some(((*x)?, (*y)?)))
        .collect();
    (!points.is_empty()).then(|| Series {
        label: label.to_owned(),
        cold: dashed,
        points,
    })
}

type NamedChart = (&'static str, &'static str, &'static str, ChartData);

/// scaling's charts: load and throughput, instances, response time over the run, and
/// response time against offered load.
fn scaling_charts(scaling: &crate::rundir::ScalingSeries) -> Vec<NamedChart> {
    let t = &scaling.seconds;
    let lines = |specs: &[(&str, &str, bool)]| -> Vec<Series> {
        specs
            .iter()
            .filter_map(|(y, label, dashed)| column_line(t, "second", y, label, *dashed))
            .collect()
    };
    let mut out: Vec<NamedChart> = vec![
        (
            "scaling-throughput",
            "Offered load and throughput",
            "Requests due per second (the open-loop offered load) against successful responses completed per second; throttled and failed requests per second (by when they were due) show where the platform refused or failed under load.",
            ChartData::Lines(
                "seconds".into(),
                "requests per second".into(),
                lines(&[
                    ("offered", "offered", false),
                    ("completed", "completed", false),
                    ("throttled", "throttled", true),
                    ("failed", "failed", true),
                ]),
            ),
        ),
        (
            "scaling-instances",
            "Instances over time",
            "Live instances as the platform counts them (where it reports them), instances inferred from the distinct instance ids serving requests in each second, and cold starts per second (dashed).",
            ChartData::Lines(
                "seconds".into(),
                "instances".into(),
                lines(&[
                    ("live_instances", "live (platform)", false),
                    ("inferred_instances", "serving (distinct ids)", false),
                    ("cold", "cold starts per second", true),
                ]),
            ),
        ),
        (
            "scaling-latency",
            "Response time over the run",
            "Median and 99th percentile of the response time of the requests due in each second, measured from when each was due (so the driver's own lag is included, not hidden).",
            ChartData::Lines(
                "seconds".into(),
                "response time (ms)".into(),
                lines(&[
                    ("response_p50_ms", "p50", false),
                    ("response_p99_ms", "p99", false),
                ]),
            ),
        ),
    ];
    let levels = &scaling.levels;
    let against_load: Vec<Series> = [("response_p50_ms", "p50"), ("response_p99_ms", "p99")]
        .iter()
        .filter_map(|(y, label)| column_line(levels, "offered_rps", y, label, false))
        .filter(|s| s.points.len() >= 2)
        .collect();
    if !against_load.is_empty() {
        out.push(("scaling-load-latency", "Response time against offered load",
            "Median and 99th percentile response time of the requests at each level of offered load (requests due per second, two significant digits).",
            ChartData::Lines("offered load (requests per second)".into(), "response time (ms)".into(), against_load)));
    }
    out.retain(|c| matches!(&c.3, ChartData::Lines(_, _, s) if !s.is_empty()));
    out
}

/// A part of a group: its cold or its warm successful invocations, with a label.
type Subset<'a> = (String, Vec<&'a Sample>, bool);

/// Legend names of groups: the configuration when all are one function, otherwise the
/// function (without the `sebs-local-` prefix every local function has) and the configuration.
pub fn short_labels(groups: &[Group]) -> Vec<String> {
    let one_function = groups.windows(2).all(|w| w[0].function == w[1].function);
    groups
        .iter()
        .map(|g| {
            let function = g
                .function
                .strip_prefix("sebs-local-")
                .unwrap_or(&g.function);
            match (one_function, g.configuration.is_empty()) {
                (true, false) => g.configuration.clone(),
                (_, true) => function.to_owned(),
                (false, false) => format!("{function} ({})", g.configuration),
            }
        })
        .collect()
}

/// The cold and warm parts of every group. A configuration named for its type (perf-cost's
/// `cold, 128 MB`) keeps only that part; otherwise every part with an invocation is shown.
fn subsets(groups: &[Group]) -> Vec<Subset<'_>> {
    let mut out = Vec::new();
    for (group, label) in groups.iter().zip(short_labels(groups)) {
        let ok: Vec<&Sample> = group.ok().collect();
        let typed = ["cold", "warm"]
            .into_iter()
            .find(|t| group.configuration.starts_with(t));
        for cold in [true, false] {
            let part: Vec<&Sample> = ok.iter().copied().filter(|s| s.cold == cold).collect();
            let name = if cold { "cold" } else { "warm" };
            let shown = match typed {
                Some(t) => t == name,
                None => true,
            };
            if shown && !part.is_empty() {
                let label = if typed.is_some() {
                    label.clone()
                } else {
                    format!("{label}, {name}")
                };
                out.push((label, part, cold));
            }
        }
    }
    out
}

/// Values of `metric` in ms, sorted.
fn sorted_ms(samples: &[&Sample], metric: Metric) -> Vec<f64> {
    let mut v: Vec<f64> = metric
        .values(samples.iter().copied())
        .iter()
        .map(|us| us / 1000.0)
        .collect();
    v.sort_by(f64::total_cmp);
    v
}

fn cdf_series(subsets: &[Subset<'_>]) -> Vec<Series> {
    subsets
        .iter()
        .take(MAX_SERIES)
        .map(|(label, samples, cold)| {
            let v = sorted_ms(samples, Metric::Client);
            let points = if v.len() <= CDF_POINTS {
                v.iter()
                    .enumerate()
                    .map(|(i, &x)| (x, (i + 1) as f64 / v.len() as f64))
                    .collect()
            } else {
                (0..=CDF_POINTS)
                    .map(|k| {
                        let p = k as f64 / CDF_POINTS as f64;
                        (percentile_sorted(&v, p * 100.0).unwrap_or(0.0), p)
                    })
                    .collect()
            };
            Series {
                label: format!("{label} (n={})", v.len()),
                cold: *cold,
                points,
            }
        })
        .collect()
}

fn box_of(sorted: &[f64]) -> Option<BoxStat> {
    let p = |q: f64| percentile_sorted(sorted, q);
    Some(BoxStat {
        p5: p(5.0)?,
        q1: p(25.0)?,
        median: p(50.0)?,
        q3: p(75.0)?,
        p95: p(95.0)?,
    })
}

fn memory_boxes(groups: &[Group]) -> Vec<(u64, Option<BoxStat>, Option<BoxStat>)> {
    let mut by_memory: BTreeMap<u64, (Vec<&Sample>, Vec<&Sample>)> = BTreeMap::new();
    for g in groups {
        let entry = by_memory.entry(g.memory_mb.unwrap_or(0)).or_default();
        for s in g.ok() {
            if s.cold {
                entry.0.push(s)
            } else {
                entry.1.push(s)
            }
        }
    }
    by_memory
        .into_iter()
        .map(|(m, (cold, warm))| {
            (
                m,
                box_of(&sorted_ms(&cold, Metric::Client)),
                box_of(&sorted_ms(&warm, Metric::Client)),
            )
        })
        .collect()
}

fn tradeoff(groups: &[Group], pricing: &Pricing) -> Vec<TradeoffPoint> {
    let mut points: Vec<TradeoffPoint> = Vec::new();
    for g in groups
        .iter()
        .filter(|g| g.configuration.starts_with("warm"))
    {
        let Some(memory_mb) = g.memory_mb else {
            continue;
        };
        let warm: Vec<&Sample> = g.ok().filter(|s| !s.cold).collect();
        let client = sorted_ms(&warm, Metric::Client);
        let Some(median_ms) = percentile_sorted(&client, 50.0) else {
            continue;
        };
        let function = sorted_ms(&warm, Metric::Benchmark);
        let warm_only = Group {
            samples: warm.iter().map(|s| **s).collect(),
            ..Group::default()
        };
        points.push(TradeoffPoint {
            memory_mb,
            median_ms,
            function_ms: percentile_sorted(&function, 50.0).filter(|v| *v > 0.0),
            cost_per_million: GroupStats::of(&warm_only, pricing).cost_per_million,
        });
    }
    points.sort_by_key(|p| p.memory_mb);
    points
}

/// The parts of a mean invocation, in stacking order.
const COMPONENTS: [&str; 6] = [
    "function compute",
    "storage download",
    "storage upload",
    "cold-start init",
    "provider overhead",
    "client & network",
];

/// One invocation split into [`COMPONENTS`] (µs); they add up to its client time unless a
/// part measured inside is larger than the whole measured outside.
fn components(s: &Sample) -> [f64; 6] {
    let function = f64::from(s.benchmark);
    let measured = |x: f64| if x.is_nan() { 0.0 } else { x };
    let (download, upload) = (measured(s.download), measured(s.upload));
    let compute = (function - download - upload).max(0.0);
    let client = f64::from(s.client);
    if s.provider > 0 {
        let provider = f64::from(s.provider);
        let init = f64::from(s.init);
        [
            compute,
            download,
            upload,
            init,
            (provider - function).max(0.0),
            (client - provider - init).max(0.0),
        ]
    } else {
        [
            compute,
            download,
            upload,
            0.0,
            0.0,
            (client - function).max(0.0),
        ]
    }
}

fn breakdown(subsets: &[Subset<'_>]) -> (Vec<&'static str>, Vec<(String, Vec<f64>)>) {
    let bars: Vec<(String, [f64; 6])> = subsets
        .iter()
        .take(MAX_BARS)
        .map(|(label, samples, _)| {
            let mut sum = [0.0; 6];
            for s in samples {
                for (acc, v) in sum.iter_mut().zip(components(s)) {
                    *acc += v;
                }
            }
            (
                label.clone(),
                sum.map(|v| v / samples.len().max(1) as f64 / 1000.0),
            )
        })
        .collect();
    // Only the components some bar has.
    let used: Vec<usize> = (0..COMPONENTS.len())
        .filter(|&k| bars.iter().any(|b| b.1[k] > 0.0))
        .collect();
    let names = used.iter().map(|&k| COMPONENTS[k]).collect();
    let bars = bars
        .into_iter()
        .map(|(l, v)| (l, used.iter().map(|&k| v[k]).collect()))
        .collect();
    (names, bars)
}

fn timeline(groups: &[Group]) -> Option<ChartData> {
    let mut points: Vec<(f64, f64, bool)> = groups
        .iter()
        .flat_map(|g| g.ok())
        .filter(|s| s.begin.is_finite())
        .map(|s| (s.begin, f64::from(s.client) / 1000.0, s.cold))
        .collect();
    let start = points.iter().map(|p| p.0).fold(f64::INFINITY, f64::min);
    if points.len() < 2 {
        return None;
    }
    points.iter_mut().for_each(|p| p.0 -= start);
    if points.len() <= MAX_POINTS {
        return Some(ChartData::Timeline(points));
    }
    let end = points.iter().map(|p| p.0).fold(0.0, f64::max).max(1e-9);
    let mut bins: Vec<Vec<f64>> = vec![Vec::new(); TIME_BINS];
    for p in &points {
        let i = ((p.0 / end) * TIME_BINS as f64)
            .floor()
            .min((TIME_BINS - 1) as f64) as usize;
        bins[i].push(p.1);
    }
    let width = end / TIME_BINS as f64;
    let binned = bins
        .into_iter()
        .enumerate()
        .filter(|(_, b)| !b.is_empty())
        .map(|(i, mut b)| {
            b.sort_by(f64::total_cmp);
            let q = |p: f64| percentile_sorted(&b, p).unwrap_or(0.0);
            (i as f64 * width, q(50.0), q(99.0), q(100.0))
        })
        .collect();
    Some(ChartData::TimelineBinned(binned))
}

fn overhead_rows(rows: &[crate::rundir::OverheadRow]) -> Vec<(f64, bool, f64, f64, f64)> {
    let mut by_key: BTreeMap<(u64, bool), Vec<f64>> = BTreeMap::new();
    for r in rows {
        by_key
            .entry((r.size as u64, r.cold))
            .or_default()
            .push(r.invocation_time * 1000.0);
    }
    by_key
        .into_iter()
        .map(|((size, cold), mut v)| {
            v.sort_by(f64::total_cmp);
            let q = |p: f64| percentile_sorted(&v, p).unwrap_or(0.0);
            (size as f64, cold, q(25.0), q(50.0), q(75.0))
        })
        .collect()
}

fn rtt_histogram(rtts: &[f64]) -> ChartData {
    let mut ms: Vec<f64> = rtts.iter().map(|s| s * 1000.0).collect();
    ms.sort_by(f64::total_cmp);
    let low = ms[0];
    let high = percentile_sorted(&ms, 99.9).unwrap_or(low);
    let bins = ((ms.len() as f64).sqrt().ceil() as usize).clamp(10, 200);
    ChartData::Histogram(crate::plot::bin_counts(&ms, low, high, bins), low, high)
}

#[cfg(test)]
mod tests;

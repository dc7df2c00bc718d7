//! From requests and instance samples to what the scaling experiment reports: the per-second
//! series, latency against offered load, time to scale after each step up, and the keep-alive
//! seen from outside.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt::Write as _;

use sebs_core::stats::percentile;
use serde_json::{Value, json};

use super::Sample;
use super::driver::{Request, RequestStatus};

/// One second of a run (seconds of schedule, `[second, second + 1)`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Second {
    /// The second.
    pub second: u64,
    /// Requests due in it (the offered load).
    pub offered: u64,
    /// Requests that completed successfully in it (the achieved throughput).
    pub completed: u64,
    /// Of the requests due in it: answered, cold, throttled, failed or timed out, dropped.
    pub ok: u64,
    /// Cold starts among them.
    pub cold: u64,
    /// Throttled.
    pub throttled: u64,
    /// Failed or timed out.
    pub failed: u64,
    /// Dropped by the driver.
    pub dropped: u64,
    /// Response time (lag + latency) percentiles of its answered requests, ms: p50, p95, p99.
    pub response_ms: Option<[f64; 3]>,
    /// The driver's p99 lag of its requests, ms.
    pub lag_p99_ms: Option<f64>,
    /// The platform's live instances (the most sampled in the second, all functions).
    pub live: Option<u64>,
    /// The platform's busy instances at that sample.
    pub busy: Option<u64>,
    /// Requests queued at the platform at that sample.
    pub queued: Option<u64>,
    /// Distinct instance ids serving requests in the second (inferred from the functions).
    pub inferred: u64,
    /// The provider's own record of concurrent instances over the period covering the second
    /// (AWS: CloudWatch `ConcurrentExecutions`, per minute), read at processing.
    pub provider: Option<f64>,
}

/// Latency at one level of offered load.
#[derive(Debug, Clone, PartialEq)]
pub struct Level {
    /// Requests per second offered (two significant digits).
    pub offered: f64,
    /// Requests at this level.
    pub requests: u64,
    /// Response time p50, p95, p99 (ms) of the answered ones.
    pub response_ms: Option<[f64; 3]>,
    /// Fraction of cold starts among the answered ones.
    pub cold_fraction: f64,
    /// Fraction throttled.
    pub throttled_fraction: f64,
}

/// Time to scale after a step up of the offered rate.
#[derive(Debug, Clone, PartialEq)]
pub struct Scale {
    /// When the step happened (s).
    pub at: f64,
    /// The rate after it.
    pub target: f64,
    /// Seconds until the first successful completion at which the trailing second held 95% of
    /// the target in successful completions; `None`: never within the run.
    pub seconds: Option<f64>,
}

/// Everything processing reports.
#[derive(Debug, Clone, PartialEq)]
pub struct Analysis {
    /// The per-second series.
    pub seconds: Vec<Second>,
    /// Latency against offered load.
    pub levels: Vec<Level>,
    /// Requests per status.
    pub totals: BTreeMap<&'static str, u64>,
    /// Cold starts among answered requests.
    pub cold: u64,
    /// Driver lag p50, p99, p99.9, max (ms).
    pub lag_ms: Option<[f64; 4]>,
    /// Response time p50, p95, p99 of answered requests (ms).
    pub response_ms: Option<[f64; 3]>,
    /// Time to scale after each step up.
    pub scale: Vec<Scale>,
    /// Distinct instance ids seen.
    pub instances_seen: usize,
    /// The most live instances the platform reported.
    pub peak_live: Option<u64>,
    /// Live instances at the first sample after the last request completed.
    pub live_after_load: Option<u64>,
    /// Seconds from the last completion until the platform reported no instance; `None`: not
    /// within the samples.
    pub drained_after: Option<f64>,
    /// The most concurrent instances in the provider's own history.
    pub peak_provider: Option<f64>,
}

/// The provider's history of concurrent instances, all functions summed: `(start in seconds of
/// schedule, period, instances)`.
pub type History = [(f64, f64, f64)];

fn quantiles(xs: &[f64], ps: [f64; 3]) -> Option<[f64; 3]> {
    Some([
        percentile(xs, ps[0])?,
        percentile(xs, ps[1])?,
        percentile(xs, ps[2])?,
    ])
}

/// Two significant digits: the bucket of an offered rate.
fn level_of(rate: f64) -> f64 {
    if rate <= 0.0 {
        return 0.0;
    }
    let scale = 10f64.powi(rate.log10().floor() as i32 - 1);
    (rate / scale).round() * scale
}

/// Analyse a run: `functions` functions, `steps` the upward rate changes of its load.
pub fn analyse(
    requests: &[Request],
    samples: &[Sample],
    steps: &[(f64, f64)],
    functions: usize,
    history: &History,
) -> Analysis {
    let mut seconds = per_second(requests, samples);
    for second in &mut seconds {
        let s = second.second as f64;
        second.provider = history
            .iter()
            .filter(|(t, period, _)| *t <= s && s < t + period)
            .map(|h| h.2)
            .reduce(f64::max);
    }
    let mut totals: BTreeMap<&'static str, u64> =
        RequestStatus::ALL.iter().map(|s| (s.as_str(), 0)).collect();
    for r in requests {
        *totals.entry(r.status.as_str()).or_default() += 1;
    }
    let ok: Vec<&Request> = requests
        .iter()
        .filter(|r| r.status == RequestStatus::Ok)
        .collect();
    let lags: Vec<f64> = requests
        .iter()
        .filter(|r| r.status != RequestStatus::Dropped)
        .map(|r| r.lag_us as f64 / 1e3)
        .collect();
    let responses: Vec<f64> = ok.iter().map(|r| r.response_us() as f64 / 1e3).collect();
    let last_end = requests.iter().map(Request::end).fold(f64::NAN, f64::max);
    let (live_after_load, drained_after) = keep_alive(samples, last_end, functions);
    Analysis {
        levels: levels(requests, &seconds),
        totals,
        cold: ok.iter().filter(|r| r.cold).count() as u64,
        lag_ms: quantiles(&lags, [50.0, 99.0, 99.9])
            .map(|[a, b, c]| [a, b, c, lags.iter().copied().fold(0.0, f64::max)]),
        response_ms: quantiles(&responses, [50.0, 95.0, 99.0]),
        scale: time_to_scale(requests, steps),
        instances_seen: ok
            .iter()
            .filter_map(|r| r.instance.as_deref())
            .collect::<HashSet<_>>()
            .len(),
        peak_live: seconds.iter().filter_map(|s| s.live).max(),
        live_after_load,
        drained_after,
        peak_provider: history.iter().map(|h| h.2).reduce(f64::max),
        seconds,
    }
}

/// Sum of `live`/`busy`/`queued` over functions at each sample time.
fn totals_at(samples: &[Sample]) -> Vec<(f64, u64, u64, u64)> {
    let mut at: BTreeMap<u64, (f64, u64, u64, u64)> = BTreeMap::new();
    for s in samples {
        let e = at.entry(s.t.to_bits()).or_insert((s.t, 0, 0, 0));
        e.1 += s.live;
        e.2 += s.busy;
        e.3 += s.queued;
    }
    let mut out: Vec<_> = at.into_values().collect();
    out.sort_by(|a, b| a.0.total_cmp(&b.0));
    out
}

fn per_second(requests: &[Request], samples: &[Sample]) -> Vec<Second> {
    let last = requests
        .iter()
        .map(|r| r.end())
        .chain(samples.iter().map(|s| s.t))
        .fold(0.0, f64::max);
    let n = last.floor() as usize + 1;
    let mut out: Vec<Second> = (0..n)
        .map(|s| Second {
            second: s as u64,
            ..Second::default()
        })
        .collect();
    let mut responses: Vec<Vec<f64>> = vec![Vec::new(); n];
    let mut lags: Vec<Vec<f64>> = vec![Vec::new(); n];
    let mut ids: Vec<BTreeSet<&str>> = vec![BTreeSet::new(); n];
    for r in requests {
        let s = (r.intended.max(0.0) as usize).min(n - 1);
        let second = &mut out[s];
        second.offered += 1;
        match r.status {
            RequestStatus::Ok => {
                second.ok += 1;
                second.cold += u64::from(r.cold);
                responses[s].push(r.response_us() as f64 / 1e3);
                let done = (r.end() as usize).min(n - 1);
                out[done].completed += 1;
                if let Some(id) = r.instance.as_deref() {
                    for busy in ids.iter_mut().take(done + 1).skip(r.start() as usize) {
                        busy.insert(id);
                    }
                }
            }
            RequestStatus::Throttled => second.throttled += 1,
            RequestStatus::Failed | RequestStatus::Timeout => second.failed += 1,
            RequestStatus::Dropped => second.dropped += 1,
        }
        if r.status != RequestStatus::Dropped {
            lags[s].push(r.lag_us as f64 / 1e3);
        }
    }
    for (t, live, busy, queued) in totals_at(samples) {
        let second = &mut out[(t.max(0.0) as usize).min(n - 1)];
        if second.live.is_none_or(|l| live > l) {
            second.live = Some(live);
            second.busy = Some(busy);
            second.queued = Some(queued);
        }
    }
    for (s, second) in out.iter_mut().enumerate() {
        second.response_ms = quantiles(&responses[s], [50.0, 95.0, 99.0]);
        second.lag_p99_ms = percentile(&lags[s], 99.0);
        second.inferred = ids[s].len() as u64;
    }
    out
}

fn levels(requests: &[Request], seconds: &[Second]) -> Vec<Level> {
    let mut groups: BTreeMap<u64, Vec<&Request>> = BTreeMap::new();
    for r in requests {
        let s = (r.intended.max(0.0) as usize).min(seconds.len().saturating_sub(1));
        let rate = seconds.get(s).map_or(0, |x| x.offered) as f64;
        groups.entry(level_of(rate).to_bits()).or_default().push(r);
    }
    let mut out: Vec<Level> = groups
        .into_iter()
        .map(|(bits, group)| {
            let ok: Vec<&&Request> = group
                .iter()
                .filter(|r| r.status == RequestStatus::Ok)
                .collect();
            let responses: Vec<f64> = ok.iter().map(|r| r.response_us() as f64 / 1e3).collect();
            let throttled = group
                .iter()
                .filter(|r| r.status == RequestStatus::Throttled)
                .count();
            Level {
                offered: f64::from_bits(bits),
                requests: group.len() as u64,
                response_ms: quantiles(&responses, [50.0, 95.0, 99.0]),
                cold_fraction: ok.iter().filter(|r| r.cold).count() as f64 / ok.len().max(1) as f64,
                throttled_fraction: throttled as f64 / group.len() as f64,
            }
        })
        .collect();
    out.sort_by(|a, b| a.offered.total_cmp(&b.offered));
    out
}

/// From each step: the first successful completion at which the trailing second (not reaching
/// back before the step) holds 95% of the new rate in successful completions.
fn time_to_scale(requests: &[Request], steps: &[(f64, f64)]) -> Vec<Scale> {
    let mut ends: Vec<f64> = requests
        .iter()
        .filter(|r| r.status == RequestStatus::Ok)
        .map(Request::end)
        .collect();
    ends.sort_by(f64::total_cmp);
    steps
        .iter()
        .filter(|(_, target)| *target > 0.0)
        .map(|&(at, target)| {
            let needed = ((0.95 * target).ceil() as usize).max(1);
            let first = ends.partition_point(|&e| e < at);
            let seconds = (first..ends.len())
                .find(|&i| {
                    let from = (ends[i] - 1.0).max(at);
                    i + 1 - ends.partition_point(|&e| e < from) >= needed
                })
                .map(|i| ends[i] - at);
            Scale {
                at,
                target,
                seconds,
            }
        })
        .collect()
}

fn keep_alive(samples: &[Sample], last_end: f64, functions: usize) -> (Option<u64>, Option<f64>) {
    if last_end.is_nan() || functions == 0 {
        return (None, None);
    }
    let after: Vec<_> = totals_at(samples)
        .into_iter()
        .filter(|(t, ..)| *t >= last_end)
        .collect();
    let first = after.first().map(|s| s.1);
    let drained = after
        .iter()
        .find(|(_, live, ..)| *live == 0)
        .map(|(t, ..)| t - last_end);
    (first, drained)
}

fn ms(x: Option<f64>) -> String {
    x.map(|v| format!("{v:.3}")).unwrap_or_default()
}

fn opt(x: Option<u64>) -> String {
    x.map(|v| v.to_string()).unwrap_or_default()
}

impl Analysis {
    /// `timeseries.csv`: one row per second.
    pub fn series_csv(&self) -> String {
        let mut out = String::from(
            "second,offered,completed,ok,cold,cold_fraction,throttled,failed,dropped,response_p50_ms,response_p95_ms,response_p99_ms,lag_p99_ms,live_instances,busy_instances,queued,inferred_instances,provider_instances\n",
        );
        for s in &self.seconds {
            let r = s.response_ms;
            let _ = writeln!(
                out,
                "{},{},{},{},{},{:.4},{},{},{},{},{},{},{},{},{},{},{},{}",
                s.second,
                s.offered,
                s.completed,
                s.ok,
                s.cold,
                s.cold as f64 / s.ok.max(1) as f64,
                s.throttled,
                s.failed,
                s.dropped,
                ms(r.map(|q| q[0])),
                ms(r.map(|q| q[1])),
                ms(r.map(|q| q[2])),
                ms(s.lag_p99_ms),
                opt(s.live),
                opt(s.busy),
                opt(s.queued),
                s.inferred,
                s.provider.map(|v| v.to_string()).unwrap_or_default()
            );
        }
        out
    }

    /// `load-latency.csv`: one row per level of offered load.
    pub fn levels_csv(&self) -> String {
        let mut out = String::from(
            "offered_rps,requests,response_p50_ms,response_p95_ms,response_p99_ms,cold_fraction,throttled_fraction\n",
        );
        for l in &self.levels {
            let r = l.response_ms;
            let _ = writeln!(
                out,
                "{},{},{},{},{},{:.4},{:.4}",
                l.offered,
                l.requests,
                ms(r.map(|q| q[0])),
                ms(r.map(|q| q[1])),
                ms(r.map(|q| q[2])),
                l.cold_fraction,
                l.throttled_fraction
            );
        }
        out
    }

    /// `summary.json`.
    pub fn summary_json(&self) -> Value {
        json!({
            "requests": self.totals,
            "cold_starts": self.cold,
            "driver_lag_ms": self.lag_ms.map(|q| json!({"p50": q[0], "p99": q[1], "p99.9": q[2], "max": q[3]})),
            "response_ms": self.response_ms.map(|q| json!({"p50": q[0], "p95": q[1], "p99": q[2]})),
            "time_to_scale": self.scale.iter().map(|s| json!({"at": s.at, "target_rps": s.target, "seconds": s.seconds})).collect::<Vec<_>>(),
            "instances_seen": self.instances_seen,
            "peak_live_instances": self.peak_live,
            "live_instances_after_load": self.live_after_load,
            "seconds_until_no_instance": self.drained_after,
            "peak_provider_instances": self.peak_provider,
        })
    }

    /// The summary printed after a run and by `process`.
    pub fn text(&self) -> String {
        let mut out = String::new();
        let counts = self
            .totals
            .iter()
            .map(|(k, v)| format!("{v} {k}"))
            .collect::<Vec<_>>()
            .join(", ");
        let total: u64 = self.totals.values().sum();
        let _ = writeln!(
            out,
            "requests: {total} ({counts}); {} cold starts",
            self.cold
        );
        if let Some([p50, p99, p999, max]) = self.lag_ms {
            let _ = writeln!(
                out,
                "driver lag: p50 {p50:.3} ms, p99 {p99:.3} ms, p99.9 {p999:.3} ms, max {max:.3} ms"
            );
        }
        if let Some([p50, p95, p99]) = self.response_ms {
            let _ = writeln!(
                out,
                "response time (from when due): p50 {p50:.2} ms, p95 {p95:.2} ms, p99 {p99:.2} ms"
            );
        }
        let live = self
            .peak_live
            .map_or("not reported by the platform".into(), |p| p.to_string());
        let _ = writeln!(
            out,
            "instances: {} distinct ids seen; peak live {live}",
            self.instances_seen
        );
        if let Some(peak) = self.peak_provider {
            let _ = writeln!(
                out,
                "the provider's own record: at most {peak} instances at once"
            );
        }
        for s in &self.scale {
            let _ = match s.seconds {
                Some(t) => writeln!(
                    out,
                    "time to scale to {} req/s (step at {} s): {t:.2} s",
                    s.target, s.at
                ),
                None => writeln!(
                    out,
                    "time to scale to {} req/s (step at {} s): not reached",
                    s.target, s.at
                ),
            };
        }
        if let Some(n) = self.live_after_load {
            let _ = match self.drained_after {
                Some(t) => writeln!(
                    out,
                    "after the load: {n} instances kept, none left {t:.1} s after the last response"
                ),
                None => writeln!(
                    out,
                    "after the load: {n} instances kept until the last sample (raise `cooldown` to see them go)"
                ),
            };
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(index: u64, intended: f64, status: RequestStatus) -> Request {
        Request {
            attempt: 1,
            index,
            window: 0,
            function: 0,
            intended,
            lag_us: 1_000,
            latency_us: 99_000,
            status,
            cold: index == 0,
            instance: Some(format!("i{}", index % 2)),
            error: None,
            request_id: String::new(),
            benchmark_us: 0,
        }
    }

    #[test]
    fn a_providers_history_fills_the_seconds_it_covers() {
        let requests = [
            request(0, 0.2, RequestStatus::Ok),
            request(1, 0.7, RequestStatus::Ok),
            request(2, 1.5, RequestStatus::Throttled),
        ];
        // A provider period of 60 s starting 30 s before the run, and one starting at 1 s.
        let history = [(-30.0, 60.0, 2.0), (1.0, 60.0, 5.0)];
        let a = analyse(&requests, &[], &[(0.0, 2.0)], 1, &history);
        assert_eq!(a.seconds.len(), 2);
        assert_eq!(a.seconds[0].provider, Some(2.0));
        assert_eq!(
            a.seconds[1].provider,
            Some(5.0),
            "the larger of the covering periods"
        );
        assert_eq!(a.peak_provider, Some(5.0));
        assert_eq!(a.totals["ok"], 2);
        assert_eq!(a.totals["throttled"], 1);
        assert_eq!(a.instances_seen, 2);
        assert_eq!(a.seconds[0].response_ms.unwrap()[0], 100.0);
        assert!(a.series_csv().lines().nth(1).unwrap().ends_with(",2,2"));
        // Two successes in [0.3, 1.3): 95% of 2 req/s is reached 0.80 s after the start.
        assert!(
            (a.scale[0].seconds.unwrap() - 0.8).abs() < 1e-9,
            "{:?}",
            a.scale
        );
        assert!(
            a.text().contains("at most 5 instances at once"),
            "{}",
            a.text()
        );
    }
}

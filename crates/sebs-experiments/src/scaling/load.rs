//! Arrival processes: when each request of an open-loop run is due.
//!
//! Every shape is a rate over time, λ(t). Arrivals are placed by inverting the cumulative rate
//! Λ(t) = ∫λ: with `uniform` spacing the k-th request is due when Λ reaches k − ½ (so a
//! constant rate r puts exactly r requests in every second), with `poisson` spacing when Λ
//! reaches a sum of unit exponential gaps (a non-homogeneous Poisson process by time change).
//! Traces ([`super::trace`]) give counts per minute instead.

use anyhow::{Result, bail};
use sebs_core::config::LoadConfig;
use sebs_report::significance::SplitMix64;

/// Seconds per step of the numerical integration of λ: shapes change rate on multiples of it
/// in practice (steps, bursts), where the integral is exact.
const GRID: f64 = 0.001;

/// The most requests one run may schedule (16 bytes each): a typo in a rate must not exhaust
/// memory.
pub const MAX_ARRIVALS: usize = 50_000_000;

/// One request of the schedule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Arrival {
    /// When it is due, in seconds from the start of the run.
    pub t: f64,
    /// Which function (index into [`Schedule::functions`]).
    pub function: u32,
}

/// The whole schedule of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    /// Arrivals in time order.
    pub arrivals: Vec<Arrival>,
    /// The functions requests go to: one label per deployed function (the benchmark, or the
    /// trace's function hashes).
    pub functions: Vec<String>,
    /// Length of the load in seconds.
    pub duration: f64,
    /// Upward changes of the offered rate, `(time, new rate)`: where time to scale is measured.
    pub steps: Vec<(f64, f64)>,
}

/// How arrivals are spaced under the rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spacing {
    /// Evenly: the k-th request when Λ(t) = k − ½.
    Uniform,
    /// Exponential gaps: a Poisson process.
    Poisson,
}

impl Spacing {
    /// `uniform` or `poisson` (`experiments.scaling.arrivals`).
    pub fn parse(text: Option<&str>) -> Result<Spacing> {
        match text.unwrap_or("uniform") {
            "uniform" => Ok(Spacing::Uniform),
            "poisson" => Ok(Spacing::Poisson),
            other => bail!(
                "experiments.scaling.arrivals: `{other}` is not a spacing; use \"uniform\" or \"poisson\""
            ),
        }
    }
}

/// A deterministic generator (the report's SplitMix64): the same seed gives the same schedule.
#[derive(Debug, Clone)]
pub struct Rng(SplitMix64);

impl Rng {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(SplitMix64::new(seed))
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.0.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A unit-mean exponential draw.
    pub fn exponential(&mut self) -> f64 {
        -(1.0 - self.unit()).ln()
    }

    /// Uniform in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        self.0.index(n.max(1))
    }
}

/// A load shape with a rate over time.
struct Shape<'a> {
    duration: f64,
    rate: Box<dyn Fn(f64) -> f64 + 'a>,
    steps: Vec<(f64, f64)>,
}

/// The schedule of `load` for one function labelled `function` (trace loads are built by
/// [`super::trace::schedule`]).
pub fn schedule(
    load: &LoadConfig,
    spacing: Spacing,
    seed: u64,
    function: &str,
) -> Result<Schedule> {
    let (shape, spacing) = shape(load, spacing)?;
    let mut rng = Rng::new(seed);
    let times = place(&shape, spacing, &mut rng)?;
    Ok(Schedule {
        arrivals: times
            .into_iter()
            .map(|t| Arrival { t, function: 0 })
            .collect(),
        functions: vec![function.to_owned()],
        duration: shape.duration,
        steps: shape.steps,
    })
}

fn shape(load: &LoadConfig, spacing: Spacing) -> Result<(Shape<'_>, Spacing)> {
    let shape = match *load {
        LoadConfig::Constant { rate, duration } | LoadConfig::Poisson { rate, duration } => {
            check(&[("rate", rate)], duration)?;
            Shape {
                duration,
                rate: Box::new(move |_| rate),
                steps: vec![(0.0, rate)],
            }
        }
        LoadConfig::Step {
            from,
            to,
            at,
            duration,
        } => {
            check(&[("from", from), ("to", to), ("at", at)], duration)?;
            let mut steps = vec![(0.0, from)];
            if to > from {
                steps.push((at, to));
            }
            Shape {
                duration,
                rate: Box::new(move |t| if t < at { from } else { to }),
                steps,
            }
        }
        LoadConfig::Ramp { from, to, duration } => {
            check(&[("from", from), ("to", to)], duration)?;
            Shape {
                duration,
                rate: Box::new(move |t| from + (to - from) * t / duration),
                steps: vec![],
            }
        }
        LoadConfig::Burst {
            base,
            peak,
            every,
            length,
            duration,
        } => burst(base, peak, every, length, duration)?,
        LoadConfig::Sinusoid {
            mean,
            amplitude,
            period,
            duration,
        } => {
            check(&[("mean", mean), ("amplitude", amplitude)], duration)?;
            if period <= 0.0 || !period.is_finite() {
                bail!("experiments.scaling.load.period must be a positive number of seconds");
            }
            Shape {
                duration,
                rate: Box::new(move |t| {
                    (mean + amplitude * (std::f64::consts::TAU * t / period).sin()).max(0.0)
                }),
                steps: vec![],
            }
        }
        LoadConfig::Trace { .. } => {
            bail!("a trace load is scheduled from its file (scaling::trace), not from a rate")
        }
    };
    let spacing = match load {
        LoadConfig::Poisson { .. } => Spacing::Poisson,
        _ => spacing,
    };
    Ok((shape, spacing))
}

fn burst(base: f64, peak: f64, every: f64, length: f64, duration: f64) -> Result<Shape<'static>> {
    check(
        &[("base", base), ("peak", peak), ("length", length)],
        duration,
    )?;
    if every <= 0.0 || !every.is_finite() || length > every {
        bail!(
            "experiments.scaling.load: `every` must be a positive number of seconds, at least `length`"
        );
    }
    let mut steps = vec![(0.0, peak.max(base))];
    if peak > base {
        let mut start = every;
        while start < duration {
            steps.push((start, peak));
            start += every;
        }
    }
    Ok(Shape {
        duration,
        rate: Box::new(move |t| if t % every < length { peak } else { base }),
        steps,
    })
}

/// Rates and times are finite and non-negative, the duration positive.
fn check(values: &[(&str, f64)], duration: f64) -> Result<()> {
    if !(duration > 0.0 && duration.is_finite()) {
        bail!("experiments.scaling.load.duration must be a positive number of seconds");
    }
    for (name, value) in values {
        if !(*value >= 0.0 && value.is_finite()) {
            bail!(
                "experiments.scaling.load.{name} must be a finite number, at least 0 (got {value})"
            );
        }
    }
    Ok(())
}

/// Invert Λ on a fine grid: within a grid step λ is constant, so Λ is linear there.
fn place(shape: &Shape<'_>, spacing: Spacing, rng: &mut Rng) -> Result<Vec<f64>> {
    let next_target = |k: usize, rng: &mut Rng, previous: f64| match spacing {
        Spacing::Uniform => k as f64 + 0.5,
        Spacing::Poisson => previous + rng.exponential(),
    };
    let mut out = Vec::new();
    let mut target = next_target(0, rng, 0.0);
    let mut cumulative = 0.0;
    let steps = (shape.duration / GRID).ceil() as u64;
    for i in 0..steps {
        let t0 = i as f64 * GRID;
        let t1 = ((i + 1) as f64 * GRID).min(shape.duration);
        let rate = (shape.rate)((t0 + t1) / 2.0).max(0.0);
        let next = cumulative + rate * (t1 - t0);
        while target <= next && rate > 0.0 {
            out.push(t0 + (target - cumulative) / rate);
            if out.len() > MAX_ARRIVALS {
                bail!(
                    "experiments.scaling.load asks for more than {MAX_ARRIVALS} requests; lower the rate or the duration"
                );
            }
            target = next_target(out.len(), rng, target);
        }
        cumulative = next;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn per_second(s: &Schedule) -> Vec<usize> {
        let mut counts = vec![0; s.duration.ceil() as usize];
        for a in &s.arrivals {
            counts[a.t as usize] += 1;
        }
        counts
    }

    #[test]
    fn a_step_puts_exactly_the_rate_in_every_second() {
        let load = LoadConfig::Step {
            from: 10.0,
            to: 1000.0,
            at: 3.0,
            duration: 5.0,
        };
        let s = schedule(&load, Spacing::Uniform, 1, "f").unwrap();
        assert_eq!(per_second(&s), vec![10, 10, 10, 1000, 1000]);
        assert_eq!(s.steps, vec![(0.0, 10.0), (3.0, 1000.0)]);
        assert!((s.arrivals[0].t - 0.05).abs() < 1e-9);
        assert!(s.arrivals.windows(2).all(|w| w[0].t <= w[1].t));
    }

    #[test]
    fn bursts_and_ramps_follow_their_rates() {
        let burst = LoadConfig::Burst {
            base: 2.0,
            peak: 20.0,
            every: 4.0,
            length: 1.0,
            duration: 8.0,
        };
        let s = schedule(&burst, Spacing::Uniform, 1, "f").unwrap();
        assert_eq!(per_second(&s), vec![20, 2, 2, 2, 20, 2, 2, 2]);
        assert_eq!(s.steps, vec![(0.0, 20.0), (4.0, 20.0)]);
        let ramp = LoadConfig::Ramp {
            from: 0.0,
            to: 100.0,
            duration: 2.0,
        };
        // Λ(2) = 100: the first second carries 25, the second 75.
        assert_eq!(
            per_second(&schedule(&ramp, Spacing::Uniform, 1, "f").unwrap()),
            vec![25, 75]
        );
    }

    #[test]
    fn poisson_gaps_average_the_rate_and_repeat_with_the_seed() {
        let load = LoadConfig::Poisson {
            rate: 200.0,
            duration: 50.0,
        };
        let a = schedule(&load, Spacing::Uniform, 7, "f").unwrap();
        let b = schedule(&load, Spacing::Uniform, 7, "f").unwrap();
        assert_eq!(a, b);
        let n = a.arrivals.len() as f64;
        // 10,000 expected; a Poisson count's standard deviation is 100.
        assert!((n - 10_000.0).abs() < 500.0, "{n}");
        let gaps: Vec<f64> = a.arrivals.windows(2).map(|w| w[1].t - w[0].t).collect();
        let mean = gaps.iter().sum::<f64>() / gaps.len() as f64;
        let var = gaps.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / gaps.len() as f64;
        // Exponential gaps: the standard deviation equals the mean (coefficient of variation 1).
        assert!(
            ((var.sqrt() / mean) - 1.0).abs() < 0.05,
            "cv {}",
            var.sqrt() / mean
        );
    }

    #[test]
    fn a_sinusoid_peaks_a_quarter_period_in() {
        let load = LoadConfig::Sinusoid {
            mean: 100.0,
            amplitude: 100.0,
            period: 4.0,
            duration: 4.0,
        };
        let counts = per_second(&schedule(&load, Spacing::Uniform, 1, "f").unwrap());
        assert_eq!(counts.iter().sum::<usize>(), 400);
        assert!(counts[0] > counts[2] && counts[1] > counts[3], "{counts:?}");
    }

    #[test]
    fn bad_shapes_name_the_key() {
        let err = schedule(
            &LoadConfig::Constant {
                rate: -1.0,
                duration: 1.0,
            },
            Spacing::Uniform,
            1,
            "f",
        )
        .unwrap_err();
        assert!(err.to_string().contains("load.rate"), "{err}");
        let err = schedule(
            &LoadConfig::Constant {
                rate: 1.0,
                duration: 0.0,
            },
            Spacing::Uniform,
            1,
            "f",
        )
        .unwrap_err();
        assert!(err.to_string().contains("load.duration"), "{err}");
        assert!(Spacing::parse(Some("bursty")).is_err());
    }
}

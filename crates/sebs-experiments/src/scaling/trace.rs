//! Replay of the Azure Functions 2019 public trace format: one row per function
//! (`HashOwner,HashApp,HashFunction,Trigger,1,2,...,1440`), one column per minute holding that
//! minute's invocation count. As In-Vitro does, functions are sampled (seeded), a minute of the
//! trace is scaled to `minute-seconds` of experiment and counts by `rate-scale`.

use std::path::Path;

use anyhow::{Context, Result, bail};

use super::load::{Arrival, MAX_ARRIVALS, Rng, Schedule};

/// One function of a trace: its label and its counts per minute.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceFunction {
    /// `HashFunction` (or the row number when the file has no such column).
    pub label: String,
    /// Invocations per minute, from the file's first minute column.
    pub counts: Vec<u64>,
}

/// How to replay a trace.
#[derive(Debug, Clone, PartialEq)]
pub struct Replay {
    /// Functions to sample; `None`: every function with invocations in the window.
    pub functions: Option<usize>,
    /// First minute (0-based here).
    pub start: usize,
    /// Minutes; `None`: to the end.
    pub minutes: Option<usize>,
    /// Seconds per trace minute.
    pub minute_seconds: f64,
    /// Factor on the counts.
    pub rate_scale: f64,
    /// Random times within a minute instead of equidistant ones.
    pub random: bool,
    /// Seed of the sampling and the random times.
    pub seed: u64,
}

/// Read a trace file.
pub fn read(path: &Path) -> Result<Vec<TraceFunction>> {
    let text = std::fs::read_to_string(path).with_context(|| {
        format!(
            "experiments.scaling.load.path: cannot read the trace {}",
            path.display()
        )
    })?;
    parse(&text).with_context(|| format!("in the trace {}", path.display()))
}

/// Parse a trace's text.
pub fn parse(text: &str) -> Result<Vec<TraceFunction>> {
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((_, header)) = lines.next() else {
        bail!(
            "the file is empty: expected an Azure Functions trace header `HashOwner,HashApp,HashFunction,Trigger,1,2,...`"
        );
    };
    let names: Vec<&str> = header.split(',').map(str::trim).collect();
    let minutes: Vec<usize> = names
        .iter()
        .enumerate()
        .filter(|(_, n)| n.parse::<u32>().is_ok())
        .map(|(i, _)| i)
        .collect();
    if minutes.is_empty() {
        bail!(
            "the header has no minute columns (`1`, `2`, ... `1440`): not an Azure Functions invocation trace"
        );
    }
    let label_column = names.iter().position(|n| *n == "HashFunction");
    let mut out = Vec::new();
    for (number, line) in lines {
        let cells: Vec<&str> = line.split(',').map(str::trim).collect();
        if cells.len() != names.len() {
            bail!(
                "line {}: {} columns where the header has {}",
                number + 1,
                cells.len(),
                names.len()
            );
        }
        let counts = minutes
            .iter()
            .map(|&c| {
                cells[c].parse::<u64>().with_context(|| {
                    format!(
                        "line {}, column `{}`: `{}` is not a count",
                        number + 1,
                        names[c],
                        cells[c]
                    )
                })
            })
            .collect::<Result<Vec<u64>>>()?;
        let label =
            label_column.map_or_else(|| format!("row-{}", number + 1), |c| cells[c].to_owned());
        out.push(TraceFunction { label, counts });
    }
    if out.is_empty() {
        bail!("the trace has a header but no functions");
    }
    Ok(out)
}

/// The schedule of `replay` over `trace`: sampled functions in file order, their counts in the
/// window scaled, each minute's requests spread over its seconds.
pub fn schedule(trace: &[TraceFunction], replay: &Replay) -> Result<Schedule> {
    let length = trace[0].counts.len();
    if replay.start >= length {
        bail!(
            "experiments.scaling.load.start-minute: the trace has {length} minutes, it cannot start at minute {}",
            replay.start + 1
        );
    }
    let end = replay
        .minutes
        .map_or(length, |m| (replay.start + m).min(length));
    if !(replay.minute_seconds > 0.0 && replay.rate_scale > 0.0) {
        bail!("experiments.scaling.load: `minute-seconds` and `rate-scale` must be positive");
    }
    let active: Vec<&TraceFunction> = trace
        .iter()
        .filter(|f| f.counts[replay.start..end].iter().any(|&c| c > 0))
        .collect();
    let mut rng = Rng::new(replay.seed);
    let chosen = sample(&active, replay.functions, &mut rng)?;
    let mut arrivals = Vec::new();
    for (index, function) in chosen.iter().enumerate() {
        let mut cumulative = 0.0;
        for (m, &count) in function.counts[replay.start..end].iter().enumerate() {
            // Rounded cumulatively, so scaled totals stay exact.
            let before = (cumulative * replay.rate_scale).round() as u64;
            cumulative += count as f64;
            let n = (cumulative * replay.rate_scale).round() as u64 - before;
            spread(&mut arrivals, index as u32, m, n, replay, &mut rng)?;
        }
    }
    arrivals.sort_by(|a, b| a.t.total_cmp(&b.t).then(a.function.cmp(&b.function)));
    Ok(Schedule {
        arrivals,
        functions: chosen.iter().map(|f| f.label.clone()).collect(),
        duration: (end - replay.start) as f64 * replay.minute_seconds,
        steps: vec![],
    })
}

fn sample<'a>(
    active: &[&'a TraceFunction],
    wanted: Option<usize>,
    rng: &mut Rng,
) -> Result<Vec<&'a TraceFunction>> {
    let n = wanted.unwrap_or(active.len());
    if n == 0 || n > active.len() {
        bail!(
            "experiments.scaling.load.functions: {n} asked, the trace has {} functions with invocations in the chosen minutes",
            active.len()
        );
    }
    // A partial Fisher-Yates shuffle of indices, then back to file order.
    let mut indices: Vec<usize> = (0..active.len()).collect();
    for i in 0..n {
        let j = i + rng.below(active.len() - i);
        indices.swap(i, j);
    }
    let mut picked = indices[..n].to_vec();
    picked.sort_unstable();
    Ok(picked.into_iter().map(|i| active[i]).collect())
}

fn spread(
    out: &mut Vec<Arrival>,
    function: u32,
    minute: usize,
    n: u64,
    replay: &Replay,
    rng: &mut Rng,
) -> Result<()> {
    if out.len() as u64 + n > MAX_ARRIVALS as u64 {
        bail!(
            "the trace replay asks for more than {MAX_ARRIVALS} requests; lower `rate-scale` or `minutes`"
        );
    }
    let begin = minute as f64 * replay.minute_seconds;
    for j in 0..n {
        let within = if replay.random {
            rng.unit()
        } else {
            (j as f64 + 0.5) / n as f64
        };
        out.push(Arrival {
            t: begin + within * replay.minute_seconds,
            function,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRACE: &str = "HashOwner,HashApp,HashFunction,Trigger,1,2,3\n\
        o1,a1,f1,http,3,0,5\n\
        o1,a1,f2,timer,0,0,0\n\
        o2,a2,f3,queue,1,2,1\n";

    fn replay() -> Replay {
        Replay {
            functions: None,
            start: 0,
            minutes: None,
            minute_seconds: 2.0,
            rate_scale: 1.0,
            random: false,
            seed: 3,
        }
    }

    fn per_minute(s: &Schedule, function: u32, seconds: f64) -> Vec<usize> {
        let mut counts = vec![0; (s.duration / seconds).round() as usize];
        for a in s.arrivals.iter().filter(|a| a.function == function) {
            counts[(a.t / seconds) as usize] += 1;
        }
        counts
    }

    #[test]
    fn replays_the_counts_of_every_active_function() {
        let trace = parse(TRACE).unwrap();
        assert_eq!(trace.len(), 3);
        let s = schedule(&trace, &replay()).unwrap();
        assert_eq!(s.functions, vec!["f1", "f3"], "f2 never runs");
        assert_eq!(s.duration, 6.0);
        assert_eq!(per_minute(&s, 0, 2.0), vec![3, 0, 5]);
        assert_eq!(per_minute(&s, 1, 2.0), vec![1, 2, 1]);
        assert!(s.arrivals.windows(2).all(|w| w[0].t <= w[1].t));
    }

    #[test]
    fn windows_scales_and_samples() {
        let trace = parse(TRACE).unwrap();
        let s = schedule(
            &trace,
            &Replay {
                start: 1,
                minutes: Some(2),
                rate_scale: 2.0,
                random: true,
                ..replay()
            },
        )
        .unwrap();
        assert_eq!(per_minute(&s, 0, 2.0), vec![0, 10]);
        assert_eq!(per_minute(&s, 1, 2.0), vec![4, 2]);
        let one = schedule(
            &trace,
            &Replay {
                functions: Some(1),
                ..replay()
            },
        )
        .unwrap();
        assert_eq!(one.functions.len(), 1);
        assert_eq!(
            one,
            schedule(
                &trace,
                &Replay {
                    functions: Some(1),
                    ..replay()
                }
            )
            .unwrap()
        );
    }

    #[test]
    fn errors_name_the_line_and_the_key() {
        let err = parse("a,b,c\n1,2,3\n").unwrap_err();
        assert!(err.to_string().contains("minute columns"), "{err}");
        let err = parse("HashFunction,1,2\nf,1,x\n").unwrap_err();
        assert!(format!("{err:#}").contains("line 2, column `2`"), "{err:#}");
        let trace = parse(TRACE).unwrap();
        let err = schedule(
            &trace,
            &Replay {
                functions: Some(5),
                ..replay()
            },
        )
        .unwrap_err();
        assert!(err.to_string().contains("load.functions"), "{err}");
        let err = schedule(
            &trace,
            &Replay {
                start: 9,
                ..replay()
            },
        )
        .unwrap_err();
        assert!(err.to_string().contains("start-minute"), "{err}");
    }
}

//! Human-readable summaries: the table printed after `benchmark invoke`.

use std::fmt::Write;

use sebs_core::result::{ExecutionResult, ExperimentResult};
use sebs_core::stats::{median, percentile};

/// Format microseconds with an automatic unit: `812.0 µs`, `12.35 ms`, `1.204 s`.
pub fn format_us(us: f64) -> String {
    if us < 1_000.0 {
        format!("{us:.1} µs")
    } else if us < 1_000_000.0 {
        format!("{:.2} ms", us / 1_000.0)
    } else {
        format!("{:.3} s", us / 1_000_000.0)
    }
}

fn fmt_opt(v: Option<f64>) -> String {
    v.map(format_us).unwrap_or_else(|| "-".into())
}

/// The table printed after `benchmark invoke`: counts, client and function time percentiles of
/// cold and warm invocations, and the first ten failures with their cause.
pub fn invocation_summary(title: &str, experiment: &ExperimentResult) -> String {
    let all = experiment.ordered();
    let failures = all.iter().filter(|(_, r)| r.stats.failure).count();
    let invalid = all
        .iter()
        .filter(|(_, r)| r.validation.as_ref().is_some_and(|v| !v.passed))
        .count();
    let ok: Vec<&ExecutionResult> = all
        .iter()
        .map(|(_, r)| *r)
        .filter(|r| !r.stats.failure)
        .collect();
    let cold: Vec<&ExecutionResult> = ok.iter().copied().filter(|r| r.stats.cold_start).collect();
    let warm: Vec<&ExecutionResult> = ok.iter().copied().filter(|r| !r.stats.cold_start).collect();
    let mut out = String::new();
    let _ = writeln!(out, "{title}");
    let _ = write!(
        out,
        "  invocations: {}   failures: {}   cold: {}   warm: {}",
        all.len(),
        failures,
        cold.len(),
        warm.len()
    );
    if all.iter().any(|(_, r)| r.validation.is_some()) {
        let _ = write!(out, "   invalid: {invalid}");
    }
    out.push_str("\n\n");
    let _ = writeln!(
        out,
        "  {:<6} {:>4}  {:>12} {:>12}  {:>13} {:>13}",
        "", "n", "client p50", "client p95", "function p50", "function p95"
    );
    for (label, group) in [("cold", &cold), ("warm", &warm)] {
        let client: Vec<f64> = group.iter().map(|r| r.times.client as f64).collect();
        let function: Vec<f64> = group.iter().map(|r| r.times.benchmark as f64).collect();
        let _ = writeln!(
            out,
            "  {:<6} {:>4}  {:>12} {:>12}  {:>13} {:>13}",
            label,
            group.len(),
            fmt_opt(median(&client)),
            fmt_opt(percentile(&client, 95.0)),
            fmt_opt(median(&function)),
            fmt_opt(percentile(&function, 95.0)),
        );
    }
    let failed: Vec<_> = all.iter().filter(|(_, r)| !r.succeeded()).collect();
    if !failed.is_empty() {
        out.push_str("\n  failures:\n");
        for (_, r) in failed.iter().take(10) {
            let reason = match (&r.error, &r.validation) {
                (Some(e), _) => format!("{}: {}", e.kind, e.message.lines().next().unwrap_or("")),
                (None, Some(v)) => format!("validation: {}", v.message.as_deref().unwrap_or("")),
                _ => String::new(),
            };
            let id = if r.request_id.is_empty() {
                "-"
            } else {
                &r.request_id
            };
            let _ = writeln!(out, "    {id}  {reason}");
        }
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use sebs_core::result::{InvocationError, Validation};

    #[test]
    fn units_are_chosen_automatically() {
        assert_eq!(format_us(812.0), "812.0 µs");
        assert_eq!(format_us(12_345.0), "12.35 ms");
        assert_eq!(format_us(1_204_000.0), "1.204 s");
    }

    fn invocation(id: &str, n: u64, cold: bool, client: u64, function: u64) -> ExecutionResult {
        let mut r = ExecutionResult {
            request_id: id.into(),
            ..Default::default()
        };
        r.times.client_begin = format!("2024-01-01 00:00:0{n}.000000");
        r.stats.cold_start = cold;
        r.times.client = client;
        r.times.benchmark = function;
        r
    }

    #[test]
    fn summary_counts_groups_and_lists_failures() {
        let mut e = ExperimentResult::default();
        e.add("f", invocation("a", 0, true, 2_000_000, 1_500_000));
        e.add("f", invocation("b", 1, false, 10_000, 800));
        e.add("f", invocation("c", 2, false, 20_000, 900));
        let mut crashed = invocation("", 3, false, 5, 0);
        crashed.stats.failure = true;
        crashed.error = Some(InvocationError {
            kind: "Crash".into(),
            message: "exit 1\nmore".into(),
            traceback: vec![],
        });
        e.add("f", crashed);
        let mut wrong = invocation("d", 4, false, 30_000, 1_000);
        wrong.validation = Some(Validation {
            passed: false,
            message: Some("size differs".into()),
        });
        e.add("f", wrong);
        let text = invocation_summary("f on local", &e);
        let expected = "f on local\n  invocations: 5   failures: 1   cold: 1   warm: 3   invalid: 1\n\n\
            \x20           n    client p50   client p95   function p50  function p95\n\
            \x20 cold      1       2.000 s      2.000 s        1.500 s       1.500 s\n\
            \x20 warm      3      20.00 ms     29.00 ms       900.0 µs      990.0 µs\n\
            \n  failures:\n    -  Crash: exit 1\n    d  validation: size differs\n\n";
        assert_eq!(text, expected, "\n{text}");
    }
}

//! Processing: provider metrics (what a platform measured per request, as AWS's `REPORT` log
//! lines) filled into result files, as SeBS does from CloudWatch.

use std::collections::HashMap;

use sebs_core::result::{ExperimentResult, ProviderMetrics};
use serde_json::Value;

/// Fill `provider_times`, `billing` and `stats.memory_used` of every invocation whose request id
/// has metrics; returns `(filled, missing)`. Warm invocations get an initialization time of 0.
pub fn fill(
    experiment: &mut ExperimentResult,
    metrics: &HashMap<String, ProviderMetrics>,
) -> (usize, usize) {
    let (mut filled, mut missing) = (0, 0);
    for inv in experiment
        .invocations
        .values_mut()
        .flat_map(|m| m.values_mut())
    {
        let Some(m) = metrics.get(&inv.request_id) else {
            missing += 1;
            continue;
        };
        m.apply_to(inv);
        filled += 1;
    }
    (filled, missing)
}

/// The request ids of an experiment's invocations, in the order they were started; invocations
/// that failed before getting an id are left out.
pub fn request_ids(experiment: &ExperimentResult) -> Vec<String> {
    experiment
        .ordered()
        .into_iter()
        .map(|(_, r)| &r.request_id)
        .filter(|id| !id.is_empty())
        .cloned()
        .collect()
}

/// Drop the functions' payloads (`output.result.result` and `output.result.output`) to keep
/// processed files small, as SeBS does; measurements and the rest of the response stay.
pub fn strip_payloads(experiment: &mut ExperimentResult) {
    for inv in experiment
        .invocations
        .values_mut()
        .flat_map(|m| m.values_mut())
    {
        if let Some(result) = inv.output.get_mut("result").and_then(Value::as_object_mut) {
            result.remove("result");
            result.remove("output");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sebs_core::result::{Billing, ExecutionResult, ProviderTimes};
    use serde_json::json;

    fn invocation(id: &str, begin: &str) -> ExecutionResult {
        let mut r = ExecutionResult {
            request_id: id.into(),
            ..Default::default()
        };
        r.times.client_begin = begin.into();
        r
    }

    fn experiment() -> ExperimentResult {
        let mut e = ExperimentResult::default();
        e.add("f", invocation("cold", "2024-01-01 00:00:00.000001"));
        e.add("f", invocation("warm", "2024-01-01 00:00:00.000002"));
        e.add("g", invocation("lost", "2024-01-01 00:00:00.000000"));
        e.add("g", invocation("", "2024-01-01 00:00:00.000003"));
        e
    }

    #[test]
    fn fill_copies_exact_metrics_and_counts_missing() {
        let mut e = experiment();
        let metrics = HashMap::from([
            (
                "cold".to_owned(),
                ProviderMetrics {
                    execution_us: 12_345,
                    initialization_us: Some(250_000),
                    billed_ms: 263,
                    memory_mb: 256,
                    max_memory_used_mb: Some(61),
                },
            ),
            (
                "warm".to_owned(),
                ProviderMetrics {
                    execution_us: 1_500,
                    initialization_us: None,
                    billed_ms: 2,
                    memory_mb: 128,
                    max_memory_used_mb: None,
                },
            ),
        ]);
        assert_eq!(fill(&mut e, &metrics), (2, 2));
        let cold = &e.invocations["f"]["cold"];
        assert_eq!(
            cold.provider_times,
            ProviderTimes {
                execution: 12_345,
                initialization: 250_000
            }
        );
        // 263 ms × 256 MB = 0.263 s × 0.25 GB.
        assert_eq!(
            cold.billing,
            Billing {
                billed_time: Some(263),
                gb_seconds: 0.263 * 0.25,
                memory: Some(256)
            }
        );
        assert_eq!(cold.stats.memory_used, Some(61.0));
        let warm = &e.invocations["f"]["warm"];
        assert_eq!(
            warm.provider_times,
            ProviderTimes {
                execution: 1_500,
                initialization: 0
            }
        );
        // 2 ms × 128 MB = 0.002 s × 0.125 GB.
        assert_eq!(
            warm.billing,
            Billing {
                billed_time: Some(2),
                gb_seconds: 0.002 * 0.125,
                memory: Some(128)
            }
        );
        assert_eq!(warm.stats.memory_used, None);
        // No metrics: left as they were.
        let lost = &e.invocations["g"]["lost"];
        assert_eq!(lost.provider_times, ProviderTimes::default());
        assert_eq!(lost.billing, Billing::default());
    }

    #[test]
    fn request_ids_follow_start_order_and_skip_empty_ids() {
        assert_eq!(request_ids(&experiment()), ["lost", "cold", "warm"]);
        assert!(request_ids(&ExperimentResult::default()).is_empty());
    }

    #[test]
    fn payloads_are_stripped_and_measurements_kept() {
        let mut e = experiment();
        let output = json!({"begin": 1, "result": {"result": "big", "output": {"x": 1},
                             "measurement": {"compute_time": 5}}});
        e.invocations
            .get_mut("f")
            .unwrap()
            .get_mut("cold")
            .unwrap()
            .output = output;
        e.invocations
            .get_mut("f")
            .unwrap()
            .get_mut("warm")
            .unwrap()
            .output = json!("error text");
        strip_payloads(&mut e);
        assert_eq!(
            e.invocations["f"]["cold"].output,
            json!({"begin": 1, "result": {"measurement": {"compute_time": 5}}})
        );
        assert_eq!(e.invocations["f"]["warm"].output, json!("error text"));
    }
}

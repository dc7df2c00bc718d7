//! Provider metrics from Cloud Logging (`entries.list`).
//!
//! - 1st gen: the platform's line "Function execution took N ms, finished with status code: S"
//!   per execution, labelled `execution_id` (the request id the wrapper reports).
//! - 2nd gen and Cloud Run: the request log (`run.googleapis.com/requests`) with
//!   `httpRequest.latency` per request, whose `trace` ends with the trace id the wrapper reports.
//!
//! Billed time is the duration rounded up to 100 ms (Google's billing granularity).

use std::collections::HashMap;

use anyhow::Result;
use hyper::Method;
use sebs_core::result::ProviderMetrics;
use serde_json::{Value, json};

use crate::api::Api;
use crate::settings::Variant;

/// The Logging filter of one function's duration records, from `since` (RFC 3339).
pub fn filter(variant: Variant, project: &str, function: &str, since: &str) -> String {
    match variant {
        Variant::Gen1 => format!(
            "resource.type=\"cloud_function\" AND resource.labels.function_name=\"{function}\" AND textPayload:\"Function execution took\" AND timestamp>=\"{since}\""
        ),
        _ => format!(
            "logName=\"projects/{project}/logs/run.googleapis.com%2Frequests\" AND resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"{function}\" AND timestamp>=\"{since}\""
        ),
    }
}

/// `(request id, duration in µs)` of one log entry, if it is a duration record.
pub fn duration_of(variant: Variant, entry: &Value) -> Option<(String, u64)> {
    match variant {
        Variant::Gen1 => {
            let id = entry["labels"]["execution_id"].as_str()?;
            let text = entry["textPayload"].as_str()?;
            let ms: f64 = text
                .split("took ")
                .nth(1)?
                .split(" ms")
                .next()?
                .trim()
                .parse()
                .ok()?;
            Some((id.to_owned(), (ms * 1000.0).round() as u64))
        }
        _ => {
            let trace = entry["trace"].as_str()?;
            let id = trace.rsplit('/').next()?;
            let latency = entry["httpRequest"]["latency"].as_str()?;
            let seconds: f64 = latency.trim_end_matches('s').parse().ok()?;
            Some((id.to_owned(), (seconds * 1e6).round() as u64))
        }
    }
}

/// Provider metrics of `ids` of `function` (deployed with `memory_mb`), from logs since `since`.
pub async fn provider_metrics(
    api: &Api,
    project: &str,
    variant: Variant,
    function: &str,
    memory_mb: u64,
    since: &str,
    ids: &[String],
) -> Result<HashMap<String, ProviderMetrics>> {
    let wanted: std::collections::HashSet<&str> = ids.iter().map(String::as_str).collect();
    let url = format!("{}/v2/entries:list", api.endpoints.logging);
    let mut body = json!({
        "resourceNames": [format!("projects/{project}")],
        "filter": filter(variant, project, function, since),
        "orderBy": "timestamp asc",
        "pageSize": 1000,
    });
    let mut out = HashMap::new();
    loop {
        let page = api.call(Method::POST, &url, Some(&body)).await?;
        for entry in page["entries"].as_array().into_iter().flatten() {
            let Some((id, us)) = duration_of(variant, entry) else {
                continue;
            };
            if !wanted.contains(id.as_str()) {
                continue;
            }
            out.insert(
                id,
                ProviderMetrics {
                    execution_us: us,
                    initialization_us: None,
                    billed_ms: us.div_ceil(100_000) * 100,
                    memory_mb,
                    max_memory_used_mb: None,
                },
            );
        }
        match page["nextPageToken"].as_str().filter(|t| !t.is_empty()) {
            Some(t) => body["pageToken"] = t.into(),
            None => return Ok(out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_come_from_either_log() {
        let gen1 = json!({"labels": {"execution_id": "e1"}, "textPayload": "Function execution took 1234 ms, finished with status code: 200"});
        assert_eq!(
            duration_of(Variant::Gen1, &gen1),
            Some(("e1".into(), 1_234_000))
        );
        let run =
            json!({"trace": "projects/p/traces/abc", "httpRequest": {"latency": "0.012345s"}});
        assert_eq!(
            duration_of(Variant::Run, &run),
            Some(("abc".into(), 12_345))
        );
        assert_eq!(
            duration_of(Variant::Gen1, &json!({"textPayload": "hello"})),
            None
        );
    }
}

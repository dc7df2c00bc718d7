//! Provider metrics from CloudWatch Logs: the `REPORT` records of a run's request ids in the
//! log groups of its functions. Filtering happens here, on the client: emulators ignore
//! `filterPattern`.

use std::collections::{HashMap, HashSet};

use anyhow::Result;
use sebs_core::result::ProviderMetrics;

use crate::clients::Clients;

/// The log group of function `name`.
pub fn log_group(name: &str) -> String {
    format!("/aws/lambda/{name}")
}

/// REPORT records for `ids` in the log groups of `functions`, from `start_ms` (epoch ms) on.
/// Log groups that do not exist (yet) are skipped.
pub async fn reports(
    clients: &Clients,
    functions: &[String],
    ids: &[String],
    start_ms: i64,
) -> Result<HashMap<String, ProviderMetrics>> {
    let wanted: HashSet<&str> = ids.iter().map(String::as_str).collect();
    let mut found = HashMap::new();
    for function in functions {
        let group = log_group(function);
        let mut token: Option<String> = None;
        loop {
            let out = clients
                .logs
                .filter_log_events()
                .log_group_name(&group)
                .start_time(start_ms)
                .filter_pattern("REPORT")
                .set_next_token(token.clone())
                .send()
                .await;
            let out = match out {
                Ok(out) => out,
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_resource_not_found_exception()) =>
                {
                    tracing::debug!("no log group {group}");
                    break;
                }
                Err(e) => return Err(crate::sdk_error(e)),
            };
            for event in out.events() {
                let Some(message) = event.message() else {
                    continue;
                };
                for report in crate::report::reports_in(message) {
                    if wanted.contains(report.request_id.as_str()) {
                        found.insert(report.request_id, report.metrics);
                    }
                }
            }
            match out.next_token() {
                Some(next) if Some(next) != token.as_deref() && found.len() < wanted.len() => {
                    token = Some(next.to_owned());
                }
                _ => break,
            }
        }
    }
    Ok(found)
}

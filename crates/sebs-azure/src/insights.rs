//! Execution records from Application Insights: the `requests` table of the component the apps
//! report to, read through its query API (`POST /v1/apps/{appId}/query`, Kusto). Each function
//! execution is one row whose `customDimensions.InvocationId` is the invocation id the wrapper
//! returns as `request_id`.

use std::collections::HashMap;

use anyhow::{Context, Result, bail};
use sebs_core::result::ProviderMetrics;
use serde_json::{Value, json};

use crate::auth::TokenSource;
use crate::pricing;
use crate::settings::Endpoints;

/// The Kusto query for the executions `ids` of `app`.
pub fn query(app: &str, ids: &[String]) -> String {
    let quoted: Vec<String> = ids
        .iter()
        .map(|id| format!("'{}'", id.replace(['\'', '\\'], "")))
        .collect();
    format!(
        "requests | where timestamp > ago(30d) | where cloud_RoleName =~ '{}' | extend invocation = tostring(customDimensions['InvocationId']) | where invocation in ({}) | project invocation, duration, success, resultCode",
        app.replace(['\'', '\\'], ""),
        quoted.join(", ")
    )
}

/// Rows of the first table of a query answer as `column name → value` maps.
pub fn rows(answer: &Value) -> Result<Vec<HashMap<String, Value>>> {
    let table = &answer["tables"][0];
    let columns: Vec<String> = table["columns"]
        .as_array()
        .context("the Application Insights answer has no columns")?
        .iter()
        .map(|c| c["name"].as_str().unwrap_or_default().to_owned())
        .collect();
    Ok(table["rows"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r.as_array())
        .map(|r| columns.iter().cloned().zip(r.iter().cloned()).collect())
        .collect())
}

/// Metrics of the executions `ids` of `app`, whose functions have `memory_mb`.
pub async fn metrics(
    http: &reqwest::Client,
    tokens: &TokenSource,
    endpoints: &Endpoints,
    app_id: &str,
    app: &str,
    memory_mb: u64,
    ids: &[String],
) -> Result<HashMap<String, ProviderMetrics>> {
    let mut out = HashMap::new();
    // Kusto queries have a length limit; a few hundred ids per query keep well below it.
    for chunk in ids.chunks(200) {
        let token = tokens.token(endpoints.insights_scope()).await?;
        let url = format!("{}/v1/apps/{app_id}/query", endpoints.insights);
        let reply = http
            .post(&url)
            .bearer_auth(token.expose())
            .json(&json!({"query": query(app, chunk)}))
            .send()
            .await
            .context("cannot reach the Application Insights query API")?;
        let status = reply.status().as_u16();
        let body: Value = reply.json().await.unwrap_or_default();
        if status != 200 {
            bail!(
                "Application Insights answered HTTP {status} to the query of {app}: {} (the identity needs the Reader role on the component)",
                crate::arm::error_text(&body)
            );
        }
        for row in rows(&body)? {
            let Some(id) = row.get("invocation").and_then(|v| v.as_str()) else {
                continue;
            };
            let duration_ms = row.get("duration").and_then(|v| v.as_f64()).unwrap_or(0.0);
            out.insert(
                id.to_owned(),
                ProviderMetrics {
                    execution_us: (duration_ms * 1000.0).round() as u64,
                    initialization_us: None,
                    billed_ms: pricing::billed_ms(duration_ms),
                    memory_mb: pricing::billed_memory_mb(memory_mb),
                    max_memory_used_mb: None,
                },
            );
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_and_rows() {
        let q = query("sebs-a-b", &["1'; drop".into(), "2".into()]);
        assert!(q.contains("in ('1; drop', '2')"), "{q}");
        assert!(q.contains("cloud_RoleName =~ 'sebs-a-b'"));
        let answer = json!({"tables": [{"name": "PrimaryResult",
            "columns": [{"name": "invocation", "type": "string"}, {"name": "duration", "type": "real"}],
            "rows": [["a", 12.5], ["b", 300.0]]}]});
        let r = rows(&answer).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r[1]["duration"], 300.0);
    }
}

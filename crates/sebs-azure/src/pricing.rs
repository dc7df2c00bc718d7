//! Azure Functions' Consumption plan prices, from the dated table in
//! `data/functions-prices.json`, and its billing rules: memory rounded up to 128 MB, time up to
//! 1 ms, at least 128 MB and 100 ms per execution.

use serde::Deserialize;
use serde_json::Value;

const TABLE: &str = include_str!("../data/functions-prices.json");

/// The Consumption plan's price.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct Price {
    /// USD per GB-second.
    pub gb_second: f64,
    /// USD per execution.
    pub execution: f64,
}

/// The table's price and date.
pub fn price() -> (Price, String) {
    let table: Value = serde_json::from_str(TABLE).expect("the bundled price table is JSON");
    let price = serde_json::from_value(table.clone()).expect("the price table is well-formed");
    (price, table["date"].as_str().unwrap_or_default().to_owned())
}

/// Billed milliseconds of an execution that ran `duration_ms`.
pub fn billed_ms(duration_ms: f64) -> u64 {
    (duration_ms.ceil() as u64).max(100)
}

/// Billed memory (MB) of a function with `memory_mb`.
pub fn billed_memory_mb(memory_mb: u64) -> u64 {
    memory_mb.max(128).div_ceil(128) * 128
}

/// What the deployment record says about prices, so statistics can show costs later (the same
/// keys as the AWS backend's: `gb-second`, `request`).
pub fn record() -> Value {
    let (price, date) = price();
    serde_json::json!({
        "currency": "USD",
        "gb-second": price.gb_second,
        "request": price.execution,
        "date": date,
        "plan": "Consumption",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn billing_rules() {
        assert_eq!(billed_ms(3.2), 100);
        assert_eq!(billed_ms(250.01), 251);
        assert_eq!(billed_memory_mb(100), 128);
        assert_eq!(billed_memory_mb(129), 256);
        assert_eq!(billed_memory_mb(1536), 1536);
        let (p, date) = price();
        assert_eq!(p.gb_second, 0.000016);
        assert_eq!(date, "2026-11-30");
        assert_eq!(record()["request"], 0.0000002);
    }
}

//! Lambda's prices, from the dated table in `data/lambda-prices.json`: per GB-second of billed
//! duration and per request, per region and architecture (the first pricing tier).

use sebs_core::config::Architecture;
use serde::{Deserialize, Serialize};
use serde_json::Value;

const TABLE: &str = include_str!("../data/lambda-prices.json");

/// The price of one architecture in one region.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Price {
    /// USD per GB-second of billed duration.
    pub gb_second: f64,
    /// USD per request.
    pub request: f64,
}

impl Price {
    /// The cost of one invocation billed `gb_seconds`.
    pub fn invocation(&self, gb_seconds: f64) -> f64 {
        gb_seconds * self.gb_second + self.request
    }
}

/// The price of `architecture` in `region` (the table's default for regions it does not
/// list), and the table's date.
pub fn price(region: &str, architecture: Architecture) -> (Price, String) {
    let table: Value = serde_json::from_str(TABLE).expect("the bundled price table is JSON");
    let arch = match architecture {
        Architecture::X64 => "x86_64",
        Architecture::Arm64 => "arm64",
    };
    let entry = table["regions"]
        .get(region)
        .unwrap_or(&table["default"])
        .get(arch)
        .expect("the price table covers both architectures");
    let price = serde_json::from_value(entry.clone()).expect("price entries are well-formed");
    let date = table["date"].as_str().unwrap_or_default().to_owned();
    (price, date)
}

/// What the deployment record says about prices, so statistics can show costs later.
pub fn record(region: &str, architecture: Architecture) -> Value {
    let (price, date) = price(region, architecture);
    serde_json::json!({
        "currency": "USD",
        "gb-second": price.gb_second,
        "request": price.request,
        "date": date,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_region_and_default() {
        let (x86, date) = price("us-east-1", Architecture::X64);
        assert_eq!(x86.gb_second, 0.0000166667);
        assert_eq!(x86.request, 0.0000002);
        assert_eq!(date, "2026-12-01");
        let (arm, _) = price("us-east-1", Architecture::Arm64);
        assert!(arm.gb_second < x86.gb_second, "arm64 is cheaper per GB-s");
        let (unknown, _) = price("xx-nowhere-1", Architecture::X64);
        assert_eq!(unknown, x86);
        let (sa, _) = price("sa-east-1", Architecture::X64);
        assert!(sa.gb_second > x86.gb_second);
    }

    #[test]
    fn one_invocation() {
        let (p, _) = price("us-east-1", Architecture::X64);
        // 1 s at 1024 MB = 1 GB-s.
        let cost = p.invocation(1.0);
        assert!((cost - 0.0000168667).abs() < 1e-12, "{cost}");
        // A million 100 ms invocations at 128 MB: 12,500 GB-s.
        let million = 1e6 * p.invocation(0.1 * 128.0 / 1024.0);
        assert!(
            (million - (12_500.0 * 0.0000166667 + 0.2)).abs() < 1e-6,
            "{million}"
        );
    }
}

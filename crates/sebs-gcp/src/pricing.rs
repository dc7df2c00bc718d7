//! Prices of Cloud Functions (1st gen: GB-seconds, GHz-seconds and requests) and of Cloud Run
//! (2nd gen functions and services: GiB-seconds, vCPU-seconds and requests), from the dated
//! table in `data/gcp-prices.json` (Tier 1 regions, before the free tier).
//!
//! Results keep one price per GB-second of billed time (what statistics multiply by): the CPU
//! part is folded in, as a function's CPU is fixed by its memory (1st gen) or its settings.

use serde_json::{Value, json};

use crate::settings::Variant;

const TABLE: &str = include_str!("../data/gcp-prices.json");

/// USD per GB-second of billed time, CPU included, and per request.
pub fn price(variant: Variant, memory_mb: u64, vcpus: u32) -> (f64, f64) {
    let table: Value = serde_json::from_str(TABLE).expect("the bundled price table is JSON");
    match variant {
        Variant::Gen1 => {
            let t = &table["function-gen1"];
            let memory = crate::deploy::gen1_memory(memory_mb);
            let ghz = t["ghz-by-memory-mb"][memory.to_string()]
                .as_f64()
                .unwrap_or(4.8);
            let gb = memory as f64 / 1024.0;
            let per_gb = t["gb-second"].as_f64().unwrap_or(0.0)
                + t["ghz-second"].as_f64().unwrap_or(0.0) * ghz / gb;
            (per_gb, t["request"].as_f64().unwrap_or(0.0))
        }
        Variant::Gen2 | Variant::Run => {
            let t = &table["run"];
            let gib = memory_mb as f64 / 1024.0;
            let per_gb = t["gib-second"].as_f64().unwrap_or(0.0)
                + t["vcpu-second"].as_f64().unwrap_or(0.0) * vcpus as f64 / gib;
            (per_gb, t["request"].as_f64().unwrap_or(0.0))
        }
    }
}

/// What the deployment record says about prices (`gb-second`, `request`, `date`).
pub fn record(variant: Variant, memory_mb: u64, vcpus: u32) -> Value {
    let table: Value = serde_json::from_str(TABLE).expect("the bundled price table is JSON");
    let (gb_second, request) = price(variant, memory_mb, vcpus);
    json!({
        "currency": "USD",
        "gb-second": gb_second,
        "request": request,
        "date": table["date"],
        "source": table["source"],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gen1_folds_in_the_cpu_of_its_memory_size() {
        // 256 MB: 0.25 GB, 0.4 GHz: 0.0000025 + 0.00001 * 0.4 / 0.25 per GB-second.
        let (gb, req) = price(Variant::Gen1, 200, 1);
        assert!((gb - 0.0000185).abs() < 1e-12, "{gb}");
        assert!((req - 0.0000004).abs() < 1e-15);
    }

    #[test]
    fn run_folds_in_its_vcpus() {
        let (gb, _) = price(Variant::Run, 512, 1);
        assert!((gb - (0.0000025 + 0.000024 * 2.0)).abs() < 1e-12, "{gb}");
        assert_eq!(record(Variant::Gen2, 512, 1)["date"], "2025-06-01");
    }
}

//! What a workflow request costs on AWS: Lambda GB-seconds and requests (the dated table of
//! `crates/sebs-aws/data/lambda-prices.json`, x86_64) plus Step Functions Standard state
//! transitions (`data/stepfunctions-prices.json`, dated, with its source).

use serde::{Deserialize, Serialize};
use serde_json::Value;

const LAMBDA: &str = include_str!("../../sebs-aws/data/lambda-prices.json");
const STEP_FUNCTIONS: &str = include_str!("../data/stepfunctions-prices.json");

/// Prices of one region, with the dates of the tables they come from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Prices {
    /// The region priced (the tables' default for regions they do not list).
    pub region: String,
    /// USD per GB-second of Lambda (x86_64).
    pub gb_second: f64,
    /// USD per Lambda request.
    pub request: f64,
    /// USD per Step Functions (Standard) state transition.
    pub transition: f64,
    /// Date of the Lambda table.
    pub lambda_date: String,
    /// Date of the Step Functions table.
    pub stepfunctions_date: String,
}

fn entry<'a>(table: &'a Value, region: &str) -> &'a Value {
    table["regions"].get(region).unwrap_or(&table["default"])
}

impl Prices {
    /// The prices in `region`.
    pub fn aws(region: &str) -> Prices {
        let lambda: Value =
            serde_json::from_str(LAMBDA).expect("the bundled Lambda price table is JSON");
        let sfn: Value = serde_json::from_str(STEP_FUNCTIONS)
            .expect("the bundled Step Functions price table is JSON");
        let l = &entry(&lambda, region)["x86_64"];
        Prices {
            region: region.to_string(),
            gb_second: l["gb_second"].as_f64().unwrap_or_default(),
            request: l["request"].as_f64().unwrap_or_default(),
            transition: entry(&sfn, region)["transition"]
                .as_f64()
                .unwrap_or_default(),
            lambda_date: lambda["date"].as_str().unwrap_or_default().to_string(),
            stepfunctions_date: sfn["date"].as_str().unwrap_or_default().to_string(),
        }
    }
}

/// The cost of one request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Cost {
    /// Function duration: GB-seconds × price.
    pub functions_usd: f64,
    /// Function requests × price.
    pub requests_usd: f64,
    /// State transitions × price.
    pub transitions_usd: f64,
    /// The sum.
    pub total_usd: f64,
}

impl Cost {
    /// The cost of `gb_seconds` over `requests` invocations and `transitions` transitions.
    pub fn of(prices: &Prices, gb_seconds: f64, requests: u64, transitions: u64) -> Cost {
        let functions_usd = gb_seconds * prices.gb_second;
        let requests_usd = requests as f64 * prices.request;
        let transitions_usd = transitions as f64 * prices.transition;
        Cost {
            functions_usd,
            requests_usd,
            transitions_usd,
            total_usd: functions_usd + requests_usd + transitions_usd,
        }
    }
}

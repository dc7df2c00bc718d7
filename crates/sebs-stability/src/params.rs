//! What the analysis can be told: the metric, which invocations count, confidence level, and
//! the change-point detector's penalty and minimum segment length.

use serde::{Deserialize, Serialize};

use crate::series::Observation;

/// Which time of an invocation is analysed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Metric {
    /// Round trip measured by the client.
    #[default]
    Client,
    /// Time measured inside the function.
    Function,
    /// Execution time the provider reported.
    Provider,
}

impl Metric {
    /// The metric's value for one invocation (µs), if measured.
    pub fn of(self, o: &Observation) -> Option<u64> {
        match self {
            Metric::Client => Some(o.client_us),
            Metric::Function => o.function_us,
            Metric::Provider => o.provider_us,
        }
    }

    /// The name, as `--metric` takes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Metric::Client => "client",
            Metric::Function => "function",
            Metric::Provider => "provider",
        }
    }
}

impl std::str::FromStr for Metric {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "client" => Ok(Metric::Client),
            "function" => Ok(Metric::Function),
            "provider" => Ok(Metric::Provider),
            other => Err(format!(
                "unknown metric `{other}`; use one of client, function, provider"
            )),
        }
    }
}

/// The cost added per change point by the detector (in units of the noise variance of the
/// per-slot log medians; docs/stability-analysis.md).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", tag = "kind", content = "value")]
pub enum Penalty {
    /// Schwarz's information criterion for a change in mean: `2 ln n` for `n` slots.
    Bic,
    /// The penalty of the modified BIC of Zhang and Siegmund (2007) as the R changepoint
    /// package sets it for a change in mean: `3 ln n` (without MBIC's segment-length term).
    /// Fewer false alarms than BIC on long series; the default.
    #[default]
    Mbic,
    /// A fixed value (≥ 0): larger finds fewer, larger shifts.
    Value(f64),
}

impl Penalty {
    /// The penalty for a sequence of `n` slots.
    pub fn value(self, n: usize) -> f64 {
        let ln = (n.max(2) as f64).ln();
        match self {
            Penalty::Bic => 2.0 * ln,
            Penalty::Mbic => 3.0 * ln,
            Penalty::Value(v) => v,
        }
    }
}

impl std::str::FromStr for Penalty {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "bic" => Ok(Penalty::Bic),
            "mbic" => Ok(Penalty::Mbic),
            other => match other.parse::<f64>() {
                Ok(v) if v.is_finite() && v >= 0.0 => Ok(Penalty::Value(v)),
                _ => Err(format!(
                    "invalid penalty `{s}`; use `bic`, `mbic` or a number ≥ 0 (larger finds fewer change points)"
                )),
            },
        }
    }
}

/// Parameters of [`crate::analyse`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Params {
    /// The time analysed.
    pub metric: Metric,
    /// Whether cold starts count in the per-slot statistics and the change-point detection
    /// (they always count for tail outliers, where they are attributed as such). Default: no.
    pub include_cold: bool,
    /// Confidence level of every band and interval, e.g. 0.95.
    pub level: f64,
    /// Change-point penalty.
    pub penalty: Penalty,
    /// Fewest slots between two change points (and before the first, after the last).
    pub min_segment: usize,
    /// Quantile above which an invocation is a tail outlier, e.g. 0.99.
    pub tail_quantile: f64,
    /// Most outliers listed (the largest first); all are counted.
    pub max_outliers: usize,
    /// Whether a significant daily cycle of the slot medians is taken out before the
    /// change-point search (`daily` module), so that it is not cut into level shifts.
    pub daily_adjustment: bool,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            metric: Metric::Client,
            include_cold: false,
            level: 0.95,
            penalty: Penalty::Mbic,
            min_segment: 3,
            tail_quantile: 0.99,
            max_outliers: 100,
            daily_adjustment: true,
        }
    }
}

impl Params {
    /// Check the ranges; the message names the parameter and its valid range.
    pub fn validate(&self) -> anyhow::Result<()> {
        if !(self.level > 0.5 && self.level < 1.0) {
            anyhow::bail!(
                "confidence level {} is out of range; use a value in (0.5, 1), e.g. 0.95",
                self.level
            );
        }
        if !(self.tail_quantile > 0.5 && self.tail_quantile < 1.0) {
            anyhow::bail!(
                "tail quantile {} is out of range; use a value in (0.5, 1), e.g. 0.99",
                self.tail_quantile
            );
        }
        if self.min_segment < 2 {
            anyhow::bail!(
                "minimum segment length {} is too short; use 2 slots or more",
                self.min_segment
            );
        }
        if let Penalty::Value(v) = self.penalty
            && !(v.is_finite() && v >= 0.0)
        {
            anyhow::bail!("penalty {v} is invalid; use a finite number ≥ 0, `bic` or `mbic`");
        }
        Ok(())
    }
}

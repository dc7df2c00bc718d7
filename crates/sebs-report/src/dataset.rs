//! The data of reports, comparisons and statistics: each invocation reduced to the numbers they
//! use ([`Sample`]), grouped by function and configuration ([`Group`]).
//!
//! Result files are read by streaming: serde visits the file an invocation at a time and keeps
//! only its [`Sample`] (72 bytes), never the JSON tree or the functions' payloads, so a file of a
//! million invocations is read in bounded memory (about 72 MB of samples).

use std::collections::BTreeMap;
use std::fmt;
use std::io::BufReader;
use std::marker::PhantomData;
use std::path::Path;

use anyhow::{Context, Result};
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// One invocation: times in microseconds (integers in the format; kept exactly up to 71
/// minutes), measurements in microseconds (`NaN` when the benchmark did not report them).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// When the client started the request: seconds since 1970 of the local wall-clock time
    /// the results record (`NaN` when unknown).
    pub begin: f64,
    /// Client time: request sent to response received.
    pub client: u32,
    /// Function time: `end − begin` of the wrapper inside the function.
    pub benchmark: u32,
    /// Provider-measured execution time (0 when the platform reports none).
    pub provider: u32,
    /// Provider-measured initialization time of a cold start (0 when none).
    pub init: u32,
    /// The benchmark's `compute_time` measurement.
    pub compute: f64,
    /// The benchmark's `download_time` measurement.
    pub download: f64,
    /// The benchmark's `upload_time` measurement.
    pub upload: f64,
    /// Billed GB-seconds (`NaN` when billing is unknown).
    pub gb_seconds: f64,
    /// Billed memory in MB (0 when unknown).
    pub memory_mb: u32,
    /// Whether it was a cold start.
    pub cold: bool,
    /// Whether the invocation failed.
    pub failed: bool,
    /// Whether its output failed validation.
    pub invalid: bool,
}

/// A time of an invocation, in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Metric {
    /// Client time.
    Client,
    /// Provider execution time.
    Provider,
    /// Function (benchmark) time.
    Benchmark,
    /// Provider initialization time.
    Init,
    /// The benchmark's compute time.
    Compute,
    /// The benchmark's storage download time.
    Download,
    /// The benchmark's storage upload time.
    Upload,
}

impl Metric {
    /// Every metric, in table order.
    pub const ALL: [Metric; 7] = [
        Metric::Client,
        Metric::Provider,
        Metric::Benchmark,
        Metric::Init,
        Metric::Compute,
        Metric::Download,
        Metric::Upload,
    ];

    /// The metric's name on the command line and in exports.
    pub fn as_str(self) -> &'static str {
        match self {
            Metric::Client => "client",
            Metric::Provider => "provider",
            Metric::Benchmark => "benchmark",
            Metric::Init => "init",
            Metric::Compute => "compute",
            Metric::Download => "download",
            Metric::Upload => "upload",
        }
    }

    /// The metric's value for `s` (µs), `None` when not measured.
    pub fn value(self, s: &Sample) -> Option<f64> {
        let measured = |x: f64| (!x.is_nan()).then_some(x);
        match self {
            Metric::Client => Some(f64::from(s.client)),
            Metric::Provider => Some(f64::from(s.provider)),
            Metric::Benchmark => Some(f64::from(s.benchmark)),
            Metric::Init => Some(f64::from(s.init)),
            Metric::Compute => measured(s.compute),
            Metric::Download => measured(s.download),
            Metric::Upload => measured(s.upload),
        }
    }

    /// Values of the metric over `samples` (µs), unmeasured ones left out.
    pub fn values<'a>(self, samples: impl IntoIterator<Item = &'a Sample>) -> Vec<f64> {
        samples.into_iter().filter_map(|s| self.value(s)).collect()
    }
}

/// A failed invocation's cause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Error class (`Timeout`, `Crash`, an exception type, `validation`).
    pub kind: String,
    /// The first line of the message.
    pub message: String,
    /// Request id (`-` when the request never got one).
    pub request_id: String,
}

/// Failures kept per group with their message (all are counted).
pub const FAILURES_KEPT: usize = 50;

/// The invocations of one function in one configuration.
#[derive(Debug, Clone, Default)]
pub struct Group {
    /// Function name.
    pub function: String,
    /// Configuration (`""` for a plain run; e.g. `warm, 256 MB` in perf-cost).
    pub configuration: String,
    /// Configured memory (MB), when the run varies it.
    pub memory_mb: Option<u64>,
    /// Every invocation, in file order.
    pub samples: Vec<Sample>,
    /// Failures by class: (count, first message).
    pub failure_kinds: BTreeMap<String, (usize, String)>,
    /// The first [`FAILURES_KEPT`] failures.
    pub failures: Vec<Failure>,
}

impl Group {
    /// `function` or `function (configuration)`: how tables and legends name the group.
    pub fn label(&self) -> String {
        if self.configuration.is_empty() {
            self.function.clone()
        } else {
            format!("{} ({})", self.function, self.configuration)
        }
    }

    /// Successful invocations (validated ones included unless their output was wrong).
    pub fn ok(&self) -> impl Iterator<Item = &Sample> {
        self.samples.iter().filter(|s| !s.failed && !s.invalid)
    }

    fn record_failure(&mut self, failure: Failure) {
        let entry = self
            .failure_kinds
            .entry(failure.kind.clone())
            .or_insert((0, failure.message.clone()));
        entry.0 += 1;
        if self.failures.len() < FAILURES_KEPT {
            self.failures.push(failure);
        }
    }

    /// Add an invocation.
    fn push(&mut self, raw: RawInvocation) {
        let sample = raw.sample();
        if let Some(failure) = raw.failure(&sample) {
            self.record_failure(failure);
        }
        self.samples.push(sample);
    }
}

/// A result file (`experiments.json`, `results.json`, perf-cost's `<type>_results_<memory>.json`).
#[derive(Debug, Clone, Default)]
pub struct ResultFile {
    /// One group per function.
    pub groups: Vec<Group>,
    /// The `config` block.
    pub config: Value,
    /// Start of the run (epoch seconds; 0 when absent).
    pub begin_time: f64,
    /// End of the run (epoch seconds; 0 when absent).
    pub end_time: f64,
    /// perf-cost's `statistics` block (Null elsewhere).
    pub statistics: Value,
}

/// Read a result file by streaming; every function becomes a group with `configuration` and
/// `memory_mb`. Errors name the file and say what was expected.
pub fn read_result_file(
    path: &Path,
    configuration: &str,
    memory_mb: Option<u64>,
) -> Result<ResultFile> {
    let file = std::fs::File::open(path)
        .with_context(|| format!("failed to read result file {}", path.display()))?;
    let reader = BufReader::with_capacity(1 << 20, file);
    let mut de = serde_json::Deserializer::from_reader(reader);
    let mut result = de
        .deserialize_map(FileVisitor)
        .and_then(|r| de.end().map(|()| r))
        .map_err(|e| {
            anyhow::anyhow!(
                "{} is not a SeBS result file ({e}); expected a file written by `sebs benchmark invoke` or `sebs experiment invoke`",
                path.display()
            )
        })?;
    for group in &mut result.groups {
        group.configuration = configuration.to_owned();
        group.memory_mb = memory_mb;
    }
    Ok(result)
}

/// Seconds since 1970 of a `YYYY-mm-dd HH:MM:SS[.ffffff]` timestamp (read as UTC: only
/// differences matter); `None` when it is not one.
pub fn parse_timestamp(text: &str) -> Option<f64> {
    let (date, time) = text.trim().split_once([' ', 'T'])?;
    let mut d = date.splitn(3, '-').map(str::parse::<i64>);
    let (year, month, day) = (d.next()?.ok()?, d.next()?.ok()?, d.next()?.ok()?);
    let mut t = time.splitn(3, ':');
    let hour: i64 = t.next()?.parse().ok()?;
    let minute: i64 = t.next()?.parse().ok()?;
    let second: f64 = t.next()?.parse().ok()?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    // Days from 1970-01-01 of a proleptic Gregorian date (the era algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some((days * 86_400 + hour * 3600 + minute * 60) as f64 + second)
}

/// The parts of an invocation a [`Sample`] is made of.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct RawInvocation {
    billing: RawBilling,
    output: Lenient<RawOutput>,
    provider_times: RawProviderTimes,
    request_id: String,
    stats: RawStats,
    times: RawTimes,
    error: Option<RawError>,
    validation: Option<RawValidation>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawBilling {
    #[serde(rename = "_billed_time")]
    billed_time: Option<f64>,
    #[serde(rename = "_gb_seconds")]
    gb_seconds: Option<f64>,
    #[serde(rename = "_memory")]
    memory: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawOutput {
    result: Lenient<RawResult>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawResult {
    measurement: Lenient<BTreeMap<String, Value>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawProviderTimes {
    execution: f64,
    initialization: f64,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawStats {
    cold_start: bool,
    failure: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawTimes {
    benchmark: f64,
    client: f64,
    client_begin: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawError {
    #[serde(rename = "type")]
    kind: String,
    message: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawValidation {
    passed: bool,
    message: Option<String>,
}

/// Microseconds as stored: rounded, clamped to `0..=u32::MAX`.
fn micros(x: f64) -> u32 {
    if x.is_finite() {
        x.round().clamp(0.0, f64::from(u32::MAX)) as u32
    } else {
        0
    }
}

impl RawInvocation {
    fn measurement(&self, key: &str) -> f64 {
        self.output
            .0
            .as_ref()
            .and_then(|o| o.result.0.as_ref())
            .and_then(|r| r.measurement.0.as_ref())
            .and_then(|m| m.get(key))
            .and_then(Value::as_f64)
            .unwrap_or(f64::NAN)
    }

    fn sample(&self) -> Sample {
        let billed = self.billing.billed_time.is_some();
        Sample {
            begin: parse_timestamp(&self.times.client_begin).unwrap_or(f64::NAN),
            client: micros(self.times.client),
            benchmark: micros(self.times.benchmark),
            provider: micros(self.provider_times.execution),
            init: micros(self.provider_times.initialization),
            compute: self.measurement("compute_time"),
            download: self.measurement("download_time"),
            upload: self.measurement("upload_time"),
            gb_seconds: match (billed, self.billing.gb_seconds) {
                (true, Some(gb_s)) => gb_s,
                _ => f64::NAN,
            },
            memory_mb: self.billing.memory.map_or(0, micros),
            cold: self.stats.cold_start,
            failed: self.stats.failure,
            invalid: self.validation.as_ref().is_some_and(|v| !v.passed),
        }
    }

    fn failure(&self, sample: &Sample) -> Option<Failure> {
        let (kind, message) = match (&self.error, &self.validation) {
            (Some(e), _) if sample.failed => (e.kind.clone(), e.message.clone()),
            (None, _) if sample.failed => ("unknown".into(), "stats.failure is set".into()),
            (_, Some(v)) if sample.invalid => {
                ("validation".into(), v.message.clone().unwrap_or_default())
            }
            _ => return None,
        };
        Some(Failure {
            kind,
            message: message.lines().next().unwrap_or("").to_owned(),
            request_id: if self.request_id.is_empty() {
                "-".into()
            } else {
                self.request_id.clone()
            },
        })
    }
}

/// The group of a list of invocations (a regression test's `invocations`).
pub(crate) fn group_of(
    function: &str,
    configuration: &str,
    invocations: Vec<RawInvocation>,
) -> Group {
    let mut group = Group {
        function: function.to_owned(),
        configuration: configuration.to_owned(),
        ..Group::default()
    };
    for raw in invocations {
        group.push(raw);
    }
    group
}

/// A value read when it is a JSON object, ignored (as `None`) when it is anything else: a
/// failed invocation's `output` may be a string.
#[derive(Debug)]
pub(crate) struct Lenient<T>(pub(crate) Option<T>);

impl<T> Default for Lenient<T> {
    fn default() -> Self {
        Lenient(None)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Lenient<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(LenientVisitor(PhantomData))
    }
}

struct LenientVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for LenientVisitor<T> {
    type Value = Lenient<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        T::deserialize(de::value::MapAccessDeserializer::new(map)).map(|t| Lenient(Some(t)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Lenient(None))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(Lenient(None))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Lenient(None))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Lenient(None))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Lenient(None))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Lenient(None))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Lenient(None))
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Lenient(None))
    }
}

/// The top level of a result file.
struct FileVisitor;

impl<'de> Visitor<'de> for FileVisitor {
    type Value = ResultFile;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object with `_invocations`")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ResultFile, A::Error> {
        let mut result = ResultFile::default();
        let mut seen_invocations = false;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "_invocations" => {
                    result.groups = map.next_value_seed(FunctionsSeed)?;
                    seen_invocations = true;
                }
                "config" => result.config = map.next_value()?,
                "statistics" => result.statistics = map.next_value()?,
                "begin_time" => result.begin_time = map.next_value::<Option<f64>>()?.unwrap_or(0.0),
                "end_time" => result.end_time = map.next_value::<Option<f64>>()?.unwrap_or(0.0),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if !seen_invocations {
            return Err(de::Error::missing_field("_invocations"));
        }
        Ok(result)
    }
}

/// `_invocations`: function name → (request id → invocation).
struct FunctionsSeed;

impl<'de> DeserializeSeed<'de> for FunctionsSeed {
    type Value = Vec<Group>;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Vec<Group>, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for FunctionsSeed {
    type Value = Vec<Group>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object of functions")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Vec<Group>, A::Error> {
        let mut groups = Vec::new();
        while let Some(function) = map.next_key::<String>()? {
            let mut group = Group {
                function,
                ..Group::default()
            };
            map.next_value_seed(InvocationsSeed(&mut group))?;
            groups.push(group);
        }
        Ok(groups)
    }
}

/// One function's invocations (request id → invocation), pushed into a group.
struct InvocationsSeed<'g>(&'g mut Group);

impl<'de> DeserializeSeed<'de> for InvocationsSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for InvocationsSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object of invocations by request id")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while map.next_key::<IgnoredAny>()?.is_some() {
            let raw: RawInvocation = map.next_value()?;
            self.0.push(raw);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;

//! The input of the analysis: a series of slots (one scheduled run each) of one benchmark on one
//! platform in one configuration, with every invocation of every slot.
//!
//! The JSON form is these types through serde: a file holds one [`Series`] object or an array
//! of them (docs/stability-analysis.md shows an example).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What a series measures: one benchmark on one platform in one configuration.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SeriesKey {
    /// Benchmark name, e.g. `110.dynamic-html`.
    pub benchmark: String,
    /// Platform name, e.g. `aws` or `local`.
    pub platform: String,
    /// The configuration in one string, e.g. `python-3.11 x64 256MB` (free-form, compared as
    /// text: two series with different strings are different series).
    pub configuration: String,
}

impl std::fmt::Display for SeriesKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} on {} ({})",
            self.benchmark, self.platform, self.configuration
        )
    }
}

/// One measured invocation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    /// The request id (the provider's where known), to find the invocation in the raw results.
    pub request_id: String,
    /// When the client started the request.
    pub at: DateTime<Utc>,
    /// Round trip measured by the client (µs).
    pub client_us: u64,
    /// Time measured inside the function (the benchmark's own timer, µs), if known.
    #[serde(default)]
    pub function_us: Option<u64>,
    /// Execution time the provider reported (µs), if known.
    #[serde(default)]
    pub provider_us: Option<u64>,
    /// Whether the invocation was a cold start.
    #[serde(default)]
    pub cold: bool,
    /// The function instance (container, sandbox) that served it, if known.
    #[serde(default)]
    pub instance: Option<String>,
    /// Size of the request payload (bytes), if known.
    #[serde(default)]
    pub payload_bytes: Option<u64>,
    /// Whether the invocation succeeded. Failed ones are counted per slot and kept out of the
    /// latency statistics.
    pub success: bool,
    /// Why it failed (the error class or message), for failed invocations.
    #[serde(default)]
    pub error: Option<String>,
}

/// One scheduled run: its position in the schedule and its invocations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Slot {
    /// Position in the schedule (0, 1, 2, …; gaps where a run is missing).
    pub index: u64,
    /// When the slot's run started; hour-of-day and day-of-week effects use it (UTC).
    pub start: DateTime<Utc>,
    /// Every invocation of the run, failed ones included.
    pub invocations: Vec<Observation>,
}

/// A series: slots in schedule order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Series {
    /// What is measured.
    pub key: SeriesKey,
    /// The slots, by increasing `index`.
    pub slots: Vec<Slot>,
}

impl Series {
    /// Check what the analysis relies on: a complete key, slot indices strictly increasing.
    pub fn validate(&self) -> Result<()> {
        for (field, value) in [
            ("benchmark", &self.key.benchmark),
            ("platform", &self.key.platform),
            ("configuration", &self.key.configuration),
        ] {
            if value.trim().is_empty() {
                bail!(
                    "the series key has an empty `{field}`; every series needs a benchmark, a platform and a configuration"
                );
            }
        }
        for pair in self.slots.windows(2) {
            if pair[1].index <= pair[0].index {
                bail!(
                    "series {}: slot {} follows slot {}; slots must be listed by strictly increasing `index` (one entry per scheduled run)",
                    self.key,
                    pair[1].index,
                    pair[0].index
                );
            }
        }
        Ok(())
    }

    /// Successful and failed invocations in all slots.
    pub fn invocations(&self) -> usize {
        self.slots.iter().map(|s| s.invocations.len()).sum()
    }
}

/// Read series from a JSON file (one series object or an array of them) or from every `*.json`
/// file of a directory (in name order). Every series is validated.
pub fn load(path: &Path) -> Result<Vec<Series>> {
    let files = input_files(path)?;
    let mut all = Vec::new();
    for file in files {
        all.extend(series_in(&read_json(&file)?, &file)?);
    }
    unique_keys(all.iter().map(|s| &s.key), path)?;
    Ok(all)
}

/// Refuse a key that appears twice among the series or analyses read from `path`.
pub(crate) fn unique_keys<'a>(
    keys: impl Iterator<Item = &'a SeriesKey>,
    path: &Path,
) -> Result<()> {
    let mut seen = BTreeSet::new();
    for key in keys {
        if !seen.insert(key) {
            bail!(
                "series {key} appears twice under {}; give each benchmark, platform and configuration one series",
                path.display()
            );
        }
    }
    Ok(())
}

/// The files `path` names: itself, or the `*.json` files of a directory in name order.
pub(crate) fn input_files(path: &Path) -> Result<Vec<PathBuf>> {
    if path.is_dir() {
        json_files(path)
    } else {
        Ok(vec![path.to_path_buf()])
    }
}

/// Whether `path` holds series rather than results: a file whose JSON text starts, ignoring
/// whitespace, with `{"key"` or `[{"key"` (as serde writes a [`Series`] or an array of them),
/// or a directory whose `*.json` files all do. Reads at most the first 4 KiB of each file.
pub fn is_series_input(path: &Path) -> bool {
    if path.is_dir() {
        return json_files(path).is_ok_and(|files| files.iter().all(|f| starts_as_series(f)));
    }
    starts_as_series(path)
}

fn starts_as_series(file: &Path) -> bool {
    use std::io::Read;
    let mut head = Vec::with_capacity(4096);
    let Ok(f) = std::fs::File::open(file) else {
        return false;
    };
    if f.take(4096).read_to_end(&mut head).is_err() {
        return false;
    }
    let compact: Vec<u8> = head
        .into_iter()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    compact.starts_with(b"{\"key\"") || compact.starts_with(b"[{\"key\"")
}

fn json_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("failed to list {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    if files.is_empty() {
        bail!(
            "{} holds no *.json series file; pass a series file or a directory of them (docs/stability-analysis.md)",
            dir.display()
        );
    }
    Ok(files)
}

/// A JSON file's value.
pub(crate) fn read_json(file: &Path) -> Result<serde_json::Value> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("failed to read the series file {}", file.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not JSON", file.display()))
}

/// The validated series in a file's value (an object or an array of them).
pub(crate) fn series_in(value: &serde_json::Value, file: &Path) -> Result<Vec<Series>> {
    let series: Vec<Series> = if value.is_array() {
        Vec::<Series>::deserialize(value)
    } else {
        Series::deserialize(value).map(|s| vec![s])
    }
    .with_context(|| {
        format!(
            "{} is not a stability series (expected an object with `key` and `slots`, or an array of them; see docs/stability-analysis.md)",
            file.display()
        )
    })?;
    for s in &series {
        s.validate()
            .with_context(|| format!("invalid series in {}", file.display()))?;
    }
    Ok(series)
}

//! invocation-overhead (SeBS contract §7.2): how long an invocation takes to reach the function,
//! as a function of the payload size (`type: payload`) or of the code package size
//! (`type: code`), warm and cold. Each invocation of `030.clock-synchronization` synchronises its
//! clock with the driver over UDP, so the function's arrival time (`income-timestamp`, function
//! clock) can be compared with the driver's send time (driver clock).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use async_trait::async_trait;
use sebs_core::config::{InvocationOverheadConfig, UserConfig};
use sebs_core::stats::{mean, std_dev};
use sebs_platforms::{Session, Trigger, TriggerKind};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Processed;
use crate::process::ProcessContext;
use crate::runner::{Experiment, Plan, at_least_one};
use crate::udp::{self, ClientRow, ServerRow};

/// The benchmark the experiment drives.
const BENCHMARK: &str = "030.clock-synchronization";
/// Seed of the random bytes added to code packages (SeBS's `random.seed(1410)`).
const CODE_SEED: u64 = 1410;
/// Name of the file that pads code packages.
const PADDING_FILE: &str = "randomdata.bin";

/// Which size is swept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sweep {
    /// The request payload (`data`, base64).
    Payload,
    /// The code package (`randomdata.bin` added).
    Code,
}

impl Sweep {
    fn as_str(self) -> &'static str {
        match self {
            Sweep::Payload => "payload",
            Sweep::Code => "code",
        }
    }
}

/// What became of an invocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SampleStatus {
    /// A sample.
    Kept,
    /// Warm when cold was wanted, or the reverse (retried).
    Incorrect,
    /// The invocation failed, or returned no clock synchronisation (retried).
    Failed,
}

/// One journal line: one invocation.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    /// Payload or code package size (bytes).
    pub size: u64,
    /// Whether a cold start was wanted.
    pub cold: bool,
    /// Sample number within (size, cold) for kept samples.
    pub repetition: u64,
    /// What became of it.
    pub status: SampleStatus,
    /// Request id.
    pub request_id: String,
    /// Whether the invocation was a cold start.
    pub is_cold: bool,
    /// Connection set-up (s).
    pub connection_time: f64,
    /// The driver sent the request (epoch s, driver clock).
    pub start_timestamp: f64,
    /// The request reached the function (`income-timestamp`, epoch s, function clock).
    pub finish_timestamp: Option<f64>,
    /// The driver's rows `(id, server_rcv, server_send)`.
    pub server: Vec<ServerRow>,
    /// The function's rows `(id, client_send, client_rcv)`.
    pub client: Vec<ClientRow>,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Resolved settings.
#[derive(Debug, Clone, PartialEq)]
struct Settings {
    sweep: Sweep,
    sizes: Vec<u64>,
    repetitions: u64,
    exchanges: u64,
}

/// `numpy.linspace(begin, end, points)` truncated to integers.
fn linspace(begin: u64, end: u64, points: u64) -> Vec<u64> {
    match points {
        0 => Vec::new(),
        1 => vec![begin],
        n => (0..n)
            .map(|i| {
                let x = begin as f64 + (end as f64 - begin as f64) * i as f64 / (n - 1) as f64;
                x as u64
            })
            .collect(),
    }
}

fn settings(config: &InvocationOverheadConfig) -> Result<Settings> {
    let sweep = match config.kind.as_deref().unwrap_or("payload") {
        "payload" => Sweep::Payload,
        "code" => Sweep::Code,
        other => bail!(
            "experiments.invocation-overhead.type: unknown type `{other}`; expected `payload` or `code`"
        ),
    };
    let sizes = match sweep {
        Sweep::Payload => linspace(
            config.payload_begin.unwrap_or(1024),
            config.payload_end.unwrap_or(6_251_000),
            config.payload_points.unwrap_or(20),
        ),
        Sweep::Code => linspace(
            config.code_begin.unwrap_or(1_048_576),
            config.code_end.unwrap_or(261_619_712),
            config.code_points.unwrap_or(20),
        ),
    };
    if sizes.is_empty() {
        bail!(
            "experiments.invocation-overhead: `{}_points` must be at least 1",
            sweep.as_str()
        );
    }
    let repetitions = config.repetitions.unwrap_or(5);
    let exchanges = config.n.unwrap_or(20);
    at_least_one(
        "experiments.invocation-overhead",
        [("repetitions", repetitions), ("N", exchanges)],
    )?;
    Ok(Settings {
        sweep,
        sizes,
        repetitions,
        exchanges,
    })
}

/// Base64 of `n` zero bytes (what SeBS sends as `data`), without allocating an encoder.
fn zero_payload(n: u64) -> String {
    let mut s = "A".repeat((n / 3 * 4) as usize);
    match n % 3 {
        1 => s.push_str("AA=="),
        2 => s.push_str("AAA="),
        _ => {}
    }
    s
}

/// Deterministic pseudo-random bytes (SplitMix64 seeded with `seed`).
fn random_bytes(seed: u64, n: usize) -> Vec<u8> {
    let mut state = seed;
    let mut out = Vec::with_capacity(n + 8);
    while out.len() < n {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        out.extend_from_slice(&(z ^ (z >> 31)).to_le_bytes());
    }
    out.truncate(n);
    out
}

fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to).with_context(|| format!("failed to create {}", to.display()))?;
    for entry in
        std::fs::read_dir(from).with_context(|| format!("failed to read {}", from.display()))?
    {
        let entry = entry?;
        let target = to.join(entry.file_name());
        let kind = entry.file_type()?;
        if kind.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else if kind.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(entry.path())?, &target)?;
        } else {
            std::fs::copy(entry.path(), &target).with_context(|| {
                format!(
                    "failed to copy {} to {}",
                    entry.path().display(),
                    target.display()
                )
            })?;
        }
    }
    Ok(())
}

/// A copy of the built package padded with `randomdata.bin` to `size` bytes in all (the file is
/// empty when the package is already larger), cached next to the package cache. Returns the
/// directory and its content hash.
fn padded_package(session: &Session, size: u64) -> Result<(PathBuf, String)> {
    let package = &session.package;
    let padding = size.saturating_sub(package.size);
    let hash = format!("{}-code{size}", package.hash);
    let dir = session
        .settings
        .cache_dir
        .join("invocation-overhead")
        .join(&hash);
    let ready = std::fs::metadata(dir.join(PADDING_FILE)).is_ok_and(|m| m.len() == padding);
    if !ready {
        let staging = dir.with_extension(format!("tmp{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&staging);
        copy_tree(&package.dir, &staging)?;
        let bytes = random_bytes(CODE_SEED, usize::try_from(padding)?);
        std::fs::write(staging.join(PADDING_FILE), bytes).with_context(|| {
            format!("failed to write {PADDING_FILE} into {}", staging.display())
        })?;
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::rename(&staging, &dir).with_context(|| {
            format!("failed to move {} to {}", staging.display(), dir.display())
        })?;
    }
    Ok((std::path::absolute(dir)?, hash))
}

/// A function of the sweep.
struct Function {
    name: String,
    trigger: Arc<dyn Trigger>,
}

/// The invocation-overhead experiment: for warm, then cold invocations, each size in turn until
/// it has its samples.
pub struct InvocationOverhead {
    settings: Settings,
    /// Size → the function that serves it (one for the payload sweep, one per code size).
    functions: BTreeMap<u64, Function>,
    journal: PathBuf,
    /// Sizes whose warm samples had their warm-up invocation in this process.
    warmed: Vec<u64>,
    /// Attempts per (cold, size) in this process.
    attempts: BTreeMap<(bool, u64), u64>,
}

impl Plan for InvocationOverhead {
    fn plan(config: &UserConfig) -> Result<InvocationOverhead> {
        Ok(InvocationOverhead {
            settings: settings(
                &config
                    .experiments
                    .invocation_overhead
                    .clone()
                    .unwrap_or_default(),
            )?,
            functions: BTreeMap::new(),
            journal: PathBuf::new(),
            warmed: Vec::new(),
            attempts: BTreeMap::new(),
        })
    }
}

fn kept_of(records: &[Record], size: u64, cold: bool) -> u64 {
    records
        .iter()
        .filter(|r| r.status == SampleStatus::Kept && r.size == size && r.cold == cold)
        .count() as u64
}

impl InvocationOverhead {
    /// The first (cold, size) still short of samples: warm sizes first, then cold.
    fn current(&self, done: &[Record]) -> Option<(bool, u64)> {
        [false, true]
            .into_iter()
            .flat_map(|cold| self.settings.sizes.iter().map(move |&size| (cold, size)))
            .find(|&(cold, size)| kept_of(done, size, cold) < self.settings.repetitions)
    }

    /// The event for `size`: the benchmark's input, with `size` zero bytes for payload sweeps.
    fn input(&self, session: &Session, size: u64) -> Value {
        let mut input = session.generated.input.clone();
        if self.settings.sweep == Sweep::Payload {
            input["data"] = Value::String(zero_payload(size));
        }
        input
    }

    async fn deploy_size(&self, session: &Session, name: &str, size: u64) -> Result<()> {
        let memory = session.benchmark.config.memory;
        match self.settings.sweep {
            Sweep::Payload => session.deploy(name, memory).await?,
            Sweep::Code => {
                let (code, hash) =
                    sebs_platforms::pipeline::run_blocking(|| padded_package(session, size))?;
                let mut function =
                    session.function_config(name, memory, session.benchmark.config.timeout);
                function.code_dir = code;
                function.code_hash = hash;
                function.code_size = size.max(session.package.size);
                session.deploy_config(&function).await?
            }
        };
        Ok(())
    }

    /// The journal line of one measured invocation.
    fn record(&self, sample: Sample, cold: bool, size: u64, done: &[Record]) -> Record {
        let Sample(result, server, start) = sample;
        let client = udp::client_rows(&result.output["result"]);
        let finish = result.output["result"]["result"]["timestamp"].as_f64();
        let error = if let Some(e) = &result.error {
            Some(udp::error_line(e))
        } else if finish.is_none() {
            Some("the function returned no `result.timestamp` (income-timestamp)".into())
        } else if udp::join(&server, &client).is_empty() {
            Some("no UDP exchange completed between the driver and the function".into())
        } else {
            None
        };
        let status = if error.is_some() {
            SampleStatus::Failed
        } else if result.stats.cold_start != cold {
            SampleStatus::Incorrect
        } else {
            SampleStatus::Kept
        };
        Record {
            size,
            cold,
            repetition: if status == SampleStatus::Kept {
                kept_of(done, size, cold)
            } else {
                0
            },
            status,
            request_id: result.request_id.clone(),
            is_cold: result.stats.cold_start,
            connection_time: result.times.http_startup,
            start_timestamp: start,
            finish_timestamp: finish,
            server,
            client,
            error,
        }
    }
}

/// One invocation against an echo server: the result, the driver's rows, the send time.
struct Sample(sebs_core::result::ExecutionResult, Vec<ServerRow>, f64);

#[async_trait]
impl Experiment for InvocationOverhead {
    type Record = Record;

    fn name(&self) -> &'static str {
        "invocation-overhead"
    }

    /// `invocation-overhead/<payload|code>`.
    fn results_dir(&self, output_dir: &Path) -> PathBuf {
        output_dir
            .join(self.name())
            .join(self.settings.sweep.as_str())
    }

    fn benchmark(&self) -> (String, String) {
        (BENCHMARK.into(), "test".into())
    }

    async fn deploy(&mut self, session: &Session, _done: &[Record]) -> Result<()> {
        self.journal = self
            .results_dir(&session.settings.output_dir)
            .join("journal.jsonl");
        let base = session.default_function_name();
        for &size in &self.settings.sizes {
            let name = match self.settings.sweep {
                Sweep::Payload => base.clone(),
                Sweep::Code => format!("{base}-code-{size}"),
            };
            if !self.functions.values().any(|f| f.name == name) {
                self.deploy_size(session, &name, size).await?;
            }
            let trigger = session.trigger(&name, TriggerKind::Http).await?;
            self.functions.insert(size, Function { name, trigger });
        }
        Ok(())
    }

    async fn next_batch(
        &mut self,
        session: &Session,
        done: &[Record],
    ) -> Result<Option<Vec<Record>>> {
        let Some((cold, size)) = self.current(done) else {
            return Ok(None);
        };
        let Function { name, trigger } = &self.functions[&size];
        let (name, trigger) = (name.clone(), trigger.clone());
        let input = self.input(session, size);
        let exchanges = self.settings.exchanges;
        if !cold && !self.warmed.contains(&size) {
            // Warm-up: an instance for the warm samples (not recorded).
            udp::invoke_with_server(trigger.as_ref(), input.clone(), exchanges).await?;
            self.warmed.push(size);
        }
        let attempts = self.attempts.entry((cold, size)).or_default();
        *attempts += 1;
        let repetitions = self.settings.repetitions;
        if *attempts > 10 * repetitions + 10 {
            let failed = done
                .iter()
                .filter(|r| r.size == size && r.cold == cold && r.status == SampleStatus::Failed)
                .count();
            bail!(
                "{} size {size}: {} of {repetitions} {} samples after {attempts} attempts ({failed} failed); see the errors in {}",
                self.settings.sweep.as_str(),
                kept_of(done, size, cold),
                if cold { "cold" } else { "warm" },
                self.journal.display()
            );
        }
        if cold {
            session.enforce_cold_start(&[name]).await?;
        }
        let (result, server, start) =
            udp::invoke_with_server(trigger.as_ref(), input, exchanges).await?;
        Ok(Some(vec![self.record(
            Sample(result, server, start),
            cold,
            size,
            done,
        )]))
    }

    fn status(&self, done: &[Record]) -> crate::Status {
        let count = |status: SampleStatus| done.iter().filter(|r| r.status == status).count();
        let size = self.current(done).map(|(_, size)| size).unwrap_or(0);
        crate::Status {
            phase: format!("invocation-overhead {}", self.settings.sweep.as_str()),
            done: count(SampleStatus::Kept) as u64,
            total: 2 * self.settings.repetitions * self.settings.sizes.len() as u64,
            note: format!(
                "size {size}, {} failed, {} incorrect",
                count(SampleStatus::Failed),
                count(SampleStatus::Incorrect)
            ),
        }
    }

    async fn write_results(
        &mut self,
        _session: &Session,
        dir: &Path,
        done: &[Record],
    ) -> Result<PathBuf> {
        write_results(dir, done)
    }
}

/// `result.csv` (SeBS's columns) and the per-request `server-<id>.csv` and `results-<id>.csv`,
/// from the kept samples of the journal; returns the path of `result.csv`.
fn write_results(dir: &Path, records: &[Record]) -> Result<PathBuf> {
    let mut kept: Vec<&Record> = records
        .iter()
        .filter(|r| r.status == SampleStatus::Kept)
        .collect();
    kept.sort_by_key(|r| (r.cold, r.size, r.repetition));
    let mut rows = Vec::with_capacity(kept.len());
    for r in &kept {
        rows.push([
            r.size.to_string(),
            r.repetition.to_string(),
            r.is_cold.to_string(),
            format!("{:.6}", r.connection_time),
            format!("{:.6}", r.start_timestamp),
            format!("{:.6}", r.finish_timestamp.unwrap_or(f64::NAN)),
            r.request_id.clone(),
        ]);
        udp::write_request_rows(dir, &r.request_id, &r.server, &r.client)?;
    }
    let path = dir.join("result.csv");
    sebs_report::csv::write_csv(&path, &RESULT_HEADER, rows)?;
    Ok(path)
}

/// One processed row of `result-processed.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestTimes {
    /// Mean clock drift of the request's exchanges (s; function clock minus driver clock).
    pub clock_drift_mean: f64,
    /// Its sample standard deviation (s; 0 with one exchange).
    pub clock_drift_std: f64,
    /// Time from the driver's send to the function's arrival, without connection set-up, on the
    /// driver's clock (s).
    pub invocation_time: f64,
}

/// The invocation time of one request.
///
/// `finish` is on the function's clock and `start` on the driver's, so the function's clock
/// offset (`clock_drift_mean`, function minus driver) is subtracted:
/// `invocation_time = finish − start − connection_time − clock_drift_mean`.
/// (SeBS adds the drift, which doubles the offset instead of removing it; with synchronised
/// clocks, as on the local platform, both give the same number.)
pub fn process_request(
    exchanges: &[udp::Exchange],
    start: f64,
    finish: f64,
    connection_time: f64,
) -> Option<RequestTimes> {
    let drifts: Vec<f64> = exchanges.iter().map(udp::Exchange::clock_drift).collect();
    let clock_drift_mean = mean(&drifts)?;
    let clock_drift_std = std_dev(&drifts).unwrap_or(0.0);
    Some(RequestTimes {
        clock_drift_mean,
        clock_drift_std,
        invocation_time: finish - start - connection_time - clock_drift_mean,
    })
}

/// `sebs experiment process invocation-overhead`: `result-processed.csv` per sweep directory.
pub async fn process(ctx: &ProcessContext) -> Result<Processed> {
    let root = ctx.output_dir.join("invocation-overhead");
    let dirs: Vec<PathBuf> = [Sweep::Payload, Sweep::Code]
        .iter()
        .map(|s| root.join(s.as_str()))
        .filter(|d| d.join("result.csv").is_file())
        .collect();
    if dirs.is_empty() {
        bail!(
            "no invocation-overhead results (result.csv) under {}; run `sebs experiment invoke invocation-overhead` with this --output-dir first",
            root.display()
        );
    }
    let mut summary = String::new();
    let mut path = PathBuf::new();
    for dir in dirs {
        path = process_dir(&dir, &mut summary)?;
    }
    Ok(Processed {
        path,
        summary,
        exit_code: 0,
    })
}

/// The columns of `result.csv` (SeBS's).
const RESULT_HEADER: [&str; 7] = [
    "size",
    "repetition",
    "is_cold",
    "connection_time",
    "start_timestamp",
    "finish_timestamp",
    "request_id",
];

/// The columns `result-processed.csv` adds to those of `result.csv` (whose `size` it names
/// `payload_size`, as SeBS does for both sweeps).
const PROCESSED_COLUMNS: [&str; 3] = ["clock_drift_mean", "clock_drift_std", "invocation_time"];

/// Process one sweep directory: write its `result-processed.csv`, append its summary (invocation
/// times per size, the clock drift, the file written) to `summary`; returns the file's path.
fn process_dir(dir: &Path, summary: &mut String) -> Result<PathBuf> {
    let input = dir.join("result.csv");
    let table = sebs_report::csv::read_csv(&input)?;
    let mut rows = Vec::with_capacity(table.records.len());
    let mut times: BTreeMap<(bool, u64), Vec<f64>> = BTreeMap::new();
    let mut drifts = Vec::new();
    let mut skipped = 0;
    for record in &table.records {
        let fields = &record.fields;
        if fields.len() != RESULT_HEADER.len() {
            bail!(
                "{} line {}: expected {} columns ({})",
                input.display(),
                record.line,
                RESULT_HEADER.len(),
                RESULT_HEADER.join(",")
            );
        }
        let number = |i: usize, what: &str| -> Result<f64> {
            fields[i].parse::<f64>().with_context(|| {
                format!(
                    "{} line {}: `{}` is not a number ({what})",
                    input.display(),
                    record.line,
                    fields[i]
                )
            })
        };
        let request_id = &fields[6];
        let server = udp::read_rows(&dir.join(format!("server-{request_id}.csv")))?;
        let client = udp::read_rows(&dir.join(format!("results-{request_id}.csv")))?;
        let exchanges = udp::join(&server, &client);
        let Some(p) = process_request(
            &exchanges,
            number(4, "start_timestamp")?,
            number(5, "finish_timestamp")?,
            number(3, "connection_time")?,
        ) else {
            tracing::warn!(
                "{request_id}: no exchange joins the driver's and the function's rows; skipped"
            );
            skipped += 1;
            continue;
        };
        let mut row = fields.clone();
        row.extend([
            format!("{:.9}", p.clock_drift_mean),
            format!("{:.9}", p.clock_drift_std),
            format!("{:.9}", p.invocation_time),
        ]);
        rows.push(row);
        drifts.push(p.clock_drift_mean);
        times
            .entry((fields[2] == "true", number(0, "size")? as u64))
            .or_default()
            .push(p.invocation_time);
    }
    let path = dir.join("result-processed.csv");
    let header: Vec<&str> = ["payload_size"]
        .into_iter()
        .chain(RESULT_HEADER[1..].iter().copied())
        .chain(PROCESSED_COLUMNS)
        .collect();
    sebs_report::csv::write_csv(&path, &header, rows)?;
    append_summary(summary, &times, &drifts, skipped);
    let _ = writeln!(summary, "{}", path.display());
    Ok(path)
}

/// The mean invocation time per (warm/cold, size), the mean clock drift and the requests
/// skipped, as `process` prints them.
fn append_summary(
    summary: &mut String,
    times: &BTreeMap<(bool, u64), Vec<f64>>,
    drifts: &[f64],
    skipped: usize,
) {
    for ((cold, size), times) in times {
        let _ = writeln!(
            summary,
            "{} size {size:>10} B: invocation time mean {:.3} ms (n={})",
            if *cold { "cold" } else { "warm" },
            mean(times).unwrap_or(f64::NAN) * 1000.0,
            times.len()
        );
    }
    if let Some(m) = mean(drifts) {
        let _ = writeln!(
            summary,
            "clock drift (function − driver): mean {:.3} ms",
            m * 1000.0
        );
    }
    if skipped > 0 {
        let _ = writeln!(
            summary,
            "{skipped} request(s) skipped: no joined UDP exchange"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_follow_numpy_linspace() {
        assert_eq!(linspace(0, 10, 3), vec![0, 5, 10]);
        assert_eq!(linspace(1024, 4096, 4), vec![1024, 2048, 3072, 4096]);
        assert_eq!(linspace(7, 100, 1), vec![7]);
        assert!(linspace(1, 2, 0).is_empty());
    }

    #[test]
    fn both_code_key_spellings_are_accepted() {
        for key in ["code", "code_package"] {
            let config: InvocationOverheadConfig = serde_json::from_value(serde_json::json!({
                "type": "code", format!("{key}_begin"): 100, format!("{key}_end"): 300, format!("{key}_points"): 3
            }))
            .unwrap();
            let plan = settings(&config).unwrap();
            assert_eq!(plan.sweep, Sweep::Code);
            assert_eq!(plan.sizes, vec![100, 200, 300]);
        }
        let bad: InvocationOverheadConfig =
            serde_json::from_value(serde_json::json!({"type": "memory"})).unwrap();
        assert!(
            settings(&bad)
                .unwrap_err()
                .to_string()
                .contains("`payload` or `code`")
        );
    }

    #[test]
    fn payload_is_base64_of_zero_bytes() {
        assert_eq!(zero_payload(0), "");
        assert_eq!(zero_payload(1), "AA==");
        assert_eq!(zero_payload(2), "AAA=");
        assert_eq!(zero_payload(3), "AAAA");
        assert_eq!(zero_payload(1024).len(), 1368);
    }

    #[test]
    fn random_padding_is_deterministic() {
        let a = random_bytes(CODE_SEED, 1001);
        assert_eq!(a.len(), 1001);
        assert_eq!(a, random_bytes(CODE_SEED, 1001));
        assert_ne!(a, random_bytes(CODE_SEED + 1, 1001));
        assert!(a.iter().filter(|b| **b == 0).count() < 20, "not zeros");
    }

    #[test]
    fn invocation_time_removes_the_clock_offset() {
        // The function's clock is 2 s ahead; 1 ms each way; the request left the driver at 10.0
        // and reached the function at 10.030 (driver clock), after 5 ms of connection set-up.
        let offset = 2.0;
        let exchanges: Vec<udp::Exchange> = (1..=3)
            .map(|i| {
                let t = 20.0 + i as f64;
                udp::Exchange {
                    id: i,
                    client_send: t + offset,
                    server_rcv: t + 0.001,
                    server_send: t + 0.0012,
                    client_rcv: t + 0.0022 + offset,
                }
            })
            .collect();
        let p = process_request(&exchanges, 10.0, 10.030 + offset, 0.005).unwrap();
        assert!((p.clock_drift_mean - offset).abs() < 1e-9, "{p:?}");
        assert!(p.clock_drift_std < 1e-9);
        assert!((p.invocation_time - 0.025).abs() < 1e-9, "{p:?}");
        assert!(process_request(&[], 0.0, 1.0, 0.0).is_none());
    }
}

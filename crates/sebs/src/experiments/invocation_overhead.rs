//! invocation-overhead (SeBS contract §7.2): how long an invocation takes to reach the function,
//! as a function of the payload size (`type: payload`) or of the code package size
//! (`type: code`), warm and cold. Each invocation of `030.clock-synchronization` synchronises its
//! clock with the driver over UDP, so the function's arrival time (`income-timestamp`, function
//! clock) can be compared with the driver's send time (driver clock).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use sebs_core::config::InvocationOverheadConfig;
use sebs_core::stats::{mean, std_dev};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::progress::Progress;
use super::udp::{self, ClientRow, ServerRow};
use super::{Deployed, EXIT_INTERRUPTED, Journal};
use crate::cli::{ExperimentInvokeArgs, ExperimentProcessArgs};
use crate::settings::load_config;

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
pub enum Status {
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
    pub status: Status,
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
struct Plan {
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

fn plan(config: &InvocationOverheadConfig) -> Result<Plan> {
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
    if repetitions == 0 || exchanges == 0 {
        bail!("experiments.invocation-overhead: `repetitions` and `N` must be at least 1");
    }
    Ok(Plan {
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
fn padded_package(deployed: &Deployed, size: u64) -> Result<(PathBuf, String)> {
    let package = &deployed.prepared.package;
    let padding = size.saturating_sub(package.size);
    let hash = format!("{}-code{size}", package.hash);
    let dir = deployed
        .prepared
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
    Ok((dir, hash))
}

/// `sebs experiment invoke invocation-overhead`.
pub async fn run(args: &ExperimentInvokeArgs) -> Result<i32> {
    let config = load_config(args.common.config.as_deref())?;
    let plan = plan(
        &config
            .experiments
            .invocation_overhead
            .clone()
            .unwrap_or_default(),
    )?;
    let dir = args
        .common
        .output_dir
        .join("invocation-overhead")
        .join(plan.sweep.as_str());
    let journal_path = dir.join("journal.jsonl");
    Journal::check(&journal_path, args.resume)?;
    let deployed = Deployed::start(
        &args.common,
        &args.local,
        &args.storage_configuration,
        BENCHMARK,
        "test",
    )
    .await?;
    let (mut journal, mut records) = Journal::start::<Record>(&journal_path, args.resume)?;

    // One function for the payload sweep; one per code size (a padded copy of the package).
    let memory = deployed.prepared.benchmark.config.memory;
    let mut functions = BTreeMap::new();
    for &size in &plan.sizes {
        let name = match plan.sweep {
            Sweep::Payload => deployed.base_name.clone(),
            Sweep::Code => format!("{}-code-{size}", deployed.base_name),
        };
        if !functions.values().any(|(n, _)| *n == name) {
            match plan.sweep {
                Sweep::Payload => deployed.deploy(&name, memory, None).await?,
                Sweep::Code => {
                    let (code, hash) =
                        tokio::task::block_in_place(|| padded_package(&deployed, size))?;
                    deployed
                        .deploy_code(&name, memory, None, Some((&code, &hash)))
                        .await?
                }
            };
        }
        let url = deployed.platform.function_url(&name);
        functions.insert(size, (name, url));
    }

    let input = deployed.prepared.generated.input.clone();
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let mut interrupted = false;
    let total = 2 * plan.repetitions * plan.sizes.len() as u64;
    let kept = |records: &[Record], size: u64, cold: bool| {
        records
            .iter()
            .filter(|r| r.status == Status::Kept && r.size == size && r.cold == cold)
            .count() as u64
    };
    let all_kept = |records: &[Record]| records.iter().filter(|r| r.status == Status::Kept).count();
    let progress = Progress::new(
        &format!("invocation-overhead {}", plan.sweep.as_str()),
        total,
        all_kept(&records) as u64,
    );
    'modes: for cold in [false, true] {
        for &size in &plan.sizes {
            let (name, url) = &functions[&size];
            if kept(&records, size, cold) >= plan.repetitions {
                continue;
            }
            let mut input = input.clone();
            if plan.sweep == Sweep::Payload {
                input["data"] = Value::String(zero_payload(size));
            }
            if !cold {
                // Warm-up: an instance for the warm samples (not recorded).
                let _ = udp::invoke_with_server(url, input.clone(), plan.exchanges).await?;
            }
            let mut attempts = 0u64;
            while kept(&records, size, cold) < plan.repetitions {
                attempts += 1;
                if attempts > 10 * plan.repetitions + 10 {
                    progress.finish();
                    let failed = records
                        .iter()
                        .filter(|r| r.size == size && r.cold == cold && r.status == Status::Failed)
                        .count();
                    bail!(
                        "{} size {size}: {} of {} {} samples after {attempts} attempts ({failed} failed); see the errors in {}",
                        plan.sweep.as_str(),
                        kept(&records, size, cold),
                        plan.repetitions,
                        if cold { "cold" } else { "warm" },
                        journal_path.display()
                    );
                }
                if cold {
                    deployed.platform.enforce_cold_start(name)?;
                }
                let (result, server, start) = tokio::select! {
                    r = udp::invoke_with_server(url, input.clone(), plan.exchanges) => r?,
                    _ = &mut ctrl_c => { interrupted = true; break 'modes; }
                };
                let client = udp::client_rows(&result.output["result"]);
                let finish = result.output["result"]["result"]["timestamp"].as_f64();
                let error = if let Some(e) = &result.error {
                    Some(format!(
                        "{}: {}",
                        e.kind,
                        e.message.lines().next().unwrap_or("")
                    ))
                } else if finish.is_none() {
                    Some("the function returned no `result.timestamp` (income-timestamp)".into())
                } else if udp::join(&server, &client).is_empty() {
                    Some("no UDP exchange completed between the driver and the function".into())
                } else {
                    None
                };
                let status = if error.is_some() {
                    Status::Failed
                } else if result.stats.cold_start != cold {
                    Status::Incorrect
                } else {
                    Status::Kept
                };
                let record = Record {
                    size,
                    cold,
                    repetition: if status == Status::Kept {
                        kept(&records, size, cold)
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
                };
                journal.append(std::slice::from_ref(&record))?;
                records.push(record);
                let failed = records
                    .iter()
                    .filter(|r| r.status == Status::Failed)
                    .count();
                let incorrect = records
                    .iter()
                    .filter(|r| r.status == Status::Incorrect)
                    .count();
                progress.update(
                    all_kept(&records) as u64,
                    &format!("size {size}, {failed} failed, {incorrect} incorrect"),
                );
            }
        }
    }
    progress.finish();
    deployed.shutdown().await;
    write_results(&dir, &records)?;
    if interrupted {
        tracing::warn!(
            "interrupted: completed samples are in {}; continue with the same command and --resume",
            journal_path.display()
        );
        return Ok(EXIT_INTERRUPTED);
    }
    println!("results: {}", dir.join("result.csv").display());
    Ok(0)
}

/// `result.csv` (SeBS's columns) and the per-request `server-<id>.csv` and `results-<id>.csv`,
/// from the kept samples of the journal.
fn write_results(dir: &Path, records: &[Record]) -> Result<()> {
    let mut kept: Vec<&Record> = records
        .iter()
        .filter(|r| r.status == Status::Kept)
        .collect();
    kept.sort_by_key(|r| (r.cold, r.size, r.repetition));
    let mut csv = String::from(
        "size,repetition,is_cold,connection_time,start_timestamp,finish_timestamp,request_id\n",
    );
    for r in &kept {
        let _ = writeln!(
            csv,
            "{},{},{},{:.6},{:.6},{:.6},{}",
            r.size,
            r.repetition,
            r.is_cold,
            r.connection_time,
            r.start_timestamp,
            r.finish_timestamp.unwrap_or(f64::NAN),
            r.request_id
        );
        udp::write_rows(
            &dir.join(format!("server-{}.csv", r.request_id)),
            "id,server_rcv,server_send",
            &r.server,
        )?;
        udp::write_rows(
            &dir.join(format!("results-{}.csv", r.request_id)),
            "id,client_send,client_rcv",
            &r.client,
        )?;
    }
    sebs_core::fsutil::write_atomic(&dir.join("result.csv"), csv.as_bytes())
        .with_context(|| format!("failed to write {}", dir.join("result.csv").display()))
}

/// One processed row of `result-processed.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct Processed {
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
) -> Option<Processed> {
    let drifts: Vec<f64> = exchanges.iter().map(udp::Exchange::clock_drift).collect();
    let clock_drift_mean = mean(&drifts)?;
    let clock_drift_std = std_dev(&drifts).unwrap_or(0.0);
    Some(Processed {
        clock_drift_mean,
        clock_drift_std,
        invocation_time: finish - start - connection_time - clock_drift_mean,
    })
}

/// `sebs experiment process invocation-overhead`: `result-processed.csv` per sweep directory.
pub fn process(args: &ExperimentProcessArgs) -> Result<i32> {
    let root = args.output_dir.join("invocation-overhead");
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
    for dir in dirs {
        process_dir(&dir)?;
    }
    Ok(0)
}

fn process_dir(dir: &Path) -> Result<()> {
    let input = dir.join("result.csv");
    let text = std::fs::read_to_string(&input)
        .with_context(|| format!("failed to read {}", input.display()))?;
    let mut out = String::from(
        "payload_size,repetition,is_cold,connection_time,start_timestamp,finish_timestamp,request_id,clock_drift_mean,clock_drift_std,invocation_time\n",
    );
    let mut summary: BTreeMap<(bool, u64), Vec<f64>> = BTreeMap::new();
    let mut drifts = Vec::new();
    let mut skipped = 0;
    for (n, line) in text.lines().enumerate().skip(1) {
        let fields: Vec<&str> = line.split(',').collect();
        let [
            size,
            repetition,
            is_cold,
            connection,
            start,
            finish,
            request_id,
        ] = fields[..]
        else {
            bail!(
                "{} line {}: expected 7 columns (size,repetition,is_cold,connection_time,start_timestamp,finish_timestamp,request_id)",
                input.display(),
                n + 1
            );
        };
        let number = |s: &str, what: &str| -> Result<f64> {
            s.parse::<f64>().with_context(|| {
                format!(
                    "{} line {}: `{s}` is not a number ({what})",
                    input.display(),
                    n + 1
                )
            })
        };
        let server = udp::read_rows(&dir.join(format!("server-{request_id}.csv")))?;
        let client = udp::read_rows(&dir.join(format!("results-{request_id}.csv")))?;
        let exchanges = udp::join(&server, &client);
        let Some(p) = process_request(
            &exchanges,
            number(start, "start_timestamp")?,
            number(finish, "finish_timestamp")?,
            number(connection, "connection_time")?,
        ) else {
            tracing::warn!(
                "{request_id}: no exchange joins the driver's and the function's rows; skipped"
            );
            skipped += 1;
            continue;
        };
        let _ = writeln!(
            out,
            "{size},{repetition},{is_cold},{connection},{start},{finish},{request_id},{:.9},{:.9},{:.9}",
            p.clock_drift_mean, p.clock_drift_std, p.invocation_time
        );
        drifts.push(p.clock_drift_mean);
        summary
            .entry((is_cold == "true", number(size, "size")? as u64))
            .or_default()
            .push(p.invocation_time);
    }
    let path = dir.join("result-processed.csv");
    sebs_core::fsutil::write_atomic(&path, out.as_bytes())
        .with_context(|| format!("failed to write {}", path.display()))?;
    for ((cold, size), times) in &summary {
        println!(
            "{} size {size:>10} B: invocation time mean {:.3} ms (n={})",
            if *cold { "cold" } else { "warm" },
            mean(times).unwrap_or(f64::NAN) * 1000.0,
            times.len()
        );
    }
    if let Some(m) = mean(&drifts) {
        println!("clock drift (function − driver): mean {:.3} ms", m * 1000.0);
    }
    if skipped > 0 {
        println!("{skipped} request(s) skipped: no joined UDP exchange");
    }
    println!("{}", path.display());
    Ok(())
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
            let plan = plan(&config).unwrap();
            assert_eq!(plan.sweep, Sweep::Code);
            assert_eq!(plan.sizes, vec![100, 200, 300]);
        }
        let bad: InvocationOverheadConfig =
            serde_json::from_value(serde_json::json!({"type": "memory"})).unwrap();
        assert!(
            plan(&bad)
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

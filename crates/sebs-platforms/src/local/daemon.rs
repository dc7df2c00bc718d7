//! `sebs local start | serve | stop`: the local platform as a daemon, with SeBS's output JSON
//! (`functions[].url`, `inputs`, `storage`) and memory statistics.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use sebs_core::fsutil::write_json_atomic;
use sebs_local::{CodeStore, LocalPlatform};
use sebs_storage::StorageConfig;
use serde_json::{Value, json};

use super::LocalBackend;
use crate::pipeline::{PrepareRequest, Session};
use crate::settings::{RunOptions, Settings};

/// Environment variable naming the fd on which `serve` reports readiness to `start`.
const READY_FD: &str = "SEBS_READY_FD";

/// What `sebs local start | serve` was asked for.
#[derive(Debug, Clone)]
pub struct ServeRequest {
    /// Common options (the local flags included).
    pub options: RunOptions,
    /// Benchmark id.
    pub benchmark: String,
    /// Input size.
    pub size: String,
    /// Where to write SeBS's deployment JSON.
    pub output: PathBuf,
    /// Functions to deploy.
    pub deployments: usize,
    /// Memory sampling interval (ms); negative: off.
    pub measure_interval: i64,
    /// Gateway port (0: any).
    pub port: u16,
    /// `--storage-configuration` files.
    pub storage_configuration: Vec<PathBuf>,
    /// Memory (MB); the benchmark's if `None`.
    pub memory: Option<u64>,
    /// Timeout (s); the benchmark's if `None`.
    pub timeout: Option<u64>,
}

/// `sebs local serve`: build, deploy, write the output JSON, serve until SIGTERM or Ctrl-C.
pub async fn serve(args: &ServeRequest) -> Result<()> {
    let ready = std::env::var(READY_FD)
        .ok()
        .and_then(|fd| fd.parse::<i32>().ok());
    let settings = Settings::resolve(&args.options)?;
    if settings.config.deployment.name.as_str() != "local" {
        bail!(
            "`sebs local start` runs the local platform, but the deployment is `{}`; pass --deployment local",
            settings.config.deployment.name
        );
    }
    let backend = LocalBackend::on_port(
        settings.config.deployment.local.clone(),
        &settings.cache_dir,
        args.port,
    );
    let session = Session::start_on(
        settings,
        Box::new(backend.clone()),
        &PrepareRequest {
            benchmark: &args.benchmark,
            size: &args.size,
            storage_configuration: &args.storage_configuration,
            shared_storage: None,
        },
    )
    .await?;
    let served = serve_session(args, &session, &backend, ready).await;
    tracing::info!("stopping the local platform");
    drop(backend);
    session.shutdown().await;
    served
}

/// Deploy `args.deployments` functions; returns SeBS's `functions` entries and the names.
async fn deploy_all(
    args: &ServeRequest,
    session: &Session,
    backend: &LocalBackend,
) -> Result<(Vec<Value>, Vec<String>)> {
    let memory = args.memory.unwrap_or(session.benchmark.config.memory);
    let timeout = args.timeout.unwrap_or(session.benchmark.config.timeout);
    let base = session.default_function_name();
    let settings = &session.settings;
    let mut functions = Vec::new();
    let mut names = Vec::new();
    for i in 0..args.deployments {
        // Each deployment is its own function (SeBS reused one name for all of them).
        let name = if args.deployments == 1 {
            base.clone()
        } else {
            format!("{base}-{i}")
        };
        session
            .deploy_config(&session.function_config(&name, memory, timeout))
            .await?;
        let platform = backend.platform().await?;
        functions.push(json!({
            "benchmark": session.benchmark.id,
            "config": {
                "architecture": settings.config.experiments.architecture.as_str(),
                "memory": memory,
                "runtime": {"language": settings.language.as_str(), "language-variant": "default", "version": settings.language_version()},
                "timeout": timeout,
            },
            "hash": session.package.hash,
            "instance_id": std::process::id().to_string(),
            "name": name,
            "port": platform.addr().port(),
            "triggers": [],
            "url": platform.function_url(&name),
            "invoke_url": platform.invoke_url(&name),
        }));
        names.push(name);
    }
    Ok((functions, names))
}

async fn serve_session(
    args: &ServeRequest,
    session: &Session,
    backend: &LocalBackend,
    ready: Option<i32>,
) -> Result<()> {
    let (functions, names) = deploy_all(args, session, backend).await?;
    let platform = backend.platform().await?;
    let store = code_store(args, session)?;
    if let Some(store) = &store {
        tracing::info!(
            "Lambda API: Code.S3Bucket/S3Key are read from {}",
            store.endpoint
        );
    }
    platform.set_code_store(store);
    let measurements = if args.measure_interval >= 0 {
        let file = tempfile::Builder::new()
            .prefix("sebs-memory-")
            .suffix(".txt")
            .tempfile()
            .context("failed to create the memory measurement file")?;
        let (_, path) = file
            .keep()
            .context("failed to keep the memory measurement file")?;
        Some(path)
    } else {
        None
    };
    let mut out = json!({
        "functions": functions,
        "inputs": vec![session.generated.input.clone(); args.deployments],
        "storage": session.settings.config.deployment.local.storage.clone().unwrap_or(Value::Null),
        "daemon": {
            "pid": std::process::id(),
            "endpoint": platform.endpoint(),
            "limits": platform.limits().describe(),
            "metrics-log": platform.metrics_log(),
        },
    });
    if let Some(path) = &measurements {
        out["memory_measurements"] = json!({"pids": [std::process::id()], "file": path});
    }
    write_json_atomic(&args.output, &out)
        .with_context(|| format!("failed to write {}", args.output.display()))?;
    tracing::info!(
        "serving {} function(s) of {} on {}; stop with `sebs local stop {}`",
        names.len(),
        session.benchmark.id,
        platform.endpoint(),
        args.output.display()
    );
    tracing::info!(
        "Lambda API (AWS CLI, boto3, AWS SDKs): --endpoint-url {}",
        platform.endpoint()
    );
    if let Some(fd) = ready {
        // Tell `sebs local start` we are up, then let go of the pipe.
        let mut pipe = unsafe { <std::fs::File as std::os::fd::FromRawFd>::from_raw_fd(fd) };
        let _ = pipe.write_all(b"ready\n");
    }

    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    {
        let sampler = async {
            match &measurements {
                Some(path) => {
                    let interval = Duration::from_millis(args.measure_interval as u64);
                    sample_memory(platform, &names, path, interval).await
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
            r = sampler => r?,
        }
    }
    Ok(())
}

/// Where the Lambda API reads `Code.S3Bucket`/`Code.S3Key`: the object storage configured with
/// `--storage-configuration` (e.g. the output of `sebs storage start`) or
/// `deployment.local.storage`; `None` when none is configured.
fn code_store(args: &ServeRequest, session: &Session) -> Result<Option<CodeStore>> {
    let mut configured = StorageConfig::default();
    if let Some(value) = &session.settings.config.deployment.local.storage {
        configured = StorageConfig::from_value(value)
            .context("invalid deployment.local.storage in the config file")?;
    }
    for file in &args.storage_configuration {
        configured.merge(StorageConfig::load(file)?);
    }
    Ok(configured.object_endpoint()?.map(|e| CodeStore {
        endpoint: if e.address.contains("://") {
            e.address
        } else {
            format!("http://{}", e.address)
        },
        access_key: e.access_key,
        secret_key: e.secret_key,
        region: e.region,
    }))
}

/// Append `<instance id> <bytes>` per live instance every `interval` (SeBS's measureMem format).
async fn sample_memory(
    platform: &LocalPlatform,
    names: &[String],
    path: &Path,
    interval: Duration,
) -> Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .with_context(|| format!("failed to open {}", path.display()))?;
    let interval = interval.max(Duration::from_millis(1));
    loop {
        let started = Instant::now();
        let mut lines = String::new();
        for name in names {
            for (id, _pid, bytes) in platform.instances(name) {
                if let Some(bytes) = bytes {
                    lines.push_str(&format!("{id} {bytes}\n"));
                }
            }
        }
        if started.elapsed() > interval {
            lines.push_str("precision not met\n");
        }
        file.write_all(lines.as_bytes())?;
        tokio::time::sleep(interval.saturating_sub(started.elapsed())).await;
    }
}

/// `sebs local start`: run `sebs local serve` (this executable, with the same arguments and
/// `start` replaced by `serve`) in the background and wait until it is ready; returns the
/// daemon's pid and log file.
pub fn start(output: &Path) -> Result<(u32, PathBuf)> {
    let exe = std::env::current_exe().context("cannot find the sebs executable")?;
    let log_path = PathBuf::from(format!("{}.log", output.display()));
    let log = std::fs::File::create(&log_path)
        .with_context(|| format!("failed to create {}", log_path.display()))?;
    let (mut ours, theirs) = std::os::unix::net::UnixStream::pair()?;
    let child_fd = theirs.as_raw_fd();
    // Same arguments, `start` replaced by `serve`.
    let argv: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    let pos = argv
        .iter()
        .position(|a| a == "start")
        .context("cannot find `start` in the command line")?;
    let mut serve_args = argv.clone();
    serve_args[pos] = "serve".into();
    let mut command = std::process::Command::new(exe);
    command
        .args(&serve_args)
        .env(READY_FD, "3")
        .stdin(std::process::Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    unsafe {
        command.pre_exec(move || {
            // A session of its own: the daemon survives the terminal and this process.
            libc::setsid();
            if libc::dup2(child_fd, 3) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = command
        .spawn()
        .context("failed to start the local platform daemon")?;
    drop(theirs);
    let mut reply = String::new();
    let _ = ours.read_to_string(&mut reply);
    if reply.trim() == "ready" {
        return Ok((child.id(), log_path));
    }
    let _ = child.wait();
    let text = std::fs::read_to_string(&log_path).unwrap_or_default();
    let error = text
        .lines()
        .find(|l| l.starts_with("Error:"))
        .map(str::to_owned)
        .unwrap_or_else(|| format!("the daemon exited early; see {}", log_path.display()));
    bail!("{}", error.trim_start_matches("Error: "))
}

fn process_alive(pid: i32) -> bool {
    unsafe { libc::kill(pid, 0) == 0 }
}

fn is_our_daemon(pid: i32) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|c| {
            let args: Vec<&[u8]> = c.split(|b| *b == 0).collect();
            args.iter().any(|a| *a == b"serve") && args.iter().any(|a| *a == b"local")
        })
        .unwrap_or(false)
}

/// `sebs local stop`: stop the daemon started with the JSON `input` and everything it started;
/// write memory statistics to `output` when they were measured (returns whether they were).
pub fn stop(input: &Path, output: &Path) -> Result<bool> {
    let text = std::fs::read_to_string(input).with_context(|| {
        format!(
            "failed to read {}; pass the file `sebs local start` wrote",
            input.display()
        )
    })?;
    let out: Value = serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not the JSON `sebs local start` writes",
            input.display()
        )
    })?;
    let pid = out["daemon"]["pid"].as_i64().with_context(|| {
        format!(
            "{} has no `daemon.pid`: was it written by `sebs local start`?",
            input.display()
        )
    })? as i32;
    if process_alive(pid) && is_our_daemon(pid) {
        unsafe {
            libc::kill(pid, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while process_alive(pid) && is_our_daemon(pid) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        if process_alive(pid) && is_our_daemon(pid) {
            tracing::warn!("the daemon did not stop within 10 s; killing it");
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
        tracing::info!("stopped the local platform (pid {pid})");
    } else {
        tracing::warn!(
            "the local platform of {} (pid {pid}) is not running",
            input.display()
        );
    }
    if let Some(file) = out["memory_measurements"]["file"].as_str() {
        let stats = memory_stats(Path::new(file))?;
        write_json_atomic(output, &stats)
            .with_context(|| format!("failed to write {}", output.display()))?;
        let _ = std::fs::remove_file(file);
        return Ok(true);
    }
    Ok(false)
}

/// Aggregate a measurement file into SeBS's memory statistics.
pub fn memory_stats(path: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("failed to read {}", path.display()))?;
    let mut samples: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    let mut precision_errors = 0;
    for line in text.lines() {
        if line.trim() == "precision not met" {
            precision_errors += 1;
            continue;
        }
        if let Some((id, bytes)) = line.split_once(' ')
            && let Ok(bytes) = bytes.trim().parse::<u64>()
        {
            samples.entry(id.to_owned()).or_default().push(bytes);
        }
    }
    let mut stats = serde_json::Map::new();
    for (id, values) in samples {
        let mean = values.iter().sum::<u64>() as f64 / values.len() as f64 / 1e6;
        let max = *values.iter().max().unwrap_or(&0) as f64 / 1e6;
        stats.insert(
            id,
            json!({
                "mean mem. usage": format!("{mean} MB"),
                "max mem. usage": format!("{max} MB"),
                "number of measurements": values.len(),
                "full profile (in bytes)": values,
            }),
        );
    }
    stats.insert("precision_errors".into(), json!(precision_errors));
    Ok(Value::Object(stats))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_stats_in_sebs_format() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.txt");
        std::fs::write(
            &path,
            "a 1000000\na 3000000\nprecision not met\nb 2000000\n",
        )
        .unwrap();
        let stats = memory_stats(&path).unwrap();
        assert_eq!(stats["a"]["mean mem. usage"], "2 MB");
        assert_eq!(stats["a"]["max mem. usage"], "3 MB");
        assert_eq!(stats["a"]["number of measurements"], 2);
        assert_eq!(stats["b"]["full profile (in bytes)"], json!([2000000]));
        assert_eq!(stats["precision_errors"], 1);
    }
}

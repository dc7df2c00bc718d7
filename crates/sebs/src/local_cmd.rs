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
use sebs_local::LocalPlatform;
use serde_json::{Value, json};

use crate::cli::{LocalStartArgs, LocalStopArgs};
use crate::invoke::{function_name, prepare};
use crate::local;

/// Environment variable naming the fd on which `serve` reports readiness to `start`.
const READY_FD: &str = "SEBS_READY_FD";

/// `sebs local serve`: build, deploy, write the output JSON, serve until SIGTERM or Ctrl-C.
pub async fn serve(args: &LocalStartArgs) -> Result<i32> {
    let ready = std::env::var(READY_FD)
        .ok()
        .and_then(|fd| fd.parse::<i32>().ok());
    let (prepared, _size) = prepare(
        &args.common,
        &args.benchmark,
        &args.size,
        None,
        &args.storage_configuration,
        None,
    )
    .await?;
    let memory = args.memory.unwrap_or(prepared.benchmark.config.memory);
    let timeout = args.timeout.unwrap_or(prepared.benchmark.config.timeout);
    let mut config = local::platform_config(&prepared.settings, &args.local)?;
    config.bind = std::net::SocketAddr::from(([127, 0, 0, 1], args.port));
    let platform = LocalPlatform::with_config(config).await.with_context(|| {
        format!(
            "failed to start the local platform on 127.0.0.1:{}",
            args.port
        )
    })?;

    let base = function_name(&prepared);
    let mut functions = Vec::new();
    let mut names = Vec::new();
    for i in 0..args.deployments {
        // Each deployment is its own function (SeBS reused one name for all of them).
        let name = if args.deployments == 1 {
            base.clone()
        } else {
            format!("{base}-{i}")
        };
        let spec = local::function_spec(&prepared, &name, memory, timeout)?;
        platform.deploy(spec).await;
        functions.push(json!({
            "benchmark": prepared.benchmark.id,
            "config": {
                "architecture": prepared.settings.config.experiments.architecture.as_str(),
                "memory": memory,
                "runtime": {"language": prepared.settings.language.as_str(), "language-variant": "default", "version": prepared.settings.language_version()},
                "timeout": timeout,
            },
            "hash": prepared.package.hash,
            "instance_id": std::process::id().to_string(),
            "name": name,
            "port": platform.addr().port(),
            "triggers": [],
            "url": platform.function_url(&name),
            "invoke_url": platform.invoke_url(&name),
        }));
        names.push(name);
    }

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
        "inputs": vec![prepared.generated.input.clone(); args.deployments],
        "storage": prepared.settings.config.deployment.local.storage.clone().unwrap_or(Value::Null),
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
        prepared.benchmark.id,
        platform.endpoint(),
        args.output.display()
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
                    sample_memory(&platform, &names, path, interval).await
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
    tracing::info!("stopping the local platform");
    platform.shutdown().await;
    prepared.shutdown().await;
    Ok(0)
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

/// `sebs local start`: run `sebs local serve` in the background and wait until it is ready.
pub fn start(args: &LocalStartArgs) -> Result<i32> {
    let exe = std::env::current_exe().context("cannot find the sebs executable")?;
    let log_path = PathBuf::from(format!("{}.log", args.output.display()));
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
        println!("{}", args.output.display());
        tracing::info!(
            "local platform running (pid {}, log {})",
            child.id(),
            log_path.display()
        );
        return Ok(0);
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

/// `sebs local echo`: answer every request with its body, on one thread, with hyper alone.
pub async fn echo(port: u16) -> Result<i32> {
    use http_body_util::{BodyExt, Full};
    use hyper::server::conn::http1;
    use hyper::service::service_fn;
    use hyper_util::rt::TokioIo;

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("http://{}", listener.local_addr()?);
    loop {
        let (stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        tokio::spawn(async move {
            let service = service_fn(|req: hyper::Request<hyper::body::Incoming>| async move {
                let body = req.into_body().collect().await?.to_bytes();
                Ok::<_, hyper::Error>(hyper::Response::new(Full::new(body)))
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
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

/// `sebs local stop`: stop the daemon and everything it started; write memory statistics.
pub fn stop(args: &LocalStopArgs) -> Result<i32> {
    let text = std::fs::read_to_string(&args.input).with_context(|| {
        format!(
            "failed to read {}; pass the file `sebs local start` wrote",
            args.input.display()
        )
    })?;
    let out: Value = serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not the JSON `sebs local start` writes",
            args.input.display()
        )
    })?;
    let pid = out["daemon"]["pid"].as_i64().with_context(|| {
        format!(
            "{} has no `daemon.pid`: was it written by `sebs local start`?",
            args.input.display()
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
            args.input.display()
        );
    }
    if let Some(file) = out["memory_measurements"]["file"].as_str() {
        let stats = memory_stats(Path::new(file))?;
        write_json_atomic(&args.output, &stats)
            .with_context(|| format!("failed to write {}", args.output.display()))?;
        let _ = std::fs::remove_file(file);
        println!("{}", args.output.display());
    }
    Ok(0)
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

//! `sebs storage start|stop`: the embedded S3 and DynamoDB-API servers as background daemons.
//!
//! `start` re-executes this binary as `sebs storage serve` (hidden), one detached process per
//! service, waits until each has bound its port, and writes SeBS's storage JSON with the
//! addresses, fresh credentials and the daemon pids. `stop` terminates those pids.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand, ValueEnum};
use sebs_storage::{Credentials, EmbeddedOptions, EmbeddedStorage, Services, StorageConfig};
use serde_json::Value;

/// Environment variables that carry the object storage keys to the daemon (not its argv,
/// which every user can read).
const ACCESS_KEY_ENV: &str = "SEBS_STORAGE_ACCESS_KEY";
const SECRET_KEY_ENV: &str = "SEBS_STORAGE_SECRET_KEY";

/// `sebs storage ...`
#[derive(Debug, Subcommand)]
pub enum StorageCommand {
    /// Start object storage (S3), NoSQL (DynamoDB API) or both as background processes on
    /// 127.0.0.1, and write the storage JSON for `--storage-configuration`.
    #[command(after_help = "Docs: docs/storage.md")]
    Start(StartArgs),
    /// Stop what `storage start` started.
    #[command(after_help = "Docs: docs/storage.md")]
    Stop(StopArgs),
    /// Serve in the foreground (what the daemons run).
    #[command(hide = true)]
    Serve(ServeArgs),
}

/// Which services.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Kind {
    /// The S3 server.
    Object,
    /// The DynamoDB-API server.
    Nosql,
    /// Both.
    All,
}

impl Kind {
    fn services(self) -> Services {
        Services {
            object: self != Kind::Nosql,
            nosql: self != Kind::Object,
        }
    }
}

/// `sebs storage start`.
#[derive(Debug, Args)]
pub struct StartArgs {
    /// What to start.
    #[arg(value_enum)]
    pub kind: Kind,
    /// SeBS storage config (configs/storage.json): `mapped_port` and `data_volume` of
    /// `object.minio` and `nosql.scylladb` are used. Defaults: a free port, ./minio-volume and
    /// ./scylladb-volume.
    pub config: Option<PathBuf>,
    /// Write the storage JSON here (default: print it on stdout).
    #[arg(long, value_name = "FILE")]
    pub output_json: Option<PathBuf>,
}

/// `sebs storage stop`.
#[derive(Debug, Args)]
pub struct StopArgs {
    /// What to stop.
    #[arg(value_enum)]
    pub kind: Kind,
    /// The JSON `storage start` wrote.
    pub input_json: PathBuf,
}

/// `sebs storage serve` (internal).
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Object data directory (serve S3).
    #[arg(long)]
    pub object_dir: Option<PathBuf>,
    /// Object port.
    #[arg(long, default_value_t = 0)]
    pub object_port: u16,
    /// NoSQL data directory (serve the DynamoDB API).
    #[arg(long)]
    pub nosql_dir: Option<PathBuf>,
    /// NoSQL port.
    #[arg(long, default_value_t = 0)]
    pub nosql_port: u16,
    /// Where to write the storage JSON once listening.
    #[arg(long)]
    pub ready_file: PathBuf,
}

/// Run a `sebs storage` command.
pub async fn run(command: StorageCommand) -> Result<i32> {
    match command {
        StorageCommand::Start(args) => start(&args).await,
        StorageCommand::Stop(args) => stop(&args),
        StorageCommand::Serve(args) => serve(&args).await,
    }
}

fn setting<'a>(config: &'a Value, section: &str, kind: &str, key: &str) -> Option<&'a Value> {
    config.get(section)?.get(kind)?.get(key)
}

async fn start(args: &StartArgs) -> Result<i32> {
    let config: Value = match &args.config {
        Some(path) => serde_json::from_str(
            &std::fs::read_to_string(path)
                .with_context(|| format!("failed to read {}", path.display()))?,
        )
        .with_context(|| format!("failed to parse {} as JSON", path.display()))?,
        None => Value::Null,
    };
    let port = |section, kind| -> Result<u16> {
        match setting(&config, section, kind, "mapped_port") {
            None | Some(Value::Null) => Ok(0),
            Some(v) => v
                .as_u64()
                .and_then(|p| u16::try_from(p).ok())
                .with_context(|| format!("{section}.{kind}.mapped_port must be a port number (0 picks a free one), not {v}")),
        }
    };
    let volume = |section, kind, default: &str| -> Result<PathBuf> {
        let dir = setting(&config, section, kind, "data_volume")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .unwrap_or(default);
        Ok(std::path::absolute(dir)?)
    };
    let services = args.kind.services();
    let mut out = StorageConfig::default();
    if services.object {
        let dir = volume("object", "minio", "minio-volume")?;
        let started = spawn_daemon(
            &["--object-dir".as_ref(), dir.as_os_str()],
            "--object-port",
            port("object", "minio")?,
            &dir,
            Some(&Credentials::generate()),
        )
        .await?;
        out.object = started.object;
    }
    if services.nosql {
        let dir = volume("nosql", "scylladb", "scylladb-volume")?;
        let started = spawn_daemon(
            &["--nosql-dir".as_ref(), dir.as_os_str()],
            "--nosql-port",
            port("nosql", "scylladb")?,
            &dir,
            None,
        )
        .await;
        let started = match started {
            Ok(s) => s,
            Err(e) => {
                if let Some(pid) = out.object.as_ref().and_then(|o| o.minio.pid) {
                    let _ = terminate(pid);
                }
                return Err(e);
            }
        };
        out.nosql = started.nosql;
    }
    let text = serde_json::to_string_pretty(&out)? + "\n";
    match &args.output_json {
        Some(path) => {
            write_private(path, &text)?;
            tracing::info!(
                "storage running; configuration in {} (pass it as --storage-configuration; stop with `sebs storage stop {} {}`)",
                path.display(),
                args.kind.to_possible_value().expect("named").get_name(),
                path.display()
            );
        }
        None => print!("{text}"),
    }
    Ok(0)
}

/// The JSON holds credentials: owner-only permissions.
fn write_private(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("failed to write {}", path.display()))?;
    file.write_all(text.as_bytes())
        .with_context(|| format!("failed to write {}", path.display()))
}

async fn spawn_daemon(
    dir_args: &[&std::ffi::OsStr],
    port_flag: &str,
    port: u16,
    dir: &Path,
    credentials: Option<&Credentials>,
) -> Result<StorageConfig> {
    use std::os::unix::process::CommandExt;
    std::fs::create_dir_all(dir).with_context(|| format!("failed to create {}", dir.display()))?;
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "storage".into());
    let parent = dir.parent().unwrap_or(Path::new("."));
    let ready = parent.join(format!(".{name}.ready.json"));
    let log_path = parent.join(format!("{name}.log"));
    let _ = std::fs::remove_file(&ready);
    let log = std::fs::File::create(&log_path)
        .with_context(|| format!("failed to create the log {}", log_path.display()))?;
    let exe = std::env::current_exe().context("failed to find the sebs executable")?;
    let mut cmd = std::process::Command::new(exe);
    cmd.args(["storage", "serve"])
        .args(dir_args)
        .arg(port_flag)
        .arg(port.to_string())
        .arg("--ready-file")
        .arg(&ready)
        .stdin(std::process::Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        // Its own process group: Ctrl-C in the terminal that started it does not stop it.
        .process_group(0);
    if let Some(c) = credentials {
        cmd.env(ACCESS_KEY_ENV, &c.access_key)
            .env(SECRET_KEY_ENV, &c.secret_key);
    }
    let mut child = cmd.spawn().context("failed to start the storage daemon")?;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(text) = std::fs::read_to_string(&ready)
            && let Ok(config) = serde_json::from_str::<Value>(&text)
        {
            let _ = std::fs::remove_file(&ready);
            return StorageConfig::from_value(&config);
        }
        if let Some(status) = child.try_wait()? {
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            bail!(
                "the storage daemon exited ({status}) before it was ready; its log {}:\n{}",
                log_path.display(),
                log.trim_end()
            );
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            bail!(
                "the storage daemon was not ready after 30 s; see {}",
                log_path.display()
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn serve(args: &ServeArgs) -> Result<i32> {
    let services = Services {
        object: args.object_dir.is_some(),
        nosql: args.nosql_dir.is_some(),
    };
    if !services.object && !services.nosql {
        bail!("nothing to serve: pass --object-dir and/or --nosql-dir");
    }
    let credentials = match (
        std::env::var(ACCESS_KEY_ENV).ok(),
        std::env::var(SECRET_KEY_ENV).ok(),
    ) {
        (Some(access_key), Some(secret_key)) => Credentials {
            access_key,
            secret_key,
        },
        _ => Credentials::generate(),
    };
    let here = PathBuf::from(".");
    let options = EmbeddedOptions {
        object_dir: args.object_dir.clone().unwrap_or_else(|| here.clone()),
        object_port: args.object_port,
        nosql_dir: args.nosql_dir.clone().unwrap_or(here),
        nosql_port: args.nosql_port,
        credentials,
    };
    let storage = EmbeddedStorage::start(services, &options).await?;
    let tmp = args.ready_file.with_extension("tmp");
    write_private(&tmp, &serde_json::to_string(storage.config())?)?;
    std::fs::rename(&tmp, &args.ready_file)?;
    if let Some(e) = storage.config().object_endpoint()? {
        tracing::info!("object storage (S3) listening on {}", e.address);
    }
    if let Some(e) = storage.config().nosql_endpoint()? {
        tracing::info!("NoSQL (DynamoDB API) listening on {}", e.address);
    }
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = term.recv() => {},
        _ = tokio::signal::ctrl_c() => {},
    }
    tracing::info!("stopping");
    storage.shutdown().await;
    Ok(0)
}

fn stop(args: &StopArgs) -> Result<i32> {
    let config = StorageConfig::load(&args.input_json)?;
    let services = args.kind.services();
    let mut pids = Vec::new();
    if services.object {
        match config.object.as_ref() {
            Some(o) => pids.push(("object", daemon_pid(o.minio.pid, &o.minio.instance_id)?)),
            None => bail!("{} has no `object` section", args.input_json.display()),
        }
    }
    if services.nosql {
        match config.nosql.as_ref() {
            Some(n) => pids.push((
                "nosql",
                daemon_pid(n.scylladb.pid, &n.scylladb.instance_id)?,
            )),
            None => bail!("{} has no `nosql` section", args.input_json.display()),
        }
    }
    for (what, pid) in pids {
        if terminate(pid)? {
            tracing::info!("stopped {what} storage (pid {pid})");
        } else {
            tracing::warn!("{what} storage (pid {pid}) was not running");
        }
    }
    Ok(0)
}

fn daemon_pid(pid: Option<u32>, instance_id: &str) -> Result<u32> {
    pid.or_else(|| instance_id.parse().ok())
        .context("the storage JSON has no `pid`: it was not written by `sebs storage start`; stop that storage the way it was started")
}

/// Whether `pid` is a `sebs storage serve` process (so a recycled pid is never killed).
fn is_storage_daemon(pid: u32) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|cmdline| {
            let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
            args.windows(2)
                .any(|w| w[0] == b"storage" && w[1] == b"serve")
        })
        .unwrap_or(false)
}

/// SIGTERM, wait up to 10 s, then SIGKILL. `Ok(false)` if it was not running.
fn terminate(pid: u32) -> Result<bool> {
    if !is_storage_daemon(pid) {
        return Ok(false);
    }
    let pid_t = libc::pid_t::try_from(pid).context("invalid pid")?;
    // SAFETY: kill(2) has no memory-safety preconditions.
    unsafe { libc::kill(pid_t, libc::SIGTERM) };
    let deadline = Instant::now() + Duration::from_secs(10);
    while is_storage_daemon(pid) && !is_zombie(pid) {
        if Instant::now() > deadline {
            // SAFETY: as above.
            unsafe { libc::kill(pid_t, libc::SIGKILL) };
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(true)
}

fn is_zombie(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| s.rsplit_once(") ").map(|(_, rest)| rest.starts_with('Z')))
        .unwrap_or(true)
}

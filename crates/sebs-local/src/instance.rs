//! Function instances: one OS process each, talking to the gateway over the Lambda Runtime API.

use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};

use crate::{FunctionState, Outcome, Runtime, Shared};

/// An invocation handed to an instance.
pub(crate) struct Pending {
    pub(crate) request_id: String,
    pub(crate) payload: Bytes,
    pub(crate) deadline_ms: u64,
    pub(crate) reply: oneshot::Sender<Outcome>,
}

/// The invocation an instance has taken with `/next` and not answered yet.
pub(crate) struct Inflight {
    pub(crate) request_id: String,
    pub(crate) reply: oneshot::Sender<Outcome>,
}

pub(crate) struct Instance {
    pub(crate) id: String,
    pub(crate) function: String,
    queue: mpsc::UnboundedSender<Pending>,
    pub(crate) next: tokio::sync::Mutex<mpsc::UnboundedReceiver<Pending>>,
    pub(crate) inflight: Mutex<Option<Inflight>>,
    pub(crate) init_error: Mutex<Option<Bytes>>,
    exit: Mutex<Option<String>>,
    alive: AtomicBool,
    pid: u32,
    dir: PathBuf,
}

impl Instance {
    pub(crate) fn is_alive(&self) -> bool {
        self.alive.load(Ordering::Acquire)
    }

    /// Queue an invocation; if the instance is gone the reply channel is dropped at once.
    pub(crate) fn dispatch(&self, pending: Pending) {
        let _ = self.queue.send(pending);
    }

    /// Kill the instance's process group. Its watcher reports the exit.
    pub(crate) fn kill(&self) {
        if self.alive.swap(false, Ordering::AcqRel) {
            // The instance leads its own process group (setpgid in pre_exec), so this also
            // reaches anything the function forked.
            unsafe {
                libc::kill(-(self.pid as i32), libc::SIGKILL);
            }
        }
    }

    /// Why the instance stopped, for invocations that lost it.
    pub(crate) fn exit_cause(&self) -> String {
        self.exit
            .lock()
            .expect("lock")
            .clone()
            .unwrap_or_else(|| "the instance stopped before answering".into())
    }

    /// Take the in-flight invocation if `request_id` matches it.
    pub(crate) fn take_inflight(&self, request_id: &str) -> Option<oneshot::Sender<Outcome>> {
        let mut inflight = self.inflight.lock().expect("lock");
        match inflight.as_ref() {
            Some(current) if current.request_id == request_id => inflight.take().map(|i| i.reply),
            _ => None,
        }
    }
}

/// Environment variables passed through from the host: none that change interpreter behaviour.
fn base_env(
    shared: &Shared,
    function: &FunctionState,
    id: &str,
    dir: &std::path::Path,
) -> Vec<(String, String)> {
    let spec = &function.spec;
    let tmp = dir.join("tmp");
    let mut env: Vec<(String, String)> = vec![
        ("PATH".into(), "/usr/local/bin:/usr/bin:/bin".into()),
        ("LANG".into(), "C.UTF-8".into()),
        ("HOME".into(), dir.display().to_string()),
        ("TMPDIR".into(), tmp.display().to_string()),
        (
            "TZ".into(),
            std::env::var("TZ").unwrap_or_else(|_| ":/etc/localtime".into()),
        ),
        ("PYTHONDONTWRITEBYTECODE".into(), "1".into()),
        ("PYTHONUNBUFFERED".into(), "1".into()),
        (
            "AWS_LAMBDA_RUNTIME_API".into(),
            format!("{}/instances/{id}", shared.addr),
        ),
        ("AWS_LAMBDA_FUNCTION_NAME".into(), spec.name.clone()),
        ("AWS_LAMBDA_FUNCTION_VERSION".into(), "$LATEST".into()),
        (
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE".into(),
            spec.memory_mb.to_string(),
        ),
        ("AWS_LAMBDA_LOG_STREAM_NAME".into(), id.to_owned()),
        ("AWS_REGION".into(), "local".into()),
        (
            "LAMBDA_TASK_ROOT".into(),
            spec.code_dir.display().to_string(),
        ),
        ("_HANDLER".into(), spec.handler.clone()),
    ];
    env.extend(spec.env.iter().map(|(k, v)| (k.clone(), v.clone())));
    env
}

/// Start a new instance of `function` and register it with the gateway.
pub(crate) fn spawn(
    shared: &Arc<Shared>,
    function: &Arc<FunctionState>,
) -> std::io::Result<Arc<Instance>> {
    let id = uuid::Uuid::new_v4().simple().to_string()[..12].to_owned();
    let dir = shared.work_dir.path().join("instances").join(&id);
    std::fs::create_dir_all(dir.join("tmp"))?;
    let log = std::fs::File::create(dir.join("output.log"))?;

    let mut command = match &function.spec.runtime {
        Runtime::Python { interpreter } => {
            let mut c = tokio::process::Command::new(interpreter);
            // -S: packages are self-contained (as on Lambda), and skipping `site` keeps the
            // host's site-packages and .pth hooks out of the function and its cold start.
            c.arg("-S").arg(&shared.bootstrap);
            c
        }
    };
    command
        .env_clear()
        .envs(base_env(shared, function, &id, &dir))
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .kill_on_drop(true);
    unsafe {
        command.pre_exec(|| {
            // Own process group, so a kill reaches the function's children too; and die with
            // the platform even if it is killed without a chance to clean up.
            libc::setpgid(0, 0);
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }

    let (queue, next) = mpsc::unbounded_channel();
    let mut child = command.spawn()?;
    let pid = child.id().unwrap_or(0);
    let instance = Arc::new(Instance {
        id: id.clone(),
        function: function.spec.name.clone(),
        queue,
        next: tokio::sync::Mutex::new(next),
        inflight: Mutex::new(None),
        init_error: Mutex::new(None),
        exit: Mutex::new(None),
        alive: AtomicBool::new(true),
        pid,
        dir,
    });
    shared
        .instances
        .lock()
        .expect("lock")
        .insert(id.clone(), instance.clone());
    tracing::debug!(function = %function.spec.name, instance = %id, pid, "instance started");

    let watched = instance.clone();
    let shared = shared.clone();
    tokio::spawn(async move {
        let status = child.wait().await;
        watched.alive.store(false, Ordering::Release);
        shared.instances.lock().expect("lock").remove(&watched.id);
        let (kind, cause) = describe_exit(&watched, status);
        tracing::debug!(instance = %watched.id, "instance exited: {cause}");
        *watched.exit.lock().expect("lock") = Some(cause.clone());
        let failed = || Outcome::Failed {
            kind: kind.clone(),
            message: cause.clone(),
        };
        if let Some(inflight) = watched.inflight.lock().expect("lock").take() {
            let _ = inflight.reply.send(failed());
        }
        // An invocation queued but never fetched (the instance died during init).
        let mut next = watched.next.lock().await;
        next.close();
        while let Ok(pending) = next.try_recv() {
            let _ = pending.reply.send(failed());
        }
        let _ = std::fs::remove_dir_all(&watched.dir);
    });
    Ok(instance)
}

fn describe_exit(instance: &Instance, status: std::io::Result<ExitStatus>) -> (String, String) {
    if let Some(body) = instance.init_error.lock().expect("lock").take() {
        let parsed: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        let kind = parsed["errorType"].as_str().unwrap_or("Runtime.InitError");
        let message = parsed["errorMessage"]
            .as_str()
            .unwrap_or("initialization failed");
        let trace = parsed["stackTrace"]
            .as_array()
            .map(|lines| {
                lines
                    .iter()
                    .filter_map(|l| l.as_str())
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .unwrap_or_default();
        return (
            "Runtime.InitError".into(),
            format!("init error: {kind}: {message}\n{}", trace.trim_end()),
        );
    }
    let how = match status {
        Ok(s) => match (s.code(), s.signal()) {
            (Some(code), _) => format!("exited with status {code}"),
            (None, Some(sig)) => format!("killed by signal {sig} ({})", signal_name(sig)),
            _ => "exited".to_owned(),
        },
        Err(e) => format!("could not be waited for: {e}"),
    };
    let log = std::fs::read_to_string(instance.dir.join("output.log")).unwrap_or_default();
    let tail: Vec<&str> = log.trim_end().lines().rev().take(20).collect();
    let mut cause = format!("the instance {how}");
    if !tail.is_empty() {
        cause.push_str("; its last output:\n");
        cause.push_str(&tail.into_iter().rev().collect::<Vec<_>>().join("\n"));
    }
    ("Runtime.ExitError".into(), cause)
}

fn signal_name(sig: i32) -> &'static str {
    match sig {
        libc::SIGKILL => "SIGKILL",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGABRT => "SIGABRT",
        libc::SIGTERM => "SIGTERM",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGILL => "SIGILL",
        _ => "signal",
    }
}

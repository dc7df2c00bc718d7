//! Starting an instance: its command line, its scrubbed environment, its directory and limits,
//! then a fork from the function's zygote or a fresh process (`exec`).

use std::ffi::{CStr, CString, OsString};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;

use sebs_core::config::ColdStartMode;

use crate::channel::Channel;
use crate::instance::{Instance, Link};
use crate::limits::{self, InstanceLimits};
use crate::output::OutputLog;
use crate::spec::{FunctionSpec, Runtime};
use crate::state::{FunctionState, Shared};

/// Byte-compile the bootstrap for `interpreter` once; on failure instances run the source.
pub(crate) async fn compile_bootstrap(shared: &Arc<Shared>, interpreter: &Path) {
    if shared
        .compiled
        .lock()
        .expect("lock")
        .contains_key(interpreter)
    {
        return;
    }
    let n = shared.compiled.lock().expect("lock").len();
    let target = shared
        .bootstrap
        .with_file_name(format!("bootstrap-{n}.pyc"));
    let (source, program, out) = (
        shared.bootstrap.clone(),
        interpreter.to_owned(),
        target.clone(),
    );
    let compiled = tokio::task::spawn_blocking(move || {
        std::process::Command::new(&program)
            .args(["-S", "-c", "import py_compile, sys; py_compile.compile(sys.argv[1], cfile=sys.argv[2], doraise=True)"])
            .arg(&source)
            .arg(&out)
            .env_clear()
            .status()
            .is_ok_and(|s| s.success())
    })
    .await
    .unwrap_or(false);
    if compiled {
        shared
            .compiled
            .lock()
            .expect("lock")
            .insert(interpreter.to_owned(), target);
    } else {
        tracing::debug!(
            "could not byte-compile the bootstrap for {}",
            interpreter.display()
        );
    }
}

/// Program and arguments that start an instance of `spec`.
pub(crate) fn command_of(shared: &Shared, spec: &FunctionSpec) -> (PathBuf, Vec<OsString>) {
    match &spec.runtime {
        // -S: packages are self-contained (as on Lambda), and skipping `site` keeps the host's
        // site-packages and .pth hooks out of the function and its cold start.
        Runtime::Python { interpreter } => {
            let bootstrap = shared
                .compiled
                .lock()
                .expect("lock")
                .get(interpreter)
                .cloned()
                .unwrap_or_else(|| shared.bootstrap.clone());
            (
                interpreter.clone(),
                vec!["-S".into(), bootstrap.into_os_string()],
            )
        }
        Runtime::Node { node } => {
            // Like Lambda's Node.js runtime: a heap limit below the memory size, so a function
            // that allocates too much fails with V8's heap error rather than a kill.
            let heap_mb = (spec.memory_mb * 9 / 10).max(16);
            (
                node.clone(),
                vec![
                    format!("--max-old-space-size={heap_mb}").into(),
                    shared.node_bootstrap.clone().into_os_string(),
                ],
            )
        }
        Runtime::Custom { bootstrap } => (bootstrap.clone(), Vec::new()),
    }
}

/// The scrubbed environment of an instance: nothing from the host but an explicit allow-list.
pub(crate) fn function_env(
    shared: &Shared,
    spec: &FunctionSpec,
    id: &str,
    dir: &Path,
) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = vec![
        ("PATH".into(), "/usr/local/bin:/usr/bin:/bin".into()),
        ("LANG".into(), "C.UTF-8".into()),
        ("HOME".into(), dir.display().to_string()),
        ("TMPDIR".into(), dir.join("tmp").display().to_string()),
        ("TZ".into(), ":/etc/localtime".into()),
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
        // The platform's Lambda Invoke API, for functions that invoke functions (the AWS SDKs'
        // service-specific endpoint variable; the profiler's `invoke` reads it too).
        (
            "AWS_ENDPOINT_URL_LAMBDA".into(),
            format!("http://{}", shared.addr),
        ),
        (
            "LAMBDA_TASK_ROOT".into(),
            spec.code_dir.display().to_string(),
        ),
        ("_HANDLER".into(), spec.handler.clone()),
    ];
    env.extend(spec.env.iter().map(|(k, v)| (k.clone(), v.clone())));
    env
}

/// Start an instance of `function`: its directory, cgroup and environment, then a fork from the
/// function's zygote if it has a live one, else a fresh process.
pub(crate) async fn start_instance(
    shared: &Arc<Shared>,
    function: &Arc<FunctionState>,
) -> std::io::Result<Arc<Instance>> {
    let spec = &function.spec;
    let id = uuid::Uuid::new_v4().simple().to_string()[..12].to_owned();
    let (mut cgroup, dir, output) = prepare(shared, spec, &id).await?;
    if let Runtime::Node { .. } = spec.runtime {
        // V8 reserves gigabytes of address space up front: under RLIMIT_AS, node cannot start.
        // Without cgroups its memory is bounded by the heap limit (--max-old-space-size).
        cgroup.rlimit_as = None;
    }
    let zygote = function
        .zygote
        .lock()
        .expect("lock")
        .clone()
        .filter(|z| z.is_alive());
    let mode = if zygote.is_some() {
        ColdStartMode::Fork
    } else {
        ColdStartMode::Exec
    };
    let instance = Instance::new(
        id.clone(),
        dir.clone(),
        output,
        cgroup,
        &spec.name,
        spec.memory_mb,
        spec.protocol,
        mode,
    );
    shared
        .instances
        .lock()
        .expect("lock")
        .insert(id.clone(), instance.clone());
    let env = function_env(shared, spec, &id, &dir);
    let started = match zygote {
        Some(z) => {
            // The zygote's environment is the function's; only the per-instance parts change.
            let own: Vec<(String, String)> = env
                .iter()
                .filter(|(k, _)| {
                    matches!(
                        k.as_str(),
                        "HOME" | "TMPDIR" | "AWS_LAMBDA_RUNTIME_API" | "AWS_LAMBDA_LOG_STREAM_NAME"
                    )
                })
                .cloned()
                .collect();
            let ns = shared.isolation.plan(spec, shared, &dir.join("tmp"));
            z.fork(shared, &instance, &own, ns).await
        }
        None => {
            let (program, args) = command_of(shared, spec);
            let ns = shared.isolation.plan(spec, shared, &dir.join("tmp"));
            spawn_exec(shared, &program, &args, &instance, &env, ns)
        }
    };
    if let Err(e) = started {
        shared.instances.lock().expect("lock").remove(&id);
        instance.kill();
        let _ = std::fs::remove_dir_all(&dir);
        return Err(e);
    }
    Ok(instance)
}

/// An instance's directory (with its `tmp`), cgroup and output log (created here for both
/// modes: a forked instance opens it by path). On a blocking thread, at most one per CPU at a
/// time: the directories' and cgroups' creation is most of the gateway's own work when hundreds
/// of instances start at once (ext4's inode allocation above all), and on the async worker it
/// held up every other request meanwhile.
async fn prepare(
    shared: &Arc<Shared>,
    spec: &FunctionSpec,
    id: &str,
) -> std::io::Result<(limits::InstanceCgroup, PathBuf, OutputLog)> {
    let _permit = shared
        .preparing
        .acquire()
        .await
        .map_err(std::io::Error::other)?;
    let limits = InstanceLimits {
        memory_mb: spec.memory_mb,
        cpus: shared
            .config
            .cpu_share
            .then(|| spec.memory_mb as f64 / limits::MB_PER_VCPU),
        pids: shared.config.pids,
    };
    let (shared, id) = (shared.clone(), id.to_owned());
    tokio::task::spawn_blocking(move || {
        let dir = shared.work_dir.path().join("instances").join(&id);
        std::fs::create_dir_all(dir.join("tmp"))?;
        let cgroup = shared.limits.create(&id, limits);
        match OutputLog::create(&dir.join("output.log")) {
            Ok(output) => Ok((cgroup, dir, output)),
            Err(e) => {
                cgroup.remove();
                let _ = std::fs::remove_dir_all(&dir);
                Err(e)
            }
        }
    })
    .await
    .map_err(std::io::Error::other)?
}

/// Start an instance as a fresh process (`exec` cold start).
pub(crate) fn spawn_exec(
    shared: &Arc<Shared>,
    program: &Path,
    args: &[OsString],
    instance: &Arc<Instance>,
    env: &[(String, String)],
    (unshare, private_tmp): (libc::c_int, Option<PathBuf>),
) -> std::io::Result<()> {
    let log = instance.output.writer()?;
    let private_tmp =
        private_tmp.and_then(|p| CString::new(p.into_os_string().into_encoded_bytes()).ok());
    let mut command = tokio::process::Command::new(program);
    command
        .args(args)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .current_dir(&instance.dir)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);

    // The instance's end of the channel becomes its fd 3.
    let mut platform_end = None;
    let mut child_fd = -1;
    if let Link::Channel(_) = &instance.link {
        let (ours, theirs) = std::os::unix::net::UnixStream::pair()?;
        child_fd = theirs.as_raw_fd();
        platform_end = Some((ours, OwnedFd::from(theirs)));
        command.env("SEBS_CHANNEL_FD", "3");
    }
    let procs: Vec<CString> = instance
        .cgroup
        .procs
        .iter()
        .filter_map(|p| CString::new(p.as_os_str().as_encoded_bytes()).ok())
        .collect();
    let rlimit = instance.cgroup.rlimit_as;
    let nofile = crate::fdlimit::raise();
    unsafe {
        // SAFETY: runs in the child between fork and exec, with what was prepared above.
        command.pre_exec(move || {
            crate::fdlimit::restore(nofile);
            enter_sandbox(&procs, rlimit, unshare, private_tmp.as_deref(), child_fd)
        });
    }
    let mut child = command.spawn()?;
    let pid = child.id().map(|p| p as i32).unwrap_or(0);
    instance.set_pid(pid);
    if let Some((ours, theirs)) = platform_end {
        drop(theirs);
        let channel = Channel::new(ours)?;
        if let Link::Channel(slot) = &instance.link {
            // Not contended: nobody has seen this instance yet.
            *slot.try_lock().expect("fresh instance") = Some(channel);
        }
    }
    let watched = instance.clone();
    let shared = shared.clone();
    tokio::spawn(async move {
        let status = child
            .wait()
            .await
            .map(|s| s.into_raw())
            .unwrap_or(libc::SIGKILL);
        watched.on_exit(&shared, status);
    });
    Ok(())
}

/// In the child, between fork and exec: its own process group, death with the platform, its
/// cgroups, its address-space limit, its namespaces and its channel as fd 3.
///
/// # Safety
///
/// Only for a `pre_exec` hook: it changes the calling process, and it makes only
/// async-signal-safe calls, as a forked child of a multi-threaded process must.
unsafe fn enter_sandbox(
    procs: &[CString],
    rlimit: Option<u64>,
    unshare: libc::c_int,
    private_tmp: Option<&CStr>,
    child_fd: libc::c_int,
) -> std::io::Result<()> {
    unsafe {
        // Own process group (kills reach the function's children too); die with the
        // platform even if it is killed without a chance to clean up.
        libc::setpgid(0, 0);
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
        // Join the instance's cgroups ("0" means the writing process).
        for path in procs {
            let fd = libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
            if fd >= 0 {
                libc::write(fd, b"0".as_ptr().cast(), 1);
                libc::close(fd);
            }
        }
        if let Some(bytes) = rlimit {
            let limit = libc::rlimit {
                rlim_cur: bytes,
                rlim_max: bytes,
            };
            libc::setrlimit(libc::RLIMIT_AS, &limit);
        }
        if unshare != 0 && libc::unshare(unshare) == 0 && unshare & libc::CLONE_NEWNS != 0 {
            // Keep our mounts to ourselves, then show the instance's own directory as /tmp.
            libc::mount(
                std::ptr::null(),
                c"/".as_ptr(),
                std::ptr::null(),
                libc::MS_REC | libc::MS_PRIVATE,
                std::ptr::null(),
            );
            if let Some(tmp) = private_tmp {
                libc::mount(
                    tmp.as_ptr(),
                    c"/tmp".as_ptr(),
                    std::ptr::null(),
                    libc::MS_BIND,
                    std::ptr::null(),
                );
            }
        }
        if child_fd >= 0 && libc::dup2(child_fd, 3) < 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

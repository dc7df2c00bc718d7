//! The fork server: a per-function "zygote" process that has imported the runtime and the
//! function's module, and forks every new instance of the function. A cold start then costs a
//! `fork()` instead of an interpreter start plus imports.
//!
//! The zygote talks to the platform on a control channel (fd 3): `FORK` requests go down,
//! `FORKED {id, pid}` and `EXITED {pid, status}` come back (the zygote reaps its children). A
//! forked instance connects to the platform's Unix socket and says `HELLO <id>`; from then on it
//! serves invocations on that connection exactly like an `exec` instance on its inherited one.

use std::collections::HashMap;
use std::os::fd::AsRawFd;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::UnixStream;
use tokio::sync::oneshot;

use crate::channel::{encode, frame, read_frame};
use crate::instance::Instance;
use crate::state::Shared;

pub(crate) struct Zygote {
    writer: tokio::sync::Mutex<tokio::net::unix::OwnedWriteHalf>,
    pending: Mutex<HashMap<String, oneshot::Sender<i32>>>,
    children: Mutex<HashMap<i32, Weak<Instance>>>,
    /// Exits reported before the fork's own reply was processed.
    early_exits: Mutex<HashMap<i32, i32>>,
    pid: i32,
    alive: AtomicBool,
}

impl Zygote {
    /// Start a zygote and wait until it has imported the handler. `Err` carries the init error.
    pub(crate) async fn start(
        shared: &Arc<Shared>,
        program: &std::path::Path,
        args: &[std::ffi::OsString],
        env: &[(String, String)],
        dir: &std::path::Path,
        wait: Duration,
    ) -> Result<Arc<Zygote>, String> {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        let log = std::fs::File::create(dir.join("output.log")).map_err(|e| e.to_string())?;
        let (ours, theirs) = std::os::unix::net::UnixStream::pair().map_err(|e| e.to_string())?;
        let child_fd = theirs.as_raw_fd();
        let mut command = tokio::process::Command::new(program);
        command
            .args(args)
            .env_clear()
            .envs(env.iter().map(|(k, v)| (k, v)))
            .env("SEBS_ZYGOTE_FD", "3")
            .env("SEBS_GATEWAY_SOCKET", &shared.socket_path)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log)
            .kill_on_drop(true);
        // Its instances inherit the descriptor limit the platform started with.
        let nofile = crate::fdlimit::raise();
        unsafe {
            command.pre_exec(move || {
                crate::fdlimit::restore(nofile);
                libc::setpgid(0, 0);
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                if libc::dup2(child_fd, 3) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut child = command
            .spawn()
            .map_err(|e| format!("cannot start the fork server: {e}"))?;
        drop(theirs);
        ours.set_nonblocking(true).map_err(|e| e.to_string())?;
        let stream = UnixStream::from_std(ours).map_err(|e| e.to_string())?;
        let (reader, writer) = stream.into_split();
        let zygote = Arc::new(Zygote {
            writer: tokio::sync::Mutex::new(writer),
            pending: Mutex::new(HashMap::new()),
            children: Mutex::new(HashMap::new()),
            early_exits: Mutex::new(HashMap::new()),
            pid: child.id().map(|p| p as i32).unwrap_or(0),
            alive: AtomicBool::new(true),
        });

        let (ready_tx, ready_rx) = oneshot::channel::<Result<(), String>>();
        tokio::spawn(read_control(
            zygote.clone(),
            shared.clone(),
            reader,
            ready_tx,
        ));
        tokio::spawn(async move {
            let _ = child.wait().await;
        });

        match tokio::time::timeout(wait, ready_rx).await {
            Ok(Ok(Ok(()))) => Ok(zygote),
            Ok(Ok(Err(init_error))) => Err(init_error),
            Ok(Err(_)) => Err(format!(
                "the fork server exited during start-up; see {}",
                dir.join("output.log").display()
            )),
            Err(_) => {
                zygote.kill();
                Err(format!("the fork server did not start within {wait:?}"))
            }
        }
    }

    pub(crate) fn is_alive(&self) -> bool {
        self.alive.load(Ordering::Acquire)
    }

    /// Fork a new instance and wait until it is connected.
    pub(crate) async fn fork(
        &self,
        shared: &Shared,
        instance: &Arc<Instance>,
        env: &[(String, String)],
        (unshare, private_tmp): (libc::c_int, Option<std::path::PathBuf>),
    ) -> std::io::Result<()> {
        let (pid_tx, pid_rx) = oneshot::channel();
        let (hello_tx, hello_rx) = oneshot::channel();
        self.pending
            .lock()
            .expect("lock")
            .insert(instance.id.clone(), pid_tx);
        shared
            .hellos
            .lock()
            .expect("lock")
            .insert(instance.id.clone(), hello_tx);
        let spec = serde_json::json!({
            "id": instance.id,
            "dir": instance.dir,
            "cgroups": instance.cgroup.procs,
            "rlimit_as": instance.cgroup.rlimit_as.unwrap_or(0),
            "env": env.iter().cloned().collect::<HashMap<_, _>>(),
            "unshare": unshare,
            "private_tmp": private_tmp,
        });
        let frame = encode(frame::FORK, b"", &[spec.to_string().as_bytes()]);
        let cleanup = || {
            self.pending.lock().expect("lock").remove(&instance.id);
            shared.hellos.lock().expect("lock").remove(&instance.id);
        };
        if let Err(e) = self.writer.lock().await.write_all(&frame).await {
            cleanup();
            return Err(e);
        }
        let pid = match tokio::time::timeout(Duration::from_secs(10), pid_rx).await {
            Ok(Ok(pid)) if pid > 0 => pid,
            _ => {
                cleanup();
                return Err(std::io::Error::other("the fork server did not fork"));
            }
        };
        instance.set_pid(pid);
        self.children
            .lock()
            .expect("lock")
            .insert(pid, Arc::downgrade(instance));
        if let Some(status) = self.early_exits.lock().expect("lock").remove(&pid) {
            self.children.lock().expect("lock").remove(&pid);
            instance.on_exit(shared, status);
        }
        match tokio::time::timeout(Duration::from_secs(10), hello_rx).await {
            Ok(Ok(stream)) => {
                instance.attach(stream).await;
                Ok(())
            }
            _ => {
                shared.hellos.lock().expect("lock").remove(&instance.id);
                instance.kill();
                Err(std::io::Error::other("the forked instance did not connect"))
            }
        }
    }

    /// Kill the fork server, its instances (they die with it anyway) and every process they
    /// started, also outside their process groups.
    pub(crate) fn kill(&self) {
        if self.alive.swap(false, Ordering::AcqRel) && self.pid > 0 {
            crate::reap::kill_tree_soon(vec![self.pid]);
        }
    }
}

/// Read the zygote's control channel until it closes: its readiness (or init error) once, then
/// the pids of forked instances and their exits.
async fn read_control(
    this: Arc<Zygote>,
    shared: Arc<Shared>,
    mut reader: tokio::net::unix::OwnedReadHalf,
    ready_tx: oneshot::Sender<Result<(), String>>,
) {
    let mut ready_tx = Some(ready_tx);
    loop {
        let Ok((kind, _, body)) = read_frame(&mut reader).await else {
            break;
        };
        let msg: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        match kind {
            frame::READY => {
                if let Some(tx) = ready_tx.take() {
                    let _ = tx.send(Ok(()));
                }
            }
            frame::INIT_ERROR => {
                if let Some(tx) = ready_tx.take() {
                    let _ = tx.send(Err(String::from_utf8_lossy(&body).into_owned()));
                }
            }
            frame::FORKED => {
                let id = msg["id"].as_str().unwrap_or_default();
                let pid = msg["pid"].as_i64().unwrap_or(0) as i32;
                if let Some(tx) = this.pending.lock().expect("lock").remove(id) {
                    let _ = tx.send(pid);
                }
            }
            frame::EXITED => {
                let pid = msg["pid"].as_i64().unwrap_or(0) as i32;
                let status = msg["status"].as_i64().unwrap_or(0) as i32;
                let child = this.children.lock().expect("lock").remove(&pid);
                match child.and_then(|w| w.upgrade()) {
                    Some(instance) => instance.on_exit(&shared, status),
                    None => {
                        this.early_exits.lock().expect("lock").insert(pid, status);
                    }
                }
            }
            other => tracing::debug!("fork server sent an unexpected frame kind {other}"),
        }
    }
    // The zygote is gone: its instances keep serving until retired.
    this.alive.store(false, Ordering::Release);
    this.pending.lock().expect("lock").clear();
}

/// Accept connections of forked instances on the platform's Unix socket and hand each to the
/// instance that said hello.
pub(crate) async fn accept_loop(shared: Arc<Shared>, listener: tokio::net::UnixListener) {
    loop {
        let Ok((mut stream, _)) = listener.accept().await else {
            continue;
        };
        let shared = shared.clone();
        tokio::spawn(async move {
            let hello = tokio::time::timeout(Duration::from_secs(5), read_frame(&mut stream)).await;
            if let Ok(Ok((frame::HELLO, id, _))) = hello {
                let waiter = shared.hellos.lock().expect("lock").remove(&id);
                if let Some(tx) = waiter {
                    let _ = tx.send(stream);
                }
            }
        });
    }
}

//! Function instances: one OS process each. Our shims (Python and Node.js) talk to the platform
//! over a private framed channel; any other Lambda runtime over the HTTP Runtime API.

use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncReadExt, Interest};
use tokio::net::UnixStream;
use tokio::sync::{mpsc, oneshot, watch};

use crate::limits::InstanceCgroup;
use crate::{ColdStartMode, MAX_PAYLOAD, Outcome, Protocol, Shared};

/// Frame kinds of the private channel (see runtimes/python/bootstrap.py).
pub(crate) mod frame {
    pub const INVOKE: u8 = 1;
    pub const READY: u8 = 2;
    pub const RESPONSE: u8 = 3;
    pub const ERROR: u8 = 4;
    pub const INIT_ERROR: u8 = 5;
    pub const OOM: u8 = 6;
    pub const FORK: u8 = 10;
    pub const FORKED: u8 = 11;
    pub const EXITED: u8 = 12;
    pub const HELLO: u8 = 13;
}

/// A frame larger than this is a protocol violation (payload limit plus headroom).
const MAX_FRAME: usize = MAX_PAYLOAD + 1024 * 1024;

/// Encode `[u32 len][kind][id len][id][body...]`.
pub(crate) fn encode(kind: u8, id: &[u8], body: &[&[u8]]) -> Vec<u8> {
    let len = 2 + id.len() + body.iter().map(|b| b.len()).sum::<usize>();
    let mut out = Vec::with_capacity(4 + len);
    out.extend_from_slice(&(len as u32).to_le_bytes());
    out.push(kind);
    out.push(id.len() as u8);
    out.extend_from_slice(id);
    for b in body {
        out.extend_from_slice(b);
    }
    out
}

/// Read one frame: `(kind, id, body)`.
pub(crate) async fn read_frame<R: tokio::io::AsyncRead + Unpin>(
    r: &mut R,
) -> std::io::Result<(u8, String, Bytes)> {
    let mut len = [0u8; 4];
    r.read_exact(&mut len).await?;
    let len = u32::from_le_bytes(len) as usize;
    if !(2..=MAX_FRAME).contains(&len) {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("malformed frame of {len} bytes"),
        ));
    }
    let mut buf = vec![0u8; len];
    r.read_exact(&mut buf).await?;
    let id_len = buf[1] as usize;
    if 2 + id_len > len {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "malformed frame header",
        ));
    }
    let id = String::from_utf8_lossy(&buf[2..2 + id_len]).into_owned();
    let kind = buf[0];
    let body = Bytes::from(buf).slice(2 + id_len..);
    Ok((kind, id, body))
}

/// The private channel of an instance: a non-blocking Unix socket registered for read
/// readiness only. (A socket registered for writes too, as tokio's streams are, wakes the
/// gateway each time the instance consumes a request, for nothing: a context switch per
/// invocation on the hot path.)
pub(crate) struct Channel {
    io: AsyncFd<std::os::unix::net::UnixStream>,
    /// Bytes read and not yet consumed: `buf[start..]`.
    buf: Vec<u8>,
    start: usize,
}

impl Channel {
    pub(crate) fn new(stream: std::os::unix::net::UnixStream) -> std::io::Result<Channel> {
        stream.set_nonblocking(true)?;
        Ok(Channel {
            // SAFETY: the stream owns its descriptor and keeps it open while registered.
            io: unsafe { AsyncFd::register_with_interest(stream, Interest::READABLE)? },
            buf: Vec::with_capacity(16 * 1024),
            start: 0,
        })
    }

    /// Write all of `data`.
    async fn send(&self, data: &[u8]) -> std::io::Result<()> {
        let fd = self.io.as_raw_fd();
        let mut off = 0;
        // Registered only while a large payload waits for room in the socket buffer.
        let mut room: Option<AsyncFd<std::os::unix::net::UnixStream>> = None;
        while off < data.len() {
            let rest = &data[off..];
            // SAFETY: `rest` is valid for `rest.len()` bytes; `fd` is open while `self` lives.
            let n = unsafe { libc::send(fd, rest.as_ptr().cast(), rest.len(), libc::MSG_NOSIGNAL) };
            if n >= 0 {
                off += n as usize;
                continue;
            }
            let e = std::io::Error::last_os_error();
            match e.kind() {
                std::io::ErrorKind::Interrupted => {}
                std::io::ErrorKind::WouldBlock => {
                    let waiter = match &room {
                        Some(w) => w,
                        // SAFETY: the duplicate owns its descriptor while registered.
                        None => room.insert(unsafe {
                            AsyncFd::register_with_interest(
                                self.io.get_ref().try_clone()?,
                                Interest::WRITABLE,
                            )?
                        }),
                    };
                    waiter.writable().await?.clear_ready();
                }
                _ => return Err(e),
            }
        }
        Ok(())
    }

    /// A complete frame at the start of the buffer, if there is one.
    fn parse(&mut self) -> std::io::Result<Option<(u8, String, Bytes)>> {
        if self.start > 0 && self.start >= self.buf.len() / 2 {
            // Drop what was consumed (amortised: at most as many bytes as are kept).
            self.buf.drain(..self.start);
            self.start = 0;
        }
        let have = &self.buf[self.start..];
        if have.len() < 4 {
            return Ok(None);
        }
        let len = u32::from_le_bytes([have[0], have[1], have[2], have[3]]) as usize;
        if !(2..=MAX_FRAME).contains(&len) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("malformed frame of {len} bytes"),
            ));
        }
        if have.len() < 4 + len {
            // Make room for the whole frame so that one read can complete it.
            self.buf.reserve(4 + len - have.len());
            return Ok(None);
        }
        let frame = &have[4..4 + len];
        let id_len = frame[1] as usize;
        if 2 + id_len > len {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "malformed frame header",
            ));
        }
        let kind = frame[0];
        let id = String::from_utf8_lossy(&frame[2..2 + id_len]).into_owned();
        let body = Bytes::copy_from_slice(&frame[2 + id_len..]);
        self.start += 4 + len;
        if self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        }
        Ok(Some((kind, id, body)))
    }

    /// One non-blocking read into the buffer; `Ok(0)` is the end of the stream.
    fn read_some(fd: libc::c_int, buf: &mut Vec<u8>) -> std::io::Result<usize> {
        if buf.capacity() - buf.len() < 4096 {
            buf.reserve(64 * 1024);
        }
        let spare = buf.spare_capacity_mut();
        // SAFETY: `spare` is writable for `spare.len()` bytes.
        let n = unsafe { libc::read(fd, spare.as_mut_ptr().cast(), spare.len()) };
        if n < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: the kernel initialised `n` bytes of the spare capacity.
        unsafe { buf.set_len(buf.len() + n as usize) };
        Ok(n as usize)
    }

    /// Read the next frame. With `spin`, poll the socket for up to that long before sleeping
    /// on the reactor: on an otherwise idle platform that spares the wake-up of an idle CPU
    /// (tens of microseconds on a virtual machine) when the instance answers quickly.
    async fn frame(&mut self, spin: Option<Duration>) -> std::io::Result<(u8, String, Bytes)> {
        let fd = self.io.as_raw_fd();
        let eof = || std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "channel closed");
        let mut spin_until = spin.map(|d| Instant::now() + d);
        loop {
            if let Some(frame) = self.parse()? {
                return Ok(frame);
            }
            if let Some(until) = spin_until {
                match Self::read_some(fd, &mut self.buf) {
                    Ok(0) => return Err(eof()),
                    Ok(_) => continue,
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        if Instant::now() >= until {
                            spin_until = None;
                        } else {
                            // Let anything else runnable on this CPU (the client, say) go first.
                            std::thread::yield_now();
                        }
                        continue;
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                }
            }
            let mut ready = self.io.readable().await?;
            match ready.try_io(|_| Self::read_some(fd, &mut self.buf)) {
                Ok(Ok(0)) => return Err(eof()),
                Ok(Ok(_)) => {}
                Ok(Err(e)) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Ok(Err(e)) => return Err(e),
                Err(_would_block) => {}
            }
        }
    }
}

/// An invocation handed to a Runtime API instance.
pub(crate) struct Pending {
    pub(crate) request_id: String,
    pub(crate) payload: Bytes,
    pub(crate) deadline_ms: u64,
    pub(crate) reply: oneshot::Sender<Outcome>,
}

/// The invocation a Runtime API instance has taken with `/next` and not answered yet.
pub(crate) struct Inflight {
    pub(crate) request_id: String,
    pub(crate) reply: oneshot::Sender<Outcome>,
}

/// State of a Runtime API instance.
pub(crate) struct RuntimeApiLink {
    queue: mpsc::UnboundedSender<Pending>,
    pub(crate) next: tokio::sync::Mutex<mpsc::UnboundedReceiver<Pending>>,
    pub(crate) inflight: Mutex<Option<Inflight>>,
    pub(crate) init_error: Mutex<Option<Bytes>>,
}

/// How the platform talks to an instance.
pub(crate) enum Link {
    Channel(tokio::sync::Mutex<Option<Channel>>),
    RuntimeApi(RuntimeApiLink),
}

/// Why an instance stopped.
#[derive(Debug, Clone)]
pub(crate) struct ExitInfo {
    pub(crate) kind: String,
    pub(crate) message: String,
}

pub(crate) struct Instance {
    pub(crate) id: String,
    pub(crate) function: String,
    pid: AtomicI32,
    pub(crate) link: Link,
    alive: AtomicBool,
    killed: AtomicBool,
    exit: watch::Sender<Option<ExitInfo>>,
    pub(crate) dir: PathBuf,
    pub(crate) cgroup: InstanceCgroup,
    pub(crate) memory_mb: u64,
    pub(crate) spawned: Instant,
    /// When the runtime finished importing the handler.
    ready: Mutex<Option<Instant>>,
    pub(crate) mode: ColdStartMode,
}

impl Instance {
    pub(crate) fn new(
        id: String,
        dir: PathBuf,
        cgroup: InstanceCgroup,
        function: &str,
        memory_mb: u64,
        protocol: Protocol,
        mode: ColdStartMode,
    ) -> Arc<Instance> {
        let link = match protocol {
            Protocol::Channel => Link::Channel(tokio::sync::Mutex::new(None)),
            Protocol::RuntimeApi => {
                let (queue, next) = mpsc::unbounded_channel();
                Link::RuntimeApi(RuntimeApiLink {
                    queue,
                    next: tokio::sync::Mutex::new(next),
                    inflight: Mutex::new(None),
                    init_error: Mutex::new(None),
                })
            }
        };
        Arc::new(Instance {
            id,
            function: function.to_owned(),
            pid: AtomicI32::new(0),
            link,
            alive: AtomicBool::new(true),
            killed: AtomicBool::new(false),
            exit: watch::channel(None).0,
            dir,
            cgroup,
            memory_mb,
            spawned: Instant::now(),
            ready: Mutex::new(None),
            mode,
        })
    }

    pub(crate) fn set_pid(&self, pid: i32) {
        self.pid.store(pid, Ordering::Release);
    }

    pub(crate) fn pid(&self) -> i32 {
        self.pid.load(Ordering::Acquire)
    }

    pub(crate) fn is_alive(&self) -> bool {
        self.alive.load(Ordering::Acquire)
    }

    /// Init duration, once the runtime reported ready.
    pub(crate) fn init_duration(&self) -> Option<Duration> {
        self.ready.lock().expect("lock").map(|r| r - self.spawned)
    }

    pub(crate) fn mark_ready(&self) {
        let mut ready = self.ready.lock().expect("lock");
        if ready.is_none() {
            *ready = Some(Instant::now());
        }
    }

    /// Kill the instance's process group; its exit is reported by whoever waits for it.
    pub(crate) fn kill(&self) {
        self.killed.store(true, Ordering::Release);
        if self.alive.swap(false, Ordering::AcqRel) {
            let pid = self.pid();
            if pid > 0 {
                // Each instance leads its own process group, so this reaches its children too.
                unsafe {
                    libc::kill(-pid, libc::SIGKILL);
                }
            }
        }
    }

    /// Wait (bounded) for the instance's exit to be reported and return why it stopped.
    pub(crate) async fn exit_info(&self) -> ExitInfo {
        let mut rx = self.exit.subscribe();
        let waited =
            tokio::time::timeout(Duration::from_secs(2), rx.wait_for(|e| e.is_some())).await;
        match waited {
            Ok(Ok(info)) => info.clone().expect("some"),
            _ => ExitInfo {
                kind: "Runtime.ExitError".into(),
                message: "the instance stopped answering".into(),
            },
        }
    }

    /// Record the process's exit (`status` as returned by waitpid) and clean up.
    pub(crate) fn on_exit(self: &Arc<Self>, shared: &Shared, status: i32) {
        self.alive.store(false, Ordering::Release);
        shared.instances.lock().expect("lock").remove(&self.id);
        let info = self.describe_exit(status);
        tracing::debug!(instance = %self.id, "instance exited: {}", info.message);
        // Runtime API instances: fail what they held.
        if let Link::RuntimeApi(link) = &self.link {
            let failed = || Outcome::Failed {
                kind: info.kind.clone(),
                message: info.message.clone(),
            };
            if let Some(inflight) = link.inflight.lock().expect("lock").take() {
                let _ = inflight.reply.send(failed());
            }
            if let Ok(mut next) = link.next.try_lock() {
                next.close();
                while let Ok(pending) = next.try_recv() {
                    let _ = pending.reply.send(failed());
                }
            }
        }
        let _ = self.exit.send(Some(info));
        let this = self.clone();
        tokio::task::spawn_blocking(move || {
            this.cgroup.remove();
            let _ = std::fs::remove_dir_all(&this.dir);
        });
    }

    fn describe_exit(&self, status: i32) -> ExitInfo {
        if let Link::RuntimeApi(link) = &self.link
            && let Some(body) = link.init_error.lock().expect("lock").take()
        {
            return init_error(&body);
        }
        let status = std::process::ExitStatus::from_raw(status);
        let oom = ExitInfo {
            kind: "Runtime.OutOfMemory".into(),
            message: format!("out of memory (limit {} MB)", self.memory_mb),
        };
        let how = match (status.code(), status.signal()) {
            (Some(137), _) if !self.cgroup.is_cgroup() => return oom,
            (Some(code), _) => format!("exited with status {code}"),
            (None, Some(libc::SIGKILL)) if self.cgroup.oom_killed() => return oom,
            (None, Some(_)) if self.killed.load(Ordering::Acquire) => {
                "was stopped by the platform".to_owned()
            }
            (None, Some(sig)) => format!("was killed by signal {sig} ({})", signal_name(sig)),
            _ => "exited".to_owned(),
        };
        let log = std::fs::read_to_string(self.dir.join("output.log")).unwrap_or_default();
        if log.contains("JavaScript heap out of memory") {
            // V8 aborts when the heap limit (set from the memory size) is reached.
            return oom;
        }
        let tail: Vec<&str> = log.trim_end().lines().rev().take(20).collect();
        let mut message = format!("the instance {how}");
        if !tail.is_empty() {
            message.push_str("; its last output:\n");
            message.push_str(&tail.into_iter().rev().collect::<Vec<_>>().join("\n"));
        }
        ExitInfo {
            kind: "Runtime.ExitError".into(),
            message,
        }
    }

    /// Run one invocation on this instance.
    pub(crate) async fn call(
        &self,
        request_id: &str,
        payload: Bytes,
        deadline_ms: u64,
        timeout: Duration,
        (poll, instance_poll): (Option<Duration>, Option<Duration>),
    ) -> Outcome {
        let started = Instant::now();
        let outcome = match &self.link {
            Link::Channel(channel) => {
                let mut guard = channel.lock().await;
                match guard.as_mut() {
                    Some(ch) => {
                        match tokio::time::timeout(
                            timeout,
                            self.call_channel(
                                ch,
                                request_id,
                                &payload,
                                deadline_ms,
                                (poll, instance_poll),
                            ),
                        )
                        .await
                        {
                            Ok(Ok(outcome)) => Ok(outcome),
                            Ok(Err(e)) => Err(Some(e)),
                            Err(_) => Err(None),
                        }
                    }
                    None => Ok(Outcome::Failed {
                        kind: "Runtime.ExitError".into(),
                        message: "the instance has no channel to the platform".into(),
                    }),
                }
            }
            Link::RuntimeApi(link) => {
                let (reply, replied) = oneshot::channel();
                let _ = link.queue.send(Pending {
                    request_id: request_id.to_owned(),
                    payload,
                    deadline_ms,
                    reply,
                });
                match tokio::time::timeout(timeout, replied).await {
                    Ok(Ok(outcome)) => Ok(outcome),
                    Ok(Err(_)) => Err(Some(std::io::Error::other("instance gone"))),
                    Err(_) => Err(None),
                }
            }
        };
        match outcome {
            Ok(outcome) => outcome,
            Err(None) => {
                self.kill();
                Outcome::Failed {
                    kind: "Sandbox.Timedout".into(),
                    message: format!("Task timed out after {:.2} seconds", timeout.as_secs_f64()),
                }
            }
            Err(Some(e)) => {
                if e.kind() == std::io::ErrorKind::InvalidData {
                    // A runtime that breaks the protocol cannot be trusted with more requests.
                    self.kill();
                    return Outcome::Failed {
                        kind: "Runtime.InvalidResponse".into(),
                        message: format!("the runtime broke the protocol: {e}"),
                    };
                }
                let info = self.exit_info().await;
                tracing::trace!(elapsed = ?started.elapsed(), "instance lost during invocation");
                Outcome::Failed {
                    kind: info.kind,
                    message: info.message,
                }
            }
        }
    }

    async fn call_channel(
        &self,
        ch: &mut Channel,
        request_id: &str,
        payload: &[u8],
        deadline_ms: u64,
        (poll, instance_poll): (Option<Duration>, Option<Duration>),
    ) -> std::io::Result<Outcome> {
        let instance_poll_us = instance_poll.map_or(0, |d| d.as_micros() as u32);
        let frame = encode(
            frame::INVOKE,
            request_id.as_bytes(),
            &[
                &deadline_ms.to_le_bytes(),
                &instance_poll_us.to_le_bytes(),
                payload,
            ],
        );
        ch.send(&frame).await?;
        loop {
            let (kind, id, body) = ch.frame(poll).await?;
            match kind {
                frame::READY => self.mark_ready(),
                frame::INIT_ERROR => {
                    return Ok(Outcome::Failed {
                        kind: "Runtime.InitError".into(),
                        message: init_error(&body).message,
                    });
                }
                _ if id != request_id => {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!("reply for request `{id}` while `{request_id}` is in flight"),
                    ));
                }
                frame::RESPONSE if body.len() > MAX_PAYLOAD => {
                    return Ok(Outcome::Failed {
                        kind: "Function.ResponseSizeTooLarge".into(),
                        message: format!(
                            "Response payload size ({} bytes) exceeded maximum allowed payload size ({MAX_PAYLOAD} bytes)",
                            body.len()
                        ),
                    });
                }
                frame::RESPONSE => return Ok(Outcome::Response(body)),
                frame::ERROR => return Ok(Outcome::FunctionError(body)),
                frame::OOM => {
                    return Ok(Outcome::Failed {
                        kind: "Runtime.OutOfMemory".into(),
                        message: format!("out of memory (limit {} MB)", self.memory_mb),
                    });
                }
                other => {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!("unexpected frame kind {other}"),
                    ));
                }
            }
        }
    }

    /// Attach the channel of a forked instance once it said hello.
    pub(crate) async fn attach(&self, stream: UnixStream) {
        if let Link::Channel(channel) = &self.link {
            match stream.into_std().and_then(Channel::new) {
                Ok(ch) => *channel.lock().await = Some(ch),
                Err(e) => tracing::warn!(instance = %self.id, "cannot use its channel: {e}"),
            }
        }
        // A forked instance has its handler imported already: it is ready once connected.
        self.mark_ready();
    }

    /// Take the in-flight Runtime API invocation if `request_id` matches it.
    pub(crate) fn take_inflight(&self, request_id: &str) -> Option<oneshot::Sender<Outcome>> {
        let Link::RuntimeApi(link) = &self.link else {
            return None;
        };
        let mut inflight = link.inflight.lock().expect("lock");
        match inflight.as_ref() {
            Some(current) if current.request_id == request_id => inflight.take().map(|i| i.reply),
            _ => None,
        }
    }
}

fn init_error(body: &[u8]) -> ExitInfo {
    let parsed: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
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
    ExitInfo {
        kind: "Runtime.InitError".into(),
        message: format!("init error: {kind}: {message}\n{}", trace.trim_end()),
    }
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

/// Start an instance as a fresh process (`exec` cold start).
pub(crate) fn spawn_exec(
    shared: &Arc<Shared>,
    program: &std::path::Path,
    args: &[std::ffi::OsString],
    instance: &Arc<Instance>,
    env: &[(String, String)],
    (unshare, private_tmp): (libc::c_int, Option<PathBuf>),
) -> std::io::Result<()> {
    let log = std::fs::File::create(instance.dir.join("output.log"))?;
    let private_tmp = private_tmp
        .and_then(|p| std::ffi::CString::new(p.into_os_string().into_encoded_bytes()).ok());
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
    let procs: Vec<std::ffi::CString> = instance
        .cgroup
        .procs
        .iter()
        .filter_map(|p| std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).ok())
        .collect();
    let rlimit = instance.cgroup.rlimit_as;
    unsafe {
        command.pre_exec(move || {
            // Own process group (kills reach the function's children too); die with the
            // platform even if it is killed without a chance to clean up.
            libc::setpgid(0, 0);
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            // Join the instance's cgroups ("0" means the writing process).
            for path in &procs {
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
                if let Some(tmp) = &private_tmp {
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
            Ok(())
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

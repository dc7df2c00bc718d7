//! Function instances: one OS process each. Our shims (Python and Node.js) talk to the platform
//! over a private framed channel ([`crate::channel`]); any other Lambda runtime over the HTTP
//! Runtime API. Starting one is [`crate::launch`]'s job.

use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use sebs_core::config::ColdStartMode;
use tokio::net::UnixStream;
use tokio::sync::{mpsc, oneshot, watch};

use crate::MAX_PAYLOAD;
use crate::channel::{Channel, Spin, encode, frame};
use crate::invocation::Outcome;
use crate::limits::InstanceCgroup;
use crate::output::OutputLog;
use crate::spec::Protocol;
use crate::state::Shared;

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
    /// Its stdout and stderr.
    pub(crate) output: OutputLog,
}

/// How much of an instance's last output an error message quotes (and at most 20 lines).
const QUOTED_OUTPUT: usize = 4096;

impl Instance {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        id: String,
        dir: PathBuf,
        output: OutputLog,
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
            output,
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

    /// Current memory use in bytes: the memory cgroup's, else the process's resident set.
    pub(crate) fn memory_now(&self) -> Option<u64> {
        self.cgroup
            .current_bytes()
            .or_else(|| proc_status_kb(self.pid(), "VmRSS:").map(|kb| kb * 1024))
    }

    /// Peak memory in bytes since the last reset: the memory cgroup's, else the process's
    /// high-water mark.
    pub(crate) fn memory_peak(&self) -> Option<u64> {
        self.cgroup
            .peak_bytes()
            .or_else(|| proc_status_kb(self.pid(), "VmHWM:").map(|kb| kb * 1024))
    }

    /// Kill the instance and every process it started; its exit is reported by whoever waits
    /// for it.
    pub(crate) fn kill(&self) {
        if let Some(pid) = self.kill_group() {
            crate::reap::kill_tree_soon(vec![pid]);
        }
    }

    /// Kill the instance's process group (each instance leads its own) if it is alive. Processes
    /// that left the group are killed through the instance's cgroup once it exits
    /// ([`Instance::on_exit`]); where there is no cgroup, this returns the pid, whose process
    /// tree the caller must kill with [`crate::reap::kill_tree`] (which finds them only while
    /// the instance holds the tree together, so it kills the group itself).
    pub(crate) fn kill_group(&self) -> Option<i32> {
        self.killed.store(true, Ordering::Release);
        if !self.alive.swap(false, Ordering::AcqRel) {
            return None;
        }
        let pid = self.pid();
        if pid <= 0 {
            return None;
        }
        if !self.cgroup.tracks_processes() {
            return Some(pid);
        }
        // SAFETY: plain syscall; the instance is alive, so its pid is not recycled.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
        None
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
        // Stored even while nobody waits yet: a caller subscribing later must still see it.
        self.exit.send_replace(Some(info));
        let this = self.clone();
        tokio::task::spawn_blocking(move || {
            // Whatever the function started and left behind dies with its instance.
            this.cgroup.kill_processes();
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
        // Only the end of the output is read, however much the function printed.
        let mut tail = self.output.tail(4 * QUOTED_OUTPUT);
        if tail.text.contains("JavaScript heap out of memory") {
            // V8 aborts when the heap limit (set from the memory size) is reached.
            return oom;
        }
        let mut from = tail.text.len().saturating_sub(QUOTED_OUTPUT);
        while !tail.text.is_char_boundary(from) {
            from += 1;
        }
        tail.text.drain(..from);
        let (lines, cut) = tail.last_lines(20);
        let mut message = format!("the instance {how}");
        if cut {
            message.push_str(&format!(
                "; the end of its output ({} bytes in all):\n",
                tail.total
            ));
        } else if !lines.is_empty() {
            message.push_str("; its last output:\n");
        }
        message.push_str(&lines);
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
        (poll, instance_poll): (Option<Spin<'_>>, Option<Duration>),
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
        (poll, instance_poll): (Option<Spin<'_>>, Option<Duration>),
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
                    return Ok(Outcome::too_large(body.len()));
                }
                frame::RESPONSE => return Ok(Outcome::Response(body)),
                // Our shims measure a reply before framing it, and send only its size when it
                // is over the limit (a frame may not carry much more than the limit).
                frame::TOO_LARGE => {
                    let size = std::str::from_utf8(&body)
                        .ok()
                        .and_then(|s| s.trim().parse().ok())
                        .unwrap_or(MAX_PAYLOAD + 1);
                    return Ok(Outcome::too_large(size));
                }
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

/// A `kB` field of `/proc/<pid>/status`.
fn proc_status_kb(pid: i32, field: &str) -> Option<u64> {
    if pid <= 0 {
        return None;
    }
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

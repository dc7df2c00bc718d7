//! The private channel between the platform and an instance of our shims (Python, Node.js):
//! length-prefixed frames on a Unix socket, read with optional busy polling.

use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncReadExt, Interest};

use crate::MAX_PAYLOAD;

/// Frame kinds of the private channel (see runtimes/python/bootstrap.py).
pub(crate) mod frame {
    pub const INVOKE: u8 = 1;
    pub const READY: u8 = 2;
    pub const RESPONSE: u8 = 3;
    pub const ERROR: u8 = 4;
    pub const INIT_ERROR: u8 = 5;
    pub const OOM: u8 = 6;
    /// The reply was over Lambda's response limit and was not sent; the body is its size in
    /// bytes (ASCII decimal). The instance is fine.
    pub const TOO_LARGE: u8 = 7;
    pub const FORK: u8 = 10;
    pub const FORKED: u8 = 11;
    pub const EXITED: u8 = 12;
    pub const HELLO: u8 = 13;
}

/// A frame larger than this is a protocol violation (payload limit plus headroom).
const MAX_FRAME: usize = MAX_PAYLOAD + 1024 * 1024;

/// How long a busy poll holds the async worker before letting the runtime run its other tasks:
/// about what a warm no-op invocation takes, so that one finds its answer in the first slice.
const SPIN_SLICE: Duration = Duration::from_micros(30);

/// A busy-poll budget for one wait, abandoned once the machine gets busy.
#[derive(Clone, Copy)]
pub(crate) struct Spin<'a> {
    /// How long to poll at most.
    pub(crate) budget: Duration,
    /// Invocations in flight on the platform.
    pub(crate) in_flight: &'a AtomicUsize,
    /// Beyond this many in flight, polling would take CPU time from functions.
    pub(crate) max_in_flight: usize,
    /// Whether others may need the async worker meanwhile (several client connections are
    /// open): then the spin lets the runtime run every [`SPIN_SLICE`].
    pub(crate) shared: bool,
}

impl Spin<'_> {
    fn crowded(&self) -> bool {
        self.in_flight.load(Ordering::Relaxed) > self.max_in_flight
    }
}

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
    pub(crate) async fn send(&self, data: &[u8]) -> std::io::Result<()> {
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

    /// Read the next frame. With `spin`, poll the socket for up to its budget before sleeping
    /// on the reactor: on an otherwise idle platform that spares the wake-up of an idle CPU
    /// (tens of microseconds on a virtual machine) when the instance answers quickly.
    ///
    /// With several client connections open the spin yields to the async runtime every
    /// [`SPIN_SLICE`], so the gateway's other connections are served meanwhile (with one worker
    /// thread, a spin that held the thread delayed every other request by up to the budget), and
    /// it stops as soon as more invocations are in flight than [`Spin::max_in_flight`]. Between
    /// those yields, and always with one client, it only yields the CPU: going through the
    /// runtime during the spin made the one-connection latency 1.6-2x worse.
    pub(crate) async fn frame(
        &mut self,
        spin: Option<Spin<'_>>,
    ) -> std::io::Result<(u8, String, Bytes)> {
        let fd = self.io.as_raw_fd();
        let eof = || std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "channel closed");
        let mut spin_until = spin.map(|s| (Instant::now() + s.budget, s));
        let mut slice_until = Instant::now() + SPIN_SLICE;
        loop {
            if let Some(frame) = self.parse()? {
                return Ok(frame);
            }
            if let Some((until, spin)) = spin_until {
                match Self::read_some(fd, &mut self.buf) {
                    Ok(0) => return Err(eof()),
                    Ok(_) => continue,
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        let now = Instant::now();
                        if now >= until || spin.crowded() {
                            spin_until = None;
                        } else if spin.shared && now >= slice_until {
                            // The runtime's other ready tasks go next: yielding to the runtime
                            // polls its reactor without blocking.
                            tokio::task::yield_now().await;
                            slice_until = Instant::now() + SPIN_SLICE;
                        } else {
                            // Let anything else runnable on this CPU (the instance, the
                            // client) go first.
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

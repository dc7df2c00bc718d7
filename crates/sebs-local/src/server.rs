//! The gateway's connections: HTTP/1.1 with a header-read timeout, an idle timeout and a limit
//! on open connections, so clients that connect and stall (or never leave) cannot exhaust the
//! platform's file descriptors.
//!
//! - **Header-read timeout**: a request head must arrive whole within it from its first byte
//!   (slowloris).
//! - **Idle timeout**: a connection with no request in progress is closed after it. While a
//!   request is served (an invocation may take minutes), neither applies.
//! - **Connection limit**: beyond it, a new connection is answered `503 Service Unavailable`
//!   with `Retry-After` and closed; beyond that, while many refusals are still being written,
//!   it is closed at once.
//!
//! Both timeouts live in [`TimedIo`], a wrapper of the socket that fails a read when its
//! deadline has passed; the service marks when a request starts and ends ([`Clocked`]).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, oneshot};
use tokio::time::{Instant, Sleep};

/// How the gateway treats connections.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) header_read_timeout: Duration,
    pub(crate) idle_timeout: Duration,
    pub(crate) max_connections: usize,
}

/// No head in progress.
const NONE: u64 = u64::MAX;

/// Connections being refused at once (each holds its socket for up to a second); beyond this
/// they are closed without an answer.
const MAX_REFUSING: usize = 64;

/// When a connection's current request started and ended, in milliseconds since it was
/// accepted.
struct Clock {
    epoch: Instant,
    /// Requests being served.
    busy: AtomicUsize,
    /// When the first byte of the request head being read arrived ([`NONE`] if none).
    head_since: AtomicU64,
    /// When the connection last became idle.
    idle_since: AtomicU64,
    /// The connection's task, to wake when a request is answered: its reads were found blocked
    /// while the request was served, so nothing else would make it arm the idle deadline.
    waker: Mutex<Option<Waker>>,
}

impl Clock {
    fn now(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    /// The deadline of the connection as it is now: none while a request is served.
    fn deadline(&self, limits: &Limits) -> Option<Instant> {
        if self.busy.load(Ordering::Acquire) > 0 {
            return None;
        }
        let head = self.head_since.load(Ordering::Acquire);
        Some(if head != NONE {
            self.epoch + Duration::from_millis(head) + limits.header_read_timeout
        } else {
            self.epoch
                + Duration::from_millis(self.idle_since.load(Ordering::Acquire))
                + limits.idle_timeout
        })
    }
}

/// A socket whose reads fail with `TimedOut` once the connection's deadline has passed.
struct TimedIo {
    io: TcpStream,
    clock: Arc<Clock>,
    limits: Limits,
    sleep: Pin<Box<Sleep>>,
    armed: Instant,
}

impl AsyncRead for TimedIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let before = buf.filled().len();
        match Pin::new(&mut this.io).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                let clock = &this.clock;
                if buf.filled().len() > before
                    && clock.busy.load(Ordering::Acquire) == 0
                    && clock.head_since.load(Ordering::Acquire) == NONE
                {
                    clock.head_since.store(clock.now(), Ordering::Release);
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => {
                let Some(deadline) = this.clock.deadline(&this.limits) else {
                    let mut waker = this.clock.waker.lock().expect("lock");
                    if !waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                        *waker = Some(cx.waker().clone());
                    }
                    return Poll::Pending;
                };
                if deadline != this.armed {
                    this.sleep.as_mut().reset(deadline);
                    this.armed = deadline;
                }
                match this.sleep.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "the client sent no complete request in time",
                    ))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }
}

impl AsyncWrite for TimedIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// The gateway's service, marking on the connection's [`Clock`] when each request starts and
/// when its response is ready.
#[derive(Clone)]
struct Clocked {
    inner: TowerToHyperService<Router>,
    clock: Arc<Clock>,
}

type Response =
    <TowerToHyperService<Router> as hyper::service::Service<hyper::Request<Incoming>>>::Response;
type Error =
    <TowerToHyperService<Router> as hyper::service::Service<hyper::Request<Incoming>>>::Error;

impl hyper::service::Service<hyper::Request<Incoming>> for Clocked {
    type Response = Response;
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Error>> + Send>>;

    fn call(&self, request: hyper::Request<Incoming>) -> Self::Future {
        let clock = self.clock.clone();
        clock.busy.fetch_add(1, Ordering::AcqRel);
        clock.head_since.store(NONE, Ordering::Release);
        let served = self.inner.call(request);
        Box::pin(async move {
            let response = served.await;
            clock.idle_since.store(clock.now(), Ordering::Release);
            clock.busy.fetch_sub(1, Ordering::AcqRel);
            if let Some(waker) = clock.waker.lock().expect("lock").take() {
                waker.wake();
            }
            response
        })
    }
}

/// Accept and serve connections until `stopped` fires, then let open requests finish (at most a
/// second). `open` counts the connections open.
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    open: Arc<AtomicUsize>,
    stopped: oneshot::Receiver<()>,
) {
    let connections = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let refusing = Arc::new(Semaphore::new(MAX_REFUSING));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let service = TowerToHyperService::new(app);
    let mut stopped = stopped;
    let mut last_warning: Option<Instant> = None;
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = &mut stopped => break,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of file descriptors (EMFILE, ENFILE) or the like: say so now and then,
                // and give connections a moment to close rather than spin.
                if last_warning.is_none_or(|t| t.elapsed() > Duration::from_secs(10)) {
                    tracing::warn!("local platform gateway: cannot accept a connection: {e}");
                    last_warning = Some(Instant::now());
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        // Small responses must not wait for Nagle's algorithm.
        let _ = stream.set_nodelay(true);
        let Ok(permit) = connections.clone().try_acquire_owned() else {
            if let Ok(slot) = refusing.clone().try_acquire_owned() {
                tokio::spawn(async move {
                    refuse(stream, limits.max_connections).await;
                    drop(slot);
                });
            }
            continue;
        };
        let clock = Arc::new(Clock {
            epoch: Instant::now(),
            busy: AtomicUsize::new(0),
            head_since: AtomicU64::new(NONE),
            idle_since: AtomicU64::new(0),
            waker: Mutex::new(None),
        });
        let io = TimedIo {
            io: stream,
            clock: clock.clone(),
            limits,
            sleep: Box::pin(tokio::time::sleep_until(Instant::now())),
            armed: Instant::now(),
        };
        let mut http = hyper::server::conn::http1::Builder::new();
        http.keep_alive(true).header_read_timeout(None);
        let connection = http.serve_connection(
            TokioIo::new(io),
            Clocked {
                inner: service.clone(),
                clock,
            },
        );
        let connection = graceful.watch(connection);
        let open = open.clone();
        open.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::trace!("gateway connection closed: {e}");
            }
            open.fetch_sub(1, Ordering::Relaxed);
            drop(permit);
        });
    }
    drop(listener);
    let _ = tokio::time::timeout(Duration::from_secs(1), graceful.shutdown()).await;
}

/// Answer a connection over the limit with 503 and `Retry-After`, then close it once the client
/// has read the answer (or after a second).
async fn refuse(mut stream: TcpStream, max: usize) {
    let body = format!(
        "{{\"message\":\"the local platform has its maximum of {max} connections open; retry later, or reuse connections\"}}"
    );
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: 1\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    let polite = async {
        stream.write_all(answer.as_bytes()).await?;
        stream.shutdown().await?;
        // Read what the client sent until it closes: closing with unread data would reset the
        // connection, and the client could lose the answer.
        let mut sink = [0u8; 4096];
        loop {
            let n = tokio::io::AsyncReadExt::read(&mut stream, &mut sink).await?;
            if n == 0 {
                return Ok::<_, io::Error>(());
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), polite).await;
}

/// The default connection limit: half of this process's file-descriptor limit (the other half
/// is for instances, their channels and output), at least 256.
pub(crate) fn default_max_connections() -> usize {
    let soft = crate::fdlimit::current().unwrap_or(1024);
    usize::try_from(soft / 2).unwrap_or(usize::MAX).max(256)
}

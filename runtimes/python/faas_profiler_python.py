"""A profiler for serverless functions, shipped with every sebs Python package.

    import faas_profiler_python as fp

    @fp.profile()
    def serverless_handler(*args, **kwargs):
        pass

One decorator records, per invocation: wall and CPU time, CPU utilisation and memory (RSS)
sampled over time, peak memory, disk and network I/O counters, the instance's cold/warm state,
the storage and NoSQL operations made through the sebs shims, outbound HTTP calls, and the
invocations of other functions made with :func:`invoke`. A W3C trace context (``traceparent``)
arrives in the event (key ``traceparent``, or the HTTP header) and leaves with every invocation
and HTTP call, so ``sebs`` assembles one trace per application request.

The SeBS wrapper (``handler.py``) returns the profile with the invocation's response, under the
key ``profile``. Configuration, by argument or environment (an argument wins):

* ``interval`` / ``SEBS_PROFILE_INTERVAL_MS``: sampling interval of CPU and RSS (default 20 ms;
  0 turns sampling off: only the start and end are measured);
* ``enabled`` / ``SEBS_PROFILE`` (``0`` turns the decorator into a plain call);
* ``captures`` / ``SEBS_PROFILE_CAPTURES`` (``0``: no storage, NoSQL or HTTP captures);
* ``io_counters`` / ``SEBS_PROFILE_IO`` (``1``: also the process's character I/O from
  ``/proc/self/io`` and the network namespace's bytes from ``/proc/self/net/dev``; each /proc read
  costs tens of microseconds on a virtual machine, so they are off by default, and block I/O comes
  from ``getrusage``).

The profiler uses the standard library only and reads Linux's ``/proc``; elsewhere the counters
it cannot read are left out.
"""
import os
import sys
import time
from _thread import get_ident as _thread_id
from resource import RUSAGE_SELF as _RUSAGE_SELF, getrusage as _getrusage

__all__ = ["profile", "invoke", "inject", "traceparent", "current", "take", "capture", "InvocationError"]

_perf = time.perf_counter
_cpu = time.process_time
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_VERSION = 1


class _Instance:
    """Per-process state; reset in a forked child (the fork server's instances)."""

    def __init__(self):
        self.pid = os.getpid()
        self.started = time.time()
        self.invocations = 0
        self.warm_since = None
        self.sampler = None  # _ThreadSampler
        self.timer = None  # _TimerSampler, or False where it cannot be used


_instance = _Instance()
# The profile being recorded in this process, if any (one invocation at a time).
active = None
# The last finished profile, taken by the wrapper (handler.py) with take().
_last = None


def _state():
    global _instance
    if _instance.pid != os.getpid():
        _instance = _Instance()
    return _instance


def _env_flag(name, default):
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.lower() not in ("0", "false", "no", "off")


def _new_id(nbytes):
    return os.urandom(nbytes).hex()


def parse_traceparent(value):
    """(trace id, parent span id, flags) of a W3C ``traceparent`` header, or None if malformed."""
    if not isinstance(value, str):
        return None
    parts = value.strip().split("-")
    if len(parts) < 4 or len(parts[0]) != 2 or parts[0] == "ff":
        return None
    trace, span, flags = parts[1], parts[2], parts[3]
    try:
        int(trace, 16), int(span, 16), int(flags, 16)
    except ValueError:
        return None
    if len(trace) != 32 or len(span) != 16 or len(flags) != 2:
        return None
    if trace == "0" * 32 or span == "0" * 16:
        return None
    return trace.lower(), span.lower(), flags


# --- /proc readers -----------------------------------------------------------------------------


def _read(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return None


def _rss():
    data = _read("/proc/self/statm")
    return int(data.split()[1]) * _PAGE if data else None


def _reset_peak():
    # Linux >= 4.0: writing 5 resets the peak RSS (VmHWM) to the current RSS.
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _disk_io():
    data = _read("/proc/self/io")
    if not data:
        return {}
    fields = dict(line.split(b":") for line in data.splitlines() if b":" in line)
    names = (b"rchar", b"wchar", b"read_bytes", b"write_bytes", b"syscr", b"syscw")
    return {k.decode(): int(fields[k]) for k in names if k in fields}


def _net_io():
    data = _read("/proc/self/net/dev")
    if not data:
        return {}
    rx = tx = 0
    for line in data.splitlines()[2:]:
        _, _, counters = line.partition(b":")
        values = counters.split()
        if len(values) >= 9:
            rx += int(values[0])
            tx += int(values[8])
    return {"rx_bytes": rx, "tx_bytes": tx}


def _delta(end, start):
    return {k: end[k] - start[k] for k in end if k in start}


# --- the sampler -------------------------------------------------------------------------------


class _ThreadSampler:
    """A daemon thread, started on the first profiled invocation that needs it. It sleeps
    between invocations and samples the active profile every interval (waking it costs a thread
    switch per invocation: the timer sampler is preferred). ``threading`` is imported only here:
    it costs milliseconds at a cold start."""

    def __init__(self):
        import threading

        self.events = threading.Event
        self.go = threading.Event()
        thread = threading.Thread(target=self._run, name="faas-profiler-sampler", daemon=True)
        thread.start()

    def _run(self):
        while True:
            self.go.wait()
            self.go.clear()
            rec = active
            if rec is None or rec.interval <= 0 or rec.done is None:
                continue
            while not rec.done.wait(rec.interval):
                rec.sample()

    def start(self, rec):
        rec.done = self.events()
        self.go.set()

    def stop(self):
        pass  # the recording's `done` event ends the loop


class _TimerSampler:
    """Samples from SIGALRM (``setitimer``) in the main thread: nothing runs before the first
    interval has passed, so a function shorter than the interval is never interrupted, and an
    invocation costs two system calls. Used when the function runs in the main thread (as under
    the sebs bootstrap and Lambda's runtimes) and nobody else handles SIGALRM."""

    def __init__(self, sig):
        self.sig = sig
        sig.signal(sig.SIGALRM, self._tick)  # ValueError outside the main thread
        self.thread = _thread_id()

    @staticmethod
    def _tick(signum, frame):
        rec = active
        if rec is not None:
            rec.sample()

    def start(self, rec):
        self.sig.setitimer(self.sig.ITIMER_REAL, rec.interval, rec.interval)

    def stop(self):
        self.sig.setitimer(self.sig.ITIMER_REAL, 0)


def _sampler(instance):
    """The sampler for a call from this thread (created on first use)."""
    if instance.timer is None:
        instance.timer = False
        try:
            import _signal as sig  # the C module: `signal` would import enum at cold start
        except ImportError:
            import signal as sig
        if hasattr(sig, "setitimer") and sig.getsignal(sig.SIGALRM) in (sig.SIG_DFL, None):
            try:
                instance.timer = _TimerSampler(sig)
            except ValueError:  # not the main thread: try again from the main thread later
                instance.timer = None
    if instance.timer and instance.timer.thread == _thread_id():
        return instance.timer
    if instance.sampler is None:
        instance.sampler = _ThreadSampler()
    return instance.sampler


# --- a profile ---------------------------------------------------------------------------------


class Profile:
    """The measurements of one invocation (see :meth:`to_dict` for the format)."""

    def __init__(self, name, event, interval, captures, io_counters=False):
        self.io_counters = io_counters
        self.function = os.environ.get("AWS_LAMBDA_FUNCTION_NAME") or name
        self.interval = interval
        self.capturing = captures
        self.done = None  # set by the thread sampler
        self.captures = []
        self.samples = []
        self.error = None
        self.request_id = event.get("request-id") if isinstance(event, dict) else None
        parent = parse_traceparent(event.get("traceparent")) if isinstance(event, dict) else None
        if parent:
            self.trace_id, self.parent_span_id, self.flags = parent
        else:
            self.trace_id, self.parent_span_id, self.flags = _new_id(16), None, "01"
        self.span_id = _new_id(8)
        self.overhead = 0.0

    def begin(self):
        t0 = _perf()
        self.peak_reset = _reset_peak()
        self.usage_start = _getrusage(_RUSAGE_SELF)
        # Right after the reset the peak is the current RSS: no /proc read needed.
        self.rss_start = self.usage_start.ru_maxrss * 1024 if self.peak_reset else _rss()
        if self.io_counters:
            self.disk_start = _disk_io()
            self.net_start = _net_io()
        self.start = time.time()
        self.cpu_start = _cpu()
        self.t_start = _perf()
        self.overhead += self.t_start - t0
        self._last_sample = (self.t_start, self.cpu_start)

    def sample(self):
        """One sample: (offset s, CPU utilisation since the previous sample, RSS bytes)."""
        now, cpu = _perf(), _cpu()
        last_t, last_cpu = self._last_sample
        self._last_sample = (now, cpu)
        util = (cpu - last_cpu) / (now - last_t) if now > last_t else 0.0
        self.samples.append((round(now - self.t_start, 6), round(util, 4), _rss()))

    def finish(self):
        t_end, cpu_end, end = _perf(), _cpu(), time.time()
        self.wall = t_end - self.t_start
        self.cpu = cpu_end - self.cpu_start
        self.end = end
        usage = _getrusage(_RUSAGE_SELF)
        self.rss_end = _rss()
        self.peak = usage.ru_maxrss * 1024 if self.peak_reset else None
        # Block I/O (what reached the disk), in the kernel's 512-byte units.
        self.disk = {
            "read_bytes": (usage.ru_inblock - self.usage_start.ru_inblock) * 512,
            "write_bytes": (usage.ru_oublock - self.usage_start.ru_oublock) * 512,
        }
        self.net = {}
        if self.io_counters:
            self.disk.update(_delta(_disk_io(), self.disk_start))
            self.net = _delta(_net_io(), self.net_start)
        if self.done is not None:
            self.done.set()
        self.overhead += _perf() - t_end

    def capture(self, kind, operation, start, duration, **fields):
        """Record one operation of this invocation (a storage call, an HTTP call, ...)."""
        if not self.capturing:
            return None
        entry = {"kind": kind, "operation": operation, "start": round(start, 6)}
        entry["duration_s"] = round(duration, 6)
        entry["span_id"] = fields.pop("span_id", None) or _new_id(8)
        entry.update(fields)
        self.captures.append(entry)
        return entry

    def traceparent(self, span_id=None):
        """The ``traceparent`` for a call made by this invocation (parent: `span_id` or ours)."""
        return "00-%s-%s-%s" % (self.trace_id, span_id or self.span_id, self.flags)

    def to_dict(self, instance, cold):
        """The profile as JSON-ready data."""
        sampled_peak = max((s[2] for s in self.samples if s[2]), default=None)
        peaks = [p for p in (self.peak, sampled_peak, self.rss_start, self.rss_end) if p]
        return {
            "version": _VERSION,
            "function": self.function,
            "request_id": self.request_id,
            "trace_id": self.trace_id,
            "span_id": self.span_id,
            "parent_span_id": self.parent_span_id,
            "start": round(self.start, 6),
            "end": round(self.end, 6),
            "wall_s": round(self.wall, 6),
            "cpu_s": round(self.cpu, 6),
            "cpu_utilisation": round(self.cpu / self.wall, 4) if self.wall > 0 else 0.0,
            "memory": {
                "rss_start_bytes": self.rss_start,
                "rss_end_bytes": self.rss_end,
                "peak_bytes": max(peaks) if peaks else None,
                "peak_source": "VmHWM" if self.peak else "samples",
            },
            "interval_s": self.interval,
            "samples": self.samples,
            "disk_io": self.disk,
            "network_io": self.net,
            "instance": {
                "pid": instance.pid,
                "cold": cold,
                "invocation": instance.invocations,
                "age_s": round(self.start - instance.started, 6),
                "warm_for_s": round(self.start - instance.warm_since, 6) if instance.warm_since else 0.0,
            },
            "captures": self.captures,
            "error": self.error,
            "overhead_s": round(self.overhead, 6),
        }


def _find_event(args, kwargs):
    for value in args:
        if isinstance(value, dict):
            return value
    event = kwargs.get("event")
    return event if isinstance(event, dict) else {}


def profile(interval=None, enabled=None, captures=None, io_counters=None):
    """The decorator: ``@profile()`` records every call of the function it wraps.

    ``interval`` (seconds) between CPU/RSS samples; ``enabled``, ``captures`` and ``io_counters``
    as described in the module's documentation. Nested profiled calls are recorded by the
    outermost one only.
    """
    if interval is None:
        interval = float(os.environ.get("SEBS_PROFILE_INTERVAL_MS") or 20) / 1000.0
    if enabled is None:
        enabled = _env_flag("SEBS_PROFILE", True)
    if captures is None:
        captures = _env_flag("SEBS_PROFILE_CAPTURES", True)
    if io_counters is None:
        io_counters = _env_flag("SEBS_PROFILE_IO", False)

    def decorate(fn):
        if not enabled:
            return fn

        def wrapper(*args, **kwargs):
            global active, _last
            if active is not None:
                return fn(*args, **kwargs)
            _last = None  # a failed invocation's profile is never returned with a later one
            instance = _state()
            t0 = _perf()
            if captures and not _hooks_installed and "http.client" in sys.modules:
                _install_http_hooks()
            rec = Profile(getattr(fn, "__module__", "") + "." + fn.__name__, _find_event(args, kwargs), interval, captures, io_counters)
            sampler = _sampler(instance) if interval > 0 else None
            rec.overhead += _perf() - t0
            rec.begin()
            active = rec
            if sampler is not None:
                sampler.start(rec)
            try:
                return fn(*args, **kwargs)
            except BaseException as exc:
                rec.error = "%s: %s" % (type(exc).__name__, exc)
                raise
            finally:
                if sampler is not None:
                    sampler.stop()
                rec.finish()
                active = None
                t1 = _perf()
                cold = instance.invocations == 0
                instance.invocations += 1
                _last = rec.to_dict(instance, cold)
                if instance.warm_since is None:
                    instance.warm_since = rec.end
                _last["overhead_s"] = round(rec.overhead + _perf() - t1, 6)

        wrapper.__name__ = getattr(fn, "__name__", "wrapper")
        wrapper.__doc__ = getattr(fn, "__doc__", None)
        wrapper.__wrapped__ = fn
        return wrapper

    return decorate


def _register():
    """Tell the SeBS wrapper (handler.py, being imported when the function imports us) where to
    take profiles from."""
    wrapper = sys.modules.get("handler")
    if wrapper is not None and getattr(wrapper, "_SEBS_WRAPPER", False):
        wrapper._profiler = sys.modules[__name__]


_register()


def take():
    """The last finished profile (then forgotten), or None: what the wrapper returns."""
    global _last
    value, _last = _last, None
    return value


def current():
    """The profile being recorded, or None."""
    return active


def traceparent():
    """The ``traceparent`` to pass to anything this invocation calls, or None outside a profile."""
    rec = active
    return rec.traceparent() if rec is not None else None


def capture(kind, operation, start, duration, **fields):
    """Record an operation in the active profile (no-op without one). Used by the sebs shims."""
    rec = active
    if rec is not None:
        rec.capture(kind, operation, start, duration, **fields)


# --- outbound HTTP -----------------------------------------------------------------------------

_hooks_installed = False


def _install_http_hooks():
    """Wrap http.client (and so urllib, urllib3, requests, botocore) to capture outbound HTTP calls made
    while a profile is active, and to send them our ``traceparent``. Connections of the sebs
    shims (marked ``_sebs_shim``) are left alone: their operations are captured as such.
    Installed by the first profiled call after http.client was imported (the profiler never
    imports it itself: that would cost a cold start milliseconds)."""
    global _hooks_installed
    if _hooks_installed:
        return
    _hooks_installed = True
    import http.client

    conn_cls = http.client.HTTPConnection
    # The request line, headers and end of headers, which http.client's request() and urllib3's
    # own request() (used by requests) both go through; then the response.
    original = (conn_cls.putrequest, conn_cls.putheader, conn_cls.endheaders, conn_cls.getresponse)

    def putrequest(self, method, url, *args, **kwargs):
        original[0](self, method, url, *args, **kwargs)
        rec = active
        if rec is not None and rec.capturing and not getattr(self, "_sebs_shim", False):
            where = "%s:%s%s" % (self.host, self.port, url)
            # [span, method, url, request bytes, start, t0, traceparent sent]
            self._sebs_call = [_new_id(8), method, where, None, time.time(), _perf(), False]

    def putheader(self, header, *values):
        call = getattr(self, "_sebs_call", None)
        if call is not None:
            name = header.lower() if isinstance(header, str) else header.decode("latin-1").lower()
            if name == "traceparent":
                call[6] = True  # the caller's own context wins
            elif name == "content-length" and values:
                value = values[0]
                call[3] = int(value) if str(value).isdigit() else None
        return original[1](self, header, *values)

    def endheaders(self, *args, **kwargs):
        call = getattr(self, "_sebs_call", None)
        rec = active
        if call is not None and not call[6] and rec is not None:
            call[6] = True
            original[1](self, "traceparent", rec.traceparent(call[0]))
        return original[2](self, *args, **kwargs)

    def getresponse(self, *args, **kwargs):
        call = getattr(self, "_sebs_call", None)
        self._sebs_call = None
        try:
            response = original[3](self, *args, **kwargs)
        except BaseException:
            if call is not None:
                capture("http", call[1], call[4], _perf() - call[5], span_id=call[0], url=call[2], error=True)
            raise
        if call is not None:
            length = response.getheader("Content-Length")
            capture(
                "http", call[1], call[4], _perf() - call[5], span_id=call[0], url=call[2],
                status=response.status, request_bytes=call[3],
                response_bytes=int(length) if length and length.isdigit() else None,
            )
        return response

    conn_cls.putrequest, conn_cls.putheader = putrequest, putheader
    conn_cls.endheaders, conn_cls.getresponse = endheaders, getresponse


# --- invoking other functions ------------------------------------------------------------------


class InvocationError(Exception):
    """The invoked function failed; ``error`` is the platform's error JSON."""

    def __init__(self, function, error):
        super().__init__("%s failed: %s" % (function, error))
        self.function = function
        self.error = error


def _lambda_endpoint(endpoint):
    endpoint = endpoint or os.environ.get("AWS_ENDPOINT_URL_LAMBDA") or os.environ.get("AWS_ENDPOINT_URL")
    if not endpoint:
        raise RuntimeError(
            "no Lambda endpoint: set AWS_ENDPOINT_URL_LAMBDA (the sebs local platform sets it for "
            "its functions) or pass endpoint=; on AWS use boto3 with fp.inject(payload)"
        )
    if "://" not in endpoint:
        endpoint = "http://" + endpoint
    return endpoint.rstrip("/")


def inject(payload, span_id=None):
    """A copy of the dict `payload` with this invocation's ``traceparent`` (for any transport)."""
    rec = active
    payload = dict(payload or {})
    if rec is not None:
        payload["traceparent"] = rec.traceparent(span_id)
    return payload


def invoke(function, payload=None, endpoint=None, timeout=900):
    """Invoke `function` synchronously through the Lambda Invoke API and return its response
    (the SeBS response, decoded, for functions built by sebs). The call carries the trace
    context (payload key and header ``traceparent``), and the callee's profile, when it returns
    one, is attached to this invocation's capture of the call."""
    from json import dumps, loads
    from urllib.parse import quote, urlsplit
    import http.client

    rec = active
    span = _new_id(8)
    payload = inject(payload, span) if rec is not None else dict(payload or {})
    body = dumps(payload).encode()
    url = urlsplit(_lambda_endpoint(endpoint))
    cls = http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
    conn = cls(url.netloc, timeout=timeout)
    conn._sebs_shim = True
    headers = {"Content-Type": "application/json"}
    if rec is not None:
        headers["traceparent"] = payload["traceparent"]
    start, t0 = time.time(), _perf()
    try:
        conn.request("POST", url.path + "/2015-03-31/functions/%s/invocations" % quote(function, safe=""), body, headers)
        response = conn.getresponse()
        data = response.read()
        failed = response.getheader("X-Amz-Function-Error")
        status = response.status
    finally:
        conn.close()
    duration = _perf() - t0
    result = loads(data) if data else None
    if isinstance(result, dict) and isinstance(result.get("body"), str) and "statusCode" in result:
        try:
            result = loads(result["body"])
        except ValueError:
            pass
    child = result.pop("profile", None) if isinstance(result, dict) else None
    fields = {"function": function, "status": status, "request_bytes": len(body), "response_bytes": len(data)}
    if child is not None:
        fields["profile"] = child
    if failed or status >= 300:
        fields["error"] = True
    if rec is not None:
        rec.capture("invoke", "Invoke", start, duration, span_id=span, **fields)
    if failed or status >= 300:
        raise InvocationError(function, result)
    return result

"""Runtime client for Python functions on the sebs local platform.

It does what AWS Lambda's managed Python runtime does: import the handler named by ``_HANDLER``
from ``LAMBDA_TASK_ROOT``, then serve invocations one at a time. Three ways to reach the platform:

* the Lambda Runtime API over HTTP (``AWS_LAMBDA_RUNTIME_API`` = ``host:port[/base]``): the
  compatible path, the same protocol any Lambda custom runtime speaks;
* a private channel (``SEBS_CHANNEL_FD``): length-prefixed frames on an inherited socket, which
  spares HTTP parsing on both sides of every invocation;
* fork server (``SEBS_ZYGOTE_FD``): this process imports the handler once and forks a new instance
  for every request of the platform; each child then talks on its own channel.

Frames are ``[u32 length LE][u8 kind][u8 id length][id][body]``. Platform to instance:
``INVOKE`` with ``body = u64 deadline-ms LE + u32 busy-poll-us LE + payload``. Instance to
platform: ``READY``, ``RESPONSE``, ``ERROR`` (Lambda error JSON), ``INIT_ERROR``, ``OOM``, and
``TOO_LARGE`` (body: the size in ASCII decimal) in place of a reply over ``MAX_RESPONSE`` bytes,
Lambda's limit, which is classified ``Function.ResponseSizeTooLarge`` and keeps the instance.
"""
import os
import sys
import time

# --- JSON ------------------------------------------------------------------------------------
# The json module imports `re`, and with it `enum`, `functools` and `collections`: several ms of
# every `exec` cold start, more than the rest of this runtime. Encoding and decoding go through
# json's own C accelerator (`_json`) instead, configured as json.dumps() and json.loads() with
# their defaults configure it, so the output is byte for byte the same. Anything unusual (an
# error to report, bytes that are not UTF-8) is handed to the json module itself, imported then.
try:
    import _json

    def _not_serializable(o):
        raise TypeError(f"Object of type {o.__class__.__name__} is not JSON serializable")

    class _Decoding:
        """What json's C scanner reads from a JSONDecoder: the defaults of json.loads()."""

        strict = True
        object_hook = None
        object_pairs_hook = None
        parse_float = float
        parse_int = int
        parse_constant = {"-Infinity": float("-inf"), "Infinity": float("inf"), "NaN": float("nan")}.__getitem__

    _scan = _json.make_scanner(_Decoding())
    _ws = " \t\n\r"

    def json_dumps(obj):
        """json.dumps(obj), without importing json."""
        if obj.__class__ is str:
            return _json.encode_basestring_ascii(obj)
        encode = _json.make_encoder(
            {}, _not_serializable, _json.encode_basestring_ascii, None, ": ", ", ", False, False, True
        )
        try:
            return "".join(encode(obj, 0))
        except (TypeError, ValueError, RecursionError):
            import json  # for its exact error

            return json.dumps(obj)

    def json_loads(data):
        """json.loads(data), without importing json for str or UTF-8 bytes."""
        try:
            s = data.decode() if data.__class__ is bytes else data
            start = len(s) - len(s.lstrip(_ws))
            obj, end = _scan(s, start)
            if not s[end:].strip(_ws):
                return obj
        except (UnicodeDecodeError, StopIteration, ValueError, TypeError, AttributeError):
            pass
        import json  # for its exact result (other encodings) or error

        return json.loads(data)

    # Sanity check against this interpreter's _json (its private API could change).
    _encoded = json_dumps({"a": [1, 2.5, None, True, "\u00e9"]})
    _decoded = json_loads(b' {"a": [1, -2.5e3, null, "x"]} ')
    if _encoded != '{"a": [1, 2.5, null, true, "\\u00e9"]}' or _decoded != {"a": [1, -2500.0, None, "x"]}:
        raise ImportError("unexpected _json behaviour")
    del _encoded, _decoded
except (ImportError, AttributeError, TypeError, ValueError, StopIteration):
    from json import dumps as json_dumps, loads as json_loads  # noqa: F811

# The SeBS wrapper (handler.py) uses this codec when it runs here.
sys.modules.setdefault("sebs_runtime", sys.modules[__name__])

_monotonic = time.monotonic
_yield = os.sched_yield
INVOKE, READY, RESPONSE, ERROR, INIT_ERROR, OOM, TOO_LARGE = 1, 2, 3, 4, 5, 6, 7
# Lambda's limit on a synchronous response (sebs_local::MAX_PAYLOAD).
MAX_RESPONSE = 6291456
FORK, FORKED, EXITED, HELLO = 10, 11, 12, 13


def _error_body(exc, skip=0):
    import traceback

    # Like Lambda's runtime: the frames of the function, without the runtime's own.
    frames = traceback.extract_tb(exc.__traceback__)[skip:]
    return json_dumps(
        {
            "errorMessage": str(exc),
            "errorType": type(exc).__name__,
            "stackTrace": [line.rstrip("\n") for line in traceback.format_list(frames)],
        }
    ).encode()


class Context:
    """The subset of Lambda's context object that functions use."""

    __slots__ = ("aws_request_id", "_deadline_ms", "invoked_function_arn")
    # Per-process constants, read once (environment lookups cost microseconds per invocation).
    function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
    function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
    memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "")
    log_group_name = "/aws/lambda/" + function_name
    _arn = "arn:aws:lambda:local:000000000000:function:" + function_name

    def __init__(self, request_id, deadline_ms, arn=""):
        self.aws_request_id = request_id
        self._deadline_ms = deadline_ms
        self.invoked_function_arn = arn or self._arn

    @property
    def log_stream_name(self):
        # Per instance: a forked instance learns its own after the fork.
        return os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")

    def get_remaining_time_in_millis(self):
        return max(0, int(self._deadline_ms - time.time() * 1000))


def _load_handler():
    root = os.environ.get("LAMBDA_TASK_ROOT", os.getcwd())
    if root not in sys.path:
        sys.path.insert(0, root)
    module_name, _, function_name = os.environ.get("_HANDLER", "handler.handler").rpartition(".")
    module = __import__(module_name, fromlist=[function_name])
    return getattr(module, function_name)


# --- framed channel -----------------------------------------------------------------------


class _Reader:
    """Frames from a socket, read in large chunks: usually one read() per invocation."""

    def __init__(self, fd):
        self.fd = fd
        self.buf = b""
        # Seconds to busy-poll for the next frame before sleeping in read(), set by the
        # platform per invocation: on a virtual machine, waking a sleeping process on an idle
        # CPU costs more than a no-op function takes. Zero when the machine is busy.
        self.poll = 0

    def _fill(self, n):
        while len(self.buf) < n:
            chunk = self._poll(n) if self.poll else None
            if chunk is None:
                chunk = os.read(self.fd, max(65536, n - len(self.buf)))
            if not chunk:
                raise EOFError
            self.buf += chunk

    def _poll(self, n):
        until = _monotonic() + self.poll
        self.poll = 0
        os.set_blocking(self.fd, False)
        try:
            while True:
                try:
                    return os.read(self.fd, max(65536, n - len(self.buf)))
                except BlockingIOError:
                    if _monotonic() > until:
                        return None
                    _yield()
        finally:
            os.set_blocking(self.fd, True)

    def frame(self):
        self._fill(4)
        n = int.from_bytes(self.buf[:4], "little")
        self._fill(4 + n)
        frame, self.buf = self.buf[4 : 4 + n], self.buf[4 + n :]
        id_len = frame[1]
        return frame[0], frame[2 : 2 + id_len].decode(), frame[2 + id_len :]


def _write_frame(fd, kind, ident=b"", body=b""):
    data = b"".join(
        ((2 + len(ident) + len(body)).to_bytes(4, "little"), bytes((kind, len(ident))), ident, body)
    )
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _serve_channel(fd, handler):
    """Serve invocations on a channel until the platform closes it."""
    reader = _Reader(fd)
    while True:
        try:
            kind, request_id, body = reader.frame()
        except EOFError:
            return
        if kind != INVOKE:
            continue
        deadline = int.from_bytes(body[:8], "little")
        reader.poll = int.from_bytes(body[8:12], "little") / 1e6
        rid = request_id.encode()
        try:
            result = handler(json_loads(body[12:]) if len(body) > 12 else {}, Context(request_id, deadline))
            out = json_dumps(result).encode()
            reply = RESPONSE
        except MemoryError as exc:
            # Lambda ends a sandbox that ran out of memory; so do we.
            _write_frame(fd, OOM, rid, _error_body(exc, skip=1))
            os._exit(137)
        except Exception as exc:  # noqa: BLE001 - handler errors are data, not crashes
            out = _error_body(exc, skip=1)
            reply = ERROR
        if len(out) > MAX_RESPONSE:
            # Measured before framing: only the size goes to the platform.
            reply, out = TOO_LARGE, str(len(out)).encode()
        # stdout and stderr are unbuffered (PYTHONUNBUFFERED): nothing to flush.
        _write_frame(fd, reply, rid, out)


def _channel_main(fd):
    try:
        handler = _load_handler()
    except Exception as exc:  # noqa: BLE001 - every init failure is reported to the platform
        _write_frame(fd, INIT_ERROR, b"", _error_body(exc))
        sys.exit(1)
    _write_frame(fd, READY)
    _serve_channel(fd, handler)


# --- fork server ----------------------------------------------------------------------------


def _zygote_main(control):
    import signal
    import socket

    try:
        handler = _load_handler()
    except Exception as exc:  # noqa: BLE001
        _write_frame(control, INIT_ERROR, b"", _error_body(exc))
        sys.exit(1)
    if "resource" not in sys.modules:
        import resource  # noqa: F401 - preloaded for the children's rlimits
    try:
        import ctypes

        libc = ctypes.CDLL(None)
    except Exception:  # noqa: BLE001 - without it, children rely on their channel closing
        libc = None
    import gc

    # Objects that exist now are shared with every child: keep the collector from touching
    # (and so copying) their pages after a fork.
    gc.freeze()

    def reap(signum, frame):
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            _write_frame(control, EXITED, b"", json_dumps({"pid": pid, "status": status}).encode())

    signal.signal(signal.SIGCHLD, reap)
    _write_frame(control, READY)
    gateway = os.environ["SEBS_GATEWAY_SOCKET"]
    requests = _Reader(control)
    while True:
        try:
            kind, _, body = requests.frame()
        except EOFError:
            os._exit(0)
        if kind != FORK:
            continue
        spec = json_loads(body)
        pid = os.fork()
        if pid:
            _write_frame(control, FORKED, b"", json_dumps({"id": spec["id"], "pid": pid}).encode())
            continue
        # The child: become an instance.
        try:
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            os.setpgid(0, 0)
            if libc is not None:
                libc.prctl(1, 9, 0, 0, 0)  # PR_SET_PDEATHSIG, SIGKILL: die with the zygote
            mypid = str(os.getpid())
            for procs in spec.get("cgroups", ()):
                with open(procs, "w") as f:
                    f.write(mypid)
            if spec.get("unshare") and libc is not None and libc.unshare(spec["unshare"]) == 0:
                if spec["unshare"] & 0x00020000:  # CLONE_NEWNS: private mounts, own /tmp
                    libc.mount(None, b"/", None, 16384 | 262144, None)  # MS_REC | MS_PRIVATE
                    if spec.get("private_tmp"):
                        libc.mount(spec["private_tmp"].encode(), b"/tmp", None, 4096, None)  # MS_BIND
            if spec.get("rlimit_as"):
                import resource

                resource.setrlimit(resource.RLIMIT_AS, (spec["rlimit_as"], spec["rlimit_as"]))
            os.close(control)
            os.chdir(spec["dir"])
            os.environ.update(spec.get("env", {}))
            if "tempfile" in sys.modules:
                sys.modules["tempfile"].tempdir = None
            log = os.open(os.path.join(spec["dir"], "output.log"), os.O_WRONLY | os.O_CREAT | os.O_APPEND)
            os.dup2(log, 1)
            os.dup2(log, 2)
            os.close(log)
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.connect(gateway)
            fd = sock.detach()
            _write_frame(fd, HELLO, spec["id"].encode())
            _serve_channel(fd, handler)
        finally:
            os._exit(0)


# --- Lambda Runtime API (HTTP) --------------------------------------------------------------


def _runtime_api_main():
    from http.client import HTTPConnection

    host, _, base = os.environ["AWS_LAMBDA_RUNTIME_API"].partition("/")
    prefix = ("/" + base if base else "") + "/2018-06-01/runtime"
    state = {"conn": HTTPConnection(host)}

    def request(method, path, body=None, headers=None):
        for attempt in (0, 1):
            try:
                state["conn"].request(method, prefix + path, body=body, headers=headers or {})
                response = state["conn"].getresponse()
                return response, response.read()
            except (ConnectionError, OSError):
                # The gateway closed the keep-alive connection: reconnect once, then give up.
                state["conn"].close()
                state["conn"] = HTTPConnection(host)
                if attempt:
                    raise

    try:
        handler = _load_handler()
    except Exception as exc:  # noqa: BLE001
        request(
            "POST",
            "/init/error",
            _error_body(exc),
            {"Lambda-Runtime-Function-Error-Type": "Runtime.ImportModuleError"},
        )
        sys.exit(1)

    while True:
        response, body = request("GET", "/invocation/next")
        if response.status != 200:
            sys.stderr.write("runtime API refused /next: %d %r\n" % (response.status, body))
            sys.exit(1)
        request_id = response.getheader("Lambda-Runtime-Aws-Request-Id")
        deadline = int(response.getheader("Lambda-Runtime-Deadline-Ms") or 0)
        arn = response.getheader("Lambda-Runtime-Invoked-Function-Arn") or ""
        headers = {"Content-Type": "application/json"}
        try:
            event = json_loads(body) if body else {}
            payload = json_dumps(handler(event, Context(request_id, deadline, arn))).encode()
            path = "/invocation/%s/response" % request_id
        except Exception as exc:  # noqa: BLE001
            payload = _error_body(exc, skip=1)
            path = "/invocation/%s/error" % request_id
            headers["Lambda-Runtime-Function-Error-Type"] = "Unhandled"
        sys.stdout.flush()
        sys.stderr.flush()
        request("POST", path, payload, headers)


def main():
    if "SEBS_CHANNEL_FD" in os.environ:
        _channel_main(int(os.environ.pop("SEBS_CHANNEL_FD")))
    elif "SEBS_ZYGOTE_FD" in os.environ:
        _zygote_main(int(os.environ.pop("SEBS_ZYGOTE_FD")))
    else:
        _runtime_api_main()


if __name__ == "__main__":
    main()

"""Lambda Runtime API client for Python functions on the sebs local platform.

It does what AWS Lambda's managed Python runtime does: import the handler named by ``_HANDLER``
from ``LAMBDA_TASK_ROOT``, then loop forever: fetch the next event from
``http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime/invocation/next``, call the handler, and post
the result (or a Lambda-style error) back. ``AWS_LAMBDA_RUNTIME_API`` may carry a base path
(``host:port/base``); the platform gives every instance its own.
"""
import json
import os
import sys
import time
import traceback
from http.client import HTTPConnection

_API = os.environ["AWS_LAMBDA_RUNTIME_API"]
_HOST, _, _BASE = _API.partition("/")
_PREFIX = ("/" + _BASE if _BASE else "") + "/2018-06-01/runtime"
_conn = HTTPConnection(_HOST)


def _request(method, path, body=None, headers=None):
    global _conn
    for attempt in (0, 1):
        try:
            _conn.request(method, _PREFIX + path, body=body, headers=headers or {})
            response = _conn.getresponse()
            return response, response.read()
        except (ConnectionError, OSError):
            # The gateway closed the keep-alive connection: reconnect once, then give up.
            _conn.close()
            _conn = HTTPConnection(_HOST)
            if attempt:
                raise


def _error_body(exc, skip=0):
    # Like Lambda's runtime: the frames of the function, without the runtime's own.
    frames = traceback.extract_tb(exc.__traceback__)[skip:]
    return json.dumps(
        {
            "errorMessage": str(exc),
            "errorType": type(exc).__name__,
            "stackTrace": [line.rstrip("\n") for line in traceback.format_list(frames)],
        }
    ).encode()


class Context:
    """The subset of Lambda's context object that functions use."""

    def __init__(self, request_id, deadline_ms, arn):
        self.aws_request_id = request_id
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "")
        self.invoked_function_arn = arn
        self.log_group_name = "/aws/lambda/" + self.function_name
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self):
        return max(0, int(self._deadline_ms - time.time() * 1000))


def _load_handler():
    root = os.environ.get("LAMBDA_TASK_ROOT", os.getcwd())
    if root not in sys.path:
        sys.path.insert(0, root)
    module_name, _, function_name = os.environ.get("_HANDLER", "handler.handler").rpartition(".")
    module = __import__(module_name, fromlist=[function_name])
    return getattr(module, function_name)


def main():
    try:
        handler = _load_handler()
    except Exception as exc:  # noqa: BLE001 - every init failure is reported to the platform
        _request(
            "POST",
            "/init/error",
            _error_body(exc),
            {"Lambda-Runtime-Function-Error-Type": "Runtime.ImportModuleError"},
        )
        sys.exit(1)

    while True:
        response, body = _request("GET", "/invocation/next")
        if response.status != 200:
            sys.stderr.write("runtime API refused /next: %d %r\n" % (response.status, body))
            sys.exit(1)
        request_id = response.getheader("Lambda-Runtime-Aws-Request-Id")
        deadline = int(response.getheader("Lambda-Runtime-Deadline-Ms") or 0)
        arn = response.getheader("Lambda-Runtime-Invoked-Function-Arn") or ""
        try:
            event = json.loads(body) if body else {}
            result = handler(event, Context(request_id, deadline, arn))
            payload = json.dumps(result).encode()
            path = "/invocation/%s/response" % request_id
            headers = {"Content-Type": "application/json"}
        except Exception as exc:  # noqa: BLE001 - handler errors are data, not crashes
            payload = _error_body(exc, skip=1)
            path = "/invocation/%s/error" % request_id
            headers = {
                "Content-Type": "application/json",
                "Lambda-Runtime-Function-Error-Type": "Unhandled",
            }
        sys.stdout.flush()
        sys.stderr.flush()
        _request("POST", path, payload, headers)


if __name__ == "__main__":
    main()

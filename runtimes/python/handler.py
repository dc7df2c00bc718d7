"""SeBS-style function wrapper.

Entry point ``handler.handler(event, context)``: the same code runs on AWS Lambda's managed Python
runtime and on the sebs local platform. It unwraps HTTP-trigger events, injects ``request-id`` and
``income-timestamp``, times the benchmark's ``function.handler(event)``, detects cold starts with a
marker file in the instance's temporary directory, and returns the standard SeBS response JSON.
A profile recorded by ``faas_profiler_python`` (``@fp.profile()`` on the benchmark's handler) is
returned under ``profile``; the W3C ``traceparent`` header of an HTTP trigger reaches the profiler
in the payload.
"""
import os
import sys
import time

try:
    # On the sebs local platform: its runtime's codec, json.dumps/json.loads without the cost of
    # importing json (and `re`) at every cold start.
    from sebs_runtime import json_dumps as _dumps, json_loads as _loads
except ImportError:
    from json import dumps as _dumps, loads as _loads

# The profiler (faas_profiler_python) puts itself here when the function imports it, which
# happens during the import below (or was imported already): a function that is not profiled
# costs one global lookup per invocation.
_SEBS_WRAPPER = True
_profiler = sys.modules.get("faas_profiler_python")

from function import function  # noqa: E402 - after the profiler's slot

# Resolved on first use, not at import: under the fork server the module is imported once by
# the zygote and each instance gets its own TMPDIR afterwards.
_container_state = None
# Set by cold-start enforcement on some platforms; constant for the life of a sandbox.
_COLD_START_VAR = os.environ.get("cold_start", "")


def _payload(event):
    # HTTP triggers (Lambda Function URLs, API Gateway, the local HTTP trigger) deliver the request
    # body as a string; library (SDK) invocations deliver the payload itself.
    if isinstance(event, dict) and isinstance(event.get("body"), str) and "requestContext" in event:
        body = event["body"]
        if event.get("isBase64Encoded"):
            import base64

            body = base64.b64decode(body).decode("utf-8")
        payload = _loads(body) if body else {}
        headers = event.get("headers")
        if isinstance(payload, dict) and isinstance(headers, dict) and "traceparent" in headers:
            payload.setdefault("traceparent", headers["traceparent"])
        return payload
    if isinstance(event, dict) and isinstance(event.get("body"), str):
        try:
            return _loads(event["body"])
        except ValueError:
            return event
    return event if event is not None else {}


def _container():
    """Return (is_cold, container_id) for this sandbox.

    The first invocation in a sandbox finds no marker file in its temporary directory, creates one
    holding a fresh container id and reports a cold start; later ones read it. The result is kept
    in memory after the first call (one process is one sandbox), sparing a file read per call.
    """
    global _container_state
    if _container_state is not None:
        return False, _container_state
    marker = os.path.join(os.environ.get("TMPDIR") or "/tmp", "cold_run")
    try:
        with open(marker) as f:
            container_id = f.read()
        is_cold = False
    except OSError:
        container_id = os.urandom(4).hex()
        with open(marker, "w") as f:
            f.write(container_id)
        is_cold = True
    _container_state = container_id
    return is_cold, container_id


def handler(event, context):
    income_timestamp = time.time()
    event = _payload(event)
    if isinstance(event, dict):
        event["request-id"] = context.aws_request_id
        event["income-timestamp"] = income_timestamp

    begin = time.time()
    result = function.handler(event)
    end = time.time()

    is_cold, container_id = _container()
    body = {
        "begin": "%.6f" % begin,
        "end": "%.6f" % end,
        "results_time": 0,
        "is_cold": is_cold,
        "result": result,
        "request_id": context.aws_request_id,
        "cold_start_var": _COLD_START_VAR,
        "container_id": container_id,
    }
    if _profiler is not None:
        profile = _profiler.take()
        if profile is not None:
            body["profile"] = profile
    return {"statusCode": 200, "body": _dumps(body)}

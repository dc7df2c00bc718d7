"""SeBS-style function wrapper.

Entry point ``handler.handler(event, context)``: the same code runs on AWS Lambda's managed Python
runtime and on the sebs local platform. It unwraps HTTP-trigger events, injects ``request-id`` and
``income-timestamp``, times the benchmark's ``function.handler(event)``, detects cold starts with a
marker file in the instance's temporary directory, and returns the standard SeBS response JSON.
"""
import json
import os
import time

from function import function

_TMP = os.environ.get("TMPDIR") or "/tmp"
_MARKER = os.path.join(_TMP, "cold_run")


def _payload(event):
    # HTTP triggers (Lambda Function URLs, API Gateway, the local HTTP trigger) deliver the request
    # body as a string; library (SDK) invocations deliver the payload itself.
    if isinstance(event, dict) and isinstance(event.get("body"), str) and "requestContext" in event:
        body = event["body"]
        if event.get("isBase64Encoded"):
            import base64

            body = base64.b64decode(body).decode("utf-8")
        return json.loads(body) if body else {}
    if isinstance(event, dict) and isinstance(event.get("body"), str):
        try:
            return json.loads(event["body"])
        except ValueError:
            return event
    return event if event is not None else {}


def _container():
    """Return (is_cold, container_id) for this sandbox."""
    try:
        with open(_MARKER) as marker:
            return False, marker.read()
    except OSError:
        container_id = os.urandom(4).hex()
        with open(_MARKER, "w") as marker:
            marker.write(container_id)
        return True, container_id


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
        "cold_start_var": os.environ.get("cold_start", ""),
        "container_id": container_id,
    }
    return {"statusCode": 200, "body": json.dumps(body)}

"""Google Cloud entry point of a sebs Python package: ``handler(request)`` runs ``handler.handler``.

Cloud Functions (1st and 2nd gen) and Cloud Run functions call ``handler`` with the HTTP request
(a Flask request under the Functions Framework). The JSON body is the benchmark's input; the
request id is the ``Function-Execution-Id`` header (1st gen, and what ``functions.call`` reports
as ``executionId``), else the trace id of ``X-Cloud-Trace-Context`` (the part before ``/``), as
SeBS's GCP wrapper reads them. A ``traceparent`` header reaches the profiler in the payload.
The answer is the SeBS response JSON with status 200.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import handler as _sebs  # noqa: E402 - after the package root is on the path


class _Context:
    def __init__(self, request_id):
        self.aws_request_id = request_id


def _request_id(headers):
    rid = headers.get("Function-Execution-Id")
    if rid:
        return rid
    trace = headers.get("X-Cloud-Trace-Context") or ""
    return trace.split("/")[0] if trace else os.urandom(8).hex()


def handler(request):
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        payload = {}
    traceparent = request.headers.get("traceparent")
    if traceparent:
        payload.setdefault("traceparent", traceparent)
    response = _sebs.handler(payload, _Context(_request_id(request.headers)))
    body = response.get("body") if isinstance(response, dict) else response
    if not isinstance(body, str):
        body = json.dumps(body)
    return (body, 200, {"Content-Type": "application/json"})

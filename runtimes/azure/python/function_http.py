"""Azure Functions entry point of a sebs Python package (``sebs_http/__init__.py`` in the app).

The HTTP trigger's ``main(req, context)`` runs the SeBS wrapper ``handler.handler`` of the package
root (which the Python worker puts on ``sys.path``): the request body is the payload, a
``traceparent`` header reaches the profiler, and the invocation id is the request id, so results
and Application Insights' ``requests`` records match. The wrapper's cold-start marker lives in the
instance's temporary directory, as on Lambda; a changed ``ForceColdStart`` app setting restarts the
app, which gives every instance a new one. The response is the SeBS JSON; an exception answers
HTTP 500 with Lambda's error fields (errorType, errorMessage, stackTrace).
"""
import json
import os
import sys

import azure.functions as func

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)


class _Context:
    """What the SeBS wrapper reads of a Lambda context."""

    def __init__(self, request_id):
        self.aws_request_id = request_id


def main(req, context):
    try:
        payload = req.get_json()
    except ValueError:
        payload = {}
    if not isinstance(payload, dict):
        payload = {"payload": payload}
    traceparent = req.headers.get("traceparent")
    if traceparent:
        payload.setdefault("traceparent", traceparent)

    import handler

    try:
        response = handler.handler(payload, _Context(context.invocation_id))
    except Exception as e:  # noqa: BLE001 - a failure is an answer: Lambda's error shape
        import traceback

        error = {
            "errorType": type(e).__name__,
            "errorMessage": str(e),
            "stackTrace": traceback.format_tb(e.__traceback__),
            "request_id": context.invocation_id,
        }
        return func.HttpResponse(json.dumps(error), status_code=500, mimetype="application/json")
    status = 200
    body = response
    if isinstance(response, dict) and "body" in response:
        status = int(response.get("statusCode", 200))
        body = response["body"]
    if not isinstance(body, str):
        body = json.dumps(body)
    return func.HttpResponse(body, status_code=status, mimetype="application/json")

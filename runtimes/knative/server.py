"""HTTP server runtime of a sebs Python package in a Knative (or any container) image.

Serves ``POST`` on any path at ``$PORT`` (8080 by default, Knative's): the body is the
benchmark input, passed to the SeBS wrapper ``handler.handler`` as an HTTP-trigger event (so a
``traceparent`` header reaches the profiler); the SeBS response JSON is the response body. A
failing function answers 500 with ``errorType``, ``errorMessage`` and ``stackTrace``. ``GET``
answers 200 (readiness). It listens on all interfaces, as a container must (``$SEBS_BIND``
narrows it, e.g. to 127.0.0.1 outside a container). The request id is the ``x-request-id`` header when the ingress sets
one, else a fresh one. Requests are served on threads: Knative's ``containerConcurrency``
bounds how many arrive at once.

The package's files (``handler.py``, ``function/``, dependencies) are in ``$SEBS_FUNCTION_DIR``,
by default this file's directory (``/function`` in the image).
"""
import os
import sys
import traceback
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.environ.get("SEBS_FUNCTION_DIR") or os.path.dirname(os.path.abspath(__file__)))

import json  # noqa: E402

import handler  # noqa: E402


class _Context:
    def __init__(self, request_id):
        self.aws_request_id = request_id


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _send(self, status, body):
        data = body.encode("utf-8")
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self._send(200, '{"status": "ready"}')

    def do_POST(self):
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length).decode("utf-8") if length else ""
        headers = {k.lower(): v for k, v in self.headers.items()}
        event = {"body": raw, "headers": headers, "requestContext": {"http": {"method": "POST"}}}
        request_id = headers.get("x-request-id") or uuid.uuid4().hex
        try:
            response = handler.handler(event, _Context(request_id))
            body = response["body"] if isinstance(response, dict) else json.dumps(response)
            self._send(200, body if isinstance(body, str) else json.dumps(body))
        except Exception as e:  # the function failed: report it as data
            self._send(500, json.dumps({
                "errorType": type(e).__name__,
                "errorMessage": str(e),
                "stackTrace": traceback.format_exception(type(e), e, e.__traceback__),
            }))

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass


def main():
    port = int(os.environ.get("PORT", "8080"))
    server = ThreadingHTTPServer((os.environ.get("SEBS_BIND", "0.0.0.0"), port), _Handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()

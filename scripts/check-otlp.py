#!/usr/bin/env python3
"""Parse OTLP JSON trace files with the OpenTelemetry project's own protobuf definitions
(PyPI opentelemetry-proto), independently of sebs: each file must be an ExportTraceServiceRequest.

OTLP's JSON encoding writes trace and span ids in hex where protobuf's JSON mapping expects
base64 (the specification's one deviation); they are converted before json_format.Parse, which
rejects unknown fields, wrong types and malformed values. Prints one line per file:
`<file> <spans> <traces> <root span names>`; exits 1 on the first invalid file, and 77 with a
SKIPPED line when opentelemetry-proto is not installed.

    python3 scripts/check-otlp.py out/traces/*.otlp.json
"""
import base64
import json
import sys

try:
    from google.protobuf import json_format
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
except ImportError:
    print("SKIPPED: opentelemetry-proto is not installed (python3 -m pip install opentelemetry-proto)")
    sys.exit(77)


def _ids_to_base64(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("traceId", "spanId", "parentSpanId") and isinstance(value, str):
                node[key] = base64.b64encode(bytes.fromhex(value)).decode()
            else:
                _ids_to_base64(value)
    elif isinstance(node, list):
        for value in node:
            _ids_to_base64(value)


def check(path):
    with open(path) as f:
        data = json.load(f)
    _ids_to_base64(data)
    request = json_format.Parse(json.dumps(data), ExportTraceServiceRequest())
    spans = [s for rs in request.resource_spans for ss in rs.scope_spans for s in ss.spans]
    for s in spans:
        assert len(s.trace_id) == 16 and len(s.span_id) == 8, "bad id lengths in %s" % path
        assert s.parent_span_id == b"" or len(s.parent_span_id) == 8
        assert s.end_time_unix_nano >= s.start_time_unix_nano > 0
    ids = {s.span_id for s in spans}
    roots = sorted(s.name for s in spans if s.parent_span_id not in ids)
    traces = len({s.trace_id for s in spans})
    print("%s %d %d %s" % (path, len(spans), traces, ",".join(roots)))


if __name__ == "__main__":
    for path in sys.argv[1:]:
        try:
            check(path)
        except Exception as exc:  # noqa: BLE001 - any failure is a verdict on the file
            print("INVALID %s: %s" % (path, exc))
            sys.exit(1)

"""SeBS-style function wrapper.

Entry point ``handler.handler(event, context)``: the same code runs on AWS Lambda's managed Python
runtime and on the sebs local platform. It unwraps HTTP-trigger events, injects ``request-id`` and
``income-timestamp``, times the benchmark's ``function.handler(event)``, detects cold starts with a
marker file in the instance's temporary directory, and returns the standard SeBS response JSON.
A profile recorded by ``faas_profiler_python`` (``@fp.profile()`` on the benchmark's handler) is
returned under ``profile``; the W3C ``traceparent`` header of an HTTP trigger reaches the profiler
in the payload. Event-source events (an SQS batch, an S3 notification: storage and queue triggers)
run the benchmark once per record and answer Lambda's partial batch response with each record's
SeBS response under ``results`` (docs/triggers.md).
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


def _records(event):
    """The records of an event-source event (an SQS batch, an S3 notification), or None."""
    if not isinstance(event, dict):
        return None
    records = event.get("Records")
    if not isinstance(records, list) or not records or not isinstance(records[0], dict):
        return None
    first = records[0]
    if first.get("eventSource") == "aws:sqs" or first.get("eventSource") == "aws:s3":
        return records
    return None


def _record_payload(record):
    # A queue message's body is the payload (JSON); an S3 record says where the object is.
    if record.get("eventSource") == "aws:sqs":
        try:
            payload = _loads(record["body"])
        except ValueError:
            payload = {"body": record["body"]}
        return payload if isinstance(payload, dict) else {"body": payload}
    from urllib.parse import unquote_plus

    obj = record["s3"]["object"]
    location = {
        "bucket": record["s3"]["bucket"]["name"],
        "key": unquote_plus(obj["key"]),
        "size": obj.get("size", 0),
        "event": record.get("eventName", ""),
        "event-time": record.get("eventTime", ""),
    }
    content = _read_object(location["bucket"], location["key"])
    if isinstance(content, dict):
        content.update({"trigger-object": location})
        return content
    return location


def _read_object(bucket, key):
    """The JSON object a storage trigger uploaded: from the store named by SEBS_TRIGGER_S3_*
    (the local platform's trigger store), else from S3 with the function's own credentials."""
    import hashlib

    from function import _sigv4

    endpoint = os.environ.get("SEBS_TRIGGER_S3_ENDPOINT")
    if endpoint:
        creds = _sigv4.Credentials(
            os.environ["SEBS_TRIGGER_S3_ACCESS_KEY"], os.environ["SEBS_TRIGGER_S3_SECRET_KEY"], "us-east-1"
        )
    else:
        creds, endpoint = _sigv4.aws_from_environment("s3")
    scheme, host = _sigv4.split_address(endpoint, endpoint)
    path = "/" + _sigv4.quote(bucket) + "/" + _sigv4.quote(key, safe="/~")
    headers = {}
    empty = hashlib.sha256(b"").hexdigest()
    _sigv4.sign_headers(creds, "s3", "GET", host, path, [], headers, empty)
    conn = _sigv4.connect(scheme, host)
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        data = response.read()
    finally:
        conn.close()
    if response.status != 200:
        raise RuntimeError("cannot read the trigger object %s/%s: HTTP %d" % (bucket, key, response.status))
    return _loads(data)


# The payload fields a trigger adds: its own id of the invocation, and the queue its result goes
# to (on AWS; the local platform reads results from the response instead).
_TRIGGER_REQUEST = "sebs-trigger-request"
_RESULT_QUEUE = "sebs-result-queue"


def _post_result(queue_url, request, body):
    """Send a record's SeBS response to the trigger's result queue (SQS's JSON protocol, signed
    with the function's credentials), as SeBS's wrappers do for non-HTTP triggers."""
    import hashlib

    from function import _sigv4

    creds, _ = _sigv4.aws_from_environment("sqs")
    scheme, rest = _sigv4.split_address(queue_url, queue_url)
    host = rest.split("/", 1)[0]
    message = _dumps({"QueueUrl": queue_url, "MessageBody": _dumps({_TRIGGER_REQUEST: request, "body": body})})
    data = message.encode("utf-8")
    headers = {
        "Content-Type": "application/x-amz-json-1.0",
        "X-Amz-Target": "AmazonSQS.SendMessage",
    }
    _sigv4.sign_headers(creds, "sqs", "POST", host, "/", [], headers, hashlib.sha256(data).hexdigest())
    conn = _sigv4.connect(scheme, host)
    try:
        conn.request("POST", "/", body=data, headers=headers)
        response = conn.getresponse()
        answer = response.read()
    finally:
        conn.close()
    if response.status != 200:
        raise RuntimeError("cannot send the result to %s: HTTP %d %s" % (queue_url, response.status, answer[:200]))


def _event_batch(records, context, income_timestamp):
    """Run the benchmark once per record. SQS batches answer Lambda's partial batch response
    (failed records retried by the event source); each result travels back under `results`."""
    failures, results = [], []
    for record in records:
        ident = record.get("messageId") or record.get("s3", {}).get("object", {}).get("key", "")
        try:
            payload = _record_payload(record)
            body = _run(payload, context, income_timestamp)
            queue = payload.get(_RESULT_QUEUE) if isinstance(payload, dict) else None
            if queue:
                _post_result(queue, payload.get(_TRIGGER_REQUEST, ""), body)
            results.append({"itemIdentifier": ident, "body": body})
        except Exception as e:  # noqa: BLE001 - a failed record is reported, not fatal
            if record.get("eventSource") != "aws:sqs":
                raise
            failures.append({"itemIdentifier": ident})
            results.append({"itemIdentifier": ident, "error": "%s: %s" % (type(e).__name__, e)})
    return {"batchItemFailures": failures, "results": results}


def handler(event, context):
    income_timestamp = time.time()
    records = _records(event)
    if records is not None:
        return _event_batch(records, context, income_timestamp)
    body = _run(_payload(event), context, income_timestamp)
    return {"statusCode": 200, "body": _dumps(body)}


def _run(event, context, income_timestamp):
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
    return body

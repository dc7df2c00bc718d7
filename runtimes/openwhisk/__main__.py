"""Apache OpenWhisk entry point of a sebs Python package: ``main(args)`` runs ``handler.handler``.

sebs sends the function's environment (storage endpoints and credentials, ``cold_start``) as the
action's final parameter ``__sebs_env``: it is moved into ``os.environ`` before the SeBS wrapper is
imported, since the storage clients read their configuration from the environment. Web-action
fields (``__ow_method``, ``__ow_headers``, ...) are dropped from the payload; a ``traceparent``
header is kept for the profiler. The request id is the activation id (``__OW_ACTIVATION_ID``), so
results and activation records match.

The SeBS response JSON is returned as the action's result: a blocking invocation carries it in
the activation's result, a web action with the ``.json`` extension answers with it.
"""
import os
import sys

_ENV_PARAM = "__sebs_env"
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


class _Context:
    def __init__(self, request_id):
        self.aws_request_id = request_id


def main(args):
    env = args.pop(_ENV_PARAM, None)
    if isinstance(env, dict):
        for key, value in env.items():
            os.environ[key] = str(value)
    headers = args.get("__ow_headers") or {}
    payload = {k: v for k, v in args.items() if not k.startswith("__ow_")}
    if isinstance(headers, dict) and "traceparent" in headers:
        payload.setdefault("traceparent", headers["traceparent"])

    import handler

    response = handler.handler(payload, _Context(os.environ.get("__OW_ACTIVATION_ID", "")))
    body = response.get("body") if isinstance(response, dict) else None
    if isinstance(body, str):
        import json

        return json.loads(body)
    return response

"""010.chain: the seed's three-line profiling example, doing something worth tracing: an object
written and read back, a NoSQL item written and read back, then the same function invoked once
more (the second function of the trace)."""
import os

import faas_profiler_python as fp

from . import nosql, storage


@fp.profile()
def handler(event):
    depth = event.get("depth", 0)
    if depth <= 0:
        return {"depth": 0, "peak_mb": len(bytearray(8 * 1024 * 1024)) // (1024 * 1024)}
    client = storage.storage.get_instance()
    key = client.upload_stream(event["bucket"], event["prefix"] + "/blob.bin", b"x" * event["size"])
    data = client.download_stream(event["bucket"], key)
    table = nosql.nosql.get_instance()
    table.insert("chain_steps", ("request", event["request-id"]), ("step", str(depth)), {"depth": depth})
    visit = table.get("chain_steps", ("request", event["request-id"]), ("step", str(depth)))
    child = fp.invoke(os.environ["AWS_LAMBDA_FUNCTION_NAME"], {"depth": depth - 1})
    return {
        "depth": depth,
        "read": len(data),
        "visit": {"depth": visit["depth"]},
        "child": child["result"],
    }

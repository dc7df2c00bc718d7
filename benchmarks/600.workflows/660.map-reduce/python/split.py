"""660.map-reduce, first state: cut the text into `n_mappers` chunks of whole lines, one object each."""

import uuid

from . import storage


def handler(event):
    client = storage.storage.get_instance()
    bucket = event["bucket"]
    lines = client.download_stream(bucket, event["text"]).decode("utf-8").splitlines(keepends=True)
    n = max(1, int(event["n_mappers"]))
    # A prefix of this request's own, so concurrent requests never count each other's words.
    prefix = "%s/%s" % (event["output"], uuid.uuid4().hex[:12])
    per_chunk = -(-len(lines) // n)
    jobs = []
    for i in range(n):
        chunk = "".join(lines[i * per_chunk : (i + 1) * per_chunk]).encode("utf-8")
        key = "%s/chunks/%03d.txt" % (prefix, i)
        key = client.upload_stream(bucket, key, chunk)
        jobs.append({"bucket": bucket, "chunk": key, "prefix": prefix, "mapper": i})
    return {"list": jobs}

"""631.parallel-download, map state: download the object and report its size and MD5 (the
object's bytes never enter the workflow's payload)."""

import hashlib
import time

from . import storage


def handler(event):
    client = storage.storage.get_instance()
    begin = time.time()
    data = client.download_stream(event["bucket"], event["key"])
    end = time.time()
    return {
        "index": event["index"],
        "size": len(data),
        "md5": hashlib.md5(data).hexdigest(),
        "download_time": end - begin,
    }
